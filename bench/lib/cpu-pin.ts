/**
 * Pinning the bench client and the appliance to one CPU with taskset(1). On this 2-core VM a
 * sequential round trip takes ~20 µs when the scheduler leaves both processes on one core and
 * ~80 µs when each request wakes the other (idle) core, and which one a run gets is chance; with
 * both on the same core every run gets the first, so latencies compare what the appliance does.
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "bun";

/** CPUs a process may run on, as /proc lists them ("0-1", "1"). */
export function allowedCpus(pid: number): string {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Cpus_allowed_list:"));
  return line?.split(":")[1]?.trim() ?? "";
}

function taskset(args: string[]): boolean {
  try {
    return spawnSync(["taskset", ...args], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false; // no taskset on this machine
  }
}

/**
 * The CPU to pin to ($VHSM_BENCH_PIN_CPU, else the highest this process may use), or null when
 * there is no taskset or only one CPU (nothing to pin away from).
 */
export function pinTarget(): number | null {
  const allowed = allowedCpus(process.pid)
    .split(",")
    .flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
    });
  if (allowed.length < 2 || !taskset(["-p", String(process.pid)])) return null;
  const wanted = process.env.VHSM_BENCH_PIN_CPU;
  return wanted === undefined ? allowed[allowed.length - 1]! : Number(wanted);
}

/** `command` started on `cpu` only (its threads inherit the affinity). */
export function pinnedCommand(command: string[], cpu: number): string[] {
  return ["taskset", "-c", String(cpu), ...command];
}

/** Runs `fn` with every thread of this process on `cpu`, then gives them their CPUs back. */
export async function withThisProcessOn<T>(cpu: number, fn: () => Promise<T>): Promise<T> {
  const before = allowedCpus(process.pid);
  if (!taskset(["-a", "-p", "-c", String(cpu), String(process.pid)])) {
    throw new Error(`taskset could not pin this process to CPU ${cpu}`);
  }
  try {
    return await fn();
  } finally {
    taskset(["-a", "-p", "-c", before, String(process.pid)]);
  }
}

/**
 * Runs several load processes over one common window: each is told the same start time (epoch ms)
 * and window, warms up until then, and prints one JSON line {"ops", "seconds", "signature", "cpu"?} or
 * {"error", "at"}: "signature" is its last output (a MAC for the HMAC driver), "cpu" its own CPU
 * seconds in the window. The figure is the sum of their rates; an error from any of them is the result.
 */
import { spawn } from "bun";
import { processCpuSeconds } from "./cpu.ts";

export interface Command {
  argv: string[];
  env?: Record<string, string>;
  /** Written to the process's stdin (how a secret reaches it without argv). */
  stdin?: string;
}

export interface FleetResult {
  opsPerSecond: number;
  /** The first failure reported by a process (a PKCS#11 return code, a vhsm status). */
  error?: string;
  /** One signature from the first process, for checking against the public key. */
  signature?: Buffer;
  /** Every process's last output, in process order. */
  outputs?: Buffer[];
  /** Share of one core the load processes used together in the window, when every one reported it. */
  clientCpu?: number;
  /** Share of one core the watched process (the appliance) used during the window. */
  watchedCpu?: number;
}

interface Line {
  ops?: number;
  seconds?: number;
  signature?: string;
  cpu?: number;
  error?: string;
  at?: string;
}

/**
 * `command(i, startMs)` builds the i-th of `count` processes; `leadMs` is the time they get to start
 * and connect before the window opens (what is left of it is warm-up).
 */
export async function runFleet(
  count: number,
  command: (i: number, startMs: number) => Command,
  seconds: number,
  leadMs: number,
  watchPid?: number,
): Promise<FleetResult> {
  const startMs = Date.now() + leadMs;
  const procs = Array.from({ length: count }, (_, i) => {
    const c = command(i, startMs);
    const p = spawn(c.argv, {
      env: { ...process.env, ...c.env },
      stdin: c.stdin === undefined ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    if (c.stdin !== undefined && p.stdin) {
      p.stdin.write(c.stdin);
      p.stdin.end();
    }
    return p;
  });
  let watchedCpu: number | undefined;
  if (watchPid !== undefined) {
    await Bun.sleep(Math.max(0, startMs - Date.now()));
    const before = processCpuSeconds(watchPid);
    await Bun.sleep(seconds * 1000);
    watchedCpu = (processCpuSeconds(watchPid) - before) / seconds;
  }
  const lines = await Promise.all(
    procs.map(async (p) => {
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      const last = out.trim().split("\n").pop() ?? "";
      if (!last.startsWith("{")) return { error: `exit ${code}: ${err.trim() || out.trim()}`.slice(0, 200) };
      return JSON.parse(last) as Line;
    }),
  );
  const failed = lines.find((l) => l.error);
  if (failed) return { opsPerSecond: 0, error: failed.at ? `${failed.error} at ${failed.at}` : failed.error };
  const opsPerSecond = lines.reduce((sum, l) => sum + l.ops! / l.seconds!, 0);
  const outputs = lines.map((l) => Buffer.from(l.signature ?? "", "hex"));
  const clientCpu = lines.every((l) => l.cpu !== undefined)
    ? lines.reduce((sum, l) => sum + l.cpu! / l.seconds!, 0)
    : undefined;
  return { opsPerSecond, signature: outputs[0], outputs, watchedCpu, clientCpu };
}

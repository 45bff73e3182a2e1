/** Describes the machine a run happened on, for RESULTS.md. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";

function osName(): string {
  try {
    const line = readFileSync("/etc/os-release", "utf8")
      .split("\n")
      .find((l) => l.startsWith("PRETTY_NAME="));
    return line ? line.slice("PRETTY_NAME=".length).replaceAll('"', "") : "Linux";
  } catch {
    return "Linux";
  }
}

export function machineDescription(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? "unknown CPU";
  const gib = Math.round(totalmem() / 2 ** 30);
  return `${cpu.length} × ${model}, ${gib} GiB RAM, ${osName()} (kernel ${release()}), Bun ${Bun.version}`;
}

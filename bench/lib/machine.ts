/** Describes the machine a run happened on, for RESULTS.md. */
import { spawnSync } from "node:child_process";
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

/** The commit the code under test came from, marked when the work tree differs from it. */
export function codeVersion(dir: string): string {
  const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" });
  const head = git("rev-parse", "--short", "HEAD");
  if (head.status !== 0) return "not a git checkout";
  const dirty = git("status", "--porcelain", "--untracked-files=no").stdout.trim() !== "";
  return `commit ${head.stdout.trim()}${dirty ? " + uncommitted changes" : ""}`;
}

/**
 * CPU time of the appliance process (from /proc) and of this process, so a bench can show which
 * side is the bottleneck: a side near 100% of one core is saturated (both are single-threaded).
 */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after the parenthesised command name, which may itself contain spaces
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface CpuShare {
  /** Fraction of one core used by the appliance over the window. */
  appliance: number;
  /** Fraction of one core used by this (client) process. */
  client: number;
}

/** Starts a CPU meter; calling the result ends it. */
export function cpuMeter(appliancePid: number): () => CpuShare {
  const wall = performance.now();
  const a = processCpuSeconds(appliancePid);
  const c = selfCpuSeconds();
  return () => {
    const seconds = (performance.now() - wall) / 1000;
    return {
      appliance: (processCpuSeconds(appliancePid) - a) / seconds,
      client: (selfCpuSeconds() - c) / seconds,
    };
  };
}

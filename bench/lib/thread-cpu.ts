/**
 * Per-thread CPU time and minor page faults of a process, from /proc/PID/task/TID/stat: where an
 * appliance's time goes (main thread, hash workers, sign workers) and whether it faults memory back in.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ThreadSample {
  name: string;
  minorFaults: number;
  userUs: number;
  systemUs: number;
}

const TICK_US = 10_000; // CLK_TCK is 100 on Linux

/** One sample of every thread of `pid`, keyed by thread id. */
export function threadTimes(pid: number | "self" = "self"): Map<string, ThreadSample> {
  const threads = new Map<string, ThreadSample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" "); // fields[0] is field 3 (state)
    threads.set(tid, {
      name: stat.slice(stat.indexOf("(") + 1, close),
      minorFaults: Number(fields[7]),
      userUs: Number(fields[11]) * TICK_US,
      systemUs: Number(fields[12]) * TICK_US,
    });
  }
  return threads;
}

/** "name: user/system us, faults" per operation for each thread that did something between samples. */
export function perOperation(
  before: Map<string, ThreadSample>,
  after: Map<string, ThreadSample>,
  ops: number,
): string {
  const parts: string[] = [];
  for (const [tid, b] of after) {
    const a = before.get(tid) ?? { name: b.name, minorFaults: 0, userUs: 0, systemUs: 0 };
    const user = (b.userUs - a.userUs) / ops;
    const system = (b.systemUs - a.systemUs) / ops;
    const faults = (b.minorFaults - a.minorFaults) / ops;
    if (user + system < 1 && faults < 1) continue;
    parts.push(`${b.name}[${tid}] ${user.toFixed(0)}u/${system.toFixed(0)}s us, ${faults.toFixed(1)} faults`);
  }
  return parts.join("; ");
}

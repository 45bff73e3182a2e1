/**
 * Without a terminal (or with --headless): one plain summary line every few seconds instead of the
 * dashboard, with the same rates, so log collectors see throughput and errors.
 */
import * as f from "./format.ts";
import { RateHistory } from "./history.ts";
import type { DashboardSource } from "./source.ts";
import type { StatsSnapshot } from "./types.ts";

export const SUMMARY_MS = 5000;

export function summaryLine(history: RateHistory, s: StatsSnapshot): string {
  const latest = history.latest();
  const rates = history
    .kinds()
    .map((k) => {
      const b = latest?.bytes[k];
      return `${k}=${f.count(latest?.ops[k] ?? 0)}${b ? `(${f.bytes(b)}/s)` : ""}`;
    })
    .join(" ");
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const p99 = Object.entries(s.latency)
    .filter(([, l]) => l.count > 0)
    .map(([k, l]) => `${k}=${f.micros(l.p99us)}`)
    .join(" ");
  return [
    `ops/s ${rates || "-"}`,
    `p99 ${p99 || "-"}`,
    `errors ${f.count(errors)}`,
    `lockouts ${f.count(s.lockouts)}`,
    `frame-errors ${f.count(s.frameErrors)}`,
    ...(s.memory
      ? [
          `client-memory ${f.bytes(s.memory.heldBytes)}/${f.bytes(s.memory.budgetBytes)} refused ${f.count(s.memory.refusals)}`,
        ]
      : []),
    `containers ${s.status.containers}`,
    `connections ${s.status.connections}`,
  ].join(" | ");
}

/** Writes a summary line every `intervalMs`; returns a stop function. The first line waits for a rate. */
export function startSummaryLines(
  source: DashboardSource,
  write: (line: string) => void,
  intervalMs = SUMMARY_MS,
): () => void {
  const history = new RateHistory();
  let failing = false;
  const tick = async () => {
    try {
      const s = await source.stats();
      history.push(s);
      failing = false;
      if (history.latest())
        write(`${new Date(s.time).toISOString()} info  summary ${summaryLine(history, s)}`);
    } catch (err) {
      if (!failing) write(`${new Date().toISOString()} warn  summary unavailable: ${(err as Error).message}`);
      failing = true;
    }
  };
  void tick();
  const timer = setInterval(tick, intervalMs);
  return () => clearInterval(timer);
}

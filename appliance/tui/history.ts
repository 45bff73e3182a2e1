/**
 * Rates from successive stats snapshots: ops/s and bytes/s by kind, ops/s by container, and the peak
 * per kind. The appliance only keeps counters; every rate the dashboard shows is computed here.
 */
import type { StatsSnapshot } from "./types.ts";

export interface RatePoint {
  time: number;
  ops: Record<string, number>;
  bytes: Record<string, number>;
  containerOps: Record<string, number>;
}

/** Kinds in the order the chart stacks them (bottom first); unknown kinds follow alphabetically. */
export const KIND_ORDER = ["hmac", "digest", "keymgmt", "sign", "session", "random"];

/** Ten minutes at one snapshot a second. */
const MAX_POINTS = 600;

function perSecond(now: Record<string, number>, before: Record<string, number>, seconds: number) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now)) out[k] = Math.max(0, v - (before[k] ?? 0)) / seconds;
  return out;
}

export class RateHistory {
  readonly points: RatePoint[] = [];
  readonly peak: Record<string, number> = {};
  peakTotal = 0;
  private previous: StatsSnapshot | null = null;
  private seenKinds = new Set<string>();

  push(s: StatsSnapshot): void {
    for (const k of Object.keys(s.ops)) this.seenKinds.add(k);
    const prev = this.previous;
    this.previous = s;
    const seconds = prev ? (s.time - prev.time) / 1000 : 0;
    // a restarted appliance starts its counters again from zero: begin a new baseline
    if (!prev || seconds <= 0 || s.status.uptimeSeconds < prev.status.uptimeSeconds) return;
    const containerOps: Record<string, number> = {};
    for (const [name, c] of Object.entries(s.containers)) {
      containerOps[name] = Math.max(0, c.ops - (prev.containers[name]?.ops ?? 0)) / seconds;
    }
    const point: RatePoint = {
      time: s.time,
      ops: perSecond(s.ops, prev.ops, seconds),
      bytes: perSecond(s.bytes, prev.bytes, seconds),
      containerOps,
    };
    let total = 0;
    for (const [k, v] of Object.entries(point.ops)) {
      this.peak[k] = Math.max(this.peak[k] ?? 0, v);
      total += v;
    }
    this.peakTotal = Math.max(this.peakTotal, total);
    this.points.push(point);
    if (this.points.length > MAX_POINTS) this.points.shift();
  }

  latest(): RatePoint | undefined {
    return this.points.at(-1);
  }

  kinds(): string[] {
    const known = KIND_ORDER.filter((k) => this.seenKinds.has(k));
    const rest = [...this.seenKinds].filter((k) => !KIND_ORDER.includes(k)).sort();
    return [...known, ...rest];
  }
}

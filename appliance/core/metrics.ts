/**
 * Operation counters and latency histograms, by kind, container and status. Read by the admin API
 * (`/metrics`, `/v1/stats`) and the dashboard; updated on the request path with no allocation per op.
 */
import { statusName } from "../../protocol/status.ts";
import type { LogEntry } from "./log.ts";

/** Latency bucket upper bounds in microseconds. */
export const LATENCY_BUCKETS_US = [
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
  25000,
  100000,
  1000000,
  Infinity,
];

export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS_US.length).fill(0);
  total = 0;
  sumUs = 0;

  observe(us: number): void {
    let i = 0;
    while (us > LATENCY_BUCKETS_US[i]!) i++;
    this.counts[i]!++;
    this.total++;
    this.sumUs += us;
  }

  /** Upper bound of the bucket holding quantile q (0..1). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = q * this.total;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return LATENCY_BUCKETS_US[i]!;
    }
    return Infinity;
  }
}

export interface ContainerCounters {
  ops: number;
  errors: number;
  bytes: number;
  lastActivity: number;
  connections: number;
}

export class Metrics {
  readonly started = Date.now();
  readonly opsByKind = new Map<string, number>();
  readonly bytesByKind = new Map<string, number>();
  readonly latencyByKind = new Map<string, Histogram>();
  readonly errorsByStatus = new Map<string, number>();
  readonly byContainer = new Map<string, ContainerCounters>();
  frameErrors = 0;
  lockouts = 0;
  /** Requests answered LIMIT_EXCEEDED because the memory budget was spent (memory-budget.ts). */
  memoryRefusals = 0;
  /** The memory budget, read for the stats (set by the appliance). */
  memory: {
    readonly used: number;
    readonly limit: number;
    readonly containerLimit: number;
    byContainer(): Map<string, number>;
  } = { used: 0, limit: 0, containerLimit: 0, byContainer: () => new Map() };
  /** Signatures made by the signing worker threads (the rest were made on the main thread). */
  workerSignatures = 0;
  connectionsTotal = 0;
  /** The logger's recent entries (set by whoever owns the logger), shown in the dashboard's event panel. */
  recentLog: readonly LogEntry[] = [];

  container(name: string): ContainerCounters {
    let c = this.byContainer.get(name);
    if (!c) {
      c = { ops: 0, errors: 0, bytes: 0, lastActivity: 0, connections: 0 };
      this.byContainer.set(name, c);
    }
    return c;
  }

  recordOp(container: ContainerCounters, kind: string, status: number, us: number, bytes: number): void {
    this.opsByKind.set(kind, (this.opsByKind.get(kind) ?? 0) + 1);
    if (bytes > 0) this.bytesByKind.set(kind, (this.bytesByKind.get(kind) ?? 0) + bytes);
    let h = this.latencyByKind.get(kind);
    if (!h) {
      h = new Histogram();
      this.latencyByKind.set(kind, h);
    }
    h.observe(us);
    container.ops++;
    container.bytes += bytes;
    container.lastActivity = Date.now();
    if (status !== 0) {
      container.errors++;
      const name = statusName(status);
      this.errorsByStatus.set(name, (this.errorsByStatus.get(name) ?? 0) + 1);
    }
  }
}

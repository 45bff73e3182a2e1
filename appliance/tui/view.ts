/** Everything one frame shows, built from the latest snapshot and the rate history. */
import type { RateHistory, RatePoint } from "./history.ts";
import type { ContainerInfo, StatsSnapshot } from "./types.ts";

export interface DashboardView {
  /** Where the numbers come from (admin socket path, or "in-process"). */
  source: string;
  stats: StatsSnapshot | null;
  containers: ContainerInfo[];
  points: RatePoint[];
  kinds: string[];
  peak: Record<string, number>;
  peakTotal: number;
  /** The last polling failure, cleared by the next success. */
  error?: string;
}

export function emptyView(source: string): DashboardView {
  return { source, stats: null, containers: [], points: [], kinds: [], peak: {}, peakTotal: 0 };
}

export function viewOf(
  source: string,
  history: RateHistory,
  stats: StatsSnapshot | null,
  containers: ContainerInfo[],
): DashboardView {
  return {
    source,
    stats,
    containers,
    points: history.points.slice(),
    kinds: history.kinds(),
    peak: { ...history.peak },
    peakTotal: history.peakTotal,
  };
}

export function totalRate(p: RatePoint | undefined): number {
  if (!p) return 0;
  return Object.values(p.ops).reduce((a, b) => a + b, 0);
}

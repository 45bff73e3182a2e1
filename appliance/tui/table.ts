/** The containers table: rows joined from /v1/containers, the stats counters and the rates; sort; filter. */
import type { ContainerInfo, StatsSnapshot } from "./types.ts";

export interface ContainerRow {
  name: string;
  revoked: boolean;
  sessions: number;
  opsPerSecond: number;
  errors: number;
  lastActivity: number;
  lockedUsers: number;
  users: number;
  keys: number;
}

export const SORT_COLUMNS = ["name", "sessions", "ops/s", "errors", "last activity", "locked"] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

export function containerRows(
  containers: readonly ContainerInfo[],
  stats: StatsSnapshot | null,
  rates: Record<string, number>,
): ContainerRow[] {
  return containers.map((c) => {
    const counters = stats?.containers[c.name];
    return {
      name: c.name,
      revoked: c.revoked,
      sessions: c.sessions,
      opsPerSecond: rates[c.name] ?? 0,
      errors: counters?.errors ?? 0,
      lastActivity: Math.max(c.lastActivity ?? 0, counters?.lastActivity ?? 0),
      lockedUsers: c.lockedUsers,
      users: c.users,
      keys: c.keys,
    };
  });
}

const KEY: Record<SortColumn, (r: ContainerRow) => number | string> = {
  name: (r) => r.name,
  sessions: (r) => r.sessions,
  "ops/s": (r) => r.opsPerSecond,
  errors: (r) => r.errors,
  "last activity": (r) => r.lastActivity,
  locked: (r) => r.lockedUsers,
};

/** Names ascending; numbers descending (busiest first); ties by name so the order is stable. */
export function sortRows(rows: readonly ContainerRow[], by: SortColumn): ContainerRow[] {
  const key = KEY[by];
  return [...rows].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (typeof ka === "number" && typeof kb === "number" && ka !== kb) return kb - ka;
    if (typeof ka === "string" && typeof kb === "string" && ka !== kb) return ka < kb ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

export function filterRows(rows: readonly ContainerRow[], text: string): ContainerRow[] {
  const needle = text.trim().toLowerCase();
  return needle ? rows.filter((r) => r.name.toLowerCase().includes(needle)) : [...rows];
}

export function nextSort(by: SortColumn): SortColumn {
  return SORT_COLUMNS[(SORT_COLUMNS.indexOf(by) + 1) % SORT_COLUMNS.length]!;
}

/** First visible row so that `selected` stays inside a window of `height` rows. */
export function scrollTop(current: number, selected: number, height: number): number {
  if (selected < current) return selected;
  if (selected >= current + height) return selected - height + 1;
  return current;
}

/**
 * A stacked column chart drawn with block characters: one column per time bucket, one band per kind.
 * Whole cells take the kind's fill; the top cell of a column is an eighth-block for sub-cell height.
 */
import type { RatePoint } from "./history.ts";

const EIGHTHS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
/** Without colour the kinds are told apart by shading. */
export const MONO_FILLS = ["█", "▓", "▒", "░", "#", "+", "="];

export interface ChartCell {
  text: string;
  /** Index into the kinds, or -1 for empty space. */
  kind: number;
}

/**
 * Averages the rate points into `columns` buckets of `secondsPerColumn`, newest on the right.
 * A bucket before the first point is null (no data yet), which draws as blank.
 */
export function bucketise(
  points: readonly RatePoint[],
  kinds: readonly string[],
  columns: number,
  secondsPerColumn: number,
  now: number,
): (number[] | null)[] {
  const sums = Array.from({ length: columns }, () => new Array<number>(kinds.length).fill(0));
  const counts = new Array<number>(columns).fill(0);
  for (const p of points) {
    const back = Math.floor((now - p.time) / (secondsPerColumn * 1000));
    const col = columns - 1 - back;
    if (col < 0 || col >= columns) continue;
    counts[col]!++;
    kinds.forEach((k, i) => {
      sums[col]![i]! += p.ops[k] ?? 0;
    });
  }
  const first = points.length
    ? columns - 1 - Math.floor((now - points[0]!.time) / (secondsPerColumn * 1000))
    : columns;
  return sums.map((s, col) => {
    if (counts[col]) return s.map((v) => v / counts[col]!);
    return col < first ? null : s; // a gap after data started means no traffic: zero
  });
}

/** A round number at or above `n`, so the axis reads 1, 2, 5, 10, 20, 50… */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** Rows top first; each row a list of cells. `fills[kind]` is the character for a whole cell. */
export function stackedChart(
  columns: readonly (number[] | null)[],
  height: number,
  fills: readonly string[],
): { rows: ChartCell[][]; max: number } {
  const totals = columns.map((c) => (c ? c.reduce((a, b) => a + b, 0) : 0));
  const max = niceMax(Math.max(0, ...totals));
  const rows: ChartCell[][] = Array.from({ length: height }, () => []);
  columns.forEach((col, x) => {
    // cumulative band tops in eighths of a cell
    const tops: number[] = [];
    let acc = 0;
    for (const v of col ?? []) {
      acc += v;
      tops.push(Math.round((acc / max) * height * 8));
    }
    const filled = tops.at(-1) ?? 0;
    for (let r = 0; r < height; r++) {
      const amount = Math.min(8, Math.max(0, filled - r * 8));
      let cell: ChartCell = { text: " ", kind: -1 };
      if (amount > 0) {
        const middle = r * 8 + amount / 2;
        const kind = tops.findIndex((t) => t >= middle);
        cell = { text: amount === 8 ? (fills[kind] ?? "█") : EIGHTHS[amount]!, kind };
      }
      rows[height - 1 - r]![x] = cell;
    }
  });
  return { rows, max };
}

/** Joins neighbouring cells of the same kind so a row renders as a few coloured runs. */
export function runs(row: readonly ChartCell[]): ChartCell[] {
  const out: ChartCell[] = [];
  for (const c of row) {
    const last = out.at(-1);
    if (last && last.kind === c.kind) last.text += c.text;
    else out.push({ ...c });
  }
  return out;
}

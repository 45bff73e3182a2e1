/**
 * Rows a bench measured in an earlier run but not in this one (a size that takes minutes and only
 * runs on request), read back from bench/results/NAME.json and marked with the date they were taken,
 * so a default run does not drop them from RESULTS.md.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function carriedRows<R extends { from?: string }>(
  name: string,
  measured: R[],
  key: (r: R) => number,
): R[] {
  const file = join(import.meta.dir, "..", "results", `${name}.json`);
  if (!existsSync(file)) return [];
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { when?: string; data?: R[] };
    const have = new Set(measured.map(key));
    const newest = Math.max(...measured.map(key));
    return (saved.data ?? [])
      .filter((r) => !have.has(key(r)) && key(r) > newest)
      .map((r) => ({ ...r, from: r.from ?? `run of ${saved.when ?? "an earlier date"}` }));
  } catch {
    return [];
  }
}

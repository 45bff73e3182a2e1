/** Summarises a V8/Bun `.cpuprofile`: the functions with the most self time. */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  share: number;
}

export function topSelfTime(path: string, limit = 15): HotSpot[] {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  if (profile.samples?.length) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const byName = new Map<string, number>();
  for (const [id, count] of hits) {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split("/").slice(-2).join("/");
    const name = `${f.functionName || "(anonymous)"} ${file ? `${file}:${f.lineNumber + 1}` : ""}`.trim();
    byName.set(name, (byName.get(name) ?? 0) + count);
  }
  return [...byName]
    .map(([name, count]) => ({ name, share: count / total }))
    .sort((a, b) => b.share - a.share)
    .slice(0, limit);
}

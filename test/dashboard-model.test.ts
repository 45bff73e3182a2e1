/** The dashboard's arithmetic: rates from snapshots, the stacked chart, layout, summary lines. */
import { describe, expect, test } from "bun:test";
import { bucketise, MONO_FILLS, niceMax, stackedChart } from "../appliance/tui/chart.ts";
import * as f from "../appliance/tui/format.ts";
import { summaryLine } from "../appliance/tui/headless.ts";
import { RateHistory } from "../appliance/tui/history.ts";
import { layout } from "../appliance/tui/layout.ts";
import { filterRows, sortRows } from "../appliance/tui/table.ts";
import { colourFromEnv } from "../appliance/tui/theme.ts";
import type { StatsSnapshot } from "../appliance/tui/types.ts";

function snap(seconds: number, ops: Record<string, number>, uptime = seconds): StatsSnapshot {
  return {
    time: seconds * 1000,
    status: {
      version: "1",
      uptimeSeconds: uptime,
      dataDir: "/d",
      dbSize: 0,
      containers: 1,
      users: 1,
      keys: 1,
      connections: 2,
      selfTest: "passed",
    },
    ops,
    bytes: { hmac: (ops.hmac ?? 0) * 100 },
    latency: { hmac: { p50us: 50, p99us: 500, count: ops.hmac ?? 0 } },
    errors: { BAD_ARGUMENTS: 2 },
    containers: { web: { ops: ops.hmac ?? 0, errors: 0, bytes: 0, lastActivity: 0, connections: 1 } },
    frameErrors: 0,
    lockouts: 0,
    connectionsTotal: 3,
    memory: { heldBytes: 2048, budgetBytes: 1 << 30, refusals: 0 },
  };
}

describe("RateHistory", () => {
  test("rates are counter differences over elapsed time, with peaks", () => {
    const h = new RateHistory();
    h.push(snap(10, { hmac: 100, digest: 0 }));
    expect(h.latest()).toBeUndefined(); // one snapshot is no rate
    h.push(snap(12, { hmac: 500, digest: 20 }));
    expect(h.latest()!.ops).toEqual({ hmac: 200, digest: 10 });
    expect(h.latest()!.bytes.hmac).toBe(20_000);
    expect(h.latest()!.containerOps.web).toBe(200);
    h.push(snap(13, { hmac: 550, digest: 20 }));
    expect(h.latest()!.ops.hmac).toBe(50);
    expect(h.peak.hmac).toBe(200);
    expect(h.peakTotal).toBe(210);
    expect(h.kinds()).toEqual(["hmac", "digest"]);
  });

  test("a restarted appliance (uptime went back) starts a new baseline instead of a negative rate", () => {
    const h = new RateHistory();
    h.push(snap(100, { hmac: 10_000 }));
    h.push(snap(101, { hmac: 10_100 }));
    h.push(snap(102, { hmac: 5 }, 1));
    expect(h.points).toHaveLength(1);
    h.push(snap(103, { hmac: 25 }, 2));
    expect(h.latest()!.ops.hmac).toBe(20);
  });

  test("known kinds stack in a fixed order, unknown ones after them", () => {
    const h = new RateHistory();
    h.push(snap(1, { zeta: 1, session: 1, hmac: 1, alpha: 1 }));
    expect(h.kinds()).toEqual(["hmac", "session", "alpha", "zeta"]);
  });
});

describe("stacked chart", () => {
  test("column heights are proportional to the total, bands stacked by kind", () => {
    // max 10 → a height-4 chart is 32 eighths; 5+0 fills 16 eighths = 2 cells; 10 = 4 cells
    const { rows, max } = stackedChart([[5, 0], [5, 5], null], 4, ["A", "B"]);
    expect(max).toBe(10);
    const col = (x: number) => rows.map((r) => r[x]!.text).join("");
    expect(col(0)).toBe("  AA");
    expect(col(1)).toBe("BBAA");
    expect(col(2)).toBe("    ");
    expect(rows[3]![1]!.kind).toBe(0);
    expect(rows[0]![1]!.kind).toBe(1);
  });

  test("the top cell shows the fraction in eighths", () => {
    const { rows } = stackedChart([[3]], 1, ["█"]);
    // niceMax(3) = 5: 3/5 of 8 eighths = 4.8 → 5 eighths
    expect(rows[0]![0]!.text).toBe("▅");
  });

  test("bucketise averages points per column and leaves the time before the first point blank", () => {
    const pts = [
      { time: 10_000, ops: { hmac: 10 }, bytes: {}, containerOps: {} },
      { time: 11_000, ops: { hmac: 30 }, bytes: {}, containerOps: {} },
    ];
    const cols = bucketise(pts, ["hmac"], 4, 2, 12_000);
    // two-second columns back from now (12 s): the 11 s point is in the newest, the 10 s point one back
    expect(cols[3]).toEqual([30]);
    expect(cols[2]).toEqual([10]);
    expect(cols[0]).toBeNull();
  });

  test("niceMax rounds up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 1, 3, 7, 11, 1499, 50_001].map(niceMax)).toEqual([1, 1, 5, 10, 20, 2000, 100_000]);
  });

  test("NO_COLOR: set and non-empty turns colour off", () => {
    expect(colourFromEnv({ NO_COLOR: "1" })).toBe(false);
    expect(colourFromEnv({ NO_COLOR: "" })).toBe(true);
    expect(colourFromEnv({})).toBe(true);
    expect(new Set(MONO_FILLS.slice(0, 5)).size).toBe(5);
  });
});

describe("table, layout, formats", () => {
  const row = (name: string, ops: number) => ({
    name,
    revoked: false,
    sessions: 0,
    opsPerSecond: ops,
    errors: 0,
    lastActivity: 0,
    lockedUsers: 0,
    users: 0,
    keys: 0,
  });
  test("numbers sort busiest first, ties by name; the filter matches substrings, any case", () => {
    const rows = [row("b", 5), row("a", 5), row("c", 9)];
    expect(sortRows(rows, "ops/s").map((r) => r.name)).toEqual(["c", "a", "b"]);
    expect(sortRows(rows, "name").map((r) => r.name)).toEqual(["a", "b", "c"]);
    expect(filterRows([row("Web-1", 0), row("db", 0)], "WEB").map((r) => r.name)).toEqual(["Web-1"]);
  });

  test("80×24 shows one panel; 40 rows and more stack all three within the height", () => {
    expect(layout(24, "containers", 3)).toEqual([{ panel: "containers", height: 18 }]);
    const tall = layout(40, "traffic", 3);
    expect(tall.map((b) => b.panel)).toEqual(["traffic", "containers", "events"]);
    expect(tall.reduce((a, b) => a + b.height + 2, 0)).toBe(40 - 4);
  });

  test("formats", () => {
    expect([f.count(999), f.count(1234), f.count(56_789), f.count(2_500_000), f.count(0.5)]).toEqual([
      "999",
      "1.23k",
      "56.8k",
      "2.50M",
      "0.5",
    ]);
    expect([f.bytes(512), f.bytes(1536), f.bytes(200 * 1024 * 1024)]).toEqual([
      "512 B",
      "1.5 KiB",
      "200 MiB",
    ]);
    expect([f.micros(50), f.micros(2500), f.micros(Infinity)]).toEqual(["50µs", "2.5ms", ">1s"]);
    expect([f.duration(59), f.duration(61), f.duration(7322), f.duration(90_000)]).toEqual([
      "59s",
      "1m01s",
      "2h02m",
      "1d01h",
    ]);
    expect(f.fit("abcdef", 4)).toBe("abc…");
  });

  test("the headless summary line carries rates, p99, errors and counts", () => {
    const h = new RateHistory();
    h.push(snap(1, { hmac: 0 }));
    const s = snap(2, { hmac: 1500 });
    h.push(s);
    expect(summaryLine(h, s)).toBe(
      "ops/s hmac=1.50k(146 KiB/s) | p99 hmac=500µs | errors 2 | lockouts 0 | frame-errors 0 | client-memory 2.0 KiB/1.0 GiB refused 0 | containers 1 | connections 2",
    );
  });
});

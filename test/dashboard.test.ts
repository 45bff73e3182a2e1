/**
 * The dashboard screen, rendered with ink-testing-library from given stats snapshots: the frame shows
 * the right numbers, the containers table sorts and filters, and the keys do what the help says.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { createElement as h } from "react";
import { Dashboard, type DashboardProps } from "../appliance/tui/Dashboard.tsx";
import { RateHistory } from "../appliance/tui/history.ts";
import type { ContainerInfo, StatsSnapshot, UserInfo } from "../appliance/tui/types.ts";
import { viewOf } from "../appliance/tui/view.ts";

const T0 = Date.parse("2026-01-01T12:00:00Z");

function snapshot(at: number, over: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    time: T0 + at * 1000,
    status: {
      version: "9.8.7",
      uptimeSeconds: 3725 + at,
      dataDir: "/var/lib/vhsm",
      dbSize: 3 * 1024 * 1024,
      containers: 3,
      users: 5,
      keys: 42,
      connections: 4,
      selfTest: "passed",
    },
    ops: {},
    bytes: {},
    latency: {},
    errors: {},
    containers: {},
    frameErrors: 0,
    lockouts: 0,
    connectionsTotal: 17,
    events: [],
    ...over,
  };
}

const counters = (ops: number, errors = 0, lastActivity = T0) => ({
  ops,
  errors,
  bytes: 0,
  lastActivity,
  connections: 1,
});

const CONTAINERS: ContainerInfo[] = [
  { name: "web", revoked: false, users: 2, lockedUsers: 0, keys: 10, sessions: 3, lastActivity: T0 },
  { name: "billing", revoked: false, users: 2, lockedUsers: 1, keys: 30, sessions: 1, lastActivity: T0 },
  { name: "batch", revoked: false, users: 1, lockedUsers: 0, keys: 2, sessions: 0, lastActivity: null },
];

/** Two snapshots one second apart: web does 1,200 HMAC/s, billing 300 digests/s, batch nothing. */
function busyView() {
  const history = new RateHistory();
  history.push(
    snapshot(0, {
      ops: { hmac: 10_000, digest: 5_000, session: 20 },
      bytes: { hmac: 40_000_000, digest: 1_000_000 },
      containers: { web: counters(10_000), billing: counters(5_020, 7), batch: counters(0, 0, 0) },
    }),
  );
  const last = snapshot(1, {
    ops: { hmac: 11_200, digest: 5_300, session: 20 },
    bytes: { hmac: 40_000_000 + 1_200 * 4096, digest: 1_000_000 + 300 * 1024 },
    latency: {
      hmac: { p50us: 100, p99us: 2500, count: 11_200 },
      digest: { p50us: 50, p99us: 250, count: 5_300 },
      session: { p50us: 1000, p99us: 25000, count: 20 },
    },
    errors: { BAD_CREDENTIALS: 6, PIN_LOCKED: 1 },
    lockouts: 1,
    frameErrors: 2,
    memory: {
      heldBytes: 3 * 1024 * 1024,
      budgetBytes: 1024 * 1024 * 1024,
      refusals: 4,
      containerBudgetBytes: 512 * 1024 * 1024,
      byContainer: { web: 1024 * 1024, batch: 2 * 1024 * 1024 },
    },
    containers: { web: counters(11_200), billing: counters(5_320, 7), batch: counters(0, 0, 0) },
    events: [{ time: T0 + 500, level: "warn", message: "frame error", fields: { container: "web" } }],
  });
  history.push(last);
  return viewOf("test", history, last, CONTAINERS);
}

const settle = () => Bun.sleep(30);
afterEach(cleanup);

function show(over: Partial<DashboardProps> = {}) {
  const quits: number[] = [];
  const props: DashboardProps = {
    view: busyView(),
    mode: "attached",
    loadUsers: async () => [],
    onQuit: () => quits.push(1),
    size: { columns: 100, rows: 30 },
    colour: false,
    now: () => T0 + 1000,
    ...over,
  };
  const r = render(h(Dashboard, props));
  return { ...r, props, quits, frame: () => r.lastFrame() ?? "" };
}

/** The container names in the order the table shows them. */
function tableOrder(frame: string): string[] {
  return frame
    .split("\n")
    .map((l) => l.replace(/^│/, "").trim().split(/\s+/)[0] ?? "")
    .filter((w) => ["web", "billing", "batch"].includes(w));
}

describe("header and traffic", () => {
  test("shows status fields, rates from successive snapshots and latency per kind", () => {
    const { frame } = show();
    const f = frame();
    expect(f).toContain("vhsm 9.8.7");
    expect(f).toContain("up 1h02m");
    expect(f).toContain("db 3.0 MiB");
    expect(f).toContain("/var/lib/vhsm");
    expect(f).toContain("self-test passed");
    expect(f).toContain("keys 42  users 5  containers 3  connections 4");
    // total rate 1,500 ops/s; y axis rounds up to 2k
    expect(f).toContain("now 1.50k");
    expect(f).toMatch(/2\.00k┤/);
    const hmac = f.split("\n").find((l) => l.includes(" hmac "))!;
    // ops/s, peak, bytes/s (1,200 × 4 KiB = 4.7 MiB/s), p50, p99, total
    expect(hmac).toMatch(/hmac\s+1\.20k\s+1\.20k\s+4\.7 MiB\/s\s+100µs\s+2\.5ms\s+11\.2k/);
    const digest = f.split("\n").find((l) => l.includes(" digest "))!;
    expect(digest).toMatch(/digest\s+300\s+300\s+300 KiB\/s\s+50µs\s+250µs\s+5\.30k/);
  });

  test("without colour the kinds are told apart by shading in chart and legend", () => {
    const { frame } = show();
    expect(frame()).toContain("█ hmac");
    expect(frame()).toContain("▓ digest");
    expect(frame()).not.toContain("\u001b[");
  });

  test("before the first snapshot it says what it is waiting for", () => {
    const { frame } = show({ view: { ...busyView(), stats: null, source: "/run/x/admin.sock" } });
    expect(frame()).toContain("waiting for the first snapshot from /run/x/admin.sock");
  });
});

describe("containers table", () => {
  test("sorts by ops/s first, and `s` cycles through the columns", async () => {
    const { frame, stdin } = show();
    stdin.write("2");
    await settle();
    expect(frame()).toContain("sort: ops/s");
    expect(tableOrder(frame())).toEqual(["web", "billing", "batch"]);
    stdin.write("s"); // errors
    await settle();
    expect(frame()).toContain("sort: errors");
    expect(tableOrder(frame())).toEqual(["billing", "batch", "web"]);
    stdin.write("s"); // last activity
    stdin.write("s"); // locked
    await settle();
    expect(frame()).toContain("sort: locked");
    expect(tableOrder(frame())[0]).toBe("billing");
    stdin.write("s"); // name
    await settle();
    expect(frame()).toContain("sort: name");
    expect(tableOrder(frame())).toEqual(["batch", "billing", "web"]);
  });

  test("shows sessions, ops/s, errors, activity and locked users per row", async () => {
    const { frame, stdin } = show();
    stdin.write("2");
    await settle();
    const billing = frame()
      .split("\n")
      .find((l) => l.includes("billing"))!;
    expect(billing).toMatch(/billing\s+1\s+300\s+7\s+1s ago\s+1\/2\s+30/);
    const batch = frame()
      .split("\n")
      .find((l) => l.includes("batch"))!;
    expect(batch).toMatch(/batch\s+0\s+0\s+0\s+never\s+0\s+2/);
  });

  test("`/` filters by name; Esc clears the filter", async () => {
    const { frame, stdin } = show();
    stdin.write("/");
    await settle();
    for (const c of "bil") stdin.write(c);
    await settle();
    expect(frame()).toContain("filter: bil");
    expect(tableOrder(frame())).toEqual(["billing"]);
    expect(frame()).toContain("Containers 1 of 3");
    stdin.write("\r");
    await settle();
    // filter kept after Enter; `s` now sorts again instead of typing
    stdin.write("s");
    await settle();
    expect(frame()).toContain("filter: bil");
    expect(frame()).toContain("sort: errors");
    stdin.write("/");
    await settle();
    stdin.write("\u001b");
    await Bun.sleep(120);
    expect(tableOrder(frame())).toHaveLength(3);
  });

  test("typing arrives in chunks (fast typists, tmux send-keys): each character still counts", async () => {
    const { frame, stdin } = show();
    stdin.write("/bat\r");
    await settle();
    expect(tableOrder(frame())).toEqual(["batch"]);
    expect(frame()).not.toContain("▏"); // the Enter in the chunk ended editing
    stdin.write("ss");
    await settle();
    expect(frame()).toContain("sort: last activity");
  });

  test("scrolls: with more rows than fit, the selection stays visible", async () => {
    const many: ContainerInfo[] = Array.from({ length: 40 }, (_, i) => ({
      name: `c${String(i).padStart(2, "0")}`,
      revoked: false,
      users: 1,
      lockedUsers: 0,
      keys: i,
      sessions: 0,
      lastActivity: null,
    }));
    const { frame, stdin } = show({
      view: { ...busyView(), containers: many },
      size: { columns: 80, rows: 24 },
    });
    stdin.write("2");
    stdin.write("s");
    stdin.write("s");
    stdin.write("s");
    stdin.write("s");
    stdin.write("s"); // name
    await settle();
    expect(frame()).toContain("c00");
    expect(frame()).not.toContain("c39");
    stdin.write("\u001b[F"); // End
    await settle();
    expect(frame()).toContain("c39");
    expect(frame()).not.toContain("c00");
    expect(frame()).toMatch(/\d+-40\/40/);
  });

  test("Enter shows the selected container's users and key counts", async () => {
    const asked: string[] = [];
    const users: UserInfo[] = [
      { name: "alice", failedAttempts: 0, locked: false, keys: 12, loggedIn: true },
      { name: "mallory", failedAttempts: 10, locked: true, keys: 3, loggedIn: false },
    ];
    const { frame, stdin } = show({
      loadUsers: async (name) => {
        asked.push(name);
        return users;
      },
    });
    stdin.write("2");
    await settle();
    stdin.write("\u001b[B"); // down: billing
    await settle();
    stdin.write("\r");
    await settle();
    expect(asked).toEqual(["billing"]);
    expect(frame()).toContain("Users of billing");
    expect(frame()).toMatch(/alice\s+12\s+no\s+yes\s+0/);
    expect(frame()).toMatch(/mallory\s+3\s+LOCKED\s+no\s+10/);
    stdin.write("\r");
    await settle();
    expect(frame()).not.toContain("Users of billing");
  });
});

describe("events", () => {
  test("errors by status code with their explanation, lockouts, frame errors, log lines", async () => {
    const { frame, stdin } = show();
    stdin.write("3");
    await settle();
    const f = frame();
    expect(f).toContain("lockouts 1");
    expect(f).toContain("frame errors 2");
    expect(f).toContain("Client memory 3.0 MiB of 1.0 GiB  refused 4  top batch 2.0 MiB of 512 MiB");
    expect(f).toMatch(/BAD_CREDENTIALS\s+6\s+wrong user or PIN/);
    expect(f).toMatch(/PIN_LOCKED\s+1\s+the user is locked/);
    expect(f).toContain('warn  frame error {"container":"web"}');
  });
});

describe("keys", () => {
  test("? toggles the help", async () => {
    const { frame, stdin } = show();
    stdin.write("?");
    await settle();
    expect(frame()).toContain("cycle the sort column");
    stdin.write("?");
    await settle();
    expect(frame()).not.toContain("cycle the sort column");
  });

  test("tab switches panel", async () => {
    const { frame, stdin } = show();
    expect(frame()).toContain("[1 traffic]");
    stdin.write("\t");
    await settle();
    expect(frame()).toContain("[2 containers]");
    stdin.write("\t");
    await settle();
    expect(frame()).toContain("[3 events]");
  });

  test("p pauses the display: new snapshots do not change it until resumed", async () => {
    const r = show();
    r.stdin.write("p");
    await settle();
    expect(r.frame()).toContain("PAUSED");
    const quiet = { ...busyView(), points: [] };
    r.rerender(h(Dashboard, { ...r.props, view: quiet }));
    await settle();
    expect(r.frame()).toContain("now 1.50k");
    r.stdin.write("p");
    await settle();
    expect(r.frame()).not.toContain("PAUSED");
    expect(r.frame()).toContain("now 0");
  });

  test("q quits at once when attached", async () => {
    const { stdin, quits } = show({ mode: "attached" });
    stdin.write("q");
    await settle();
    expect(quits).toHaveLength(1);
  });

  test("q in a foreground serve asks first; only y stops", async () => {
    const { stdin, quits, frame } = show({ mode: "foreground" });
    stdin.write("q");
    await settle();
    expect(frame()).toContain("Stop the appliance?");
    stdin.write("n");
    await settle();
    expect(quits).toHaveLength(0);
    expect(frame()).not.toContain("Stop the appliance?");
    stdin.write("q");
    await settle();
    stdin.write("y");
    await settle();
    expect(quits).toHaveLength(1);
  });
});

describe("sizes", () => {
  for (const [columns, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    test(`fits ${columns}×${rows}`, async () => {
      const { frame, stdin } = show({ size: { columns, rows } });
      for (const key of ["", "2", "3"]) {
        stdin.write(key);
        await settle();
        const lines = frame().split("\n");
        expect(lines.length).toBeLessThanOrEqual(rows);
        for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns);
        expect(frame()).toContain("q quit");
      }
    });
  }

  test("a tall terminal shows all three panels at once", () => {
    const { frame } = show({ size: { columns: 120, rows: 40 } });
    expect(frame()).toContain("Throughput");
    expect(frame()).toContain("Containers 3");
    expect(frame()).toContain("Errors by status code");
  });
});

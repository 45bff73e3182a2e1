#!/usr/bin/env bun
/**
 * What the dashboard costs: appliance HMAC-SHA256 (4 KiB) throughput headless, with the dashboard in
 * the serving process (`serve` on a TTY, in tmux), and with `top` attached from another process.
 * Rounds alternate between the modes so machine noise spreads evenly; the median of each is reported.
 *
 *   bun bench/dashboard-cost.ts [--seconds 5] [--rounds 3]
 *
 * Standalone on purpose (bench/run.ts is someone else's); needs tmux for the TTY modes.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { $ } from "bun";
import { render } from "ink-testing-library";
import { createElement as h } from "react";
import { VhsmClient } from "../agent/index.ts";
import { Dashboard } from "../appliance/tui/Dashboard.tsx";
import { RateHistory } from "../appliance/tui/history.ts";
import type { ContainerInfo, StatsSnapshot } from "../appliance/tui/types.ts";
import { viewOf } from "../appliance/tui/view.ts";

const ROOT = resolve(import.meta.dir, "..");
const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, rounds: { type: "string", default: "3" } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = 4;
const IN_FLIGHT = 16;

const compiled = process.env.VHSM_APPLIANCE ?? join(ROOT, "dist/vhsm-appliance");
const APPLIANCE = existsSync(compiled) ? [compiled] : [process.execPath, join(ROOT, "appliance/main.ts")];
const TMUX = ["tmux", "-L", `vhsm-bench-${process.pid}`];
if (!Bun.which("tmux")) {
  console.error("dashboard-cost needs tmux to give the dashboard a terminal (apt-get install tmux)");
  process.exit(77);
}

type Mode = "headless" | "dashboard in serve" | "headless + top attached";

interface Running {
  runDir: string;
  stop(): Promise<void>;
}

async function waitFor(path: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const ok = await fetch("http://localhost/health", { unix: path } as RequestInit).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
    }
    await Bun.sleep(25);
  }
  throw new Error(`the appliance did not come up (${path})`);
}

/** Every mode runs the appliance in a tmux pane, so the only difference is the dashboard. */
async function start(mode: Mode, dir: string): Promise<Running> {
  const runDir = join(dir, "run");
  const admin = join(runDir, "admin.sock");
  const serve = [
    ...APPLIANCE,
    "serve",
    "--data",
    join(dir, "data"),
    "--run-dir",
    runDir,
    "--kdf-log-n",
    "12",
  ];
  if (mode !== "dashboard in serve") serve.push("--headless");
  const sessions = ["serve"];
  await $`${TMUX} new-session -d -s serve -x 120 -y 40 ${serve.join(" ")}`.quiet();
  await waitFor(admin);
  if (mode === "headless + top attached") {
    sessions.push("top");
    await $`${TMUX} new-session -d -s top -x 120 -y 40 ${[...APPLIANCE, "top", "--admin-socket", admin].join(" ")}`.quiet();
  }
  return {
    runDir,
    stop: async () => {
      for (const s of sessions) await $`${TMUX} kill-session -t ${s}`.quiet().nothrow();
      await Bun.sleep(300); // let the killed appliance release the CPU before the next round
    },
  };
}

async function admin(runDir: string, path: string, body: unknown) {
  const r = await fetch(`http://localhost${path}`, {
    method: "POST",
    unix: join(runDir, "admin.sock"),
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  } as RequestInit);
  if (!r.ok) throw new Error(`${path}: ${await r.text()}`);
}

async function measure(mode: Mode): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "vhsm-dash-bench-"));
  const app = await start(mode, dir);
  try {
    await admin(app.runDir, "/v1/containers", { name: "bench" });
    await admin(app.runDir, "/v1/containers/bench/users", { name: "bench", pin: "bench-pin" });
    const socket = join(app.runDir, "containers/bench/vhsm.sock");
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, () =>
        VhsmClient.connect({ socket, user: "bench", pin: "bench-pin" }),
      ),
    );
    const key = await clients[0]!.keys.import(Buffer.alloc(32, 1));
    const data = Buffer.alloc(4096, 2);
    let ops = 0;
    let counting = false;
    let running = true;
    const workers = clients.flatMap((c) =>
      Array.from({ length: IN_FLIGHT }, async () => {
        while (running) {
          await c.hmac(key, "sha256", data);
          if (counting) ops++;
        }
      }),
    );
    await Bun.sleep(1000); // warm-up: JIT, first dashboard frames
    counting = true;
    const started = performance.now();
    await Bun.sleep(SECONDS * 1000);
    counting = false;
    const rate = ops / ((performance.now() - started) / 1000);
    running = false;
    await Promise.all(workers);
    for (const c of clients) c.close();
    return rate;
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The noise-free half of the answer: main-thread time for one dashboard frame (a full 10-minute
 * history, 50 containers, 120×40), which the in-process dashboard spends once a second.
 */
function frameCost(): number {
  const snap = (i: number): StatsSnapshot => ({
    time: i * 1000,
    status: {
      version: "x",
      uptimeSeconds: i,
      dataDir: "/var/lib/vhsm",
      dbSize: 1 << 20,
      containers: 50,
      users: 50,
      keys: 500,
      connections: 50,
      selfTest: "passed",
    },
    ops: { hmac: i * 20_000, digest: i * 2_000, keymgmt: i, session: i },
    bytes: { hmac: i * 8e7, digest: i * 8e6 },
    latency: { hmac: { p50us: 50, p99us: 250, count: i * 20_000 } },
    errors: { BAD_CREDENTIALS: i },
    containers: Object.fromEntries(
      Array.from({ length: 50 }, (_, c) => [
        `c${c}`,
        { ops: i * (c + 1), errors: 0, bytes: 0, lastActivity: i * 1000, connections: 1 },
      ]),
    ),
    frameErrors: 0,
    lockouts: 0,
    connectionsTotal: 50,
    events: Array.from({ length: 50 }, (_, e) => ({
      time: e,
      level: "info",
      message: "container socket open",
    })),
  });
  const containers: ContainerInfo[] = Array.from({ length: 50 }, (_, c) => ({
    name: `c${c}`,
    revoked: false,
    users: 1,
    lockedUsers: 0,
    keys: 10,
    sessions: 1,
    lastActivity: 0,
  }));
  const history = new RateHistory();
  for (let i = 0; i < 600; i++) history.push(snap(i));
  const props = (i: number) => ({
    view: viewOf("bench", history, snap(i), containers),
    mode: "attached" as const,
    loadUsers: async () => [],
    onQuit: () => {},
    size: { columns: 120, rows: 40 },
    colour: true,
    now: () => i * 1000,
  });
  const r = render(h(Dashboard, props(600)));
  const frames = 200;
  const started = performance.now();
  for (let i = 601; i < 601 + frames; i++) {
    history.push(snap(i));
    r.rerender(h(Dashboard, props(i)));
  }
  const ms = (performance.now() - started) / frames;
  r.unmount();
  return ms;
}

const frameMs = frameCost();
console.log(
  `one dashboard frame (120x40, 50 containers, 10 min history): ${frameMs.toFixed(2)} ms of main thread`,
);

const modes: Mode[] = ["headless", "dashboard in serve", "headless + top attached"];
const results = new Map<Mode, number[]>(modes.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) {
    const rate = await measure(mode);
    results.get(mode)!.push(rate);
    console.error(`round ${round + 1} ${mode}: ${Math.round(rate)} ops/s`);
  }
}
await $`${TMUX} kill-server`.quiet().nothrow();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.get("headless")!);
console.log(
  `HMAC-SHA256 4 KiB, ${CONNECTIONS} connections x ${IN_FLIGHT} in flight, ${SECONDS} s x ${ROUNDS} rounds (median)`,
);
for (const mode of modes) {
  const m = median(results.get(mode)!);
  console.log(
    `${mode.padEnd(26)} ${String(Math.round(m)).padStart(8)} ops/s   ratio ${(m / base).toFixed(3)}`,
  );
}

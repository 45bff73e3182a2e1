/**
 * What the dashboard costs: appliance HMAC-SHA256 (4 KiB, 4 connections × 16 in flight) throughput
 * headless, with the dashboard drawn by the serving process (`serve` on a terminal), and headless with
 * `top` attached from another process. Every mode runs the appliance in a tmux pane (the dashboard
 * needs a terminal), so the dashboard is the only difference; rounds alternate the modes so that noise
 * from elsewhere spreads over all three, and each figure is the best of its rounds. Also times one
 * dashboard frame (a full 10-minute history, 50 containers, 120×40) in-process, the noise-free half of
 * the answer. Skipped, with a note in its section, when tmux is missing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { render } from "ink-testing-library";
import { createElement as h } from "react";
import { VhsmClient } from "../agent/index.ts";
import { Dashboard } from "../appliance/tui/Dashboard.tsx";
import { RateHistory } from "../appliance/tui/history.ts";
import type { ContainerInfo, StatsSnapshot } from "../appliance/tui/types.ts";
import { viewOf } from "../appliance/tui/view.ts";
import { BUN, COMPILED_APPLIANCE, ROOT } from "../test/support/appliance.ts";
import type { Bench, BenchReport } from "./lib/context.ts";
import { fmtInt, markdownTable } from "./lib/format.ts";
import { barChart } from "./lib/svg.ts";

const CONNECTIONS = 4;
const IN_FLIGHT = 16;
const TMUX = ["tmux", "-L", `vhsm-bench-${process.pid}`];

type Mode = "headless" | "dashboard in serve" | "headless + top attached";
const MODES: Mode[] = ["headless", "dashboard in serve", "headless + top attached"];

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
async function start(mode: Mode, dir: string, appliance: string[]): Promise<Running> {
  const runDir = join(dir, "run");
  const admin = join(runDir, "admin.sock");
  const serve = [
    ...appliance,
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
    await $`${TMUX} new-session -d -s top -x 120 -y 40 ${[...appliance, "top", "--admin-socket", admin].join(" ")}`.quiet();
  }
  return {
    runDir,
    stop: async () => {
      // SIGTERM first: tmux ends a pane with SIGHUP, which a headless appliance takes for "rotate the
      // audit log" and survives (every headless round's appliance was left running)
      const own = join(dir, "data");
      await $`pkill -TERM -f -- ${own}`.quiet().nothrow();
      for (let i = 0; i < 250 && (await $`pgrep -f -- ${own}`.quiet().nothrow()).exitCode === 0; i++)
        await Bun.sleep(20);
      for (const s of sessions) await $`${TMUX} kill-session -t ${s}`.quiet().nothrow();
      await Bun.sleep(300); // let the stopped appliance release the CPU before the next round
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

async function measure(mode: Mode, seconds: number, appliance: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "vhsm-dash-bench-"));
  const app = await start(mode, dir, appliance);
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
    await Bun.sleep(seconds * 1000);
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

export const dashboardBench: Bench = {
  name: "dashboard",
  description:
    "what the dashboard costs: HMAC throughput headless, with the dashboard in serve, with top attached",
  async run(ctx): Promise<BenchReport> {
    if (!Bun.which("tmux")) {
      ctx.progress.line("skipped: tmux is missing (apt-get install tmux)");
      return {
        markdown:
          "Not measured in this run: the dashboard needs a terminal, given it here by tmux, which is missing (`apt-get install tmux`).",
      };
    }
    const appliance = ctx.options.compiled ? [COMPILED_APPLIANCE] : [BUN, join(ROOT, "appliance/main.ts")];
    const frameMs = frameCost();
    ctx.progress.line(
      `one dashboard frame (120×40, 50 containers, 10 min history): ${frameMs.toFixed(2)} ms`,
    );
    const seconds = ctx.options.quick ? 1 : 3;
    const rates = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
    try {
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const mode of MODES) {
          const rate = await measure(mode, seconds, appliance);
          rates.get(mode)!.push(rate);
          ctx.progress.line(`round ${round}, ${mode}: ${fmtInt(rate)} ops/s`);
        }
      }
    } finally {
      await $`${TMUX} kill-server`.quiet().nothrow();
    }
    const best = (m: Mode) => Math.max(...rates.get(m)!);
    const base = best("headless");
    const rows = MODES.map((m) => [
      m === "headless" ? "headless (baseline)" : m.replace("top", "`top`").replace("serve", "`serve`"),
      fmtInt(best(m)),
      (best(m) / base).toFixed(3),
    ]);
    const markdown = [
      markdownTable(["mode", "HMAC-SHA256 4 KiB ops/s", "ratio to headless"], rows),
      `${CONNECTIONS} TS connections × ${IN_FLIGHT} in flight from the bench process; each figure is the best of ${ctx.rounds} round(s) of ${seconds} s (after 1 s of warm-up), the modes alternating within each round, each round on a freshly started appliance in its own tmux pane (120×40). ` +
        `One dashboard frame (120×40, 50 containers, a full 10-minute history) takes ${frameMs.toFixed(1)} ms of the drawing thread, once a second: in \`serve\` that is the appliance's main thread, with \`top\` a process of its own competing for the same two cores. Details: docs/dashboard.md.`,
    ].join("\n\n");
    const plot = barChart({
      title: "HMAC-SHA256 4 KiB ops/s, by dashboard mode",
      xLabel: "mode",
      yLabel: "ops/s",
      categories: MODES,
      series: [{ name: "ops/s", values: MODES.map(best) }],
    });
    return {
      markdown,
      plots: [{ file: "dashboard-cost.svg", svg: plot }],
      data: { frameMs, seconds, rates: Object.fromEntries(rates) },
    };
  },
};

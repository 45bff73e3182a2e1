/**
 * Key-count scaling: 1k → 10k → 100k (→ 1M with VHSM_BENCH_MAX_KEYS=1000000) keys stored for one
 * user of one appliance. At each size: start time (process start → /health answering), DB size,
 * latency of KEY_INFO and of HMAC / Ed25519 SIGN on random keys, cold (first use: read the row,
 * decrypt, parse) and warm (the same keys again, from the vault's cache), and how long an admin
 * /v1/stats poll takes (the dashboard asks every second). Keys are written by bench/lib/key-fill.ts
 * with the appliance's own sealing code; one request in flight, so the figures are latency.
 */
import { createPublicKey, verify } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "../test/support/appliance.ts";
import { carriedRows } from "./lib/carry.ts";
import type { Bench, BenchContext, BenchReport } from "./lib/context.ts";
import { fmtBytes, fmtFixed, fmtInt, markdownTable } from "./lib/format.ts";
import { benchKeyId, fillKeys } from "./lib/key-fill.ts";
import { fmtMs, type Percentiles, percentiles, rssOf } from "./lib/latency.ts";
import { measureAsync } from "./lib/load.ts";
import { barChart, lineChart } from "./lib/svg.ts";

const OWNER = { container: "keys", user: "owner", pin: "keys-owner-pin" };
const DEFAULT_MAX = 100_000;
const STARTS = 3;
const MESSAGE = Buffer.alloc(32, 7);

export interface KeysRow {
  keys: number;
  dbBytes: number;
  /** Median and best of STARTS starts, milliseconds. */
  startMs: number;
  startBestMs: number;
  statsPollMs: number;
  /** Appliance CPU per KEY_INFO on random keys with 16 in flight: the lookup's cost without wake-up noise. */
  infoCpuUs: number;
  info: Percentiles;
  hmacCold: Percentiles;
  hmacWarm: Percentiles;
  signCold: Percentiles;
  signWarm: Percentiles;
  rss: number;
  /** Set on rows carried over from an earlier run (a size this run did not reach). */
  from?: string;
}

function sizes(ctx: BenchContext): number[] {
  const max = Number(process.env.VHSM_BENCH_MAX_KEYS ?? (ctx.options.quick ? 10_000 : DEFAULT_MAX));
  const out: number[] = [];
  for (let n = 1000; n <= max; n *= 10) out.push(n);
  return out;
}

/** Starts the appliance on its data dir; returns ms from spawn to the first 200 from /health. */
async function timedStart(app: TestAppliance): Promise<number> {
  const started = performance.now();
  const proc = spawn(app.command(), { stdout: "ignore", stderr: "pipe" });
  app.proc = proc;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`appliance exited: ${await new Response(proc.stderr).text()}`);
    try {
      if ((await app.admin("GET", "/health")).status === 200) return performance.now() - started;
    } catch {}
    if (performance.now() - started > 30_000) throw new Error("appliance did not answer /health in 30 s");
    await Bun.sleep(2);
  }
}

/** `count` distinct random indices below `below` with the given parity. */
function pick(below: number, count: number, parity: number): number[] {
  const chosen = new Set<number>();
  const max = Math.floor((below - parity + 1) / 2);
  while (chosen.size < Math.min(count, max)) chosen.add(2 * Math.floor(Math.random() * max) + parity);
  return [...chosen];
}

async function timeEach(ids: number[], op: (id: string) => Promise<unknown>): Promise<Percentiles> {
  const samples = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const t = performance.now();
    await op(benchKeyId(ids[i]!));
    samples[i] = performance.now() - t;
  }
  return percentiles(samples);
}

type Latencies = Pick<KeysRow, "info" | "hmacCold" | "hmacWarm" | "signCold" | "signWarm">;

/** One round on a freshly started appliance, so every key is cold to it. */
async function measureRound(client: VhsmClient, keys: number, sample: number): Promise<Latencies> {
  const warmUp = 50;
  const perKind = Math.min(sample, keys / 2 - warmUp);
  // the first requests of a fresh process run cold code, not cold keys: spend some keys on that first
  const [hmacPool, signPool] = [pick(keys, perKind + warmUp, 0), pick(keys, perKind + warmUp, 1)];
  const hmacIds = hmacPool.slice(warmUp);
  const signIds = signPool.slice(warmUp);
  // KEY_INFO caches nothing, so its keys may repeat: a fixed count keeps its p99 comparable
  const infoIds = Array.from({ length: 2 * sample }, () => Math.floor(Math.random() * keys));
  const hmac = (id: string) => client.hmac(id, "sha256", MESSAGE);
  const sign = (id: string) => client.sign(id, MESSAGE);
  await timeEach(infoIds.slice(0, 2 * warmUp), (id) => client.keys.info(id));
  await timeEach(hmacPool.slice(0, warmUp), hmac);
  await timeEach(signPool.slice(0, warmUp), sign);
  const result = {
    info: await timeEach(infoIds, (id) => client.keys.info(id)),
    hmacCold: await timeEach(hmacIds, hmac),
    signCold: await timeEach(signIds, sign),
    hmacWarm: await timeEach(hmacIds, hmac),
    signWarm: await timeEach(signIds, sign),
  };
  // the keys the bench wrote are real keys: a signature verifies with the exported public key
  const probe = benchKeyId(signIds[0]!);
  const pem = (await client.keys.publicKey(probe)).data;
  if (!verify(null, MESSAGE, createPublicKey(pem), (await client.sign(probe, MESSAGE)).signature)) {
    throw new Error(`signature by ${probe} does not verify`);
  }
  return result;
}

/** Per column, the round with the lower p99 (load from elsewhere on the machine only adds latency). */
function better(a: Latencies | null, b: Latencies): Latencies {
  if (!a) return b;
  const keep = (k: keyof Latencies) => (b[k].p99 < a[k].p99 ? b[k] : a[k]);
  return {
    info: keep("info"),
    hmacCold: keep("hmacCold"),
    hmacWarm: keep("hmacWarm"),
    signCold: keep("signCold"),
    signWarm: keep("signWarm"),
  };
}

async function measureSize(
  app: TestAppliance,
  keys: number,
  sample: number,
  rounds: number,
): Promise<KeysRow> {
  const starts: number[] = [];
  let best: Latencies | null = null;
  for (let i = 0; i < Math.max(rounds, STARTS); i++) {
    if (i > 0) await app.stop();
    starts.push(await timedStart(app));
    if (i >= rounds) continue;
    const client = await app.client(OWNER.container, OWNER.user, OWNER.pin);
    try {
      best = better(best, await measureRound(client, keys, sample));
    } finally {
      client.close();
    }
  }
  starts.sort((a, b) => a - b);
  const client = await app.client(OWNER.container, OWNER.user, OWNER.pin);
  let infoCpuUs: number;
  try {
    const random = () => benchKeyId(Math.floor(Math.random() * keys));
    const t = await measureAsync([client], 16, (c) => c.keys.info(random()), 1, app.proc!.pid);
    infoCpuUs = (t.cpu!.appliance / t.opsPerSecond) * 1e6;
  } finally {
    client.close();
  }
  const polls = new Float64Array(5);
  for (let i = 0; i < polls.length; i++) {
    const t = performance.now();
    const r = await app.admin("GET", "/v1/stats");
    polls[i] = performance.now() - t;
    if (r.json.status.keys !== keys)
      throw new Error(`/v1/stats counts ${r.json.status.keys} keys, not ${keys}`);
  }
  return {
    keys,
    dbBytes: statSync(join(app.dataDir, "vhsm.db")).size,
    startMs: starts[Math.floor(starts.length / 2)]!,
    startBestMs: starts[0]!,
    statsPollMs: percentiles(polls).p50,
    infoCpuUs,
    ...best!,
    rss: rssOf(app.proc!.pid),
  };
}

export const keysBench: Bench = {
  name: "keys",
  description: "key-count scaling: start time, DB size, KEY_INFO / HMAC / SIGN latency on random keys",
  async run(ctx): Promise<BenchReport> {
    const app = await startTestAppliance();
    const rows: KeysRow[] = [];
    try {
      (await app.setupClient(OWNER.container, OWNER.user, OWNER.pin)).close();
      const sample = ctx.options.quick ? 200 : 1000;
      let stored = 0;
      for (const n of sizes(ctx)) {
        await app.stop();
        const t = performance.now();
        await fillKeys({ dataDir: app.dataDir, ...OWNER }, stored, n);
        ctx.progress.line(
          `${fmtInt(n)} keys written (${fmtInt(n - stored)} in ${fmtMs(performance.now() - t)} ms)`,
        );
        stored = n;
        const row = await measureSize(app, n, sample, ctx.rounds);
        rows.push(row);
        ctx.progress.line(
          `${fmtInt(n)} keys: start ${fmtMs(row.startMs)} ms, KEY_INFO CPU ${fmtFixed(row.infoCpuUs)} µs, p50/p99 ms: KEY_INFO ${fmtMs(row.info.p50)}/${fmtMs(row.info.p99)}, ` +
            `cold HMAC ${fmtMs(row.hmacCold.p50)}/${fmtMs(row.hmacCold.p99)} SIGN ${fmtMs(row.signCold.p50)}/${fmtMs(row.signCold.p99)}, ` +
            `warm HMAC ${fmtMs(row.hmacWarm.p50)}/${fmtMs(row.hmacWarm.p99)} SIGN ${fmtMs(row.signWarm.p50)}/${fmtMs(row.signWarm.p99)}, /v1/stats ${fmtMs(row.statsPollMs)}`,
        );
      }
    } finally {
      await app.dispose();
    }
    return report([...rows, ...carriedRows<KeysRow>("keys", rows, (r) => r.keys)]);
  },
};

function report(rows: KeysRow[]): BenchReport {
  const pp = (p: Percentiles) => `${fmtMs(p.p50)} / ${fmtMs(p.p99)}`;
  const table = markdownTable(
    [
      "keys",
      "DB size",
      "start ms (median / best of 3)",
      "KEY_INFO p50 / p99 ms",
      "KEY_INFO appliance CPU µs",
      "HMAC cold",
      "HMAC warm",
      "Ed25519 SIGN cold",
      "SIGN warm",
      "/v1/stats ms",
      "appliance RSS after",
    ],
    rows.map((r) => [
      `${fmtInt(r.keys)}${r.from ? ` (${r.from})` : ""}`,
      fmtBytes(r.dbBytes),
      `${fmtMs(r.startMs)} / ${fmtMs(r.startBestMs)}`,
      pp(r.info),
      r.infoCpuUs === undefined ? "—" : fmtFixed(r.infoCpuUs),
      pp(r.hmacCold),
      pp(r.hmacWarm),
      pp(r.signCold),
      pp(r.signWarm),
      fmtMs(r.statsPollMs),
      fmtBytes(r.rss),
    ]),
  );
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const notes = [
    "Latency columns are p50 / p99 in ms, one request in flight on one connection, on distinct random keys",
    `(${fmtInt(first.info.count)} KEY_INFO, up to ${fmtInt(first.hmacCold.count)} keys per other column; half the stored keys are HMAC, half Ed25519). Cold = first use since`,
    "the appliance started (row read, AES-GCM open, key parsed); warm = the same keys again from the vault's",
    "cache. Each size runs 3 rounds, each on a freshly started appliance with its own random keys; per column",
    "the round with the lowest p99 is shown (other load on this shared machine only adds latency).",
    "KEY_INFO appliance CPU = the appliance's CPU time per KEY_INFO over 1 s with 16 requests in flight on",
    "random keys: the lookup's own cost, which the sequential latencies (dominated by waking two processes on",
    "a virtual machine, ~25–90 µs from run to run) cannot resolve. Sequential round trips come in two modes:",
    "~15–30 µs when the scheduler keeps client and appliance on one core, ~70–100 µs when every round trip",
    "wakes the other core; which one a round gets is chance (pinning both to one core with `taskset -c 1`",
    "gives the fast mode at every size), so a p50 step between rows is placement, not key count.",
    "Start = spawning `bun appliance/main.ts serve` until `GET /health` answers (polled every 2 ms).",
    `At ${fmtInt(last.keys)} keys the KEY_INFO p99 is ${(last.info.p99 / first.info.p99).toFixed(2)}× and the cold HMAC p99`,
    `${(last.hmacCold.p99 / first.hmacCold.p99).toFixed(2)}× the ${fmtInt(first.keys)}-key figure (target ≤ 2×), and the appliance's CPU per`,
    `KEY_INFO ${(last.infoCpuUs / first.infoCpuUs).toFixed(2)}× (a deeper B-tree); start takes`,
    `${fmtMs(last.startMs)} ms (target < 1,000). Sizes above 100k: \`VHSM_BENCH_MAX_KEYS=1000000 bun bench/run.ts keys\`;`,
    "a row marked with a date was carried over from the last run that reached that size.",
    "Before 3bd3807 the key counts in `/v1/stats` (polled every second by the dashboard, every 5 s by the",
    "headless summary, and once at start-up) and KEY_COUNT scanned every key row: 220 ms at 1M keys, on the",
    "appliance's only thread, and start-up took 430–470 ms at 1M; counts are now kept by triggers.",
  ].join(" ");
  const cats = rows.map((r) => (r.keys >= 1e6 ? `${r.keys / 1e6}M` : `${r.keys / 1e3}k`));
  const latency = lineChart({
    title: "p99 latency vs stored keys (one request in flight)",
    xLabel: "keys stored",
    yLabel: "p99 latency (ms)",
    categories: cats,
    series: [
      { name: "KEY_INFO", values: rows.map((r) => r.info.p99) },
      { name: "HMAC cold", values: rows.map((r) => r.hmacCold.p99) },
      { name: "HMAC warm", values: rows.map((r) => r.hmacWarm.p99) },
      { name: "SIGN cold", values: rows.map((r) => r.signCold.p99) },
      { name: "SIGN warm", values: rows.map((r) => r.signWarm.p99) },
    ],
  });
  const start = barChart({
    title: "Appliance start time and /v1/stats poll vs stored keys",
    xLabel: "keys stored",
    yLabel: "ms",
    categories: cats,
    series: [
      { name: "start (median of 3)", values: rows.map((r) => r.startMs) },
      { name: "/v1/stats poll", values: rows.map((r) => r.statsPollMs) },
    ],
  });
  return {
    markdown: `${table}\n\n${notes}`,
    plots: [
      { file: "keys-latency.svg", svg: latency },
      { file: "keys-start.svg", svg: start },
    ],
    data: rows,
  };
}

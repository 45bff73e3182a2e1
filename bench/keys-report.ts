/** The keys bench's section of RESULTS.md: tables of both placement modes, notes with the ratios, plots. */
import type { BenchReport } from "./lib/context.ts";
import { fmtBytes, fmtFixed, fmtInt, markdownTable } from "./lib/format.ts";
import { fmtMs, type Percentiles } from "./lib/latency.ts";
import { barChart, lineChart } from "./lib/svg.ts";

export interface Latencies {
  /** The first KEY_INFO calls after a start (the warm-up), timed as well. */
  infoStart: Percentiles;
  info: Percentiles;
  hmacCold: Percentiles;
  hmacWarm: Percentiles;
  signCold: Percentiles;
  signWarm: Percentiles;
}

export interface KeysRow extends Latencies {
  keys: number;
  dbBytes: number;
  /** Median and best of the starts, milliseconds. */
  startMs: number;
  startBestMs: number;
  statsPollMs: number;
  /** Appliance CPU per KEY_INFO on random keys with 16 in flight: the lookup's cost without wake-up noise. */
  infoCpuUs: number;
  infoCpuPinnedUs?: number;
  /** The same latencies with the appliance and the bench client on one CPU (absent: not measured). */
  pinned?: Latencies;
  pinCpu?: number;
  rss: number;
  /** RSS minus file pages (the mapped DB, the runtime's binary). */
  rssAnon?: number;
  /** Set on rows carried over from an earlier run (a size this run did not reach). */
  from?: string;
}

const pp = (p: Percentiles | undefined) => (p ? `${fmtMs(p.p50)} / ${fmtMs(p.p99)}` : "—");
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? "—" : `${(a / b).toFixed(2)}×`;

export function keysReport(rows: KeysRow[], rounds: number): BenchReport {
  const label = (r: KeysRow) => `${fmtInt(r.keys)}${r.from ? ` (${r.from})` : ""}`;
  const main = markdownTable(
    [
      "keys",
      "DB size",
      "start ms (median / best)",
      "KEY_INFO pinned",
      "KEY_INFO unpinned",
      "KEY_INFO, first 2,000 after start",
      "KEY_INFO appliance CPU µs (unpinned / pinned)",
      "HMAC cold",
      "HMAC warm",
      "Ed25519 SIGN cold",
      "SIGN warm",
      "/v1/stats ms",
      "appliance RSS after (anon)",
    ],
    rows.map((r) => [
      label(r),
      fmtBytes(r.dbBytes),
      `${fmtMs(r.startMs)} / ${fmtMs(r.startBestMs)}`,
      pp(r.pinned?.info),
      pp(r.info),
      pp(r.infoStart),
      `${fmtFixed(r.infoCpuUs)} / ${r.infoCpuPinnedUs === undefined ? "—" : fmtFixed(r.infoCpuPinnedUs)}`,
      pp(r.hmacCold),
      pp(r.hmacWarm),
      pp(r.signCold),
      pp(r.signWarm),
      fmtMs(r.statsPollMs),
      `${fmtBytes(r.rss)}${r.rssAnon === undefined ? "" : ` (${fmtBytes(r.rssAnon)})`}`,
    ]),
  );
  const pinnedTable = markdownTable(
    ["keys, both on one CPU", "KEY_INFO", "HMAC cold", "HMAC warm", "Ed25519 SIGN cold", "SIGN warm"],
    rows.map((r) => [
      label(r),
      pp(r.pinned?.info),
      pp(r.pinned?.hmacCold),
      pp(r.pinned?.hmacWarm),
      pp(r.pinned?.signCold),
      pp(r.pinned?.signWarm),
    ]),
  );
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const notes = [
    "Latency columns are p50 / p99 in ms, one request in flight on one connection, on random keys",
    `(${fmtInt(first.info.count)} KEY_INFO, up to ${fmtInt(first.hmacCold.count)} distinct keys per other column; half the stored keys are HMAC, half Ed25519). Cold = first use since`,
    "the appliance started (row read, AES-GCM open, key parsed); warm = the same keys again from the vault's",
    `cache. Each size runs ${rounds} rounds per mode, each on a freshly started appliance with its own random keys, the`,
    "two modes alternating; per column the round with the lowest p99 is shown (other load on this shared",
    "machine only adds latency). **Unpinned**: the scheduler places the bench client and the appliance as it",
    "likes. On this 2-core VM a sequential round trip then comes in two modes, ~20–30 µs when both stay on",
    "one core and ~80–100 µs when each request wakes the other, idle, core; which one a round gets is chance",
    "(see the p50s), so an unpinned p99 ratio between two sizes compares placements as much as key counts.",
    "**Pinned**: both processes run under `taskset -c",
    `${first.pinCpu ?? last.pinCpu ?? "N"}\` (the same CPU), which gives every round the one-core mode: the same`,
    "client, protocol and scheduler work at every size, so what differs between sizes is the lookup. The",
    "pinned ratio judges the key-count target; the unpinned ratio is shown beside it. KEY_INFO is timed after",
    '2,000 KEY_INFO on other random keys (their latencies are the "first 2,000 after start" column): a',
    "freshly started appliance and client are still compiling their hot code, and those first requests have",
    "a p99 of up to ~0.75 ms at any key count. KEY_INFO appliance CPU = the appliance's CPU time per KEY_INFO over",
    "1 s with 16 requests in flight on random keys: the lookup's own cost, which placement hardly moves.",
    `**At ${fmtInt(last.keys)} keys the KEY_INFO p99 is ${ratio(last.pinned?.info.p99, first.pinned?.info.p99)} the`,
    `${fmtInt(first.keys)}-key figure pinned and ${ratio(last.info.p99, first.info.p99)} unpinned (target ≤ 2×); p50`,
    `${ratio(last.pinned?.info.p50, first.pinned?.info.p50)} pinned.** The appliance's CPU per KEY_INFO is`,
    `${ratio(last.infoCpuUs, first.infoCpuUs)} (a deeper B-tree, rows no longer in the CPU's caches). Cold HMAC p99 is`,
    `${ratio(last.pinned?.hmacCold.p99, first.pinned?.hmacCold.p99)} pinned and ${ratio(last.hmacCold.p99, first.hmacCold.p99)} unpinned. Start takes ${fmtMs(last.startMs)} ms (target < 1,000), the median of`,
    `${Math.max(rounds, 3)} unpinned starts: spawning \`bun appliance/main.ts serve\` until \`GET /health\` answers (polled every 2 ms).`,
    "The cold HMAC and SIGN p99s (0.4–0.9 ms) are as high at 1k as at 1M, in both modes: each round's",
    "sequence of cold key loads has 1–4 ms stalls at about the same positions (near the 100th, 310th, 365th,",
    "420th and 455th load), with or without the mapping below; that is in the cold-load path, not the key",
    "count, and was not chased here.",
    "How noisy: in five full runs on 2026-11-25 17:48–17:55 (the earlier 2 × Xeon machine; other engineers' benches and",
    "tests running, load average 1.5–4.5) the pinned 1M/1k p99 ratio came out 1.60, 1.01, 1.12, 1.04 and",
    "0.97×, the unpinned one 0.97, 1.27, 0.59, 1.24 and 1.13×; pinned p99s were 0.086–0.137 ms at 1k and",
    "0.109–0.137 ms at 1M, CPU per KEY_INFO 14.4–17.9 µs at 1k and 20.5–22.8 µs at 1M. The store reads",
    "its file through `PRAGMA mmap_size` (1 GiB, database.ts): before, at",
    "1M keys (133 MiB) nearly every lookup missed SQLite's 2 MiB page cache and paid two `pread`s. A/B at 1M",
    "(16 fresh appliances each way, interleaved): appliance CPU per KEY_INFO 22.2–25.4 µs (median 23.9)",
    "without the mapping, 19.4–24.8 µs (median 20.6) with it; 1k unchanged; the p99s moved less than the",
    "noise. Mapped",
    "file pages a lookup has touched count in the RSS column (they are the kernel's page cache, which `pread`",
    "filled just the same, shared and reclaimable; at 1M the 1 s CPU measurement touches most of the file):",
    "RSS after is 225–275 MiB with the mapping against 125–145 MiB without, while the anon figure in",
    "brackets, the appliance's own memory, is 45–100 MiB either way (wherever GC stands). Idle RSS right",
    "after start is the same at 1k and at 1M, with or without the mapping (71 MiB before 081b9d2, ~76 MiB",
    "since: the allocator keeps freed memory for 10 s).",
    "Sizes above 100k: `VHSM_BENCH_MAX_KEYS=1000000 bun bench/run.ts keys`; a row marked with a date was",
    "carried over from the last run that reached that size. Before 3bd3807 the key counts in `/v1/stats`",
    "and KEY_COUNT scanned every key row (220 ms at 1M keys) and start-up took 430–470 ms at 1M; counts",
    "are now kept by triggers.",
  ].join(" ");
  const cats = rows.map((r) => (r.keys >= 1e6 ? `${r.keys / 1e6}M` : `${r.keys / 1e3}k`));
  const latency = lineChart({
    title: "p99 latency vs stored keys (one request in flight)",
    xLabel: "keys stored",
    yLabel: "p99 latency (ms)",
    categories: cats,
    series: [
      ...(rows.every((r) => r.pinned)
        ? [{ name: "KEY_INFO pinned", values: rows.map((r) => r.pinned!.info.p99) }]
        : []),
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
      { name: "start (median)", values: rows.map((r) => r.startMs) },
      { name: "/v1/stats poll", values: rows.map((r) => r.statsPollMs) },
    ],
  });
  return {
    markdown: `${main}\n\n${pinnedTable}\n\n${notes}`,
    plots: [
      { file: "keys-latency.svg", svg: latency },
      { file: "keys-start.svg", svg: start },
    ],
    data: rows,
  };
}

/** The sign bench's section of RESULTS.md: figures per system, vhsm as a multiple of each, targets, plots. */
import type { BenchReport } from "./lib/context.ts";
import { fmtFixed, fmtInt, fmtRatio, markdownTable } from "./lib/format.ts";
import { barChart } from "./lib/svg.ts";
import { ALGORITHMS, SYSTEMS, TARGETS } from "./sign-systems.ts";

export interface Figure {
  opsPerSecond: number;
  /** Share of one core the appliance used in the window (vhsm rows). */
  applianceCpu?: number;
  /** Why the system could not sign with this algorithm ("CKR_MECHANISM_INVALID at C_SignInit"). */
  error?: string;
}

/** Algorithm label → system id → best figure of the run. */
export type Figures = Record<string, Record<string, Figure>>;

const VHSM = SYSTEMS.filter((s) => s.group === "vhsm");
const OTHERS = SYSTEMS.filter((s) => s.group !== "vhsm");
/** The plots leave out the sequential and single-connection rows: ~60 px per bar. */
const PLOTTED = SYSTEMS.filter((s) => !["vhsm-ts-1x1", "vhsm-ts-1x16"].includes(s.id));
const KEY =
  "vhsm 1p/2p: TS agent processes; vhsm C: libvhsm × 4, 1 in flight; C P×16: libvhsm, vhsm_sign_many; shsm: SoftHSM2; p11k: via p11-kit";

const ok = (f: Figure | undefined): f is Figure => !!f && !f.error && f.opsPerSecond > 0;

/** The best vhsm configuration of the run for one algorithm. */
export function bestVhsm(figures: Figures, algorithm: string): { id: string; opsPerSecond: number } | null {
  const row = figures[algorithm] ?? {};
  const runs = VHSM.filter((s) => ok(row[s.id])).map((s) => ({
    id: s.id,
    opsPerSecond: row[s.id]!.opsPerSecond,
  }));
  return runs.sort((a, b) => b.opsPerSecond - a.opsPerSecond)[0] ?? null;
}

function cell(f: Figure | undefined): string {
  if (!f) return "—";
  if (f.error) return `fails (${f.error.split(" at ")[0]})`;
  const cpu = f.applianceCpu ? ` (${fmtFixed((f.applianceCpu / f.opsPerSecond) * 1e6)} µs)` : "";
  return `${fmtInt(f.opsPerSecond)}${cpu}`;
}

function targetRows(figures: Figures): string[][] {
  return TARGETS.map((t) => {
    const best = bestVhsm(figures, t.algorithm);
    const other = t.against ? figures[t.algorithm]?.[t.against] : undefined;
    if (!best || (t.against && !ok(other))) return [`${t.algorithm} ${t.text}`, "not measured", "—"];
    const value = t.against ? best.opsPerSecond / other!.opsPerSecond : best.opsPerSecond;
    const shown = t.against
      ? `${fmtRatio(value)} (${fmtInt(best.opsPerSecond)} vs ${fmtInt(other!.opsPerSecond)})`
      : fmtInt(value);
    return [`${t.algorithm} ${t.text}`, shown, value >= t.goal ? "yes" : "**no**"];
  });
}

function plots(figures: Figures): BenchReport["plots"] {
  const perAlgorithm = ALGORITHMS.map((a) => ({
    file: `sign-${a.label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.svg`,
    svg: barChart({
      title: `${a.label} signatures/s (0 = fails or skipped)`,
      xLabel: KEY,
      yLabel: "signatures/s",
      categories: PLOTTED.map((s) => s.short),
      series: [{ name: a.label, values: PLOTTED.map((s) => figures[a.label]?.[s.id]?.opsPerSecond ?? 0) }],
    }),
  }));
  const ratios = barChart({
    title: "Best vhsm configuration as a multiple of each (0 = fails)",
    xLabel: KEY,
    yLabel: "vhsm ÷ system",
    categories: OTHERS.map((s) => s.short),
    series: ALGORITHMS.map((a) => ({
      name: a.label,
      values: OTHERS.map((s) => {
        const f = figures[a.label]?.[s.id];
        return ok(f) ? (bestVhsm(figures, a.label)?.opsPerSecond ?? 0) / f.opsPerSecond : 0;
      }),
    })),
  });
  return [...perAlgorithm, { file: "sign-ratios.svg", svg: ratios }];
}

/**
 * What the ratio target against p11-kit asks for, next to what both cores make signing with nothing
 * else to do (`openssl speed -multi 2`): vhsm shares those cores with its clients.
 */
function ceilingSentence(figures: Figures): string {
  const target = TARGETS.find((t) => t.against?.startsWith("p11kit") && t.algorithm === "ECDSA P-256");
  const remote = target ? figures[target.algorithm]?.[target.against!] : undefined;
  const ceiling = target ? figures[target.algorithm]?.openssl : undefined;
  if (!target || !ok(remote) || !ok(ceiling)) return "";
  const asked = target.goal * remote.opsPerSecond;
  return (
    `ECDSA P-256 ≥ ${target.goal}× SoftHSM2 behind p11-kit asks in this run for ${target.goal} × ` +
    `${fmtInt(remote.opsPerSecond)} = ${fmtInt(asked)} signatures/s, ` +
    `${Math.round((asked / ceiling.opsPerSecond) * 100)}% of what \`openssl speed -multi 2\` makes here ` +
    `(${fmtInt(ceiling.opsPerSecond)}/s, both cores signing with nothing else to do).`
  );
}

/** The SoftHSM2 figures PLATFORM.md recorded before issue 9's ratio targets were set from them. */
const PLATFORM_PEER: { algorithm: string; system: string; what: string; opsPerSecond: number }[] = [
  { algorithm: "ECDSA P-256", system: "softhsm-2p", what: "ECDSA in-process", opsPerSecond: 19_870 },
  { algorithm: "Ed25519", system: "softhsm-2p", what: "Ed25519 in-process", opsPerSecond: 5_010 },
  { algorithm: "ECDSA P-256", system: "p11kit-2p", what: "ECDSA via p11-kit", opsPerSecond: 7_000 },
];

/** This run's SoftHSM2 against the figures the targets were set from. */
function peerSentence(figures: Figures): string {
  const parts = PLATFORM_PEER.flatMap((p) => {
    const f = figures[p.algorithm]?.[p.system];
    return ok(f)
      ? [
          `${p.what} ${fmtInt(f.opsPerSecond)} against ${fmtInt(p.opsPerSecond)} (${fmtFixed(f.opsPerSecond / p.opsPerSecond, 1)}×)`,
        ]
      : [];
  });
  if (parts.length === 0) return "";
  return (
    "SoftHSM2 with 2 processes in this run, against the figures PLATFORM.md recorded when issue 9's ratio " +
    `targets were set from them: ${parts.join(", ")} signatures/s. (Keys made with pkcs11-tool as ` +
    "PLATFORM.md describes were checked to sign as fast as the driver's own: a difference is not the key set-up.)"
  );
}

export function signReport(figures: Figures, notes: string[], rounds: number, window: number): BenchReport {
  const head = ["system", ...ALGORITHMS.map((a) => a.label)];
  const table = markdownTable(
    head,
    SYSTEMS.map((s) => [s.label, ...ALGORITHMS.map((a) => cell(figures[a.label]?.[s.id]))]),
  );
  const multiples = markdownTable(
    ["best vhsm ÷", ...ALGORITHMS.map((a) => a.label)],
    OTHERS.map((s) => [
      s.label,
      ...ALGORITHMS.map((a) => {
        const f = figures[a.label]?.[s.id];
        const best = bestVhsm(figures, a.label);
        return best && ok(f) ? fmtRatio(best.opsPerSecond / f.opsPerSecond) : f?.error ? "—" : "not measured";
      }),
    ]),
  );
  const best = ALGORITHMS.map((a) => {
    const b = bestVhsm(figures, a.label);
    return `${a.label}: ${b ? SYSTEMS.find((s) => s.id === b.id)!.label : "none"}`;
  }).join("; ");
  const text = [
    "Signatures/s, 32-byte messages (in brackets: the appliance's CPU time per signature).",
    table,
    `Best vhsm configuration per algorithm — ${best}. As a multiple of each other system:`,
    multiples,
    "Targets (issue 9), judged on the best vhsm configuration:",
    markdownTable(["target", "this run", "met"], targetRows(figures)),
    [
      `Each figure is the best of ${rounds} interleaved round(s) of ${window} s windows (openssl speed: one`,
      "1 s run per algorithm and round, which also times verification). Multi-process loads start together on a",
      "shared clock and count over the same window. The appliance is one process: its main thread reads,",
      "answers and signs, and one signing worker thread (`signWorkers`, default 1) takes a share of the",
      "signatures once more than 4 arrive in one event-loop turn; the appliance's CPU column counts both, and",
      "on this 2-core machine they share the cores with the clients. The `C P × 16` rows use libvhsm's",
      "`vhsm_sign_many` (16 signatures per pipelined exchange, one connection per process), the cheapest",
      "client, so they show what the appliance itself can do.",
      ceilingSentence(figures),
      "vhsm ECDSA signs SHA-256 of the message inside the appliance; SoftHSM2 2.6 has no CKM_ECDSA_SHA256, so its driver signs the",
      "precomputed SHA-256 digest with CKM_ECDSA (a 32-byte hash costs ~0.1 µs against ~50 µs per",
      "signature). SoftHSM2 runs from a private token made for the run with the keys generated inside",
      "it, driven by `bench/lib/pkcs11-sign.c` (C_SignInit + C_Sign in a loop); the remote rows load",
      "p11-kit's client module and go through one `p11-kit server` (one server child per connection).",
      "The signature of every system was checked with node:crypto against its public key.",
      peerSentence(figures),
      ...notes,
    ]
      .filter(Boolean)
      .join(" "),
  ];
  return { markdown: text.join("\n\n"), plots: plots(figures), data: figures };
}

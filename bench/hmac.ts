/**
 * HMAC-SHA1 through the appliance vs in-process node:crypto (the original paper's Fig. 1 and 2):
 * 4 KiB and 1 MiB messages, 1/4/16 client connections, one request or 16 in flight per connection,
 * from the TS agent in this process; and 4 KiB from 1/2/4 C processes on libvhsm (vhsm_hmac_many,
 * 16 in flight each). The in-process baseline is one thread calling createHmac in a loop, measured in
 * the same run at the start of each round; every figure is the best of its rounds.
 */
import { createHmac, createSecretKey, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { VhsmClient } from "../agent/index.ts";
import type { Bench, BenchContext, BenchReport } from "./lib/context.ts";
import { fmtFixed, fmtInt, fmtRatio, markdownTable, sizeLabel } from "./lib/format.ts";
import { measureAsync, measureSync } from "./lib/load.ts";
import { barChart, lineChart } from "./lib/svg.ts";
import { buildCDriver, cFleet } from "./lib/vhsm-fleet.ts";

const MIB = 1024 * 1024;
const SIZES = [4096, MIB];
const CLIENTS = [1, 4, 16];
const IN_FLIGHT = [1, 16];
/** C libvhsm rows: processes (one connection each) per payload, requests in flight per connection. */
const C_LOAD = {
  processes: new Map([
    [4096, [1, 2, 4]],
    [MIB, [2]],
  ]),
  inFlight: 16,
};
const LOGIN = { user: "bench", pin: "bench-pin-1" };
const SHA1 = 1; // VHSM_SHA1
const pct = (share: number) => `${Math.round(share * 100)}%`;
/** CPU time per operation: less disturbed by other load on the machine than throughput is. */
const usPerOp = (share: number, r: Measured) => (share / r.opsPerSecond) * 1e6;

interface Measured {
  /** The TS agent from this process, or C processes on libvhsm (one connection each). */
  client: "ts" | "c";
  size: number;
  clients: number;
  inFlight: number;
  opsPerSecond: number;
  /** Share of one core used by the appliance and by the client process in the window. */
  applianceCpu: number;
  clientCpu: number;
}

interface Row extends Measured {
  baselineOpsPerSecond: number;
  ratio: number;
}

async function openClients(ctx: BenchContext, count: number): Promise<VhsmClient[]> {
  const app = await ctx.appliance();
  const first = await app.setupClient("bench", LOGIN.user, LOGIN.pin);
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, () => app.client("bench", LOGIN.user, LOGIN.pin)),
  );
  return [first, ...rest];
}

export const hmacBench: Bench = {
  name: "hmac",
  description: "HMAC-SHA1, 4 KiB and 1 MiB: appliance vs in-process node:crypto",
  async run(ctx): Promise<BenchReport> {
    const secret = randomBytes(20);
    const key = createSecretKey(secret);
    const clients = await openClients(ctx, Math.max(...CLIENTS));
    const app = await ctx.appliance();
    const pid = app.proc!.pid;
    const login = { socket: app.socketOf("bench"), ...LOGIN };
    const best = new Map<string, Measured>();
    const bestBaseline = new Map<number, number>();
    const notes: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), "vhsm-bench-hmac-"));
    let cDriver: string | null = null;
    try {
      cDriver = buildCDriver(dir, "vhsm-hmac");
    } catch (e) {
      notes.push(`C libvhsm rows skipped: ${(e as Error).message.split("\n")[0]}`);
    }
    const perRound =
      SIZES.length * CLIENTS.length * IN_FLIGHT.length +
      (cDriver ? [...C_LOAD.processes.values()].flat().length : 0);
    let step = 0;
    const keep = (m: Measured, baseline: number, who: string) => {
      const id = `${m.client}/${m.size}/${m.clients}/${m.inFlight}`;
      if (m.opsPerSecond > (best.get(id)?.opsPerSecond ?? 0)) best.set(id, m);
      ctx.progress.line(
        `[${++step}/${perRound * ctx.rounds}] ${sizeLabel(m.size)}, ${who}, ${m.inFlight} in flight: ` +
          `${fmtInt(m.opsPerSecond)} ops/s (${fmtRatio(m.opsPerSecond / baseline)}), ` +
          `CPU appliance ${pct(m.applianceCpu)} (${fmtFixed(usPerOp(m.applianceCpu, m))} µs/op) ` +
          `client ${pct(m.clientCpu)} (${fmtFixed(usPerOp(m.clientCpu, m))} µs/op)`,
      );
    };
    try {
      const keyId = await clients[0]!.keys.import(secret);
      const inputs = SIZES.map((size) => {
        const data = randomBytes(size);
        return { size, data, mac: createHmac("sha1", key).update(data).digest() };
      });
      for (const { data, mac } of inputs) {
        const got = await clients[0]!.hmac(keyId, "sha1", data);
        if (!got.equals(mac))
          throw new Error(`appliance HMAC ${got.toString("hex")} differs from node:crypto`);
      }
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const { size, data, mac } of inputs) {
          const base = measureSync(() => createHmac("sha1", key).update(data).digest(), ctx.window);
          bestBaseline.set(size, Math.max(bestBaseline.get(size) ?? 0, base.opsPerSecond));
          ctx.progress.line(
            `round ${round}: ${sizeLabel(size)} in-process ${fmtInt(base.opsPerSecond)} ops/s`,
          );
          for (const n of CLIENTS) {
            for (const inFlight of IN_FLIGHT) {
              const t = await measureAsync(
                clients.slice(0, n),
                inFlight,
                (c) => c.hmac(keyId, "sha1", data),
                ctx.window,
                pid,
              );
              const m: Measured = {
                client: "ts",
                size,
                clients: n,
                inFlight,
                opsPerSecond: t.opsPerSecond,
                applianceCpu: t.cpu?.appliance ?? 0,
                clientCpu: t.cpu?.client ?? 0,
              };
              keep(m, base.opsPerSecond, `${n} client(s)`);
            }
          }
          if (!cDriver) continue;
          for (const processes of C_LOAD.processes.get(size) ?? []) {
            const job = { keyId, cAlg: SHA1, inFlight: C_LOAD.inFlight, message: data };
            const r = await cFleet(cDriver, login, processes, job, ctx.window, pid);
            if (r.error) throw new Error(`C libvhsm, ${processes} process(es): ${r.error}`);
            // each process's last MAC, against node:crypto's
            for (const out of r.outputs ?? [])
              if (!out.equals(mac))
                throw new Error(`libvhsm HMAC ${out.toString("hex")} differs from node:crypto`);
            const m: Measured = {
              client: "c",
              size,
              clients: processes,
              inFlight: C_LOAD.inFlight,
              opsPerSecond: r.opsPerSecond,
              applianceCpu: r.watchedCpu ?? 0,
              clientCpu: r.clientCpu ?? 0,
            };
            keep(m, base.opsPerSecond, `C libvhsm × ${processes} process(es)`);
          }
        }
      }
    } finally {
      for (const c of clients) c.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const rows = [...best.values()].map((m) => {
      const baseline = bestBaseline.get(m.size)!;
      return { ...m, baselineOpsPerSecond: baseline, ratio: m.opsPerSecond / baseline };
    });
    return report(rows, notes, ctx.rounds, ctx.window);
  },
};

function report(rows: Row[], extraNotes: string[], rounds: number, window: number): BenchReport {
  const mibps = (r: Row) => (r.opsPerSecond * r.size) / MIB;
  const table = markdownTable(
    [
      "payload",
      "client",
      "connections",
      "in flight",
      "ops/s",
      "MiB/s",
      "in-process ops/s",
      "ratio",
      "CPU busy appliance / client",
      "CPU µs per op appliance / client",
    ],
    rows.map((r) => [
      sizeLabel(r.size),
      r.client === "ts"
        ? "TS agent, 1 process"
        : `C libvhsm, ${r.clients} process${r.clients > 1 ? "es" : ""}`,
      String(r.clients),
      String(r.inFlight),
      fmtInt(r.opsPerSecond),
      fmtFixed(mibps(r)),
      fmtInt(r.baselineOpsPerSecond),
      fmtRatio(r.ratio),
      `${pct(r.applianceCpu)} / ${pct(r.clientCpu)}`,
      `${fmtFixed(usPerOp(r.applianceCpu, r))} / ${fmtFixed(usPerOp(r.clientCpu, r))}`,
    ]),
  );
  const pick = (size: number, inFlight: number) =>
    CLIENTS.map(
      (n) =>
        rows.find((r) => r.client === "ts" && r.size === size && r.clients === n && r.inFlight === inFlight)!,
    );
  const perSize = (size: number, unit: "ops/s" | "MiB/s") => {
    const value = (r: Row) => (unit === "ops/s" ? r.opsPerSecond : mibps(r));
    const base = pick(size, 1)[0]!;
    const baseValue = unit === "ops/s" ? base.baselineOpsPerSecond : (base.baselineOpsPerSecond * size) / MIB;
    return lineChart({
      title: `HMAC-SHA1 over ${sizeLabel(size)}: vhsm vs in-process`,
      xLabel: "client connections",
      yLabel: unit,
      categories: CLIENTS.map(String),
      series: [
        { name: "in-process node:crypto", values: CLIENTS.map(() => baseValue) },
        { name: "vhsm, 1 in flight", values: pick(size, 1).map(value) },
        { name: "vhsm, 16 in flight", values: pick(size, 16).map(value) },
      ],
    });
  };
  const ratios = barChart({
    title: "HMAC-SHA1 through vhsm, as a fraction of in-process",
    xLabel: "client connections",
    yLabel: "ratio to in-process",
    categories: CLIENTS.map((n) => `${n} client${n > 1 ? "s" : ""}`),
    series: SIZES.flatMap((size) =>
      IN_FLIGHT.map((f) => ({
        name: `${sizeLabel(size)}, ${f} in flight`,
        values: pick(size, f).map((r) => r.ratio),
      })),
    ),
  });
  const notes = [
    `Each figure is the best of ${rounds} round(s) of ${window} s windows, rounds interleaved so that a burst of`,
    "load from elsewhere on the machine spoils one round rather than one row; the baseline likewise.",
    "TS agent rows: connections from one bench process (one event loop); the appliance is a separate process.",
    "On 2 cores the client process and the appliance each get one core; the in-process baseline uses one.",
    `C libvhsm rows: separate processes (bench/lib/vhsm-hmac.c), one connection each with ${C_LOAD.inFlight}`,
    "requests in flight through vhsm_hmac_many, their client CPU the sum of the processes' own CPU time;",
    "each process's last MAC was checked against node:crypto (1 MiB: 2 processes; the drivers read a message",
    "that large from a file). The plots show the TS agent rows.",
    "CPU busy is the share of one core each process used during the window (100% = saturated); CPU per op",
    "is that time divided by the operations done, which other load on the machine disturbs far less than",
    "throughput, so it is the figure to compare when judging an optimisation.",
    ...extraNotes,
  ].join(" ");
  return {
    markdown: `${table}\n\n${notes}`,
    plots: [
      { file: "hmac-4k.svg", svg: perSize(4096, "ops/s") },
      { file: "hmac-1m.svg", svg: perSize(MIB, "MiB/s") },
      { file: "hmac-ratio.svg", svg: ratios },
    ],
    data: rows,
  };
}

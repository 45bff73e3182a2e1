/**
 * Footprint: resident memory of an idle appliance (TypeScript entry under Bun, and the compiled
 * binary when dist/ exists), the same with 16 logged-in clients, and the compiled binary's size.
 * The baseline, measured in the same run, is a bare Bun process doing nothing.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { spawn } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { BUN, COMPILED_APPLIANCE, startTestAppliance } from "../test/support/appliance.ts";
import type { Bench, BenchReport } from "./lib/context.ts";
import { fmtBytes, fmtRatio, markdownTable } from "./lib/format.ts";

const CLIENTS = 16;

/** VmRSS of a process in bytes, from /proc. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
}

interface Row {
  appliance: string;
  idleRss: number;
  withClientsRss: number;
}

/** RSS of a Bun process that only keeps its event loop alive: the runtime's own share. */
async function bareBunRss(settleMs: number): Promise<number> {
  const proc = spawn([BUN, "-e", "setInterval(() => {}, 1000)"], { stdout: "ignore", stderr: "ignore" });
  try {
    await Bun.sleep(settleMs);
    return rssOf(proc.pid);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

async function measure(compiled: boolean, settleMs: number): Promise<Row> {
  const app = await startTestAppliance({ compiled });
  const clients: VhsmClient[] = [];
  try {
    await Bun.sleep(settleMs);
    const idleRss = rssOf(app.proc!.pid);
    clients.push(await app.setupClient("footprint", "user", "footprint-pin"));
    for (let i = 1; i < CLIENTS; i++) clients.push(await app.client("footprint", "user", "footprint-pin"));
    await Promise.all(clients.map((c) => c.ping()));
    await Bun.sleep(settleMs);
    return {
      appliance: compiled ? "compiled `dist/vhsm-appliance`" : "`bun appliance/main.ts`",
      idleRss,
      withClientsRss: rssOf(app.proc!.pid),
    };
  } finally {
    for (const c of clients) c.close();
    await app.dispose();
  }
}

export const footprintBench: Bench = {
  name: "footprint",
  description: "appliance resident memory (idle, 16 clients) and compiled binary size",
  async run(ctx): Promise<BenchReport> {
    const settleMs = ctx.options.quick ? 200 : 1000;
    const bare = await bareBunRss(settleMs);
    ctx.progress.line(`bare bun process: RSS ${fmtBytes(bare)}`);
    const rows = [await measure(false, settleMs)];
    ctx.progress.line(`bun entry: idle RSS ${fmtBytes(rows[0]!.idleRss)}`);
    const haveBinary = existsSync(COMPILED_APPLIANCE);
    if (haveBinary) {
      rows.push(await measure(true, settleMs));
      ctx.progress.line(`compiled: idle RSS ${fmtBytes(rows[1]!.idleRss)}`);
    }
    const table = markdownTable(
      ["appliance", "idle RSS", "ratio to bare Bun", `RSS with ${CLIENTS} logged-in clients`],
      [
        ["bare `bun -e` process (baseline)", fmtBytes(bare), fmtRatio(1), "—"],
        ...rows.map((r) => [
          r.appliance,
          fmtBytes(r.idleRss),
          fmtRatio(r.idleRss / bare),
          fmtBytes(r.withClientsRss),
        ]),
      ],
    );
    const size = haveBinary ? statSync(COMPILED_APPLIANCE).size : 0;
    const binary = haveBinary
      ? `Compiled binary \`dist/vhsm-appliance\`: ${fmtBytes(size)} (most of it is the Bun runtime).`
      : "No `dist/vhsm-appliance` (run `npm run build`): compiled figures skipped.";
    return { markdown: `${table}\n\n${binary}`, data: { bareBunRss: bare, rows, binarySize: size } };
  },
};

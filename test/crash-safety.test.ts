/**
 * Crash safety: several clients generate and import keys while the appliance is killed with SIGKILL at
 * random moments and restarted. Afterwards every key whose creation was acknowledged exists and
 * computes the right HMAC, SQLite's integrity check passes, the rollback guard never raised a false
 * alarm (every restart succeeded), and `vhsm-appliance audit verify` finds the hash chain intact.
 *
 * Audit records are written in batches every 100 ms by default, so an acknowledged operation may lose
 * its record to kill -9 (the count is printed); with --audit-required none may.
 *
 *   VHSM_LONG=1   10,000 acknowledged keys per mode instead of 1,000 (default) and 500 (--audit-required)
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { BUN, ROOT, startTestAppliance, type TestAppliance } from "./support/appliance.ts";

const LONG = process.env.VHSM_LONG === "1";
const WORKERS = 4;
/** Requests each worker keeps in flight. */
const DEPTH = 4;
const PIN = "crash-pin";
const DATA = Buffer.from("crash-safety probe");
const apps: TestAppliance[] = [];

afterAll(async () => {
  for (const a of apps) await a.dispose();
});

interface Acked {
  id: string;
  /** Imported secret, or the MAC computed right after generation (when that call was acknowledged too). */
  secret?: Buffer;
  mac?: Buffer;
}

interface RunResult {
  acked: Acked[];
  kills: number;
  unexpected: string[];
  seconds: number;
}

const expectedLoss = new Set(["CONNECTION_LOST", "CONNECTION_FAILED", "CLIENT_CLOSED"]);

/** Connects and logs in, retrying while the appliance is down. */
async function connect(app: TestAppliance, stop: () => boolean): Promise<VhsmClient | null> {
  while (!stop()) {
    try {
      return await app.client("crash", "alice", PIN);
    } catch {
      await Bun.sleep(10);
    }
  }
  return null;
}

async function worker(app: TestAppliance, n: number, result: RunResult, done: () => boolean): Promise<void> {
  let seq = 0;
  let client: VhsmClient | null = null;
  const one = async (c: VhsmClient): Promise<void> => {
    const i = seq++;
    const imported = i % 2 === 1;
    const id = `w${n}-${imported ? "i" : "g"}${i}`;
    try {
      if (imported) {
        const secret = randomBytes(32);
        await c.keys.import(secret, { id });
        result.acked.push({ id, secret });
      } else {
        await c.keys.generate({ id });
        const entry: Acked = { id };
        result.acked.push(entry);
        entry.mac = Buffer.from(await c.hmac(id, "sha256", DATA));
      }
    } catch (err) {
      const code = (err as { code?: string }).code ?? String(err);
      if (!expectedLoss.has(code)) result.unexpected.push(`${id}: ${code}`);
      c.close();
      if (client === c) client = null;
    }
  };
  while (!done()) {
    client ??= await connect(app, done);
    if (!client) return;
    const c = client;
    await Promise.all(Array.from({ length: DEPTH }, () => one(c)));
  }
  client?.close();
}

/** Kills and restarts the appliance at random moments until enough keys were acknowledged. */
async function crashLoop(app: TestAppliance, target: number, minKills: number): Promise<RunResult> {
  const result: RunResult = { acked: [], kills: 0, unexpected: [], seconds: 0 };
  const started = performance.now();
  let finished = false;
  const done = () => finished;
  const workers = Array.from({ length: WORKERS }, (_, n) => worker(app, n, result, done));
  while (result.acked.length < target || result.kills < minKills) {
    await Bun.sleep(30 + Math.random() * 250);
    await app.kill();
    result.kills++;
    await app.start(); // throws if the appliance refuses to start (a false rollback alarm, a broken store)
  }
  finished = true;
  await Promise.all(workers);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Every acknowledged key, checked through one fresh session. */
async function checkKeys(app: TestAppliance, acked: Acked[]): Promise<void> {
  const c = await app.client("crash", "alice", PIN);
  try {
    const ids = new Set(await c.keys.list());
    const missing = acked.filter((k) => !ids.has(k.id)).map((k) => k.id);
    expect(missing).toEqual([]);
    const wrong: string[] = [];
    for (let i = 0; i < acked.length; i += 64) {
      await Promise.all(
        acked.slice(i, i + 64).map(async (k) => {
          const mac = Buffer.from(await c.hmac(k.id, "sha256", DATA));
          const want = k.secret ? createHmac("sha256", k.secret).update(DATA).digest() : k.mac;
          if (want && !mac.equals(want)) wrong.push(k.id);
        }),
      );
    }
    expect(wrong).toEqual([]);
  } finally {
    c.close();
  }
}

function integrity(app: TestAppliance): string {
  const db = new Database(join(app.dataDir, "vhsm.db"));
  try {
    return (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join("; ");
  } finally {
    db.close();
  }
}

function auditVerify(app: TestAppliance): { code: number | null; out: string } {
  const r = spawnSync([BUN, join(ROOT, "appliance/main.ts"), "audit", "verify", "--data", app.dataDir]);
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

/** Acknowledged creations with no OK record of KEY_GENERATE / KEY_IMPORT for their id. */
function unaudited(app: TestAppliance, acked: Acked[]): string[] {
  const dir = join(app.dataDir, "audit");
  const recorded = new Set<string>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".log"))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (!line) continue;
      try {
        const r = JSON.parse(line) as { op: string; key?: string; status: string };
        if ((r.op === "KEY_GENERATE" || r.op === "KEY_IMPORT") && r.status === "OK" && r.key)
          recorded.add(r.key);
      } catch {}
    }
  }
  return acked.filter((k) => !recorded.has(k.id)).map((k) => k.id);
}

async function run(mode: string, args: string[], target: number, minKills: number): Promise<void> {
  const app = await startTestAppliance({ args });
  apps.push(app);
  (await app.setupClient("crash", "alice", PIN)).close();
  const result = await crashLoop(app, target, minKills);
  await checkKeys(app, result.acked);
  await app.stop();
  const check = integrity(app);
  const verify = auditVerify(app);
  const lost = unaudited(app, result.acked);
  console.log(
    `[crash-safety] ${mode}: ${result.acked.length} acknowledged keys, ${result.kills} kill -9s in ${result.seconds.toFixed(1)} s; ` +
      `acknowledged keys missing or wrong: 0 (asserted); integrity_check: ${check}; audit verify: ${verify.out.trim()}; ` +
      `acknowledged creations without an audit record: ${lost.length}`,
  );
  expect(result.unexpected).toEqual([]);
  expect(check).toBe("ok");
  expect(verify.code).toBe(0);
  // without --audit-required the last batch (up to 100 ms) may be lost with the process: printed above
  if (args.includes("--audit-required")) expect(lost).toEqual([]);
}

test(
  "default (batched audit): acknowledged keys survive kill -9 at random moments",
  async () => {
    await run("default", [], LONG ? 10_000 : 1_000, LONG ? 100 : 20);
  },
  LONG ? 900_000 : 60_000,
);

test(
  "--audit-required: acknowledged keys survive, and every one has its audit record",
  async () => {
    await run("--audit-required", ["--audit-required"], LONG ? 10_000 : 500, LONG ? 100 : 12);
  },
  LONG ? 900_000 : 60_000,
);

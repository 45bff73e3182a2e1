import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { BUN, ROOT, startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance({ args: ["--audit-required"] });
});
afterAll(async () => {
  await app?.dispose();
});

const auditPath = () => join(app.dataDir, "audit", "audit.log");
const records = (file = auditPath()) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

function verify(...args: string[]): { code: number; out: string } {
  const r = spawnSync([BUN, join(ROOT, "appliance/main.ts"), "audit", "verify", ...args]);
  return { code: r.exitCode ?? -1, out: r.stdout.toString() + r.stderr.toString() };
}

describe("the audit log", () => {
  test("records who did what to which key and how it ended, but never data, PINs or key material", async () => {
    const pin = "audit-pin-8731";
    const client = await app.setupClient("audited", "carol", pin);
    const secret = randomBytes(32);
    const id = await client.keys.import(secret, { id: "k-audit" });
    const data = Buffer.from("payload-that-must-not-be-logged");
    await client.hmac(id, "sha256", data);
    await client.hmac("missing", "sha256", data).catch(() => {});
    const ed = await client.keys.generate({ type: "ed25519" });
    await client.sign(ed, data);
    client.close();

    // --audit-required writes each record before the operation is acknowledged: no waiting needed
    const all = records();
    const mine = all.filter((r) => r.actor === "audited/carol");
    expect(mine.map((r) => [r.op, r.key, r.status])).toEqual([
      ["LOGIN", undefined, "OK"],
      ["KEY_IMPORT", "k-audit", "OK"],
      ["HMAC", "k-audit", "OK"],
      ["HMAC", "missing", "KEY_NOT_FOUND"],
      ["KEY_GENERATE", ed, "OK"],
      ["SIGN", ed, "OK"],
    ]);
    expect(mine.find((r) => r.op === "SIGN").version).toBe(1);
    expect(all.some((r) => r.actor === "admin" && r.op === "POST /v1/containers/audited/users")).toBe(true);
    const text = readFileSync(auditPath(), "utf8");
    expect(text).not.toContain(pin);
    expect(text).not.toContain(secret.toString("hex"));
    expect(text).not.toContain(secret.toString("base64"));
    expect(text).not.toContain("payload-that-must-not-be-logged");
    expect(verify("--data", app.dataDir).code).toBe(0);
  });

  test("audit verify names a deleted, an edited and a reordered record", () => {
    const lines = readFileSync(auditPath(), "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(6);
    const dir = join(app.dir, "tampered");
    spawnSync(["mkdir", "-p", dir]);

    const deleted = join(dir, "deleted.log");
    writeFileSync(deleted, `${lines.filter((_, i) => i !== 3).join("\n")}\n`);
    const d = verify("--from", deleted);
    expect(d.code).toBe(1);
    expect(d.out).toContain(`${deleted}:4: record 5: chain broken: expected record 4 here, found 5`);

    const edited = join(dir, "edited.log");
    writeFileSync(
      edited,
      `${lines.map((l, i) => (i === 2 ? l.replace('"status":"OK"', '"status":"NO"') : l)).join("\n")}\n`,
    );
    const e = verify("--from", edited);
    expect(e.code).toBe(1);
    expect(e.out).toContain(`${edited}:3: record 3: hash mismatch: the record was edited`);

    const reordered = join(dir, "reordered.log");
    const swapped = [...lines];
    [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
    writeFileSync(reordered, `${swapped.join("\n")}\n`);
    const r = verify("--from", reordered);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${reordered}:5: record 6: chain broken: expected record 5 here, found 6`);
  });

  test("rotation starts a new file whose first record continues the chain", async () => {
    const before = records().at(-1);
    const r = await app.admin("POST", "/v1/audit/rotate");
    expect(r.status).toBe(200);
    const files = readdirSync(join(app.dataDir, "audit"));
    expect(files.filter((f) => f.startsWith("audit-")).length).toBe(1);
    const first = records()[0];
    expect(first.op).toBe("AUDIT_ROTATE");
    expect(first.prev).toBe(before.hash);
    expect(verify("--data", app.dataDir).code).toBe(0);
    // the new file alone verifies from its first link; the whole sequence from genesis
    expect(verify("--from", auditPath()).code).toBe(0);
  });

  test("30 rotations at once keep 30 archives, and the chain still verifies", async () => {
    const archives = () => readdirSync(join(app.dataDir, "audit")).filter((f) => f.startsWith("audit-"));
    const before = archives().length;
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => app.admin("POST", "/v1/audit/rotate")),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(archives().length).toBe(before + 30);
    const r = verify("--data", app.dataDir);
    expect([r.code, r.out]).toEqual([0, expect.stringContaining("chain intact")]);
  });

  test("records survive a restart and the chain continues across it", async () => {
    await app.restart();
    const client = await app.client("audited", "carol", "audit-pin-8731");
    await client.digest("sha256", Buffer.from("x"));
    client.close();
    expect(records().some((r) => r.op === "APPLIANCE_STOP")).toBe(true);
    expect(verify("--data", app.dataDir).code).toBe(0);
  });

  test("without --audit-required, high-volume operations are counted per 100 ms window: every one accounted for", async () => {
    const counted = await startTestAppliance();
    try {
      const client = await counted.setupClient("busy", "dora", "pin-dora-1");
      const second = await counted.client("busy", "dora", "pin-dora-1");
      const id = await client.keys.generate({ id: "busy-key" });
      const other = await client.keys.generate({ id: "other-key" });
      // interleaved keys and two sessions of the same user: each (key, result) is one tally
      await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          (i % 2 ? second : client).hmac(i % 6 === 0 ? other : id, "sha256", Buffer.from("x")),
        ),
      );
      await client.hmac("nope", "sha256", Buffer.from("x")).catch(() => {});
      await client.keys.delete(id);
      client.close();
      second.close();
      await Bun.sleep(250);
      const all = records(join(counted.dataDir, "audit", "audit.log")).filter((r) => r.actor === "busy/dora");
      // one record per session and key-management action; the counted HMACs add up per (key, result),
      // however the 100 ms windows fell
      expect(all.filter((r) => r.count === undefined).map((r) => [r.op, r.key, r.status])).toEqual([
        ["LOGIN", undefined, "OK"],
        ["LOGIN", undefined, "OK"],
        ["KEY_GENERATE", "busy-key", "OK"],
        ["KEY_GENERATE", "other-key", "OK"],
        ["KEY_DELETE", "busy-key", "OK"],
      ]);
      const sums = new Map<string, number>();
      for (const r of all.filter((r) => r.count !== undefined)) {
        expect(r.op).toBe("HMAC");
        sums.set(`${r.key} ${r.status}`, (sums.get(`${r.key} ${r.status}`) ?? 0) + r.count);
      }
      expect(Object.fromEntries(sums)).toEqual({
        "busy-key OK": 500,
        "other-key OK": 100,
        "nope KEY_NOT_FOUND": 1,
      });
      for (const tally of all.filter((r) => r.count !== undefined)) {
        expect(Date.parse(tally.until)).toBeGreaterThanOrEqual(Date.parse(tally.time));
      }
      expect(verify("--data", counted.dataDir).code).toBe(0);
    } finally {
      await counted.dispose();
    }
  });
});

describe("what a client can make the audit log store", () => {
  test("distinct 60 KiB key ids before login add a few bytes each, not their size", async () => {
    const { statSync } = await import("node:fs");
    const { VhsmClient } = await import("../agent/index.ts");
    await app.enroll("flood");
    const anon = await VhsmClient.connect({ socket: app.socketOf("flood") }); // HELLO, no login
    try {
      const before = statSync(auditPath()).size;
      const sent = 200 * 60 * 1024;
      const ids = Array.from({ length: 200 }, (_, i) => `${i}`.padEnd(60 * 1024, "x"));
      const outcomes = await Promise.all(
        ids.map((keyId) =>
          anon.call("HMAC", { keyId, alg: 2, data: Buffer.from("x") }).then(
            () => "OK",
            (e: { code: string }) => e.code,
          ),
        ),
      );
      expect(new Set(outcomes)).toEqual(new Set(["NOT_LOGGED_IN"]));
      await Bun.sleep(1500); // past the log's batch
      const grown = statSync(auditPath()).size - before;
      expect(grown).toBeLessThan(sent / 100);
      expect(readFileSync(auditPath(), "utf8")).not.toContain("x".repeat(100));
    } finally {
      anon.close();
    }
  });
});

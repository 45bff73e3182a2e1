import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { BUN, ROOT, startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";

let app: TestAppliance;
let restored: TestAppliance | null = null;

beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.dispose();
  await restored?.dispose();
});

function restore(from: string, data: string) {
  const r = spawnSync([BUN, join(ROOT, "appliance/main.ts"), "restore", "--from", from, "--data", data]);
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe("backup and restore", () => {
  test("an online backup taken under load restores into a new appliance that computes the same HMACs", async () => {
    const client = await app.setupClient("web", "alice", "pin-alice-1");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await client.keys.generate({ type: "hmac" }));
    const ed = await client.keys.generate({ type: "ed25519" });
    const data = randomBytes(4096);
    const expected = await Promise.all(ids.map((id) => client.hmac(id, "sha256", data)));

    // keep traffic going while the snapshot is taken
    let stop = false;
    const load = (async () => {
      let n = 0;
      while (!stop) {
        await client.hmac(ids[n++ % ids.length]!, "sha1", data);
        if (n % 50 === 0) await client.keys.generate({ type: "hmac" });
      }
      return n;
    })();
    await Bun.sleep(100);
    const file = join(app.dir, "backup.db");
    const r = await app.admin("POST", "/v1/backup", { path: file });
    stop = true;
    expect(await load).toBeGreaterThan(0);
    expect(r.status).toBe(201);
    expect(r.json.keys).toBeGreaterThanOrEqual(21);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // the backup stays encrypted as at rest: no key material in clear
    expect((await app.admin("POST", "/v1/backup", { path: file })).json.error.code).toBe("BAD_ARGUMENTS");
    client.close();

    const dir = tempDir();
    expect(restore(file, join(dir, "data")).code).toBe(0);
    restored = await startTestAppliance({ dir });
    const again: VhsmClient = await restored.client("web", "alice", "pin-alice-1");
    const macs = await Promise.all(ids.map((id) => again.hmac(id, "sha256", data)));
    expect(macs.map((m) => m.toString("hex"))).toEqual(expected.map((m) => m.toString("hex")));
    expect((await again.sign(ed, data)).version).toBe(1);
    await expect(restored.client("web", "alice", "wrong-pin")).rejects.toMatchObject({
      code: "BAD_CREDENTIALS",
    });
    again.close();
  });

  test("a corrupt or foreign file is refused and nothing is changed", async () => {
    const junk = join(app.dir, "junk.db");
    writeFileSync(junk, randomBytes(8192));
    const target = join(app.dir, "restore-target");
    const r = restore(junk, target);
    expect(r.code).toBe(1);
    expect(r.out).toContain("restore refused, nothing was changed");
    expect(restore(join(app.dir, "missing.db"), target).out).toContain("does not exist");
  });

  test("backup paths must be absolute and new", async () => {
    expect((await app.admin("POST", "/v1/backup", { path: "relative.db" })).status).toBe(400);
    expect((await app.admin("POST", "/v1/backup", { path: "/x", extra: 1 })).status).toBe(400);
  });
});

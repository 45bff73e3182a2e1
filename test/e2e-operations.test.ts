/**
 * Operations end to end with the compiled binaries: bulk enrollment, revoking a container mid-session,
 * backup under load and restore, audit tampering, and metrics that match the work done.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import {
  COMPILED_APPLIANCE,
  ROOT,
  startTestAppliance,
  type TestAppliance,
  tempDir,
} from "./support/appliance.ts";

const PROVISION = join(ROOT, "dist/vhsm-provision");
let app: TestAppliance;
let restored: TestAppliance | null = null;

beforeAll(async () => {
  if (!existsSync(COMPILED_APPLIANCE) || !existsSync(PROVISION)) {
    spawnSync([process.execPath, join(ROOT, "scripts/build.ts"), "appliance", "provision"]);
  }
  app = await startTestAppliance({ compiled: true });
});
afterAll(async () => {
  await app?.dispose();
  await restored?.dispose();
});

function provision(...args: string[]) {
  const r = spawnSync([PROVISION, "--admin-socket", app.adminSocket, ...args], {
    env: { ...process.env, VHSM_PIN: "pin-1234" },
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

function metric(text: string, line: string): number {
  const m = text.split("\n").find((l) => l.startsWith(`${line} `));
  return m ? Number(m.split(" ").at(-1)) : 0;
}

describe("operating the compiled appliance", () => {
  const clients: VhsmClient[] = [];
  const keys: string[] = [];
  const data = randomBytes(2048);

  test("200 containers enrolled from a file; keys used in several", async () => {
    const file = join(app.dir, "containers.txt");
    writeFileSync(file, `${Array.from({ length: 200 }, (_, i) => `c${i}`).join("\n")}\n`);
    expect(provision("enroll", "--from", file).code).toBe(0);
    expect((await app.admin("GET", "/v1/containers")).json.length).toBe(200);
    for (const c of ["c0", "c1", "c2", "c199"]) {
      expect(provision("user", "add", "--container", c, "ops").code).toBe(0);
      const client = await app.client(c, "ops", "pin-1234");
      clients.push(client);
      keys.push(await client.keys.import(Buffer.from(`secret-of-${c}`)));
    }
    for (let i = 0; i < clients.length; i++) {
      const expected = createHmac("sha256", `secret-of-c${[0, 1, 2, 199][i]}`)
        .update(data)
        .digest();
      expect((await clients[i]!.hmac(keys[i]!, "sha256", data)).equals(expected)).toBe(true);
    }
  });

  test("metrics match the work done", async () => {
    const before = (await app.admin("GET", "/metrics")).json as string;
    for (let i = 0; i < 25; i++) await clients[0]!.hmac(keys[0]!, "sha1", data);
    await clients[1]!.hmac("no-such-key", "sha1", data).catch(() => {});
    const after = (await app.admin("GET", "/metrics")).json as string;
    expect(
      metric(after, 'vhsm_operations_total{kind="hmac"}') -
        metric(before, 'vhsm_operations_total{kind="hmac"}'),
    ).toBe(26);
    expect(
      metric(after, 'vhsm_errors_total{code="KEY_NOT_FOUND"}') -
        metric(before, 'vhsm_errors_total{code="KEY_NOT_FOUND"}'),
    ).toBe(1);
    expect(
      metric(after, 'vhsm_container_operations_total{container="c0"}') -
        metric(before, 'vhsm_container_operations_total{container="c0"}'),
    ).toBe(25);
    expect(metric(after, "vhsm_containers")).toBe(200);
  });

  test("revoking a container mid-session fails its requests at once; the others continue", async () => {
    const victim = clients[2]!;
    const inflight = Array.from({ length: 50 }, () =>
      victim.hmac(keys[2]!, "sha256", data).then(
        () => "ok",
        (e) => e.code,
      ),
    );
    expect(provision("revoke", "c2").code).toBe(0);
    const outcomes = await Promise.all(inflight);
    await expect(victim.hmac(keys[2]!, "sha256", data)).rejects.toBeDefined();
    expect(
      outcomes.every(
        (o) => o === "ok" || o === "CONNECTION_LOST" || o === "CLIENT_CLOSED" || o === "CONNECTION_FAILED",
      ),
    ).toBe(true);
    expect((await clients[0]!.hmac(keys[0]!, "sha256", data)).length).toBe(32);
    expect((await clients[3]!.hmac(keys[3]!, "sha256", data)).length).toBe(32);
  });

  test("backup under load restores into a new data dir with the same HMACs", async () => {
    let stop = false;
    const load = (async () => {
      let n = 0;
      while (!stop) n += (await clients[0]!.hmac(keys[0]!, "sha1", data)).length > 0 ? 1 : 0;
      return n;
    })();
    const out = join(app.dir, "backup.db");
    const b = provision("--json", "backup", "--out", out);
    stop = true;
    expect(b.code).toBe(0);
    expect(await load).toBeGreaterThan(0);
    const dir = tempDir();
    const r = spawnSync([COMPILED_APPLIANCE, "restore", "--from", out, "--data", join(dir, "data")]);
    expect(r.exitCode).toBe(0);
    restored = await startTestAppliance({ compiled: true, dir });
    const again = await restored.client("c199", "ops", "pin-1234");
    expect(
      (await again.hmac(keys[3]!, "sha256", data)).equals(await clients[3]!.hmac(keys[3]!, "sha256", data)),
    ).toBe(true);
    again.close();
  });

  test("audit verify passes, then points at each of three kinds of tampering", async () => {
    for (const c of clients) c.close();
    await app.stop();
    const verify = (...args: string[]) => {
      const r = spawnSync([COMPILED_APPLIANCE, "audit", "verify", ...args]);
      return { code: r.exitCode, out: r.stdout.toString() };
    };
    expect(verify("--data", app.dataDir).code).toBe(0);
    const live = join(app.dataDir, "audit", "audit.log");
    const lines = readFileSync(live, "utf8").split("\n").filter(Boolean);
    const cases: [string, string[], string][] = [
      ["deleted", lines.filter((_, i) => i !== 10), ":11: record 12: chain broken"],
      [
        "edited",
        lines.map((l, i) => (i === 20 ? l.replace(/"actor":"[^"]*"/, '"actor":"someone-else"') : l)),
        ":21: record 21: hash mismatch",
      ],
      [
        "reordered",
        lines.map((l, i) => (i === 30 ? lines[31]! : i === 31 ? lines[30]! : l)),
        ":31: record 32: chain broken",
      ],
    ];
    for (const [name, content, expected] of cases) {
      const file = join(app.dir, `${name}.log`);
      writeFileSync(file, `${content.join("\n")}\n`);
      const r = verify("--from", file);
      expect(r.code).toBe(1);
      expect(r.out).toContain(`${file}${expected}`);
    }
  });
});

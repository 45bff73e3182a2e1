/** vhsm-provision's service users, per-key listing and online backup, against the real appliance. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { provisionCli } from "./support/cli-runner.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.dispose();
});

const cli = provisionCli(() => app.adminSocket);

describe("vhsm-provision operations", () => {
  test("user add --service creates a PIN-less user and says what that trades away", async () => {
    expect((await cli(["enroll", "jobs"])).code).toBe(0);
    const r = await cli(["user", "add", "--container", "jobs", "--service", "runner"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("service user (no PIN)");
    expect(r.stdout).toContain("master key");
    const client = await VhsmClient.connect({
      socket: app.socketOf("jobs"),
      user: "runner",
      pin: "",
      reconnectTimeoutMs: 0,
    });
    const id = await client.keys.generate({ id: "job-key" });
    for (let i = 0; i < 3; i++) await client.hmac(id, "sha256", Buffer.from("x"));
    client.close();
    const list = await cli(["user", "list", "--container", "jobs"]);
    expect(list.stdout).toMatch(/runner\s+1\s+service/);
  });

  test("keys lists per-key use counts and last use, never material", async () => {
    const r = await cli(["--json", "keys", "--container", "jobs"]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual([
      expect.objectContaining({ user: "runner", id: "job-key", type: "hmac", versions: 1, useCount: 3 }),
    ]);
    expect(r.json[0].lastUsed).not.toBeNull();
    expect(Object.keys(r.json[0]).sort()).toEqual([
      "bits",
      "created",
      "id",
      "lastUsed",
      "type",
      "useCount",
      "user",
      "versions",
    ]);
    const human = await cli(["keys", "--container", "jobs"]);
    expect(human.stdout).toMatch(/runner\s+job-key\s+hmac\s+1\s+3/);
    expect((await cli(["keys", "--container", "nope"])).code).not.toBe(0);
  });

  test("backup writes a 0600 snapshot the appliance can restore, and refuses to overwrite", async () => {
    const out = join(app.dir, "snap.db");
    const r = await cli(["--json", "backup", "--out", out]);
    expect(r.code).toBe(0);
    expect(r.json.keys).toBe(1);
    expect(existsSync(out)).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = await cli(["backup", "--out", out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("already exists");
  });
});

/**
 * Operator mistakes and races on the admin API get specific answers, never INTERNAL, and a backup
 * is readable by root alone from its first byte.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
  await app.setupClient("bk");
});
afterAll(async () => {
  await app?.dispose();
});

test("a backup is 0600 and leaves no temporary file behind; an existing (even empty) target is refused", async () => {
  const dir = join(app.dir, "backups");
  mkdirSync(dir, { mode: 0o755 });
  const path = join(dir, "store.db");
  const r = await app.admin("POST", "/v1/backup", { path });
  expect(r.status).toBe(201);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(statSync(dir).isDirectory()).toBe(true);
  const planted = join(dir, "planted.db");
  writeFileSync(planted, "", { mode: 0o666 }); // SQLite would write into an empty file someone made
  const again = await app.admin("POST", "/v1/backup", { path: planted });
  expect([again.status, again.json.error.code]).toEqual([400, "BAD_ARGUMENTS"]);
  expect(statSync(planted).size).toBe(0);
  const { readdirSync } = await import("node:fs");
  expect(readdirSync(dir).sort()).toEqual(["planted.db", "store.db"]);
});

test("backup paths that cannot work are BAD_ARGUMENTS that name the problem", async () => {
  const cases: [string, string][] = [
    [join(app.dir, "missing", "x.db"), "does not exist"],
    ["/proc/self/x.db", "/proc"],
    [join(app.dir, `${"n".repeat(300)}.db`), "255"],
    [`${app.dir}/a\0b.db`, "NUL"],
    ["relative.db", "absolute"],
  ];
  for (const [path, words] of cases) {
    const r = await app.admin("POST", "/v1/backup", { path });
    expect([path, r.status, r.json.error.code]).toEqual([path, 400, "BAD_ARGUMENTS"]);
    expect(r.json.error.message).toContain(words);
  }
});

test("adding a user while its container is wiped: CONTAINER_NOT_FOUND, not INTERNAL", async () => {
  for (let round = 0; round < 5; round++) {
    await app.enroll("race");
    const [add, wipe] = await Promise.all([
      app.admin("POST", "/v1/containers/race/users", { name: "u", pin: "1234-pin" }),
      app.admin("DELETE", "/v1/containers/race?wipe=true"),
    ]);
    expect(wipe.status).toBe(200);
    expect(["OK", "CONTAINER_NOT_FOUND"]).toContain(add.status < 300 ? "OK" : add.json.error.code);
  }
});

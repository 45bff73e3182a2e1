/**
 * --audit-required with an audit log that cannot grow (its directory on a full 512 KiB tmpfs, the key
 * store elsewhere): an operation whose record cannot be written is not acknowledged, and a LOGIN so
 * refused leaves no login behind. Needs root (mount); skipped with a message where mounting is not
 * permitted.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { Status } from "../protocol/status.ts";
import { startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";
import { rawSession, responseBody } from "./support/raw-socket.ts";

const PIN = "audit-full-pin";
const dir = tempDir();
const auditDir = join(dir, "data", "audit");
let mounted = false;
let app: TestAppliance | undefined;

beforeAll(() => {
  mkdirSync(auditDir, { recursive: true, mode: 0o700 });
  const r = spawnSync(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", auditDir]);
  mounted = r.exitCode === 0;
  if (!mounted)
    console.log(
      `[audit-full] SKIPPED: cannot mount a tmpfs here (${r.stderr.toString().trim() || "not permitted"})`,
    );
});
afterAll(async () => {
  await app?.kill();
  if (mounted) spawnSync(["umount", auditDir]);
  rmSync(dir, { recursive: true, force: true });
});

test("a LOGIN whose audit record cannot be written is refused and leaves no login, nor an open vault", async () => {
  if (!mounted) return;
  app = await startTestAppliance({ dir, args: ["--audit-required"] });
  (await app.setupClient("c", "alice", PIN)).close();
  const status = async () => (await app!.admin("GET", "/v1/status")).json;

  const s = statfsSync(auditDir);
  writeFileSync(join(auditDir, "ballast"), Buffer.alloc(s.bavail * s.bsize));
  // the audit file's last page still has room: operations go on until a record needs a new one
  const busy = await app.client("c", "alice", PIN);
  let refused = "";
  for (let i = 0; i < 1000 && !refused; i++)
    refused = await busy.random(16).then(
      () => "",
      (e) => e.code,
    );
  expect(refused).toBe("AUDIT_FAILED");
  busy.close();
  const conn = await rawSession(app.socketOf("c"));
  const login = await conn.call("LOGIN", 2, { user: "alice", pin: new TextEncoder().encode(PIN) });
  expect(login.status).not.toBe(Status.OK);
  expect(String(responseBody(login).message)).not.toBe("");
  // not logged in: a key operation is refused, and the user's keys are not left decrypted
  const list = await conn.call("KEY_LIST", 3, { after: "", limit: 10 });
  expect(list.status).toBe(Status.NOT_LOGGED_IN);
  for (let i = 0; i < 100 && (await status()).openVaults !== 0; i++) await Bun.sleep(20);
  expect((await status()).openVaults).toBe(0);
  conn.end();
}, 30_000);

/**
 * The data dir's disk fills up: the appliance runs on a 2 MiB tmpfs, most of it taken by a ballast
 * file, and a client generates keys until a write fails. The client must get a clean STORAGE_FULL
 * (not INTERNAL, no stack in the log), the appliance must stay up and keep serving reads (HMACs,
 * key lists) to open sessions, new logins fail closed, and once the ballast is removed writes work again and the store is intact.
 * Needs root (mount); skipped with a message where mounting is not permitted.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { BUN, ROOT, startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";
import { code } from "./support/outcome.ts";

const PIN = "disk-full-pin";
const SECRET = randomBytes(32);
const DATA = Buffer.from("reads keep working");
const dir = tempDir();
const dataDir = join(dir, "data");
let mounted = false;
let why = "";
let app: TestAppliance | undefined;

beforeAll(() => {
  mkdirSync(dataDir);
  const r = spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", dataDir]);
  mounted = r.exitCode === 0;
  why = r.stderr.toString().trim();
  if (!mounted)
    console.log(`[disk-full] SKIPPED: cannot mount a tmpfs here (${why || "not permitted"}); run as root`);
});
afterAll(async () => {
  await app?.kill();
  if (mounted) spawnSync(["umount", dataDir]);
  rmSync(dir, { recursive: true, force: true });
});

async function expectReadsWork(c: VhsmClient): Promise<void> {
  expect(Buffer.from(await c.hmac("before", "sha256", DATA))).toEqual(
    createHmac("sha256", SECRET).update(DATA).digest(),
  );
  expect(await c.keys.list()).toContain("before");
}

test("a full disk gives the client STORAGE_FULL, reads go on, and freeing space brings writes back", async () => {
  if (!mounted) return;
  app = await startTestAppliance({ dir });
  const c = await app.setupClient("full", "alice", PIN);
  await c.keys.import(SECRET, { id: "before" });
  await app.addUser("full", "bob", PIN);

  // leave ~128 KiB free: the WAL, the audit log and the state file all need some of it
  const free = () => {
    const s = statfsSync(dataDir);
    return s.bavail * s.bsize;
  };
  const ballast = join(dataDir, "ballast");
  writeFileSync(ballast, Buffer.alloc(Math.max(0, free() - 128 * 1024)));

  let created = 0;
  let failure = "";
  let message = "";
  for (let i = 0; i < 5000 && !failure; i++) {
    try {
      await c.keys.generate({ id: `fill-${i}`, bits: 4096 });
      created++;
    } catch (err) {
      failure = (err as { code?: string }).code ?? String(err);
      message = (err as Error).message;
    }
  }
  console.log(`[disk-full] ${created} keys generated before the disk was full; then ${failure}: ${message}`);
  expect(failure).toBe("STORAGE_FULL");
  expect(message).toContain("disk is full");

  // a further write fails the same way, the session stays usable, reads work, a new login works
  expect(await code(c.keys.import(randomBytes(32), { id: "one-more" }))).toBe("STORAGE_FULL");
  await expectReadsWork(c);
  // a login must record its PIN attempt before the PIN is checked; with no room for that it fails
  // closed (otherwise a full disk would allow unlimited guessing)
  expect(await code(app.client("full", "bob", PIN))).toBe("STORAGE_FULL");
  // the usage counters' once-a-second flush fails too: it must not take the appliance down
  await Bun.sleep(1300);
  await expectReadsWork(c);
  expect(app.proc?.exitCode ?? null).toBeNull();
  expect(app.stderr).not.toContain("internal error");
  expect(app.stderr).toContain("key store write failed");

  rmSync(ballast);
  const after = await c.keys.generate({ id: "after-freeing" });
  expect(after).toBe("after-freeing");
  expect(await code(c.hmac(after, "sha256", DATA))).toBe("OK");
  const bob = await app.client("full", "bob", PIN);
  expect(await bob.keys.count()).toBe(0);
  c.close();
  bob.close();
  await app.stop();

  const db = new Database(join(dataDir, "vhsm.db"));
  const check = (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[])
    .map((r) => r.integrity_check)
    .join("; ");
  db.close();
  const audit = spawnSync([BUN, join(ROOT, "appliance/main.ts"), "audit", "verify", "--data", dataDir]);
  console.log(
    `[disk-full] after freeing space: integrity_check ${check}; audit verify exit ${audit.exitCode}:\n${audit.stdout.toString().trim()}`,
  );
  expect(check).toBe("ok");
  // records that could not be written while the disk was full were kept and written afterwards
  expect(audit.exitCode).toBe(0);

  await app.start();
  const again = await app.client("full", "alice", PIN);
  await expectReadsWork(again);
  expect(await again.keys.count()).toBe(created + 2);
  again.close();
}, 60_000);

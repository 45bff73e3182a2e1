/**
 * The key store reads its file through a memory mapping (PRAGMA mmap_size) while writing through the
 * WAL: every read must still see the newest committed row, as the file grows, is checkpointed,
 * shrinks, and is written by another connection.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerStore } from "./containers.ts";
import { DB_FILE, openDatabase } from "./database.ts";
import { KeyStore } from "./keys.ts";
import { UserStore } from "./users.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Material that differs per key and per write, so a stale or misplaced page shows. */
const material = (i: number, gen: number) => new Uint8Array(48).fill((i * 7 + gen * 13) % 251);

const row = (userId: number, i: number, gen: number) => ({
  user_id: userId,
  key_id: `k-${i}`,
  version: 1,
  type: 1,
  bits: 256,
  usage: 16,
  material: material(i, gen),
  created: 0,
  flags: 0,
  min_version: 1,
  rotate_every: 0,
});

test("the store is opened in WAL mode with reads through a 1 GiB mapping", () => {
  const db = openDatabase(join(dir, "pragmas"));
  expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  expect(db.query("PRAGMA mmap_size").get()).toEqual({ mmap_size: 1024 * 1024 * 1024 });
  db.close();
});

test("mapped reads see every committed write through growth, checkpoints, shrinking and a second connection", () => {
  const data = join(dir, "rw");
  const db = openDatabase(data);
  const keys = new KeyStore(db);
  const user = new UserStore(db).create(
    new ContainerStore(db).enroll("c", null, null).row.id,
    "u",
    "{}",
    new Uint8Array([0]),
  );
  const n = 20_000;
  const expectKey = (i: number, gen: number | null) => {
    const found = keys.versions(user, `k-${i}`);
    if (gen === null) expect(found).toEqual([]);
    else expect(found.map((r) => [...r.material])).toEqual([[...material(i, gen)]]);
  };
  const sample = [0, 1, 4_999, 10_000, 15_001, n - 1];

  // the file grows from a few pages to several MiB while mapped
  db.transaction(() => {
    for (let i = 0; i < n; i++) keys.insert(row(user, i, 0));
  })();
  for (const i of sample) expectKey(i, 0);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const grown = statSync(join(data, DB_FILE)).size;
  expect(grown).toBeGreaterThan(1024 * 1024);
  for (const i of sample) expectKey(i, 0);

  // newer versions of mapped pages sit in the WAL until a checkpoint: the WAL must win
  const reseal = (i: number, gen: number) => {
    const [r] = keys.versions(user, `k-${i}`);
    const policy = { usage: 16, flags: 0, min_version: 1, rotate_every: 0 };
    keys.updatePolicy(user, `k-${i}`, policy, new Map([[r!.id, material(i, gen)]]));
  };
  for (const i of sample) reseal(i, 1);
  for (const i of sample) expectKey(i, 1);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  for (const i of sample) expectKey(i, 1);

  // the file shrinks under the mapping
  db.exec("DELETE FROM keys WHERE id % 2 = 0");
  db.exec("VACUUM");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // in WAL mode the file is cut only at the checkpoint
  expect(statSync(join(data, DB_FILE)).size).toBeLessThan(grown);
  const kept = (i: number) => keys.versions(user, `k-${i}`).length === 1;
  expect(sample.filter(kept).length).toBeGreaterThan(0);
  for (const i of sample) expectKey(i, kept(i) ? 1 : null);

  // another connection's commit (the key-fill tool, a second process) is seen by this one
  const other = openDatabase(data);
  new KeyStore(other).insert(row(user, n, 5));
  other.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  other.close();
  expectKey(n, 5);
  db.close();
});

/** Key counts kept by triggers (migration 3) agree with counting the rows, through every write path. */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerStore } from "./containers.ts";
import { openDatabase } from "./database.ts";
import { KeyStore } from "./keys.ts";
import { MIGRATIONS } from "./migrations.ts";
import { UserStore } from "./users.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (userId: number, keyId: string, version = 1) => ({
  user_id: userId,
  key_id: keyId,
  version,
  type: 1,
  bits: 256,
  usage: 16,
  material: new Uint8Array([1]),
  created: 0,
  flags: 0,
  min_version: 1,
  rotate_every: 0,
});

/** The old way: what the triggers must always agree with. */
const scanned = (db: Database, userId: number) =>
  (db.query("SELECT COUNT(DISTINCT key_id) AS n FROM keys WHERE user_id = ?").get(userId) as { n: number }).n;

test("counts follow inserts, new versions, deletes and cascades", () => {
  const db = openDatabase(join(dir, "a"));
  const containers = new ContainerStore(db);
  const users = new UserStore(db);
  const keys = new KeyStore(db);
  const c1 = containers.enroll("c1", null, null).row.id;
  const c2 = containers.enroll("c2", null, null).row.id;
  const alice = users.create(c1, "alice", "{}", new Uint8Array([0]));
  const bob = users.create(c1, "bob", "{}", new Uint8Array([0]));
  const carol = users.create(c2, "carol", "{}", new Uint8Array([0]));
  expect([keys.count(alice), keys.countForContainer(c1)]).toEqual([0, 0]);

  for (const id of ["a", "b", "c"]) keys.insert(row(alice, id));
  keys.insert(row(alice, "a", 2));
  keys.insert(row(alice, "a", 3));
  expect(keys.insert(row(alice, "a", 3))).toBe(false); // refused duplicate changes nothing
  keys.insert(row(bob, "a"));
  keys.insert(row(carol, "z"));
  expect([keys.count(alice), keys.count(bob), keys.count(carol)]).toEqual([3, 1, 1]);
  expect([keys.countForContainer(c1), keys.countForContainer(c2)]).toEqual([4, 1]);

  expect(keys.remove(alice, "a")).toBe(true); // three versions, one key
  expect(keys.count(alice)).toBe(2);
  expect(keys.count(alice)).toBe(scanned(db, alice));
  keys.removeAllForUser(alice);
  expect(keys.count(alice)).toBe(0);

  users.remove(bob); // cascade
  expect(keys.countForContainer(c1)).toBe(0);
  containers.wipe(c2); // cascade through users to keys
  expect(keys.countForContainer(c2)).toBe(0);
  expect(keys.count(carol)).toBe(0);
  expect((db.query("SELECT COUNT(*) AS n FROM key_counts").get() as { n: number }).n).toBe(1);
  db.close();
});

test("the migration counts the keys a store already holds", () => {
  const path = join(dir, "b");
  // a store as schema version 2 left it
  mkdirSync(path, { recursive: true });
  const old = new Database(join(path, "vhsm.db"), { create: true });
  old.exec(MIGRATIONS[0]!);
  old.exec(MIGRATIONS[1]!);
  old.exec("PRAGMA user_version = 2");
  old.exec("INSERT INTO containers (name, created) VALUES ('c', 0)");
  old.exec(
    "INSERT INTO users (container_id, name, kdf, wrapped_key, created) VALUES (1, 'u', '{}', x'00', 0)",
  );
  old.exec(
    "INSERT INTO users (container_id, name, kdf, wrapped_key, created) VALUES (1, 'v', '{}', x'00', 0)",
  );
  for (const [k, v] of [
    ["x", 1],
    ["x", 2],
    ["y", 1],
  ] as const) {
    old
      .query(
        "INSERT INTO keys (user_id, key_id, version, type, bits, usage, material, created) VALUES (1, ?, ?, 1, 256, 16, x'00', 0)",
      )
      .run(k, v);
  }
  old.close();
  const db = openDatabase(path);
  const keys = new KeyStore(db);
  expect([keys.count(1), keys.count(2), keys.countForContainer(1)]).toEqual([2, 0, 2]);
  keys.insert(row(2, "w"));
  expect(keys.countForContainer(1)).toBe(3);
  db.close();
});

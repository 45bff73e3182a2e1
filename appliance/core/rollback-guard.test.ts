/** The rollback guard on a real SQLite file: what moves the counter, what the state file records, what is refused. */
import type { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RollbackError } from "./rollback-guard.ts";
import { openDatabase } from "./store/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fresh(): { dir: string; state: string; open: (accept?: boolean) => Database } {
  const dir = mkdtempSync(join(tmpdir(), "vhsm-guard-"));
  dirs.push(dir);
  const state = join(dir, "state");
  return {
    dir,
    state,
    open: (accept = false) => openDatabase(dir, { stateFile: state, acceptRollback: accept }),
  };
}

const generation = (db: Database) =>
  (db.query("SELECT generation FROM vhsm_meta").get() as { generation: number }).generation;
const recorded = (state: string) => JSON.parse(readFileSync(state, "utf8")).generation as number;

function addKey(db: Database, keyId: string): number {
  db.run("INSERT OR IGNORE INTO containers (name, created) VALUES ('c', 0)");
  db.run(
    "INSERT OR IGNORE INTO users (container_id, name, kdf, wrapped_key, created) VALUES (1, 'u', '{}', x'00', 0)",
  );
  return Number(
    db
      .query(
        "INSERT INTO keys (user_id, key_id, version, type, bits, usage, material, created) VALUES (1, ?, 1, 1, 256, 1, x'00', 0)",
      )
      .run(keyId).lastInsertRowid,
  );
}

test("writes to containers, users and keys move the counter; use counts do not; close() records it", () => {
  const { state, open } = fresh();
  const db = open();
  expect(generation(db)).toBe(0);
  expect(statSync(state).mode & 0o777).toBe(0o600);
  const row = addKey(db, "k1"); // container + user + key
  expect(generation(db)).toBe(3);
  db.run("UPDATE keys SET use_count = use_count + 5, last_used = 9 WHERE id = ?", [row]);
  expect(generation(db)).toBe(3);
  db.run("UPDATE users SET failed_attempts = failed_attempts + 1");
  db.run("UPDATE keys SET usage = 3 WHERE id = ?", [row]);
  db.run("DELETE FROM keys WHERE id = ?", [row]);
  expect(generation(db)).toBe(6);
  db.close();
  expect(recorded(state)).toBe(6);
});

test("an older copy of the store is refused; --accept-rollback adopts it", () => {
  const { dir, state, open } = fresh();
  let db = open();
  addKey(db, "k1");
  db.close();
  copyFileSync(join(dir, "vhsm.db"), join(dir, "old.db"));
  db = open();
  addKey(db, "k2");
  db.close();
  copyFileSync(join(dir, "old.db"), join(dir, "vhsm.db"));
  expect(() => open()).toThrow(RollbackError);
  expect(() => open()).toThrow("rolled back: it is at generation 3, but generation 4 was seen before");
  db = open(true);
  expect(recorded(state)).toBe(3);
  db.close();
  open().close();
});

test("the state file lags the store, never leads it: a store ahead of it is accepted", () => {
  const { state, open } = fresh();
  const db = open();
  addKey(db, "k1");
  // no close(): as after kill -9 before the timer wrote the state
  expect(recorded(state)).toBe(0);
  const again = open();
  expect(recorded(state)).toBe(3);
  again.close();
  db.close();
});

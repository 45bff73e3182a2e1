/** Key use counts are buffered in memory and written in batches; nothing is lost or double-counted. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./store/database.ts";
import { KeyStore } from "./store/keys.ts";
import { UsageRecorder } from "./usage-recorder.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-usage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pending uses show before a flush, move to the store on flush, and are not counted twice", () => {
  const db = openDatabase(dir);
  db.query("INSERT INTO containers (name, created) VALUES ('c', 0)").run();
  db.query(
    "INSERT INTO users (container_id, name, kdf, wrapped_key, created) VALUES (1, 'u', '{}', x'00', 0)",
  ).run();
  db.query(
    "INSERT INTO keys (user_id, key_id, version, type, bits, usage, material, created) VALUES (1, 'k', 1, 1, 256, 16, x'00', 0)",
  ).run();
  const rowId = (db.query("SELECT id FROM keys").get() as { id: number }).id;
  const row = { rowId, userId: 1, created: 0 };
  const stored = () =>
    db.query("SELECT use_count, last_used FROM keys WHERE id = ?").get(rowId) as {
      use_count: number;
      last_used: number;
    };

  const usage = new UsageRecorder(new KeyStore(db));
  const t0 = Date.now();
  usage.record(row);
  usage.record(row);
  expect(usage.pending(row).uses).toBe(2);
  expect(usage.pending(row).lastUsed).toBeGreaterThanOrEqual(t0);
  expect(stored().use_count).toBe(0);

  usage.flush();
  expect(usage.pending(row)).toEqual({ uses: 0, lastUsed: 0 });
  expect(stored().use_count).toBe(2);
  expect(stored().last_used).toBeGreaterThanOrEqual(t0);

  usage.record(row);
  usage.flush();
  usage.flush();
  expect(stored().use_count).toBe(3);
  db.close();
});

test("a deleted key's pending uses never land on the next key that reuses its row id", () => {
  const db = openDatabase(join(dir, "reuse"));
  db.query("INSERT INTO containers (name, created) VALUES ('a', 0), ('b', 0)").run();
  db.query(
    "INSERT INTO users (container_id, name, kdf, wrapped_key, created) VALUES (1, 'u', '{}', x'00', 0), (2, 'u', '{}', x'00', 0)",
  ).run();
  const insert = (userId: number, created: number) =>
    Number(
      db
        .query(
          "INSERT INTO keys (user_id, key_id, version, type, bits, usage, material, created) VALUES (?, 'k', 1, 1, 256, 16, x'00', ?)",
        )
        .run(userId, created).lastInsertRowid,
    );
  const usage = new UsageRecorder(new KeyStore(db));
  const old = { rowId: insert(1, 1000), userId: 1, created: 1000 };
  for (let i = 0; i < 5; i++) usage.record(old);
  db.query("DELETE FROM keys WHERE id = ?").run(old.rowId);
  const next = { rowId: insert(2, 2000), userId: 2, created: 2000 };
  expect(next.rowId).toBe(old.rowId); // SQLite hands the id out again
  expect(usage.pending(next)).toEqual({ uses: 0, lastUsed: 0 });
  usage.flush();
  expect(db.query("SELECT use_count FROM keys WHERE id = ?").get(next.rowId)).toEqual({ use_count: 0 });
  usage.record(next);
  usage.flush();
  expect(db.query("SELECT use_count FROM keys WHERE id = ?").get(next.rowId)).toEqual({ use_count: 1 });
  db.close();
});

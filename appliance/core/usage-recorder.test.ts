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
  const stored = () =>
    db.query("SELECT use_count, last_used FROM keys WHERE id = ?").get(rowId) as {
      use_count: number;
      last_used: number;
    };

  const usage = new UsageRecorder(new KeyStore(db));
  const t0 = Date.now();
  usage.record(rowId);
  usage.record(rowId);
  expect(usage.pending(rowId).uses).toBe(2);
  expect(usage.pending(rowId).lastUsed).toBeGreaterThanOrEqual(t0);
  expect(stored().use_count).toBe(0);

  usage.flush();
  expect(usage.pending(rowId)).toEqual({ uses: 0, lastUsed: 0 });
  expect(stored().use_count).toBe(2);
  expect(stored().last_used).toBeGreaterThanOrEqual(t0);

  usage.record(rowId);
  usage.flush();
  usage.flush();
  expect(stored().use_count).toBe(3);
  db.close();
});

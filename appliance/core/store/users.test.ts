/** The failed-PIN counter: reserved atomically before a PIN is checked, never past the limit. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "./database.ts";
import { UserStore } from "./users.ts";

const dir = mkdtempSync(join(tmpdir(), "vhsm-users-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("reserveAttempt grants exactly max reservations, resetAttempts restores the budget", () => {
  const db = openDatabase(dir);
  db.query("INSERT INTO containers (name, created) VALUES ('c', 0)").run();
  const users = new UserStore(db);
  const id = users.create(1, "u", "{}", new Uint8Array([0]));
  const granted = Array.from({ length: 10 }, () => users.reserveAttempt(id, 4));
  expect(granted).toEqual([true, true, true, true, false, false, false, false, false, false]);
  expect(users.failedAttempts(id)).toBe(4);
  users.resetAttempts(id);
  expect(users.failedAttempts(id)).toBe(0);
  expect(users.reserveAttempt(id, 4)).toBe(true);
  expect(users.reserveAttempt(999, 4)).toBe(false);
  db.close();
});

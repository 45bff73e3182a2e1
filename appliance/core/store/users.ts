/** Users of a container: name, KDF parameters, the wrapped data key, and the failed-PIN counter. */
import type { Database } from "bun:sqlite";

export interface UserRow {
  id: number;
  container_id: number;
  name: string;
  kdf: string;
  wrapped_key: Uint8Array;
  failed_attempts: number;
  created: number;
}

export class UserStore {
  constructor(private readonly db: Database) {}

  byName(containerId: number, name: string): UserRow | null {
    return this.db
      .query("SELECT * FROM users WHERE container_id = ? AND name = ?")
      .get(containerId, name) as UserRow | null;
  }

  byId(id: number): UserRow | null {
    return this.db.query("SELECT * FROM users WHERE id = ?").get(id) as UserRow | null;
  }

  list(containerId: number): UserRow[] {
    return this.db
      .query("SELECT * FROM users WHERE container_id = ? ORDER BY name")
      .all(containerId) as UserRow[];
  }

  create(containerId: number, name: string, kdf: string, wrappedKey: Uint8Array): number {
    const r = this.db
      .query("INSERT INTO users (container_id, name, kdf, wrapped_key, created) VALUES (?, ?, ?, ?, ?)")
      .run(containerId, name, kdf, wrappedKey, Date.now());
    return Number(r.lastInsertRowid);
  }

  /**
   * Reserves one PIN attempt before the PIN is checked, atomically: returns false when the user has
   * already used up `max` attempts (locked). Concurrent guesses can never exceed the limit.
   */
  reserveAttempt(id: number, max: number): boolean {
    const row = this.db
      .query(
        "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ? AND failed_attempts < ? RETURNING id",
      )
      .get(id, max);
    return row !== null;
  }

  failedAttempts(id: number): number {
    const row = this.db.query("SELECT failed_attempts FROM users WHERE id = ?").get(id) as {
      failed_attempts: number;
    } | null;
    return row?.failed_attempts ?? 0;
  }

  resetAttempts(id: number): void {
    this.db.query("UPDATE users SET failed_attempts = 0 WHERE id = ? AND failed_attempts != 0").run(id);
  }

  rewrap(id: number, kdf: string, wrappedKey: Uint8Array): void {
    this.db.query("UPDATE users SET kdf = ?, wrapped_key = ? WHERE id = ?").run(kdf, wrappedKey, id);
  }

  remove(id: number): void {
    this.db.query("DELETE FROM users WHERE id = ?").run(id);
  }
}

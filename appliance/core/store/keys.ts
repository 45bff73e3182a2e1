/** Key rows: encrypted material plus the metadata clients may see. Every query is scoped to one user. */
import type { Database } from "bun:sqlite";

export interface KeyRow {
  id: number;
  user_id: number;
  key_id: string;
  version: number;
  type: number;
  bits: number;
  usage: number;
  material: Uint8Array;
  created: number;
  last_used: number;
  use_count: number;
  flags: number;
  min_version: number;
  rotate_every: number;
  /** How the material's seal binds the row (vault.ts keyAad): SEAL_FORMAT, or LEGACY_SEAL_FORMAT. */
  seal: number;
}

/** The seal format rows are written in: the AAD binds creation time and rotation period too. */
export const SEAL_FORMAT = 3;
/** Rows sealed before format 3 (schema migration 4 marks them): their AAD binds neither. */
export const LEGACY_SEAL_FORMAT = 2;

/** Key-level policy, the same on every version row of a key. */
export interface KeyPolicy {
  usage: number;
  flags: number;
  min_version: number;
  rotate_every: number;
}

export type KeyMeta = Omit<KeyRow, "material">;

export class KeyStore {
  constructor(private readonly db: Database) {}

  /** The newest version of a user's key. */
  latest(userId: number, keyId: string): KeyRow | null {
    return this.db
      .query("SELECT * FROM keys WHERE user_id = ? AND key_id = ? ORDER BY version DESC LIMIT 1")
      .get(userId, keyId) as KeyRow | null;
  }

  version(userId: number, keyId: string, version: number): KeyRow | null {
    return this.db
      .query("SELECT * FROM keys WHERE user_id = ? AND key_id = ? AND version = ?")
      .get(userId, keyId, version) as KeyRow | null;
  }

  versions(userId: number, keyId: string): KeyRow[] {
    return this.db
      .query("SELECT * FROM keys WHERE user_id = ? AND key_id = ? ORDER BY version")
      .all(userId, keyId) as KeyRow[];
  }

  exists(userId: number, keyId: string): boolean {
    return (
      this.db.query("SELECT 1 FROM keys WHERE user_id = ? AND key_id = ? LIMIT 1").get(userId, keyId) !== null
    );
  }

  /** Inserts one version of a key, sealed in SEAL_FORMAT; returns false if that (id, version) is taken. */
  insert(row: Omit<KeyRow, "id" | "last_used" | "use_count" | "seal">): boolean {
    try {
      this.db
        .query(
          `INSERT INTO keys (user_id, key_id, version, type, bits, usage, material, created, flags, min_version, rotate_every, seal)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${SEAL_FORMAT})`,
        )
        .run(
          row.user_id,
          row.key_id,
          row.version,
          row.type,
          row.bits,
          row.usage,
          row.material,
          row.created,
          row.flags,
          row.min_version,
          row.rotate_every,
        );
      return true;
    } catch (err) {
      if (String((err as Error).message).includes("UNIQUE")) return false;
      throw err;
    }
  }

  /** Sets a new policy on every version, with each version's material resealed to match it. */
  updatePolicy(userId: number, keyId: string, policy: KeyPolicy, resealed: Map<number, Uint8Array>): void {
    const stmt = this.db.query(
      `UPDATE keys SET usage = ?, flags = ?, min_version = ?, rotate_every = ?, material = ?, seal = ${SEAL_FORMAT} WHERE id = ? AND user_id = ? AND key_id = ?`,
    );
    this.db.transaction(() => {
      for (const [rowId, material] of resealed) {
        stmt.run(
          policy.usage,
          policy.flags,
          policy.min_version,
          policy.rotate_every,
          material,
          rowId,
          userId,
          keyId,
        );
      }
    })();
  }

  /**
   * Stores a legacy row's material resealed in SEAL_FORMAT, unless the row changed since it was read
   * (a policy update or rotation resealed it first). Returns whether it was stored.
   */
  reseal(row: KeyRow, material: Uint8Array): boolean {
    return (
      this.db
        .query(
          `UPDATE keys SET material = ?, seal = ${SEAL_FORMAT} WHERE id = ? AND user_id = ? AND seal = ${LEGACY_SEAL_FORMAT} AND material = ?`,
        )
        .run(material, row.id, row.user_id, row.material).changes > 0
    );
  }

  /** Up to `limit` of a user's rows still in LEGACY_SEAL_FORMAT, with ids above `afterId`, by id. */
  legacyRows(userId: number, afterId: number, limit: number): KeyRow[] {
    return this.db
      .query(
        `SELECT * FROM keys WHERE user_id = ? AND seal = ${LEGACY_SEAL_FORMAT} AND id > ? ORDER BY id LIMIT ?`,
      )
      .all(userId, afterId, limit) as KeyRow[];
  }

  remove(userId: number, keyId: string): boolean {
    return this.db.query("DELETE FROM keys WHERE user_id = ? AND key_id = ?").run(userId, keyId).changes > 0;
  }

  removeAllForUser(userId: number): number {
    return this.db.query("DELETE FROM keys WHERE user_id = ?").run(userId).changes;
  }

  /** Key metadata (never material) of every user of a container, one row per key id. */
  listForContainer(containerId: number): {
    user: string;
    key_id: string;
    type: number;
    bits: number;
    versions: number;
    use_count: number;
    last_used: number;
    created: number;
  }[] {
    return this.db
      .query(
        `SELECT u.name AS user, k.key_id, k.type, k.bits, MAX(k.version) AS versions, SUM(k.use_count) AS use_count,
                MAX(k.last_used) AS last_used, MIN(k.created) AS created
         FROM keys k JOIN users u ON u.id = k.user_id
         WHERE u.container_id = ? GROUP BY k.user_id, k.key_id ORDER BY u.name, k.key_id`,
      )
      .all(containerId) as ReturnType<KeyStore["listForContainer"]>;
  }

  /** Distinct key ids after `after`, in order, at most `limit`. */
  listIds(userId: number, after: string, limit: number): string[] {
    const rows = this.db
      .query("SELECT DISTINCT key_id FROM keys WHERE user_id = ? AND key_id > ? ORDER BY key_id LIMIT ?")
      .all(userId, after, limit) as { key_id: string }[];
    return rows.map((r) => r.key_id);
  }

  /** Distinct key ids of a user: kept by triggers (migration 3), so O(1) at any key count. */
  count(userId: number): number {
    const row = this.db.query("SELECT keys FROM key_counts WHERE user_id = ?").get(userId) as {
      keys: number;
    } | null;
    return row?.keys ?? 0;
  }

  countForContainer(containerId: number): number {
    const row = this.db
      .query(
        "SELECT COALESCE(SUM(c.keys), 0) AS n FROM key_counts c JOIN users u ON u.id = c.user_id WHERE u.container_id = ?",
      )
      .get(containerId) as { n: number };
    return row.n;
  }

  /**
   * Adds buffered use counts in one transaction (flushed periodically, off the request path); a count
   * whose row is gone (or whose id now names another key) is dropped.
   */
  recordUse(
    entries: Iterable<{ rowId: number; userId: number; created: number; uses: number; lastUsed: number }>,
  ): void {
    const stmt = this.db.query(
      "UPDATE keys SET use_count = use_count + ?, last_used = max(last_used, ?) WHERE id = ? AND user_id = ? AND created = ?",
    );
    this.db.transaction(() => {
      for (const e of entries) stmt.run(e.uses, e.lastUsed, e.rowId, e.userId, e.created);
    })();
  }
}

/** Enrolled containers. A revoked container keeps its users and keys until wiped. */
import type { Database } from "bun:sqlite";

export interface ContainerRow {
  id: number;
  name: string;
  created: number;
  revoked: number;
  uid: number | null;
  gid: number | null;
}

export class ContainerStore {
  constructor(private readonly db: Database) {}

  byName(name: string): ContainerRow | null {
    return this.db.query("SELECT * FROM containers WHERE name = ?").get(name) as ContainerRow | null;
  }

  all(): ContainerRow[] {
    return this.db.query("SELECT * FROM containers ORDER BY name").all() as ContainerRow[];
  }

  active(): ContainerRow[] {
    return this.db.query("SELECT * FROM containers WHERE revoked = 0 ORDER BY name").all() as ContainerRow[];
  }

  /** Adds the container or re-enables a revoked one; returns whether anything changed. */
  enroll(name: string, uid: number | null, gid: number | null): { row: ContainerRow; changed: boolean } {
    const existing = this.byName(name);
    if (existing) {
      const changed = existing.revoked !== 0 || existing.uid !== uid || existing.gid !== gid;
      if (changed) {
        this.db
          .query("UPDATE containers SET revoked = 0, uid = ?, gid = ? WHERE id = ?")
          .run(uid, gid, existing.id);
      }
      return { row: this.byName(name)!, changed };
    }
    this.db
      .query("INSERT INTO containers (name, created, uid, gid) VALUES (?, ?, ?, ?)")
      .run(name, Date.now(), uid, gid);
    return { row: this.byName(name)!, changed: true };
  }

  revoke(id: number): void {
    this.db.query("UPDATE containers SET revoked = 1 WHERE id = ?").run(id);
  }

  /** Deletes the container with its users and keys (cascade). */
  wipe(id: number): void {
    this.db.query("DELETE FROM containers WHERE id = ?").run(id);
  }
}

/**
 * Opens the key store: one SQLite file in the data dir, WAL with synchronous=FULL so an
 * acknowledged write survives kill -9 and power loss, foreign keys on, migrations applied, and
 * (for the running appliance) the rollback guard checked before anything is served.
 */
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { type RollbackGuardOptions, startRollbackGuard } from "../rollback-guard.ts";
import { MIGRATIONS } from "./migrations.ts";

export const DB_FILE = "vhsm.db";
const MMAP_BYTES = 1024 * 1024 * 1024;

export function openDatabase(dataDir: string, guard?: RollbackGuardOptions): Database {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const path = join(dataDir, DB_FILE);
  const db = new Database(path, { create: true, strict: true });
  // the store holds only sealed material, but its metadata (names, policies) is nobody else's business
  chmodSync(path, 0o600);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  // Reads through a read-only shared mapping of the file instead of pread into SQLite's 2 MiB page
  // cache: at 1M keys (133 MiB) nearly every lookup missed that cache and paid two syscalls, and the
  // mapping takes ~15% off the appliance's CPU per KEY_INFO there (bench/RESULTS.md, keys). Writes still
  // go through the WAL with write(2) and fsync; SQLite reads WAL pages first, so WAL stays correct.
  // Costs: touched file pages count in RSS (they are the kernel's page cache, shared and reclaimable),
  // and a disk read error becomes SIGBUS instead of SQLITE_IOERR. 1 GiB covers ~7M keys; past that,
  // the rest of the file is read as before.
  db.exec(`PRAGMA mmap_size = ${MMAP_BYTES}`);
  migrate(db);
  if (guard) {
    try {
      startRollbackGuard(db, guard);
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return db;
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  const current = row.user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the key store has schema version ${current}, newer than this appliance knows (${MIGRATIONS.length}); upgrade the appliance`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}

/**
 * A write the disk could not take (SQLite's SQLITE_FULL, ENOSPC) as the status the client gets:
 * not an internal error with a stack, but a limit the operator has to lift. Null for anything else.
 */
export function storageFailure(err: unknown): VhsmError | null {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  if (code === "SQLITE_FULL" || code === "ENOSPC") {
    return new VhsmError(
      Status.STORAGE_FULL,
      "the key store's disk is full: nothing was changed; reads still work (the operator must free space)",
    );
  }
  return null;
}

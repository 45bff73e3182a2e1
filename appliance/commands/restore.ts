/**
 * `vhsm-appliance restore --from FILE --data DIR`: replaces the key store with a backup after
 * checking it (SQLite integrity, schema version, expected tables). The backup is encrypted as at
 * rest; users log in with the PINs they had when it was taken. Run it with the appliance stopped.
 */
import { Database } from "bun:sqlite";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { adoptRestoredStore } from "../core/rollback-guard.ts";
import { DB_FILE } from "../core/store/database.ts";
import { MIGRATIONS } from "../core/store/migrations.ts";

export function checkBackup(file: string): string | null {
  if (!existsSync(file)) return `${file} does not exist`;
  let db: Database;
  try {
    db = new Database(file, { readonly: true });
  } catch (err) {
    return `${file} is not a SQLite database: ${(err as Error).message}`;
  }
  try {
    const integrity = db.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0]!.integrity_check !== "ok") {
      return `integrity check failed: ${integrity.map((r) => r.integrity_check).join("; ")}`;
    }
    const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
    if (version < 1 || version > MIGRATIONS.length) {
      return `schema version ${version} is not one this appliance can open (1..${MIGRATIONS.length})`;
    }
    const tables = (
      db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    for (const t of ["containers", "users", "keys"]) if (!tables.includes(t)) return `table ${t} is missing`;
    return null;
  } catch (err) {
    return `cannot read the backup: ${(err as Error).message}`;
  } finally {
    db.close();
  }
}

export function restore(opts: { from: string; data: string; stateFile?: string }): number {
  const problem = checkBackup(opts.from);
  if (problem) {
    console.error(`vhsm-appliance: restore refused, nothing was changed: ${problem}`);
    return 1;
  }
  mkdirSync(opts.data, { recursive: true, mode: 0o700 });
  const target = join(opts.data, DB_FILE);
  const staging = `${target}.restoring`;
  copyFileSync(opts.from, staging);
  chmodSync(staging, 0o600);
  if (existsSync(target)) {
    const aside = `${target}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(target, aside);
    console.log(`the previous key store was kept as ${aside}`);
  }
  rmSync(`${target}-wal`, { force: true });
  rmSync(`${target}-shm`, { force: true });
  renameSync(staging, target);
  console.log(`restored ${opts.from} into ${target}`);
  // a deliberate restore is not a rollback: the restored store's generation becomes the guarded one
  const restored = new Database(target);
  try {
    const generation = adoptRestoredStore(restored, opts.stateFile ?? join(opts.data, "state"));
    if (generation !== null) console.log(`rollback guard reset to the backup's generation ${generation}`);
  } finally {
    restored.close();
  }
  return 0;
}

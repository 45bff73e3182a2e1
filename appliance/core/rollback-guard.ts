/**
 * Rollback guard: notices when the key store was replaced by an older copy of itself (an old
 * backup or disk snapshot copied over it), which would silently bring back deleted keys, old
 * policies and reset PIN attempt counters.
 *
 * A generation counter in the store (table vhsm_meta) goes up inside every transaction that
 * changes a container, user or key (SQLite triggers, so no write path can forget it; buffered use
 * counts are left out). A small state file next to the store (or elsewhere: --state-file) remembers
 * the highest generation seen, sealed with an HMAC under a key kept in the store, and is rewritten
 * atomically whenever the counter moves. At start-up a store whose generation is below the state
 * file's is refused unless the operator says --accept-rollback. The state file may lag the store
 * (it is written after the commit, at most 100 ms later); a store ahead of it is normal after kill -9.
 */
import type { Database } from "bun:sqlite";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { safeEqual } from "./crypto/hash.ts";

const FORMAT = "vhsm-state/1";

export interface RollbackGuardOptions {
  stateFile: string;
  acceptRollback: boolean;
  /** Where to say that a rollback was accepted (the appliance log). */
  warn?: (message: string) => void;
  /** How often the counter is checked for the state file; default 100 ms. */
  intervalMs?: number;
}

export class RollbackError extends Error {}

interface Meta {
  store_id: string;
  state_key: Uint8Array;
  generation: number;
}

const BUMP = "UPDATE vhsm_meta SET generation = generation + 1";
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS vhsm_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT NOT NULL,
    state_key BLOB NOT NULL,
    generation INTEGER NOT NULL
  );
  ${["containers", "users", "keys"]
    .map(
      (t) => `
  CREATE TRIGGER IF NOT EXISTS vhsm_gen_${t}_insert AFTER INSERT ON ${t} BEGIN ${BUMP}; END;
  CREATE TRIGGER IF NOT EXISTS vhsm_gen_${t}_delete AFTER DELETE ON ${t} BEGIN ${BUMP}; END;`,
    )
    .join("")}
  CREATE TRIGGER IF NOT EXISTS vhsm_gen_containers_update AFTER UPDATE ON containers BEGIN ${BUMP}; END;
  CREATE TRIGGER IF NOT EXISTS vhsm_gen_users_update AFTER UPDATE ON users BEGIN ${BUMP}; END;
  -- the usage recorder's batches always change use_count, and are not worth a state write each second
  CREATE TRIGGER IF NOT EXISTS vhsm_gen_keys_update AFTER UPDATE ON keys
    WHEN new.use_count IS old.use_count BEGIN ${BUMP}; END;
`;

function stateMac(key: Uint8Array, store: string, generation: number): string {
  return createHmac("sha256", key).update(`${FORMAT}\n${store}\n${generation}`).digest("hex");
}

/** Creates the meta table and triggers if needed; `created` when this store was never guarded. */
function ensureMeta(db: Database): { meta: Meta; created: boolean } {
  let created = false;
  db.transaction(() => {
    db.exec(SCHEMA);
    if (!db.query("SELECT 1 FROM vhsm_meta WHERE id = 1").get()) {
      db.query("INSERT INTO vhsm_meta (id, store_id, state_key, generation) VALUES (1, ?, ?, 0)").run(
        randomUUID(),
        randomBytes(32),
      );
      created = true;
    }
  })();
  return { meta: readMeta(db)!, created };
}

function readMeta(db: Database): Meta | null {
  const hasTable = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vhsm_meta'").get();
  if (!hasTable) return null;
  return db.query("SELECT store_id, state_key, generation FROM vhsm_meta WHERE id = 1").get() as Meta | null;
}

/** Writes the state file atomically: a temp file, fsync, rename, fsync of the directory. */
export function writeState(file: string, meta: Meta): void {
  const body = JSON.stringify({
    format: FORMAT,
    store: meta.store_id,
    generation: meta.generation,
    mac: stateMac(meta.state_key, meta.store_id, meta.generation),
  });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${body}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The generation the state file vouches for, or why it cannot be trusted. */
function readState(file: string, meta: Meta): { generation: number } | { problem: string } {
  let parsed: { format?: unknown; store?: unknown; generation?: unknown; mac?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    return { problem: `${file} cannot be read: ${(err as Error).message}` };
  }
  const { format, store, generation, mac } = parsed;
  if (
    format !== FORMAT ||
    typeof store !== "string" ||
    !Number.isSafeInteger(generation) ||
    typeof mac !== "string"
  ) {
    return { problem: `${file} is not a vhsm state file` };
  }
  if (store !== meta.store_id) {
    return { problem: `${file} belongs to another key store (${store}, this one is ${meta.store_id})` };
  }
  const want = Buffer.from(stateMac(meta.state_key, store, generation as number), "hex");
  if (!safeEqual(Buffer.from(mac, "hex"), want))
    return { problem: `${file} was edited (its seal does not verify)` };
  return { generation: generation as number };
}

/** The start-up check; throws RollbackError with what happened and what to do. */
function check(meta: Meta, created: boolean, opts: RollbackGuardOptions): void {
  const refuse = (what: string) => {
    if (!opts.acceptRollback) {
      throw new RollbackError(
        `${what}. Refusing to start: keys deleted since, old key policies and reset PIN attempt counters could come back. If this copy was restored on purpose, use \`vhsm-appliance restore\`, or start once with --accept-rollback.`,
      );
    }
    opts.warn?.(`rollback accepted (--accept-rollback): ${what}`);
  };
  if (!existsSync(opts.stateFile)) {
    if (!created)
      refuse(
        `the state file ${opts.stateFile} is missing, but this key store is at generation ${meta.generation}`,
      );
    return;
  }
  const state = readState(opts.stateFile, meta);
  if ("problem" in state) refuse(state.problem);
  else if (meta.generation < state.generation) {
    refuse(
      `the key store was rolled back: it is at generation ${meta.generation}, but generation ${state.generation} was seen before (${opts.stateFile})`,
    );
  }
}

/** Checks the store against the state file, then keeps the state file up to date until db.close(). */
export function startRollbackGuard(db: Database, opts: RollbackGuardOptions): void {
  const { meta, created } = ensureMeta(db);
  check(meta, created, opts);
  writeState(opts.stateFile, meta);
  let written = meta.generation;
  const sync = () => {
    const now = db.query("SELECT generation FROM vhsm_meta WHERE id = 1").get() as { generation: number };
    if (now.generation === written) return;
    writeState(opts.stateFile, { ...meta, generation: now.generation });
    written = now.generation;
  };
  const timer = setInterval(() => {
    try {
      sync();
    } catch {
      // a full disk: the state file lags the store, which is the safe direction; retried next tick
    }
  }, opts.intervalMs ?? 100);
  timer.unref?.();
  // a graceful stop records the final generation too: wrap close() rather than ask every caller
  const close = db.close.bind(db);
  db.close = (throwOnError?: boolean) => {
    clearInterval(timer);
    try {
      sync();
    } catch {}
    close(throwOnError);
  };
}

/**
 * After `vhsm-appliance restore`: the restored store's own generation becomes the state to guard, so
 * a deliberate restore starts without --accept-rollback. A store from before the guard clears it.
 */
export function adoptRestoredStore(db: Database, stateFile: string): number | null {
  const meta = readMeta(db);
  if (!meta) {
    if (existsSync(stateFile)) renameSync(stateFile, `${stateFile}.before-restore`);
    return null;
  }
  writeState(stateFile, meta);
  return meta.generation;
}

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
 * Append new migrations; never edit an applied one.
 */
export const MIGRATIONS: string[] = [
  // 1: containers, users, keys
  `
  CREATE TABLE containers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    uid INTEGER,
    gid INTEGER
  );
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    container_id INTEGER NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kdf TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    UNIQUE (container_id, name)
  );
  CREATE TABLE keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    type INTEGER NOT NULL,
    bits INTEGER NOT NULL,
    usage INTEGER NOT NULL,
    material BLOB NOT NULL,
    created INTEGER NOT NULL,
    last_used INTEGER NOT NULL DEFAULT 0,
    use_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, key_id, version)
  );
  `,
  // 2: key policy (flags, minimum usable version, rotation period) and faster lookups
  `
  ALTER TABLE keys ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE keys ADD COLUMN min_version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE keys ADD COLUMN rotate_every INTEGER NOT NULL DEFAULT 0;
  `,
  // 3: distinct key ids per user, kept by triggers: counting them at query time scanned every key row
  // (220 ms at a million keys, on each dashboard and headless-summary poll of /v1/stats and each KEY_COUNT)
  `
  CREATE TABLE key_counts (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    keys INTEGER NOT NULL
  );
  INSERT INTO key_counts (user_id, keys)
    SELECT u.id, (SELECT COUNT(DISTINCT k.key_id) FROM keys k WHERE k.user_id = u.id) FROM users u;
  CREATE TRIGGER key_counts_user AFTER INSERT ON users BEGIN
    INSERT INTO key_counts (user_id, keys) VALUES (new.id, 0);
  END;
  -- a key id counts once, however many versions it has: the first row of an id adds it, the last removes it
  CREATE TRIGGER key_counts_insert AFTER INSERT ON keys
    WHEN NOT EXISTS (SELECT 1 FROM keys WHERE user_id = new.user_id AND key_id = new.key_id AND id != new.id)
    BEGIN UPDATE key_counts SET keys = keys + 1 WHERE user_id = new.user_id; END;
  CREATE TRIGGER key_counts_delete AFTER DELETE ON keys
    WHEN NOT EXISTS (SELECT 1 FROM keys WHERE user_id = old.user_id AND key_id = old.key_id)
    BEGIN UPDATE key_counts SET keys = keys - 1 WHERE user_id = old.user_id; END;
  `,
  // 4: how each row's material is sealed (vault.ts keyAad): rows before this are format 2, whose AAD
  // binds neither creation time nor rotation period; they are resealed in format 3 as they are opened
  `
  ALTER TABLE keys ADD COLUMN seal INTEGER NOT NULL DEFAULT 2;
  `,
];

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
];

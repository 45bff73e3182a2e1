/**
 * Someone with write access to the key store while the appliance is stopped: rows moved or swapped
 * between users and containers, material or identity fields edited, users' wrapped data keys swapped,
 * container names swapped, and the whole store rolled back to an older copy. Every case is refused
 * (TAMPERED, BAD_CREDENTIALS, or the appliance refusing to start), and untouched keys keep working.
 * Policy edits are covered in test/key-policy.test.ts ("policy is bound to the key material at rest").
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { aadOf, open, seal } from "../appliance/core/crypto/aead.ts";
import { deriveKey, parseKdfParams } from "../appliance/core/crypto/kdf.ts";
import { dataKeyAad } from "../appliance/core/vault.ts";
import { BUN, ROOT, startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";

const PIN = "same-pin-everywhere";
const data = Buffer.from("tamper probe");
/** The secret behind each "container/user/key". */
const secrets = new Map<string, Buffer>();

async function outcome<T>(p: Promise<T>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Logs in and computes an HMAC: "OK" if it matches the key's known secret, else the error code. */
async function use(app: TestAppliance, container: string, user: string, key: string): Promise<string> {
  let c: Awaited<ReturnType<TestAppliance["client"]>>;
  try {
    c = await app.client(container, user, PIN);
  } catch (err) {
    return `login: ${(err as { code?: string }).code}`;
  }
  try {
    const mac = await c.hmac(key, "sha256", data);
    const want = createHmac("sha256", secrets.get(`${container}/${user}/${key}`)!)
      .update(data)
      .digest();
    return Buffer.from(mac).equals(want) ? "OK" : "WRONG_MAC";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    c.close();
  }
}

/** Stops the appliance, runs `edit` on its database, starts it again. */
async function editStore(app: TestAppliance, edit: (db: Database) => void): Promise<void> {
  await app.stop();
  const db = new Database(join(app.dataDir, "vhsm.db"));
  try {
    edit(db);
  } finally {
    db.close();
  }
  await app.start();
}

function rowOf(db: Database, container: string, user: string, key: string) {
  return db
    .query(
      `SELECT k.*, u.id AS uid FROM keys k JOIN users u ON u.id = k.user_id JOIN containers c ON c.id = u.container_id
       WHERE c.name = ? AND u.name = ? AND k.key_id = ?`,
    )
    .get(container, user, key) as { id: number; uid: number; material: Uint8Array };
}

function userId(db: Database, container: string, user: string): number {
  return (
    db
      .query(
        "SELECT u.id FROM users u JOIN containers c ON c.id = u.container_id WHERE c.name = ? AND u.name = ?",
      )
      .get(container, user) as { id: number }
  ).id;
}

describe("rows moved, swapped or edited on disk", () => {
  let app: TestAppliance;
  const holders = [
    ["ca", "alice"],
    ["ca", "bob"],
    ["cb", "alice"],
  ] as const;

  beforeAll(async () => {
    app = await startTestAppliance();
    // the same user name in two containers, and the same PIN for everyone: the easiest case for a swap
    for (const [container, user] of holders) {
      const c = await app.setupClient(container, user, PIN);
      for (const key of ["k", "moved", "edited", "control"]) {
        const secret = randomBytes(32);
        secrets.set(`${container}/${user}/${key}`, secret);
        await c.keys.import(secret, { id: key });
      }
      c.close();
    }
  });
  afterAll(async () => {
    await app?.dispose();
  });

  test("swapping the material of two users' rows in one container: both keys are TAMPERED", async () => {
    await editStore(app, (db) => {
      const a = rowOf(db, "ca", "alice", "k");
      const b = rowOf(db, "ca", "bob", "k");
      db.run("UPDATE keys SET material = ? WHERE id = ?", [b.material, a.id]);
      db.run("UPDATE keys SET material = ? WHERE id = ?", [a.material, b.id]);
    });
    expect(await use(app, "ca", "alice", "k")).toBe("TAMPERED");
    expect(await use(app, "ca", "bob", "k")).toBe("TAMPERED");
    expect(await use(app, "ca", "alice", "control")).toBe("OK");
  });

  test("a row moved to the same-named user of another container (same PIN) is TAMPERED there and gone here", async () => {
    await editStore(app, (db) => {
      const row = rowOf(db, "ca", "alice", "moved");
      db.run("DELETE FROM keys WHERE user_id = ? AND key_id = 'moved'", [userId(db, "cb", "alice")]);
      db.run("UPDATE keys SET user_id = ? WHERE id = ?", [userId(db, "cb", "alice"), row.id]);
    });
    secrets.set("cb/alice/moved", secrets.get("ca/alice/moved")!);
    expect(await use(app, "cb", "alice", "moved")).toBe("TAMPERED");
    expect(await use(app, "ca", "alice", "moved")).toBe("KEY_NOT_FOUND");
    expect(await use(app, "cb", "alice", "control")).toBe("OK");
  });

  test("editing a row's material, key id, version or type: TAMPERED", async () => {
    await editStore(app, (db) => {
      const row = rowOf(db, "cb", "alice", "edited");
      const material = Buffer.from(row.material);
      material[material.length - 20]! ^= 0x01;
      db.run("UPDATE keys SET material = ? WHERE id = ?", [material, row.id]);
      db.run("UPDATE keys SET key_id = 'renamed' WHERE id = ?", [rowOf(db, "ca", "bob", "edited").id]);
      db.run("UPDATE keys SET version = 2 WHERE id = ?", [rowOf(db, "ca", "alice", "edited").id]);
      db.run("UPDATE keys SET type = type + 1 WHERE id = ?", [rowOf(db, "ca", "bob", "control").id]);
    });
    secrets.set("ca/bob/renamed", secrets.get("ca/bob/edited")!);
    expect(await use(app, "cb", "alice", "edited")).toBe("TAMPERED");
    expect(await use(app, "ca", "bob", "renamed")).toBe("TAMPERED");
    expect(await use(app, "ca", "alice", "edited")).toBe("TAMPERED");
    expect(await use(app, "ca", "bob", "control")).toBe("TAMPERED");
  });

  test("a user's wrapped data key copied to the same-named user of another container does not log in", async () => {
    await editStore(app, (db) => {
      const from = db
        .query("SELECT kdf, wrapped_key FROM users WHERE id = ?")
        .get(userId(db, "ca", "alice")) as {
        kdf: string;
        wrapped_key: Uint8Array;
      };
      db.run("UPDATE users SET kdf = ?, wrapped_key = ? WHERE id = ?", [
        from.kdf,
        from.wrapped_key,
        userId(db, "cb", "alice"),
      ]);
    });
    expect(await use(app, "cb", "alice", "control")).toBe("login: BAD_CREDENTIALS");
    expect(await use(app, "ca", "alice", "control")).toBe("OK");
  });

  test("two containers' names swapped: each socket leads to rows sealed for the other name, and nothing opens", async () => {
    await editStore(app, (db) => {
      db.run("UPDATE containers SET name = 'swap-tmp' WHERE name = 'ca'");
      db.run("UPDATE containers SET name = 'ca' WHERE name = 'cb'");
      db.run("UPDATE containers SET name = 'cb' WHERE name = 'swap-tmp'");
    });
    // through ca's socket, alice is now cb's alice (whose data key was copied from ca/alice above)
    expect(await use(app, "ca", "alice", "control")).toMatch(/^(login: BAD_CREDENTIALS|TAMPERED)$/);
    expect(await use(app, "cb", "alice", "control")).toMatch(/^(login: BAD_CREDENTIALS|TAMPERED)$/);
    expect(await use(app, "cb", "bob", "control")).toMatch(/^(login: BAD_CREDENTIALS|TAMPERED)$/);
  });
});

describe("the key store rolled back to an older copy", () => {
  let app: TestAppliance;
  let dir: string;
  const db = () => join(app.dataDir, "vhsm.db");
  const stateFile = () => join(app.dataDir, "state");

  /** Starts the appliance expecting it to refuse; returns what it said. */
  async function refusedStart(args: string[] = []): Promise<string> {
    const attempt = await startTestAppliance({ dir, args }).then(
      async (a) => {
        await a.kill();
        return "started";
      },
      (err) => String((err as Error).message),
    );
    expect(attempt).not.toBe("started");
    expect(attempt).toContain("appliance exited with 1");
    return attempt;
  }

  function generation(): number {
    const d = new Database(db(), { readonly: true });
    try {
      return (d.query("SELECT generation FROM vhsm_meta").get() as { generation: number }).generation;
    } finally {
      d.close();
    }
  }

  beforeAll(async () => {
    dir = tempDir();
    app = await startTestAppliance({ dir });
    const c = await app.setupClient("rb", "alice", PIN);
    secrets.set("rb/alice/old", randomBytes(32));
    await c.keys.import(secrets.get("rb/alice/old")!, { id: "old" });
    c.close();
  });
  afterAll(async () => {
    await app?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an old copy put back is refused at start with the generations and what to do", async () => {
    await app.stop();
    copyFileSync(db(), join(dir, "snapshot.db"));
    expect(existsSync(`${db()}-wal`)).toBe(false);
    const before = generation();
    await app.start();
    const c = await app.client("rb", "alice", PIN);
    await c.keys.generate({ id: "new" });
    await c.keys.delete("old");
    c.close();
    // a wrong PIN alone moves the counter too: rolling back must not reset attempt counters
    expect(await outcome(app.client("rb", "alice", "wrong-pin"))).toBe("BAD_CREDENTIALS");
    await app.stop();
    expect(generation()).toBeGreaterThanOrEqual(before + 3);
    copyFileSync(join(dir, "snapshot.db"), db());
    const said = await refusedStart();
    expect(said).toContain(`the key store was rolled back: it is at generation ${before}`);
    expect(said).toContain("--accept-rollback");
  });

  test("--accept-rollback starts it (old keys back, newer gone); later starts need no flag", async () => {
    const accepted = await startTestAppliance({ dir, args: ["--accept-rollback"] });
    expect(accepted.stderr).toContain("rollback accepted");
    expect(await use(accepted, "rb", "alice", "old")).toBe("OK");
    const c = await accepted.client("rb", "alice", PIN);
    expect(await c.keys.list()).toEqual(["old"]);
    c.close();
    await accepted.stop();
    app = await startTestAppliance({ dir });
    expect(await use(app, "rb", "alice", "old")).toBe("OK");
  });

  test("a deliberate `vhsm-appliance restore` of an older backup starts without the flag", async () => {
    const backup = join(dir, "backup.db");
    expect((await app.admin("POST", "/v1/backup", { path: backup })).status).toBe(201);
    const c = await app.client("rb", "alice", PIN);
    await c.keys.generate({ id: "after-backup" });
    c.close();
    await app.stop();
    const restored = spawnSync([
      BUN,
      join(ROOT, "appliance/main.ts"),
      "restore",
      "--from",
      backup,
      "--data",
      app.dataDir,
    ]);
    expect(restored.exitCode).toBe(0);
    expect(restored.stdout.toString()).toContain("rollback guard reset to the backup's generation");
    await app.start();
    const again = await app.client("rb", "alice", PIN);
    expect(await again.keys.list()).toEqual(["old"]);
    again.close();
  });

  test("a state file edited by hand or deleted is refused too", async () => {
    await app.stop();
    const good = readFileSync(stateFile(), "utf8");
    const state = JSON.parse(good);
    writeFileSync(stateFile(), JSON.stringify({ ...state, generation: state.generation - 1 }));
    expect(await refusedStart()).toContain("was edited (its seal does not verify)");
    rmSync(stateFile());
    expect(await refusedStart()).toContain(`the state file ${stateFile()} is missing`);
    writeFileSync(stateFile(), good);
    await app.start();
    expect(await use(app, "rb", "alice", "old")).toBe("OK");
  });

  test("the state file follows every write: kill -9 right after a write leaves no false alarm", async () => {
    const c = await app.client("rb", "alice", PIN);
    for (let i = 0; i < 20; i++) await c.keys.generate({ id: `burst-${i}` });
    c.close();
    await app.kill();
    await app.start();
    const state = JSON.parse(readFileSync(stateFile(), "utf8"));
    await app.stop();
    expect(state.generation).toBe(generation());
    await app.start();
  });
});

describe("a key's size edited on disk", () => {
  test("rotation reads the size from the sealed material: a shrunk `bits` column is TAMPERED, not obeyed", async () => {
    const app = await startTestAppliance();
    try {
      const c = await app.setupClient("sz", "alice", PIN);
      await c.keys.generate({ type: "hmac", bits: 512, id: "big" });
      await c.keys.generate({ type: "hmac", bits: 512, id: "intact" });
      c.close();
      await editStore(app, (db) => {
        db.run("UPDATE keys SET bits = 128 WHERE id = ?", [rowOf(db, "sz", "alice", "big").id]);
      });
      const again = await app.client("sz", "alice", PIN);
      try {
        expect(await outcome(again.keys.rotate("big"))).toBe("TAMPERED");
        expect(await again.keys.rotate("intact")).toBe(2);
        expect((await again.keys.info("intact")).bits).toBe(512);
      } finally {
        again.close();
      }
    } finally {
      await app.dispose();
    }
  });
});

describe("a key's rotation period and creation time edited on disk", () => {
  test("switching off automatic rotation or moving the creation time: TAMPERED, not obeyed", async () => {
    const app = await startTestAppliance();
    try {
      const c = await app.setupClient("rot", "alice", PIN);
      for (const id of ["stop-rotating", "never-old", "control"]) {
        const secret = randomBytes(32);
        secrets.set(`rot/alice/${id}`, secret);
        await c.keys.import(secret, { id });
        await c.keys.update(id, { rotateEverySeconds: 3600 }); // the policy update reseals the row
      }
      c.close();
      await editStore(app, (db) => {
        db.run("UPDATE keys SET rotate_every = 0 WHERE id = ?", [
          rowOf(db, "rot", "alice", "stop-rotating").id,
        ]);
        db.run("UPDATE keys SET created = created + 1e12 WHERE id = ?", [
          rowOf(db, "rot", "alice", "never-old").id,
        ]);
      });
      expect(await use(app, "rot", "alice", "stop-rotating")).toBe("TAMPERED");
      expect(await use(app, "rot", "alice", "never-old")).toBe("TAMPERED");
      expect(await use(app, "rot", "alice", "control")).toBe("OK");
    } finally {
      await app.dispose();
    }
  });

  test("a store from before they were sealed keeps working; the user's first login reseals all its rows, and binds them from then on", async () => {
    const app = await startTestAppliance();
    try {
      const c = await app.setupClient("old", "alice", PIN);
      const secret = randomBytes(32);
      secrets.set("old/alice/k", secret);
      await c.keys.import(secret, { id: "k" });
      await c.keys.import(randomBytes(32), { id: "idle" });
      await c.keys.rotate("idle"); // two versions, neither of which the login below uses
      c.close();
      await app.stop();
      // what an appliance before seal format 3 wrote: rows sealed with the v2 AAD (without creation
      // time and rotation period), the data key wrapped with the "vhsm:user:v1" label
      const legacyBlobs = new Map<number, Uint8Array>();
      const db = new Database(join(app.dataDir, "vhsm.db"));
      let kek: Buffer;
      try {
        const u = db.query("SELECT id, kdf, wrapped_key FROM users WHERE name = 'alice'").get() as {
          id: number;
          kdf: string;
          wrapped_key: Uint8Array;
        };
        kek = await deriveKey(Buffer.from(PIN), parseKdfParams(u.kdf));
        const key = open(kek, u.wrapped_key, dataKeyAad("old", "alice"))!;
        type Row = Record<string, number> & { key_id: string; material: Uint8Array };
        for (const row of db.query("SELECT * FROM keys WHERE user_id = ?").all(u.id) as Row[]) {
          const bound = [
            "old",
            "alice",
            row.key_id,
            row.version!,
            row.type!,
            row.usage!,
            row.flags!,
            row.min_version!,
          ];
          const material = open(
            key,
            row.material,
            aadOf("vhsm:key:v3", ...bound, row.rotate_every!, row.created!),
          )!;
          const legacy = seal(key, material, aadOf("vhsm:key:v2", ...bound));
          legacyBlobs.set(row.id!, legacy);
          db.run("UPDATE keys SET material = ?, seal = 2 WHERE id = ?", [legacy, row.id!]);
        }
        db.run("UPDATE users SET wrapped_key = ? WHERE id = ?", [
          seal(kek, key, aadOf("vhsm:user:v1", "old", "alice")),
          u.id,
        ]);
      } finally {
        db.close();
      }
      await app.start();
      const look = <T>(query: string): T => {
        const d = new Database(join(app.dataDir, "vhsm.db"), { readonly: true });
        try {
          return d.query(query).all() as T;
        } finally {
          d.close();
        }
      };
      const seals = () => look<{ seal: number }[]>("SELECT seal FROM keys ORDER BY id").map((r) => r.seal);
      expect(seals()).toEqual([2, 2, 2]);
      expect(await use(app, "old", "alice", "k")).toBe("OK");
      // every row of the user, used or not, is resealed; the data key is rewrapped in the current label
      expect(seals()).toEqual([3, 3, 3]);
      const [wrapped] = look<{ wrapped_key: Uint8Array }[]>(
        "SELECT wrapped_key FROM users WHERE name = 'alice'",
      );
      expect(open(kek!, wrapped!.wrapped_key, dataKeyAad("old", "alice"))).not.toBeNull();
      expect(app.stderr).toContain("user upgraded to seal format 3");
      // from now on: an edit is TAMPERED, and so is a genuine format-2 blob of before put back
      await editStore(app, (db) => db.run("UPDATE keys SET rotate_every = 60 WHERE key_id = 'k'"));
      expect(await use(app, "old", "alice", "k")).toBe("TAMPERED");
      const idle = look<{ id: number }[]>(
        "SELECT id FROM keys WHERE key_id = 'idle' ORDER BY version DESC",
      )[0]!.id;
      await editStore(app, (db) =>
        db.run("UPDATE keys SET material = ?, seal = 2, rotate_every = 0 WHERE id = ?", [
          legacyBlobs.get(idle)!,
          idle,
        ]),
      );
      const c2 = await app.client("old", "alice", PIN);
      try {
        expect(await outcome(c2.hmac("idle", "sha256", data))).toBe("TAMPERED");
      } finally {
        c2.close();
      }
    } finally {
      await app.dispose();
    }
  });
});

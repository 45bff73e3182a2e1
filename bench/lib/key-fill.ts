/**
 * Bulk key creation for the keys bench: writes key rows straight into a (stopped) appliance's data
 * dir with the appliance's own code — the user's vault opened by a real PIN login, material parsed
 * by the key type's import, sealed by `storeNewKey` (same AAD, same rows) — in large transactions,
 * which the protocol cannot do (one fsync per key). The rollback guard is opened too, so the state
 * file follows the new generation and the real appliance starts on the result without complaint.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Accounts } from "../../appliance/core/accounts.ts";
import { storeNewKey } from "../../appliance/core/key-lifecycle.ts";
import { type KeyTypeSpec, keyTypeSpec } from "../../appliance/core/key-types.ts";
import { MasterKey } from "../../appliance/core/master-key.ts";
import type { Services } from "../../appliance/core/services.ts";
import { ContainerStore } from "../../appliance/core/store/containers.ts";
import { openDatabase } from "../../appliance/core/store/database.ts";
import { KeyStore } from "../../appliance/core/store/keys.ts";
import { UserStore } from "../../appliance/core/store/users.ts";
import { KeyFormat, KeyType } from "../../protocol/messages.ts";

/** Even-numbered bench keys are HMAC secrets, odd ones Ed25519 signing keys. */
export function benchKeyType(i: number): number {
  return i % 2 === 0 ? KeyType.HMAC : KeyType.ED25519;
}

export function benchKeyId(i: number): string {
  return `bench-${i}`;
}

export interface FillTarget {
  dataDir: string;
  container: string;
  user: string;
  pin: string;
}

const BATCH = 20_000;

/** Adds keys `from` .. `to - 1` for the user; the appliance must not be running on this dir. */
export async function fillKeys(
  t: FillTarget,
  from: number,
  to: number,
  progress?: (done: number) => void,
): Promise<void> {
  const db = openDatabase(t.dataDir, { stateFile: join(t.dataDir, "state"), acceptRollback: false });
  try {
    const container = new ContainerStore(db).byName(t.container);
    if (!container) throw new Error(`no container ${t.container} in ${t.dataDir}`);
    const accounts = new Accounts(
      new UserStore(db),
      { maxPinAttempts: 10, kdfLogN: 12, keyCacheLimit: 1 },
      new MasterKey(join(t.dataDir, "master.key")),
    );
    const vault = await accounts.login(container, t.user, Buffer.from(t.pin));
    // storeNewKey reads and writes only the key store
    const svc = { keys: new KeyStore(db) } as unknown as Services;
    const specs = new Map<number, KeyTypeSpec>(
      [KeyType.HMAC, KeyType.ED25519].map((t) => [t, keyTypeSpec(t)]),
    );
    try {
      for (let start = from; start < to; start += BATCH) {
        db.transaction(() => {
          for (let i = start; i < Math.min(to, start + BATCH); i++) {
            const type = benchKeyType(i);
            const spec = specs.get(type)!;
            const seed = randomBytes(32);
            const { material, bits } = spec.import(KeyFormat.RAW, seed);
            seed.fill(0);
            storeNewKey(svc, vault, {
              id: benchKeyId(i),
              type,
              bits,
              usage: spec.defaultUsage,
              flags: 0,
              rotateEvery: 0,
              material,
            });
            material.fill(0);
          }
        })();
        progress?.(Math.min(to, start + BATCH));
      }
    } finally {
      accounts.release(vault);
    }
    // leave a compact file behind, as a long-running appliance's periodic checkpoints would
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

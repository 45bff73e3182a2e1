/**
 * A logged-in user's vault: the unwrapped data key and the user's decrypted keys, shared by all
 * sessions of that user and zeroed when the last one ends.
 *
 * Every key version is sealed under the data key with an AAD binding container, user, key id,
 * version, type and the security-relevant policy (usage, flags, minimum version): a row moved to
 * another user or with its policy edited on disk fails to open.
 */
import { createHmac, type KeyObject, randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";
import { aadOf, open, seal } from "./crypto/aead.ts";
import { safeEqual } from "./crypto/hash.ts";
import { keyObjects, keyTypeSpec } from "./key-types.ts";
import type { KeyPolicy, KeyRow } from "./store/keys.ts";

export interface LoadedKey {
  rowId: number;
  keyId: string;
  version: number;
  type: number;
  bits: number;
  usage: number;
  flags: number;
  minVersion: number;
  rotateEvery: number;
  created: number;
  secret: KeyObject | null;
  privateKey: KeyObject | null;
  publicKey: KeyObject | null;
}

/** Process-local secret for the in-memory PIN verifier (never stored). */
const VERIFIER_SECRET = randomBytes(32);

export function pinVerifier(pin: Uint8Array): Buffer {
  return createHmac("sha256", VERIFIER_SECRET).update(pin).digest();
}

export function dataKeyAad(container: string, user: string): Uint8Array {
  return aadOf("vhsm:user:v1", container, user);
}

export function serviceKeyAad(container: string, user: string): Uint8Array {
  return aadOf("vhsm:service-user:v1", container, user);
}

export interface SealedFields {
  keyId: string;
  version: number;
  type: number;
  policy: Pick<KeyPolicy, "usage" | "flags" | "min_version">;
}

export function keyAad(container: string, user: string, f: SealedFields): Uint8Array {
  return aadOf(
    "vhsm:key:v2",
    container,
    user,
    f.keyId,
    f.version,
    f.type,
    f.policy.usage,
    f.policy.flags,
    f.policy.min_version,
  );
}

const cacheKey = (keyId: string, version: number) => `${keyId}\0${version}`;

export class UserVault {
  sessions = 0;
  private destroyed = false;
  private readonly cache = new Map<string, LoadedKey>();
  /** Newest known version per key id, so "latest" lookups hit the cache. */
  private readonly latest = new Map<string, number>();

  constructor(
    readonly userId: number,
    readonly containerName: string,
    readonly userName: string,
    private dataKey: Buffer,
    private verifier: Buffer,
    private readonly cacheLimit: number,
    private readonly dropped: (key: LoadedKey) => void = () => {},
  ) {}

  get alive(): boolean {
    return !this.destroyed;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new VhsmError(Status.BAD_SESSION, "the session was closed by the operator");
  }

  checkPin(pin: Uint8Array): boolean {
    return safeEqual(pinVerifier(pin), this.verifier);
  }

  setPin(pin: Uint8Array): void {
    this.verifier.fill(0);
    this.verifier = pinVerifier(pin);
  }

  sealKey(fields: SealedFields, material: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(this.dataKey, material, keyAad(this.containerName, this.userName, fields));
  }

  /** Opens a row's material; the caller must zero it. Tampered or moved rows are refused. */
  openKey(row: KeyRow): Buffer {
    this.assertAlive();
    const aad = keyAad(this.containerName, this.userName, {
      keyId: row.key_id,
      version: row.version,
      type: row.type,
      policy: row,
    });
    const material = open(this.dataKey, row.material, aad);
    if (!material) {
      throw new VhsmError(
        Status.TAMPERED,
        `key ${row.key_id} v${row.version} failed its integrity check; the key store may have been tampered with`,
      );
    }
    return material;
  }

  /** Wraps the data key under a new key-encryption key (PIN change). */
  wrapDataKey(kek: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(kek, this.dataKey, dataKeyAad(this.containerName, this.userName));
  }

  /** A cached key: the newest version when `version` is 0. */
  cached(keyId: string, version = 0): LoadedKey | undefined {
    this.assertAlive();
    const v = version === 0 ? this.latest.get(keyId) : version;
    if (v === undefined) return undefined;
    const k = cacheKey(keyId, v);
    const hit = this.cache.get(k);
    if (hit) {
      // keep the map in recency order for LRU eviction
      this.cache.delete(k);
      this.cache.set(k, hit);
    }
    return hit;
  }

  /** Decrypts a stored key row and caches it; `isLatest` marks it as the key's newest version. */
  load(row: KeyRow, isLatest: boolean): LoadedKey {
    const material = this.openKey(row);
    let objects: ReturnType<typeof keyObjects>;
    try {
      objects = keyObjects(keyTypeSpec(row.type), material);
    } finally {
      material.fill(0);
    }
    const loaded: LoadedKey = {
      rowId: row.id,
      keyId: row.key_id,
      version: row.version,
      type: row.type,
      bits: row.bits,
      usage: row.usage,
      flags: row.flags,
      minVersion: row.min_version,
      rotateEvery: row.rotate_every,
      created: row.created,
      ...objects,
    };
    this.cache.set(cacheKey(row.key_id, row.version), loaded);
    if (isLatest) this.latest.set(row.key_id, row.version);
    if (this.cache.size > this.cacheLimit) {
      const oldest = this.cache.keys().next().value as string;
      const evicted = this.cache.get(oldest)!;
      this.cache.delete(oldest);
      this.dropped(evicted);
      // the newest-version map follows the cache, so it stays bounded too
      if (this.latest.get(evicted.keyId) === evicted.version) this.latest.delete(evicted.keyId);
    }
    return loaded;
  }

  /** Drops every cached version of a key (deleted, rotated, or policy changed). */
  forget(keyId: string): void {
    const latest = this.latest.get(keyId);
    this.latest.delete(keyId);
    if (latest === undefined) {
      for (const k of [...this.cache.keys()]) if (k.startsWith(`${keyId}\0`)) this.drop(k);
      return;
    }
    for (let v = 1; v <= latest; v++) this.drop(cacheKey(keyId, v));
  }

  private drop(k: string): void {
    const key = this.cache.get(k);
    if (!key) return;
    this.cache.delete(k);
    this.dropped(key);
  }

  /** Zeroes what JavaScript lets us zero; KeyObjects are released to the collector. */
  destroy(): void {
    this.destroyed = true;
    this.dataKey.fill(0);
    this.verifier.fill(0);
    for (const key of this.cache.values()) this.dropped(key);
    this.cache.clear();
    this.latest.clear();
  }
}

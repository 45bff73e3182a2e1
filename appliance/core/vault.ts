/**
 * A logged-in user's vault: the unwrapped data key and the user's decrypted keys, shared by all
 * sessions of that user and zeroed when the last one ends.
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";
import { aadOf, open, seal } from "./crypto/aead.ts";
import { safeEqual } from "./crypto/hash.ts";
import type { KeyRow } from "./store/keys.ts";

export interface LoadedKey {
  rowId: number;
  keyId: string;
  version: number;
  type: number;
  bits: number;
  usage: number;
  secret: KeyObject;
}

/** Process-local secret for the in-memory PIN verifier (never stored). */
const VERIFIER_SECRET = randomBytes(32);

export function pinVerifier(pin: Uint8Array): Buffer {
  return createHmac("sha256", VERIFIER_SECRET).update(pin).digest();
}

export function dataKeyAad(container: string, user: string): Uint8Array {
  return aadOf("vhsm:user:v1", container, user);
}

export function keyAad(
  container: string,
  user: string,
  keyId: string,
  version: number,
  type: number,
): Uint8Array {
  return aadOf("vhsm:key:v1", container, user, keyId, version, type);
}

export class UserVault {
  sessions = 0;
  private destroyed = false;
  private readonly cache = new Map<string, LoadedKey>();

  constructor(
    readonly userId: number,
    readonly containerName: string,
    readonly userName: string,
    private dataKey: Buffer,
    private verifier: Buffer,
    private readonly cacheLimit: number,
  ) {}

  checkPin(pin: Uint8Array): boolean {
    return safeEqual(pinVerifier(pin), this.verifier);
  }

  setPin(pin: Uint8Array): void {
    this.verifier.fill(0);
    this.verifier = pinVerifier(pin);
  }

  get alive(): boolean {
    return !this.destroyed;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new VhsmError(Status.BAD_SESSION, "the session was closed by the operator");
  }

  sealKey(keyId: string, version: number, type: number, material: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(this.dataKey, material, keyAad(this.containerName, this.userName, keyId, version, type));
  }

  /** Wraps the data key under a new key-encryption key (PIN change). */
  wrapDataKey(kek: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(kek, this.dataKey, dataKeyAad(this.containerName, this.userName));
  }

  cached(keyId: string): LoadedKey | undefined {
    this.assertAlive();
    const hit = this.cache.get(keyId);
    if (hit) {
      // keep the map in recency order for LRU eviction
      this.cache.delete(keyId);
      this.cache.set(keyId, hit);
    }
    return hit;
  }

  /** Decrypts a stored key row and caches it. A row that fails to open was tampered with or moved. */
  load(row: KeyRow): LoadedKey {
    this.assertAlive();
    const aad = keyAad(this.containerName, this.userName, row.key_id, row.version, row.type);
    const material = open(this.dataKey, row.material, aad);
    if (!material) {
      throw new VhsmError(
        Status.INTERNAL,
        `key ${row.key_id} failed its integrity check; the key store may be tampered`,
      );
    }
    const loaded: LoadedKey = {
      rowId: row.id,
      keyId: row.key_id,
      version: row.version,
      type: row.type,
      bits: row.bits,
      usage: row.usage,
      secret: createSecretKey(material),
    };
    material.fill(0);
    this.cache.set(row.key_id, loaded);
    if (this.cache.size > this.cacheLimit) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return loaded;
  }

  forget(keyId: string): void {
    this.cache.delete(keyId);
  }

  /** Zeroes what JavaScript lets us zero; KeyObjects are released to the collector. */
  destroy(): void {
    this.destroyed = true;
    this.dataKey.fill(0);
    this.verifier.fill(0);
    this.cache.clear();
  }
}

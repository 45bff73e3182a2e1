/**
 * A logged-in user's vault: the unwrapped data key and the user's decrypted keys, shared by all
 * sessions of that user and zeroed when the last one ends.
 *
 * Every key version is sealed under the data key with an AAD binding container, user, key id,
 * version, type, creation time and the policy (usage, flags, minimum version, rotation period): a row
 * moved to another user or with its policy edited on disk fails to open. Rows sealed before the
 * creation time and rotation period were bound (seal format 2) open only for a user whose data key is
 * still in the legacy wrap (LEGACY_WRAP below), and are then resealed in the current format
 * (`resealed`); the user's first unlock after the upgrade does that for all its rows and rewraps the
 * data key (seal-upgrade.ts), and format 2 is refused for the user from then on.
 */
import { createHmac, type KeyObject, randomBytes } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";
import { aadOf, open, seal } from "./crypto/aead.ts";
import { safeEqual } from "./crypto/hash.ts";
import { keyObjects, keyTypeSpec } from "./key-types.ts";
import { type KeyPolicy, type KeyRow, LEGACY_SEAL_FORMAT, SEAL_FORMAT } from "./store/keys.ts";

export interface LoadedKey {
  rowId: number;
  /** The owner's user id: with rowId and created, which row a use is counted on (usage-recorder.ts). */
  userId: number;
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
  /** Used since the cache's eviction hand last passed it (see UserVault.load). */
  used: boolean;
}

/** Process-local secret for the in-memory PIN verifier (never stored). */
const VERIFIER_SECRET = randomBytes(32);

export function pinVerifier(pin: Uint8Array): Buffer {
  return createHmac("sha256", VERIFIER_SECRET).update(pin).digest();
}

/**
 * How a user's data key is wrapped says whether all the user's key rows are in the current seal
 * format: LEGACY_WRAP (a store from before seal format 3: the user's rows may be format 2), or
 * CURRENT_WRAP (every row was resealed, and the data key rewrapped, at the user's first login after
 * the upgrade: a row marked format 2 is then refused). Only the holder of the PIN (or, for service
 * users, the master key) can rewrap; what an edited file can do is put back the user's wrapped key
 * from a copy taken before the upgrade, with rows of that copy (the row replay docs/threat-model.md
 * does not cover).
 */
export const LEGACY_WRAP = 1;
export const CURRENT_WRAP = 2;

export function dataKeyAad(container: string, user: string, wrap = CURRENT_WRAP): Uint8Array {
  return aadOf(`vhsm:user:v${wrap}`, container, user);
}

export function serviceKeyAad(container: string, user: string, wrap = CURRENT_WRAP): Uint8Array {
  return aadOf(`vhsm:service-user:v${wrap}`, container, user);
}

/** Opens a wrapped data key in the current wrap or the legacy one; null when neither opens. */
export function openDataKey(
  kek: Uint8Array,
  wrapped: Uint8Array,
  aad: (wrap: number) => Uint8Array,
): { dataKey: Buffer; wrap: number } | null {
  for (const wrap of [CURRENT_WRAP, LEGACY_WRAP]) {
    const dataKey = open(kek, wrapped, aad(wrap));
    if (dataKey) return { dataKey, wrap };
  }
  return null;
}

export interface SealedFields {
  keyId: string;
  version: number;
  type: number;
  /** ms since the epoch, as stored: when the version was made (rotation is reckoned from it). */
  created: number;
  policy: KeyPolicy;
}

export function keyAad(container: string, user: string, f: SealedFields, format = SEAL_FORMAT): Uint8Array {
  const { usage, flags, min_version, rotate_every } = f.policy;
  const bound = [container, user, f.keyId, f.version, f.type, usage, flags, min_version];
  // format 2 bound neither the rotation period nor the creation time
  if (format === LEGACY_SEAL_FORMAT) return aadOf("vhsm:key:v2", ...bound);
  return aadOf("vhsm:key:v3", ...bound, rotate_every, f.created);
}

/** The row's columns that must hold integers. */
const STORED_NUMBERS = [
  "version",
  "type",
  "usage",
  "flags",
  "min_version",
  "rotate_every",
  "created",
  "seal",
] as const;

/** The fields a stored row's seal binds. */
const sealedFieldsOf = (row: KeyRow): SealedFields => ({
  keyId: row.key_id,
  version: row.version,
  type: row.type,
  created: row.created,
  policy: row,
});

const cacheKey = (keyId: string, version: number) => `${keyId}\0${version}`;

export class UserVault {
  sessions = 0;
  private destroyed = false;
  private readonly cache = new Map<string, LoadedKey>();
  /** Newest cached version per key id: a "latest" lookup is one map read, no key string to build. */
  private readonly latest = new Map<string, LoadedKey>();

  constructor(
    readonly userId: number,
    readonly containerName: string,
    readonly userName: string,
    private dataKey: Buffer,
    private verifier: Buffer,
    private readonly cacheLimit: number,
    private readonly dropped: (key: LoadedKey) => void = () => {},
    /** A legacy row opened: `material` is its key resealed in SEAL_FORMAT, to be stored in its place. */
    private readonly resealed: (row: KeyRow, material: Uint8Array) => void = () => {},
    /** The user's data key is in LEGACY_WRAP: its rows may still be in seal format 2. */
    public acceptsLegacyRows = false,
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

  /**
   * Opens a row's material; the caller must zero it. Tampered or moved rows are refused. A legacy row
   * is resealed in the current format (see the module comment) once it has opened.
   */
  openKey(row: KeyRow): Buffer {
    this.assertAlive();
    const fields = sealedFieldsOf(row);
    const format =
      row.seal === LEGACY_SEAL_FORMAT && this.acceptsLegacyRows ? LEGACY_SEAL_FORMAT : SEAL_FORMAT;
    // numbers only: a column given another type (TEXT '9') would pass the AAD (String) and then
    // compare or sort wrongly (a retired version taken for the newest)
    const material =
      row.seal === format &&
      row.material instanceof Uint8Array &&
      STORED_NUMBERS.every((f) => Number.isSafeInteger(row[f]))
        ? open(this.dataKey, row.material, keyAad(this.containerName, this.userName, fields, format))
        : null;
    if (!material) {
      throw new VhsmError(
        Status.TAMPERED,
        `key ${row.key_id} v${row.version} failed its integrity check; the key store may have been tampered with`,
      );
    }
    if (format === LEGACY_SEAL_FORMAT) {
      try {
        this.resealed(row, this.sealKey(fields, material));
      } catch (err) {
        material.fill(0);
        throw err;
      }
    }
    return material;
  }

  /** Wraps the data key under a new key-encryption key (PIN change; the upgrade of a legacy user). */
  wrapDataKey(kek: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(kek, this.dataKey, dataKeyAad(this.containerName, this.userName, this.wrap));
  }

  /** The data key wrapped by the master key (a service user's upgrade). */
  wrapServiceKey(masterKey: Uint8Array): Uint8Array {
    this.assertAlive();
    return seal(masterKey, this.dataKey, serviceKeyAad(this.containerName, this.userName, this.wrap));
  }

  /** The label the data key is wrapped with: legacy until every row is resealed. */
  private get wrap(): number {
    return this.acceptsLegacyRows ? LEGACY_WRAP : CURRENT_WRAP;
  }

  /** A cached key: the newest version when `version` is 0. */
  cached(keyId: string, version = 0): LoadedKey | undefined {
    this.assertAlive();
    const hit = version === 0 ? this.latest.get(keyId) : this.cache.get(cacheKey(keyId, version));
    if (hit) hit.used = true;
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
      userId: row.user_id,
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
      used: true, // loading is a use: a fresh key is not the next to go
    };
    const k = cacheKey(row.key_id, row.version);
    const replaced = this.cache.get(k);
    if (replaced) this.dropRow(k, replaced);
    this.cache.set(k, loaded);
    if (isLatest) this.latest.set(row.key_id, loaded);
    if (this.cache.size > this.cacheLimit) this.evictOne();
    return loaded;
  }

  /**
   * Second-chance (CLOCK) eviction: the map is in insertion order; a key used since the hand last
   * passed goes to the back with its mark cleared, the first unused one goes. Recency costs a flag
   * per hit instead of a delete and re-insert.
   */
  private evictOne(): void {
    for (;;) {
      const [k, oldest] = this.cache.entries().next().value as [string, LoadedKey];
      if (oldest.used) {
        oldest.used = false;
        this.cache.delete(k);
        this.cache.set(k, oldest);
        continue;
      }
      this.dropRow(k, oldest);
      return;
    }
  }

  /** Drops every cached version of a key (deleted, rotated, or policy changed). */
  forget(keyId: string): void {
    const latest = this.latest.get(keyId);
    if (latest === undefined) {
      for (const [k, key] of [...this.cache]) if (key.keyId === keyId) this.dropRow(k, key);
      return;
    }
    for (let v = 1; v <= latest.version; v++) {
      const k = cacheKey(keyId, v);
      const key = this.cache.get(k);
      if (key) this.dropRow(k, key);
    }
  }

  /** Removes a cached version; the newest-version map follows the cache, so it stays bounded too. */
  private dropRow(k: string, key: LoadedKey): void {
    this.cache.delete(k);
    if (this.latest.get(key.keyId) === key) this.latest.delete(key.keyId);
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

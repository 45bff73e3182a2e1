/** Creating, rotating and re-policing keys: every write of key material goes through here. */
import { KeyFlag } from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";
import { checkKeyId, newKeyId } from "./ids.ts";
import { type KeyMaterial, type KeyTypeSpec, keyTypeSpec, resolveUsage } from "./key-types.ts";
import type { Services } from "./services.ts";
import type { KeyPolicy } from "./store/keys.ts";
import type { UserVault } from "./vault.ts";

export interface NewKey {
  id: string;
  type: number;
  bits: number;
  usage: number;
  flags: number;
  rotateEvery: number;
  material: Uint8Array;
}

const KNOWN_FLAGS = KeyFlag.EXPORTABLE;
/** Longest rotation period: ten years, in seconds. */
export const MAX_ROTATE_EVERY = 10 * 366 * 24 * 3600;

export function checkFlags(flags: number): number {
  if ((flags & ~KNOWN_FLAGS) !== 0)
    throw new VhsmError(Status.BAD_ARGUMENTS, `unknown key flags 0x${flags.toString(16)}`);
  return flags;
}

export function checkRotateEvery(seconds: number): number {
  if (seconds !== 0 && (seconds < 1 || seconds > MAX_ROTATE_EVERY)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      "a rotation period must be between 1 second and ten years (0 = never)",
    );
  }
  return seconds;
}

/** Validates the request fields shared by generate, import and unwrap; returns the id to use. */
export function prepareNewKey(
  id: string,
  type: number,
  usage: number,
  flags: number,
): { id: string; spec: KeyTypeSpec; usage: number } {
  const keyId = id === "" ? newKeyId() : checkKeyId(id);
  const spec = keyTypeSpec(type);
  checkFlags(flags);
  return { id: keyId, spec, usage: resolveUsage(spec, usage) };
}

/** Stores version 1 of a new key. KEY_ID_OCCUPIED when the id exists. */
export function storeNewKey(svc: Services, vault: UserVault, k: NewKey): string {
  if (svc.keys.exists(vault.userId, k.id)) {
    throw new VhsmError(Status.KEY_ID_OCCUPIED, `key id ${k.id} is already in use`);
  }
  const policy = { usage: k.usage, flags: k.flags, min_version: 1, rotate_every: k.rotateEvery };
  const created = Date.now();
  const sealed = vault.sealKey({ keyId: k.id, version: 1, type: k.type, created, policy }, k.material);
  const inserted = svc.keys.insert({
    user_id: vault.userId,
    key_id: k.id,
    version: 1,
    type: k.type,
    bits: k.bits,
    material: sealed,
    created,
    ...policy,
  });
  if (!inserted) throw new VhsmError(Status.KEY_ID_OCCUPIED, `key id ${k.id} is already in use`);
  return k.id;
}

/**
 * The latest version's type and size, the size read from its sealed material: the row's `bits` is
 * not sealed, so an edited column (a 4096-bit key rotated into a 128-bit one) is caught, not obeyed.
 */
export function nextVersionSize(svc: Services, vault: UserVault, keyId: string) {
  const latest = svc.keys.latest(vault.userId, checkKeyId(keyId));
  if (!latest) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${keyId}`);
  const spec = keyTypeSpec(latest.type);
  const current = vault.openKey(latest);
  let bits: number;
  try {
    bits = spec.bitsOf(current);
  } finally {
    current.fill(0);
  }
  if (bits !== latest.bits) {
    throw new VhsmError(
      Status.TAMPERED,
      `key ${keyId} v${latest.version}: its recorded size (${latest.bits} bits) is not its material's (${bits}); the key store was edited`,
    );
  }
  return { latest, spec, bits };
}

/**
 * Adds a new version with fresh material (`made`, when the caller generated it off the main thread;
 * the caller zeroes it); later operations use it. Returns the new version. `next`: nextVersionSize
 * read in the same turn (a caller that awaited since must let it be read again).
 */
export function rotateKey(
  svc: Services,
  vault: UserVault,
  keyId: string,
  made?: KeyMaterial,
  next = nextVersionSize(svc, vault, keyId),
): number {
  const { latest, spec, bits } = next;
  if (made && made.bits !== bits) throw new VhsmError(Status.INTERNAL, "new version made at the wrong size");
  const material = made ? made.material : spec.generate(bits).material;
  const version = latest.version + 1;
  try {
    const created = Date.now();
    const sealed = vault.sealKey({ keyId, version, type: latest.type, created, policy: latest }, material);
    svc.keys.insert({ ...latest, version, material: sealed, created });
  } finally {
    if (!made) material.fill(0);
  }
  vault.forget(keyId);
  return version;
}

/** Applies a new policy to every version of a key, resealing each so the AAD matches. */
export function applyPolicy(svc: Services, vault: UserVault, keyId: string, policy: KeyPolicy): void {
  const rows = svc.keys.versions(vault.userId, keyId);
  const resealed = new Map<number, Uint8Array>();
  for (const row of rows) {
    const material = vault.openKey(row);
    try {
      const fields = { keyId, version: row.version, type: row.type, created: row.created, policy };
      resealed.set(row.id, vault.sealKey(fields, material));
    } finally {
      material.fill(0);
    }
  }
  svc.keys.updatePolicy(vault.userId, keyId, policy, resealed);
  vault.forget(keyId);
}

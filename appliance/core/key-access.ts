/**
 * The one way operations reach a key: find it (cache first), check its type, version and usage
 * policy, apply automatic rotation when due, and count the use.
 */
import { Status, VhsmError } from "../../protocol/status.ts";
import { checkKeyId } from "./ids.ts";
import { nextVersionSize, rotateKey } from "./key-lifecycle.ts";
import { keyTypeSpec } from "./key-types.ts";
import type { Services } from "./services.ts";
import type { Session } from "./session.ts";
import type { LoadedKey, UserVault } from "./vault.ts";

export interface KeyRequest {
  /** Usage bit the operation needs. */
  usage: number;
  /** A specific version (verify/decrypt of old material); 0 or absent = newest. */
  version?: number;
  /** Key types the operation accepts. */
  types: readonly number[];
  /** Words for error messages: "signing", "HMAC"... */
  purpose: string;
}

export function accessKey(session: Session, svc: Services, keyId: string, req: KeyRequest): LoadedKey {
  const key = checkedKey(session, svc, keyId, req);
  if ((req.version ?? 0) === 0 && key.rotateEvery > 0 && Date.now() - key.created >= key.rotateEvery * 1000) {
    // automatic rotation: the first use after the period creates the next version
    const vault = session.requireVault();
    if (!keyTypeSpec(key.type).generateAsync) {
      rotateKey(svc, vault, keyId);
      return accessKey(session, svc, keyId, req);
    }
    rotateInBackground(svc, vault, keyId);
  }
  svc.usage.record(key);
  return key;
}

/** Keys of each vault whose next version is being made off the main thread. */
const rotating = new WeakMap<UserVault, Set<string>>();

/**
 * An RSA key is made on the thread pool (up to seconds for RSA-4096, which inline would stall every
 * container): the uses until it is ready keep the current version, and the new one is stored only if
 * no other version was added meanwhile. One generation per key at a time; a failure (a full disk) is
 * retried at a later use.
 */
function rotateInBackground(svc: Services, vault: UserVault, keyId: string): void {
  const pending = rotating.get(vault) ?? new Set<string>();
  rotating.set(vault, pending);
  if (pending.has(keyId)) return;
  const { latest, spec, bits } = nextVersionSize(svc, vault, keyId);
  const fromVersion = latest.version;
  pending.add(keyId);
  spec.generateAsync!(bits)
    .then((made) => {
      try {
        if (vault.alive && svc.keys.latest(vault.userId, keyId)?.version === fromVersion) {
          rotateKey(svc, vault, keyId, made);
        }
      } finally {
        made.material.fill(0);
      }
    })
    .catch(() => {})
    .finally(() => pending.delete(keyId));
}

/**
 * The key as it stands now, after every check but without rotating it or counting a use: for a
 * streaming context, whose key must still exist and be allowed at each step (a delete, a narrowed
 * policy or a retired version ends the contexts that use it).
 */
export function checkedKey(session: Session, svc: Services, keyId: string, req: KeyRequest): LoadedKey {
  const vault = session.requireVault();
  const version = req.version ?? 0;
  let key = vault.cached(keyId, version);
  if (!key) {
    checkKeyId(keyId);
    const row =
      version === 0 ? svc.keys.latest(vault.userId, keyId) : svc.keys.version(vault.userId, keyId, version);
    if (!row) {
      throw new VhsmError(
        Status.KEY_NOT_FOUND,
        version === 0 ? `no key ${keyId}` : `no version ${version} of key ${keyId}`,
      );
    }
    key = vault.load(row, version === 0);
  }
  if (!req.types.includes(key.type)) {
    throw new VhsmError(
      Status.UNSUPPORTED_MECHANISM,
      `key ${keyId} is a ${keyTypeSpec(key.type).name} key, which cannot be used for ${req.purpose}`,
    );
  }
  if ((key.usage & req.usage) === 0) {
    throw new VhsmError(Status.NOT_AUTHORISED, `the policy of key ${keyId} does not allow ${req.purpose}`);
  }
  if (key.version < key.minVersion) {
    throw new VhsmError(
      Status.NOT_AUTHORISED,
      `version ${key.version} of key ${keyId} is retired (minimum version ${key.minVersion})`,
    );
  }
  return key;
}

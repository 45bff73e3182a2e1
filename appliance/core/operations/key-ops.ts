/** KEY_GENERATE, KEY_IMPORT, KEY_DELETE, KEY_LIST, KEY_COUNT, KEY_INFO, KEY_ROTATE, KEY_UPDATE. */
import { KeyFlag } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { checkKeyId } from "../ids.ts";
import {
  applyPolicy,
  checkRotateEvery,
  nextVersionSize,
  prepareNewKey,
  rotateKey,
  storeNewKey,
} from "../key-lifecycle.ts";
import type { KeyMaterial } from "../key-types.ts";
import type { Session } from "../session.ts";
import type { UserVault } from "../vault.ts";
import type { Handler } from "./handler.ts";

/** After material was made off the main thread: the session that asked must still hold the vault. */
function stillLoggedIn(session: Session, vault: UserVault, what: string): void {
  if (session.vault !== vault)
    throw new VhsmError(Status.NOT_LOGGED_IN, `the session logged out while ${what}`);
}

export const KeyGenerate: Handler<"KEY_GENERATE"> = (session, req, svc) => {
  const vault = session.requireVault();
  const { id, spec, usage } = prepareNewKey(req.id, req.type, req.usage, req.flags);
  checkRotateEvery(req.rotateEvery);
  const size = req.bits === 0 ? spec.defaultBits : req.bits;
  const store = ({ material, bits }: KeyMaterial) => {
    try {
      stillLoggedIn(session, vault, "its key was being generated"); // (RSA: made off the main thread)
      const k = { id, type: req.type, bits, usage, flags: req.flags, rotateEvery: req.rotateEvery, material };
      return { id: storeNewKey(svc, vault, k) };
    } finally {
      material.fill(0);
    }
  };
  if (!spec.generateAsync) return store(spec.generate(size));
  // RSA: made on the runtime's thread pool, so other requests (and containers) are not stalled
  return spec.generateAsync(size).then(store);
};

export const KeyImport: Handler<"KEY_IMPORT"> = (session, req, svc) => {
  const vault = session.requireVault();
  const { id, spec, usage } = prepareNewKey(req.id, req.type, req.usage, req.flags);
  let imported: { material: Buffer; bits: number };
  try {
    imported = spec.import(req.format, req.secret);
  } finally {
    req.secret.fill(0);
  }
  try {
    const k = {
      id,
      type: req.type,
      bits: imported.bits,
      usage,
      flags: req.flags,
      rotateEvery: 0,
      material: imported.material,
    };
    return { id: storeNewKey(svc, vault, k) };
  } finally {
    imported.material.fill(0);
  }
};

export const KeyDelete: Handler<"KEY_DELETE"> = (session, req, svc) => {
  const vault = session.requireVault();
  if (!svc.keys.remove(vault.userId, checkKeyId(req.id))) {
    throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${req.id}`);
  }
  vault.forget(req.id);
  return {};
};

export const KeyList: Handler<"KEY_LIST"> = (session, req, svc) => {
  const vault = session.requireVault();
  const limit = Math.min(req.limit === 0 ? svc.config.maxListPage : req.limit, svc.config.maxListPage);
  const ids = svc.keys.listIds(vault.userId, req.after, limit + 1);
  const more = ids.length > limit;
  return { ids: more ? ids.slice(0, limit) : ids, more: more ? 1 : 0 };
};

export const KeyCount: Handler<"KEY_COUNT"> = (session, _req, svc) => {
  const vault = session.requireVault();
  return { count: svc.keys.count(vault.userId) };
};

export const KeyInfo: Handler<"KEY_INFO"> = (session, req, svc) => {
  const vault = session.requireVault();
  const versions = svc.keys.versions(vault.userId, checkKeyId(req.id));
  const row = versions[versions.length - 1];
  if (!row) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${req.id}`);
  let lastUsed = 0;
  let useCount = 0;
  for (const v of versions) {
    const pending = svc.usage.pending({ rowId: v.id, userId: v.user_id, created: v.created });
    lastUsed = Math.max(lastUsed, v.last_used, pending.lastUsed);
    useCount += v.use_count + pending.uses;
  }
  return {
    id: row.key_id,
    type: row.type,
    bits: row.bits,
    version: row.version,
    usage: row.usage,
    created: versions[0]!.created,
    lastUsed,
    useCount,
    flags: row.flags,
    minVersion: row.min_version,
    rotateEvery: row.rotate_every,
    rotated: row.created,
  };
};

export const KeyRotate: Handler<"KEY_ROTATE"> = (session, req, svc) => {
  const vault = session.requireVault();
  const next = nextVersionSize(svc, vault, req.id);
  if (!next.spec.generateAsync) return { version: rotateKey(svc, vault, req.id, undefined, next) };
  return next.spec.generateAsync(next.bits).then((made) => {
    try {
      stillLoggedIn(session, vault, "the new version was being made");
      return { version: rotateKey(svc, vault, req.id, made) };
    } finally {
      made.material.fill(0);
    }
  });
};

/** Policy changes can only narrow: usage bits may be removed, never added; exportability only locked. */
export const KeyUpdate: Handler<"KEY_UPDATE"> = (session, req, svc) => {
  const vault = session.requireVault();
  const row = svc.keys.latest(vault.userId, checkKeyId(req.id));
  if (!row) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${req.id}`);
  if (req.usage !== 0 && (req.usage & ~row.usage) !== 0) {
    throw new VhsmError(Status.NOT_AUTHORISED, "a key's usage can only be narrowed, never widened");
  }
  if (req.minVersion !== 0 && (req.minVersion < row.min_version || req.minVersion > row.version)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      `the minimum version must be between the current minimum (${row.min_version}) and the newest version (${row.version})`,
    );
  }
  const rotateEvery = req.rotateEvery === 0xffffffff ? row.rotate_every : checkRotateEvery(req.rotateEvery);
  applyPolicy(svc, vault, req.id, {
    usage: req.usage === 0 ? row.usage : req.usage,
    flags: req.lockNonExportable ? row.flags & ~KeyFlag.EXPORTABLE : row.flags,
    min_version: req.minVersion === 0 ? row.min_version : req.minVersion,
    rotate_every: rotateEvery,
  });
  return {};
};

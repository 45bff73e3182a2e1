/** KEY_GENERATE, KEY_IMPORT, KEY_DELETE, KEY_LIST, KEY_COUNT, KEY_INFO. */
import { Status, VhsmError } from "../../../protocol/status.ts";
import { checkKeyId, newKeyId } from "../ids.ts";
import { keyTypeSpec } from "../key-types.ts";
import type { Services } from "../services.ts";
import type { UserVault } from "../vault.ts";
import type { Handler } from "./handler.ts";

function store(
  svc: Services,
  vault: UserVault,
  id: string,
  type: number,
  bits: number,
  material: Uint8Array,
) {
  const keyId = id === "" ? newKeyId() : checkKeyId(id);
  const spec = keyTypeSpec(type);
  const sealed = vault.sealKey(keyId, 1, type, material);
  const inserted = svc.keys.insert({
    user_id: vault.userId,
    key_id: keyId,
    version: 1,
    type,
    bits,
    usage: spec.defaultUsage,
    material: sealed,
    created: Date.now(),
  });
  if (!inserted) throw new VhsmError(Status.KEY_ID_OCCUPIED, `key id ${keyId} is already in use`);
  return { id: keyId };
}

export const KeyGenerate: Handler<"KEY_GENERATE"> = (session, req, svc) => {
  const vault = session.requireVault();
  if (req.id !== "") checkKeyId(req.id);
  const spec = keyTypeSpec(req.type);
  const bits = req.bits === 0 ? spec.defaultBits : req.bits;
  const material = spec.generate(bits);
  try {
    return store(svc, vault, req.id, req.type, bits, material);
  } finally {
    material.fill(0);
  }
};

export const KeyImport: Handler<"KEY_IMPORT"> = (session, req, svc) => {
  const vault = session.requireVault();
  if (req.id !== "") checkKeyId(req.id);
  const bits = keyTypeSpec(req.type).importBits(req.secret);
  try {
    return store(svc, vault, req.id, req.type, bits, req.secret);
  } finally {
    req.secret.fill(0);
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
  const row = svc.keys.latest(vault.userId, checkKeyId(req.id));
  if (!row) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${req.id}`);
  const pending = svc.usage.pending(row.id);
  return {
    id: row.key_id,
    type: row.type,
    bits: row.bits,
    version: row.version,
    usage: row.usage,
    created: row.created,
    lastUsed: Math.max(row.last_used, pending.lastUsed),
    useCount: row.use_count + pending.uses,
  };
};

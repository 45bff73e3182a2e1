/**
 * WRAP / UNWRAP: move exportable keys between appliances or into backups, wrapped with AES key
 * wrap with padding (RFC 5649) under an AES-256 wrapping key. Non-exportable keys never leave.
 */
import { KeyFlag, KeyFormat, KeyType, Usage, WrapAlg } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { aesKeyUnwrapPad, aesKeyWrapPad } from "../crypto/aes-kw.ts";
import { accessKey } from "../key-access.ts";
import { prepareNewKey, storeNewKey } from "../key-lifecycle.ts";
import { keyTypeSpec } from "../key-types.ts";
import type { Services } from "../services.ts";
import type { Session } from "../session.ts";
import type { Handler } from "./handler.ts";

const ALL_TYPES = Object.values(KeyType);

function checkWrapAlg(alg: number): void {
  if (alg !== WrapAlg.DEFAULT && alg !== WrapAlg.AES_KWP) {
    throw new VhsmError(
      Status.UNSUPPORTED_MECHANISM,
      `wrapping algorithm ${alg} is not supported (use AES-KWP)`,
    );
  }
}

/** The wrapping key's raw bytes, briefly (KW needs them as bytes); the caller must zero them. */
function kekBytes(session: Session, svc: Services, id: string, usage: number): Buffer {
  const kek = accessKey(session, svc, id, { usage, types: [KeyType.AES256], purpose: "key wrapping" });
  return kek.secret!.export();
}

export const Wrap: Handler<"WRAP"> = (session, req, svc) => {
  checkWrapAlg(req.alg);
  const vault = session.requireVault();
  const target = accessKey(session, svc, req.keyId, {
    usage: 0xffffffff,
    types: ALL_TYPES,
    purpose: "export",
  });
  if ((target.flags & KeyFlag.EXPORTABLE) === 0) {
    throw new VhsmError(Status.NOT_EXPORTABLE, `key ${req.keyId} is not exportable`);
  }
  const row = svc.keys.version(vault.userId, target.keyId, target.version)!;
  const kek = kekBytes(session, svc, req.wrappingKeyId, Usage.WRAP);
  const material = vault.openKey(row);
  try {
    return { wrapped: aesKeyWrapPad(kek, material), type: target.type, bits: target.bits };
  } finally {
    material.fill(0);
    kek.fill(0);
  }
};

export const Unwrap: Handler<"UNWRAP"> = (session, req, svc) => {
  checkWrapAlg(req.alg);
  const vault = session.requireVault();
  const { id, spec, usage } = prepareNewKey(req.id, req.type, req.usage, req.flags);
  const kek = kekBytes(session, svc, req.wrappingKeyId, Usage.UNWRAP);
  const material = aesKeyUnwrapPad(kek, req.wrapped);
  kek.fill(0);
  if (!material)
    throw new VhsmError(Status.DECRYPT_FAILED, "the wrapped key does not verify under this wrapping key");
  try {
    // the unwrapped bytes must really be a key of the declared type
    const parsed = spec.import(keyTypeSpec(req.type).asymmetric ? KeyFormat.DER : KeyFormat.RAW, material);
    const k = {
      id,
      type: req.type,
      bits: parsed.bits,
      usage,
      flags: req.flags,
      rotateEvery: 0,
      material: parsed.material,
    };
    try {
      return { id: storeNewKey(svc, vault, k) };
    } finally {
      parsed.material.fill(0);
    }
  } finally {
    material.fill(0);
  }
};

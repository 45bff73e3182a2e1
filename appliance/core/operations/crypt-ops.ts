/** ENCRYPT / DECRYPT: AES-256-GCM with caller AAD and appliance-made nonces; RSA-OAEP-SHA256. */
import { CryptAlg, KeyType, Usage } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import {
  gcmDecrypt,
  gcmEncrypt,
  oaepDecrypt,
  oaepEncrypt,
  oaepMaxPlaintext,
  readVersion,
} from "../crypto/encryption.ts";
import { accessKey } from "../key-access.ts";
import type { Handler } from "./handler.ts";

const TYPES = [KeyType.AES256, KeyType.RSA] as const;

function checkAlg(type: number, alg: number): void {
  const expected = type === KeyType.AES256 ? CryptAlg.AES_256_GCM : CryptAlg.RSA_OAEP_SHA256;
  if (alg !== CryptAlg.DEFAULT && alg !== expected) {
    throw new VhsmError(
      Status.UNSUPPORTED_MECHANISM,
      `encryption algorithm ${alg} does not fit this key type`,
    );
  }
}

export const Encrypt: Handler<"ENCRYPT"> = (session, req, svc) => {
  const key = accessKey(session, svc, req.keyId, {
    usage: Usage.ENCRYPT,
    types: TYPES,
    purpose: "encryption",
  });
  checkAlg(key.type, req.alg);
  if (key.type === KeyType.AES256) {
    return { ciphertext: gcmEncrypt(key.secret!, key.version, req.aad, req.plaintext), version: key.version };
  }
  if (req.aad.length > 0) throw new VhsmError(Status.BAD_ARGUMENTS, "RSA-OAEP takes no AAD");
  if (req.plaintext.length > oaepMaxPlaintext(key.bits)) {
    throw new VhsmError(
      Status.BAD_ARGUMENTS,
      `RSA-OAEP encrypts at most ${oaepMaxPlaintext(key.bits)} bytes with this key`,
    );
  }
  return { ciphertext: oaepEncrypt(key.publicKey!, key.version, req.plaintext), version: key.version };
};

export const Decrypt: Handler<"DECRYPT"> = (session, req, svc) => {
  const vault = session.requireVault();
  const newest = svc.keys.latest(vault.userId, req.keyId);
  if (!newest) throw new VhsmError(Status.KEY_NOT_FOUND, `no key ${req.keyId}`);
  // a bare RSA ciphertext (exactly the modulus size) was made with the exported public key: newest version
  const bare = newest.type === KeyType.RSA && req.ciphertext.length === newest.bits / 8;
  const version = bare ? newest.version : readVersion(req.ciphertext);
  if (version === 0)
    throw new VhsmError(Status.BAD_ARGUMENTS, "the ciphertext is too short or names no key version");
  const key = accessKey(session, svc, req.keyId, {
    usage: Usage.DECRYPT,
    version,
    types: TYPES,
    purpose: "decryption",
  });
  checkAlg(key.type, req.alg);
  const plaintext =
    key.type === KeyType.AES256
      ? gcmDecrypt(key.secret!, req.aad, req.ciphertext)
      : oaepDecrypt(key.privateKey!, bare ? req.ciphertext : req.ciphertext.subarray(4));
  if (!plaintext) {
    throw new VhsmError(Status.DECRYPT_FAILED, "the ciphertext, its tag or the AAD do not verify");
  }
  return { plaintext, version: key.version };
};

/**
 * AES-256-GCM and RSA-OAEP for callers. Ciphertexts start with the key version that made them:
 *   AES-GCM:  version(u32 BE) || nonce(12, generated here) || ciphertext || tag(16)
 *   RSA-OAEP: version(u32 BE) || RSA ciphertext   (a bare RSA ciphertext, as `openssl pkeyutl -encrypt`
 *             makes with the exported public key, is accepted too and uses the newest version)
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from "node:crypto";

const NONCE = 12;
const TAG = 16;

function versionPrefix(version: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(version);
  return b;
}

export function readVersion(ciphertext: Uint8Array): number {
  return ciphertext.length >= 4
    ? Buffer.from(ciphertext.buffer, ciphertext.byteOffset, 4).readUInt32BE(0)
    : 0;
}

export function gcmEncrypt(key: KeyObject, version: number, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad);
  const body = c.update(plaintext);
  const last = c.final();
  return Buffer.concat([versionPrefix(version), nonce, body, last, c.getAuthTag()]);
}

/** Null when the tag does not verify (wrong key, AAD, or tampered ciphertext). */
export function gcmDecrypt(key: KeyObject, aad: Uint8Array, ciphertext: Uint8Array): Buffer | null {
  if (ciphertext.length < 4 + NONCE + TAG) return null;
  const nonce = ciphertext.subarray(4, 4 + NONCE);
  const tag = ciphertext.subarray(ciphertext.length - TAG);
  const d = createDecipheriv("aes-256-gcm", key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const out = d.update(ciphertext.subarray(4 + NONCE, ciphertext.length - TAG));
  try {
    d.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}

const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" } as const;

export function oaepEncrypt(key: KeyObject, version: number, plaintext: Uint8Array): Buffer {
  return Buffer.concat([versionPrefix(version), publicEncrypt({ key, ...OAEP }, plaintext)]);
}

export function oaepDecrypt(key: KeyObject, rsaCiphertext: Uint8Array): Buffer | null {
  try {
    return privateDecrypt({ key, ...OAEP }, rsaCiphertext);
  } catch {
    return null;
  }
}

/** Largest OAEP-SHA256 plaintext for a modulus: k - 2*hLen - 2. */
export function oaepMaxPlaintext(modulusBits: number): number {
  return modulusBits / 8 - 2 * 32 - 2;
}

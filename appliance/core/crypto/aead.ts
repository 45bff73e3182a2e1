/**
 * AES-256-GCM sealing for everything stored at rest: sealed = nonce(12) || ciphertext || tag(16).
 * The AAD binds a blob to its place (container, user, key id, version), so a row moved elsewhere
 * fails to open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const NONCE = 12;
const TAG = 16;

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(NONCE + body.length + last.length + TAG);
  out.set(nonce, 0);
  out.set(body, NONCE);
  out.set(last, NONCE + body.length);
  out.set(tag, NONCE + body.length + last.length);
  body.fill(0);
  return out;
}

/** Returns the plaintext, or null when the tag does not verify (wrong key, wrong AAD, tampered blob). */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < NONCE + TAG) return null;
  const nonce = sealed.subarray(0, NONCE);
  const tag = sealed.subarray(sealed.length - TAG);
  const body = sealed.subarray(NONCE, sealed.length - TAG);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = decipher.update(body);
  try {
    decipher.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}

const enc = new TextEncoder();

/** AAD layout: a domain label and the fields, each terminated by NUL. */
export function aadOf(label: string, ...fields: (string | number)[]): Uint8Array {
  return enc.encode([label, ...fields.map(String)].join("\0"));
}

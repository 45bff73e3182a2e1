/**
 * AES key wrap: RFC 3394 (KW, input a multiple of 8 bytes) and RFC 5649 (KWP, any length), built on
 * single-block AES because the runtime's crypto library does not expose the wrap modes.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from "node:crypto";

const DEFAULT_IV = Buffer.from("a6a6a6a6a6a6a6a6", "hex");
const KWP_PREFIX = Buffer.from("a65959a6", "hex");

function ecb(key: Uint8Array, decrypt: boolean) {
  const alg = `aes-${key.length * 8}-ecb`;
  const c = decrypt ? createDecipheriv(alg, key, null) : createCipheriv(alg, key, null);
  c.setAutoPadding(false);
  return (block: Buffer) => c.update(block);
}

function xorCounter(a: Buffer, t: number): void {
  // A ^= t, with t as a 64-bit big-endian integer
  for (let i = 7, v = t; i >= 0 && v > 0; i--, v = Math.floor(v / 256)) a[i]! ^= v & 0xff;
}

/** The RFC 3394 wrapping process W over n >= 2 semiblocks with initial value `iv`. */
function wrapCore(kek: Uint8Array, iv: Buffer, plaintext: Uint8Array): Buffer {
  const n = plaintext.length / 8;
  const aes = ecb(kek, false);
  let a = Buffer.from(iv);
  const r = Buffer.from(plaintext);
  const block = Buffer.alloc(16);
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      a.copy(block, 0);
      r.copy(block, 8, (i - 1) * 8, i * 8);
      const b = aes(block);
      a = Buffer.from(b.subarray(0, 8));
      xorCounter(a, n * j + i);
      b.copy(r, (i - 1) * 8, 8, 16);
    }
  }
  block.fill(0);
  return Buffer.concat([a, r]);
}

/** The inverse process; returns the recovered IV and plaintext. */
function unwrapCore(kek: Uint8Array, wrapped: Uint8Array): { iv: Buffer; plaintext: Buffer } {
  const n = wrapped.length / 8 - 1;
  const aes = ecb(kek, true);
  const a = Buffer.from(wrapped.subarray(0, 8));
  const r = Buffer.from(wrapped.subarray(8));
  const block = Buffer.alloc(16);
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      xorCounter(a, n * j + i);
      a.copy(block, 0);
      r.copy(block, 8, (i - 1) * 8, i * 8);
      const b = aes(block);
      b.copy(a, 0, 0, 8);
      b.copy(r, (i - 1) * 8, 8, 16);
    }
  }
  block.fill(0);
  return { iv: a, plaintext: r };
}

export function aesKeyWrap(kek: Uint8Array, plaintext: Uint8Array): Buffer {
  if (plaintext.length < 16 || plaintext.length % 8 !== 0)
    throw new Error("KW input must be n*8 bytes, n >= 2");
  return wrapCore(kek, DEFAULT_IV, plaintext);
}

/** Returns null when the integrity check fails. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Buffer | null {
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) return null;
  const { iv, plaintext } = unwrapCore(kek, wrapped);
  if (!timingSafeEqual(iv, DEFAULT_IV)) {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}

export function aesKeyWrapPad(kek: Uint8Array, plaintext: Uint8Array): Buffer {
  if (plaintext.length === 0) throw new Error("KWP input must not be empty");
  const iv = Buffer.alloc(8);
  KWP_PREFIX.copy(iv, 0);
  iv.writeUInt32BE(plaintext.length, 4);
  const padded = Buffer.alloc(Math.ceil(plaintext.length / 8) * 8);
  padded.set(plaintext);
  try {
    if (padded.length === 8) return ecb(kek, false)(Buffer.concat([iv, padded]));
    return wrapCore(kek, iv, padded);
  } finally {
    padded.fill(0);
  }
}

/** Returns null when the integrity check (prefix, length, zero padding) fails. */
export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Buffer | null {
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) return null;
  let iv: Buffer;
  let padded: Buffer;
  if (wrapped.length === 16) {
    const b = ecb(kek, true)(Buffer.from(wrapped));
    iv = b.subarray(0, 8);
    padded = b.subarray(8);
  } else {
    ({ iv, plaintext: padded } = unwrapCore(kek, wrapped));
  }
  const length = iv.readUInt32BE(4);
  const ok =
    timingSafeEqual(iv.subarray(0, 4), KWP_PREFIX) &&
    length > padded.length - 8 &&
    length <= padded.length &&
    padded.subarray(length).every((x) => x === 0);
  if (!ok) {
    padded.fill(0);
    return null;
  }
  const out = Buffer.from(padded.subarray(0, length));
  padded.fill(0);
  return out;
}

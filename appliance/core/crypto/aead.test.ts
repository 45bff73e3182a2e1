/** Sealing at rest: AES-256-GCM with the blob's place bound in as AAD. */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { aadOf, open, seal } from "./aead.ts";

const key = randomBytes(32);
const plaintext = Buffer.from("key material");
const aad = aadOf("vhsm:key:v1", "container", "user", "key-id", 1, 1);

describe("seal / open", () => {
  test("round-trips, and the blob is nonce(12) + ciphertext + tag(16) without the plaintext in it", () => {
    const sealed = seal(key, plaintext, aad);
    expect(sealed.length).toBe(12 + plaintext.length + 16);
    expect(Buffer.from(sealed).indexOf(plaintext)).toBe(-1);
    expect(open(key, sealed, aad)).toEqual(plaintext);
  });

  test("every seal uses a fresh nonce", () => {
    const a = seal(key, plaintext, aad);
    const b = seal(key, plaintext, aad);
    expect(Buffer.from(a.subarray(0, 12)).equals(Buffer.from(b.subarray(0, 12)))).toBe(false);
  });

  test("a blob moved to another place (different AAD) does not open", () => {
    const sealed = seal(key, plaintext, aad);
    for (const other of [
      aadOf("vhsm:key:v1", "container", "user", "key-id", 2, 1),
      aadOf("vhsm:key:v1", "container", "other-user", "key-id", 1, 1),
      aadOf("vhsm:key:v1", "other", "user", "key-id", 1, 1),
      aadOf("vhsm:user:v1", "container", "user", "key-id", 1, 1),
    ]) {
      expect(open(key, sealed, other)).toBeNull();
    }
  });

  test("AAD fields cannot be shifted across the separator", () => {
    expect(Buffer.from(aadOf("l", "ab", "c")).equals(Buffer.from(aadOf("l", "a", "bc")))).toBe(false);
  });

  test("any flipped bit, a wrong key, or a truncated blob fails to open", () => {
    const sealed = seal(key, plaintext, aad);
    for (let i = 0; i < sealed.length; i++) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x01;
      expect([i, open(key, bad, aad)]).toEqual([i, null]);
    }
    expect(open(randomBytes(32), sealed, aad)).toBeNull();
    expect(open(key, sealed.subarray(0, 27), aad)).toBeNull();
    expect(open(key, new Uint8Array(0), aad)).toBeNull();
  });
});

/** Digest and HMAC over the wire's algorithm numbers. */
import { createHash, createHmac, type Hash, type Hmac, type KeyObject, timingSafeEqual } from "node:crypto";
import { HASH_NODE_NAME } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";

export function hashName(alg: number): string {
  const name = HASH_NODE_NAME[alg];
  if (!name) throw new VhsmError(Status.UNSUPPORTED_MECHANISM, `unsupported hash algorithm ${alg}`);
  return name;
}

export function digestOnce(alg: number, data: Uint8Array): Buffer {
  return createHash(hashName(alg)).update(data).digest();
}

export function digestStream(alg: number): Hash {
  return createHash(hashName(alg));
}

export function hmacOnce(alg: number, key: KeyObject, data: Uint8Array): Buffer {
  return createHmac(hashName(alg), key).update(data).digest();
}

export function hmacStream(alg: number, key: KeyObject): Hmac {
  return createHmac(hashName(alg), key);
}

/** Constant-time equality that also hides the length check behind a fixed-size comparison. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * PIN → key-encryption key. scrypt, with parameters stored per user so they can be raised later
 * without breaking existing users.
 */
import { randomBytes, scrypt } from "node:crypto";

export interface KdfParams {
  alg: "scrypt";
  logN: number;
  r: number;
  p: number;
  salt: string; // base64
}

export const DEFAULT_KDF = { logN: 15, r: 8, p: 1 } as const;

export function newKdfParams(logN: number = DEFAULT_KDF.logN): KdfParams {
  return {
    alg: "scrypt",
    logN,
    r: DEFAULT_KDF.r,
    p: DEFAULT_KDF.p,
    salt: randomBytes(16).toString("base64"),
  };
}

export function parseKdfParams(json: string): KdfParams {
  const parsed = JSON.parse(json) as KdfParams;
  if (parsed.alg !== "scrypt" || !Number.isInteger(parsed.logN) || parsed.logN < 10 || parsed.logN > 22) {
    throw new Error("unsupported KDF parameters in the key store");
  }
  return parsed;
}

/** Derives a 32-byte key on the libuv thread pool, so logins do not block the event loop. */
export function deriveKey(pin: Uint8Array, params: KdfParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) => {
    scrypt(
      pin,
      Buffer.from(params.salt, "base64"),
      32,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/**
 * RSA signatures over a digest the caller already computed (PKCS#1 v1.5 and PSS). The runtime signs
 * only whole messages, so the encodings (DigestInfo, EMSA-PSS from RFC 8017) are done here and the
 * raw RSA operation by the runtime.
 */
import {
  constants,
  createHash,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

const DIGEST_INFO_PREFIX: Record<string, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

export function pkcs1SignDigest(key: KeyObject, hash: string, digest: Uint8Array): Buffer {
  const info = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash]!, "hex"), digest]);
  return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, info);
}

export function pkcs1VerifyDigest(
  key: KeyObject,
  hash: string,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const expected = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash]!, "hex"), digest]);
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

function mgf1(hash: string, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  for (let filled = 0, c = 0; filled < length; c++) {
    counter.writeUInt32BE(c);
    const block = createHash(hash).update(seed).update(counter).digest();
    filled += block.copy(out, filled);
  }
  return out;
}

function modulusBits(key: KeyObject): number {
  return key.asymmetricKeyDetails!.modulusLength!;
}

/** EMSA-PSS encoding with salt length = digest length (what OpenSSL's `rsa_pss_saltlen:digest` makes). */
export function pssSignDigest(key: KeyObject, hash: string, digest: Uint8Array): Buffer {
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  const salt = randomBytes(hLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[db.length - hLen - 1] = 0x01;
  salt.copy(db, db.length - hLen);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.from([0xbc])]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

/** EMSA-PSS verification accepting any salt length (signatures made elsewhere may use the maximum). */
export function pssVerifyDigest(
  key: KeyObject,
  hash: string,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const modBits = modulusBits(key);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  let raw: Buffer;
  try {
    raw = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false;
  }
  const em = raw.subarray(raw.length - emLen);
  if (em[em.length - 1] !== 0xbc || emLen < hLen + 2) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if ((db[0]! & ~(0xff >> (8 * emLen - emBits))) !== 0) return false;
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const one = db.indexOf(0x01);
  if (one < 0 || db.subarray(0, one).some((x) => x !== 0)) return false;
  const salt = db.subarray(one + 1);
  const expected = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  return timingSafeEqual(expected, h);
}

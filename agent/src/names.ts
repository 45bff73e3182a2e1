/** Human names ⇄ wire numbers for algorithms, key types, usages and formats. */
import {
  CryptAlg,
  HashAlg,
  KEY_TYPE_NAME,
  KeyFormat,
  KeyType,
  SignAlg,
  Usage,
} from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

export type HashAlgorithm = "sha1" | "sha256" | "sha384" | "sha512";
export type KeyTypeName =
  | "hmac"
  | "aes-256"
  | "ed25519"
  | "ecdsa-p256"
  | "ecdsa-p384"
  | "rsa-2048"
  | "rsa-3072"
  | "rsa-4096"
  | "rsa";
export type UsageName = "sign" | "verify" | "encrypt" | "decrypt" | "mac" | "wrap" | "unwrap";
export type SignAlgorithm =
  | "ed25519"
  | "ecdsa-sha256"
  | "ecdsa-sha384"
  | "ecdsa-sha512"
  | "rsa-pss-sha256"
  | "rsa-pss-sha384"
  | "rsa-pss-sha512"
  | "rsa-pkcs1-sha256"
  | "rsa-pkcs1-sha384"
  | "rsa-pkcs1-sha512";
export type KeyFormatName = "raw" | "pem" | "der" | "jwk";

const unsupported = (what: string, name: string, choices: string[]) =>
  new VhsmError(Status.UNSUPPORTED_MECHANISM, `unknown ${what} ${name}; use ${choices.join(", ")}`);

const HASHES: Record<HashAlgorithm, number> = {
  sha1: HashAlg.SHA1,
  sha256: HashAlg.SHA256,
  sha384: HashAlg.SHA384,
  sha512: HashAlg.SHA512,
};

export function hashAlg(name: string): number {
  const n = HASHES[name.toLowerCase().replace("-", "") as HashAlgorithm];
  if (n === undefined) throw unsupported("hash algorithm", name, Object.keys(HASHES));
  return n;
}

const KEY_TYPES: Record<KeyTypeName, { type: number; bits: number }> = {
  hmac: { type: KeyType.HMAC, bits: 0 },
  "aes-256": { type: KeyType.AES256, bits: 256 },
  ed25519: { type: KeyType.ED25519, bits: 256 },
  "ecdsa-p256": { type: KeyType.ECDSA_P256, bits: 256 },
  "ecdsa-p384": { type: KeyType.ECDSA_P384, bits: 384 },
  rsa: { type: KeyType.RSA, bits: 0 },
  "rsa-2048": { type: KeyType.RSA, bits: 2048 },
  "rsa-3072": { type: KeyType.RSA, bits: 3072 },
  "rsa-4096": { type: KeyType.RSA, bits: 4096 },
};

/** A key type name; `bits` is 0 when the name leaves the size open. */
export function keyType(name: string): { type: number; bits: number } {
  const t = KEY_TYPES[name.toLowerCase() as KeyTypeName];
  if (!t) throw unsupported("key type", name, Object.keys(KEY_TYPES));
  return t;
}

export function keyTypeName(type: number, bits: number): string {
  if (type === KeyType.RSA) return `rsa-${bits}`;
  return KEY_TYPE_NAME[type] ?? `type-${type}`;
}

export function usageBits(names: readonly string[]): number {
  let bits = 0;
  for (const name of names) {
    const bit = (Usage as Record<string, number>)[name.toUpperCase()];
    if (bit === undefined)
      throw unsupported(
        "usage",
        name,
        Object.keys(Usage).map((u) => u.toLowerCase()),
      );
    bits |= bit;
  }
  return bits;
}

export function usageNames(bits: number): UsageName[] {
  return Object.entries(Usage)
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([name]) => name.toLowerCase() as UsageName);
}

export function signAlg(name: string | undefined): number {
  if (name === undefined || name === "default") return SignAlg.DEFAULT;
  const n = (SignAlg as Record<string, number>)[name.toUpperCase().replaceAll("-", "_")];
  if (n === undefined || n === SignAlg.DEFAULT) {
    throw unsupported(
      "signature algorithm",
      name,
      Object.keys(SignAlg)
        .slice(1)
        .map((a) => a.toLowerCase().replaceAll("_", "-")),
    );
  }
  return n;
}

export function keyFormat(name: string): number {
  const n = (KeyFormat as Record<string, number>)[name.toUpperCase()];
  if (n === undefined) throw unsupported("key format", name, ["raw", "pem", "der", "jwk"]);
  return n;
}

export function cryptAlg(name: string | undefined): number {
  if (name === undefined || name === "default") return CryptAlg.DEFAULT;
  const n = (CryptAlg as Record<string, number>)[name.toUpperCase().replaceAll("-", "_")];
  if (n === undefined) throw unsupported("encryption algorithm", name, ["aes-256-gcm", "rsa-oaep-sha256"]);
  return n;
}

export { KeyType };

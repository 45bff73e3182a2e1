/** Human names ⇄ wire numbers for algorithms and key types. */
import { HashAlg, KEY_TYPE_NAME, KeyType, Usage } from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

export type HashAlgorithm = "sha1" | "sha256" | "sha384" | "sha512";
export type KeyTypeName = "hmac";

const HASHES: Record<HashAlgorithm, number> = {
  sha1: HashAlg.SHA1,
  sha256: HashAlg.SHA256,
  sha384: HashAlg.SHA384,
  sha512: HashAlg.SHA512,
};

export function hashAlg(name: string): number {
  const n = HASHES[name.toLowerCase().replace("-", "") as HashAlgorithm];
  if (n === undefined) {
    throw new VhsmError(
      Status.UNSUPPORTED_MECHANISM,
      `unknown hash algorithm ${name}; use sha1, sha256, sha384 or sha512`,
    );
  }
  return n;
}

export function keyType(name: string): number {
  const entry = Object.entries(KEY_TYPE_NAME).find(([, n]) => n === name.toLowerCase());
  if (!entry) throw new VhsmError(Status.UNSUPPORTED_MECHANISM, `unknown key type ${name}; use hmac`);
  return Number(entry[0]);
}

export function keyTypeName(type: number): string {
  return KEY_TYPE_NAME[type] ?? `type-${type}`;
}

export function usageNames(bits: number): string[] {
  return Object.entries(Usage)
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([name]) => name.toLowerCase());
}

export { KeyType };

/** Signing and verification for Ed25519, ECDSA and RSA (PSS and PKCS#1 v1.5), messages or digests. */
import { constants, type KeyObject, sign, verify } from "node:crypto";
import { KeyType, SignAlg, SignFlag } from "../../../protocol/messages.ts";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { ecdsaSignDigest, ecdsaVerifyDigest } from "./ecdsa-prehashed.ts";
import { pkcs1SignDigest, pkcs1VerifyDigest, pssSignDigest, pssVerifyDigest } from "./rsa-prehashed.ts";
import { WorkerScheme } from "./sign-workers.ts";

type Scheme = "ed25519" | "ecdsa" | "rsa-pss" | "rsa-pkcs1";

interface SignSpec {
  scheme: Scheme;
  hash: string | null;
  hashLength: number;
}

const SPECS: Record<number, SignSpec> = {
  [SignAlg.ED25519]: { scheme: "ed25519", hash: null, hashLength: 0 },
  [SignAlg.ECDSA_SHA256]: { scheme: "ecdsa", hash: "sha256", hashLength: 32 },
  [SignAlg.ECDSA_SHA384]: { scheme: "ecdsa", hash: "sha384", hashLength: 48 },
  [SignAlg.ECDSA_SHA512]: { scheme: "ecdsa", hash: "sha512", hashLength: 64 },
  [SignAlg.RSA_PSS_SHA256]: { scheme: "rsa-pss", hash: "sha256", hashLength: 32 },
  [SignAlg.RSA_PSS_SHA384]: { scheme: "rsa-pss", hash: "sha384", hashLength: 48 },
  [SignAlg.RSA_PSS_SHA512]: { scheme: "rsa-pss", hash: "sha512", hashLength: 64 },
  [SignAlg.RSA_PKCS1_SHA256]: { scheme: "rsa-pkcs1", hash: "sha256", hashLength: 32 },
  [SignAlg.RSA_PKCS1_SHA384]: { scheme: "rsa-pkcs1", hash: "sha384", hashLength: 48 },
  [SignAlg.RSA_PKCS1_SHA512]: { scheme: "rsa-pkcs1", hash: "sha512", hashLength: 64 },
};

const SCHEME_OF_TYPE: Record<number, Scheme[]> = {
  [KeyType.ED25519]: ["ed25519"],
  [KeyType.ECDSA_P256]: ["ecdsa"],
  [KeyType.ECDSA_P384]: ["ecdsa"],
  [KeyType.RSA]: ["rsa-pss", "rsa-pkcs1"],
};

const DEFAULT_ALG: Record<number, number> = {
  [KeyType.ED25519]: SignAlg.ED25519,
  [KeyType.ECDSA_P256]: SignAlg.ECDSA_SHA256,
  [KeyType.ECDSA_P384]: SignAlg.ECDSA_SHA384,
  [KeyType.RSA]: SignAlg.RSA_PSS_SHA256,
};

export const SIGNING_KEY_TYPES = [
  KeyType.ED25519,
  KeyType.ECDSA_P256,
  KeyType.ECDSA_P384,
  KeyType.RSA,
] as const;

/** Checks the algorithm and flags fit the key type; returns the resolved spec. */
export function signSpec(
  keyType: number,
  alg: number,
  flags: number,
  dataLength: number,
): SignSpec & { alg: number } {
  const resolved = alg === SignAlg.DEFAULT ? DEFAULT_ALG[keyType]! : alg;
  const spec = SPECS[resolved];
  if (!spec || !SCHEME_OF_TYPE[keyType]?.includes(spec.scheme)) {
    throw new VhsmError(
      Status.UNSUPPORTED_MECHANISM,
      `signature algorithm ${alg} does not fit this key type`,
    );
  }
  if ((flags & ~(SignFlag.PREHASHED | SignFlag.RAW_ECDSA)) !== 0) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `unknown signature flags 0x${flags.toString(16)}`);
  }
  if (flags & SignFlag.RAW_ECDSA && spec.scheme !== "ecdsa") {
    throw new VhsmError(Status.BAD_ARGUMENTS, "raw r||s encoding applies to ECDSA only");
  }
  if (flags & SignFlag.PREHASHED) {
    if (spec.scheme === "ed25519") {
      throw new VhsmError(Status.UNSUPPORTED_MECHANISM, "Ed25519 (pure) signs whole messages, not digests");
    }
    if (dataLength !== spec.hashLength) {
      throw new VhsmError(
        Status.BAD_ARGUMENTS,
        `a ${spec.hash} digest is ${spec.hashLength} bytes, got ${dataLength}`,
      );
    }
  }
  return { ...spec, alg: resolved };
}

function ecdsaEncoding(flags: number): "der" | "ieee-p1363" {
  return flags & SignFlag.RAW_ECDSA ? "ieee-p1363" : "der";
}

export function signData(key: KeyObject, spec: SignSpec, flags: number, data: Uint8Array): Buffer {
  const prehashed = (flags & SignFlag.PREHASHED) !== 0;
  switch (spec.scheme) {
    case "ed25519":
      return sign(null, data, key);
    case "ecdsa":
      return prehashed
        ? ecdsaSignDigest(key, data, (flags & SignFlag.RAW_ECDSA) !== 0)
        : sign(spec.hash, data, { key, dsaEncoding: ecdsaEncoding(flags) });
    case "rsa-pss":
      return prehashed
        ? pssSignDigest(key, spec.hash!, data)
        : sign(spec.hash, data, {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          });
    case "rsa-pkcs1":
      return prehashed
        ? pkcs1SignDigest(key, spec.hash!, data)
        : sign(spec.hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
  }
}

const WORKER_HASH: Record<string, number> = { sha256: 1, sha384: 2, sha512: 3 };

/**
 * How a signing worker makes this signature ([scheme, hash index]), or null when only the main
 * thread can (over a precomputed digest, which goes through code the inline worker does not carry).
 */
export function workerScheme(spec: SignSpec, flags: number): [WorkerScheme, number] | null {
  if (flags & SignFlag.PREHASHED) return null;
  const hash = spec.hash ? WORKER_HASH[spec.hash]! : 0;
  switch (spec.scheme) {
    case "ed25519":
      return [WorkerScheme.ED25519, 0];
    case "ecdsa":
      return [flags & SignFlag.RAW_ECDSA ? WorkerScheme.ECDSA_RAW : WorkerScheme.ECDSA_DER, hash];
    case "rsa-pss":
      return [WorkerScheme.RSA_PSS, hash];
    case "rsa-pkcs1":
      return [WorkerScheme.RSA_PKCS1, hash];
  }
}

export function verifyData(
  key: KeyObject,
  spec: SignSpec,
  flags: number,
  data: Uint8Array,
  sig: Uint8Array,
): boolean {
  const prehashed = (flags & SignFlag.PREHASHED) !== 0;
  try {
    switch (spec.scheme) {
      case "ed25519":
        return verify(null, data, key, sig);
      case "ecdsa":
        return prehashed
          ? ecdsaVerifyDigest(key, data, sig, (flags & SignFlag.RAW_ECDSA) !== 0)
          : verify(spec.hash, data, { key, dsaEncoding: ecdsaEncoding(flags) }, sig);
      case "rsa-pss":
        return prehashed
          ? pssVerifyDigest(key, spec.hash!, data, sig)
          : verify(
              spec.hash,
              data,
              { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
              sig,
            );
      case "rsa-pkcs1":
        return prehashed
          ? pkcs1VerifyDigest(key, spec.hash!, data, sig)
          : verify(spec.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
    }
  } catch {
    // malformed signatures (bad DER, wrong length) are simply invalid
    return false;
  }
}

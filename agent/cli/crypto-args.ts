/**
 * Validators for the key and crypto options: key types, usages, durations, signature algorithms,
 * formats, versions. A bad value is a usage error (exit 2) found before anything is sent.
 */
import { VhsmError } from "../../protocol/status.ts";
import type { SignOptions } from "../src/client.ts";
import { keyFormat, keyType, type SignAlgorithm, signAlg, type UsageName, usageBits } from "../src/names.ts";
import { integerOption, type Parsed } from "./args.ts";
import { usageError } from "./errors.ts";

export const KEY_TYPES = "hmac|aes-256|ed25519|ecdsa-p256|ecdsa-p384|rsa-2048|rsa-3072|rsa-4096".split("|");
export const USAGES: UsageName[] = ["sign", "verify", "encrypt", "decrypt", "mac", "wrap", "unwrap"];
export const SIGN_ALGS = [
  "ed25519",
  "ecdsa-sha256",
  "ecdsa-sha384",
  "ecdsa-sha512",
  "rsa-pss-sha256",
  "rsa-pss-sha384",
  "rsa-pss-sha512",
  "rsa-pkcs1-sha256",
  "rsa-pkcs1-sha384",
  "rsa-pkcs1-sha512",
];

/** Runs one of the library's name lookups; its "unknown X; use ..." becomes a usage error. */
function checked<T>(lookup: () => T): T {
  try {
    return lookup();
  } catch (err) {
    if (err instanceof VhsmError) throw usageError(err.message);
    throw err;
  }
}

/** A key type name (`rsa` alone leaves the size to the default or to the imported key). */
export function keyTypeOption(value: string | undefined, fallback?: string): string {
  const name = value ?? fallback;
  if (name === undefined) throw usageError(`--type is required; use ${KEY_TYPES.join(", ")}`);
  checked(() => keyType(name));
  return name.toLowerCase();
}

/** `--usage sign,verify`: a comma-separated, non-empty list of usage names. */
export function usageOption(value: string | undefined): UsageName[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(",")
    .map((u) => u.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw usageError(`--usage needs one or more of ${USAGES.join(", ")}`);
  checked(() => usageBits(names));
  return names as UsageName[];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** 0xffffffff on the wire means "leave the period as it is"; the appliance caps periods at ten years. */
const MAX_PERIOD = 0xfffffffe;

/** `90s`, `15m`, `12h`, `30d` (a bare number is seconds) → seconds; `never` → 0 when allowed. */
export function durationOption(value: string, what: string, allowNever: boolean): number {
  if (allowNever && value.toLowerCase() === "never") return 0;
  const m = /^(\d+)([smhd]?)$/i.exec(value.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[(m[2] || "s").toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_PERIOD) {
    throw usageError(
      `${what} must be a duration such as 90s, 15m, 12h or 30d${allowNever ? ", or never" : ""}; got ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}

/** Seconds as the largest unit that divides them exactly: 2592000 → 30d, 90 → 90s; 0 → never. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "never";
  for (const unit of ["d", "h", "m"]) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** A key format from `allowed`. */
export function formatOption<F extends string>(value: string, allowed: readonly F[]): F {
  const name = value.toLowerCase() as F;
  if (!allowed.includes(name)) throw usageError(`unknown format ${value}; use ${allowed.join(", ")}`);
  checked(() => keyFormat(name));
  return name;
}

/** A key version (1 or more); undefined means the newest. */
export function versionOption(value: string | undefined, what = "--version"): number | undefined {
  return value === undefined ? undefined : integerOption(value, what, 1, 0xffffffff);
}

/** --alg, --prehashed and --raw-ecdsa for sign and verify. */
export function signOptions(values: Parsed["values"]): SignOptions {
  const alg = values.alg?.toLowerCase();
  if (alg !== undefined) checked(() => signAlg(alg));
  return {
    alg: alg as SignAlgorithm | undefined,
    prehashed: values.prehashed,
    rawEcdsa: values["raw-ecdsa"],
  };
}

/** The key id option every crypto command needs. */
export function requiredOption(value: string | undefined, option: string, command: string): string {
  if (value === undefined || value === "") throw usageError(`\`vhsm ${command}\` needs ${option}`);
  return value;
}

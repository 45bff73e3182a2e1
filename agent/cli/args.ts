/** The option table, argv parsing (node:util parseArgs) and validators for option values. */
import { parseArgs } from "node:util";
import { HASH_LENGTH, hashAlgFromName } from "../../protocol/messages.ts";
import type { HashAlgorithm } from "../src/names.ts";
import { usageError } from "./errors.ts";

const OPTIONS = {
  socket: { type: "string" },
  user: { type: "string" },
  "pin-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  "new-pin-file": { type: "string" },
  type: { type: "string" },
  bits: { type: "string" },
  id: { type: "string" },
  in: { type: "string" },
  out: { type: "string" },
  key: { type: "string" },
  alg: { type: "string" },
  verify: { type: "string" },
  usage: { type: "string" },
  exportable: { type: "boolean" },
  "rotate-every": { type: "string" },
  format: { type: "string" },
  version: { type: "string" },
  "min-version": { type: "string" },
  "lock-non-exportable": { type: "boolean" },
  prehashed: { type: "boolean" },
  "raw-ecdsa": { type: "boolean" },
  sig: { type: "string" },
  "sig-hex": { type: "string" },
  aad: { type: "string" },
  "wrapping-key": { type: "string" },
} as const;

export type OptionName = keyof typeof OPTIONS;
export const GLOBAL_OPTIONS: OptionName[] = ["socket", "user", "pin-file", "json", "help"];

export interface Parsed {
  values: { [K in OptionName]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };
  positionals: string[];
}

/** Options that would put a secret in `ps` output and shell history: refused with a specific message. */
const SECRET_OPTIONS = /^--?(pin|new-pin|old-pin|password|secret)(=|$)/;

/** True when `--json` appears before any `--`; used to format errors that happen while parsing. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

export function parse(argv: string[]): Parsed {
  for (const arg of argv) {
    if (arg === "--") break;
    const m = SECRET_OPTIONS.exec(arg);
    if (m) {
      throw usageError(
        `--${m[1]} is not accepted: a PIN or secret on the command line shows up in ps and shell history`,
        "give the PIN in VHSM_PIN, in a file named by --pin-file or VHSM_PIN_FILE, or at the prompt",
      );
    }
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    return { values: values as Parsed["values"], positionals };
  } catch (err) {
    // node's messages run to several lines ("... is ambiguous.\nDid you forget ..."): the rest is the hint
    const [message, ...rest] = (err as Error).message
      .replace(/\. To specify a positional.*$/s, "")
      .split("\n");
    throw rest.length > 0 ? usageError(message!, rest.join(" ")) : usageError(message!);
  }
}

export function rejectOptions(parsed: Parsed, allowed: OptionName[], command: string): void {
  for (const name of Object.keys(parsed.values) as OptionName[]) {
    if (!GLOBAL_OPTIONS.includes(name) && !allowed.includes(name)) {
      throw usageError(
        `--${name} does not apply to \`vhsm ${command}\``,
        `run \`vhsm help\` for its options`,
      );
    }
  }
}

export const HASHES: HashAlgorithm[] = ["sha1", "sha256", "sha384", "sha512"];

export function hashOption(value: string | undefined, command: string): HashAlgorithm {
  if (value === undefined) throw usageError(`\`vhsm ${command}\` needs --alg (${HASHES.join(", ")})`);
  const alg = value.toLowerCase().replace("-", "") as HashAlgorithm;
  if (!HASHES.includes(alg)) throw usageError(`unknown algorithm ${value}; use ${HASHES.join(", ")}`);
  return alg;
}

/** The length in bytes of a digest or MAC made with `alg`. */
export function hashLength(alg: HashAlgorithm): number {
  return HASH_LENGTH[hashAlgFromName(alg)!]!;
}

export function integerOption(value: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`${what} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return n;
}

export function hexOption(value: string, what: string): Buffer {
  const clean = value.replace(/^0x/i, "");
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(clean)) {
    throw usageError(`${what} must be hex digits (an even number of them); got ${JSON.stringify(value)}`);
  }
  return Buffer.from(clean, "hex");
}

export function exactArgs(args: string[], names: string[], command: string): void {
  if (args.length < names.length) {
    throw usageError(`\`vhsm ${command}\` needs ${names.slice(args.length).join(" ")}`);
  }
  if (args.length > names.length) {
    throw usageError(`unexpected argument ${JSON.stringify(args[names.length])} for \`vhsm ${command}\``);
  }
}

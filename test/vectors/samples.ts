/**
 * Deterministic sample field values for the hex vectors. Known field names get realistic values (so
 * the HMAC vector's key, data and mac agree with RFC 4231 case 1); any other field gets a value by
 * type whose bytes are all distinct, so byte-order mistakes show up in a diff.
 */
import { createHash } from "node:crypto";
import { DEFAULT_MAX_BODY } from "../../protocol/frame.ts";
import {
  type FieldType,
  HashAlg,
  KeyType,
  PROTOCOL_VERSION,
  type Schema,
  Usage,
} from "../../protocol/messages.ts";

const ascii = (s: string) => new Uint8Array(Buffer.from(s, "ascii"));
const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

const BY_NAME: Record<string, unknown> = {
  // HELLO: the client name carries a non-ASCII character: its str length counts UTF-8 bytes
  minVersion: PROTOCOL_VERSION,
  maxVersion: PROTOCOL_VERSION,
  version: PROTOCOL_VERSION,
  client: "vhsm-agent ✓",
  server: "vhsm-appliance/0.1.0",
  container: "web",
  maxFrame: DEFAULT_MAX_BODY,
  user: "alice",
  pin: ascii("1234-pin"),
  oldPin: ascii("1234-pin"),
  newPin: ascii("5678-pin"),
  id: "key-1",
  keyId: "key-1",
  type: KeyType.HMAC,
  bits: 160,
  secret: hex("0b".repeat(20)),
  after: "",
  limit: 100,
  ids: ["key-1", "key-2", "ключ-3"],
  more: 0,
  count: 3,
  usage: Usage.MAC | Usage.SIGN | Usage.VERIFY,
  created: 1735689600000,
  lastUsed: 1735693200123,
  useCount: 42,
  alg: HashAlg.SHA256,
  data: ascii("Hi There"),
  digest: new Uint8Array(createHash("sha256").update("Hi There").digest()),
  mac: hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
  valid: 1,
  ctx: 7,
  length: 16,
  bytes: hex("000102030405060708090a0b0c0d0e0f"),
  message: "no key key-1",
};

const BY_TYPE: Record<FieldType, unknown> = {
  u8: 0xa1,
  u16: 0xa1b2,
  u32: 0xa1b2c3d4,
  u64: 0x0012345678abcdef, // below 2^53: the largest a u64 field may carry
  bytes: hex("a1b2c3d4e5"),
  str: "sample",
  strs: ["first", "second"],
};

function copy(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return [...value];
  return value;
}

/** Sample values for every field of a schema, in wire order. */
export function sampleFields(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(schema)) {
    const byName = BY_NAME[name];
    // a name shared with a different type elsewhere (a future `length: u16`) falls back to the type
    out[name] = copy(byName !== undefined && sameType(byName, type) ? byName : BY_TYPE[type]);
  }
  return out;
}

function sameType(value: unknown, type: FieldType): boolean {
  switch (type) {
    case "bytes":
      return value instanceof Uint8Array;
    case "str":
      return typeof value === "string";
    case "strs":
      return Array.isArray(value);
    case "u8":
      return typeof value === "number" && value <= 0xff;
    case "u16":
      return typeof value === "number" && value <= 0xffff;
    case "u32":
      return typeof value === "number" && value <= 0xffffffff;
    case "u64":
      return typeof value === "number";
  }
}

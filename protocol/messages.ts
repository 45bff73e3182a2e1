/**
 * The one table of operations: opcode, name, and the typed fields of request and response bodies,
 * in wire order. `docs/protocol.md` describes the same table; `test/vectors/` holds hex examples.
 */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "bytes" | "str" | "strs";
export type Schema = Readonly<Record<string, FieldType>>;

type FieldValue<T extends FieldType> = T extends "bytes"
  ? Uint8Array
  : T extends "str"
    ? string
    : T extends "strs"
      ? string[]
      : number;

export type Fields<S extends Schema> = { -readonly [K in keyof S]: FieldValue<S[K]> };

export interface MessageSpec {
  readonly opcode: number;
  readonly request: Schema;
  readonly response: Schema;
}

const none = {} as const;

export const MESSAGES = {
  // Session
  HELLO: {
    opcode: 0x0001,
    request: { minVersion: "u8", maxVersion: "u8", client: "str" },
    response: { version: "u8", server: "str", container: "str", maxFrame: "u32" },
  },
  LOGIN: { opcode: 0x0002, request: { user: "str", pin: "bytes" }, response: none },
  LOGOUT: { opcode: 0x0003, request: none, response: none },
  PIN_CHANGE: { opcode: 0x0004, request: { oldPin: "bytes", newPin: "bytes" }, response: none },
  PING: { opcode: 0x0005, request: none, response: none },

  // Key management
  KEY_GENERATE: {
    opcode: 0x0010,
    request: { id: "str", type: "u8", bits: "u16" },
    response: { id: "str" },
  },
  KEY_IMPORT: {
    opcode: 0x0011,
    request: { id: "str", type: "u8", secret: "bytes" },
    response: { id: "str" },
  },
  KEY_DELETE: { opcode: 0x0012, request: { id: "str" }, response: none },
  KEY_LIST: {
    opcode: 0x0013,
    request: { after: "str", limit: "u32" },
    response: { ids: "strs", more: "u8" },
  },
  KEY_COUNT: { opcode: 0x0014, request: none, response: { count: "u32" } },
  KEY_INFO: {
    opcode: 0x0015,
    request: { id: "str" },
    response: {
      id: "str",
      type: "u8",
      bits: "u16",
      version: "u32",
      usage: "u32",
      created: "u64",
      lastUsed: "u64",
      useCount: "u64",
    },
  },

  // Digests
  DIGEST: { opcode: 0x0020, request: { alg: "u8", data: "bytes" }, response: { digest: "bytes" } },
  DIGEST_INIT: { opcode: 0x0021, request: { alg: "u8" }, response: { ctx: "u32" } },
  DIGEST_UPDATE: { opcode: 0x0022, request: { ctx: "u32", data: "bytes" }, response: none },
  DIGEST_FINAL: { opcode: 0x0023, request: { ctx: "u32" }, response: { digest: "bytes" } },

  // HMAC
  HMAC: {
    opcode: 0x0030,
    request: { keyId: "str", alg: "u8", data: "bytes" },
    response: { mac: "bytes" },
  },
  HMAC_INIT: { opcode: 0x0031, request: { keyId: "str", alg: "u8" }, response: { ctx: "u32" } },
  HMAC_UPDATE: { opcode: 0x0032, request: { ctx: "u32", data: "bytes" }, response: none },
  HMAC_FINAL: { opcode: 0x0033, request: { ctx: "u32" }, response: { mac: "bytes" } },
  HMAC_VERIFY: {
    opcode: 0x0034,
    request: { keyId: "str", alg: "u8", data: "bytes", mac: "bytes" },
    response: { valid: "u8" },
  },

  // Randomness
  RANDOM: { opcode: 0x0040, request: { length: "u32" }, response: { bytes: "bytes" } },
} as const satisfies Record<string, MessageSpec>;

export type MessageName = keyof typeof MESSAGES;
export type Request<N extends MessageName> = Fields<(typeof MESSAGES)[N]["request"]>;
export type Response<N extends MessageName> = Fields<(typeof MESSAGES)[N]["response"]>;

/** Error responses (status != OK) carry one field: a human-readable message. */
export const ERROR_BODY = { message: "str" } as const satisfies Schema;

const BY_OPCODE = new Map<number, MessageName>(
  (Object.keys(MESSAGES) as MessageName[]).map((name) => [MESSAGES[name].opcode, name]),
);

export function messageName(opcode: number): MessageName | undefined {
  return BY_OPCODE.get(opcode);
}

/** Digest / HMAC hash algorithms on the wire. */
export const HashAlg = { SHA1: 1, SHA256: 2, SHA384: 3, SHA512: 4 } as const;
export type HashAlgName = keyof typeof HashAlg;
export const HASH_NODE_NAME: Record<number, string> = { 1: "sha1", 2: "sha256", 3: "sha384", 4: "sha512" };
export const HASH_LENGTH: Record<number, number> = { 1: 20, 2: 32, 3: 48, 4: 64 };

export function hashAlgFromName(name: string): number | undefined {
  const upper = name.toUpperCase().replace("-", "");
  return (HashAlg as Record<string, number>)[upper];
}

/** Key types on the wire. */
export const KeyType = { HMAC: 1 } as const;
export const KEY_TYPE_NAME: Record<number, string> = { 1: "hmac" };

/** Usage bits of a key's policy. */
export const Usage = {
  SIGN: 1 << 0,
  VERIFY: 1 << 1,
  ENCRYPT: 1 << 2,
  DECRYPT: 1 << 3,
  MAC: 1 << 4,
  WRAP: 1 << 5,
  UNWRAP: 1 << 6,
  EXPORTABLE: 1 << 7,
  DIGEST: 1 << 8,
} as const;

export const PROTOCOL_VERSION = 1;

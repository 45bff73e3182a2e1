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
    request: { id: "str", type: "u8", bits: "u16", usage: "u32", flags: "u32", rotateEvery: "u32" },
    response: { id: "str" },
  },
  KEY_IMPORT: {
    opcode: 0x0011,
    request: { id: "str", type: "u8", format: "u8", secret: "bytes", usage: "u32", flags: "u32" },
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
      flags: "u32",
      minVersion: "u32",
      rotateEvery: "u32",
      rotated: "u64",
    },
  },
  KEY_PUBLIC: {
    opcode: 0x0016,
    request: { id: "str", version: "u32", format: "u8" },
    response: { data: "bytes", version: "u32" },
  },
  KEY_ROTATE: { opcode: 0x0017, request: { id: "str" }, response: { version: "u32" } },
  KEY_UPDATE: {
    opcode: 0x0018,
    request: { id: "str", usage: "u32", minVersion: "u32", rotateEvery: "u32", lockNonExportable: "u8" },
    response: none,
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

  // Signatures
  SIGN: {
    opcode: 0x0050,
    request: { keyId: "str", alg: "u8", flags: "u8", data: "bytes" },
    response: { signature: "bytes", version: "u32" },
  },
  VERIFY: {
    opcode: 0x0051,
    request: { keyId: "str", version: "u32", alg: "u8", flags: "u8", data: "bytes", signature: "bytes" },
    response: { valid: "u8" },
  },

  // Encryption
  ENCRYPT: {
    opcode: 0x0060,
    request: { keyId: "str", alg: "u8", aad: "bytes", plaintext: "bytes" },
    response: { ciphertext: "bytes", version: "u32" },
  },
  DECRYPT: {
    opcode: 0x0061,
    request: { keyId: "str", alg: "u8", aad: "bytes", ciphertext: "bytes" },
    response: { plaintext: "bytes", version: "u32" },
  },

  // Key wrapping
  WRAP: {
    opcode: 0x0070,
    request: { keyId: "str", wrappingKeyId: "str", alg: "u8" },
    response: { wrapped: "bytes", type: "u8", bits: "u16" },
  },
  UNWRAP: {
    opcode: 0x0071,
    request: {
      wrappingKeyId: "str",
      alg: "u8",
      wrapped: "bytes",
      id: "str",
      type: "u8",
      usage: "u32",
      flags: "u32",
    },
    response: { id: "str" },
  },
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

/** Key types on the wire. RSA keys carry their modulus size in `bits`. */
export const KeyType = {
  HMAC: 1,
  AES256: 2,
  ED25519: 3,
  ECDSA_P256: 4,
  ECDSA_P384: 5,
  RSA: 6,
} as const;
export const KEY_TYPE_NAME: Record<number, string> = {
  1: "hmac",
  2: "aes-256",
  3: "ed25519",
  4: "ecdsa-p256",
  5: "ecdsa-p384",
  6: "rsa",
};

/** Usage bits of a key's policy, enforced by the appliance. */
export const Usage = {
  SIGN: 1 << 0,
  VERIFY: 1 << 1,
  ENCRYPT: 1 << 2,
  DECRYPT: 1 << 3,
  MAC: 1 << 4,
  WRAP: 1 << 5,
  UNWRAP: 1 << 6,
} as const;

/** Key flags. EXPORTABLE can only be set at creation; once cleared it never comes back. */
export const KeyFlag = { EXPORTABLE: 1 << 0 } as const;

/** Import formats. */
export const KeyFormat = { RAW: 1, PEM: 2, DER: 3, JWK: 4 } as const;

/** Signature algorithms; 0 means the key type's default. */
export const SignAlg = {
  DEFAULT: 0,
  ED25519: 1,
  ECDSA_SHA256: 2,
  ECDSA_SHA384: 3,
  ECDSA_SHA512: 4,
  RSA_PSS_SHA256: 5,
  RSA_PSS_SHA384: 6,
  RSA_PSS_SHA512: 7,
  RSA_PKCS1_SHA256: 8,
  RSA_PKCS1_SHA384: 9,
  RSA_PKCS1_SHA512: 10,
} as const;

/** SIGN/VERIFY flags: the data is already a digest; ECDSA signatures as raw r||s instead of DER. */
export const SignFlag = { PREHASHED: 1 << 0, RAW_ECDSA: 1 << 1 } as const;

/** Encryption algorithms; 0 means the key type's default (AES-GCM for AES keys, OAEP-SHA256 for RSA). */
export const CryptAlg = { DEFAULT: 0, AES_256_GCM: 1, RSA_OAEP_SHA256: 2 } as const;

/** Wrapping algorithms. */
export const WrapAlg = { DEFAULT: 0, AES_KWP: 1 } as const;

export const PROTOCOL_VERSION = 1;

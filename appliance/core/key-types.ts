/**
 * What each key type accepts: sizes, how material is generated and imported, which usages it may
 * have, and how stored material becomes a KeyObject. Symmetric material is stored raw; private
 * keys as PKCS#8 DER.
 */
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { promisify } from "node:util";
import { KeyFormat, KeyType, Usage } from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

export interface KeyMaterial {
  material: Buffer;
  bits: number;
}

export interface KeyTypeSpec {
  name: string;
  asymmetric: boolean;
  defaultBits: number;
  defaultUsage: number;
  allowedUsage: number;
  generate(bits: number): KeyMaterial;
  /**
   * Generation off the main thread, for types slow enough to stall every other container (RSA:
   * ~0.1-2 s per key). Absent: generate() is quick enough to run inline.
   */
  generateAsync?(bits: number): Promise<KeyMaterial>;
  /** Parses imported material in the given format; refuses anything that is not this type. */
  import(format: number, data: Uint8Array): KeyMaterial;
  /** The size of stored material, read from the material itself (not from the row, which is not sealed). */
  bitsOf(material: Uint8Array): number;
}

const bad = (message: string) => new VhsmError(Status.BAD_ARGUMENTS, message);

function secretType(
  name: string,
  usage: number,
  sizes: (bits: number) => boolean,
  sizeText: string,
): KeyTypeSpec {
  return {
    name,
    asymmetric: false,
    defaultBits: 256,
    defaultUsage: usage,
    allowedUsage: usage,
    generate(bits) {
      if (!sizes(bits)) throw bad(`a ${name} key must be ${sizeText}`);
      return { material: randomBytes(bits / 8), bits };
    },
    import(format, data) {
      if (format !== KeyFormat.RAW) throw bad(`${name} keys are imported as raw bytes`);
      if (!sizes(data.length * 8)) throw bad(`an imported ${name} key must be ${sizeText}`);
      return { material: Buffer.from(data), bits: data.length * 8 };
    },
    bitsOf: (material) => material.length * 8,
  };
}

const HMAC = secretType(
  "hmac",
  Usage.MAC,
  // generated keys are 128..4096 bits; imported secrets may be as short as the RFC vectors' "Jefe"
  (bits) => bits >= 8 && bits <= 8192 && bits % 8 === 0,
  "1 to 1024 bytes",
);
const hmacGenerate = HMAC.generate;
HMAC.generate = (bits) => {
  if (bits < 128 || bits > 4096 || bits % 8 !== 0)
    throw bad("a generated HMAC key must be 128 to 4096 bits, in whole bytes");
  return hmacGenerate(bits);
};

const AES256 = secretType(
  "aes-256",
  Usage.ENCRYPT | Usage.DECRYPT | Usage.WRAP | Usage.UNWRAP,
  (bits) => bits === 256,
  "256 bits",
);

const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function parsePrivate(format: number, data: Uint8Array): KeyObject {
  try {
    switch (format) {
      case KeyFormat.PEM:
        return createPrivateKey({ key: Buffer.from(data).toString("utf8"), format: "pem" });
      case KeyFormat.DER:
        for (const type of ["pkcs8", "sec1", "pkcs1"] as const) {
          try {
            return createPrivateKey({ key: Buffer.from(data), format: "der", type });
          } catch {}
        }
        throw new Error("not a PKCS#8, SEC1 or PKCS#1 private key");
      case KeyFormat.JWK:
        return createPrivateKey({ key: JSON.parse(Buffer.from(data).toString("utf8")), format: "jwk" });
      default:
        throw new Error("private keys are imported as PEM, DER or JWK");
    }
  } catch (err) {
    throw bad(`cannot parse the private key: ${(err as Error).message}`);
  }
}

function pkcs8(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "pkcs8" }) as Buffer;
}

function asymmetricType(
  name: string,
  usage: number,
  bitsOk: (bits: number) => boolean,
  sizeText: string,
  defaultBits: number,
  keygen: (bits: number) => KeyObject,
  check: (key: KeyObject) => number | null,
  keygenAsync?: (bits: number) => Promise<KeyObject>,
): KeyTypeSpec {
  const checkBits = (bits: number) => {
    if (!bitsOk(bits)) throw bad(`a ${name} key must be ${sizeText}`);
  };
  return {
    name,
    asymmetric: true,
    defaultBits,
    defaultUsage: usage,
    allowedUsage: usage,
    generate(bits) {
      checkBits(bits);
      return { material: pkcs8(keygen(bits)), bits };
    },
    generateAsync: keygenAsync
      ? async (bits) => {
          checkBits(bits);
          return { material: pkcs8(await keygenAsync(bits)), bits };
        }
      : undefined,
    import(format, data) {
      let key: KeyObject;
      if (format === KeyFormat.RAW && name === "ed25519") {
        if (data.length !== 32) throw bad("a raw Ed25519 private key is its 32-byte seed");
        key = createPrivateKey({
          key: Buffer.concat([ED25519_PKCS8_PREFIX, data]),
          format: "der",
          type: "pkcs8",
        });
      } else {
        key = parsePrivate(format, data);
      }
      const bits = check(key);
      if (bits === null || !bitsOk(bits)) throw bad(`the imported key is not a ${name} key of ${sizeText}`);
      return { material: pkcs8(key), bits };
    },
    bitsOf(material) {
      return check(createPrivateKey({ key: Buffer.from(material), format: "der", type: "pkcs8" })) ?? 0;
    },
  };
}

const SIGNING = Usage.SIGN | Usage.VERIFY;

const ED25519 = asymmetricType(
  "ed25519",
  SIGNING,
  (b) => b === 256,
  "256 bits",
  256,
  () => generateKeyPairSync("ed25519").privateKey,
  (k) => (k.asymmetricKeyType === "ed25519" ? 256 : null),
);

function ecType(name: string, curve: string, alias: string, bits: number): KeyTypeSpec {
  return asymmetricType(
    name,
    SIGNING,
    (b) => b === bits,
    `${bits} bits`,
    bits,
    () => generateKeyPairSync("ec", { namedCurve: curve }).privateKey,
    (k) => {
      const c = k.asymmetricKeyDetails?.namedCurve;
      return k.asymmetricKeyType === "ec" && (c === curve || c === alias) ? bits : null;
    },
  );
}

const generateRsa = promisify(generateKeyPair);
const RSA = asymmetricType(
  "rsa",
  SIGNING | Usage.ENCRYPT | Usage.DECRYPT,
  (b) => b === 2048 || b === 3072 || b === 4096,
  "2048, 3072 or 4096 bits",
  2048,
  (bits) => generateKeyPairSync("rsa", { modulusLength: bits }).privateKey,
  (k) => (k.asymmetricKeyType === "rsa" ? (k.asymmetricKeyDetails?.modulusLength ?? null) : null),
  // ~0.1-2 s a key: made on the runtime's thread pool (generateAsync) rather than stall the main thread
  async (bits) => (await generateRsa("rsa", { modulusLength: bits })).privateKey,
);
RSA.defaultUsage = SIGNING;

const SPECS: Record<number, KeyTypeSpec> = {
  [KeyType.HMAC]: HMAC,
  [KeyType.AES256]: AES256,
  [KeyType.ED25519]: ED25519,
  [KeyType.ECDSA_P256]: ecType("ecdsa-p256", "P-256", "prime256v1", 256),
  [KeyType.ECDSA_P384]: ecType("ecdsa-p384", "P-384", "secp384r1", 384),
  [KeyType.RSA]: RSA,
};

export function keyTypeSpec(type: number): KeyTypeSpec {
  const spec = SPECS[type];
  if (!spec) throw new VhsmError(Status.UNSUPPORTED_MECHANISM, `unsupported key type ${type}`);
  return spec;
}

/** Usage for a new key: the type's default when 0, else the request, which must fit the type. */
export function resolveUsage(spec: KeyTypeSpec, requested: number): number {
  if (requested === 0) return spec.defaultUsage;
  if ((requested & ~spec.allowedUsage) !== 0) {
    throw bad(`usage not allowed for ${spec.name} keys`);
  }
  return requested;
}

export interface KeyObjects {
  secret: KeyObject | null;
  privateKey: KeyObject | null;
  publicKey: KeyObject | null;
}

export function keyObjects(spec: KeyTypeSpec, material: Uint8Array): KeyObjects {
  if (!spec.asymmetric)
    return { secret: createSecretKey(Buffer.from(material)), privateKey: null, publicKey: null };
  const privateKey = createPrivateKey({ key: Buffer.from(material), format: "der", type: "pkcs8" });
  return { secret: null, privateKey, publicKey: createPublicKey(privateKey) };
}

/** What each key type accepts: sizes, how material is generated and imported, the default usage. */
import { randomBytes } from "node:crypto";
import { KeyType, Usage } from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

export interface KeyTypeSpec {
  name: string;
  defaultBits: number;
  defaultUsage: number;
  generate(bits: number): Buffer;
  /** Validates imported material; returns its size in bits. */
  importBits(material: Uint8Array): number;
}

const HMAC: KeyTypeSpec = {
  name: "hmac",
  defaultBits: 256,
  defaultUsage: Usage.MAC,
  generate(bits) {
    if (bits < 128 || bits > 4096 || bits % 8 !== 0) {
      throw new VhsmError(Status.BAD_ARGUMENTS, "an HMAC key must be 128 to 4096 bits, in whole bytes");
    }
    return randomBytes(bits / 8);
  },
  importBits(material) {
    if (material.length < 1 || material.length > 1024) {
      throw new VhsmError(Status.BAD_ARGUMENTS, "an imported HMAC secret must be 1 to 1024 bytes");
    }
    return material.length * 8;
  },
};

const SPECS: Record<number, KeyTypeSpec> = { [KeyType.HMAC]: HMAC };

export function keyTypeSpec(type: number): KeyTypeSpec {
  const spec = SPECS[type];
  if (!spec) throw new VhsmError(Status.UNSUPPORTED_MECHANISM, `unsupported key type ${type}`);
  return spec;
}

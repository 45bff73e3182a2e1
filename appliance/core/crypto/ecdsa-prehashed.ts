/**
 * ECDSA over a digest the caller computed. The runtime's sign() always hashes its input, so the
 * digest path uses @noble/curves (audited, constant-time scalar multiplication, hedged RFC 6979
 * nonces). Messages keep going through the runtime, which is much faster.
 */
import type { KeyObject } from "node:crypto";
import { p256, p384 } from "@noble/curves/nist.js";

function curveOf(key: KeyObject) {
  const name = key.asymmetricKeyDetails?.namedCurve;
  if (name === "prime256v1" || name === "P-256") return p256;
  if (name === "secp384r1" || name === "P-384") return p384;
  throw new Error(`unsupported curve ${name}`);
}

const format = (raw: boolean) => (raw ? "compact" : "der");

export function ecdsaSignDigest(key: KeyObject, digest: Uint8Array, raw: boolean): Buffer {
  const d = Buffer.from(key.export({ format: "jwk" }).d!, "base64url");
  try {
    return Buffer.from(
      curveOf(key).sign(digest, d, { prehash: false, format: format(raw), extraEntropy: true }),
    );
  } finally {
    d.fill(0);
  }
}

export function ecdsaVerifyDigest(
  key: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array,
  raw: boolean,
): boolean {
  const curve = curveOf(key);
  const point = key.export({ format: "der", type: "spki" });
  const publicKey = curve.Point.fromBytes(
    new Uint8Array(point.subarray(point.length - (curve === p256 ? 65 : 97))),
  );
  try {
    return curve.verify(signature, digest, publicKey.toBytes(), {
      prehash: false,
      lowS: false,
      format: format(raw),
    });
  } catch {
    return false;
  }
}

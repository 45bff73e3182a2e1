/** The `openssl` CLI as an independent reference for digests and HMACs. */
import { spawnSync } from "bun";

const OPENSSL_DIGEST: Record<string, string> = {
  sha1: "sha1",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
};

export function opensslDigest(alg: string, data: Uint8Array): string {
  const r = spawnSync(["openssl", "dgst", `-${OPENSSL_DIGEST[alg]}`, "-binary"], { stdin: data });
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return Buffer.from(r.stdout).toString("hex");
}

export function opensslHmac(alg: string, key: Uint8Array, data: Uint8Array): string {
  const r = spawnSync(
    [
      "openssl",
      "mac",
      "-digest",
      OPENSSL_DIGEST[alg]!,
      "-macopt",
      `hexkey:${Buffer.from(key).toString("hex")}`,
      "-binary",
      "HMAC",
    ],
    { stdin: data },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return Buffer.from(r.stdout).toString("hex");
}

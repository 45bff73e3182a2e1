/** The `openssl` CLI as the independent reference for signatures and RSA-OAEP. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "bun";

function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "vhsm-openssl-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[]): { ok: boolean; out: Buffer; err: string } {
  const r = spawnSync(["openssl", ...args]);
  return { ok: r.exitCode === 0, out: Buffer.from(r.stdout), err: r.stderr.toString() };
}

export interface PkeyOptions {
  /** Hash for `-digest` (message signing); omit for Ed25519 or for prehashed input. */
  digest?: string;
  /** Extra `-pkeyopt` values, e.g. rsa_padding_mode:pss. */
  pkeyopts?: string[];
  /** The input is a message (`-rawin`) rather than a digest. */
  rawin?: boolean;
}

function pkeyArgs(o: PkeyOptions): string[] {
  return [
    ...(o.rawin ? ["-rawin"] : []),
    ...(o.digest ? ["-digest", o.digest] : []),
    ...(o.pkeyopts ?? []).flatMap((p) => ["-pkeyopt", p]),
  ];
}

/** `openssl pkeyutl -verify` with a PEM public key; true when OpenSSL accepts the signature. */
export function opensslVerify(
  publicPem: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  o: PkeyOptions,
): boolean {
  return inTemp((dir) => {
    writeFileSync(join(dir, "pub.pem"), publicPem);
    writeFileSync(join(dir, "data"), data);
    writeFileSync(join(dir, "sig"), signature);
    const args = ["pkeyutl", "-verify", "-pubin", "-inkey", join(dir, "pub.pem"), "-in", join(dir, "data")];
    return run([...args, "-sigfile", join(dir, "sig"), ...pkeyArgs(o)]).ok;
  });
}

/** Generates a private key with `openssl genpkey`; returns PEM. */
export function opensslGenerate(algorithmArgs: string[]): Buffer {
  const r = run(["genpkey", ...algorithmArgs]);
  if (!r.ok) throw new Error(r.err);
  return r.out;
}

/** `openssl pkeyutl -sign` with a PEM private key. */
export function opensslSign(privatePem: Uint8Array, data: Uint8Array, o: PkeyOptions): Buffer {
  return inTemp((dir) => {
    writeFileSync(join(dir, "key.pem"), privatePem);
    writeFileSync(join(dir, "data"), data);
    const r = run([
      "pkeyutl",
      "-sign",
      "-inkey",
      join(dir, "key.pem"),
      "-in",
      join(dir, "data"),
      ...pkeyArgs(o),
    ]);
    if (!r.ok) throw new Error(r.err);
    return r.out;
  });
}

/** `openssl pkeyutl -encrypt` with RSA-OAEP-SHA256 and a PEM public key. */
export function opensslOaepEncrypt(publicPem: Uint8Array, plaintext: Uint8Array): Buffer {
  return inTemp((dir) => {
    writeFileSync(join(dir, "pub.pem"), publicPem);
    writeFileSync(join(dir, "pt"), plaintext);
    const r = run([
      "pkeyutl",
      "-encrypt",
      "-pubin",
      "-inkey",
      join(dir, "pub.pem"),
      "-in",
      join(dir, "pt"),
      "-pkeyopt",
      "rsa_padding_mode:oaep",
      "-pkeyopt",
      "rsa_oaep_md:sha256",
    ]);
    if (!r.ok) throw new Error(r.err);
    return r.out;
  });
}

export function readPem(path: string): Buffer {
  return readFileSync(path);
}

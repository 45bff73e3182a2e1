/**
 * The appliance master key, used only to wrap the data keys of service users (users who log in
 * through their container's socket without a PIN). Created on first need as a 0600 file; keep it
 * off the data dir (`--master-key-file`) so that a stolen data dir alone opens nothing.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { Status, VhsmError } from "../../protocol/status.ts";

export class MasterKey {
  private key: Buffer | null = null;

  constructor(readonly path: string) {}

  /** The key, loading it (or creating it when `create`) on first use. */
  get(create: boolean): Buffer {
    if (this.key) return this.key;
    if (!existsSync(this.path)) {
      if (!create) {
        throw new VhsmError(
          Status.INTERNAL,
          `the master key file ${this.path} is missing: service users cannot log in`,
        );
      }
      writeFileSync(this.path, randomBytes(32), { mode: 0o600, flag: "wx" });
    }
    chmodSync(this.path, 0o600);
    const key = readFileSync(this.path);
    if (key.length !== 32)
      throw new VhsmError(Status.INTERNAL, `the master key file ${this.path} is not 32 bytes`);
    this.key = key;
    return key;
  }

  destroy(): void {
    this.key?.fill(0);
    this.key = null;
  }
}

export const SERVICE_KDF = JSON.stringify({ alg: "service" });

export function isServiceUser(kdf: string): boolean {
  return kdf === SERVICE_KDF;
}

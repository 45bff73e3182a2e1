/**
 * The peer users run today: SoftHSM2 through PKCS#11, in-process and behind `p11-kit server` on a Unix
 * socket, driven by bench/lib/pkcs11-sign.c (C_SignInit + C_Sign in a loop) in 1..N processes. A
 * private token directory and fresh PINs per run; the keys are generated inside the token and each
 * measured signature is checked with node:crypto against the public key read out of the token.
 */
import { createPublicKey, type KeyObject, randomBytes, verify } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import { compileC, pkgCflags } from "./cc.ts";
import { type FleetResult, runFleet } from "./fleet.ts";

export const SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so";
export const P11KIT_CLIENT_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so";
const DRIVER_SOURCE = join(import.meta.dir, "pkcs11-sign.c");

export type P11Key = "ed25519" | "p256" | "rsa2048";
/** PKCS#11 mechanism per key, as the driver names it; ECDSA signs the SHA-256 digest (see the driver). */
export const P11_MECHANISM: Record<P11Key, string> = {
  ed25519: "eddsa",
  p256: "ecdsa",
  rsa2048: "sha256-rsa",
};

const CKR: Record<string, string> = {
  "0x70": "CKR_MECHANISM_INVALID",
  "0x71": "CKR_MECHANISM_PARAM_INVALID",
  "0x54": "CKR_FUNCTION_NOT_SUPPORTED",
};

/** Why the SoftHSM part cannot run here, or null when it can. */
export function softhsmUnavailable(): string | null {
  const missing: string[] = [];
  if (!existsSync(SOFTHSM_MODULE)) missing.push("softhsm2");
  if (spawnSync(["which", "p11-kit"]).exitCode !== 0) missing.push("p11-kit");
  if (!existsSync(P11KIT_CLIENT_MODULE)) missing.push("p11-kit-modules");
  if (!pkgCflags("p11-kit-1")) missing.push("libp11-kit-dev");
  if (spawnSync(["which", "gcc"]).exitCode !== 0) missing.push("gcc");
  return missing.length
    ? `missing packages: ${missing.join(", ")} (apt-get install ${missing.join(" ")})`
    : null;
}

/** DER OCTET STRING (CKA_EC_POINT) → its contents. */
function octetString(der: Buffer): Buffer {
  if (der[0] !== 0x04) throw new Error("CKA_EC_POINT is not a DER OCTET STRING");
  return der[1]! < 0x80 ? der.subarray(2) : der.subarray(2 + (der[1]! & 0x7f));
}

function publicKeyOf(line: {
  key: P11Key;
  ecPoint?: string;
  modulus?: string;
  exponent?: string;
}): KeyObject {
  const b64 = (b: Buffer) => b.toString("base64url");
  if (line.key === "rsa2048") {
    const [n, e] = [Buffer.from(line.modulus!, "hex"), Buffer.from(line.exponent!, "hex")];
    return createPublicKey({ key: { kty: "RSA", n: b64(n), e: b64(e) }, format: "jwk" });
  }
  const point = octetString(Buffer.from(line.ecPoint!, "hex"));
  if (line.key === "ed25519")
    return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64(point) }, format: "jwk" });
  const [x, y] = [point.subarray(1, 33), point.subarray(33, 65)];
  return createPublicKey({ key: { kty: "EC", crv: "P-256", x: b64(x), y: b64(y) }, format: "jwk" });
}

export class SoftHsmPeer {
  private server: Subprocess | null = null;

  private constructor(
    private readonly dir: string,
    private readonly driver: string,
    private readonly env: Record<string, string>,
    private readonly publicKeys: Map<P11Key, KeyObject>,
  ) {}

  /** Compiles the driver, creates a token in `dir` with the three key pairs, starts `p11-kit server`. */
  static async create(dir: string): Promise<SoftHsmPeer> {
    const driver = compileC(DRIVER_SOURCE, join(dir, "pkcs11-sign"), [...pkgCflags("p11-kit-1")!, "-ldl"]);
    mkdirSync(join(dir, "tokens"));
    const conf = join(dir, "softhsm2.conf");
    writeFileSync(
      conf,
      `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    const env = {
      SOFTHSM2_CONF: conf,
      P11_PIN: randomBytes(8).toString("hex"),
      P11_SO_PIN: randomBytes(8).toString("hex"),
      P11_KIT_SERVER_ADDRESS: `unix:path=${join(dir, "p11-kit.sock")}`,
    };
    const setup = spawnSync([driver, SOFTHSM_MODULE, "setup", "bench"], { env: { ...process.env, ...env } });
    const lines = setup.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const failed = lines.find((l) => l.error);
    if (setup.exitCode !== 0 || failed) {
      throw new Error(
        `SoftHSM token set-up failed: ${failed ? `${failed.error} at ${failed.at}` : setup.stderr}`,
      );
    }
    const peer = new SoftHsmPeer(dir, driver, env, new Map(lines.map((l) => [l.key, publicKeyOf(l)])));
    await peer.startServer();
    return peer;
  }

  private async startServer(): Promise<void> {
    const socket = join(this.dir, "p11-kit.sock");
    // -f: stay in the foreground, so this process owns it and can end it; one child per connection
    this.server = spawn(
      ["p11-kit", "server", "-f", "-n", socket, "--provider", SOFTHSM_MODULE, "pkcs11:token=bench"],
      {
        env: { ...process.env, SOFTHSM2_CONF: this.env.SOFTHSM2_CONF },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    const deadline = Date.now() + 5000;
    while (!existsSync(socket)) {
      if (Date.now() > deadline || this.server.exitCode !== null) {
        throw new Error(
          `p11-kit server did not start: ${await new Response(this.server.stderr as ReadableStream).text()}`,
        );
      }
      await Bun.sleep(10);
    }
  }

  /**
   * Signatures/s of `processes` driver processes signing `message` (ECDSA: its SHA-256 digest) with
   * `key`, in-process (the driver loads SoftHSM) or remote (the driver loads p11-kit's client module).
   */
  async measure(
    key: P11Key,
    message: Buffer,
    digest: Buffer,
    processes: number,
    remote: boolean,
    seconds: number,
  ): Promise<FleetResult> {
    const signed = key === "p256" ? digest : message;
    const module = remote ? P11KIT_CLIENT_MODULE : SOFTHSM_MODULE;
    const r = await runFleet(
      processes,
      (_, startMs) => ({
        argv: [
          this.driver,
          module,
          "sign",
          key,
          P11_MECHANISM[key],
          signed.toString("hex"),
          String(startMs),
          String(seconds),
        ],
        env: this.env,
      }),
      seconds,
      150,
    );
    if (r.error) {
      const code = r.error.split(" ")[0]!;
      return { ...r, error: CKR[code] ? r.error.replace(code, CKR[code]) : r.error };
    }
    const options =
      key === "p256"
        ? { key: this.publicKeys.get(key)!, dsaEncoding: "ieee-p1363" as const }
        : this.publicKeys.get(key)!;
    if (!verify(key === "ed25519" ? null : "sha256", message, options, r.signature!)) {
      throw new Error(`SoftHSM ${key} signature does not verify with node:crypto`);
    }
    return r;
  }

  async dispose(): Promise<void> {
    this.server?.kill();
    await this.server?.exited;
    this.server = null;
  }
}

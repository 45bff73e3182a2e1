/**
 * Loads against the appliance from several client processes, to use the machine's second core on
 * the client side: TypeScript agent processes (bench/lib/sign-worker.ts) and C processes on libvhsm
 * (bench/lib/vhsm-sign.c and vhsm-hmac.c, compiled here from agent/c's sources so that they match them).
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SignAlgorithm } from "../../agent/index.ts";
import { compileC } from "./cc.ts";
import { type FleetResult, runFleet } from "./fleet.ts";
import type { SignJob } from "./sign-worker.ts";

const ROOT = join(import.meta.dir, "../..");
const WORKER = join(import.meta.dir, "sign-worker.ts");

/** Builds a C driver (`vhsm-sign` or `vhsm-hmac`) into `dir` (about a second); returns its path. */
export function buildCDriver(dir: string, name: "vhsm-sign" | "vhsm-hmac" = "vhsm-sign"): string {
  const lib = join(ROOT, "agent/c/lib");
  const sources = [...new Bun.Glob("*.c").scanSync(lib)].map((f) => join(lib, f));
  return compileC(join(import.meta.dir, `${name}.c`), join(dir, name), [
    ...sources,
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wno-unused-parameter",
    `-I${join(ROOT, "agent/c/include")}`,
    `-I${lib}`,
  ]);
}

export interface Login {
  socket: string;
  user: string;
  pin: string;
}

/** `processes` TS agent processes, each with `connections` × `inFlight` signatures outstanding. */
export function tsFleet(
  login: Login,
  shape: { processes: number; connections: number; inFlight: number },
  keyId: string,
  alg: SignAlgorithm,
  message: Buffer,
  seconds: number,
  appliancePid: number,
): Promise<FleetResult> {
  return runFleet(
    shape.processes,
    (_, startMs) => {
      const job: SignJob = {
        ...login,
        ...shape,
        keyId,
        alg,
        message: message.toString("hex"),
        startMs,
        seconds,
      };
      return { argv: [process.execPath, WORKER], stdin: JSON.stringify(job) };
    },
    seconds,
    700, // Bun start-up, module load, connect and log in
    appliancePid,
  );
}

/** What each C driver process does: `inFlight` operations per pipelined batch on one connection. */
export interface CJob {
  keyId: string;
  /** VHSM_SIGN_* for vhsm-sign, VHSM_SHA* for vhsm-hmac. */
  cAlg: number;
  inFlight: number;
  message: Buffer;
}

/** `processes` C processes running `driver` (bench/lib/vhsm-driver.h), one connection each. */
export function cFleet(
  driver: string,
  login: Login,
  processes: number,
  job: CJob,
  seconds: number,
  appliancePid: number,
): Promise<FleetResult> {
  const env = { VHSM_SOCKET: login.socket, VHSM_USER: login.user, VHSM_PIN: login.pin };
  const args = [job.keyId, String(job.cAlg), String(job.inFlight), messageArgument(driver, job.message)];
  return runFleet(
    processes,
    (_, startMs) => ({ argv: [driver, ...args, String(startMs), String(seconds)], env }),
    seconds,
    200,
    appliancePid,
  );
}

/** The drivers' MESSAGE argument: hex, or `@FILE` beside the driver for messages too large for argv. */
function messageArgument(driver: string, message: Buffer): string {
  if (message.length <= 16 * 1024) return message.toString("hex");
  const file = join(dirname(driver), `message-${message.length}.bin`);
  writeFileSync(file, message);
  return `@${file}`;
}

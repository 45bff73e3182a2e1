/**
 * Sign loads against the appliance from several client processes, to use the machine's second core
 * on the client side: TypeScript agent processes (bench/lib/sign-worker.ts) and C processes on
 * libvhsm (bench/lib/vhsm-sign.c, compiled here from agent/c's sources so that it matches them).
 */
import { join } from "node:path";
import type { SignAlgorithm } from "../../agent/index.ts";
import { compileC } from "./cc.ts";
import { type FleetResult, runFleet } from "./fleet.ts";
import type { SignJob } from "./sign-worker.ts";

const ROOT = join(import.meta.dir, "../..");
const WORKER = join(import.meta.dir, "sign-worker.ts");

/** Builds the C driver into `dir` (about a second); returns its path. */
export function buildCDriver(dir: string): string {
  const lib = join(ROOT, "agent/c/lib");
  const sources = [...new Bun.Glob("*.c").scanSync(lib)].map((f) => join(lib, f));
  return compileC(join(import.meta.dir, "vhsm-sign.c"), join(dir, "vhsm-sign"), [
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

/** `processes` C processes, one connection and one signature in flight each (vhsm_sign). */
export function cFleet(
  driver: string,
  login: Login,
  processes: number,
  keyId: string,
  cAlg: number,
  message: Buffer,
  seconds: number,
  appliancePid: number,
): Promise<FleetResult> {
  const env = { VHSM_SOCKET: login.socket, VHSM_USER: login.user, VHSM_PIN: login.pin };
  return runFleet(
    processes,
    (_, startMs) => ({
      argv: [driver, keyId, String(cAlg), message.toString("hex"), String(startMs), String(seconds)],
      env,
    }),
    seconds,
    200,
    appliancePid,
  );
}

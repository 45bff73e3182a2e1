/**
 * A quick A/B aid, not part of `npm run bench`: signatures from C libvhsm processes against a fresh
 * appliance, each round next to an in-process node:crypto baseline, with the appliance's CPU per
 * signature by thread.
 *   bun bench/quick-sign.ts [--alg ed25519|ecdsa-p256] [--c PROCESSES] [--in-flight N] [--seconds S]
 *                           [--rounds N] [--prof]
 * --prof prints the appliance main thread's top functions by self time. APP_ENV=K=V,K=V sets the
 * appliance's environment.
 */
import { sign } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestAppliance } from "../test/support/appliance.ts";
import { fmtInt } from "./lib/format.ts";
import { measureSync } from "./lib/load.ts";
import { applianceEnv, printProfile } from "./lib/quick.ts";
import { perOperation, threadTimes } from "./lib/thread-cpu.ts";
import { buildCDriver, cFleet } from "./lib/vhsm-fleet.ts";
import { ALGORITHMS } from "./sign-systems.ts";

const { values } = parseArgs({
  options: {
    alg: { type: "string", default: "ed25519" },
    c: { type: "string", default: "4" },
    "in-flight": { type: "string", default: "16" },
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    prof: { type: "boolean", default: false },
  },
});
const a = ALGORITHMS.find((x) => x.keyType === values.alg);
if (!a) throw new Error(`--alg: one of ${ALGORITHMS.map((x) => x.keyType).join(", ")}`);
const dir = mkdtempSync(join(tmpdir(), "vhsm-quick-sign-"));
const env = applianceEnv(values.prof, dir);
const app = await startTestAppliance({ env });
try {
  const client = await app.setupClient("q", "q", "q-pin-1");
  const keyId = await client.keys.generate({ type: a.keyType });
  const message = Buffer.alloc(32, 7);
  const local = a.local();
  const driver = buildCDriver(dir, "vhsm-sign");
  const seconds = Number(values.seconds);
  for (let r = 0; r < Number(values.rounds); r++) {
    const base = measureSync(() => sign(a.digest, message, local), seconds);
    const th0 = threadTimes(app.proc!.pid);
    const t = await cFleet(
      driver,
      { socket: app.socketOf("q"), user: "q", pin: "q-pin-1" },
      Number(values.c),
      { keyId, cAlg: a.cAlg, inFlight: Number(values["in-flight"]), message },
      seconds,
      app.proc!.pid,
    );
    if (t.error) throw new Error(t.error);
    console.log(`  per op: ${perOperation(th0, threadTimes(app.proc!.pid), t.opsPerSecond * seconds)}`);
    const us = (share: number) => ((share / t.opsPerSecond) * 1e6).toFixed(1);
    console.log(
      `${a.label}: ${fmtInt(t.opsPerSecond)}/s vs in-process ${fmtInt(base.opsPerSecond)} = ${(t.opsPerSecond / base.opsPerSecond).toFixed(2)}x; CPU us/op appliance ${us(t.watchedCpu!)}, client ${us(t.clientCpu!)}`,
    );
  }
  client.close();
  await app.stop();
  printProfile(dir);
} finally {
  await app.dispose();
}

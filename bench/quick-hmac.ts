/**
 * A quick A/B aid, not part of `npm run bench`: HMAC-SHA1 load against a fresh appliance, each round
 * next to an in-process baseline, with the appliance's CPU and page faults per operation by thread.
 *   bun bench/quick-hmac.ts [--size BYTES] [--clients N] [--in-flight N] [--seconds S] [--rounds N]
 *                           [--c PROCESSES] [--prof]
 * --c N drives the load from N processes of the C library instead of TypeScript clients; --prof
 * prints the appliance's top functions by self time. APP_ENV=K=V,K=V sets the appliance's environment
 * (e.g. APP_ENV=MIMALLOC_PURGE_DELAY=100 for the runtime's default allocator behaviour).
 */
import { createHmac, createSecretKey, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestAppliance } from "../test/support/appliance.ts";
import { fmtInt } from "./lib/format.ts";
import { measureAsync, measureSync } from "./lib/load.ts";
import { applianceEnv, printProfile } from "./lib/quick.ts";
import { perOperation, threadTimes } from "./lib/thread-cpu.ts";
import { buildCDriver, cFleet } from "./lib/vhsm-fleet.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "1048576" },
    clients: { type: "string", default: "4" },
    "in-flight": { type: "string", default: "16" },
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    c: { type: "string", default: "0" },
    prof: { type: "boolean", default: false },
  },
});
const size = Number(values.size);
const profDir = mkdtempSync(join(tmpdir(), "vhsm-prof-"));
const env = applianceEnv(values.prof, profDir);
const app = await startTestAppliance({ env });
try {
  const clients = [await app.setupClient("q", "q", "q-pin-1")];
  for (let i = 1; i < Number(values.clients); i++) clients.push(await app.client("q", "q", "q-pin-1"));
  const secret = randomBytes(20);
  const key = createSecretKey(secret);
  const keyId = await clients[0]!.keys.import(secret);
  const data = randomBytes(size);
  if (!(await clients[0]!.hmac(keyId, "sha1", data)).equals(createHmac("sha1", key).update(data).digest()))
    throw new Error("bad MAC");
  for (let r = 0; r < Number(values.rounds); r++) {
    const base = measureSync(() => createHmac("sha1", key).update(data).digest(), Number(values.seconds));
    const th0 = threadTimes(app.proc!.pid);
    const processes = Number(values.c);
    const t = processes
      ? await cFleet(
          buildCDriver(profDir, "vhsm-hmac"),
          { socket: app.socketOf("q"), user: "q", pin: "q-pin-1" },
          processes,
          { keyId, cAlg: 1, inFlight: Number(values["in-flight"]), message: data },
          Number(values.seconds),
          app.proc!.pid,
        ).then((r) => ({
          opsPerSecond: r.opsPerSecond,
          cpu: { appliance: r.watchedCpu!, client: r.clientCpu! },
        }))
      : await measureAsync(
          clients,
          Number(values["in-flight"]),
          (c) => c.hmac(keyId, "sha1", data),
          Number(values.seconds),
          app.proc!.pid,
        );
    const ops = t.opsPerSecond * Number(values.seconds);
    console.log(`  per op: ${perOperation(th0, threadTimes(app.proc!.pid), ops)}`);
    const us = (share: number) => ((share / t.opsPerSecond) * 1e6).toFixed(1);
    console.log(
      `${fmtInt(t.opsPerSecond)} ops/s vs in-process ${fmtInt(base.opsPerSecond)} = ${(t.opsPerSecond / base.opsPerSecond).toFixed(2)}x; CPU us/op appliance ${us(t.cpu!.appliance)}, client ${us(t.cpu!.client)}`,
    );
  }
  for (const c of clients) c.close();
  await app.stop();
  printProfile(profDir);
} finally {
  await app.dispose();
}

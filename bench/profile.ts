/**
 * Profiling aid (not part of `npm run bench`): runs one HMAC load against a fresh appliance and
 * prints where each side spends its time.
 *   bun bench/profile.ts [--size N] [--clients N] [--in-flight N] [--seconds N]
 * The appliance runs with --cpu-prof (through BUN_OPTIONS); the client side is profiled when this
 * script itself runs under `bun --cpu-prof --cpu-prof-dir DIR`.
 */
import { createHmac, createSecretKey, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestAppliance } from "../test/support/appliance.ts";
import { topSelfTime } from "./lib/cpuprofile.ts";
import { fmtInt } from "./lib/format.ts";
import { measureAsync } from "./lib/load.ts";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "4096" },
    clients: { type: "string", default: "16" },
    "in-flight": { type: "string", default: "16" },
    seconds: { type: "string", default: "3" },
  },
});
const size = Number(values.size);
const profDir = mkdtempSync(join(tmpdir(), "vhsm-prof-"));
const app = await startTestAppliance({
  env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` },
});
try {
  const clients = [await app.setupClient("prof", "prof", "prof-pin-1")];
  for (let i = 1; i < Number(values.clients); i++)
    clients.push(await app.client("prof", "prof", "prof-pin-1"));
  const secret = randomBytes(20);
  const keyId = await clients[0]!.keys.import(secret);
  const data = randomBytes(size);
  const mac = await clients[0]!.hmac(keyId, "sha1", data);
  if (!mac.equals(createHmac("sha1", createSecretKey(secret)).update(data).digest()))
    throw new Error("bad MAC");
  const t = await measureAsync(
    clients,
    Number(values["in-flight"]),
    (c) => c.hmac(keyId, "sha1", data),
    Number(values.seconds),
    app.proc!.pid,
  );
  console.log(
    `${fmtInt(t.opsPerSecond)} ops/s; CPU appliance ${Math.round(t.cpu!.appliance * 100)}%, client ${Math.round(t.cpu!.client * 100)}%`,
  );
  for (const c of clients) c.close();
  await app.stop();
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (file) {
    console.log(`\nappliance self time (${join(profDir, file)}):`);
    for (const h of topSelfTime(join(profDir, file)))
      console.log(`${(h.share * 100).toFixed(1).padStart(6)}%  ${h.name}`);
  } else {
    console.log("the appliance wrote no profile");
  }
} finally {
  await app.dispose();
}

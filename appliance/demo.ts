/** Sets up the demo container and user on first run and explains how to use them. */
import { randomInt } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { RunningAppliance } from "./core/appliance.ts";

export async function prepareDemo(appliance: RunningAppliance, dir: string) {
  const { actions } = appliance;
  const enrolled = actions.enroll("demo", null, null);
  const pinFile = join(dir, "demo.pin");
  const users = actions.listUsers("demo");
  if (!users.some((u) => u.name === "demo") || !existsSync(pinFile)) {
    if (users.some((u) => u.name === "demo")) actions.removeUser("demo", "demo", true);
    const pin = String(randomInt(10_000_000, 99_999_999));
    writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
    chmodSync(pinFile, 0o600);
    await actions.addUser("demo", "demo", readFileSync(pinFile, "utf8").trim());
  }
  const rel = (p: string) => relative(process.cwd(), p) || ".";
  const instructions = `
vhsm appliance is running (Ctrl-C stops it).

  admin socket:     ${rel(appliance.adminSocket)}
  demo container:   demo  (socket ${rel(enrolled.socket)})
  demo user:        demo  (PIN in ${rel(pinFile)}, mode 0600)

In another terminal, from this directory:

  export VHSM_SOCKET=${rel(enrolled.socket)} VHSM_USER=demo VHSM_PIN_FILE=${rel(pinFile)}
  npm run -s vhsm -- key generate --type hmac --id demo-key
  echo -n hello | npm run -s vhsm -- hmac --key demo-key --alg sha256
  echo -n hello | npm run -s vhsm -- digest --alg sha256
  npm run -s vhsm -- key list
  npm run -s vhsm -- key generate --type ed25519 --id demo-signer
  echo -n hello | npm run -s vhsm -- sign --key demo-signer

Watch it live:  npm run -s appliance -- top --admin-socket ${rel(appliance.adminSocket)}

`;
  return { instructions, pinFile, socket: enrolled.socket };
}

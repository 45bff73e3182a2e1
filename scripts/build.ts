/**
 * npm run build: the compiled appliance, the agent CLI and vhsm-provision in dist/, and the C
 * client library and OpenSSL shims in dist/lib + dist/include when agent/c exists.
 */

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { $ } from "bun";

const root = resolve(import.meta.dir, "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
const bun = process.execPath;
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

async function compile(entry: string, outfile: string) {
  const started = performance.now();
  await $`${bun} build --compile --minify --sourcemap ${join(root, entry)} --outfile ${join(dist, outfile)}`.quiet();
  console.log(`built dist/${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (want("appliance")) await compile("appliance/main.ts", "vhsm-appliance");
if (want("agent")) {
  await compile("agent/cli/main.ts", "vhsm");
  // a single-file bundle for client containers that have Node but no Bun
  await $`${bun} build --target=node --minify ${join(root, "agent/cli/main.ts")} --outfile ${join(dist, "vhsm.mjs")}`.quiet();
  console.log("built dist/vhsm.mjs");
}
if (want("provision") && existsSync(join(root, "provision/main.ts")))
  await compile("provision/main.ts", "vhsm-provision");
if (want("c") && existsSync(join(root, "agent/c/Makefile"))) {
  await $`make -C ${join(root, "agent/c")} DIST=${dist}`;
  console.log("built dist/lib and dist/include");
}

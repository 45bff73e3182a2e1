/**
 * npm run build: the compiled appliance, the agent CLI and vhsm-provision in dist/, and the C
 * client library and OpenSSL shims in dist/lib + dist/include when agent/c exists.
 */

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { $ } from "bun";

const root = resolve(import.meta.dir, "..");
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
const bun = process.execPath;
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

/**
 * ink imports react-devtools-core only when DEV=true, but the compiled bundle resolves every import
 * up front and fails on the missing package: give it an empty module (docs/dashboard.md).
 */
const noDevtools: import("bun").BunPlugin = {
  name: "no-react-devtools",
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({
      path: "react-devtools-core",
      namespace: "empty",
    }));
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({
      contents: "export default {};",
      loader: "js",
    }));
  },
};

async function compile(entry: string, outfile: string) {
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [join(root, entry)],
    compile: { outfile: join(dist, outfile) },
    minify: true,
    sourcemap: "linked",
    plugins: [noDevtools],
  });
  if (!result.success) throw new AggregateError(result.logs, `cannot build dist/${outfile}`);
  rmSync(join(dist, `${outfile}.map`), { force: true }); // the executable embeds its own copy
  console.log(`built dist/${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (want("appliance")) await compile("appliance/main.ts", "vhsm-appliance");
if (want("agent")) {
  await compile("agent/cli/main.ts", "vhsm");
  // a single-file bundle for client containers that have Node but no Bun
  const mjs = join(dist, "vhsm.mjs");
  await $`${bun} build --target=node --minify ${join(root, "agent/cli/main.ts")} --outfile ${mjs}`.quiet();
  // the bundle keeps the entry's `#!/usr/bin/env bun` (and --banner goes below it): swap in node's
  const code = readFileSync(mjs, "utf8");
  const body = code.startsWith("#!") ? code.slice(code.indexOf("\n") + 1) : code;
  writeFileSync(mjs, `#!/usr/bin/env node\n${body}`);
  chmodSync(mjs, 0o755);
  console.log("built dist/vhsm.mjs");
  // the agent library itself as one ES module, for applications on Node (on Bun, import agent/index.ts)
  await $`${bun} build --target=node --minify ${join(root, "agent/index.ts")} --outfile ${join(dist, "vhsm-agent.mjs")}`.quiet();
  console.log("built dist/vhsm-agent.mjs");
}
if (want("provision") && existsSync(join(root, "provision/main.ts")))
  await compile("provision/main.ts", "vhsm-provision");
if (want("c") && existsSync(join(root, "agent/c/Makefile"))) {
  await $`make -C ${join(root, "agent/c")} DIST=${dist}`;
  console.log("built dist/lib and dist/include");
}

#!/usr/bin/env bun
/** vhsm-provision: the operator's tool; talks to the appliance's admin API on admin.sock. */
import { runCli } from "./cli.ts";
import { processStreams } from "./output.ts";
import { terminalPrompt } from "./pin.ts";

const code = await runCli(process.argv.slice(2), {
  streams: processStreams(),
  env: process.env,
  prompt: terminalPrompt(),
});
process.exit(code);

#!/usr/bin/env bun
/** The `vhsm` command: see `vhsm help` and docs/cli.md. Runs under Bun and (bundled) under Node ≥ 20. */
import { run } from "./run.ts";

// `vhsm random 1000000 | head -c 10` closes the pipe early: that is not an error worth a stack trace
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await run(process.argv.slice(2));

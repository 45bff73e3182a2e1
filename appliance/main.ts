#!/usr/bin/env bun
/**
 * The vhsm-appliance entry. `serve` and `demo` first re-execute the process with the allocator tuned
 * (core/allocator-tuning.ts), before the rest of the program loads, so that the re-exec costs a bare
 * runtime start (a few ms) rather than loading everything twice (~80 ms); then the CLI (cli.ts) runs.
 */
import { tuneAllocator } from "./core/allocator-tuning.ts";

if (process.argv[2] === "serve" || process.argv[2] === "demo") tuneAllocator();
await import("./cli.ts");

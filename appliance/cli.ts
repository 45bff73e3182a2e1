import { resolve } from "node:path";
/** vhsm-appliance: the trusted side. `serve` runs it; `demo` runs it with a ready demo container. */
import { Command, InvalidArgumentError } from "commander";
import { auditVerify } from "./commands/audit-verify.ts";
import { restore } from "./commands/restore.ts";
import {
  applySettings,
  ConfigError,
  type ConfigValues,
  readConfigFile,
  readEnvironment,
} from "./config-file.ts";
import { tuneAllocator } from "./core/allocator-tuning.ts";
import { adminSocketPath, type RunningAppliance, SelfTestFailure, startAppliance } from "./core/appliance.ts";
import { type ApplianceConfig, defaultConfig } from "./core/config.ts";
import { Logger } from "./core/log.ts";
import { disableCoreDumps } from "./core/process-hardening.ts";
import { VERSION } from "./core/version.ts";
import { prepareDemo } from "./demo.ts";
import { serveDashboard, top } from "./tui/run.ts";
import { DEFAULT_ADMIN_SOCKET } from "./tui/source.ts";

function intOption(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

interface ServeOptions {
  data?: string;
  runDir?: string;
  config?: string;
  headless?: boolean;
  maxPinAttempts?: number;
  maxFrame?: number;
  kdfLogN?: number;
  auditRequired?: boolean;
  maxConnections?: number;
  maxConnectionsPerContainer?: number;
  maxInflight?: number;
  idleTimeout?: number;
  maxOutboundQueue?: number;
  memoryBudget?: number;
  containerMemoryBudget?: number;
  maxContexts?: number;
  stateFile?: string;
  acceptRollback?: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
}

/** Defaults < config file < VHSM_* environment < flags. */
function configFrom(opts: ServeOptions): ApplianceConfig {
  let settings: ConfigValues;
  try {
    settings = { ...(opts.config ? readConfigFile(opts.config) : {}), ...readEnvironment(process.env) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`vhsm-appliance: ${err.message}`);
    process.exit(2);
  }
  const data = opts.data ?? (settings.data as string | undefined);
  const runDir = opts.runDir ?? (settings.runDir as string | undefined);
  if (!data || !runDir) {
    console.error(
      "vhsm-appliance: give --data and --run-dir (or data and runDir in --config, or VHSM_DATA/VHSM_RUN_DIR)",
    );
    process.exit(2);
  }
  const config = defaultConfig(resolve(data), resolve(runDir));
  applySettings(config, settings);
  if (opts.maxPinAttempts !== undefined) config.maxPinAttempts = opts.maxPinAttempts;
  if (opts.maxFrame !== undefined) config.maxFrameBody = opts.maxFrame;
  if (opts.kdfLogN !== undefined) config.kdfLogN = opts.kdfLogN;
  if (opts.auditRequired) config.auditRequired = true;
  if (opts.maxConnections !== undefined) config.maxConnections = opts.maxConnections;
  if (opts.maxConnectionsPerContainer !== undefined)
    config.maxConnectionsPerContainer = opts.maxConnectionsPerContainer;
  if (opts.maxInflight !== undefined) config.maxInflight = opts.maxInflight;
  if (opts.idleTimeout !== undefined) config.idleTimeoutSeconds = opts.idleTimeout;
  if (opts.maxOutboundQueue !== undefined) config.maxOutboundQueue = opts.maxOutboundQueue;
  if (opts.memoryBudget !== undefined) config.memoryBudget = opts.memoryBudget;
  if (opts.containerMemoryBudget !== undefined) config.containerMemoryBudget = opts.containerMemoryBudget;
  if (opts.maxContexts !== undefined) config.maxContextsPerSession = opts.maxContexts;
  if (opts.stateFile !== undefined) config.stateFile = resolve(opts.stateFile);
  if (opts.acceptRollback) config.acceptRollback = true;
  return config;
}

async function run(
  config: ApplianceConfig,
  log: Logger,
  afterStart?: (a: RunningAppliance) => Promise<void>,
) {
  // a log line that cannot be written (its terminal hung up, a closed pipe) is lost, not fatal: the
  // appliance keeps serving, and the audit log stays the durable record
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  // main.ts has re-executed the process with the allocator tuned (same pid); this reports how it went
  const allocator = tuneAllocator();
  if (allocator.state === "unavailable") {
    log.warn("could not tune the allocator; large requests cost more CPU", { error: allocator.error });
  }
  const hardening = disableCoreDumps();
  if (hardening.coreDumps !== "disabled" || hardening.dumpable !== false) {
    log.warn("could not disable core dumps; set LimitCORE=0 in the service unit", { ...hardening });
  }
  let appliance: RunningAppliance;
  try {
    appliance = await startAppliance(config, log);
  } catch (err) {
    if (err instanceof SelfTestFailure) {
      log.error(err.message);
      process.exit(3);
    }
    log.error(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await appliance.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  // the conventional log-rotation signal: start a new audit file, chained to the last
  process.on("SIGHUP", () => {
    const { archived } = appliance.actions.rotateAudit();
    log.info("audit log rotated", { archived });
  });
  if (afterStart) await afterStart(appliance);
}

function withServeOptions(cmd: Command): Command {
  return cmd
    .option("--headless", "no dashboard: plain log lines only")
    .option("--max-pin-attempts <n>", "wrong PINs before a user is locked (default 10)", intOption(1, 1000))
    .option(
      "--max-frame <bytes>",
      "largest frame body accepted (default 16 MiB + 4 KiB)",
      intOption(1024, 1 << 30),
    )
    .option("--kdf-log-n <n>", "scrypt cost log2(N) for new PINs (default 15)", intOption(10, 22))
    .option("--audit-required", "fail operations whose audit record cannot be written")
    .option(
      "--max-connections <n>",
      "open client connections in total (default 16384)",
      intOption(1, 1 << 20),
    )
    .option(
      "--max-connections-per-container <n>",
      "open client connections per container (default 4096)",
      intOption(1, 1 << 20),
    )
    .option("--max-inflight <n>", "unanswered requests per connection (default 1024)", intOption(1, 1 << 20))
    .option(
      "--idle-timeout <seconds>",
      "close connections that send nothing for this long; 0 = never (default 900)",
      intOption(0, 7 * 86400),
    )
    .option(
      "--max-outbound-queue <bytes>",
      "answers queued for a client that does not read before it is dropped (default 64 MiB)",
      intOption(64 * 1024, 1 << 30),
    )
    .option(
      "--memory-budget <bytes>",
      "bytes held for all clients together: requests in flight, answers queued (default: a quarter of RAM, at most 1 GiB)",
      intOption(1 << 20, 2 ** 40),
    )
    .option(
      "--container-memory-budget <bytes>",
      "the part of the memory budget one container's clients may hold together (default: half of it)",
      intOption(1 << 16, 2 ** 40),
    )
    .option("--max-contexts <n>", "streaming contexts per session (default 64)", intOption(1, 1 << 16))
    .option("--state-file <file>", "rollback-guard state file (default <data>/state; best on other storage)")
    .option(
      "--accept-rollback",
      "start even if the key store is older than the state file (deliberate restore)",
    )
    .option("--log-level <level>", "debug | info | warn | error", "info");
}

const program = new Command()
  .name("vhsm-appliance")
  .description("vhsm: a virtual hardware security module for Linux containers")
  .version(VERSION);

withServeOptions(
  program
    .command("serve")
    .description("run the appliance")
    .option("--data <dir>", "data directory (key store); created with mode 0700")
    .option("--run-dir <dir>", "run directory: admin.sock and containers/<name>/vhsm.sock")
    .option(
      "--config <file>",
      "JSON settings (docs/configuration.md); flags and VHSM_* variables override it",
    ),
).action(async (opts: ServeOptions) => {
  const log = new Logger(opts.logLevel);
  // on a TTY the dashboard takes over the terminal; otherwise a summary log line every few seconds
  await run(configFrom(opts), log, (appliance) => serveDashboard(appliance, opts.headless === true));
});

withServeOptions(
  program
    .command("demo")
    .description("run the appliance on a demo data dir with a ready container `demo` and user `demo`")
    .option("--dir <dir>", "where the demo data and sockets live", ".vhsm-demo"),
).action(async (opts: ServeOptions & { dir: string }) => {
  const dir = resolve(opts.dir);
  const log = new Logger(opts.logLevel);
  const config = configFrom({ ...opts, data: `${dir}/data`, runDir: `${dir}/run` });
  await run(config, log, async (appliance) => {
    const demo = await prepareDemo(appliance, dir);
    process.stdout.write(demo.instructions);
  });
});

program
  .command("top")
  .description("attach the dashboard to a running appliance (it keeps serving when you quit)")
  .option("--admin-socket <path>", "the appliance's admin socket", DEFAULT_ADMIN_SOCKET)
  .action((opts: { adminSocket: string }) => top(resolve(opts.adminSocket)));

program.addHelpText(
  "after",
  `\nThe admin socket is <run-dir>/admin.sock; e.g. ${adminSocketPath("/run/vhsm")}.`,
);

const audit = program.command("audit").description("the hash-chained audit log");
audit
  .command("verify")
  .description("check the audit log's hash chain; names each deleted, edited or reordered record")
  .option("--data <dir>", "data directory whose audit/ files to verify (all, oldest first)")
  .option("--from <file...>", "verify these files instead, in the order given")
  .option("--json", "machine-readable result")
  .action((opts: { data?: string; from?: string[]; json?: boolean }) => {
    process.exitCode = auditVerify(opts);
  });

program
  .command("restore")
  .description("replace the key store with a backup (appliance stopped); checks the backup first")
  .requiredOption("--from <file>", "backup file made by `vhsm-provision backup` or POST /v1/backup")
  .requiredOption("--data <dir>", "data directory to restore into")
  .option("--state-file <file>", "the rollback-guard state file, if serve is given --state-file")
  .action((opts: { from: string; data: string; stateFile?: string }) => {
    process.exitCode = restore(opts);
  });

await program.parseAsync(process.argv);

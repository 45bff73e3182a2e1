/** The vhsm-provision command line: commander wiring only; each command lives in commands/. */

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AdminClient, adminSocketFrom } from "./admin-client.ts";
import { listCommand, revokeCommand, statusCommand } from "./commands/containers.ts";
import { bulkOrSingleEnroll } from "./commands/dispatch.ts";
import { backupCommand, keysCommand } from "./commands/operations.ts";
import { userAdd, userList, userRemove, userResetPin, userUnlock } from "./commands/users.ts";
import type { Ctx } from "./context.ts";
import { asProvisionError, EXIT, ProvisionError } from "./errors.ts";
import { Output, type Streams } from "./output.ts";
import { RUNTIMES } from "./runtimes/index.ts";
import type { FetchFn } from "./runtimes/transport.ts";

export interface CliDeps {
  streams: Streams;
  env: Record<string, string | undefined>;
  prompt?: (question: string) => Promise<string>;
  adminFetch?: FetchFn;
  runtimeBaseUrl?: string;
  runtimeFetch?: FetchFn;
}

const id = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffffffff)
    throw new InvalidArgumentError("expected an integer from 0 to 4294967295");
  return n;
};

/** Runs one command line; resolves to the process exit code (documented in docs/provisioning.md). */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  // A PIN on argv would be visible to every user in `ps` and stay in shell history.
  if (argv.some((a) => a === "--pin" || a.startsWith("--pin="))) {
    const err = new ProvisionError(
      "BAD_ARGUMENTS",
      "PINs are never accepted on the command line",
      "set VHSM_PIN, pass --pin-file FILE, or run on a terminal to be prompted",
    );
    new Output(argv.includes("--json"), deps.streams).error(err);
    return err.exitCode;
  }
  let code: number = EXIT.OK;
  const program = new Command()
    .name("vhsm-provision")
    .description("enroll containers with the vhsm appliance and manage their users")
    .option(
      "--admin-socket <path>",
      "the appliance's admin socket (default $VHSM_ADMIN_SOCKET or /run/vhsm/admin.sock)",
    )
    .option("--json", "print results and errors as JSON on stdout")
    .exitOverride()
    .configureOutput({ writeOut: deps.streams.stdout, writeErr: deps.streams.stderr });

  const ctx = (): Ctx => {
    const g = program.opts<{ adminSocket?: string; json?: boolean }>();
    return {
      admin: new AdminClient(adminSocketFrom(g.adminSocket ?? undefined), deps.adminFetch),
      out: new Output(g.json === true, deps.streams),
      env: deps.env,
      prompt: deps.prompt,
      runtimeBaseUrl: deps.runtimeBaseUrl,
      runtimeFetch: deps.runtimeFetch,
    };
  };
  const run = (fn: (c: Ctx) => Promise<unknown>) => async () => {
    const c = ctx();
    try {
      const r = await fn(c);
      code = typeof r === "number" ? r : EXIT.OK;
    } catch (err) {
      const e = asProvisionError(err);
      c.out.error(e);
      code = e.exitCode;
    }
  };

  program
    .command("enroll")
    .argument("[name]", "container name (a-z 0-9 _ . -, up to 63)")
    .description("enroll a container (idempotent) and mount its socket dir at /run/vhsm inside it")
    .option("--uid <n>", "owner uid of the container's socket (host-side id of the container's user)", id)
    .option("--gid <n>", "owner gid of the container's socket", id)
    .addOption(
      new Option("--runtime <runtime>", "container runtime to set the mount up with").choices(RUNTIMES),
    )
    .option("--runtime-socket <path>", "the runtime's API socket (docker, podman, incus)")
    .option("--recreate", "docker/podman: recreate an existing container with the mount, keeping its config")
    .option(
      "--from <file>",
      "enroll every container listed in FILE (one name or JSON object per line; - = stdin)",
    )
    .action((name, o) => run((c) => bulkOrSingleEnroll(c, name, o))());

  program
    .command("revoke")
    .argument("<name>")
    .description("revoke a container: its socket closes at once; users and keys are kept unless --wipe")
    .option("--wipe", "also destroy the container's users and keys")
    .action((name, o) => run((c) => revokeCommand(c, name, o.wipe === true))());

  program
    .command("list")
    .description("enrolled containers with users, keys, sessions and last activity")
    .action(() => run(listCommand)());
  program
    .command("status")
    .description("the appliance's version, uptime, totals and self-test")
    .action(() => run(statusCommand)());

  program
    .command("keys")
    .description("keys of a container's users: type, versions, use counts, last use (never material)")
    .addOption(new Option("--container <name>", "the container").makeOptionMandatory())
    .action((o) => run((c) => keysCommand(c, o.container))());
  program
    .command("backup")
    .description(
      "online consistent snapshot of the key store (encrypted as at rest), written by the appliance",
    )
    .requiredOption("--out <file>", "new file to write (on the appliance's host), mode 0600")
    .action((o) => run((c) => backupCommand(c, o.out))());

  const user = program.command("user").description("users of a container (each has its own PIN and keys)");
  const containerOpt = () => new Option("--container <name>", "the container").makeOptionMandatory();
  user
    .command("add")
    .argument("<user>")
    .addOption(containerOpt())
    .option("--pin-file <file>", "read the PIN from the first line of FILE (else VHSM_PIN, else a prompt)")
    .option(
      "--service",
      "a PIN-less service user: logs in through its container's socket; data key wrapped by the master key",
    )
    .action((u, o) => run((c) => userAdd(c, o.container, u, o.pinFile, o.service === true))());
  user
    .command("rm")
    .argument("<user>")
    .addOption(containerOpt())
    .option("--yes", "confirm: the user's keys are destroyed")
    .action((u, o) => run((c) => userRemove(c, o.container, u, o.yes === true))());
  user
    .command("list")
    .addOption(containerOpt())
    .action((o) => run((c) => userList(c, o.container))());
  user
    .command("unlock")
    .argument("<user>")
    .addOption(containerOpt())
    .description("reset the failed-PIN count of a locked user")
    .action((u, o) => run((c) => userUnlock(c, o.container, u))());
  user
    .command("reset-pin")
    .argument("<user>")
    .addOption(containerOpt())
    .option("--destroy-keys", "required: a reset without the old PIN destroys the user's keys")
    .option(
      "--pin-file <file>",
      "read the new PIN from the first line of FILE (else VHSM_PIN, else a prompt)",
    )
    .action((u, o) => run((c) => userResetPin(c, o.container, u, o.destroyKeys === true, o.pinFile))());

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(err.code);
      return ok ? EXIT.OK : EXIT.USAGE;
    }
    throw err;
  }
  return code;
}

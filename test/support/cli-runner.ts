/** Runs the project's command-line tools as subprocesses, the way a user would, for tests. */
import { join } from "node:path";
import { BUN, ROOT } from "./appliance.ts";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: Uint8Array | string | Blob;
  /** The program to run instead of the default entry (e.g. the Node bundle or a compiled binary). */
  entry?: string[];
}

/** Runs `cmd` with the test's environment minus every VHSM_* variable, plus `env`. */
export async function runTool(cmd: string[], options: RunOptions = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VHSM_") && v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    env,
    stdin: typeof options.stdin === "string" ? Buffer.from(options.stdin) : (options.stdin ?? "ignore"),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** The `vhsm` CLI with default VHSM_* settings (socket, user, PIN) that each call may override. */
export function vhsmCli(defaults: () => Record<string, string>) {
  const vhsm = (args: string[], options: RunOptions = {}) =>
    runTool([...(options.entry ?? [BUN, "agent/cli/main.ts"]), ...args], {
      ...options,
      env: { ...defaults(), ...options.env },
    });
  /** Runs and insists on exit 0; returns stdout. */
  const ok = async (args: string[], options?: RunOptions) => {
    const r = await vhsm(args, options);
    if (r.code !== 0) throw new Error(`vhsm ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  return { vhsm, ok };
}

/**
 * `vhsm-provision` against an admin socket; `json` is stdout parsed when it is JSON. `wrap` runs it
 * under another program (e.g. `setpriv` to drop privileges).
 */
export function provisionCli(adminSocket: () => string) {
  return async (args: string[], options: RunOptions & { wrap?: string[] } = {}) => {
    const r = await runTool([...(options.wrap ?? []), BUN, join(ROOT, "provision/main.ts"), ...args], {
      ...options,
      env: { VHSM_ADMIN_SOCKET: adminSocket(), ...options.env },
    });
    let json: any = null;
    try {
      json = JSON.parse(r.stdout);
    } catch {}
    return { ...r, json };
  };
}

/**
 * Test harness: runs the real appliance as a separate process on real sockets in a temp dir.
 * `compiled: true` runs `dist/vhsm-appliance` (end-to-end tests); otherwise the TypeScript entry.
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Subprocess, spawn } from "bun";
import { VhsmClient } from "../../agent/index.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;
export const COMPILED_APPLIANCE = join(ROOT, "dist/vhsm-appliance");

export interface StartOptions {
  compiled?: boolean;
  /** Extra `serve` flags. */
  args?: string[];
  /** Reuse an existing directory (restart tests). */
  dir?: string;
  env?: Record<string, string>;
}

export class TestAppliance {
  proc: Subprocess | null = null;
  stderr = "";

  constructor(
    readonly dir: string,
    private readonly options: StartOptions,
  ) {}

  get dataDir(): string {
    return join(this.dir, "data");
  }
  get runDir(): string {
    return join(this.dir, "run");
  }
  get adminSocket(): string {
    return join(this.runDir, "admin.sock");
  }
  socketOf(container: string): string {
    return join(this.runDir, "containers", container, "vhsm.sock");
  }

  command(): string[] {
    const entry = this.options.compiled ? [COMPILED_APPLIANCE] : [BUN, join(ROOT, "appliance/main.ts")];
    return [
      ...entry,
      "serve",
      "--data",
      this.dataDir,
      "--run-dir",
      this.runDir,
      "--headless",
      "--kdf-log-n",
      "12",
      ...(this.options.args ?? []),
    ];
  }

  async start(): Promise<void> {
    const proc = spawn(this.command(), {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...this.options.env },
    });
    this.proc = proc;
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>)
        this.stderr += decoder.decode(chunk);
    })();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) {
        await Bun.sleep(50);
        throw new Error(`appliance exited with ${proc.exitCode}: ${this.stderr}`);
      }
      if (existsSync(this.adminSocket)) {
        try {
          const r = await this.admin("GET", "/health");
          if (r.status === 200) return;
        } catch {}
      }
      await Bun.sleep(25);
    }
    throw new Error(`appliance did not become ready: ${this.stderr}`);
  }

  /** Calls the admin API; returns HTTP status and parsed JSON. */
  async admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`http://localhost${path}`, {
      method,
      unix: this.adminSocket,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    } as RequestInit);
    const text = await res.text();
    let json: any = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json };
  }

  async enroll(container: string): Promise<string> {
    const r = await this.admin("POST", "/v1/containers", { name: container });
    if (r.status >= 300) throw new Error(`enroll failed: ${JSON.stringify(r.json)}`);
    return r.json.socket;
  }

  async addUser(container: string, user: string, pin: string): Promise<void> {
    const r = await this.admin("POST", `/v1/containers/${container}/users`, { name: user, pin });
    if (r.status >= 300) throw new Error(`user add failed: ${JSON.stringify(r.json)}`);
  }

  /** Enrolls (idempotently) and adds a user, returns a logged-in client. */
  async setupClient(container: string, user = "alice", pin = "1234-pin"): Promise<VhsmClient> {
    await this.enroll(container);
    const users = await this.admin("GET", `/v1/containers/${container}/users`);
    if (!users.json.some((u: { name: string }) => u.name === user)) await this.addUser(container, user, pin);
    return this.client(container, user, pin);
  }

  client(container: string, user?: string, pin?: string, reconnectTimeoutMs = 0): Promise<VhsmClient> {
    return VhsmClient.connect({ socket: this.socketOf(container), user, pin, reconnectTimeoutMs });
  }

  /** Graceful stop (SIGTERM) and wait. */
  async stop(): Promise<number | null> {
    if (!this.proc) return null;
    this.proc.kill("SIGTERM");
    const code = await this.proc.exited;
    this.proc = null;
    return code;
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    this.proc = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function tempDir(prefix = "vhsm-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestAppliance(options: StartOptions = {}): Promise<TestAppliance> {
  const app = new TestAppliance(options.dir ?? tempDir(), options);
  await app.start();
  return app;
}

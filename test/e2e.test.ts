/**
 * End to end with the compiled appliance (`dist/vhsm-appliance`), as an operator and a client would
 * use it: enroll, add a user, keys, HMACs checked against the openssl CLI, restart, clean shutdown,
 * and the `demo` command behind `npm start`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Subprocess, spawn, spawnSync } from "bun";
import { VhsmClient } from "../agent/index.ts";
import {
  BUN,
  COMPILED_APPLIANCE,
  ROOT,
  startTestAppliance,
  type TestAppliance,
  tempDir,
} from "./support/appliance.ts";
import { opensslDigest, opensslHmac } from "./support/openssl.ts";

beforeAll(() => {
  // `npm test` builds first; a lone `bun test test/e2e.test.ts` builds here
  if (existsSync(COMPILED_APPLIANCE)) return;
  const r = spawnSync([BUN, join(ROOT, "scripts/build.ts"), "appliance"], { cwd: ROOT });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

describe("the compiled appliance", () => {
  let app: TestAppliance;
  const secret = randomBytes(32);
  const data = randomBytes(4096);

  beforeAll(async () => {
    app = await startTestAppliance({ compiled: true });
  });
  afterAll(async () => {
    await app?.dispose();
  });

  test("runs as its own binary, not through bun", () => {
    expect(app.command()[0]).toBe(COMPILED_APPLIANCE);
    expect(statSync(COMPILED_APPLIANCE).mode & 0o111).not.toBe(0);
  });

  test("re-executed itself with its allocator tuned: same pid, MIMALLOC_PURGE_DELAY=10000 (allocator-tuning.ts)", () => {
    const environ = readFileSync(`/proc/${app.proc!.pid}/environ`, "utf8").split("\0");
    expect(environ).toContain("MIMALLOC_PURGE_DELAY=10000");
    expect(readFileSync(`/proc/${app.proc!.pid}/cmdline`, "utf8").split("\0")[0]).toBe(COMPILED_APPLIANCE);
    expect(app.stderr).not.toContain("could not tune the allocator");
  });

  test("enroll, add a user, generate and import keys; HMACs and digests agree with openssl", async () => {
    const socket = await app.enroll("e2e");
    expect(socket).toBe(app.socketOf("e2e"));
    await app.addUser("e2e", "svc", "e2e-pin-1");
    const c = await VhsmClient.connect({ socket, user: "svc", pin: "e2e-pin-1", reconnectTimeoutMs: 0 });
    try {
      expect(c.container).toBe("e2e");
      expect(c.server).toStartWith("vhsm-appliance/");
      await c.keys.import(secret, { id: "imported" });
      const generated = await c.keys.generate({ id: "generated", bits: 256 });
      for (const alg of ["sha1", "sha256", "sha384", "sha512"] as const) {
        expect((await c.hmac("imported", alg, data)).toString("hex")).toBe(opensslHmac(alg, secret, data));
        expect((await c.digest(alg, data)).toString("hex")).toBe(opensslDigest(alg, data));
      }
      const mac = await c.hmac(generated, "sha256", data);
      expect(await c.hmacVerify(generated, "sha256", data, mac)).toBe(true);
      expect(await c.keys.list()).toEqual(["generated", "imported"]);
    } finally {
      c.close();
    }
  });

  test("keys survive a restart of the binary", async () => {
    await app.restart();
    const c = await app.client("e2e", "svc", "e2e-pin-1");
    try {
      expect((await c.hmac("imported", "sha256", data)).toString("hex")).toBe(
        opensslHmac("sha256", secret, data),
      );
      expect(await c.keys.count()).toBe(2);
    } finally {
      c.close();
    }
  });

  test("SIGTERM closes sessions, exits 0 and removes admin.sock and the container sockets", async () => {
    const c = await app.client("e2e", "svc", "e2e-pin-1");
    const code = await app.stop();
    expect(code).toBe(0);
    expect(app.stderr).toContain("appliance stopped");
    expect(existsSync(app.adminSocket)).toBe(false);
    expect(existsSync(app.socketOf("e2e"))).toBe(false);
    expect(
      (await c.ping().then(
        () => "OK",
        (e) => e.code,
      )) as string,
    ).toBe("CONNECTION_LOST");
    c.close();
    await app.start();
  });

  test("a failed self-test stops the binary with exit code 3", async () => {
    const dir = tempDir("vhsm-e2e-fault-");
    try {
      const proc = spawn(
        [COMPILED_APPLIANCE, "serve", "--data", join(dir, "d"), "--run-dir", join(dir, "r")],
        {
          env: { ...process.env, VHSM_TEST_FAULT: "kat:sha256" },
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
      expect(code).toBe(3);
      expect(stderr).toContain("self-test failed for sha256");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("`vhsm-appliance demo` (what `npm start` runs)", () => {
  const dir = tempDir("vhsm-demo-");
  let proc: Subprocess<"ignore", "pipe", "pipe"> | null = null;
  afterAll(() => {
    proc?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the demo in `dir` and waits for its instructions on stdout. */
  async function startDemo(): Promise<{ socket: string; pinFile: string; stdout: string }> {
    const p = spawn([COMPILED_APPLIANCE, "demo", "--dir", dir], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    proc = p;
    let stdout = "";
    const decoder = new TextDecoder();
    const reader = p.stdout.getReader();
    const deadline = Date.now() + 15_000;
    while (!/export VHSM_SOCKET=\S+ VHSM_USER=\S+ VHSM_PIN_FILE=\S+/.test(stdout)) {
      if (Date.now() > deadline) throw new Error(`demo printed no instructions: ${stdout}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`demo exited: ${stdout}${await new Response(p.stderr).text()}`);
      stdout += decoder.decode(value);
    }
    reader.releaseLock();
    const m = stdout.match(/export VHSM_SOCKET=(\S+) VHSM_USER=(\S+) VHSM_PIN_FILE=(\S+)/)!;
    expect(m[2]).toBe("demo");
    return { socket: resolve(dir, m[1]!), pinFile: resolve(dir, m[3]!), stdout };
  }

  async function stopDemo(signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<number> {
    proc!.kill(signal);
    const code = await proc!.exited;
    proc = null;
    return code;
  }

  test("prints a socket and a PIN file (mode 0600) that a client can use right away", async () => {
    const { socket, pinFile, stdout } = await startDemo();
    expect(statSync(pinFile).mode & 0o777).toBe(0o600);
    const pin = readFileSync(pinFile, "utf8").trim();
    expect(pin.length).toBeGreaterThanOrEqual(4);
    expect(stdout).not.toContain(pin);
    const c = await VhsmClient.connect({ socket, user: "demo", pin, reconnectTimeoutMs: 0 });
    try {
      const key = randomBytes(32);
      await c.keys.import(key, { id: "demo-key" });
      const msg = Buffer.from("hello");
      expect((await c.hmac("demo-key", "sha256", msg)).toString("hex")).toBe(opensslHmac("sha256", key, msg));
    } finally {
      c.close();
    }
    expect(await stopDemo()).toBe(0);
    expect(readdirSync(join(dir, "run")).includes("admin.sock")).toBe(false);
  });

  test("a second run reuses the same user, PIN file and keys; Ctrl-C (SIGINT) stops it cleanly", async () => {
    const pinBefore = readFileSync(join(dir, "demo.pin"), "utf8");
    const { socket, pinFile } = await startDemo();
    const pin = readFileSync(pinFile, "utf8").trim();
    expect(`${pin}\n`).toBe(pinBefore);
    const c = await VhsmClient.connect({ socket, user: "demo", pin, reconnectTimeoutMs: 0 });
    try {
      expect(await c.keys.list()).toEqual(["demo-key"]);
    } finally {
      c.close();
    }
    expect(await stopDemo("SIGINT")).toBe(0);
    expect(existsSync(join(dir, "run", "admin.sock"))).toBe(false);
  });
});

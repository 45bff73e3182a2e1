/**
 * Start-up known-answer tests: an appliance whose crypto gives a wrong answer refuses to serve.
 * `VHSM_TEST_FAULT=kat:<name>` corrupts one expected answer (test-only fault injection).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { spawn } from "bun";
import { TestAppliance, tempDir } from "./support/appliance.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `serve` with a fault injected; returns exit code, stderr, and whether it opened its sockets. */
async function runWithFault(fault: string) {
  const dir = tempDir("vhsm-selftest-");
  dirs.push(dir);
  const app = new TestAppliance(dir, {});
  const proc = spawn(app.command(), {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, VHSM_TEST_FAULT: fault },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stderr, adminSocket: existsSync(app.adminSocket), dataDir: existsSync(app.dataDir) };
}

describe("a failed known-answer test stops the appliance before it serves", () => {
  for (const alg of ["sha256", "hmac-sha1", "aes-256-gcm"]) {
    test(`kat:${alg} → exit code 3, a message naming ${alg}, no admin socket and no key store opened`, async () => {
      const r = await runWithFault(`kat:${alg}`);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`self-test failed for ${alg}`);
      expect(r.stderr).toContain("refusing to serve");
      expect(r.adminSocket).toBe(false);
      expect(r.dataDir).toBe(false);
    });
  }

  test("an unknown fault name injects nothing: the appliance serves", async () => {
    const dir = tempDir("vhsm-selftest-");
    dirs.push(dir);
    const app = new TestAppliance(dir, { env: { VHSM_TEST_FAULT: "kat:no-such-algorithm" } });
    await app.start();
    try {
      const health = await app.admin("GET", "/health");
      expect(health.json.status).toBe("ok");
      expect(health.json.selfTest.failed).toEqual([]);
    } finally {
      await app.dispose();
    }
  });
});

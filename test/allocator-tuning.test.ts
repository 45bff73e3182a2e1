/**
 * The appliance keeps its allocator from returning freed pages to the kernel while it serves
 * (appliance/core/allocator-tuning.ts): `serve` re-executes itself once at start-up with
 * MIMALLOC_PURGE_DELAY=10000. The re-execution must be invisible: same pid, same argv byte for byte
 * (non-ASCII paths included), same stdio, the runtime's signal handlers back in place, and a clean
 * SIGTERM stop. An operator's own value wins.
 * (The compiled binary is checked in e2e.test.ts; what the tuning buys is measured in bench/.)
 */
import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { startTestAppliance, tempDir } from "./support/appliance.ts";

/** Whether the process has a handler installed for signal `n` (/proc/PID/status SigCgt). */
function catches(pid: number, n: number): boolean {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^SigCgt:\s*([0-9a-f]+)$/m)!;
  return ((BigInt(`0x${line[1]}`) >> BigInt(n - 1)) & 1n) === 1n;
}

function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("allocator tuning", () => {
  test("serve re-executes itself once: same pid, argv unchanged byte for byte, MIMALLOC_PURGE_DELAY=10000, serves and stops cleanly", async () => {
    const app = await startTestAppliance({ dir: tempDir("vhsm-allocätor tüning-") });
    try {
      const pid = app.proc!.pid;
      expect(environOf(pid).get("MIMALLOC_PURGE_DELAY")).toBe("10000");
      const cmdline = readFileSync(`/proc/${pid}/cmdline`);
      expect(cmdline.equals(Buffer.from(`${app.command().join("\0")}\0`, "utf8"))).toBe(true);
      expect(app.stderr).not.toContain("could not tune the allocator");
      // stderr is back on fd 2 for our log, and the runtime's note about taking SIGPWR over is not shown
      expect(app.stderr).toContain("appliance ready");
      expect(app.stderr).not.toContain("Overriding existing handler");

      const secret = randomBytes(32);
      const data = randomBytes(1 << 20);
      const c = await app.setupClient("alloc");
      await c.keys.import(secret, { id: "k" });
      expect((await c.hmac("k", "sha1", data)).equals(createHmac("sha1", secret).update(data).digest())).toBe(
        true,
      );
      c.close();

      expect(await app.stop()).toBe(0);
    } finally {
      await app.dispose();
    }
  });

  test("the runtime's thread-stopping signal (SIGPWR) survives the re-execution: starts under --cpu-prof, whose sampler sends it constantly, all come up", async () => {
    // before SIGPWR was ignored across execve, about 1 start in 10 died of a SIGPWR sent as it ran
    for (let i = 0; i < 10; i++) {
      const dir = tempDir("vhsm-alloc-prof-");
      const app = await startTestAppliance({ dir, env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } });
      try {
        expect(environOf(app.proc!.pid).get("MIMALLOC_PURGE_DELAY")).toBe("10000");
        expect(catches(app.proc!.pid, 30)).toBe(true); // handled again, not left ignored
      } finally {
        await app.dispose();
      }
    }
  }, 60_000);

  test("an operator's MIMALLOC_PURGE_DELAY is kept as given (no re-execution, no warning)", async () => {
    const app = await startTestAppliance({ env: { MIMALLOC_PURGE_DELAY: "100" } });
    try {
      expect(environOf(app.proc!.pid).get("MIMALLOC_PURGE_DELAY")).toBe("100");
      expect(app.stderr).not.toContain("could not tune the allocator");
      const c = await app.setupClient("alloc");
      expect((await c.digest("sha256", Buffer.from("abc"))).toString("hex")).toBe(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      );
      c.close();
    } finally {
      await app.dispose();
    }
  });
});

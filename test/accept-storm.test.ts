/**
 * A connection pool opening many connections at once while the appliance is busy: the appliance
 * raises each container socket's accept queue (Bun's is fixed at 512), so a burst of 2,000 connects
 * waits in the kernel's queue instead of ~1,500 of them being refused with ECONNREFUSED. The busy
 * moment is made certain by stopping the appliance (SIGSTOP) while the burst arrives.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";

// the kernel caps every accept queue at somaxconn: the burst must exceed 512 but fit under that cap
const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
const BURST = Math.min(2000, somaxconn - 100);

let app: TestAppliance;
/** One whose socket paths are over the 107 bytes of sun_path: the runtime binds them through a directory. */
let deep: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
  await app.enroll("storm");
  const dir = join(tempDir(), "d".repeat(100));
  mkdirSync(dir);
  deep = await startTestAppliance({ dir });
  await deep.enroll("storm");
});
afterAll(async () => {
  await app.dispose();
  await deep.dispose();
});

async function burstWhileStopped(app: TestAppliance): Promise<PromiseSettledResult<VhsmClient>[]> {
  const pid = app.proc!.pid;
  process.kill(pid, "SIGSTOP");
  let pending: Promise<PromiseSettledResult<VhsmClient>[]>;
  try {
    pending = Promise.allSettled(
      Array.from({ length: BURST }, () =>
        VhsmClient.connect({ socket: app.socketOf("storm"), reconnectTimeoutMs: 0 }),
      ),
    );
    await Bun.sleep(300); // every connect(2) has reached the kernel's queue, or been refused
  } finally {
    process.kill(pid, "SIGCONT");
  }
  return pending;
}

for (const [where, which] of [
  ["", () => app],
  [" at a path over 107 bytes", () => deep],
] as const) {
  test.skipIf(BURST <= 600)(
    `${BURST} simultaneous connects to a busy appliance's container socket${where} all succeed`,
    async () => {
      const a = which();
      if (where) expect(a.socketOf("storm").length).toBeGreaterThan(107);
      const results = await burstWhileStopped(a);
      const refused = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
      try {
        expect(refused.slice(0, 3)).toEqual([]);
        expect((await a.admin("GET", "/v1/status")).json.connections).toBe(BURST);
      } finally {
        for (const r of results) if (r.status === "fulfilled") r.value.close();
      }
      expect(a.stderr).not.toContain("accept queue left");
    },
    30_000,
  );
}

/**
 * A connection pool opening many connections at once while the appliance is busy: the appliance
 * raises each container socket's accept queue (Bun's is fixed at 512), so a burst of 2,000 connects
 * waits in the kernel's queue instead of ~1,500 of them being refused with ECONNREFUSED. The busy
 * moment is made certain by stopping the appliance (SIGSTOP) while the burst arrives.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

// the kernel caps every accept queue at somaxconn: the burst must exceed 512 but fit under that cap
const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
const BURST = Math.min(2000, somaxconn - 100);

let app: TestAppliance;
beforeAll(async () => {
  app = await startTestAppliance();
  await app.enroll("storm");
});
afterAll(() => app.dispose());

async function burstWhileStopped(pid: number): Promise<PromiseSettledResult<VhsmClient>[]> {
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

test.skipIf(BURST <= 600)(
  `${BURST} simultaneous connects to a busy appliance's container socket all succeed`,
  async () => {
    const results = await burstWhileStopped(app.proc!.pid);
    const refused = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    try {
      expect(refused.slice(0, 3)).toEqual([]);
      expect((await app.admin("GET", "/v1/status")).json.connections).toBe(BURST);
    } finally {
      for (const r of results) if (r.status === "fulfilled") r.value.close();
    }
    expect(app.stderr).not.toContain("accept queue left");
  },
  30_000,
);

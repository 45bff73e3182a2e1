import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "bun";
import { VhsmClient } from "../agent/index.ts";
import { ROOT, startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance();
  await app.enroll("late");
  await app.addUser("late", "ann", "pin-ann-1");
});
afterAll(async () => {
  await app?.dispose();
});

describe("the agent's first connection", () => {
  test("a refused connect (appliance starting, listen queue full) is retried briefly when reconnecting is on", async () => {
    await app.kill(); // the socket file stays behind with nobody listening: ECONNREFUSED
    const socket = app.socketOf("late");
    const refused = await VhsmClient.connect({
      socket,
      user: "ann",
      pin: "pin-ann-1",
      reconnectTimeoutMs: 0,
    }).then(
      () => "connected",
      (e) => [e.code, /ECONNREFUSED/.test(e.message)],
    );
    expect(refused).toEqual(["CONNECTION_FAILED", true]);

    const pending = VhsmClient.connect({ socket, user: "ann", pin: "pin-ann-1", reconnectTimeoutMs: 30_000 });
    await app.start();
    const client = await pending;
    expect((await client.random(8)).length).toBe(8);
    client.close();
  });

  test("a socket that does not exist fails at once: nothing is retried", async () => {
    const started = performance.now();
    await expect(
      VhsmClient.connect({
        socket: `${app.dir}/nope.sock`,
        user: "ann",
        pin: "x",
        reconnectTimeoutMs: 30_000,
      }),
    ).rejects.toMatchObject({ code: "CONNECTION_FAILED" });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("the library bundle runs under Node: dist/vhsm-agent.mjs computes an HMAC through the appliance", async () => {
    const bundle = join(ROOT, "dist/vhsm-agent.mjs");
    if (!existsSync(bundle)) spawnSync([process.execPath, join(ROOT, "scripts/build.ts"), "agent"]);
    if (!app.proc) await app.start();
    const client = await app.client("late", "ann", "pin-ann-1");
    await client.keys.import(Buffer.from("node-secret"), { id: "node-key" });
    client.close();
    const script = `
      import { VhsmClient } from ${JSON.stringify(bundle)};
      const c = await VhsmClient.connect({ socket: process.env.SOCKET, user: "ann", pin: process.env.PIN, reconnectTimeoutMs: 0 });
      process.stdout.write((await c.hmac("node-key", "sha256", Buffer.from("from node"))).toString("hex"));
      c.close();`;
    const r = spawnSync(["node", "--input-type=module", "-e", script], {
      env: { ...process.env, PIN: "pin-ann-1", SOCKET: app.socketOf("late") },
    });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe(createHmac("sha256", "node-secret").update("from node").digest("hex"));
  });
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;

beforeAll(async () => {
  app = await startTestAppliance();
  await app.enroll("svc");
  await app.enroll("other");
});
afterAll(async () => {
  await app?.dispose();
});

const connect = (container: string, user: string, pin = "") =>
  VhsmClient.connect({ socket: app.socketOf(container), user, pin, reconnectTimeoutMs: 0 });

describe("service users log in through their container's socket without a PIN", () => {
  test("creation explains the trade-off and creates the master key file 0600", async () => {
    const r = await app.admin("POST", "/v1/containers/svc/users", { name: "batch", service: true });
    expect(r.status).toBe(201);
    expect(r.json.warning).toContain("master key");
    expect(statSync(join(app.dataDir, "master.key")).mode & 0o777).toBe(0o600);
    const users = await app.admin("GET", "/v1/containers/svc/users");
    expect(users.json.find((u: any) => u.name === "batch").service).toBe(true);
  });

  test("a service user's keys work across sessions and restarts, with no PIN anywhere", async () => {
    const c = await connect("svc", "batch");
    const id = await c.keys.generate({ type: "hmac" });
    const mac = await c.hmac(id, "sha256", Buffer.from("job"));
    const second = await connect("svc", "batch");
    expect((await second.hmac(id, "sha256", Buffer.from("job"))).equals(mac)).toBe(true);
    c.close();
    second.close();
    await app.restart();
    const again = await connect("svc", "batch");
    expect((await again.hmac(id, "sha256", Buffer.from("job"))).equals(mac)).toBe(true);
    await expect(again.changePin("", "1234")).rejects.toMatchObject({ code: "NOT_AUTHORISED" });
    again.close();
  });

  test("a PIN is refused, and another container's socket does not know the user", async () => {
    await expect(connect("svc", "batch", "1234")).rejects.toMatchObject({ code: "BAD_CREDENTIALS" });
    await expect(connect("other", "batch")).rejects.toMatchObject({ code: "BAD_CREDENTIALS" });
  });

  test("the request must choose: a PIN or service, not both or neither", async () => {
    const both = await app.admin("POST", "/v1/containers/svc/users", {
      name: "x",
      pin: "1234",
      service: true,
    });
    const neither = await app.admin("POST", "/v1/containers/svc/users", { name: "y" });
    expect([both.status, neither.status]).toEqual([400, 400]);
    const reset = await app.admin("POST", "/v1/containers/svc/users/batch/reset-pin", {
      pin: "1234",
      destroyKeys: true,
    });
    expect(reset.json.error.code).toBe("BAD_ARGUMENTS");
  });
});

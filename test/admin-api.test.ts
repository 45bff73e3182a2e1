/**
 * The admin API on admin.sock: every route, its errors, and that refused requests change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Sends a body as is (not JSON-encoded) so malformed JSON can be tried. */
async function raw(method: string, path: string, body: string) {
  return app.admin(method, path, body);
}

async function containerNames(): Promise<string[]> {
  return (await app.admin("GET", "/v1/containers")).json.map((c: { name: string }) => c.name);
}

async function userNames(container: string): Promise<string[]> {
  return (await app.admin("GET", `/v1/containers/${container}/users`)).json.map(
    (u: { name: string }) => u.name,
  );
}

/** Prometheus text → { 'name{labels}': value }. */
async function metrics(): Promise<Map<string, number>> {
  const r = await fetch("http://localhost/metrics", { unix: app.adminSocket } as RequestInit);
  expect(r.headers.get("content-type")).toStartWith("text/plain");
  const out = new Map<string, number>();
  for (const line of (await r.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

beforeAll(async () => {
  app = await startTestAppliance();
});
afterAll(async () => {
  await app?.dispose();
});

describe("health and status", () => {
  test("GET /health reports ok with every self-test passed", async () => {
    const r = await app.admin("GET", "/health");
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("ok");
    expect(r.json.selfTest.failed).toEqual([]);
    expect(r.json.selfTest.passed).toEqual(
      expect.arrayContaining(["sha256", "hmac-sha1", "aes-256-gcm", "scrypt"]),
    );
  });

  test("GET /v1/status counts containers, users, keys, connections and open vaults", async () => {
    const before = (await app.admin("GET", "/v1/status")).json;
    const c = await app.setupClient("status-c", "u1", "pin-1234");
    await c.keys.generate();
    await c.keys.generate();
    const r = await app.admin("GET", "/v1/status");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      containers: before.containers + 1,
      users: before.users + 1,
      keys: before.keys + 2,
      connections: before.connections + 1,
      openVaults: before.openVaults + 1,
      selfTest: "passed",
      dataDir: app.dataDir,
      runDir: app.runDir,
    });
    expect(r.json.dbSize).toBeGreaterThan(0);
    expect(typeof r.json.version).toBe("string");
    c.close();
  });

  test("GET /v1/stats returns counters, latency and per-container figures as JSON", async () => {
    const r = await app.admin("GET", "/v1/stats");
    expect(r.status).toBe(200);
    expect(r.json.ops.keymgmt).toBeGreaterThan(0);
    expect(r.json.latency.keymgmt.count).toBe(r.json.ops.keymgmt);
    expect(r.json.containers["status-c"].ops).toBeGreaterThan(0);
    expect(r.json.status.selfTest).toBe("passed");
  });
});

describe("/metrics counters match the work done", () => {
  test("operations, bytes, errors, lockouts and gauges move by exactly what was done", async () => {
    const c = await app.setupClient("metered", "m", "pin-1234");
    const m0 = await metrics();
    const id = await c.keys.generate();
    for (let i = 0; i < 5; i++) await c.hmac(id, "sha256", Buffer.alloc(100));
    for (let i = 0; i < 3; i++) await c.digest("sha1", Buffer.alloc(10));
    await c.random(16);
    expect(await outcome(c.keys.info("missing"))).toBe("KEY_NOT_FOUND");
    const m1 = await metrics();
    const delta = (k: string) => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
    expect(delta('vhsm_operations_total{kind="hmac"}')).toBe(5);
    expect(delta('vhsm_operations_total{kind="digest"}')).toBe(3);
    expect(delta('vhsm_operations_total{kind="keymgmt"}')).toBe(2);
    expect(delta('vhsm_operations_total{kind="random"}')).toBe(1);
    expect(delta('vhsm_errors_total{code="KEY_NOT_FOUND"}')).toBe(1);
    expect(delta('vhsm_container_operations_total{container="metered"}')).toBe(11);
    expect(delta('vhsm_operation_latency_seconds_count{kind="hmac"}')).toBe(5);
    expect(delta('vhsm_operation_latency_seconds_bucket{kind="hmac",le="+Inf"}')).toBe(5);
    expect(m1.get('vhsm_container_connections{container="metered"}')).toBe(1);
    expect(delta("vhsm_keys")).toBe(1);
    // each HMAC request body carries the 100 data bytes plus its framing
    expect(delta('vhsm_operation_bytes_total{kind="hmac"}')).toBeGreaterThanOrEqual(500);

    await app.admin("POST", "/v1/containers/metered/users", { name: "victim", pin: "pin-1234" });
    for (let i = 0; i < 10; i++) await outcome(app.client("metered", "victim", `wrong-${i}`));
    await outcome(app.client("metered", "victim", "pin-1234"));
    const m2 = await metrics();
    expect((m2.get("vhsm_lockouts_total") ?? 0) - (m1.get("vhsm_lockouts_total") ?? 0)).toBe(1);
    expect(
      (m2.get('vhsm_errors_total{code="BAD_CREDENTIALS"}') ?? 0) -
        (m1.get('vhsm_errors_total{code="BAD_CREDENTIALS"}') ?? 0),
    ).toBe(10);
    c.close();
    // the appliance sees the hang-up asynchronously: poll briefly
    const gauge = 'vhsm_container_connections{container="metered"}';
    for (let i = 0; i < 100 && (await metrics()).get(gauge) !== 0; i++) await Bun.sleep(20);
    expect((await metrics()).get(gauge)).toBe(0);
  });
});

describe("enrollment", () => {
  test("POST /v1/containers enrolls (201) and opens a socket anyone in the container can reach", async () => {
    const r = await app.admin("POST", "/v1/containers", { name: "fresh" });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      name: "fresh",
      revoked: false,
      users: 0,
      keys: 0,
      socket: app.socketOf("fresh"),
    });
    expect(statSync(app.socketOf("fresh")).isSocket()).toBe(true);
    expect(statSync(app.socketOf("fresh")).mode & 0o777).toBe(0o666);
  });

  test("enrolling again is idempotent: 200, same socket, existing sessions keep working", async () => {
    const c = await app.setupClient("again", "u", "pin-1234");
    const r = await app.admin("POST", "/v1/containers", { name: "again" });
    expect(r.status).toBe(200);
    expect(r.json.changed).toBe(false);
    expect(r.json.socket).toBe(app.socketOf("again"));
    await c.ping();
    expect((await containerNames()).filter((n) => n === "again").length).toBe(1);
    c.close();
  });

  test("with uid/gid the socket belongs to that uid/gid with mode 0660; changing them re-creates it", async () => {
    const r = await app.admin("POST", "/v1/containers", { name: "mapped", uid: 100000, gid: 100001 });
    expect(r.status).toBe(201);
    const st = statSync(app.socketOf("mapped"));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([100000, 100001, 0o660]);
    expect(
      (await app.admin("POST", "/v1/containers", { name: "mapped", uid: 100000, gid: 100001 })).status,
    ).toBe(200);
    const moved = await app.admin("POST", "/v1/containers", { name: "mapped", uid: 200000, gid: 200000 });
    expect(moved.status).toBe(201);
    expect(statSync(app.socketOf("mapped")).uid).toBe(200000);
  });

  test("bad container names are refused with 400 BAD_ARGUMENTS and nothing is created", async () => {
    const before = await containerNames();
    for (const name of ["", "Upper", "-dash", ".dot", "a/b", "../etc", "with space", "x".repeat(64), "ünï"]) {
      const r = await app.admin("POST", "/v1/containers", { name });
      expect([name, r.status, r.json.error?.code]).toEqual([name, 400, "BAD_ARGUMENTS"]);
    }
    expect(await containerNames()).toEqual(before);
  });

  test("wrong types, unknown fields and malformed JSON are refused with 400 BAD_ARGUMENTS and nothing is created", async () => {
    const before = await containerNames();
    const bodies = [
      '{"name": "typo", "uuid": 5}',
      '{"name": 5}',
      '{"name": "neg", "uid": -1}',
      '{"name": "frac", "uid": 1.5}',
      '{"name": "trunc"',
      "name=form",
      "",
      "null",
      "[]",
    ];
    for (const body of bodies) {
      const r = await raw("POST", "/v1/containers", body);
      expect([body, r.status, r.json.error?.code]).toEqual([body, 400, "BAD_ARGUMENTS"]);
    }
    expect(await containerNames()).toEqual(before);
  });

  test("GET /v1/containers/:name describes one container; an unknown one is 404 CONTAINER_NOT_FOUND", async () => {
    const c = await app.setupClient("described", "u", "pin-1234");
    await c.keys.generate();
    const r = await app.admin("GET", "/v1/containers/described");
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: "described", users: 1, keys: 1, sessions: 1, revoked: false });
    c.close();
    const missing = await app.admin("GET", "/v1/containers/nope");
    expect([missing.status, missing.json.error.code]).toEqual([404, "CONTAINER_NOT_FOUND"]);
    expect((await app.admin("DELETE", "/v1/containers/nope")).status).toBe(404);
    expect((await app.admin("GET", "/v1/containers/nope/users")).status).toBe(404);
  });
});

describe("revoke and wipe", () => {
  test("revoking ends the container's sessions at once, removes its socket, and keeps its keys for re-enrollment", async () => {
    const c = await app.setupClient("revoked", "u", "pin-1234");
    const anon = await app.client("revoked");
    const id = await c.keys.generate({ id: "kept" });
    const mac = await c.hmac(id, "sha256", Buffer.from("x"));
    const r = await app.admin("DELETE", "/v1/containers/revoked");
    expect(r.json).toMatchObject({ revoked: true, wiped: false });
    expect(await outcome(c.ping())).toBe("CONNECTION_LOST");
    expect(await outcome(anon.ping())).toBe("CONNECTION_LOST");
    expect(existsSync(app.socketOf("revoked"))).toBe(false);
    expect((await app.admin("GET", "/v1/containers/revoked")).json).toMatchObject({ revoked: true, keys: 1 });
    expect((await app.admin("GET", "/v1/status")).json.revokedContainers).toBeGreaterThanOrEqual(1);
    c.close();
    anon.close();

    await app.enroll("revoked");
    const back = await app.client("revoked", "u", "pin-1234");
    expect((await back.hmac("kept", "sha256", Buffer.from("x"))).equals(mac)).toBe(true);
    back.close();
  });

  test("revoking with wipe=true destroys the container's users and keys", async () => {
    const c = await app.setupClient("wiped", "u", "pin-1234");
    await c.keys.generate({ id: "doomed" });
    const keysBefore = (await app.admin("GET", "/v1/status")).json.keys;
    const r = await app.admin("DELETE", "/v1/containers/wiped?wipe=true");
    expect(r.json).toMatchObject({ revoked: true, wiped: true });
    expect(await outcome(c.ping())).toBe("CONNECTION_LOST");
    c.close();
    expect(await containerNames()).not.toContain("wiped");
    expect((await app.admin("GET", "/v1/status")).json.keys).toBe(keysBefore - 1);
    await app.enroll("wiped");
    expect(await userNames("wiped")).toEqual([]);
    expect(await outcome(app.client("wiped", "u", "pin-1234"))).toBe("BAD_CREDENTIALS");
  });
});

describe("users", () => {
  test("POST users adds a user (201) who can log in; GET lists users without secrets", async () => {
    await app.enroll("people");
    const r = await app.admin("POST", "/v1/containers/people/users", { name: "ann", pin: "ann-pin-1" });
    expect(r.status).toBe(201);
    (await app.client("people", "ann", "ann-pin-1")).close();
    const list = await app.admin("GET", "/v1/containers/people/users");
    expect(list.json).toEqual([
      expect.objectContaining({ name: "ann", failedAttempts: 0, locked: false, keys: 0, loggedIn: false }),
    ]);
    const text = JSON.stringify(list.json);
    expect(text).not.toContain("ann-pin-1");
    expect(text).not.toContain("wrapped");
    expect(text).not.toContain("kdf");
  });

  test("a duplicate user is 409 USER_EXISTS, also when both requests race", async () => {
    await app.enroll("dupes");
    const body = { name: "twin", pin: "twin-pin-1" };
    const [a, b] = await Promise.all([
      app.admin("POST", "/v1/containers/dupes/users", body),
      app.admin("POST", "/v1/containers/dupes/users", body),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const again = await app.admin("POST", "/v1/containers/dupes/users", { name: "twin", pin: "other-pin" });
    expect([again.status, again.json.error.code]).toEqual([409, "USER_EXISTS"]);
    expect(await outcome(app.client("dupes", "twin", "other-pin"))).toBe("BAD_CREDENTIALS");
  });

  test("bad user names, PINs outside policy, unknown fields and malformed JSON change nothing", async () => {
    await app.enroll("strict");
    const cases: [string, number, string][] = [
      ['{"name": "has space", "pin": "pin-1234"}', 400, "BAD_ARGUMENTS"],
      ['{"name": "-x", "pin": "pin-1234"}', 400, "BAD_ARGUMENTS"],
      ['{"name": "short", "pin": "123"}', 400, "PIN_POLICY"],
      [`{"name": "long", "pin": "${"p".repeat(65)}"}`, 400, "PIN_POLICY"],
      ['{"name": "extra", "pin": "pin-1234", "admin": true}', 400, "BAD_ARGUMENTS"],
      ['{"name": "nopin"}', 400, "BAD_ARGUMENTS"],
      ['{"name": "num", "pin": 1234}', 400, "BAD_ARGUMENTS"],
      ['{"name": "cut", "pin": "pin-', 400, "BAD_ARGUMENTS"],
    ];
    for (const [body, status, code] of cases) {
      const r = await raw("POST", "/v1/containers/strict/users", body);
      expect([body, r.status, r.json.error?.code]).toEqual([body, status, code]);
    }
    expect(await userNames("strict")).toEqual([]);
    const missing = await app.admin("POST", "/v1/containers/absent/users", { name: "x", pin: "pin-1234" });
    expect([missing.status, missing.json.error.code]).toEqual([404, "CONTAINER_NOT_FOUND"]);
  });

  test("unknown users are 404 USER_NOT_FOUND for remove, unlock and reset-pin", async () => {
    await app.enroll("lonely");
    const routes: [string, string, unknown][] = [
      ["DELETE", "/v1/containers/lonely/users/ghost?confirm=true", undefined],
      ["POST", "/v1/containers/lonely/users/ghost/unlock", undefined],
      ["POST", "/v1/containers/lonely/users/ghost/reset-pin", { pin: "pin-1234", destroyKeys: true }],
    ];
    for (const [method, path, body] of routes) {
      const r = await app.admin(method, path, body);
      expect([path, r.status, r.json.error?.code]).toEqual([path, 404, "USER_NOT_FOUND"]);
    }
  });

  test("reset-pin refuses unknown fields and malformed JSON, leaving the PIN and keys alone", async () => {
    const c = await app.setupClient("resets", "r", "pin-1234");
    await c.keys.generate();
    c.close();
    for (const body of [
      '{"pin": "new-pin-1", "destroyKeys": true, "force": 1}',
      '{"pin": "new-pin-1", "destroyKeys": "yes"}',
      "{",
    ]) {
      const r = await raw("POST", "/v1/containers/resets/users/r/reset-pin", body);
      expect([body, r.status, r.json.error?.code]).toEqual([body, 400, "BAD_ARGUMENTS"]);
    }
    const again = await app.client("resets", "r", "pin-1234");
    expect(await again.keys.count()).toBe(1);
    again.close();
  });

  test("removing a user without keys needs no confirmation", async () => {
    await app.enroll("nokeys");
    await app.addUser("nokeys", "idle", "pin-1234");
    const r = await app.admin("DELETE", "/v1/containers/nokeys/users/idle");
    expect(r.json).toMatchObject({ removed: true, keysDestroyed: 0 });
    expect(await userNames("nokeys")).toEqual([]);
  });
});

describe("unknown routes and bad paths", () => {
  test("unknown endpoints and methods answer BAD_ARGUMENTS, never 500", async () => {
    const routes: [string, string][] = [
      ["GET", "/"],
      ["GET", "/v2/status"],
      ["PUT", "/v1/containers"],
      ["PATCH", "/v1/containers/fresh"],
      ["GET", "/v1/containers/fresh/users/x/unlock"],
      ["POST", "/v1/containers/fresh/users/x/explode"],
      ["POST", "/health"],
    ];
    for (const [method, path] of routes) {
      const r = await app.admin(method, path);
      expect([method, path, r.status, r.json.error?.code]).toEqual([method, path, 400, "BAD_ARGUMENTS"]);
    }
  });

  test("a path with broken percent-encoding is 400 BAD_ARGUMENTS, not an internal error", async () => {
    for (const path of ["/v1/containers/%E0%A4%A", "/v1/containers/%zz/users"]) {
      const r = await app.admin("GET", path);
      expect([path, r.status, r.json.error?.code]).toEqual([path, 400, "BAD_ARGUMENTS"]);
    }
  });
});

/**
 * Isolation: the socket names the container, the login names the user, and neither can reach another's
 * keys or streaming contexts, even knowing their ids.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { chmodSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { spawnSync } from "bun";
import type { VhsmClient } from "../agent/index.ts";
import { HashAlg } from "../protocol/messages.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslHmac } from "./support/openssl.ts";

let app: TestAppliance;
let a: VhsmClient; // container "alpha", user alice
let b: VhsmClient; // container "beta", user alice (same user name, same PIN)
let mallory: VhsmClient; // container "alpha", user mallory
const secret = randomBytes(32);
const data = Buffer.from("isolation");
let expected: string;

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

beforeAll(async () => {
  app = await startTestAppliance();
  a = await app.setupClient("alpha", "alice", "same-pin");
  b = await app.setupClient("beta", "alice", "same-pin");
  mallory = await app.setupClient("alpha", "mallory", "mallory-pin");
  await a.keys.import(secret, { id: "alpha-key" });
  expected = opensslHmac("sha256", secret, data);
});
afterAll(async () => {
  for (const c of [a, b, mallory]) c?.close();
  await app?.dispose();
});

/** Every way to touch a key by id, from `who`: each must answer KEY_NOT_FOUND. */
async function expectUnreachable(who: VhsmClient, id: string): Promise<void> {
  const attempts: Record<string, Promise<unknown>> = {
    hmac: who.hmac(id, "sha256", data),
    hmacInit: who.hmacInit(id, "sha256"),
    hmacVerify: who.hmacVerify(id, "sha256", data, Buffer.from(expected, "hex")),
    info: who.keys.info(id),
    delete: who.keys.delete(id),
  };
  for (const [name, p] of Object.entries(attempts))
    expect([name, await outcome(p)]).toEqual([name, "KEY_NOT_FOUND"]);
  expect(await who.keys.list()).not.toContain(id);
}

describe("containers", () => {
  test("the socket decides the container: HELLO reports it", () => {
    expect(a.container).toBe("alpha");
    expect(b.container).toBe("beta");
  });

  test("container B cannot use, list, inspect or delete container A's key, even with the same user name and PIN", async () => {
    await expectUnreachable(b, "alpha-key");
    expect(await b.keys.count()).toBe(0);
    expect((await a.hmac("alpha-key", "sha256", data)).toString("hex")).toBe(expected);
    expect((await a.keys.info("alpha-key")).useCount).toBe(1);
  });

  test("container B may create its own key under the same id; the two keys stay distinct", async () => {
    const other = randomBytes(32);
    await b.keys.import(other, { id: "alpha-key" });
    expect((await b.hmac("alpha-key", "sha256", data)).toString("hex")).toBe(
      opensslHmac("sha256", other, data),
    );
    expect((await a.hmac("alpha-key", "sha256", data)).toString("hex")).toBe(expected);
    await b.keys.delete("alpha-key");
    expect((await a.hmac("alpha-key", "sha256", data)).toString("hex")).toBe(expected);
  });

  test("a user name of container A cannot log in through container B's socket with A's PIN", async () => {
    expect(await outcome(app.client("beta", "mallory", "mallory-pin"))).toBe("BAD_CREDENTIALS");
  });

  test("an unknown or revoked container has no socket to connect to", async () => {
    expect(await outcome(app.client("gamma", "alice", "same-pin"))).toBe("CONNECTION_FAILED");
    await app.enroll("delta");
    await app.admin("DELETE", "/v1/containers/delta");
    expect(await outcome(app.client("delta", "alice", "same-pin"))).toBe("CONNECTION_FAILED");
  });
});

describe("users in one container", () => {
  test("another user cannot use, list, inspect or delete alice's key", async () => {
    await expectUnreachable(mallory, "alpha-key");
    expect((await a.hmac("alpha-key", "sha256", data)).toString("hex")).toBe(expected);
  });

  test("listing and counting show only the caller's own keys", async () => {
    const own = await mallory.keys.generate({ id: "mallory-key" });
    expect(await mallory.keys.list()).toEqual([own]);
    expect(await mallory.keys.count()).toBe(1);
    expect(await a.keys.list()).not.toContain("mallory-key");
  });
});

describe("streaming contexts", () => {
  test("an HMAC context belongs to its connection: the same user on another connection gets NOT_INITIALISED", async () => {
    const a2 = await app.client("alpha", "alice", "same-pin");
    try {
      const { ctx } = await a.call("HMAC_INIT", { keyId: "alpha-key", alg: HashAlg.SHA256 });
      await a.call("HMAC_UPDATE", { ctx, data: data.subarray(0, 4) });
      expect(await outcome(a2.call("HMAC_UPDATE", { ctx, data: Buffer.from("injected") }))).toBe(
        "NOT_INITIALISED",
      );
      expect(await outcome(a2.call("HMAC_FINAL", { ctx }))).toBe("NOT_INITIALISED");
      expect(await outcome(mallory.call("HMAC_FINAL", { ctx }))).toBe("NOT_INITIALISED");
      expect(await outcome(b.call("HMAC_FINAL", { ctx }))).toBe("NOT_INITIALISED");
      await a.call("HMAC_UPDATE", { ctx, data: data.subarray(4) });
      const mac = await a.call("HMAC_FINAL", { ctx });
      expect(Buffer.from(mac.mac).toString("hex")).toBe(expected);
    } finally {
      a2.close();
    }
  });

  test("a digest context belongs to its connection too", async () => {
    const { ctx } = await a.call("DIGEST_INIT", { alg: HashAlg.SHA256 });
    expect(await outcome(b.call("DIGEST_FINAL", { ctx }))).toBe("NOT_INITIALISED");
    await a.call("DIGEST_FINAL", { ctx });
  });
});

describe("on the host", () => {
  const canDropPrivileges = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
  test.skipIf(!canDropPrivileges)(
    "an unprivileged host account cannot reach a container's socket, even one enrolled without --uid",
    () => {
      const socket = app.socketOf("alpha");
      const containers = dirname(dirname(socket));
      expect(statSync(containers).mode & 0o777).toBe(0o700);
      expect(statSync(socket).mode & 0o777).toBe(0o666); // usable by any uid inside the container
      // open every directory above, as a host's /run is
      for (let d = dirname(containers); d !== dirname(app.dir); d = dirname(d)) chmodSync(d, 0o755);
      const connect = (wrap: string[]) =>
        spawnSync(
          [
            ...wrap,
            "/usr/bin/python3",
            "-c",
            "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
            socket,
          ],
          { stderr: "pipe" },
        );
      expect(connect([]).exitCode).toBe(0); // root, as the runtime that bind-mounts the directory
      const nobody = connect(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
      expect(nobody.exitCode).not.toBe(0);
      expect(nobody.stderr.toString()).toContain("PermissionError");
    },
  );
});

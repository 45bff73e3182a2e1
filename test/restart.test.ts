/**
 * Durability and protection at rest: keys survive graceful and abrupt restarts, stay sealed under the
 * user's PIN, never appear in clear in the data files, and a reconnecting client rides over a restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslHmac } from "./support/openssl.ts";

let app: TestAppliance;
const C = "durable";
const PIN = "durable-pin";
const data = Buffer.from("survives restarts");

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Every file under the data dir (db, wal, shm, audit log, state), with its bytes. */
function dataFiles(): { name: string; bytes: Buffer }[] {
  return readdirSync(app.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name);
      return { name: path.slice(app.dataDir.length + 1), bytes: readFileSync(path) };
    });
}

beforeAll(async () => {
  app = await startTestAppliance();
  (await app.setupClient(C, "alice", PIN)).close();
});
afterAll(async () => {
  await app?.dispose();
});

describe("keys survive restarts", () => {
  test("an imported key computes the same HMAC after a graceful restart, with its use count kept", async () => {
    const secret = randomBytes(32);
    const c = await app.client(C, "alice", PIN);
    await c.keys.import(secret, { id: "graceful" });
    await c.hmac("graceful", "sha256", data);
    await c.hmac("graceful", "sha256", data);
    c.close();
    await app.restart();
    const after = await app.client(C, "alice", PIN);
    try {
      expect((await after.hmac("graceful", "sha256", data)).toString("hex")).toBe(
        opensslHmac("sha256", secret, data),
      );
      // counts buffered in memory are flushed on a graceful stop
      expect((await after.keys.info("graceful")).useCount).toBe(3);
    } finally {
      after.close();
    }
  });

  test("a key generated and acknowledged just before kill -9 is there after the restart", async () => {
    const c = await app.client(C, "alice", PIN);
    const id = await c.keys.generate({ id: "abrupt" });
    const mac = await c.hmac(id, "sha512", data);
    const imported = randomBytes(24);
    await c.keys.import(imported, { id: "abrupt-import" });
    await app.kill(); // no shutdown handler runs
    c.close();
    await app.start();
    const after = await app.client(C, "alice", PIN);
    try {
      expect((await after.hmac("abrupt", "sha512", data)).equals(mac)).toBe(true);
      expect((await after.hmac("abrupt-import", "sha1", data)).toString("hex")).toBe(
        opensslHmac("sha1", imported, data),
      );
      expect(await after.keys.list()).toEqual(
        expect.arrayContaining(["abrupt", "abrupt-import", "graceful"]),
      );
    } finally {
      after.close();
    }
  });

  test("a deletion acknowledged before kill -9 stays deleted", async () => {
    const c = await app.client(C, "alice", PIN);
    await c.keys.generate({ id: "short-lived" });
    await c.keys.delete("short-lived");
    await app.kill();
    c.close();
    await app.start();
    const after = await app.client(C, "alice", PIN);
    try {
      expect(await outcome(after.keys.info("short-lived"))).toBe("KEY_NOT_FOUND");
    } finally {
      after.close();
    }
  });

  test("after a restart a wrong PIN opens nothing, and without a login nothing is reachable", async () => {
    await app.restart();
    expect(await outcome(app.client(C, "alice", "not-the-pin"))).toBe("BAD_CREDENTIALS");
    const anon = await app.client(C);
    try {
      expect(await outcome(anon.hmac("graceful", "sha256", data))).toBe("NOT_LOGGED_IN");
      expect(await outcome(anon.keys.list())).toBe("NOT_LOGGED_IN");
    } finally {
      anon.close();
    }
  });

  test("enrolled containers get their sockets back after a restart; revoked ones do not", async () => {
    await app.enroll("gone");
    await app.admin("DELETE", "/v1/containers/gone");
    await app.restart();
    expect(existsSync(app.socketOf(C))).toBe(true);
    expect(existsSync(app.socketOf("gone"))).toBe(false);
  });
});

describe("protection at rest", () => {
  test("neither an imported secret nor the PIN appears in the data files or the log (hex or raw)", async () => {
    const secret = randomBytes(48);
    const pin = `pin-${randomBytes(8).toString("hex")}`;
    await app.addUser(C, "secretive", pin);
    const c = await app.client(C, "secretive", pin);
    await c.keys.import(secret, { id: "needle" });
    await c.hmac("needle", "sha256", data);
    // kill -9 leaves the newest pages in the WAL file: check that state, then a clean checkpoint
    await app.kill();
    c.close();
    const needles = [
      secret,
      Buffer.from(secret.toString("hex")),
      Buffer.from(secret.toString("base64")),
      Buffer.from(pin),
    ];
    const check = () => {
      const files = dataFiles();
      expect(files.some((f) => f.name.endsWith("-wal") && f.bytes.length > 0)).toBe(true);
      for (const f of files)
        for (const n of needles) expect([f.name, f.bytes.indexOf(n)]).toEqual([f.name, -1]);
    };
    check();
    await app.start();
    const again = await app.client(C, "secretive", pin);
    expect((await again.hmac("needle", "sha256", data)).toString("hex")).toBe(
      opensslHmac("sha256", secret, data),
    );
    again.close();
    await app.stop();
    for (const f of dataFiles())
      for (const n of needles) expect([f.name, f.bytes.indexOf(n)]).toEqual([f.name, -1]);
    for (const n of needles) expect(app.stderr.includes(n.toString("latin1"))).toBe(false);
    await app.start();
  });

  test("the data dir is mode 0700, and admin.sock is 0600", () => {
    expect(statSync(app.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(app.adminSocket).mode & 0o777).toBe(0o600);
  });

  test("a data dir created with loose permissions is tightened to 0700 at start", async () => {
    const { chmodSync } = await import("node:fs");
    await app.stop();
    chmodSync(app.dataDir, 0o755);
    await app.start();
    expect(statSync(app.dataDir).mode & 0o777).toBe(0o700);
  });
});

describe("a reconnecting client rides over a restart", () => {
  test("HMAC calls keep working across a graceful restart and a kill -9 without any action by the caller", async () => {
    const secret = randomBytes(32);
    const c = await app.client(C, "alice", PIN, 15_000);
    try {
      await c.keys.import(secret, { id: "rider" });
      const expected = opensslHmac("sha256", secret, data);
      const generation = c.generation;
      await app.restart();
      expect((await c.hmac("rider", "sha256", data)).toString("hex")).toBe(expected);
      await app.kill();
      // a call made while the appliance is down waits for it to come back
      const pending = c.hmac("rider", "sha256", data);
      await Bun.sleep(100);
      await app.start();
      expect((await pending).toString("hex")).toBe(expected);
      expect(c.generation).toBe(generation + 2);
    } finally {
      c.close();
    }
  });

  test("a streaming context open across the restart fails with CONTEXT_LOST; a new one works", async () => {
    const c = await app.client(C, "alice", PIN, 15_000);
    try {
      const id = await c.keys.generate();
      const hmac = await c.hmacInit(id, "sha256");
      await hmac.update(Buffer.from("before"));
      const digest = await c.digestInit("sha1");
      await app.restart();
      expect(await outcome(hmac.update(Buffer.from("after")))).toBe("CONTEXT_LOST");
      expect(await outcome(hmac.final())).toBe("CONTEXT_LOST");
      expect(await outcome(digest.final())).toBe("CONTEXT_LOST");
      const fresh = await c.hmacInit(id, "sha256");
      await fresh.update(data);
      expect((await fresh.final()).equals(await c.hmac(id, "sha256", data))).toBe(true);
    } finally {
      c.close();
    }
  });

  test("a client without reconnection reports CONNECTION_LOST after a restart", async () => {
    const c = await app.client(C, "alice", PIN);
    try {
      await app.restart();
      expect(await outcome(c.ping())).toBe("CONNECTION_LOST");
    } finally {
      c.close();
    }
  });
});

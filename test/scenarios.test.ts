/**
 * The original system's test scenarios (OSLL/vhsm, see /work/shared/REFERENCE.md), run against the real
 * appliance on its socket. Raw `client.call` is used where the agent library would refuse the request
 * itself, so that the appliance's own answer is what gets checked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { VhsmClient } from "../agent/index.ts";
import { HashAlg, MESSAGES, type MessageName, type Request } from "../protocol/messages.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslHmac } from "./support/openssl.ts";

let app: TestAppliance;
let client: VhsmClient;
const PIN = "scenario-pin";

/** The status name a promise rejects with, or "OK". */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** A request with every field zero/empty except those given, so it keeps compiling as messages grow fields. */
function request<N extends MessageName>(name: N, fields: Partial<Request<N>>): Request<N> {
  const zero = { bytes: new Uint8Array(0), str: "", strs: [] } as Record<string, unknown>;
  const blank = Object.fromEntries(
    Object.entries(MESSAGES[name].request).map(([field, type]) => [field, zero[type] ?? 0]),
  );
  return { ...blank, ...fields } as Request<N>;
}

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("scen", "alice", PIN);
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

describe("key management", () => {
  test("importing or generating under an id that is taken fails with KEY_ID_OCCUPIED and keeps the old key", async () => {
    const secret = randomBytes(32);
    await client.keys.import(secret, { id: "dup-key" });
    expect(await outcome(client.keys.import(randomBytes(32), { id: "dup-key" }))).toBe("KEY_ID_OCCUPIED");
    expect(await outcome(client.keys.generate({ id: "dup-key" }))).toBe("KEY_ID_OCCUPIED");
    const data = Buffer.from("still the first key");
    expect((await client.hmac("dup-key", "sha256", data)).toString("hex")).toBe(
      opensslHmac("sha256", secret, data),
    );
  });

  test("a generated key gets a fresh id when none is given", async () => {
    const a = await client.keys.generate();
    const b = await client.keys.generate();
    expect(a).not.toBe(b);
    expect(await client.keys.list()).toEqual(expect.arrayContaining([a, b]));
  });

  test("the key count follows generate, import and delete", async () => {
    const before = await client.keys.count();
    const ids = [await client.keys.generate(), await client.keys.generate(), await client.keys.generate()];
    expect(await client.keys.count()).toBe(before + 3);
    await client.keys.delete(ids[1]!);
    expect(await client.keys.count()).toBe(before + 2);
    expect(await client.keys.list()).not.toContain(ids[1]);
    expect(await outcome(client.keys.delete(ids[1]!))).toBe("KEY_NOT_FOUND");
    expect(await outcome(client.hmac(ids[1]!, "sha256", Buffer.from("x")))).toBe("KEY_NOT_FOUND");
    expect(await outcome(client.keys.info(ids[1]!))).toBe("KEY_NOT_FOUND");
    expect(await client.keys.count()).toBe(before + 2);
  });

  test("a deleted id can be reused for a new key, which is a different key", async () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    await client.keys.import(first, { id: "reused" });
    await client.hmac("reused", "sha1", Buffer.from("warm the cache"));
    await client.keys.delete("reused");
    await client.keys.import(second, { id: "reused" });
    const data = Buffer.from("which key?");
    expect((await client.hmac("reused", "sha1", data)).toString("hex")).toBe(
      opensslHmac("sha1", second, data),
    );
  });

  test("key info reports type, bits and creation time; use count and last use follow HMACs", async () => {
    const t0 = Date.now();
    const id = await client.keys.generate({ bits: 384 });
    const fresh = await client.keys.info(id);
    expect(fresh).toMatchObject({ id, type: "hmac", bits: 384, version: 1, useCount: 0, lastUsed: null });
    expect(fresh.usage).toContain("mac");
    expect(fresh.created.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    expect(fresh.created.getTime()).toBeLessThanOrEqual(Date.now());

    const imported = await client.keys.import(randomBytes(20));
    expect((await client.keys.info(imported)).bits).toBe(160);

    const t1 = Date.now();
    for (let i = 0; i < 3; i++) await client.hmac(id, "sha256", Buffer.from(`m${i}`));
    await client.hmacVerify(id, "sha256", Buffer.from("m"), Buffer.alloc(32));
    const used = await client.keys.info(id);
    expect(used.useCount).toBe(4);
    expect(used.lastUsed!.getTime()).toBeGreaterThanOrEqual(t1);
    expect(used.lastUsed!.getTime()).toBeLessThanOrEqual(Date.now());
    // counts reach the store in batches; after a flush they must still be exact
    await Bun.sleep(1100);
    expect((await client.keys.info(id)).useCount).toBe(4);
    await client.hmac(id, "sha256", Buffer.from("one more"));
    expect((await client.keys.info(id)).useCount).toBe(5);
  });

  test("listing pages through every key when there are more than one page", async () => {
    const other = await app.setupClient("scen", "lister", "lister-pin");
    try {
      const ids = Array.from({ length: 7 }, (_, i) => `page-${String(i).padStart(2, "0")}`);
      for (const id of ids) await other.keys.generate({ id });
      const seen: string[] = [];
      let after = "";
      let pages = 0;
      for (;;) {
        const page = await other.call("KEY_LIST", { after, limit: 3 });
        pages++;
        expect(page.ids.length).toBeLessThanOrEqual(3);
        seen.push(...page.ids);
        if (!page.more) break;
        after = page.ids[page.ids.length - 1]!;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(ids);
      expect(await other.keys.list()).toEqual(ids);
      const last = await other.call("KEY_LIST", { after: "page-06", limit: 3 });
      expect(last).toEqual({ ids: [], more: 0 });
    } finally {
      other.close();
    }
  });

  test("invalid key ids are refused with BAD_ARGUMENTS by every key operation", async () => {
    const bad = [" ", "-leading-dash", "has space", "a/b", "../etc", "x".repeat(65), "ключ", "a\0b"];
    for (const id of bad) {
      expect([id, await outcome(client.keys.generate({ id }))]).toEqual([id, "BAD_ARGUMENTS"]);
      expect([id, await outcome(client.keys.import(randomBytes(16), { id }))]).toEqual([id, "BAD_ARGUMENTS"]);
      expect([id, await outcome(client.keys.info(id))]).toEqual([id, "BAD_ARGUMENTS"]);
      expect([id, await outcome(client.keys.delete(id))]).toEqual([id, "BAD_ARGUMENTS"]);
      expect([id, await outcome(client.hmac(id, "sha256", Buffer.from("x")))]).toEqual([id, "BAD_ARGUMENTS"]);
    }
    expect(await outcome(client.keys.info(""))).toBe("BAD_ARGUMENTS");
    expect(await outcome(client.keys.generate({ id: "x".repeat(64) }))).toBe("OK");
  });

  test("key sizes out of range are refused with BAD_ARGUMENTS", async () => {
    const before = await client.keys.count();
    for (const bits of [8, 127, 129, 4104]) {
      expect([bits, await outcome(client.keys.generate({ bits }))]).toEqual([bits, "BAD_ARGUMENTS"]);
    }
    expect(await outcome(client.keys.import(new Uint8Array(0)))).toBe("BAD_ARGUMENTS");
    expect(await outcome(client.keys.import(randomBytes(1025)))).toBe("BAD_ARGUMENTS");
    expect(await client.keys.count()).toBe(before);
  });
});

describe("unsupported mechanisms", () => {
  test("an unknown key type is refused with UNSUPPORTED_MECHANISM", async () => {
    const before = await client.keys.count();
    expect(await outcome(client.call("KEY_GENERATE", request("KEY_GENERATE", { type: 200 })))).toBe(
      "UNSUPPORTED_MECHANISM",
    );
    expect(
      await outcome(client.call("KEY_IMPORT", request("KEY_IMPORT", { type: 0, secret: randomBytes(32) }))),
    ).toBe("UNSUPPORTED_MECHANISM");
    expect(await client.keys.count()).toBe(before);
  });

  test("an unknown hash algorithm number is refused with UNSUPPORTED_MECHANISM by digest and HMAC", async () => {
    const id = await client.keys.generate();
    const data = Buffer.from("abc");
    for (const alg of [0, 5, 255]) {
      expect(await outcome(client.call("DIGEST", { alg, data }))).toBe("UNSUPPORTED_MECHANISM");
      expect(await outcome(client.call("DIGEST_INIT", { alg }))).toBe("UNSUPPORTED_MECHANISM");
      expect(await outcome(client.call("HMAC", { keyId: id, alg, data }))).toBe("UNSUPPORTED_MECHANISM");
      expect(await outcome(client.call("HMAC_INIT", { keyId: id, alg }))).toBe("UNSUPPORTED_MECHANISM");
      expect(await outcome(client.call("HMAC_VERIFY", { keyId: id, alg, data, mac: Buffer.alloc(32) }))).toBe(
        "UNSUPPORTED_MECHANISM",
      );
    }
  });

  test("HMAC_VERIFY with a MAC of the wrong length is refused with BAD_ARGUMENTS", async () => {
    const id = await client.keys.generate();
    const call = client.call("HMAC_VERIFY", {
      keyId: id,
      alg: HashAlg.SHA256,
      data: Buffer.from("abc"),
      mac: Buffer.alloc(20),
    });
    expect(await outcome(call)).toBe("BAD_ARGUMENTS");
  });
});

describe("sessions", () => {
  test("every keyed or crypto operation without a login fails with NOT_LOGGED_IN", async () => {
    const anon = await VhsmClient.connect({ socket: app.socketOf("scen"), reconnectTimeoutMs: 0 });
    try {
      const id = await client.keys.generate();
      const data = Buffer.from("abc");
      const calls: Promise<unknown>[] = [
        anon.keys.generate(),
        anon.keys.import(randomBytes(32)),
        anon.keys.delete(id),
        anon.keys.list(),
        anon.keys.count(),
        anon.keys.info(id),
        anon.hmac(id, "sha256", data),
        anon.hmacInit(id, "sha256"),
        anon.hmacVerify(id, "sha256", data, Buffer.alloc(32)),
        anon.call("HMAC_UPDATE", { ctx: 1, data }),
        anon.call("HMAC_FINAL", { ctx: 1 }),
        anon.digest("sha256", data),
        anon.digestInit("sha256"),
        anon.random(16),
        anon.call("LOGOUT", {}),
        anon.call("PIN_CHANGE", { oldPin: Buffer.from(PIN), newPin: Buffer.from("new-pin-1") }),
      ];
      for (const c of calls) expect(await outcome(c)).toBe("NOT_LOGGED_IN");
      await anon.ping(); // the connection itself stays usable
      expect(await client.keys.info(id)).toMatchObject({ id, useCount: 0 });
    } finally {
      anon.close();
    }
  });

  test("logging in twice on one connection fails with ALREADY_LOGGED_IN and keeps the session", async () => {
    const c = await app.client("scen", "alice", PIN);
    try {
      expect(await outcome(c.call("LOGIN", { user: "alice", pin: Buffer.from(PIN) }))).toBe(
        "ALREADY_LOGGED_IN",
      );
      expect(await outcome(c.call("LOGIN", { user: "lister", pin: Buffer.from("lister-pin") }))).toBe(
        "ALREADY_LOGGED_IN",
      );
      expect(await c.keys.count()).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  });

  test("after logout, operations fail with NOT_LOGGED_IN and a new login on the same connection works", async () => {
    const c = await app.client("scen", "alice", PIN);
    try {
      const id = await c.keys.generate();
      await c.logout();
      expect(await outcome(c.hmac(id, "sha1", Buffer.from("x")))).toBe("NOT_LOGGED_IN");
      expect(await outcome(c.call("LOGOUT", {}))).toBe("NOT_LOGGED_IN");
      await c.call("LOGIN", { user: "alice", pin: Buffer.from(PIN) });
      expect((await c.hmac(id, "sha1", Buffer.from("x"))).length).toBe(20);
    } finally {
      c.close();
    }
  });

  test("logout drops the connection's streaming contexts", async () => {
    const c = await app.client("scen", "alice", PIN);
    try {
      const ctx = (await c.call("DIGEST_INIT", { alg: HashAlg.SHA256 })).ctx;
      await c.logout();
      await c.call("LOGIN", { user: "alice", pin: Buffer.from(PIN) });
      expect(await outcome(c.call("DIGEST_UPDATE", { ctx, data: Buffer.from("x") }))).toBe("NOT_INITIALISED");
    } finally {
      c.close();
    }
  });

  test("requests before HELLO fail with BAD_SESSION", async () => {
    // a raw socket: the agent library always says HELLO first
    const { encodeFrame, decodeBody } = await import("../protocol/codec.ts");
    const { FrameReader } = await import("../protocol/frame.ts");
    const { ERROR_BODY, MESSAGES } = await import("../protocol/messages.ts");
    const frames: { status: number; body: Uint8Array }[] = [];
    const reader = new FrameReader(1 << 20, (f) => frames.push({ status: f.status, body: f.body.slice() }));
    const sock = await Bun.connect({
      unix: app.socketOf("scen"),
      socket: { data: (_s, chunk) => reader.push(chunk) },
    });
    sock.write(encodeFrame(MESSAGES.RANDOM.opcode, 0, 0, 7, MESSAGES.RANDOM.request, { length: 4 }));
    const deadline = Date.now() + 2000;
    while (frames.length === 0 && Date.now() < deadline) await Bun.sleep(5);
    sock.end();
    expect(frames[0]!.status).toBe(2); // BAD_SESSION
    expect(decodeBody(ERROR_BODY, frames[0]!.body).message).toContain("HELLO");
  });
});

describe("streaming contexts", () => {
  test("a second final on an HMAC context fails with NOT_INITIALISED", async () => {
    const id = await client.keys.generate();
    const { ctx } = await client.call("HMAC_INIT", { keyId: id, alg: HashAlg.SHA256 });
    await client.call("HMAC_UPDATE", { ctx, data: Buffer.from("abc") });
    const mac = (await client.call("HMAC_FINAL", { ctx })).mac;
    const oneShot = await client.hmac(id, "sha256", Buffer.from("abc"));
    expect(Buffer.from(mac).toString("hex")).toBe(oneShot.toString("hex"));
    expect(await outcome(client.call("HMAC_FINAL", { ctx }))).toBe("NOT_INITIALISED");
  });

  test("a second final on a digest context fails with NOT_INITIALISED", async () => {
    const { ctx } = await client.call("DIGEST_INIT", { alg: HashAlg.SHA1 });
    await client.call("DIGEST_FINAL", { ctx });
    expect(await outcome(client.call("DIGEST_FINAL", { ctx }))).toBe("NOT_INITIALISED");
  });

  test("an update on a finished context fails with NOT_INITIALISED", async () => {
    const id = await client.keys.generate();
    const h = await client.call("HMAC_INIT", { keyId: id, alg: HashAlg.SHA1 });
    await client.call("HMAC_FINAL", { ctx: h.ctx });
    expect(await outcome(client.call("HMAC_UPDATE", { ctx: h.ctx, data: Buffer.from("x") }))).toBe(
      "NOT_INITIALISED",
    );
    const d = await client.call("DIGEST_INIT", { alg: HashAlg.SHA1 });
    await client.call("DIGEST_FINAL", { ctx: d.ctx });
    expect(await outcome(client.call("DIGEST_UPDATE", { ctx: d.ctx, data: Buffer.from("x") }))).toBe(
      "NOT_INITIALISED",
    );
  });

  test("the agent's stream objects refuse use after final too", async () => {
    const id = await client.keys.generate();
    const stream = await client.hmacInit(id, "sha256");
    await stream.final();
    expect(await outcome(stream.final())).toBe("NOT_INITIALISED");
    expect(await outcome(stream.update(Buffer.from("x")))).toBe("NOT_INITIALISED");
  });

  test("context ids that were never opened, or of the other kind, fail with NOT_INITIALISED", async () => {
    expect(await outcome(client.call("HMAC_UPDATE", { ctx: 999_999, data: Buffer.from("x") }))).toBe(
      "NOT_INITIALISED",
    );
    const d = await client.call("DIGEST_INIT", { alg: HashAlg.SHA256 });
    expect(await outcome(client.call("HMAC_FINAL", { ctx: d.ctx }))).toBe("NOT_INITIALISED");
    await client.call("DIGEST_FINAL", { ctx: d.ctx }); // still open: the wrong-kind call did not touch it
  });

  test("at most 64 contexts are open per connection: the 65th fails with LIMIT_EXCEEDED until one is finalised", async () => {
    const c = await app.client("scen", "alice", PIN);
    try {
      const id = await c.keys.generate();
      const ctxs: number[] = [];
      for (let i = 0; i < 32; i++) ctxs.push((await c.call("DIGEST_INIT", { alg: HashAlg.SHA256 })).ctx);
      for (let i = 0; i < 32; i++)
        ctxs.push((await c.call("HMAC_INIT", { keyId: id, alg: HashAlg.SHA256 })).ctx);
      expect(new Set(ctxs).size).toBe(64);
      expect(await outcome(c.call("DIGEST_INIT", { alg: HashAlg.SHA256 }))).toBe("LIMIT_EXCEEDED");
      expect(await outcome(c.call("HMAC_INIT", { keyId: id, alg: HashAlg.SHA256 }))).toBe("LIMIT_EXCEEDED");
      // one-shot operations need no context and keep working
      expect((await c.hmac(id, "sha256", Buffer.from("x"))).length).toBe(32);
      // the limit is per connection, not per user
      const second = await app.client("scen", "alice", PIN);
      try {
        await second.call("DIGEST_INIT", { alg: HashAlg.SHA1 });
      } finally {
        second.close();
      }
      await c.call("DIGEST_FINAL", { ctx: ctxs[0]! });
      const again = await c.call("DIGEST_INIT", { alg: HashAlg.SHA256 });
      expect(ctxs.slice(1)).not.toContain(again.ctx);
      expect(await outcome(c.call("DIGEST_INIT", { alg: HashAlg.SHA256 }))).toBe("LIMIT_EXCEEDED");
    } finally {
      c.close();
    }
  });
});

describe("random", () => {
  test("returns exactly the requested length, from 0 up to 1 MiB", async () => {
    for (const n of [0, 1, 32, 4096, 1024 * 1024]) expect((await client.random(n)).length).toBe(n);
  });

  test("more than 1 MiB is refused with BAD_ARGUMENTS", async () => {
    expect(await outcome(client.random(1024 * 1024 + 1))).toBe("BAD_ARGUMENTS");
    expect(await outcome(client.random(0xffffffff))).toBe("BAD_ARGUMENTS");
  });

  test("two draws differ", async () => {
    expect((await client.random(32)).equals(await client.random(32))).toBe(false);
  });
});

/**
 * Hostile and broken input on raw sockets against the real appliance. Every case checks the specific
 * answer (status, opcode, request id, whether the connection stays open), and afterwards that a
 * well-behaved client on another connection still gets correct HMACs and that no key appeared or vanished.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { VhsmClient } from "../agent/index.ts";
import { encodeFrame, encodeRequest } from "../protocol/codec.ts";
import { DEFAULT_MAX_BODY, FLAG_RESPONSE, type Frame, HEADER_SIZE, writeHeader } from "../protocol/frame.ts";
import { HashAlg, MESSAGES, PROTOCOL_VERSION, type Schema } from "../protocol/messages.ts";
import { Status, type StatusName } from "../protocol/status.ts";
import type { VectorFile } from "../scripts/gen-vectors.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { RawConnection, rawSession, responseBody } from "./support/raw-socket.ts";

const VECTORS = JSON.parse(readFileSync(`${import.meta.dir}/vectors/messages.json`, "utf8")) as VectorFile;
const KEY = "bad-input-key";
const SECRET = randomBytes(32);
const PIN = "1234-pin";
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const hello = { minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, client: "bad-input" };

/** A well-behaved client with a known key, on its own connection, watching for collateral damage. */
interface Bystander {
  app: TestAppliance;
  client: VhsmClient;
  keyCount: number;
}

async function bystanderOn(appliance: TestAppliance, container: string, user: string): Promise<Bystander> {
  const c = await appliance.setupClient(container, user, PIN);
  await c.keys.import(SECRET, { id: KEY });
  return { app: appliance, client: c, keyCount: await c.keys.count() };
}

let app: TestAppliance;
let main: Bystander;
let client: VhsmClient;

beforeAll(async () => {
  app = await startTestAppliance();
  main = await bystanderOn(app, "web", "alice");
  client = main.client;
  await app.addUser("web", "bob", PIN);
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

/** The appliance is alive, computes correct HMACs for the well-behaved client, and has the same keys. */
async function expectUnharmed(b: Bystander = main): Promise<void> {
  expect(b.app.proc?.exitCode ?? null).toBeNull();
  const data = randomBytes(200);
  expect(Buffer.from(await b.client.hmac(KEY, "sha256", data))).toEqual(
    createHmac("sha256", SECRET).update(data).digest(),
  );
  expect(await b.client.keys.count()).toBe(b.keyCount);
}

function header(fields: {
  opcode: number;
  bodyLength: number;
  flags?: number;
  requestId?: number;
}): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  writeHeader(h, { flags: 0, status: 0, requestId: 1, ...fields });
  return h;
}

function expectError(frame: Frame | undefined, status: StatusName, opcode: number, requestId: number): void {
  expect(frame).toBeDefined();
  expect({ status: frame!.status, opcode: frame!.opcode, requestId: frame!.requestId }).toEqual({
    status: Status[status],
    opcode,
    requestId,
  });
  expect(frame!.flags & FLAG_RESPONSE).toBe(FLAG_RESPONSE);
  expect(String(responseBody(frame!).message).length).toBeGreaterThan(0);
}

/** Sends `bytes` on a fresh connection (after HELLO when `afterHello`) and expects error frame + close. */
async function expectFatal(
  bytes: Uint8Array,
  status: StatusName,
  afterHello = false,
  path = app.socketOf("web"),
) {
  const conn = afterHello ? await rawSession(path) : await RawConnection.open(path);
  const from = conn.frames.length;
  conn.write(bytes);
  await conn.waitClosed();
  const answers = conn.frames.slice(from);
  expect(answers).toHaveLength(1);
  // the stream is unusable: the answer names no request
  expectError(answers[0], status, 0, 0);
}

describe("header-level errors: one error frame, then the connection is closed", () => {
  const headerCases = VECTORS.invalid.filter((v) => v.level === "header" && v.maxBody === undefined);
  test.each(headerCases.map((v) => [v.name, v] as const))("vector: %s", async (_, v) => {
    await expectFatal(hex(v.hex), v.expect);
    await expectUnharmed();
  });

  test("garbage bytes", async () => {
    const garbage = randomBytes(64);
    garbage[0] = 0x00; // never "V"
    await expectFatal(garbage, "BAD_FRAME");
    await expectFatal(garbage, "BAD_FRAME", true);
    await expectUnharmed();
  });

  test("a body length one over the default limit is refused before any body is sent", async () => {
    await expectFatal(
      header({ opcode: MESSAGES.DIGEST.opcode, bodyLength: DEFAULT_MAX_BODY + 1 }),
      "FRAME_TOO_LARGE",
    );
    await expectUnharmed();
  });

  test("a response-flagged frame from the client", async () => {
    const frame = encodeFrame(MESSAGES.PING.opcode, FLAG_RESPONSE, 0, 9, {}, {});
    await expectFatal(frame, "BAD_FRAME", true);
    await expectUnharmed();
  });

  test("wrong wire version in the middle of a session", async () => {
    const frame = encodeRequest("PING", 5, {});
    frame[2] = PROTOCOL_VERSION + 1;
    await expectFatal(frame, "UNSUPPORTED_VERSION", true);
    await expectUnharmed();
  });

  test("requests before the bad frame in the same write are still answered", async () => {
    const conn = await rawSession(app.socketOf("web"));
    conn.write(Buffer.concat([encodeRequest("PING", 77, {}), Buffer.from("garbage!garbage!")]));
    await conn.waitClosed();
    const [ping, fatal] = conn.frames.slice(1);
    expect({ status: ping!.status, requestId: ping!.requestId }).toEqual({
      status: Status.OK,
      requestId: 77,
    });
    expectError(fatal, "BAD_FRAME", 0, 0);
    await expectUnharmed();
  });

  test("a client slow to read still gets every answer, then the error frame, before the close", async () => {
    const conn = await rawSession(app.socketOf("web"), "bob", PIN);
    conn.pause();
    // 3 MiB of answers cannot fit in the socket: they queue in the appliance when the bad frame comes
    // (more than 4 MiB would stop the reading of requests until the client takes them: limits.test.ts)
    for (let i = 0; i < 3; i++) conn.send("RANDOM", 100 + i, { length: 1024 * 1024 });
    conn.write(Buffer.from("garbage!garbage!"));
    await Bun.sleep(300);
    expect(await bobLoggedIn()).toBe(false); // the session ended at the bad frame, not when the bytes left
    conn.resume();
    await conn.waitClosed();
    const answers = conn.frames.slice(2);
    expect(answers.map((f) => [f.requestId, f.status, f.body.length])).toEqual([
      ...Array.from({ length: 3 }, (_, i) => [100 + i, Status.OK, 4 + 1024 * 1024]),
      [0, Status.BAD_FRAME, answers.at(-1)!.body.length],
    ]);
    expectError(answers.at(-1), "BAD_FRAME", 0, 0);
    await expectUnharmed();
  });

  test("a logged-in session ended by a bad frame releases the user's keys", async () => {
    const conn = await rawSession(app.socketOf("web"), "bob", PIN);
    expect(await bobLoggedIn()).toBe(true);
    conn.write(randomBytes(20).fill(0x41));
    await conn.waitClosed();
    await waitFor(async () => !(await bobLoggedIn()), "bob's vault to close");
    await expectUnharmed();
  });
});

describe("cut-off input: the appliance drops it silently", () => {
  test.each([
    ["half a header", encodeRequest("PING", 1, {}).subarray(0, 8)],
    [
      "a header and part of its body",
      encodeRequest("HMAC", 1, { keyId: KEY, alg: 2, data: randomBytes(100) }).subarray(0, 60),
    ],
    [
      "a header promising a large body, then nothing",
      header({ opcode: MESSAGES.DIGEST.opcode, bodyLength: 1 << 20 }),
    ],
  ] as const)("%s, then close", async (_, bytes) => {
    const conn = await rawSession(app.socketOf("web"), "bob", PIN);
    conn.write(bytes);
    await Bun.sleep(20);
    conn.end();
    await conn.waitClosed();
    expect(conn.frames).toHaveLength(2); // HELLO and LOGIN only
    await waitFor(async () => !(await bobLoggedIn()), "bob's vault to close");
    await expectUnharmed();
  });

  test("closing while LOGIN is still deriving its key does not leave the user's keys open", async () => {
    for (let i = 0; i < 3; i++) {
      const conn = await RawConnection.open(app.socketOf("web"));
      conn.write(
        Buffer.concat([
          encodeRequest("HELLO", 1, hello),
          encodeRequest("LOGIN", 2, { user: "bob", pin: utf8(PIN) }),
        ]),
      );
      await Bun.sleep(1);
      conn.end();
      await conn.waitClosed();
      await Bun.sleep(200); // longer than the KDF at --kdf-log-n 12
      expect(await bobLoggedIn()).toBe(false);
    }
    await expectUnharmed();
  });
});

describe("request-level errors: an error response, and the connection stays usable", () => {
  test("unknown opcode, before and after HELLO", async () => {
    const conn = await RawConnection.open(app.socketOf("web"));
    conn.write(header({ opcode: 0x7ffe, bodyLength: 0, requestId: 0xdeadbeef }));
    expectError((await conn.next())[0], "UNKNOWN_OPCODE", 0x7ffe, 0xdeadbeef);
    expect((await conn.call("HELLO", 2, hello)).status).toBe(Status.OK);
    conn.write(Buffer.concat([header({ opcode: 0xffff, bodyLength: 3, requestId: 3 }), Buffer.from("abc")]));
    expectError((await conn.next())[0], "UNKNOWN_OPCODE", 0xffff, 3);
    expect((await conn.call("PING", 4, {})).status).toBe(Status.OK);
    expect(conn.closed).toBe(false);
    await expectUnharmed();
  });

  test("requests before HELLO answer BAD_SESSION; HELLO then works", async () => {
    const conn = await RawConnection.open(app.socketOf("web"));
    expectError(await conn.call("PING", 1, {}), "BAD_SESSION", MESSAGES.PING.opcode, 1);
    expectError(
      await conn.call("LOGIN", 2, { user: "bob", pin: utf8(PIN) }),
      "BAD_SESSION",
      MESSAGES.LOGIN.opcode,
      2,
    );
    expectError(await conn.call("KEY_COUNT", 3, {}), "BAD_SESSION", MESSAGES.KEY_COUNT.opcode, 3);
    const ok = await conn.call("HELLO", 4, hello);
    expect(responseBody(ok).container).toBe("web");
    expect((await conn.call("LOGIN", 5, { user: "bob", pin: utf8(PIN) })).status).toBe(Status.OK);
    conn.end();
    await expectUnharmed();
  });

  test("HELLO with no common version answers UNSUPPORTED_VERSION and may be retried", async () => {
    const conn = await RawConnection.open(app.socketOf("web"));
    const bad = await conn.call("HELLO", 1, {
      minVersion: PROTOCOL_VERSION + 1,
      maxVersion: 200,
      client: "future",
    });
    expectError(bad, "UNSUPPORTED_VERSION", MESSAGES.HELLO.opcode, 1);
    expect((await conn.call("HELLO", 2, hello)).status).toBe(Status.OK);
    conn.end();
    await expectUnharmed();
  });

  const bodyCases = VECTORS.invalid.filter((v) => v.level === "body" && v.direction === "request");
  test.each(bodyCases.map((v) => [v.name, v] as const))("vector: %s → BAD_ARGUMENTS", async (_, v) => {
    const conn = await rawSession(app.socketOf("web"), "bob", PIN);
    const frame = hex(v.hex);
    new DataView(frame.buffer).setUint32(8, 0x42424242);
    conn.write(frame);
    expectError((await conn.next())[0], "BAD_ARGUMENTS", MESSAGES[v.message!].opcode, 0x42424242);
    // the same connection still works, logged in
    expect((await conn.call("KEY_COUNT", 9, {})).status).toBe(Status.OK);
    conn.end();
    await expectUnharmed();
  });

  test("a malformed KEY_IMPORT (trailing byte, truncated secret, bad UTF-8 id) stores nothing", async () => {
    const conn = await rawSession(app.socketOf("web"), "alice", PIN);
    const good = encodeRequest("KEY_IMPORT", 1, sampleImport() as never);
    const trailing = Buffer.concat([good, Buffer.from([0])]);
    new DataView(trailing.buffer, trailing.byteOffset).setUint32(12, good.length - HEADER_SIZE + 1);
    const truncated = good.slice(0, good.length - 3);
    new DataView(truncated.buffer).setUint32(12, truncated.length - HEADER_SIZE);
    const badUtf8 = good.slice();
    badUtf8[HEADER_SIZE + 2] = 0xff; // first byte of the id
    for (const [i, frame] of [trailing, truncated, badUtf8].entries()) {
      new DataView(frame.buffer, frame.byteOffset).setUint32(8, 100 + i);
      conn.write(frame);
      expectError((await conn.next())[0], "BAD_ARGUMENTS", MESSAGES.KEY_IMPORT.opcode, 100 + i);
    }
    conn.end();
    await expectUnharmed();
    expect((await client.keys.list()).includes("not-stored")).toBe(false);
  });
});

describe("pipelining", () => {
  test("many requests in one write with shuffled ids each get their own, correct response", async () => {
    const conn = await RawConnection.open(app.socketOf("web"));
    const ids = shuffledIds(300);
    const expected = new Map<number, { opcode: number; status: number; check?: (f: Frame) => void }>();
    const parts: Uint8Array[] = [];
    const add = (id: number, frame: Uint8Array, status: number, check?: (f: Frame) => void) => {
      parts.push(frame);
      expected.set(id, { opcode: new DataView(frame.buffer, frame.byteOffset).getUint16(4), status, check });
    };
    add(ids[0]!, encodeRequest("KEY_COUNT", ids[0]!, {}), Status.BAD_SESSION);
    add(ids[1]!, encodeRequest("HELLO", ids[1]!, hello), Status.OK);
    add(ids[2]!, encodeRequest("KEY_COUNT", ids[2]!, {}), Status.NOT_LOGGED_IN);
    add(ids[3]!, encodeRequest("LOGIN", ids[3]!, { user: "alice", pin: utf8(PIN) }), Status.OK);
    for (const id of ids.slice(4)) {
      const data = randomBytes(id % 97);
      switch (id % 5) {
        case 0:
          add(id, encodeRequest("HMAC", id, { keyId: KEY, alg: HashAlg.SHA256, data }), Status.OK, (f) =>
            expect(Buffer.from(responseBody(f).mac as Uint8Array)).toEqual(
              createHmac("sha256", SECRET).update(data).digest(),
            ),
          );
          break;
        case 1:
          add(id, encodeRequest("DIGEST", id, { alg: HashAlg.SHA1, data }), Status.OK, (f) =>
            expect(Buffer.from(responseBody(f).digest as Uint8Array)).toEqual(
              createHash("sha1").update(data).digest(),
            ),
          );
          break;
        case 2:
          add(id, encodeRequest("KEY_COUNT", id, {}), Status.OK, (f) =>
            expect(responseBody(f).count).toBe(main.keyCount),
          );
          break;
        case 3:
          add(id, header({ opcode: 0x7abc, bodyLength: 0, requestId: id }), Status.UNKNOWN_OPCODE);
          break;
        default:
          add(
            id,
            encodeRequest("HMAC", id, { keyId: "no-such-key", alg: HashAlg.SHA256, data }),
            Status.KEY_NOT_FOUND,
          );
      }
    }
    conn.write(Buffer.concat(parts));
    const frames = await conn.next(ids.length, 0, 10_000);
    await Bun.sleep(50);
    expect(conn.frames).toHaveLength(ids.length); // nothing answered twice
    const seen = new Set<number>();
    for (const f of frames) {
      const want = expected.get(f.requestId);
      expect(want).toBeDefined();
      expect(seen.has(f.requestId)).toBe(false);
      seen.add(f.requestId);
      expect({ id: f.requestId, opcode: f.opcode, status: f.status }).toEqual({
        id: f.requestId,
        opcode: want!.opcode,
        status: want!.status,
      });
      want!.check?.(f);
    }
    conn.end();
    await expectUnharmed();
  });
});

describe("a flood pipelined behind a slow LOGIN", () => {
  let slow: TestAppliance;
  let watcher: Bystander;
  beforeAll(async () => {
    // a realistic KDF cost, so LOGIN takes long enough for a client to send a lot behind it
    slow = await startTestAppliance({ args: ["--kdf-log-n", "15"] });
    watcher = await bystanderOn(slow, "flood", "erin");
    await slow.addUser("flood", "dave", PIN);
  });
  afterAll(async () => {
    watcher?.client.close();
    await slow?.dispose();
  });

  test("is not buffered without limit: the appliance stops reading until LOGIN is done, then serves it all", async () => {
    const conn = await RawConnection.open(slow.socketOf("flood"));
    const data = randomBytes(60_000);
    const digest = encodeRequest("DIGEST", 3, { alg: HashAlg.SHA256, data });
    const count = 3000; // 180 MB
    conn.write(
      Buffer.concat([
        encodeRequest("HELLO", 1, hello),
        encodeRequest("LOGIN", 2, { user: "dave", pin: utf8(PIN) }),
      ]),
    );
    const burst = Buffer.concat(Array.from({ length: 100 }, () => digest));
    for (let i = 0; i < count / 100; i++) conn.write(burst);
    await conn.next(2, 0, 10_000);
    const acceptedDuringLogin = conn.accepted;
    expect(conn.frames[1]!.status).toBe(Status.OK);
    // 4 MiB held behind the barrier, plus socket buffers and the chunk being cut; not the whole flood
    expect(acceptedDuringLogin).toBeLessThan(32 * 1024 * 1024);
    const answers = await conn.next(count, 2, 30_000);
    const want = createHash("sha256").update(data).digest("hex");
    expect(
      answers.every(
        (f) =>
          f.status === Status.OK &&
          Buffer.from(responseBody(f).digest as Uint8Array).toString("hex") === want,
      ),
    ).toBe(true);
    conn.end();
    await expectUnharmed(watcher);
  }, 60_000);
});

describe("a configured frame limit (--max-frame 4096)", () => {
  let small: TestAppliance;
  let watcher: Bystander;
  beforeAll(async () => {
    small = await startTestAppliance({ args: ["--max-frame", "4096"] });
    watcher = await bystanderOn(small, "tiny", "frank");
    await small.addUser("tiny", "carol", PIN);
  });
  afterAll(async () => {
    watcher?.client.close();
    await small?.dispose();
  });

  test("HELLO announces it, a body of exactly 4096 bytes is served, 4097 is refused and closes", async () => {
    const conn = await RawConnection.open(small.socketOf("tiny"));
    expect(responseBody(await conn.call("HELLO", 1, hello)).maxFrame).toBe(4096);
    expect((await conn.call("LOGIN", 2, { user: "carol", pin: utf8(PIN) })).status).toBe(Status.OK);
    const data = randomBytes(4096 - 1 - 4); // alg u8 + bytes length u32 + data = 4096
    const digest = await conn.call("DIGEST", 3, { alg: HashAlg.SHA256, data });
    expect(Buffer.from(responseBody(digest).digest as Uint8Array)).toEqual(
      createHash("sha256").update(data).digest(),
    );
    conn.end();

    const vector = VECTORS.invalid.find((v) => v.maxBody === 4096)!;
    await expectFatal(hex(vector.hex), vector.expect, false, small.socketOf("tiny"));
    await expectFatal(
      encodeRequest("DIGEST", 4, { alg: HashAlg.SHA256, data: randomBytes(4092) }),
      "FRAME_TOO_LARGE",
      true,
      small.socketOf("tiny"),
    );
    await expectUnharmed(watcher);
  });
});

function sampleImport(): Record<string, unknown> {
  // every field of KEY_IMPORT whatever the table holds: id and secret set, the rest zero (= defaults)
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(MESSAGES.KEY_IMPORT.request as Schema)) {
    out[name] = type === "str" ? "not-stored" : type === "bytes" ? randomBytes(32) : type === "strs" ? [] : 0;
  }
  out.type = 1;
  if ("format" in out) out.format = 1;
  return out;
}

function shuffledIds(n: number): number[] {
  const ids = new Set<number>();
  while (ids.size < n) ids.add(randomBytes(4).readUInt32BE());
  return [...ids];
}

async function bobLoggedIn(): Promise<boolean> {
  const users = (await app.admin("GET", "/v1/containers/web/users")).json as {
    name: string;
    loggedIn: boolean;
  }[];
  return users.find((u) => u.name === "bob")!.loggedIn;
}

async function waitFor(ok: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

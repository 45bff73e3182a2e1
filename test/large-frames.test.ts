/**
 * Large requests arrive split over many socket reads. HMAC and digest data is hashed in the pieces it
 * arrived in (a worker takes the reads' buffers), other bodies are assembled in pooled buffers
 * (reused once a handler is done); on the client, large requests are sent from the caller's buffer
 * without a copy. Many different inputs in flight on one connection must each get their own correct
 * answer, whatever else shares their socket reads, and a malformed large body gets the same error as
 * a small one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { VhsmClient } from "../agent/index.ts";
import { encodeRequest } from "../protocol/codec.ts";
import { HashAlg, PROTOCOL_VERSION } from "../protocol/messages.ts";
import { Status } from "../protocol/status.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { RawConnection, rawSession, responseBody } from "./support/raw-socket.ts";

let app: TestAppliance;
let client: VhsmClient;
const secret = randomBytes(20);
let keyId: string;

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("large");
  keyId = await client.keys.import(secret);
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

test("16 different 1 MiB HMACs and digests in flight on one connection each match node:crypto", async () => {
  const inputs = Array.from({ length: 16 }, (_, i) => randomBytes(1024 * 1024 + i * 4099));
  const macs = await Promise.all(inputs.map((d) => client.hmac(keyId, "sha1", d)));
  const digests = await Promise.all(inputs.map((d) => client.digest("sha256", d)));
  inputs.forEach((d, i) => {
    expect(macs[i]!.toString("hex")).toBe(createHmac("sha1", secret).update(d).digest("hex"));
    expect(digests[i]!.toString("hex")).toBe(createHash("sha256").update(d).digest("hex"));
  });
});

test("a 1 MiB HMAC_VERIFY (assembled in shared memory, hashed there by a worker) accepts the right MAC only", async () => {
  const data = randomBytes(1024 * 1024 + 3);
  const mac = createHmac("sha1", secret).update(data).digest();
  expect(await client.hmacVerify(keyId, "sha1", data, mac)).toBe(true);
  mac[0]! ^= 1;
  expect(await client.hmacVerify(keyId, "sha1", data, mac)).toBe(false);
});

test("interleaved streaming updates of 300 KiB pieces keep each context's bytes apart", async () => {
  const a = randomBytes(3 * 300 * 1024);
  const b = randomBytes(3 * 300 * 1024);
  const [sa, sb] = await Promise.all([client.hmacInit(keyId, "sha256"), client.hmacInit(keyId, "sha256")]);
  const updates: Promise<void>[] = [];
  for (let off = 0; off < a.length; off += 300 * 1024) {
    updates.push(sa.update(a.subarray(off, off + 300 * 1024)), sb.update(b.subarray(off, off + 300 * 1024)));
  }
  await Promise.all(updates);
  expect((await sa.final()).toString("hex")).toBe(createHmac("sha256", secret).update(a).digest("hex"));
  expect((await sb.final()).toString("hex")).toBe(createHmac("sha256", secret).update(b).digest("hex"));
});

describe("raw streams of large requests", () => {
  const PIN = "1234-pin";
  const hmacOf = (d: Uint8Array) => createHmac("sha1", secret).update(d).digest("hex");

  test("1 MiB HMACs, digests, streaming updates and small requests back to back in one write are each answered right", async () => {
    const conn = await rawSession(app.socketOf("large"), "alice", PIN);
    const ctx = responseBody(await conn.call("HMAC_INIT", 3, { keyId, alg: HashAlg.SHA1 })).ctx as number;
    const inputs = Array.from({ length: 8 }, (_, i) => randomBytes(1024 * 1024 + i * 777));
    const frames: Uint8Array[] = [];
    inputs.forEach((data, i) => {
      // the reads that carry one request's ends carry its neighbours' too
      frames.push(encodeRequest("HMAC", 100 + i, { keyId, alg: HashAlg.SHA1, data }));
      frames.push(encodeRequest("RANDOM", 200 + i, { length: 16 + i }));
      frames.push(encodeRequest("DIGEST", 300 + i, { alg: HashAlg.SHA256, data }));
      frames.push(encodeRequest("HMAC_UPDATE", 400 + i, { ctx, data }));
    });
    conn.write(Buffer.concat(frames));
    const answers = await conn.next(32, conn.frames.length, 20_000);
    const byId = new Map(answers.map((f) => [f.requestId, f]));
    inputs.forEach((data, i) => {
      expect(byId.get(100 + i)!.status).toBe(Status.OK);
      expect(Buffer.from(responseBody(byId.get(100 + i)!).mac as Uint8Array).toString("hex")).toBe(
        hmacOf(data),
      );
      expect((responseBody(byId.get(200 + i)!).bytes as Uint8Array).length).toBe(16 + i);
      expect(Buffer.from(responseBody(byId.get(300 + i)!).digest as Uint8Array).toString("hex")).toBe(
        createHash("sha256").update(data).digest("hex"),
      );
      expect(byId.get(400 + i)!.status).toBe(Status.OK);
    });
    const final = responseBody(await conn.call("HMAC_FINAL", 5, { ctx })).mac as Uint8Array;
    expect(Buffer.from(final).toString("hex")).toBe(hmacOf(Buffer.concat(inputs)));
    conn.end();
  });

  test("a 1 MiB HMAC pipelined behind LOGIN waits for it and is answered right", async () => {
    const conn = await RawConnection.open(app.socketOf("large"));
    const data = randomBytes(1024 * 1024 + 5);
    conn.write(
      Buffer.concat([
        encodeRequest("HELLO", 1, {
          minVersion: PROTOCOL_VERSION,
          maxVersion: PROTOCOL_VERSION,
          client: "t",
        }),
        encodeRequest("LOGIN", 2, { user: "alice", pin: Buffer.from(PIN) }),
        encodeRequest("HMAC", 3, { keyId, alg: HashAlg.SHA1, data }),
      ]),
    );
    const [, login, mac] = await conn.next(3, 0, 10_000);
    expect(login!.status).toBe(Status.OK);
    expect(mac!.requestId).toBe(3);
    expect(Buffer.from(responseBody(mac!).mac as Uint8Array).toString("hex")).toBe(hmacOf(data));
    conn.end();
  });

  test("a large HMAC before HELLO, or whose data length lies, gets the same error as a small one", async () => {
    const early = await RawConnection.open(app.socketOf("large"));
    const big = encodeRequest("HMAC", 7, { keyId, alg: HashAlg.SHA1, data: randomBytes(512 * 1024) });
    const refused = await early.call("HMAC", 7, { keyId, alg: HashAlg.SHA1, data: randomBytes(512 * 1024) });
    expect(refused.status).toBe(Status.BAD_SESSION);
    expect(responseBody(refused).message).toBe("send HELLO first");
    early.end();

    const conn = await rawSession(app.socketOf("large"), "alice", PIN);
    const at = big.length - 512 * 1024 - 4; // the data field's u32 length
    for (const [delta, message] of [
      [1, "truncated body at field data"],
      [-3, "3 unexpected trailing bytes in body"],
    ] as const) {
      const lying = Buffer.from(big);
      lying.writeUInt32BE(512 * 1024 + delta, at);
      lying.writeUInt32BE(9, 8); // request id
      const from = conn.frames.length;
      conn.write(lying);
      const [answer] = await conn.next(1, from);
      expect(answer!.status).toBe(Status.BAD_ARGUMENTS);
      expect(responseBody(answer!).message).toBe(message);
    }
    // nothing changed: the connection goes on working
    const data = randomBytes(300 * 1024);
    const ok = await conn.call("HMAC", 10, { keyId, alg: HashAlg.SHA1, data });
    expect(Buffer.from(responseBody(ok).mac as Uint8Array).toString("hex")).toBe(hmacOf(data));
    conn.end();
  });

  test("an unknown key id in a large HMAC is KEY_NOT_FOUND and does not disturb the next request", async () => {
    const conn = await rawSession(app.socketOf("large"), "alice", PIN);
    const data = randomBytes(1024 * 1024);
    conn.write(
      Buffer.concat([
        encodeRequest("HMAC", 11, { keyId: "k-no-such-key", alg: HashAlg.SHA1, data }),
        encodeRequest("HMAC", 12, { keyId, alg: HashAlg.SHA1, data }),
      ]),
    );
    const answers = await conn.next(2, conn.frames.length, 10_000);
    const byId = new Map(answers.map((f) => [f.requestId, f]));
    expect(byId.get(11)!.status).toBe(Status.KEY_NOT_FOUND);
    expect(Buffer.from(responseBody(byId.get(12)!).mac as Uint8Array).toString("hex")).toBe(hmacOf(data));
    conn.end();
  });
});

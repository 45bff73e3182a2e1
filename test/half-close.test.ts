/**
 * A client that sends its requests and then half-closes (FIN, still reading — `nc -N`, socat, a
 * shell pipe) gets every answer, those that finish later included, and then the appliance closes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createConnection } from "node:net";
import type { VhsmClient } from "../agent/index.ts";
import { decodeBody, encodeRequest } from "../protocol/codec.ts";
import { HEADER_SIZE } from "../protocol/frame.ts";
import { HashAlg, MESSAGES } from "../protocol/messages.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

let app: TestAppliance;
let client: VhsmClient;
const secret = Buffer.alloc(32, 1);

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("hc", "alice", "1234-pin");
  await client.keys.import(secret, { id: "h" });
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

interface Answer {
  id: number;
  status: number;
  body: Buffer;
}

/** Writes the bytes, sends FIN, reads until the appliance closes; `closed` false if it never did. */
function halfClose(bytes: Buffer): Promise<{ answers: Answer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s = createConnection({ path: app.socketOf("hc"), allowHalfOpen: true });
    const done = (closed: boolean) => {
      clearTimeout(timer);
      const all = Buffer.concat(got);
      const answers: Answer[] = [];
      for (let at = 0; at + HEADER_SIZE <= all.length; ) {
        const length = all.readUInt32BE(at + 12);
        answers.push({
          id: all.readUInt32BE(at + 8),
          status: all.readUInt16BE(at + 6),
          body: all.subarray(at + HEADER_SIZE, at + HEADER_SIZE + length),
        });
        at += HEADER_SIZE + length;
      }
      resolve({ answers, closed });
    };
    const timer = setTimeout(() => {
      s.destroy();
      done(false);
    }, 10_000);
    s.on("connect", () => {
      s.write(bytes);
      s.end();
    });
    s.on("data", (d: Buffer) => got.push(d));
    s.on("close", () => done(true));
  });
}

const hello = encodeRequest("HELLO", 1, { minVersion: 1, maxVersion: 1, client: "half-close" });
const login = (user: string) => encodeRequest("LOGIN", 2, { user, pin: Buffer.from("1234-pin") });

test("requests that finish after the FIN are answered: a KDF login and a 1 MiB HMAC on a hash worker", async () => {
  await app.addUser("hc", "bob", "1234-pin"); // not logged in anywhere: its LOGIN runs the KDF
  const data = Buffer.alloc(1 << 20, 7);
  const first = await halfClose(
    Buffer.concat([
      hello,
      login("alice"),
      encodeRequest("HMAC", 3, { keyId: "h", alg: HashAlg.SHA256, data }),
    ]),
  );
  expect(first.closed).toBe(true);
  expect(first.answers.map((a) => [a.id, a.status])).toEqual([
    [1, 0],
    [2, 0],
    [3, 0],
  ]);
  const { mac } = decodeBody(MESSAGES.HMAC.response, first.answers[2]!.body) as { mac: Uint8Array };
  expect(Buffer.from(mac).toString("hex")).toBe(createHmac("sha256", secret).update(data).digest("hex"));
  const second = await halfClose(Buffer.concat([hello, login("bob"), encodeRequest("PING", 3, {})]));
  expect(second.closed).toBe(true);
  expect(second.answers.map((a) => [a.id, a.status])).toEqual([
    [1, 0],
    [2, 0],
    [3, 0],
  ]);
});

test("a frame cut off by the FIN is dropped; what came before it is answered", async () => {
  const ping = encodeRequest("PING", 2, {});
  const r = await halfClose(Buffer.concat([hello, ping.subarray(0, 7)]));
  expect(r.closed).toBe(true);
  expect(r.answers.map((a) => [a.id, a.status])).toEqual([[1, 0]]);
  await client.ping(); // the appliance is fine
});

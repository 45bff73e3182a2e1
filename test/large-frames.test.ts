/**
 * Large requests arrive split over many socket reads, are assembled in pooled buffers (reused once a
 * handler is done) and, on the client, are sent from the caller's buffer without a copy. Many
 * different inputs in flight on one connection must each get their own correct answer.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";

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

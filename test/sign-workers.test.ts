/**
 * Signing worker threads: under pipelined load part of the signatures are made off the main thread,
 * and nothing about them differs — same bytes for deterministic schemes, same key versions, same
 * refusals. A lone request is still signed on the main thread.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import type { SignAlgorithm, VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { code } from "./support/outcome.ts";

const hex = (s: string) => Buffer.from(s, "hex");

async function workerSignatures(app: TestAppliance): Promise<number> {
  const text = (await app.admin("GET", "/metrics")).json as string;
  const m = /^vhsm_worker_signatures_total (\d+)$/m.exec(text);
  if (!m) throw new Error("no vhsm_worker_signatures_total in /metrics");
  return Number(m[1]);
}

describe("with the default one signing worker", () => {
  let app: TestAppliance;
  let clients: VhsmClient[];

  beforeAll(async () => {
    app = await startTestAppliance();
    clients = [await app.setupClient("signer")];
    clients.push(
      await app.client("signer", "alice", "1234-pin"),
      await app.client("signer", "alice", "1234-pin"),
    );
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await app?.dispose();
  });

  test("a lone signature is made on the main thread", async () => {
    const id = await clients[0]!.keys.generate({ type: "ed25519" });
    const before = await workerSignatures(app);
    for (let i = 0; i < 5; i++) await clients[0]!.sign(id, randomBytes(32));
    expect(await workerSignatures(app)).toBe(before);
  });

  test("pipelined Ed25519 signatures from workers are byte-exact RFC 8032 (TEST 3)", async () => {
    const id = await clients[0]!.keys.import(
      hex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"),
      { type: "ed25519", format: "raw" },
    );
    const expected =
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a";
    const before = await workerSignatures(app);
    const sigs = await Promise.all(
      Array.from({ length: 300 }, (_, i) => clients[i % 3]!.sign(id, hex("af82"))),
    );
    for (const s of sigs) expect(s.signature.toString("hex")).toBe(expected);
    const byWorkers = (await workerSignatures(app)) - before;
    expect(byWorkers).toBeGreaterThan(0);
    expect(byWorkers).toBeLessThan(300);
  });

  const cases: { type: string; alg: SignAlgorithm; digest: string | null; rawEcdsa?: boolean }[] = [
    { type: "ecdsa-p256", alg: "ecdsa-sha256", digest: "sha256" },
    { type: "ecdsa-p256", alg: "ecdsa-sha256", digest: "sha256", rawEcdsa: true },
    { type: "ecdsa-p384", alg: "ecdsa-sha384", digest: "sha384" },
    { type: "rsa-2048", alg: "rsa-pss-sha256", digest: "sha256" },
    { type: "rsa-2048", alg: "rsa-pkcs1-sha512", digest: "sha512" },
  ];
  for (const c of cases) {
    test(`pipelined ${c.alg}${c.rawEcdsa ? " (raw r||s)" : ""} signatures all verify with the exported key`, async () => {
      const id = await clients[0]!.keys.generate({ type: c.type as never });
      const pub = createPublicKey((await clients[0]!.keys.publicKey(id)).data);
      const n = c.type.startsWith("rsa") ? 40 : 150;
      const messages = Array.from({ length: n }, () => randomBytes(1 + Math.floor(Math.random() * 200)));
      const before = await workerSignatures(app);
      const sigs = await Promise.all(
        messages.map((m, i) => clients[i % 3]!.sign(id, m, { alg: c.alg, rawEcdsa: c.rawEcdsa })),
      );
      expect(await workerSignatures(app)).toBeGreaterThan(before);
      sigs.forEach((s, i) => {
        const key = c.alg.startsWith("rsa-pss")
          ? { key: pub, padding: 6, saltLength: 32 } // RSA_PKCS1_PSS_PADDING, salt = digest length
          : c.rawEcdsa
            ? { key: pub, dsaEncoding: "ieee-p1363" as const }
            : pub;
        expect(verify(c.digest, messages[i]!, key, s.signature)).toBe(true);
        expect(s.version).toBe(1);
      });
    });
  }

  test("ECDSA over precomputed digests stays on the main thread and verifies under load", async () => {
    const id = await clients[0]!.keys.generate({ type: "ecdsa-p256" });
    const pub = createPublicKey((await clients[0]!.keys.publicKey(id)).data);
    const messages = Array.from({ length: 60 }, () => randomBytes(50));
    const before = await workerSignatures(app);
    const sigs = await Promise.all(
      messages.map((m, i) =>
        clients[i % 3]!.sign(id, createHash("sha256").update(m).digest(), {
          alg: "ecdsa-sha256",
          prehashed: true,
        }),
      ),
    );
    expect(await workerSignatures(app)).toBe(before);
    for (const [i, s] of sigs.entries()) expect(verify("sha256", messages[i]!, pub, s.signature)).toBe(true);
  });

  test("after a rotation, worker-made signatures are by the new version; after deletion, refused", async () => {
    const id = await clients[0]!.keys.generate({ type: "ed25519" });
    await Promise.all(Array.from({ length: 50 }, (_, i) => clients[i % 3]!.sign(id, randomBytes(32))));
    expect(await clients[0]!.keys.rotate(id)).toBe(2);
    const pub2 = createPublicKey((await clients[0]!.keys.publicKey(id)).data);
    const message = randomBytes(32);
    const sigs = await Promise.all(Array.from({ length: 100 }, (_, i) => clients[i % 3]!.sign(id, message)));
    for (const s of sigs) {
      expect(s.version).toBe(2);
      expect(verify(null, message, pub2, s.signature)).toBe(true);
    }
    await clients[0]!.keys.delete(id);
    const after = await Promise.all(
      Array.from({ length: 50 }, (_, i) => code(clients[i % 3]!.sign(id, message))),
    );
    expect(new Set(after)).toEqual(new Set(["KEY_NOT_FOUND"]));
  });
});

test("with signWorkers 0 every signature is made on the main thread", async () => {
  const app = await startTestAppliance({ env: { VHSM_SIGN_WORKERS: "0" } });
  try {
    const client = await app.setupClient("signer");
    const id = await client.keys.generate({ type: "ed25519" });
    const pub = createPublicKey((await client.keys.publicKey(id)).data);
    const message = randomBytes(32);
    const sigs = await Promise.all(Array.from({ length: 200 }, () => client.sign(id, message)));
    for (const s of sigs) expect(verify(null, message, pub, s.signature)).toBe(true);
    expect(await workerSignatures(app)).toBe(0);
    client.close();
  } finally {
    await app.dispose();
  }
});

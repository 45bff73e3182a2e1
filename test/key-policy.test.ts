import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { VhsmClient } from "../agent/index.ts";
import { HashAlg } from "../protocol/messages.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { code } from "./support/outcome.ts";

let app: TestAppliance;
let client: VhsmClient;

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("policy");
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

describe("a key is used only for what its type and policy allow", () => {
  test("wrong key type for the operation → UNSUPPORTED_MECHANISM", async () => {
    const hmac = await client.keys.generate({ type: "hmac" });
    const ed = await client.keys.generate({ type: "ed25519" });
    const aes = await client.keys.generate({ type: "aes-256" });
    expect(await code(client.sign(hmac, Buffer.from("x")))).toBe("UNSUPPORTED_MECHANISM");
    expect(await code(client.hmac(ed, "sha256", Buffer.from("x")))).toBe("UNSUPPORTED_MECHANISM");
    expect(await code(client.sign(aes, Buffer.from("x")))).toBe("UNSUPPORTED_MECHANISM");
    expect(await code(client.encrypt(ed, Buffer.from("x")))).toBe("UNSUPPORTED_MECHANISM");
    expect(await code(client.keys.publicKey(aes))).toBe("UNSUPPORTED_MECHANISM");
    expect(await code(client.sign(ed, Buffer.from("x"), { alg: "ecdsa-sha256" }))).toBe(
      "UNSUPPORTED_MECHANISM",
    );
    const digest = createHash("sha256").update("x").digest();
    expect(await code(client.sign(ed, digest, { prehashed: true }))).toBe("UNSUPPORTED_MECHANISM");
  });

  test("usage outside the policy → NOT_AUTHORISED; usage can only narrow", async () => {
    const verifyOnly = await client.keys.generate({ type: "ed25519", usage: ["verify"] });
    expect(await code(client.sign(verifyOnly, Buffer.from("x")))).toBe("NOT_AUTHORISED");
    const both = await client.keys.generate({ type: "ecdsa-p256" });
    const { signature } = await client.sign(both, Buffer.from("x"));
    await client.keys.update(both, { usage: ["verify"] });
    expect(await code(client.sign(both, Buffer.from("x")))).toBe("NOT_AUTHORISED");
    expect(await client.verify(both, Buffer.from("x"), signature)).toBe(true);
    expect(await code(client.keys.update(both, { usage: ["sign", "verify"] }))).toBe("NOT_AUTHORISED");
    expect((await client.keys.info(both)).usage).toEqual(["verify"]);
  });

  test("bad sizes, curves, formats and mismatched types are refused and store nothing", async () => {
    const before = await client.keys.count();
    const { createPrivateKey, generateKeyPairSync } = await import("node:crypto");
    const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const pem = Buffer.from(p256.export({ format: "pem", type: "pkcs8" }) as string);
    const attempts: Promise<unknown>[] = [
      client.keys.generate({ type: "ed25519", bits: 512 }),
      client.keys.generate({ type: "rsa", bits: 1024 }),
      client.keys.generate({ type: "hmac", bits: 100 }),
      client.keys.generate({ type: "hmac", usage: ["sign"] }),
      client.keys.import(pem, { type: "ed25519", format: "pem" }),
      client.keys.import(pem, { type: "ecdsa-p384", format: "pem" }),
      client.keys.import(Buffer.from("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----"), {
        type: "ecdsa-p256",
        format: "pem",
      }),
      client.keys.import(Buffer.from('{"kty":"EC","crv":"P-256"'), { type: "ecdsa-p256", format: "jwk" }),
      client.keys.import(Buffer.from('{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}'), {
        type: "ecdsa-p256",
        format: "jwk",
      }),
      client.keys.import(randomBytes(31), { type: "ed25519", format: "raw" }),
      client.keys.import(randomBytes(16), { type: "aes-256" }),
      client.keys.import(pem, { type: "aes-256", format: "pem" }),
    ];
    // (outcomes taken at once: answers may come back in any order, an RSA size check among them)
    expect(await Promise.all(attempts.map(code))).toEqual(attempts.map(() => "BAD_ARGUMENTS"));
    expect(createPrivateKey(pem).asymmetricKeyType).toBe("ec");
    expect(await client.keys.count()).toBe(before);
  });
});

describe("versioned keys", () => {
  test("rotation: old ciphertexts still decrypt, new ones use the new version, retired versions refuse", async () => {
    const id = await client.keys.generate({ type: "aes-256" });
    const pt = Buffer.from("rotate me");
    const v1 = await client.encrypt(id, pt);
    expect(await client.keys.rotate(id)).toBe(2);
    const v2 = await client.encrypt(id, pt);
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v2.ciphertext.readUInt32BE(0)).toBe(2);
    expect((await client.decrypt(id, v1.ciphertext)).equals(pt)).toBe(true);
    expect((await client.decrypt(id, v2.ciphertext)).equals(pt)).toBe(true);

    await client.keys.update(id, { minVersion: 2 });
    expect(await code(client.decrypt(id, v1.ciphertext))).toBe("NOT_AUTHORISED");
    expect((await client.decrypt(id, v2.ciphertext)).equals(pt)).toBe(true);
    expect(await code(client.keys.update(id, { minVersion: 1 }))).toBe("BAD_ARGUMENTS");
    expect(await code(client.keys.update(id, { minVersion: 3 }))).toBe("BAD_ARGUMENTS");
    const info = await client.keys.info(id);
    expect([info.version, info.minVersion]).toEqual([2, 2]);
  });

  test("signatures name their version and verify against it after rotation", async () => {
    const id = await client.keys.generate({ type: "ed25519" });
    const msg = Buffer.from("versioned");
    const s1 = await client.sign(id, msg);
    await client.keys.rotate(id);
    const s2 = await client.sign(id, msg);
    expect([s1.version, s2.version]).toEqual([1, 2]);
    expect(await client.verify(id, msg, s1.signature, { version: 1 })).toBe(true);
    expect(await client.verify(id, msg, s1.signature)).toBe(false);
    expect(await client.verify(id, msg, s2.signature)).toBe(true);
    const pub1 = await client.keys.publicKey(id, { version: 1 });
    const pub2 = await client.keys.publicKey(id);
    expect(pub1.version).toBe(1);
    expect(pub2.version).toBe(2);
    expect(pub1.data.equals(pub2.data)).toBe(false);
    await client.keys.update(id, { minVersion: 2 });
    expect(await code(client.verify(id, msg, s1.signature, { version: 1 }))).toBe("NOT_AUTHORISED");
  });

  test("automatic rotation: the first use after the period makes a new version", async () => {
    const id = await client.keys.generate({ type: "aes-256", rotateEverySeconds: 1 });
    const first = await client.encrypt(id, Buffer.from("a"));
    expect(first.version).toBe(1);
    await Bun.sleep(1100);
    const second = await client.encrypt(id, Buffer.from("b"));
    expect(second.version).toBe(2);
    expect((await client.keys.info(id)).rotateEverySeconds).toBe(1);
    expect((await client.decrypt(id, first.ciphertext)).toString()).toBe("a");
  });

  test("automatic rotation of an RSA key: made off the main thread, the current version signs until the new one is stored, once", async () => {
    const id = await client.keys.generate({ type: "rsa", bits: 3072, rotateEverySeconds: 1 });
    const msg = Buffer.from("rotating");
    expect((await client.sign(id, msg)).version).toBe(1);
    await Bun.sleep(1100);
    const other = await app.client("policy", "alice", "1234-pin");
    try {
      // the due rotation starts; these signatures and another connection's PING do not wait for it
      const order: string[] = [];
      const signed = await Promise.all(Array.from({ length: 5 }, () => client.sign(id, msg)));
      order.push("signed");
      await other.ping();
      order.push("ping");
      expect(signed.map((s) => s.version)).toEqual([1, 1, 1, 1, 1]);
      for (const s of signed) expect(await client.verify(id, msg, s.signature, { version: 1 })).toBe(true);
      const deadline = Date.now() + 20_000;
      while ((await client.keys.info(id)).version === 1 && Date.now() < deadline) await Bun.sleep(100);
      const info = await client.keys.info(id);
      expect([info.version, info.bits]).toEqual([2, 3072]); // one new version, not one per use
      const s2 = await client.sign(id, msg);
      expect(s2.version).toBe(2);
      expect(await client.verify(id, msg, s2.signature)).toBe(true);
      expect(order).toEqual(["signed", "ping"]);
    } finally {
      other.close();
    }
  }, 60_000);
});

describe("a streaming HMAC follows its key", () => {
  const hmacKey = () => client.keys.generate({ type: "hmac" });
  const open = async (id: string) => {
    const { ctx } = await client.call("HMAC_INIT", { keyId: id, alg: HashAlg.SHA256 });
    await client.call("HMAC_UPDATE", { ctx, data: Buffer.from("before") });
    return ctx;
  };

  test("deleting the key (from another connection) ends the contexts opened with it", async () => {
    const id = await hmacKey();
    const ctx = await open(id);
    const other = await app.client("policy", "alice", "1234-pin");
    try {
      await other.keys.delete(id);
    } finally {
      other.close();
    }
    expect(await code(client.call("HMAC_UPDATE", { ctx, data: Buffer.from("after") }))).toBe("KEY_NOT_FOUND");
    expect(await code(client.call("HMAC_FINAL", { ctx }))).toBe("NOT_INITIALISED"); // the context is gone
  });

  test("retiring the context's version ends it too; a new version alone does not", async () => {
    const retired = await hmacKey();
    const ctx1 = await open(retired);
    await client.keys.rotate(retired);
    await client.keys.update(retired, { minVersion: 2 });
    expect(await code(client.call("HMAC_FINAL", { ctx: ctx1 }))).toBe("NOT_AUTHORISED");

    const kept = await hmacKey();
    const ctx3 = await open(kept);
    await client.keys.rotate(kept); // a new version alone does not end a context on the old one
    expect(await code(client.call("HMAC_FINAL", { ctx: ctx3 }))).toBe("OK");
  });
});

describe("policy is bound to the key material at rest", () => {
  test("widening a key's usage by editing the database makes the key unusable, not more powerful", async () => {
    const c = await app.setupClient("tamper", "eve", "9999-pin");
    const id = await c.keys.generate({ type: "ed25519", usage: ["verify"] });
    c.close();
    await app.stop();
    const db = new Database(join(app.dataDir, "vhsm.db"));
    db.run("UPDATE keys SET usage = usage | 1 WHERE key_id = ?", [id]);
    db.close();
    await app.start();
    const again = await app.client("tamper", "eve", "9999-pin");
    try {
      expect(await code(again.sign(id, Buffer.from("x")))).toBe("TAMPERED");
    } finally {
      again.close();
    }
    client.close();
    client = await app.client("policy", "alice", "1234-pin");
  });
});

describe("slow key generation does not hold up other requests", () => {
  test("while RSA-3072 keys are made (generate and rotate), another connection's PING is answered first", async () => {
    const other = await app.client("policy", "alice", "1234-pin");
    try {
      const order: string[] = [];
      const made = client.keys.generate({ type: "rsa", bits: 3072 }).then((id) => {
        order.push("generate");
        return id;
      });
      await other.ping();
      order.push("ping");
      const id = await made;
      const rotated = client.keys.rotate(id).then(() => order.push("rotate"));
      await other.ping();
      order.push("ping");
      await rotated;
      expect(order).toEqual(["ping", "generate", "ping", "rotate"]);
      const info = await client.keys.info(id);
      expect([info.version, info.bits]).toEqual([2, 3072]);
    } finally {
      other.close();
    }
  }, 60_000);
});

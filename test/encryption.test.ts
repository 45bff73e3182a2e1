import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslOaepEncrypt } from "./support/openssl-pkey.ts";
import { code } from "./support/outcome.ts";

let app: TestAppliance;
let client: VhsmClient;

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("crypt");
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

const hex = (s: string) => Buffer.from(s, "hex");

describe("AES-256-GCM", () => {
  test("decrypts the NIST GCM test vector (spec test case 16) given as version || nonce || ct || tag", async () => {
    const key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const id = await client.keys.import(key, { type: "aes-256" });
    const nonce = hex("cafebabefacedbaddecaf888");
    const ct = hex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    );
    const tag = hex("76fc6ece0f4e1768cddf8853bb2d551b");
    const aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const plaintext = await client.decrypt(id, Buffer.concat([hex("00000001"), nonce, ct, tag]), { aad });
    expect(plaintext.toString("hex")).toBe(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
  });

  test("round trips with caller AAD; nonces are made by the appliance and never repeat", async () => {
    const id = await client.keys.generate({ type: "aes-256" });
    const aad = randomBytes(20);
    const nonces = new Set<string>();
    for (const size of [0, 1, 4096, 1024 * 1024]) {
      const pt = randomBytes(size);
      const { ciphertext, version } = await client.encrypt(id, pt, { aad });
      expect(version).toBe(1);
      expect(ciphertext.readUInt32BE(0)).toBe(1);
      expect(ciphertext.length).toBe(4 + 12 + size + 16);
      nonces.add(ciphertext.subarray(4, 16).toString("hex"));
      expect((await client.decrypt(id, ciphertext, { aad })).equals(pt)).toBe(true);
    }
    expect(nonces.size).toBe(4);
  });

  test("tampered ciphertext, tag, nonce or AAD is refused with DECRYPT_FAILED", async () => {
    const id = await client.keys.generate({ type: "aes-256" });
    const aad = Buffer.from("order-42");
    const { ciphertext } = await client.encrypt(id, Buffer.from("attack at dawn"), { aad });
    for (const offset of [4, 16, ciphertext.length - 1]) {
      const bad = Buffer.from(ciphertext);
      bad[offset]! ^= 0x01;
      expect(await code(client.decrypt(id, bad, { aad }))).toBe("DECRYPT_FAILED");
    }
    expect(await code(client.decrypt(id, ciphertext, { aad: Buffer.from("order-43") }))).toBe(
      "DECRYPT_FAILED",
    );
    expect(await code(client.decrypt(id, ciphertext))).toBe("DECRYPT_FAILED");
    const otherKey = await client.keys.generate({ type: "aes-256" });
    expect(await code(client.decrypt(otherKey, ciphertext, { aad }))).toBe("DECRYPT_FAILED");
    expect(await code(client.decrypt(id, ciphertext.subarray(0, 10), { aad }))).toBe("DECRYPT_FAILED");
  });
});

describe("RSA-OAEP-SHA256", () => {
  test("decrypts what openssl encrypted with the exported public key, and its own ciphertexts", async () => {
    const id = await client.keys.generate({ type: "rsa-2048", usage: ["encrypt", "decrypt"] });
    const pem = (await client.keys.publicKey(id)).data;
    const secret = randomBytes(100);
    const fromOpenssl = opensslOaepEncrypt(pem, secret);
    expect((await client.decrypt(id, fromOpenssl)).equals(secret)).toBe(true);
    const { ciphertext } = await client.encrypt(id, secret);
    expect(ciphertext.length).toBe(4 + 256);
    expect((await client.decrypt(id, ciphertext)).equals(secret)).toBe(true);
    const bad = Buffer.from(ciphertext);
    bad[100]! ^= 1;
    expect(await code(client.decrypt(id, bad))).toBe("DECRYPT_FAILED");
    expect(await code(client.encrypt(id, randomBytes(191)))).toBe("BAD_ARGUMENTS");
  });

  test("an RSA key made for signing only cannot encrypt", async () => {
    const id = await client.keys.generate({ type: "rsa-2048" });
    expect(await code(client.encrypt(id, Buffer.from("x")))).toBe("NOT_AUTHORISED");
  });
});

describe("key wrap (AES-KWP, RFC 5649) moves exportable keys between containers", () => {
  test("an exportable HMAC key wrapped in one container computes the same HMACs after unwrap in another", async () => {
    const other = await app.setupClient("crypt-b", "bob", "5678-pin");
    try {
      const kek = randomBytes(32);
      const kekA = await client.keys.import(kek, { type: "aes-256" });
      const kekB = await other.keys.import(kek, { type: "aes-256" });
      const hmacKey = await client.keys.generate({ type: "hmac", exportable: true });
      const { wrapped, bits } = await client.wrap(hmacKey, kekA);
      expect(bits).toBe(256);
      const moved = await other.unwrap(kekB, wrapped, { type: "hmac", id: "moved" });
      const data = randomBytes(1000);
      expect(
        (await other.hmac(moved, "sha256", data)).equals(await client.hmac(hmacKey, "sha256", data)),
      ).toBe(true);

      const tampered = Buffer.from(wrapped);
      tampered[5]! ^= 1;
      expect(await code(other.unwrap(kekB, tampered, { type: "hmac" }))).toBe("DECRYPT_FAILED");
      expect(await code(other.unwrap(kekB, wrapped, { type: "ed25519" }))).toBe("BAD_ARGUMENTS");
    } finally {
      other.close();
    }
  });

  test("an exportable Ed25519 key moves and signs identically", async () => {
    const kek = await client.keys.generate({ type: "aes-256" });
    const ed = await client.keys.generate({ type: "ed25519", exportable: true });
    const { wrapped } = await client.wrap(ed, kek);
    const copy = await client.unwrap(kek, wrapped, { type: "ed25519" });
    const msg = Buffer.from("same key, same signature");
    expect((await client.sign(copy, msg)).signature.equals((await client.sign(ed, msg)).signature)).toBe(
      true,
    );
  });

  test("non-exportable keys never leave, and the lock cannot be undone", async () => {
    const kek = await client.keys.generate({ type: "aes-256" });
    const plain = await client.keys.generate({ type: "hmac" });
    expect(await code(client.wrap(plain, kek))).toBe("NOT_EXPORTABLE");
    const exportable = await client.keys.generate({ type: "hmac", exportable: true });
    expect((await client.keys.info(exportable)).exportable).toBe(true);
    await client.keys.update(exportable, { lockNonExportable: true });
    expect((await client.keys.info(exportable)).exportable).toBe(false);
    expect(await code(client.wrap(exportable, kek))).toBe("NOT_EXPORTABLE");
    // nothing in the protocol can set the flag again; a wider usage is refused too
    expect(await code(client.keys.update(exportable, { usage: ["mac", "sign"] }))).toBe("NOT_AUTHORISED");
  });
});

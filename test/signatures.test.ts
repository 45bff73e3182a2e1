import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import type { SignAlgorithm, VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslGenerate, opensslSign, opensslVerify } from "./support/openssl-pkey.ts";

let app: TestAppliance;
let client: VhsmClient;

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("signer");
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

const hex = (s: string) => Buffer.from(s, "hex");

describe("Ed25519 matches RFC 8032 section 7.1", () => {
  const vectors = [
    {
      name: "TEST 1 (empty message)",
      seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      msg: "",
      sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    {
      name: "TEST 2 (one byte)",
      seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      msg: "72",
      sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
    {
      name: "TEST 3 (two bytes)",
      seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      pub: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      msg: "af82",
      sig: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    },
  ];
  for (const v of vectors) {
    test(v.name, async () => {
      const id = await client.keys.import(hex(v.seed), { type: "ed25519", format: "raw" });
      const jwk = JSON.parse((await client.keys.publicKey(id, { format: "jwk" })).data.toString());
      expect(Buffer.from(jwk.x, "base64url").toString("hex")).toBe(v.pub);
      const { signature, version } = await client.sign(id, hex(v.msg));
      expect(signature.toString("hex")).toBe(v.sig);
      expect(version).toBe(1);
      expect(await client.verify(id, hex(v.msg), hex(v.sig))).toBe(true);
    });
  }
});

interface Case {
  type: string;
  alg?: SignAlgorithm;
  digest?: string;
  pkeyopts?: string[];
}

const CASES: Case[] = [
  { type: "ed25519" },
  { type: "ecdsa-p256", alg: "ecdsa-sha256", digest: "sha256" },
  { type: "ecdsa-p256", alg: "ecdsa-sha384", digest: "sha384" },
  { type: "ecdsa-p384", alg: "ecdsa-sha384", digest: "sha384" },
  { type: "ecdsa-p384", alg: "ecdsa-sha512", digest: "sha512" },
  {
    type: "rsa-2048",
    alg: "rsa-pss-sha256",
    digest: "sha256",
    pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:auto"],
  },
  {
    type: "rsa-2048",
    alg: "rsa-pss-sha384",
    digest: "sha384",
    pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:auto"],
  },
  {
    type: "rsa-2048",
    alg: "rsa-pss-sha512",
    digest: "sha512",
    pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:auto"],
  },
  { type: "rsa-2048", alg: "rsa-pkcs1-sha256", digest: "sha256", pkeyopts: ["rsa_padding_mode:pkcs1"] },
  { type: "rsa-3072", alg: "rsa-pkcs1-sha384", digest: "sha384", pkeyopts: ["rsa_padding_mode:pkcs1"] },
  { type: "rsa-2048", alg: "rsa-pkcs1-sha512", digest: "sha512", pkeyopts: ["rsa_padding_mode:pkcs1"] },
];

describe("signatures made by vhsm verify with the openssl CLI and the exported public key", () => {
  const keyIds = new Map<string, string>();
  const keyOf = async (type: string) => {
    if (!keyIds.has(type)) keyIds.set(type, await client.keys.generate({ type }));
    return keyIds.get(type)!;
  };

  for (const c of CASES) {
    test(`${c.type} ${c.alg ?? "pure"}: message`, async () => {
      const id = await keyOf(c.type);
      const pem = (await client.keys.publicKey(id)).data;
      for (const size of [0, 1, 1000, 70_000]) {
        const data = randomBytes(size);
        const { signature } = await client.sign(id, data, { alg: c.alg });
        // openssl pkeyutl cannot read an empty -rawin input; node:crypto is the reference there
        const reference =
          size === 0
            ? verify(c.digest ?? null, data, createPublicKey(pem), signature)
            : opensslVerify(pem, data, signature, { rawin: true, digest: c.digest, pkeyopts: c.pkeyopts });
        if (!(size === 0 && c.type.startsWith("rsa"))) expect(reference).toBe(true);
        expect(await client.verify(id, data, signature, { alg: c.alg })).toBe(true);
        const tampered = Buffer.from(signature);
        tampered[tampered.length >> 1]! ^= 0x01;
        expect(await client.verify(id, data, tampered, { alg: c.alg })).toBe(false);
        if (size > 0) {
          const otherData = Buffer.from(data);
          otherData[0]! ^= 0x80;
          expect(await client.verify(id, otherData, signature, { alg: c.alg })).toBe(false);
        }
      }
    });

    if (c.digest) {
      test(`${c.type} ${c.alg}: precomputed digest`, async () => {
        const id = await keyOf(c.type);
        const pem = (await client.keys.publicKey(id)).data;
        const digest = createHash(c.digest!).update(randomBytes(100)).digest();
        const { signature } = await client.sign(id, digest, { alg: c.alg, prehashed: true });
        expect(
          opensslVerify(pem, digest, signature, { pkeyopts: [`digest:${c.digest}`, ...(c.pkeyopts ?? [])] }),
        ).toBe(true);
        expect(await client.verify(id, digest, signature, { alg: c.alg, prehashed: true })).toBe(true);
      });
    }
  }

  test("ECDSA raw r||s signatures verify as IEEE P1363 and are twice the field size", async () => {
    for (const [type, size] of [
      ["ecdsa-p256", 64],
      ["ecdsa-p384", 96],
    ] as const) {
      const id = await keyOf(type);
      const data = randomBytes(50);
      const { signature } = await client.sign(id, data, { rawEcdsa: true });
      expect(signature.length).toBe(size);
      const pub = createPublicKey((await client.keys.publicKey(id)).data);
      const hash = type === "ecdsa-p256" ? "sha256" : "sha384";
      expect(verify(hash, data, { key: pub, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
      expect(await client.verify(id, data, signature, { rawEcdsa: true })).toBe(true);
    }
  });
});

describe("vhsm verifies signatures made by openssl with imported keys", () => {
  const imports = [
    { type: "ed25519", gen: ["-algorithm", "ed25519"] },
    {
      type: "ecdsa-p256",
      gen: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
      alg: "ecdsa-sha256",
      digest: "sha256",
    },
    {
      type: "ecdsa-p384",
      gen: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
      alg: "ecdsa-sha384",
      digest: "sha384",
    },
    {
      type: "rsa-2048",
      gen: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
      alg: "rsa-pss-sha256",
      digest: "sha256",
      pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:max"],
    },
    {
      type: "rsa-2048",
      gen: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
      alg: "rsa-pkcs1-sha256",
      digest: "sha256",
      pkeyopts: ["rsa_padding_mode:pkcs1"],
    },
  ] as const;
  for (const c of imports) {
    const alg = "alg" in c ? c.alg : undefined;
    test(`${c.type} ${alg ?? ""} (PEM import)`, async () => {
      const pem = opensslGenerate([...c.gen]);
      const id = await client.keys.import(pem, { type: c.type, format: "pem" });
      const data = randomBytes(300);
      const digest = "digest" in c ? c.digest : undefined;
      const pkeyopts = "pkeyopts" in c ? [...c.pkeyopts] : undefined;
      const signature = opensslSign(pem, data, { rawin: true, digest, pkeyopts });
      expect(await client.verify(id, data, signature, { alg })).toBe(true);
      if (digest) {
        const d = createHash(digest).update(data).digest();
        const sigOfDigest = opensslSign(pem, d, { pkeyopts: [`digest:${digest}`, ...(pkeyopts ?? [])] });
        expect(await client.verify(id, d, sigOfDigest, { alg, prehashed: true })).toBe(true);
      }
    });
  }

  test("JWK and DER imports give the same public key as the PEM", async () => {
    const pem = opensslGenerate(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const { createPrivateKey } = await import("node:crypto");
    const key = createPrivateKey(pem);
    const fromPem = await client.keys.import(pem, { type: "ecdsa-p256", format: "pem" });
    const fromDer = await client.keys.import(key.export({ format: "der", type: "pkcs8" }), {
      type: "ecdsa-p256",
      format: "der",
    });
    const fromJwk = await client.keys.import(Buffer.from(JSON.stringify(key.export({ format: "jwk" }))), {
      type: "ecdsa-p256",
      format: "jwk",
    });
    const expected = createPublicKey(key).export({ format: "pem", type: "spki" });
    for (const id of [fromPem, fromDer, fromJwk]) {
      expect((await client.keys.publicKey(id)).data.toString()).toBe(expected as string);
    }
    const der = (await client.keys.publicKey(fromPem, { format: "der" })).data;
    expect(der.equals(createPublicKey(key).export({ format: "der", type: "spki" }) as Buffer)).toBe(true);
  });
});

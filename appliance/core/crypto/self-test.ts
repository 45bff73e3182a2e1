/**
 * Known-answer tests run at start-up for every algorithm the appliance serves.
 * If any fails, the appliance refuses to serve. `VHSM_TEST_FAULT=kat:<name>` corrupts one expected
 * answer so tests can prove the refusal (fault injection for tests only).
 */
import {
  createCipheriv,
  createPrivateKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  sign,
  verify,
} from "node:crypto";
import { HashAlg } from "../../../protocol/messages.ts";
import { aesKeyWrap } from "./aes-kw.ts";
import { ecdsaSignDigest, ecdsaVerifyDigest } from "./ecdsa-prehashed.ts";
import { digestOnce, hmacOnce } from "./hash.ts";

interface Kat {
  name: string;
  run: () => string;
  expected: string;
}

const ascii = (s: string) => Buffer.from(s, "ascii");
const jefe = createSecretKey(ascii("Jefe"));
const whatDoYaWant = ascii("what do ya want for nothing?");

const KATS: Kat[] = [
  {
    name: "sha1",
    run: () => digestOnce(HashAlg.SHA1, ascii("abc")).toString("hex"),
    expected: "a9993e364706816aba3e25717850c26c9cd0d89d",
  },
  {
    name: "sha256",
    run: () => digestOnce(HashAlg.SHA256, ascii("abc")).toString("hex"),
    expected: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    name: "sha384",
    run: () => digestOnce(HashAlg.SHA384, ascii("abc")).toString("hex"),
    expected:
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
  },
  {
    name: "sha512",
    run: () => digestOnce(HashAlg.SHA512, ascii("abc")).toString("hex"),
    expected:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  },
  {
    name: "hmac-sha1",
    run: () => hmacOnce(HashAlg.SHA1, jefe, whatDoYaWant).toString("hex"),
    expected: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  },
  {
    name: "hmac-sha256",
    run: () => hmacOnce(HashAlg.SHA256, jefe, whatDoYaWant).toString("hex"),
    expected: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    name: "hmac-sha384",
    run: () => hmacOnce(HashAlg.SHA384, jefe, whatDoYaWant).toString("hex"),
    expected:
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
  },
  {
    name: "hmac-sha512",
    run: () => hmacOnce(HashAlg.SHA512, jefe, whatDoYaWant).toString("hex"),
    expected:
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
  },
  {
    // GCM specification, test case 14
    name: "aes-256-gcm",
    run: () => {
      const c = createCipheriv("aes-256-gcm", Buffer.alloc(32), Buffer.alloc(12));
      const ct = Buffer.concat([c.update(Buffer.alloc(16)), c.final()]);
      return ct.toString("hex") + c.getAuthTag().toString("hex");
    },
    expected: "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    // RFC 7914 section 12, second vector
    name: "scrypt",
    run: () => scryptSync("password", "NaCl", 64, { N: 1024, r: 8, p: 16 }).toString("hex"),
    expected:
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
  },
  {
    // RFC 3394 section 4.6
    name: "aes-kw",
    run: () =>
      aesKeyWrap(
        Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex"),
        Buffer.from("00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f", "hex"),
      ).toString("hex"),
    expected: "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
  },
  {
    // RFC 8032 section 7.1, TEST 2
    name: "ed25519",
    run: () => {
      const seed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
      const key = createPrivateKey({
        key: Buffer.from(`302e020100300506032b657004220420${seed}`, "hex"),
        format: "der",
        type: "pkcs8",
      });
      return sign(null, Buffer.from([0x72]), key).toString("hex");
    },
    expected:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    // ECDSA is randomised: a pairwise test, for messages (runtime) and digests (@noble/curves)
    name: "ecdsa-p256",
    run: () => {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const msg = Buffer.from("vhsm self-test");
      const digest = digestOnce(HashAlg.SHA256, msg);
      const ok =
        verify("sha256", msg, publicKey, sign("sha256", msg, privateKey)) &&
        verify("sha256", msg, publicKey, ecdsaSignDigest(privateKey, digest, false)) &&
        ecdsaVerifyDigest(publicKey, digest, sign("sha256", msg, privateKey), false) &&
        !verify("sha256", Buffer.from("other"), publicKey, sign("sha256", msg, privateKey));
      return ok ? "consistent" : "inconsistent";
    },
    expected: "consistent",
  },
  {
    // continuous RNG test: two draws must differ and not be all zero
    name: "random",
    run: () => {
      const a = randomBytes(32);
      const b = randomBytes(32);
      return !a.equals(b) && a.some((x) => x !== 0) ? "distinct" : "repeated";
    },
    expected: "distinct",
  },
];

export interface SelfTestResult {
  ok: boolean;
  passed: string[];
  failed: string[];
}

export function runSelfTests(fault = process.env.VHSM_TEST_FAULT ?? ""): SelfTestResult {
  const passed: string[] = [];
  const failed: string[] = [];
  for (const kat of KATS) {
    let expected = kat.expected;
    if (fault === `kat:${kat.name}`) expected = `corrupted:${expected}`;
    let actual: string;
    try {
      actual = kat.run();
    } catch (err) {
      actual = `error: ${(err as Error).message}`;
    }
    (actual === expected ? passed : failed).push(kat.name);
  }
  return { ok: failed.length === 0, passed, failed };
}

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { VhsmClient } from "../agent/index.ts";
import { startTestAppliance, type TestAppliance } from "./support/appliance.ts";
import { opensslDigest, opensslHmac } from "./support/openssl.ts";

let app: TestAppliance;
let client: VhsmClient;

beforeAll(async () => {
  app = await startTestAppliance();
  client = await app.setupClient("web");
});
afterAll(async () => {
  client?.close();
  await app?.dispose();
});

const ascii = (s: string) => Buffer.from(s, "ascii");
const hex = (s: string) => Buffer.from(s, "hex");

describe("HMAC through the appliance matches RFC test vectors", () => {
  // RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA2) test cases
  const cases = [
    {
      name: "RFC 2202 case 1",
      alg: "sha1",
      key: hex("0b".repeat(20)),
      data: ascii("Hi There"),
      mac: "b617318655057264e28bc0b6fb378c8ef146be00",
    },
    {
      name: "RFC 2202 case 2",
      alg: "sha1",
      key: ascii("Jefe"),
      data: ascii("what do ya want for nothing?"),
      mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    },
    {
      name: "RFC 2202 case 6",
      alg: "sha1",
      key: hex("aa".repeat(80)),
      data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      mac: "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    },
    {
      name: "RFC 4231 case 1 sha256",
      alg: "sha256",
      key: hex("0b".repeat(20)),
      data: ascii("Hi There"),
      mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
      name: "RFC 4231 case 2 sha384",
      alg: "sha384",
      key: ascii("Jefe"),
      data: ascii("what do ya want for nothing?"),
      mac: "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
    },
    {
      name: "RFC 4231 case 2 sha512",
      alg: "sha512",
      key: ascii("Jefe"),
      data: ascii("what do ya want for nothing?"),
      mac: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    },
    {
      name: "RFC 4231 case 6 sha256",
      alg: "sha256",
      key: hex("aa".repeat(131)),
      data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
  ] as const;

  for (const c of cases) {
    test(c.name, async () => {
      const id = await client.keys.import(c.key);
      expect((await client.hmac(id, c.alg, c.data)).toString("hex")).toBe(c.mac);
      const stream = await client.hmacInit(id, c.alg);
      await stream.update(c.data.subarray(0, 3));
      await stream.update(c.data.subarray(3));
      expect((await stream.final()).toString("hex")).toBe(c.mac);
      expect(await client.hmacVerify(id, c.alg, c.data, hex(c.mac))).toBe(true);
      const wrong = hex(c.mac);
      wrong[0]! ^= 1;
      expect(await client.hmacVerify(id, c.alg, c.data, wrong)).toBe(false);
    });
  }
});

describe("digests match FIPS 180 vectors", () => {
  const abc = ascii("abc");
  const vectors = {
    sha1: "a9993e364706816aba3e25717850c26c9cd0d89d",
    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    sha384:
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    sha512:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  } as const;
  for (const [alg, digest] of Object.entries(vectors) as [keyof typeof vectors, string][]) {
    test(`${alg}("abc")`, async () => {
      expect((await client.digest(alg, abc)).toString("hex")).toBe(digest);
    });
  }
  test('sha256 of one million "a" (streamed)', async () => {
    const stream = await client.digestInit("sha256");
    const chunk = Buffer.alloc(100_000, "a");
    for (let i = 0; i < 10; i++) await stream.update(chunk);
    expect((await stream.final()).toString("hex")).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });
});

describe("random keys and inputs agree with the openssl CLI", () => {
  const sizes = [0, 1, 4096, 1024 * 1024, 16 * 1024 * 1024];
  for (const size of sizes) {
    test(`${size} bytes`, async () => {
      const data = randomBytes(size);
      const key = randomBytes(32);
      const id = await client.keys.import(key);
      for (const alg of ["sha1", "sha256", "sha384", "sha512"] as const) {
        expect((await client.hmac(id, alg, data)).toString("hex")).toBe(opensslHmac(alg, key, data));
        expect((await client.digest(alg, data)).toString("hex")).toBe(opensslDigest(alg, data));
      }
      const generated = await client.keys.generate({ bits: 512 });
      const mac = await client.hmac(generated, "sha256", data);
      expect(await client.hmacVerify(generated, "sha256", data, mac)).toBe(true);
    });
  }
});

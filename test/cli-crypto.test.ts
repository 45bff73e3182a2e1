/**
 * The `vhsm` CLI's key and crypto commands as a subprocess against the real appliance: signatures
 * checked by the `openssl` CLI both ways, encryption against the GCM spec's vector and openssl's
 * RSA-OAEP, versions and policy, wrap/unwrap between users, bad input, JSON shapes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startTestAppliance, type TestAppliance, tempDir } from "./support/appliance.ts";
import { type Run, type RunOptions, vhsmCli } from "./support/cli-runner.ts";
import { opensslDigest } from "./support/openssl.ts";
import {
  opensslGenerate,
  opensslOaepEncrypt,
  opensslSign,
  opensslVerify,
  type PkeyOptions,
} from "./support/openssl-pkey.ts";

const PIN = "1234-pin";
let app: TestAppliance;
let work: string;

beforeAll(async () => {
  app = await startTestAppliance();
  work = tempDir("vhsm-cli-crypto-");
  await app.enroll("crypto");
  for (const user of ["alice", "bob"]) await app.addUser("crypto", user, PIN);
});
afterAll(async () => {
  await app?.dispose();
});

/** The CLI with a clean VHSM_* environment: alice on the test container unless overridden. */
const { vhsm, ok } = vhsmCli(() => ({
  VHSM_SOCKET: app.socketOf("crypto"),
  VHSM_USER: "alice",
  VHSM_PIN: PIN,
}));

const json = async (args: string[], options?: RunOptions) =>
  JSON.parse(await ok(["--json", ...args], options));

/** Expects exit `code` with `vhsm: CODE:` on stderr. */
async function fails(args: string[], code: number, name: string, options?: RunOptions): Promise<Run> {
  const r = await vhsm(args, options);
  expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({
    code,
    stderr: expect.stringContaining(`vhsm: ${name}: `),
  });
  return r;
}

function file(name: string, data: Uint8Array | string): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

const out = (name: string) => join(work, name);

describe("signatures: vhsm sign --out verifies with openssl and the exported public key", () => {
  const cases: { type: string; alg?: string; openssl: PkeyOptions }[] = [
    { type: "ed25519", openssl: { rawin: true } },
    { type: "ecdsa-p256", openssl: { rawin: true, digest: "sha256" } },
    {
      type: "rsa-2048",
      alg: "rsa-pss-sha256",
      openssl: { rawin: true, digest: "sha256", pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:auto"] },
    },
    {
      type: "rsa-2048",
      alg: "rsa-pkcs1-sha256",
      openssl: { rawin: true, digest: "sha256", pkeyopts: ["rsa_padding_mode:pkcs1"] },
    },
  ];
  for (const c of cases) {
    test(`${c.type} ${c.alg ?? "(default algorithm)"}`, async () => {
      const id = (await ok(["key", "generate", "--type", c.type])).trim();
      const pem = await ok(["key", "public", "--key", id]);
      expect(pem).toStartWith("-----BEGIN PUBLIC KEY-----");
      const data = randomBytes(5000);
      const dataFile = file(`msg-${id}`, data);
      const alg = c.alg ? ["--alg", c.alg] : [];
      const sigFile = out(`sig-${id}`);
      expect(await ok(["sign", "--key", id, ...alg, "--in", dataFile, "--out", sigFile])).toBe("");
      const signature = readFileSync(sigFile);
      expect(opensslVerify(Buffer.from(pem), data, signature, c.openssl)).toBe(true);
      // the reference must be able to say no
      const other = Buffer.from(data);
      other[0]! ^= 1;
      expect(opensslVerify(Buffer.from(pem), other, signature, c.openssl)).toBe(false);

      // the same data from stdin, signature as hex on stdout; vhsm verify takes both forms
      const hex = (await ok(["sign", "--key", id, ...alg], { stdin: data })).trim();
      expect(opensslVerify(Buffer.from(pem), data, Buffer.from(hex, "hex"), c.openssl)).toBe(true);
      expect(await ok(["verify", "--key", id, ...alg, "--sig", sigFile, "--in", dataFile])).toBe("OK\n");
      expect(await ok(["verify", "--key", id, ...alg, "--sig-hex", hex], { stdin: data })).toBe("OK\n");
      const bad = await vhsm(["verify", "--key", id, ...alg, "--sig", sigFile], { stdin: other });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toStartWith("vhsm: MISMATCH: ");
    });
  }

  test("ecdsa --prehashed over the hex `vhsm digest` prints, and --raw-ecdsa r||s", async () => {
    const id = (await ok(["key", "generate", "--type", "ecdsa-p256"])).trim();
    const pem = Buffer.from(await ok(["key", "public", "--key", id]));
    const data = randomBytes(100_000);
    const digestHex = await ok(["digest", "--alg", "sha256"], { stdin: data });
    expect(digestHex.trim()).toBe(opensslDigest("sha256", data));
    const sigFile = out("prehashed.sig");
    await ok(["sign", "--key", id, "--prehashed", "--out", sigFile], { stdin: digestHex });
    const digest = Buffer.from(digestHex.trim(), "hex");
    expect(opensslVerify(pem, digest, readFileSync(sigFile), { pkeyopts: ["digest:sha256"] })).toBe(true);

    const raw = (await ok(["sign", "--key", id, "--raw-ecdsa", "--in", file("m", data)])).trim();
    expect(raw).toHaveLength(128);
    const der = rawToDer(Buffer.from(raw, "hex"));
    expect(opensslVerify(pem, data, der, { rawin: true, digest: "sha256" })).toBe(true);
    await ok(["verify", "--key", id, "--raw-ecdsa", "--sig-hex", raw, "--in", join(work, "m")]);
    expect((await vhsm(["verify", "--key", id, "--sig-hex", raw, "--in", join(work, "m")])).code).toBe(1);
  });
});

/** ECDSA raw r||s → DER, so that openssl can check a --raw-ecdsa signature. */
function rawToDer(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = v[0]! & 0x80 ? Buffer.concat([Buffer.of(0), v]) : v;
    return Buffer.concat([Buffer.of(0x02, body.length), body]);
  };
  const half = raw.length / 2;
  const seq = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  return Buffer.concat([Buffer.of(0x30, seq.length), seq]);
}

describe("vhsm verify accepts signatures openssl made with keys imported as PEM", () => {
  const cases: { name: string; gen: string[]; type: string; alg?: string; openssl: PkeyOptions }[] = [
    { name: "ed25519", gen: ["-algorithm", "ED25519"], type: "ed25519", openssl: { rawin: true } },
    {
      name: "ecdsa-p256",
      gen: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
      type: "ecdsa-p256",
      openssl: { rawin: true, digest: "sha256" },
    },
    {
      name: "rsa-2048 PSS (max salt)",
      gen: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
      type: "rsa-2048",
      alg: "rsa-pss-sha256",
      openssl: { rawin: true, digest: "sha256", pkeyopts: ["rsa_padding_mode:pss", "rsa_pss_saltlen:max"] },
    },
    {
      name: "rsa-2048 PKCS1",
      gen: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
      type: "rsa",
      alg: "rsa-pkcs1-sha256",
      openssl: { rawin: true, digest: "sha256", pkeyopts: ["rsa_padding_mode:pkcs1"] },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const pem = opensslGenerate(c.gen);
      const keyFile = file(`key-${c.type}.pem`, pem);
      const id = (await ok(["key", "import", "--type", c.type, "--format", "pem", "--in", keyFile])).trim();
      // the public key the appliance derives is the one openssl derives
      const ours = createPublicKey(await ok(["key", "public", "--key", id]));
      expect(ours.equals(createPublicKey(pem))).toBe(true);
      const data = randomBytes(777);
      const signature = opensslSign(pem, data, c.openssl);
      const alg = c.alg ? ["--alg", c.alg] : [];
      const dataFile = file(`d-${c.type}`, data);
      expect(
        await ok(["verify", "--key", id, ...alg, "--sig", file(`s-${c.type}`, signature), "--in", dataFile]),
      ).toBe("OK\n");
      const tampered = Buffer.from(signature);
      tampered[10]! ^= 0x40;
      const r = await vhsm([
        "--json",
        "verify",
        "--key",
        id,
        ...alg,
        "--sig-hex",
        tampered.toString("hex"),
        "--in",
        dataFile,
      ]);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toEqual({ key: id, valid: false });
    });
  }

  test("--format is recognised from the content when omitted (PEM, JWK, raw Ed25519 seed)", async () => {
    const pem = opensslGenerate(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const fromPem = (await ok(["key", "import", "--type", "ecdsa-p256"], { stdin: pem })).trim();
    const jwk = JSON.stringify(createPrivateJwk(pem));
    const fromJwk = (await ok(["key", "import", "--type", "ecdsa-p256", "--in", file("k.jwk", jwk)])).trim();
    const a = await ok(["key", "public", "--key", fromPem]);
    expect(await ok(["key", "public", "--key", fromJwk])).toBe(a);
    const seed = randomBytes(32);
    const ed = (await ok(["key", "import", "--type", "ed25519"], { stdin: seed })).trim();
    const jwkOut = await json(["key", "public", "--key", ed, "--format", "jwk"]);
    expect(jwkOut.public).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: `${ed}#1` });
  });
});

const createPrivateJwk = (pem: Uint8Array) => createPrivateKey(Buffer.from(pem)).export({ format: "jwk" });

describe("encryption", () => {
  test("round trip with AAD through files and through hex on stdout; tampering gives DECRYPT_FAILED", async () => {
    const id = (await ok(["key", "generate", "--type", "aes-256"])).trim();
    const plaintext = randomBytes(100_000);
    const aad = randomBytes(20).toString("hex");
    const ctFile = out("ct.bin");
    await ok(["encrypt", "--key", id, "--aad", aad, "--in", file("pt", plaintext), "--out", ctFile]);
    const ciphertext = readFileSync(ctFile);
    expect(ciphertext.length).toBe(4 + 12 + plaintext.length + 16);
    expect(ciphertext.readUInt32BE(0)).toBe(1);
    const ptFile = out("pt.out");
    await ok(["decrypt", "--key", id, "--aad", aad, "--in", ctFile, "--out", ptFile]);
    expect(readFileSync(ptFile).equals(plaintext)).toBe(true);

    // hex from encrypt's stdout feeds decrypt's stdin
    const hex = await ok(["encrypt", "--key", id], { stdin: "short secret" });
    expect(Buffer.from((await ok(["decrypt", "--key", id], { stdin: hex })).trim(), "hex").toString()).toBe(
      "short secret",
    );

    await fails(["decrypt", "--key", id, "--in", ctFile], 3, "DECRYPT_FAILED"); // AAD missing
    await fails(["decrypt", "--key", id, "--aad", "00", "--in", ctFile], 3, "DECRYPT_FAILED");
    for (const at of [10, 40, ciphertext.length - 1]) {
      const tampered = Buffer.from(ciphertext);
      tampered[at]! ^= 0x01;
      const r = await vhsm(["--json", "decrypt", "--key", id, "--aad", aad], { stdin: tampered });
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout).error.code).toBe("DECRYPT_FAILED");
    }
  });

  test("decrypts the GCM spec's AES-256 test case 16 (an independent ciphertext)", async () => {
    const key = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    const id = (
      await ok(["key", "import", "--type", "aes-256", "--in", file("gcm-key", Buffer.from(key, "hex"))])
    ).trim();
    const blob = Buffer.concat([
      Buffer.of(0, 0, 0, 1),
      Buffer.from("cafebabefacedbaddecaf888", "hex"),
      Buffer.from(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "hex",
      ),
      Buffer.from("76fc6ece0f4e1768cddf8853bb2d551b", "hex"),
    ]);
    const plain = await ok(["decrypt", "--key", id, "--aad", "feedfacedeadbeeffeedfacedeadbeefabaddad2"], {
      stdin: blob,
    });
    expect(plain.trim()).toBe(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
  });

  test("RSA-OAEP: a ciphertext openssl made with `vhsm key public` decrypts", async () => {
    const id = (await ok(["key", "generate", "--type", "rsa-2048", "--usage", "encrypt,decrypt"])).trim();
    const pem = Buffer.from(await ok(["key", "public", "--key", id]));
    const secret = randomBytes(64);
    const ct = opensslOaepEncrypt(pem, secret);
    expect(
      Buffer.from((await ok(["decrypt", "--key", id], { stdin: ct })).trim(), "hex").equals(secret),
    ).toBe(true);
    // the key was made for encryption only: signing is outside its policy
    await fails(["sign", "--key", id], 3, "NOT_AUTHORISED", { stdin: "x" });
  });
});

describe("versions and policy", () => {
  test("rotate: new version for new ciphertexts and signatures, old ones still work until retired", async () => {
    const id = (await ok(["key", "generate", "--type", "aes-256", "--id", "rot-aes"])).trim();
    const v1 = out("v1.ct");
    await ok(["encrypt", "--key", id, "--out", v1], { stdin: "from version one" });
    expect((await ok(["key", "rotate", "--key", id])).trim()).toBe("2");
    expect(await json(["key", "rotate", "--key", id])).toEqual({ id, version: 3 });
    const v3 = await json(["encrypt", "--key", id], { stdin: "from version three" });
    expect(v3.version).toBe(3);
    expect(v3.ciphertext.slice(0, 8)).toBe("00000003");
    const dec = async (args: string[], stdin?: string) =>
      Buffer.from((await ok(["decrypt", "--key", id, ...args], { stdin })).trim(), "hex").toString();
    expect(await dec(["--in", v1])).toBe("from version one");

    await ok(["key", "update", "--key", id, "--min-version", "2"]);
    const info = await json(["key", "info", id]);
    expect(info).toMatchObject({ version: 3, minVersion: 2 });
    expect(await ok(["key", "info", id])).toMatch(/^min version\s+2$/m);
    await fails(["decrypt", "--key", id, "--in", v1], 3, "NOT_AUTHORISED");
    expect(await dec([], v3.ciphertext)).toBe("from version three");
    // the minimum only goes up
    await fails(["key", "update", "--key", id, "--min-version", "1"], 3, "BAD_ARGUMENTS");

    const signer = (await ok(["key", "generate", "--type", "ed25519"])).trim();
    const s1 = await json(["sign", "--key", signer], { stdin: "m" });
    expect(s1.version).toBe(1);
    await ok(["key", "rotate", "--key", signer]);
    const s2 = await json(["sign", "--key", signer], { stdin: "m" });
    expect(s2.version).toBe(2);
    const pub1 = await ok(["key", "public", "--key", signer, "--version", "1"]);
    expect(pub1).not.toBe(await ok(["key", "public", "--key", signer]));
    expect(
      opensslVerify(Buffer.from(pub1), Buffer.from("m"), Buffer.from(s1.signature, "hex"), { rawin: true }),
    ).toBe(true);
    await ok(["verify", "--key", signer, "--version", "1", "--sig-hex", s1.signature], { stdin: "m" });
    expect((await vhsm(["verify", "--key", signer, "--sig-hex", s1.signature], { stdin: "m" })).code).toBe(1);
  });

  test("generate with usage, exportability and rotation; update narrows and can only narrow", async () => {
    const id = "policy-key";
    await ok([
      "key",
      "generate",
      "--type",
      "aes-256",
      "--id",
      id,
      "--usage",
      "encrypt,decrypt,wrap",
      "--exportable",
      "--rotate-every",
      "12h",
    ]);
    const text = await ok(["key", "info", id]);
    expect(text).toMatch(/^usage\s+encrypt,decrypt,wrap$/m);
    expect(text).toMatch(/^exportable\s+yes$/m);
    expect(text).toMatch(/^rotation\s+every 12h$/m);
    expect(await json(["key", "info", id])).toMatchObject({
      type: "aes-256",
      bits: 256,
      usage: ["encrypt", "decrypt", "wrap"],
      exportable: true,
      rotateEverySeconds: 43200,
      minVersion: 1,
    });

    await ok(["key", "update", "--key", id, "--usage", "decrypt", "--rotate-every", "30d"]);
    expect(await json(["key", "info", id])).toMatchObject({
      usage: ["decrypt"],
      rotateEverySeconds: 2592000,
    });
    await fails(["encrypt", "--key", id], 3, "NOT_AUTHORISED", { stdin: "x" });
    await fails(["key", "update", "--key", id, "--usage", "decrypt,encrypt"], 3, "NOT_AUTHORISED");
    expect(
      await json(["key", "update", "--key", id, "--rotate-every", "never", "--lock-non-exportable"]),
    ).toEqual({
      updated: id,
    });
    expect(await json(["key", "info", id])).toMatchObject({ exportable: false, rotateEverySeconds: 0 });
    expect(await ok(["key", "info", id])).toMatch(/^rotation\s+never$/m);
  });
});

describe("wrap and unwrap", () => {
  test("an exportable key moves from alice to bob under a shared AES-256 wrapping key", async () => {
    const kek = randomBytes(32);
    const kekFile = file("kek", kek);
    const bob = { env: { VHSM_USER: "bob" } };
    await ok(["key", "import", "--type", "aes-256", "--id", "kek", "--in", kekFile]);
    await ok(["key", "import", "--type", "aes-256", "--id", "kek", "--in", kekFile], bob);
    await ok(["key", "generate", "--type", "ecdsa-p256", "--id", "travelling", "--exportable"]);

    const wrappedFile = out("wrapped");
    const w = await json(["wrap", "--key", "travelling", "--wrapping-key", "kek", "--out", wrappedFile]);
    expect(w).toMatchObject({ type: "ecdsa-p256", bits: 256, out: wrappedFile });
    expect(readFileSync(wrappedFile).toString("hex")).toBe(w.wrapped);
    const id = (
      await ok(
        ["unwrap", "--wrapping-key", "kek", "--type", "ecdsa-p256", "--id", "arrived", "--in", wrappedFile],
        bob,
      )
    ).trim();
    expect(id).toBe("arrived");
    const alicePub = await ok(["key", "public", "--key", "travelling"]);
    expect(await ok(["key", "public", "--key", "arrived"], bob)).toBe(alicePub);
    // bob signs, openssl checks with alice's public key
    const sigFile = out("bob.sig");
    await ok(["sign", "--key", "arrived", "--out", sigFile], { ...bob, stdin: "hello" });
    expect(
      opensslVerify(Buffer.from(alicePub), Buffer.from("hello"), readFileSync(sigFile), {
        rawin: true,
        digest: "sha256",
      }),
    ).toBe(true);
    expect((await json(["key", "info", "arrived"], bob)).exportable).toBe(false);

    // hex on stdout pipes into unwrap's stdin
    const hex = await ok(["wrap", "--key", "travelling", "--wrapping-key", "kek"]);
    expect(hex.trim()).toBe(w.wrapped); // AES-KWP is deterministic
    expect(
      await json(["unwrap", "--wrapping-key", "kek", "--type", "ecdsa-p256", "--exportable"], {
        ...bob,
        stdin: hex,
      }),
    ).toEqual({ id: expect.stringMatching(/^\S+$/) });

    // not exportable: never leaves; a different wrapping key: refused
    await ok(["key", "generate", "--type", "ed25519", "--id", "homebody"]);
    await fails(["wrap", "--key", "homebody", "--wrapping-key", "kek"], 3, "NOT_EXPORTABLE");
    await ok(["key", "generate", "--type", "aes-256", "--id", "other-kek"], bob);
    const r = await vhsm(
      ["unwrap", "--wrapping-key", "other-kek", "--type", "ecdsa-p256", "--in", wrappedFile],
      bob,
    );
    expect(r.code).toBe(3);
  });
});

describe("bad input", () => {
  const offline = { env: { VHSM_SOCKET: "/nonexistent/vhsm.sock" } };
  test("usage errors exit 2 before anything is sent", async () => {
    const cases = [
      ["key", "generate", "--type", "des"],
      ["key", "generate", "--type", "ed25519", "--usage", "sign,fly"],
      ["key", "generate", "--type", "ed25519", "--usage", ","],
      ["key", "generate", "--rotate-every", "30x"],
      ["key", "generate", "--rotate-every", "0s"],
      ["key", "generate", "--rotate-every", "-5d"],
      ["key", "generate", "--rotate-every=-5d"],
      ["key", "generate", "--rotate-every", "99999999999d"],
      ["key", "import", "--type", "ed25519", "--format", "xml", "--in", "/dev/null"],
      ["key", "public"],
      ["key", "public", "--key", "k", "--format", "raw"],
      ["key", "public", "--key", "k", "--version", "0"],
      ["key", "rotate"],
      ["key", "rotate", "--key", "k", "--usage", "sign"],
      ["key", "update", "--key", "k"],
      ["key", "update", "--key", "k", "--rotate-every", "soon"],
      ["key", "update", "--key", "k", "--min-version", "x"],
      ["sign", "--in", "/dev/null"],
      ["sign", "--key", "k", "--alg", "md5-rsa", "--in", "/dev/null"],
      ["sign", "--key", "k", "--aad", "00", "--in", "/dev/null"],
      ["verify", "--key", "k", "--in", "/dev/null"],
      ["verify", "--key", "k", "--sig-hex", "00", "--sig", "/dev/null", "--in", "/dev/null"],
      ["verify", "--key", "k", "--sig", "-"],
      ["verify", "--key", "k", "--sig-hex", "xyz", "--in", "/dev/null"],
      ["encrypt", "--key", "k", "--aad", "zz", "--in", "/dev/null"],
      ["decrypt", "--in", "/dev/null"],
      ["wrap", "--key", "k"],
      ["unwrap", "--wrapping-key", "k", "--in", "/dev/null"],
      ["unwrap", "--wrapping-key", "k", "--type", "aes-128", "--in", "/dev/null"],
    ];
    for (const args of cases) {
      const r = await vhsm(args, offline);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^vhsm: USAGE: .+\nhint: .+\n$/);
    }
    const unknown = await vhsm(["--json", "key", "generate", "--type", "des"], offline);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: "USAGE", status: null });
    expect(JSON.parse(unknown.stdout).error.message).toContain("ecdsa-p256");
  });

  test("inputs over one frame (16 MiB) are refused with exit 2, from a file and from stdin", async () => {
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x61);
    const bigFile = file("big", big);
    for (const args of [
      ["sign", "--key", "k", "--in", bigFile],
      ["encrypt", "--key", "k", "--in", bigFile],
      ["verify", "--key", "k", "--sig-hex", "00", "--in", bigFile],
    ]) {
      const r = await vhsm(args, offline);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("in one request, at most 16 MiB");
    }
    const piped = await vhsm(["sign", "--key", "k"], { ...offline, stdin: big });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain("vhsm digest");
    // exactly 16 MiB is one frame and goes through
    const id = (await ok(["key", "generate", "--type", "ed25519"])).trim();
    const exact = big.subarray(0, 16 * 1024 * 1024);
    const sig = await json(["sign", "--key", id, "--in", file("exact", exact)]);
    expect(
      opensslVerify(
        Buffer.from(await ok(["key", "public", "--key", id])),
        exact,
        Buffer.from(sig.signature, "hex"),
        { rawin: true },
      ),
    ).toBe(true);
  });

  test("the appliance's refusals exit 3 with their code", async () => {
    await fails(["key", "import", "--type", "ed25519", "--format", "pem"], 3, "BAD_ARGUMENTS", {
      stdin: "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n",
    });
    const p256 = opensslGenerate(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    await fails(["key", "import", "--type", "ed25519", "--format", "pem"], 3, "BAD_ARGUMENTS", {
      stdin: p256,
    });
    await fails(["key", "import", "--type", "ecdsa-p384"], 3, "BAD_ARGUMENTS", { stdin: p256 });
    const mac = (await ok(["key", "generate"])).trim();
    await fails(["sign", "--key", mac], 3, "UNSUPPORTED_MECHANISM", { stdin: "x" });
    const ed = (await ok(["key", "generate", "--type", "ed25519"])).trim();
    await fails(["sign", "--key", ed, "--prehashed"], 3, "UNSUPPORTED_MECHANISM", { stdin: "ab".repeat(32) });
    await fails(["sign", "--key", ed, "--alg", "rsa-pss-sha256"], 3, "UNSUPPORTED_MECHANISM", { stdin: "x" });
    await fails(["key", "generate", "--type", "ed25519", "--usage", "encrypt"], 3, "BAD_ARGUMENTS");
    await fails(["key", "rotate", "--key", "no-such-key"], 3, "KEY_NOT_FOUND");
    await fails(["encrypt", "--key", ed], 3, "UNSUPPORTED_MECHANISM", { stdin: "x" });
  });
});

describe("--json shapes", () => {
  test("sign, verify, encrypt, decrypt, key public (pem, der, jwk), key info", async () => {
    const id = (await ok(["key", "generate", "--type", "ecdsa-p256", "--id", "json-ec"])).trim();
    const s = await json(["sign", "--key", id], { stdin: "data" });
    expect(Object.keys(s).sort()).toEqual(["signature", "version"]);
    expect(s.signature).toMatch(/^30[0-9a-f]+$/);
    const sigOut = out("json.sig");
    expect(await json(["sign", "--key", id, "--out", sigOut], { stdin: "data" })).toEqual({
      signature: readFileSync(sigOut).toString("hex"),
      version: 1,
      out: sigOut,
    });
    expect(await json(["verify", "--key", id, "--sig-hex", s.signature], { stdin: "data" })).toEqual({
      key: id,
      valid: true,
    });

    const pem = await json(["key", "public", "--key", id]);
    expect(pem).toEqual({
      id,
      version: 1,
      format: "pem",
      public: expect.stringContaining("BEGIN PUBLIC KEY"),
    });
    const der = await json(["key", "public", "--key", id, "--format", "der"]);
    expect(der.format).toBe("der");
    expect(createPublicKey(pem.public).export({ format: "der", type: "spki" }).toString("hex")).toBe(
      der.public,
    );
    // DER: hex on stdout, raw bytes with --out
    expect((await ok(["key", "public", "--key", id, "--format", "der"])).trim()).toBe(der.public);
    await ok(["key", "public", "--key", id, "--format", "der", "--out", out("pub.der")]);
    expect(readFileSync(out("pub.der")).toString("hex")).toBe(der.public);
    const jwk = await json(["key", "public", "--key", id, "--format", "jwk"]);
    expect(jwk.public).toMatchObject({ kty: "EC", crv: "P-256", kid: `${id}#1` });
    expect(createPublicKey({ key: jwk.public, format: "jwk" }).equals(createPublicKey(pem.public))).toBe(
      true,
    );

    const aes = (await ok(["key", "generate", "--type", "aes-256"])).trim();
    const e = await json(["encrypt", "--key", aes], { stdin: "hi" });
    expect(Object.keys(e).sort()).toEqual(["ciphertext", "version"]);
    expect(await json(["decrypt", "--key", aes, "--in", file("e.hex", e.ciphertext)])).toEqual({
      plaintext: Buffer.from("hi").toString("hex"),
    });

    const info = await json(["key", "info", id]);
    expect(info).toMatchObject({
      id,
      type: "ecdsa-p256",
      bits: 256,
      version: 1,
      minVersion: 1,
      usage: ["sign", "verify"],
      exportable: false,
      rotateEverySeconds: 0,
    });
    expect(new Date(info.rotated).getTime()).toBeGreaterThan(0);
  });
});

describe("the Node bundle (dist/vhsm.mjs)", () => {
  const bundle = join(ROOT, "dist/vhsm.mjs");
  const node = Bun.which("node");
  test.skipIf(!existsSync(bundle) || !node)("runs directly under node (its shebang) and signs", async () => {
    expect(readFileSync(bundle, "utf8").split("\n", 1)[0]).toBe("#!/usr/bin/env node");
    // run as a program: the shebang finds node on PATH
    const entry = [bundle];
    const id = (await ok(["key", "generate", "--type", "ed25519"], { entry })).trim();
    const pem = Buffer.from(await ok(["key", "public", "--key", id], { entry }));
    const sig = out("node.sig");
    await ok(["sign", "--key", id, "--out", sig], { entry, stdin: "under node" });
    expect(opensslVerify(pem, Buffer.from("under node"), readFileSync(sig), { rawin: true })).toBe(true);
  });
});

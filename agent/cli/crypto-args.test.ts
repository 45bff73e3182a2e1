import { expect, test } from "bun:test";
import { durationOption, formatDuration, keyTypeOption, signOptions, usageOption } from "./crypto-args.ts";
import { rawOrHex } from "./whole-input.ts";

test("durations: s, m, h, d (bare numbers are seconds), never only where allowed", () => {
  expect(durationOption("90s", "--rotate-every", false)).toBe(90);
  expect(durationOption("15m", "--rotate-every", false)).toBe(900);
  expect(durationOption("12H", "--rotate-every", false)).toBe(43200);
  expect(durationOption("30d", "--rotate-every", false)).toBe(2592000);
  expect(durationOption("45", "--rotate-every", false)).toBe(45);
  expect(durationOption("never", "--rotate-every", true)).toBe(0);
  for (const bad of ["never", "0", "0d", "-1d", "1.5h", "1w", "d", "", "50000d"]) {
    expect(() => durationOption(bad, "--rotate-every", false)).toThrow("duration");
  }
  expect([2592000, 43200, 900, 90, 0].map(formatDuration)).toEqual(["30d", "12h", "15m", "90s", "never"]);
});

test("key types, usages and signature algorithms are checked before sending (exit 2, not 3)", () => {
  expect(keyTypeOption("ECDSA-P256")).toBe("ecdsa-p256");
  expect(keyTypeOption(undefined, "hmac")).toBe("hmac");
  expect(() => keyTypeOption(undefined)).toThrow("--type is required");
  expect(() => keyTypeOption("des")).toThrow(expect.objectContaining({ code: "USAGE" }));
  expect(usageOption("sign, verify")).toEqual(["sign", "verify"]);
  expect(usageOption(undefined)).toBeUndefined();
  expect(() => usageOption("sign,fly")).toThrow(expect.objectContaining({ code: "USAGE" }));
  expect(signOptions({ alg: "RSA-PSS-SHA384", prehashed: true })).toEqual({
    alg: "rsa-pss-sha384",
    prehashed: true,
    rawEcdsa: undefined,
  });
  expect(() => signOptions({ alg: "md5" })).toThrow(expect.objectContaining({ code: "USAGE" }));
});

test("rawOrHex decodes hex text and leaves binary alone", () => {
  expect(rawOrHex(Buffer.from("00ff10AB\n")).toString("hex")).toBe("00ff10ab");
  const ciphertext = Buffer.from("0000000133", "hex"); // a version prefix is never hex text
  expect(rawOrHex(Buffer.from(ciphertext)).equals(ciphertext)).toBe(true);
  // bytes 0x10-0x19 are not digits, whatever a case fold would say
  const low = Buffer.from([0x10, 0x11]);
  expect(rawOrHex(Buffer.from(low)).equals(low)).toBe(true);
  expect(rawOrHex(Buffer.from("abc")).toString()).toBe("abc"); // odd length: not hex
  expect(rawOrHex(Buffer.alloc(0)).length).toBe(0);
});

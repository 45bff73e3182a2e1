/** Known-answer tests: all pass on a healthy runtime; an injected fault fails exactly that one. */
import { describe, expect, test } from "bun:test";
import { runSelfTests } from "./self-test.ts";

describe("runSelfTests", () => {
  const healthy = runSelfTests("");

  test("every known-answer test passes on this runtime", () => {
    expect(healthy.failed).toEqual([]);
    expect(healthy.ok).toBe(true);
    expect(healthy.passed).toEqual(
      expect.arrayContaining(["sha1", "sha256", "hmac-sha256", "aes-256-gcm", "scrypt", "random"]),
    );
  });

  test("a fault injected into one test fails exactly that test", () => {
    for (const name of healthy.passed) {
      const r = runSelfTests(`kat:${name}`);
      expect([name, r.ok, r.failed]).toEqual([name, false, [name]]);
      expect(r.passed.length).toBe(healthy.passed.length - 1);
    }
  });
});

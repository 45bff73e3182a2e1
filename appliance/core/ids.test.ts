/** Names and ids chosen by clients and operators: what is accepted and what is refused. */
import { describe, expect, test } from "bun:test";
import { checkContainerName, checkKeyId, checkPin, checkUserName, newKeyId } from "./ids.ts";

const codeOf = (f: () => unknown) => {
  try {
    f();
    return "OK";
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe("key ids", () => {
  test("1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit", () => {
    for (const ok of ["a", "K1", "web.sign-2024_01", "x".repeat(64), "0"])
      expect([ok, codeOf(() => checkKeyId(ok))]).toEqual([ok, "OK"]);
    for (const bad of ["", ".hidden", "-x", "_x", "a b", "a/b", "x".repeat(65), "é", "a\n", "a\0"]) {
      expect([bad, codeOf(() => checkKeyId(bad))]).toEqual([bad, "BAD_ARGUMENTS"]);
    }
  });

  test("generated ids are valid and distinct", () => {
    const ids = new Set(Array.from({ length: 100 }, newKeyId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(codeOf(() => checkKeyId(id))).toBe("OK");
  });
});

describe("container and user names", () => {
  test("container names are lower-case path-safe words of 1-63 characters", () => {
    for (const ok of ["web", "db-1", "a.b_c", "x".repeat(63)])
      expect(codeOf(() => checkContainerName(ok))).toBe("OK");
    for (const bad of ["", "Web", ".", "..", "-x", "a/b", "x".repeat(64), "a b"]) {
      expect([bad, codeOf(() => checkContainerName(bad))]).toEqual([bad, "BAD_ARGUMENTS"]);
    }
  });

  test("user names allow mixed case and @, never separators or spaces", () => {
    for (const ok of ["Alice", "svc@web", "a.b-c_d"]) expect(codeOf(() => checkUserName(ok))).toBe("OK");
    for (const bad of ["", "@x", "a b", "a/b", "a:b", "x".repeat(65)]) {
      expect([bad, codeOf(() => checkUserName(bad))]).toEqual([bad, "BAD_ARGUMENTS"]);
    }
  });
});

test("PINs are 4 to 64 bytes (bytes, not characters)", () => {
  expect(codeOf(() => checkPin(Buffer.from("1234")))).toBe("OK");
  expect(codeOf(() => checkPin(Buffer.alloc(64, 1)))).toBe("OK");
  expect(codeOf(() => checkPin(Buffer.from("123")))).toBe("PIN_POLICY");
  expect(codeOf(() => checkPin(Buffer.alloc(65, 1)))).toBe("PIN_POLICY");
  expect(codeOf(() => checkPin(Buffer.from("€".repeat(22))))).toBe("PIN_POLICY"); // 66 bytes
});

import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { GENESIS, recomputeHash, serialise } from "./record.ts";

describe("audit records", () => {
  test("the hand-built line is exactly JSON.stringify of the fields, so verification recomputes its hash", () => {
    const events = [
      { actor: "web/alice", op: "HMAC", key: "k1", status: "OK" },
      { actor: "web", op: "LOGIN", status: "BAD_CREDENTIALS" },
      {
        actor: "web/bob",
        op: "SIGN",
        key: "k2",
        version: 2,
        status: "OK",
        count: 1500,
        until: "2026-11-25T00:00:00.099Z",
      },
      { actor: "web/alice", op: "SIGN", key: 'odd "key"\\\n\u2028', version: 3, status: "OK", detail: "é ✓" },
    ];
    let prev = GENESIS;
    events.forEach((event, i) => {
      const { line, hash } = serialise(i + 1, "2026-11-25T00:00:00.000Z", event, prev);
      const parsed = JSON.parse(line);
      const { hash: _h, ...fields } = parsed;
      expect(line).toBe(JSON.stringify({ ...fields, hash }));
      expect(recomputeHash(parsed)).toBe(hash);
      // independent reference for the chain rule: SHA-256(prev || "\n" || body)
      const body = JSON.stringify(fields);
      expect(hash).toBe(createHash("sha256").update(`${prev}\n${body}`).digest("hex"));
      prev = hash;
    });
  });
});

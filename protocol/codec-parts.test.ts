import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { DETACH_BYTES_AT, encodeFrame, encodeFrameParts } from "./codec.ts";
import { MESSAGES } from "./messages.ts";

const join = (parts: Uint8Array[]) => Buffer.concat(parts);

describe("encodeFrameParts", () => {
  test("small bytes fields are copied into one part identical to encodeFrame", () => {
    const spec = MESSAGES.HMAC;
    const values = { keyId: "k1", alg: 1, data: randomBytes(DETACH_BYTES_AT - 1) };
    const parts = encodeFrameParts(spec.opcode, 0, 0, 7, spec.request, values);
    expect(parts.length).toBe(1);
    expect(Buffer.from(parts[0]!)).toEqual(
      Buffer.from(encodeFrame(spec.opcode, 0, 0, 7, spec.request, values)),
    );
  });

  test("large bytes fields travel by reference, and the parts join into the same frame", () => {
    const spec = MESSAGES.HMAC_VERIFY;
    const data = randomBytes(DETACH_BYTES_AT * 3);
    const values = { keyId: "key", alg: 2, data, mac: randomBytes(32) };
    const parts = encodeFrameParts(spec.opcode, 0, 0, 9, spec.request, values);
    expect(parts.length).toBe(3);
    expect(parts[1]).toBe(data);
    expect(join(parts)).toEqual(Buffer.from(encodeFrame(spec.opcode, 0, 0, 9, spec.request, values)));
  });

  test("a large bytes field as the last field leaves no empty trailing part", () => {
    const spec = MESSAGES.DIGEST;
    const data = randomBytes(DETACH_BYTES_AT);
    const parts = encodeFrameParts(spec.opcode, 0, 0, 1, spec.request, { alg: 1, data });
    expect(parts.map((p) => p.length)).toEqual([16 + 1 + 4, data.length]);
  });
});

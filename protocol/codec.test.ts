/**
 * The TypeScript codec against the committed hex vectors (test/vectors/messages.json), the same file
 * the C codec is tested with; and the committed file against the generator, so it cannot go stale.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  fieldsFromJson,
  fieldsToJson,
  renderVectorFile,
  VECTORS_PATH,
  type Vector,
  type VectorFile,
} from "../scripts/gen-vectors.ts";
import { decodeBody, encodeFrame, encodeRequest } from "./codec.ts";
import { DEFAULT_MAX_BODY, type Frame, FrameReader, HEADER_SIZE, readHeader } from "./frame.ts";
import { ERROR_BODY, MESSAGES, type MessageName } from "./messages.ts";
import { Status, VhsmError } from "./status.ts";

const committed = readFileSync(VECTORS_PATH, "utf8");
const file = JSON.parse(committed) as VectorFile;
const vectors = file.vectors as Vector[];
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Cuts the frames out of `stream` with the real framing loop. */
function frames(stream: Uint8Array, maxBody = DEFAULT_MAX_BODY): Frame[] {
  const out: Frame[] = [];
  new FrameReader(maxBody, (f) => out.push(f)).push(stream);
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an exception");
}

test("the committed vector file is what the generator produces", () => {
  expect(committed).toBe(renderVectorFile());
});

test("every message in the table has a request, a response and an error vector", () => {
  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    const kinds = vectors.filter((v) => v.message === name).map((v) => v.name.slice(name.length + 1));
    expect(kinds.sort()).toEqual(["error", "request", "response"]);
  }
});

describe.each(vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
  const spec = MESSAGES[v.message];
  const schema = v.status === Status.OK ? spec[v.direction] : ERROR_BODY;

  test("uses the table's opcode and schema", () => {
    expect(v.opcode).toBe(spec.opcode);
    expect(v.schema).toEqual(schema);
    // key order is the wire order
    expect(Object.keys(v.schema)).toEqual(Object.keys(schema));
  });

  test("encodes to the hex", () => {
    const frame = encodeFrame(
      v.opcode,
      v.flags,
      v.status,
      v.requestId,
      schema,
      fieldsFromJson(schema, v.fields),
    );
    expect(hexOf(frame)).toBe(v.hex);
  });

  test("decodes from the hex", () => {
    const [frame, ...rest] = frames(bytes(v.hex));
    expect(rest).toHaveLength(0);
    expect(frame!.opcode).toBe(v.opcode);
    expect(frame!.flags).toBe(v.flags);
    expect(frame!.status).toBe(v.status);
    expect(frame!.requestId).toBe(v.requestId);
    expect(frame!.bodyLength).toBe(v.hex.length / 2 - HEADER_SIZE);
    expect(fieldsToJson(schema, decodeBody(schema, frame!.body))).toEqual(v.fields);
  });
});

describe.each(file.invalid.map((v) => [v.name, v] as const))("invalid: %s", (_, v) => {
  test(`is refused with ${v.expect}`, () => {
    const err = thrown(() => {
      const cut = frames(bytes(v.hex), v.maxBody ?? DEFAULT_MAX_BODY);
      if (v.level === "header") return;
      expect(cut).toHaveLength(1);
      decodeBody(v.schema!, cut[0]!.body);
    });
    expect(err).toBeInstanceOf(VhsmError);
    expect((err as VhsmError).code).toBe(v.expect);
  });
});

test("a header-level case is refused by readHeader or the length check, not later", () => {
  for (const v of file.invalid.filter((i) => i.level === "header" && i.expect !== "FRAME_TOO_LARGE")) {
    const head = bytes(v.hex).subarray(0, HEADER_SIZE);
    expect((thrown(() => readHeader(head)) as VhsmError).code).toBe(v.expect);
  }
});

test("the invalid cases cover every kind of malformed body the decoder knows", () => {
  const names = file.invalid.map((v) => v.name).join("\n");
  for (const kind of [
    "trailing byte",
    "str length beyond",
    "invalid UTF-8",
    "bytes length beyond",
    "cut short",
  ]) {
    expect(names).toContain(kind);
  }
});

test("a leading byte-order mark is part of a string, not dropped: EF BB BF 'a' is not 'a'", () => {
  const body = Buffer.from("0004efbbbf61", "hex");
  const decoded = decodeBody({ s: "str" }, body) as { s: string };
  expect(decoded.s).toBe("\uFEFFa");
  expect(decoded.s).not.toBe("a");
});

test("a frame reader told to discard the frame it is receiving forgets it, and reads the next from its start", () => {
  const frames: Frame[] = [];
  const reader = new FrameReader(DEFAULT_MAX_BODY, (f) => frames.push({ ...f, body: f.body.slice() }));
  const cut = encodeRequest("RANDOM", 1, { length: 16 });
  reader.push(cut.subarray(0, cut.length - 2));
  expect(reader.midFrame).toBe(true);
  reader.discard();
  expect([reader.midFrame, reader.partialBytes]).toEqual([false, 0]);
  reader.push(encodeRequest("RANDOM", 2, { length: 32 }));
  expect(frames.map((f) => f.requestId)).toEqual([2]);
});

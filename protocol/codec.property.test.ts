/**
 * Property tests of the codec and the framing loop (fast-check): round trips for random field values of
 * every message in the table; arbitrary bytes never raise anything but a VhsmError; the frames cut from a
 * stream do not depend on how the stream is split into chunks; a StringMemo never changes what is decoded;
 * a body kept in its pieces holds the same bytes and decodes the same as the body joined, and a piece
 * it marks as owned lies in a read that holds nothing else (it can be detached without harm).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeBody, decodeSplitBody, encodeFrame, StringMemo } from "./codec.ts";
import {
  FLAG_RESPONSE,
  type Frame,
  FrameReader,
  HEADER_SIZE,
  joinPieces,
  readHeader,
  ScatteredBytes,
} from "./frame.ts";
import {
  ERROR_BODY,
  type FieldType,
  MESSAGES,
  type MessageName,
  messageName,
  type Schema,
} from "./messages.ts";
import { Status, VhsmError } from "./status.ts";

const NAMES = Object.keys(MESSAGES) as MessageName[];
const RUNS = Number(process.env.VHSM_PROPERTY_RUNS ?? 1000);

const FIELD: Record<FieldType, fc.Arbitrary<unknown>> = {
  u8: fc.integer({ min: 0, max: 0xff }),
  u16: fc.integer({ min: 0, max: 0xffff }),
  u32: fc.integer({ min: 0, max: 0xffffffff }),
  u64: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 2 ** 32, 2 ** 32 - 1), fc.maxSafeNat()),
  bytes: fc.uint8Array({ maxLength: 80 }),
  str: fc.oneof(fc.string({ unit: "grapheme", maxLength: 24 }), fc.string({ unit: "binary", maxLength: 24 })),
  strs: fc.array(fc.string({ unit: "grapheme", maxLength: 12 }), { maxLength: 6 }),
};

const fieldsOf = (schema: Schema) =>
  fc.record(Object.fromEntries(Object.entries(schema).map(([name, type]) => [name, FIELD[type]])));

/** A random valid frame of any message in the table: request, response or error response. */
const anyFrame = fc
  .tuple(
    fc.constantFrom(...NAMES),
    fc.constantFrom("request", "response", "error"),
    fc.nat({ max: 0xffffffff }),
  )
  .chain(([name, kind, requestId]) => {
    const schema = kind === "error" ? ERROR_BODY : MESSAGES[name][kind as "request" | "response"];
    const status = kind === "error" ? Status.KEY_NOT_FOUND : Status.OK;
    const flags = kind === "request" ? 0 : FLAG_RESPONSE;
    return fieldsOf(schema).map((values) => ({
      name,
      schema,
      values,
      requestId,
      bytes: encodeFrame(MESSAGES[name].opcode, flags, status, requestId, schema, values),
    }));
  });

/** The schema a receiver decodes a frame's body with; undefined for an opcode not in the table. */
function schemaFor(frame: Frame): Schema | undefined {
  if (frame.status !== Status.OK) return ERROR_BODY;
  const name = messageName(frame.opcode);
  if (!name) return undefined;
  return frame.flags & FLAG_RESPONSE ? MESSAGES[name].response : MESSAGES[name].request;
}

/** Feeds chunks to a FrameReader; returns the frames (body copied) and the error that stopped it. */
function cut(chunks: Uint8Array[], maxBody = 1 << 20): { frames: string[]; error?: string } {
  const frames: string[] = [];
  const reader = new FrameReader(maxBody, (f) => {
    frames.push(`${f.opcode}/${f.flags}/${f.status}/${f.requestId}/${Buffer.from(f.body).toString("hex")}`);
  });
  return pushAll(reader, chunks, frames);
}

/** Pushes `chunks` through `reader`: the frames it gave, and the error code that stopped it. */
function pushAll(
  reader: FrameReader,
  chunks: Uint8Array[],
  frames: string[],
): { frames: string[]; error?: string } {
  try {
    for (const c of chunks) reader.push(c);
  } catch (err) {
    if (!(err instanceof VhsmError)) throw err;
    return { frames, error: err.code };
  }
  return { frames };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Splits `bytes` at the given (sorted, deduplicated) offsets. */
function splitAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe("round trip", () => {
  test("decode(encode(fields)) == fields for random values of every message", () => {
    fc.assert(
      fc.property(anyFrame, ({ schema, values, requestId, bytes }) => {
        const header = readHeader(bytes);
        expect(header.requestId).toBe(requestId);
        expect(header.bodyLength).toBe(bytes.length - HEADER_SIZE);
        // JS strings may hold lone surrogates; UTF-8 cannot, so they arrive as U+FFFD
        const expected = Object.fromEntries(
          Object.entries(values).map(([k, v]) => [
            k,
            typeof v === "string" ? (v as unknown as { toWellFormed(): string }).toWellFormed() : v,
          ]),
        );
        expect(decodeBody(schema, bytes.subarray(HEADER_SIZE))).toEqual(expected);
      }),
      { numRuns: RUNS * 5 },
    );
  });

  test("every message is reachable by the generator", () => {
    const seen = new Set(fc.sample(anyFrame, 3000).map((f) => f.name));
    expect([...seen].sort()).toEqual([...NAMES].sort());
  });
});

describe("hostile input never raises anything but a VhsmError", () => {
  const decodeAll = (stream: Uint8Array, maxBody: number) => {
    try {
      new FrameReader(maxBody, (frame) => {
        const schema = schemaFor(frame);
        if (schema) decodeBody(schema, frame.body);
      }).push(stream);
    } catch (err) {
      if (!(err instanceof VhsmError)) throw err;
    }
  };

  test("random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 256 }), (stream, maxBody) =>
        decodeAll(stream, maxBody),
      ),
      { numRuns: RUNS * 5 },
    );
  });

  test("a valid header (any opcode of the table, any flags and status) before a random body", () => {
    const frameWithRandomBody = fc
      .tuple(
        fc.constantFrom(...NAMES),
        fc.nat({ max: 3 }),
        fc.nat({ max: 20 }),
        fc.uint8Array({ maxLength: 120 }),
      )
      .map(([name, flags, status, body]) => {
        const out = new Uint8Array(HEADER_SIZE + body.length);
        out.set(encodeFrame(MESSAGES[name].opcode, flags, status, 1, {}, {}));
        new DataView(out.buffer).setUint32(12, body.length);
        out.set(body, HEADER_SIZE);
        return out;
      });
    fc.assert(
      fc.property(frameWithRandomBody, (stream) => decodeAll(stream, 1 << 20)),
      { numRuns: RUNS * 5 },
    );
  });

  test("valid frames with random bytes overwritten (bit flips, length lies)", () => {
    const mutated = fc
      .tuple(
        fc.array(anyFrame, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      )
      .map(([frames, edits]) => {
        const stream = concat(frames.map((f) => f.bytes));
        for (const [at, value] of edits) stream[at % stream.length] = value;
        return stream;
      });
    fc.assert(
      fc.property(mutated, (stream) => decodeAll(stream, 1 << 20)),
      { numRuns: RUNS * 5 },
    );
  });
});

describe("framing does not depend on how the stream is split", () => {
  const pipelined = fc
    .array(anyFrame, { minLength: 2, maxLength: 5 })
    .map((fs) => concat(fs.map((f) => f.bytes)));

  test("every single split point of a pipelined sequence, and one byte at a time", () => {
    fc.assert(
      fc.property(pipelined, (stream) => {
        const whole = cut([stream]);
        expect(whole.error).toBeUndefined();
        for (let i = 0; i <= stream.length; i++) {
          expect(cut([stream.subarray(0, i), stream.subarray(i)])).toEqual(whole);
        }
        expect(cut([...stream].map((b) => new Uint8Array([b])))).toEqual(whole);
      }),
      { numRuns: Math.ceil(RUNS / 10) },
    );
  });

  test("random multi-way splits of mutated streams give the same frames, then the same error", () => {
    const mutated = fc
      .tuple(pipelined, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.array(fc.nat(), { maxLength: 12 }))
      .map(([stream, at, value, splits]) => {
        const s = stream.slice();
        s[at % s.length] = value;
        return { stream: s, splits };
      });
    fc.assert(
      fc.property(mutated, ({ stream, splits }) => {
        expect(cut(splitAt(stream, splits), 256)).toEqual(cut([stream], 256));
      }),
      { numRuns: RUNS },
    );
  });
});

describe("StringMemo", () => {
  const KEYED = MESSAGES.HMAC.request; // { keyId: str, alg: u8, data: bytes }
  const body = (keyId: Uint8Array) => {
    const b = new Uint8Array(2 + keyId.length + 1 + 4);
    b[0] = keyId.length >>> 8;
    b[1] = keyId.length & 0xff;
    b.set(keyId, 2);
    return b;
  };

  test("a sequence of bodies decodes through one memo exactly as without it (strings repeated, same-length, invalid UTF-8)", () => {
    // short alphabets make repeats and same-length near misses common; raw bytes include invalid UTF-8
    const keyBytes = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 70 }).map((b) => b.map((x) => 0x61 + (x % 3))),
      fc.uint8Array({ minLength: 0, maxLength: 6 }),
      fc.constantFrom(new Uint8Array([0xc3, 0xa9]), new Uint8Array([0xc3]), new Uint8Array([0xe9])),
    );
    fc.assert(
      fc.property(fc.array(keyBytes, { minLength: 1, maxLength: 12 }), (keys) => {
        const memo = new StringMemo();
        for (const k of keys) {
          const plain = (() => {
            try {
              return decodeBody(KEYED, body(k));
            } catch (e) {
              return (e as VhsmError).code;
            }
          })();
          const memoised = (() => {
            try {
              return decodeBody(KEYED, body(k), memo);
            } catch (e) {
              return (e as VhsmError).code;
            }
          })();
          expect(memoised).toEqual(plain);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("a repeated key id comes back as the remembered string; a different one of the same length does not", () => {
    const memo = new StringMemo();
    const a = decodeBody(KEYED, body(Buffer.from("key-aaaa")), memo).keyId;
    expect(decodeBody(KEYED, body(Buffer.from("key-aaaa")), memo).keyId).toBe(a);
    expect(decodeBody(KEYED, body(Buffer.from("key-aaab")), memo).keyId).toBe("key-aaab");
    expect(decodeBody(KEYED, body(Buffer.from("key-aaaa")), memo).keyId).toBe("key-aaaa");
    // invalid UTF-8 of the remembered length is still refused, and the memo still holds the last good one
    expect(() =>
      decodeBody(KEYED, body(new Uint8Array([0x6b, 0x65, 0x79, 0x2d, 0x61, 0x61, 0x61, 0xff])), memo),
    ).toThrow("invalid UTF-8");
    expect(decodeBody(KEYED, body(Buffer.from("key-aaaa")), memo).keyId).toBe("key-aaaa");
  });
});

describe("bodies kept split (FrameReader's keepSplit, decodeSplitBody)", () => {
  const keepAll = { from: 0, wants: () => true };
  const outcome = (f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof VhsmError)) throw e;
      return e.code;
    }
  };
  /** A split body's decoding with its scattered field joined, to compare with decodeBody's. */
  const decodedSplit = (schema: Schema, frame: Frame) => {
    const fields = decodeSplitBody(schema, frame.split!, frame.bodyLength);
    if (!fields) return null;
    return Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [
        k,
        v instanceof ScatteredBytes ? new Uint8Array(Buffer.concat(v.pieces)) : v,
      ]),
    );
  };

  /**
   * Cuts `chunks` (each a buffer of its own, as socket reads are) keeping every split body split;
   * with `detach`, every owned piece's buffer is detached as a worker's transfer would. Checks each
   * owned piece's read against where its frame lies in the stream, and that decoding the pieces
   * agrees with decoding the joined body.
   */
  function cutKept(chunks: Uint8Array[], detach: boolean): { frames: string[]; error?: string } {
    const startOf = new Map<ArrayBufferLike, number>();
    let at = 0;
    for (const c of chunks) {
      startOf.set(c.buffer, at);
      at += c.length;
    }
    const frames: string[] = [];
    let frameStart = 0;
    const reader = new FrameReader(
      1 << 20,
      (f) => {
        const frameEnd = frameStart + HEADER_SIZE + f.bodyLength;
        let body = f.body;
        if (f.split) {
          const { pieces, owned } = f.split;
          expect(owned.length).toBe(pieces.length);
          body = joinPieces(pieces, f.bodyLength, null);
          const schema = schemaFor(f);
          if (schema) {
            const joined = outcome(() => decodeBody(schema, body));
            const split = decodedSplit(schema, f);
            // never a value where the joined body has an error, and the same value when it has one
            if (split !== null) expect(split).toEqual(joined as Record<string, unknown>);
          }
          pieces.forEach((p, i) => {
            if (!owned[i]) return;
            const start = startOf.get(p.buffer);
            if (start === undefined) return; // the reader's own copy of small pieces
            expect(p.buffer.byteLength).toBe(p.byteLength + p.byteOffset);
            expect(start).toBeGreaterThanOrEqual(frameStart);
            expect(start + p.buffer.byteLength).toBeLessThanOrEqual(frameEnd);
          });
          if (detach) {
            for (let i = 0; i < pieces.length; i++) {
              if (owned[i])
                structuredClone(pieces[i]!.buffer, { transfer: [pieces[i]!.buffer as ArrayBuffer] });
            }
          }
        }
        frames.push(`${f.opcode}/${f.flags}/${f.status}/${f.requestId}/${Buffer.from(body).toString("hex")}`);
        frameStart = frameEnd;
      },
      null,
      keepAll,
    );
    return pushAll(reader, chunks, frames);
  }

  const streams = fc
    .tuple(
      fc.array(anyFrame, { minLength: 1, maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
      fc.array(fc.nat(), { maxLength: 12 }),
    )
    .map(([fs, edits, splits]) => {
      const stream = concat(fs.map((f) => f.bytes));
      for (const [at, value] of edits) stream[at % stream.length] = value;
      return { stream, splits };
    });
  const reads = (stream: Uint8Array, splits: number[]) =>
    splitAt(stream, splits).map((c) => new Uint8Array(c)); // copies: each read its own buffer

  test("the frames, then the error, are those of the stream cut whole; owned pieces hold only their frame", () => {
    fc.assert(
      fc.property(streams, ({ stream, splits }) => {
        expect(cutKept(reads(stream, splits), false)).toEqual(cut([stream]));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test("detaching every owned piece's buffer as its frame is taken changes nothing that follows", () => {
    fc.assert(
      fc.property(streams, ({ stream, splits }) => {
        expect(cutKept(reads(stream, splits), true)).toEqual(cut([stream]));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test("one byte per read: the bytes are copied into one owned piece; a large read shared with the frame before is not owned", () => {
    const data = new Uint8Array(40).map((_, i) => i);
    const bytes = encodeFrame(MESSAGES.DIGEST.opcode, 0, Status.OK, 1, MESSAGES.DIGEST.request, {
      alg: 1,
      data,
    });
    const frames: Frame[] = [];
    const reader = new FrameReader(1 << 20, (f) => frames.push(f), null, keepAll);
    for (const b of bytes) reader.push(new Uint8Array([b]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.split!.pieces).toHaveLength(1);
    expect(frames[0]!.split!.owned).toEqual([true]);
    expect((decodedSplit(MESSAGES.DIGEST.request, frames[0]!)!.data as Uint8Array).toString()).toBe(
      data.toString(),
    );
    // a frame whose body starts in a large read shared with the frame before: that piece is a view
    // of the read, not owned; the rest, a read of its own, is owned
    const big = encodeFrame(MESSAGES.DIGEST.opcode, 0, Status.OK, 2, MESSAGES.DIGEST.request, {
      alg: 1,
      data: new Uint8Array(40_000).map((_, i) => i),
    });
    const two = concat([bytes, big]);
    const kept: Frame[] = [];
    const r2 = new FrameReader(1 << 20, (f) => kept.push(f), null, keepAll);
    r2.push(new Uint8Array(two.subarray(0, bytes.length + 20_000)));
    r2.push(new Uint8Array(two.subarray(bytes.length + 20_000)));
    expect(kept[1]!.split!.owned).toEqual([false, true]);
    expect(Buffer.concat(kept[1]!.split!.pieces).equals(Buffer.from(big.subarray(HEADER_SIZE)))).toBe(true);
  });

  test("a body trickled in 1-byte reads costs about its size, not an object per byte", () => {
    const body = new Uint8Array(200_000).map((_, i) => i * 7);
    const bytes = encodeFrame(MESSAGES.DIGEST.opcode, 0, Status.OK, 1, MESSAGES.DIGEST.request, {
      alg: 1,
      data: body,
    });
    for (const keep of [keepAll, null]) {
      const frames: Frame[] = [];
      const reader = new FrameReader(1 << 20, (f) => frames.push(f), null, keep);
      for (const b of bytes) reader.push(new Uint8Array([b]));
      const f = frames[0]!;
      if (f.split) {
        // 64 KiB copy buffers: 4 pieces for 200 kB, each in a buffer no larger than itself
        expect(f.split.pieces.length).toBeLessThanOrEqual(4);
        for (const p of f.split.pieces) expect(p.buffer.byteLength).toBe(p.length);
      }
      const joined = f.split ? Buffer.concat(f.split.pieces) : Buffer.from(f.body);
      expect(joined.equals(Buffer.from(bytes.subarray(HEADER_SIZE)))).toBe(true);
    }
  });
});

/**
 * Invalid frames for the vector file: each must be refused with the given status. Header-level ones
 * are refused by the framing loop (the appliance answers and closes); body-level ones by the body
 * decoder for the named message (the appliance answers BAD_ARGUMENTS and keeps the connection).
 * Targets are found by field type in the message table, so the list follows the table as it grows.
 */
import { encodeFrame } from "../../protocol/codec.ts";
import { FLAG_RESPONSE, HEADER_SIZE, writeHeader } from "../../protocol/frame.ts";
import { type FieldType, MESSAGES, type MessageName, type Schema } from "../../protocol/messages.ts";
import type { StatusName } from "../../protocol/status.ts";
import { sampleFields } from "./samples.ts";

export interface InvalidVector {
  name: string;
  level: "header" | "body";
  expect: StatusName;
  /** The receiver's body limit for this case (the default limit otherwise). */
  maxBody?: number;
  /** Body-level cases: the message and direction whose schema the body is decoded with. */
  message?: MessageName;
  direction?: "request" | "response";
  schema?: Schema;
  hex: string;
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const u16 = (n: number) => toHex(new Uint8Array([n >> 8, n & 0xff]));
const u32 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");

function header(
  opcode: number,
  bodyLength: number,
  patch: Partial<{ magic: string; version: number; flags: number }> = {},
) {
  const h = new Uint8Array(HEADER_SIZE);
  writeHeader(h, { flags: patch.flags ?? 0, opcode, status: 0, requestId: 1, bodyLength });
  if (patch.magic) h.set(Buffer.from(patch.magic, "ascii"), 0);
  if (patch.version !== undefined) h[2] = patch.version;
  return toHex(h);
}

/** The encoded body of `fields` (a subset of a schema, in order). */
function encodeFields(entries: [string, FieldType][]): string {
  const schema = Object.fromEntries(entries) as Schema;
  return toHex(encodeFrame(0, 0, 0, 0, schema, sampleFields(schema)).subarray(HEADER_SIZE));
}

interface Target {
  message: MessageName;
  direction: "request" | "response";
  schema: Schema;
  before: [string, FieldType][];
  field: string;
  after: [string, FieldType][];
}

/** The first schema in the table (requests first) with a field of `type`. */
function firstWith(type: FieldType | "empty"): Target | undefined {
  for (const direction of ["request", "response"] as const) {
    for (const message of Object.keys(MESSAGES) as MessageName[]) {
      const schema = MESSAGES[message][direction];
      const entries = Object.entries(schema) as [string, FieldType][];
      if (type === "empty") {
        if (entries.length === 0) return { message, direction, schema, before: [], field: "", after: [] };
        continue;
      }
      const i = entries.findIndex(([, t]) => t === type);
      if (i >= 0) {
        return {
          message,
          direction,
          schema,
          before: entries.slice(0, i),
          field: entries[i]![0],
          after: entries.slice(i + 1),
        };
      }
    }
  }
  return undefined;
}

function bodyCase(name: string, type: FieldType | "empty", corrupt: (t: Target) => string): InvalidVector[] {
  const t = firstWith(type);
  if (!t) return [];
  const body = corrupt(t);
  const opcode = MESSAGES[t.message].opcode;
  return [
    {
      name: `${t.message} ${t.direction}: ${name}${t.field ? ` (field ${t.field})` : ""}`,
      level: "body",
      expect: "BAD_ARGUMENTS",
      message: t.message,
      direction: t.direction,
      schema: t.schema,
      hex: header(opcode, body.length / 2, { flags: t.direction === "response" ? FLAG_RESPONSE : 0 }) + body,
    },
  ];
}

/** The field's bytes replaced by `hex`, the other fields intact. */
const replaceField = (hex: string) => (t: Target) =>
  `${encodeFields(t.before)}${hex}${encodeFields(t.after)}`;
/** The body cut off after `hex`, the field's (too short) start. */
const cutInField = (hex: string) => (t: Target) => `${encodeFields(t.before)}${hex}`;

export function invalidVectors(): InvalidVector[] {
  const opcode = Object.values(MESSAGES)[0]!.opcode;
  const whole = (t: Target) => encodeFields(Object.entries(t.schema) as [string, FieldType][]);
  const headerCase = (name: string, expect: StatusName, hex: string, maxBody?: number): InvalidVector => ({
    name,
    level: "header",
    expect,
    ...(maxBody === undefined ? {} : { maxBody }),
    hex,
  });
  return [
    headerCase("bad magic", "BAD_FRAME", header(opcode, 0, { magic: "XH" })),
    headerCase("HTTP request instead of a frame", "BAD_FRAME", toHex(Buffer.from("GET / HTTP/1.1\r\n"))),
    headerCase("wire version 2", "UNSUPPORTED_VERSION", header(opcode, 0, { version: 2 })),
    headerCase("wire version 0", "UNSUPPORTED_VERSION", header(opcode, 0, { version: 0 })),
    headerCase("body length one over the limit", "FRAME_TOO_LARGE", header(opcode, 4097), 4096),
    headerCase("body length 2^32-1", "FRAME_TOO_LARGE", header(opcode, 0xffffffff)),
    ...bodyCase("one trailing byte after an empty body", "empty", () => "00"),
    ...bodyCase("one trailing byte after the last field", "str", (t) => `${whole(t)}00`),
    ...bodyCase("str length beyond the body", "str", cutInField(`${u16(5)}6b65`)),
    ...bodyCase("str with invalid UTF-8 (lone 0xff)", "str", replaceField(`${u16(2)}ff41`)),
    ...bodyCase("str with an overlong UTF-8 encoding of '/'", "str", replaceField(`${u16(2)}c0af`)),
    ...bodyCase("str with a UTF-16 surrogate encoded in UTF-8", "str", replaceField(`${u16(3)}eda080`)),
    ...bodyCase("bytes length beyond the body", "bytes", cutInField(`${u32(16)}010203`)),
    ...bodyCase("u32 cut short", "u32", cutInField("0102")),
    ...bodyCase("u64 above 2^53-1", "u64", replaceField("0020000000000000")),
    ...bodyCase("strs count the body cannot hold", "strs", cutInField(u32(0x7fffffff))),
  ];
}

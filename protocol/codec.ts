/**
 * Body codec: encodes and decodes a message body from its schema in `messages.ts`.
 *   u8 / u16 / u32   big-endian unsigned integers
 *   u64              big-endian, values up to 2^53 - 1 (timestamps, counters)
 *   bytes            u32 length + bytes
 *   str              u16 length + UTF-8
 *   strs             u32 count + that many `str`
 * Decoding returns views into the frame for `bytes` (no copy) and rejects trailing bytes.
 */
import { FLAG_RESPONSE, HEADER_SIZE, ScatteredBytes, type SplitBody, writeHeader } from "./frame.ts";
import {
  ERROR_BODY,
  type Fields,
  type FieldType,
  MESSAGES,
  type MessageName,
  type Request,
  type Response,
  type Schema,
} from "./messages.ts";
import { Status, VhsmError } from "./status.ts";

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is a character of the string, not dropped (or "\uFEFFalice" would be alice)
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const MAX_STR = 0xffff;

type FieldList = readonly (readonly [string, FieldType])[];
const FIELD_LISTS = new WeakMap<Schema, FieldList>();

/** A schema's fields in wire order, listed once per schema (Object.entries per frame showed in profiles). */
function fieldsOf(schema: Schema): FieldList {
  let list = FIELD_LISTS.get(schema);
  if (!list) {
    list = Object.entries(schema);
    FIELD_LISTS.set(schema, list);
  }
  return list;
}

function sizeOf(schema: Schema, values: Record<string, unknown>): number {
  let size = 0;
  for (const [name, type] of fieldsOf(schema)) {
    const value = values[name];
    switch (type) {
      case "u8":
        size += 1;
        break;
      case "u16":
        size += 2;
        break;
      case "u32":
        size += 4;
        break;
      case "u64":
        size += 8;
        break;
      case "bytes":
        size += 4 + (value as Uint8Array).length;
        break;
      case "str":
        size += 2 + utf8ByteLength(value as string);
        break;
      case "strs":
        size += 4;
        for (const s of value as string[]) size += 2 + utf8ByteLength(s);
        break;
    }
  }
  return size;
}

function utf8ByteLength(s: string): number {
  // ASCII fast path; key ids and names are almost always ASCII
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? s.length : utf8.encode(s).length;
}

function checkInt(name: string, value: unknown, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: expected an integer 0..${max}, got ${value}`);
  }
  return value;
}

/** A `bytes` value left out of the encoded buffer, to be written from the caller's own buffer. */
interface Detached {
  /** Offset in the encoded buffer where the value belongs (just after its length). */
  at: number;
  value: Uint8Array;
}

/** `bytes` values this long are carried by reference in encodeFrameParts. */
export const DETACH_BYTES_AT = 64 * 1024;

// Byte stores rather than a DataView: `out.buffer` on a fresh small typed array makes the engine
// materialise its ArrayBuffer, which showed in profiles of every encoded response.
function put16(b: Uint8Array, pos: number, v: number): void {
  b[pos] = v >>> 8;
  b[pos + 1] = v;
}

function put32(b: Uint8Array, pos: number, v: number): void {
  b[pos] = v >>> 24;
  b[pos + 1] = v >>> 16;
  b[pos + 2] = v >>> 8;
  b[pos + 3] = v;
}

function writeBody(
  out: Uint8Array,
  offset: number,
  schema: Schema,
  values: Record<string, unknown>,
  detached?: Detached[],
): void {
  let pos = offset;
  const writeStr = (name: string, s: unknown) => {
    if (typeof s !== "string") throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: expected a string`);
    const { written } = utf8.encodeInto(s, out.subarray(pos + 2));
    if (written > MAX_STR) throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: string too long`);
    put16(out, pos, written);
    pos += 2 + written;
  };
  for (const [name, type] of fieldsOf(schema)) {
    const value = values[name];
    switch (type) {
      case "u8":
        out[pos++] = checkInt(name, value, 0xff);
        break;
      case "u16":
        put16(out, pos, checkInt(name, value, 0xffff));
        pos += 2;
        break;
      case "u32":
        put32(out, pos, checkInt(name, value, 0xffffffff));
        pos += 4;
        break;
      case "u64": {
        const n = checkInt(name, value, Number.MAX_SAFE_INTEGER);
        put32(out, pos, Math.floor(n / 2 ** 32));
        put32(out, pos + 4, n >>> 0);
        pos += 8;
        break;
      }
      case "bytes": {
        if (!(value instanceof Uint8Array)) {
          throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: expected bytes`);
        }
        put32(out, pos, value.length);
        if (detached && value.length >= DETACH_BYTES_AT) {
          detached.push({ at: pos + 4, value });
          pos += 4;
          break;
        }
        out.set(value, pos + 4);
        pos += 4 + value.length;
        break;
      }
      case "str":
        writeStr(name, value);
        break;
      case "strs": {
        const list = value as string[];
        put32(out, pos, list.length);
        pos += 4;
        for (const s of list) writeStr(name, s);
        break;
      }
    }
  }
}

/** Encodes a whole frame (header + body) in one allocation. */
export function encodeFrame(
  opcode: number,
  flags: number,
  status: number,
  requestId: number,
  schema: Schema,
  values: Record<string, unknown>,
): Uint8Array {
  let bodyLength: number;
  try {
    bodyLength = sizeOf(schema, values);
  } catch {
    throw new VhsmError(Status.BAD_ARGUMENTS, "message fields do not match the schema");
  }
  const out = new Uint8Array(HEADER_SIZE + bodyLength);
  writeHeader(out, { flags, opcode, status, requestId, bodyLength });
  writeBody(out, HEADER_SIZE, schema, values);
  return out;
}

/**
 * Encodes a frame as parts to be written in order. Like encodeFrame, except that `bytes` values of
 * DETACH_BYTES_AT or more are not copied but become parts of their own: a 1 MiB HMAC input goes
 * from the caller's buffer to the socket without an extra copy. Those buffers must stay unchanged
 * until the frame has been written (for a request: until its response arrives).
 */
export function encodeFrameParts(
  opcode: number,
  flags: number,
  status: number,
  requestId: number,
  schema: Schema,
  values: Record<string, unknown>,
): Uint8Array[] {
  let detachedBytes = 0;
  for (const [name, type] of fieldsOf(schema)) {
    const value = values[name];
    if (type === "bytes" && value instanceof Uint8Array && value.length >= DETACH_BYTES_AT) {
      detachedBytes += value.length;
    }
  }
  if (detachedBytes === 0) return [encodeFrame(opcode, flags, status, requestId, schema, values)];
  let bodyLength: number;
  try {
    bodyLength = sizeOf(schema, values);
  } catch {
    throw new VhsmError(Status.BAD_ARGUMENTS, "message fields do not match the schema");
  }
  const out = new Uint8Array(HEADER_SIZE + bodyLength - detachedBytes);
  writeHeader(out, { flags, opcode, status, requestId, bodyLength });
  const detached: Detached[] = [];
  writeBody(out, HEADER_SIZE, schema, values, detached);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const d of detached) {
    if (d.at > from) parts.push(out.subarray(from, d.at));
    parts.push(d.value);
    from = d.at;
  }
  if (from < out.length) parts.push(out.subarray(from));
  return parts;
}

export function encodeRequest<N extends MessageName>(
  name: N,
  requestId: number,
  values: Request<N>,
): Uint8Array {
  const spec = MESSAGES[name];
  return encodeFrame(spec.opcode, 0, Status.OK, requestId, spec.request, values);
}

export function encodeResponse<N extends MessageName>(
  name: N,
  requestId: number,
  values: Response<N>,
): Uint8Array {
  const spec = MESSAGES[name];
  return encodeFrame(spec.opcode, FLAG_RESPONSE, Status.OK, requestId, spec.response, values);
}

export function encodeError(opcode: number, requestId: number, status: number, message: string): Uint8Array {
  // messages are capped so an error frame can never fail to encode
  const capped = message.length > 1000 ? `${message.slice(0, 1000)}...` : message;
  return encodeFrame(opcode, FLAG_RESPONSE, status, requestId, ERROR_BODY, { message: capped });
}

// Plain byte arithmetic: a DataView per decoded body showed in profiles of the 4 KiB HMAC path.
function u16(b: Uint8Array, pos: number): number {
  return (b[pos]! << 8) | b[pos + 1]!;
}

function u32(b: Uint8Array, pos: number): number {
  return b[pos]! * 0x1000000 + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
}

/** Strings up to this many bytes are remembered by a StringMemo. */
const MEMO_MAX_BYTES = 64;

/**
 * The last short string decoded on one connection: a client repeating its key id in every request
 * gets the very same string back without a decode, and the key lookups keyed by it find its hash
 * already computed (4 KiB HMACs: ~0.1-0.2 us per request). One per connection, never shared:
 * whether a request's string matches the one before it is that connection's own business.
 */
export class StringMemo {
  readonly bytes = new Uint8Array(MEMO_MAX_BYTES);
  length = -1;
  value = "";
}

/**
 * Decodes a body by schema. Throws BAD_ARGUMENTS on truncation, trailing bytes or invalid UTF-8.
 * With `memo`, a string equal byte for byte to the last one decoded through it is returned from it.
 */
export function decodeBody<S extends Schema>(schema: S, body: Uint8Array, memo?: StringMemo): Fields<S> {
  const out: Record<string, unknown> = {};
  const pos = decodeFields(fieldsOf(schema), body, memo, out);
  if (pos !== body.length) {
    throw new VhsmError(Status.BAD_ARGUMENTS, `${body.length - pos} unexpected trailing bytes in body`);
  }
  return out as Fields<S>;
}

const HEAD_LISTS = new WeakMap<Schema, FieldList>();

/**
 * Decodes a body left split (frame.ts) whose last field is `bytes`, without joining it: the fields
 * before that one must lie in the first piece, and the last comes back as ScatteredBytes over the
 * pieces. Returns null when the body is not of that shape (a field across pieces, a length that does
 * not match): decode the joined body then, for its value or its exact error.
 */
export function decodeSplitBody(
  schema: Schema,
  split: SplitBody,
  bodyLength: number,
  memo?: StringMemo,
): Record<string, unknown> | null {
  const list = fieldsOf(schema);
  const last = list[list.length - 1];
  if (last?.[1] !== "bytes") return null;
  let head = HEAD_LISTS.get(schema);
  if (!head) {
    head = list.slice(0, -1);
    HEAD_LISTS.set(schema, head);
  }
  const first = split.pieces[0]!;
  const out: Record<string, unknown> = {};
  let pos: number;
  try {
    pos = decodeFields(head, first, memo, out);
  } catch {
    return null;
  }
  if (pos + 4 > first.length || u32(first, pos) !== bodyLength - pos - 4) return null;
  pos += 4;
  const pieces = split.pieces.slice();
  pieces[0] = first.subarray(pos);
  out[last[0]] = new ScatteredBytes(pieces, split.owned, bodyLength - pos);
  return out;
}

/** Decodes `list` from the start of `body` into `out`; returns where the fields end. */
function decodeFields(
  list: FieldList,
  body: Uint8Array,
  memo: StringMemo | undefined,
  out: Record<string, unknown>,
): number {
  let pos = 0;
  const need = (n: number, name: string) => {
    if (pos + n > body.length) throw new VhsmError(Status.BAD_ARGUMENTS, `truncated body at field ${name}`);
  };
  const readStr = (name: string): string => {
    need(2, name);
    const len = u16(body, pos);
    pos += 2;
    need(len, name);
    if (memo && len === memo.length) {
      const seen = memo.bytes;
      let i = 0;
      while (i < len && body[pos + i] === seen[i]) i++;
      if (i === len) {
        pos += len;
        return memo.value;
      }
    }
    let s: string;
    try {
      s = utf8Strict.decode(body.subarray(pos, pos + len));
    } catch {
      throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: invalid UTF-8`);
    }
    if (memo && len <= MEMO_MAX_BYTES) {
      for (let i = 0; i < len; i++) memo.bytes[i] = body[pos + i]!;
      memo.length = len;
      memo.value = s;
    }
    pos += len;
    return s;
  };
  for (const [name, type] of list) {
    switch (type) {
      case "u8":
        need(1, name);
        out[name] = body[pos++];
        break;
      case "u16":
        need(2, name);
        out[name] = u16(body, pos);
        pos += 2;
        break;
      case "u32":
        need(4, name);
        out[name] = u32(body, pos);
        pos += 4;
        break;
      case "u64": {
        need(8, name);
        const hi = u32(body, pos);
        if (hi > 0x1fffff) throw new VhsmError(Status.BAD_ARGUMENTS, `field ${name}: u64 beyond 2^53`);
        out[name] = hi * 2 ** 32 + u32(body, pos + 4);
        pos += 8;
        break;
      }
      case "bytes": {
        need(4, name);
        const len = u32(body, pos);
        pos += 4;
        need(len, name);
        out[name] = body.subarray(pos, pos + len);
        pos += len;
        break;
      }
      case "str":
        out[name] = readStr(name);
        break;
      case "strs": {
        need(4, name);
        const count = u32(body, pos);
        pos += 4;
        // each string needs at least its 2-byte length: refuse counts the body cannot hold
        need(count * 2, name);
        const list: string[] = [];
        for (let i = 0; i < count; i++) list.push(readStr(name));
        out[name] = list;
        break;
      }
    }
  }
  return pos;
}

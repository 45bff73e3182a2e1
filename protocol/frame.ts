/**
 * Frame header and the framing loop.
 *
 *   0      2        3      4        6        8           12          16
 *   | "VH" | version | flags | opcode | status | request id | body length | body ...
 *
 * All integers are big-endian. `flags` bit 0 marks a response.
 */
import type { BodyPool } from "./body-pool.ts";
import { Status, VhsmError } from "./status.ts";

export const MAGIC0 = 0x56; // 'V'
export const MAGIC1 = 0x48; // 'H'
export const WIRE_VERSION = 1;
export const HEADER_SIZE = 16;
export const FLAG_RESPONSE = 0x01;
export const DEFAULT_MAX_BODY = 16 * 1024 * 1024 + 4096;

export interface FrameHeader {
  flags: number;
  opcode: number;
  status: number;
  requestId: number;
  bodyLength: number;
}

export interface Frame extends FrameHeader {
  /** The whole body; empty when the frame was left `split`. */
  body: Uint8Array;
  /** A large body kept in the pieces it arrived in (FrameReader's `keepSplit`). */
  split?: SplitBody;
}

/**
 * A body as it arrived: consecutive pieces, each a view of one socket read. `owned[i]` says that the
 * piece's whole buffer holds nothing but this frame (the read began inside the frame and ended with
 * it): such a buffer may be handed to another thread and detached. Nothing else may be done with a
 * split body but decoding it (decodeSplitBody) or joining it (joinPieces).
 */
export interface SplitBody {
  pieces: Uint8Array[];
  owned: boolean[];
}

/**
 * A `bytes` field of a split body (codec.ts decodeSplitBody): its `length` bytes are the pieces in
 * order. A piece whose `owned` flag is set may be transferred to another thread, which detaches it.
 */
export class ScatteredBytes {
  constructor(
    readonly pieces: Uint8Array[],
    readonly owned: boolean[],
    readonly length: number,
  ) {}
}

const EMPTY = new Uint8Array(0);

/**
 * A piece of a body is kept as a view of its read only if it is at least this large and at least half
 * of the read's buffer; smaller pieces are copied together, up to COPY_BUFFER bytes at a time. A view
 * keeps its whole read alive and costs an object, so a body trickled in 1-byte reads cost ~35 bytes
 * per byte, and the end of a body in a large read shared with the next frame kept all of that read.
 * Memory now stays within about twice the body bytes received, plus one COPY_BUFFER per connection.
 */
const VIEW_FROM = 4096;
const COPY_BUFFER = 64 * 1024;

export function writeHeader(target: Uint8Array, h: FrameHeader): void {
  // byte stores rather than a DataView (see readHeader)
  const t = target;
  t[0] = MAGIC0;
  t[1] = MAGIC1;
  t[2] = WIRE_VERSION;
  t[3] = h.flags;
  t[4] = h.opcode >>> 8;
  t[5] = h.opcode;
  t[6] = h.status >>> 8;
  t[7] = h.status;
  const id = h.requestId >>> 0;
  t[8] = id >>> 24;
  t[9] = id >>> 16;
  t[10] = id >>> 8;
  t[11] = id;
  const length = h.bodyLength >>> 0;
  t[12] = length >>> 24;
  t[13] = length >>> 16;
  t[14] = length >>> 8;
  t[15] = length;
}

/**
 * Reads the header at `at` (HEADER_SIZE bytes must be there); throws BAD_FRAME on a wrong magic or
 * wire version. Taking an offset spares the reader a view per frame.
 */
export function readHeader(bytes: Uint8Array, at = 0): FrameHeader {
  const b = bytes;
  const o = at;
  if (b[o] !== MAGIC0 || b[o + 1] !== MAGIC1) {
    throw new VhsmError(Status.BAD_FRAME, "bad magic: not a vhsm frame");
  }
  if (b[o + 2] !== WIRE_VERSION) {
    throw new VhsmError(Status.UNSUPPORTED_VERSION, `unsupported wire version ${b[o + 2]}`);
  }
  // byte arithmetic rather than a DataView: this runs for every frame
  return {
    flags: b[o + 3]!,
    opcode: (b[o + 4]! << 8) | b[o + 5]!,
    status: (b[o + 6]! << 8) | b[o + 7]!,
    requestId: b[o + 8]! * 0x1000000 + ((b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!),
    bodyLength: b[o + 12]! * 0x1000000 + ((b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!),
  };
}

/**
 * Cuts frames out of a byte stream. Complete frames inside a chunk are passed on as views (no copy);
 * a frame split across chunks is assembled from the pieces once it is complete (one copy), or, when
 * the consumer asks for it (keepSplit), handed over in its pieces (no copy; small pieces are copied
 * together, see VIEW_FROM). Either way memory follows the bytes actually received, not the length a
 * header claims.
 * A bad header or an oversized length throws a VhsmError; the caller answers it and closes.
 */
export class FrameReader {
  private pieces: Uint8Array[] = [];
  /** For a frame kept split: which pieces' buffers are the frame's alone (see SplitBody). */
  private owned: boolean[] | null = null;
  /** Whether the bytes before the current frame's first body byte, in its chunk, are its own header. */
  private headerOwnsChunk = false;
  private partialFill = 0;
  private header: FrameHeader | null = null;
  private readonly headerBuf = new Uint8Array(HEADER_SIZE);
  private headerFill = 0;
  /** Where small pieces of the current body are copied together (see VIEW_FROM). */
  private copied: Uint8Array | null = null;
  private copiedFill = 0;

  /**
   * `onFrame` returns true when it is done with the body (nothing keeps a view of it): an assembled
   * body then goes back to `pool` for the next split frame. A frame of at least `keepSplit.from`
   * bytes whose opcode `keepSplit.wants` and that arrives in several reads is passed on `split`
   * rather than copied together (the consumer hashes the pieces where they lie).
   */
  constructor(
    private readonly maxBody: number,
    private readonly onFrame: (frame: Frame) => unknown,
    private readonly pool: BodyPool | null = null,
    private readonly keepSplit: { from: number; wants: (opcode: number) => boolean } | null = null,
  ) {}

  /** Bytes held for the frame being received until it completes (its copy buffer counted whole). */
  get partialBytes(): number {
    return this.partialFill + (this.copied ? this.copied.length - this.copiedFill : 0);
  }

  /** Forgets the frame being received (its connection will read no more): partialBytes becomes 0. */
  discard(): void {
    this.pieces = [];
    this.owned = null;
    this.header = null;
    this.headerFill = 0;
    this.partialFill = 0;
    this.copied = null;
    this.copiedFill = 0;
  }

  /** True while a frame has started but not completed. */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.header !== null;
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.header === null) {
        if (this.headerFill === 0 && end - pos >= HEADER_SIZE) {
          const header = this.parse(chunk, pos);
          this.headerOwnsChunk = pos === 0;
          pos += HEADER_SIZE;
          if (end - pos >= header.bodyLength) {
            const body = chunk.subarray(pos, pos + header.bodyLength);
            pos += header.bodyLength;
            this.onFrame({ ...header, body });
            continue;
          }
          this.startBody(header);
          continue;
        }
        // a header begun in an earlier read owns the start of this one; else it must start it
        this.headerOwnsChunk = this.headerFill > 0 || pos === 0;
        const take = Math.min(HEADER_SIZE - this.headerFill, end - pos);
        this.headerBuf.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < HEADER_SIZE) return;
        this.headerFill = 0;
        const header = this.parse(this.headerBuf);
        if (header.bodyLength === 0) {
          this.onFrame({ ...header, body: new Uint8Array(0) });
          continue;
        }
        this.startBody(header);
        continue;
      }
      const header = this.header;
      const take = Math.min(header.bodyLength - this.partialFill, end - pos);
      if (take >= VIEW_FROM && take * 2 >= chunk.buffer.byteLength) {
        // views, not copies: Bun and Node hand each read its own fresh buffer (checked for Bun's sockets)
        this.flushCopied();
        this.pieces.push(chunk.subarray(pos, pos + take));
        if (this.owned) {
          const ownsStart = this.owned.length > 0 || this.headerOwnsChunk;
          const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
          this.owned.push(ownsStart && whole && pos + take === end && chunk.buffer instanceof ArrayBuffer);
        }
      } else {
        this.copyIn(chunk.subarray(pos, pos + take), header.bodyLength - this.partialFill);
      }
      this.partialFill += take;
      pos += take;
      if (this.partialFill === header.bodyLength) {
        this.flushCopied();
        // the reader is ready for the next frame before this one is handed on
        const { pieces, owned } = this;
        this.header = null;
        this.pieces = [];
        this.owned = null;
        this.partialFill = 0;
        if (owned) {
          this.onFrame({ ...header, body: EMPTY, split: { pieces, owned } });
        } else {
          const assembled = pieces.length > 1;
          const body = assembled ? joinPieces(pieces, header.bodyLength, this.pool) : pieces[0]!;
          if (this.onFrame({ ...header, body }) === true && assembled) this.pool?.give(body);
        }
      }
    }
  }

  /** Adds a small piece to the copy buffer (`rest`: body bytes still to come, this piece included). */
  private copyIn(piece: Uint8Array, rest: number): void {
    let p = piece;
    let left = rest;
    while (p.length > 0) {
      if (this.copied === null) {
        this.copied = new Uint8Array(Math.min(left, COPY_BUFFER));
        this.copiedFill = 0;
      }
      const n = Math.min(p.length, this.copied.length - this.copiedFill);
      this.copied.set(p.subarray(0, n), this.copiedFill);
      this.copiedFill += n;
      left -= n;
      p = p.subarray(n);
      if (this.copiedFill === this.copied.length) this.flushCopied();
    }
  }

  /** Ends the copy buffer as a piece: the reader's own, so it holds nothing but this frame (owned). */
  private flushCopied(): void {
    if (this.copied === null) return;
    if (this.copiedFill > 0) {
      this.pieces.push(this.copied.subarray(0, this.copiedFill));
      this.owned?.push(true);
    }
    this.copied = null;
    this.copiedFill = 0;
  }

  private parse(bytes: Uint8Array, at = 0): FrameHeader {
    const header = readHeader(bytes, at);
    if (header.bodyLength > this.maxBody) {
      throw new VhsmError(
        Status.FRAME_TOO_LARGE,
        `frame body of ${header.bodyLength} bytes exceeds the maximum of ${this.maxBody}`,
      );
    }
    return header;
  }

  private startBody(header: FrameHeader): void {
    this.header = header;
    this.pieces = [];
    const k = this.keepSplit;
    this.owned = k && header.bodyLength >= k.from && k.wants(header.opcode) ? [] : null;
    this.partialFill = 0;
  }
}

/** The pieces copied into one buffer (from `pool` when given: give it back when done). */
export function joinPieces(pieces: Uint8Array[], length: number, pool: BodyPool | null): Uint8Array {
  const out = pool ? pool.take(length) : new Uint8Array(length);
  let offset = 0;
  for (const p of pieces) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

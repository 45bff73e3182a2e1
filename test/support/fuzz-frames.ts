/**
 * Frame generator for the live-socket fuzzer: valid requests of every message in the table with
 * plausible-to-absurd field values, and mutations of them (bit flips, header damage, length lies,
 * truncation, trailing bytes, unknown opcodes, garbage). Seeded, so a failing run can be replayed.
 */
import { encodeFrame } from "../../protocol/codec.ts";
import { DEFAULT_MAX_BODY, HEADER_SIZE } from "../../protocol/frame.ts";
import { type FieldType, MESSAGES, type MessageName } from "../../protocol/messages.ts";

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = Object.keys(MESSAGES) as MessageName[];

export class FrameFuzzer {
  constructor(
    private readonly random: () => number,
    /** Strings worth hitting, the fuzz user's own key id first; then someone else's key, user names. */
    private readonly knownStrings: string[],
  ) {}

  int(max: number): number {
    return Math.floor(this.random() * (max + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length - 1)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(255);
    return out;
  }

  private str(): string {
    const r = this.random();
    if (r < 0.3) return this.pick(this.knownStrings);
    if (r < 0.45) return "";
    if (r < 0.75)
      return Array.from({ length: 1 + this.int(20) }, () => String.fromCharCode(33 + this.int(93))).join("");
    if (r < 0.9)
      return Array.from({ length: 1 + this.int(8) }, () => String.fromCodePoint(this.int(0x10ffff))).join("");
    return "x".repeat(60 + this.int(400));
  }

  private field(type: FieldType): unknown {
    switch (type) {
      case "u8":
        return this.chance(0.7) ? this.int(8) : this.int(0xff);
      case "u16":
        return this.chance(0.3) ? this.int(64) : this.int(0xffff);
      case "u32": {
        const r = this.random();
        if (r < 0.45) return this.int(70); // context ids, limits, versions
        if (r < 0.6) return this.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff]);
        return this.int(0xffffffff);
      }
      case "u64":
        return this.int(Number.MAX_SAFE_INTEGER);
      case "bytes":
        return this.bytes(this.chance(0.9) ? this.int(64) : this.int(4096));
      case "str":
        return this.str();
      case "strs":
        return Array.from({ length: this.int(4) }, () => this.str());
    }
  }

  /**
   * Half the time a field whose name says what it holds gets a value that can succeed, so requests
   * get past argument checks into the handlers; by field name only, so new messages are covered too.
   */
  private plausible(field: string, type: FieldType): unknown {
    if (this.chance(0.5)) return undefined;
    if (type === "str" && /keyid$|^id$/i.test(field)) return this.knownStrings[0];
    if (type === "u8" && /alg$/i.test(field)) return this.int(4);
    if (type === "u8" && /^(type|format)$/.test(field)) return 1 + this.int(5);
    if (type === "u32" && field === "ctx") return 1 + this.int(8);
    if (type === "u16" && field === "bits") return this.pick([0, 128, 256, 512]);
    return undefined;
  }

  /** A well-formed request of a random message with random field values. */
  validRequest(requestId: number): Uint8Array {
    const name = this.pick(NAMES);
    const schema = MESSAGES[name].request;
    const values: Record<string, unknown> = {};
    for (const [field, type] of Object.entries(schema))
      values[field] = this.plausible(field, type) ?? this.field(type);
    return encodeFrame(MESSAGES[name].opcode, 0, 0, requestId, schema, values);
  }

  /**
   * A valid request, or (about half the time) one damaged in a way the stream survives: body bit flips,
   * trailing bytes inside the declared length, another opcode, status, request id or reserved flag bits.
   */
  frame(requestId: number): Uint8Array {
    const f = this.validRequest(requestId);
    const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const body = f.length - HEADER_SIZE;
    const r = this.random();
    if (r < 0.5) return f;
    if (r < 0.7 && body > 0) {
      for (let i = 0, n = 1 + this.int(3); i < n; i++) {
        const at = HEADER_SIZE + this.int(body - 1);
        f[at] = f[at]! ^ (1 << this.int(7));
      }
      return f;
    }
    if (r < 0.8) {
      const extra = this.bytes(1 + this.int(8));
      const out = new Uint8Array(f.length + extra.length);
      out.set(f);
      out.set(extra, f.length);
      new DataView(out.buffer).setUint32(12, body + extra.length);
      return out;
    }
    if (r < 0.88) view.setUint16(4, this.chance(0.5) ? this.int(0xffff) : 0x0100 + this.int(0xfe00));
    else if (r < 0.94) view.setUint16(6, this.int(0xffff));
    else f[3] = this.int(127) << 1; // reserved flag bits only: bit 0 would make it a response
    return f;
  }

  /** A frame that breaks the stream: the appliance must answer with one error frame and close, or wait. */
  breaker(requestId: number): Uint8Array {
    const f = this.validRequest(requestId);
    const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const body = f.length - HEADER_SIZE;
    switch (this.int(7)) {
      case 0: // length lie by a few bytes: the next header starts in the wrong place, or never completes
        view.setUint32(12, Math.max(0, body + this.int(16) - 8));
        return f;
      case 1:
        view.setUint32(12, this.chance(0.5) ? DEFAULT_MAX_BODY + 1 + this.int(1000) : 0xffffffff);
        return f;
      case 2: // a large but allowed length, then far too few bytes: the appliance waits for the rest
        view.setUint32(12, 1 + this.int(DEFAULT_MAX_BODY - 1));
        return f;
      case 3:
        return f.subarray(0, this.int(Math.max(f.length - 1, 0)));
      case 4:
        f[3] = f[3]! | 1; // a response from the client
        return f;
      case 5:
        f[this.int(2)] = this.int(255);
        return f;
      case 6:
        f[2] = this.int(255);
        return f;
      default:
        return this.bytes(1 + this.int(40));
    }
  }

  /** Splits `bytes` into 1 to `max` chunks at random boundaries. */
  split(bytes: Uint8Array, max = 8): Uint8Array[] {
    const cuts = Array.from({ length: this.int(max - 1) }, () => this.int(bytes.length));
    cuts.sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const c of [...cuts, bytes.length]) {
      if (c > prev) out.push(bytes.subarray(prev, c));
      prev = Math.max(prev, c);
    }
    return out;
  }
}

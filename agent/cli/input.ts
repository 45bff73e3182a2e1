/**
 * Data to hash or MAC: a file (--in) or stdin, read in fixed-size chunks so that a large input is
 * never held in memory whole.
 */
import { type FileHandle, open } from "node:fs/promises";
import { ioError } from "./errors.ts";

/** Chunk size for reading and for streaming updates: well under one frame, small in memory. */
export const CHUNK = 1024 * 1024;

export interface Input {
  readonly name: string;
  /** Yields chunks of exactly `size` bytes, the last one shorter (never empty unless the input is). */
  chunks(size: number): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

/** Opens the input before anything else happens, so a bad path fails before connecting. */
export async function openInput(path: string | undefined): Promise<Input> {
  if (path === undefined || path === "-") return stdinInput();
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
  } catch (err) {
    throw ioError("read", path, err);
  }
  return {
    name: path,
    async *chunks(size) {
      for (let first = true; ; first = false) {
        const buf = Buffer.allocUnsafe(size);
        let filled = 0;
        // a pipe or FIFO may return fewer bytes than asked: fill the chunk before yielding it
        while (filled < size) {
          let n: number;
          try {
            n = (await handle.read(buf, filled, size - filled, null)).bytesRead;
          } catch (err) {
            throw ioError("read", path, err);
          }
          if (n === 0) break;
          filled += n;
        }
        if (filled < size) {
          if (filled > 0 || first) yield buf.subarray(0, filled);
          return;
        }
        yield buf;
      }
    },
    close: () => handle.close(),
  };
}

function stdinInput(): Input {
  return {
    name: "stdin",
    async *chunks(size) {
      let buf = Buffer.allocUnsafe(size);
      let filled = 0;
      let yielded = false;
      for await (const piece of process.stdin as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < piece.length) {
          const n = Math.min(size - filled, piece.length - off);
          piece.copy(buf, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === size) {
            yielded = true;
            yield buf;
            buf = Buffer.allocUnsafe(size);
            filled = 0;
          }
        }
      }
      if (filled > 0 || !yielded) yield buf.subarray(0, filled);
    },
    close: async () => {},
  };
}

/** Reads a whole small input (a secret to import); refuses more than `max` bytes. */
export async function readAll(input: Input, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of input.chunks(CHUNK)) {
    total += chunk.length;
    parts.push(chunk);
    if (total > max) break;
  }
  const all = Buffer.concat(parts);
  for (const p of parts) p.fill(0);
  return all;
}

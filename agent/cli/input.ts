/**
 * Data to hash or MAC: a file (--in) or stdin, read in fixed-size chunks so that a large input is
 * never held in memory whole.
 */
import { type FileHandle, open } from "node:fs/promises";
import { ioError } from "./errors.ts";

/**
 * Chunk size for reading and for streaming updates. Far below one frame on purpose: with 1 MiB
 * chunks Bun's collector let a 1 GiB stream grow to ~1 GiB resident; at 256 KiB it stays ~100 MiB.
 */
export const CHUNK = 256 * 1024;

export interface Input {
  readonly name: string;
  /**
   * Yields chunks of exactly `size` bytes, the last one shorter (never empty unless the input is).
   * With `reuse` = n > 0 the chunks come from n buffers used in turn, so a chunk stays valid only
   * until n more have been yielded; that keeps a long stream from churning the garbage collector.
   */
  chunks(size: number, reuse?: number): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

function buffers(size: number, reuse: number): () => Buffer {
  if (reuse <= 0) return () => Buffer.allocUnsafe(size);
  const ring: Buffer[] = [];
  let next = 0;
  return () => {
    const i = next++ % reuse;
    ring[i] ??= Buffer.allocUnsafe(size);
    return ring[i];
  };
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
    async *chunks(size, reuse = 0) {
      const nextBuffer = buffers(size, reuse);
      for (let first = true; ; first = false) {
        const buf = nextBuffer();
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
  // without this, `vhsm digest --alg sha256` typed at a shell looks like a hang
  if (process.stdin.isTTY) process.stderr.write("vhsm: reading data from the terminal; end it with Ctrl-D\n");
  return {
    name: "stdin",
    async *chunks(size, reuse = 0) {
      const nextBuffer = buffers(size, reuse);
      let buf = nextBuffer();
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
            buf = nextBuffer();
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

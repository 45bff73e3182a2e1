/**
 * Where results go: hex lines or one JSON object on stdout, raw bytes to --out. Writes wait for
 * stdout to drain so large outputs stream, and the process never exits with output still queued.
 */
import { type FileHandle, open } from "node:fs/promises";
import { ioError } from "./errors.ts";

export function writeStdout(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (process.stdout.write(data)) done();
    else process.stdout.once("drain", () => done());
  });
}

export class Output {
  constructor(readonly json: boolean) {}

  /** A result: `text` (a line, or lines) normally, `value` as one JSON object with --json. */
  result(value: Record<string, unknown>, text: string | null): Promise<void> {
    if (this.json) return writeStdout(`${JSON.stringify(value)}\n`);
    return text === null ? Promise.resolve() : writeStdout(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/** A destination for raw bytes: a file (--out) written as it comes, created mode 0600. */
export class RawFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<RawFile> {
    try {
      return new RawFile(path, await open(path, "w", 0o600));
    } catch (err) {
      throw ioError("write", path, err);
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    try {
      await this.handle.write(bytes);
    } catch (err) {
      throw ioError("write", this.path, err);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Writes `bytes` to a new file at `path` (mode 0600: MACs and random bytes may be key material). */
export async function writeRawFile(path: string, bytes: Uint8Array): Promise<void> {
  const file = await RawFile.create(path);
  try {
    await file.write(bytes);
  } finally {
    await file.close();
  }
}

/**
 * A binary result (MAC, digest, signature, ciphertext): raw bytes to `path` when given, hex on
 * stdout otherwise; in JSON always hex, next to `fields` (and `out` when a file was written).
 */
export async function emitBytes(
  out: Output,
  path: string | undefined,
  name: string,
  bytes: Buffer,
  fields: Record<string, unknown>,
): Promise<void> {
  if (path !== undefined) await writeRawFile(path, bytes);
  if (!out.json && path !== undefined) return;
  const hex = bytes.toString("hex");
  await out.result({ ...fields, [name]: hex, ...(path === undefined ? {} : { out: path }) }, hex);
}

/**
 * Where a PIN comes from: a file (--pin-file), the environment (VHSM_PIN, VHSM_PIN_FILE) or a prompt
 * with echo off when stdin is a terminal. Never argv. PINs are returned as Buffers the caller zeroes.
 */
import { readFile } from "node:fs/promises";
import { CliError, Exit, ioError, usageError } from "./errors.ts";

export interface PinSource {
  /** What the PIN is for, in prompts and errors ("PIN", "new PIN"). */
  label: string;
  file?: string;
  fileOption: string;
  envVar: string;
  fileEnvVar: string;
  /** Ask twice at a prompt and insist both match (for a new PIN). */
  confirm?: boolean;
}

export async function readPin(src: PinSource): Promise<Buffer> {
  // an explicit option beats the environment; a PIN in the environment beats a file named there
  if (src.file !== undefined) return nonEmpty(await pinFromFile(src.file), src);
  const env = process.env[src.envVar];
  if (env !== undefined) return nonEmpty(Buffer.from(env, "utf8"), src);
  const envFile = process.env[src.fileEnvVar];
  if (envFile) return nonEmpty(await pinFromFile(envFile), src);
  if (!process.stdin.isTTY) {
    throw usageError(
      `no ${src.label} given and stdin is not a terminal to ask for one`,
      `set ${src.envVar}, or name a file with ${src.fileOption} or ${src.fileEnvVar}`,
    );
  }
  const pin = nonEmpty(await prompt(`${src.label}: `), src);
  if (src.confirm) {
    const again = await prompt(`repeat ${src.label}: `);
    const same = again.equals(pin);
    again.fill(0);
    if (!same) {
      pin.fill(0);
      throw usageError(`the two ${src.label}s differ`, "run the command again and type the same PIN twice");
    }
  }
  return pin;
}

async function pinFromFile(path: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw ioError("read PIN file", path, err);
  }
  // editors and `echo` add a line break that is not part of the PIN
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  if (end > 0 && data[end - 1] === 0x0d) end--;
  const pin = Buffer.from(data.subarray(0, end));
  data.fill(0);
  return pin;
}

function nonEmpty(pin: Buffer, src: PinSource): Buffer {
  if (pin.length === 0) throw usageError(`the ${src.label} is empty`, `check ${src.envVar} or the PIN file`);
  return pin;
}

const MAX_PIN = 1024;

/** Reads one line from the terminal in raw mode, so nothing is echoed; Ctrl-C aborts. */
function prompt(question: string): Promise<Buffer> {
  const stdin = process.stdin;
  // echo off before the prompt shows: a PIN typed the moment it appears must not reach the screen
  stdin.setRawMode(true);
  process.stderr.write(question);
  const buf = Buffer.alloc(MAX_PIN);
  let len = 0;
  return new Promise((resolve, reject) => {
    const finish = (err: CliError | null) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) {
        buf.fill(0);
        reject(err);
      } else {
        resolve(Buffer.from(buf.subarray(0, len)));
        buf.fill(0);
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        for (const byte of chunk) {
          if (byte === 0x03)
            return finish(
              new CliError("INTERRUPTED", "interrupted at the prompt", "nothing was done", Exit.INTERRUPTED),
            );
          if (byte === 0x0d || byte === 0x0a || byte === 0x04) return finish(null);
          if (byte === 0x7f || byte === 0x08) len = Math.max(0, len - 1);
          else if (byte === 0x15)
            len = 0; // Ctrl-U clears the line
          else if (len < MAX_PIN) buf[len++] = byte;
        }
      } finally {
        chunk.fill(0);
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}

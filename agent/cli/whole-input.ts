/**
 * Inputs that travel in one request (sign, verify, encrypt, decrypt, unwrap): read whole, refused
 * beyond one frame instead of streamed, because the appliance has no streaming form of these.
 */
import type { VhsmClient } from "../src/client.ts";
import { usageError } from "./errors.ts";
import { openInput, readAll } from "./input.ts";

/** The largest input one request carries (the default frame body leaves 4 KiB for the other fields). */
export const ONE_FRAME = 16 * 1024 * 1024;

/** Room kept for a request's other fields: key id, algorithm, flags, length prefixes. */
const FIELDS = 128;

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;

/**
 * Reads --in FILE (or stdin) whole. More than `limit` bytes is a usage error (exit 2) whose `hint`
 * says what to do instead; at most `limit` plus one read chunk is held while finding out.
 */
export async function readWhole(
  path: string | undefined,
  command: string,
  hint: string,
  limit = ONE_FRAME,
): Promise<Buffer> {
  const input = await openInput(path);
  let data: Buffer;
  try {
    data = await readAll(input, limit);
  } finally {
    await input.close();
  }
  if (data.length > limit) {
    data.fill(0);
    throw usageError(
      `\`vhsm ${command}\` sends its input in one request, at most ${mib(limit)}; ${input.name} is larger`,
      hint,
    );
  }
  return data;
}

/** Refuses data that would not fit in one frame of this appliance (it may run with a smaller --max-frame). */
export function checkFits(client: VhsmClient, command: string, bytes: number, hint: string): void {
  const room = client.maxFrame - FIELDS;
  if (bytes > room) {
    throw usageError(
      `\`vhsm ${command}\`: the appliance takes at most ${room} bytes of data per request; this input is ${bytes}`,
      hint,
    );
  }
}

/**
 * Input that may be raw bytes or their hex (what `vhsm encrypt`, `sign` and `wrap` print without
 * --out). Hex text is decoded; binary from these commands is never all hex digits (a ciphertext
 * starts with a zero version byte, signatures and wrapped keys are random-looking).
 */
export function rawOrHex(data: Buffer): Buffer {
  let end = data.length;
  while (end > 0 && (data[end - 1] === 0x0a || data[end - 1] === 0x0d || data[end - 1] === 0x20)) end--;
  if (end === 0 || end % 2 !== 0) return data;
  for (let i = 0; i < end; i++) {
    const c = data[i]!;
    const hex = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    if (!hex) return data;
  }
  const decoded = Buffer.from(data.toString("latin1", 0, end), "hex");
  data.fill(0);
  return decoded;
}

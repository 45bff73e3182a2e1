/**
 * Feeds an input to the appliance: in one request when it fits in one chunk, otherwise through a
 * streaming context (DIGEST_INIT / HMAC_INIT), with a few updates in flight to hide the round trips.
 */
import { CHUNK, type Input } from "./input.ts";

interface Stream {
  update(data: Uint8Array): Promise<void>;
  final(): Promise<Buffer>;
}

export type Fed = { kind: "whole"; data: Buffer } | { kind: "streamed"; result: Buffer; bytes: number };

const IN_FLIGHT = 8;

export async function feed(input: Input, chunk: number, init: () => Promise<Stream>): Promise<Fed> {
  // a chunk is reused once IN_FLIGHT + 1 more are read; by then its update has been answered
  const chunks = input.chunks(Math.min(chunk, CHUNK), IN_FLIGHT + 1);
  try {
    const first = await chunks.next();
    const firstData = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? first : await chunks.next();
    if (second.done) return { kind: "whole", data: firstData };

    const stream = await init();
    const pending: Promise<void>[] = [];
    let bytes = 0;
    const send = async (data: Buffer) => {
      bytes += data.length;
      const p = stream.update(data);
      // handled later by the await below; this only keeps an early rejection from counting as unhandled
      p.catch(() => {});
      pending.push(p);
      if (pending.length >= IN_FLIGHT) await pending.shift();
    };
    await send(firstData);
    await send(second.value);
    for await (const data of chunks) await send(data);
    await Promise.all(pending);
    return { kind: "streamed", result: await stream.final(), bytes };
  } finally {
    await chunks.return(undefined);
    await input.close();
  }
}

/** The outbound queue: frames of one tick leave in one write; a full socket keeps the rest, and only the rest. */
import { expect, test } from "bun:test";
import { Outbound } from "./outbound.ts";

/** A socket that takes at most `room` bytes per write until given more. */
function socket(room: number) {
  const s = {
    room,
    written: 0,
    write: (b: Uint8Array): number => {
      const n = Math.min(b.length, s.room);
      s.room -= n;
      s.written += n;
      return n;
    },
  };
  return s;
}

test("frames written to a socket that then fills are let go: the queue keeps only what is unsent", () => {
  const MiB = 1024 * 1024;
  const sock = socket(0);
  const out = new Outbound(sock.write);
  const frames: WeakRef<ArrayBufferLike>[] = [];
  // answers come twice as fast as the reader takes them: the queue never empties
  for (let i = 0; i < 32; i++) {
    for (let j = 0; j < 2; j++) {
      const frame = new Uint8Array(MiB).fill(i);
      frames.push(new WeakRef(frame.buffer));
      out.push(frame);
    }
    sock.room = MiB;
    out.drained();
  }
  expect(sock.written).toBe(32 * MiB);
  expect(out.queuedBytes).toBe(32 * MiB);
  Bun.gc(true);
  // the memory of the 32 frames written first is free; that of the 32 behind them is still queued
  expect(frames.slice(0, 32).filter((r) => r.deref() !== undefined)).toHaveLength(0);
  expect(frames.slice(32).filter((r) => r.deref() !== undefined)).toHaveLength(32);
});

test("small frames of one tick are joined into one write, in order", async () => {
  const writes: Uint8Array[] = [];
  const out = new Outbound((b) => {
    writes.push(b.slice());
    return b.length;
  });
  for (let i = 0; i < 10; i++) out.push(new Uint8Array([i]));
  await Promise.resolve();
  expect(writes).toEqual([new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
});

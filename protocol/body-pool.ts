/**
 * Buffers for assembling frames that arrive in several chunks (a 1 MiB request comes in ~5). A fresh
 * 1 MiB buffer per frame costs more than copying into it (allocation, zeroing, page faults: 135 vs
 * 48 us per MiB measured here), so buffers the consumer is done with are kept for the next frame.
 * Bounded: at most KEEP buffers of at most POOLED_MAX bytes kept, whatever the traffic (16, so that
 * 16 pipelined 1 MiB requests, each held while a worker hashes it, do not allocate afresh).
 *
 * Pooled buffers live in shared memory, so that a worker thread can hash an assembled body where it
 * lies instead of the main thread copying it once more. A consumer that hands a body to another
 * thread holds it (hold) so that the frame reader's give() leaves it alone, and releases it when
 * the other thread is done.
 */

const POOLED_MIN = 64 * 1024;
const POOLED_MAX = 2 * 1024 * 1024;
const KEEP = 16;

export class BodyPool {
  private readonly free: Uint8Array[] = [];
  private readonly held = new Set<ArrayBufferLike>();

  /** A buffer of exactly `length` bytes, contents undefined; shared memory when it is poolable. */
  take(length: number): Uint8Array {
    if (length > POOLED_MAX || length < POOLED_MIN) return new Uint8Array(length);
    for (let i = 0; i < this.free.length; i++) {
      const buf = this.free[i]!;
      if (buf.length >= length) {
        this.free.splice(i, 1);
        return buf.subarray(0, length);
      }
    }
    // power-of-two capacities so that one buffer serves the slightly different sizes of similar frames
    let capacity = POOLED_MIN;
    while (capacity < length) capacity *= 2;
    return new Uint8Array(new SharedArrayBuffer(capacity)).subarray(0, length);
  }

  /** Whether `body` is a pooled buffer another thread can read without a copy. */
  isShared(body: Uint8Array): boolean {
    return body.buffer instanceof SharedArrayBuffer;
  }

  /** Keeps give() from reusing `body` until release(). */
  hold(body: Uint8Array): void {
    this.held.add(body.buffer);
  }

  release(body: Uint8Array): void {
    if (this.held.delete(body.buffer)) this.give(body);
  }

  /** Hands back a buffer from take() once nothing refers to it any more. */
  give(body: Uint8Array): void {
    if (this.held.has(body.buffer)) return;
    const whole = new Uint8Array(body.buffer, 0, body.buffer.byteLength);
    if (whole.length < POOLED_MIN || whole.length > POOLED_MAX || this.free.length >= KEEP) return;
    this.free.push(whole);
  }
}

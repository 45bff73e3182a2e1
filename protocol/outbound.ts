/**
 * Outbound frames of one connection, used by both ends. Frames written in the same tick leave in one
 * write (16 pipelined requests, or the responses to one received chunk, cost one syscall, not 16),
 * and nothing more is handed to the socket while it is full: the queue holds the rest until it drains.
 */

/** Writes bytes to a socket; returns how many it took. Fewer than given means: full, wait for drain. */
export type SocketWrite = (bytes: Uint8Array) => number;

/** Frames this big go out on their own (copying them into a batch would cost more than a syscall). */
const COALESCE_BELOW = 64 * 1024;
const BATCH_LIMIT = 256 * 1024;

export class Outbound {
  private queue: Uint8Array[] = [];
  private head = 0;
  private scheduled = false;
  private full = false;
  private closed = false;
  /** Bytes accepted by push() and not yet taken by the socket. */
  queuedBytes = 0;

  constructor(private readonly write: SocketWrite) {}

  /**
   * Frames (or joined batches) held because the socket is full: a client that does not read makes
   * this grow. 0 while the socket takes everything (frames queued for this tick's write do not count).
   */
  get backlog(): number {
    return this.full ? this.queue.length - this.head : 0;
  }

  push(frame: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (!this.scheduled && !this.full) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** The socket can take more. */
  drained(): void {
    this.full = false;
    this.flush();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  /** Writes what the socket will take now (before closing it, or to skip the wait for the tick). */
  readonly flush = (): void => {
    this.scheduled = false;
    while (!this.full && !this.closed && this.head < this.queue.length) {
      const batch = this.nextBatch();
      const taken = Math.max(this.write(batch), 0);
      this.queuedBytes -= taken;
      if (taken < batch.length) {
        // keep the unsent tail at the front; it goes first when the socket drains
        this.queue[--this.head] = batch.subarray(taken);
        this.full = true;
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  };

  /** The next frame, or several small frames joined into one buffer. */
  private nextBatch(): Uint8Array {
    const first = this.queue[this.head++]!;
    if (first.length >= COALESCE_BELOW) return first;
    let end = this.head;
    let size = first.length;
    while (end < this.queue.length) {
      const next = this.queue[end]!;
      if (next.length >= COALESCE_BELOW || size + next.length > BATCH_LIMIT) break;
      size += next.length;
      end++;
    }
    if (end === this.head) return first;
    const batch = new Uint8Array(size);
    batch.set(first, 0);
    let offset = first.length;
    for (let i = this.head; i < end; i++) {
      batch.set(this.queue[i]!, offset);
      offset += this.queue[i]!.length;
    }
    this.head = end;
    return batch;
  }
}

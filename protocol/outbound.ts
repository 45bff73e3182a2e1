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
/** What a slot holds once its frame is taken: the queue must not keep written frames alive. */
const TAKEN = new Uint8Array(0);

/** What the owner of a queue may want to follow (the appliance counts queued bytes in its memory budget). */
export interface OutboundEvents {
  /** queuedBytes changed by `delta` (after a push; after a write, by what the socket took). */
  bytes?(delta: number): void;
  /** The socket became full: it took less than it was given. */
  full?(): void;
}

export class Outbound {
  private queue: Uint8Array[] = [];
  private head = 0;
  private scheduled = false;
  private full = false;
  private closed = false;
  /** Bytes accepted by push() and not yet taken by the socket. */
  queuedBytes = 0;

  constructor(
    private readonly write: SocketWrite,
    private readonly events: OutboundEvents | null = null,
  ) {}

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
    this.events?.bytes?.(frame.length);
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
    let written = 0;
    while (!this.full && !this.closed && this.head < this.queue.length) {
      const batch = this.nextBatch();
      const taken = Math.max(this.write(batch), 0);
      this.queuedBytes -= taken;
      written += taken;
      if (taken < batch.length) {
        // keep the unsent tail at the front; it goes first when the socket drains
        this.queue[--this.head] = batch.subarray(taken);
        this.full = true;
        this.events?.full?.();
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // last: the owner may queue more from here (its next frames are written in the next flush)
    if (written > 0) this.events?.bytes?.(-written);
  };

  /** The next frame, or several small frames joined into one buffer. */
  private nextBatch(): Uint8Array {
    const first = this.queue[this.head]!;
    this.queue[this.head++] = TAKEN;
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
      this.queue[i] = TAKEN;
    }
    this.head = end;
    return batch;
  }
}

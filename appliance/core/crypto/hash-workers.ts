/**
 * A small pool of worker threads for large one-shot HMACs and digests, so that hashing a 1 MiB
 * request uses the other core while the main thread keeps reading sockets and answering small
 * requests. Requests below the offload threshold stay on the main thread: a hop to a worker costs
 * ~10 µs, more than hashing 4 KiB.
 *
 * Data is not copied where it can be avoided. HMAC and digest data that came in several socket reads
 * arrives here in those pieces (ScatteredBytes): a read that holds nothing but this request has its
 * buffer transferred to the worker, which hashes the pieces in order (1 MiB: ~120 us of main-thread
 * CPU less than joining them; only the ends of reads shared with other requests are copied, into a
 * slot). Another body assembled from several reads lies in a shared buffer of the body pool: the
 * worker hashes it in place and the pool keeps it until the worker answers. Otherwise each worker has a
 * few slots in a SharedArrayBuffer; the main thread copies the payload into a free slot (one memcpy)
 * and posts only the slot's coordinates, which measured ~170 µs of CPU per MiB less than transferring
 * a copy. Payloads larger than a slot, or when every slot is busy, are transferred instead. The
 * worker's code is inline so that the compiled single binary needs no extra file.
 *
 * The workers run at a lower scheduling priority than the main thread (config `hashWorkerNice`). The
 * main thread is the head of the pipeline: it reads the data the workers hash and writes their
 * answers, and on two cores a worker that preempts it leaves the other worker, and soon itself,
 * without work. Lowered, they take the cores' spare time, and still a third of a busy core's (nice 5
 * weighs a third of nice 0). In alternating runs of bench/quick-hmac.ts, 1 MiB HMACs from 2 × 16
 * pipelined C clients went from a mean of 0.74–0.88× to 0.87–0.96× of in-process speed; the rows
 * with TS clients, 4 KiB HMACs and signatures did not move beyond the noise (bench/RESULTS.md).
 */
import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { BodyPool } from "../../../protocol/body-pool.ts";
import { ScatteredBytes } from "../../../protocol/frame.ts";
import type { HashInput } from "./hash.ts";

const SLOTS = 4;
const SLOT_BYTES = 2 * 1024 * 1024;

const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash, createHmac } = require("node:crypto");
if (workerData.nice > 0) {
  // this thread only (Linux priorities are per thread; threads it starts later, such as its heap's
  // collector, inherit it), relative to the appliance's own; should the system refuse, the worker just
  // runs at the appliance's priority
  const os = require("node:os");
  try {
    os.setPriority(Math.min(19, os.getPriority() + workerData.nice));
  } catch {}
}
parentPort.on("message", (job) => {
  try {
    const h = job.key ? createHmac(job.alg, job.key) : createHash(job.alg);
    for (const p of job.parts) h.update(new Uint8Array(p.buffer || workerData.shared, p.offset, p.length));
    parentPort.postMessage({ id: job.id, out: h.digest() });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/** A run of a job's data: in `buffer` (shared or transferred), or in the worker's own slots. */
interface Part {
  buffer?: ArrayBufferLike;
  offset: number;
  length: number;
}

interface Job {
  worker: number;
  slot: number;
  /** A pooled request body the worker reads in place, released when it answers. */
  held: Uint8Array | null;
  resolve: (out: Buffer) => void;
  reject: (err: Error) => void;
}

interface PoolWorker {
  thread: Worker;
  shared: Uint8Array;
  freeSlots: number[];
  load: number;
}

export class HashWorkers {
  private readonly workers: PoolWorker[];
  private readonly pending = new Map<number, Job>();
  private nextId = 1;

  /**
   * `bodies`: the pool whose shared buffers a worker may read in place (held until it is done).
   * `nice`: how much lower than the appliance's the workers' scheduling priority is (see the top of this file).
   */
  constructor(
    count: number,
    readonly offloadBytes: number,
    private readonly bodies: BodyPool | null = null,
    nice = 0,
  ) {
    this.workers = Array.from({ length: count }, () => {
      const shared = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
      const thread = new Worker(WORKER_CODE, { eval: true, workerData: { shared, nice } });
      thread.on("message", (m: { id: number; out?: Uint8Array; error?: string }) => this.settle(m));
      thread.unref();
      return { thread, shared: new Uint8Array(shared), freeSlots: [...Array(SLOTS).keys()], load: 0 };
    });
  }

  /** Whether a payload this large is worth sending to a worker. */
  wants(length: number): boolean {
    return this.workers.length > 0 && length >= this.offloadBytes;
  }

  hmac(alg: string, key: KeyObject, data: HashInput): Promise<Buffer> {
    return this.submit(alg, key, data);
  }

  digest(alg: string, data: HashInput): Promise<Buffer> {
    return this.submit(alg, null, data);
  }

  private submit(alg: string, key: KeyObject | null, data: HashInput): Promise<Buffer> {
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.load < this.workers[w]!.load) w = i;
    const worker = this.workers[w]!;
    worker.load++;
    const id = this.nextId++;
    if (data instanceof ScatteredBytes) return this.submitScattered(w, id, alg, key, data);
    if (this.bodies?.isShared(data)) {
      // assembled in shared memory already: the worker reads it there, and the body stays ours until then
      this.bodies.hold(data);
      return new Promise((resolve, reject) => {
        this.pending.set(id, { worker: w, slot: -1, held: data, resolve, reject });
        const parts: Part[] = [{ buffer: data.buffer, offset: data.byteOffset, length: data.length }];
        worker.thread.postMessage({ id, alg, key, parts });
      });
    }
    const slot = data.length <= SLOT_BYTES ? (worker.freeSlots.pop() ?? -1) : -1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: w, slot, held: null, resolve, reject });
      if (slot >= 0) {
        // the request's data is a view into a network buffer: copy it now, before the handler returns
        worker.shared.set(data, slot * SLOT_BYTES);
        const parts: Part[] = [{ offset: slot * SLOT_BYTES, length: data.length }];
        worker.thread.postMessage({ id, alg, key, parts });
      } else {
        const copy = new Uint8Array(data); // a real copy (Buffer#slice would be a view)
        const parts: Part[] = [{ buffer: copy.buffer, offset: 0, length: copy.length }];
        worker.thread.postMessage({ id, alg, key, parts }, [copy.buffer]);
      }
    });
  }

  /**
   * A body left in the pieces it arrived in: pieces whose buffers are the frame's alone are
   * transferred (no copy; they are detached here), the others — the ends of reads shared with other
   * frames — copied into a slot, or into a transferred copy when no slot is free.
   */
  private submitScattered(
    w: number,
    id: number,
    alg: string,
    key: KeyObject | null,
    data: ScatteredBytes,
  ): Promise<Buffer> {
    const worker = this.workers[w]!;
    const { pieces, owned } = data;
    // a buffer goes over once (the same one twice in a transfer list is an error)
    const moved = pieces.map(
      (p, i) => owned[i] === true && pieces.findIndex((q) => q.buffer === p.buffer) === i,
    );
    let shared = 0;
    for (let i = 0; i < pieces.length; i++) if (!moved[i]) shared += pieces[i]!.length;
    const slot = shared > 0 && shared <= SLOT_BYTES ? (worker.freeSlots.pop() ?? -1) : -1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: w, slot, held: null, resolve, reject });
      const parts: Part[] = [];
      const transfer: ArrayBuffer[] = [];
      let at = slot * SLOT_BYTES;
      pieces.forEach((p, i) => {
        if (moved[i]) {
          parts.push({ buffer: p.buffer, offset: p.byteOffset, length: p.length });
          transfer.push(p.buffer as ArrayBuffer);
        } else if (slot >= 0) {
          worker.shared.set(p, at);
          parts.push({ offset: at, length: p.length });
          at += p.length;
        } else {
          const copy = new Uint8Array(p); // a real copy (Buffer#slice would be a view)
          parts.push({ buffer: copy.buffer, offset: 0, length: copy.length });
          transfer.push(copy.buffer);
        }
      });
      worker.thread.postMessage({ id, alg, key, parts }, transfer);
    });
  }

  private settle(m: { id: number; out?: Uint8Array; error?: string }): void {
    const job = this.pending.get(m.id);
    if (!job) return;
    this.pending.delete(m.id);
    const worker = this.workers[job.worker]!;
    worker.load--;
    if (job.slot >= 0) worker.freeSlots.push(job.slot);
    if (job.held) this.bodies!.release(job.held);
    if (m.error !== undefined) job.reject(new Error(m.error));
    else job.resolve(Buffer.from(m.out!.buffer, m.out!.byteOffset, m.out!.byteLength));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

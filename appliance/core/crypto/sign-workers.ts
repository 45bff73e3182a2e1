/**
 * Worker threads that sign when the main thread has more signatures to make than it can do alone,
 * so that under load both cores sign while the main thread keeps the sockets moving. A lone request
 * is signed on the main thread: a hop to a worker costs more than an Ed25519 signature when the
 * machine is otherwise idle.
 *
 * Costs measured here that shape the design: a postMessage is ~3 µs, and cloning a private
 * KeyObject into it another ~2.5 µs (Ed25519) to ~11 µs (P-256). So requests are sent in batches
 * (the messages' bytes packed in one buffer; see BATCH and BACKLOG), and each
 * worker keeps the keys it has been sent under a numeric handle. A worker's keys follow the vault's:
 * when the vault drops a key (eviction, deletion, rotation, logout) the workers are told to drop
 * theirs, and each worker holds at most KEYS_PER_WORKER. The worker's code is inline so that the
 * compiled single binary needs no extra file.
 */
import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";
import { Status, VhsmError } from "../../../protocol/status.ts";

/**
 * Signatures go to a worker in batches of up to BATCH: a message to a worker and its answer cost
 * ~10 µs of CPU between the two threads (wake-ups included), so single requests would cost more
 * than they save.
 */
const BATCH = 8;
/**
 * A worker is given more only while fewer than this many of its signatures are outstanding (it
 * counts what it has done in shared memory, so the main thread sees its progress while it is busy
 * itself): enough to keep it busy until the next batch, not so many that the main thread idles.
 */
const BACKLOG = 2 * BATCH;
/**
 * The first signatures of each event-loop turn are made inline: at a light load (a few requests per
 * turn) the main thread has time for them, and a hop would cost both threads a wake-up for nothing.
 */
const INLINE_FIRST = 4;
const KEYS_PER_WORKER = 4096;

/** How a request is signed; mirrors signData() in signatures.ts for the non-prehashed cases. */
export enum WorkerScheme {
  ED25519 = 0,
  ECDSA_DER = 1,
  ECDSA_RAW = 2,
  RSA_PSS = 3,
  RSA_PKCS1 = 4,
}

const HASHES = ["", "sha256", "sha384", "sha512"];

const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
const done = new Int32Array(workerData.done);
const { sign, constants } = require("node:crypto");
const HASHES = ${JSON.stringify(HASHES)};
const keys = new Map();
function signOne(scheme, hash, key, data) {
  switch (scheme) {
    case 0: return sign(null, data, key);
    case 1: return sign(hash, data, { key, dsaEncoding: "der" });
    case 2: return sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
    case 3: return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    case 4: return sign(hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
  }
  throw new Error("unknown scheme " + scheme);
}
parentPort.on("message", (m) => {
  // keys sent with this batch first; keys dropped during this turn after its signatures
  for (let i = 0; i < m.add.length; i += 2) keys.set(m.add[i], m.add[i + 1]);
  const n = m.meta.length / 4; // per signature: key handle, scheme, hash, message length
  const sigs = [];
  const errors = [];
  let total = 0;
  for (let i = 0, offset = 0; i < n; i++) {
    const handle = m.meta[4 * i], scheme = m.meta[4 * i + 1], hash = m.meta[4 * i + 2], length = m.meta[4 * i + 3];
    const data = m.data.subarray(offset, offset + length);
    offset += length;
    try {
      const key = keys.get(handle);
      if (!key) throw new Error("key handle " + handle + " unknown to the worker");
      const sig = signOne(scheme, HASHES[hash], key, data);
      Atomics.add(done, 0, 1);
      sigs.push(sig);
      total += sig.length;
    } catch (err) {
      Atomics.add(done, 0, 1);
      sigs.push(null);
      errors.push(i, String((err && err.message) || err));
    }
  }
  const out = new Uint8Array(total);
  const lengths = new Int32Array(n);
  for (let i = 0, offset = 0; i < n; i++) {
    const sig = sigs[i];
    if (!sig) { lengths[i] = -1; continue; }
    out.set(sig, offset);
    offset += sig.length;
    lengths[i] = sig.length;
  }
  for (const h of m.drop) keys.delete(h);
  parentPort.postMessage({ batch: m.batch, out, lengths, errors, held: keys.size }, [out.buffer, lengths.buffer]);
});
`;

interface Pending {
  resolve: (sig: Buffer) => void;
  reject: (err: Error) => void;
}

interface Outgoing {
  meta: number[];
  data: Uint8Array[];
  bytes: number;
  add: unknown[];
  pending: Pending[];
}

interface Answer {
  batch: number;
  out: Uint8Array;
  lengths: Int32Array;
  errors: unknown[];
  held: number;
}

interface SignWorker {
  thread: Worker;
  /** Handles this worker holds, oldest first. */
  known: Map<number, true>;
  /** Handles to drop once this turn's batch is signed. */
  drop: Set<number>;
  outgoing: Outgoing | null;
  /** Batches sent and not answered, in order (a worker answers in order). */
  sent: Map<number, Pending[]>;
  /** Signatures posted to the worker, and (written by the worker) how many it has finished. */
  posted: number;
  done: Int32Array;
  /** Keys the worker said it holds in its last answer. */
  held: number;
}

export class SignWorkers {
  private readonly workers: SignWorker[] = [];
  private readonly handles = new WeakMap<KeyObject, number>();
  private nextHandle = 1;
  private nextBatch = 1;
  /** Signatures asked for in this event-loop turn. */
  private turn = 0;
  private turnEndScheduled = false;
  private stopped = false;

  /** `counts.workerSignatures` counts the signatures the workers make (the appliance's metrics). */
  constructor(
    count: number,
    private readonly counts: { workerSignatures: number } = { workerSignatures: 0 },
  ) {
    for (let i = 0; i < count; i++) this.workers.push(this.spawn());
  }

  private spawn(): SignWorker {
    const done = new SharedArrayBuffer(4);
    const thread = new Worker(WORKER_CODE, { eval: true, workerData: { done } });
    const w: SignWorker = {
      thread,
      known: new Map(),
      drop: new Set(),
      outgoing: null,
      sent: new Map(),
      posted: 0,
      done: new Int32Array(done),
      held: 0,
    };
    thread.on("message", (m: Answer) => this.settle(w, m));
    thread.on("error", (err: unknown) => this.lost(w, err instanceof Error ? err : new Error(String(err))));
    thread.on("exit", (code) => this.lost(w, new Error(`signing worker exited with code ${code}`)));
    thread.unref();
    return w;
  }

  /**
   * A worker to sign this request, or -1 when the main thread should sign it: the first INLINE_FIRST
   * signatures of an event-loop turn, or when every worker has BACKLOG signatures outstanding. So
   * under load the workers sign as fast as they can and the main thread signs what they cannot take,
   * between reading and answering.
   */
  pick(): number {
    if (this.workers.length === 0) return -1;
    this.scheduleTurnEnd();
    if (this.turn++ < INLINE_FIRST) return -1;
    let best = -1;
    let least = BACKLOG;
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[i]!;
      const backlog = w.posted - Atomics.load(w.done, 0) + (w.outgoing?.pending.length ?? 0);
      if (backlog < least) {
        best = i;
        least = backlog;
      }
    }
    return best;
  }

  /** Queues a signature on worker `index` (from pick()); it leaves with this turn's batch. */
  sign(index: number, key: KeyObject, scheme: WorkerScheme, hash: number, data: Uint8Array): Promise<Buffer> {
    const w = this.workers[index]!;
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = this.nextHandle++;
      this.handles.set(key, handle);
    }
    if (!w.outgoing) w.outgoing = { meta: [], data: [], bytes: 0, add: [], pending: [] };
    const out = w.outgoing;
    if (!w.known.has(handle)) {
      w.known.set(handle, true);
      w.drop.delete(handle); // evicted earlier in this turn and wanted again: keep it
      out.add.push(handle, key);
      if (w.known.size > KEYS_PER_WORKER) {
        const oldest = w.known.keys().next().value as number;
        w.known.delete(oldest);
        w.drop.add(oldest);
      }
    }
    // the request's bytes are a view into a network buffer reused after the handler returns: copy
    const copy = new Uint8Array(data);
    out.meta.push(handle, scheme, hash, copy.length);
    out.data.push(copy);
    out.bytes += copy.length;
    const promise = new Promise<Buffer>((resolve, reject) => out.pending.push({ resolve, reject }));
    if (out.pending.length >= BATCH) this.post(w);
    else this.scheduleTurnEnd();
    return promise;
  }

  /** The vault dropped this key: workers that hold it drop it with their next message. */
  release(key: KeyObject): void {
    const handle = this.handles.get(key);
    if (handle === undefined) return;
    this.handles.delete(key);
    for (const w of this.workers) {
      if (w.known.delete(handle)) {
        w.drop.add(handle);
        this.scheduleTurnEnd();
      }
    }
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(() => {
      this.turnEndScheduled = false;
      this.turn = 0;
      for (const w of this.workers) if (w.outgoing || w.drop.size > 0) this.post(w);
    });
  }

  /** Sends a worker its gathered signatures (and the keys they need, and the keys to drop). */
  private post(w: SignWorker): void {
    const out = w.outgoing;
    w.outgoing = null;
    const batch = this.nextBatch++;
    const data = new Uint8Array(out?.bytes ?? 0);
    let offset = 0;
    for (const d of out?.data ?? []) {
      data.set(d, offset);
      offset += d.length;
    }
    const meta = new Int32Array(out?.meta ?? []);
    if (out) {
      w.sent.set(batch, out.pending);
      w.posted += out.pending.length;
    }
    const drop = [...w.drop];
    w.drop.clear();
    w.thread.postMessage({ batch, add: out?.add ?? [], drop, meta, data }, [data.buffer, meta.buffer]);
  }

  private settle(w: SignWorker, m: Answer): void {
    w.held = m.held;
    const pending = w.sent.get(m.batch);
    if (!pending) return;
    w.sent.delete(m.batch);
    const errors = new Map<number, string>();
    for (let i = 0; i < m.errors.length; i += 2) errors.set(m.errors[i] as number, m.errors[i + 1] as string);
    let offset = 0;
    for (let i = 0; i < pending.length; i++) {
      const length = m.lengths[i]!;
      if (length < 0) {
        pending[i]!.reject(
          new VhsmError(Status.INTERNAL, `signing failed: ${errors.get(i) ?? "unknown error"}`),
        );
        continue;
      }
      this.counts.workerSignatures++;
      pending[i]!.resolve(Buffer.from(m.out.buffer, m.out.byteOffset + offset, length));
      offset += length;
    }
  }

  /** A worker died: fail what it had and start a fresh one (with no keys). */
  private lost(w: SignWorker, err: Error): void {
    const index = this.workers.indexOf(w);
    if (index < 0) return;
    const failure = new VhsmError(Status.INTERNAL, `signing worker failed: ${err.message}`);
    for (const pending of w.sent.values()) for (const p of pending) p.reject(failure);
    for (const p of w.outgoing?.pending ?? []) p.reject(failure);
    w.sent.clear();
    w.outgoing = null;
    if (this.stopped) return;
    this.workers[index] = this.spawn();
  }

  /** Keys the workers held at their last answers (a drop is answered too). */
  heldKeys(): number {
    return this.workers.reduce((n, w) => n + w.held, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

/**
 * One client connection: cuts frames from the socket, dispatches them through the operation table,
 * writes responses with backpressure. Requests after a session-changing operation (LOGIN...) wait
 * for it; everything else is answered as soon as it completes, so responses may be out of order.
 * Limits (limits.ts): at most `maxInflight` requests per connection may be unanswered — running,
 * waiting behind a barrier, or answered but still queued for a client that reads slowly; more are
 * answered LIMIT_EXCEEDED at once. A connection stops being read while its queued answers pass
 * OUTBOUND_HOLD or its running requests' bodies pass RUNNING_HOLD, until they drain; a client that
 * lets `maxOutboundQueue` bytes pile up all the same is dropped. Every byte a connection holds counts in
 * the appliance's memory budget and in its container's share of it (memory-budget.ts); while either is
 * spent, requests are answered LIMIT_EXCEEDED and a connection that would hold more of a request still
 * arriving is closed.
 */
import type { Socket } from "bun";
import { decodeBody, decodeSplitBody, encodeError, encodeFrame, StringMemo } from "../../protocol/codec.ts";
import { FLAG_RESPONSE, type Frame, FrameReader, joinPieces } from "../../protocol/frame.ts";
import { MESSAGES, type MessageName, messageName } from "../../protocol/messages.ts";
import { Outbound } from "../../protocol/outbound.ts";
import { Status, VhsmError } from "../../protocol/status.ts";
import type { Idleable } from "./limits.ts";
import type { Logger } from "./log.ts";
import type { BudgetHolder, MemoryShare } from "./memory-budget.ts";
import type { ContainerCounters, Metrics } from "./metrics.ts";
import { BARRIERS, HANDLERS, operationKind, SPLIT_OPERATIONS } from "./operations/index.ts";
import type { Services } from "./services.ts";
import { Session } from "./session.ts";
import type { ContainerRow } from "./store/containers.ts";
import { storageFailure } from "./store/database.ts";

/**
 * Bulk-data requests whose handlers only feed the body to a hash and keep no view of it once they
 * return — even when they answer later (a worker thread hashes a copy): their assembled bodies go
 * back to the shared pool (`services.bodies`; one a worker still reads is held until it is done).
 */
const BODY_DONE_ON_RETURN = new Set<MessageName>([
  "HMAC",
  "HMAC_UPDATE",
  "HMAC_VERIFY",
  "DIGEST",
  "DIGEST_UPDATE",
]);

/**
 * How long a connection closed after a final answer (a frame error, the idle sweep) waits for a
 * client that is slow to read to take what is still queued, that answer included.
 */
const LINGER_MS = 2000;

/**
 * Requests of SPLIT_OPERATIONS at least this large that arrive in several reads are taken in their
 * pieces: a worker hashes them where they lie (1 MiB HMAC: ~120 us less main-thread CPU than copying).
 */
const KEEP_SPLIT_FROM = 64 * 1024;
const SPLIT_OPCODES = new Set<number>([...SPLIT_OPERATIONS].map((name) => MESSAGES[name].opcode));
const KEEP_SPLIT = { from: KEEP_SPLIT_FROM, wants: (opcode: number) => SPLIT_OPCODES.has(opcode) };

/** Bytes of requests held behind a barrier before the socket stops being read. */
const WAITING_LIMIT = 4 * 1024 * 1024;

/**
 * Queued answers past this (or half of `maxOutboundQueue`, if smaller) stop the reading of requests
 * until the client has taken them: a client pipelining 1 MiB RANDOMs gets them all, at its own pace.
 */
const OUTBOUND_HOLD = 4 * 1024 * 1024;
/** Bodies of running requests (hashed by a worker) past this stop the reading until they are done. */
const RUNNING_HOLD = 32 * 1024 * 1024;
/**
 * While the memory budget or the container's share is spent, a connection stops being read as soon
 * as this much of its answers is queued (refusals included), not OUTBOUND_HOLD: a container's clients
 * reading slowly cannot go on holding 4 MiB a connection past their share.
 */
const SHORT_HOLD = 64 * 1024;

/**
 * Request bytes that count as progress for the memory budget (besides a request completed): a client
 * trickling a large request a byte at a time is not making progress.
 */
const PROGRESS_BYTES = 64 * 1024;

/** What a request waiting behind a barrier or a hold costs besides its body (objects, copies). */
const WAITING_FRAME_COST = 256;

export class Connection implements Idleable, BudgetHolder {
  readonly session: Session;
  /** performance.now() of the last request, or of answer bytes the client took: for the idle sweep. */
  lastActivity = performance.now();
  /** Requests whose handler is still running (LOGIN, PIN_CHANGE: the KDF). */
  running = 0;
  private limitWarned = false;
  private readonly reader: FrameReader;
  /** Responses leave in one write per tick: all answers to one received chunk share a syscall. */
  private readonly outbound: Outbound;
  private waiting: Frame[] = [];
  private waitingBytes = 0;
  private paused = false;
  private barrier = false;
  /** Reading stopped until this connection's own answers drain or its running requests finish. */
  private held = false;
  private readonly outboundHold: number;
  /** Body bytes of requests whose handler is still running. */
  private runningBytes = 0;
  /** The part of a request still arriving that heldBytes counts. */
  private partialCharged = 0;
  /** What this connection counts in the memory budget (and its container's share of it). */
  heldBytes = 0;
  /** performance.now() of the client's last progress: a request received, PROGRESS_BYTES of one, answer bytes taken. */
  progressAt = performance.now();
  private receivedSinceProgress = 0;
  /** Whether the budget watches it: it holds a request begun, or answers its full socket did not take. */
  private watched = false;
  /** Its container's share of the memory budget. */
  private readonly memory: MemoryShare;
  private closed = false;
  /** The client half-closed (sent FIN, still reading): answer what it sent, then close. */
  private peerEnded = false;
  private cleanedUp = false;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly counters: ContainerCounters;
  /** The last key id (or other short string) this connection sent, decoded once. */
  private readonly strings = new StringMemo();

  constructor(
    private readonly socket: Socket<unknown>,
    container: ContainerRow,
    private readonly services: Services,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.session = new Session(container, services.config.maxContextsPerSession);
    this.reader = new FrameReader(
      services.config.maxFrameBody,
      (frame) => this.onFrame(frame),
      services.bodies,
      KEEP_SPLIT,
    );
    this.memory = services.memory.share(container.name);
    this.outboundHold = Math.min(OUTBOUND_HOLD, services.config.maxOutboundQueue / 2);
    this.outbound = new Outbound((bytes) => socket.write(bytes), {
      bytes: (delta) => this.onOutboundBytes(delta),
      full: () => this.watch(true),
    });
    this.counters = metrics.container(container.name);
    this.counters.connections++;
    metrics.connectionsTotal++;
  }

  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.receivedSinceProgress += chunk.length;
    if (this.receivedSinceProgress >= PROGRESS_BYTES) this.progressed(performance.now());
    try {
      this.reader.push(chunk);
      this.chargePartial();
    } catch (err) {
      // a broken frame leaves the stream unsynchronised: answer once, then close
      const e = err instanceof VhsmError ? err : new VhsmError(Status.INTERNAL, String(err));
      this.metrics.frameErrors++;
      this.log.warn("frame error", {
        container: this.session.container.name,
        code: e.code,
        message: e.message,
      });
      this.send(encodeError(0, 0, e.status, e.message));
      this.closeAfterAnswers();
    }
  }

  /** Returns true when the frame's body is no longer referenced (see BODY_DONE_ON_RETURN). */
  private onFrame(frame: Frame): boolean {
    if (this.closed) return true;
    if (frame.flags & FLAG_RESPONSE) {
      throw new VhsmError(Status.BAD_FRAME, "clients must not send response frames");
    }
    // the reader let go of this frame's partial bytes before handing it on: stop counting them now,
    // or they count twice with the body about to be charged (running or waiting)
    const partial = this.reader.partialBytes;
    if (partial !== this.partialCharged) {
      this.charge(partial - this.partialCharged);
      this.partialCharged = partial;
    }
    const now = performance.now();
    this.lastActivity = now;
    this.progressed(now);
    if (this.inflight >= this.services.config.maxInflight) {
      this.refuseOverLimit(frame);
      return true;
    }
    if (this.barrier || this.held) {
      if (this.shortOfMemory()) {
        this.refuseForMemory(frame);
        return true;
      }
      if (this.closed) return true; // shed by the shed that made room
      // keep a copy: an assembled body goes back to the pool (new Uint8Array copies; Buffer#slice would not)
      const body = frame.split
        ? joinPieces(frame.split.pieces, frame.bodyLength, null)
        : new Uint8Array(frame.body);
      this.waiting.push({ ...frame, body, split: undefined });
      this.waitingBytes += body.length + WAITING_FRAME_COST;
      this.charge(body.length + WAITING_FRAME_COST);
      // a client pipelining behind a slow LOGIN must not make us buffer without limit: stop reading
      // until the barrier is released (the rest of the current chunk is still cut into frames)
      if (this.waitingBytes > WAITING_LIMIT && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return true;
    }
    return this.dispatch(frame);
  }

  get pausedByAppliance(): boolean {
    return this.paused && (this.barrier || this.runningBytes > RUNNING_HOLD);
  }

  /** Requests not yet answered: running, waiting behind a barrier, or answered but held by a full socket. */
  get inflight(): number {
    return this.running + this.waiting.length + this.outbound.backlog;
  }

  private refuseOverLimit(frame: Frame): void {
    const limit = this.services.config.maxInflight;
    if (!this.limitWarned) {
      this.limitWarned = true;
      this.log.warn("in-flight request limit reached; refusing requests until answers drain", {
        container: this.session.container.name,
        limit,
      });
    }
    this.refuse(
      frame,
      `more than ${limit} requests in flight on this connection; wait for answers before sending more`,
    );
  }

  /** Answers a request LIMIT_EXCEEDED without running it. */
  private refuse(frame: Frame, message: string): void {
    const name = messageName(frame.opcode);
    this.metrics.recordOp(this.counters, name ? operationKind(name) : "session", Status.LIMIT_EXCEEDED, 0, 0);
    this.send(encodeError(frame.opcode, frame.requestId, Status.LIMIT_EXCEEDED, message));
  }

  /** `decoded`: the request, when the caller has decoded it already (dispatchSplit). */
  private dispatch(frame: Frame, decoded?: Record<string, unknown>): boolean {
    if (this.shortOfMemory()) {
      this.refuseForMemory(frame);
      return true;
    }
    // the shed that made room may have closed this very connection: run nothing for it
    if (this.closed) return true;
    if (frame.split && !decoded) return this.dispatchSplit(frame);
    const name = messageName(frame.opcode);
    if (!name) {
      this.fail(
        frame,
        "session",
        new VhsmError(Status.UNKNOWN_OPCODE, `unknown opcode 0x${frame.opcode.toString(16)}`),
      );
      return false;
    }
    const kind = operationKind(name);
    const started = performance.now();
    let result: unknown;
    let request: Record<string, unknown> | undefined;
    try {
      if (!this.session.helloDone && name !== "HELLO") {
        throw new VhsmError(Status.BAD_SESSION, "send HELLO first");
      }
      request = decoded ?? decodeBody(MESSAGES[name].request, frame.body, this.strings);
      result = (HANDLERS[name] as (s: Session, r: unknown, svc: Services) => unknown)(
        this.session,
        request,
        this.services,
      );
    } catch (err) {
      this.fail(frame, kind, err, started, name, request);
      return BODY_DONE_ON_RETURN.has(name);
    }
    if (result instanceof Promise) {
      const isBarrier = BARRIERS.has(name);
      if (isBarrier) this.barrier = true;
      this.running++;
      const bytes = frame.bodyLength;
      this.runningBytes += bytes;
      this.charge(bytes);
      if (this.runningBytes > RUNNING_HOLD) this.hold();
      result.then(
        (value) => {
          this.running--;
          this.finished(bytes);
          this.succeed(frame, name, kind, value, started, request);
          this.closeIfEnded();
        },
        (err) => {
          this.running--;
          this.finished(bytes);
          this.fail(frame, kind, err, started, name, request);
          this.closeIfEnded();
        },
      );
      if (isBarrier) result.finally(() => this.releaseBarrier()).catch(() => {});
      return BODY_DONE_ON_RETURN.has(name);
    }
    this.succeed(frame, name, kind, result, started, request);
    return BODY_DONE_ON_RETURN.has(name);
  }

  /**
   * A body kept in its pieces (KEEP_SPLIT) is decoded where it lies when it has the usual shape;
   * otherwise it is joined and goes the usual way, which gives its value or its exact error.
   */
  private dispatchSplit(frame: Frame): boolean {
    const split = frame.split!;
    const name = messageName(frame.opcode)!; // only known opcodes are kept split
    const request = this.session.helloDone
      ? decodeSplitBody(MESSAGES[name].request, split, frame.bodyLength, this.strings)
      : null;
    if (request) return this.dispatch(frame, request);
    const pool = this.services.bodies;
    const body = joinPieces(split.pieces, frame.bodyLength, pool);
    if (this.dispatch({ ...frame, body, split: undefined })) pool.give(body);
    return true;
  }

  private releaseBarrier(): void {
    this.barrier = false;
    this.releaseWaiting();
  }

  /** Dispatches the requests that waited (behind a barrier, or while held), until the next wait. */
  private releaseWaiting(): void {
    if (this.barrier || this.held) return;
    const queued = this.waiting;
    this.waiting = [];
    this.charge(-this.waitingBytes);
    this.waitingBytes = 0;
    for (let i = 0; i < queued.length; i++) {
      if (this.closed) return;
      if (this.barrier || this.held) {
        const rest = queued.slice(i);
        this.waiting.push(...rest);
        for (const f of rest) this.waitingBytes += f.body.length + WAITING_FRAME_COST;
        this.charge(this.waitingBytes);
        if (this.waitingBytes <= WAITING_LIMIT) this.resumeReading();
        return;
      }
      this.dispatch(queued[i]!);
    }
    this.resumeReading();
    this.closeIfEnded();
  }

  /** Stops reading until this connection's own answers drain and its large requests finish. */
  private hold(): void {
    if (this.held || this.closed) return;
    this.held = true;
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private mayRelease(): void {
    if (!this.held || this.closed) return;
    if (this.outbound.queuedBytes > this.holdAt() || this.runningBytes > RUNNING_HOLD) return;
    this.held = false;
    this.releaseWaiting();
  }

  /** A running request is done: its body stops counting, also when the connection has closed since. */
  private finished(bytes: number): void {
    this.runningBytes -= bytes;
    this.heldBytes -= bytes;
    this.memory.add(-bytes);
    this.mayRelease();
  }

  /** Counts bytes in the budget (after cleanup only running requests still count: see finished). */
  private charge(delta: number): void {
    if (this.cleanedUp) return;
    this.heldBytes += delta;
    this.memory.add(delta);
  }

  private progressed(now: number): void {
    this.progressAt = now;
    this.receivedSinceProgress = 0;
  }

  private watch(on: boolean): void {
    if (on === this.watched || (on && this.cleanedUp)) return;
    this.watched = on;
    this.memory.watch(this, on);
  }

  private onOutboundBytes(delta: number): void {
    this.charge(delta);
    if (delta < 0) {
      // the client took some: it is reading, and not idle
      const now = performance.now();
      this.progressed(now);
      this.lastActivity = now;
      if (this.watched && this.outbound.queuedBytes === 0 && this.partialCharged === 0) this.watch(false);
      if (this.lingerTimer) {
        // a client still taking its last answers gets its LINGER_MS from its latest progress
        clearTimeout(this.lingerTimer);
        this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
      }
      this.mayRelease();
    }
  }

  /**
   * Counts the request still arriving. While the budget is spent, a connection that would hold more
   * of one is closed (LIMIT_EXCEEDED, request id 0) if shedding the clients that make no progress did
   * not bring the budget back.
   */
  private chargePartial(): void {
    const partial = this.reader.partialBytes;
    const grew = partial > this.partialCharged;
    this.charge(partial - this.partialCharged);
    this.partialCharged = partial;
    if (partial > 0) this.watch(true);
    else if (this.watched && this.outbound.queuedBytes === 0) this.watch(false);
    if (!grew || !this.shortOfMemory()) return;
    throw new VhsmError(
      Status.LIMIT_EXCEEDED,
      `the appliance is short of memory for requests (${this.memory.shortage()}); send it again later`,
    );
  }

  /** The budget or the share is spent, and shedding the clients that make no progress did not help. */
  private shortOfMemory(): boolean {
    return this.memory.over && !this.memory.shed();
  }

  /**
   * Answers LIMIT_EXCEEDED for memory. A connection already held (its answers wait for its client)
   * gets a short message: a flood of tiny requests must not queue ten times its size in refusals.
   */
  private refuseForMemory(frame: Frame): void {
    this.metrics.memoryRefusals++;
    this.refuse(
      frame,
      this.held
        ? "short of memory; try again later"
        : `the appliance is short of memory (${this.memory.shortage()}); try again later`,
    );
  }

  /** The budget's verdict on a client that made no progress while holding memory: say why, then close. */
  shedForMemory(): void {
    if (this.closed) return;
    const reading = this.outbound.queuedBytes === 0;
    const why = reading
      ? "a request still arriving made no progress for a second while the appliance is short of memory"
      : "client does not read its responses and the appliance is short of memory";
    this.log.warn(`${why}; disconnecting`, {
      container: this.session.container.name,
      queued: this.outbound.queuedBytes,
      partial: this.partialCharged,
    });
    this.send(encodeError(0, 0, Status.LIMIT_EXCEEDED, `${why}; connection closed`));
    this.close();
  }

  /**
   * The client sent FIN (as `nc -N`, socat or a shell's `printf ... | nc` do) but may still read:
   * every complete request it sent is answered, those still running included, and then the
   * connection closes. A frame cut off by the FIN is dropped.
   */
  onEnd(): void {
    this.peerEnded = true;
    this.closeIfEnded();
  }

  private closeIfEnded(): void {
    if (this.peerEnded && this.running === 0 && this.waiting.length === 0) this.closeAfterAnswers();
  }

  private resumeReading(): void {
    if (!this.paused || this.closed || this.held) return;
    this.paused = false;
    this.socket.resume();
  }

  private succeed(
    frame: Frame,
    name: MessageName,
    kind: string,
    value: unknown,
    started: number,
    request?: Record<string, unknown>,
  ): void {
    const us = (performance.now() - started) * 1000;
    try {
      this.services.audit.operation(this.session, name, request, value as Record<string, unknown>, Status.OK);
    } catch (err) {
      // --audit-required: an operation whose record cannot be written is not acknowledged, and a
      // LOGIN not acknowledged leaves no login behind (nor, on a closed connection, an open vault)
      if (name === "LOGIN") this.releaseSession();
      this.fail(frame, kind, err, started);
      return;
    }
    this.metrics.recordOp(this.counters, kind, Status.OK, us, frame.bodyLength);
    if (this.closed) {
      this.releaseLateVault();
      return;
    }
    let out: Uint8Array;
    try {
      out = encodeFrame(
        frame.opcode,
        FLAG_RESPONSE,
        Status.OK,
        frame.requestId,
        MESSAGES[name].response,
        value as Record<string, unknown>,
      );
    } catch (err) {
      this.fail(frame, kind, err, started);
      return;
    }
    this.send(out);
  }

  /**
   * A LOGIN still deriving its key when the connection closed completes afterwards: release the vault
   * it opened, or the user's keys would stay decrypted in memory with no session using them.
   */
  private releaseLateVault(): void {
    if (this.closed) this.releaseSession();
  }

  private fail(
    frame: Frame,
    kind: string,
    err: unknown,
    started = performance.now(),
    name?: MessageName,
    request?: Record<string, unknown>,
  ): void {
    let e: VhsmError;
    const full = err instanceof VhsmError ? null : storageFailure(err);
    if (err instanceof VhsmError) {
      e = err;
    } else if (full) {
      // not a bug: the operator has to free space; reads keep working meanwhile
      this.log.warn("key store write failed", {
        opcode: frame.opcode,
        code: full.code,
        message: full.message,
      });
      e = full;
    } else {
      this.log.error("internal error", { opcode: frame.opcode, error: String((err as Error)?.stack ?? err) });
      e = new VhsmError(Status.INTERNAL, "internal error; see the appliance log");
    }
    if (e.status === Status.PIN_LOCKED) this.metrics.lockouts++;
    if (name) {
      try {
        this.services.audit.operation(this.session, name, request, undefined, e.status);
      } catch {
        // the failure is reported to the client anyway
      }
    }
    this.metrics.recordOp(this.counters, kind, e.status, (performance.now() - started) * 1000, 0);
    if (!this.closed) this.send(encodeError(frame.opcode, frame.requestId, e.status, e.message));
  }

  /** How much of its answers may be queued before the connection stops being read. */
  private holdAt(): number {
    return this.memory.over ? SHORT_HOLD : this.outboundHold;
  }

  private send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.outbound.push(bytes);
    if (this.outbound.queuedBytes > this.holdAt()) this.hold();
    if (this.outbound.queuedBytes > this.services.config.maxOutboundQueue) {
      this.log.warn("client does not read its responses; disconnecting", {
        container: this.session.container.name,
      });
      this.close();
    }
  }

  /** The idle sweep's verdict: say why once, then close. */
  closeIdle(seconds: number): void {
    if (this.closed) return;
    this.log.info("closing idle connection", { container: this.session.container.name, seconds });
    this.send(encodeError(0, 0, Status.LIMIT_EXCEEDED, `no request for ${seconds} s; connection closed`));
    this.closeAfterAnswers();
  }

  /** Ends the connection and its session now (client gone, container revoked, client not reading). */
  close(): void {
    if (this.cleanedUp) return;
    this.closed = true;
    // what the socket takes now goes out before the end
    this.outbound.flush();
    this.socket.end();
    this.cleanup();
  }

  /**
   * Ends the connection after its last answer (a frame error's, the idle sweep's): no more requests
   * are read and the session ends now, but what is queued behind a full socket still goes out as the
   * client reads, for up to LINGER_MS, so that the final answer is not lost.
   */
  private closeAfterAnswers(): void {
    if (this.closed) return;
    // closed first: the flush may free a hold (mayRelease -> releaseWaiting -> closeIfEnded) and
    // re-enter here, which started a second linger timer that nothing restarts or clears
    this.closed = true;
    // a request cut off (by a half-close, a frame error) can never complete: it stops counting now,
    // not when the last answers have gone out
    this.reader.discard();
    this.charge(-this.partialCharged);
    this.partialCharged = 0;
    this.outbound.flush();
    if (this.outbound.queuedBytes === 0) {
      this.close();
      return;
    }
    this.releaseSession();
    this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
  }

  onDrain(): void {
    if (this.cleanedUp) return;
    this.outbound.drained();
    if (this.lingerTimer && this.outbound.queuedBytes === 0) this.close();
  }

  /** Called when the socket has closed from either side. */
  cleanup(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.releaseSession();
    this.outbound.close();
    // what workers still hash stays counted until they are done (finished)
    this.memory.add(-(this.heldBytes - this.runningBytes));
    this.heldBytes = this.runningBytes;
    this.watch(false);
    this.memory.release();
    this.onClose(this);
  }

  /** The session's contexts and its hold on the user's vault end with the connection. */
  private releaseSession(): void {
    const vault = this.session.vault;
    this.session.clearContexts();
    if (vault) {
      this.session.vault = null;
      this.services.accounts.release(vault);
    }
  }
}

/**
 * Per-connection and per-appliance limits that keep one misbehaving client from starving the others:
 * connections refused at accept, idle connections closed by a periodic sweep. (In-flight requests and
 * the outbound queue are counted where they happen, in connection.ts; frame size in the FrameReader.)
 */
import type { Socket } from "bun";
import { encodeError } from "../../protocol/codec.ts";
import { Status } from "../../protocol/status.ts";
import type { ApplianceConfig } from "./config.ts";

/** Why a new connection must be refused, or null if it may be accepted. */
export function acceptRefusal(
  config: Pick<ApplianceConfig, "maxConnectionsPerContainer" | "maxConnections">,
  container: string,
  containerConnections: number,
  totalConnections: number,
): string | null {
  if (containerConnections >= config.maxConnectionsPerContainer) {
    return `container ${container} already has ${containerConnections} connections (limit ${config.maxConnectionsPerContainer})`;
  }
  if (totalConnections >= config.maxConnections) {
    return `the appliance already has ${totalConnections} connections (limit ${config.maxConnections})`;
  }
  return null;
}

/** How long a refused connection stays half-open for the client to finish connecting and read why. */
const REFUSAL_GRACE_MS = 1000;

/**
 * Answers a refused connection with one LIMIT_EXCEEDED frame (request id 0), then closes it. Only the
 * sending side is shut at once: a socket closed outright inside the accept makes many clients' connect()
 * fail with ECONNRESET before they can read the frame (measured: 90 of 100 with Bun and node:net).
 */
export function refuseConnection(socket: Socket<unknown>, message: string): void {
  socket.write(encodeError(0, 0, Status.LIMIT_EXCEEDED, message));
  socket.shutdown();
  setTimeout(() => socket.end(), REFUSAL_GRACE_MS).unref?.();
}

/** What the idle sweep needs to know about a connection. */
export interface Idleable {
  /** performance.now() of the last request received, or answer bytes taken (or of the accept). */
  readonly lastActivity: number;
  /**
   * Requests still being worked on: a connection waiting for its own LOGIN is not idle (requests
   * waiting behind it wait for a running one). Requests waiting because the client does not take its
   * answers do not count: a client taking answers is active anyway, one that does not must time out.
   */
  readonly running: number;
  closeIdle(seconds: number): void;
}

/**
 * Closes connections that sent no request (and took no answer) for `idleSeconds`. One timer for the whole appliance: it
 * runs every quarter of the timeout (at most every 5 s), so a connection goes at most 25% late.
 */
export class IdleSweeper {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly idleSeconds: number,
    private readonly connections: () => Iterable<Idleable>,
  ) {
    if (idleSeconds <= 0) return;
    const every = Math.min(5000, Math.max(50, (idleSeconds * 1000) / 4));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref?.();
  }

  sweep(now = performance.now()): number {
    const limitMs = this.idleSeconds * 1000;
    const idle: Idleable[] = [];
    for (const c of this.connections()) {
      if (c.running === 0 && now - c.lastActivity >= limitMs) idle.push(c);
    }
    for (const c of idle) c.closeIdle(this.idleSeconds);
    return idle.length;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

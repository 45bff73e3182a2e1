/**
 * A raw protocol connection for tests that must send what no well-behaved client would: arbitrary bytes
 * in, decoded response frames out, and whether (and when) the appliance closed the connection.
 */
import type { Socket } from "bun";
import { decodeBody, encodeRequest } from "../../protocol/codec.ts";
import { DEFAULT_MAX_BODY, type Frame, FrameReader } from "../../protocol/frame.ts";
import {
  ERROR_BODY,
  MESSAGES,
  type MessageName,
  messageName,
  type Request,
} from "../../protocol/messages.ts";
import { Status } from "../../protocol/status.ts";

export class RawConnection {
  readonly frames: Frame[] = [];
  closed = false;
  /** Bytes the socket has taken so far (the rest of what was written waits for the peer to read). */
  accepted = 0;
  private waiters: (() => void)[] = [];
  private readonly reader = new FrameReader(DEFAULT_MAX_BODY, (f) => {
    // bodies are views into the socket's buffer: keep copies
    this.frames.push({ ...f, body: f.body.slice() });
  });

  private constructor(private socket: Socket<undefined> | null) {}

  static async open(path: string): Promise<RawConnection> {
    const conn = new RawConnection(null);
    conn.socket = await Bun.connect({
      unix: path,
      socket: {
        data: (_s, chunk) => {
          conn.reader.push(chunk);
          conn.wake();
        },
        drain: () => conn.flush(),
        close: () => conn.markClosed(),
        end: () => conn.markClosed(),
        error: () => conn.markClosed(),
      },
    });
    return conn;
  }

  private markClosed(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `ready()` holds; rejects after `timeoutMs`. */
  async until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${this.frames.length} frames so far)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Writes in order; what the socket does not take now goes out when it drains. */
  write(bytes: Uint8Array): void {
    this.queue.push(bytes);
    if (this.queue.length === 1) this.flush();
  }

  private readonly queue: Uint8Array[] = [];

  private flush(): void {
    while (this.queue.length > 0 && !this.closed) {
      const next = this.queue[0]!;
      const written = Math.max(this.socket!.write(next), 0);
      this.accepted += written;
      if (written < next.length) {
        this.queue[0] = next.subarray(written);
        return;
      }
      this.queue.shift();
    }
  }

  send<N extends MessageName>(name: N, requestId: number, values: Request<N>): void {
    this.write(encodeRequest(name, requestId, values));
  }

  /** Waits for `count` more frames than `from` and returns them. */
  async next(count = 1, from = this.frames.length, timeoutMs = 5000): Promise<Frame[]> {
    await this.until(() => this.frames.length >= from + count, `${count} response frame(s)`, timeoutMs);
    return this.frames.slice(from, from + count);
  }

  /** Sends one request and waits for its response. */
  async call<N extends MessageName>(name: N, requestId: number, values: Request<N>): Promise<Frame> {
    const from = this.frames.length;
    this.send(name, requestId, values);
    const [frame] = await this.next(1, from);
    return frame!;
  }

  /** Stops reading, as a slow client would: the appliance's answers back up behind a full socket. */
  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, "the appliance to close the connection", timeoutMs);
  }

  end(): void {
    this.socket?.end();
  }
}

/** The decoded body of a response frame: the error message or the message's response fields. */
export function responseBody(frame: Frame): Record<string, unknown> {
  if (frame.status !== Status.OK) return decodeBody(ERROR_BODY, frame.body);
  const name = messageName(frame.opcode);
  if (!name) throw new Error(`response with unknown opcode ${frame.opcode}`);
  return decodeBody(MESSAGES[name].response, frame.body);
}

/** HELLO (and LOGIN) on a raw connection; throws unless both succeed. */
export async function rawSession(path: string, user?: string, pin?: string): Promise<RawConnection> {
  const conn = await RawConnection.open(path);
  const hello = await conn.call("HELLO", 1, { minVersion: 1, maxVersion: 1, client: "raw-test" });
  if (hello.status !== Status.OK) throw new Error(`HELLO failed: ${hello.status}`);
  if (user !== undefined) {
    const login = await conn.call("LOGIN", 2, { user, pin: new TextEncoder().encode(pin ?? "") });
    if (login.status !== Status.OK) throw new Error(`LOGIN failed: ${JSON.stringify(responseBody(login))}`);
  }
  return conn;
}

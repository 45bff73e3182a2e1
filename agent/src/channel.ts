/**
 * One framed connection to the appliance over a Unix socket (node:net, so it runs on Node and Bun).
 * Requests carry ids; responses are matched by id and may arrive in any order.
 */
import { connect, type Socket } from "node:net";
import { type Frame, FrameReader } from "../../protocol/frame.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

interface Pending {
  resolve: (frame: Frame) => void;
  reject: (err: VhsmError) => void;
}

export class Channel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private closeReason: VhsmError | null = null;
  onClose: ((reason: VhsmError) => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    maxBody: number,
  ) {
    const reader = new FrameReader(maxBody, (frame) => {
      const p = this.pending.get(frame.requestId);
      if (!p) return; // a response to a request we gave up on
      this.pending.delete(frame.requestId);
      // the body views a network buffer: copy so the caller may keep it
      p.resolve({ ...frame, body: frame.body.slice() });
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        this.fail(err instanceof VhsmError ? err : new VhsmError(Status.BAD_FRAME, String(err)));
      }
    });
    socket.on("close", () =>
      this.fail(
        this.closeReason ?? new VhsmError(Status.CONNECTION_LOST, "the appliance closed the connection"),
      ),
    );
    socket.on("error", (err) =>
      this.fail(new VhsmError(Status.CONNECTION_LOST, `connection error: ${err.message}`)),
    );
  }

  static open(path: string, maxBody: number): Promise<Channel> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      const onError = (err: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(
          new VhsmError(Status.CONNECTION_FAILED, `cannot connect to ${path}: ${err.code ?? err.message}`),
        );
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        socket.setNoDelay?.(true);
        resolve(new Channel(socket, maxBody));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }

  /** Sends an encoded request frame whose id is `id`; resolves with the response frame. */
  send(id: number, frame: Uint8Array): Promise<Frame> {
    if (this.closed) return Promise.reject(this.closeReason!);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(frame);
    });
  }

  close(reason = new VhsmError(Status.CLIENT_CLOSED, "the client was closed")): void {
    this.closeReason = reason;
    this.socket.destroy();
    this.fail(reason);
  }

  private fail(reason: VhsmError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.socket.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(reason);
    this.onClose?.(reason);
  }
}

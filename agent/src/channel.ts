/**
 * One framed connection to the appliance over a Unix socket (Bun.connect on Bun, node:net on Node).
 * Requests carry ids; responses are matched by id and may arrive in any order.
 */
import { decodeBody } from "../../protocol/codec.ts";
import { type Frame, FrameReader } from "../../protocol/frame.ts";
import { ERROR_BODY } from "../../protocol/messages.ts";
import { Status, VhsmError } from "../../protocol/status.ts";
import { openTransport, type Transport } from "./transport.ts";

interface Pending {
  resolve: (frame: Frame) => void;
  reject: (err: VhsmError) => void;
}

/**
 * Received chunks are never reused by the runtime, so a body may stay a view into its chunk. A small
 * body cut from a large chunk is copied, so that keeping a 20-byte MAC does not pin the whole chunk.
 */
function ownBody(body: Uint8Array): Uint8Array {
  // new Uint8Array copies (Buffer#slice would be a view that still pins the chunk)
  return body.length * 2 >= body.buffer.byteLength ? body : new Uint8Array(body);
}

function connectionError(frame: Frame): VhsmError {
  let message = "";
  try {
    message = decodeBody(ERROR_BODY, frame.body).message;
  } catch {}
  return new VhsmError(frame.status, message);
}

export class Channel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private closeReason: VhsmError | null = null;
  private transport: Transport | null = null;
  private readonly reader: FrameReader;
  onClose: ((reason: VhsmError) => void) | null = null;

  private constructor(maxBody: number) {
    this.reader = new FrameReader(maxBody, (frame) => {
      if (frame.requestId === 0 && frame.status !== Status.OK) {
        // a connection-level refusal (limit reached, idle timeout, frame error): the appliance closes
        // the connection next, and callers should learn why rather than see CONNECTION_LOST
        this.closeReason = connectionError(frame);
        return;
      }
      const p = this.pending.get(frame.requestId);
      if (!p) return; // a response to a request we gave up on
      this.pending.delete(frame.requestId);
      frame.body = ownBody(frame.body);
      p.resolve(frame);
    });
  }

  static async open(path: string, maxBody: number): Promise<Channel> {
    const channel = new Channel(maxBody);
    channel.transport = await openTransport(path, {
      data: (chunk) => channel.received(chunk),
      closed: (error) =>
        channel.fail(
          error === undefined
            ? (channel.closeReason ??
                new VhsmError(Status.CONNECTION_LOST, "the appliance closed the connection"))
            : new VhsmError(Status.CONNECTION_LOST, `connection error: ${error}`),
        ),
    });
    return channel;
  }

  private received(chunk: Uint8Array): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err instanceof VhsmError ? err : new VhsmError(Status.BAD_FRAME, String(err)));
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }

  /**
   * Sends an encoded request frame whose id is `id` (one buffer, or the parts from encodeFrameParts);
   * resolves with the response frame.
   */
  send(id: number, frame: Uint8Array | readonly Uint8Array[]): Promise<Frame> {
    if (this.closed) return Promise.reject(this.closeReason!);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (frame instanceof Uint8Array) this.transport!.send(frame);
      else for (const part of frame) this.transport!.send(part);
    });
  }

  close(reason = new VhsmError(Status.CLIENT_CLOSED, "the client was closed")): void {
    this.closeReason = reason;
    this.fail(reason);
  }

  private fail(reason: VhsmError): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.transport?.close();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(reason);
    this.onClose?.(reason);
  }
}

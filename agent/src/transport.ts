/**
 * The byte stream under a Channel: `Bun.connect` when running on Bun (unbuffered writes that report
 * how much the kernel took), node:net elsewhere. Both feed the same Outbound queue.
 */
import { connect as netConnect } from "node:net";
import { Outbound } from "../../protocol/outbound.ts";
import { Status, VhsmError } from "../../protocol/status.ts";

export interface TransportEvents {
  data(chunk: Uint8Array): void;
  /** The connection ended; `error` says why when it was not a clean close. */
  closed(error?: string): void;
}

export interface Transport {
  /** Queues a whole frame; frames leave in order. */
  send(frame: Uint8Array): void;
  close(): void;
}

function connectFailed(path: string, err: NodeJS.ErrnoException): VhsmError {
  return new VhsmError(Status.CONNECTION_FAILED, `cannot connect to ${path}: ${err.code ?? err.message}`);
}

async function openBun(path: string, events: TransportEvents): Promise<Transport> {
  let outbound: Outbound | null = null;
  let socket: Bun.Socket<undefined>;
  try {
    socket = await Bun.connect({
      unix: path,
      socket: {
        data: (_s, chunk) => events.data(chunk),
        drain: () => outbound?.drained(),
        close: () => {
          outbound?.close();
          events.closed();
        },
        error: (_s, err) => {
          outbound?.close();
          events.closed(err.message);
        },
        connectError: () => {},
      },
    });
  } catch (err) {
    throw connectFailed(path, err as NodeJS.ErrnoException);
  }
  const queue = new Outbound((bytes) => socket.write(bytes));
  outbound = queue;
  return {
    send: (frame) => queue.push(frame),
    close: () => {
      queue.close();
      socket.end();
    },
  };
}

function openNode(path: string, events: TransportEvents): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ path });
    const onConnectError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(connectFailed(path, err));
    };
    socket.once("error", onConnectError);
    socket.once("connect", () => {
      socket.off("error", onConnectError);
      // node:net buffers without limit: hand it nothing more while it is over its high-water mark
      const queue = new Outbound((bytes) => {
        if (socket.writableNeedDrain) return 0;
        socket.write(bytes);
        return bytes.length;
      });
      socket.on("data", (chunk: Buffer) => events.data(chunk));
      socket.on("drain", () => queue.drained());
      socket.on("error", (err) => {
        queue.close();
        events.closed(err.message);
      });
      socket.on("close", () => {
        queue.close();
        events.closed();
      });
      resolve({
        send: (frame) => queue.push(frame),
        close: () => {
          queue.close();
          socket.destroy();
        },
      });
    });
  });
}

export function openTransport(path: string, events: TransportEvents): Promise<Transport> {
  return typeof Bun !== "undefined" ? openBun(path, events) : openNode(path, events);
}

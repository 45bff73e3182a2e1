/**
 * One Unix socket per enrolled container at `<run-dir>/containers/<name>/vhsm.sock`. The socket a
 * client connects through names its container: there is no other way to claim an identity.
 * Connections over the per-container or total limit are refused at accept; idle ones are swept.
 */

import { chmodSync, chownSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { Connection } from "./connection.ts";
import { acceptRefusal, IdleSweeper, refuseConnection } from "./limits.ts";
import { listenWithBacklog } from "./listen-backlog.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Services } from "./services.ts";
import type { ContainerRow } from "./store/containers.ts";

interface Listening {
  container: ContainerRow;
  listener: UnixSocketListener<Connection | undefined>;
  connections: Set<Connection>;
}

export function containerSocketDir(runDir: string, name: string): string {
  return join(runDir, "containers", name);
}

export function containerSocketPath(runDir: string, name: string): string {
  return join(containerSocketDir(runDir, name), "vhsm.sock");
}

export class ContainerSockets {
  private readonly listening = new Map<string, Listening>();
  private readonly sweeper: IdleSweeper;
  refused = 0;

  constructor(
    private readonly services: Services,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.sweeper = new IdleSweeper(services.config.idleTimeoutSeconds, () => this.allConnections());
  }

  private *allConnections(): Iterable<Connection> {
    for (const e of this.listening.values()) yield* e.connections;
  }

  /** Refuses a connection over a limit; true if it was refused. */
  private refuseOverLimit(socket: Socket<Connection | undefined>, entry: Listening): boolean {
    const why = acceptRefusal(
      this.services.config,
      entry.container.name,
      entry.connections.size,
      this.totalConnections(),
    );
    if (!why) return false;
    this.refused++;
    // one line per refusal would let a flood fill the log: every 100th is enough to see it happen
    if (this.refused % 100 === 1) {
      this.log.warn("connection refused", {
        container: entry.container.name,
        reason: why,
        refused: this.refused,
      });
    }
    refuseConnection(socket as Socket<unknown>, why);
    return true;
  }

  open(container: ContainerRow): string {
    const existing = this.listening.get(container.name);
    if (existing) {
      existing.container = container;
      return existing.listener.unix;
    }
    const dir = containerSocketDir(this.services.config.runDir, container.name);
    const path = containerSocketPath(this.services.config.runDir, container.name);
    // <run>/containers is root's alone: on the host it is the gate (the sockets inside are 0666 or
    // 0660 so that any uid inside the container can use them), and a container reaches its own
    // directory through the bind mount, which never walks this parent
    const parent = dirname(dir);
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    chmodSync(parent, 0o700);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    rmSync(path, { force: true });
    const connections = new Set<Connection>();
    const entry: Listening = { container, listener: undefined as never, connections };
    // a pool opening more connections at once than the runtime's queue of 512 would see the rest refused
    const backlog = Math.min(this.services.config.maxConnectionsPerContainer, 65_535);
    const { listener, notRaised } = listenWithBacklog(path, backlog, () => this.listen(path, entry));
    entry.listener = listener;
    if (notRaised)
      this.log.warn("accept queue left at the runtime's 512", { container: container.name, why: notRaised });
    // the directory is what gets bind-mounted into the container; the socket must be reachable by
    // the container's processes (its mapped uid/gid when given, anyone inside otherwise)
    if (container.uid !== null || container.gid !== null) {
      chownSync(path, container.uid ?? 0, container.gid ?? 0);
      chmodSync(path, 0o660);
    } else {
      chmodSync(path, 0o666);
    }
    this.listening.set(container.name, entry);
    this.log.info("container socket open", { container: container.name, socket: path });
    return path;
  }

  /** Stops listening and ends every open session of the container at once. */
  close(name: string): void {
    const entry = this.listening.get(name);
    if (!entry) return;
    this.listening.delete(name);
    entry.listener.stop(true);
    for (const conn of [...entry.connections]) conn.close();
    rmSync(entry.listener.unix, { force: true });
    this.log.info("container socket closed", { container: name });
  }

  /** Ends the sessions of one user (user removed, PIN reset). */
  closeUserSessions(containerName: string, userId: number): void {
    const entry = this.listening.get(containerName);
    if (!entry) return;
    for (const conn of [...entry.connections]) {
      if (conn.session.vault?.userId === userId) conn.close();
    }
  }

  sessionCount(name: string): number {
    return this.listening.get(name)?.connections.size ?? 0;
  }

  private listen(path: string, entry: Listening): UnixSocketListener<Connection | undefined> {
    return Bun.listen<Connection | undefined>({
      unix: path,
      // a client's FIN ends its requests, not our answers to them (Connection.onEnd)
      allowHalfOpen: true,
      socket: {
        open: (socket: Socket<Connection | undefined>) => {
          if (this.refuseOverLimit(socket, entry)) return;
          const conn = new Connection(
            socket as Socket<unknown>,
            entry.container,
            this.services,
            this.metrics,
            this.log,
            (c) => {
              entry.connections.delete(c);
              this.metrics.container(entry.container.name).connections--;
            },
          );
          socket.data = conn;
          entry.connections.add(conn);
        },
        data: (socket, chunk) => socket.data?.onData(chunk),
        drain: (socket) => socket.data?.onDrain(),
        end: (socket) => socket.data?.onEnd(),
        close: (socket) => socket.data?.cleanup(),
        error: (socket) => socket.data?.cleanup(),
      },
    });
  }

  totalConnections(): number {
    let n = 0;
    for (const e of this.listening.values()) n += e.connections.size;
    return n;
  }

  closeAll(): void {
    this.sweeper.stop();
    for (const name of [...this.listening.keys()]) this.close(name);
  }
}

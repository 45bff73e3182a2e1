/** Per-connection session state: the container the socket names, the logged-in vault, streaming contexts. */
import type { Hash, Hmac } from "node:crypto";
import { Status, VhsmError } from "../../protocol/status.ts";
import type { ContainerRow } from "./store/containers.ts";
import type { UserVault } from "./vault.ts";

export interface StreamContext {
  kind: "digest" | "hmac";
  alg: number;
  state: Hash | Hmac;
  bytes: number;
  /** The key an HMAC context was opened with, checked again at each step. */
  key?: { id: string; version: number };
}

export class Session {
  helloDone = false;
  vault: UserVault | null = null;
  private readonly contexts = new Map<number, StreamContext>();
  private nextContext = 1;

  constructor(
    readonly container: ContainerRow,
    private readonly maxContexts: number,
  ) {}

  /** The logged-in vault, or NOT_LOGGED_IN. */
  requireVault(): UserVault {
    const vault = this.vault;
    if (!vault) throw new VhsmError(Status.NOT_LOGGED_IN, "log in first");
    if (!vault.alive) throw new VhsmError(Status.BAD_SESSION, "the session was closed by the operator");
    return vault;
  }

  openContext(context: StreamContext): number {
    if (this.contexts.size >= this.maxContexts) {
      throw new VhsmError(
        Status.LIMIT_EXCEEDED,
        `at most ${this.maxContexts} streaming contexts may be open per session; finalise some first`,
      );
    }
    const id = this.nextContext;
    this.nextContext = (this.nextContext % 0xffffffff) + 1;
    this.contexts.set(id, context);
    return id;
  }

  context(id: number, kind: StreamContext["kind"]): StreamContext {
    const ctx = this.contexts.get(id);
    if (!ctx || ctx.kind !== kind) {
      throw new VhsmError(
        Status.NOT_INITIALISED,
        `no open ${kind} context ${id}: it was never started or is finished`,
      );
    }
    return ctx;
  }

  closeContext(id: number): void {
    this.contexts.delete(id);
  }

  /** Drops contexts (logout, disconnect); hashing state holds no key material beyond the HMAC pads. */
  clearContexts(): void {
    this.contexts.clear();
  }

  get contextCount(): number {
    return this.contexts.size;
  }
}

/**
 * Decides what goes into the audit log and in what words: who (container/user or admin), what
 * (operation, key id, version), and the result. Never data, PINs or key material.
 *
 * Sessions, key management and admin actions get one record each, at once. High-volume crypto
 * operations (HMAC, sign, encrypt, digest, reads of key metadata...) are counted instead: each
 * flush window (100 ms) writes one record per (actor, operation, key, version, result) with
 * `count`, the first `time` and the last (`until`) — every operation is accounted for, at a cost
 * the request path can afford (one map update instead of a JSON line and a SHA-256 each). With
 * --audit-required every operation gets its own record, written before it is acknowledged.
 */
import type { MessageName } from "../../../protocol/messages.ts";
import { statusName } from "../../../protocol/status.ts";
import { isKeyId } from "../ids.ts";
import type { Session } from "../session.ts";
import type { AuditLog } from "./audit-log.ts";
import type { AuditEvent } from "./record.ts";

/** Connection housekeeping and stream chunks carry nothing worth a record of their own. */
const NOT_AUDITED = new Set<MessageName>(["HELLO", "PING", "DIGEST_UPDATE", "HMAC_UPDATE"]);

/** Operations counted per flush window rather than recorded one by one. */
const COUNTED = new Set<MessageName>([
  "HMAC",
  "HMAC_INIT",
  "HMAC_FINAL",
  "HMAC_VERIFY",
  "DIGEST",
  "DIGEST_INIT",
  "DIGEST_FINAL",
  "SIGN",
  "VERIFY",
  "ENCRYPT",
  "DECRYPT",
  "RANDOM",
  "KEY_PUBLIC",
  "KEY_INFO",
  "KEY_LIST",
  "KEY_COUNT",
]);

interface Tally {
  event: AuditEvent;
  count: number;
  first: number;
  last: number;
}

/** A session's last counted operation, so that the same operation again costs a few comparisons. */
interface LastCount {
  vault: unknown;
  name: MessageName;
  key: string | undefined;
  version: number | undefined;
  status: number;
  tally: Tally;
  generation: number;
}

export class Auditor {
  private tallies = new Map<string, Tally>();
  /** Bumped each time the tallies are written out (a LastCount from before is stale). */
  private generation = 0;
  private readonly lastCount = new WeakMap<Session, LastCount>();

  constructor(readonly log: AuditLog | null) {
    // counted operations are written just before each batch, so they keep their place in time
    if (log) log.beforeFlush = () => this.writeTallies();
  }

  operation(
    session: Session,
    name: MessageName,
    request: Record<string, unknown> | undefined,
    response: Record<string, unknown> | undefined,
    status: number,
  ): void {
    if (!this.log || NOT_AUDITED.has(name)) return;
    const requested = (request?.keyId ?? request?.id) as string | undefined;
    const named =
      requested === undefined || requested === "" ? (response?.id as string | undefined) : requested;
    // a client's string is recorded only when it is a well-formed key id sent by a logged-in user:
    // 2,000 distinct 64 KiB ids before login grew the log by 125 MB, one record each
    const key = named === undefined || !session.vault ? undefined : isKeyId(named) ? named : "(invalid id)";
    const version = response?.version as number | undefined;
    const counted = COUNTED.has(name) && !this.log.required;
    if (counted && this.countAgain(session, name, key, version, status)) return;
    const user =
      session.vault?.userName ?? (name === "LOGIN" ? (request?.user as string | undefined) : undefined);
    const event: AuditEvent = {
      actor: user ? `${session.container.name}/${user}` : session.container.name,
      op: name,
      key,
      version,
      status: statusName(status),
    };
    if (counted) this.count(session, event, name, status);
    else {
      this.writeTallies();
      this.log.record(event);
    }
  }

  /** The fast path: the session repeats its last counted operation (same user, key, version, result). */
  private countAgain(
    session: Session,
    name: MessageName,
    key: string | undefined,
    version: number | undefined,
    status: number,
  ): boolean {
    const last = this.lastCount.get(session);
    if (
      last === undefined ||
      last.generation !== this.generation ||
      last.name !== name ||
      last.status !== status ||
      last.key !== key ||
      last.version !== version ||
      last.vault !== session.vault
    ) {
      return false;
    }
    last.tally.count++;
    last.tally.last = Date.now();
    return true;
  }

  private count(session: Session, event: AuditEvent, name: MessageName, status: number): void {
    const id = `${event.actor}\0${event.op}\0${event.key ?? ""}\0${event.version ?? ""}\0${event.status}`;
    const now = Date.now();
    let tally = this.tallies.get(id);
    if (tally) {
      tally.count++;
      tally.last = now;
    } else {
      tally = { event, count: 1, first: now, last: now };
      this.tallies.set(id, tally);
    }
    this.lastCount.set(session, {
      vault: session.vault,
      name,
      key: event.key,
      version: event.version,
      status,
      tally,
      generation: this.generation,
    });
  }

  private writeTallies(): void {
    if (this.tallies.size === 0 || !this.log) return;
    const tallies = this.tallies;
    this.tallies = new Map();
    this.generation++;
    for (const t of tallies.values()) {
      this.log.record(
        { ...t.event, count: t.count, until: new Date(t.last).toISOString() },
        new Date(t.first).toISOString(),
      );
    }
  }

  admin(action: string, target: string, status: string): void {
    this.writeTallies();
    this.log?.record({ actor: "admin", op: action, key: target, status });
  }

  flush(): void {
    this.log?.flush();
  }
}

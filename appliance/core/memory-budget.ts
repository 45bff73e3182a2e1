/**
 * The appliance's budget for the bytes it holds on clients' behalf: requests still arriving, requests
 * waiting or being worked on (a worker hashing a 16 MiB body), and answers queued for clients that read
 * slowly. Each connection bounds its own share (connection.ts: it stops reading while its answers or
 * its running requests pile up); this bounds them all together, so that thousands of connections cannot
 * add up to an out-of-memory kill, and each container to a part of it (`containerLimit`, half by
 * default), so that one container's clients cannot spend it all and starve the others: what one
 * container may not take stays for the rest. What happens when the budget or a container's
 * share of it is spent (the share: to that container's connections only):
 *   - requests are answered LIMIT_EXCEEDED instead of being run or queued;
 *   - connections whose clients have made no progress for STALLED_MS — taken none of their queued
 *     answers, sent nothing more of a request they began — are closed, those holding most first
 *     (`shed`): they are what holds memory without end;
 *   - a connection whose request still arriving would hold more, when shedding was not enough, is
 *     answered LIMIT_EXCEEDED and closed.
 * A request a worker is still hashing stays counted until it is done, even if its connection closed.
 */

/** A connection as the budget sees it. */
export interface BudgetHolder {
  /** Bytes it holds now (its share of `used`). */
  readonly heldBytes: number;
  /** performance.now() of its client's last progress: request bytes sent, or answer bytes taken. */
  readonly progressAt: number;
  /** The appliance itself stopped reading it (behind a LOGIN, or its large requests running): not its client's fault. */
  readonly pausedByAppliance: boolean;
  /** Closes it to free its memory (its client makes no progress). */
  shedForMemory(): void;
}

/** A client that made no progress for this long while holding memory is shed first. */
const STALLED_MS = 1000;
/** A scan of the watched connections that found nothing more to shed is not repeated for this long. */
const SHED_EVERY_MS = 100;

export class MemoryBudget {
  /** Bytes held over all connections. */
  used = 0;
  /** The most one container's connections may hold together. */
  readonly containerLimit: number;
  /** Containers holding memory or with connections open, by name. */
  private readonly shares = new Map<string, MemoryShare>();
  private lastShed = Number.NEGATIVE_INFINITY;

  /** `containerLimit` 0: half the budget. */
  constructor(
    readonly limit: number,
    containerLimit = 0,
  ) {
    this.containerLimit = containerLimit > 0 ? Math.min(containerLimit, limit) : Math.floor(limit / 2);
  }

  get over(): boolean {
    return this.used > this.limit;
  }

  /** The share of container `name`, for one more connection of it (give it back with MemoryShare.release). */
  share(name: string): MemoryShare {
    let s = this.shares.get(name);
    if (!s) {
      s = new MemoryShare(this, name);
      this.shares.set(name, s);
    }
    s.connections++;
    return s;
  }

  /** Bytes held by each container's connections (those holding none are left out). */
  byContainer(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, s] of this.shares) if (s.used > 0) out.set(name, s.used);
    return out;
  }

  /**
   * Run every second: sheds what shedding on demand does not reach, the stalled connections of a
   * container past its share that sends nothing more (its connections are not read, so none of its
   * requests asks for a shed; a client gone while not read is only seen this way), and, while the
   * budget is spent, anyone's.
   */
  sweep(now = performance.now()): void {
    this.shedOverShares(now);
    this.shed(now);
  }

  private shedOverShares(now: number): void {
    for (const s of this.shares.values())
      if (s.overShare) shedStalled([...s.watched], now, () => s.overShare);
  }

  /** @internal a share no connection holds and that holds nothing is forgotten. */
  forget(s: MemoryShare): void {
    if (s.connections === 0 && s.used === 0 && this.shares.get(s.name) === s) this.shares.delete(s.name);
  }

  /**
   * Closes connections whose clients made no progress for STALLED_MS until the budget is met: first
   * those of containers past their share (down to the share), then anyone's, those holding the most
   * first. Returns whether it is met.
   */
  shed(now = performance.now()): boolean {
    if (!this.over) return true;
    if (now - this.lastShed < SHED_EVERY_MS) return false;
    // the containers past their share pay first, down to their share
    this.shedOverShares(now);
    const watched: BudgetHolder[] = [];
    for (const s of this.shares.values()) for (const h of s.watched) watched.push(h);
    shedStalled(watched, now, () => this.over);
    // rate-limit only scans that found nothing more to shed
    if (this.over) this.lastShed = now;
    return !this.over;
  }
}

/** What one container's connections hold, within the budget. */
export class MemoryShare {
  used = 0;
  connections = 0;
  /** Its connections holding what only their client can free: a request begun, or answers not taken. */
  readonly watched = new Set<BudgetHolder>();
  private lastShed = Number.NEGATIVE_INFINITY;

  constructor(
    readonly budget: MemoryBudget,
    readonly name: string,
  ) {}

  get limit(): number {
    return this.budget.containerLimit;
  }

  /** This container holds more than its share. */
  get overShare(): boolean {
    return this.used > this.budget.containerLimit;
  }

  /** Its connections may hold no more: its share or the whole budget is spent. */
  get over(): boolean {
    return this.overShare || this.budget.over;
  }

  add(delta: number): void {
    this.used += delta;
    this.budget.used += delta;
    if (this.used === 0 && this.connections === 0) this.budget.forget(this);
  }

  watch(holder: BudgetHolder, watched: boolean): void {
    if (watched) this.watched.add(holder);
    else this.watched.delete(holder);
  }

  /** One connection of the container is gone (what it still holds stays counted until given back). */
  release(): void {
    this.connections--;
    this.budget.forget(this);
  }

  /**
   * Sheds this container's stalled connections while it is over its share, then anyone's while the
   * budget is spent (MemoryBudget.shed). Returns whether its connections may hold more again.
   */
  shed(now = performance.now()): boolean {
    if (this.overShare && now - this.lastShed >= SHED_EVERY_MS) {
      shedStalled([...this.watched], now, () => this.overShare);
      if (this.overShare) this.lastShed = now;
    }
    return this.budget.shed(now) && !this.overShare;
  }

  /** Why its connections may hold no more, for a client's error message. */
  shortage(): string {
    return this.overShare
      ? `its container holds ${MiB(this.used)} for its clients, its share of the appliance's memory is ${MiB(this.limit)}`
      : `${MiB(this.budget.used)} held for clients, budget ${MiB(this.budget.limit)}`;
  }
}

/** Sheds the holders stalled for STALLED_MS, largest first, while `over()`. */
function shedStalled(holders: BudgetHolder[], now: number, over: () => boolean): void {
  const candidates = holders
    .filter((h) => now - h.progressAt >= STALLED_MS && !h.pausedByAppliance)
    .sort((a, b) => b.heldBytes - a.heldBytes);
  for (const h of candidates) {
    if (!over()) break;
    h.shedForMemory();
  }
}

const MiB = (n: number) => `${Math.ceil(n / (1024 * 1024))} MiB`;

/** The default budget: a quarter of the machine's memory, at most 1 GiB. */
export function defaultMemoryBudget(totalMemory: number): number {
  return Math.min(1024 * 1024 * 1024, Math.max(64 * 1024 * 1024, Math.floor(totalMemory / 4)));
}

/**
 * The appliance's budget for the bytes it holds on clients' behalf: requests still arriving, requests
 * waiting or being worked on (a worker hashing a 16 MiB body), and answers queued for clients that read
 * slowly. Each connection bounds its own share (connection.ts: it stops reading while its answers or
 * its running requests pile up); this bounds them all together, so that thousands of connections cannot
 * add up to an out-of-memory kill. What happens when the budget is spent:
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
  /** Connections holding what only their client can free: a request begun, or answers not taken. */
  private readonly watched = new Set<BudgetHolder>();
  private lastShed = Number.NEGATIVE_INFINITY;

  constructor(readonly limit: number) {}

  get over(): boolean {
    return this.used > this.limit;
  }

  watch(holder: BudgetHolder, watched: boolean): void {
    if (watched) this.watched.add(holder);
    else this.watched.delete(holder);
  }

  /**
   * Closes connections whose clients made no progress for STALLED_MS, those holding the most first,
   * until the budget is met. Returns whether it is met.
   */
  shed(now = performance.now()): boolean {
    if (!this.over) return true;
    if (now - this.lastShed < SHED_EVERY_MS) return false;
    const candidates = [...this.watched]
      .filter((h) => now - h.progressAt >= STALLED_MS && !h.pausedByAppliance)
      .sort((a, b) => b.heldBytes - a.heldBytes);
    for (const h of candidates) {
      if (!this.over) break;
      h.shedForMemory();
    }
    // rate-limit only scans that found nothing more to shed
    if (this.over) this.lastShed = now;
    return !this.over;
  }
}

/** The default budget: a quarter of the machine's memory, at most 1 GiB. */
export function defaultMemoryBudget(totalMemory: number): number {
  return Math.min(1024 * 1024 * 1024, Math.max(64 * 1024 * 1024, Math.floor(totalMemory / 4)));
}

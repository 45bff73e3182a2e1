/**
 * The appliance's budget for the bytes it holds on clients' behalf: requests still arriving, requests
 * waiting or being worked on (a worker hashing a 16 MiB body), and answers queued for clients that read
 * slowly. Each connection bounds its own share (connection.ts: it stops reading while its answers or
 * its running requests pile up); this bounds them all together, so that thousands of connections cannot
 * add up to an out-of-memory kill. What happens when the budget is spent:
 *   - a connection with work under way (requests running, answers queued) stops being read until that
 *     work is done: it frees itself;
 *   - connections whose clients have not taken anything for a while are closed, the largest first
 *     (`shed`): they are what holds memory without end;
 *   - a connection that holds nothing but a request it is still receiving, when shedding was not
 *     enough, is answered LIMIT_EXCEEDED and closed.
 */

/** A connection as the budget sees it. */
export interface BudgetHolder {
  /** Bytes it holds now (its share of `used`). */
  readonly heldBytes: number;
  /** performance.now() since which its client has taken nothing although answers are queued; null if it reads. */
  readonly stalledSince: number | null;
  /** Closes it to free its memory (its client does not read). */
  shedForMemory(): void;
}

/** A client that took nothing for this long while its answers waited is shed first. */
const STALLED_MS = 1000;

export class MemoryBudget {
  /** Bytes held over all connections. */
  used = 0;
  private readonly stalled = new Set<BudgetHolder>();

  constructor(readonly limit: number) {}

  get over(): boolean {
    return this.used > this.limit;
  }

  /** A connection whose socket stopped taking its answers (or took them again). */
  setStalled(holder: BudgetHolder, stalled: boolean): void {
    if (stalled) this.stalled.add(holder);
    else this.stalled.delete(holder);
  }

  forget(holder: BudgetHolder): void {
    this.stalled.delete(holder);
  }

  /**
   * Closes connections whose clients have taken nothing for STALLED_MS, those holding the most first,
   * until the budget is met. Returns whether it is met.
   */
  shed(now = performance.now()): boolean {
    if (!this.over) return true;
    const candidates = [...this.stalled]
      .filter((h) => h.stalledSince !== null && now - h.stalledSince >= STALLED_MS)
      .sort((a, b) => b.heldBytes - a.heldBytes);
    for (const h of candidates) {
      if (!this.over) break;
      h.shedForMemory();
    }
    return !this.over;
  }
}

/** The default budget: a quarter of the machine's memory, at most 1 GiB. */
export function defaultMemoryBudget(totalMemory: number): number {
  return Math.min(1024 * 1024 * 1024, Math.max(64 * 1024 * 1024, Math.floor(totalMemory / 4)));
}

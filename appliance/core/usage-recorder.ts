/**
 * Counts key uses in memory and writes them to the key store in batches, so that the hot path
 * (every HMAC) never waits for a disk write.
 */
import type { KeyStore } from "./store/keys.ts";

export class UsageRecorder {
  private pendingUses = new Map<number, { uses: number; lastUsed: number }>();

  constructor(private readonly keys: KeyStore) {}

  record(rowId: number): void {
    const now = Date.now();
    const entry = this.pendingUses.get(rowId);
    if (entry) {
      entry.uses++;
      entry.lastUsed = now;
    } else {
      this.pendingUses.set(rowId, { uses: 1, lastUsed: now });
    }
  }

  pending(rowId: number): { uses: number; lastUsed: number } {
    return this.pendingUses.get(rowId) ?? { uses: 0, lastUsed: 0 };
  }

  flush(): void {
    if (this.pendingUses.size === 0) return;
    const batch = this.pendingUses;
    this.pendingUses = new Map();
    try {
      this.keys.recordUse(
        Array.from(batch, ([rowId, e]) => [rowId, e.uses, e.lastUsed] as [number, number, number]),
      );
    } catch {
      // the disk is full (or the store is closing): keep the counts for the next flush rather than
      // let a timer's exception bring the appliance down
      for (const [rowId, e] of batch) {
        const now = this.pendingUses.get(rowId);
        this.pendingUses.set(rowId, {
          uses: e.uses + (now?.uses ?? 0),
          lastUsed: Math.max(e.lastUsed, now?.lastUsed ?? 0),
        });
      }
    }
  }
}

/**
 * Counts key uses in memory and writes them to the key store in batches, so that the hot path
 * (every HMAC) never waits for a disk write.
 */
import type { KeyStore } from "./store/keys.ts";

/**
 * Which row a count belongs to. Row ids are reused once a key is deleted (by another user's, or
 * another container's, next key), so counts carry the row's owner and creation time too, and land
 * only on the row they were counted for; a deleted key's pending counts are simply dropped.
 */
export interface KeyRowRef {
  rowId: number;
  userId: number;
  created: number;
}

interface Pending {
  userId: number;
  created: number;
  uses: number;
  lastUsed: number;
}

/** Whether pending counts were counted for this row (not for an earlier row under the same id). */
const sameRow = (e: Pending | undefined, row: { userId: number; created: number }): e is Pending =>
  e !== undefined && e.userId === row.userId && e.created === row.created;

export class UsageRecorder {
  private pendingUses = new Map<number, Pending>();

  constructor(private readonly keys: KeyStore) {}

  record(row: KeyRowRef): void {
    const now = Date.now();
    const entry = this.pendingUses.get(row.rowId);
    if (sameRow(entry, row)) {
      entry.uses++;
      entry.lastUsed = now;
    } else {
      // (a different row under a reused id replaces counts that could no longer land anywhere)
      this.pendingUses.set(row.rowId, { userId: row.userId, created: row.created, uses: 1, lastUsed: now });
    }
  }

  pending(row: KeyRowRef): { uses: number; lastUsed: number } {
    const e = this.pendingUses.get(row.rowId);
    return sameRow(e, row) ? { uses: e.uses, lastUsed: e.lastUsed } : { uses: 0, lastUsed: 0 };
  }

  flush(): void {
    if (this.pendingUses.size === 0) return;
    const batch = this.pendingUses;
    this.pendingUses = new Map();
    try {
      this.keys.recordUse(Array.from(batch, ([rowId, e]) => ({ rowId, ...e })));
    } catch {
      // the disk is full (or the store is closing): keep the counts for the next flush rather than
      // let a timer's exception bring the appliance down
      for (const [rowId, e] of batch) {
        const now = this.pendingUses.get(rowId);
        if (now && !sameRow(now, e)) continue;
        this.pendingUses.set(rowId, {
          ...e,
          uses: e.uses + (now?.uses ?? 0),
          lastUsed: Math.max(e.lastUsed, now?.lastUsed ?? 0),
        });
      }
    }
  }
}

/**
 * The upgrade of a user from before seal format 3 (vault.ts), at the user's first unlock after the
 * store was upgraded: every format-2 row is opened, which reseals it in format 3 (the vault's
 * `resealed` callback, KeyStore.reseal), and then the data key is rewrapped (`finish`), all in one
 * transaction: a crash or a failed write leaves the user as it was, to be upgraded at its next login.
 * A row that does not open stays in format 2, where it is refused (TAMPERED) as it was before.
 */
import type { Database } from "bun:sqlite";
import { Status, VhsmError } from "../../protocol/status.ts";
import type { KeyStore } from "./store/keys.ts";
import type { UserVault } from "./vault.ts";

/** Rows read per query: a user with a million keys is not read into memory at once. */
const PAGE = 1000;

export function upgradeLegacyRows(
  db: Database,
  keys: KeyStore,
  vault: UserVault,
  finish: () => void,
): { resealed: number; refused: number } {
  let resealed = 0;
  let refused = 0;
  db.transaction(() => {
    for (let after = 0; ; ) {
      const rows = keys.legacyRows(vault.userId, after, PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        after = row.id;
        try {
          vault.openKey(row).fill(0);
          resealed++;
        } catch (err) {
          if (!(err instanceof VhsmError && err.status === Status.TAMPERED)) throw err;
          refused++;
        }
      }
    }
    if (keys.legacyRows(vault.userId, 0, refused + 1).length > refused)
      throw new Error("a key row that opened was not stored resealed");
    finish();
  })();
  return { resealed, refused };
}

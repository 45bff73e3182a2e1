/**
 * Audit records and their hash chain. Each record carries the hash of the one before it, so a
 * deleted, edited or reordered record breaks the chain at a point `audit verify` can name.
 *   hash = SHA-256(prev || "\n" || the record's JSON without its hash)
 */
export const GENESIS = "0".repeat(64);

export interface AuditRecord {
  seq: number;
  time: string;
  /** "container/user", "container" (before login) or "admin". */
  actor: string;
  op: string;
  key?: string;
  version?: number;
  status: string;
  /** Counted operations: how many, and the time of the last (`time` is the first). */
  count?: number;
  until?: string;
  detail?: string;
  prev: string;
  hash: string;
}

export type AuditEvent = Omit<AuditRecord, "seq" | "time" | "prev" | "hash">;

export function chainHash(prev: string, body: string): string {
  // one-shot SHA-256: a record is written for every operation, so this is on the hot path
  return Bun.SHA256.hash(`${prev}\n${body}`, "hex");
}

const str = JSON.stringify;

/**
 * The record's JSON line: fields in a fixed order, hash last. Built by hand (it runs once per
 * operation), and byte for byte what JSON.stringify of the same fields gives, which `recomputeHash`
 * relies on.
 */
export function serialise(
  seq: number,
  time: string,
  event: AuditEvent,
  prev: string,
): { line: string; hash: string } {
  let body = `{"seq":${seq},"time":"${time}","actor":${str(event.actor)},"op":${str(event.op)}`;
  if (event.key !== undefined) body += `,"key":${str(event.key)}`;
  if (event.version !== undefined) body += `,"version":${event.version}`;
  body += `,"status":${str(event.status)}`;
  if (event.count !== undefined) body += `,"count":${event.count},"until":"${event.until}"`;
  if (event.detail !== undefined) body += `,"detail":${str(event.detail)}`;
  body += `,"prev":"${prev}"}`;
  const hash = chainHash(prev, body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

/** Recomputes a parsed record's hash from its fields. */
export function recomputeHash(record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return chainHash(String(record.prev), JSON.stringify(rest));
}

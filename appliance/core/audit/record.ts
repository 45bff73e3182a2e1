/**
 * Audit records and their hash chain. Each record carries the hash of the one before it, so a
 * deleted, edited or reordered record breaks the chain at a point `audit verify` can name.
 *   hash = SHA-256(prev || "\n" || the record's JSON without its hash)
 */
import { createHash } from "node:crypto";

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
  detail?: string;
  prev: string;
  hash: string;
}

export type AuditEvent = Omit<AuditRecord, "seq" | "time" | "prev" | "hash">;

export function chainHash(prev: string, body: string): string {
  return createHash("sha256").update(prev).update("\n").update(body).digest("hex");
}

/** The record's JSON line: fields in a fixed order, hash last. */
export function serialise(
  seq: number,
  time: string,
  event: AuditEvent,
  prev: string,
): { line: string; hash: string } {
  const fields: Record<string, unknown> = { seq, time, actor: event.actor, op: event.op };
  if (event.key !== undefined) fields.key = event.key;
  if (event.version !== undefined) fields.version = event.version;
  fields.status = event.status;
  if (event.detail !== undefined) fields.detail = event.detail;
  fields.prev = prev;
  const body = JSON.stringify(fields);
  const hash = chainHash(prev, body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

/** Recomputes a parsed record's hash from its fields. */
export function recomputeHash(record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return chainHash(String(record.prev), JSON.stringify(rest));
}

/**
 * Verifies audit log files: every record's hash, the chain between records and across rotated
 * files, and the sequence numbers. Names the first record where each problem shows.
 */
import { readFileSync } from "node:fs";
import { GENESIS, recomputeHash } from "./record.ts";

export interface AuditProblem {
  file: string;
  line: number;
  seq: number | null;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  files: number;
  lastHash: string;
  problems: AuditProblem[];
}

/** Verifies files in order (oldest first); the chain must continue from one file to the next. */
export function verifyAuditFiles(files: string[], startHash: string | null = GENESIS): VerifyResult {
  const problems: AuditProblem[] = [];
  let expectedPrev: string | null = startHash;
  let expectedSeq: number | null = null;
  let records = 0;
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((text, index) => {
      if (text.length === 0) return;
      const line = index + 1;
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(text);
      } catch {
        problems.push({ file, line, seq: null, problem: "not a JSON record (torn or edited line)" });
        expectedPrev = null;
        return;
      }
      records++;
      const seq = typeof record.seq === "number" ? record.seq : null;
      if (recomputeHash(record) !== record.hash) {
        problems.push({ file, line, seq, problem: "hash mismatch: the record was edited" });
      }
      if (expectedPrev !== null && record.prev !== expectedPrev) {
        problems.push({
          file,
          line,
          seq,
          problem:
            seq !== null && expectedSeq !== null && seq !== expectedSeq
              ? `chain broken: expected record ${expectedSeq} here, found ${seq} (records deleted or reordered)`
              : "chain broken: the previous record was edited, deleted or reordered",
        });
      } else if (seq !== null && expectedSeq !== null && seq !== expectedSeq) {
        problems.push({ file, line, seq, problem: `sequence jumps from ${expectedSeq - 1} to ${seq}` });
      }
      expectedPrev = typeof record.hash === "string" ? record.hash : null;
      expectedSeq = seq === null ? null : seq + 1;
    });
  }
  return { ok: problems.length === 0, records, files: files.length, lastHash: expectedPrev ?? "", problems };
}

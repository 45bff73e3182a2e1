/**
 * The append-only audit log at `<data>/audit/audit.log` (JSON lines, hash-chained).
 * Records are buffered and written in batches off the request path; with `required`, each record
 * is written before the operation is acknowledged and a failed write fails the operation.
 * Rotation renames the file and starts the next one with a record chained to the last hash.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Status, VhsmError } from "../../../protocol/status.ts";
import { type AuditEvent, GENESIS, serialise } from "./record.ts";

export interface AuditOptions {
  dir: string;
  required: boolean;
  /** Rotate when the file grows past this many bytes. */
  rotateBytes: number;
}

export class AuditLog {
  private fd: number;
  private seq = 0;
  private lastHash = GENESIS;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  /** Records that failed to reach the file (disk full): written first at the next flush. */
  private unwritten: Buffer | null = null;
  private fileBytes = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  failures = 0;
  records = 0;

  constructor(private readonly options: AuditOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.resume();
    this.fd = openSync(this.path, "a", 0o600);
    this.fileBytes = statSync(this.path).size;
    this.timer = setInterval(() => this.flush(), 100);
  }

  get path(): string {
    return join(this.options.dir, "audit.log");
  }

  get state(): { records: number; lastHash: string; required: boolean; failures: number } {
    return {
      records: this.seq,
      lastHash: this.lastHash,
      required: this.options.required,
      failures: this.failures,
    };
  }

  /** Continues the chain from the last record of an existing log. */
  private resume(): void {
    if (!existsSync(this.path)) return;
    const text = readFileSync(this.path, "utf8");
    const lines = text.split("\n").filter((l) => l.length > 0);
    const last = lines[lines.length - 1];
    if (!last) return;
    try {
      const record = JSON.parse(last) as { seq: number; hash: string };
      this.seq = record.seq;
      this.lastHash = record.hash;
    } catch {
      // a torn last line (crash mid-write): keep it for `audit verify` to report, chain from the one before
      const prev = lines[lines.length - 2];
      if (prev) {
        const record = JSON.parse(prev) as { seq: number; hash: string };
        this.seq = record.seq;
        this.lastHash = record.hash;
      }
    }
  }

  private lastMs = 0;
  private lastIso = "";

  /** The ISO timestamp, formatted once per millisecond however many records share it. */
  private now(): string {
    const ms = Date.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  /** Called at the start of every flush (the auditor writes its counted operations then). */
  beforeFlush: (() => void) | null = null;

  get required(): boolean {
    return this.options.required;
  }

  /** Appends a record; `time` defaults to now. */
  record(event: AuditEvent, time?: string): void {
    this.seq++;
    const { line, hash } = serialise(this.seq, time ?? this.now(), event, this.lastHash);
    this.lastHash = hash;
    this.records++;
    this.buffer.push(line);
    this.bufferedBytes += line.length + 1;
    if (this.options.required) this.flush(true);
    else if (this.bufferedBytes > 256 * 1024) this.flush();
  }

  /** Writes buffered records. With `strict`, a failure throws (the operation must fail). */
  flush(strict = false): void {
    if (this.beforeFlush && !strict) {
      const hook = this.beforeFlush;
      this.beforeFlush = null; // the hook records, and a record may flush: no recursion
      try {
        hook();
      } finally {
        this.beforeFlush = hook;
      }
    }
    if (this.buffer.length > 0) {
      const data = Buffer.from(`${this.buffer.join("\n")}\n`);
      this.buffer = [];
      this.bufferedBytes = 0;
      this.unwritten = this.unwritten ? Buffer.concat([this.unwritten, data]) : data;
    }
    const data = this.unwritten;
    if (!data) return;
    let offset = 0;
    try {
      while (offset < data.length) offset += writeSync(this.fd, data, offset);
      if (strict) fsyncSync(this.fd);
      this.unwritten = null;
    } catch (err) {
      // keep what did not reach the file (never a duplicate of what did): the chain continues
      // when the disk recovers, instead of showing a gap that looks like tampering
      this.unwritten = data.subarray(offset);
      this.failures++;
      if (strict) {
        throw new VhsmError(
          Status.AUDIT_FAILED,
          `the audit record could not be written (it is kept and retried): ${(err as Error).message}`,
        );
      }
    } finally {
      this.fileBytes += offset;
    }
    if (!this.unwritten && this.fileBytes > this.options.rotateBytes) this.rotate();
  }

  /** Renames the current file to audit-<time>.log and continues the chain in a new file. */
  rotate(): string {
    this.flush();
    closeSync(this.fd);
    // names sort in rotation order; two rotations in one millisecond must not share one (rename
    // would silently replace the first archive and break the chain), so a taken name moves on a ms
    let ms = Date.now();
    const name = (t: number) =>
      join(this.options.dir, `audit-${new Date(t).toISOString().replace(/[:.]/g, "-")}.log`);
    while (existsSync(name(ms))) ms++;
    const archived = name(ms);
    renameSync(this.path, archived);
    this.fd = openSync(this.path, "a", 0o600);
    this.fileBytes = 0;
    this.record({ actor: "appliance", op: "AUDIT_ROTATE", status: "OK", detail: archived });
    this.flush();
    return archived;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
    try {
      fsyncSync(this.fd);
    } catch {}
    closeSync(this.fd);
  }
}

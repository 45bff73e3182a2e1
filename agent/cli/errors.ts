/**
 * Exit codes and the one place where any failure becomes `vhsm: CODE: message` plus a hint line
 * (or a JSON error object). Appliance codes come from protocol/status.ts; CLI-local ones are here.
 */
import { STATUS_EXPLANATION, type StatusName, VhsmError } from "../../protocol/status.ts";

export const Exit = {
  OK: 0,
  /** `hmac --verify` or `verify`: the MAC or signature does not match. */
  MISMATCH: 1,
  USAGE: 2,
  /** The appliance answered with an error status. */
  APPLIANCE: 3,
  /** No connection to the appliance, or it was lost. */
  CONNECTION: 4,
  /** A local file (--in, --out, --pin-file) could not be read or written. */
  IO: 5,
  /** A bug in the CLI (an unexpected exception). */
  BUG: 70,
  /** Interrupted at a prompt (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

export const EXIT_DESCRIPTIONS: [number, string][] = [
  [Exit.OK, "success"],
  [Exit.MISMATCH, "verification failed (`hmac --verify` or `verify`: the MAC or signature does not match)"],
  [Exit.USAGE, "usage error: unknown command or option, bad value, missing PIN or user"],
  [Exit.APPLIANCE, "the appliance refused the request; the code (e.g. KEY_NOT_FOUND) says why"],
  [Exit.CONNECTION, "cannot reach the appliance (socket missing, refused) or the connection was lost"],
  [Exit.IO, "a local file could not be read or written"],
  [Exit.BUG, "internal error in the CLI itself (a bug; please report it)"],
  [Exit.INTERRUPTED, "interrupted at a PIN prompt"],
];

type LocalCode = "USAGE" | "IO_ERROR" | "INTERRUPTED";

/** A failure detected by the CLI itself, before or without the appliance. */
export class CliError extends Error {
  constructor(
    readonly code: LocalCode,
    message: string,
    readonly hint: string,
    readonly exit: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string, hint = "run `vhsm help` for the commands and their options") =>
  new CliError("USAGE", message, hint, Exit.USAGE);

export function ioError(what: string, path: string, err: unknown): CliError {
  const e = err as NodeJS.ErrnoException;
  const reason =
    e.code === "ENOENT"
      ? "no such file"
      : e.code === "EACCES"
        ? "permission denied"
        : e.code === "EISDIR"
          ? "is a directory"
          : (e.code ?? e.message);
  return new CliError(
    "IO_ERROR",
    `cannot ${what} ${path}: ${reason}`,
    "check the path and its permissions",
    Exit.IO,
  );
}

/** Client-side statuses (connection trouble) exit 4; everything the appliance says exits 3. */
const CONNECTION_CODES = new Set<string>(["CONNECTION_FAILED", "CONNECTION_LOST", "CONTEXT_LOST", "TIMEOUT"]);

export interface ErrorReport {
  code: string;
  status: number | null;
  message: string;
  hint: string;
  exit: number;
}

export function reportOf(err: unknown, socket: string): ErrorReport {
  if (err instanceof CliError) {
    return { code: err.code, status: null, message: err.message, hint: err.hint, exit: err.exit };
  }
  if (err instanceof VhsmError) {
    const connection = CONNECTION_CODES.has(err.code);
    let hint = STATUS_EXPLANATION[err.code as StatusName] ?? "unknown status code";
    if (err.code === "CONNECTION_FAILED") hint += ` (socket ${socket}; set it with --socket or VHSM_SOCKET)`;
    return {
      code: err.code,
      status: err.status,
      message: connection ? readableConnectionMessage(err.message) : err.message,
      hint,
      exit: connection ? Exit.CONNECTION : Exit.APPLIANCE,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: "INTERNAL",
    status: null,
    message,
    hint: "this is a bug in vhsm; please report it",
    exit: Exit.BUG,
  };
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no socket at this path",
  ECONNREFUSED: "nothing is listening on this socket",
  EACCES: "permission denied",
  ENOTSOCK: "this path is not a socket",
};

function readableConnectionMessage(message: string): string {
  return message.replace(/: ([A-Z]+)$/, (whole, code: string) =>
    ERRNO_TEXT[code] ? `: ${ERRNO_TEXT[code]}` : whole,
  );
}

export function formatText(r: ErrorReport): string {
  const hint = r.hint && r.hint !== r.message ? `hint: ${r.hint}\n` : "";
  return `vhsm: ${r.code}: ${r.message}\n${hint}`;
}

export function formatJson(r: ErrorReport): string {
  return `${JSON.stringify({ error: { code: r.code, status: r.status, message: r.message, hint: r.hint } })}\n`;
}

/**
 * vhsm-provision's one error type and its exit codes. Appliance errors keep the shared status code
 * (`CONTAINER_NOT_FOUND`, `USER_EXISTS`, ...) and its one-line explanation as the hint; container
 * runtime errors get `RUNTIME_*` codes, which exist only on the operator's side.
 */
import { STATUS_EXPLANATION, type StatusName } from "../protocol/status.ts";

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  APPLIANCE_UNREACHABLE: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  CONFIRMATION_REQUIRED: 6,
  RUNTIME: 7,
  PARTIAL: 8,
} as const;

const RUNTIME_HINTS: Record<string, string> = {
  RUNTIME_UNAVAILABLE:
    "the container runtime's API socket does not answer; is the daemon running? (--runtime-socket PATH to point elsewhere)",
  RUNTIME_PERMISSION_DENIED:
    "no permission on the runtime's socket; run as root or as a member of its group (docker, incus-admin)",
  RUNTIME_CONTAINER_NOT_FOUND:
    "the runtime has no container with this name; check `docker ps -a` / `incus list`",
  RUNTIME_CONFLICT: "the container already has something else mounted at /run/vhsm; remove it first",
  RUNTIME_ERROR: "the container runtime refused the request; see the message",
  BULK_FAILED: "some containers were not enrolled; fix the lines reported and run the same file again",
};

const EXIT_BY_CODE: Record<string, number> = {
  BAD_ARGUMENTS: EXIT.USAGE,
  PIN_POLICY: EXIT.USAGE,
  CONNECTION_FAILED: EXIT.APPLIANCE_UNREACHABLE,
  UNAVAILABLE: EXIT.APPLIANCE_UNREACHABLE,
  CONTAINER_NOT_FOUND: EXIT.NOT_FOUND,
  USER_NOT_FOUND: EXIT.NOT_FOUND,
  CONTAINER_EXISTS: EXIT.CONFLICT,
  USER_EXISTS: EXIT.CONFLICT,
  CONFIRMATION_REQUIRED: EXIT.CONFIRMATION_REQUIRED,
  BULK_FAILED: EXIT.PARTIAL,
};

export class ProvisionError extends Error {
  readonly hint: string;

  constructor(
    readonly code: string,
    message: string,
    hint?: string,
  ) {
    super(message);
    this.name = "ProvisionError";
    this.hint = hint ?? RUNTIME_HINTS[code] ?? STATUS_EXPLANATION[code as StatusName] ?? "";
  }

  get exitCode(): number {
    if (this.code in EXIT_BY_CODE) return EXIT_BY_CODE[this.code]!;
    return this.code.startsWith("RUNTIME_") ? EXIT.RUNTIME : EXIT.INTERNAL;
  }
}

export function asProvisionError(err: unknown): ProvisionError {
  if (err instanceof ProvisionError) return err;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === "string" && /^[A-Z_]+$/.test(e.code))
    return new ProvisionError(e.code, String(e.message));
  return new ProvisionError("INTERNAL", err instanceof Error ? err.message : String(err));
}

/** Admin API errors: the shared status codes, as JSON, with a matching HTTP status. */
import { Status, type StatusName, statusName, VhsmError } from "../../../protocol/status.ts";

const HTTP_STATUS: Partial<Record<StatusName, number>> = {
  BAD_ARGUMENTS: 400,
  PIN_POLICY: 400,
  CONTAINER_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  CONTAINER_EXISTS: 409,
  USER_EXISTS: 409,
  CONFIRMATION_REQUIRED: 409,
  UNAVAILABLE: 503,
};

/** Where unexpected (non-VhsmError) failures are logged; set by `adminHandler`. */
export type ErrorLog = (message: string, fields: Record<string, unknown>) => void;

const stderrLog: ErrorLog = (message, fields) =>
  process.stderr.write(`${new Date().toISOString()} error ${message} ${JSON.stringify(fields)}\n`);

export function errorResponse(err: unknown, log: ErrorLog = stderrLog): Response {
  if (!(err instanceof VhsmError)) {
    const error = err instanceof Error ? err : new Error(String(err));
    log("admin request failed unexpectedly", { error: error.message, stack: error.stack });
  }
  const e =
    err instanceof VhsmError ? err : new VhsmError(Status.INTERNAL, "internal error; see the appliance log");
  const name = statusName(e.status) as StatusName;
  return Response.json(
    { error: { code: name, status: e.status, message: e.message } },
    { status: HTTP_STATUS[name] ?? 500 },
  );
}

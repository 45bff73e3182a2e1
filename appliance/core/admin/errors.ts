/** Admin API errors: the shared status codes, as JSON, with a matching HTTP status. */
import { Status, type StatusName, statusName, VhsmError } from "../../../protocol/status.ts";
import type { Logger } from "../log.ts";

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

/** `log` records failures that are not VhsmErrors (bugs), so that "see the appliance log" holds. */
export function errorResponse(err: unknown, log?: Logger): Response {
  if (!(err instanceof VhsmError)) {
    const error = err instanceof Error ? err : new Error(String(err));
    log?.error("admin request failed unexpectedly", { error: error.message, stack: error.stack });
  }
  const e =
    err instanceof VhsmError ? err : new VhsmError(Status.INTERNAL, "internal error; see the appliance log");
  const name = statusName(e.status) as StatusName;
  return Response.json(
    { error: { code: name, status: e.status, message: e.message } },
    { status: HTTP_STATUS[name] ?? 500 },
  );
}

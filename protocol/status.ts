/**
 * The one set of status codes shared by the appliance, the agent library, the CLI and the C shim.
 * The numeric value travels in the frame header; the name appears in JSON output, logs and docs.
 */
export const Status = {
  OK: 0,
  BAD_ARGUMENTS: 1,
  BAD_SESSION: 2,
  UNSUPPORTED_MECHANISM: 3,
  NOT_INITIALISED: 4,
  KEY_NOT_FOUND: 5,
  BAD_CREDENTIALS: 6,
  KEY_ID_OCCUPIED: 7,
  NOT_AUTHORISED: 8,
  INTERNAL: 9,
  PIN_LOCKED: 10,
  FRAME_TOO_LARGE: 11,
  UNKNOWN_OPCODE: 12,
  NOT_LOGGED_IN: 13,
  BAD_FRAME: 14,
  UNSUPPORTED_VERSION: 15,
  LIMIT_EXCEEDED: 16,
  UNAVAILABLE: 17,
  ALREADY_LOGGED_IN: 18,
  PIN_POLICY: 19,
  DECRYPT_FAILED: 20,
  NOT_EXPORTABLE: 21,
  TAMPERED: 22,
  AUDIT_FAILED: 23,
  STORAGE_FULL: 24,
  // Admin-side codes (admin API and vhsm-provision)
  CONTAINER_NOT_FOUND: 32,
  CONTAINER_EXISTS: 33,
  USER_NOT_FOUND: 34,
  USER_EXISTS: 35,
  CONFIRMATION_REQUIRED: 36,
  // Client-side codes: produced by the agent library, never sent by the appliance
  CONNECTION_FAILED: 64,
  CONNECTION_LOST: 65,
  CONTEXT_LOST: 66,
  TIMEOUT: 67,
  CLIENT_CLOSED: 68,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

/** One line per code: what it means and what to do about it. */
export const STATUS_EXPLANATION: Record<StatusName, string> = {
  OK: "success",
  BAD_ARGUMENTS: "the request's arguments are malformed or out of range; check the command's usage",
  BAD_SESSION: "the connection has no valid session (send HELLO first, or the container was revoked)",
  UNSUPPORTED_MECHANISM: "the algorithm or key type is not supported for this operation",
  NOT_INITIALISED: "the streaming context does not exist or was already finalised; start a new one with init",
  KEY_NOT_FOUND: "no key with this id exists for this user; list keys with `vhsm key list`",
  BAD_CREDENTIALS: "wrong user or PIN; repeated failures lock the user",
  KEY_ID_OCCUPIED: "a key with this id already exists; choose another id or delete the old key first",
  NOT_AUTHORISED: "the key's usage policy or the caller's rights do not allow this operation",
  INTERNAL: "the appliance hit an internal error; see the appliance log",
  PIN_LOCKED:
    "the user is locked after too many wrong PINs; an operator must run `vhsm-provision user unlock`",
  FRAME_TOO_LARGE:
    "the frame exceeds the appliance's maximum frame size; send less data per request or stream it",
  UNKNOWN_OPCODE: "the appliance does not know this operation; upgrade the appliance or the client",
  NOT_LOGGED_IN: "log in first (user and PIN)",
  BAD_FRAME: "the bytes received are not a valid vhsm frame; the connection is closed",
  UNSUPPORTED_VERSION: "client and appliance share no protocol version; upgrade one of them",
  LIMIT_EXCEEDED: "a configured limit (connections, in-flight requests, contexts) was reached; retry later",
  UNAVAILABLE: "the appliance is not serving (self-test failure or shutting down); see the appliance log",
  ALREADY_LOGGED_IN: "this connection is already logged in; log out first",
  DECRYPT_FAILED:
    "the ciphertext, its authentication tag or the AAD do not verify: it was altered or belongs elsewhere",
  NOT_EXPORTABLE: "the key was not created exportable, so its material can never leave the appliance",
  TAMPERED:
    "stored key material failed its integrity check: the key store was modified outside the appliance; restore it from a backup",
  AUDIT_FAILED:
    "the audit record could not be written and the appliance requires auditing; see the appliance log",
  STORAGE_FULL:
    "the appliance's disk is full: nothing was changed and reads still work; the operator must free space",
  PIN_POLICY: "the new PIN does not meet the PIN policy (length 4 to 64 bytes)",
  CONTAINER_NOT_FOUND: "no container with this name is enrolled; list them with `vhsm-provision list`",
  CONTAINER_EXISTS: "a container with this name is already enrolled",
  USER_NOT_FOUND: "no user with this name exists in the container",
  USER_EXISTS: "a user with this name already exists in the container",
  CONFIRMATION_REQUIRED: "this action destroys data; repeat it with the confirmation flag",
  CONNECTION_FAILED:
    "cannot connect to the appliance socket; is the appliance running and the socket mounted?",
  CONNECTION_LOST: "the connection to the appliance was lost and the request could not be safely retried",
  CONTEXT_LOST: "the streaming context was lost when the appliance restarted; start it again",
  TIMEOUT: "the appliance did not answer in time",
  CLIENT_CLOSED: "the client was closed",
};

const NAME_BY_CODE = new Map<number, StatusName>(
  (Object.entries(Status) as [StatusName, number][]).map(([name, code]) => [code, name]),
);

export function statusName(code: number): StatusName | `STATUS_${number}` {
  return NAME_BY_CODE.get(code) ?? `STATUS_${code}`;
}

export function explainStatus(code: number): string {
  const name = NAME_BY_CODE.get(code);
  return name ? STATUS_EXPLANATION[name] : "unknown status code";
}

/** The one error class: carries the protocol status code and a human message. */
export class VhsmError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, message?: string) {
    super(message || explainStatus(status));
    this.name = "VhsmError";
    this.status = status;
    this.code = statusName(status);
  }

  static of(name: StatusName, message?: string): VhsmError {
    return new VhsmError(Status[name], message);
  }
}

/* Status names and explanations (the same text as protocol/status.ts), hash names and sizes. */
#include <string.h>
#include <strings.h>

#include "vhsm_internal.h"

typedef struct {
  int code;
  const char *name, *text;
} status_entry;

static const status_entry STATUSES[] = {
    {VHSM_OK, "OK", "success"},
    {VHSM_BAD_ARGUMENTS, "BAD_ARGUMENTS",
     "the request's arguments are malformed or out of range; check the command's usage"},
    {VHSM_BAD_SESSION, "BAD_SESSION",
     "the connection has no valid session (send HELLO first, or the container was revoked)"},
    {VHSM_UNSUPPORTED_MECHANISM, "UNSUPPORTED_MECHANISM",
     "the algorithm or key type is not supported for this operation"},
    {VHSM_NOT_INITIALISED, "NOT_INITIALISED",
     "the streaming context does not exist or was already finalised; start a new one with init"},
    {VHSM_KEY_NOT_FOUND, "KEY_NOT_FOUND",
     "no key with this id exists for this user; list keys with `vhsm key list`"},
    {VHSM_BAD_CREDENTIALS, "BAD_CREDENTIALS", "wrong user or PIN; repeated failures lock the user"},
    {VHSM_KEY_ID_OCCUPIED, "KEY_ID_OCCUPIED",
     "a key with this id already exists; choose another id or delete the old key first"},
    {VHSM_NOT_AUTHORISED, "NOT_AUTHORISED",
     "the key's usage policy or the caller's rights do not allow this operation"},
    {VHSM_INTERNAL, "INTERNAL", "the appliance hit an internal error; see the appliance log"},
    {VHSM_PIN_LOCKED, "PIN_LOCKED",
     "the user is locked after too many wrong PINs; an operator must run `vhsm-provision user unlock`"},
    {VHSM_FRAME_TOO_LARGE, "FRAME_TOO_LARGE",
     "the frame exceeds the appliance's maximum frame size; send less data per request or stream it"},
    {VHSM_UNKNOWN_OPCODE, "UNKNOWN_OPCODE",
     "the appliance does not know this operation; upgrade the appliance or the client"},
    {VHSM_NOT_LOGGED_IN, "NOT_LOGGED_IN", "log in first (user and PIN)"},
    {VHSM_BAD_FRAME, "BAD_FRAME", "the bytes received are not a valid vhsm frame; the connection is closed"},
    {VHSM_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION",
     "client and appliance share no protocol version; upgrade one of them"},
    {VHSM_LIMIT_EXCEEDED, "LIMIT_EXCEEDED",
     "a configured limit (connections, in-flight requests, contexts) was reached; retry later"},
    {VHSM_UNAVAILABLE, "UNAVAILABLE",
     "the appliance is not serving (self-test failure or shutting down); see the appliance log"},
    {VHSM_ALREADY_LOGGED_IN, "ALREADY_LOGGED_IN", "this connection is already logged in; log out first"},
    {VHSM_PIN_POLICY, "PIN_POLICY", "the new PIN does not meet the PIN policy (length 4 to 64 bytes)"},
    {VHSM_DECRYPT_FAILED, "DECRYPT_FAILED",
     "the ciphertext, its authentication tag or the AAD do not verify: it was altered or belongs elsewhere"},
    {VHSM_NOT_EXPORTABLE, "NOT_EXPORTABLE",
     "the key was not created exportable, so its material can never leave the appliance"},
    {VHSM_TAMPERED, "TAMPERED",
     "stored key material failed its integrity check: the key store was modified outside the appliance; "
     "restore it from a backup"},
    {VHSM_AUDIT_FAILED, "AUDIT_FAILED",
     "the audit record could not be written and the appliance requires auditing; see the appliance log"},
    {VHSM_STORAGE_FULL, "STORAGE_FULL",
     "the appliance's disk is full: nothing was changed and reads still work; the operator must free space"},
    {VHSM_CONTAINER_NOT_FOUND, "CONTAINER_NOT_FOUND",
     "no container with this name is enrolled; list them with `vhsm-provision list`"},
    {VHSM_CONTAINER_EXISTS, "CONTAINER_EXISTS", "a container with this name is already enrolled"},
    {VHSM_USER_NOT_FOUND, "USER_NOT_FOUND", "no user with this name exists in the container"},
    {VHSM_USER_EXISTS, "USER_EXISTS", "a user with this name already exists in the container"},
    {VHSM_CONFIRMATION_REQUIRED, "CONFIRMATION_REQUIRED",
     "this action destroys data; repeat it with the confirmation flag"},
    {VHSM_CONNECTION_FAILED, "CONNECTION_FAILED",
     "cannot connect to the appliance socket; is the appliance running and the socket mounted?"},
    {VHSM_CONNECTION_LOST, "CONNECTION_LOST",
     "the connection to the appliance was lost and the request could not be safely retried"},
    {VHSM_CONTEXT_LOST, "CONTEXT_LOST",
     "the streaming context was lost when the appliance restarted; start it again"},
    {VHSM_TIMEOUT, "TIMEOUT", "the appliance did not answer in time"},
    {VHSM_CLIENT_CLOSED, "CLIENT_CLOSED", "the client was closed"},
};

static const status_entry *lookup(int code) {
  for (size_t i = 0; i < sizeof STATUSES / sizeof STATUSES[0]; i++)
    if (STATUSES[i].code == code) return &STATUSES[i];
  return NULL;
}

const char *vhsm_strerror(int status) {
  const status_entry *e = lookup(status);
  return e ? e->text : "unknown status code";
}

const char *vhsm_status_name(int status) {
  const status_entry *e = lookup(status);
  return e ? e->name : "UNKNOWN_STATUS";
}

const char *vhsm_version(void) {
  return "libvhsm 0.1.0 (protocol 1)";
}

int vhsm_hash_from_name(const char *name) {
  static const struct {
    const char *name;
    int alg;
  } NAMES[] = {{"sha1", VHSM_SHA1},     {"sha-1", VHSM_SHA1},       {"sha256", VHSM_SHA256},
               {"sha-256", VHSM_SHA256}, {"sha2-256", VHSM_SHA256}, {"sha384", VHSM_SHA384},
               {"sha-384", VHSM_SHA384}, {"sha2-384", VHSM_SHA384}, {"sha512", VHSM_SHA512},
               {"sha-512", VHSM_SHA512}, {"sha2-512", VHSM_SHA512}};
  if (!name) return 0;
  for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
    if (strcasecmp(name, NAMES[i].name) == 0) return NAMES[i].alg;
  return 0;
}

size_t vhsm_hash_size(int alg) {
  switch (alg) {
  case VHSM_SHA1: return 20;
  case VHSM_SHA256: return 32;
  case VHSM_SHA384: return 48;
  case VHSM_SHA512: return 64;
  default: return 0;
  }
}

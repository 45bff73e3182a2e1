/* Signing: one signature per call (vhsm_sign), or many pipelined on the connection (vhsm_sign_many). */
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

static void sign_request(vhsm_req *q, const char *key_id, int alg, unsigned flags, const void *data,
                         size_t len) {
  req_start(q, OP_SIGN);
  put_str(&q->head, key_id);
  put_u8(&q->head, (unsigned)alg);
  put_u8(&q->head, flags);
  put_u32(&q->head, (uint32_t)len);
  q->data = data;
  q->data_len = len;
}

/* Decodes a SIGN response (signature, key version) into sig; *sig_len: capacity in, length out. */
static int sign_response(vhsm *h, const vhsm_req *q, unsigned char *sig, size_t *sig_len) {
  vhsm_rd r = {q->resp, q->resp_len, 0, 0};
  size_t n;
  const unsigned char *p = get_bytes(&r, &n);
  get_u32(&r);
  int rc = rd_end(&r);
  if (rc) return rc;
  if (n > *sig_len) {
    set_message(h, "the signature of %zu bytes does not fit the %zu-byte buffer", n, *sig_len);
    return VHSM_BAD_ARGUMENTS;
  }
  memcpy(sig, p, n);
  *sig_len = n;
  return VHSM_OK;
}

int vhsm_sign(vhsm *h, const char *key_id, int alg, unsigned flags, const void *data, size_t len,
              unsigned char *sig, size_t *sig_len) {
  if (!h || !key_id || !sig || !sig_len || (!data && len)) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  sign_request(&q, key_id, alg, flags, data, len);
  handle_enter(h);
  /* signing twice is harmless (no state changes but a use counter), so it is retried after a restart */
  int rc = call(h, &q, 1, 1);
  handle_leave(h);
  if (!rc) rc = sign_response(h, &q, sig, sig_len);
  req_free(&q);
  return rc;
}

int vhsm_sign_many(vhsm *h, const char *key_id, int alg, unsigned flags, size_t n, const void *const *data,
                   const size_t *lens, unsigned char *sigs, size_t sig_stride, size_t *sig_lens) {
  if (!h || !key_id || !n || !data || !lens || !sigs || !sig_stride || !sig_lens) return VHSM_BAD_ARGUMENTS;
  for (size_t i = 0; i < n; i++)
    if (!data[i] && lens[i]) return VHSM_BAD_ARGUMENTS;
  vhsm_req *qs = calloc(n, sizeof *qs);
  if (!qs) return VHSM_INTERNAL;
  for (size_t i = 0; i < n; i++) sign_request(&qs[i], key_id, alg, flags, data[i], lens[i]);
  handle_enter(h);
  /* checked before anything is sent: one too large would otherwise fail the others of its window */
  int failed = VHSM_OK;
  for (size_t i = 0; i < n && !failed; i++)
    if (lens[i] > chunk_limit(h)) {
      set_message(h, "message %zu of %zu bytes does not fit in one frame", i, lens[i]);
      failed = VHSM_FRAME_TOO_LARGE;
    }
  if (!failed) failed = call_many(h, qs, n, 1);
  /* the first failure in the caller's order, not in the order the answers came back */
  int first = VHSM_OK;
  for (size_t i = 0; i < n; i++) {
    size_t len = sig_stride;
    int rc = qs[i].status;
    /* never answered: the failure that ended the exchange (the connection, a frame too large) */
    if (!qs[i].done) rc = failed ? failed : VHSM_INTERNAL;
    else if (!rc && (rc = sign_response(h, &qs[i], sigs + i * sig_stride, &len)) && !first)
      set_message(h, "signature %zu: %s", i,
                  rc == VHSM_BAD_ARGUMENTS ? "longer than sig_stride" : "bad response");
    sig_lens[i] = rc ? 0 : len;
    if (rc && !first) first = rc;
    req_free(&qs[i]);
  }
  handle_leave(h);
  free(qs);
  return first;
}

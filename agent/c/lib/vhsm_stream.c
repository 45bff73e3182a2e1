/* Streaming HMAC and digest: INIT opens a context in the appliance, UPDATEs are pipelined, FINAL closes. */
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

static int stream_open(vhsm *h, vhsm_req *q, int alg, unsigned update_op, unsigned final_op, vhsm_stream **out) {
  *out = NULL;
  vhsm_stream *s = calloc(1, sizeof *s);
  if (!s) {
    req_free(q);
    return VHSM_INTERNAL;
  }
  handle_enter(h);
  /* INIT is not retried: a context opened on a connection that then died is gone with it */
  int rc = call(h, q, 1, 0);
  if (!rc) {
    vhsm_rd r = {q->resp, q->resp_len, 0, 0};
    s->ctx = get_u32(&r);
    rc = rd_end(&r);
  }
  s->generation = h->generation;
  handle_leave(h);
  req_free(q);
  if (rc) {
    free(s);
    return rc;
  }
  s->h = h;
  s->update_op = update_op;
  s->final_op = final_op;
  s->alg = alg;
  *out = s;
  return VHSM_OK;
}

int vhsm_hmac_init(vhsm *h, const char *key_id, int alg, vhsm_stream **out) {
  if (!h || !key_id || !out) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_HMAC_INIT);
  put_str(&q.head, key_id);
  put_u8(&q.head, (unsigned)alg);
  return stream_open(h, &q, alg, OP_HMAC_UPDATE, OP_HMAC_FINAL, out);
}

int vhsm_digest_init(vhsm *h, int alg, vhsm_stream **out) {
  if (!h || !out) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_DIGEST_INIT);
  put_u8(&q.head, (unsigned)alg);
  return stream_open(h, &q, alg, OP_DIGEST_UPDATE, OP_DIGEST_FINAL, out);
}

/* The context exists only on the connection that opened it (not after a reconnect or a fork). */
static int still_valid(vhsm_stream *s) {
  if (s->h->fd < 0 || s->generation != s->h->generation) {
    set_message(s->h, "the streaming context was lost with its connection; start it again");
    return VHSM_CONTEXT_LOST;
  }
  return VHSM_OK;
}

static int context_call(vhsm_stream *s, vhsm_req *qs, size_t n) {
  int rc = still_valid(s);
  if (rc) return rc;
  rc = exchange(s->h, qs, n);
  if (rc == VHSM_CONNECTION_LOST || rc == VHSM_TIMEOUT || rc == VHSM_BAD_FRAME || rc == VHSM_UNSUPPORTED_VERSION) {
    session_drop(s->h);
    if (rc == VHSM_CONNECTION_LOST) rc = VHSM_CONTEXT_LOST;
  }
  return rc;
}

int vhsm_stream_update(vhsm_stream *s, const void *data, size_t len) {
  if (!s || (!data && len)) return VHSM_BAD_ARGUMENTS;
  enum { PIPELINE = 16 };
  vhsm_req qs[PIPELINE];
  const unsigned char *p = data;
  int rc = VHSM_OK;
  handle_enter(s->h);
  size_t limit = chunk_limit(s->h);
  while (len > 0 && !rc) {
    size_t n = 0;
    for (; n < PIPELINE && len > 0; n++) {
      size_t take = len > limit ? limit : len;
      req_start(&qs[n], s->update_op);
      put_u32(&qs[n].head, s->ctx);
      put_u32(&qs[n].head, (uint32_t)take);
      qs[n].data = p;
      qs[n].data_len = take;
      p += take;
      len -= take;
    }
    rc = context_call(s, qs, n);
    for (size_t i = 0; i < n; i++) req_free(&qs[i]);
  }
  handle_leave(s->h);
  return rc;
}

int vhsm_stream_final(vhsm_stream *s, unsigned char *out, size_t *out_len) {
  if (!s) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, s->final_op);
  put_u32(&q.head, s->ctx);
  handle_enter(s->h);
  int rc = context_call(s, &q, 1);
  if (!rc) {
    vhsm_rd r = {q.resp, q.resp_len, 0, 0};
    rc = copy_hash(s->h, &r, s->alg, out, out_len);
  }
  handle_leave(s->h);
  req_free(&q);
  free(s);
  return rc;
}

void vhsm_stream_free(vhsm_stream *s) {
  /* the appliance frees an abandoned context when the connection closes; FINAL frees it sooner */
  if (!s) return;
  /* FINAL checks under the lock whether the context still exists (not after a reconnect or a fork) */
  unsigned char discard[VHSM_MAX_HASH];
  vhsm_stream_final(s, discard, NULL);
}

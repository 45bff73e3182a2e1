/* One function per appliance operation: encode the request, call, decode the response. */
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

/* Runs one request; on success leaves its response in q->resp for the caller to decode. */
static int run(vhsm *h, vhsm_req *q, int retry_safe) {
  handle_enter(h);
  int rc = call(h, q, 1, retry_safe);
  handle_leave(h);
  return rc;
}

static int copy_out(vhsm_rd *r, unsigned char *out, size_t cap, size_t *out_len) {
  size_t n;
  const unsigned char *p = get_bytes(r, &n);
  int rc = rd_end(r);
  if (rc) return rc;
  if (n > cap) return VHSM_BAD_FRAME;
  memcpy(out, p, n);
  if (out_len) *out_len = n;
  return VHSM_OK;
}

/*
 * A MAC or digest answer must be exactly the hash's size: callers (the provider, the ENGINE) size
 * their buffers for the hash, not for VHSM_MAX_HASH. An unknown alg keeps the VHSM_MAX_HASH cap.
 */
int copy_hash(vhsm *h, vhsm_rd *r, int alg, unsigned char *out, size_t *out_len) {
  size_t want = vhsm_hash_size(alg);
  size_t n;
  const unsigned char *p = get_bytes(r, &n);
  int rc = rd_end(r);
  if (rc) return rc;
  if (want ? n != want : n > VHSM_MAX_HASH) {
    set_message(h, "the appliance answered a %zu-byte MAC for a %zu-byte hash", n, want ? want : (size_t)VHSM_MAX_HASH);
    return VHSM_BAD_FRAME;
  }
  memcpy(out, p, n);
  if (out_len) *out_len = n;
  return VHSM_OK;
}

static int run_hash(vhsm *h, vhsm_req *q, int alg, unsigned char *out, size_t *out_len) {
  int rc = run(h, q, 1);
  if (!rc) {
    vhsm_rd r = {q->resp, q->resp_len, 0, 0};
    rc = copy_hash(h, &r, alg, out, out_len);
  }
  req_free(q);
  return rc;
}

int vhsm_ping(vhsm *h) {
  vhsm_req q;
  req_start(&q, OP_PING);
  int rc = run(h, &q, 1);
  req_free(&q);
  return rc;
}

int vhsm_random(vhsm *h, void *out, size_t len) {
  unsigned char *p = out;
  while (len > 0) {
    /* the appliance caps one RANDOM at 1 MiB */
    size_t n = len > 65536 ? 65536 : len;
    vhsm_req q;
    req_start(&q, OP_RANDOM);
    put_u32(&q.head, (uint32_t)n);
    int rc = run(h, &q, 1);
    if (!rc) {
      vhsm_rd r = {q.resp, q.resp_len, 0, 0};
      size_t got = 0;
      rc = copy_out(&r, p, n, &got);
      if (!rc && got != n) rc = VHSM_BAD_FRAME;
    }
    req_free(&q);
    if (rc) return rc;
    p += n;
    len -= n;
  }
  return VHSM_OK;
}

static void hmac_request(vhsm_req *q, const char *key_id, int alg, const void *data, size_t len) {
  req_start(q, OP_HMAC);
  put_str(&q->head, key_id);
  put_u8(&q->head, (unsigned)alg);
  put_u32(&q->head, (uint32_t)len);
  q->data = data;
  q->data_len = len;
}

static int stream_all(vhsm *h, int mac, const char *key_id, int alg, const void *data, size_t len,
                      unsigned char *out, size_t *out_len) {
  vhsm_stream *s;
  int rc = mac ? vhsm_hmac_init(h, key_id, alg, &s) : vhsm_digest_init(h, alg, &s);
  if (rc) return rc;
  rc = vhsm_stream_update(s, data, len);
  if (rc) {
    vhsm_stream_free(s);
    return rc;
  }
  return vhsm_stream_final(s, out, out_len);
}

int vhsm_hmac(vhsm *h, const char *key_id, int alg, const void *data, size_t len, unsigned char *mac,
              size_t *mac_len) {
  if (!h || !key_id || (!data && len)) return VHSM_BAD_ARGUMENTS;
  if (len > chunk_limit(h)) return stream_all(h, 1, key_id, alg, data, len, mac, mac_len);
  vhsm_req q;
  hmac_request(&q, key_id, alg, data, len);
  return run_hash(h, &q, alg, mac, mac_len);
}

int vhsm_hmac_many(vhsm *h, const char *key_id, int alg, size_t n, const void *const *data,
                   const size_t *lens, unsigned char (*macs)[VHSM_MAX_HASH]) {
  if (!h || !key_id || !n) return VHSM_BAD_ARGUMENTS;
  vhsm_req *qs = calloc(n, sizeof *qs);
  if (!qs) return VHSM_INTERNAL;
  for (size_t i = 0; i < n; i++) hmac_request(&qs[i], key_id, alg, data[i], lens[i]);
  handle_enter(h);
  int rc = call_many(h, qs, n, 1);
  handle_leave(h);
  for (size_t i = 0; i < n && !rc; i++) {
    vhsm_rd r = {qs[i].resp, qs[i].resp_len, 0, 0};
    rc = copy_hash(h, &r, alg, macs[i], NULL);
  }
  for (size_t i = 0; i < n; i++) req_free(&qs[i]);
  free(qs);
  return rc;
}

int vhsm_hmac_verify(vhsm *h, const char *key_id, int alg, const void *data, size_t len,
                     const unsigned char *mac, size_t mac_len, int *valid) {
  if (!h || !key_id || !valid) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  hmac_request(&q, key_id, alg, data, len);
  q.head.p[4] = OP_HMAC_VERIFY >> 8;
  q.head.p[5] = OP_HMAC_VERIFY & 0xff;
  put_bytes(&q.tail, mac, mac_len);
  int rc = run(h, &q, 1);
  if (!rc) {
    vhsm_rd r = {q.resp, q.resp_len, 0, 0};
    *valid = get_u8(&r) == 1;
    rc = rd_end(&r);
  }
  req_free(&q);
  return rc;
}

int vhsm_digest(vhsm *h, int alg, const void *data, size_t len, unsigned char *out, size_t *out_len) {
  if (!h || (!data && len)) return VHSM_BAD_ARGUMENTS;
  if (len > chunk_limit(h)) return stream_all(h, 0, NULL, alg, data, len, out, out_len);
  vhsm_req q;
  req_start(&q, OP_DIGEST);
  put_u8(&q.head, (unsigned)alg);
  put_u32(&q.head, (uint32_t)len);
  q.data = data;
  q.data_len = len;
  return run_hash(h, &q, alg, out, out_len);
}

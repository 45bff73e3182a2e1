/* Key management: import, generate, delete, info. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

static int run_id(vhsm *h, vhsm_req *q, char *out_id) {
  handle_enter(h);
  /* not retried: a KEY_IMPORT that did land would come back as KEY_ID_OCCUPIED */
  int rc = call(h, q, 1, 0);
  if (!rc) {
    vhsm_rd r = {q->resp, q->resp_len, 0, 0};
    char id[VHSM_KEY_ID_MAX + 1];
    get_str(&r, id, sizeof id);
    rc = rd_end(&r);
    if (!rc && out_id) snprintf(out_id, VHSM_KEY_ID_MAX + 1, "%s", id);
  }
  handle_leave(h);
  req_free(q);
  return rc;
}

int vhsm_key_import(vhsm *h, const char *id, int type, int format, const void *secret, size_t len,
                    char *out_id) {
  if (!h || (!secret && len)) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_KEY_IMPORT);
  put_str(&q.head, id ? id : "");
  put_u8(&q.head, (unsigned)type);
  put_u8(&q.head, (unsigned)format);
  put_u32(&q.head, (uint32_t)len);
  q.data = secret;
  q.data_len = len;
  put_u32(&q.tail, 0); /* usage: the type's default */
  put_u32(&q.tail, 0); /* flags: not exportable */
  return run_id(h, &q, out_id);
}

int vhsm_key_generate(vhsm *h, const char *id, int type, unsigned bits, char *out_id) {
  if (!h) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_KEY_GENERATE);
  put_str(&q.head, id ? id : "");
  put_u8(&q.head, (unsigned)type);
  put_u16(&q.head, bits);
  put_u32(&q.head, 0); /* usage: the type's default */
  put_u32(&q.head, 0); /* flags */
  put_u32(&q.head, 0); /* rotateEvery: never */
  return run_id(h, &q, out_id);
}

int vhsm_key_delete(vhsm *h, const char *id) {
  if (!h || !id) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_KEY_DELETE);
  put_str(&q.head, id);
  handle_enter(h);
  int rc = call(h, &q, 1, 0);
  handle_leave(h);
  req_free(&q);
  return rc;
}

int vhsm_key_get_info(vhsm *h, const char *id, vhsm_key_info *out) {
  if (!h || !id || !out) return VHSM_BAD_ARGUMENTS;
  vhsm_req q;
  req_start(&q, OP_KEY_INFO);
  put_str(&q.head, id);
  handle_enter(h);
  int rc = call(h, &q, 1, 1);
  if (!rc) {
    vhsm_rd r = {q.resp, q.resp_len, 0, 0};
    get_str(&r, out->id, sizeof out->id);
    out->type = get_u8(&r);
    out->bits = get_u16(&r);
    out->version = get_u32(&r);
    out->usage = get_u32(&r);
    out->created = get_u64(&r);
    out->last_used = get_u64(&r);
    out->use_count = get_u64(&r);
    out->flags = get_u32(&r);
    out->min_version = get_u32(&r);
    out->rotate_every = get_u32(&r);
    out->rotated = get_u64(&r);
    rc = rd_end(&r);
  }
  handle_leave(h);
  req_free(&q);
  return rc;
}

int vhsm_key_public(vhsm *h, const char *id, int format, unsigned char **out, size_t *out_len) {
  if (!h || !id || !out || !out_len) return VHSM_BAD_ARGUMENTS;
  *out = NULL;
  vhsm_req q;
  req_start(&q, OP_KEY_PUBLIC);
  put_str(&q.head, id);
  put_u32(&q.head, 0); /* version 0: the current one */
  put_u8(&q.head, (unsigned)format);
  handle_enter(h);
  int rc = call(h, &q, 1, 1);
  if (!rc) {
    vhsm_rd r = {q.resp, q.resp_len, 0, 0};
    size_t n;
    const unsigned char *p = get_bytes(&r, &n);
    get_u32(&r);
    rc = rd_end(&r);
    if (!rc && !(*out = malloc(n ? n : 1))) rc = VHSM_INTERNAL;
    if (!rc) {
      memcpy(*out, p, n);
      *out_len = n;
    }
  }
  handle_leave(h);
  req_free(&q);
  return rc;
}

void vhsm_free(void *p) {
  free(p);
}

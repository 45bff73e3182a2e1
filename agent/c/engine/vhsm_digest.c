/* ENGINE digests SHA-1/256/384/512 computed by the appliance (the original system's DIGEST path). */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_eng.h"

#define STREAM_THRESHOLD (1024 * 1024)

typedef struct {
  unsigned char *buf;
  size_t len, cap;
  vhsm_stream *stream;
} md_data;

static int alg_of(const EVP_MD_CTX *ctx) {
  switch (EVP_MD_CTX_type(ctx)) {
  case NID_sha1: return VHSM_SHA1;
  case NID_sha256: return VHSM_SHA256;
  case NID_sha384: return VHSM_SHA384;
  default: return VHSM_SHA512;
  }
}

static void fail(int rc) {
  ERR_raise_data(ERR_LIB_ENGINE, ERR_R_OPERATION_FAIL, "vhsm digest: %s: %s", vhsm_status_name(rc),
                 vhsm_strerror(rc));
}

static int md_init(EVP_MD_CTX *ctx) {
  md_data *d = EVP_MD_CTX_md_data(ctx);
  memset(d, 0, sizeof *d);
  return 1;
}

static int md_update(EVP_MD_CTX *ctx, const void *data, size_t len) {
  md_data *d = EVP_MD_CTX_md_data(ctx);
  if (d->len + len > d->cap) {
    size_t cap = d->cap ? d->cap : 4096;
    while (cap < d->len + len) cap *= 2;
    unsigned char *b = realloc(d->buf, cap);
    if (!b) return 0;
    d->buf = b;
    d->cap = cap;
  }
  memcpy(d->buf + d->len, data, len);
  d->len += len;
  if (d->len < STREAM_THRESHOLD) return 1;
  vhsm *h = vhsm_eng_handle();
  if (!h) return 0;
  int rc = d->stream ? VHSM_OK : vhsm_digest_init(h, alg_of(ctx), &d->stream);
  if (!rc) rc = vhsm_stream_update(d->stream, d->buf, d->len);
  d->len = 0;
  if (rc) fail(rc);
  return rc == VHSM_OK;
}

static int md_final(EVP_MD_CTX *ctx, unsigned char *out) {
  md_data *d = EVP_MD_CTX_md_data(ctx);
  vhsm *h = vhsm_eng_handle();
  if (!h) return 0;
  int rc;
  size_t n;
  if (d->stream) {
    rc = d->len ? vhsm_stream_update(d->stream, d->buf, d->len) : VHSM_OK;
    rc = rc ? (vhsm_stream_free(d->stream), rc) : vhsm_stream_final(d->stream, out, &n);
    d->stream = NULL;
  } else {
    rc = vhsm_digest(h, alg_of(ctx), d->buf, d->len, out, &n);
  }
  d->len = 0;
  if (rc) fail(rc);
  return rc == VHSM_OK;
}

static int md_copy(EVP_MD_CTX *to, const EVP_MD_CTX *from) {
  md_data *t = EVP_MD_CTX_md_data(to);
  const md_data *f = EVP_MD_CTX_md_data(from);
  if (!t || !f) return 1; /* EVP_MD_CTX_FLAG_NO_INIT (an HMAC context): the digest never ran */
  if (f->stream) return 0; /* an appliance context cannot be copied */
  t->buf = NULL;
  t->cap = t->len = 0;
  t->stream = NULL;
  if (!f->len) return 1;
  if (!(t->buf = malloc(f->len))) return 0;
  memcpy(t->buf, f->buf, f->len);
  t->len = t->cap = f->len;
  return 1;
}

static int md_cleanup(EVP_MD_CTX *ctx) {
  md_data *d = EVP_MD_CTX_md_data(ctx);
  if (!d) return 1;
  vhsm_stream_free(d->stream);
  free(d->buf);
  memset(d, 0, sizeof *d);
  return 1;
}

static const int NIDS[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};
static EVP_MD *methods[4];

static EVP_MD *make(int i) {
  static const int sizes[] = {20, 32, 48, 64}, blocks[] = {64, 64, 128, 128};
  EVP_MD *md = EVP_MD_meth_new(NIDS[i], NID_undef);
  if (md && EVP_MD_meth_set_result_size(md, sizes[i]) && EVP_MD_meth_set_input_blocksize(md, blocks[i]) &&
      EVP_MD_meth_set_app_datasize(md, sizeof(md_data)) && EVP_MD_meth_set_init(md, md_init) &&
      EVP_MD_meth_set_update(md, md_update) && EVP_MD_meth_set_final(md, md_final) &&
      EVP_MD_meth_set_copy(md, md_copy) && EVP_MD_meth_set_cleanup(md, md_cleanup))
    return md;
  EVP_MD_meth_free(md);
  return NULL;
}

int vhsm_eng_digests(ENGINE *e, const EVP_MD **digest, const int **nids, int nid) {
  if (!digest) {
    *nids = NIDS;
    return 4;
  }
  for (int i = 0; i < 4; i++) {
    if (NIDS[i] != nid) continue;
    if (!methods[i]) methods[i] = make(i);
    *digest = methods[i];
    return methods[i] != NULL;
  }
  *digest = NULL;
  return 0;
}

void vhsm_eng_digests_free(void) {
  for (int i = 0; i < 4; i++) {
    EVP_MD_meth_free(methods[i]);
    methods[i] = NULL;
  }
}

/*
 * HMAC keyed by an appliance key id, as an EVP_PKEY method (the legacy engine path):
 *   openssl dgst -engine vhsm.so -sha256 -mac HMAC -macopt key-id:vhsm:k1 file
 * keygen makes an HMAC EVP_PKEY that names the key (it holds no key bytes) and is bound to this
 * engine; signing buffers the data and sends it to the appliance at the end (libvhsm streams what
 * does not fit one frame). Buffering, not an appliance stream, because OpenSSL copies the context
 * before finishing it, and an appliance context cannot be copied.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_eng.h"

typedef struct {
  char id[VHSM_KEY_ID_MAX + 1];
  unsigned char *buf;
  size_t len, cap;
} hmac_data;

static EVP_PKEY_METHOD *meth;

static int h_init(EVP_PKEY_CTX *ctx) {
  hmac_data *d = calloc(1, sizeof *d);
  if (!d) return 0;
  EVP_PKEY_CTX_set_data(ctx, d);
  return 1;
}

static void h_cleanup(EVP_PKEY_CTX *ctx) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  if (!d) return;
  OPENSSL_clear_free(d->buf, d->cap); /* the data being MACed may be secret */
  free(d);
  EVP_PKEY_CTX_set_data(ctx, NULL);
}

static int h_copy(EVP_PKEY_CTX *dst, const EVP_PKEY_CTX *src) {
  const hmac_data *s = EVP_PKEY_CTX_get_data(src);
  if (!h_init(dst)) return 0;
  hmac_data *d = EVP_PKEY_CTX_get_data(dst);
  memcpy(d->id, s->id, sizeof d->id);
  if (s->len && !(d->buf = OPENSSL_memdup(s->buf, s->len))) return 0;
  d->len = d->cap = s->len;
  return 1;
}

static int h_ctrl(EVP_PKEY_CTX *ctx, int type, int p1, void *p2) {
  switch (type) {
  case EVP_PKEY_CTRL_MD:
  case EVP_PKEY_CTRL_DIGESTINIT: return 1;
  case EVP_PKEY_CTRL_SET_MAC_KEY:
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_PASSED_INVALID_ARGUMENT,
                   "vhsm HMAC takes a key id (-macopt key-id:ID), not key bytes");
    return 0;
  default: return -2;
  }
}

static int h_ctrl_str(EVP_PKEY_CTX *ctx, const char *type, const char *value) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  if (!strcmp(type, "key") || !strcmp(type, "hexkey")) return h_ctrl(ctx, EVP_PKEY_CTRL_SET_MAC_KEY, 0, NULL);
  if (strcmp(type, "key-id") != 0) return -2;
  const char *id = value && !strncmp(value, "vhsm:", 5) ? value + 5 : value;
  if (!id || !*id || strlen(id) > VHSM_KEY_ID_MAX) {
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_PASSED_INVALID_ARGUMENT, "vhsm: not a key id: %s", value ? value : "");
    return 0;
  }
  strcpy(d->id, id);
  return 1;
}

/* The key must exist and be an HMAC key: checked here so a wrong id fails before any data is read. */
static int h_keygen(EVP_PKEY_CTX *ctx, EVP_PKEY *pkey) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  if (!d->id[0]) {
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_PASSED_INVALID_ARGUMENT, "vhsm HMAC needs -macopt key-id:ID");
    return 0;
  }
  vhsm *h = vhsm_eng_handle();
  vhsm_key_info info;
  int rc = h ? vhsm_key_get_info(h, d->id, &info) : VHSM_CONNECTION_FAILED;
  if (!rc && info.type != VHSM_KEY_HMAC) rc = VHSM_UNSUPPORTED_MECHANISM;
  if (rc) {
    if (h) vhsm_eng_raise(rc, d->id);
    return 0;
  }
  ASN1_OCTET_STRING *none = ASN1_OCTET_STRING_new(); /* no key bytes: the key stays in the appliance */
  if (!none || !EVP_PKEY_assign(pkey, EVP_PKEY_HMAC, none)) {
    ASN1_OCTET_STRING_free(none);
    return 0;
  }
  return EVP_PKEY_set1_engine(pkey, vhsm_eng_self()) && vhsm_eng_key_attach(pkey, d->id);
}

static int h_update(EVP_MD_CTX *mctx, const void *data, size_t count) {
  hmac_data *d = EVP_PKEY_CTX_get_data(EVP_MD_CTX_get_pkey_ctx(mctx));
  if (count > d->cap - d->len) {
    size_t cap = d->cap ? d->cap : 4096;
    while (cap - d->len < count) cap *= 2;
    unsigned char *b = OPENSSL_clear_realloc(d->buf, d->cap, cap);
    if (!b) return 0;
    d->buf = b;
    d->cap = cap;
  }
  memcpy(d->buf + d->len, data, count);
  d->len += count;
  return 1;
}

static int h_signctx_init(EVP_PKEY_CTX *ctx, EVP_MD_CTX *mctx) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  d->len = 0;
  /* the digest itself is never run: the data goes to our update, the appliance does the HMAC */
  EVP_MD_CTX_set_flags(mctx, EVP_MD_CTX_FLAG_NO_INIT);
  EVP_MD_CTX_set_update_fn(mctx, h_update);
  return 1;
}

static int alg_of(const EVP_MD *md) {
  switch (md ? EVP_MD_get_type(md) : NID_sha256) {
  case NID_sha1: return VHSM_SHA1;
  case NID_sha256: return VHSM_SHA256;
  case NID_sha384: return VHSM_SHA384;
  case NID_sha512: return VHSM_SHA512;
  default: return 0;
  }
}

static int h_signctx(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, EVP_MD_CTX *mctx) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  const char *id = vhsm_eng_key_id(EVP_PKEY_CTX_get0_pkey(ctx));
  int alg = alg_of(EVP_MD_CTX_get0_md(mctx));
  if (!alg || !id) {
    vhsm_eng_raise(alg ? VHSM_KEY_NOT_FOUND : VHSM_UNSUPPORTED_MECHANISM, id ? id : "HMAC");
    return 0;
  }
  if (!sig) {
    *siglen = vhsm_hash_size(alg);
    return 1;
  }
  vhsm *h = vhsm_eng_handle();
  unsigned char mac[VHSM_MAX_HASH];
  size_t n = 0;
  int rc = h ? vhsm_hmac(h, id, alg, d->buf, d->len, mac, &n) : VHSM_CONNECTION_FAILED;
  if (!rc && n > *siglen) rc = VHSM_BAD_ARGUMENTS;
  if (rc) {
    if (h) vhsm_eng_raise(rc, id);
    return 0;
  }
  memcpy(sig, mac, n);
  *siglen = n;
  return 1;
}

EVP_PKEY_METHOD *vhsm_eng_hmac_meth(void) {
  if (meth) return meth; /* first made in bind, before any thread can get here */
  if (!(meth = EVP_PKEY_meth_new(EVP_PKEY_HMAC, 0))) return NULL;
  EVP_PKEY_meth_set_init(meth, h_init);
  EVP_PKEY_meth_set_copy(meth, h_copy);
  EVP_PKEY_meth_set_cleanup(meth, h_cleanup);
  EVP_PKEY_meth_set_ctrl(meth, h_ctrl, h_ctrl_str);
  EVP_PKEY_meth_set_keygen(meth, NULL, h_keygen);
  EVP_PKEY_meth_set_signctx(meth, h_signctx_init, h_signctx);
  return meth;
}

void vhsm_eng_hmac_free(void) {
  EVP_PKEY_meth_free(meth);
  meth = NULL;
}

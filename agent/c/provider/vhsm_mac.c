/*
 * MAC "HMAC" keyed by a key id (`key-id`) held in the appliance. Small inputs go out as one HMAC
 * request (retried after an appliance restart); larger ones switch to a streaming context.
 * A raw `key` (a key that is not ours) is delegated to the default provider via the child context.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

#define STREAM_THRESHOLD (1024 * 1024)

typedef struct {
  vhsm_prov *prov;
  char key_id[VHSM_KEY_ID_MAX + 1];
  char digest[32];
  int alg;
  unsigned char *buf;
  size_t len, cap;
  vhsm_stream *stream;
  EVP_MAC_CTX *delegate; /* raw-key HMAC in the default provider */
} mac_ctx;

static void *mac_newctx(void *provctx) {
  mac_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->prov = provctx;
  c->alg = VHSM_SHA256;
  strcpy(c->digest, "SHA256");
  return c;
}

static void mac_reset(mac_ctx *c) {
  vhsm_stream_free(c->stream);
  c->stream = NULL;
  c->len = 0;
}

static void mac_freectx(void *vctx) {
  mac_ctx *c = vctx;
  if (!c) return;
  mac_reset(c);
  free(c->buf);
  EVP_MAC_CTX_free(c->delegate);
  free(c);
}

static void *mac_dupctx(void *vctx) {
  mac_ctx *src = vctx;
  if (src->stream) return NULL; /* an appliance context cannot be copied */
  mac_ctx *c = mac_newctx(src->prov);
  if (!c) return NULL;
  memcpy(c->key_id, src->key_id, sizeof c->key_id);
  memcpy(c->digest, src->digest, sizeof c->digest);
  c->alg = src->alg;
  if (src->delegate && !(c->delegate = EVP_MAC_CTX_dup(src->delegate))) goto fail;
  if (src->len) {
    if (!(c->buf = malloc(src->len))) goto fail;
    memcpy(c->buf, src->buf, src->len);
    c->len = c->cap = src->len;
  }
  return c;
fail:
  mac_freectx(c);
  return NULL;
}

static int start_delegate(mac_ctx *c, const unsigned char *key, size_t keylen) {
  EVP_MAC_CTX_free(c->delegate);
  c->delegate = NULL;
  EVP_MAC *mac = EVP_MAC_fetch(c->prov->libctx, "HMAC", "provider!=vhsm");
  if (!mac) return 0;
  c->delegate = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, c->digest, 0), OSSL_PARAM_END};
  return c->delegate && EVP_MAC_init(c->delegate, key, keylen, params);
}

static int mac_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  mac_ctx *c = vctx;
  const OSSL_PARAM *p;
  if (!params) return 1;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_MAC_PARAM_DIGEST))) {
    const char *name = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !(c->alg = vhsm_hash_from_name(name)) ||
        strlen(name) >= sizeof c->digest) {
      vhsm_prov_raise(c->prov, VHSM_UNSUPPORTED_MECHANISM, "digest %s: vhsm HMAC supports SHA1, SHA256, SHA384, SHA512",
                      name ? name : "?");
      return 0;
    }
    strcpy(c->digest, name);
  }
  if ((p = OSSL_PARAM_locate_const(params, "key-id"))) {
    const char *id = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &id) || !vhsm_parse_key_id(id, c->key_id)) {
      vhsm_prov_raise(c->prov, VHSM_BAD_ARGUMENTS, "key-id must be KEYID or vhsm:KEYID (1-64 characters)");
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_MAC_PARAM_KEY))) {
    if (p->data_type != OSSL_PARAM_OCTET_STRING || !start_delegate(c, p->data, p->data_size)) return 0;
  }
  return 1;
}

static int mac_init(void *vctx, const unsigned char *key, size_t keylen, const OSSL_PARAM params[]) {
  mac_ctx *c = vctx;
  mac_reset(c);
  if (!mac_set_ctx_params(c, params)) return 0;
  if (key) return start_delegate(c, key, keylen);
  if (c->delegate) return EVP_MAC_init(c->delegate, NULL, 0, NULL);
  if (!c->key_id[0]) {
    vhsm_prov_raise(c->prov, VHSM_BAD_ARGUMENTS, "set the key id with the MAC parameter key-id (vhsm:KEYID)");
    return 0;
  }
  return 1;
}

/* Sends what is buffered to the appliance's streaming context, opening it first. */
static int flush(mac_ctx *c) {
  vhsm *h = vhsm_prov_handle(c->prov);
  if (!h) return 0;
  int rc = c->stream ? VHSM_OK : vhsm_hmac_init(h, c->key_id, c->alg, &c->stream);
  if (!rc) rc = vhsm_stream_update(c->stream, c->buf, c->len);
  if (rc) {
    vhsm_prov_raise_from(c->prov, rc, "HMAC");
    return 0;
  }
  c->len = 0;
  return 1;
}

static int mac_update(void *vctx, const unsigned char *data, size_t len) {
  mac_ctx *c = vctx;
  if (c->delegate) return EVP_MAC_update(c->delegate, data, len);
  if (c->len + len > c->cap) {
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < c->len + len) cap *= 2;
    unsigned char *b = realloc(c->buf, cap);
    if (!b) return 0;
    c->buf = b;
    c->cap = cap;
  }
  if (len) memcpy(c->buf + c->len, data, len);
  c->len += len;
  return c->len < STREAM_THRESHOLD || flush(c);
}

static int mac_final(void *vctx, unsigned char *out, size_t *outl, size_t outsize) {
  mac_ctx *c = vctx;
  if (c->delegate) return EVP_MAC_final(c->delegate, out, outl, outsize);
  size_t need = vhsm_hash_size(c->alg);
  if (outsize < need) return 0;
  vhsm *h = vhsm_prov_handle(c->prov);
  if (!h) return 0;
  int rc;
  if (c->stream) {
    rc = c->len ? vhsm_stream_update(c->stream, c->buf, c->len) : VHSM_OK;
    if (!rc) rc = vhsm_stream_final(c->stream, out, outl);
    else vhsm_stream_free(c->stream);
    c->stream = NULL;
  } else {
    rc = vhsm_hmac(h, c->key_id, c->alg, c->buf, c->len, out, outl);
  }
  c->len = 0;
  if (rc) {
    vhsm_prov_raise_from(c->prov, rc, c->key_id);
    return 0;
  }
  return 1;
}

static const OSSL_PARAM *mac_gettable_ctx_params(void *vctx, void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, NULL),
                                      OSSL_PARAM_size_t(OSSL_MAC_PARAM_BLOCK_SIZE, NULL), OSSL_PARAM_END};
  return params;
}

static int mac_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  mac_ctx *c = vctx;
  OSSL_PARAM *p;
  size_t block = c->alg == VHSM_SHA384 || c->alg == VHSM_SHA512 ? 128 : 64;
  if ((p = OSSL_PARAM_locate(params, OSSL_MAC_PARAM_SIZE)) && !OSSL_PARAM_set_size_t(p, vhsm_hash_size(c->alg)))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_MAC_PARAM_BLOCK_SIZE)) && !OSSL_PARAM_set_size_t(p, block)) return 0;
  return 1;
}

static const OSSL_PARAM *mac_settable_ctx_params(void *vctx, void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_PROPERTIES, NULL, 0),
                                      OSSL_PARAM_utf8_string("key-id", NULL, 0),
                                      OSSL_PARAM_octet_string(OSSL_MAC_PARAM_KEY, NULL, 0), OSSL_PARAM_END};
  return params;
}

const OSSL_DISPATCH vhsm_hmac_mac_functions[] = {
    {OSSL_FUNC_MAC_NEWCTX, (void (*)(void))mac_newctx},
    {OSSL_FUNC_MAC_DUPCTX, (void (*)(void))mac_dupctx},
    {OSSL_FUNC_MAC_FREECTX, (void (*)(void))mac_freectx},
    {OSSL_FUNC_MAC_INIT, (void (*)(void))mac_init},
    {OSSL_FUNC_MAC_UPDATE, (void (*)(void))mac_update},
    {OSSL_FUNC_MAC_FINAL, (void (*)(void))mac_final},
    {OSSL_FUNC_MAC_GETTABLE_CTX_PARAMS, (void (*)(void))mac_gettable_ctx_params},
    {OSSL_FUNC_MAC_GET_CTX_PARAMS, (void (*)(void))mac_get_ctx_params},
    {OSSL_FUNC_MAC_SETTABLE_CTX_PARAMS, (void (*)(void))mac_settable_ctx_params},
    {OSSL_FUNC_MAC_SET_CTX_PARAMS, (void (*)(void))mac_set_ctx_params},
    {0, NULL}};

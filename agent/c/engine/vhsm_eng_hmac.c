/*
 * HMAC keyed by an appliance key id, as a legacy EVP_PKEY method (the original engine's HMAC path):
 *   openssl dgst -engine vhsm -sha256 -mac HMAC -macopt key:vhsm:k1 file
 *   C: ENGINE_set_default(e, ENGINE_METHOD_PKEY_METHS | ENGINE_METHOD_PKEY_ASN1_METHS), then
 *      key = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, "vhsm:k1", 7); EVP_DigestSignInit(..., key)
 * A key "vhsm:KEYID" names an appliance key (it must exist and be an HMAC key: checked when the key
 * is made, so a wrong id fails before any data is read). OpenSSL 3.0 has no legacy HMAC method of its
 * own, so once this engine is registered for HMAC every legacy HMAC key comes here: any other key is
 * an ordinary key, computed with OpenSSL's HMAC (EVP_Q_mac), so registering the engine breaks nothing.
 * Data is buffered and sent at the end (libvhsm streams what does not fit one frame): OpenSSL copies
 * the context before finishing it, and an appliance context cannot be copied.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_eng.h"

typedef struct {
  char id[VHSM_KEY_ID_MAX + 1]; /* "" for an ordinary key */
  unsigned char *raw;
  size_t raw_len;
} hmac_key;

typedef struct {
  unsigned char *key; /* for keygen: from ctrl "key"/"hexkey"/"key-id" */
  size_t key_len;
  unsigned char *buf; /* data to MAC */
  size_t len, cap;
} hmac_data;

static EVP_PKEY_METHOD *meth;
static EVP_PKEY_ASN1_METHOD *ameth;

static void key_free(hmac_key *k) {
  if (!k) return;
  OPENSSL_clear_free(k->raw, k->raw_len);
  free(k);
}

static hmac_key *key_new(const unsigned char *key, size_t len) {
  hmac_key *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  if (len < 5 || memcmp(key, "vhsm:", 5) != 0) {
    if (!(k->raw = OPENSSL_memdup(key ? key : (const unsigned char *)"", len ? len : 1))) return free(k), NULL;
    k->raw_len = len;
    return k;
  }
  vhsm_key_info info;
  int rc = len - 5 > VHSM_KEY_ID_MAX || memchr(key, 0, len) ? VHSM_BAD_ARGUMENTS : VHSM_OK;
  memcpy(k->id, key + 5, rc ? 0 : len - 5);
  vhsm *h = rc ? NULL : vhsm_eng_handle();
  if (!rc && !h) return free(k), NULL;
  if (!rc) rc = vhsm_key_get_info(h, k->id, &info);
  if (!rc && info.type != VHSM_KEY_HMAC) rc = VHSM_UNSUPPORTED_MECHANISM;
  if (rc) {
    vhsm_eng_raise(rc, k->id[0] ? k->id : "HMAC key id");
    return free(k), NULL;
  }
  return k;
}

/* ASN.1 method: EVP_PKEY_new_raw_private_key / EVP_PKEY_new_mac_key land here. */
static int a_set_priv_key(EVP_PKEY *pkey, const unsigned char *key, size_t len) {
  hmac_key *k = key_new(key, len);
  /* the type and this method are already set, so EVP_PKEY_assign only stores the pointer */
  if (k && EVP_PKEY_assign(pkey, EVP_PKEY_HMAC, k)) return 1;
  key_free(k);
  return 0;
}

static void a_free(EVP_PKEY *pkey) {
  key_free(EVP_PKEY_get0(pkey));
}

static int a_ctrl(EVP_PKEY *pkey, int op, long arg1, void *arg2) {
  if (op != ASN1_PKEY_CTRL_DEFAULT_MD_NID) return -2;
  *(int *)arg2 = NID_sha256;
  return 1;
}

static int a_size(const EVP_PKEY *pkey) {
  return VHSM_MAX_HASH;
}

/* EVP_PKEY method */
static int h_init(EVP_PKEY_CTX *ctx) {
  hmac_data *d = calloc(1, sizeof *d);
  if (!d) return 0;
  EVP_PKEY_CTX_set_data(ctx, d);
  return 1;
}

static void h_cleanup(EVP_PKEY_CTX *ctx) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  if (!d) return;
  OPENSSL_clear_free(d->key, d->key_len);
  OPENSSL_clear_free(d->buf, d->cap); /* the data being MACed may be secret */
  free(d);
  EVP_PKEY_CTX_set_data(ctx, NULL);
}

static int set_key(hmac_data *d, const void *key, size_t len) {
  OPENSSL_clear_free(d->key, d->key_len);
  d->key = OPENSSL_memdup(key ? key : "", len ? len : 1);
  d->key_len = len;
  return d->key != NULL;
}

static int h_copy(EVP_PKEY_CTX *dst, const EVP_PKEY_CTX *src) {
  const hmac_data *s = EVP_PKEY_CTX_get_data(src);
  if (!h_init(dst)) return 0;
  hmac_data *d = EVP_PKEY_CTX_get_data(dst);
  if (s->key && !set_key(d, s->key, s->key_len)) return 0;
  if (s->len && !(d->buf = OPENSSL_memdup(s->buf, s->len))) return 0;
  d->len = d->cap = s->len;
  return 1;
}

static int h_ctrl(EVP_PKEY_CTX *ctx, int type, int p1, void *p2) {
  switch (type) {
  case EVP_PKEY_CTRL_MD:
  case EVP_PKEY_CTRL_DIGESTINIT: return 1;
  case EVP_PKEY_CTRL_SET_MAC_KEY: return p1 >= 0 && set_key(EVP_PKEY_CTX_get_data(ctx), p2, (size_t)p1);
  default: return -2;
  }
}

static int h_ctrl_str(EVP_PKEY_CTX *ctx, const char *type, const char *value) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  if (!value) return 0;
  if (!strcmp(type, "key")) return set_key(d, value, strlen(value));
  if (!strcmp(type, "key-id")) {
    char ref[5 + VHSM_KEY_ID_MAX + 2];
    int n = snprintf(ref, sizeof ref, "vhsm:%s", strncmp(value, "vhsm:", 5) ? value : value + 5);
    return n > 0 && (size_t)n < sizeof ref && set_key(d, ref, (size_t)n);
  }
  if (!strcmp(type, "hexkey")) {
    long len = 0;
    unsigned char *key = OPENSSL_hexstr2buf(value, &len);
    int ok = key && set_key(d, key, (size_t)len);
    OPENSSL_clear_free(key, (size_t)len);
    return ok;
  }
  return -2;
}

static int h_keygen(EVP_PKEY_CTX *ctx, EVP_PKEY *pkey) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  hmac_key *k = d->key ? key_new(d->key, d->key_len) : NULL;
  if (!d->key) ERR_raise_data(ERR_LIB_ENGINE, ERR_R_PASSED_INVALID_ARGUMENT, "HMAC needs a key (key:vhsm:KEYID)");
  if (k && EVP_PKEY_assign(pkey, EVP_PKEY_HMAC, k)) return 1;
  key_free(k);
  return 0;
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
  if (count) memcpy(d->buf + d->len, data, count);
  d->len += count;
  return 1;
}

static int h_signctx_init(EVP_PKEY_CTX *ctx, EVP_MD_CTX *mctx) {
  hmac_data *d = EVP_PKEY_CTX_get_data(ctx);
  d->len = 0;
  /* the digest itself never runs: the data comes to h_update, the HMAC is computed at the end */
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
  const hmac_key *k = EVP_PKEY_get0(EVP_PKEY_CTX_get0_pkey(ctx));
  const EVP_MD *md = EVP_MD_CTX_get0_md(mctx);
  if (!k || !md) return 0;
  if (!sig) {
    *siglen = (size_t)EVP_MD_get_size(md);
    return 1;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t n = 0;
  if (!k->id[0]) { /* an ordinary key: OpenSSL's HMAC */
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string("digest", (char *)EVP_MD_get0_name(md), 0), OSSL_PARAM_END};
    if (!EVP_Q_mac(NULL, "HMAC", NULL, NULL, params, k->raw, k->raw_len, d->buf, d->len, mac, sizeof mac, &n))
      return 0;
  } else {
    int alg = alg_of(md);
    vhsm *h = alg ? vhsm_eng_handle() : NULL;
    if (alg && !h) return 0;
    int rc = alg ? vhsm_hmac(h, k->id, alg, d->buf, d->len, mac, &n) : VHSM_UNSUPPORTED_MECHANISM;
    if (rc) {
      vhsm_eng_raise(rc, k->id);
      return 0;
    }
  }
  if (n > *siglen) return 0;
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

EVP_PKEY_ASN1_METHOD *vhsm_eng_hmac_asn1(void) {
  if (ameth) return ameth; /* first made in bind */
  if (!(ameth = EVP_PKEY_asn1_new(EVP_PKEY_HMAC, 0, "HMAC", "vhsm HMAC (key id or key)"))) return NULL;
  EVP_PKEY_asn1_set_free(ameth, a_free);
  EVP_PKEY_asn1_set_ctrl(ameth, a_ctrl);
  EVP_PKEY_asn1_set_public(ameth, NULL, NULL, NULL, NULL, a_size, NULL);
  EVP_PKEY_asn1_set_set_priv_key(ameth, a_set_priv_key);
  return ameth;
}

/* Listed methods are freed by OpenSSL itself when the engine goes (engine_pkey_*meths_free). */
void vhsm_eng_hmac_free(void) {
  meth = NULL;
  ameth = NULL;
}

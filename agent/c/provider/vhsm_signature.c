/*
 * SIGNATURE for vhsm keys: ECDSA and RSA hash locally (child context) and send the digest
 * (PREHASHED); Ed25519 sends the whole message. Verification is left to the default provider,
 * which gets the public key through KEYMGMT export.
 */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

#define SMALL_MESSAGE 16384 /* a TLS 1.3 CertificateVerify signs ~130 bytes */

typedef struct {
  vhsm_prov *prov;
  vhsm_key *key;
  char md[32]; /* "" until chosen */
  int pss;
  int saltlen;     /* RSA_PSS_SALTLEN_DIGEST (the appliance's), _AUTO, or a length */
  char mgf1[32];   /* "" or the MGF1 digest asked for; the appliance uses the signing digest */
  EVP_MD_CTX *mdctx;
  /* ECDSA: messages up to SMALL_MESSAGE are sent whole (the appliance signs them with its native
     code, ~10x faster than its prehashed path); longer ones are hashed here from the first byte over */
  unsigned char *msg;
  size_t msg_len;
  int hashing;
} sig_ctx;

static void *sig_newctx(void *provctx, const char *propq) {
  sig_ctx *c = calloc(1, sizeof *c);
  if (c) c->prov = provctx, c->saltlen = RSA_PSS_SALTLEN_DIGEST;
  return c;
}

static void sig_freectx(void *vctx) {
  sig_ctx *c = vctx;
  if (!c) return;
  vhsm_key_unref(c->key);
  EVP_MD_CTX_free(c->mdctx);
  free(c->msg);
  free(c);
}

static void *sig_dupctx(void *vctx) {
  sig_ctx *src = vctx, *c = sig_newctx(src->prov, NULL);
  if (!c) return NULL;
  memcpy(c->md, src->md, sizeof c->md);
  memcpy(c->mgf1, src->mgf1, sizeof c->mgf1);
  c->pss = src->pss;
  c->saltlen = src->saltlen;
  if ((c->key = src->key)) __atomic_add_fetch(&c->key->refs, 1, __ATOMIC_ACQ_REL);
  c->hashing = src->hashing;
  if ((src->msg_len && !(c->msg = malloc(SMALL_MESSAGE))) ||
      (src->mdctx && (!(c->mdctx = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(c->mdctx, src->mdctx)))) {
    sig_freectx(c);
    return NULL;
  }
  if (src->msg_len) memcpy(c->msg, src->msg, c->msg_len = src->msg_len);
  return c;
}

static int hash_of(const sig_ctx *c, size_t digest_len) {
  int alg = c->md[0] ? vhsm_hash_from_name(c->md) : 0;
  if (!alg) alg = digest_len == 48 ? VHSM_SHA384 : digest_len == 64 ? VHSM_SHA512 : VHSM_SHA256;
  return alg;
}

/* The appliance's algorithm number for this key, padding and hash. */
static int sign_alg(const sig_ctx *c, int hash) {
  int offset = hash == VHSM_SHA384 ? 1 : hash == VHSM_SHA512 ? 2 : 0;
  switch (c->key->type) {
  case VHSM_KEY_ED25519: return VHSM_SIGN_ED25519;
  case VHSM_KEY_RSA: return (c->pss ? VHSM_SIGN_RSA_PSS_SHA256 : VHSM_SIGN_RSA_PKCS1_SHA256) + offset;
  default: return VHSM_SIGN_ECDSA_SHA256 + offset;
  }
}

static size_t max_size(const vhsm_key *k) {
  switch (k->type) {
  case VHSM_KEY_ED25519: return 64;
  case VHSM_KEY_ECDSA_P256: return 72;
  case VHSM_KEY_ECDSA_P384: return 104;
  default: return (k->bits + 7) / 8;
  }
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  sig_ctx *c = vctx;
  const OSSL_PARAM *p;
  if (!params) return 1;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST))) {
    const char *name = NULL;
    /* SHA-256/384/512: the appliance signs with nothing weaker */
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || vhsm_hash_from_name(name) < VHSM_SHA256 ||
        strlen(name) >= sizeof c->md) {
      vhsm_prov_raise(c->prov, VHSM_UNSUPPORTED_MECHANISM, "digest %s is not supported by vhsm signing",
                      name ? name : "?");
      return 0;
    }
    strcpy(c->md, name);
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))) {
    int mode = 0;
    const char *s = NULL;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s))
      mode = !strcmp(s, "pss") ? RSA_PKCS1_PSS_PADDING : !strcmp(s, "pkcs1") ? RSA_PKCS1_PADDING : 0;
    else if (!OSSL_PARAM_get_int(p, &mode))
      return 0;
    if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING) {
      vhsm_prov_raise(c->prov, VHSM_UNSUPPORTED_MECHANISM, "vhsm RSA signs with pkcs1 or pss padding only");
      return 0;
    }
    c->pss = mode == RSA_PKCS1_PSS_PADDING;
  }
  /* PSS salt: the appliance always uses the digest length (what TLS 1.3 and X.509 expect); a request
     for another length is refused at signing time, when the digest is known */
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN))) {
    const char *s = NULL;
    if (p->data_type == OSSL_PARAM_UTF8_STRING && OSSL_PARAM_get_utf8_string_ptr(p, &s))
      c->saltlen = !strcmp(s, "digest") ? RSA_PSS_SALTLEN_DIGEST : !strcmp(s, "auto") ? RSA_PSS_SALTLEN_AUTO
                   : !strcmp(s, "max") ? RSA_PSS_SALTLEN_MAX : atoi(s);
    else if (!OSSL_PARAM_get_int(p, &c->saltlen))
      return 0;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST))) {
    const char *name = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || strlen(name) >= sizeof c->mgf1) return 0;
    strcpy(c->mgf1, name);
  }
  return 1;
}

/* PSS as the appliance does it: salt = digest length, MGF1 with the signing digest. */
static int pss_supported(const sig_ctx *c, int hash) {
  int salt_ok = c->saltlen == RSA_PSS_SALTLEN_DIGEST || c->saltlen == RSA_PSS_SALTLEN_AUTO ||
                (c->saltlen > 0 && (size_t)c->saltlen == vhsm_hash_size(hash));
  int mgf1_ok = !c->mgf1[0] || vhsm_hash_from_name(c->mgf1) == hash;
  if (salt_ok && mgf1_ok) return 1;
  vhsm_prov_raise(c->prov, VHSM_UNSUPPORTED_MECHANISM,
                  "vhsm RSA-PSS uses salt length = digest length and MGF1 with the signing digest");
  return 0;
}

static int sig_init(sig_ctx *c, void *keydata, const char *mdname, const OSSL_PARAM params[]) {
  vhsm_key *k = keydata;
  if (!k || !k->id[0]) return 0;
  __atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
  vhsm_key_unref(c->key);
  c->key = k;
  c->msg_len = 0;
  c->hashing = 0;
  if (mdname && *mdname) {
    OSSL_PARAM md[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)mdname, 0), OSSL_PARAM_END};
    if (!sig_set_ctx_params(c, md)) return 0;
  }
  return sig_set_ctx_params(c, params);
}

static int sig_sign_init(void *vctx, void *keydata, const OSSL_PARAM params[]) {
  return sig_init(vctx, keydata, NULL, params);
}

static int do_sign(sig_ctx *c, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *data,
                   size_t len, int prehashed) {
  if (!sig) {
    *siglen = max_size(c->key);
    return 1;
  }
  int hash = hash_of(c, len);
  if (c->pss && c->key->type == VHSM_KEY_RSA && !pss_supported(c, hash)) return 0;
  vhsm *h = vhsm_prov_handle(c->prov);
  if (!h) return 0;
  size_t cap = sigsize;
  int rc = vhsm_sign(h, c->key->id, sign_alg(c, hash), prehashed ? VHSM_SIGN_PREHASHED : 0, data, len,
                     sig, &cap);
  if (rc) {
    vhsm_prov_raise_from(c->prov, rc, c->key->id);
    return 0;
  }
  *siglen = cap;
  return 1;
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                    size_t tbslen) {
  sig_ctx *c = vctx;
  return do_sign(c, sig, siglen, sigsize, tbs, tbslen, c->key->type != VHSM_KEY_ED25519);
}

static int sig_digest_sign_init(void *vctx, const char *mdname, void *keydata, const OSSL_PARAM params[]) {
  sig_ctx *c = vctx;
  if (!sig_init(c, keydata, mdname, params)) return 0;
  if (c->key->type == VHSM_KEY_ED25519) {
    if (c->md[0]) return 0; /* pure Ed25519 takes no digest */
    return 1;
  }
  EVP_MD *md = EVP_MD_fetch(c->prov->libctx, c->md[0] ? c->md : "SHA256", "provider!=vhsm");
  if (!c->mdctx) c->mdctx = EVP_MD_CTX_new();
  int ok = md && c->mdctx && EVP_DigestInit_ex2(c->mdctx, md, NULL);
  if (ok && !c->md[0]) strcpy(c->md, "SHA256");
  EVP_MD_free(md);
  return ok;
}

static int sig_digest_sign_update(void *vctx, const unsigned char *data, size_t len) {
  sig_ctx *c = vctx;
  int small = c->key->type == VHSM_KEY_ECDSA_P256 || c->key->type == VHSM_KEY_ECDSA_P384;
  if (small && !c->hashing && len <= SMALL_MESSAGE - c->msg_len) {
    if (!c->msg && !(c->msg = malloc(SMALL_MESSAGE))) return 0;
    memcpy(c->msg + c->msg_len, data, len);
    c->msg_len += len;
    return 1;
  }
  if (!c->mdctx) return 0;
  if (c->msg_len && !EVP_DigestUpdate(c->mdctx, c->msg, c->msg_len)) return 0;
  c->msg_len = 0;
  c->hashing = 1;
  return EVP_DigestUpdate(c->mdctx, data, len);
}

static int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize) {
  sig_ctx *c = vctx;
  if (!sig) return do_sign(c, NULL, siglen, 0, NULL, 0, 1);
  if (!c->hashing && c->key->type != VHSM_KEY_RSA) { /* a small ECDSA message, sent whole */
    int ok = do_sign(c, sig, siglen, sigsize, c->msg ? c->msg : (const unsigned char *)"", c->msg_len, 0);
    c->msg_len = 0;
    return ok;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (!c->mdctx || !EVP_DigestFinal_ex(c->mdctx, digest, &dlen)) return 0;
  return do_sign(c, sig, siglen, sigsize, digest, dlen, 1);
}

static int sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                           size_t tbslen) {
  sig_ctx *c = vctx;
  if (c->key->type == VHSM_KEY_ED25519) return do_sign(c, sig, siglen, sigsize, tbs, tbslen, 0);
  if (!sig) return do_sign(c, NULL, siglen, 0, NULL, 0, 1);
  return sig_digest_sign_update(c, tbs, tbslen) && sig_digest_sign_final(c, sig, siglen, sigsize);
}

/* DER AlgorithmIdentifiers, so certificates and requests can be signed. */
static const unsigned char AID_ED25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char AID_ECDSA[3][12] = {
    {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02},
    {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03},
    {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}};
static const unsigned char AID_RSA[3][15] = {
    {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00},
    {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00},
    {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}};
/* RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (as OpenSSL writes it); the hash and the salt are patched */
static const unsigned char AID_PSS_SHA256[67] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f,
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c,
    0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
enum { PSS_HASH_AT = 29, PSS_MGF1_HASH_AT = 59, PSS_SALT_AT = 66 };

static int set_pss_aid(const sig_ctx *c, OSSL_PARAM *p, int hash) {
  unsigned char aid[sizeof AID_PSS_SHA256];
  if (!pss_supported(c, hash)) return 0;
  memcpy(aid, AID_PSS_SHA256, sizeof aid);
  aid[PSS_HASH_AT] = aid[PSS_MGF1_HASH_AT] = (unsigned char)(hash - VHSM_SHA256 + 1); /* sha256/384/512 OIDs */
  aid[PSS_SALT_AT] = (unsigned char)vhsm_hash_size(hash);
  return OSSL_PARAM_set_octet_string(p, aid, sizeof aid);
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  sig_ctx *c = vctx;
  OSSL_PARAM *p;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) && !OSSL_PARAM_set_utf8_string(p, c->md))
    return 0;
  if (c->key && (p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID))) {
    int hash = hash_of(c, 32), i = hash - VHSM_SHA256;
    switch (c->key->type) {
    case VHSM_KEY_ED25519: return OSSL_PARAM_set_octet_string(p, AID_ED25519, sizeof AID_ED25519);
    case VHSM_KEY_RSA:
      return c->pss ? set_pss_aid(c, p, hash) : OSSL_PARAM_set_octet_string(p, AID_RSA[i], sizeof AID_RSA[i]);
    default: return OSSL_PARAM_set_octet_string(p, AID_ECDSA[i], sizeof AID_ECDSA[i]);
    }
  }
  return 1;
}

static const OSSL_PARAM *sig_gettable_ctx_params(void *vctx, void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0), OSSL_PARAM_END};
  return params;
}

static const OSSL_PARAM *sig_settable_ctx_params(void *vctx, void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
                                      OSSL_PARAM_END};
  return params;
}

#define SIG_COMMON                                                                                            \
  {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx},                                                   \
      {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},                                             \
      {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},                                               \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},                           \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign},                                     \
      {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},                               \
      {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable_ctx_params},                     \
      {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},                               \
  {                                                                                                           \
    OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params                          \
  }

const OSSL_DISPATCH vhsm_ed25519_signature_functions[] = {SIG_COMMON, {0, NULL}};

#define SIG_HASHED                                                                                            \
  SIG_COMMON, {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},                                 \
      {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},                                                   \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update},                       \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final}, {0, NULL}

const OSSL_DISPATCH vhsm_ecdsa_signature_functions[] = {SIG_HASHED};
const OSSL_DISPATCH vhsm_rsa_signature_functions[] = {SIG_HASHED};

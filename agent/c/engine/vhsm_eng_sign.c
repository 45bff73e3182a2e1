/*
 * EVP_PKEY methods for keys loaded as "vhsm:KEYID": copies of OpenSSL's own RSA, EC and ED25519
 * methods (so verification, parameters and ctrls behave as usual) whose sign step sends the digest
 * (RSA, ECDSA: PREHASHED) or the message (Ed25519) to the appliance. A key the engine did not load
 * goes to OpenSSL's original sign. These methods are not advertised in the engine's nid lists (only
 * HMAC is), so ENGINE_set_default never routes file keys here: only keys bound with
 * EVP_PKEY_set1_engine use them.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>

#include "vhsm_eng.h"

enum { M_RSA, M_EC, M_ED25519, M_COUNT };
static const int NIDS[M_COUNT] = {EVP_PKEY_RSA, EVP_PKEY_EC, EVP_PKEY_ED25519};
static EVP_PKEY_METHOD *meths[M_COUNT];
static EVP_PKEY_ASN1_METHOD *ed25519_asn1;
typedef int sign_fn(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
typedef int digestsign_fn(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
static sign_fn *orig_sign[M_COUNT];
static digestsign_fn *orig_digestsign;

static int hash_of(EVP_PKEY_CTX *ctx, size_t tbslen) {
  const EVP_MD *md = NULL;
  if (EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || !md) /* no digest set: infer it from the length */
    return tbslen == 48 ? VHSM_SHA384 : tbslen == 64 ? VHSM_SHA512 : tbslen == 32 ? VHSM_SHA256 : 0;
  if ((size_t)EVP_MD_get_size(md) != tbslen) return 0;
  switch (EVP_MD_get_type(md)) {
  case NID_sha256: return VHSM_SHA256;
  case NID_sha384: return VHSM_SHA384;
  case NID_sha512: return VHSM_SHA512;
  default: return 0;
  }
}

/* The appliance algorithm for an RSA context: PKCS#1 v1.5, or PSS with salt = digest length. */
static int rsa_alg(EVP_PKEY_CTX *ctx, int hash) {
  int pad = RSA_PKCS1_PADDING, salt = RSA_PSS_SALTLEN_DIGEST, offset = hash - VHSM_SHA256;
  const EVP_MD *mgf1 = NULL;
  EVP_PKEY_CTX_get_rsa_padding(ctx, &pad);
  if (pad == RSA_PKCS1_PADDING) return VHSM_SIGN_RSA_PKCS1_SHA256 + offset;
  if (pad != RSA_PKCS1_PSS_PADDING) return 0;
  EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &salt);
  if (EVP_PKEY_CTX_get_rsa_mgf1_md(ctx, &mgf1) > 0 && mgf1 && vhsm_hash_size(hash) != (size_t)EVP_MD_get_size(mgf1))
    return 0;
  /* auto (the legacy signing default) leaves the choice to the signer: the appliance uses the digest length */
  if (salt != RSA_PSS_SALTLEN_DIGEST && salt != RSA_PSS_SALTLEN_AUTO && (size_t)salt != vhsm_hash_size(hash))
    return 0;
  return VHSM_SIGN_RSA_PSS_SHA256 + offset;
}

static int appliance_sign(EVP_PKEY *pkey, const char *id, int alg, unsigned flags, unsigned char *sig,
                          size_t *siglen, const unsigned char *tbs, size_t tbslen) {
  size_t max = (size_t)EVP_PKEY_get_size(pkey);
  if (!sig) {
    *siglen = max;
    return 1;
  }
  if (!alg) {
    vhsm_eng_raise(VHSM_UNSUPPORTED_MECHANISM, id);
    return 0;
  }
  vhsm *h = vhsm_eng_handle();
  if (!h) return 0;
  unsigned char buf[1024]; /* the largest signature: RSA-8192 */
  size_t n = sizeof buf;
  int rc = vhsm_sign(h, id, alg, flags, tbs, tbslen, buf, &n);
  if (!rc && n > *siglen) rc = VHSM_BAD_ARGUMENTS;
  if (rc) {
    vhsm_eng_raise(rc, id);
    return 0;
  }
  memcpy(sig, buf, n);
  *siglen = n;
  return 1;
}

static int rsa_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs, size_t tbslen) {
  EVP_PKEY *pkey = EVP_PKEY_CTX_get0_pkey(ctx);
  const char *id = vhsm_eng_key_id(pkey);
  if (!id) return orig_sign[M_RSA](ctx, sig, siglen, tbs, tbslen);
  int hash = hash_of(ctx, tbslen);
  int alg = hash ? rsa_alg(ctx, hash) : 0;
  return appliance_sign(pkey, id, alg, VHSM_SIGN_PREHASHED, sig, siglen, tbs, tbslen);
}

static int ec_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs, size_t tbslen) {
  EVP_PKEY *pkey = EVP_PKEY_CTX_get0_pkey(ctx);
  const char *id = vhsm_eng_key_id(pkey);
  if (!id) return orig_sign[M_EC](ctx, sig, siglen, tbs, tbslen);
  int hash = hash_of(ctx, tbslen);
  int alg = hash ? VHSM_SIGN_ECDSA_SHA256 + hash - VHSM_SHA256 : 0;
  return appliance_sign(pkey, id, alg, VHSM_SIGN_PREHASHED, sig, siglen, tbs, tbslen);
}

/* Ed25519 signs the whole message (pure EdDSA), in one call. */
static int ed25519_digestsign(EVP_MD_CTX *mctx, unsigned char *sig, size_t *siglen, const unsigned char *tbs,
                              size_t tbslen) {
  EVP_PKEY *pkey = EVP_PKEY_CTX_get0_pkey(EVP_MD_CTX_get_pkey_ctx(mctx));
  const char *id = vhsm_eng_key_id(pkey);
  if (!id) return orig_digestsign(mctx, sig, siglen, tbs, tbslen);
  return appliance_sign(pkey, id, VHSM_SIGN_ED25519, 0, sig, siglen, tbs, tbslen);
}

static EVP_PKEY_METHOD *make(int i) {
  const EVP_PKEY_METHOD *std = EVP_PKEY_meth_find(NIDS[i]);
  int id = 0, flags = 0;
  if (!std) return NULL;
  EVP_PKEY_meth_get0_info(&id, &flags, std);
  EVP_PKEY_METHOD *m = EVP_PKEY_meth_new(id, flags);
  if (!m) return NULL;
  EVP_PKEY_meth_copy(m, std);
  if (i == M_ED25519) {
    EVP_PKEY_meth_get_digestsign(std, &orig_digestsign);
    EVP_PKEY_meth_set_digestsign(m, ed25519_digestsign);
  } else {
    int (*init)(EVP_PKEY_CTX *) = NULL;
    EVP_PKEY_meth_get_sign(std, &init, &orig_sign[i]);
    EVP_PKEY_meth_set_sign(m, init, i == M_RSA ? rsa_sign : ec_sign);
  }
  return m;
}

EVP_PKEY_METHOD *vhsm_eng_sign_meth(int nid) {
  for (int i = 0; i < M_COUNT; i++) {
    if (NIDS[i] != nid) continue;
    if (!meths[i]) meths[i] = make(i); /* first made in bind, before any thread can get here */
    return meths[i];
  }
  return NULL;
}

static const int ADVERTISED[1] = {EVP_PKEY_HMAC}; /* see the comment at the top */

int vhsm_eng_pkey_meths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid) {
  if (!pmeth) {
    *nids = ADVERTISED;
    return 1;
  }
  *pmeth = nid == EVP_PKEY_HMAC ? vhsm_eng_hmac_meth() : vhsm_eng_sign_meth(nid);
  return *pmeth != NULL;
}

/*
 * ASN.1 methods: HMAC's (OpenSSL 3.0 has no legacy one), and a copy of OpenSSL's Ed25519 one, which
 * EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, e, ...) needs to make a legacy key bound to the engine.
 */
int vhsm_eng_asn1_meths(ENGINE *e, EVP_PKEY_ASN1_METHOD **ameth, const int **nids, int nid) {
  if (!ameth) {
    *nids = ADVERTISED;
    return 1;
  }
  if (nid == EVP_PKEY_ED25519 && !ed25519_asn1) {
    const EVP_PKEY_ASN1_METHOD *std = EVP_PKEY_asn1_find(NULL, EVP_PKEY_ED25519);
    if (std && (ed25519_asn1 = EVP_PKEY_asn1_new(EVP_PKEY_ED25519, 0, "ED25519", "vhsm ED25519")))
      EVP_PKEY_asn1_copy(ed25519_asn1, std);
  }
  *ameth = nid == EVP_PKEY_ED25519 ? ed25519_asn1 : nid == EVP_PKEY_HMAC ? vhsm_eng_hmac_asn1() : NULL;
  return *ameth != NULL;
}

void vhsm_eng_meths_free(void) {
  for (int i = 0; i < M_COUNT; i++) {
    EVP_PKEY_meth_free(meths[i]);
    meths[i] = NULL;
  }
  EVP_PKEY_asn1_free(ed25519_asn1);
  ed25519_asn1 = NULL;
}

/*
 * KEYMGMT for vhsm key references (Ed25519, EC, RSA). The private half never leaves the appliance;
 * EXPORT hands out the public half so verification (and certificates) can use the default provider.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

const char *vhsm_key_type_name(int type) {
  switch (type) {
  case VHSM_KEY_ED25519: return "ED25519";
  case VHSM_KEY_ECDSA_P256:
  case VHSM_KEY_ECDSA_P384: return "EC";
  case VHSM_KEY_RSA: return "RSA";
  default: return NULL;
  }
}

vhsm_key *vhsm_key_load_by_id(vhsm_prov *p, const char *id) {
  vhsm *h = vhsm_prov_handle(p);
  if (!h) return NULL;
  vhsm_key_info info;
  int rc = vhsm_key_get_info(h, id, &info);
  if (rc) {
    vhsm_prov_raise_from(p, rc, id);
    return NULL;
  }
  if (!vhsm_key_type_name((int)info.type)) {
    vhsm_prov_raise(p, VHSM_UNSUPPORTED_MECHANISM, "%s: key type %u is not a signing key", id, info.type);
    return NULL;
  }
  unsigned char *der = NULL;
  size_t der_len = 0;
  if ((rc = vhsm_key_public(h, id, VHSM_FORMAT_DER, &der, &der_len))) {
    vhsm_prov_raise_from(p, rc, id);
    return NULL;
  }
  const unsigned char *q = der;
  EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &q, (long)der_len, p->libctx, "provider!=vhsm");
  vhsm_free(der);
  vhsm_key *k = pub ? calloc(1, sizeof *k) : NULL;
  if (!k) {
    EVP_PKEY_free(pub);
    vhsm_prov_raise(p, VHSM_INTERNAL, "%s: cannot parse the public key", id);
    return NULL;
  }
  k->prov = p;
  k->refs = 1;
  strcpy(k->id, info.id);
  k->type = (int)info.type;
  k->bits = info.bits;
  k->pub = pub;
  return k;
}

void vhsm_key_unref(vhsm_key *k) {
  if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  EVP_PKEY_free(k->pub);
  free(k);
}

static void *km_new(void *provctx) {
  vhsm_key *k = calloc(1, sizeof *k);
  if (k) k->prov = provctx, k->refs = 1;
  return k;
}

static void km_free(void *keydata) {
  vhsm_key_unref(keydata);
}

/* The STORE loader passes a vhsm_key pointer by reference; each load takes one more reference. */
static void *km_load(const void *reference, size_t size) {
  if (size != sizeof(vhsm_key *)) return NULL;
  vhsm_key *k = *(vhsm_key *const *)reference;
  __atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
  return k;
}

static int km_has(const void *keydata, int selection) {
  const vhsm_key *k = keydata;
  if (!k || !k->pub) return 0;
  /* the private key is "present": it is in the appliance, usable by reference */
  return 1;
}

static int km_get_params(void *keydata, OSSL_PARAM params[]) {
  vhsm_key *k = keydata;
  if (!k->pub) return 0;
  OSSL_PARAM *p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) && k->type == VHSM_KEY_ECDSA_P384)
    return EVP_PKEY_get_params(k->pub, params) && OSSL_PARAM_set_int(p, 104);
  return EVP_PKEY_get_params(k->pub, params);
}

static const OSSL_PARAM *km_gettable_params(void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
                                      OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
                                      OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
                                      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
                                      OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
                                      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
                                      OSSL_PARAM_END};
  return params;
}

static int km_match(const void *a, const void *b, int selection) {
  const vhsm_key *x = a, *y = b;
  if (!x->pub || !y->pub) return 0;
  return EVP_PKEY_eq(x->pub, y->pub) == 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg) {
  vhsm_key *k = keydata;
  if (!k->pub) return 0;
  /* asked for everything (as when moving the key to another provider): give what exists outside */
  int sel = selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
  if (!sel) return 0;
  return EVP_PKEY_export(k->pub, sel, cb, cbarg);
}

static const OSSL_PARAM *km_export_types(int selection) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
                                      OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                      OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
                                      OSSL_PARAM_END};
  return params;
}

static const char *km_ed25519_name(int op) {
  return op == OSSL_OP_SIGNATURE ? "ED25519" : NULL;
}
static const char *km_ec_name(int op) {
  return op == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}
static const char *km_rsa_name(int op) {
  return op == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

#define KEYMGMT_TABLE(name, opname)                                                                           \
  const OSSL_DISPATCH vhsm_##name##_keymgmt_functions[] = {                                                   \
      {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},                                                        \
      {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                                                      \
      {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},                                                      \
      {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                                        \
      {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                                          \
      {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},                                \
      {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                                                    \
      {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},                                                  \
      {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types},                                      \
      {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))opname},                                       \
      {0, NULL}};

KEYMGMT_TABLE(ed25519, km_ed25519_name)
KEYMGMT_TABLE(ec, km_ec_name)
KEYMGMT_TABLE(rsa, km_rsa_name)

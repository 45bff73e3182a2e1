/* Provider entry point: init, teardown, parameters, reason strings and the algorithm tables. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

#define PROPS "provider=vhsm"

static const OSSL_ALGORITHM vhsm_macs[] = {
    {"HMAC", PROPS, vhsm_hmac_mac_functions, "HMAC keyed by a key id held in the vhsm appliance"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM vhsm_rands[] = {
    {"VHSM-RAND", PROPS, vhsm_rand_functions, "random bytes from the vhsm appliance"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM vhsm_stores[] = {
    {"vhsm", PROPS, vhsm_store_functions, "vhsm:KEYID references to keys in the appliance"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM vhsm_keymgmts[] = {
    {"ED25519:1.3.101.112", PROPS, vhsm_ed25519_keymgmt_functions, "vhsm Ed25519 key reference"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", PROPS, vhsm_ec_keymgmt_functions, "vhsm ECDSA key reference"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, vhsm_rsa_keymgmt_functions, "vhsm RSA key reference"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM vhsm_signatures[] = {
    {"ED25519:1.3.101.112", PROPS, vhsm_ed25519_signature_functions, "Ed25519 in the vhsm appliance"},
    {"ECDSA", PROPS, vhsm_ecdsa_signature_functions, "ECDSA in the vhsm appliance"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, vhsm_rsa_signature_functions, "RSA in the vhsm appliance"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *vhsm_query(void *provctx, int operation_id, int *no_cache) {
  *no_cache = 0;
  switch (operation_id) {
  case OSSL_OP_MAC: return vhsm_macs;
  case OSSL_OP_RAND: return vhsm_rands;
  case OSSL_OP_STORE: return vhsm_stores;
  case OSSL_OP_KEYMGMT: return vhsm_keymgmts;
  case OSSL_OP_SIGNATURE: return vhsm_signatures;
  default: return NULL;
  }
}

static const OSSL_PARAM *vhsm_gettable_params(void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
                                      OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
                                      OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
                                      OSSL_PARAM_END};
  return params;
}

static int vhsm_get_params(void *provctx, OSSL_PARAM params[]) {
  OSSL_PARAM *p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) && !OSSL_PARAM_set_utf8_ptr(p, "vhsm provider"))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) && !OSSL_PARAM_set_utf8_ptr(p, vhsm_version()))
    return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) && !OSSL_PARAM_set_int(p, 1)) return 0;
  return 1;
}

/* Reason codes are the vhsm status codes, so an OpenSSL error line names the same code as the docs. */
static const OSSL_ITEM *vhsm_reason_strings(void *provctx) {
  static OSSL_ITEM reasons[80];
  static int filled;
  if (!filled) {
    size_t n = 0;
    for (int code = 1; code < 128 && n + 1 < sizeof reasons / sizeof reasons[0]; code++) {
      if (strcmp(vhsm_status_name(code), "UNKNOWN_STATUS") == 0) continue;
      reasons[n].id = (unsigned)code;
      reasons[n].ptr = (void *)vhsm_status_name(code);
      n++;
    }
    filled = 1;
  }
  return reasons;
}

static void vhsm_teardown(void *provctx) {
  vhsm_prov *p = provctx;
  vhsm_close(p->h);
  OSSL_LIB_CTX_free(p->libctx);
  vhsm_prov_unconfigure(p);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static const OSSL_DISPATCH vhsm_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))vhsm_teardown},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))vhsm_query},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))vhsm_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))vhsm_get_params},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))vhsm_reason_strings},
    {0, NULL}};

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *core,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out, void **provctx) {
  vhsm_prov *p = calloc(1, sizeof *p);
  if (!p) return 0;
  p->core = core;
  pthread_mutex_init(&p->lock, NULL);
  if (!vhsm_prov_configure(p, in) || !(p->libctx = OSSL_LIB_CTX_new_child(core, in))) {
    vhsm_prov_unconfigure(p);
    free(p);
    return 0;
  }
  *out = vhsm_dispatch;
  *provctx = p;
  return 1;
}

/* STORE loader for "vhsm:KEYID": yields a key object by reference; the key stays in the appliance. */
#include <openssl/core_object.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

typedef struct {
  vhsm_prov *prov;
  char id[VHSM_KEY_ID_MAX + 1];
  int done;
} store_ctx;

static void *store_open(void *provctx, const char *uri) {
  store_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->prov = provctx;
  if (strncmp(uri, "vhsm:", 5) != 0 || !vhsm_parse_key_id(uri, c->id)) {
    free(c);
    return NULL; /* not ours: other loaders (file:) get their turn */
  }
  return c;
}

static int store_load(void *vctx, OSSL_CALLBACK *object_cb, void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb,
                      void *pw_cbarg) {
  store_ctx *c = vctx;
  c->done = 1;
  vhsm_key *k = vhsm_key_load_by_id(c->prov, c->id);
  if (!k) return 0;
  int object_type = OSSL_OBJECT_PKEY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
      OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)vhsm_key_type_name(k->type), 0),
      OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &k, sizeof k),
      OSSL_PARAM_END};
  int ok = object_cb(params, object_cbarg);
  vhsm_key_unref(k); /* the key object took its own reference in KEYMGMT_LOAD */
  return ok;
}

static int store_eof(void *vctx) {
  return ((store_ctx *)vctx)->done;
}

static int store_close(void *vctx) {
  free(vctx);
  return 1;
}

static int store_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
  return 1; /* expected type / search criteria: a vhsm: URI names exactly one key */
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL), OSSL_PARAM_END};
  return params;
}

const OSSL_DISPATCH vhsm_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params},
    {0, NULL}};

/*
 * RAND "VHSM-RAND": random bytes from the appliance. Selected with openssl.cnf
 * ([random] random = VHSM-RAND) or EVP_RAND_fetch(ctx, "VHSM-RAND", NULL). It needs no parent.
 */
#include <openssl/evp.h>
#include <stdlib.h>

#include "vhsm_prov.h"

typedef struct {
  vhsm_prov *prov;
  int state;
  pthread_mutex_t *lock;
} rand_ctx;

static void *rand_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls) {
  rand_ctx *c = calloc(1, sizeof *c);
  if (c) c->prov = provctx, c->state = EVP_RAND_STATE_UNINITIALISED;
  return c;
}

static void rand_freectx(void *vctx) {
  rand_ctx *c = vctx;
  if (!c) return;
  if (c->lock) {
    pthread_mutex_destroy(c->lock);
    free(c->lock);
  }
  free(c);
}

static int rand_instantiate(void *vctx, unsigned int strength, int prediction_resistance,
                            const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[]) {
  rand_ctx *c = vctx;
  c->state = EVP_RAND_STATE_READY;
  return 1;
}

static int rand_uninstantiate(void *vctx) {
  ((rand_ctx *)vctx)->state = EVP_RAND_STATE_UNINITIALISED;
  return 1;
}

static int rand_generate(void *vctx, unsigned char *out, size_t outlen, unsigned int strength,
                         int prediction_resistance, const unsigned char *adin, size_t adinlen) {
  rand_ctx *c = vctx;
  vhsm *h = vhsm_prov_handle(c->prov);
  if (!h) return 0;
  int rc = vhsm_random(h, out, outlen);
  if (rc) {
    c->state = EVP_RAND_STATE_ERROR;
    vhsm_prov_raise_from(c->prov, rc, "random");
    return 0;
  }
  return 1;
}

static int rand_reseed(void *vctx, int prediction_resistance, const unsigned char *ent, size_t ent_len,
                       const unsigned char *adin, size_t adin_len) {
  return 1; /* the appliance's generator is seeded and reseeded by the appliance */
}

static int rand_enable_locking(void *vctx) {
  rand_ctx *c = vctx;
  if (c->lock) return 1;
  if (!(c->lock = malloc(sizeof *c->lock))) return 0;
  pthread_mutex_init(c->lock, NULL);
  return 1;
}

static int rand_lock(void *vctx) {
  rand_ctx *c = vctx;
  return !c->lock || pthread_mutex_lock(c->lock) == 0;
}

static void rand_unlock(void *vctx) {
  rand_ctx *c = vctx;
  if (c->lock) pthread_mutex_unlock(c->lock);
}

static const OSSL_PARAM *rand_gettable_ctx_params(void *vctx, void *provctx) {
  static const OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
                                      OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
                                      OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL), OSSL_PARAM_END};
  return params;
}

static int rand_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
  rand_ctx *c = vctx;
  OSSL_PARAM *p;
  if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE)) && !OSSL_PARAM_set_int(p, c->state)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH)) && !OSSL_PARAM_set_uint(p, 256)) return 0;
  if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST)) && !OSSL_PARAM_set_size_t(p, 1 << 16))
    return 0;
  return 1;
}

static int rand_verify_zeroization(void *vctx) {
  return 1; /* no state is kept here */
}

const OSSL_DISPATCH vhsm_rand_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, (void (*)(void))rand_newctx},
    {OSSL_FUNC_RAND_FREECTX, (void (*)(void))rand_freectx},
    {OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))rand_instantiate},
    {OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))rand_uninstantiate},
    {OSSL_FUNC_RAND_GENERATE, (void (*)(void))rand_generate},
    {OSSL_FUNC_RAND_RESEED, (void (*)(void))rand_reseed},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))rand_enable_locking},
    {OSSL_FUNC_RAND_LOCK, (void (*)(void))rand_lock},
    {OSSL_FUNC_RAND_UNLOCK, (void (*)(void))rand_unlock},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))rand_gettable_ctx_params},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))rand_get_ctx_params},
    {OSSL_FUNC_RAND_VERIFY_ZEROIZATION, (void (*)(void))rand_verify_zeroization},
    {0, NULL}};

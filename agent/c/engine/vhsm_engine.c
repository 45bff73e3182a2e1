/* ENGINE entry points (bind_engine / v_check) and the engine's connection. */
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_eng.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static vhsm *handle;

vhsm *vhsm_eng_handle(void) {
  pthread_mutex_lock(&lock);
  if (!handle) {
    char pin[256] = "", error[512] = "";
    vhsm_options opt = {0};
    opt.user = getenv("VHSM_USER");
    opt.client_name = "vhsm-openssl-engine";
    opt.error = error;
    opt.error_len = sizeof error;
    const char *file = getenv("VHSM_PIN_FILE"), *env = getenv("VHSM_PIN");
    if (opt.user && file && *file) {
      FILE *f = fopen(file, "r");
      size_t n = f ? fread(pin, 1, sizeof pin - 1, f) : 0;
      if (f) fclose(f);
      while (n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r')) n--;
      pin[n] = 0;
    } else if (opt.user && env) {
      snprintf(pin, sizeof pin, "%s", env);
    }
    if (opt.user) opt.pin = pin, opt.pin_len = strlen(pin);
    int rc = vhsm_open(&opt, &handle);
    OPENSSL_cleanse(pin, sizeof pin);
    if (rc) {
      ERR_raise_data(ERR_LIB_ENGINE, ERR_R_OPERATION_FAIL, "vhsm: %s: %s", vhsm_status_name(rc),
                     *error ? error : vhsm_strerror(rc));
    }
  }
  pthread_mutex_unlock(&lock);
  return handle;
}

void vhsm_eng_raise(int status, const char *what) {
  const char *msg = handle ? vhsm_last_message(handle) : "";
  ERR_raise_data(ERR_LIB_ENGINE, ERR_R_OPERATION_FAIL, "vhsm: %s: %s: %s", what, vhsm_status_name(status),
                 *msg ? msg : vhsm_strerror(status));
}

static ENGINE *self;
ENGINE *vhsm_eng_self(void) {
  return self;
}

void vhsm_eng_close(void) {
  pthread_mutex_lock(&lock);
  vhsm_close(handle);
  handle = NULL;
  pthread_mutex_unlock(&lock);
}

static int eng_destroy(ENGINE *e) {
  vhsm_eng_digests_free();
  vhsm_eng_meths_free();
  vhsm_eng_hmac_free();
  vhsm_eng_keys_free();
  self = NULL;
  vhsm_eng_close();
  return 1;
}

static int bind(ENGINE *e, const char *id) {
  if (id && strcmp(id, "vhsm") != 0) return 0;
  if (self) { /* the methods are per process (and OpenSSL frees the listed ones with the engine) */
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_OPERATION_FAIL,
                   "the vhsm engine is already loaded in this process: use ENGINE_by_id(\"vhsm\")");
    return 0;
  }
  self = e;
  /* the methods are made now, while only this thread can see the engine */
  EVP_PKEY_ASN1_METHOD *ameth = NULL;
  if (!vhsm_eng_hmac_meth() || !vhsm_eng_sign_meth(EVP_PKEY_RSA) || !vhsm_eng_sign_meth(EVP_PKEY_EC) ||
      !vhsm_eng_sign_meth(EVP_PKEY_ED25519) || !vhsm_eng_asn1_meths(e, &ameth, NULL, EVP_PKEY_ED25519) ||
      !vhsm_eng_asn1_meths(e, &ameth, NULL, EVP_PKEY_HMAC))
    return 0;
  return ENGINE_set_id(e, "vhsm") && ENGINE_set_name(e, "vhsm appliance engine (digests, HMAC, signing keys)") &&
         ENGINE_set_digests(e, vhsm_eng_digests) && ENGINE_set_pkey_meths(e, vhsm_eng_pkey_meths) &&
         ENGINE_set_pkey_asn1_meths(e, vhsm_eng_asn1_meths) &&
         ENGINE_set_load_privkey_function(e, vhsm_eng_load_privkey) && ENGINE_set_destroy_function(e, eng_destroy);
}

#define VHSM_EXPORT __attribute__((visibility("default")))
VHSM_EXPORT IMPLEMENT_DYNAMIC_CHECK_FN()
VHSM_EXPORT IMPLEMENT_DYNAMIC_BIND_FN(bind)

/*
 * ENGINE_load_private_key(e, "vhsm:KEYID"): a legacy EVP_PKEY holding the public half of an appliance
 * key, bound to this engine (EVP_PKEY_set1_engine) so every EVP_PKEY_CTX made for it uses the
 * engine's methods, whose sign calls the appliance. The private half never exists here.
 */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_eng.h"

typedef struct key_rec {
  struct key_rec *next;
  char id[VHSM_KEY_ID_MAX + 1];
} key_rec;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static key_rec *records;
static int ex_index = -1;

const char *vhsm_eng_key_attach(EVP_PKEY *pkey, const char *id) {
  key_rec *r = calloc(1, sizeof *r);
  if (!r || strlen(id) > VHSM_KEY_ID_MAX) {
    free(r);
    return NULL;
  }
  strcpy(r->id, id);
  pthread_mutex_lock(&lock);
  if (ex_index < 0) ex_index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  r->next = records;
  records = r;
  int idx = ex_index;
  pthread_mutex_unlock(&lock);
  return idx >= 0 && EVP_PKEY_set_ex_data(pkey, idx, r) ? r->id : NULL;
}

const char *vhsm_eng_key_id(const EVP_PKEY *pkey) {
  if (!pkey || ex_index < 0) return NULL;
  const key_rec *r = EVP_PKEY_get_ex_data(pkey, ex_index);
  return r ? r->id : NULL;
}

void vhsm_eng_keys_free(void) {
  pthread_mutex_lock(&lock);
  while (records) {
    key_rec *next = records->next;
    free(records);
    records = next;
  }
  pthread_mutex_unlock(&lock);
}

/* SubjectPublicKeyInfo of an Ed25519 key: this 12-byte prefix, then the 32-byte key. */
static const unsigned char ED25519_SPKI[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* A legacy (non-provider) key: only those can be bound to an engine's methods in OpenSSL 3.0. */
static EVP_PKEY *legacy_public(ENGINE *e, unsigned type, const unsigned char *der, size_t len) {
  const unsigned char *q = der;
  EVP_PKEY *pkey = NULL;
  if (type == VHSM_KEY_ED25519) {
    if (len == 44 && !memcmp(der, ED25519_SPKI, sizeof ED25519_SPKI))
      pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, e, der + 12, 32);
  } else if (type == VHSM_KEY_RSA) {
    RSA *rsa = d2i_RSA_PUBKEY(NULL, &q, (long)len);
    if (rsa && (pkey = EVP_PKEY_new()) && !EVP_PKEY_assign_RSA(pkey, rsa)) EVP_PKEY_free(pkey), pkey = NULL;
    if (!pkey) RSA_free(rsa);
  } else if (type == VHSM_KEY_ECDSA_P256 || type == VHSM_KEY_ECDSA_P384) {
    EC_KEY *ec = d2i_EC_PUBKEY(NULL, &q, (long)len);
    if (ec && (pkey = EVP_PKEY_new()) && !EVP_PKEY_assign_EC_KEY(pkey, ec)) EVP_PKEY_free(pkey), pkey = NULL;
    if (!pkey) EC_KEY_free(ec);
  }
  return pkey;
}

EVP_PKEY *vhsm_eng_load_privkey(ENGINE *e, const char *uri, UI_METHOD *ui, void *cb_data) {
  const char *id = uri && !strncmp(uri, "vhsm:", 5) ? uri + 5 : uri;
  if (!id || !*id || strlen(id) > VHSM_KEY_ID_MAX) {
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_PASSED_INVALID_ARGUMENT, "vhsm: not a key id: %s", uri ? uri : "");
    return NULL;
  }
  vhsm *h = vhsm_eng_handle();
  if (!h) return NULL;
  vhsm_key_info info;
  unsigned char *der = NULL;
  size_t len = 0;
  int rc = vhsm_key_get_info(h, id, &info);
  if (!rc) rc = vhsm_key_public(h, id, VHSM_FORMAT_DER, &der, &len);
  if (rc) {
    vhsm_eng_raise(rc, id);
    return NULL;
  }
  EVP_PKEY *pkey = legacy_public(e, info.type, der, len);
  vhsm_free(der);
  if (!pkey || !EVP_PKEY_set1_engine(pkey, e) || !vhsm_eng_key_attach(pkey, info.id)) {
    EVP_PKEY_free(pkey);
    ERR_raise_data(ERR_LIB_ENGINE, ERR_R_OPERATION_FAIL, "vhsm: %s: key type %u cannot be used for signing", id,
                   info.type);
    return NULL;
  }
  return pkey;
}

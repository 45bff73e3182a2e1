/* The vhsm OpenSSL 3 provider: shared types and the dispatch tables of each operation file. */
#ifndef VHSM_PROV_H
#define VHSM_PROV_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>

#include "vhsm.h"

typedef struct vhsm_prov {
  const OSSL_CORE_HANDLE *core;
  OSSL_LIB_CTX *libctx; /* child context: delegation to the default provider */
  pthread_mutex_t lock;
  vhsm *h; /* opened on first use; reconnects and survives fork by itself */
  char *socket, *user, *pin_file;
  char *pin; /* from openssl.cnf or $VHSM_PIN; zeroed on teardown */
  OSSL_FUNC_core_new_error_fn *new_error;
  OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
  OSSL_FUNC_core_vset_error_fn *vset_error;
} vhsm_prov;

/* The connection, opened (and logged in) on first use; NULL after raising an OpenSSL error. */
vhsm *vhsm_prov_handle(vhsm_prov *p);
/* Raises an OpenSSL error for a vhsm status, with the appliance's message when there is one. */
void vhsm_prov_raise(vhsm_prov *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vhsm_prov_raise_from(vhsm_prov *p, int status, const char *what);
int vhsm_prov_configure(vhsm_prov *p, const OSSL_DISPATCH *in);
void vhsm_prov_unconfigure(vhsm_prov *p);

/* Key ids: "vhsm:ID" or "ID"; 0 and an error for anything else. */
int vhsm_parse_key_id(const char *in, char out[VHSM_KEY_ID_MAX + 1]);

extern const OSSL_DISPATCH vhsm_hmac_mac_functions[];
extern const OSSL_DISPATCH vhsm_rand_functions[];
extern const OSSL_DISPATCH vhsm_store_functions[];
extern const OSSL_DISPATCH vhsm_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH vhsm_ec_keymgmt_functions[];
extern const OSSL_DISPATCH vhsm_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH vhsm_ed25519_signature_functions[];
extern const OSSL_DISPATCH vhsm_ecdsa_signature_functions[];
extern const OSSL_DISPATCH vhsm_rsa_signature_functions[];



/* A reference to a signing key in the appliance, with its public half for export and verification. */
typedef struct vhsm_key {
  vhsm_prov *prov;
  int refs;
  char id[VHSM_KEY_ID_MAX + 1];
  int type; /* VHSM_KEY_ED25519, _ECDSA_P256, _ECDSA_P384, _RSA */
  unsigned bits;
  struct evp_pkey_st *pub; /* parsed in the child library context (default provider) */
} vhsm_key;

/* Looks the key up in the appliance and fetches its public key; NULL (error raised) if impossible. */
vhsm_key *vhsm_key_load_by_id(vhsm_prov *p, const char *id);
void vhsm_key_unref(vhsm_key *k);
const char *vhsm_key_type_name(int type); /* "ED25519", "EC", "RSA" */
#endif

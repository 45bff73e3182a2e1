/*
 * The legacy ENGINE "vhsm" (OpenSSL 1.1 style API, deprecated in 3.0): digests computed by the appliance,
 * HMAC by key id, and private keys loaded as "vhsm:KEYID" whose signing happens in the appliance.
 */
#ifndef VHSM_ENG_H
#define VHSM_ENG_H

#include <openssl/engine.h>

#include "vhsm.h"

/* The engine's connection, opened on first use from $VHSM_SOCKET, $VHSM_USER, $VHSM_PIN_FILE/$VHSM_PIN. */
vhsm *vhsm_eng_handle(void);
void vhsm_eng_close(void);
/* Raises an ENGINE error naming the vhsm status and the appliance's message. */
void vhsm_eng_raise(int status, const char *what);

int vhsm_eng_digests(ENGINE *e, const EVP_MD **digest, const int **nids, int nid);
void vhsm_eng_digests_free(void);

/*
 * Keys the engine made carry a pointer to their appliance key id (EVP_PKEY ex_data). The records live
 * until the engine is destroyed; every such key holds a functional reference to the engine, so no key
 * outlives its record and no ex_data callback (which could outlive this .so) is needed.
 */
const char *vhsm_eng_key_id(const EVP_PKEY *pkey); /* NULL: not an appliance key */
const char *vhsm_eng_key_attach(EVP_PKEY *pkey, const char *id); /* the stored id, or NULL */
void vhsm_eng_keys_free(void);
EVP_PKEY *vhsm_eng_load_privkey(ENGINE *e, const char *uri, UI_METHOD *ui, void *cb_data);

/* EVP_PKEY methods (HMAC, RSA, EC, ED25519) and ASN.1 methods (HMAC, ED25519) by nid; only HMAC is listed. */
int vhsm_eng_pkey_meths(ENGINE *e, EVP_PKEY_METHOD **pmeth, const int **nids, int nid);
int vhsm_eng_asn1_meths(ENGINE *e, EVP_PKEY_ASN1_METHOD **ameth, const int **nids, int nid);
EVP_PKEY_METHOD *vhsm_eng_hmac_meth(void);
EVP_PKEY_ASN1_METHOD *vhsm_eng_hmac_asn1(void);
EVP_PKEY_METHOD *vhsm_eng_sign_meth(int nid);
void vhsm_eng_meths_free(void);
void vhsm_eng_hmac_free(void);
ENGINE *vhsm_eng_self(void);

#endif

/* The legacy ENGINE "vhsm" (OpenSSL 1.1 style API, deprecated in 3.0): digests computed by the appliance. */
#ifndef VHSM_ENG_H
#define VHSM_ENG_H

#include <openssl/engine.h>

#include "vhsm.h"

/* The engine's connection, opened on first use from $VHSM_SOCKET, $VHSM_USER, $VHSM_PIN_FILE/$VHSM_PIN. */
vhsm *vhsm_eng_handle(void);
void vhsm_eng_close(void);
int vhsm_eng_digests(ENGINE *e, const EVP_MD **digest, const int **nids, int nid);
void vhsm_eng_digests_free(void);

#endif

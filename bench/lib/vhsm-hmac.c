/*
 * libvhsm HMAC driver for the hmac bench (compiled at bench time against agent/c's sources): one
 * connection computing the HMAC of the message HEX back to back, IN_FLIGHT at a time (1: vhsm_hmac;
 * more: vhsm_hmac_many, one pipelined exchange per batch). Arguments and output: vhsm-driver.h.
 */
#include "vhsm-driver.h"


static unsigned char macs[MAX_IN_FLIGHT][VHSM_MAX_HASH];

static int batch(vhsm *h, load *l) {
  if (l->in_flight == 1) return vhsm_hmac(h, l->key_id, l->alg, l->msg, l->msg_len, l->last, &l->last_len);
  int rc = vhsm_hmac_many(h, l->key_id, l->alg, l->in_flight, datas, lens, macs);
  l->last_len = vhsm_hash_size(l->alg);
  memcpy(l->last, macs[l->in_flight - 1], l->last_len);
  return rc;
}

int main(int argc, char **argv) { return load_main(argc, argv, batch, "vhsm_hmac", "vhsm_hmac_many"); }

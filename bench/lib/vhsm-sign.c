/*
 * libvhsm signing driver for the sign bench (compiled at bench time against agent/c's sources):
 * one connection signing the message HEX back to back, IN_FLIGHT at a time (1: vhsm_sign; more:
 * vhsm_sign_many, one pipelined exchange per batch). Arguments and output: vhsm-driver.h.
 */
#include "vhsm-driver.h"

#define STRIDE 512

static size_t sig_lens[MAX_IN_FLIGHT];
static unsigned char sigs[MAX_IN_FLIGHT * STRIDE];

static int batch(vhsm *h, load *l) {
  if (l->in_flight == 1) {
    l->last_len = sizeof l->last;
    return vhsm_sign(h, l->key_id, l->alg, 0, l->msg, l->msg_len, l->last, &l->last_len);
  }
  int rc = vhsm_sign_many(h, l->key_id, l->alg, 0, l->in_flight, datas, lens, sigs, STRIDE, sig_lens);
  size_t i = l->in_flight - 1;
  memcpy(l->last, sigs + i * STRIDE, sig_lens[i]);
  l->last_len = sig_lens[i];
  return rc;
}

int main(int argc, char **argv) { return load_main(argc, argv, batch, "vhsm_sign", "vhsm_sign_many"); }

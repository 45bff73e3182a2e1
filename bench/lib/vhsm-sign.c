/*
 * libvhsm signing driver for the sign bench (compiled at bench time against dist/include/vhsm.h):
 * one connection, vhsm_sign on the message HEX back to back (libvhsm has no pipelined sign).
 *   vhsm-sign KEY_ID ALG HEX START_MS SECONDS
 * Warms up until START_MS (epoch ms), counts for SECONDS, prints {"ops":..,"seconds":..,"signature":hex}.
 * Socket, user and PIN come from $VHSM_SOCKET, $VHSM_USER and $VHSM_PIN, never argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhsm.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const char *pin = getenv("VHSM_PIN");
  if (argc != 6 || !pin) {
    fprintf(stderr, "usage: VHSM_SOCKET=.. VHSM_USER=.. VHSM_PIN=.. vhsm-sign KEY_ID ALG HEX START_MS SECONDS\n");
    return 2;
  }
  char error[256] = "";
  vhsm_options opt = {.socket = getenv("VHSM_SOCKET"), .user = getenv("VHSM_USER"), .pin = pin};
  opt.pin_len = strlen(pin);
  opt.reconnect_timeout_ms = -1;
  opt.error = error;
  opt.error_len = sizeof error;
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  if (rc) {
    printf("{\"error\":\"%s\",\"at\":\"vhsm_open\"}\n", vhsm_status_name(rc));
    return 0;
  }
  unsigned char msg[256], sig[512];
  size_t msg_len = 0;
  for (; msg_len < sizeof msg && sscanf(argv[3] + 2 * msg_len, "%2hhx", &msg[msg_len]) == 1; msg_len++) {
  }
  size_t sig_len = 0;
  unsigned long ops = 0;
  double start_ms = atof(argv[4]), end_ms = start_ms + atof(argv[5]) * 1e3, t;
  while (!rc && (t = now_ms()) < end_ms) {
    sig_len = sizeof sig;
    rc = vhsm_sign(h, argv[1], atoi(argv[2]), 0, msg, msg_len, sig, &sig_len);
    if (t >= start_ms) ops++;
  }
  if (rc) {
    printf("{\"error\":\"%s\",\"at\":\"vhsm_sign\"}\n", vhsm_status_name(rc));
  } else {
    printf("{\"ops\":%lu,\"seconds\":%s,\"signature\":\"", ops, argv[5]);
    for (size_t i = 0; i < sig_len; i++) printf("%02x", sig[i]);
    printf("\"}\n");
  }
  vhsm_close(h);
  return 0;
}

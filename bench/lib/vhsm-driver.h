/*
 * What the libvhsm load drivers (vhsm-sign.c, vhsm-hmac.c) share. Each is run by bench/lib/fleet.ts as
 *   DRIVER KEY_ID ALG IN_FLIGHT MESSAGE START_MS SECONDS
 * where MESSAGE is the message in hex, or @PATH for a file holding it (messages of any size), with
 * the socket, user and PIN in $VHSM_SOCKET, $VHSM_USER and $VHSM_PIN (never argv). It warms up
 * until START_MS (epoch ms), counts for SECONDS, and prints one JSON line: {"ops", "seconds", "cpu"
 * (its own CPU seconds in the window), "signature" (its last output, hex)} or {"error", "at"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhsm.h"

#define MAX_IN_FLIGHT 256

/* Every operation of a batch works on the same message: these point at it. */
static const void *datas[MAX_IN_FLIGHT];
static size_t lens[MAX_IN_FLIGHT];

typedef struct load {
  const char *key_id;
  int alg;
  size_t in_flight;
  unsigned char *msg;
  size_t msg_len;
  double start_ms, end_ms, seconds;
  unsigned char last[512]; /* the last output of the last batch, set by the driver's batch() */
  size_t last_len;
} load;

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Parses argv; on success opens a logged-in handle (or prints the failure and returns NULL). */
static vhsm *load_open(int argc, char **argv, load *l) {
  const char *pin = getenv("VHSM_PIN");
  if (argc != 7 || !pin) {
    fprintf(stderr, "usage: VHSM_SOCKET=.. VHSM_USER=.. VHSM_PIN=.. %s KEY_ID ALG IN_FLIGHT HEX|@FILE START_MS"
                    " SECONDS\n",
            argv[0]);
    exit(2);
  }
  l->key_id = argv[1];
  l->alg = atoi(argv[2]);
  l->in_flight = strtoul(argv[3], NULL, 10);
  const char *hex = argv[4];
  if (hex[0] == '@') {
    FILE *f = fopen(hex + 1, "rb");
    long size = -1;
    if (f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
      l->msg_len = (size_t)size;
      l->msg = malloc(l->msg_len ? l->msg_len : 1);
    }
    if (!l->msg || fread(l->msg, 1, l->msg_len, f) != l->msg_len) {
      printf("{\"error\":\"cannot read the message file %s\",\"at\":\"load_open\"}\n", hex + 1);
      exit(1);
    }
    fclose(f);
  } else {
    l->msg = malloc(strlen(hex) / 2 + 1);
    if (!l->msg) {
      printf("{\"error\":\"out of memory\",\"at\":\"load_open\"}\n");
      exit(1);
    }
    while (sscanf(hex + 2 * l->msg_len, "%2hhx", &l->msg[l->msg_len]) == 1) l->msg_len++;
  }
  l->start_ms = atof(argv[5]);
  l->seconds = atof(argv[6]);
  l->end_ms = l->start_ms + l->seconds * 1e3;
  if (l->in_flight < 1) l->in_flight = 1;
  char error[256] = "";
  vhsm_options opt = {.socket = getenv("VHSM_SOCKET"), .user = getenv("VHSM_USER"), .pin = pin};
  opt.pin_len = strlen(pin);
  opt.reconnect_timeout_ms = -1;
  opt.error = error;
  opt.error_len = sizeof error;
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  if (rc) printf("{\"error\":\"%s\",\"at\":\"vhsm_open\"}\n", vhsm_status_name(rc));
  return h;
}

/* Runs `batch` (l->in_flight operations) until the window ends, counting batches started inside it. */
static int load_run(vhsm *h, load *l, int (*batch)(vhsm *, load *), const char *what) {
  unsigned long ops = 0;
  double t, cpu_start = 0;
  int rc = 0, counting = 0;
  while (!rc && (t = clock_ms(CLOCK_REALTIME)) < l->end_ms) {
    if (!counting && t >= l->start_ms) {
      counting = 1;
      cpu_start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    }
    rc = batch(h, l);
    if (counting) ops += l->in_flight;
  }
  double cpu = counting ? (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) / 1e3 : 0;
  if (rc) {
    printf("{\"error\":\"%s\",\"at\":\"%s\"}\n", vhsm_status_name(rc), what);
  } else {
    printf("{\"ops\":%lu,\"seconds\":%g,\"cpu\":%.4f,\"signature\":\"", ops, l->seconds, cpu);
    for (size_t i = 0; i < l->last_len; i++) printf("%02x", l->last[i]);
    printf("\"}\n");
  }
  vhsm_close(h);
  return 0;
}

/* A driver's main: opens the handle, points every batch slot at the message, runs the window.
 * `single` and `many` name the libvhsm call used with 1 and with more operations in flight. */
static int load_main(int argc, char **argv, int (*batch)(vhsm *, load *), const char *single, const char *many) {
  static load l;
  vhsm *h = load_open(argc, argv, &l);
  if (!h) return 0;
  if (l.in_flight > MAX_IN_FLIGHT) l.in_flight = MAX_IN_FLIGHT;
  for (size_t i = 0; i < l.in_flight; i++) {
    datas[i] = l.msg;
    lens[i] = l.msg_len;
  }
  return load_run(h, &l, batch, l.in_flight == 1 ? single : many);
}

/*
 * vhsm-tool: a small command-line client on libvhsm (tests, scripts, containers without Bun).
 * The PIN comes from $VHSM_PIN_FILE or $VHSM_PIN, and secrets from stdin: never from argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhsm.h"

static void usage(void) {
  fprintf(stderr,
          "usage: vhsm-tool [-s SOCKET] [-u USER] COMMAND\n"
          "  ping | random N | digest ALG < data | hmac KEY ALG < data\n"
          "  key import ID < secret | key generate ID [TYPE [BITS]] | key info ID | key delete ID\n"
          "  bench KEY ALG SIZE SECONDS [PIPELINE]\n"
          "PIN: $VHSM_PIN_FILE (preferred) or $VHSM_PIN. Socket: -s or $VHSM_SOCKET. User: -u or $VHSM_USER.\n");
  exit(2);
}

static unsigned char *read_all(FILE *f, size_t *len) {
  size_t cap = 65536, n = 0;
  unsigned char *p = malloc(cap);
  size_t got;
  while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      unsigned char *q = realloc(p, cap *= 2);
      if (!q) free(p);
      p = q;
    }
  }
  *len = n;
  return p;
}

static int read_pin(char *pin, size_t cap) {
  const char *file = getenv("VHSM_PIN_FILE");
  if (file && *file) {
    FILE *f = fopen(file, "r");
    if (!f) return -1;
    size_t n = fread(pin, 1, cap - 1, f);
    fclose(f);
    while (n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r')) n--;
    pin[n] = 0;
    return 0;
  }
  const char *env = getenv("VHSM_PIN");
  if (!env) return -1;
  snprintf(pin, cap, "%s", env);
  return 0;
}

static void print_hex(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static int fail(vhsm *h, int rc) {
  fprintf(stderr, "vhsm-tool: %s: %s\n", vhsm_status_name(rc),
          h && *vhsm_last_message(h) ? vhsm_last_message(h) : vhsm_strerror(rc));
  return 1;
}

static int alg_arg(const char *name) {
  int alg = vhsm_hash_from_name(name);
  if (!alg) {
    fprintf(stderr, "vhsm-tool: unknown hash %s\n", name);
    exit(2);
  }
  return alg;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(vhsm *h, const char *key, int alg, size_t size, double seconds, size_t pipeline) {
  unsigned char *data = calloc(1, size ? size : 1);
  const void **datas = calloc(pipeline, sizeof *datas);
  size_t *lens = calloc(pipeline, sizeof *lens);
  unsigned char(*macs)[VHSM_MAX_HASH] = calloc(pipeline, sizeof *macs);
  for (size_t i = 0; i < pipeline; i++) datas[i] = data, lens[i] = size;
  double start = now(), end = start + seconds;
  unsigned long ops = 0;
  int rc = 0;
  while (!rc && now() < end) {
    rc = vhsm_hmac_many(h, key, alg, pipeline, datas, lens, macs);
    ops += pipeline;
  }
  double took = now() - start;
  if (!rc)
    printf("{\"size\":%zu,\"pipeline\":%zu,\"ops\":%lu,\"seconds\":%.3f,\"ops_per_s\":%.0f,\"mib_per_s\":%.1f}\n",
           size, pipeline, ops, took, ops / took, ops * (double)size / took / 1048576.0);
  free(data);
  free(datas);
  free(lens);
  free(macs);
  return rc;
}

static int run(vhsm *h, int argc, char **argv) {
  const char *cmd = argv[0];
  unsigned char out[VHSM_MAX_HASH];
  size_t out_len = 0;
  if (!strcmp(cmd, "ping")) return vhsm_ping(h);
  if (!strcmp(cmd, "random") && argc == 2) {
    size_t n = strtoul(argv[1], NULL, 10);
    unsigned char *buf = malloc(n ? n : 1);
    int rc = vhsm_random(h, buf, n);
    if (!rc) print_hex(buf, n);
    free(buf);
    return rc;
  }
  if ((!strcmp(cmd, "digest") && argc == 2) || (!strcmp(cmd, "hmac") && argc == 3)) {
    size_t len;
    unsigned char *data = read_all(stdin, &len);
    int rc = argc == 2 ? vhsm_digest(h, alg_arg(argv[1]), data, len, out, &out_len)
                       : vhsm_hmac(h, argv[1], alg_arg(argv[2]), data, len, out, &out_len);
    free(data);
    if (!rc) print_hex(out, out_len);
    return rc;
  }
  if (!strcmp(cmd, "bench") && (argc == 5 || argc == 6))
    return bench(h, argv[1], alg_arg(argv[2]), strtoul(argv[3], NULL, 10), atof(argv[4]),
                 argc == 6 ? strtoul(argv[5], NULL, 10) : 1);
  if (strcmp(cmd, "key") || argc < 3) usage();
  const char *sub = argv[1], *id = argv[2];
  char new_id[VHSM_KEY_ID_MAX + 1];
  if (!strcmp(sub, "import") && argc == 3) {
    size_t len;
    unsigned char *secret = read_all(stdin, &len);
    int rc = vhsm_key_import(h, id, VHSM_KEY_HMAC, VHSM_FORMAT_RAW, secret, len, new_id);
    memset(secret, 0, len);
    free(secret);
    if (!rc) printf("%s\n", new_id);
    return rc;
  }
  if (!strcmp(sub, "generate") && argc <= 5) {
    static const char *TYPES[] = {"", "hmac", "aes-256", "ed25519", "ecdsa-p256", "ecdsa-p384", "rsa"};
    int type = VHSM_KEY_HMAC;
    for (int i = 1; argc >= 4 && i < 7; i++)
      if (!strcmp(argv[3], TYPES[i])) type = i;
    int rc = vhsm_key_generate(h, id, type, argc == 5 ? (unsigned)atoi(argv[4]) : 0, new_id);
    if (!rc) printf("%s\n", new_id);
    return rc;
  }
  if (!strcmp(sub, "delete") && argc == 3) return vhsm_key_delete(h, id);
  if (!strcmp(sub, "info") && argc == 3) {
    vhsm_key_info info;
    int rc = vhsm_key_get_info(h, id, &info);
    if (!rc)
      printf("{\"id\":\"%s\",\"type\":%u,\"bits\":%u,\"version\":%u,\"usage\":%u,\"useCount\":%llu}\n", info.id,
             info.type, info.bits, info.version, info.usage, (unsigned long long)info.use_count);
    return rc;
  }
  usage();
  return 0;
}

int main(int argc, char **argv) {
  vhsm_options opt = {0};
  opt.user = getenv("VHSM_USER");
  int c;
  while ((c = getopt(argc, argv, "+s:u:")) != -1) {
    if (c == 's') opt.socket = optarg;
    else if (c == 'u') opt.user = optarg;
    else usage();
  }
  if (optind >= argc) usage();
  if (!strcmp(argv[optind], "statuses")) { /* the status table, for the tests to compare with status.ts */
    for (int code = 1; code < 128; code++)
      if (strcmp(vhsm_status_name(code), "UNKNOWN_STATUS")) printf("%d %s\n", code, vhsm_status_name(code));
    return 0;
  }
  char pin[128] = {0};
  if (opt.user) {
    if (read_pin(pin, sizeof pin)) {
      fprintf(stderr, "vhsm-tool: set VHSM_PIN_FILE (or VHSM_PIN) to log in as %s\n", opt.user);
      return 2;
    }
    opt.pin = pin;
    opt.pin_len = strlen(pin);
  }
  char error[512] = "";
  opt.error = error;
  opt.error_len = sizeof error;
  opt.reconnect_timeout_ms = -1;
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  memset(pin, 0, sizeof pin);
  if (rc) {
    fprintf(stderr, "vhsm-tool: %s: %s\n", vhsm_status_name(rc), *error ? error : vhsm_strerror(rc));
    return 1;
  }
  rc = run(h, argc - optind, argv + optind);
  int status = rc ? fail(h, rc) : 0;
  vhsm_close(h);
  return status;
}

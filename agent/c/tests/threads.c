/*
 * One libvhsm handle shared by THREADS threads for SECONDS while the test restarts the appliance:
 * each thread computes HMAC-SHA256 over random data, some of it larger than one frame (streamed),
 * and checks every result against OpenSSL's with the raw key; every eighth call asks for a key of its
 * own that does not exist, and vhsm_last_message must then name that key (messages are per thread),
 * and be "" after a call that succeeded. Prints "ok=N failed=M wrong=W"; wrong results or messages
 * exit 1. Built twice: plain, and with ThreadSanitizer (threads_tsan) over the library's
 * sources, so that a data race in the library is reported.
 * Usage: threads KEYID KEYFILE THREADS SECONDS   (VHSM_SOCKET, VHSM_USER, VHSM_PIN_FILE set)
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhsm.h"

static vhsm *h;
static const char *key_id;
static unsigned char raw[1024];
static size_t raw_len;
static time_t end;
static pthread_mutex_t counts = PTHREAD_MUTEX_INITIALIZER;
static long ok, failed, wrong;

/* Larger than the appliance's frame limit in the test (--max-frame 65536): streamed in chunks. */
#define BIG (150 * 1024)

static void *work(void *arg) {
  unsigned seed = (unsigned)(size_t)arg * 7919u + (unsigned)time(NULL);
  unsigned char *data = malloc(BIG);
  if (!data) return NULL;
  char missing[32], expect[48];
  snprintf(missing, sizeof missing, "missing-%zu", (size_t)arg);
  snprintf(expect, sizeof expect, "no key %s", missing);
  for (unsigned n = 0; time(NULL) < end; n++) {
    if (n % 8 == 7) {
      unsigned char mac[VHSM_MAX_HASH];
      size_t mac_len = 0;
      int rc = vhsm_hmac(h, missing, VHSM_SHA256, "x", 1, mac, &mac_len);
      int mine = strstr(vhsm_last_message(h), expect) != NULL;
      pthread_mutex_lock(&counts);
      if (rc == VHSM_KEY_NOT_FOUND && !mine) {
        fprintf(stderr, "thread %zu: KEY_NOT_FOUND with message \"%s\"\n", (size_t)arg, vhsm_last_message(h));
        wrong++;
      }
      pthread_mutex_unlock(&counts);
      continue;
    }
    size_t len = rand_r(&seed) % 4 == 0 ? BIG - rand_r(&seed) % 1024 : 1 + rand_r(&seed) % 4096;
    for (size_t j = 0; j < len; j++) data[j] = (unsigned char)rand_r(&seed);
    unsigned char mac[VHSM_MAX_HASH], want[EVP_MAX_MD_SIZE];
    size_t mac_len = 0, want_len = 0;
    int rc = vhsm_hmac(h, key_id, VHSM_SHA256, data, len, mac, &mac_len);
    const char *after = vhsm_last_message(h);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, raw, raw_len, data, len, want, sizeof want, &want_len))
      abort();
    pthread_mutex_lock(&counts);
    if (rc != VHSM_OK)
      failed++;
    else if (mac_len != want_len || memcmp(mac, want, want_len) != 0 || *after) {
      if (*after) fprintf(stderr, "a call that succeeded left the message \"%s\"\n", after);
      wrong++;
    }
    else
      ok++;
    pthread_mutex_unlock(&counts);
  }
  free(data);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  key_id = argv[1];
  FILE *f = fopen(argv[2], "rb");
  raw_len = f ? fread(raw, 1, sizeof raw, f) : 0;
  if (f) fclose(f);
  int threads = atoi(argv[3]);
  if (threads < 1 || threads > 64) return 2;
  char pin[128] = {0};
  FILE *p = fopen(getenv("VHSM_PIN_FILE"), "rb");
  size_t pin_len = p ? fread(pin, 1, sizeof pin, p) : 0;
  if (p) fclose(p);
  char error[256] = "";
  vhsm_options opt = {.user = getenv("VHSM_USER"), .pin = pin, .pin_len = pin_len, .error = error,
                      .error_len = sizeof error};
  if (vhsm_open(&opt, &h) != VHSM_OK) {
    fprintf(stderr, "open: %s\n", error);
    return 3;
  }
  end = time(NULL) + atoi(argv[4]);
  pthread_t t[64];
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, work, (void *)(size_t)i);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  vhsm_close(h);
  printf("ok=%ld failed=%ld wrong=%ld\n", ok, failed, wrong);
  return wrong ? 1 : 0;
}

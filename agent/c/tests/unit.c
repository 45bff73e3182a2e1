/*
 * libvhsm against the real appliance (run by tunit.sh, under valgrind): one-shot, pipelined and
 * streaming HMAC agree with each other and with HMAC_VERIFY; SHA-256("abc") matches FIPS 180-2;
 * random, key info, and the error paths return the documented status codes.
 * Usage: unit KEYID   (VHSM_SOCKET, VHSM_USER, VHSM_PIN_FILE set by lib.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm.h"

#include "check.h"

static vhsm *open_as(const char *pin) {
  vhsm_options opt = {0};
  opt.user = getenv("VHSM_USER");
  opt.pin = pin;
  opt.pin_len = strlen(pin);
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  CHECK(rc == VHSM_OK, "open: %s", vhsm_status_name(rc));
  return h;
}

int main(int argc, char **argv) {
  const char *key = argc > 1 ? argv[1] : "k1";
  vhsm *h = open_as("1234");
  if (!h) return 1;
  CHECK(strcmp(vhsm_container(h), "c1") == 0, "container is %s", vhsm_container(h));

  static const unsigned char abc_sha256[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
      0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  unsigned char out[VHSM_MAX_HASH], out2[VHSM_MAX_HASH];
  size_t n = 0, n2 = 0;
  CHECK(vhsm_digest(h, VHSM_SHA256, "abc", 3, out, &n) == VHSM_OK && n == 32 && !memcmp(out, abc_sha256, 32),
        "SHA-256(abc)");

  size_t big = 3 * 1024 * 1024 + 17;
  unsigned char *data = malloc(big);
  for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 31 + 7);
  CHECK(vhsm_hmac(h, key, VHSM_SHA256, data, 4096, out, &n) == VHSM_OK && n == 32, "hmac one-shot");
  vhsm_stream *s = NULL;
  CHECK(vhsm_hmac_init(h, key, VHSM_SHA256, &s) == VHSM_OK, "hmac init");
  CHECK(s && vhsm_stream_update(s, data, 1000) == VHSM_OK && vhsm_stream_update(s, data + 1000, 3096) == VHSM_OK,
        "hmac update");
  CHECK(s && vhsm_stream_final(s, out2, &n2) == VHSM_OK && n2 == 32 && !memcmp(out, out2, 32),
        "streamed HMAC equals one-shot");
  int valid = 0;
  CHECK(vhsm_hmac_verify(h, key, VHSM_SHA256, data, 4096, out, 32, &valid) == VHSM_OK && valid, "verify good");
  out[0] ^= 1;
  CHECK(vhsm_hmac_verify(h, key, VHSM_SHA256, data, 4096, out, 32, &valid) == VHSM_OK && !valid, "verify bad");

  /* pipelined: 8 requests with different lengths answer in order of their ids */
  const void *ptrs[8];
  size_t lens[8];
  unsigned char macs[8][VHSM_MAX_HASH];
  for (int i = 0; i < 8; i++) ptrs[i] = data, lens[i] = (size_t)i * 100;
  CHECK(vhsm_hmac_many(h, key, VHSM_SHA1, 8, ptrs, lens, macs) == VHSM_OK, "hmac many");
  for (int i = 0; i < 8; i++) {
    CHECK(vhsm_hmac(h, key, VHSM_SHA1, data, lens[i], out, &n) == VHSM_OK && n == 20 && !memcmp(out, macs[i], 20),
          "pipelined result %d", i);
  }
  /* larger than one frame: streamed transparently by vhsm_hmac, equal to an explicit stream */
  CHECK(vhsm_hmac(h, key, VHSM_SHA512, data, big, out, &n) == VHSM_OK && n == 64, "big hmac");
  CHECK(vhsm_hmac_init(h, key, VHSM_SHA512, &s) == VHSM_OK && vhsm_stream_update(s, data, big) == VHSM_OK &&
            vhsm_stream_final(s, out2, &n2) == VHSM_OK && !memcmp(out, out2, 64),
        "big stream");
  free(data);

  unsigned char r1[64], r2[64];
  CHECK(vhsm_random(h, r1, sizeof r1) == VHSM_OK && vhsm_random(h, r2, sizeof r2) == VHSM_OK &&
            memcmp(r1, r2, sizeof r1) != 0,
        "random");
  vhsm_key_info info;
  CHECK(vhsm_key_get_info(h, key, &info) == VHSM_OK && !strcmp(info.id, key) && info.type == VHSM_KEY_HMAC &&
            info.use_count > 0,
        "key info");

  /* errors: specific codes, the appliance's message kept, the connection still usable */
  int rc = vhsm_hmac(h, "no-such-key", VHSM_SHA256, "x", 1, out, &n);
  CHECK(rc == VHSM_KEY_NOT_FOUND && strstr(vhsm_last_message(h), "no-such-key"), "unknown key: %s %s",
        vhsm_status_name(rc), vhsm_last_message(h));
  rc = vhsm_hmac(h, key, 99, "x", 1, out, &n);
  CHECK(rc != VHSM_OK, "unknown hash refused");
  rc = vhsm_hmac_init(h, key, VHSM_SHA256, &s);
  CHECK(rc == VHSM_OK, "stream for free");
  vhsm_stream_free(s); /* abandoned stream: FINAL sent, no leak */
  CHECK(vhsm_ping(h) == VHSM_OK, "ping after errors");
  CHECK(!strcmp(vhsm_status_name(VHSM_PIN_LOCKED), "PIN_LOCKED") && strstr(vhsm_strerror(VHSM_KEY_NOT_FOUND), "no key"),
        "status names");
  vhsm_close(h);

  vhsm *bad = NULL;
  vhsm_options opt = {0};
  opt.user = getenv("VHSM_USER");
  opt.pin = "0000";
  opt.pin_len = 4;
  CHECK(vhsm_open(&opt, &bad) == VHSM_BAD_CREDENTIALS && bad == NULL, "wrong PIN");
  opt.socket = "/nonexistent/vhsm.sock";
  CHECK(vhsm_open(&opt, &bad) == VHSM_CONNECTION_FAILED && bad == NULL, "no socket");
  vhsm_close(NULL);

  printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}

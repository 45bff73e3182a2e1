/*
 * libvhsm against fake_appliance.py (run by thostile.sh), one MODE per run, the same as the fake's:
 *   trickle, flood  a PING with io_timeout_ms = 1000 fails with VHSM_TIMEOUT ("did not answer")
 *                   after about 1 s, not when the answer is complete (3.2 s) or never; the connection
 *                   is dropped, so the next call opens a new one
 *   stall           an 8 MiB digest (one frame) to an appliance that stopped reading fails with
 *                   VHSM_TIMEOUT ("did not take the request") after about 1 s instead of blocking
 *   flaky           a PING whose connection is lost and whose first reconnect attempt fails succeeds
 *                   on the second attempt and leaves vhsm_last_message() empty
 * Usage: hostile MODE   (VHSM_SOCKET, VHSM_USER, VHSM_PIN_FILE set by lib.sh; the PIN is not checked)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vhsm.h"

#include "check.h"

#define IO_TIMEOUT_MS 1000

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static vhsm *open_fake(int io_timeout_ms, int reconnect_timeout_ms) {
  vhsm_options opt = {0};
  opt.user = getenv("VHSM_USER");
  opt.pin = "1234";
  opt.pin_len = 4;
  opt.io_timeout_ms = io_timeout_ms;
  opt.reconnect_timeout_ms = reconnect_timeout_ms;
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  CHECK(rc == VHSM_OK, "open: %s", vhsm_status_name(rc));
  return h;
}

/* rc must be VHSM_TIMEOUT with `message`, after about IO_TIMEOUT_MS (the deadline, not a wait per read). */
static void check_timeout(vhsm *h, const char *what, int rc, long took, const char *message) {
  CHECK(rc == VHSM_TIMEOUT, "%s: %s (%s) after %ld ms, expected TIMEOUT", what, vhsm_status_name(rc),
        vhsm_last_message(h), took);
  CHECK(strstr(vhsm_last_message(h), message) != NULL, "%s: message \"%s\", expected \"%s\"", what,
        vhsm_last_message(h), message);
  CHECK(took >= IO_TIMEOUT_MS - 100 && took < 3 * IO_TIMEOUT_MS, "%s: failed after %ld ms, io_timeout_ms is %d",
        what, took, IO_TIMEOUT_MS);
}

/* A PING the fake answers too slowly (trickle) or buries under other answers (flood). */
static void no_answer(const char *mode) {
  vhsm *h = open_fake(IO_TIMEOUT_MS, -1);
  if (!h) return;
  long start = now_ms();
  int rc = vhsm_ping(h);
  check_timeout(h, mode, rc, now_ms() - start, "the appliance did not answer within 1000 ms");
  /* treated as a broken stream: the next call does not read the rest of it but connects again */
  vhsm_ping(h);
  CHECK(vhsm_generation(h) == 2, "%s: generation %u after a timeout, expected a new connection", mode,
        vhsm_generation(h));
  vhsm_close(h);
}

static void stall(void) {
  vhsm *h = open_fake(IO_TIMEOUT_MS, -1);
  if (!h) return;
  size_t len = 8u << 20; /* far more than a socket buffer, yet one frame (the fake allows 16 MiB) */
  unsigned char *data = calloc(1, len);
  unsigned char out[VHSM_MAX_HASH];
  size_t out_len = 0;
  long start = now_ms();
  int rc = vhsm_digest(h, VHSM_SHA256, data, len, out, &out_len);
  check_timeout(h, "stall", rc, now_ms() - start, "the appliance did not take the request within 1000 ms");
  free(data);
  vhsm_close(h);
}

static void flaky(void) {
  vhsm *h = open_fake(0, 5000);
  if (!h) return;
  int rc = vhsm_ping(h);
  CHECK(rc == VHSM_OK, "flaky: ping %s (%s)", vhsm_status_name(rc), vhsm_last_message(h));
  CHECK(vhsm_generation(h) == 2, "flaky: generation %u, expected 2 (one reconnect)", vhsm_generation(h));
  CHECK(vhsm_last_message(h)[0] == 0, "flaky: a successful ping left the message \"%s\"", vhsm_last_message(h));
  vhsm_close(h);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "trickle") || !strcmp(mode, "flood")) no_answer(mode);
  else if (!strcmp(mode, "stall")) stall();
  else if (!strcmp(mode, "flaky")) flaky();
  else {
    fprintf(stderr, "usage: hostile trickle|flood|stall|flaky\n");
    return 2;
  }
  if (!failures) printf("ok: %s\n", mode);
  return failures ? 1 : 0;
}

/*
 * vhsm_sign_many against the real appliance (run by tsignmany.sh): 64 random messages signed with
 * Ed25519 and ECDSA P-256 keys made in the appliance, every signature verified with OpenSSL against
 * the exported public key; 600 in one call (three windows); a forked child on the inherited handle;
 * bad arguments, an unknown key, a wrong algorithm and too small an output stride give their codes.
 * Writes DIR/{ed25519,p256}.{pub,msg,sig} for the script to verify with the openssl CLI as well.
 * With SECONDS it then signs batches of 16 in a loop for that long (the script restarts the appliance
 * meanwhile) and prints "ok=N failed=M" (batches; a signature that does not verify is a failure).
 * Usage: sign_many DIR [SECONDS]   (VHSM_SOCKET, VHSM_USER, VHSM_PIN_FILE set by lib.sh)
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vhsm.h"

#define N 64
#define MANY 600
#define STRIDE 512

#include "check.h"

typedef struct scheme {
  const char *name;
  int key_type, alg;
  const EVP_MD *md; /* NULL: Ed25519 signs the message itself */
  char id[VHSM_KEY_ID_MAX + 1];
  EVP_PKEY *pub;
} scheme;

/* Random messages of varied length (0 included), viewed through data/lens as vhsm_sign_many takes them. */
typedef struct batch {
  size_t n;
  unsigned char *buf;
  const void **data;
  size_t *lens;
  unsigned char *sigs;
  size_t *sig_lens;
} batch;

static batch batch_new(size_t n) {
  batch b = {n, malloc(n * 200), malloc(n * sizeof(void *)), malloc(n * sizeof(size_t)), calloc(n, STRIDE),
             calloc(n, sizeof(size_t))};
  RAND_bytes(b.buf, (int)(n * 200));
  for (size_t i = 0; i < n; i++) {
    b.data[i] = b.buf + i * 200;
    b.lens[i] = (i * 37) % 200;
  }
  return b;
}

static void batch_free(batch *b) {
  free(b->buf);
  free(b->data);
  free(b->lens);
  free(b->sigs);
  free(b->sig_lens);
}

static int verify(const scheme *s, const void *msg, size_t len, const unsigned char *sig, size_t sig_len) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestVerifyInit(c, NULL, s->md, NULL, s->pub) == 1 &&
           EVP_DigestVerify(c, sig, sig_len, msg, len) == 1;
  EVP_MD_CTX_free(c);
  return ok;
}

/* Signs the batch in one call; returns how many signatures verify. */
static size_t sign_and_verify(vhsm *h, const scheme *s, batch *b) {
  int rc = vhsm_sign_many(h, s->id, s->alg, 0, b->n, b->data, b->lens, b->sigs, STRIDE, b->sig_lens);
  CHECK(rc == VHSM_OK, "%s: sign %zu: %s %s", s->name, b->n, vhsm_status_name(rc), vhsm_last_message(h));
  size_t good = 0;
  for (size_t i = 0; i < b->n; i++)
    good += b->sig_lens[i] > 0 && verify(s, b->data[i], b->lens[i], b->sigs + i * STRIDE, b->sig_lens[i]);
  return good;
}

static void write_file(const char *dir, const char *name, const char *ext, const void *p, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(p, 1, len, f) == len, "write %s", path);
  if (f) fclose(f);
}

static void setup(vhsm *h, scheme *s) {
  int rc = vhsm_key_generate(h, "", s->key_type, 0, s->id);
  CHECK(rc == VHSM_OK, "%s: generate: %s", s->name, vhsm_status_name(rc));
  unsigned char *der = NULL;
  size_t der_len = 0;
  rc = vhsm_key_public(h, s->id, VHSM_FORMAT_DER, &der, &der_len);
  CHECK(rc == VHSM_OK, "%s: public key: %s", s->name, vhsm_status_name(rc));
  const unsigned char *p = der;
  s->pub = der ? d2i_PUBKEY(NULL, &p, (long)der_len) : NULL;
  CHECK(s->pub != NULL, "%s: public key does not parse", s->name);
  vhsm_free(der);
}

static void check_scheme(vhsm *h, scheme *s, const char *dir) {
  batch b = batch_new(N);
  CHECK(sign_and_verify(h, s, &b) == N, "%s: not all %d signatures verify", s->name, N);
  /* the check can fail: a changed message does not verify */
  b.buf[200] ^= 1; /* message 1 */
  CHECK(!verify(s, b.data[1], b.lens[1], b.sigs + STRIDE, b.sig_lens[1]), "%s: tampered message verified",
        s->name);
  size_t last = N - 1;
  write_file(dir, s->name, "msg", b.data[last], b.lens[last]);
  write_file(dir, s->name, "sig", b.sigs + last * STRIDE, b.sig_lens[last]);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.pub", dir, s->name);
  FILE *f = fopen(path, "w");
  CHECK(f && PEM_write_PUBKEY(f, s->pub), "write %s", path);
  if (f) fclose(f);
  batch_free(&b);
}

/* A child using the inherited handle opens its own connection; the parent's keeps working. */
static void check_fork(vhsm *h, scheme *s) {
  unsigned parent_generation = vhsm_generation(h);
  pid_t pid = fork();
  if (pid == 0) {
    batch b = batch_new(16);
    int ok = sign_and_verify(h, s, &b) == 16 && vhsm_generation(h) > parent_generation;
    batch_free(&b);
    _exit(ok && !failures ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: forked child", s->name);
  batch b = batch_new(16);
  CHECK(sign_and_verify(h, s, &b) == 16 && vhsm_generation(h) == parent_generation, "%s: parent after fork",
        s->name);
  batch_free(&b);
}

static int all_zero(const size_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i]) return 0;
  return 1;
}

static void check_errors(vhsm *h, const scheme *ed, const scheme *p256) {
  batch b = batch_new(8);
  int rc;
  CHECK(vhsm_sign_many(h, ed->id, ed->alg, 0, 0, b.data, b.lens, b.sigs, STRIDE, b.sig_lens) ==
            VHSM_BAD_ARGUMENTS,
        "n = 0");
  CHECK(vhsm_sign_many(h, NULL, ed->alg, 0, 8, b.data, b.lens, b.sigs, STRIDE, b.sig_lens) ==
            VHSM_BAD_ARGUMENTS,
        "no key id");
  CHECK(vhsm_sign_many(h, ed->id, ed->alg, 0, 8, b.data, b.lens, b.sigs, 0, b.sig_lens) == VHSM_BAD_ARGUMENTS,
        "stride 0");
  const void *saved = b.data[5];
  size_t saved_len = b.lens[5];
  b.data[5] = NULL;
  b.lens[5] = 10;
  CHECK(vhsm_sign_many(h, ed->id, ed->alg, 0, 8, b.data, b.lens, b.sigs, STRIDE, b.sig_lens) ==
            VHSM_BAD_ARGUMENTS,
        "NULL message with a length");
  b.data[5] = saved;
  b.lens[5] = saved_len;

  for (size_t i = 0; i < 8; i++) b.sig_lens[i] = 99;
  rc = vhsm_sign_many(h, "no-such-key", ed->alg, 0, 8, b.data, b.lens, b.sigs, STRIDE, b.sig_lens);
  CHECK(rc == VHSM_KEY_NOT_FOUND && strstr(vhsm_last_message(h), "no-such-key") && all_zero(b.sig_lens, 8),
        "unknown key: %s %s", vhsm_status_name(rc), vhsm_last_message(h));
  rc = vhsm_sign_many(h, ed->id, p256->alg, 0, 8, b.data, b.lens, b.sigs, STRIDE, b.sig_lens);
  CHECK(rc == VHSM_UNSUPPORTED_MECHANISM && all_zero(b.sig_lens, 8), "ECDSA with an Ed25519 key: %s",
        vhsm_status_name(rc));
  /* signed, but 32 bytes cannot hold a 64-byte Ed25519 signature */
  rc = vhsm_sign_many(h, ed->id, ed->alg, 0, 8, b.data, b.lens, b.sigs, 32, b.sig_lens);
  CHECK(rc == VHSM_BAD_ARGUMENTS && all_zero(b.sig_lens, 8), "stride too small: %s", vhsm_status_name(rc));

  /* a message too large for one frame is refused before anything is sent */
  size_t big = 17u * 1024 * 1024;
  unsigned char *huge = calloc(1, big);
  saved = b.data[3];
  saved_len = b.lens[3];
  b.data[3] = huge;
  b.lens[3] = big;
  rc = vhsm_sign_many(h, ed->id, ed->alg, 0, 8, b.data, b.lens, b.sigs, STRIDE, b.sig_lens);
  CHECK(rc == VHSM_FRAME_TOO_LARGE && all_zero(b.sig_lens, 8), "message larger than a frame: %s",
        vhsm_status_name(rc));
  free(huge);
  b.data[3] = saved;
  b.lens[3] = saved_len;
  CHECK(sign_and_verify(h, ed, &b) == 8, "signing after the errors");
  batch_free(&b);
}

static vhsm *open_from_env(void) {
  char pin[256] = "";
  FILE *f = fopen(getenv("VHSM_PIN_FILE"), "r");
  size_t pin_len = f ? fread(pin, 1, sizeof pin - 1, f) : 0;
  if (f) fclose(f);
  vhsm_options opt = {.user = getenv("VHSM_USER"), .pin = pin, .pin_len = pin_len};
  vhsm *h = NULL;
  int rc = vhsm_open(&opt, &h);
  CHECK(rc == VHSM_OK, "open: %s", vhsm_status_name(rc));
  memset(pin, 0, sizeof pin);
  return h;
}

/* Restart safety: the handle reconnects, logs in again and resends the window that was lost. */
static void loop(vhsm *h, const scheme *s, int seconds) {
  long ok = 0, failed = 0;
  batch b = batch_new(16);
  for (time_t end = time(NULL) + seconds; time(NULL) < end;) {
    int rc = vhsm_sign_many(h, s->id, s->alg, 0, b.n, b.data, b.lens, b.sigs, STRIDE, b.sig_lens);
    size_t good = 0;
    for (size_t i = 0; i < b.n && !rc; i++)
      good += verify(s, b.data[i], b.lens[i], b.sigs + i * STRIDE, b.sig_lens[i]);
    if (!rc && good == b.n) ok++;
    else {
      failed++;
      fprintf(stderr, "batch failed: %s %s\n", vhsm_status_name(rc), vhsm_last_message(h));
    }
  }
  batch_free(&b);
  printf("ok=%ld failed=%ld generation=%u\n", ok, failed, vhsm_generation(h));
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) return 2;
  vhsm *h = open_from_env();
  if (!h) return 1;
  scheme ed = {"ed25519", VHSM_KEY_ED25519, VHSM_SIGN_ED25519, NULL, "", NULL};
  scheme p256 = {"p256", VHSM_KEY_ECDSA_P256, VHSM_SIGN_ECDSA_SHA256, EVP_sha256(), "", NULL};
  setup(h, &ed);
  setup(h, &p256);
  if (failures) return 1;
  check_scheme(h, &ed, argv[1]);
  check_scheme(h, &p256, argv[1]);
  batch many = batch_new(MANY);
  CHECK(sign_and_verify(h, &ed, &many) == MANY, "%d signatures in one call", MANY);
  batch_free(&many);
  check_fork(h, &p256);
  check_errors(h, &ed, &p256);
  printf("%s: %d failures\n", failures ? "FAIL" : "PASS", failures);
  fflush(stdout);
  if (argc == 3 && !failures) loop(h, &p256, atoi(argv[2]));
  EVP_PKEY_free(ed.pub);
  EVP_PKEY_free(p256.pub);
  vhsm_close(h);
  return failures ? 1 : 0;
}

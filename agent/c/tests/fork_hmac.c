/*
 * Fork safety through the provider: HMAC once (the connection opens and logs in), fork, then parent
 * and child each compute HMACs; every result must equal the default provider's with the raw key.
 * Usage: fork_hmac KEYID KEYFILE   (OPENSSL_MODULES points at the provider directory)
 */
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int mac(const char *props, const char *key_id, const unsigned char *raw, size_t raw_len,
               const unsigned char *data, size_t len, unsigned char *out) {
  EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", props);
  EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
  OSSL_PARAM params[3] = {OSSL_PARAM_utf8_string("digest", "SHA256", 0), OSSL_PARAM_END, OSSL_PARAM_END};
  if (key_id) params[1] = OSSL_PARAM_construct_utf8_string("key-id", (char *)key_id, 0);
  size_t n = 0;
  int ok = c && EVP_MAC_init(c, raw, raw_len, params) && EVP_MAC_update(c, data, len) &&
           EVP_MAC_final(c, out, &n, 64) && n == 32;
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  return ok;
}

static int round_ok(const char *who, const char *key_id, const unsigned char *raw, size_t raw_len, int rounds) {
  for (int i = 0; i < rounds; i++) {
    unsigned char data[100], a[64], b[64];
    for (size_t j = 0; j < sizeof data; j++) data[j] = (unsigned char)(j + i + (unsigned char)getpid());
    if (!mac("provider=vhsm", key_id, NULL, 0, data, sizeof data, a) ||
        !mac("provider=default", NULL, raw, raw_len, data, sizeof data, b) || memcmp(a, b, 32)) {
      fprintf(stderr, "%s: HMAC %d wrong or failed\n", who, i);
      return 0;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  unsigned char raw[1024];
  FILE *f = fopen(argv[2], "rb");
  size_t raw_len = f ? fread(raw, 1, sizeof raw, f) : 0;
  if (f) fclose(f);
  if (!OSSL_PROVIDER_load(NULL, "vhsm") || !OSSL_PROVIDER_load(NULL, "default")) return 3;
  if (!round_ok("before fork", argv[1], raw, raw_len, 3)) return 1;
  pid_t pid = fork();
  if (pid == 0) _exit(round_ok("child", argv[1], raw, raw_len, 20) ? 0 : 1);
  int ok = round_ok("parent", argv[1], raw, raw_len, 20);
  int status = 0;
  waitpid(pid, &status, 0);
  int child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  /* the parent's connection must have survived the child's use and exit */
  ok = ok && round_ok("parent after child exit", argv[1], raw, raw_len, 5);
  printf("parent %s, child %s\n", ok ? "ok" : "FAILED", child_ok ? "ok" : "FAILED");
  return ok && child_ok ? 0 : 1;
}

/*
 * Restart safety: HMACs in a loop through the provider for SECONDS while the test restarts the
 * appliance; prints "ok=N failed=M" (wrong results count as failures).
 * Usage: restart_loop KEYID KEYFILE SECONDS
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  unsigned char raw[1024];
  FILE *f = fopen(argv[2], "rb");
  size_t raw_len = f ? fread(raw, 1, sizeof raw, f) : 0;
  if (f) fclose(f);
  if (!OSSL_PROVIDER_load(NULL, "vhsm") || !OSSL_PROVIDER_load(NULL, "default")) return 3;
  EVP_MAC *ours = EVP_MAC_fetch(NULL, "HMAC", "provider=vhsm");
  EVP_MAC *ref = EVP_MAC_fetch(NULL, "HMAC", "provider=default");
  time_t end = time(NULL) + atoi(argv[3]);
  long ok = 0, failed = 0;
  unsigned char data[256];
  while (time(NULL) < end) {
    for (size_t j = 0; j < sizeof data; j++) data[j] = (unsigned char)rand();
    unsigned char a[64], b[64];
    size_t n = 0;
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_utf8_string("key-id", argv[1], 0), OSSL_PARAM_END};
    OSSL_PARAM refp[] = {OSSL_PARAM_utf8_string("digest", "SHA256", 0), OSSL_PARAM_END};
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(ours), *r = EVP_MAC_CTX_new(ref);
    int good = EVP_MAC_init(c, NULL, 0, params) && EVP_MAC_update(c, data, sizeof data) &&
               EVP_MAC_final(c, a, &n, sizeof a) && EVP_MAC_init(r, raw, raw_len, refp) &&
               EVP_MAC_update(r, data, sizeof data) && EVP_MAC_final(r, b, &n, sizeof b) && !memcmp(a, b, 32);
    if (good) ok++;
    else {
      failed++;
      ERR_print_errors_fp(stderr);
    }
    EVP_MAC_CTX_free(c);
    EVP_MAC_CTX_free(r);
  }
  EVP_MAC_free(ours);
  EVP_MAC_free(ref);
  printf("ok=%ld failed=%ld\n", ok, failed);
  return 0;
}

/*
 * The provider from C, for leak and memory checking (tmem.sh runs it under valgrind and, when
 * available, AddressSanitizer): OSSL_PROVIDER_load("vhsm") + "default", then
 *  - HMAC by key id (EVP_MAC "HMAC", provider=vhsm) over 0 B, 4 KiB and 3 MiB (the streaming path),
 *    compared with the default provider's HMAC with the raw key (read from KEYFILE);
 *  - a raw-key HMAC through the vhsm HMAC (delegated to the default provider);
 *  - OSSL_STORE_open("vhsm:ID") and EVP_DigestSign for each signing key id given, verified with the
 *    same EVP_PKEY by the default provider (which gets the exported public key); RSA also with PSS;
 *  - an unknown key id fails cleanly;
 * then frees everything and unloads the providers, so any leak is the provider's.
 * Usage: prov_driver MODULES_DIR HMAC_KEYID KEYFILE [SIGNING_KEYID...]; exit 0 when all checks pass.
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, what)                                                                                     \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      failures++;                                                                                             \
      fprintf(stderr, "not ok: %s (line %d)\n", what, __LINE__);                                              \
      ERR_print_errors_fp(stderr);                                                                            \
    }                                                                                                         \
  } while (0)

static size_t mac(const char *props, const char *key_id, const unsigned char *key, size_t keylen,
                  const unsigned char *data, size_t len, unsigned char *out) {
  EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", props);
  EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
  OSSL_PARAM params[3] = {OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                          OSSL_PARAM_utf8_string("key-id", (char *)key_id, 0), OSSL_PARAM_END};
  if (!key_id) params[1] = params[2];
  size_t n = 0, half = len / 2;
  int ok = c && EVP_MAC_init(c, key, keylen, params) && EVP_MAC_update(c, data, half) &&
           EVP_MAC_update(c, data + half, len - half) && EVP_MAC_final(c, out, &n, EVP_MAX_MD_SIZE);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(m);
  return ok ? n : 0;
}

static EVP_PKEY *load_key(const char *uri) {
  OSSL_STORE_CTX *s = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
  EVP_PKEY *pkey = NULL;
  while (s && !pkey && !OSSL_STORE_eof(s)) {
    OSSL_STORE_INFO *info = OSSL_STORE_load(s);
    if (info && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) pkey = OSSL_STORE_INFO_get1_PKEY(info);
    OSSL_STORE_INFO_free(info);
    if (!info) break;
  }
  OSSL_STORE_close(s);
  return pkey;
}

static int sign_verify(EVP_PKEY *pkey, const char *md, int pss, const unsigned char *data, size_t len) {
  EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
  EVP_PKEY_CTX *sp = NULL, *vp = NULL;
  unsigned char sig[1024];
  size_t n = sizeof sig;
  int ok = s && v && EVP_DigestSignInit_ex(s, &sp, md, NULL, "?provider=vhsm", pkey, NULL) &&
           (!pss || EVP_PKEY_CTX_set_rsa_padding(sp, RSA_PKCS1_PSS_PADDING) > 0) &&
           EVP_DigestSign(s, sig, &n, data, len) && EVP_DigestVerifyInit_ex(v, &vp, md, NULL, "provider=default", pkey, NULL) &&
           (!pss || EVP_PKEY_CTX_set_rsa_padding(vp, RSA_PKCS1_PSS_PADDING) > 0) &&
           EVP_DigestVerify(v, sig, n, data, len) == 1;
  if (ok) { /* a changed message must not verify */
    unsigned char *other = malloc(len + 1);
    memcpy(other, data, len);
    other[len] = 1;
    ok = EVP_DigestVerifyInit_ex(v, &vp, md, NULL, "provider=default", pkey, NULL) &&
         (!pss || EVP_PKEY_CTX_set_rsa_padding(vp, RSA_PKCS1_PSS_PADDING) > 0) &&
         EVP_DigestVerify(v, sig, n, other, len + 1) != 1;
    ERR_clear_error();
    free(other);
  }
  EVP_MD_CTX_free(s);
  EVP_MD_CTX_free(v);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODULES_DIR HMAC_KEYID KEYFILE [SIGNING_KEYID...]\n", argv[0]);
    return 2;
  }
  unsigned char key[256];
  FILE *f = fopen(argv[3], "rb");
  size_t keylen = f ? fread(key, 1, sizeof key, f) : 0;
  if (f) fclose(f);
  OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
  OSSL_PROVIDER *vhsm = OSSL_PROVIDER_load(NULL, "vhsm"), *dflt = OSSL_PROVIDER_load(NULL, "default");
  CHECK(vhsm && dflt && keylen, "load the providers and the key");

  size_t big = 3 * 1024 * 1024 + 5;
  unsigned char *data = malloc(big), a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 131 + 17);
  const size_t sizes[] = {0, 4096, big};
  for (int i = 0; i < 3; i++) {
    size_t n = mac("provider=vhsm", argv[2], NULL, 0, data, sizes[i], a);
    size_t m = mac("provider=default", NULL, key, keylen, data, sizes[i], b);
    CHECK(n == 32 && m == 32 && !memcmp(a, b, 32), "HMAC by key id = HMAC with the raw key");
  }
  CHECK(mac("provider=vhsm", NULL, key, keylen, data, 4096, a) == 32 &&
            mac("provider=default", NULL, key, keylen, data, 4096, b) == 32 && !memcmp(a, b, 32),
        "raw-key HMAC through the vhsm provider = the default provider's");
  CHECK(mac("provider=vhsm", "no-such-key", NULL, 0, data, 10, a) == 0, "unknown HMAC key fails");
  ERR_clear_error();

  for (int i = 4; i < argc; i++) {
    char uri[128];
    snprintf(uri, sizeof uri, "vhsm:%s", argv[i]);
    EVP_PKEY *pkey = load_key(uri);
    CHECK(pkey, uri);
    if (!pkey) continue;
    int ed = EVP_PKEY_is_a(pkey, "ED25519"), rsa = EVP_PKEY_is_a(pkey, "RSA");
    CHECK(sign_verify(pkey, ed ? NULL : "SHA256", 0, data, 10000), uri);
    if (!ed) CHECK(sign_verify(pkey, "SHA384", 0, data, 5000), uri);
    if (!ed) CHECK(sign_verify(pkey, "SHA256", 0, data, 100000), "a message hashed in-process");
    if (rsa) CHECK(sign_verify(pkey, "SHA256", 1, data, 5000), "RSA-PSS");
    EVP_PKEY_free(pkey);
  }
  CHECK(load_key("vhsm:no-such-key") == NULL, "unknown signing key fails");
  ERR_clear_error();

  free(data);
  OSSL_PROVIDER_unload(vhsm);
  OSSL_PROVIDER_unload(dflt);
  if (!failures) printf("ok: provider HMAC and signing\n");
  return failures ? 1 : 0;
}

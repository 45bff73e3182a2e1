/*
 * In-process throughput of the vhsm provider against OpenSSL's default provider, same process, same
 * run (bench/openssl-shim.ts drives it). Each operation runs for SECONDS through the public EVP API
 * as an application would: HMAC-SHA1 over 4 KiB and 1 MiB (vhsm: key id; default: the same key's
 * bytes), Ed25519 and ECDSA P-256 (SHA-256) signatures over 64 bytes (vhsm: keys in the appliance
 * via OSSL_STORE; default: keys made here). One JSON line per measurement on stdout.
 * Usage: prov_bench MODULES_DIR HMAC_KEYID KEYFILE ED25519_ID P256_ID SECONDS
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  EVP_MAC_CTX *mac;
  OSSL_PARAM params[3];
  const unsigned char *key;
  size_t keylen;
  EVP_MD_CTX *md;
  EVP_PKEY *pkey;
  const char *mdname, *props;
  const unsigned char *data;
  size_t len;
} op;

static int do_mac(op *o) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t n;
  return EVP_MAC_init(o->mac, o->key, o->keylen, o->params) && EVP_MAC_update(o->mac, o->data, o->len) &&
         EVP_MAC_final(o->mac, out, &n, sizeof out);
}

static int do_sign(op *o) {
  unsigned char sig[256];
  size_t n = sizeof sig;
  return EVP_DigestSignInit_ex(o->md, NULL, o->mdname, NULL, o->props, o->pkey, NULL) &&
         EVP_DigestSign(o->md, sig, &n, o->data, o->len);
}

static void run(const char *name, const char *impl, int (*fn)(op *), op *o, double seconds) {
  long count = 0;
  double start = now(), t = start;
  while (t - start < seconds) {
    for (int i = 0; i < 8; i++, count++)
      if (!fn(o)) {
        fprintf(stderr, "%s/%s failed\n", name, impl);
        ERR_print_errors_fp(stderr);
        exit(1);
      }
    t = now();
  }
  printf("{\"op\":\"%s\",\"impl\":\"%s\",\"count\":%ld,\"seconds\":%.4f,\"bytes\":%zu}\n", name, impl, count, t - start,
         o->len);
  fflush(stdout);
}

static EVP_PKEY *load_key(const char *id) {
  char uri[128];
  snprintf(uri, sizeof uri, "vhsm:%s", id);
  OSSL_STORE_CTX *s = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
  OSSL_STORE_INFO *info = s ? OSSL_STORE_load(s) : NULL;
  EVP_PKEY *pkey = info ? OSSL_STORE_INFO_get1_PKEY(info) : NULL;
  OSSL_STORE_INFO_free(info);
  OSSL_STORE_close(s);
  return pkey;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s MODULES_DIR HMAC_KEYID KEYFILE ED25519_ID P256_ID SECONDS\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[6]);
  unsigned char key[256];
  FILE *f = fopen(argv[3], "rb");
  size_t keylen = f ? fread(key, 1, sizeof key, f) : 0;
  if (f) fclose(f);
  OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
  OSSL_PROVIDER *vhsm = OSSL_PROVIDER_load(NULL, "vhsm"), *dflt = OSSL_PROVIDER_load(NULL, "default");
  if (!vhsm || !dflt || !keylen) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  size_t big = 1024 * 1024;
  unsigned char *data = malloc(big);
  for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 7 + 3);

  EVP_MAC *mv = EVP_MAC_fetch(NULL, "HMAC", "provider=vhsm"), *md = EVP_MAC_fetch(NULL, "HMAC", "provider=default");
  op ov = {.mac = EVP_MAC_CTX_new(mv), .data = data}, od = {.mac = EVP_MAC_CTX_new(md), .data = data};
  ov.params[0] = od.params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0);
  ov.params[1] = OSSL_PARAM_construct_utf8_string("key-id", argv[2], 0);
  ov.params[2] = od.params[1] = od.params[2] = OSSL_PARAM_construct_end();
  od.key = key;
  od.keylen = keylen;
  const size_t sizes[] = {4096, big};
  const char *names[] = {"hmac-sha1-4k", "hmac-sha1-1m"};
  for (int i = 0; i < 2; i++) {
    ov.len = od.len = sizes[i];
    run(names[i], "vhsm", do_mac, &ov, seconds);
    run(names[i], "default", do_mac, &od, seconds);
  }

  const char *ids[] = {argv[4], argv[5]}, *algs[] = {"ED25519", "EC"}, *sig_names[] = {"ed25519-sign", "p256-sign"};
  for (int i = 0; i < 2; i++) {
    op sv = {.md = EVP_MD_CTX_new(), .pkey = load_key(ids[i]), .props = "?provider=vhsm", .data = data, .len = 64};
    op sd = {.md = EVP_MD_CTX_new(), .props = "provider=default", .data = data, .len = 64};
    sd.pkey = i == 0 ? EVP_PKEY_Q_keygen(NULL, "provider=default", algs[i])
                     : EVP_PKEY_Q_keygen(NULL, "provider=default", algs[i], "P-256");
    sv.mdname = sd.mdname = i == 0 ? NULL : "SHA256";
    if (!sv.pkey || !sd.pkey) {
      fprintf(stderr, "cannot load %s\n", ids[i]);
      ERR_print_errors_fp(stderr);
      return 1;
    }
    run(sig_names[i], "vhsm", do_sign, &sv, seconds);
    run(sig_names[i], "default", do_sign, &sd, seconds);
    EVP_PKEY_free(sv.pkey);
    EVP_PKEY_free(sd.pkey);
    EVP_MD_CTX_free(sv.md);
    EVP_MD_CTX_free(sd.md);
  }
  EVP_MAC_CTX_free(ov.mac);
  EVP_MAC_CTX_free(od.mac);
  EVP_MAC_free(mv);
  EVP_MAC_free(md);
  free(data);
  OSSL_PROVIDER_unload(vhsm);
  OSSL_PROVIDER_unload(dflt);
  return 0;
}

/*
 * The ENGINE API from C, as a legacy application would use it (run by tengine.sh):
 *   engine_client ENGINE_SO hmac KEYID sha1|sha256|sha384|sha512 FILE   -> hex HMAC on stdout
 *   engine_client ENGINE_SO sign vhsm:KEYID FILE                       -> signature on stdout
 * hmac: ENGINE_set_default(PKEY_METHS | PKEY_ASN1_METHS), EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC,
 * NULL, "vhsm:KEYID"), then EVP_DigestSign in two updates.
 * sign: ENGINE_load_private_key(e, "vhsm:KEYID"), EVP_DigestSign (SHA-256; Ed25519 pure), and the
 * same EVP_PKEY verifies it in-process before it is printed. Errors go to stderr, exit 1.
 */
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += r;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

static ENGINE *load_engine(const char *so) {
  ENGINE *e = ENGINE_by_id("dynamic");
  if (!e) return NULL;
  if (!ENGINE_ctrl_cmd_string(e, "SO_PATH", so, 0) || !ENGINE_ctrl_cmd_string(e, "LOAD", NULL, 0) ||
      !ENGINE_init(e)) {
    ENGINE_free(e);
    return NULL;
  }
  ENGINE_free(e); /* ENGINE_init holds the functional reference */
  return e;
}

static int hmac(ENGINE *e, const char *key_id, const char *md_name, const unsigned char *data, size_t len) {
  char ref[128];
  snprintf(ref, sizeof ref, "vhsm:%s", key_id);
  /* HMAC keys are made through the engine's registered methods (OpenSSL 3.0 has no legacy HMAC of its own) */
  EVP_PKEY *key = ENGINE_set_default(e, ENGINE_METHOD_PKEY_METHS | ENGINE_METHOD_PKEY_ASN1_METHS)
                      ? EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, (const unsigned char *)ref, strlen(ref))
                      : NULL;
  EVP_MD_CTX *mctx = EVP_MD_CTX_new();
  const EVP_MD *md = EVP_get_digestbyname(md_name);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t n = sizeof mac;
  int ok = key && mctx && md && EVP_DigestSignInit(mctx, NULL, md, NULL, key) > 0 &&
           EVP_DigestSignUpdate(mctx, data, len / 2) > 0 && EVP_DigestSignUpdate(mctx, data + len / 2, len - len / 2) > 0 &&
           EVP_DigestSignFinal(mctx, mac, &n) > 0;
  if (ok)
    for (size_t i = 0; i < n; i++) printf("%02x%s", mac[i], i + 1 == n ? "\n" : "");
  EVP_MD_CTX_free(mctx);
  EVP_PKEY_free(key);
  return ok;
}

static int sign(ENGINE *e, const char *uri, const unsigned char *data, size_t len) {
  EVP_PKEY *key = ENGINE_load_private_key(e, uri, NULL, NULL);
  EVP_MD_CTX *mctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
  const EVP_MD *md = key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
  unsigned char *sig = NULL;
  size_t n = 0;
  int ok = key && mctx && vctx && EVP_DigestSignInit(mctx, NULL, md, NULL, key) > 0 &&
           EVP_DigestSign(mctx, NULL, &n, data, len) > 0 && (sig = malloc(n)) &&
           EVP_DigestSign(mctx, sig, &n, data, len) > 0 && EVP_DigestVerifyInit(vctx, NULL, md, NULL, key) > 0 &&
           EVP_DigestVerify(vctx, sig, n, data, len) == 1 && fwrite(sig, 1, n, stdout) == n;
  free(sig);
  EVP_MD_CTX_free(vctx);
  EVP_MD_CTX_free(mctx);
  EVP_PKEY_free(key);
  return ok;
}

int main(int argc, char **argv) {
  int hmac_cmd = argc == 6 && !strcmp(argv[2], "hmac"), sign_cmd = argc == 5 && !strcmp(argv[2], "sign");
  if (!hmac_cmd && !sign_cmd) {
    fprintf(stderr, "usage: %s ENGINE_SO hmac KEYID MD FILE | ENGINE_SO sign URI FILE\n", argv[0]);
    return 2;
  }
  size_t len = 0;
  unsigned char *data = read_file(argv[argc - 1], &len);
  ENGINE *e = data ? load_engine(argv[1]) : NULL;
  int ok = e && (hmac_cmd ? hmac(e, argv[3], argv[4], data, len) : sign(e, argv[3], data, len));
  if (!ok) ERR_print_errors_fp(stderr);
  if (e) ENGINE_finish(e);
  free(data);
  return ok ? 0 : 1;
}

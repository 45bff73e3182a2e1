/*
 * Configuration (openssl.cnf provider section, then the environment), the lazily opened connection,
 * and error reporting through the core's error upcalls.
 *   socket   = /run/vhsm/vhsm.sock      (or $VHSM_SOCKET)
 *   user     = alice                    (or $VHSM_USER)
 *   pin-file = /run/secrets/vhsm-pin    (or $VHSM_PIN_FILE; preferred)
 *   pin      = 1234                     (or $VHSM_PIN; in openssl.cnf it works but warns)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_prov.h"

static char *config_value(const OSSL_CORE_HANDLE *core, OSSL_FUNC_core_get_params_fn *get, const char *key,
                          const char *env) {
  const char *value = NULL;
  if (get) {
    OSSL_PARAM params[] = {OSSL_PARAM_utf8_ptr(key, (char **)&value, 0), OSSL_PARAM_END};
    if (!get(core, params)) value = NULL;
  }
  if (!value || !*value) value = env ? getenv(env) : NULL;
  return value && *value ? strdup(value) : NULL;
}

int vhsm_prov_configure(vhsm_prov *p, const OSSL_DISPATCH *in) {
  OSSL_FUNC_core_get_params_fn *get = NULL;
  for (; in->function_id; in++) {
    switch (in->function_id) {
    case OSSL_FUNC_CORE_GET_PARAMS: get = OSSL_FUNC_core_get_params(in); break;
    case OSSL_FUNC_CORE_NEW_ERROR: p->new_error = OSSL_FUNC_core_new_error(in); break;
    case OSSL_FUNC_CORE_SET_ERROR_DEBUG: p->set_error_debug = OSSL_FUNC_core_set_error_debug(in); break;
    case OSSL_FUNC_CORE_VSET_ERROR: p->vset_error = OSSL_FUNC_core_vset_error(in); break;
    default: break;
    }
  }
  p->socket = config_value(p->core, get, "socket", "VHSM_SOCKET");
  p->user = config_value(p->core, get, "user", "VHSM_USER");
  p->pin_file = config_value(p->core, get, "pin-file", "VHSM_PIN_FILE");
  p->pin = config_value(p->core, get, "pin", NULL);
  if (p->pin) {
    fprintf(stderr, "vhsm provider: warning: a PIN in openssl.cnf can be read by anyone who can read that "
                    "file; use pin-file or VHSM_PIN_FILE\n");
  } else if (!p->pin_file) {
    p->pin = config_value(p->core, NULL, "pin", "VHSM_PIN");
  }
  return 1;
}

static void wipe_free(char *s) {
  if (!s) return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

void vhsm_prov_unconfigure(vhsm_prov *p) {
  free(p->socket);
  free(p->user);
  free(p->pin_file);
  wipe_free(p->pin);
}

void vhsm_prov_raise(vhsm_prov *p, int status, const char *fmt, ...) {
  if (!p->new_error || !p->vset_error) return;
  va_list ap;
  va_start(ap, fmt);
  p->new_error(p->core);
  p->set_error_debug(p->core, NULL, 0, "vhsm");
  p->vset_error(p->core, (uint32_t)status, fmt, ap);
  va_end(ap);
}

void vhsm_prov_raise_from(vhsm_prov *p, int status, const char *what) {
  const char *msg = p->h ? vhsm_last_message(p->h) : "";
  vhsm_prov_raise(p, status, "%s: %s: %s", what, vhsm_status_name(status), *msg ? msg : vhsm_strerror(status));
}

static int read_pin_file(vhsm_prov *p, char *pin, size_t cap) {
  FILE *f = fopen(p->pin_file, "r");
  if (!f) {
    vhsm_prov_raise(p, VHSM_BAD_CREDENTIALS, "cannot read the PIN file %s", p->pin_file);
    return 0;
  }
  size_t n = fread(pin, 1, cap - 1, f);
  fclose(f);
  while (n > 0 && (pin[n - 1] == '\n' || pin[n - 1] == '\r')) n--;
  pin[n] = 0;
  return 1;
}

vhsm *vhsm_prov_handle(vhsm_prov *p) {
  pthread_mutex_lock(&p->lock);
  if (p->h) {
    pthread_mutex_unlock(&p->lock);
    return p->h;
  }
  char pin[256] = "", error[512] = "";
  vhsm_options opt = {0};
  opt.socket = p->socket;
  opt.user = p->user;
  opt.error = error;
  opt.error_len = sizeof error;
  opt.client_name = "vhsm-openssl-provider";
  if (p->user) {
    if (p->pin_file && !read_pin_file(p, pin, sizeof pin)) goto out;
    if (!p->pin_file && !p->pin) {
      vhsm_prov_raise(p, VHSM_NOT_LOGGED_IN, "no PIN for user %s: set pin-file or VHSM_PIN_FILE", p->user);
      goto out;
    }
    opt.pin = p->pin_file ? pin : p->pin;
    opt.pin_len = strlen(opt.pin);
  }
  int rc = vhsm_open(&opt, &p->h);
  if (rc)
    vhsm_prov_raise(p, rc, "cannot open a vhsm session on %s: %s: %s", p->socket ? p->socket : "$VHSM_SOCKET",
                    vhsm_status_name(rc), *error ? error : vhsm_strerror(rc));
out:
  OPENSSL_cleanse(pin, sizeof pin);
  pthread_mutex_unlock(&p->lock);
  return p->h;
}

int vhsm_parse_key_id(const char *in, char out[VHSM_KEY_ID_MAX + 1]) {
  if (!in) return 0;
  if (strncmp(in, "vhsm:", 5) == 0) in += 5;
  size_t n = strlen(in);
  if (n == 0 || n > VHSM_KEY_ID_MAX) return 0;
  memcpy(out, in, n + 1);
  return 1;
}

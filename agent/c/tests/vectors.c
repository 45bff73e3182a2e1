/*
 * The C codec against test/vectors/messages.json (converted to lines by tvectors.sh):
 * every vector encodes to exactly its hex and decodes back to its fields; every invalid frame is
 * rejected (header-level ones with the exact status).
 *   V name | H flags opcode status id | F type value | X hex      (a vector, ended by X)
 *   I name | L level expect maxBody | S type ... | Y hex          (an invalid frame, ended by Y)
 * Values: integers in decimal; bytes and str as hex ("-" when empty); strs as "count hex hex...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

#define MAXF 32

typedef struct {
  char type[8];
  char value[8192];
} field;

static size_t unhex(const char *h, unsigned char *out, size_t cap) {
  if (!strcmp(h, "-")) return 0;
  size_t n = strlen(h) / 2;
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]);
  return n;
}

static unsigned char tmp[1 << 16], tmp2[1 << 16];

static void encode_field(vhsm_buf *b, const field *f) {
  if (!strcmp(f->type, "u8")) put_u8(b, (unsigned)strtoul(f->value, NULL, 10));
  else if (!strcmp(f->type, "u16")) put_u16(b, (unsigned)strtoul(f->value, NULL, 10));
  else if (!strcmp(f->type, "u32")) put_u32(b, (uint32_t)strtoul(f->value, NULL, 10));
  else if (!strcmp(f->type, "u64")) put_u64(b, strtoull(f->value, NULL, 10));
  else if (!strcmp(f->type, "bytes")) {
    size_t n = unhex(f->value, tmp, sizeof tmp);
    put_bytes(b, tmp, n);
  } else if (!strcmp(f->type, "str")) {
    size_t n = unhex(f->value, tmp, sizeof tmp - 1);
    tmp[n] = 0;
    put_str(b, (char *)tmp);
  } else if (!strcmp(f->type, "strs")) {
    char copy[8192];
    strcpy(copy, f->value);
    char *save = NULL, *tok = strtok_r(copy, " ", &save);
    put_u32(b, (uint32_t)strtoul(tok, NULL, 10));
    while ((tok = strtok_r(NULL, " ", &save))) {
      size_t n = unhex(tok, tmp, sizeof tmp - 1);
      tmp[n] = 0;
      put_str(b, (char *)tmp);
    }
  }
}

/* Decodes one field; 1 when it matches f (or when f is NULL: just decoding, for invalid frames). */
static int decode_field(vhsm_rd *r, const char *type, const field *f) {
  if (!strcmp(type, "bytes")) {
    size_t n;
    const unsigned char *p = get_bytes(r, &n);
    return !f || (n == unhex(f->value, tmp, sizeof tmp) && (!n || !memcmp(p, tmp, n)));
  }
  if (!strcmp(type, "str")) {
    char s[8192];
    get_str(r, s, sizeof s);
    return !f || (strlen(s) == unhex(f->value, tmp, sizeof tmp) && !memcmp(s, tmp, strlen(s)));
  }
  if (!strcmp(type, "strs")) {
    uint32_t count = get_u32(r);
    if (count > (r->len - r->pos) / 2) r->failed = 1;
    char expect[8192] = "", s[8192];
    if (f) strcpy(expect, f->value);
    char *save = NULL, *tok = strtok_r(expect, " ", &save);
    int same = !f || (tok && strtoul(tok, NULL, 10) == count);
    for (uint32_t i = 0; i < count && !r->failed; i++) {
      get_str(r, s, sizeof s);
      if (f) {
        tok = strtok_r(NULL, " ", &save);
        same = same && tok && strlen(s) == unhex(tok, tmp2, sizeof tmp2) && !memcmp(s, tmp2, strlen(s));
      }
    }
    return same;
  }
  uint64_t v = !strcmp(type, "u8")    ? get_u8(r)
               : !strcmp(type, "u16") ? get_u16(r)
               : !strcmp(type, "u32") ? get_u32(r)
                                      : get_u64(r);
  return !f || v == strtoull(f->value, NULL, 10);
}

int main(void) {
  static char line[20000], name[512];
  static field fields[MAXF];
  static unsigned char frame[1 << 16];
  unsigned flags = 0, opcode = 0, status = 0, level_header = 0, max_body = 0;
  unsigned long id = 0;
  int nf = 0, passed = 0, failed = 0;
  char expect[64] = "";
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *arg = line + 2;
    switch (line[0]) {
    case 'V':
    case 'I':
      snprintf(name, sizeof name, "%.400s", arg);
      nf = 0;
      break;
    case 'H': sscanf(arg, "%u %u %u %lu", &flags, &opcode, &status, &id); break;
    case 'F':
    case 'S':
      if (nf < MAXF) {
        sscanf(arg, "%7s", fields[nf].type);
        char *v = strchr(arg, ' ');
        snprintf(fields[nf].value, sizeof fields[nf].value, "%.8000s", v ? v + 1 : "");
        nf++;
      }
      break;
    case 'L': {
      char level[16];
      sscanf(arg, "%15s %63s %u", level, expect, &max_body);
      level_header = !strcmp(level, "header");
      break;
    }
    case 'X': {
      size_t n = unhex(arg, frame, sizeof frame);
      vhsm_buf b = {0};
      put_header(&b, flags, opcode, status, 0);
      for (int i = 0; i < nf; i++) encode_field(&b, &fields[i]);
      patch_header(b.p, (uint32_t)id, (uint32_t)(b.len - VHSM_HEADER_SIZE));
      int enc_ok = !b.failed && b.len == n && !memcmp(b.p, frame, n);
      buf_free(&b);
      vhsm_header hd;
      int dec_ok = parse_header(frame, &hd) == VHSM_OK && hd.flags == flags && hd.opcode == opcode &&
                   hd.status == status && hd.request_id == id && hd.body_len == n - VHSM_HEADER_SIZE;
      vhsm_rd r = {frame + VHSM_HEADER_SIZE, n - VHSM_HEADER_SIZE, 0, 0};
      for (int i = 0; i < nf; i++) dec_ok = decode_field(&r, fields[i].type, &fields[i]) && dec_ok;
      dec_ok = dec_ok && rd_end(&r) == VHSM_OK;
      if (enc_ok && dec_ok) passed++;
      else failed++, printf("not ok: %s (encode %s, decode %s)\n", name, enc_ok ? "ok" : "BAD", dec_ok ? "ok" : "BAD");
      break;
    }
    case 'Y': {
      size_t n = unhex(arg, frame, sizeof frame);
      int got;
      if (level_header) {
        vhsm_header hd;
        got = n < VHSM_HEADER_SIZE ? VHSM_BAD_FRAME : parse_header(frame, &hd);
        if (!got && hd.body_len > (max_body ? max_body : VHSM_DEFAULT_MAX_BODY)) got = VHSM_FRAME_TOO_LARGE;
      } else {
        vhsm_rd r = {frame + VHSM_HEADER_SIZE, n - VHSM_HEADER_SIZE, 0, 0};
        for (int i = 0; i < nf; i++) decode_field(&r, fields[i].type, NULL);
        /* the appliance answers a body it cannot decode with BAD_ARGUMENTS */
        got = rd_end(&r) == VHSM_OK ? VHSM_OK : VHSM_BAD_ARGUMENTS;
      }
      if (!strcmp(vhsm_status_name(got), expect)) passed++;
      else failed++, printf("not ok: %s: expected %s, got %s\n", name, expect, vhsm_status_name(got));
      break;
    }
    default: break;
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed || !passed ? 1 : 0;
}

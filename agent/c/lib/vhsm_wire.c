/* The body codec (protocol/codec.ts): big-endian integers, u32-length bytes, u16-length strings. */
#include <stdlib.h>
#include <string.h>

#include "vhsm_internal.h"

void buf_free(vhsm_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void buf_wipe(vhsm_buf *b) {
  if (b->p) {
    volatile unsigned char *v = b->p;
    for (size_t i = 0; i < b->cap; i++) v[i] = 0;
  }
  buf_free(b);
}

static int reserve(vhsm_buf *b, size_t n) {
  if (b->failed) return 0;
  if (b->len + n <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n) cap *= 2;
  unsigned char *p = malloc(cap);
  if (!p) {
    b->failed = 1;
    return 0;
  }
  if (b->p) {
    memcpy(p, b->p, b->len);
    /* the old block may have held a PIN or a secret: wipe before freeing */
    memset(b->p, 0, b->cap);
    free(b->p);
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

void put_raw(vhsm_buf *b, const void *p, size_t n) {
  if (!reserve(b, n)) return;
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}

void put_u8(vhsm_buf *b, unsigned v) {
  unsigned char c = (unsigned char)v;
  put_raw(b, &c, 1);
}

void put_u16(vhsm_buf *b, unsigned v) {
  unsigned char c[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  put_raw(b, c, 2);
}

void put_u32(vhsm_buf *b, uint32_t v) {
  unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  put_raw(b, c, 4);
}

void put_u64(vhsm_buf *b, uint64_t v) {
  put_u32(b, (uint32_t)(v >> 32));
  put_u32(b, (uint32_t)v);
}

void put_bytes(vhsm_buf *b, const void *p, size_t n) {
  if (n > 0xffffffffu) {
    b->failed = 1;
    return;
  }
  put_u32(b, (uint32_t)n);
  put_raw(b, p, n);
}

void put_str(vhsm_buf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n > 0xffff) {
    b->failed = 1;
    return;
  }
  put_u16(b, (unsigned)n);
  put_raw(b, s, n);
}

void put_header(vhsm_buf *b, unsigned flags, unsigned opcode, unsigned status, uint32_t id) {
  put_u8(b, 'V');
  put_u8(b, 'H');
  put_u8(b, VHSM_WIRE_VERSION);
  put_u8(b, flags);
  put_u16(b, opcode);
  put_u16(b, status);
  put_u32(b, id);
  put_u32(b, 0);
}

static void be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

void patch_header(unsigned char *frame, uint32_t id, uint32_t body_len) {
  be32(frame + 8, id);
  be32(frame + 12, body_len);
}

static const unsigned char *take(vhsm_rd *r, size_t n) {
  if (r->failed || r->len - r->pos < n) {
    r->failed = 1;
    return NULL;
  }
  const unsigned char *p = r->p + r->pos;
  r->pos += n;
  return p;
}

unsigned get_u8(vhsm_rd *r) {
  const unsigned char *p = take(r, 1);
  return p ? p[0] : 0;
}

unsigned get_u16(vhsm_rd *r) {
  const unsigned char *p = take(r, 2);
  return p ? (unsigned)(p[0] << 8 | p[1]) : 0;
}

uint32_t get_u32(vhsm_rd *r) {
  const unsigned char *p = take(r, 4);
  return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

uint64_t get_u64(vhsm_rd *r) {
  uint64_t hi = get_u32(r);
  if (hi > 0x1fffff) r->failed = 1; /* the protocol caps u64 at 2^53 - 1 */
  return hi << 32 | get_u32(r);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len;
    unsigned min, cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) len = 2, min = 0x80, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) len = 3, min = 0x800, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) len = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += len;
  }
  return 1;
}

const unsigned char *get_bytes(vhsm_rd *r, size_t *len) {
  uint32_t n = get_u32(r);
  const unsigned char *p = take(r, n);
  *len = p ? n : 0;
  return p;
}

void get_str(vhsm_rd *r, char *out, size_t cap) {
  unsigned n = get_u16(r);
  const unsigned char *p = take(r, n);
  if (!p || n >= cap || memchr(p, 0, n) || !utf8_valid(p, n)) {
    r->failed = 1;
    if (cap) out[0] = 0;
    return;
  }
  memcpy(out, p, n);
  out[n] = 0;
}

int rd_end(vhsm_rd *r) {
  return !r->failed && r->pos == r->len ? VHSM_OK : VHSM_BAD_FRAME;
}

int parse_header(const unsigned char *b, vhsm_header *h) {
  if (b[0] != 'V' || b[1] != 'H') return VHSM_BAD_FRAME;
  if (b[2] != VHSM_WIRE_VERSION) return VHSM_UNSUPPORTED_VERSION;
  vhsm_rd r = {b + 3, VHSM_HEADER_SIZE - 3, 0, 0};
  h->flags = get_u8(&r);
  h->opcode = get_u16(&r);
  h->status = get_u16(&r);
  h->request_id = get_u32(&r);
  h->body_len = get_u32(&r);
  return VHSM_OK;
}

void req_start(vhsm_req *q, unsigned opcode) {
  memset(q, 0, sizeof *q);
  put_header(&q->head, 0, opcode, 0, 0);
}

void reqs_reset(vhsm_req *reqs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    vhsm_req *q = &reqs[i];
    if (q->resp) {
      memset(q->resp, 0, q->resp_len);
      free(q->resp);
    }
    q->resp = NULL;
    q->resp_len = 0;
    q->done = 0;
    q->status = 0;
  }
}

void req_free(vhsm_req *q) {
  /* request fields may include a PIN or an imported secret */
  buf_wipe(&q->head);
  buf_wipe(&q->tail);
  if (q->resp) {
    memset(q->resp, 0, q->resp_len);
    free(q->resp);
  }
  q->resp = NULL;
}

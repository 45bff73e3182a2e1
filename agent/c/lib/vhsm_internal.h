/* libvhsm internals: wire codec, the connection, and the request/response exchange. */
#ifndef VHSM_INTERNAL_H
#define VHSM_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhsm.h"

#define VHSM_HIDDEN __attribute__((visibility("hidden")))

/* Frame header (protocol/frame.ts): "VH" version flags opcode status request-id body-length. */
#define VHSM_HEADER_SIZE 16
#define VHSM_WIRE_VERSION 1
#define VHSM_PROTOCOL_VERSION 1
#define VHSM_FLAG_RESPONSE 0x01
#define VHSM_DEFAULT_MAX_BODY (16u * 1024 * 1024 + 4096)
/* The protocol's largest frame body (protocol/frame.ts): a HELLO maxFrame above it is clamped. */
#define VHSM_PROTOCOL_MAX_BODY (1u << 30)
/* The largest response body the client allocates: RANDOM's 64 KiB chunk and public keys fit easily. */
#define VHSM_MAX_RESPONSE (1024u * 1024 + 4096)

/* Opcodes (protocol/messages.ts). */
enum {
  OP_HELLO = 0x0001,
  OP_LOGIN = 0x0002,
  OP_LOGOUT = 0x0003,
  OP_PING = 0x0005,
  OP_KEY_GENERATE = 0x0010,
  OP_KEY_IMPORT = 0x0011,
  OP_KEY_DELETE = 0x0012,
  OP_KEY_INFO = 0x0015,
  OP_KEY_PUBLIC = 0x0016,
  OP_DIGEST = 0x0020,
  OP_DIGEST_INIT = 0x0021,
  OP_DIGEST_UPDATE = 0x0022,
  OP_DIGEST_FINAL = 0x0023,
  OP_HMAC = 0x0030,
  OP_HMAC_INIT = 0x0031,
  OP_HMAC_UPDATE = 0x0032,
  OP_HMAC_FINAL = 0x0033,
  OP_HMAC_VERIFY = 0x0034,
  OP_RANDOM = 0x0040,
  OP_SIGN = 0x0050
};

/* A growable byte buffer; the writer side of the body codec. */
typedef struct vhsm_buf {
  unsigned char *p;
  size_t len, cap;
  int failed; /* allocation failure or a field too long: checked once at the end */
} vhsm_buf;

VHSM_HIDDEN void buf_free(vhsm_buf *b);
VHSM_HIDDEN void buf_wipe(vhsm_buf *b); /* zeroes, then frees: for buffers that held secrets */
VHSM_HIDDEN void put_raw(vhsm_buf *b, const void *p, size_t n);
VHSM_HIDDEN void put_u8(vhsm_buf *b, unsigned v);
VHSM_HIDDEN void put_u16(vhsm_buf *b, unsigned v);
VHSM_HIDDEN void put_u32(vhsm_buf *b, uint32_t v);
VHSM_HIDDEN void put_u64(vhsm_buf *b, uint64_t v);
VHSM_HIDDEN void put_bytes(vhsm_buf *b, const void *p, size_t n);
VHSM_HIDDEN void put_str(vhsm_buf *b, const char *s);
/* Starts a request frame: the header with a zero request id and length, patched when sent. */
VHSM_HIDDEN void put_header(vhsm_buf *b, unsigned flags, unsigned opcode, unsigned status, uint32_t id);
VHSM_HIDDEN void patch_header(unsigned char *frame, uint32_t id, uint32_t body_len);

/* The reader side: views into a body; any overrun sets `failed` and later reads return zeros. */
typedef struct vhsm_rd {
  const unsigned char *p;
  size_t len, pos;
  int failed;
} vhsm_rd;

VHSM_HIDDEN unsigned get_u8(vhsm_rd *r);
VHSM_HIDDEN unsigned get_u16(vhsm_rd *r);
VHSM_HIDDEN uint32_t get_u32(vhsm_rd *r);
VHSM_HIDDEN uint64_t get_u64(vhsm_rd *r);
/* A `bytes` field as a view. */
VHSM_HIDDEN const unsigned char *get_bytes(vhsm_rd *r, size_t *len);
/* A `str` field copied into out (NUL-terminated); fails if it does not fit. */
VHSM_HIDDEN void get_str(vhsm_rd *r, char *out, size_t cap);
/* VHSM_OK when the whole body was read exactly, VHSM_BAD_FRAME otherwise. */
VHSM_HIDDEN int rd_end(vhsm_rd *r);

typedef struct vhsm_header {
  unsigned flags, opcode, status;
  uint32_t request_id, body_len;
} vhsm_header;
/* VHSM_OK, VHSM_BAD_FRAME (magic) or VHSM_UNSUPPORTED_VERSION. */
VHSM_HIDDEN int parse_header(const unsigned char *b, vhsm_header *h);

/*
 * One request in an exchange: `head` holds the frame header and the fields before `data`; `data`
 * (a caller's buffer, not copied) is sent between head and `tail`. The response body is malloc'd.
 */
typedef struct vhsm_req {
  vhsm_buf head;
  const void *data;
  size_t data_len;
  vhsm_buf tail;
  uint32_t id;
  int done;
  int status;
  unsigned char *resp;
  size_t resp_len;
} vhsm_req;

VHSM_HIDDEN void req_start(vhsm_req *q, unsigned opcode);
VHSM_HIDDEN void req_free(vhsm_req *q);
/* Forgets any answer: a broken or new exchange must not leave a stale done/resp behind. */
VHSM_HIDDEN void reqs_reset(vhsm_req *reqs, size_t n);

struct vhsm {
  pthread_mutex_t lock;
  pid_t pid;      /* the process that opened fd: a different getpid() means we were forked */
  int fd;         /* -1 when not connected */
  unsigned generation;
  uint32_t next_id;
  uint32_t max_body; /* what HELLO allows */
  char *socket_path, *user, *client_name;
  unsigned char *pin;
  size_t pin_len;
  int reconnect_timeout_ms, io_timeout_ms;
  int64_t deadline; /* now_ms() by which the exchange under way must be done: io_timeout_ms after it began */
  uint64_t serial; /* unique per vhsm_open in the process: whose message a thread holds */
  char container[128];
  /* bytes received but not yet parsed: one recv() brings many small responses (emptied on drop) */
  unsigned char rbuf[16384];
  size_t rpos, rlen;
};

struct vhsm_stream {
  vhsm *h;
  unsigned generation;
  uint32_t ctx;
  unsigned update_op, final_op;
  int alg; /* FINAL must answer exactly vhsm_hash_size(alg) bytes */
};

/* Copies a MAC/digest answer that must be exactly vhsm_hash_size(alg) bytes (vhsm_ops.c). */
VHSM_HIDDEN int copy_hash(vhsm *h, vhsm_rd *r, int alg, unsigned char *out, size_t *out_len);

/* Session: connect + HELLO + LOGIN (vhsm_session.c). Called with the lock held. */
VHSM_HIDDEN int session_establish(vhsm *h);
VHSM_HIDDEN void session_drop(vhsm *h);
/* Lock the handle and deal with a fork: the child forgets the parent's connection. */
VHSM_HIDDEN void handle_enter(vhsm *h);
VHSM_HIDDEN void handle_leave(vhsm *h);

/*
 * Sends all requests, then reads until each has its response (vhsm_exchange.c). The whole of it,
 * sending included, must end within io_timeout_ms: a stalled or trickling appliance is VHSM_TIMEOUT.
 * It starts with an empty message, so one that succeeds leaves none (nor a failed reconnect's).
 */
VHSM_HIDDEN int exchange(vhsm *h, vhsm_req *reqs, size_t n);
/* exchange() on a live session, reconnecting first if needed; retries when retry_safe. Lock held. */
VHSM_HIDDEN int call(vhsm *h, vhsm_req *reqs, size_t n, int retry_safe);
/*
 * call() in windows of VHSM_WINDOW requests: everything in a window is sent before anything is read,
 * and the appliance refuses more than maxInflight (1024) unanswered requests on a connection.
 * Returns the first failure; a broken connection stops it (later requests stay not done).
 */
#define VHSM_WINDOW 256
VHSM_HIDDEN int call_many(vhsm *h, vhsm_req *reqs, size_t n, int retry_safe);
VHSM_HIDDEN void set_message(vhsm *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Messages are per thread (vhsm_last_message): threads sharing a handle each see why their own last
 * call failed, and a message written after the lock is released races with nobody.
 */
#define VHSM_MESSAGE_MAX 512
/* The calling thread's message buffer, now about h (emptied if it was about another handle). */
VHSM_HIDDEN char *thread_message(const vhsm *h);
/* The calling thread's message about h, "" if its last message was about another handle. */
VHSM_HIDDEN const char *thread_message_of(const vhsm *h);
/* Milliseconds on the monotonic clock (a vDSO read, not a system call, on Linux). */
VHSM_HIDDEN int64_t now_ms(void);
/* Largest `data` that fits in one frame next to the other fields. */
VHSM_HIDDEN size_t chunk_limit(const vhsm *h);

#endif

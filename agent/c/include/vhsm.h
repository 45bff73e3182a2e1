/*
 * libvhsm: the C client of the vhsm appliance. Keys stay in the appliance; callers hold key ids.
 *
 * Threads: a `vhsm` handle is one connection guarded by a mutex, so threads may share it (their
 * calls are serialised). For parallel throughput open one handle per thread.
 * Fork: a child that uses an inherited handle notices the pid change and opens its own connection
 * (the parent's socket is closed in the child, never written). Streams opened before the fork fail
 * with VHSM_CONTEXT_LOST in the child.
 * Restarts: when the appliance goes away the handle reconnects and logs in again by itself (the PIN
 * is kept in memory for that and zeroed by vhsm_close), retrying requests that are safe to repeat.
 * Every function returns a status code (VHSM_OK = 0); vhsm_strerror() explains it and
 * vhsm_last_message() holds the appliance's message for the calling thread's last failed call on
 * that handle.
 * Timeouts: io_timeout_ms bounds each exchange with the appliance as a whole (see vhsm_options);
 * past it the call fails with VHSM_TIMEOUT and the connection is closed (the next call reconnects).
 */
#ifndef VHSM_H
#define VHSM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VHSM_API __attribute__((visibility("default")))
#else
#define VHSM_API
#endif

/* Status codes: the same numbers as protocol/status.ts. */
typedef enum vhsm_status {
  VHSM_OK = 0,
  VHSM_BAD_ARGUMENTS = 1,
  VHSM_BAD_SESSION = 2,
  VHSM_UNSUPPORTED_MECHANISM = 3,
  VHSM_NOT_INITIALISED = 4,
  VHSM_KEY_NOT_FOUND = 5,
  VHSM_BAD_CREDENTIALS = 6,
  VHSM_KEY_ID_OCCUPIED = 7,
  VHSM_NOT_AUTHORISED = 8,
  VHSM_INTERNAL = 9,
  VHSM_PIN_LOCKED = 10,
  VHSM_FRAME_TOO_LARGE = 11,
  VHSM_UNKNOWN_OPCODE = 12,
  VHSM_NOT_LOGGED_IN = 13,
  VHSM_BAD_FRAME = 14,
  VHSM_UNSUPPORTED_VERSION = 15,
  VHSM_LIMIT_EXCEEDED = 16,
  VHSM_UNAVAILABLE = 17,
  VHSM_ALREADY_LOGGED_IN = 18,
  VHSM_PIN_POLICY = 19,
  VHSM_DECRYPT_FAILED = 20,
  VHSM_NOT_EXPORTABLE = 21,
  VHSM_TAMPERED = 22,
  VHSM_AUDIT_FAILED = 23,
  VHSM_STORAGE_FULL = 24,
  VHSM_CONTAINER_NOT_FOUND = 32,
  VHSM_CONTAINER_EXISTS = 33,
  VHSM_USER_NOT_FOUND = 34,
  VHSM_USER_EXISTS = 35,
  VHSM_CONFIRMATION_REQUIRED = 36,
  VHSM_CONNECTION_FAILED = 64,
  VHSM_CONNECTION_LOST = 65,
  VHSM_CONTEXT_LOST = 66,
  VHSM_TIMEOUT = 67,
  VHSM_CLIENT_CLOSED = 68
} vhsm_status;

/* Hash algorithms on the wire (HashAlg in protocol/messages.ts). */
typedef enum vhsm_hash { VHSM_SHA1 = 1, VHSM_SHA256 = 2, VHSM_SHA384 = 3, VHSM_SHA512 = 4 } vhsm_hash;

/* Key types, import/export formats, signature algorithms and flags (protocol/messages.ts). */
enum {
  VHSM_KEY_HMAC = 1,
  VHSM_KEY_AES256 = 2,
  VHSM_KEY_ED25519 = 3,
  VHSM_KEY_ECDSA_P256 = 4,
  VHSM_KEY_ECDSA_P384 = 5,
  VHSM_KEY_RSA = 6
};
enum { VHSM_FORMAT_RAW = 1, VHSM_FORMAT_PEM = 2, VHSM_FORMAT_DER = 3, VHSM_FORMAT_JWK = 4 };
enum {
  VHSM_SIGN_DEFAULT = 0,
  VHSM_SIGN_ED25519 = 1,
  VHSM_SIGN_ECDSA_SHA256 = 2,
  VHSM_SIGN_ECDSA_SHA384 = 3,
  VHSM_SIGN_ECDSA_SHA512 = 4,
  VHSM_SIGN_RSA_PSS_SHA256 = 5,
  VHSM_SIGN_RSA_PSS_SHA384 = 6,
  VHSM_SIGN_RSA_PSS_SHA512 = 7,
  VHSM_SIGN_RSA_PKCS1_SHA256 = 8,
  VHSM_SIGN_RSA_PKCS1_SHA384 = 9,
  VHSM_SIGN_RSA_PKCS1_SHA512 = 10
};
/* PREHASHED: data is already the digest. RAW_ECDSA: r||s instead of DER. */
enum { VHSM_SIGN_PREHASHED = 1, VHSM_SIGN_RAW_ECDSA = 2 };

#define VHSM_MAX_HASH 64
#define VHSM_KEY_ID_MAX 64

typedef struct vhsm vhsm;
typedef struct vhsm_stream vhsm_stream;

typedef struct vhsm_options {
  const char *socket;      /* NULL: $VHSM_SOCKET or /run/vhsm/vhsm.sock */
  const char *user;        /* NULL: connect without logging in */
  const void *pin;         /* copied; kept to log in again after a reconnect */
  size_t pin_len;
  const char *client_name; /* shown in the appliance log; NULL: "libvhsm/<pid>" */
  int reconnect_timeout_ms; /* how long to keep reconnecting; 0: default 30000, <0: never */
  /*
   * The deadline of one exchange, sending included: a request and its answer, or a pipelined batch
   * (a window of up to 256 of vhsm_hmac_many/vhsm_sign_many, up to 16 chunks of vhsm_stream_update)
   * and all its answers; vhsm_open's HELLO and LOGIN are one each. An appliance that does not take
   * the request or does not answer in time (trickling or flooding counts as not answering) fails
   * the call with VHSM_TIMEOUT and the connection is closed; it is not retried. 0: default 60000.
   */
  int io_timeout_ms;
  char *error;              /* optional: where vhsm_open writes why it failed */
  size_t error_len;
} vhsm_options;

typedef struct vhsm_key_info {
  char id[VHSM_KEY_ID_MAX + 1];
  unsigned type, bits, version, usage;
  uint64_t created, last_used, use_count; /* ms since the epoch; count */
  unsigned flags, min_version, rotate_every;
  uint64_t rotated;
} vhsm_key_info;

VHSM_API const char *vhsm_strerror(int status);
VHSM_API const char *vhsm_status_name(int status);
VHSM_API const char *vhsm_version(void);
/* Hash by name ("sha256", "SHA2-256", "SHA-1", ...): a vhsm_hash, or 0 if unknown. */
VHSM_API int vhsm_hash_from_name(const char *name);
VHSM_API size_t vhsm_hash_size(int alg);

/* Connects, says HELLO and logs in (when opt->user is set). On failure *out is NULL. */
VHSM_API int vhsm_open(const vhsm_options *opt, vhsm **out);
/* Closes the connection and zeroes the kept PIN. NULL is allowed. */
VHSM_API void vhsm_close(vhsm *h);
/*
 * Why the calling thread's last call on h failed (the appliance's message or the library's), "" when
 * there is none: threads sharing a handle each see their own. A call that succeeds leaves "", also
 * when it had to reconnect first and an attempt failed.
 */
VHSM_API const char *vhsm_last_message(vhsm *h);
VHSM_API const char *vhsm_container(vhsm *h);
/* Connections opened so far by this handle (1 + reconnects + fork re-opens). */
VHSM_API unsigned vhsm_generation(vhsm *h);

VHSM_API int vhsm_ping(vhsm *h);
VHSM_API int vhsm_random(vhsm *h, void *out, size_t len);

/* One-shot HMAC; data larger than one frame is streamed transparently. mac needs VHSM_MAX_HASH bytes. */
VHSM_API int vhsm_hmac(vhsm *h, const char *key_id, int alg, const void *data, size_t len,
                       unsigned char *mac, size_t *mac_len);
/* n HMACs with one key, pipelined on the connection (request ids): macs[i] needs VHSM_MAX_HASH bytes. */
VHSM_API int vhsm_hmac_many(vhsm *h, const char *key_id, int alg, size_t n, const void *const *data,
                            const size_t *lens, unsigned char (*macs)[VHSM_MAX_HASH]);
VHSM_API int vhsm_hmac_verify(vhsm *h, const char *key_id, int alg, const void *data, size_t len,
                              const unsigned char *mac, size_t mac_len, int *valid);
VHSM_API int vhsm_digest(vhsm *h, int alg, const void *data, size_t len, unsigned char *out,
                         size_t *out_len);

/* Streams: the context lives in the appliance and on this connection only. */
VHSM_API int vhsm_hmac_init(vhsm *h, const char *key_id, int alg, vhsm_stream **out);
VHSM_API int vhsm_digest_init(vhsm *h, int alg, vhsm_stream **out);
VHSM_API int vhsm_stream_update(vhsm_stream *s, const void *data, size_t len);
/* Produces the result and frees the stream (also on error). */
VHSM_API int vhsm_stream_final(vhsm_stream *s, unsigned char *out, size_t *out_len);
VHSM_API void vhsm_stream_free(vhsm_stream *s);

/*
 * Keys. id "" (or NULL) lets the appliance choose; the id used is written to out_id (65 bytes).
 * usage 0 means the key type's default policy; flags: 1 = exportable.
 */
VHSM_API int vhsm_key_import(vhsm *h, const char *id, int type, int format, const void *secret, size_t len,
                             char *out_id);
VHSM_API int vhsm_key_generate(vhsm *h, const char *id, int type, unsigned bits, char *out_id);
VHSM_API int vhsm_key_delete(vhsm *h, const char *id);
/* The public half of a signing key (VHSM_FORMAT_DER or _PEM), malloc'd into *out: free with vhsm_free. */
VHSM_API int vhsm_key_public(vhsm *h, const char *id, int format, unsigned char **out, size_t *out_len);
/* Signs data (or a digest with VHSM_SIGN_PREHASHED). *sig_len: capacity in, length out. */
VHSM_API int vhsm_sign(vhsm *h, const char *key_id, int alg, unsigned flags, const void *data, size_t len,
                       unsigned char *sig, size_t *sig_len);
/*
 * n signatures with one key, pipelined on the connection (request ids; sent in windows of 256):
 * the i-th over data[i] (lens[i] bytes) goes to sigs + i * sig_stride, which holds sig_stride bytes
 * (512 fits every key type), and its length to sig_lens[i] (0 when that one failed). Returns VHSM_OK,
 * or the status of the first failure in index order; the others are still written.
 */
VHSM_API int vhsm_sign_many(vhsm *h, const char *key_id, int alg, unsigned flags, size_t n,
                            const void *const *data, const size_t *lens, unsigned char *sigs,
                            size_t sig_stride, size_t *sig_lens);
VHSM_API void vhsm_free(void *p);
VHSM_API int vhsm_key_get_info(vhsm *h, const char *id, vhsm_key_info *out);

#ifdef __cplusplus
}
#endif
#endif

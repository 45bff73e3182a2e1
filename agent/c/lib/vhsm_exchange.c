/*
 * The exchange: writes a batch of request frames (each with its own request id), then reads
 * responses, which may come back in any order, until every request has one. A lost connection
 * surfaces as VHSM_CONNECTION_LOST so call() can reconnect and retry what is safe to retry.
 * io_timeout_ms bounds the whole exchange, not each wait: an appliance that trickles a byte at a
 * time, floods answers to other requests or stops reading a large request is VHSM_TIMEOUT, which
 * call() treats like a lost stream (dropped, not retried).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vhsm_internal.h"

static __thread struct {
  uint64_t serial;
  char text[VHSM_MESSAGE_MAX];
} last_message;

char *thread_message(const vhsm *h) {
  if (last_message.serial != h->serial) {
    last_message.serial = h->serial;
    last_message.text[0] = 0;
  }
  return last_message.text;
}

const char *thread_message_of(const vhsm *h) {
  return last_message.serial == h->serial ? last_message.text : "";
}

void set_message(vhsm *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(thread_message(h), VHSM_MESSAGE_MAX, fmt, ap);
  va_end(ap);
}

/* Read without the lock (callers decide before taking it whether to stream); written under it. */
size_t chunk_limit(const vhsm *h) {
  uint32_t max = __atomic_load_n(&h->max_body, __ATOMIC_RELAXED);
  return max > 2048 ? max - 1024 : 1024;
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int lost(vhsm *h, const char *what, int err) {
  set_message(h, "connection to the appliance lost while %s: %s", what, err ? strerror(err) : "closed");
  return VHSM_CONNECTION_LOST;
}

/* The exchange ran out of time; `sending` says which side stalled: the appliance's reading or its answer. */
static int timed_out(vhsm *h, int sending) {
  if (sending) set_message(h, "the appliance did not take the request within %d ms", h->io_timeout_ms);
  else set_message(h, "the appliance did not answer within %d ms", h->io_timeout_ms);
  return VHSM_TIMEOUT;
}

/* Waits for the socket to be ready for `events` (POLLIN or POLLOUT) until the exchange's deadline. */
static int wait_ready(vhsm *h, short events) {
  int sending = events == POLLOUT;
  for (;;) {
    int64_t left = h->deadline - now_ms();
    if (left <= 0) return timed_out(h, sending);
    struct pollfd pfd = {h->fd, events, 0};
    /* left <= io_timeout_ms, an int */
    int ready = poll(&pfd, 1, (int)left);
    if (ready > 0) return VHSM_OK; /* also POLLHUP/POLLERR: the next send or recv reports them */
    if (ready < 0 && errno != EINTR) return lost(h, sending ? "sending" : "receiving", errno);
  }
}

static int send_all(vhsm *h, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)cnt;
    /*
     * MSG_NOSIGNAL: a dead appliance must give EPIPE, not kill the application with SIGPIPE.
     * MSG_DONTWAIT: a full socket buffer (an appliance that stopped reading) waits in poll() for the
     * rest of the deadline, never in sendmsg() for ever; a send that fits costs no extra call.
     */
    ssize_t n = sendmsg(h->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return lost(h, "sending", errno);
      int rc = wait_ready(h, POLLOUT);
      if (rc) return rc;
      continue;
    }
    while (cnt > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (char *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  return VHSM_OK;
}

/*
 * One recv into whatever is free: the buffer, or (for a large body) straight into the destination.
 * Tries without waiting first: with requests pipelined the answers are usually there already.
 * The clock is read before every recv, not only before a wait: an appliance flooding answers to
 * requests this exchange never sent would otherwise keep recv() succeeding past any deadline.
 */
static int recv_some(vhsm *h, unsigned char *into, size_t cap, size_t *got) {
  if (now_ms() >= h->deadline) return timed_out(h, 0);
  for (;;) {
    ssize_t n = recv(h->fd, into, cap, MSG_DONTWAIT);
    if (n > 0) {
      *got = (size_t)n;
      return VHSM_OK;
    }
    if (n == 0) return lost(h, "receiving", 0);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return lost(h, "receiving", errno);
    int rc = wait_ready(h, POLLIN);
    if (rc) return rc;
  }
}

static int recv_all(vhsm *h, void *buf, size_t len) {
  unsigned char *p = buf;
  while (len > 0) {
    if (h->rpos < h->rlen) {
      size_t n = h->rlen - h->rpos < len ? h->rlen - h->rpos : len;
      memcpy(p, h->rbuf + h->rpos, n);
      h->rpos += n;
      p += n;
      len -= n;
      if (h->rpos == h->rlen) {
        /* answers may carry random bytes a caller turns into keys: none left behind in the handle */
        memset(h->rbuf, 0, h->rlen);
        h->rpos = h->rlen = 0;
      }
      continue;
    }
    size_t got = 0;
    int rc;
    if (len >= sizeof h->rbuf) {
      if ((rc = recv_some(h, p, len, &got))) return rc;
      p += got;
      len -= got;
    } else {
      if ((rc = recv_some(h, h->rbuf, sizeof h->rbuf, &got))) return rc;
      h->rpos = 0;
      h->rlen = got;
    }
  }
  return VHSM_OK;
}

static int send_batch(vhsm *h, vhsm_req *reqs, size_t n) {
  enum { BATCH = 48 }; /* 3 iovecs per request, well under IOV_MAX */
  struct iovec iov[BATCH * 3];
  int cnt = 0;
  for (size_t i = 0; i < n; i++) {
    vhsm_req *q = &reqs[i];
    if (q->head.failed || q->tail.failed || q->head.len < VHSM_HEADER_SIZE) {
      set_message(h, "request could not be encoded (a field is too long or memory ran out)");
      return VHSM_BAD_ARGUMENTS;
    }
    size_t body = q->head.len - VHSM_HEADER_SIZE + q->data_len + q->tail.len;
    if (body > h->max_body) {
      set_message(h, "request of %zu bytes exceeds the appliance's frame limit of %u", body, h->max_body);
      return VHSM_FRAME_TOO_LARGE;
    }
    q->id = h->next_id;
    h->next_id = h->next_id == 0xffffffffu ? 1 : h->next_id + 1;
    q->done = 0;
    patch_header(q->head.p, q->id, (uint32_t)body);
    iov[cnt++] = (struct iovec){q->head.p, q->head.len};
    if (q->data_len) iov[cnt++] = (struct iovec){(void *)q->data, q->data_len};
    if (q->tail.len) iov[cnt++] = (struct iovec){q->tail.p, q->tail.len};
    if (cnt > (BATCH - 1) * 3 || i + 1 == n) {
      int rc = send_all(h, iov, cnt);
      if (rc) return rc;
      cnt = 0;
    }
  }
  return VHSM_OK;
}

static vhsm_req *find(vhsm_req *reqs, size_t n, uint32_t id) {
  for (size_t i = 0; i < n; i++)
    if (!reqs[i].done && reqs[i].id == id) return &reqs[i];
  return NULL;
}

/*
 * The appliance's message (a u16-length str, at most ~1,000 chars) shown to people: control
 * characters become '?' so no ESC sequence reaches a terminal, and a long one is truncated, not lost.
 */
static void take_error_message(vhsm *h, int status, const unsigned char *body, size_t len) {
  char msg[VHSM_MESSAGE_MAX];
  size_t n = len >= 2 ? (size_t)(body[0] << 8 | body[1]) : 0;
  if (n > len - 2 || len < 2) n = 0;
  if (n >= sizeof msg) n = sizeof msg - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = body[2 + i];
    msg[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  msg[n] = 0;
  if (!n) snprintf(msg, sizeof msg, "%s", vhsm_strerror(status));
  set_message(h, "%s", msg);
}

/* The frames read for one exchange: any failure forgets every answer of the batch. */
static int exchange_frames(vhsm *h, vhsm_req *reqs, size_t n, size_t *pending);

int exchange(vhsm *h, vhsm_req *reqs, size_t n) {
  reqs_reset(reqs, n);
  /*
   * The message explains this exchange only: a reconnect attempt that failed before it (or the
   * lost connection that caused the retry) must not show through a call that then succeeded.
   */
  thread_message(h)[0] = 0;
  h->deadline = now_ms() + h->io_timeout_ms;
  size_t pending = n;
  int rc = exchange_frames(h, reqs, n, &pending);
  /* every request answered: rc is an appliance status and the other answers are valid */
  if (pending) reqs_reset(reqs, n);
  return rc;
}

static int exchange_frames(vhsm *h, vhsm_req *reqs, size_t n, size_t *pending) {
  int rc = send_batch(h, reqs, n);
  if (rc) return rc;
  int first_error = VHSM_OK;
  while (*pending > 0) {
    unsigned char hb[VHSM_HEADER_SIZE];
    vhsm_header hd;
    if ((rc = recv_all(h, hb, sizeof hb))) return rc;
    if ((rc = parse_header(hb, &hd))) {
      set_message(h, "the appliance sent bytes that are not a vhsm frame");
      return rc;
    }
    if (!(hd.flags & VHSM_FLAG_RESPONSE) || hd.status >= VHSM_CONNECTION_FAILED) {
      /* 64 and up are this library's own codes: from the wire they mean a broken frame */
      set_message(h, "the appliance sent an invalid frame (status %u, flags %u)", hd.status, hd.flags);
      return VHSM_BAD_FRAME;
    }
    /* never allocate what a hostile HELLO or header asks for: no legitimate answer is that large */
    uint64_t limit = (uint64_t)h->max_body + 4096;
    if (limit > VHSM_MAX_RESPONSE) limit = VHSM_MAX_RESPONSE;
    if (hd.body_len > limit) {
      set_message(h, "the appliance sent a %u-byte response; the limit is %u", hd.body_len, (unsigned)limit);
      return VHSM_BAD_FRAME;
    }
    unsigned char *body = malloc(hd.body_len ? hd.body_len : 1);
    if (!body) return VHSM_INTERNAL;
    if ((rc = recv_all(h, body, hd.body_len))) {
      free(body);
      return rc;
    }
    vhsm_req *q = find(reqs, n, hd.request_id);
    if (!q) {
      /* request id 0: the appliance rejected the stream itself and will close it */
      if (hd.request_id == 0 && hd.status) {
        take_error_message(h, (int)hd.status, body, hd.body_len);
        free(body);
        return (int)hd.status;
      }
      free(body); /* an answer to a request abandoned earlier */
      continue;
    }
    unsigned asked = (unsigned)(q->head.p[4] << 8 | q->head.p[5]);
    if (hd.opcode != asked) {
      free(body);
      set_message(h, "the appliance answered opcode 0x%04x to a request of opcode 0x%04x", hd.opcode, asked);
      return VHSM_BAD_FRAME;
    }
    q->done = 1;
    q->status = (int)hd.status;
    (*pending)--;
    if (hd.status) {
      if (!first_error) {
        first_error = (int)hd.status;
        take_error_message(h, first_error, body, hd.body_len);
      }
      free(body);
      continue;
    }
    q->resp = body;
    q->resp_len = hd.body_len;
  }
  return first_error;
}

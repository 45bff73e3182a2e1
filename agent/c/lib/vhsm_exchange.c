/*
 * The exchange: writes a batch of request frames (each with its own request id), then reads
 * responses, which may come back in any order, until every request has one. A lost connection
 * surfaces as VHSM_CONNECTION_LOST so call() can reconnect and retry what is safe to retry.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vhsm_internal.h"

void set_message(vhsm *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->message, sizeof h->message, fmt, ap);
  va_end(ap);
}

size_t chunk_limit(const vhsm *h) {
  size_t limit = h->max_body > 2048 ? h->max_body - 1024 : 1024;
  return limit;
}

static int lost(vhsm *h, const char *what, int err) {
  set_message(h, "connection to the appliance lost while %s: %s", what, err ? strerror(err) : "closed");
  return VHSM_CONNECTION_LOST;
}

static int send_all(vhsm *h, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)cnt;
    /* MSG_NOSIGNAL: a dead appliance must give EPIPE, not kill the application with SIGPIPE */
    ssize_t n = sendmsg(h->fd, &m, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return lost(h, "sending", errno);
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
 */
static int recv_some(vhsm *h, unsigned char *into, size_t cap, size_t *got) {
  for (int waited = 0;;) {
    ssize_t n = recv(h->fd, into, cap, waited ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      *got = (size_t)n;
      return VHSM_OK;
    }
    if (n == 0) return lost(h, "receiving", 0);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return lost(h, "receiving", errno);
    struct pollfd pfd = {h->fd, POLLIN, 0};
    int ready = poll(&pfd, 1, h->io_timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      set_message(h, "the appliance did not answer within %d ms", h->io_timeout_ms);
      return VHSM_TIMEOUT;
    }
    waited = 1;
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

static void take_error_message(vhsm *h, int status, const unsigned char *body, size_t len) {
  char msg[sizeof h->message];
  vhsm_rd r = {body, len, 0, 0};
  get_str(&r, msg, sizeof msg);
  if (r.failed || !msg[0]) snprintf(msg, sizeof msg, "%s", vhsm_strerror(status));
  set_message(h, "%s", msg);
}

int exchange(vhsm *h, vhsm_req *reqs, size_t n) {
  int rc = send_batch(h, reqs, n);
  if (rc) return rc;
  size_t pending = n;
  int first_error = VHSM_OK;
  while (pending > 0) {
    unsigned char hb[VHSM_HEADER_SIZE];
    vhsm_header hd;
    if ((rc = recv_all(h, hb, sizeof hb))) return rc;
    if ((rc = parse_header(hb, &hd))) {
      set_message(h, "the appliance sent bytes that are not a vhsm frame");
      return rc;
    }
    if (hd.body_len > h->max_body + 4096u || !(hd.flags & VHSM_FLAG_RESPONSE)) {
      set_message(h, "the appliance sent an invalid frame (length %u, flags %u)", hd.body_len, hd.flags);
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
    q->done = 1;
    q->status = (int)hd.status;
    pending--;
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

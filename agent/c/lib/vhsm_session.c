/*
 * The session: open/close a handle, connect + HELLO + LOGIN, and call(), which reconnects after a
 * lost connection or a fork and retries requests that are safe to repeat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhsm_internal.h"

#define MAX_RETRIES 3

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static int connect_socket(vhsm *h) {
  struct sockaddr_un addr = {0};
  addr.sun_family = AF_UNIX;
  if (strlen(h->socket_path) >= sizeof addr.sun_path) {
    set_message(h, "socket path too long: %s", h->socket_path);
    return VHSM_BAD_ARGUMENTS;
  }
  strcpy(addr.sun_path, h->socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    set_message(h, "socket(): %s", strerror(errno));
    return VHSM_CONNECTION_FAILED;
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    set_message(h, "cannot connect to %s: %s", h->socket_path, strerror(errno));
    close(fd);
    return VHSM_CONNECTION_FAILED;
  }
  h->fd = fd;
  __atomic_store_n(&h->pid, getpid(), __ATOMIC_RELAXED); /* handle_enter reads it before the lock */
  return VHSM_OK;
}

void session_drop(vhsm *h) {
  /* close, never shutdown: after a fork the parent still uses the same socket */
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  memset(h->rbuf, 0, h->rlen);
  h->rpos = h->rlen = 0;
}

/* chunk_limit reads it without the lock. */
static void set_max_body(vhsm *h, uint32_t max) {
  __atomic_store_n(&h->max_body, max, __ATOMIC_RELAXED);
}

static int hello(vhsm *h) {
  vhsm_req q;
  req_start(&q, OP_HELLO);
  put_u8(&q.head, VHSM_PROTOCOL_VERSION);
  put_u8(&q.head, VHSM_PROTOCOL_VERSION);
  put_str(&q.head, h->client_name);
  int rc = exchange(h, &q, 1);
  if (!rc) {
    vhsm_rd r = {q.resp, q.resp_len, 0, 0};
    char server[256];
    get_u8(&r);
    get_str(&r, server, sizeof server);
    get_str(&r, h->container, sizeof h->container);
    uint32_t max = get_u32(&r);
    rc = rd_end(&r);
    if (!rc) set_max_body(h, max < 4096 ? 4096 : max > VHSM_PROTOCOL_MAX_BODY ? VHSM_PROTOCOL_MAX_BODY : max);
  }
  req_free(&q);
  return rc;
}

static int login(vhsm *h) {
  vhsm_req q;
  req_start(&q, OP_LOGIN);
  put_str(&q.head, h->user);
  put_bytes(&q.head, h->pin, h->pin_len);
  int rc = exchange(h, &q, 1);
  req_free(&q); /* wipes the PIN copy in the frame */
  return rc;
}

int session_establish(vhsm *h) {
  int rc = connect_socket(h);
  if (rc) return rc;
  set_max_body(h, VHSM_DEFAULT_MAX_BODY);
  rc = hello(h);
  if (!rc && h->user) rc = login(h);
  if (rc) {
    session_drop(h);
    return rc;
  }
  h->generation++;
  return VHSM_OK;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Reconnects with backoff until the timeout. Wrong credentials end the attempts at once. */
static int reconnect(vhsm *h) {
  int64_t deadline = now_ms() + (h->reconnect_timeout_ms > 0 ? h->reconnect_timeout_ms : 0);
  long delay = 20;
  for (;;) {
    int rc = session_establish(h);
    if (rc == VHSM_OK || rc == VHSM_BAD_CREDENTIALS || rc == VHSM_PIN_LOCKED) return rc;
    if (now_ms() + delay > deadline) return rc;
    sleep_ms(delay);
    delay = delay * 2 > 500 ? 500 : delay * 2;
  }
}

static int connection_broken(int rc) {
  return rc == VHSM_CONNECTION_LOST || rc == VHSM_TIMEOUT || rc == VHSM_BAD_FRAME ||
         rc == VHSM_UNSUPPORTED_VERSION;
}

int call(vhsm *h, vhsm_req *reqs, size_t n, int retry_safe) {
  for (int attempt = 0;; attempt++) {
    if (h->fd < 0) {
      int rc = reconnect(h);
      if (rc) return rc;
    }
    int rc = exchange(h, reqs, n);
    if (!connection_broken(rc)) return rc;
    /* the stream is out of step (or gone): never reuse it */
    session_drop(h);
    reqs_reset(reqs, n); /* a failed reconnect must not leave half an exchange looking answered */
    if (rc != VHSM_CONNECTION_LOST || !retry_safe || attempt >= MAX_RETRIES) return rc;
  }
}

int call_many(vhsm *h, vhsm_req *reqs, size_t n, int retry_safe) {
  int first = VHSM_OK;
  char message[VHSM_MESSAGE_MAX];
  for (size_t i = 0; i < n; i += VHSM_WINDOW) {
    int rc = call(h, reqs + i, n - i < VHSM_WINDOW ? n - i : VHSM_WINDOW, retry_safe);
    if (rc && !first) {
      first = rc;
      memcpy(message, thread_message(h), sizeof message);
    }
    /* a connection that could not be restored fails the rest without trying again per window */
    if (connection_broken(rc) || rc == VHSM_CONNECTION_FAILED) break;
  }
  if (first) memcpy(thread_message(h), message, sizeof message);
  return first;
}

void handle_enter(vhsm *h) {
  pid_t pid = getpid();
  /* read before the lock: after a fork the lock itself may be unusable */
  if (__atomic_load_n(&h->pid, __ATOMIC_RELAXED) != pid) {
    /*
     * Forked: the connection belongs to the parent. The lock may have been copied while held by a
     * thread that does not exist here, so it is re-initialised before use.
     */
    pthread_mutex_init(&h->lock, NULL);
    session_drop(h);
    __atomic_store_n(&h->pid, pid, __ATOMIC_RELAXED); /* also when fd < 0: a fork during a reconnect leaves the lock held too */
  }
  pthread_mutex_lock(&h->lock);
  thread_message(h)[0] = 0;
}

void handle_leave(vhsm *h) {
  pthread_mutex_unlock(&h->lock);
}

int vhsm_open(const vhsm_options *opt, vhsm **out) {
  *out = NULL;
  vhsm_options none = {0};
  if (!opt) opt = &none;
  if (opt->user && !opt->pin) return VHSM_BAD_ARGUMENTS;
  vhsm *h = calloc(1, sizeof *h);
  if (!h) return VHSM_INTERNAL;
  pthread_mutex_init(&h->lock, NULL);
  h->fd = -1;
  h->pid = getpid();
  h->next_id = 1;
  static uint64_t serials;
  h->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
  const char *env = getenv("VHSM_SOCKET");
  h->socket_path = strdup(opt->socket ? opt->socket : env && *env ? env : "/run/vhsm/vhsm.sock");
  h->user = dup_or_null(opt->user);
  char name[64];
  snprintf(name, sizeof name, "libvhsm/%ld", (long)getpid());
  h->client_name = strdup(opt->client_name ? opt->client_name : name);
  h->reconnect_timeout_ms = opt->reconnect_timeout_ms == 0 ? 30000 : opt->reconnect_timeout_ms;
  h->io_timeout_ms = opt->io_timeout_ms > 0 ? opt->io_timeout_ms : 60000;
  if (opt->pin) {
    h->pin = malloc(opt->pin_len ? opt->pin_len : 1);
    if (h->pin) memcpy(h->pin, opt->pin, opt->pin_len);
    h->pin_len = opt->pin_len;
  }
  if (!h->socket_path || !h->client_name || (opt->user && (!h->user || !h->pin))) {
    vhsm_close(h);
    return VHSM_INTERNAL;
  }
  int rc = session_establish(h);
  if (rc) {
    if (opt->error && opt->error_len) snprintf(opt->error, opt->error_len, "%s", thread_message_of(h));
    vhsm_close(h);
    return rc;
  }
  *out = h;
  return VHSM_OK;
}

void vhsm_close(vhsm *h) {
  if (!h) return;
  if (h->pid == getpid()) session_drop(h);
  else if (h->fd >= 0) close(h->fd);
  if (h->pin) {
    volatile unsigned char *v = h->pin;
    for (size_t i = 0; i < h->pin_len; i++) v[i] = 0;
    free(h->pin);
  }
  free(h->socket_path);
  free(h->user);
  free(h->client_name);
  pthread_mutex_destroy(&h->lock);
  free(h);
}

const char *vhsm_last_message(vhsm *h) {
  return h ? thread_message_of(h) : "";
}

const char *vhsm_container(vhsm *h) {
  return h ? h->container : "";
}

unsigned vhsm_generation(vhsm *h) {
  return h ? h->generation : 0;
}

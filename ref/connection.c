/* Pipe and Connection.
 *
 * Wire format: each message is a frame, a 4-byte big-endian length and
 * the bytes.  Lengths of 0xffffffff and above are sent as 0xffffffff and
 * an 8-byte big-endian length (the documented system's habit for large
 * messages).  Both kinds of pipe are AF_UNIX stream socket pairs, a
 * one-way pipe being shut down in the unused directions, so that sending
 * to a vanished peer is reported as an error (MSG_NOSIGNAL) instead of
 * killing the sender with SIGPIPE.
 *
 * Reading goes through a small read-ahead buffer so that many small
 * messages cost one system call; a frame cut short by a time limit stays
 * in the connection's state and is completed by the next call. */
#include "manager.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READAHEAD 65536
#define BODY_FIRST_CHUNK ((size_t)1 << 20)

struct mproc_conn {
  int fd;
  bool can_read, can_write;
  bool eof;    /* the peer closed: nothing more will arrive */
  bool broken; /* the stream can no longer be parsed */
  int pending_err; /* found by poll/wait, reported by the next recv */
  size_t max_message;
  /* read-ahead */
  unsigned char *ra;
  size_t ra_start, ra_end;
  /* the frame being received */
  unsigned char hdr[12];
  size_t hdr_have;
  bool in_body;
  uint64_t body_len;
  unsigned char *body;
  size_t body_have, body_cap;
};

static mproc_conn *conn_new(int fd, bool r, bool w, size_t max) {
  mproc_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->fd = fd;
  c->can_read = r;
  c->can_write = w;
  c->max_message = max ? max : MPROC_MAX_MESSAGE_DEFAULT;
  return c;
}

mproc_conn *mproc__conn_wrap(int fd, size_t max_message) {
  return conn_new(fd, true, true, max_message);
}

void mproc__conn_forget(mproc_conn *c) {
  if (c == NULL)
    return;
  free(c->ra);
  free(c->body);
  free(c);
}

int mproc_pipe(mproc_conn **end1, mproc_conn **end2,
               const mproc_pipe_options *opts) {
  if (end1 == NULL || end2 == NULL)
    return MPROC_EINVAL;
  bool one_way = opts != NULL && opts->one_way;
  size_t max = opts != NULL ? opts->max_message : 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return errno == ENOMEM || errno == ENOBUFS ? MPROC_ENOMEM
                                                : MPROC_ERESOURCE; /* LCOV_EXCL_BR_LINE: socketpair(2) runs out of kernel memory only on a starved machine; tests reach EMFILE (ERESOURCE) */
  mproc_conn *a = conn_new(sv[0], true, !one_way, max);
  mproc_conn *b = conn_new(sv[1], !one_way, true, max);
  if (a == NULL || b == NULL) {
    free(a);
    free(b);
    close(sv[0]);
    close(sv[1]);
    return MPROC_ENOMEM;
  }
  if (one_way) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  *end1 = a;
  *end2 = b;
  return 0;
}

static int check_open(const mproc_conn *c) {
  if (c == NULL)
    return MPROC_EINVAL;
  return c->fd < 0 ? MPROC_ECLOSED : 0;
}

/* ---- sending ---- */

static int send_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EPIPE || errno == ECONNRESET)
        return MPROC_EEOF;
      if (errno == ENOBUFS || errno == ENOMEM) /* LCOV_EXCL_BR_LINE: kernel out of memory, see below */
        return MPROC_ENOMEM; /* LCOV_EXCL_LINE: send(2) on an AF_UNIX stream socket fails with ENOBUFS/ENOMEM only when the kernel is out of memory, which no test can arrange */
      return MPROC_ESYS;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

size_t mproc__conn_header(size_t len, unsigned char hdr[12]) {
  uint64_t n = len;
  if (n >= 0xffffffffu) { /* LCOV_EXCL_START: a message of 4 GiB or more: more memory and time than a test may take */
    memset(hdr, 0xff, 4);
    for (int i = 0; i < 8; i++)
      hdr[4 + i] = (unsigned char)(n >> (56 - 8 * i));
    return 12;
    /* LCOV_EXCL_STOP */
  }
  for (int i = 0; i < 4; i++)
    hdr[i] = (unsigned char)(n >> (24 - 8 * i));
  return 4;
}

int mproc_conn_send_bytes(mproc_conn *c, const void *buf, size_t len) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  if (buf == NULL && len > 0)
    return MPROC_EINVAL;
  if (!c->can_write)
    return MPROC_ENOTSUP;
  if (len > c->max_message)
    return MPROC_EMSGSIZE;
  unsigned char hdr[12];
  size_t hlen = mproc__conn_header(len, hdr);
  /* Small messages go out in one system call, header and body together. */
  if (len <= 4096) {
    unsigned char one[12 + 4096];
    memcpy(one, hdr, hlen);
    if (len > 0)
      memcpy(one + hlen, buf, len);
    return send_all(c->fd, one, hlen + len);
  }
  rc = send_all(c->fd, hdr, hlen);
  return rc != 0 ? rc : send_all(c->fd, buf, len);
}

int mproc_conn_send(mproc_conn *c, const mproc_obj *obj) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  if (obj == NULL)
    return MPROC_EINVAL;
  void *buf;
  size_t len;
  if ((rc = mproc_obj_encode(obj, &buf, &len)) != 0)
    return rc;
  rc = mproc_conn_send_bytes(c, buf, len);
  free(buf);
  return rc;
}

/* ---- receiving ---- */

static void reset_frame(mproc_conn *c) {
  c->hdr_have = 0;
  c->in_body = false;
  c->body = NULL;
  c->body_have = c->body_cap = 0;
  c->body_len = 0;
}

static int grow_body(mproc_conn *c, size_t want) {
  if (want <= c->body_cap)
    return 0;
  size_t cap = c->body_cap ? c->body_cap : BODY_FIRST_CHUNK;
  while (cap < want)
    cap *= 2;
  if (cap > c->body_len)
    cap = (size_t)c->body_len;
  unsigned char *b = realloc(c->body, cap ? cap : 1);
  if (b == NULL)
    return MPROC_ENOMEM;
  c->body = b;
  c->body_cap = cap;
  return 0;
}

/* Moves buffered bytes into the frame.  Returns 1 when a frame is
 * complete, 0 when more bytes are needed, or an error. */
static int parse(mproc_conn *c) {
  for (;;) {
    size_t avail = c->ra_end - c->ra_start;
    if (!c->in_body) {
      size_t need = (c->hdr_have >= 4 && memcmp(c->hdr, "\xff\xff\xff\xff", 4) == 0) ? 12 : 4;
      if (c->hdr_have < need) {
        if (avail == 0)
          return 0;
        size_t take = need - c->hdr_have;
        if (take > avail)
          take = avail;
        memcpy(c->hdr + c->hdr_have, c->ra + c->ra_start, take);
        c->hdr_have += take;
        c->ra_start += take;
        continue;
      }
      uint64_t n = 0;
      for (size_t i = need - (need == 12 ? 8 : 4); i < need; i++)
        n = (n << 8) | c->hdr[i];
      if (n > c->max_message) {
        c->broken = true;
        return MPROC_EMSGSIZE;
      }
      c->in_body = true;
      c->body_len = n;
      int rc = grow_body(c, n < BODY_FIRST_CHUNK ? (size_t)n : BODY_FIRST_CHUNK);
      if (rc != 0)
        return rc;
    }
    size_t left = (size_t)(c->body_len - c->body_have);
    if (left == 0)
      return 1;
    if (avail == 0)
      return 0;
    size_t take = left < avail ? left : avail;
    int rc = grow_body(c, c->body_have + take);
    if (rc != 0)
      return rc;
    memcpy(c->body + c->body_have, c->ra + c->ra_start, take);
    c->body_have += take;
    c->ra_start += take;
  }
}

/* One read from the socket.  Returns 1 if bytes came, 0 if none are there
 * now, or an error.  With `block` (a receive without a time limit) the read
 * waits for bytes itself: one system call per message instead of a failed
 * read, a poll and a second read. */
static int fill(mproc_conn *c, bool block) {
  unsigned char *dst;
  size_t room;
  size_t left = c->in_body ? (size_t)(c->body_len - c->body_have) : 0;
  bool direct = c->ra_start == c->ra_end && left >= READAHEAD;
  if (direct) {
    /* A large body goes straight to its buffer, not through read-ahead. */
    int rc = grow_body(c, c->body_have + (left < BODY_FIRST_CHUNK * 4 ? left : BODY_FIRST_CHUNK * 4));
    if (rc != 0)
      return rc;
    dst = c->body + c->body_have;
    room = c->body_cap - c->body_have;
  } else {
    if (c->ra == NULL && (c->ra = malloc(READAHEAD)) == NULL)
      return MPROC_ENOMEM;
    if (c->ra_start == c->ra_end)
      c->ra_start = c->ra_end = 0;
    dst = c->ra + c->ra_end;
    room = READAHEAD - c->ra_end;
    if (room == 0)
      return 1; /* parse() has buffered bytes to take first */
  }
  ssize_t k;
  do
    k = recv(c->fd, dst, room, block ? 0 : MSG_DONTWAIT);
  while (k < 0 && errno == EINTR);
  if (k == 0) {
    c->eof = true;
    return 1;
  }
  if (k < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    if (errno == ECONNRESET) {
      c->eof = true;
      return 1;
    }
    return errno == ENOMEM ? MPROC_ENOMEM : MPROC_ESYS; /* LCOV_EXCL_LINE: recv(2) on a connected AF_UNIX stream socket fails otherwise only when the kernel is out of memory */
  }
  if (direct)
    c->body_have += (size_t)k;
  else
    c->ra_end += (size_t)k;
  return 1;
}

static int wait_fd(int fd, const mproc__deadline *d) {
  for (;;) {
    if (d->poll || mproc__deadline_passed(d)) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, 0) > 0)
        return 0;
      return mproc__deadline_error(d);
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, mproc__deadline_ms(d, -1));
    if (r > 0)
      return 0;
    if (r < 0 && errno != EINTR)
      return MPROC_ESYS;
  }
}

/* Receives one whole frame into c->body; the caller takes it. */
static int recv_frame(mproc_conn *c, double timeout) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  if (!c->can_read)
    return MPROC_ENOTSUP;
  if (c->pending_err != 0) {
    rc = c->pending_err;
    c->pending_err = 0;
    return rc;
  }
  if (c->broken)
    return MPROC_EBROKEN;
  mproc__deadline d;
  if ((rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER)) != 0)
    return rc;
  for (;;) {
    rc = parse(c);
    if (rc != 0)
      return rc < 0 ? rc : 0;
    if (c->eof) {
      if (c->hdr_have > 0 || c->in_body) {
        c->broken = true;
        return MPROC_EBROKEN; /* the peer closed in mid-message */
      }
      return MPROC_EEOF;
    }
    rc = fill(c, d.never);
    if (rc < 0)
      return rc;
    if (rc == 0 && (rc = wait_fd(c->fd, &d)) != 0)
      return rc;
  }
}

int mproc_conn_recv_bytes(mproc_conn *c, void **buf, size_t *len,
                          double timeout) {
  if (buf == NULL || len == NULL)
    return MPROC_EINVAL;
  int rc = recv_frame(c, timeout);
  if (rc != 0)
    return rc;
  if (c->body == NULL && (c->body = malloc(1)) == NULL)
    return MPROC_ENOMEM;
  *buf = c->body;
  *len = (size_t)c->body_len;
  reset_frame(c);
  return 0;
}

int mproc_conn_recv(mproc_conn *c, mproc_obj **out, double timeout) {
  if (out == NULL)
    return MPROC_EINVAL;
  void *buf;
  size_t len;
  int rc = mproc_conn_recv_bytes(c, &buf, &len, timeout);
  if (rc != 0)
    return rc;
  rc = mproc_obj_decode(buf, len, out);
  free(buf);
  return rc;
}

/* True when recv would return without waiting for the peer: a whole
 * frame is buffered, or end of file or an error is there to report.
 * Reads whatever has arrived, without blocking; consumes no message. */
static bool ready_now(mproc_conn *c) {
  for (;;) {
    if (c->pending_err != 0 || c->broken || c->eof)
      return true;
    int rc = parse(c);
    if (rc != 0) {
      if (rc < 0)
        c->pending_err = rc;
      return true;
    }
    rc = fill(c, false);
    if (rc < 0) {
      c->pending_err = rc;
      return true;
    }
    if (rc == 0)
      return false;
  }
}

int mproc_conn_poll(mproc_conn *c, double timeout) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  if (!c->can_read)
    return MPROC_ENOTSUP;
  mproc__deadline d;
  if ((rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER)) != 0)
    return rc;
  for (;;) {
    if (ready_now(c))
      return 0;
    /* Bytes may be there but not a whole message yet: keep waiting. */
    if ((rc = wait_fd(c->fd, &d)) != 0)
      return ready_now(c) ? 0 : rc;
  }
}

int mproc_conn_wait(mproc_conn *const *conns, size_t n, double timeout,
                    bool *ready) {
  if (conns == NULL || ready == NULL || n == 0 || n > 65536)
    return MPROC_EINVAL;
  for (size_t i = 0; i < n; i++) {
    int rc = check_open(conns[i]);
    if (rc != 0)
      return rc;
    if (!conns[i]->can_read)
      return MPROC_ENOTSUP;
  }
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  struct pollfd *pfd = calloc(n, sizeof *pfd);
  if (pfd == NULL)
    return MPROC_ENOMEM;
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    ready[i] = ready_now(conns[i]);
    any |= ready[i];
    pfd[i].fd = conns[i]->fd;
    pfd[i].events = POLLIN;
  }
  while (!any) {
    int ms = d.poll ? 0 : mproc__deadline_ms(&d, -1);
    int r = poll(pfd, (nfds_t)n, ms);
    if (r < 0 && errno != EINTR) {
      rc = MPROC_ESYS;
      break;
    }
    /* A readable descriptor may hold only part of a message. */
    for (size_t i = 0; r > 0 && i < n; i++) {
      if (pfd[i].revents != 0) {
        ready[i] = ready_now(conns[i]);
        any |= ready[i];
      }
    }
    if (!any && (d.poll || mproc__deadline_passed(&d))) {
      rc = mproc__deadline_error(&d);
      break;
    }
  }
  free(pfd);
  return rc;
}

int mproc_conn_set_max_message(mproc_conn *c, size_t max) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  if (max == 0)
    return MPROC_EINVAL;
  c->max_message = max;
  return 0;
}

int mproc_conn_fileno(const mproc_conn *c) { return c == NULL ? -1 : c->fd; }

int mproc_conn_close(mproc_conn *c) {
  int rc = check_open(c);
  if (rc != 0)
    return rc;
  close(c->fd);
  c->fd = -1;
  free(c->ra);
  free(c->body);
  c->ra = NULL;
  c->ra_start = c->ra_end = 0;
  reset_frame(c);
  return 0;
}

void mproc_conn_free(mproc_conn *c) {
  if (c == NULL)
    return;
  if (c->fd >= 0)
    mproc_conn_close(c);
  free(c);
}

/* Fuzz target "conn": arbitrary bytes arriving on one end of a pipe.
 *
 * Input: three control bytes, then the byte stream.
 *   byte 0  the receiving end's max_message (a table of small limits, or
 *           the default), and bit 7: a one-way pipe instead of a duplex one;
 *   byte 1  how many bytes to write between two receive calls;
 *   byte 2  the order of receive calls: two bits per call (recv_bytes,
 *           recv, poll, wait), cycling.
 * The harness writes the stream into the other end's raw descriptor
 * (mproc_conn_fileno) a chunk at a time, closes that end after the last
 * chunk (or once the socket is full and the receiving end is broken, as
 * nothing will read it any more), and calls the chosen function with timeout 0 after each chunk
 * until it reports EEOF or EBROKEN.
 *
 * An independent model of the framing (connection.c's file comment: a
 * 4-byte big-endian length, or 0xffffffff and an 8-byte length) predicts
 * every result: a whole frame is returned byte for byte (recv: decoded as
 * mproc_obj_decode decodes it, EPROTO consumes it); an announced length
 * above the maximum gives EMSGSIZE once, then EBROKEN; the stream ending
 * inside a frame gives EBROKEN, at a frame boundary EEOF; poll and wait
 * report readable exactly when the model has something to report; nothing
 * blocks, the loop ends within a bound, and no descriptor is left open. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const size_t max_table[] = {
    0, /* the default: not set */
    1, 2, 5, 16, 100, 1000, 4095, 4096, 65535, 65536, (size_t)1 << 20,
};
#define N_MAX (sizeof max_table / sizeof max_table[0])

static const size_t chunk_table[] = {1, 2, 3, 4, 5, 7, 12, 13, 64, 4096,
                                     SIZE_MAX};
#define N_CHUNK (sizeof chunk_table / sizeof chunk_table[0])

enum call { CALL_RECV_BYTES, CALL_RECV, CALL_POLL, CALL_WAIT };

/* What the model expects the next receive to report. */
enum event { EV_NOT_READY, EV_FRAME, EV_MSGSIZE, EV_BROKEN, EV_EOF };

typedef struct model {
  const uint8_t *s; /* the stream */
  size_t written;   /* bytes the receiver can see */
  bool closed;      /* the writer closed after the last byte */
  size_t off;       /* start of the next frame */
  uint64_t max;
  bool broken;
  /* for EV_FRAME: the frame's body */
  size_t body, body_len, next_off;
} model;

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

static enum event next_event(model *m) {
  if (m->broken)
    return EV_BROKEN;
  size_t avail = m->written - m->off;
  const uint8_t *p = m->s + m->off;
  size_t hdr = 4;
  if (avail >= 4 && be(p, 4) == 0xffffffffu)
    hdr = 12;
  if (avail < hdr) {
    if (!m->closed)
      return EV_NOT_READY;
    return avail == 0 ? EV_EOF : EV_BROKEN;
  }
  uint64_t n = hdr == 12 ? be(p + 4, 8) : be(p, 4);
  if (n > m->max)
    return EV_MSGSIZE;
  if (avail - hdr < n)
    return m->closed ? EV_BROKEN : EV_NOT_READY;
  m->body = m->off + hdr;
  m->body_len = (size_t)n;
  m->next_off = m->off + hdr + (size_t)n;
  return EV_FRAME;
}

static const char *event_name(enum event e) {
  static const char *names[] = {"not ready", "a frame", "EMSGSIZE",
                                "EBROKEN", "EEOF"};
  return names[e];
}

/* The error a receive call must return for a non-frame event; the model
 * moves on as the connection does. */
static int expect_error(model *m, enum event e) {
  switch (e) {
  case EV_NOT_READY:
    return MPROC_EAGAIN;
  case EV_MSGSIZE:
    m->broken = true;
    return MPROC_EMSGSIZE;
  case EV_BROKEN:
    m->broken = true;
    return MPROC_EBROKEN;
  case EV_EOF:
    return MPROC_EEOF;
  default:
    return 0;
  }
}

/* Writes up to `n` bytes without blocking; returns how many went. */
static size_t write_some(int fd, const uint8_t *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = send(fd, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      FUZZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK,
                 "writing the stream failed: %s", strerror(errno));
      break;
    }
    done += (size_t)k;
  }
  return done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  int fds_before = fuzz_count_fds();
  size_t max = max_table[(data[0] & 0x7f) % N_MAX];
  bool one_way = (data[0] & 0x80) != 0;
  size_t chunk = chunk_table[data[1] % N_CHUNK];
  uint8_t order = data[2];
  const uint8_t *stream = data + 3;
  size_t n = size - 3;

  mproc_conn *rd = NULL, *wr = NULL;
  mproc_pipe_options po = {.one_way = one_way};
  int rc = mproc_pipe(&rd, &wr, &po);
  FUZZ_CHECK(rc == 0, "mproc_pipe: %s", mproc_err_name(rc));
  if (max != 0) {
    rc = mproc_conn_set_max_message(rd, max);
    FUZZ_CHECK(rc == 0, "set_max_message: %s", mproc_err_name(rc));
  }
  model m = {.s = stream, .max = max ? max : MPROC_MAX_MESSAGE_DEFAULT};
  int wfd = mproc_conn_fileno(wr);

  /* Every call either sees new bytes or consumes some: far fewer calls
   * than this mean the loop is making progress. */
  size_t limit = 8 * (n + 16);
  bool done = false;
  for (size_t i = 0; !done; i++) {
    FUZZ_CHECK(i < limit, "no end after %zu receive calls (%zu of %zu bytes "
               "written, model at %zu)", i, m.written, n, m.off);
    if (!m.closed) {
      size_t want = n - m.written < chunk ? n - m.written : chunk;
      size_t went = write_some(wfd, stream + m.written, want);
      m.written += went;
      /* A broken connection reads no more: once the socket is full, the
       * rest of the stream could never be written, so it ends here. */
      if (m.written == n || (went == 0 && m.broken)) {
        rc = mproc_conn_close(wr);
        FUZZ_CHECK(rc == 0, "closing the writer: %s", mproc_err_name(rc));
        m.closed = true;
      }
    }
    /* Every eighth call consumes, so a schedule of polls still ends. */
    enum call call = (i % 8 == 7) ? CALL_RECV_BYTES
                                  : (enum call)((order >> (2 * (i % 4))) & 3);
    enum event ev = next_event(&m);
    if (call == CALL_POLL || call == CALL_WAIT) {
      bool ready = false;
      if (call == CALL_POLL) {
        rc = mproc_conn_poll(rd, 0);
      } else {
        rc = mproc_conn_wait(&rd, 1, 0, &ready);
        FUZZ_CHECK(rc != 0 || ready, "wait returned 0 without ready[0]");
      }
      int want = ev == EV_NOT_READY ? MPROC_EAGAIN : 0;
      FUZZ_CHECK(rc == want, "%s with %s next: %s, expected %s",
                 call == CALL_POLL ? "poll" : "wait", event_name(ev),
                 mproc_err_name(rc), mproc_err_name(want));
      continue;
    }
    if (call == CALL_RECV_BYTES) {
      void *buf = NULL;
      size_t len = 0;
      rc = mproc_conn_recv_bytes(rd, &buf, &len, 0);
      if (ev == EV_FRAME) {
        FUZZ_CHECK(rc == 0, "recv_bytes with a whole frame of %zu bytes "
                   "waiting: %s", m.body_len, mproc_err_name(rc));
        FUZZ_CHECK(buf != NULL, "recv_bytes gave a NULL buffer");
        FUZZ_CHECK(len == m.body_len &&
                       (len == 0 || memcmp(buf, stream + m.body, len) == 0),
                   "recv_bytes gave %zu bytes, not the frame's %zu at offset "
                   "%zu", len, m.body_len, m.body);
        free(buf);
        m.off = m.next_off;
      } else {
        int want = expect_error(&m, ev);
        FUZZ_CHECK(rc == want, "recv_bytes with %s next: %s, expected %s",
                   event_name(ev), mproc_err_name(rc), mproc_err_name(want));
      }
    } else {
      mproc_obj *o = NULL;
      rc = mproc_conn_recv(rd, &o, 0);
      if (ev == EV_FRAME) {
        mproc_obj *want_o = NULL;
        int want = mproc_obj_decode(stream + m.body, m.body_len, &want_o);
        FUZZ_CHECK(rc == want, "recv of a %zu-byte frame: %s, decode gives %s",
                   m.body_len, mproc_err_name(rc), mproc_err_name(want));
        FUZZ_CHECK(rc != 0 || fuzz_obj_same(o, want_o),
                   "recv's value differs from decoding the frame");
        mproc_obj_free(want_o);
        mproc_obj_free(o);
        m.off = m.next_off;
      } else {
        int want = expect_error(&m, ev);
        FUZZ_CHECK(rc == want, "recv with %s next: %s, expected %s",
                   event_name(ev), mproc_err_name(rc), mproc_err_name(want));
      }
    }
    done = m.closed && (rc == MPROC_EEOF || rc == MPROC_EBROKEN);
  }
  mproc_conn_free(wr);
  mproc_conn_free(rd);
  int fds_after = fuzz_count_fds();
  FUZZ_CHECK(fds_after == fds_before, "%d descriptors open before, %d after",
             fds_before, fds_after);
  return 0;
}

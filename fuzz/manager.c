/* Fuzz targets "manager" and "manager-inproc": the manager's handshake and
 * request protocol (ref/manager.h) fed by a hostile client.
 *
 * Input: byte 0 chooses the session, the rest is its material.
 *   byte 0 even  a correct handshake (HMAC-SHA256 both ways, checked: the
 *                server must welcome a client that knows the key and prove
 *                it knows the key itself), then the rest cut into chunks:
 *                a length byte L below 0xf0 and L bytes sent as one frame
 *                (a request), or L in 0xf0..0xff and L - 0xef bytes sent
 *                raw (no frame header: broken framing);
 *   byte 0 odd   the rest sent raw, (byte 0 >> 1) & 3 saying when:
 *                0 at once, before reading the challenge;
 *                1 in place of the digest;
 *                2 after a correct digest, in place of the client's
 *                  challenge;
 *                3 after the whole handshake, in place of framed requests.
 * A request frame that decodes to [OP_SHUTDOWN, ...] is not sent: any
 * authenticated client may stop the server, and a stopped server is not a
 * finding.
 *
 * Every frame the server sends must fit its max_message, and once the
 * handshake is done every reply must be [0, result] or [1, code, message]
 * with code one of the MPROC_E* codes, and not ENOMEM: inputs and the
 * server's state are far too small for memory to run out.  After each input the client closes
 * and the server must still serve a proper client.
 *
 * Two transports run the same sessions:
 *
 *   manager         the real thing, as an application sees it: ONE server
 *                   per fuzzing process, started by mproc_manager_start on
 *                   the first input (and again every FUZZ_MANAGER_RESTART
 *                   inputs, default 1000, so that objects created by inputs
 *                   do not pile up), shut down at exit.  Each input talks
 *                   to it over its own raw Unix socket; afterwards a call
 *                   through the public API (mproc_proxy_dict_len on a dict
 *                   created after the first input) must succeed.  A server that crashes or stops answering is a
 *                   finding (a hang shows up as the fuzzer's timeout).  The
 *                   server is a forked process, so libFuzzer does not see
 *                   its coverage (AFL++, whose coverage map is shared
 *                   memory, does).
 *   manager-inproc  the server's own code (ref/manager_server.c, compiled
 *                   into this file) driven in this process: a fresh server
 *                   state per input, one turn of its poll loop after each
 *                   frame, no threads and no forks, so the fuzzer sees
 *                   every branch the input reaches and the sanitizers see
 *                   the server's memory, including what a dropped client
 *                   leaves behind.  After the session the server is also
 *                   checked from inside: no parked request and no lock held
 *                   for a client that has gone, queues within their bounds.
 *                   Its liveness check is a second client with a correct
 *                   handshake and a create request.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#ifdef FUZZ_MANAGER_INPROC
/* The server's static functions, with its entry point renamed so that it
 * does not clash with the library's copy. */
#define mproc__manager_serve fuzz__manager_serve_unused
#include "../ref/manager_server.c"
#else
#include "manager.h"
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const unsigned char fuzz_key[] = "mproc fuzz key";
#define FUZZ_KEYLEN (sizeof fuzz_key - 1)
/* Small, so that oversized requests and replies are within reach. */
#define FUZZ_MAX_MESSAGE 16384
/* How long to wait for something the server must send (a handshake step,
 * a reply owed), and how long to wait for replies to parked requests. */
#define WAIT_MS 5000
#define IDLE_MS 20

#ifndef FUZZ_MANAGER_INPROC
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
#endif

/* ------------------------------------------------------------------------ */
/* Transports                                                               */
/* ------------------------------------------------------------------------ */

#ifdef FUZZ_MANAGER_INPROC

static server S;
static int listen_fd = -1;
static char sock_dir[64], sock_path[128];

static void inproc_cleanup(void) {
  if (listen_fd >= 0)
    close(listen_fd);
  unlink(sock_path);
  rmdir(sock_dir);
}

static void server_init(void) {
  memset(&S, 0, sizeof S);
  S.key = fuzz_key;
  S.keylen = FUZZ_KEYLEN;
  S.max_message = FUZZ_MAX_MESSAGE;
}

/* Everything the server holds, freed: what is left after this is a leak
 * of the server's own making. */
static void server_free(void) {
  for (size_t i = 0; i < S.ncl; i++) {
    mproc_conn_free(S.cl[i].c);
    free(S.cl[i].out);
  }
  free(S.cl);
  for (size_t i = 0; i < S.nobjs; i++) {
    sobj *o = &S.objs[i];
    mproc_obj_free(o->data);
    for (size_t k = 0; k < o->qlen; k++)
      mproc_obj_free(o->q[(o->qhead + k) % o->qcap]);
    free(o->q);
  }
  free(S.objs);
  while (S.parked_head != NULL) {
    parked *p = S.parked_head;
    S.parked_head = p->next;
    mproc_obj_free(p->item);
    free(p);
  }
  server_init();
}

static void transport_setup(void) {
  if (listen_fd >= 0)
    return;
  const char *tmp = getenv("TMPDIR");
  snprintf(sock_dir, sizeof sock_dir, "%s/mproc-fuzz-XXXXXX",
           tmp != NULL && *tmp != '\0' && strlen(tmp) < 30 ? tmp : "/tmp");
  FUZZ_CHECK(mkdtemp(sock_dir) != NULL, "mkdtemp: %s", strerror(errno));
  snprintf(sock_path, sizeof sock_path, "%s/listener", sock_dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock_path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(listen_fd >= 0 &&
                 bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                 listen(listen_fd, 16) == 0,
             "listening socket: %s", strerror(errno));
  atexit(inproc_cleanup);
  server_init();
}

static void transport_begin(void) {}

/* One turn of mproc__manager_serve's loop, without waiting. */
static void pump(void) {
  settle(&S);
  client_deadlines(&S, expire(&S));
  reap_clients(&S);
  for (size_t i = 0; i < S.ncl; i++) {
    struct pollfd p = {.fd = mproc_conn_fileno(S.cl[i].c),
                       .events = client_events(&S.cl[i])};
    if (poll(&p, 1, 0) > 0)
      client_ready(&S, &S.cl[i]);
  }
  settle(&S);
  reap_clients(&S);
}

static int open_client(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
             "connect: %s", strerror(errno));
  size_t before = S.ncl;
  accept_client(&S, listen_fd);
  FUZZ_CHECK(S.ncl == before + 1, "the server did not take the client");
  return fd;
}

/* After the session's client closed: the server must drop it, with its
 * parked requests and its locks, and keep its objects consistent. */
static void check_server_state(const char *when) {
  for (int i = 0; i < 4 && S.ncl > 0; i++)
    pump();
  FUZZ_CHECK(S.ncl == 0, "%s: %zu clients still held after they closed",
             when, S.ncl);
  FUZZ_CHECK(S.parked_head == NULL,
             "%s: a parked request outlived its client (op %d, object %lld)",
             when, S.parked_head ? S.parked_head->op : 0,
             S.parked_head ? (long long)S.parked_head->obj : 0LL);
  for (size_t i = 0; i < S.nobjs; i++) {
    sobj *o = &S.objs[i];
    FUZZ_CHECK(o->kind >= K_DICT && o->kind <= K_VALUE,
               "%s: object %zu has kind %d", when, i + 1, o->kind);
    FUZZ_CHECK(o->data != NULL, "%s: object %zu has no data", when, i + 1);
    FUZZ_CHECK(!(o->kind == K_LOCK && o->held),
               "%s: lock %zu still held by client %llu, which has gone",
               when, i + 1, (unsigned long long)o->holder);
    if (o->kind == K_QUEUE) {
      FUZZ_CHECK(o->qlen <= o->qcap, "%s: queue %zu: %zu items in %zu slots",
                 when, i + 1, o->qlen, o->qcap);
      FUZZ_CHECK(o->maxsize == 0 || o->qlen <= o->maxsize,
                 "%s: queue %zu holds %zu items, maxsize %zu", when, i + 1,
                 o->qlen, o->maxsize);
    }
  }
}

static int transport_end(void) {
  check_server_state("after the session");
  return 0;
}

#else /* the real server */

static mproc_manager *mgr;
static mproc_proxy *alive;
static unsigned inputs_served, restart_every;

static void stop_manager(void) {
  mproc_proxy_free(alive);
  alive = NULL;
  mproc_manager_free(mgr);
  mgr = NULL;
}

static void transport_setup(void) {
  if (restart_every == 0) {
    const char *s = getenv("FUZZ_MANAGER_RESTART");
    restart_every = s != NULL && atoi(s) > 0 ? (unsigned)atoi(s) : 1000;
    atexit(stop_manager);
  }
  if (mgr != NULL && inputs_served >= restart_every)
    stop_manager();
  if (mgr == NULL) {
    mproc_manager_options o = {.authkey = fuzz_key,
                               .authkey_len = FUZZ_KEYLEN,
                               .max_message = FUZZ_MAX_MESSAGE};
    int rc = mproc_manager_start(&mgr, &o);
    FUZZ_CHECK(rc == 0, "mproc_manager_start: %s", mproc_err_name(rc));
    inputs_served = 0;
  }
  inputs_served++;
}

static void transport_begin(void) {}
static void pump(void) {}

static int open_client(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", mproc_manager_address(mgr));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
             "connect to the manager: %s", strerror(errno));
  return fd;
}

/* How the server ended, if it has: "" while it runs. */
static const char *server_status(void) {
  static char buf[96];
  siginfo_t si = {0};
  pid_t pid = mproc_manager_pid(mgr);
  if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      si.si_pid == 0)
    return "";
  if (si.si_code == CLD_EXITED)
    snprintf(buf, sizeof buf, " (server %d exited with status %d)", pid,
             si.si_status);
  else
    snprintf(buf, sizeof buf, " (server %d killed by signal %d)", pid,
             si.si_status);
  return buf;
}

/* Returns the descriptors it opened to stay open (the manager handle's
 * pooled connection). */
static int transport_end(void) {
  /* Created after the first session, so that a fresh server numbers the
   * first input's objects from 1, as the in-process target does. */
  int opened = alive == NULL;
  int rc = alive != NULL ? 0 : mproc_manager_dict(mgr, &alive);
  FUZZ_CHECK(rc == 0, "the server no longer serves a proper client: "
             "creating a dict gave %s%s", mproc_err_name(rc),
             server_status());
  size_t n = 0;
  rc = mproc_proxy_dict_len(alive, &n);
  FUZZ_CHECK(rc == 0, "the server no longer serves a proper client: "
             "dict_len gave %s%s", mproc_err_name(rc), server_status());
  FUZZ_CHECK(server_status()[0] == '\0', "the server ended%s",
             server_status());
  return opened;
}

#endif

/* ------------------------------------------------------------------------ */
/* Frames on a raw socket (an independent implementation of the framing)   */
/* ------------------------------------------------------------------------ */

typedef struct rx {
  int fd;
  unsigned char *buf;
  size_t have, cap;
  bool eof;
  size_t limit; /* largest frame the server may send now */
} rx;

/* Reads whatever has arrived.  Returns true if bytes came. */
static bool rx_fill(rx *r) {
  bool got = false;
  while (!r->eof) {
    if (r->cap - r->have < 4096) {
      size_t cap = r->cap ? 2 * r->cap : 65536;
      unsigned char *b = realloc(r->buf, cap);
      FUZZ_CHECK(b != NULL, "out of memory");
      r->buf = b;
      r->cap = cap;
    }
    ssize_t k = recv(r->fd, r->buf + r->have, r->cap - r->have, MSG_DONTWAIT);
    if (k > 0) {
      r->have += (size_t)k;
      got = true;
    } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
      r->eof = true; /* closed, or reset by a server that cut us off */
    } else if (errno == EAGAIN) {
      break;
    }
  }
  return got;
}

/* Takes a whole frame off the buffer: 1 and a malloc'd body, or 0. */
static int rx_take(rx *r, unsigned char **body, size_t *len) {
  if (r->have < 4)
    return 0;
  uint64_t n = 0;
  size_t hdr = 4;
  for (int i = 0; i < 4; i++)
    n = (n << 8) | r->buf[i];
  if (n == 0xffffffffu) {
    if (r->have < 12)
      return 0;
    hdr = 12;
    n = 0;
    for (int i = 4; i < 12; i++)
      n = (n << 8) | r->buf[i];
  }
  FUZZ_CHECK(n <= r->limit, "the server sent a frame of %llu bytes, above "
             "its limit of %zu", (unsigned long long)n, r->limit);
  if (r->have - hdr < n)
    return 0;
  *body = malloc(n ? n : 1);
  FUZZ_CHECK(*body != NULL, "out of memory");
  memcpy(*body, r->buf + hdr, n);
  *len = n;
  memmove(r->buf, r->buf + hdr + n, r->have - hdr - n);
  r->have -= hdr + n;
  return 1;
}

/* Waits up to `ms` for a whole frame: 1 (a frame), 0 (none in time) or -1
 * (the server closed).  In-process, nothing can arrive that one turn of
 * the server did not send, so it does not wait. */
static int rx_frame(rx *r, unsigned char **body, size_t *len, int ms) {
#ifdef FUZZ_MANAGER_INPROC
  (void)ms;
#else
  double end = now_ms() + ms;
#endif
  for (;;) {
    pump();
    bool got = rx_fill(r);
    if (rx_take(r, body, len))
      return 1;
    if (r->eof)
      return -1;
#ifdef FUZZ_MANAGER_INPROC
    if (!got)
      return 0;
#else
    (void)got;
    double left = end - now_ms();
    if (left <= 0)
      return 0;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    poll(&p, 1, (int)left + 1);
#endif
  }
}

/* Sends all `n` bytes, taking in what the server sends meanwhile so that
 * neither side blocks.  False when the server closed. */
static bool tx(rx *r, const void *buf, size_t n) {
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t k = send(r->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && errno != EAGAIN)
      return false; /* EPIPE, ECONNRESET: cut off */
    pump();
    rx_fill(r);
#ifndef FUZZ_MANAGER_INPROC
    struct pollfd pf = {.fd = r->fd, .events = POLLIN | POLLOUT};
    poll(&pf, 1, 10);
#endif
  }
  return true;
}

static bool tx_frame(rx *r, const void *body, size_t n) {
  unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
  return tx(r, hdr, 4) && (n == 0 || tx(r, body, n));
}

/* ------------------------------------------------------------------------ */
/* The handshake                                                            */
/* ------------------------------------------------------------------------ */

#define HL (sizeof MGR_CHALLENGE - 1)

/* Receives the server's challenge; stores its nonce. */
static void expect_challenge(rx *r, unsigned char nonce[MGR_NONCE]) {
  unsigned char *b;
  size_t n;
  int got = rx_frame(r, &b, &n, WAIT_MS);
  FUZZ_CHECK(got == 1, "no challenge from the server (%s)",
             got == 0 ? "timed out" : "it closed");
  FUZZ_CHECK(n == HL + MGR_NONCE && memcmp(b, MGR_CHALLENGE, HL) == 0,
             "the server's first frame (%zu bytes) is not a challenge", n);
  memcpy(nonce, b + HL, MGR_NONCE);
  free(b);
}

static void send_digest(rx *r, const unsigned char nonce[MGR_NONCE]) {
  unsigned char d[MGR_DIGEST];
  mproc__hmac_sha256(fuzz_key, FUZZ_KEYLEN, nonce, MGR_NONCE, d);
  FUZZ_CHECK(tx_frame(r, d, sizeof d), "the server closed before the digest");
}

static void expect_welcome(rx *r) {
  unsigned char *b;
  size_t n;
  int got = rx_frame(r, &b, &n, WAIT_MS);
  FUZZ_CHECK(got == 1, "no answer to a correct digest (%s)",
             got == 0 ? "timed out" : "the server closed");
  FUZZ_CHECK(n == sizeof MGR_WELCOME - 1 && memcmp(b, MGR_WELCOME, n) == 0,
             "a correct digest was not welcomed (%zu-byte answer)", n);
  free(b);
}

/* The client's half: the server must prove it knows the key. */
static void challenge_server(rx *r) {
  unsigned char msg[HL + MGR_NONCE];
  memcpy(msg, MGR_CHALLENGE, HL);
  FUZZ_CHECK(mproc__random(msg + HL, MGR_NONCE) == 0, "no random bytes");
  FUZZ_CHECK(tx_frame(r, msg, sizeof msg),
             "the server closed before the client's challenge");
  unsigned char *b;
  size_t n;
  int got = rx_frame(r, &b, &n, WAIT_MS);
  FUZZ_CHECK(got == 1, "no answer to the client's challenge (%s)",
             got == 0 ? "timed out" : "the server closed");
  unsigned char want[MGR_DIGEST];
  mproc__hmac_sha256(fuzz_key, FUZZ_KEYLEN, msg + HL, MGR_NONCE, want);
  FUZZ_CHECK(n == MGR_DIGEST && memcmp(b, want, MGR_DIGEST) == 0,
             "the server's answer to our challenge is not the HMAC");
  free(b);
  r->limit = FUZZ_MAX_MESSAGE;
}

static void handshake(rx *r) {
  unsigned char nonce[MGR_NONCE];
  expect_challenge(r, nonce);
  send_digest(r, nonce);
  expect_welcome(r);
  challenge_server(r);
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */
/* ------------------------------------------------------------------------ */

/* FUZZ_VERBOSE=1 prints the session (for triage). */
static bool verbose(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("FUZZ_VERBOSE");
    v = e != NULL && *e != '\0' && strcmp(e, "0") != 0;
  }
  return v;
}

static void say_value(const char *what, const unsigned char *b, size_t n) {
  if (!verbose())
    return;
  mproc_obj *o = NULL;
  char *repr = NULL;
  if (mproc_obj_decode(b, n, &o) == 0)
    repr = mproc_obj_repr(o);
  fprintf(stderr, "%s (%zu bytes): %s\n", what, n,
          repr != NULL ? repr : "(not a value)");
  free(repr);
  mproc_obj_free(o);
}

static void check_reply(const unsigned char *b, size_t n) {
  say_value("reply", b, n);
  mproc_obj *o = NULL;
  int rc = mproc_obj_decode(b, n, &o);
  FUZZ_CHECK(rc == 0, "a reply does not decode: %s", mproc_err_name(rc));
  int64_t kind = -1, code = 0;
  FUZZ_CHECK(mproc_obj_type_of(o) == MPROC_OBJ_LIST &&
                 mproc_obj_get_int(mproc_obj_list_get(o, 0), &kind) == 0,
             "a reply is not [kind, ...]");
  if (kind == 0) {
    FUZZ_CHECK(mproc_obj_len(o) == 2, "a success reply has %zu items",
               mproc_obj_len(o));
  } else {
    FUZZ_CHECK(kind == 1 && mproc_obj_len(o) == 3 &&
                   mproc_obj_get_int(mproc_obj_list_get(o, 1), &code) == 0 &&
                   mproc_obj_type_of(mproc_obj_list_get(o, 2)) ==
                       MPROC_OBJ_STR,
               "a reply is neither [0, result] nor [1, code, message]");
    FUZZ_CHECK(code < 0 && strcmp(mproc_err_name((int)code), "UNKNOWN") != 0,
               "an error reply carries code %lld, not an MPROC_E* code",
               (long long)code);
    /* Requests and the server's state are small here: memory does not run
     * out, so ENOMEM names the wrong condition. */
    FUZZ_CHECK(code != MPROC_ENOMEM,
               "the server answered ENOMEM (\"%s\") to a small request",
               mproc_obj_str_value(mproc_obj_list_get(o, 2)));
  }
  mproc_obj_free(o);
}

/* Takes every reply that has arrived; returns how many. */
static size_t drain_replies(rx *r, bool check) {
  size_t k = 0;
  unsigned char *b;
  size_t n;
  pump();
  rx_fill(r);
  while (rx_take(r, &b, &n)) {
    if (check)
      check_reply(b, n);
    free(b);
    k++;
  }
  return k;
}

/* Waits for `owed` more replies, or until nothing came for IDLE_MS (a
 * request parked on a queue, lock or event), or the server closed. */
static void await_replies(rx *r, size_t owed, bool check) {
  while (owed > 0 && !r->eof) {
    unsigned char *b;
    size_t n;
    if (rx_frame(r, &b, &n, IDLE_MS) != 1)
      break;
    if (check)
      check_reply(b, n);
    free(b);
    owed--;
  }
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */
/* ------------------------------------------------------------------------ */

static bool is_shutdown(const uint8_t *p, size_t n) {
  mproc_obj *o = NULL;
  int64_t op = 0;
  bool yes = mproc_obj_decode(p, n, &o) == 0 &&
             mproc_obj_get_int(mproc_obj_list_get(o, 0), &op) == 0 &&
             op == OP_SHUTDOWN;
  mproc_obj_free(o);
  return yes;
}

static void session_requests(rx *r, const uint8_t *p, size_t n) {
  handshake(r);
  size_t sent = 0, got = 0;
  bool framing_intact = true;
  for (size_t i = 0; i < n && !r->eof;) {
    unsigned L = p[i++];
    if (L < 0xf0) {
      size_t len = L < n - i ? L : n - i;
      if (!is_shutdown(p + i, len)) {
        say_value("request", p + i, len);
        if (!tx_frame(r, p + i, len))
          break;
        sent++;
      }
      i += len;
    } else {
      size_t len = L - 0xef < n - i ? L - 0xef : n - i;
      if (verbose())
        fprintf(stderr, "raw bytes: %zu\n", len);
      if (!tx(r, p + i, len))
        break;
      framing_intact = false;
      i += len;
    }
    got += drain_replies(r, framing_intact);
  }
  if (verbose())
    fprintf(stderr, "sent %zu requests, %zu replies so far%s\n", sent, got,
            r->eof ? ", cut off" : "");
  if (framing_intact) {
    FUZZ_CHECK(got <= sent, "%zu replies to %zu requests", got, sent);
    await_replies(r, sent - got, true);
  } else {
    await_replies(r, SIZE_MAX, false);
  }
}

static void session_raw(rx *r, int when, const uint8_t *p, size_t n) {
  unsigned char nonce[MGR_NONCE];
  if (when >= 1)
    expect_challenge(r, nonce);
  if (when >= 2) {
    send_digest(r, nonce);
    expect_welcome(r);
    /* The raw bytes may complete the handshake themselves. */
    r->limit = FUZZ_MAX_MESSAGE;
  }
  if (when >= 3)
    challenge_server(r);
  if (tx(r, p, n))
    await_replies(r, SIZE_MAX, false);
}

/* A proper client must still get through. */
static void check_proper_client(void) {
#ifdef FUZZ_MANAGER_INPROC
  rx r = {.fd = open_client(), .limit = MGR_AUTH_MAX_MESSAGE};
  handshake(&r);
  static const unsigned char create_dict[] = {0x94, OP_CREATE, 0x00, K_DICT,
                                              0xc0};
  FUZZ_CHECK(tx_frame(&r, create_dict, sizeof create_dict),
             "the server closed on a proper request");
  unsigned char *b;
  size_t n;
  int got = rx_frame(&r, &b, &n, WAIT_MS);
  FUZZ_CHECK(got == 1, "no reply to a proper request");
  mproc_obj *o = NULL;
  int64_t kind = -1, id = 0;
  FUZZ_CHECK(mproc_obj_decode(b, n, &o) == 0 &&
                 mproc_obj_get_int(mproc_obj_list_get(o, 0), &kind) == 0 &&
                 kind == 0 &&
                 mproc_obj_get_int(mproc_obj_list_get(o, 1), &id) == 0 &&
                 id >= 1,
             "a proper create request failed");
  mproc_obj_free(o);
  free(b);
  free(r.buf);
  close(r.fd);
  check_server_state("after the proper client");
  server_free();
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  signal(SIGPIPE, SIG_IGN);
  transport_setup();
  int fds_before = fuzz_count_fds();
  transport_begin();
  rx r = {.fd = open_client(), .limit = MGR_AUTH_MAX_MESSAGE};
  if ((data[0] & 1) == 0)
    session_requests(&r, data + 1, size - 1);
  else
    session_raw(&r, (data[0] >> 1) & 3, data + 1, size - 1);
  free(r.buf);
  close(r.fd);
  int opened = transport_end();
  check_proper_client();
  int fds_after = fuzz_count_fds();
  FUZZ_CHECK(fds_after == fds_before + opened,
             "%d descriptors open before, %d after", fds_before, fds_after);
  return 0;
}

/* The manager's wire protocol, spoken by hand (ref/manager.h documents
 * it): malformed but authenticated requests get error replies, requests
 * that are not the protocol cut the connection, a failed handshake gets
 * #FAILURE#, clients that vanish or stop reading do not disturb the
 * server, SIGTERM stops it cleanly; and the other way round, a client
 * facing a server that breaks the protocol reports EAUTH or EPROTO
 * instead of trusting it.  A unit test of this implementation: it links
 * the static library to reach the internal HMAC and connection wrapper. */
#include "../manager.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

static const char KEY[] = "protocol-test-key";

/* ---- values ---- */

static mproc_obj *L(int n, ...) {
  mproc_obj *l = mproc_obj_list();
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(mproc_obj_list_append(l, va_arg(ap, mproc_obj *)), 0);
  va_end(ap);
  return l;
}
#define I(x) mproc_obj_int(x)
#define F(x) mproc_obj_float(x)
#define S(x) mproc_obj_str(x)

/* ---- a client by hand ---- */

static mproc_manager *start(const void *key, size_t keylen, size_t max) {
  mproc_manager *m = NULL;
  mproc_manager_options o = {.authkey = key, .authkey_len = keylen,
                             .max_message = max};
  ck_assert_int_eq(mproc_manager_start(&m, &o), 0);
  return m;
}

static mproc_conn *dial_raw(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
  strcpy(sa.sun_path, path);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  mproc_conn *c = mproc__conn_wrap(fd, 0);
  ck_assert_ptr_nonnull(c);
  return c;
}

static void expect_bytes(mproc_conn *c, const void *want, size_t n) {
  void *buf = NULL;
  size_t len = 0;
  ck_assert_int_eq(mproc_conn_recv_bytes(c, &buf, &len, scale(5)), 0);
  ck_assert_uint_eq(len, n);
  ck_assert(memcmp(buf, want, n) == 0);
  free(buf);
}

/* Reads the server's challenge; returns its nonce. */
static void recv_challenge(mproc_conn *c, unsigned char nonce[MGR_NONCE]) {
  void *buf = NULL;
  size_t len = 0, hl = sizeof MGR_CHALLENGE - 1;
  ck_assert_int_eq(mproc_conn_recv_bytes(c, &buf, &len, scale(5)), 0);
  ck_assert_uint_eq(len, hl + MGR_NONCE);
  ck_assert(memcmp(buf, MGR_CHALLENGE, hl) == 0);
  memcpy(nonce, (unsigned char *)buf + hl, MGR_NONCE);
  free(buf);
}

static void send_digest(mproc_conn *c, const void *key, size_t keylen) {
  unsigned char nonce[MGR_NONCE], d[MGR_DIGEST];
  recv_challenge(c, nonce);
  mproc__hmac_sha256(key, keylen, nonce, MGR_NONCE, d);
  ck_assert_int_eq(mproc_conn_send_bytes(c, d, MGR_DIGEST), 0);
}

static void send_own_challenge(mproc_conn *c, unsigned char *msg) {
  size_t hl = sizeof MGR_CHALLENGE - 1;
  memcpy(msg, MGR_CHALLENGE, hl);
  for (int i = 0; i < MGR_NONCE; i++)
    msg[hl + i] = (unsigned char)(i * 7 + 1);
  ck_assert_int_eq(mproc_conn_send_bytes(c, msg, hl + MGR_NONCE), 0);
}

/* A connection that went through the whole handshake, both ways. */
static mproc_conn *authed(const char *path, const void *key, size_t keylen) {
  mproc_conn *c = dial_raw(path);
  send_digest(c, key, keylen);
  expect_bytes(c, MGR_WELCOME, sizeof MGR_WELCOME - 1);
  unsigned char msg[sizeof MGR_CHALLENGE - 1 + MGR_NONCE], d[MGR_DIGEST];
  send_own_challenge(c, msg);
  mproc__hmac_sha256(key, keylen, msg + sizeof MGR_CHALLENGE - 1, MGR_NONCE,
                     d);
  expect_bytes(c, d, MGR_DIGEST);
  return c;
}

/* Sends `req` (freed) and returns the reply. */
static mproc_obj *call_raw(mproc_conn *c, mproc_obj *req) {
  ck_assert_ptr_nonnull(req);
  ck_assert_int_eq(mproc_conn_send(c, req), 0);
  mproc_obj_free(req);
  mproc_obj *reply = NULL;
  ck_assert_int_eq(mproc_conn_recv(c, &reply, scale(5)), 0);
  return reply;
}

/* The reply must be [1, code, message]. */
static void expect_error(mproc_conn *c, mproc_obj *req, int code,
                         const char *msg) {
  mproc_obj *r = call_raw(c, req);
  int64_t kind = -1, got = 0;
  ck_assert_int_eq(mproc_obj_len(r), 3);
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 0), &kind), 0);
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 1), &got), 0);
  ck_assert_int_eq(kind, 1);
  ck_assert_msg(got == code, "expected %s, got %s", mproc_err_name(code),
                mproc_err_name((int)got));
  const char *m = mproc_obj_str_value(mproc_obj_list_get(r, 2));
  ck_assert_ptr_nonnull(m);
  if (msg != NULL)
    ck_assert_str_eq(m, msg);
  mproc_obj_free(r);
}

/* The reply must be [0, result]; returns a copy of the result. */
static mproc_obj *expect_ok(mproc_conn *c, mproc_obj *req) {
  mproc_obj *r = call_raw(c, req);
  int64_t kind = -1;
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 0), &kind), 0);
  ck_assert_int_eq(kind, 0);
  mproc_obj *v = mproc_obj_copy(mproc_obj_list_get(r, 1));
  mproc_obj_free(r);
  return v;
}

static int64_t expect_int(mproc_conn *c, mproc_obj *req) {
  mproc_obj *v = expect_ok(c, req);
  int64_t i = 0;
  ck_assert_int_eq(mproc_obj_get_int(v, &i), 0);
  mproc_obj_free(v);
  return i;
}

static int64_t create_raw(mproc_conn *c, int kind, mproc_obj *arg) {
  mproc_obj *req = arg ? L(4, I(OP_CREATE), I(0), I(kind), arg)
                       : L(3, I(OP_CREATE), I(0), I(kind));
  int64_t id = expect_int(c, req);
  ck_assert_int_ge(id, 1);
  return id;
}

/* The server closed the connection: nothing more to read. */
static void expect_closed(mproc_conn *c) {
  void *buf = NULL;
  size_t len = 0;
  int rc = mproc_conn_recv_bytes(c, &buf, &len, scale(5));
  ck_assert_msg(rc == MPROC_EEOF, "expected the connection cut, got %s",
                mproc_err_name(rc));
}

/* The server closed a connection whose reading side we shut down: our
 * sends start failing. */
static void expect_dropped(mproc_conn *c) {
  int rc = 0;
  double t0 = now();
  while (rc == 0 && now() - t0 < scale(5)) {
    rc = mproc_conn_send_bytes(c, "x", 1);
    if (rc == 0) {
      struct timespec nap = {0, 1000000L};
      nanosleep(&nap, NULL);
    }
  }
  ck_assert_msg(rc == MPROC_EEOF, "expected the connection dropped, got %s",
                mproc_err_name(rc));
}

/* The manager still serves a well-behaved client through the public API. */
static void expect_healthy(mproc_manager *m) {
  mproc_proxy *d = NULL;
  ck_assert_int_eq(mproc_manager_dict(m, &d), 0);
  mproc_obj *k = S("alive"), *v = I(42), *got = NULL;
  ck_assert_int_eq(mproc_proxy_dict_set(d, k, v), 0);
  ck_assert_int_eq(mproc_proxy_dict_get(d, k, NULL, &got), 0);
  ck_assert(mproc_obj_equal(got, v));
  mproc_obj_free(got);
  mproc_obj_free(k);
  mproc_obj_free(v);
  mproc_proxy_free(d);
}

/* ---- the server's side ---- */

START_TEST(protocol_bad_requests_get_error_replies) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  mproc_conn *c = authed(mproc_manager_address(m), KEY, sizeof KEY - 1);

  expect_error(c, L(3, I(OP_CREATE), I(0), I(99)), MPROC_EINVAL, NULL);
  expect_error(c, L(4, I(OP_CREATE), I(0), I(K_QUEUE), I(-1)), MPROC_EINVAL,
               NULL);
  int64_t d = create_raw(c, K_DICT, NULL);
  int64_t l = create_raw(c, K_LIST, NULL);
  int64_t q = create_raw(c, K_QUEUE, I(0));
  int64_t lk = create_raw(c, K_LOCK, NULL);
  int64_t ev = create_raw(c, K_EVENT, NULL);
  int64_t v = create_raw(c, K_VALUE, I(5));

  const char *nosuch = "no such object of that kind";
  expect_error(c, L(2, I(OP_DICT_LEN), I(999)), MPROC_EINVAL, nosuch);
  expect_error(c, L(2, I(OP_DICT_LEN), I(0)), MPROC_EINVAL, nosuch);
  expect_error(c, L(2, I(OP_DICT_LEN), I(l)), MPROC_EINVAL, nosuch);
  expect_error(c, L(2, I(OP_Q_QSIZE), I(d)), MPROC_EINVAL, nosuch);

  const char *keys = "keys are str or int";
  expect_error(c, L(4, I(OP_DICT_SET), I(d), F(1.5), I(1)), MPROC_EINVAL,
               keys);
  expect_error(c, L(3, I(OP_DICT_SET), I(d), S("k")), MPROC_EINVAL, keys);
  expect_error(c, L(4, I(OP_DICT_GET), I(d), F(1.5), mproc_obj_bool(false)),
               MPROC_ERANGE, "no such key");
  expect_error(c, L(3, I(OP_DICT_DEL), I(d), F(1.5)), MPROC_ERANGE,
               "no such key");
  mproc_obj *has = expect_ok(c, L(3, I(OP_DICT_CONTAINS), I(d), F(1.5)));
  bool b = true;
  ck_assert_int_eq(mproc_obj_get_bool(has, &b), 0);
  ck_assert(!b);
  mproc_obj_free(has);

  expect_error(c, L(2, I(OP_LIST_APPEND), I(l)), MPROC_EINVAL,
               "cannot append");
  expect_error(c, L(3, I(OP_LIST_EXTEND), I(l), I(1)), MPROC_EINVAL,
               "extend takes a list");
  mproc_obj_free(expect_ok(c, L(3, I(OP_LIST_APPEND), I(l), I(7))));
  expect_error(c, L(3, I(OP_LIST_GET), I(l), S("0")), MPROC_ERANGE, NULL);
  expect_error(c, L(3, I(OP_LIST_SET), I(l), I(0)), MPROC_EINVAL, "no value");
  ck_assert_int_eq(expect_int(c, L(3, I(OP_LIST_GET), I(l), I(0))), 7);

  expect_error(c, L(2, I(OP_Q_PUT), I(q)), MPROC_EINVAL, "bad put");
  expect_error(c, L(4, I(OP_Q_PUT), I(q), I(1), F(NAN)), MPROC_EINVAL,
               "bad put");
  expect_error(c, L(3, I(OP_Q_GET), I(q), F(NAN)), MPROC_EINVAL,
               "bad timeout");
  expect_error(c, L(3, I(OP_LOCK_ACQUIRE), I(lk), F(NAN)), MPROC_EINVAL,
               "bad timeout");
  expect_error(c, L(3, I(OP_EVENT_WAIT), I(ev), F(NAN)), MPROC_EINVAL,
               "bad timeout");
  /* A timeout that is not a float is malformed, not "no limit" (the event
   * is clear: treated as no limit, these would block for ever). */
  expect_error(c, L(3, I(OP_EVENT_WAIT), I(ev), I(1)), MPROC_EINVAL,
               "bad timeout");
  expect_error(c, L(3, I(OP_EVENT_WAIT), I(ev), S("1")), MPROC_EINVAL,
               "bad timeout");
  expect_error(c, L(2, I(OP_EVENT_WAIT), I(ev)), MPROC_EINVAL, "bad timeout");
  expect_error(c, L(2, I(OP_VALUE_SET), I(v)), MPROC_EINVAL, "no value");
  ck_assert_int_eq(expect_int(c, L(2, I(OP_VALUE_GET), I(v))), 5);

  /* None of that cost the connection, or anybody else's. */
  ck_assert_int_eq(expect_int(c, L(2, I(OP_DICT_LEN), I(d))), 0);
  ck_assert_int_eq(expect_int(c, L(2, I(OP_Q_QSIZE), I(q))), 0);
  mproc_conn_free(c);
  expect_healthy(m);
  mproc_manager_free(m);
}
END_TEST

static mproc_obj *not_a_list(void) { return I(5); }
static mproc_obj *op_not_int(void) { return L(2, S("get"), I(1)); }
static mproc_obj *no_object_id(void) { return L(1, I(OP_DICT_LEN)); }
static mproc_obj *unknown_op(void) { return L(2, I(999), I(1)); }
static mproc_obj *op_zero(void) { return L(2, I(0), I(1)); }
static mproc_obj *negative_op(void) { return L(2, I(-3), I(1)); }

START_TEST(protocol_violations_cut_the_connection) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 1024);
  const char *path = mproc_manager_address(m);
  mproc_obj *(*bad[])(void) = {not_a_list, op_not_int, no_object_id,
                               unknown_op, op_zero, negative_op};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mproc_conn *c = authed(path, KEY, sizeof KEY - 1);
    mproc_obj *req = bad[i]();
    ck_assert_int_eq(mproc_conn_send(c, req), 0);
    mproc_obj_free(req);
    expect_closed(c);
    mproc_conn_free(c);
  }
  /* Bytes that are no value at all (0xc1 is never used by the format). */
  mproc_conn *c = authed(path, KEY, sizeof KEY - 1);
  ck_assert_int_eq(mproc_conn_send_bytes(c, "\xc1", 1), 0);
  expect_closed(c);
  mproc_conn_free(c);
  /* A request over the manager's max_message (sent in one piece). */
  c = authed(path, KEY, sizeof KEY - 1);
  static char big[2000];
  ck_assert_int_eq(mproc_conn_send_bytes(c, big, sizeof big), 0);
  expect_closed(c);
  mproc_conn_free(c);
  expect_healthy(m);
  mproc_manager_free(m);
}
END_TEST

START_TEST(protocol_failed_handshakes_are_refused) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  const char *path = mproc_manager_address(m);
  unsigned char nonce[MGR_NONCE], zeros[MGR_DIGEST] = {0};

  /* A wrong digest, and one of the wrong length. */
  mproc_conn *c = dial_raw(path);
  recv_challenge(c, nonce);
  ck_assert_int_eq(mproc_conn_send_bytes(c, zeros, MGR_DIGEST), 0);
  expect_bytes(c, MGR_FAILURE, sizeof MGR_FAILURE - 1);
  expect_closed(c);
  mproc_conn_free(c);
  c = dial_raw(path);
  recv_challenge(c, nonce);
  ck_assert_int_eq(mproc_conn_send_bytes(c, "short", 5), 0);
  expect_bytes(c, MGR_FAILURE, sizeof MGR_FAILURE - 1);
  expect_closed(c);
  mproc_conn_free(c);
  /* The right digest for another key. */
  c = dial_raw(path);
  send_digest(c, "other", 5);
  expect_bytes(c, MGR_FAILURE, sizeof MGR_FAILURE - 1);
  expect_closed(c);
  mproc_conn_free(c);

  /* Before authentication a message may not exceed 64 bytes. */
  c = dial_raw(path);
  recv_challenge(c, nonce);
  static char big[MGR_AUTH_MAX_MESSAGE + 1];
  ck_assert_int_eq(mproc_conn_send_bytes(c, big, sizeof big), 0);
  expect_closed(c);
  mproc_conn_free(c);

  /* Welcomed, but the client's own challenge is not one. */
  const char *bad_challenges[] = {
      "#HELLO#0123456789012345678901234567890123456", /* the right length */
      "#CHALLENGE#too short"};
  for (size_t i = 0; i < 2; i++) {
    c = dial_raw(path);
    send_digest(c, KEY, sizeof KEY - 1);
    expect_bytes(c, MGR_WELCOME, sizeof MGR_WELCOME - 1);
    ck_assert_int_eq(mproc_conn_send_bytes(c, bad_challenges[i],
                                           strlen(bad_challenges[i])),
                     0);
    expect_closed(c);
    mproc_conn_free(c);
  }

  /* Clients that stop listening in the middle (shut down for reading, so
   * that the server's next answer certainly finds nobody): they are
   * dropped. */
  c = dial_raw(path);
  recv_challenge(c, nonce);
  unsigned char d[MGR_DIGEST];
  mproc__hmac_sha256(KEY, sizeof KEY - 1, nonce, MGR_NONCE, d);
  ck_assert_int_eq(shutdown(mproc_conn_fileno(c), SHUT_RD), 0);
  ck_assert_int_eq(mproc_conn_send_bytes(c, d, MGR_DIGEST), 0); /* no welcome */
  expect_dropped(c);
  mproc_conn_free(c);
  c = dial_raw(path);
  send_digest(c, KEY, sizeof KEY - 1);
  expect_bytes(c, MGR_WELCOME, sizeof MGR_WELCOME - 1);
  ck_assert_int_eq(shutdown(mproc_conn_fileno(c), SHUT_RD), 0);
  unsigned char msg[sizeof MGR_CHALLENGE - 1 + MGR_NONCE];
  send_own_challenge(c, msg); /* no digest back */
  expect_dropped(c);
  mproc_conn_free(c);

  expect_healthy(m);
  mproc_manager_free(m);
}
END_TEST

/* RFC 4231 test cases 1, 2, 6 and 7: a short key, a key shorter than the
 * digest, and two keys longer than the 64-byte block (hashed first). */
START_TEST(protocol_hmac_matches_rfc4231) {
  static const struct {
    const char *key_hex, *msg, *mac_hex;
  } cases[] = {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {NULL,
       "This is a test using a larger than block-size key and a larger "
       "than block-size data. The key needs to be hashed before being "
       "used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    unsigned char key[131], want[32], got[32];
    size_t keylen;
    if (cases[i].key_hex == NULL) {
      keylen = sizeof key;
      memset(key, 0xaa, keylen);
    } else {
      keylen = strlen(cases[i].key_hex) / 2;
      for (size_t k = 0; k < keylen; k++)
        sscanf(cases[i].key_hex + 2 * k, "%2hhx", &key[k]);
    }
    for (size_t k = 0; k < 32; k++)
      sscanf(cases[i].mac_hex + 2 * k, "%2hhx", &want[k]);
    mproc__hmac_sha256(key, keylen, cases[i].msg, strlen(cases[i].msg), got);
    ck_assert_msg(memcmp(got, want, 32) == 0, "case %zu", i);
    ck_assert(mproc__digest_equal(got, want, 32));
    got[31] ^= 1;
    ck_assert(!mproc__digest_equal(got, want, 32));
  }
}
END_TEST

START_TEST(protocol_key_longer_than_a_block_authenticates) {
  unsigned char key[100], other[100];
  for (size_t i = 0; i < sizeof key; i++)
    key[i] = other[i] = (unsigned char)(i * 13 + 5);
  other[99] ^= 0x80; /* same first 64 bytes: only hashing tells them apart */
  mproc_manager *m = start(key, sizeof key, 0);
  mproc_manager *peer = NULL;
  ck_assert_int_eq(mproc_manager_connect(&peer, mproc_manager_address(m),
                                         key, sizeof key),
                   0);
  expect_healthy(peer);
  mproc_manager_free(peer);
  ck_assert_int_eq(mproc_manager_connect(&peer, mproc_manager_address(m),
                                         other, sizeof other),
                   MPROC_EAUTH);
  mproc_conn *c = authed(mproc_manager_address(m), key, sizeof key);
  mproc_conn_free(c);
  mproc_manager_free(m);
}
END_TEST

START_TEST(protocol_sigterm_stops_the_server_and_removes_its_socket) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  mproc_proxy *d = NULL;
  ck_assert_int_eq(mproc_manager_dict(m, &d), 0);
  pid_t pid = mproc_manager_pid(m);
  char path[256];
  snprintf(path, sizeof path, "%s", mproc_manager_address(m));
  ck_assert_int_eq(access(path, F_OK), 0);
  ck_assert_int_eq(kill(pid, SIGTERM), 0);
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st));
  ck_assert_int_eq(WEXITSTATUS(st), 0);
  ck_assert_int_ne(access(path, F_OK), 0);
  size_t n = 0;
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EBROKEN);
  mproc_proxy_free(d);
  mproc_manager_free(m);
}
END_TEST

/* Two gets parked on one connection (pipelined): the later one is answered
 * first when its queue gets an item first. */
START_TEST(protocol_parked_requests_are_answered_as_they_can_proceed) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  const char *path = mproc_manager_address(m);
  mproc_conn *a = authed(path, KEY, sizeof KEY - 1);
  mproc_conn *b = authed(path, KEY, sizeof KEY - 1);
  int64_t q1 = create_raw(b, K_QUEUE, I(0)), q2 = create_raw(b, K_QUEUE, I(0));
  mproc_obj *g1 = L(3, I(OP_Q_GET), I(q1), F(scale(10)));
  mproc_obj *g2 = L(3, I(OP_Q_GET), I(q2), F(scale(10)));
  ck_assert_int_eq(mproc_conn_send(a, g1), 0);
  ck_assert_int_eq(mproc_conn_send(a, g2), 0);
  mproc_obj_free(g1);
  mproc_obj_free(g2);
  /* Nothing yet: both are parked. */
  ck_assert_int_eq(mproc_conn_poll(a, 0.1), MPROC_ETIMEDOUT);
  mproc_obj_free(expect_ok(b, L(4, I(OP_Q_PUT), I(q2), S("second"), F(1))));
  mproc_obj *r = NULL;
  ck_assert_int_eq(mproc_conn_recv(a, &r, scale(5)), 0);
  ck_assert_str_eq(mproc_obj_str_value(mproc_obj_list_get(r, 1)), "second");
  mproc_obj_free(r);
  mproc_obj_free(expect_ok(b, L(4, I(OP_Q_PUT), I(q1), S("first"), F(1))));
  ck_assert_int_eq(mproc_conn_recv(a, &r, scale(5)), 0);
  ck_assert_str_eq(mproc_obj_str_value(mproc_obj_list_get(r, 1)), "first");
  mproc_obj_free(r);
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_manager_free(m);
}
END_TEST

/* A client that parks two requests and stops reading: when they expire the
 * first reply cannot be delivered, the client is cut off, and the second
 * reply is dropped without harm. */
START_TEST(protocol_client_that_stops_reading_is_cut_off) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  const char *path = mproc_manager_address(m);
  mproc_conn *a = authed(path, KEY, sizeof KEY - 1);
  mproc_conn *b = authed(path, KEY, sizeof KEY - 1);
  int64_t q = create_raw(b, K_QUEUE, I(0)), q2 = create_raw(b, K_QUEUE, I(0));
  for (int i = 0; i < 2; i++) {
    mproc_obj *g = L(3, I(OP_Q_GET), I(q), F(0.2));
    ck_assert_int_eq(mproc_conn_send(a, g), 0);
    mproc_obj_free(g);
  }
  ck_assert_int_eq(shutdown(mproc_conn_fileno(a), SHUT_RD), 0);
  /* b's own get expires after a's two. */
  double t0 = now();
  expect_error(b, L(3, I(OP_Q_GET), I(q2), F(0.6)), MPROC_EEMPTY,
               "timed out");
  ck_assert(now() - t0 >= 0.5);
  /* The server has closed a's connection by now. */
  expect_dropped(a);
  ck_assert_int_eq(expect_int(b, L(2, I(OP_Q_QSIZE), I(q))), 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_manager_free(m);
}
END_TEST

/* Descriptors open in process `pid`, or -1. */
static int count_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL)
    return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* A client that sends requests and never reads the replies: once its
 * socket is full its replies wait in the server, which serves the others
 * meanwhile (well before the 5 s send timeout), and cuts the client off
 * when nothing more could be written for 5 s. */
START_TEST(protocol_client_that_never_reads_is_cut_off_after_the_send_timeout) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  const char *path = mproc_manager_address(m);
  mproc_conn *a = authed(path, KEY, sizeof KEY - 1);
  mproc_conn *b = authed(path, KEY, sizeof KEY - 1);
  int64_t l = create_raw(a, K_LIST, NULL);
  /* Replies under 4 KiB go out in one piece: none is ever half-sent (a
   * send that moved some bytes before timing out would wait again). */
  static char chunk[4000];
  mproc_obj_free(expect_ok(a, L(3, I(OP_LIST_APPEND), I(l),
                                mproc_obj_bytes(chunk, sizeof chunk))));
  enum { N = 160 }; /* 640 KB of replies for 2 KB of requests */
  for (int i = 0; i < N; i++) {
    mproc_obj *copy = L(2, I(OP_LIST_COPY), I(l));
    ck_assert_int_eq(mproc_conn_send(a, copy), 0);
    mproc_obj_free(copy);
  }
  /* Answered at once, not only once a is cut off. */
  mproc_obj *len = L(2, I(OP_LIST_LEN), I(l)), *r = NULL;
  double t0 = now();
  ck_assert_int_eq(mproc_conn_send(b, len), 0);
  mproc_obj_free(len);
  ck_assert_int_eq(mproc_conn_recv(b, &r, scale(15)), 0);
  ck_assert_msg(now() - t0 < scale(2.5), "b waited %.3f s", now() - t0);
  int64_t n = 0;
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 1), &n), 0);
  ck_assert_int_eq(n, 1);
  mproc_obj_free(r);
  /* Not read for the send timeout, a is cut off: the server closes its
   * socket (one descriptor less), not before. */
  pid_t server = mproc_manager_pid(m);
  int fds = count_fds(server);
  double cut = now();
  while (count_fds(server) >= fds && now() - cut < scale(15)) {
    struct timespec nap = {0, 20000000L};
    nanosleep(&nap, NULL);
  }
  ck_assert_int_eq(count_fds(server), fds - 1);
  ck_assert_msg(now() - t0 > 4.5, "cut off after %.3f s", now() - t0);
  /* a gets what fitted in its socket, then the end. */
  int got = 0, rc;
  while ((rc = mproc_conn_recv(a, &r, scale(5))) == 0) {
    mproc_obj_free(r);
    got++;
  }
  ck_assert_msg(rc == MPROC_EEOF || rc == MPROC_EBROKEN, "%s",
                mproc_err_name(rc));
  ck_assert_int_lt(got, N);
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_manager_free(m);
}
END_TEST

/* The holder of a lock leaves while another client waits for it: the
 * waiter gets the lock, told so with EOWNERDEAD. */
START_TEST(protocol_parked_acquirer_inherits_a_vanished_holders_lock) {
  mproc_manager *m = start(KEY, sizeof KEY - 1, 0);
  const char *path = mproc_manager_address(m);
  mproc_conn *a = authed(path, KEY, sizeof KEY - 1);
  mproc_conn *b = authed(path, KEY, sizeof KEY - 1);
  int64_t lk = create_raw(a, K_LOCK, NULL);
  mproc_obj_free(expect_ok(a, L(3, I(OP_LOCK_ACQUIRE), I(lk), F(1))));
  mproc_obj *acq = L(3, I(OP_LOCK_ACQUIRE), I(lk), F(scale(10)));
  ck_assert_int_eq(mproc_conn_send(b, acq), 0);
  mproc_obj_free(acq);
  ck_assert_int_eq(mproc_conn_poll(b, 0.1), MPROC_ETIMEDOUT); /* parked */
  mproc_conn_free(a);
  mproc_obj *r = NULL;
  ck_assert_int_eq(mproc_conn_recv(b, &r, scale(5)), 0);
  int64_t kind = -1, code = 0;
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 0), &kind), 0);
  ck_assert_int_eq(mproc_obj_get_int(mproc_obj_list_get(r, 1), &code), 0);
  ck_assert_int_eq(kind, 1);
  ck_assert_int_eq(code, MPROC_EOWNERDEAD);
  mproc_obj_free(r);
  /* b holds it now. */
  mproc_obj_free(expect_ok(b, L(2, I(OP_LOCK_RELEASE), I(lk))));
  expect_error(b, L(2, I(OP_LOCK_RELEASE), I(lk)), MPROC_ESTATE, NULL);
  mproc_conn_free(b);
  mproc_manager_free(m);
}
END_TEST

/* ---- the client's side: a fake server ---- */

enum hs_mode {
  HS_CLOSE_AT_ONCE,  /* no challenge at all */
  HS_BAD_CHALLENGE,  /* a challenge without the prefix */
  HS_CLOSE_AFTER_DIGEST,
  HS_NOT_WELCOME,
  HS_CLOSE_AFTER_WELCOME,
  HS_WRONG_DIGEST,   /* welcomes, then proves it does not know the key */
  HS_OK,
};

typedef struct fake {
  int lfd;
  enum hs_mode mode;
  mproc_obj *replies[8]; /* answers to the requests, in order */
  size_t nreplies;
  size_t served;
  char dir[64], path[128];
  pthread_t thread;
} fake;

static void *fake_main(void *arg) {
  fake *f = arg;
  int fd = accept(f->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  mproc_conn *c = mproc__conn_wrap(fd, 0);
  size_t hl = sizeof MGR_CHALLENGE - 1;
  unsigned char msg[sizeof MGR_CHALLENGE - 1 + MGR_NONCE] = {0};
  memcpy(msg, f->mode == HS_BAD_CHALLENGE ? "#CHALLENGX#" : MGR_CHALLENGE, hl);
  void *buf = NULL;
  size_t len = 0;
  if (f->mode == HS_CLOSE_AT_ONCE)
    goto out;
  mproc_conn_send_bytes(c, msg, sizeof msg);
  if (mproc_conn_recv_bytes(c, &buf, &len, 5) != 0)
    goto out;
  free(buf);
  if (f->mode == HS_CLOSE_AFTER_DIGEST)
    goto out;
  if (f->mode == HS_NOT_WELCOME) {
    mproc_conn_send_bytes(c, "#WELCOMX#", 9);
    goto out;
  }
  mproc_conn_send_bytes(c, MGR_WELCOME, sizeof MGR_WELCOME - 1);
  if (mproc_conn_recv_bytes(c, &buf, &len, 5) != 0)
    goto out;
  unsigned char d[MGR_DIGEST];
  mproc__hmac_sha256(KEY, sizeof KEY - 1, (unsigned char *)buf + hl,
                     MGR_NONCE, d);
  free(buf);
  if (f->mode == HS_CLOSE_AFTER_WELCOME)
    goto out;
  if (f->mode == HS_WRONG_DIGEST)
    d[0] ^= 1;
  mproc_conn_send_bytes(c, d, MGR_DIGEST);
  for (;;) {
    mproc_obj *req = NULL;
    if (mproc_conn_recv(c, &req, 5) != 0)
      break;
    mproc_obj_free(req);
    if (f->served == f->nreplies)
      break;
    mproc_conn_send(c, f->replies[f->served++]);
  }
out:
  mproc_conn_free(c);
  return NULL;
}

static void fake_start(fake *f, enum hs_mode mode) {
  f->mode = mode;
  snprintf(f->dir, sizeof f->dir, "/tmp/mproc-fake-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/listener", f->dir);
  f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, f->path);
  ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(f->lfd, 4), 0);
  ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f) {
  pthread_join(f->thread, NULL);
  close(f->lfd);
  unlink(f->path);
  rmdir(f->dir);
  for (size_t i = 0; i < f->nreplies; i++)
    mproc_obj_free(f->replies[i]);
}

START_TEST(protocol_client_refuses_servers_that_fail_the_handshake) {
  static const struct {
    enum hs_mode mode;
    int want;
  } cases[] = {
      {HS_CLOSE_AT_ONCE, MPROC_EEOF},
      {HS_BAD_CHALLENGE, MPROC_EAUTH},
      {HS_CLOSE_AFTER_DIGEST, MPROC_EAUTH},
      {HS_NOT_WELCOME, MPROC_EAUTH},
      {HS_CLOSE_AFTER_WELCOME, MPROC_EEOF},
      {HS_WRONG_DIGEST, MPROC_EAUTH},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fake f = {0};
    fake_start(&f, cases[i].mode);
    mproc_manager *m = NULL;
    int rc = mproc_manager_connect(&m, f.path, KEY, sizeof KEY - 1);
    ck_assert_msg(rc == cases[i].want, "case %zu: expected %s, got %s", i,
                  mproc_err_name(cases[i].want), mproc_err_name(rc));
    ck_assert_ptr_null(m);
    fake_stop(&f);
  }
}
END_TEST

START_TEST(protocol_client_rejects_replies_of_the_wrong_shape) {
  fake f = {0};
  f.replies[f.nreplies++] = L(2, I(0), S("not an id")); /* create */
  f.replies[f.nreplies++] = L(2, I(0), I(1));           /* create: id 1 */
  f.replies[f.nreplies++] = L(2, I(0), I(-1));          /* len */
  f.replies[f.nreplies++] = L(2, I(0), S("three"));     /* len */
  f.replies[f.nreplies++] = L(2, I(0), I(1));           /* contains */
  f.replies[f.nreplies++] = L(1, I(7));                 /* neither kind */
  f.replies[f.nreplies++] = S("not a list");
  fake_start(&f, HS_OK);
  mproc_manager *m = NULL;
  ck_assert_int_eq(mproc_manager_connect(&m, f.path, KEY, sizeof KEY - 1), 0);
  mproc_proxy *d = NULL;
  ck_assert_int_eq(mproc_manager_dict(m, &d), MPROC_EPROTO);
  ck_assert_ptr_null(d);
  ck_assert_int_eq(mproc_manager_dict(m, &d), 0);
  size_t n = 0;
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EPROTO);
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EPROTO);
  bool b = false;
  mproc_obj *k = S("k");
  ck_assert_int_eq(mproc_proxy_dict_contains(d, k, &b), MPROC_EPROTO);
  mproc_obj_free(k);
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EPROTO);
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EPROTO);
  /* The fake has nothing more to say and hangs up. */
  ck_assert_int_eq(mproc_proxy_dict_len(d, &n), MPROC_EBROKEN);
  mproc_proxy_free(d);
  ck_assert_int_eq(mproc_manager_shutdown(m), MPROC_ENOTSUP);
  mproc_manager_free(m);
  fake_stop(&f);
  ck_assert_int_eq(f.served, f.nreplies);
}
END_TEST

int main(void) {
  Suite *s = suite_create("manager_protocol");
  TCase *tc = tcase_create("manager_protocol");
  tcase_set_timeout(tc, scale(30));
  tcase_add_test(tc, protocol_bad_requests_get_error_replies);
  tcase_add_test(tc, protocol_violations_cut_the_connection);
  tcase_add_test(tc, protocol_failed_handshakes_are_refused);
  tcase_add_test(tc, protocol_hmac_matches_rfc4231);
  tcase_add_test(tc, protocol_key_longer_than_a_block_authenticates);
  tcase_add_test(tc, protocol_sigterm_stops_the_server_and_removes_its_socket);
  tcase_add_test(tc, protocol_parked_requests_are_answered_as_they_can_proceed);
  tcase_add_test(tc, protocol_client_that_stops_reading_is_cut_off);
  tcase_add_test(tc, protocol_parked_acquirer_inherits_a_vanished_holders_lock);
  tcase_add_test(
      tc, protocol_client_that_never_reads_is_cut_off_after_the_send_timeout);
  tcase_add_test(tc, protocol_client_refuses_servers_that_fail_the_handshake);
  tcase_add_test(tc, protocol_client_rejects_replies_of_the_wrong_shape);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  printf("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}

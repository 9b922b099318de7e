/* Writes the generated seed inputs of every fuzz target:
 *
 *     gen-seeds CORPUS_DIR      (make fuzz-seeds)
 *
 * Files are named seed-<what>; other files in the corpus directories
 * (reproducers of findings, crash-*, leak-*, timeout-*) are left alone.
 * The input formats are described at the top of each target's source. */
#include "manager.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

static void put(const char *target, const char *name, const void *p,
                size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, target);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/%s/seed-%s", root, target, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "gen-seeds: %s: %s\n", path, strerror(errno));
    exit(1);
  }
}

/* A growable byte string. */
typedef struct buf {
  unsigned char b[8192];
  size_t n;
} buf;

static void add(buf *b, const void *p, size_t n) {
  if (b->n + n > sizeof b->b) {
    fprintf(stderr, "gen-seeds: seed too large\n");
    exit(1);
  }
  memcpy(b->b + b->n, p, n);
  b->n += n;
}

static void add_byte(buf *b, unsigned char c) { add(b, &c, 1); }

static void add_encoded(buf *b, mproc_obj *o) {
  void *p;
  size_t n;
  if (o == NULL || mproc_obj_encode(o, &p, &n) != 0) {
    fprintf(stderr, "gen-seeds: cannot encode\n");
    exit(1);
  }
  add(b, p, n);
  free(p);
  mproc_obj_free(o);
}

static void put_obj(const char *name, mproc_obj *o) {
  buf b = {.n = 0};
  add_encoded(&b, o);
  put("codec", name, b.b, b.n);
}

static mproc_obj *list_of(int n, ...) {
  va_list ap;
  va_start(ap, n);
  mproc_obj *l = mproc_obj_list();
  for (int i = 0; i < n; i++)
    mproc_obj_list_append(l, va_arg(ap, mproc_obj *));
  va_end(ap);
  return l;
}

/* ---- codec: valid encodings of every type, and classic malformations */

static void codec(void) {
  put_obj("none", mproc_obj_none());
  put_obj("true", mproc_obj_bool(true));
  put_obj("int-small", mproc_obj_int(7));
  put_obj("int-negative", mproc_obj_int(-33));
  put_obj("int64-min", mproc_obj_int(INT64_MIN));
  put_obj("int64-max", mproc_obj_int(INT64_MAX));
  put_obj("float", mproc_obj_float(-1.5e-300));
  put_obj("str", mproc_obj_str("h\xc3\xa9llo \xf0\x9f\x98\x80"));
  put_obj("bytes", mproc_obj_bytes("\x00\xff\x80", 3));
  mproc_obj *d = mproc_obj_dict();
  mproc_obj_dict_set(d, mproc_obj_str("a"), mproc_obj_int(1));
  mproc_obj_dict_set(d, mproc_obj_int(-2), list_of(2, mproc_obj_none(),
                                                   mproc_obj_float(0.25)));
  put_obj("dict", d);
  put_obj("nested",
          list_of(3, list_of(1, list_of(0)), mproc_obj_dict(),
                  mproc_obj_bytes(NULL, 0)));
  /* 32 levels is the deepest allowed; 33 is refused. */
  mproc_obj *deep = mproc_obj_list();
  for (int i = 1; i < MPROC_OBJ_MAX_DEPTH; i++)
    deep = list_of(1, deep);
  put_obj("depth-32", deep);
  unsigned char too_deep[MPROC_OBJ_MAX_DEPTH + 1];
  memset(too_deep, 0x91, MPROC_OBJ_MAX_DEPTH);
  too_deep[MPROC_OBJ_MAX_DEPTH] = 0x90;
  put("codec", "depth-33", too_deep, sizeof too_deep);
  /* Forms our encoder never writes. */
  put("codec", "float32", "\xca\x3f\xc0\x00\x00", 5);
  put("codec", "str8-short", "\xd9\x03" "abc", 5);
  put("codec", "array16", "\xdc\x00\x02\xc3\xc2", 5);
  put("codec", "map16-dup-keys", "\xde\x00\x02\x01\x02\x01\x03", 7);
  put("codec", "uint8", "\xcc\xff", 2);
  /* Malformed. */
  put("codec", "bad-uint64-big", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
  put("codec", "bad-ext", "\xd4\x01\x00", 3);
  put("codec", "bad-c1", "\xc1", 1);
  put("codec", "bad-truncated", "\x93\x01\x02", 3);
  put("codec", "bad-trailing", "\x01\x01", 2);
  put("codec", "bad-utf8", "\xa2\xc3\x28", 3);
  put("codec", "bad-list-key", "\x81\x90\x01", 3);
  put("codec", "bad-huge-array", "\xdd\xff\xff\xff\xff\x00", 6);
}

/* ---- conn: control bytes, then frames ---- */

static void frame(buf *b, const void *p, size_t n) {
  unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                        (unsigned char)(n >> 8), (unsigned char)n};
  add(b, h, 4);
  add(b, p, n);
}

static void frame_obj(buf *b, mproc_obj *o) {
  buf e = {.n = 0};
  add_encoded(&e, o);
  frame(b, e.b, e.n);
}

/* max index 0 (default), chunk index 10 (all at once), recv_bytes only. */
static void conn(void) {
  buf b = {.n = 0};
  add(&b, "\x00\x0a\x00", 3);
  frame(&b, "hello", 5);
  frame(&b, "", 0);
  frame(&b, "\x00\x01\x02", 3);
  put("conn", "frames-all-at-once", b.b, b.n);

  /* recv (decoding), chunks of 3 bytes, max 1000 */
  b.n = 0;
  add(&b, "\x06\x02\x55", 3);
  frame_obj(&b, mproc_obj_int(42));
  frame_obj(&b, list_of(2, mproc_obj_str("x"), mproc_obj_bytes("y", 1)));
  frame(&b, "\xc1", 1); /* EPROTO, consumed */
  frame_obj(&b, mproc_obj_none());
  put("conn", "values-chunked", b.b, b.n);

  /* polls and waits between receives, 1-byte chunks */
  b.n = 0;
  add(&b, "\x04\x00\xe4", 3);
  frame(&b, "0123456789abcdef", 16);
  frame(&b, "z", 1);
  put("conn", "poll-wait-bytewise", b.b, b.n);

  /* above max (16): EMSGSIZE, then EBROKEN */
  b.n = 0;
  add(&b, "\x04\x0a\x00", 3);
  frame(&b, "ok", 2);
  frame(&b, "0123456789abcdefg", 17);
  put("conn", "above-max", b.b, b.n);

  /* the long header: 0xffffffff and an 8-byte length */
  b.n = 0;
  add(&b, "\x05\x04\x00", 3);
  add(&b, "\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x03" "abc", 15);
  add(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12);
  put("conn", "long-header", b.b, b.n);

  /* the stream ends inside a header, inside a body (one-way pipe) */
  b.n = 0;
  add(&b, "\x80\x01\x00", 3);
  frame(&b, "a", 1);
  add(&b, "\x00\x00", 2);
  put("conn", "cut-in-header", b.b, b.n);
  b.n = 0;
  add(&b, "\x87\x05\x55", 3);
  add(&b, "\x00\x00\x00\x09" "abc", 7);
  put("conn", "cut-in-body", b.b, b.n);

  /* a body above the read-ahead buffer, default max, 4096-byte chunks */
  b.n = 0;
  add(&b, "\x00\x09\x00", 3);
  static unsigned char big[6000];
  memset(big, 'q', sizeof big);
  frame(&b, big, sizeof big);
  put("conn", "big-body", b.b, b.n);
}

/* ---- manager: byte 0, then chunks (length byte, frame) ---- */

static void req(buf *b, int op, int64_t id, mproc_obj *a, mproc_obj *c,
                mproc_obj *d) {
  mproc_obj *r = list_of(2, mproc_obj_int(op), mproc_obj_int(id));
  mproc_obj *args[3] = {a, c, d};
  for (int i = 0; i < 3 && args[i] != NULL; i++)
    mproc_obj_list_append(r, args[i]);
  buf e = {.n = 0};
  add_encoded(&e, r);
  if (e.n >= 0xf0) {
    fprintf(stderr, "gen-seeds: request too long\n");
    exit(1);
  }
  add_byte(b, (unsigned char)e.n);
  add(b, e.b, e.n);
}

static mproc_obj *I(int64_t i) { return mproc_obj_int(i); }
static mproc_obj *F(double f) { return mproc_obj_float(f); }
static mproc_obj *S(const char *s) { return mproc_obj_str(s); }

static void put_mgr(const char *name, const void *p, size_t n) {
  put("manager", name, p, n);
  put("manager-inproc", name, p, n);
}

static void manager(void) {
  buf b = {.n = 0};
  /* Objects 1..7 in kind order, then a dict session. */
  add_byte(&b, 0);
  req(&b, OP_CREATE, 0, I(K_DICT), NULL, NULL);
  req(&b, OP_CREATE, 0, I(K_LIST), NULL, NULL);
  req(&b, OP_CREATE, 0, I(K_NS), NULL, NULL);
  req(&b, OP_CREATE, 0, I(K_QUEUE), I(2), NULL);
  req(&b, OP_CREATE, 0, I(K_LOCK), NULL, NULL);
  req(&b, OP_CREATE, 0, I(K_EVENT), NULL, NULL);
  req(&b, OP_CREATE, 0, I(K_VALUE), S("init"), NULL);
  buf all = b; /* every kind created: the start of each session below */
  req(&b, OP_DICT_SET, 1, S("k"), I(1), NULL);
  req(&b, OP_DICT_SET, 1, I(5), list_of(1, S("v")), NULL);
  req(&b, OP_DICT_GET, 1, S("k"), mproc_obj_bool(false), mproc_obj_none());
  req(&b, OP_DICT_GET, 1, S("nope"), mproc_obj_bool(true), I(9));
  req(&b, OP_DICT_CONTAINS, 1, I(5), NULL, NULL);
  req(&b, OP_DICT_LEN, 1, NULL, NULL, NULL);
  req(&b, OP_DICT_KEYS, 1, NULL, NULL, NULL);
  req(&b, OP_DICT_ITEMS, 1, NULL, NULL, NULL);
  req(&b, OP_DICT_DEL, 1, S("k"), NULL, NULL);
  req(&b, OP_DICT_COPY, 1, NULL, NULL, NULL);
  put_mgr("dict", b.b, b.n);

  b = all;
  req(&b, OP_LIST_APPEND, 2, S("a"), NULL, NULL);
  req(&b, OP_LIST_EXTEND, 2, list_of(2, I(1), F(2.5)), NULL, NULL);
  req(&b, OP_LIST_GET, 2, I(-1), NULL, NULL);
  req(&b, OP_LIST_SET, 2, I(0), S("b"), NULL);
  req(&b, OP_LIST_POP, 2, I(1), NULL, NULL);
  req(&b, OP_LIST_LEN, 2, NULL, NULL, NULL);
  req(&b, OP_LIST_COPY, 2, NULL, NULL, NULL);
  req(&b, OP_LIST_GET, 2, I(99), NULL, NULL);
  req(&b, OP_NS_SET, 3, S("attr"), I(3), NULL);
  req(&b, OP_NS_GET, 3, S("attr"), NULL, NULL);
  req(&b, OP_NS_DEL, 3, S("attr"), NULL, NULL);
  req(&b, OP_NS_GET, 3, S("attr"), NULL, NULL);
  put_mgr("list-namespace", b.b, b.n);

  b = all;
  req(&b, OP_Q_PUT, 4, S("one"), F(0), NULL);
  req(&b, OP_Q_PUT, 4, S("two"), F(0), NULL);
  req(&b, OP_Q_PUT, 4, S("three"), F(0), NULL);     /* full: EFULL */
  req(&b, OP_Q_PUT, 4, S("parked"), F(0.01), NULL); /* parks */
  req(&b, OP_Q_QSIZE, 4, NULL, NULL, NULL);
  req(&b, OP_Q_GET, 4, F(0), NULL, NULL);
  req(&b, OP_Q_GET, 4, F(0), NULL, NULL);
  req(&b, OP_Q_GET, 4, F(0), NULL, NULL);
  req(&b, OP_Q_GET, 4, F(0.01), NULL, NULL); /* parks, then times out */
  put_mgr("queue", b.b, b.n);

  b = all;
  req(&b, OP_LOCK_ACQUIRE, 5, F(0), NULL, NULL);
  req(&b, OP_LOCK_ACQUIRE, 5, F(0), NULL, NULL); /* EAGAIN */
  req(&b, OP_LOCK_ACQUIRE, 5, F(0.005), NULL, NULL);
  req(&b, OP_LOCK_RELEASE, 5, NULL, NULL, NULL);
  req(&b, OP_LOCK_RELEASE, 5, NULL, NULL, NULL); /* ESTATE */
  req(&b, OP_EVENT_WAIT, 6, F(0.005), NULL, NULL);
  req(&b, OP_EVENT_IS_SET, 6, NULL, NULL, NULL);
  req(&b, OP_EVENT_SET, 6, NULL, NULL, NULL);
  req(&b, OP_EVENT_WAIT, 6, F(0), NULL, NULL);
  req(&b, OP_EVENT_CLEAR, 6, NULL, NULL, NULL);
  req(&b, OP_VALUE_SET, 7, mproc_obj_dict(), NULL, NULL);
  req(&b, OP_VALUE_GET, 7, NULL, NULL, NULL);
  req(&b, OP_LOCK_ACQUIRE, 5, F(0), NULL, NULL); /* held when it closes */
  put_mgr("lock-event-value", b.b, b.n);

  /* Errors the server answers, then one it hangs up on. */
  b = all;
  req(&b, OP_DICT_SET, 2, S("k"), I(1), NULL);   /* wrong kind */
  req(&b, OP_DICT_SET, 1, F(1.0), I(1), NULL);   /* bad key */
  req(&b, OP_Q_GET, 4, F(NAN), NULL, NULL);      /* bad timeout */
  req(&b, OP_CREATE, 0, I(99), NULL, NULL);      /* bad kind */
  req(&b, OP_LIST_EXTEND, 2, I(1), NULL, NULL);  /* not a list */
  add(&b, "\x01\xc0", 2);                        /* not a request */
  put_mgr("errors", b.b, b.n);

  /* An oversized announcement after the handshake (a raw chunk). */
  b = all;
  add(&b, "\xf3\x7f\xff\xff\xff", 5);
  put_mgr("oversized", b.b, b.n);

  /* Raw bytes before and instead of each handshake step. */
  put_mgr("raw-at-once", "\x01" "garbage", 8);
  put_mgr("raw-digest", "\x03\x00\x00\x00\x20" "0123456789abcdef0123456789abcdef",
          37);
  put_mgr("raw-challenge",
          "\x05\x00\x00\x00\x2b#CHALLENGE#0123456789abcdef0123456789abcdef",
          48);
  buf r = {.n = 0};
  add_byte(&r, 0x07);
  frame_obj(&r, list_of(3, I(OP_CREATE), I(0), I(K_LIST)));
  add(&r, "\x00\x00\x00\x02\x92", 5); /* cut short */
  put_mgr("raw-requests", r.b, r.n);
}

/* ---- ops: header, then (a, b) pairs ---- */

enum {
  O_Q_PUT, O_Q_GET, O_Q_SIZE,
  O_PIPE_SEND, O_PIPE_RECV, O_PIPE_POLL,
  O_LOCK_ACQ, O_LOCK_REL, O_RLOCK_ACQ, O_RLOCK_REL,
  O_SEM_ACQ, O_SEM_REL, O_BSEM_ACQ, O_BSEM_REL,
  O_EV_SET, O_EV_CLEAR, O_EV_WAIT,
  O_BAR_WAIT, O_BAR_RESET,
  O_VAL_INC
};

static void op(buf *b, int proc, int code, int arg) {
  add_byte(b, (unsigned char)(code * 3 + proc));
  add_byte(b, (unsigned char)arg);
}

static void ops(void) {
  buf b = {.n = 0};
  /* One process: every operation once. */
  add(&b, "\x00\x00\x05", 3);
  for (int code = 0; code <= O_VAL_INC; code++)
    op(&b, 0, code, 8);
  for (int code = 0; code <= O_VAL_INC; code++)
    op(&b, 0, code, 2);
  put("ops", "one-process", b.b, b.n);

  /* A producer and a consumer on a queue of maxsize 2. */
  b.n = 0;
  add(&b, "\x01\x02\x00", 3);
  for (int i = 0; i < 6; i++) {
    op(&b, 0, O_Q_PUT, 2 + 4 * i);
    op(&b, 1, O_Q_GET, 3);
  }
  op(&b, 0, O_Q_SIZE, 0);
  put("ops", "queue-two-processes", b.b, b.n);

  /* Pipes both ways, with polls. */
  b.n = 0;
  add(&b, "\x01\x00\x00", 3);
  for (int i = 0; i < 5; i++) {
    op(&b, 0, O_PIPE_SEND, 1 + 8 * i);
    op(&b, 1, O_PIPE_SEND, 0 + 4 * i);
    op(&b, 1, O_PIPE_RECV, 0 | (2 << 2));
    op(&b, 0, O_PIPE_POLL, 1 | (3 << 2));
  }
  put("ops", "pipes", b.b, b.n);

  /* Three processes: locks, semaphores, value. */
  b.n = 0;
  add(&b, "\x02\x00\x0a", 3);
  for (int p = 0; p < 3; p++) {
    op(&b, p, O_LOCK_ACQ, 3);
    op(&b, p, O_VAL_INC, 3);
    op(&b, p, O_LOCK_REL, 0);
    op(&b, p, O_RLOCK_ACQ, 2);
    op(&b, p, O_RLOCK_ACQ, 2);
    op(&b, p, O_RLOCK_REL, 0);
    op(&b, p, O_RLOCK_REL, 0);
    op(&b, p, O_SEM_ACQ, 3);
    op(&b, p, O_BSEM_REL, 0);
    op(&b, p, O_BSEM_ACQ, 2);
    op(&b, p, O_SEM_REL, 0);
  }
  put("ops", "locks-three-processes", b.b, b.n);

  /* Barrier and event across three processes. */
  b.n = 0;
  add(&b, "\x02\x00\x00", 3);
  for (int p = 0; p < 3; p++) {
    op(&b, p, O_BAR_WAIT, 3);
    op(&b, p, O_EV_WAIT, 3);
  }
  op(&b, 1, O_EV_SET, 0);
  op(&b, 2, O_BAR_RESET, 0);
  for (int p = 0; p < 3; p++)
    op(&b, p, O_BAR_WAIT, 3);
  op(&b, 0, O_BAR_RESET, 1);
  op(&b, 0, O_EV_CLEAR, 0);
  put("ops", "barrier-event", b.b, b.n);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen-seeds CORPUS_DIR\n");
    return 2;
  }
  root = argv[1];
  mkdir(root, 0755);
  codec();
  conn();
  manager();
  ops();
  return 0;
}

/* Conformance: Pipe and Connection (duplex and one-way ends, values and raw
 * messages, boundaries, timeouts, end of file, wait over several
 * connections, hostile or vanished peers, signals). */
#define _GNU_SOURCE
#define MPT_SUITE "pipe"
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

static void new_pipe(mproc_conn **a, mproc_conn **b, bool one_way,
                     size_t max_message)
{
  mproc_pipe_options o = {.one_way = one_way, .max_message = max_message};
  MPT_OK(mproc_pipe(a, b, &o));
  ck_assert(mproc_conn_fileno(*a) >= 0 && mproc_conn_fileno(*b) >= 0);
}

/* A byte pattern that differs by position and message. */
static unsigned char pattern_byte(size_t i, unsigned seed)
{
  return (unsigned char)((i * 131u) ^ (i >> 11) ^ (seed * 29u));
}

static unsigned char *pattern(size_t n, unsigned seed)
{
  unsigned char *b = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(b);
  for (size_t i = 0; i < n; i++)
    b[i] = pattern_byte(i, seed);
  return b;
}

/* Index of the first byte that breaks the pattern, or n. */
static size_t pattern_mismatch(const unsigned char *b, size_t n,
                               unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern_byte(i, seed))
      return i;
  return n;
}

static int write_all(int fd, const void *buf, size_t n)
{
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return MPROC_ESYS;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* The bytes one send_bytes(msg, len) puts on the wire, whatever the
 * implementation's framing: sent through a scratch pipe and read back raw
 * from the other end's descriptor. */
static unsigned char *capture_frame(const void *msg, size_t len,
                                    size_t *flen)
{
  mproc_conn *x1, *x2;
  size_t cap = len + 4096, n = 0;
  unsigned char *f = malloc(cap);
  int fd;
  ck_assert_ptr_nonnull(f);
  new_pipe(&x1, &x2, false, 0);
  MPT_OK(mproc_conn_send_bytes(x2, msg, len));
  fd = mproc_conn_fileno(x1);
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t k;
    if (poll(&p, 1, 0) <= 0)
      break;
    k = read(fd, f + n, cap - n);
    if (k <= 0)
      break;
    n += (size_t)k;
    ck_assert_msg(n < cap, "a frame of %zu bytes took %zu bytes or more",
                  len, cap);
  }
  ck_assert_msg(n > len, "the frame of a %zu-byte message was %zu bytes",
                len, n);
  mproc_conn_free(x1);
  mproc_conn_free(x2);
  *flen = n;
  return f;
}

static mproc_obj *list123(void)
{
  mproc_obj *l = mproc_obj_list();
  for (int i = 1; i <= 3; i++)
    MPT_OK(mproc_obj_list_append(l, mproc_obj_int(i)));
  return l;
}

static void expect_repr(const mproc_obj *o, const char *want)
{
  char *got = mproc_obj_repr(o);
  ck_assert_msg(got != NULL && strcmp(got, want) == 0,
                "received <%s>, expected <%s>", got ? got : "(NULL)", want);
  free(got);
}

static bool repr_is(const mproc_obj *o, const char *want)
{
  char *got = mproc_obj_repr(o);
  bool same = got != NULL && strcmp(got, want) == 0;
  free(got);
  return same;
}

/* ---- ends and directions ---- */

MPT_TEST(pipe_duplex_both_ends_send_and_receive, "EX-000-05",
         "Both ends of a duplex pipe send and receive: values sent on one "
         "end arrive on the other in order, in both directions, in one "
         "process and between processes.")
{
  mproc_conn *a, *b;
  mproc_obj *o, *out;
  new_pipe(&a, &b, false, 0);
  for (int round = 0; round < 2; round++) {
    mproc_conn *from = round ? b : a, *to = round ? a : b;
    o = mproc_obj_str("Hello from sender");
    MPT_OK(mproc_conn_send(from, o));
    mproc_obj_free(o);
    o = list123();
    MPT_OK(mproc_conn_send(from, o));
    mproc_obj_free(o);
    MPT_OK(mproc_conn_recv(to, &out, mpt_scale(5)));
    expect_repr(out, "'Hello from sender'");
    mproc_obj_free(out);
    MPT_OK(mproc_conn_recv(to, &out, mpt_scale(5)));
    expect_repr(out, "[1, 2, 3]");
    mproc_obj_free(out);
  }
  mproc_conn_free(a);
  mproc_conn_free(b);
}

struct echo_arg {
  mproc_conn *mine, *theirs;
};

/* Child: sends back every value it receives, until None. */
static int echo(void *p)
{
  struct echo_arg *a = p;
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  for (;;) {
    mproc_obj *o;
    MPT_CHILD_OK(mproc_conn_recv(a->mine, &o, mpt_scale(30)));
    MPT_CHILD_OK(mproc_conn_send(a->mine, o));
    if (mproc_obj_type_of(o) == MPROC_OBJ_NONE) {
      mproc_obj_free(o);
      return 0;
    }
    mproc_obj_free(o);
  }
}

MPT_TEST(pipe_values_of_every_type_cross_processes_unchanged, "EX-000-05 EX-002-05",
         "A child echoing values back over a duplex pipe returns each value "
         "of every type (nested ones, empty str and bytes, large str) equal "
         "to what was sent, in order.")
{
  struct echo_arg a;
  mproc_process p;
  mproc_obj *values[12], *d, *big;
  char *text = malloc(300001);
  size_t n = 0;

  memset(text, 'x', 300000);
  text[300000] = '\0';
  big = mproc_obj_str(text);
  free(text);
  d = mproc_obj_dict();
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_str("a"), mproc_obj_int(1)));
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_int(2), list123()));
  values[n++] = mproc_obj_int(0);
  values[n++] = mproc_obj_int(INT64_MIN);
  values[n++] = mproc_obj_bool(true);
  values[n++] = mproc_obj_float(-1.25);
  values[n++] = mproc_obj_str("item_3");
  values[n++] = mproc_obj_bytes("\0\xff", 2);
  values[n++] = mproc_obj_bytes("", 0);
  values[n++] = list123();
  values[n++] = d;
  values[n++] = big;
  values[n++] = mproc_obj_str("");
  values[n++] = mproc_obj_none(); /* ends the echo */

  new_pipe(&a.theirs, &a.mine, false, 0);
  start(&p, echo, &a);
  MPT_OK(mproc_conn_close(a.mine));
  for (size_t i = 0; i < n; i++) {
    mproc_obj *out;
    char *r;
    int rc;
    ck_assert_ptr_nonnull(values[i]);
    MPT_OK(mproc_conn_send(a.theirs, values[i]));
    rc = mproc_conn_recv(a.theirs, &out, mpt_scale(30));
    if (rc != 0)
      mpt_join_all(&p, 1); /* reports the child's failure, if any */
    MPT_OK(rc);
    r = mproc_obj_repr(values[i]);
    ck_assert_msg(mproc_obj_equal(values[i], out), "value %zu (%.60s) came "
                  "back different", i, r);
    free(r);
    mproc_obj_free(out);
    mproc_obj_free(values[i]);
  }
  mpt_join_all(&p, 1);
  mproc_conn_free(a.mine);
  mproc_conn_free(a.theirs);
}

struct oneway_arg {
  mproc_conn *r, *w;
};

static int oneway_child(void *p)
{
  struct oneway_arg *a = p;
  mproc_obj *o = mproc_obj_str("from the child"), *none = NULL;
  MPT_CHILD_OK(mproc_conn_close(a->r));
  MPT_CHILD_ERR(mproc_conn_recv(a->w, &none, 0), MPROC_ENOTSUP);
  MPT_CHILD_OK(mproc_conn_send(a->w, o));
  mproc_obj_free(o);
  return 0;
}

MPT_TEST(pipe_one_way_first_end_receives_second_sends_else_enotsup, "EX-000-05",
         "In a one-way pipe the first end only receives and the second only "
         "sends: send on the first end and recv, recv_bytes or poll on the "
         "second give ENOTSUP; messages flow from the second to the first, "
         "also from a child.")
{
  struct oneway_arg a;
  mproc_process p;
  mproc_obj *o = mproc_obj_int(7), *out = NULL;
  void *buf = NULL;
  size_t len;

  new_pipe(&a.r, &a.w, true, 0);
  MPT_ERR(mproc_conn_send(a.r, o), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_send_bytes(a.r, "x", 1), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_recv(a.w, &out, 0), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_recv_bytes(a.w, &buf, &len, 0), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_poll(a.w, 0), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_recv(a.w, &out, mpt_scale(0.1)), MPROC_ENOTSUP);
  MPT_ERR(mproc_conn_poll(a.r, 0), MPROC_EAGAIN); /* nothing was sent */

  MPT_OK(mproc_conn_send(a.w, o));
  MPT_OK(mproc_conn_send_bytes(a.w, "raw", 3));
  MPT_OK(mproc_conn_recv(a.r, &out, mpt_scale(5)));
  ck_assert(mproc_obj_equal(o, out));
  mproc_obj_free(out);
  MPT_OK(mproc_conn_recv_bytes(a.r, &buf, &len, mpt_scale(5)));
  ck_assert_uint_eq(len, 3);
  ck_assert(memcmp(buf, "raw", 3) == 0);
  free(buf);

  start(&p, oneway_child, &a);
  MPT_OK(mproc_conn_close(a.w));
  MPT_OK(mproc_conn_recv(a.r, &out, mpt_scale(30)));
  expect_repr(out, "'from the child'");
  mproc_obj_free(out);
  mpt_join_all(&p, 1);
  MPT_ERR(mproc_conn_recv(a.r, &out, mpt_scale(10)), MPROC_EEOF);
  mproc_obj_free(o);
  mproc_conn_free(a.r);
  mproc_conn_free(a.w);
}

/* ---- EX-000-05: sender and receiver processes ---- */

struct ex5_arg {
  mproc_conn *parent_conn, *child_conn;
};

static int ex5_sender(void *p)
{
  struct ex5_arg *a = p;
  mproc_obj *s = mproc_obj_str("Hello from sender"), *l = mproc_obj_list();
  for (int i = 1; i <= 3; i++)
    MPT_CHILD_OK(mproc_obj_list_append(l, mproc_obj_int(i)));
  MPT_CHILD_OK(mproc_conn_send(a->child_conn, s));
  MPT_CHILD_OK(mproc_conn_send(a->child_conn, l));
  MPT_CHILD_OK(mproc_conn_close(a->child_conn));
  mproc_obj_free(s);
  mproc_obj_free(l);
  return 0;
}

static int ex5_receiver(void *p)
{
  struct ex5_arg *a = p;
  mproc_obj *o;
  MPT_CHILD_OK(mproc_conn_recv(a->parent_conn, &o, mpt_scale(30)));
  MPT_CHILD_ASSERT(repr_is(o, "'Hello from sender'"));
  mproc_obj_free(o);
  MPT_CHILD_OK(mproc_conn_recv(a->parent_conn, &o, mpt_scale(30)));
  MPT_CHILD_ASSERT(repr_is(o, "[1, 2, 3]"));
  mproc_obj_free(o);
  MPT_CHILD_OK(mproc_conn_close(a->parent_conn));
  return 0;
}

MPT_TEST(pipe_sender_child_string_then_list_receiver_child_two_recvs, "EX-000-05",
         "A sender process sends 'Hello from sender' then [1, 2, 3] and "
         "closes; a receiver process's two recv calls return exactly those "
         "values in that order, and both exit 0.")
{
  struct ex5_arg a;
  mproc_process procs[2];
  new_pipe(&a.parent_conn, &a.child_conn, false, 0);
  start(&procs[0], ex5_sender, &a);
  start(&procs[1], ex5_receiver, &a);
  mpt_join_all(procs, 2);
  mproc_conn_free(a.parent_conn);
  mproc_conn_free(a.child_conn);
}

MPT_TEST(pipe_recv_after_peer_closed_everywhere_data_first_then_eeof, "EX-000-05 EX-002-05 EX-003-05",
         "Once every copy of the peer end is closed, recv first returns "
         "everything sent before ('Hello from sender', [1, 2, 3]), then "
         "EEOF, again on every later call; poll reports the end of file as "
         "readable.")
{
  for (int one_way = 0; one_way <= 1; one_way++) {
    struct ex5_arg a;
    mproc_process p;
    mproc_obj *o;
    void *buf;
    size_t len;
    /* A one-way pipe's receiving end is the first. */
    new_pipe(&a.parent_conn, &a.child_conn, one_way, 0);
    start(&p, ex5_sender, &a);
    MPT_OK(mproc_conn_close(a.child_conn));
    mpt_join_all(&p, 1);
    MPT_OK(mproc_conn_poll(a.parent_conn, 0));
    MPT_OK(mproc_conn_recv(a.parent_conn, &o, mpt_scale(5)));
    expect_repr(o, "'Hello from sender'");
    mproc_obj_free(o);
    MPT_OK(mproc_conn_recv(a.parent_conn, &o, mpt_scale(5)));
    expect_repr(o, "[1, 2, 3]");
    mproc_obj_free(o);
    MPT_OK(mproc_conn_poll(a.parent_conn, 0));
    MPT_ERR(mproc_conn_recv(a.parent_conn, &o, mpt_scale(5)), MPROC_EEOF);
    MPT_ERR(mproc_conn_recv(a.parent_conn, &o, 0), MPROC_EEOF);
    MPT_ERR(mproc_conn_recv_bytes(a.parent_conn, &buf, &len, MPROC_FOREVER),
            MPROC_EEOF);
    MPT_OK(mproc_conn_poll(a.parent_conn, mpt_scale(5)));
    mproc_conn_free(a.parent_conn);
    mproc_conn_free(a.child_conn);
  }
}

/* ---- EX-002-05 / EX-003-05: a receiver looping until end of file ---- */

enum copy_fate {
  PARENT_KEEPS,        /* the parent holds its copy during the receive */
  PARENT_CLOSES_AFTER, /* closes it after starting the receiver */
  PARENT_CLOSES_BEFORE /* closes it before starting the receiver */
};

struct eof_scenario {
  const char *label;
  enum copy_fate parent;
  bool receiver_closes_inherited; /* the receiver closes its copy first */
  bool swapped;                   /* EX-003-05: the first end sends */
};

struct eof_arg {
  mproc_conn *ends[2];
  const struct eof_scenario *sc;
  mproc_semaphore *parent_done; /* the parent did what it does to its copy */
  int64_t *got;                 /* [0] items received, [1] final error */
  double last_timeout;
};

static mproc_conn *sending_end(struct eof_arg *a)
{
  return a->ends[a->sc->swapped ? 0 : 1];
}

static mproc_conn *receiving_end(struct eof_arg *a)
{
  return a->ends[a->sc->swapped ? 1 : 0];
}

/* The documents' sender: five ints, then close. */
static int eof_sender(void *p)
{
  struct eof_arg *a = p;
  for (int i = 0; i < 5; i++) {
    mproc_obj *o = mproc_obj_int(i);
    MPT_CHILD_OK(mproc_conn_send(sending_end(a), o));
    mproc_obj_free(o);
  }
  MPT_CHILD_OK(mproc_conn_close(sending_end(a)));
  return 0;
}

/* The documents' receiver: recv until end of file (bounded here). */
static int eof_receiver(void *p)
{
  struct eof_arg *a = p;
  mproc_obj *o;
  int rc;
  if (a->sc->receiver_closes_inherited)
    MPT_CHILD_OK(mproc_conn_close(sending_end(a)));
  MPT_CHILD_OK(mproc_semaphore_acquire(a->parent_done, mpt_scale(30)));
  for (;;) {
    int64_t v;
    rc = mproc_conn_recv(receiving_end(a), &o,
                         a->got[0] < 5 ? mpt_scale(30) : a->last_timeout);
    if (rc != 0)
      break;
    MPT_CHILD_OK(mproc_obj_get_int(o, &v));
    MPT_CHILD_EQ(v, a->got[0]);
    mproc_obj_free(o);
    a->got[0]++;
  }
  a->got[1] = rc;
  return 0;
}

static void run_eof_scenario(const struct eof_scenario *sc)
{
  struct eof_arg a;
  mproc_array *arr;
  mproc_process procs[2];
  bool eof_expected = sc->parent != PARENT_KEEPS &&
                      (sc->parent == PARENT_CLOSES_BEFORE ||
                       sc->receiver_closes_inherited);

  a.sc = sc;
  a.got = mpt_scratch(&arr, 2);
  /* Where no end of file can come, the receiver's last recv is bounded by
   * a short limit: its ETIMEDOUT is the documents' hang. */
  a.last_timeout = eof_expected ? mpt_scale(10) : 0.3;
  MPT_OK(mproc_semaphore_new(&a.parent_done, 0));
  new_pipe(&a.ends[0], &a.ends[1], false, 0);
  start(&procs[0], eof_sender, &a);
  if (sc->parent == PARENT_CLOSES_BEFORE)
    MPT_OK(mproc_conn_close(sending_end(&a)));
  start(&procs[1], eof_receiver, &a);
  if (sc->parent == PARENT_CLOSES_AFTER)
    MPT_OK(mproc_conn_close(sending_end(&a)));
  MPT_OK(mproc_semaphore_release(a.parent_done));
  mpt_join_all(procs, 2);
  ck_assert_msg(a.got[0] == 5, "%s: the receiver got %lld of 5 items",
                sc->label, (long long)a.got[0]);
  ck_assert_msg(a.got[1] == (eof_expected ? MPROC_EEOF : MPROC_ETIMEDOUT),
                "%s: after the 5 items recv returned %s, expected %s",
                sc->label, mproc_err_name((int)a.got[1]),
                eof_expected ? "EEOF" : "ETIMEDOUT (the documents' hang)");
  mproc_semaphore_free(a.parent_done);
  mproc_conn_free(a.ends[0]);
  mproc_conn_free(a.ends[1]);
  mproc_array_free(arr);
}

static const struct eof_scenario hanging[] = {
    {"EX-002-05 as written: parent and receiver keep copies", PARENT_KEEPS,
     false, false},
    {"EX-003-05 as written (first end sends)", PARENT_KEEPS, false, true},
    {"parent closes after starting the receiver, receiver keeps its copy",
     PARENT_CLOSES_AFTER, false, false},
    {"receiver closes its copy, parent keeps its own", PARENT_KEEPS, true,
     false},
    {"first end sends, receiver closes its copy, parent keeps its own",
     PARENT_KEEPS, true, true},
};

static const struct eof_scenario fixed[] = {
    {"parent closes before starting the receiver", PARENT_CLOSES_BEFORE,
     false, false},
    {"first end sends, parent closes before starting the receiver",
     PARENT_CLOSES_BEFORE, false, true},
    {"receiver closes its inherited copy, parent closes after start",
     PARENT_CLOSES_AFTER, true, false},
    {"first end sends, receiver and parent close their copies",
     PARENT_CLOSES_AFTER, true, true},
};

MPT_TEST(pipe_receiver_waiting_for_eof_blocks_while_a_sender_copy_is_open, "EX-002-05 EX-003-05",
         "A receiver that loops until end of file gets the 5 ints and then "
         "blocks (bounded here: ETIMEDOUT) as long as any copy of the "
         "sending end is open, the parent's or its own inherited one: the "
         "documents' hang.")
{
  for (size_t i = 0; i < sizeof hanging / sizeof hanging[0]; i++)
    run_eof_scenario(&hanging[i]);
}

MPT_TEST(pipe_receiver_gets_eeof_once_every_sender_copy_is_closed, "EX-002-05 EX-003-05",
         "When the parent closes its copy of the sending end (before "
         "starting the receiver, or after it if the receiver closes its "
         "inherited copy), the receiver gets the 5 ints and then EEOF.")
{
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    run_eof_scenario(&fixed[i]);
}

/* ---- raw messages and boundaries ---- */

MPT_TEST(pipe_empty_message_is_a_message, "EX-000-05",
         "send_bytes of 0 bytes sends a message: poll sees it, recv_bytes "
         "returns it with length 0 and a non-NULL buffer, and empty "
         "messages between others keep their place.")
{
  mproc_conn *a, *b;
  static const char *msgs[] = {"", "", "a", "", "bc", ""};
  enum { N = sizeof msgs / sizeof msgs[0] };
  new_pipe(&a, &b, false, 0);
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_EAGAIN);
  MPT_OK(mproc_conn_send_bytes(b, "", 0));
  MPT_OK(mproc_conn_poll(a, mpt_scale(5)));
  for (int i = 1; i < N; i++)
    MPT_OK(mproc_conn_send_bytes(b, msgs[i], strlen(msgs[i])));
  for (int i = 0; i < N; i++) {
    void *buf = NULL;
    size_t len = 99;
    MPT_OK(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)));
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, strlen(msgs[i]));
    ck_assert(memcmp(buf, msgs[i], len) == 0);
    free(buf);
  }
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_EAGAIN);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

struct big_arg {
  mproc_conn *mine, *theirs;
  size_t size;
  unsigned seed;
};

static int send_big(void *p)
{
  struct big_arg *a = p;
  unsigned char *buf = malloc(a->size);
  MPT_CHILD_ASSERT(buf != NULL);
  for (size_t i = 0; i < a->size; i++)
    buf[i] = pattern_byte(i, a->seed);
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  MPT_CHILD_OK(mproc_conn_send_bytes(a->mine, buf, a->size));
  free(buf);
  return 0;
}

MPT_TEST(pipe_64mib_message_from_child_arrives_intact, "EX-000-05",
         "A 64 MiB message (far larger than any pipe buffer) sent by a child "
         "arrives whole, every byte in place, in one recv_bytes.")
{
  struct big_arg a = {.size = (size_t)64 << 20, .seed = 5};
  mproc_process p;
  void *buf;
  size_t len, bad;
  new_pipe(&a.theirs, &a.mine, false, 0);
  start(&p, send_big, &a);
  MPT_OK(mproc_conn_close(a.mine));
  MPT_OK(mproc_conn_recv_bytes(a.theirs, &buf, &len, mpt_scale(30)));
  ck_assert_uint_eq(len, a.size);
  bad = pattern_mismatch(buf, len, a.seed);
  ck_assert_msg(bad == len, "byte %zu of the message is wrong", bad);
  free(buf);
  mpt_join_all(&p, 1);
  MPT_ERR(mproc_conn_recv_bytes(a.theirs, &buf, &len, mpt_scale(10)),
          MPROC_EEOF);
  mproc_conn_free(a.mine);
  mproc_conn_free(a.theirs);
}

static const size_t boundary_sizes[] = {
    1, 0, 100, 4095, 4096, 4097, 65535, 65536, 65537, 1000000, 0, 3,
    (size_t)2 << 20, 7};

struct burst_arg {
  mproc_conn *mine, *theirs;
};

static int send_burst(void *p)
{
  struct burst_arg *a = p;
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  for (size_t i = 0; i < sizeof boundary_sizes / sizeof boundary_sizes[0];
       i++) {
    unsigned char *b = malloc(boundary_sizes[i] + 1);
    for (size_t k = 0; k < boundary_sizes[i]; k++)
      b[k] = pattern_byte(k, (unsigned)i);
    MPT_CHILD_OK(mproc_conn_send_bytes(a->mine, b, boundary_sizes[i]));
    free(b);
  }
  for (int i = 0; i < 2000; i++) {
    unsigned char c = (unsigned char)i;
    MPT_CHILD_OK(mproc_conn_send_bytes(a->mine, &c, 1));
  }
  return 0;
}

MPT_TEST(pipe_message_boundaries_kept, "EX-000-05 EX-002-05",
         "Messages of many sizes (0 bytes to 2 MiB) followed by 2000 one-byte "
         "messages, sent back to back by a child, come out as exactly as "
         "many recv_bytes results, each with its own length and content.")
{
  struct burst_arg a;
  mproc_process p;
  void *buf;
  size_t len;
  new_pipe(&a.theirs, &a.mine, false, 0);
  start(&p, send_burst, &a);
  MPT_OK(mproc_conn_close(a.mine));
  for (size_t i = 0; i < sizeof boundary_sizes / sizeof boundary_sizes[0];
       i++) {
    MPT_OK(mproc_conn_recv_bytes(a.theirs, &buf, &len, mpt_scale(30)));
    ck_assert_msg(len == boundary_sizes[i], "message %zu: %zu bytes, "
                  "expected %zu", i, len, boundary_sizes[i]);
    ck_assert_msg(pattern_mismatch(buf, len, (unsigned)i) == len,
                  "message %zu: content differs", i);
    free(buf);
  }
  for (int i = 0; i < 2000; i++) {
    MPT_OK(mproc_conn_recv_bytes(a.theirs, &buf, &len, mpt_scale(30)));
    ck_assert_msg(len == 1 && *(unsigned char *)buf == (unsigned char)i,
                  "one-byte message %d: length %zu, byte %d", i, len,
                  len ? *(unsigned char *)buf : -1);
    free(buf);
  }
  mpt_join_all(&p, 1);
  MPT_ERR(mproc_conn_recv_bytes(a.theirs, &buf, &len, mpt_scale(10)),
          MPROC_EEOF);
  mproc_conn_free(a.mine);
  mproc_conn_free(a.theirs);
}

/* ---- poll, timeouts, partial messages ---- */

MPT_TEST(pipe_poll_times_out_and_does_not_consume, "EX-000-05",
         "poll on an empty end gives EAGAIN for timeout 0 or negative and "
         "ETIMEDOUT after a positive timeout (not sooner); once a message "
         "waits, poll returns 0 as often as asked and recv still gets it.")
{
  mproc_conn *a, *b;
  mproc_obj *o = mproc_obj_str("item_0"), *out;
  double t0;
  new_pipe(&a, &b, false, 0);
  t0 = mpt_now();
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_EAGAIN);
  MPT_ERR(mproc_conn_poll(a, -1), MPROC_EAGAIN);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
  t0 = mpt_now();
  MPT_ERR(mproc_conn_poll(a, 0.2), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_conn_poll(a, NAN), MPROC_EINVAL);

  MPT_OK(mproc_conn_send(b, o));
  MPT_OK(mproc_conn_poll(a, mpt_scale(5)));
  for (int i = 0; i < 3; i++)
    MPT_OK(mproc_conn_poll(a, 0));
  MPT_OK(mproc_conn_poll(a, MPROC_FOREVER));
  MPT_OK(mproc_conn_poll(a, MPROC_DEFAULT_TIMEOUT));
  MPT_OK(mproc_conn_recv(a, &out, 0));
  ck_assert(mproc_obj_equal(o, out));
  mproc_obj_free(out);
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_EAGAIN);
  mproc_obj_free(o);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

MPT_TEST(pipe_recv_timeout_keeps_partial_message_for_next_call, "EX-000-05",
         "recv on an empty end gives EAGAIN (timeout 0) or ETIMEDOUT (after "
         "the timeout); a message that has only partly arrived, cut at any "
         "byte, makes recv time out and is then received intact by the next "
         "call once the rest arrives.")
{
  mproc_conn *a, *b;
  mproc_obj *o = mproc_obj_str("Hello from sender"), *out;
  void *enc, *buf;
  size_t enclen, flen, len;
  unsigned char *frame;
  double t0;

  new_pipe(&a, &b, false, 0);
  MPT_ERR(mproc_conn_recv(a, &out, 0), MPROC_EAGAIN);
  MPT_ERR(mproc_conn_recv_bytes(a, &buf, &len, -5), MPROC_EAGAIN);
  t0 = mpt_now();
  MPT_ERR(mproc_conn_recv(a, &out, 0.2), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_conn_recv(a, &out, NAN), MPROC_EINVAL);

  MPT_OK(mproc_obj_encode(o, &enc, &enclen));
  frame = capture_frame(enc, enclen, &flen);
  for (size_t cut = 1; cut < flen; cut++) {
    MPT_OK(write_all(mproc_conn_fileno(b), frame, cut));
    MPT_ERR(mproc_conn_recv(a, &out, 0), MPROC_EAGAIN);
    if (cut == flen / 2) {
      t0 = mpt_now();
      MPT_ERR(mproc_conn_recv(a, &out, 0.1), MPROC_ETIMEDOUT);
      MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.1, 0.1 + mpt_scale(2));
    }
    MPT_OK(write_all(mproc_conn_fileno(b), frame + cut, flen - cut));
    MPT_OK(mproc_conn_recv(a, &out, mpt_scale(5)));
    ck_assert_msg(mproc_obj_equal(o, out), "cut at byte %zu of %zu: the "
                  "message changed", cut, flen);
    mproc_obj_free(out);
  }
  MPT_ERR(mproc_conn_recv(a, &out, 0), MPROC_EAGAIN);
  free(frame);
  free(enc);
  mproc_obj_free(o);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

MPT_TEST(pipe_recv_with_short_timeouts_assembles_8mib_message, "EX-000-05",
         "Repeated recv_bytes calls with a 1 ms limit while a child sends "
         "an 8 MiB message time out until it is complete, and then return "
         "it intact: nothing taken by a call that timed out is lost.")
{
  struct big_arg a = {.size = (size_t)8 << 20, .seed = 11};
  mproc_process p;
  void *buf = NULL;
  size_t len = 0;
  int rc, timeouts = 0;
  double deadline;
  new_pipe(&a.theirs, &a.mine, false, 0);
  start(&p, send_big, &a);
  MPT_OK(mproc_conn_close(a.mine));
  deadline = mpt_now() + mpt_scale(30);
  while ((rc = mproc_conn_recv_bytes(a.theirs, &buf, &len, 0.001)) ==
             MPROC_ETIMEDOUT &&
         mpt_now() < deadline)
    timeouts++;
  MPT_OK(rc);
  ck_assert_uint_eq(len, a.size);
  ck_assert_msg(pattern_mismatch(buf, len, a.seed) == len,
                "byte %zu is wrong (after %d timeouts)",
                pattern_mismatch(buf, len, a.seed), timeouts);
  free(buf);
  mpt_join_all(&p, 1);
  mproc_conn_free(a.mine);
  mproc_conn_free(a.theirs);
}

MPT_TEST(pipe_poll_with_partial_message_times_out, "EX-000-05",
         "poll waits until recv would not block: with only part of a "
         "message arrived it times out (EAGAIN / ETIMEDOUT) and consumes "
         "nothing; once the rest arrives it returns 0 and recv gets the "
         "message.")
{
  mproc_conn *a, *b;
  unsigned char *msg = pattern(100, 3), *frame;
  size_t flen, len;
  void *buf;
  new_pipe(&a, &b, false, 0);
  frame = capture_frame(msg, 100, &flen);
  MPT_OK(write_all(mproc_conn_fileno(b), frame, flen - 50));
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_EAGAIN);
  MPT_ERR(mproc_conn_poll(a, 0.2), MPROC_ETIMEDOUT);
  MPT_OK(write_all(mproc_conn_fileno(b), frame + flen - 50, 50));
  MPT_OK(mproc_conn_poll(a, mpt_scale(5)));
  MPT_OK(mproc_conn_recv_bytes(a, &buf, &len, 0));
  ck_assert_uint_eq(len, 100);
  ck_assert(memcmp(buf, msg, 100) == 0);
  free(buf);
  free(frame);
  free(msg);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

MPT_TEST(pipe_wait_flags_a_connection_once_its_message_is_whole, "EX-000-05",
         "With only part of a message arrived, wait times out (EAGAIN / "
         "ETIMEDOUT) and flags nothing; once the rest arrives it flags the "
         "connection.  While a child sends an 8 MiB message, wait returns 0 "
         "only once the whole message is there: recv_bytes without waiting "
         "then returns it intact.")
{
  struct big_arg a = {.size = (size_t)8 << 20, .seed = 13};
  mproc_process p;
  bool ready = false;
  void *buf = NULL;
  size_t len = 0;
  mproc_conn *r, *w;
  unsigned char *msg = pattern(100, 5), *frame;
  size_t flen;

  /* Part of a message, then the rest: written here, so the order is ours. */
  new_pipe(&r, &w, false, 0);
  frame = capture_frame(msg, 100, &flen);
  MPT_OK(write_all(mproc_conn_fileno(w), frame, flen - 50));
  MPT_ERR(mproc_conn_wait(&r, 1, 0, &ready), MPROC_EAGAIN);
  ck_assert(!ready);
  MPT_ERR(mproc_conn_wait(&r, 1, 0.2, &ready), MPROC_ETIMEDOUT);
  ck_assert(!ready);
  MPT_OK(write_all(mproc_conn_fileno(w), frame + flen - 50, 50));
  MPT_OK(mproc_conn_wait(&r, 1, mpt_scale(5), &ready));
  ck_assert(ready);
  MPT_OK(mproc_conn_recv_bytes(r, &buf, &len, 0));
  ck_assert_uint_eq(len, 100);
  ck_assert(memcmp(buf, msg, 100) == 0);
  free(buf);
  free(frame);
  free(msg);
  mproc_conn_free(r);
  mproc_conn_free(w);
  buf = NULL;
  ready = false;

  new_pipe(&a.theirs, &a.mine, false, 0);
  start(&p, send_big, &a);
  MPT_OK(mproc_conn_close(a.mine));
  MPT_OK(mproc_conn_wait(&a.theirs, 1, mpt_scale(30), &ready));
  ck_assert(ready);
  MPT_OK(mproc_conn_recv_bytes(a.theirs, &buf, &len, 0));
  ck_assert_uint_eq(len, a.size);
  ck_assert_msg(pattern_mismatch(buf, len, a.seed) == len,
                "byte %zu is wrong", pattern_mismatch(buf, len, a.seed));
  free(buf);
  mpt_join_all(&p, 1);
  mproc_conn_free(a.mine);
  mproc_conn_free(a.theirs);
}

/* ---- closing ---- */

MPT_TEST(pipe_closed_end_eclosed, "EX-000-05",
         "After close, every operation on that end gives ECLOSED (a second "
         "close too), fileno gives -1, and wait over it gives ECLOSED; "
         "free after close is fine.")
{
  mproc_conn *a, *b;
  mproc_obj *o = mproc_obj_none(), *out;
  void *buf;
  size_t len;
  bool ready[2];
  mproc_conn *both[2];
  new_pipe(&a, &b, false, 0);
  both[0] = a;
  both[1] = b;
  MPT_OK(mproc_conn_close(a));
  MPT_ERR(mproc_conn_close(a), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_send(a, o), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_send_bytes(a, "x", 1), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_recv(a, &out, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_recv(a, &out, mpt_scale(1)), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_recv_bytes(a, &buf, &len, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_poll(a, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_set_max_message(a, 100), MPROC_ECLOSED);
  MPT_ERR(mproc_conn_wait(both, 2, 0, ready), MPROC_ECLOSED);
  ck_assert_int_eq(mproc_conn_fileno(a), -1);
  mproc_conn_free(a);
  MPT_ERR(mproc_conn_recv(b, &out, mpt_scale(5)), MPROC_EEOF);
  mproc_conn_free(b);
  mproc_obj_free(o);
}

MPT_TEST(pipe_null_arguments_einval, "EX-000-05",
         "pipe, send, send_bytes, recv, recv_bytes, poll, wait and "
         "set_max_message given NULL where an object or output is required "
         "fail with EINVAL; fileno(NULL) is -1 and free(NULL) is ignored.")
{
  mproc_conn *a, *b;
  mproc_obj *o = mproc_obj_none(), *out;
  void *buf;
  size_t len;
  bool ready[1];
  mproc_conn *list[1] = {NULL};
  MPT_ERR(mproc_pipe(NULL, &b, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pipe(&a, NULL, NULL), MPROC_EINVAL);
  MPT_OK(mproc_pipe(&a, &b, NULL)); /* NULL options: duplex */
  MPT_ERR(mproc_conn_send(NULL, o), MPROC_EINVAL);
  MPT_ERR(mproc_conn_send(a, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_conn_send_bytes(NULL, "x", 1), MPROC_EINVAL);
  MPT_ERR(mproc_conn_send_bytes(a, NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_conn_recv(NULL, &out, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_recv(a, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_recv_bytes(NULL, &buf, &len, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_recv_bytes(a, NULL, &len, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_recv_bytes(a, &buf, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_poll(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_conn_set_max_message(NULL, 10), MPROC_EINVAL);
  MPT_ERR(mproc_conn_close(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_conn_wait(NULL, 1, 0, ready), MPROC_EINVAL);
  MPT_ERR(mproc_conn_wait(list, 1, 0, ready), MPROC_EINVAL);
  list[0] = a;
  MPT_ERR(mproc_conn_wait(list, 0, 0, ready), MPROC_EINVAL);
  MPT_ERR(mproc_conn_wait(list, 1, NAN, ready), MPROC_EINVAL);
  ck_assert_int_eq(mproc_conn_fileno(NULL), -1);
  /* Both ends still work. */
  MPT_OK(mproc_conn_send(b, o));
  MPT_OK(mproc_conn_recv(a, &out, mpt_scale(5)));
  ck_assert(mproc_obj_equal(o, out));
  mproc_obj_free(out);
  mproc_conn_free(NULL);
  mproc_conn_free(a);
  mproc_conn_free(b);
  mproc_obj_free(o);
}

/* ---- wait over several connections ---- */

struct late_arg {
  mproc_conn *send_on;
  mproc_semaphore *go;
};

static int send_late(void *p)
{
  struct late_arg *a = p;
  mproc_obj *o = mproc_obj_str("late");
  MPT_CHILD_OK(mproc_semaphore_acquire(a->go, mpt_scale(30)));
  MPT_CHILD_OK(mproc_conn_send(a->send_on, o));
  mproc_obj_free(o);
  return 0;
}

MPT_TEST(pipe_wait_flags_each_ready_connection, "EX-000-05",
         "wait over several connections times out (EAGAIN for 0, ETIMEDOUT "
         "after a positive limit) while none is readable, returns 0 and "
         "flags exactly the readable ones (a message or end of file), "
         "consumes nothing, and wakes when a child sends on one of them.")
{
  enum { N = 3 };
  mproc_conn *r[N], *w[N];
  bool ready[N];
  mproc_obj *o = mproc_obj_int(1), *out;
  struct late_arg la;
  mproc_process p;
  double t0;

  for (int i = 0; i < N; i++)
    new_pipe(&r[i], &w[i], i == 2, 0);
  MPT_ERR(mproc_conn_wait(r, N, 0, ready), MPROC_EAGAIN);
  t0 = mpt_now();
  MPT_ERR(mproc_conn_wait(r, N, 0.2, ready), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));

  MPT_OK(mproc_conn_send(w[1], o));
  MPT_OK(mproc_conn_send(w[2], o));
  memset(ready, 0, sizeof ready);
  MPT_OK(mproc_conn_wait(r, N, mpt_scale(5), ready));
  ck_assert_msg(!ready[0] && ready[1] && ready[2], "ready flags %d %d %d, "
                "expected 0 1 1", ready[0], ready[1], ready[2]);
  memset(ready, 1, sizeof ready);
  MPT_OK(mproc_conn_wait(r, N, 0, ready));
  ck_assert_msg(!ready[0] && ready[1] && ready[2], "again: ready flags %d "
                "%d %d, expected 0 1 1", ready[0], ready[1], ready[2]);
  for (int i = 1; i < N; i++) {
    MPT_OK(mproc_conn_recv(r[i], &out, 0));
    mproc_obj_free(out);
  }
  MPT_ERR(mproc_conn_wait(r, N, 0, ready), MPROC_EAGAIN);

  /* A child sends on the first while the parent waits without limit. */
  la.send_on = w[0];
  MPT_OK(mproc_semaphore_new(&la.go, 0));
  start(&p, send_late, &la);
  MPT_OK(mproc_semaphore_release(la.go));
  memset(ready, 0, sizeof ready);
  MPT_OK(mproc_conn_wait(r, N, mpt_scale(30), ready));
  ck_assert_msg(ready[0] && !ready[1] && !ready[2], "after the child's "
                "send: ready flags %d %d %d, expected 1 0 0", ready[0],
                ready[1], ready[2]);
  MPT_OK(mproc_conn_recv(r[0], &out, 0));
  expect_repr(out, "'late'");
  mproc_obj_free(out);
  mpt_join_all(&p, 1);

  /* End of file counts as readable. */
  MPT_OK(mproc_conn_close(w[2]));
  memset(ready, 0, sizeof ready);
  MPT_OK(mproc_conn_wait(r, N, mpt_scale(5), ready));
  ck_assert_msg(!ready[0] && !ready[1] && ready[2], "after closing the "
                "third sender: ready flags %d %d %d, expected 0 0 1",
                ready[0], ready[1], ready[2]);
  MPT_ERR(mproc_conn_recv(r[2], &out, 0), MPROC_EEOF);

  mproc_semaphore_free(la.go);
  mproc_obj_free(o);
  for (int i = 0; i < N; i++) {
    mproc_conn_free(r[i]);
    mproc_conn_free(w[i]);
  }
}

/* ---- hostile peers ---- */

static const struct {
  const char *label;
  const char *bytes;
  size_t len;
} garbage[] = {
    {"an empty message", "", 0},
    {"0xc1 (never used in MessagePack)", "\xc1", 1},
    {"an extension type", "\xd4\x01\x00", 3},
    {"a list announcing 2 items holding 1", "\x92\x01", 2},
    {"two values in one message", "\x01\x02", 2},
    {"a str with invalid UTF-8", "\xa2\xc0\x80", 3},
    {"an array32 announcing 2^32-1 items", "\xdd\xff\xff\xff\xff", 5},
};

struct garbage_arg {
  mproc_conn *mine, *theirs;
  unsigned char *frames; /* the garbage frames, captured, back to back */
  size_t frames_len;
  unsigned char *good; /* the frame of a good value */
  size_t good_len;
};

/* Child: writes each garbage frame followed by the good frame, raw. */
static int write_garbage(void *p)
{
  struct garbage_arg *a = p;
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  MPT_CHILD_OK(write_all(mproc_conn_fileno(a->mine), a->frames,
                         a->frames_len));
  return 0;
}

MPT_TEST(pipe_undecodable_message_eproto_connection_stays_usable, "EX-000-05",
         "A message that is not a valid value (empty, malformed, truncated "
         "inside, trailing bytes, bad UTF-8, huge announcement), sent with "
         "send_bytes or written raw by a child, makes recv return EPROTO; "
         "the next good message is then received normally.")
{
  enum { N = sizeof garbage / sizeof garbage[0] };
  mproc_conn *a, *b;
  mproc_obj *good = mproc_obj_str("item_9"), *out;
  void *enc;
  size_t enclen;
  struct garbage_arg ga;
  mproc_process p;

  MPT_OK(mproc_obj_encode(good, &enc, &enclen));
  new_pipe(&a, &b, false, 0);
  for (int i = 0; i < N; i++) {
    int rc;
    MPT_OK(mproc_conn_send_bytes(b, garbage[i].bytes, garbage[i].len));
    MPT_OK(mproc_conn_send(b, good));
    rc = mproc_conn_recv(a, &out, mpt_scale(5));
    ck_assert_msg(rc == MPROC_EPROTO, "%s: recv returned %s, expected EPROTO",
                  garbage[i].label, mproc_err_name(rc));
    rc = mproc_conn_recv(a, &out, mpt_scale(5));
    ck_assert_msg(rc == 0, "%s: the next good message gave %s",
                  garbage[i].label, mproc_err_name(rc));
    ck_assert(mproc_obj_equal(good, out));
    mproc_obj_free(out);
  }
  mproc_conn_free(a);
  mproc_conn_free(b);

  /* The same, written raw by a child through its descriptor. */
  ga.frames = NULL;
  ga.frames_len = 0;
  for (int i = 0; i < N; i++) {
    size_t fl, gl;
    unsigned char *f = capture_frame(garbage[i].bytes, garbage[i].len, &fl);
    unsigned char *g = capture_frame(enc, enclen, &gl);
    ga.frames = realloc(ga.frames, ga.frames_len + fl + gl);
    memcpy(ga.frames + ga.frames_len, f, fl);
    memcpy(ga.frames + ga.frames_len + fl, g, gl);
    ga.frames_len += fl + gl;
    free(f);
    free(g);
  }
  /* Nothing the child does not need stays allocated across the fork
   * (Valgrind would count it lost in the child). */
  free(enc);
  mproc_obj_free(good);
  new_pipe(&ga.theirs, &ga.mine, false, 0);
  start(&p, write_garbage, &ga);
  good = mproc_obj_str("item_9");
  MPT_OK(mproc_conn_close(ga.mine));
  for (int i = 0; i < N; i++) {
    int rc = mproc_conn_recv(ga.theirs, &out, mpt_scale(30));
    ck_assert_msg(rc == MPROC_EPROTO, "raw %s: recv returned %s",
                  garbage[i].label, mproc_err_name(rc));
    MPT_OK(mproc_conn_recv(ga.theirs, &out, mpt_scale(30)));
    ck_assert(mproc_obj_equal(good, out));
    mproc_obj_free(out);
  }
  mpt_join_all(&p, 1);
  MPT_ERR(mproc_conn_recv(ga.theirs, &out, mpt_scale(10)), MPROC_EEOF);
  mproc_conn_free(ga.mine);
  mproc_conn_free(ga.theirs);
  free(ga.frames);
  mproc_obj_free(good);
}

MPT_TEST(pipe_send_above_max_emsgsize_connection_stays_usable, "EX-000-05",
         "send_bytes or send of a message above the end's maximum (set by "
         "the options or by set_max_message) gives EMSGSIZE and sends "
         "nothing; a message of exactly the maximum goes through.")
{
  mproc_conn *a, *b;
  unsigned char *big = pattern(2000, 1);
  mproc_obj *o = mproc_obj_bytes(big, 2000), *out;
  void *buf;
  size_t len;

  new_pipe(&a, &b, false, 1000);
  MPT_ERR(mproc_conn_send_bytes(b, big, 1001), MPROC_EMSGSIZE);
  MPT_ERR(mproc_conn_send(b, o), MPROC_EMSGSIZE);
  MPT_ERR(mproc_conn_poll(a, 0.05), MPROC_ETIMEDOUT); /* nothing was sent */
  MPT_OK(mproc_conn_send_bytes(b, big, 1000));
  MPT_OK(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)));
  ck_assert_uint_eq(len, 1000);
  ck_assert(memcmp(buf, big, 1000) == 0);
  free(buf);

  MPT_OK(mproc_conn_set_max_message(b, 10));
  MPT_ERR(mproc_conn_send_bytes(b, big, 11), MPROC_EMSGSIZE);
  MPT_OK(mproc_conn_send_bytes(b, big, 10));
  MPT_OK(mproc_conn_set_max_message(b, 1u << 20));
  MPT_OK(mproc_conn_set_max_message(a, 1u << 20));
  MPT_OK(mproc_conn_send(b, o));
  MPT_OK(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)));
  ck_assert_uint_eq(len, 10);
  free(buf);
  MPT_OK(mproc_conn_recv(a, &out, mpt_scale(5)));
  ck_assert(mproc_obj_equal(o, out));
  mproc_obj_free(out);
  free(big);
  mproc_obj_free(o);
  mproc_conn_free(a);
  mproc_conn_free(b);
}

struct huge_arg {
  mproc_conn *mine, *theirs;
  size_t size;
};

/* Child: tries to send a huge message the parent will refuse; the send
 * can only end with the parent closing its end. */
static int send_huge(void *p)
{
  struct huge_arg *a = p;
  unsigned char *buf = calloc(1, a->size);
  MPT_CHILD_ASSERT(buf != NULL);
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  MPT_CHILD_ERR(mproc_conn_send_bytes(a->mine, buf, a->size), MPROC_EEOF);
  free(buf);
  return 0;
}

MPT_TEST(pipe_announced_size_above_max_emsgsize_then_ebroken, "EX-000-05",
         "A message announced larger than the receiving end's maximum gives "
         "EMSGSIZE as soon as its size is known (a 64 MiB message from a "
         "child, refused by an end limited to 1 KiB, does not have to "
         "arrive first), and every later recv gives EBROKEN.")
{
  struct huge_arg h = {.size = (size_t)64 << 20};
  mproc_process p;
  mproc_conn *a, *b;
  mproc_obj *out;
  void *buf;
  size_t len;
  unsigned char *msg = pattern(1001, 2);
  double t0;

  /* Within one process: the limit from the options, the sender's raised. */
  new_pipe(&a, &b, false, 1000);
  MPT_OK(mproc_conn_set_max_message(b, 1u << 20));
  MPT_OK(mproc_conn_send_bytes(b, msg, 1000));
  MPT_OK(mproc_conn_send_bytes(b, msg, 1001));
  MPT_OK(mproc_conn_send_bytes(b, msg, 10));
  MPT_OK(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)));
  ck_assert_uint_eq(len, 1000);
  free(buf);
  MPT_ERR(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)), MPROC_EMSGSIZE);
  MPT_ERR(mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5)), MPROC_EBROKEN);
  MPT_ERR(mproc_conn_recv(a, &out, 0), MPROC_EBROKEN);
  mproc_conn_free(a);
  mproc_conn_free(b);

  /* From a child, through recv of a value. */
  new_pipe(&h.theirs, &h.mine, false, 0);
  MPT_OK(mproc_conn_set_max_message(h.theirs, 1024));
  start(&p, send_huge, &h);
  MPT_OK(mproc_conn_close(h.mine));
  t0 = mpt_now();
  MPT_ERR(mproc_conn_recv(h.theirs, &out, mpt_scale(30)), MPROC_EMSGSIZE);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(10));
  MPT_ERR(mproc_conn_recv(h.theirs, &out, mpt_scale(1)), MPROC_EBROKEN);
  MPT_ERR(mproc_conn_recv_bytes(h.theirs, &buf, &len, 0), MPROC_EBROKEN);
  MPT_OK(mproc_conn_close(h.theirs)); /* ends the child's send: EEOF */
  mpt_join_all(&p, 1);
  mproc_conn_free(h.mine);
  mproc_conn_free(h.theirs);
  free(msg);
}

MPT_TEST(pipe_truncated_message_then_peer_close_ebroken, "EX-000-05 EX-002-05",
         "When the peer closes after writing only part of a message (cut at "
         "any byte), recv returns EBROKEN, not EEOF and not a message, and "
         "keeps returning EBROKEN.")
{
  unsigned char *msg = pattern(40, 4), *frame;
  size_t flen;
  frame = capture_frame(msg, 40, &flen);
  for (size_t cut = 1; cut < flen; cut++) {
    mproc_conn *a, *b;
    mproc_obj *out;
    void *buf;
    size_t len;
    int rc;
    new_pipe(&a, &b, false, 0);
    MPT_OK(write_all(mproc_conn_fileno(b), frame, cut));
    MPT_OK(mproc_conn_close(b));
    rc = mproc_conn_recv_bytes(a, &buf, &len, mpt_scale(5));
    ck_assert_msg(rc == MPROC_EBROKEN, "cut after %zu of %zu bytes: recv "
                  "returned %s", cut, flen, mproc_err_name(rc));
    if (rc == 0)
      free(buf);
    MPT_ERR(mproc_conn_recv(a, &out, mpt_scale(1)), MPROC_EBROKEN);
    mproc_conn_free(a);
    mproc_conn_free(b);
  }
  free(frame);
  free(msg);
}

enum death_point {
  DIES_BETWEEN_MESSAGES, /* after whole messages: EEOF */
  DIES_MID_MESSAGE,      /* after part of a message, written raw: EBROKEN */
  DIES_IN_BLOCKED_SEND   /* somewhere in a 64 MiB send: EBROKEN or EEOF */
};

struct victim_arg {
  mproc_conn *mine, *theirs;
  enum death_point point;
  unsigned char *partial; /* DIES_MID_MESSAGE: a frame's first bytes */
  size_t partial_len;
  mproc_event *ready;
};

static int victim(void *p)
{
  struct victim_arg *a = p;
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  for (int i = 0; i < 3; i++) {
    mproc_obj *o = mproc_obj_int(i);
    MPT_CHILD_OK(mproc_conn_send(a->mine, o));
    mproc_obj_free(o);
  }
  if (a->point == DIES_MID_MESSAGE)
    MPT_CHILD_OK(write_all(mproc_conn_fileno(a->mine), a->partial,
                           a->partial_len));
  if (a->point == DIES_IN_BLOCKED_SEND) {
    size_t n = (size_t)64 << 20;
    unsigned char *buf = calloc(1, n);
    MPT_CHILD_OK(mproc_event_set(a->ready));
    mproc_conn_send_bytes(a->mine, buf, n); /* killed in here, or EEOF */
    free(buf);
    return 0;
  }
  MPT_CHILD_OK(mproc_event_set(a->ready));
  for (;;) {
    mproc_obj *o;
    /* Blocks until killed: nobody sends to it. */
    if (mproc_conn_recv(a->mine, &o, mpt_scale(60)) == 0)
      mproc_obj_free(o);
    else
      return 1;
  }
}

MPT_TEST(pipe_peer_killed_gives_eeof_or_ebroken_never_a_hang, "EX-002-05 EX-003-05",
         "A peer killed with SIGKILL after whole messages gives those "
         "messages then EEOF; killed after part of a message, EBROKEN; "
         "killed inside a blocked 64 MiB send, EBROKEN or EEOF; never a "
         "hang.")
{
  static const struct {
    const char *label;
    enum death_point point;
  } points[] = {
      {"between messages", DIES_BETWEEN_MESSAGES},
      {"after part of a message", DIES_MID_MESSAGE},
      {"inside a blocked 64 MiB send", DIES_IN_BLOCKED_SEND},
  };
  unsigned char *msg = pattern(64, 9);
  for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
    struct victim_arg v = {.point = points[i].point};
    size_t flen;
    unsigned char *frame = capture_frame(msg, 64, &flen);
    mproc_process p;
    mproc_obj *out;
    int rc;
    v.partial = frame;
    v.partial_len = flen - 10;
    MPT_OK(mproc_event_new(&v.ready));
    new_pipe(&v.theirs, &v.mine, false, 0);
    start(&p, victim, &v);
    MPT_OK(mproc_conn_close(v.mine));
    for (int k = 0; k < 3; k++) {
      int64_t got;
      MPT_OK(mproc_conn_recv(v.theirs, &out, mpt_scale(30)));
      MPT_OK(mproc_obj_get_int(out, &got));
      ck_assert_int_eq(got, k);
      mproc_obj_free(out);
    }
    MPT_OK(mproc_event_wait(v.ready, mpt_scale(30)));
    MPT_OK(mproc_process_kill(&p));
    mpt_join_expect(&p, -9);
    rc = mproc_conn_recv(v.theirs, &out, mpt_scale(10));
    if (points[i].point == DIES_BETWEEN_MESSAGES)
      ck_assert_msg(rc == MPROC_EEOF, "%s: recv returned %s, expected EEOF",
                    points[i].label, mproc_err_name(rc));
    else if (points[i].point == DIES_MID_MESSAGE)
      ck_assert_msg(rc == MPROC_EBROKEN, "%s: recv returned %s, expected "
                    "EBROKEN", points[i].label, mproc_err_name(rc));
    else
      ck_assert_msg(rc == MPROC_EBROKEN || rc == MPROC_EEOF, "%s: recv "
                    "returned %s, expected EBROKEN or EEOF", points[i].label,
                    mproc_err_name(rc));
    mproc_event_free(v.ready);
    mproc_conn_free(v.mine);
    mproc_conn_free(v.theirs);
    free(frame);
  }
  free(msg);
}

/* ---- sending to a vanished peer ---- */

struct closer_arg {
  mproc_conn *mine, *theirs;
};

/* Child: reads one message, then closes its end and exits. */
static int read_one_then_close(void *p)
{
  struct closer_arg *a = p;
  void *buf;
  size_t len;
  MPT_CHILD_OK(mproc_conn_close(a->theirs));
  MPT_CHILD_OK(mproc_conn_recv_bytes(a->mine, &buf, &len, mpt_scale(30)));
  free(buf);
  MPT_CHILD_OK(mproc_conn_close(a->mine));
  return 0;
}

/* Child, with SIGPIPE at its default action: sends to a closed peer. */
static int send_to_closed_peer(void *p)
{
  struct closer_arg *a = p;
  mproc_obj *o = mproc_obj_str("anyone there?");
  signal(SIGPIPE, SIG_DFL);
  MPT_CHILD_ERR(mproc_conn_send(a->mine, o), MPROC_EEOF);
  MPT_CHILD_ERR(mproc_conn_send_bytes(a->mine, "x", 1), MPROC_EEOF);
  mproc_obj_free(o);
  return 0;
}

MPT_TEST(pipe_send_to_closed_peer_eeof_without_sigpipe, "EX-002-05 EX-003-05",
         "Sending to an end closed in every process gives EEOF and does not "
         "kill the sender with SIGPIPE (default action in place): small and "
         "large messages, duplex and one-way, and a large send blocked when "
         "the peer goes away.")
{
  struct sigaction dfl = {.sa_handler = SIG_DFL}, old;
  size_t big_len = (size_t)8 << 20;
  unsigned char *big = calloc(1, big_len);
  mproc_obj *o = mproc_obj_int(5);

  sigemptyset(&dfl.sa_mask);
  sigaction(SIGPIPE, &dfl, &old);
  for (int one_way = 0; one_way <= 1; one_way++) {
    mproc_conn *a, *b;
    struct closer_arg c;
    mproc_process p;
    new_pipe(&a, &b, one_way, 0);
    MPT_OK(mproc_conn_close(a)); /* a one-way pipe's receiving end */
    MPT_ERR(mproc_conn_send(b, o), MPROC_EEOF);
    MPT_ERR(mproc_conn_send_bytes(b, "", 0), MPROC_EEOF);
    MPT_ERR(mproc_conn_send_bytes(b, big, big_len), MPROC_EEOF);
    c.mine = b;
    c.theirs = a;
    start(&p, send_to_closed_peer, &c);
    mpt_join_all(&p, 1);
    mproc_conn_free(a);
    mproc_conn_free(b);
  }
  {
    mproc_conn *a, *b;
    struct closer_arg c;
    mproc_process p;
    new_pipe(&a, &b, false, 0);
    c.mine = b;
    c.theirs = a;
    start(&p, read_one_then_close, &c);
    MPT_OK(mproc_conn_close(b));
    MPT_OK(mproc_conn_send_bytes(a, "first", 5));
    /* Blocks until the child has closed (or fails at once if it has). */
    MPT_ERR(mproc_conn_send_bytes(a, big, big_len), MPROC_EEOF);
    MPT_ERR(mproc_conn_send(a, o), MPROC_EEOF);
    mpt_join_all(&p, 1);
    mproc_conn_free(a);
    mproc_conn_free(b);
  }
  sigaction(SIGPIPE, &old, NULL);
  mproc_obj_free(o);
  free(big);
}

/* ---- signals ---- */

struct sig_arg {
  mproc_conn *a, *b;
  mproc_obj *sent, *got;
  unsigned char *big;
  size_t big_len;
};

static int sig_recv(void *p)
{
  struct sig_arg *s = p;
  return mproc_conn_recv(s->a, &s->got, mpt_scale(30));
}

static int sig_poll(void *p)
{
  struct sig_arg *s = p;
  return mproc_conn_poll(s->a, mpt_scale(30));
}

static int sig_send_value(void *p)
{
  struct sig_arg *s = p;
  return mproc_conn_send(s->b, s->sent);
}

static int sig_send_big(void *p)
{
  struct sig_arg *s = p;
  return mproc_conn_send_bytes(s->a, s->big, s->big_len);
}

/* In the helper: takes the big message and checks it. */
static int sig_take_big(void *p)
{
  struct sig_arg *s = p;
  void *buf;
  size_t len;
  int rc = mproc_conn_recv_bytes(s->b, &buf, &len, mpt_scale(30));
  if (rc != 0)
    return rc;
  rc = len == s->big_len && memcmp(buf, s->big, len) == 0 ? 0 : MPROC_EPROTO;
  free(buf);
  return rc;
}

MPT_TEST(pipe_blocking_calls_survive_signals, "EX-000-05 EX-002-05",
         "Signals (SIGUSR1 without SA_RESTART) delivered while recv, poll or "
         "a large send blocks neither end the call early nor lose or "
         "corrupt data: the value or the 8 MiB message arrives intact.")
{
  struct sig_arg s = {0};
  mproc_obj *l = list123();
  new_pipe(&s.a, &s.b, false, 0);

  s.sent = l;
  MPT_OK(mpt_wait_through_signals(sig_recv, sig_send_value, &s, 3));
  ck_assert(mproc_obj_equal(l, s.got));
  mproc_obj_free(s.got);
  s.got = NULL;

  MPT_OK(mpt_wait_through_signals(sig_poll, sig_send_value, &s, 3));
  MPT_OK(mproc_conn_recv(s.a, &s.got, 0));
  ck_assert(mproc_obj_equal(l, s.got));
  mproc_obj_free(s.got);

  s.big_len = (size_t)8 << 20;
  s.big = pattern(s.big_len, 8);
  MPT_OK(mpt_wait_through_signals(sig_send_big, sig_take_big, &s, 3));
  MPT_ERR(mproc_conn_poll(s.b, 0), MPROC_EAGAIN); /* the helper took it */

  free(s.big);
  mproc_obj_free(l);
  mproc_conn_free(s.a);
  mproc_conn_free(s.b);
}

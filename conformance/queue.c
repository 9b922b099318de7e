/* Conformance: Queue, SimpleQueue and JoinableQueue (FIFO order, bounds
 * and timeouts, close, many producers and consumers with sentinels, large
 * items, producers that exit or are killed, task_done/join, signals). */
#define _GNU_SOURCE
#define MPT_SUITE "queue"
#include "harness.h"

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

static mproc_queue *new_queue(size_t maxsize, size_t capacity,
                              size_t max_message)
{
  mproc_queue *q;
  mproc_queue_options o = {.maxsize = maxsize, .capacity = capacity,
                           .max_message = max_message};
  MPT_OK(mproc_queue_new(&q, &o));
  return q;
}

/* A put that is not about timeouts: it may wait (bounded). */
static void put_int(mproc_queue *q, int64_t v)
{
  mproc_obj *o = mproc_obj_int(v);
  MPT_OK(mproc_queue_put(q, o, mpt_scale(30)));
  mproc_obj_free(o);
}

static int64_t get_int(mproc_queue *q, double timeout)
{
  mproc_obj *o;
  int64_t v;
  MPT_OK(mproc_queue_get(q, &o, timeout));
  MPT_OK(mproc_obj_get_int(o, &v));
  mproc_obj_free(o);
  return v;
}

static size_t qsize(mproc_queue *q)
{
  size_t n = 12345;
  MPT_OK(mproc_queue_qsize(q, &n));
  return n;
}

/* Payloads: 64-bit words that differ by position and by item (word-wise
 * so that checking megabytes stays cheap under Valgrind). */
static uint64_t pattern_word(size_t i, uint64_t seed)
{
  return (seed + 1) * 0x9e3779b97f4a7c15u ^ (uint64_t)i * 0xd6e8feb86659fd93u;
}

static void fill_pattern(unsigned char *b, size_t n, uint64_t seed)
{
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    uint64_t w = pattern_word(i / 8, seed);
    memcpy(b + i, &w, 8);
  }
  if (i < n) {
    uint64_t w = pattern_word(i / 8, seed);
    memcpy(b + i, &w, n - i);
  }
}

static mproc_obj *pattern_bytes(size_t n, uint64_t seed)
{
  unsigned char *b = malloc(n ? n : 1);
  mproc_obj *o;
  if (b == NULL)
    return NULL;
  fill_pattern(b, n, seed);
  o = mproc_obj_bytes(b, n);
  free(b);
  return o;
}

/* True when `o` is bytes of length n holding pattern `seed`. */
static bool is_pattern(const mproc_obj *o, size_t n, uint64_t seed)
{
  size_t len, i;
  const unsigned char *b = mproc_obj_bytes_value(o, &len);
  uint64_t w, want;
  if (b == NULL || len != n)
    return false;
  for (i = 0; i + 8 <= n; i += 8) {
    memcpy(&w, b + i, 8);
    if (w != pattern_word(i / 8, seed))
      return false;
  }
  if (i < n) {
    want = pattern_word(i / 8, seed);
    if (memcmp(b + i, &want, n - i) != 0)
      return false;
  }
  return true;
}

/* [tag, seq] or [tag, seq, payload]. */
static mproc_obj *tagged(int64_t tag, int64_t seq, size_t payload)
{
  mproc_obj *l = mproc_obj_list();
  if (mproc_obj_list_append(l, mproc_obj_int(tag)) != 0 ||
      mproc_obj_list_append(l, mproc_obj_int(seq)) != 0 ||
      (payload > 0 &&
       mproc_obj_list_append(l, pattern_bytes(payload,
                                              (uint64_t)(tag << 32 | seq))) !=
           0)) {
    mproc_obj_free(l);
    return NULL;
  }
  return l;
}

/* Reads [tag, seq(, payload)]; false if the item has another shape or a
 * payload that is not its pattern. */
static bool untag(const mproc_obj *o, int64_t *tag, int64_t *seq,
                  size_t payload)
{
  const mproc_obj *p;
  if (mproc_obj_type_of(o) != MPROC_OBJ_LIST ||
      mproc_obj_len(o) != (payload > 0 ? 3u : 2u) ||
      mproc_obj_get_int(mproc_obj_list_get(o, 0), tag) != 0 ||
      mproc_obj_get_int(mproc_obj_list_get(o, 1), seq) != 0)
    return false;
  if (payload == 0)
    return true;
  p = mproc_obj_list_get(o, 2);
  return is_pattern(p, payload, (uint64_t)(*tag << 32 | *seq));
}

/* ---- one process ---- */

MPT_TEST(queue_put_get_fifo_with_qsize_empty_full, "EX-002-04",
         "Items come out in the order they were put, as equal values of "
         "every type; qsize counts them, empty is true only with none, full "
         "is never true for an unbounded queue.")
{
  mproc_queue *q = new_queue(0, 0, 0);
  mproc_obj *items[9], *l = mproc_obj_list();
  size_t n = 0;
  MPT_OK(mproc_obj_list_append(l, mproc_obj_str("nested")));
  items[n++] = mproc_obj_int(0);
  items[n++] = mproc_obj_none();
  items[n++] = mproc_obj_bool(false);
  items[n++] = mproc_obj_float(2.5);
  items[n++] = mproc_obj_str("item_3");
  items[n++] = mproc_obj_bytes("\0\1", 2);
  items[n++] = l;
  items[n++] = mproc_obj_dict();
  items[n++] = mproc_obj_str("");

  ck_assert_uint_eq(qsize(q), 0);
  ck_assert(mproc_queue_empty(q));
  ck_assert(!mproc_queue_full(q));
  for (size_t i = 0; i < n; i++) {
    MPT_OK(mproc_queue_put(q, items[i], MPROC_FOREVER));
    ck_assert_uint_eq(qsize(q), i + 1);
    ck_assert(!mproc_queue_empty(q));
    ck_assert(!mproc_queue_full(q));
  }
  for (size_t i = 0; i < n; i++) {
    mproc_obj *out;
    MPT_OK(mproc_queue_get(q, &out, i % 2 ? 0 : MPROC_FOREVER));
    ck_assert_msg(mproc_obj_equal(items[i], out), "item %zu differs", i);
    ck_assert_uint_eq(qsize(q), n - i - 1);
    mproc_obj_free(out);
    mproc_obj_free(items[i]);
  }
  ck_assert(mproc_queue_empty(q));
  mproc_queue_free(q);
}

MPT_TEST(queue_maxsize_0_is_unbounded, "EX-002-04",
         "A queue created with maxsize 0 (or NULL options) accepts 10000 "
         "puts with timeout 0 without EFULL, is never full, and gives them "
         "back in order.")
{
  mproc_queue *qs[2];
  qs[0] = new_queue(0, 0, 0);
  MPT_OK(mproc_queue_new(&qs[1], NULL));
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < 10000; i++) {
      mproc_obj *o = mproc_obj_int(i);
      MPT_OK(mproc_queue_put(qs[k], o, 0));
      mproc_obj_free(o);
    }
    ck_assert(!mproc_queue_full(qs[k]));
    ck_assert_uint_eq(qsize(qs[k]), 10000);
    for (int i = 0; i < 10000; i++)
      ck_assert_int_eq(get_int(qs[k], 0), i);
    mproc_queue_free(qs[k]);
  }
}

MPT_TEST(queue_put_on_full_queue_efull_not_before_timeout, "EX-002-04",
         "On a queue full at maxsize 3, put with timeout 0 or negative gives "
         "EFULL at once, with a positive timeout EFULL no sooner than the "
         "timeout and within a bounded delay, with NaN EINVAL; after a get "
         "there is room again.")
{
  mproc_queue *q = new_queue(3, 0, 0);
  mproc_obj *o = mproc_obj_str("extra");
  double t0;
  for (int i = 0; i < 3; i++)
    put_int(q, i);
  ck_assert(mproc_queue_full(q));
  ck_assert_uint_eq(qsize(q), 3);
  t0 = mpt_now();
  MPT_ERR(mproc_queue_put(q, o, 0), MPROC_EFULL);
  MPT_ERR(mproc_queue_put(q, o, -1), MPROC_EFULL);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
  t0 = mpt_now();
  MPT_ERR(mproc_queue_put(q, o, 0.2), MPROC_EFULL);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_queue_put(q, o, NAN), MPROC_EINVAL);
  ck_assert_uint_eq(qsize(q), 3);
  ck_assert_int_eq(get_int(q, 0), 0);
  ck_assert(!mproc_queue_full(q));
  MPT_OK(mproc_queue_put(q, o, 0));
  ck_assert(mproc_queue_full(q));
  ck_assert_int_eq(get_int(q, 0), 1);
  ck_assert_int_eq(get_int(q, 0), 2);
  mproc_obj_free(o);
  mproc_queue_free(q);
}

MPT_TEST(queue_get_on_empty_queue_eempty_not_before_timeout, "EX-002-04",
         "get on an empty queue gives EEMPTY at once for timeout 0 or "
         "negative, no sooner than a positive timeout and within a bounded "
         "delay after it, and EINVAL for NaN.")
{
  mproc_queue *q = new_queue(0, 0, 0);
  mproc_obj *out = NULL;
  double t0 = mpt_now();
  MPT_ERR(mproc_queue_get(q, &out, 0), MPROC_EEMPTY);
  MPT_ERR(mproc_queue_get(q, &out, -0.5), MPROC_EEMPTY);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
  t0 = mpt_now();
  MPT_ERR(mproc_queue_get(q, &out, 0.2), MPROC_EEMPTY);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_queue_get(q, &out, NAN), MPROC_EINVAL);
  mproc_queue_free(q);
}

MPT_TEST(queue_null_arguments_einval, "EX-002-04",
         "new, put, get, qsize, task_done, join and close given NULL where "
         "an object or output is required fail with EINVAL; empty is true "
         "and full false for NULL; free(NULL) is ignored.")
{
  mproc_queue *q = new_queue(0, 0, 0);
  mproc_obj *o = mproc_obj_none(), *out;
  size_t n;
  MPT_ERR(mproc_queue_new(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_joinable_queue_new(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_simple_queue_new(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_queue_put(NULL, o, 0), MPROC_EINVAL);
  MPT_ERR(mproc_queue_put(q, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_queue_get(NULL, &out, 0), MPROC_EINVAL);
  MPT_ERR(mproc_queue_get(q, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_queue_qsize(NULL, &n), MPROC_EINVAL);
  MPT_ERR(mproc_queue_qsize(q, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_queue_task_done(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_queue_join(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_queue_close(NULL), MPROC_EINVAL);
  ck_assert(mproc_queue_empty(NULL));
  ck_assert(!mproc_queue_full(NULL));
  ck_assert_uint_eq(qsize(q), 0);
  mproc_queue_free(NULL);
  mproc_obj_free(o);
  mproc_queue_free(q);
}

/* ---- timeout 0 while other processes use the queue ---- */

struct busy_arg {
  mproc_queue *q;
  int n;
  size_t payload;
};

static int busy_consumer(void *p)
{
  struct busy_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    MPT_CHILD_ASSERT(untag(o, &tag, &seq, a->payload) && seq == i);
    mproc_obj_free(o);
  }
  return 0;
}

static int busy_producer(void *p)
{
  struct busy_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    mproc_obj *o = tagged(0, i, a->payload);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  return 0;
}

static bool not_empty(void *p)
{
  return !mproc_queue_empty(p);
}

MPT_TEST(queue_timeout_0_succeeds_on_non_full_or_non_empty_queue_in_use, "EX-002-04",
         "put with timeout 0 on an unbounded queue never gives EFULL, and "
         "get with timeout 0 on a queue known to hold items never gives "
         "EEMPTY, also while another process is putting or getting 256 KiB "
         "items on the same queue at the same time.")
{
  enum { N = 200 };
  const size_t payload = 256 << 10;
  struct busy_arg a = {new_queue(0, 0, 0), N, payload};
  mproc_process p;
  int failed = 0, first_rc = 0, put_failed, put_rc;

  /* The parent puts without waiting while a child gets. */
  start(&p, busy_consumer, &a);
  for (int i = 0; i < N; i++) {
    mproc_obj *o = tagged(0, i, payload);
    int rc;
    while ((rc = mproc_queue_put(a.q, o, 0)) != 0) {
      if (failed++ == 0)
        first_rc = rc;
      if (failed > 100000)
        break;
    }
    mproc_obj_free(o);
  }
  mpt_join_all(&p, 1);
  put_failed = failed;
  put_rc = first_rc;
  failed = first_rc = 0;

  /* The parent, the only consumer, gets without waiting once an item is
   * there, while a child puts. */
  start(&p, busy_producer, &a);
  for (int i = 0; i < N; i++) {
    mproc_obj *o = NULL;
    int64_t tag, seq;
    int rc;
    ck_assert(mpt_poll_until(not_empty, a.q, mpt_scale(30)));
    while ((rc = mproc_queue_get(a.q, &o, 0)) != 0) {
      if (failed++ == 0)
        first_rc = rc;
      if (failed > 100000)
        break;
    }
    MPT_OK(rc);
    ck_assert(untag(o, &tag, &seq, payload) && seq == i);
    mproc_obj_free(o);
  }
  mpt_join_all(&p, 1);
  ck_assert_msg(put_failed == 0 && failed == 0,
                "puts with timeout 0 on an unbounded queue were refused %d "
                "times (first with %s) while a child was getting; gets with "
                "timeout 0 on a queue holding items were refused %d times "
                "(first with %s) while a child was putting (%d items each)",
                put_failed, mproc_err_name(put_rc), failed,
                mproc_err_name(first_rc), N);
  mproc_queue_free(a.q);
}

/* ---- blocking across processes ---- */

struct blocked_arg {
  mproc_queue *q;
  mproc_semaphore *trying; /* released just before the blocking call */
  int64_t *returned;       /* [0] set when the call returned, [1] its value */
};

static int get_blocking(void *p)
{
  struct blocked_arg *a = p;
  mproc_obj *o;
  int64_t v;
  MPT_CHILD_OK(mproc_semaphore_release(a->trying));
  MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
  __atomic_store_n(&a->returned[0], 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(mproc_obj_get_int(o, &v));
  a->returned[1] = v;
  mproc_obj_free(o);
  return 0;
}

static int put_blocking(void *p)
{
  struct blocked_arg *a = p;
  mproc_obj *o = mproc_obj_int(99);
  MPT_CHILD_OK(mproc_semaphore_release(a->trying));
  MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
  __atomic_store_n(&a->returned[0], 1, __ATOMIC_SEQ_CST);
  mproc_obj_free(o);
  return 0;
}

MPT_TEST(queue_blocked_get_and_put_wake_on_other_process, "EX-002-04",
         "A child's get on an empty queue does not return until the parent "
         "puts, then returns that item; a child's put on a full queue does "
         "not return until the parent gets, then its item is in the queue.")
{
  for (int kind = 0; kind < 2; kind++) {
    mproc_array *arr;
    struct blocked_arg a;
    mproc_process p;
    a.q = new_queue(kind == 0 ? 0 : 1, 0, 0);
    a.returned = mpt_scratch(&arr, 2);
    MPT_OK(mproc_semaphore_new(&a.trying, 0));
    if (kind == 1)
      put_int(a.q, 1);
    start(&p, kind == 0 ? get_blocking : put_blocking, &a);
    MPT_OK(mproc_semaphore_acquire(a.trying, mpt_scale(30)));
    mpt_observe(0.2);
    ck_assert_msg(a.returned[0] == 0, "the child's %s returned early",
                  kind == 0 ? "get on an empty queue" : "put on a full queue");
    if (kind == 0)
      put_int(a.q, 42);
    else
      ck_assert_int_eq(get_int(a.q, mpt_scale(30)), 1);
    mpt_join_all(&p, 1);
    ck_assert_int_eq(a.returned[0], 1);
    if (kind == 0) {
      ck_assert_int_eq(a.returned[1], 42);
      ck_assert(mproc_queue_empty(a.q));
    } else {
      ck_assert_int_eq(get_int(a.q, 0), 99);
    }
    mproc_semaphore_free(a.trying);
    mproc_array_free(arr);
    mproc_queue_free(a.q);
  }
}

/* ---- close ---- */

struct close_arg {
  mproc_queue *q;
  mproc_event *go_a, *a_closed;
};

/* Child A: after the parent closed its view, takes the 3 items, then
 * closes its own view. */
static int close_child_a(void *p)
{
  struct close_arg *a = p;
  mproc_obj *o;
  MPT_CHILD_OK(mproc_event_wait(a->go_a, mpt_scale(30)));
  for (int i = 0; i < 3; i++) {
    int64_t v;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    MPT_CHILD_OK(mproc_obj_get_int(o, &v));
    MPT_CHILD_EQ(v, i);
    mproc_obj_free(o);
  }
  MPT_CHILD_OK(mproc_queue_close(a->q));
  MPT_CHILD_ERR(mproc_queue_get(a->q, &o, 0), MPROC_ECLOSED);
  MPT_CHILD_OK(mproc_event_set(a->a_closed));
  return 0;
}

/* Child B: after A closed its view, the queue still works here. */
static int close_child_b(void *p)
{
  struct close_arg *a = p;
  mproc_obj *o = mproc_obj_str("still open here"), *out;
  MPT_CHILD_OK(mproc_event_wait(a->a_closed, mpt_scale(30)));
  MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
  MPT_CHILD_OK(mproc_queue_get(a->q, &out, mpt_scale(30)));
  MPT_CHILD_ASSERT(mproc_obj_equal(o, out));
  mproc_obj_free(o);
  mproc_obj_free(out);
  return 0;
}

MPT_TEST(queue_close_eclosed_in_this_process_items_stay_for_others, "EX-000-04 EX-002-04",
         "After close, put and get in the closing process give ECLOSED (a "
         "second close too), while the items it put stay available to "
         "another process, and a close in that process does not affect a "
         "third one.")
{
  struct close_arg a;
  mproc_process procs[2];
  mproc_obj *o = mproc_obj_int(5), *out;
  a.q = new_queue(0, 0, 0);
  MPT_OK(mproc_event_new(&a.go_a));
  MPT_OK(mproc_event_new(&a.a_closed));
  start(&procs[0], close_child_a, &a);
  start(&procs[1], close_child_b, &a);
  for (int i = 0; i < 3; i++)
    put_int(a.q, i);
  MPT_OK(mproc_queue_close(a.q));
  MPT_ERR(mproc_queue_put(a.q, o, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_put(a.q, o, mpt_scale(1)), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_get(a.q, &out, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_get(a.q, &out, mpt_scale(1)), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_close(a.q), MPROC_ECLOSED);
  MPT_OK(mproc_event_set(a.go_a));
  mpt_join_all(procs, 2);
  mproc_obj_free(o);
  mproc_event_free(a.go_a);
  mproc_event_free(a.a_closed);
  mproc_queue_free(a.q);
}

/* ---- the documents' producers and consumers ---- */

struct ex_arg {
  mproc_queue *q;
  int64_t *got; /* [0] items consumed, [1] the consumer's last check */
  int n;
};

/* EX-000-04's producer: item_0..item_9, then the None sentinel. */
static int ex4_producer(void *p)
{
  struct ex_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    char text[32];
    mproc_obj *o;
    snprintf(text, sizeof text, "item_%d", i);
    o = mproc_obj_str(text);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  {
    mproc_obj *none = mproc_obj_none();
    MPT_CHILD_OK(mproc_queue_put(a->q, none, mpt_scale(30)));
    mproc_obj_free(none);
  }
  return 0;
}

/* EX-000-04's consumer: get until None. */
static int ex4_consumer(void *p)
{
  struct ex_arg *a = p;
  for (;;) {
    mproc_obj *o;
    char want[32], *r;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    if (mproc_obj_type_of(o) == MPROC_OBJ_NONE) {
      mproc_obj_free(o);
      return 0;
    }
    snprintf(want, sizeof want, "'item_%lld'", (long long)a->got[0]);
    r = mproc_obj_repr(o);
    MPT_CHILD_ASSERT(r != NULL && strcmp(r, want) == 0);
    free(r);
    mproc_obj_free(o);
    a->got[0]++;
  }
}

MPT_TEST(queue_producer_items_then_none_consumer_stops_at_none, "EX-000-04",
         "A producer process puts item_0 .. item_9 then None; a consumer "
         "process getting until None receives exactly 'item_0' .. 'item_9' "
         "in order and stops; both exit 0 and the queue is left empty.")
{
  struct ex_arg a;
  mproc_array *arr;
  mproc_process procs[2];
  a.q = new_queue(0, 0, 0);
  a.got = mpt_scratch(&arr, 2);
  a.n = 10;
  start(&procs[0], ex4_producer, &a);
  start(&procs[1], ex4_consumer, &a);
  mpt_join_all(procs, 2);
  ck_assert_int_eq(a.got[0], 10);
  ck_assert(mproc_queue_empty(a.q));
  mproc_queue_free(a.q);
  mproc_array_free(arr);
}

static int ints_producer(void *p)
{
  struct ex_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    mproc_obj *o = mproc_obj_int(i);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  return 0;
}

/* EX-002-04's consumer: exactly n gets. */
static int count_consumer(void *p)
{
  struct ex_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    mproc_obj *o;
    int64_t v;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    MPT_CHILD_OK(mproc_obj_get_int(o, &v));
    MPT_CHILD_EQ(v, i);
    mproc_obj_free(o);
    a->got[0]++;
  }
  return 0;
}

MPT_TEST(queue_consumer_of_ten_gets_0_to_9_in_order, "EX-002-04",
         "A producer process puts 0 .. 9; a consumer process doing exactly "
         "ten gets receives 0 .. 9 in order; afterwards the queue is empty.")
{
  struct ex_arg a;
  mproc_array *arr;
  mproc_process procs[2];
  mproc_obj *out;
  a.q = new_queue(0, 0, 0);
  a.got = mpt_scratch(&arr, 2);
  a.n = 10;
  start(&procs[0], ints_producer, &a);
  start(&procs[1], count_consumer, &a);
  mpt_join_all(procs, 2);
  ck_assert_int_eq(a.got[0], 10);
  MPT_ERR(mproc_queue_get(a.q, &out, 0), MPROC_EEMPTY);
  mproc_queue_free(a.q);
  mproc_array_free(arr);
}

/* EX-003-04's consumer: while not empty(), get. */
static int empty_loop_consumer(void *p)
{
  struct ex_arg *a = p;
  while (!mproc_queue_empty(a->q)) {
    mproc_obj *o;
    int64_t v;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, 0));
    MPT_CHILD_OK(mproc_obj_get_int(o, &v));
    MPT_CHILD_EQ(v, a->got[0]);
    mproc_obj_free(o);
    a->got[0]++;
  }
  return 0;
}

MPT_TEST(queue_empty_loop_consumer_after_producer_joined_gets_all_5, "EX-003-04",
         "With the producer of 0 .. 4 joined before the consumer starts, a "
         "consumer looping while not empty() gets all 5 items in order, "
         "each get(0) succeeding, because put returns only once the item is "
         "in the queue; started concurrently the same loop is racy (it may "
         "see an empty queue first), so only the joined version is "
         "asserted.")
{
  struct ex_arg a;
  mproc_array *arr;
  mproc_process procs[2];
  a.q = new_queue(0, 0, 0);
  a.got = mpt_scratch(&arr, 2);
  a.n = 5;
  start(&procs[0], ints_producer, &a);
  mpt_join_all(&procs[0], 1);
  start(&procs[1], empty_loop_consumer, &a);
  mpt_join_all(&procs[1], 1);
  ck_assert_int_eq(a.got[0], 5);
  ck_assert(mproc_queue_empty(a.q));
  mproc_queue_free(a.q);
  mproc_array_free(arr);
}

/* ---- many producers and consumers, sentinels ---- */

enum sentinels_by { BY_PRODUCER, BY_PARENT };

struct mpmc_scenario {
  int producers, consumers, items;
  enum sentinels_by by; /* BY_PRODUCER: only with one producer */
  size_t maxsize;
};

struct mpmc_arg {
  mproc_queue *q;
  const struct mpmc_scenario *sc;
  int64_t *seen;     /* producers * items counters: times each was got */
  int64_t *per_cons; /* items each consumer got */
  int64_t *bad;      /* order violations and malformed items */
  int index;
};

static int mpmc_producer(void *p)
{
  struct mpmc_arg *a = p;
  for (int i = 0; i < a->sc->items; i++) {
    mproc_obj *o = tagged(a->index, i, 0);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  if (a->sc->by == BY_PRODUCER)
    for (int c = 0; c < a->sc->consumers; c++) {
      mproc_obj *none = mproc_obj_none();
      MPT_CHILD_OK(mproc_queue_put(a->q, none, mpt_scale(30)));
      mproc_obj_free(none);
    }
  return 0;
}

static int mpmc_consumer(void *p)
{
  struct mpmc_arg *a = p;
  int64_t last[16];
  for (int i = 0; i < 16; i++)
    last[i] = -1;
  for (;;) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    if (mproc_obj_type_of(o) == MPROC_OBJ_NONE) {
      mproc_obj_free(o);
      return 0;
    }
    if (!untag(o, &tag, &seq, 0) || tag < 0 || tag >= a->sc->producers ||
        seq < 0 || seq >= a->sc->items || seq <= last[tag]) {
      __atomic_add_fetch(a->bad, 1, __ATOMIC_SEQ_CST);
    } else {
      last[tag] = seq;
      __atomic_add_fetch(&a->seen[tag * a->sc->items + seq], 1,
                         __ATOMIC_SEQ_CST);
    }
    a->per_cons[a->index]++;
    mproc_obj_free(o);
  }
}

static const struct mpmc_scenario mpmc[] = {
    {1, 1, 200, BY_PRODUCER, 0},
    {1, 3, 200, BY_PRODUCER, 4},
    {3, 1, 200, BY_PARENT, 0},
    {3, 3, 200, BY_PARENT, 0},
    {3, 3, 200, BY_PARENT, 5},
    {2, 4, 150, BY_PARENT, 0},
};

MPT_TEST(queue_producers_and_consumers_with_sentinels_lose_nothing, "EX-000-04 EX-002-04",
         "For 1 or more producers and consumers (1x1, 1x3, 3x1, 3x3, 2x4, "
         "bounded or not), each consumer getting until its None sentinel "
         "(one per consumer, put by the single producer or by the parent "
         "after joining the producers), every tagged item is received "
         "exactly once, and each consumer sees each producer's items in "
         "the order they were put.")
{
  for (size_t s = 0; s < sizeof mpmc / sizeof mpmc[0]; s++) {
    const struct mpmc_scenario *sc = &mpmc[s];
    int np = sc->producers, nc = sc->consumers;
    mproc_process prod[4], cons[4];
    struct mpmc_arg pa[4], ca[4], base;
    mproc_array *arr;
    int64_t *scratch = mpt_scratch(&arr, (size_t)(np * sc->items + nc + 1));
    int64_t total = 0;

    base.q = new_queue(sc->maxsize, 0, 0);
    base.sc = sc;
    base.seen = scratch;
    base.per_cons = scratch + np * sc->items;
    base.bad = scratch + np * sc->items + nc;
    for (int i = 0; i < nc; i++) {
      ca[i] = base;
      ca[i].index = i;
    }
    for (int i = 0; i < np; i++) {
      pa[i] = base;
      pa[i].index = i;
    }
    mpt_spawn_each(cons, nc, mpmc_consumer, ca, sizeof ca[0]);
    mpt_spawn_each(prod, np, mpmc_producer, pa, sizeof pa[0]);
    mpt_join_all(prod, np);
    if (sc->by == BY_PARENT)
      for (int c = 0; c < nc; c++) {
        mproc_obj *none = mproc_obj_none();
        MPT_OK(mproc_queue_put(base.q, none, mpt_scale(30)));
        mproc_obj_free(none);
      }
    mpt_join_all(cons, nc);
    ck_assert_msg(*base.bad == 0, "%dx%d: %lld items out of order or "
                  "malformed", np, nc, (long long)*base.bad);
    for (int i = 0; i < np * sc->items; i++)
      ck_assert_msg(base.seen[i] == 1, "%dx%d (maxsize %zu): item %d of "
                    "producer %d was received %lld times", np, nc,
                    sc->maxsize, i % sc->items, i / sc->items,
                    (long long)base.seen[i]);
    for (int c = 0; c < nc; c++)
      total += base.per_cons[c];
    ck_assert_int_eq(total, np * sc->items);
    ck_assert(mproc_queue_empty(base.q));
    mproc_queue_free(base.q);
    mproc_array_free(arr);
  }
}

/* ---- sizes ---- */

struct big_arg {
  mproc_queue *q;
  size_t size;
  int count;
};

static int put_big_items(void *p)
{
  struct big_arg *a = p;
  for (int i = 0; i < a->count; i++) {
    mproc_obj *o = tagged(7, i, a->size);
    MPT_CHILD_ASSERT(o != NULL);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  return 0;
}

MPT_TEST(queue_8mib_items_from_child_arrive_intact, "EX-002-04",
         "Items far larger than a pipe buffer (two of 8 MiB each) put by a "
         "child come out whole and in order, every byte in place.")
{
  struct big_arg a = {new_queue(0, 0, 0), (size_t)8 << 20, 2};
  mproc_process p;
  start(&p, put_big_items, &a);
  for (int i = 0; i < a.count; i++) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_OK(mproc_queue_get(a.q, &o, mpt_scale(30)));
    ck_assert_msg(untag(o, &tag, &seq, a.size) && tag == 7 && seq == i,
                  "8 MiB item %d is not intact", i);
    mproc_obj_free(o);
  }
  mpt_join_all(&p, 1);
  mproc_queue_free(a.q);
}

/* bytes whose encoding is exactly `len` bytes long. */
static mproc_obj *bytes_encoding_to(size_t len)
{
  for (size_t n = len; n > 0; n--) {
    mproc_obj *o = pattern_bytes(n - 1, 3);
    void *buf;
    size_t got;
    MPT_OK(mproc_obj_encode(o, &buf, &got));
    free(buf);
    if (got == len)
      return o;
    mproc_obj_free(o);
    if (got < len)
      break;
  }
  ck_abort_msg("no bytes value encodes to exactly %zu bytes", len);
  return NULL;
}

MPT_TEST(queue_items_up_to_max_message_fit_larger_emsgsize, "EX-002-04",
         "An item whose encoding is exactly max_message bytes is put and got "
         "intact; one byte more gives EMSGSIZE and leaves the queue as it "
         "was; an item larger than the capacity gives EMSGSIZE too.")
{
  static const size_t maxes[] = {100, 4096, 70000, (size_t)3 << 20};
  for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
    mproc_queue *q = new_queue(0, 0, maxes[i]);
    mproc_obj *fits = bytes_encoding_to(maxes[i]);
    mproc_obj *over = bytes_encoding_to(maxes[i] + 1), *out;
    MPT_ERR(mproc_queue_put(q, over, 0), MPROC_EMSGSIZE);
    MPT_ERR(mproc_queue_put(q, over, mpt_scale(1)), MPROC_EMSGSIZE);
    ck_assert(mproc_queue_empty(q));
    MPT_OK(mproc_queue_put(q, fits, 0));
    MPT_OK(mproc_queue_get(q, &out, 0));
    ck_assert_msg(mproc_obj_equal(fits, out), "max_message %zu: the item "
                  "came out different", maxes[i]);
    ck_assert(mproc_queue_empty(q));
    mproc_obj_free(out);
    mproc_obj_free(fits);
    mproc_obj_free(over);
    mproc_queue_free(q);
  }
  {
    mproc_queue *q = new_queue(0, (size_t)1 << 20, 0);
    mproc_obj *o = pattern_bytes((size_t)2 << 20, 1);
    MPT_ERR(mproc_queue_put(q, o, 0), MPROC_EMSGSIZE);
    ck_assert(mproc_queue_empty(q));
    mproc_obj_free(o);
    mproc_queue_free(q);
  }
}

MPT_TEST(queue_capacity_full_gives_efull_until_room, "EX-002-04",
         "An unbounded queue whose reserved capacity holds one 600 KiB item "
         "but not two refuses the second with EFULL (after its timeout, not "
         "EMSGSIZE), and accepts it once the first is got.")
{
  mproc_queue *q = new_queue(0, (size_t)1 << 20, 0);
  mproc_obj *a = pattern_bytes(600 << 10, 1), *b = pattern_bytes(600 << 10, 2);
  mproc_obj *out;
  double t0;
  MPT_OK(mproc_queue_put(q, a, 0));
  MPT_ERR(mproc_queue_put(q, b, 0), MPROC_EFULL);
  t0 = mpt_now();
  MPT_ERR(mproc_queue_put(q, b, 0.1), MPROC_EFULL);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.1, 0.1 + mpt_scale(2));
  MPT_OK(mproc_queue_get(q, &out, 0));
  ck_assert(mproc_obj_equal(a, out));
  mproc_obj_free(out);
  MPT_OK(mproc_queue_put(q, b, 0));
  MPT_OK(mproc_queue_get(q, &out, 0));
  ck_assert(mproc_obj_equal(b, out));
  mproc_obj_free(out);
  mproc_obj_free(a);
  mproc_obj_free(b);
  mproc_queue_free(q);
}

/* ---- producers that leave ---- */

struct exit_arg {
  mproc_queue *q;
  int n;
};

static int put_then_exit_at_once(void *p)
{
  struct exit_arg *a = p;
  for (int i = 0; i < a->n; i++) {
    mproc_obj *o = tagged(1, i, 1000);
    if (mproc_queue_put(a->q, o, mpt_scale(30)) != 0)
      _exit(3);
    mproc_obj_free(o);
  }
  _exit(0); /* no cleanup of any kind */
}

MPT_TEST(queue_items_put_by_producer_that_exits_at_once_are_delivered, "EX-000-04 EX-002-04",
         "A producer that puts 100 items and immediately _exits has all of "
         "them delivered: after joining it, 100 gets with timeout 0 return "
         "them intact and in order.")
{
  struct exit_arg a = {new_queue(0, 0, 0), 100};
  mproc_process p;
  start(&p, put_then_exit_at_once, &a);
  mpt_join_all(&p, 1);
  ck_assert_uint_eq(qsize(a.q), 100);
  for (int i = 0; i < a.n; i++) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_OK(mproc_queue_get(a.q, &o, 0));
    ck_assert_msg(untag(o, &tag, &seq, 1000) && seq == i,
                  "item %d is wrong", i);
    mproc_obj_free(o);
  }
  MPT_ERR(mproc_queue_get(a.q, &(mproc_obj *){NULL}, 0), MPROC_EEMPTY);
  mproc_queue_free(a.q);
}

MPT_TEST(queue_child_that_put_50mib_can_be_joined_before_reading, "EX-002-04",
         "A child that put 50 MiB (50 items of 1 MiB) can be joined before "
         "anyone reads the queue, and the data is then all there: unlike "
         "the documented system, where joining such a producer deadlocks "
         "until the queue is drained.")
{
  struct big_arg a = {new_queue(0, 0, 0), (size_t)1 << 20, 50};
  mproc_process p;
  start(&p, put_big_items, &a);
  mpt_join_all(&p, 1); /* bounded: a deadlock fails here */
  ck_assert_uint_eq(qsize(a.q), 50);
  for (int i = 0; i < a.count; i++) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_OK(mproc_queue_get(a.q, &o, 0));
    ck_assert_msg(untag(o, &tag, &seq, a.size) && seq == i,
                  "1 MiB item %d is not intact", i);
    mproc_obj_free(o);
  }
  ck_assert(mproc_queue_empty(a.q));
  mproc_queue_free(a.q);
}

/* ---- processes killed in the middle of traffic ---- */

enum victim_role { VICTIM_PRODUCER, VICTIM_CONSUMER };

struct victim_arg {
  mproc_queue *q;
  int64_t *done; /* puts (or gets) that returned */
  size_t payload;
};

/* Puts [0, seq, payload] forever, counting the puts that returned. */
static int endless_producer(void *p)
{
  struct victim_arg *a = p;
  for (int64_t i = 0;; i++) {
    mproc_obj *o = tagged(0, i, a->payload);
    MPT_CHILD_OK(mproc_queue_put(a->q, o, mpt_scale(30)));
    __atomic_store_n(a->done, i + 1, __ATOMIC_SEQ_CST);
    mproc_obj_free(o);
  }
}

/* Gets forever, checking every item, counting the gets that returned. */
static int endless_consumer(void *p)
{
  struct victim_arg *a = p;
  for (int64_t i = 0;; i++) {
    mproc_obj *o;
    int64_t tag, seq;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    MPT_CHILD_ASSERT(untag(o, &tag, &seq, a->payload) && seq == i);
    __atomic_store_n(a->done, i + 1, __ATOMIC_SEQ_CST);
    mproc_obj_free(o);
  }
}

struct reach_arg {
  int64_t *done;
  int64_t want;
};

static bool reached(void *p)
{
  struct reach_arg *r = p;
  return __atomic_load_n(r->done, __ATOMIC_SEQ_CST) >= r->want;
}

MPT_TEST(queue_process_killed_mid_traffic_leaves_no_torn_item, "EX-000-04 EX-002-04",
         "A producer, or a consumer racing a producer, killed with SIGKILL "
         "in the middle of put or get traffic of 256 KiB items leaves the "
         "queue usable: what remains comes out whole, in order and without "
         "gaps (a killed put's or get's item is there entirely or gone "
         "entirely), no later call blocks, and other processes use the "
         "queue normally afterwards.")
{
  enum { ROUNDS = 4 };
  const size_t payload = 256 << 10;
  for (int role = VICTIM_PRODUCER; role <= VICTIM_CONSUMER; role++)
    for (int r = 0; r < ROUNDS; r++) {
      mproc_array *arr;
      int64_t *counts = mpt_scratch(&arr, 2);
      mproc_queue *q = new_queue(role == VICTIM_CONSUMER ? 8 : 0, 0, 0);
      struct victim_arg pa = {q, &counts[0], payload};
      struct victim_arg ca = {q, &counts[1], payload};
      struct reach_arg ra = {role == VICTIM_CONSUMER ? ca.done : pa.done,
                             3 + 7 * r};
      mproc_process prod, cons;
      int64_t pdone, cdone, first = -1, next = -1;
      mproc_obj *o;
      int rc;

      start(&prod, endless_producer, &pa);
      if (role == VICTIM_CONSUMER)
        start(&cons, endless_consumer, &ca);
      ck_assert_msg(mpt_poll_until(reached, &ra, mpt_scale(30)),
                    "the victim did only %lld operations",
                    (long long)*ra.done);
      if (role == VICTIM_CONSUMER) {
        MPT_OK(mproc_process_kill(&cons));
        mpt_join_expect(&cons, -9);
      }
      MPT_OK(mproc_process_kill(&prod));
      mpt_join_expect(&prod, -9);
      pdone = counts[0];
      cdone = counts[1];

      /* Each count may miss one operation: the victim can die after the
       * call returned and before it counted. */
      for (;;) {
        int64_t tag, seq;
        double t0 = mpt_now();
        rc = mproc_queue_get(q, &o, 0.05);
        MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(10));
        if (rc == MPROC_EEMPTY)
          break;
        ck_assert_msg(rc == 0, "get after the kill returned %s",
                      mproc_err_name(rc));
        ck_assert_msg(untag(o, &tag, &seq, payload),
                      "%s killed, round %d: a torn or malformed item",
                      role == VICTIM_CONSUMER ? "consumer" : "producer", r);
        mproc_obj_free(o);
        if (first < 0)
          first = next = seq;
        ck_assert_msg(seq == next, "item %lld where %lld was due",
                      (long long)seq, (long long)next);
        next++;
      }
      if (role == VICTIM_PRODUCER) {
        ck_assert_msg(first == 0, "the first item left is %lld",
                      (long long)first);
        ck_assert_msg(next == pdone || next == pdone + 1,
                      "producer killed after %lld returned puts: the items "
                      "left end at %lld", (long long)pdone, (long long)next);
      } else if (first >= 0) {
        ck_assert_msg(first == cdone || first == cdone + 1,
                      "consumer killed after %lld returned gets: the first "
                      "item left is %lld", (long long)cdone,
                      (long long)first);
        ck_assert_msg(next == pdone || next == pdone + 1,
                      "producer killed after %lld returned puts: the items "
                      "left end at %lld", (long long)pdone, (long long)next);
      } else {
        ck_assert_msg(cdone - pdone <= 1 && pdone - cdone <= 1,
                      "queue empty after %lld puts and %lld gets",
                      (long long)pdone, (long long)cdone);
      }

      /* The queue still works between two other processes. */
      {
        struct ex_arg e;
        mproc_array *earr;
        mproc_process procs[2];
        e.q = q;
        e.got = mpt_scratch(&earr, 2);
        e.n = 10;
        start(&procs[0], ints_producer, &e);
        start(&procs[1], count_consumer, &e);
        mpt_join_all(procs, 2);
        ck_assert_int_eq(e.got[0], 10);
        mproc_array_free(earr);
      }
      mproc_queue_free(q);
      mproc_array_free(arr);
    }
}

/* ---- signals ---- */

struct sig_arg {
  mproc_queue *q;
  mproc_obj *got;
};

static int sig_get(void *p)
{
  struct sig_arg *s = p;
  return mproc_queue_get(s->q, &s->got, mpt_scale(30));
}

static int sig_put_one(void *p)
{
  struct sig_arg *s = p;
  mproc_obj *o = mproc_obj_str("after the signals");
  int rc = mproc_queue_put(s->q, o, mpt_scale(30));
  mproc_obj_free(o);
  return rc;
}

static int sig_put_blocking(void *p)
{
  struct sig_arg *s = p;
  mproc_obj *o = mproc_obj_int(2);
  int rc = mproc_queue_put(s->q, o, mpt_scale(30));
  mproc_obj_free(o);
  return rc;
}

static int sig_get_one(void *p)
{
  struct sig_arg *s = p;
  mproc_obj *o;
  int64_t v;
  int rc = mproc_queue_get(s->q, &o, mpt_scale(30));
  if (rc != 0)
    return rc;
  rc = mproc_obj_get_int(o, &v);
  mproc_obj_free(o);
  return rc != 0 ? rc : v == 1 ? 0 : MPROC_EPROTO;
}

MPT_TEST(queue_blocking_get_and_put_survive_signals, "EX-002-04",
         "Signals (SIGUSR1 without SA_RESTART) delivered while get waits on "
         "an empty queue, or put waits on a full one, neither end the wait "
         "early nor lose the item or the wake-up.")
{
  struct sig_arg s = {new_queue(1, 0, 0), NULL};
  char *r;
  MPT_OK(mpt_wait_through_signals(sig_get, sig_put_one, &s, 3));
  r = mproc_obj_repr(s.got);
  ck_assert_str_eq(r, "'after the signals'");
  free(r);
  mproc_obj_free(s.got);
  put_int(s.q, 1);
  MPT_OK(mpt_wait_through_signals(sig_put_blocking, sig_get_one, &s, 3));
  ck_assert_int_eq(get_int(s.q, 0), 2);
  ck_assert(mproc_queue_empty(s.q));
  mproc_queue_free(s.q);
}

/* ---- SimpleQueue ---- */

static int simple_child(void *p)
{
  mproc_queue *q = p;
  mproc_obj *o;
  int64_t v;
  MPT_CHILD_OK(mproc_queue_get(q, &o, mpt_scale(30)));
  MPT_CHILD_OK(mproc_obj_get_int(o, &v));
  mproc_obj_free(o);
  o = mproc_obj_int(v * 2);
  MPT_CHILD_OK(mproc_queue_put(q, o, mpt_scale(30)));
  mproc_obj_free(o);
  return 0;
}

MPT_TEST(simple_queue_put_get_empty_close, "EX-000-04 EX-002-04",
         "A SimpleQueue is an unbounded FIFO shared with children: empty "
         "tells whether it holds items, a child gets and puts through it, "
         "close makes put and get ECLOSED in the closing process, and "
         "task_done and join give ENOTSUP.")
{
  mproc_queue *q;
  mproc_process p;
  mproc_obj *o = mproc_obj_none(), *out;
  MPT_OK(mproc_simple_queue_new(&q));
  ck_assert(mproc_queue_empty(q));
  ck_assert(!mproc_queue_full(q));
  for (int i = 0; i < 1000; i++)
    put_int(q, i);
  ck_assert(!mproc_queue_empty(q));
  ck_assert(!mproc_queue_full(q));
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(get_int(q, 0), i);
  ck_assert(mproc_queue_empty(q));
  MPT_ERR(mproc_queue_get(q, &out, 0), MPROC_EEMPTY);

  start(&p, simple_child, q);
  put_int(q, 21);
  mpt_join_all(&p, 1);
  ck_assert_int_eq(get_int(q, 0), 42);

  MPT_ERR(mproc_queue_task_done(q), MPROC_ENOTSUP);
  MPT_ERR(mproc_queue_join(q, 0), MPROC_ENOTSUP);
  MPT_OK(mproc_queue_close(q));
  MPT_ERR(mproc_queue_put(q, o, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_get(q, &out, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_queue_close(q), MPROC_ECLOSED);
  mproc_obj_free(o);
  mproc_queue_free(q);
}

/* ---- JoinableQueue ---- */

MPT_TEST(queue_task_done_and_join_on_plain_queue_enotsup, "EX-002-04",
         "task_done and join on a plain Queue give ENOTSUP and change "
         "nothing.")
{
  mproc_queue *q = new_queue(0, 0, 0);
  put_int(q, 1);
  MPT_ERR(mproc_queue_task_done(q), MPROC_ENOTSUP);
  MPT_ERR(mproc_queue_join(q, 0), MPROC_ENOTSUP);
  MPT_ERR(mproc_queue_join(q, mpt_scale(1)), MPROC_ENOTSUP);
  ck_assert_int_eq(get_int(q, 0), 1);
  MPT_ERR(mproc_queue_task_done(q), MPROC_ENOTSUP);
  mproc_queue_free(q);
}

MPT_TEST_F(joinable_queue_task_done_too_many_estate, "EX-002-04", "joinable-queue",
         "A JoinableQueue with nothing put joins at once; task_done with no "
         "unfinished item gives ESTATE; after one put, join times out until "
         "its task_done, and a second task_done gives ESTATE.")
{
  mproc_queue *q;
  double t0;
  MPT_OK(mproc_joinable_queue_new(&q, NULL));
  MPT_OK(mproc_queue_join(q, 0));
  MPT_ERR(mproc_queue_task_done(q), MPROC_ESTATE);
  put_int(q, 1);
  MPT_ERR(mproc_queue_join(q, 0), MPROC_EAGAIN);
  ck_assert_int_eq(get_int(q, 0), 1);
  t0 = mpt_now();
  MPT_ERR(mproc_queue_join(q, 0.2), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_queue_join(q, NAN), MPROC_EINVAL);
  MPT_OK(mproc_queue_task_done(q));
  MPT_OK(mproc_queue_join(q, 0));
  MPT_ERR(mproc_queue_task_done(q), MPROC_ESTATE);
  MPT_OK(mproc_queue_join(q, MPROC_FOREVER));
  mproc_queue_free(q);
}

MPT_TEST_F(joinable_queue_counts_every_item_put_until_its_task_done, "EX-002-04", "joinable-queue",
         "Every put counts as unfinished, also puts onto a queue that is not "
         "empty: after three puts and three gets, join does not return until "
         "the third task_done, and a fourth gives ESTATE.")
{
  mproc_queue *q;
  MPT_OK(mproc_joinable_queue_new(&q, NULL));
  for (int i = 1; i <= 3; i++)
    put_int(q, i);
  for (int i = 1; i <= 3; i++)
    ck_assert_int_eq(get_int(q, 0), i);
  for (int i = 0; i < 3; i++) {
    MPT_ERR(mproc_queue_join(q, 0), MPROC_EAGAIN);
    MPT_OK(mproc_queue_task_done(q));
  }
  MPT_OK(mproc_queue_join(q, 0));
  MPT_ERR(mproc_queue_task_done(q), MPROC_ESTATE);
  mproc_queue_free(q);
}

enum { JQ_ITEMS = 12, JQ_CONSUMERS = 3, JQ_HELD = 7 };

struct jq_arg {
  mproc_queue *q;
  mproc_event *holding, *finish;
  mproc_semaphore *done; /* released after each other task_done */
  int64_t *joined;       /* [0] set when the joining child's join returned */
};

static int jq_consumer(void *p)
{
  struct jq_arg *a = p;
  for (;;) {
    mproc_obj *o;
    int64_t v;
    MPT_CHILD_OK(mproc_queue_get(a->q, &o, mpt_scale(30)));
    if (mproc_obj_type_of(o) == MPROC_OBJ_NONE) {
      mproc_obj_free(o);
      MPT_CHILD_OK(mproc_queue_task_done(a->q));
      return 0;
    }
    MPT_CHILD_OK(mproc_obj_get_int(o, &v));
    mproc_obj_free(o);
    if (v == JQ_HELD) {
      MPT_CHILD_OK(mproc_event_set(a->holding));
      MPT_CHILD_OK(mproc_event_wait(a->finish, mpt_scale(30)));
      MPT_CHILD_OK(mproc_queue_task_done(a->q));
    } else {
      MPT_CHILD_OK(mproc_queue_task_done(a->q));
      MPT_CHILD_OK(mproc_semaphore_release(a->done));
    }
  }
}

static int jq_joiner(void *p)
{
  struct jq_arg *a = p;
  MPT_CHILD_OK(mproc_queue_join(a->q, mpt_scale(30)));
  __atomic_store_n(&a->joined[0], 1, __ATOMIC_SEQ_CST);
  return 0;
}

MPT_TEST_F(joinable_queue_join_waits_for_every_task_done_across_consumers, "EX-002-04", "joinable-queue",
         "With 12 items shared by three consumer processes, join (in the "
         "parent: EAGAIN / ETIMEDOUT; in a joining child: not returned) "
         "does not return while one got item still lacks its task_done, "
         "and returns once it is done; sentinels count as items too.")
{
  struct jq_arg a;
  mproc_array *arr;
  mproc_process cons[JQ_CONSUMERS], joiner;
  double t0;

  MPT_OK(mproc_joinable_queue_new(&a.q, NULL));
  MPT_OK(mproc_event_new(&a.holding));
  MPT_OK(mproc_event_new(&a.finish));
  MPT_OK(mproc_semaphore_new(&a.done, 0));
  a.joined = mpt_scratch(&arr, 1);
  mpt_spawn(cons, JQ_CONSUMERS, jq_consumer, &a);
  for (int i = 1; i <= JQ_ITEMS; i++)
    put_int(a.q, i);
  start(&joiner, jq_joiner, &a);
  MPT_OK(mproc_event_wait(a.holding, mpt_scale(30)));
  for (int i = 0; i < JQ_ITEMS - 1; i++)
    MPT_OK(mproc_semaphore_acquire(a.done, mpt_scale(30)));
  /* Everything got, all but one done. */
  ck_assert(mproc_queue_empty(a.q));
  MPT_ERR(mproc_queue_join(a.q, 0), MPROC_EAGAIN);
  t0 = mpt_now();
  MPT_ERR(mproc_queue_join(a.q, 0.2), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  mpt_observe(0.1);
  ck_assert_msg(a.joined[0] == 0, "the joining child's join returned with "
                "an item unfinished");

  MPT_OK(mproc_event_set(a.finish));
  MPT_OK(mproc_queue_join(a.q, mpt_scale(10)));
  mpt_join_all(&joiner, 1);
  ck_assert_int_eq(a.joined[0], 1);

  /* One sentinel per consumer; join waits for their task_done too. */
  for (int i = 0; i < JQ_CONSUMERS; i++) {
    mproc_obj *none = mproc_obj_none();
    MPT_OK(mproc_queue_put(a.q, none, mpt_scale(30)));
    mproc_obj_free(none);
  }
  MPT_OK(mproc_queue_join(a.q, mpt_scale(30)));
  mpt_join_all(cons, JQ_CONSUMERS);
  MPT_ERR(mproc_queue_task_done(a.q), MPROC_ESTATE);
  MPT_OK(mproc_queue_join(a.q, 0));

  mproc_event_free(a.holding);
  mproc_event_free(a.finish);
  mproc_semaphore_free(a.done);
  mproc_array_free(arr);
  mproc_queue_free(a.q);
}

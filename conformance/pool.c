/* Conformance: Pool (map, map_async, apply, apply_async, starmap, imap,
 * imap_unordered, callbacks, initializer, chunking, maxtasksperchild,
 * close/terminate/join) and what happens when tasks fail or workers die. */
#define _GNU_SOURCE
#define MPT_SUITE "pool"
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Shared state: created by a test before its pool, so every worker (a fork */
/* of the test process) inherits it.                                        */
/* ------------------------------------------------------------------------ */

#define NGATES 8

static mproc_event *gates[NGATES];   /* a gated task waits for gates[i] */
static mproc_event *started[NGATES]; /* ... after setting started[i] */
static mproc_barrier *meeting;       /* tasks that must run concurrently */
static int64_t *slots;               /* per-item observations (mpt_scratch) */

static void gates_new(void)
{
  for (int i = 0; i < NGATES; i++) {
    MPT_OK(mproc_event_new(&gates[i]));
    MPT_OK(mproc_event_new(&started[i]));
  }
}

static void gates_free(void)
{
  for (int i = 0; i < NGATES; i++) {
    mproc_event_free(gates[i]);
    mproc_event_free(started[i]);
    gates[i] = started[i] = NULL;
  }
}

/* The test's own process and thread, to tell where callbacks run. */
static pid_t test_pid;
static pthread_t test_thread;

static void remember_caller(void)
{
  test_pid = getpid();
  test_thread = pthread_self();
}

/* Workers are forked by the pool's result thread, at any time.  Such a
 * child has no copy of the test thread's registers, so a block the test
 * holds only in a register looks lost to Valgrind's leak check when the
 * worker exits (and a worker with errors exits with Valgrind's error
 * code).  What the tests allocate is therefore also kept here, in static
 * storage. */
#define NANCHORS 64
static void *volatile anchors[NANCHORS]; /* never read: volatile keeps the stores */
static unsigned nanchors;

static void *anchor(void *p)
{
  anchors[nanchors++ % NANCHORS] = p;
  return p;
}

/* ------------------------------------------------------------------------ */
/* Tasks (run in the workers: they report problems through their result,   */
/* never through assertions)                                                */
/* ------------------------------------------------------------------------ */

#define BAD_ARG 90 /* a task's code for "my argument has the wrong shape" */

#define TASK_INT(arg, x)                                                      \
  do {                                                                        \
    if (mproc_obj_get_int((arg), &(x)) != 0)                                  \
      return mproc_task_fail(BAD_ARG, "argument is not an int");              \
  } while (0)

/* Sleeping only makes a task slow; it never orders events. */
static void task_sleep(double seconds)
{
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static int square(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  *result = mproc_obj_int(x * x);
  return 0;
}

static int increment(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  *result = mproc_obj_int(x + 1);
  return 0;
}

/* [x * x, pid of the worker] */
static int square_with_pid(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  *result = mproc_obj_list();
  mproc_obj_list_append(*result, mproc_obj_int(x * x));
  mproc_obj_list_append(*result, mproc_obj_int(getpid()));
  return 0;
}

/* x * 2, recording the worker's pid in slots[x]. */
static int twice_recording_pid(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  slots[x] = getpid();
  *result = mproc_obj_int(x * 2);
  return 0;
}

/* EX-000-02's cpu_intensive: sum(i * i for i in range(n)). */
static int64_t sum_of_squares(int64_t n)
{
  int64_t s = 0;
  for (int64_t i = 0; i < n; i++)
    s += i * i;
  return s;
}

static int cpu_intensive(const mproc_obj *arg, mproc_obj **result)
{
  int64_t n;
  TASK_INT(arg, n);
  *result = mproc_obj_int(sum_of_squares(n));
  return 0;
}

/* starmap tasks: the argument is the list of arguments. */
static int pair(const mproc_obj *arg, int64_t *a, int64_t *b)
{
  if (mproc_obj_len(arg) != 2 ||
      mproc_obj_get_int(mproc_obj_list_get(arg, 0), a) != 0 ||
      mproc_obj_get_int(mproc_obj_list_get(arg, 1), b) != 0)
    return mproc_task_fail(BAD_ARG, "argument is not a pair of ints");
  return 0;
}

static int multiply(const mproc_obj *arg, mproc_obj **result)
{
  int64_t a, b;
  int rc = pair(arg, &a, &b);
  if (rc != 0)
    return rc;
  *result = mproc_obj_int(a * b);
  return 0;
}

static int add(const mproc_obj *arg, mproc_obj **result)
{
  int64_t a, b;
  int rc = pair(arg, &a, &b);
  if (rc != 0)
    return rc;
  *result = mproc_obj_int(a + b);
  return 0;
}

/* EX-000-12's process_chunk: the list doubled; records the worker's pid in
 * slots[first item / 100]. */
static int double_chunk(const mproc_obj *arg, mproc_obj **result)
{
  size_t n = mproc_obj_len(arg);
  int64_t first;
  if (mproc_obj_type_of(arg) != MPROC_OBJ_LIST || n == 0 ||
      mproc_obj_get_int(mproc_obj_list_get(arg, 0), &first) != 0)
    return mproc_task_fail(BAD_ARG, "argument is not a list of ints");
  slots[first / 100] = getpid();
  *result = mproc_obj_list();
  for (size_t i = 0; i < n; i++) {
    int64_t x;
    TASK_INT(mproc_obj_list_get(arg, i), x);
    mproc_obj_list_append(*result, mproc_obj_int(2 * x));
  }
  return 0;
}

/* EX-002-15/16 and EX-002-18: arg [name, delay]; sleeps delay * 0.1 s
 * (the document's seconds, shortened) and returns "任务 <name> 完成".
 * Records its start time (ns of CLOCK_MONOTONIC) and pid in slots[2 * k]
 * and slots[2 * k + 1], k being the digit at the end of the name. */
static int named_task(const mproc_obj *arg, mproc_obj **result)
{
  const char *name = mproc_obj_str_value(mproc_obj_list_get(arg, 0));
  int64_t delay;
  char text[64];
  size_t len;
  if (name == NULL || (len = strlen(name)) == 0 ||
      mproc_obj_get_int(mproc_obj_list_get(arg, 1), &delay) != 0)
    return mproc_task_fail(BAD_ARG, "argument is not [name, delay]");
  if (slots != NULL && name[len - 1] >= '0' && name[len - 1] <= '9') {
    int k = name[len - 1] - '0';
    slots[2 * k] = (int64_t)(mpt_now() * 1e9);
    slots[2 * k + 1] = getpid();
  }
  task_sleep((double)delay * 0.1);
  snprintf(text, sizeof text, "任务 %s 完成", name);
  *result = mproc_obj_str(text);
  return 0;
}

/* Sets started[i], waits for gates[i], returns i. */
static int gated(const mproc_obj *arg, mproc_obj **result)
{
  int64_t i;
  TASK_INT(arg, i);
  if (i < 0 || i >= NGATES)
    return mproc_task_fail(BAD_ARG, "no gate %lld", (long long)i);
  mproc_event_set(started[i]);
  if (mproc_event_wait(gates[i], mpt_scale(30)) != 0)
    return mproc_task_fail(91, "gate %lld was never opened", (long long)i);
  *result = mproc_obj_int(i);
  return 0;
}

/* Waits at `meeting` (so the tasks must run at the same time) and returns
 * the worker's pid. */
static int meet(const mproc_obj *arg, mproc_obj **result)
{
  (void)arg;
  int rc = mproc_barrier_wait(meeting, mpt_scale(30), NULL);
  if (rc != 0)
    return mproc_task_fail(92, "barrier wait: %s", mproc_err_name(rc));
  *result = mproc_obj_int(getpid());
  return 0;
}

/* Sleeps arg seconds (a float). */
static int slow(const mproc_obj *arg, mproc_obj **result)
{
  double s;
  (void)result;
  if (mproc_obj_get_float(arg, &s) != 0)
    return mproc_task_fail(BAD_ARG, "argument is not a float");
  task_sleep(s);
  return 0;
}

/* EX-000-14's risky_function: x * 2, but fails with code 22 for 5. */
static int risky(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  if (x == 5)
    return mproc_task_fail(22, "Bad value: %lld", (long long)x);
  *result = mproc_obj_int(x * 2);
  return 0;
}

/* x, except for 3: a list nested deeper than MPROC_OBJ_MAX_DEPTH. */
static int too_deep_for_3(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  if (x != 3) {
    *result = mproc_obj_int(x);
    return 0;
  }
  mproc_obj *o = mproc_obj_int(3);
  for (int d = 0; d < MPROC_OBJ_MAX_DEPTH + 8; d++) {
    mproc_obj *l = mproc_obj_list();
    mproc_obj_list_append(l, o);
    o = l;
  }
  *result = o;
  return 0;
}

/* Records the worker's pid in slots[0], then dies: arg 0 by SIGKILL, 1 by
 * _exit(3). */
static int die(const mproc_obj *arg, mproc_obj **result)
{
  int64_t how;
  (void)result;
  TASK_INT(arg, how);
  slots[0] = getpid();
  if (how == 0)
    raise(SIGKILL);
  _exit(3);
}

/* ------------------------------------------------------------------------ */
/* Helpers for the test process                                             */
/* ------------------------------------------------------------------------ */

static mproc_pool *pool_new(unsigned processes)
{
  mproc_pool *p = NULL;
  mproc_pool_options o = {0};
  o.processes = processes;
  MPT_OK(mproc_pool_new(&p, &o));
  ck_assert_ptr_nonnull(p);
  return anchor(p);
}

/* close, then join (bounded), then free. */
static void pool_finish(mproc_pool *p)
{
  MPT_OK(mproc_pool_close(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(30)));
  mproc_pool_free(p);
}

static mproc_obj *range(int64_t n)
{
  mproc_obj *l = anchor(mproc_obj_list());
  ck_assert_ptr_nonnull(l);
  for (int64_t i = 0; i < n; i++)
    MPT_OK(mproc_obj_list_append(l, mproc_obj_int(i)));
  return l;
}

/* [[a0, b0], [a1, b1], ...] */
static mproc_obj *pairs(const int64_t (*v)[2], size_t n)
{
  mproc_obj *l = anchor(mproc_obj_list());
  for (size_t i = 0; i < n; i++) {
    mproc_obj *p = mproc_obj_list();
    MPT_OK(mproc_obj_list_append(p, mproc_obj_int(v[i][0])));
    MPT_OK(mproc_obj_list_append(p, mproc_obj_int(v[i][1])));
    MPT_OK(mproc_obj_list_append(l, p));
  }
  return l;
}

static int64_t int_of(const mproc_obj *o)
{
  int64_t v = 0;
  ck_assert_msg(mproc_obj_get_int(o, &v) == 0,
                "expected an int, got an object of type %d",
                (int)mproc_obj_type_of(o));
  return v;
}

static int64_t sq(int64_t x) { return x * x; }
static int64_t dbl(int64_t x) { return 2 * x; }
static int64_t inc(int64_t x) { return x + 1; }

/* Fails unless `got` is the list [f(0), f(1), ..., f(n - 1)]; names the
 * first difference. */
static void expect_ints(const mproc_obj *got, size_t n, int64_t (*f)(int64_t))
{
  ck_assert_msg(mproc_obj_type_of(got) == MPROC_OBJ_LIST,
                "expected a list, got an object of type %d",
                (int)mproc_obj_type_of(got));
  ck_assert_msg(mproc_obj_len(got) == n, "expected %zu results, got %zu", n,
                mproc_obj_len(got));
  for (size_t i = 0; i < n; i++) {
    int64_t v = 0;
    int rc = mproc_obj_get_int(mproc_obj_list_get(got, i), &v);
    ck_assert_msg(rc == 0 && v == f((int64_t)i),
                  "result %zu is %lld (%s), expected %lld", i, (long long)v,
                  rc == 0 ? "an int" : "not an int",
                  (long long)f((int64_t)i));
  }
}

/* Fails unless `got` equals the ints want[0..n). */
static void expect_list(const mproc_obj *got, const int64_t *want, size_t n)
{
  mproc_obj *w = mproc_obj_list();
  for (size_t i = 0; i < n; i++)
    MPT_OK(mproc_obj_list_append(w, mproc_obj_int(want[i])));
  if (!mproc_obj_equal(got, w)) {
    char *a = mproc_obj_repr(got), *b = mproc_obj_repr(w);
    ck_abort_msg("got %s, expected %s", a ? a : "?", b ? b : "?");
  }
  mproc_obj_free(w);
}

/* get with a bounded wait; fails the test unless it succeeds. */
static mproc_obj *get_ok(mproc_async_result *r)
{
  mproc_obj *v = NULL;
  mproc_task_error err;
  memset(&err, 0, sizeof err);
  int rc = mproc_async_result_get(r, mpt_scale(30), &v, &err);
  ck_assert_msg(rc == 0, "get returned %s (task error %d: %s), expected OK",
                mproc_err_name(rc), err.code, err.message);
  return v;
}

static void wait_started(int i)
{
  ck_assert_msg(mproc_event_wait(started[i], mpt_scale(30)) == 0,
                "gated task %d never started", i);
}

static bool pid_in(pid_t pid, const int64_t *set, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (set[i] == pid)
      return true;
  return false;
}

/* Number of distinct values among v[0..n). */
static size_t distinct(const int64_t *v, size_t n)
{
  size_t d = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < i && v[j] != v[i])
      j++;
    d += j == i;
  }
  return d;
}

/* Every child of the test process has been reaped. */
static void expect_no_child(void)
{
  errno = 0;
  pid_t r = waitpid(-1, NULL, WNOHANG);
  ck_assert_msg(r == -1 && errno == ECHILD,
                "waitpid(-1, WNOHANG) returned %ld (%s): a worker is left",
                (long)r, strerror(errno));
}

/* What callbacks saw.  Callbacks run one at a time in the pool's result
 * thread; the test reads this after a get, a wait or a join, which order
 * it after the callbacks. */
struct cb_log {
  int results, errors;
  int other_process;  /* calls outside the test's process */
  int caller_thread;  /* calls in the test's own thread */
  mproc_obj *last;    /* a copy of the last result */
  int64_t sum;        /* sum of int results */
  mproc_task_error err; /* the last error */
};

static void note_context(struct cb_log *l)
{
  if (getpid() != test_pid)
    l->other_process++;
  if (pthread_equal(pthread_self(), test_thread))
    l->caller_thread++;
}

static void log_result(const mproc_obj *r, void *ud)
{
  struct cb_log *l = ud;
  int64_t v;
  note_context(l);
  l->results++;
  mproc_obj_free(l->last);
  l->last = mproc_obj_copy(r);
  if (mproc_obj_get_int(r, &v) == 0)
    l->sum += v;
}

static void log_error(const mproc_task_error *err, void *ud)
{
  struct cb_log *l = ud;
  note_context(l);
  l->errors++;
  l->err = *err;
}

static void expect_in_parent_result_thread(const struct cb_log *l)
{
  ck_assert_msg(l->other_process == 0,
                "%d callbacks ran outside the test's process",
                l->other_process);
  ck_assert_msg(l->caller_thread == 0,
                "%d callbacks ran in the calling thread", l->caller_thread);
}

/* ------------------------------------------------------------------------ */
/* map, apply, starmap: the documents' examples                             */
/* ------------------------------------------------------------------------ */

MPT_TEST(pool_map_squares_range10_gives_ten_results_in_order, "EX-003-03 EX-001-02",
         "Pool(4).map(square, range(10)) returns the ten squares [0, 1, 4, "
         "..., 81] in input order (not the five the document prints).")
{
  mproc_pool *p = pool_new(4);
  mproc_obj *args = range(10), *res = NULL;
  mproc_task_error err;
  MPT_OK(mproc_pool_map(p, square, args, 0, &res, &err));
  expect_ints(res, 10, sq);
  mproc_obj_free(res);
  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST(pool_map_map_async_apply_apply_async_agree_on_cpu_work, "EX-000-02",
         "With Pool(4), map over [1000000] * 8, map_async(...).get(timeout=10), "
         "apply and apply_async(...).get() of cpu_intensive all give "
         "sum(i * i for i in range(1000000)).")
{
  const int64_t n = 1000000, want = sum_of_squares(n);
  int64_t wants[8];
  mproc_pool *p = pool_new(4);
  mproc_obj *args = mproc_obj_list(), *arg = mproc_obj_int(n), *res = NULL;
  mproc_async_result *r;
  for (int i = 0; i < 8; i++) {
    wants[i] = want;
    MPT_OK(mproc_obj_list_append(args, mproc_obj_int(n)));
  }

  MPT_OK(mproc_pool_map(p, cpu_intensive, args, 0, &res, NULL));
  expect_list(res, wants, 8);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_map_async(p, cpu_intensive, args, 0, NULL, &r));
  MPT_OK(mproc_async_result_get(r, mpt_scale(10), &res, NULL));
  expect_list(res, wants, 8);
  mproc_obj_free(res);
  mproc_async_result_free(r);

  MPT_OK(mproc_pool_apply(p, cpu_intensive, arg, &res, NULL));
  ck_assert_int_eq(int_of(res), want);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_apply_async(p, cpu_intensive, arg, NULL, &r));
  res = get_ok(r);
  ck_assert_int_eq(int_of(res), want);
  mproc_obj_free(res);
  mproc_async_result_free(r);

  mproc_obj_free(arg);
  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST(pool_apply_blocks_until_the_task_is_done, "EX-002-18 EX-000-02",
         "apply returns only after its task ran to the end, so the task of a "
         "second apply starts after the first apply returned.")
{
  mproc_array *arr;
  mproc_pool *p;
  mproc_obj *a1 = mproc_obj_list(), *a2 = mproc_obj_list(), *res = NULL;
  double t0, t1;
  slots = mpt_scratch(&arr, 8);
  p = pool_new(2);
  MPT_OK(mproc_obj_list_append(a1, mproc_obj_str("Task-1")));
  MPT_OK(mproc_obj_list_append(a1, mproc_obj_int(2)));
  MPT_OK(mproc_obj_list_append(a2, mproc_obj_str("Task-2")));
  MPT_OK(mproc_obj_list_append(a2, mproc_obj_int(3)));

  t0 = mpt_now();
  MPT_OK(mproc_pool_apply(p, named_task, a1, &res, NULL));
  t1 = mpt_now();
  ck_assert_str_eq(mproc_obj_str_value(res), "任务 Task-1 完成");
  mproc_obj_free(res);
  MPT_ELAPSED_WITHIN(t1 - t0, 0.2, mpt_scale(30));

  MPT_OK(mproc_pool_apply(p, named_task, a2, &res, NULL));
  ck_assert_str_eq(mproc_obj_str_value(res), "任务 Task-2 完成");
  mproc_obj_free(res);
  ck_assert_msg((double)slots[2 * 2] / 1e9 >= t1,
                "Task-2 started %.6fs before the first apply returned",
                t1 - (double)slots[2 * 2] / 1e9);

  mproc_obj_free(a1);
  mproc_obj_free(a2);
  pool_finish(p);
  mproc_array_free(arr);
  slots = NULL;
}

MPT_TEST(pool_apply_and_apply_async_callback_in_parent_before_join_returns, "EX-001-03 EX-004-02",
         "apply(worker, 10) gives 100; apply_async(worker, 20) with a callback "
         "gives 400 to the callback, which runs once in the test's process but "
         "not in its thread, and has run when close + join return.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(2);
  mproc_obj *ten = mproc_obj_int(10), *twenty = mproc_obj_int(20), *res;
  mproc_async_result *r;
  remember_caller();

  MPT_OK(mproc_pool_apply(p, square, ten, &res, NULL));
  ck_assert_int_eq(int_of(res), 100);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_apply_async(p, square, twenty, &cb, &r));
  MPT_OK(mproc_pool_close(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(30)));
  ck_assert_int_eq(log.results, 1);
  ck_assert_int_eq(log.errors, 0);
  ck_assert_int_eq(int_of(log.last), 400);
  expect_in_parent_result_thread(&log);
  ck_assert(mproc_async_result_ready(r));
  res = get_ok(r);
  ck_assert_int_eq(int_of(res), 400);
  mproc_obj_free(res);

  mproc_async_result_free(r);
  mproc_obj_free(log.last);
  mproc_obj_free(ten);
  mproc_obj_free(twenty);
  mproc_pool_free(p);
}

MPT_TEST(pool_three_apply_async_run_in_parallel_get_in_submission_order, "EX-002-15",
         "Pool(3) with three apply_async tasks runs them at the same time on "
         "three workers; get returns each task's own result in submission "
         "order.")
{
  static const char *const names[3] = {"Task-1", "Task-2", "Task-3"};
  mproc_async_result *r[3];
  mproc_obj *none = mproc_obj_none();
  int64_t pids[3];
  mproc_pool *p;
  MPT_OK(mproc_barrier_new(&meeting, 3, NULL, NULL, MPROC_FOREVER));
  p = pool_new(3);
  for (int i = 0; i < 3; i++)
    MPT_OK(mproc_pool_apply_async(p, meet, none, NULL, &r[i]));
  for (int i = 0; i < 3; i++) {
    mproc_obj *res = get_ok(r[i]);
    pids[i] = int_of(res);
    mproc_obj_free(res);
    mproc_async_result_free(r[i]);
  }
  ck_assert_int_eq(distinct(pids, 3), 3);

  /* The document's task(name, seconds), results in submission order. */
  for (int i = 0; i < 3; i++) {
    mproc_obj *a = mproc_obj_list();
    MPT_OK(mproc_obj_list_append(a, mproc_obj_str(names[i])));
    MPT_OK(mproc_obj_list_append(a, mproc_obj_int(i == 1 ? 1 : 2)));
    MPT_OK(mproc_pool_apply_async(p, named_task, a, NULL, &r[i]));
    mproc_obj_free(a);
  }
  for (int i = 0; i < 3; i++) {
    char want[64];
    mproc_obj *res = get_ok(r[i]);
    snprintf(want, sizeof want, "任务 %s 完成", names[i]);
    ck_assert_str_eq(mproc_obj_str_value(res), want);
    mproc_obj_free(res);
    mproc_async_result_free(r[i]);
  }
  mproc_obj_free(none);
  pool_finish(p);
  mproc_barrier_free(meeting);
  meeting = NULL;
}

MPT_TEST(pool_map_async_callback_receives_the_whole_list_once, "EX-001-04",
         "map(worker, range(10)) returns the squares; map_async with a "
         "callback calls it exactly once, with the whole list of squares, "
         "before join returns.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(4);
  mproc_obj *args = range(10), *res = NULL;
  mproc_async_result *r;
  remember_caller();

  MPT_OK(mproc_pool_map(p, square, args, 0, &res, NULL));
  expect_ints(res, 10, sq);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_map_async(p, square, args, 0, &cb, &r));
  MPT_OK(mproc_pool_close(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(30)));
  ck_assert_int_eq(log.results, 1);
  ck_assert_int_eq(log.errors, 0);
  expect_ints(log.last, 10, sq);
  expect_in_parent_result_thread(&log);
  res = get_ok(r);
  expect_ints(res, 10, sq);
  mproc_obj_free(res);

  mproc_async_result_free(r);
  mproc_obj_free(log.last);
  mproc_obj_free(args);
  mproc_pool_free(p);
}

MPT_TEST(pool_starmap_and_starmap_async_unpack_argument_pairs, "EX-001-05 EX-000-02",
         "starmap over [(1, 2), (3, 4), (5, 6)] gives [2, 12, 30] for "
         "multiplication and [3, 7, 11] for addition; starmap_async hands "
         "[2, 12, 30] to its callback once.")
{
  static const int64_t in[3][2] = {{1, 2}, {3, 4}, {5, 6}};
  static const int64_t products[3] = {2, 12, 30}, sums[3] = {3, 7, 11};
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(4);
  mproc_obj *args = pairs(in, 3), *res = NULL;
  mproc_async_result *r;
  remember_caller();

  MPT_OK(mproc_pool_starmap(p, multiply, args, 0, &res, NULL));
  expect_list(res, products, 3);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_starmap(p, add, args, 0, &res, NULL));
  expect_list(res, sums, 3);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_starmap_async(p, multiply, args, 0, &cb, &r));
  res = get_ok(r);
  expect_list(res, products, 3);
  mproc_obj_free(res);
  ck_assert_int_eq(log.results, 1);
  ck_assert_int_eq(log.errors, 0);
  expect_list(log.last, products, 3);
  expect_in_parent_result_thread(&log);

  mproc_async_result_free(r);
  mproc_obj_free(log.last);
  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST(pool_map_chunksize_2_over_ten_lists_flattens_to_doubles, "EX-000-12",
         "map(process_chunk, ten lists of 100 numbers, chunksize=2) returns "
         "ten lists whose concatenation is [2 * x for x in range(1000)]; the "
         "two lists of each chunk run in the same worker.")
{
  mproc_array *arr;
  mproc_pool *p;
  mproc_obj *lists = mproc_obj_list(), *res = NULL;
  slots = mpt_scratch(&arr, 10);
  p = pool_new(4);
  for (int64_t i = 0; i < 1000; i += 100) {
    mproc_obj *l = mproc_obj_list();
    for (int64_t x = i; x < i + 100; x++)
      MPT_OK(mproc_obj_list_append(l, mproc_obj_int(x)));
    MPT_OK(mproc_obj_list_append(lists, l));
  }
  MPT_OK(mproc_pool_map(p, double_chunk, lists, 2, &res, NULL));
  ck_assert_uint_eq(mproc_obj_len(res), 10);
  for (size_t i = 0; i < 10; i++) {
    const mproc_obj *l = mproc_obj_list_get(res, i);
    ck_assert_uint_eq(mproc_obj_len(l), 100);
    for (size_t k = 0; k < 100; k++)
      ck_assert_int_eq(int_of(mproc_obj_list_get(l, k)),
                       2 * (int64_t)(100 * i + k));
  }
  for (int c = 0; c < 5; c++) {
    ck_assert_int_ne(slots[2 * c], 0);
    ck_assert_msg(slots[2 * c] == slots[2 * c + 1],
                  "lists %d and %d of one chunk ran in workers %lld and %lld",
                  2 * c, 2 * c + 1, (long long)slots[2 * c],
                  (long long)slots[2 * c + 1]);
  }
  mproc_obj_free(res);
  mproc_obj_free(lists);
  pool_finish(p);
  mproc_array_free(arr);
  slots = NULL;
}

/* ------------------------------------------------------------------------ */
/* Initializer, pool size, worker recycling                                 */
/* ------------------------------------------------------------------------ */

/* Appends the worker's pid to the locked array: [count, pid, pid, ...]. */
static int record_init(void *arg)
{
  mproc_array *a = arg;
  int64_t *d = mproc_array_data(a);
  int rc = mproc_lock_acquire(mproc_array_get_lock(a), mpt_scale(30));
  if (rc != 0 && rc != MPROC_EOWNERDEAD)
    return 1;
  if (d[0] + 1 < (int64_t)mproc_array_length(a))
    d[1 + d[0]] = getpid();
  d[0]++;
  mproc_lock_release(mproc_array_get_lock(a));
  return 0;
}

MPT_TEST(pool_initializer_runs_exactly_once_in_each_worker, "EX-000-11",
         "With Pool(4, initializer), the initializer runs once in each of the "
         "four workers before any task: four runs in four distinct pids, and "
         "every pid that ran a task ran the initializer; map gives [0, 2, "
         "..., 18].")
{
  mproc_array *inits, *arr;
  mproc_pool_options o = {0};
  mproc_pool *p = NULL;
  mproc_obj *args = range(10), *res = NULL;
  int64_t *d;
  MPT_OK(mproc_array_new(&inits, 'q', 1 + 64, NULL, NULL));
  d = mproc_array_data(inits);
  slots = mpt_scratch(&arr, 10);
  o.processes = 4;
  o.initializer = record_init;
  o.initarg = inits;
  MPT_OK(mproc_pool_new(&p, &o));
  MPT_OK(mproc_pool_map(p, twice_recording_pid, args, 1, &res, NULL));
  expect_ints(res, 10, dbl);
  mproc_obj_free(res);
  pool_finish(p); /* every worker has run its initializer and exited */

  ck_assert_int_eq(d[0], 4);
  ck_assert_int_eq(distinct(d + 1, 4), 4);
  for (int i = 0; i < 10; i++)
    ck_assert_msg(pid_in((pid_t)slots[i], d + 1, 4),
                  "item %d ran in pid %lld, which never ran the initializer",
                  i, (long long)slots[i]);
  mproc_obj_free(args);
  mproc_array_free(arr);
  mproc_array_free(inits);
  slots = NULL;
}

static int failing_init(void *arg)
{
  (void)arg;
  return mproc_task_fail(7, "cannot open the database");
}

MPT_TEST(pool_failing_initializer_breaks_pool_ebroken, "EX-000-11",
         "An initializer that returns non-zero breaks the pool: a submitted "
         "task fails with EBROKEN (no hang) and later submissions give "
         "EBROKEN.")
{
  mproc_pool_options o = {0};
  mproc_pool *p = NULL;
  mproc_async_result *r = NULL;
  mproc_obj *arg = mproc_obj_int(3), *res = NULL;
  mproc_task_error err;
  int rc;
  o.processes = 2;
  o.initializer = failing_init;
  MPT_OK(mproc_pool_new(&p, &o));
  rc = mproc_pool_apply_async(p, square, arg, NULL, &r);
  if (rc == 0) {
    memset(&err, 0, sizeof err);
    rc = mproc_async_result_get(r, mpt_scale(30), &res, &err);
    ck_assert_msg(rc == MPROC_EBROKEN && err.code == MPROC_EBROKEN,
                  "get returned %s, err.code %s (%s), expected EBROKEN",
                  mproc_err_name(rc), mproc_err_name(err.code), err.message);
    mproc_async_result_free(r);
  } else {
    MPT_ERR(rc, MPROC_EBROKEN);
  }
  MPT_ERR(mproc_pool_apply_async(p, square, arg, NULL, &r), MPROC_EBROKEN);
  mproc_obj_free(arg);
  pool_finish(p);
  expect_no_child();
}

MPT_TEST(pool_default_size_is_cpu_count, "EX-003-12 EX-004-02",
         "Pool() (processes 0) has mproc_cpu_count() workers: that many tasks "
         "can meet at a barrier, and map(square, range(100)) is right and "
         "runs in at most cpu_count distinct pids.")
{
  int ncpu = mproc_cpu_count();
  mproc_pool *p;
  mproc_obj *args = range(100), *meets = range(ncpu), *res = NULL;
  int64_t pids[100];
  ck_assert_int_ge(ncpu, 1);
  MPT_OK(mproc_barrier_new(&meeting, (unsigned)ncpu, NULL, NULL,
                           MPROC_FOREVER));
  p = pool_new(0);

  MPT_OK(mproc_pool_map(p, meet, meets, 1, &res, NULL));
  ck_assert_uint_eq(mproc_obj_len(res), (size_t)ncpu);
  mproc_obj_free(res);

  MPT_OK(mproc_pool_map(p, square_with_pid, args, 0, &res, NULL));
  ck_assert_uint_eq(mproc_obj_len(res), 100);
  for (size_t i = 0; i < 100; i++) {
    const mproc_obj *it = mproc_obj_list_get(res, i);
    ck_assert_int_eq(int_of(mproc_obj_list_get(it, 0)), (int64_t)(i * i));
    pids[i] = int_of(mproc_obj_list_get(it, 1));
  }
  ck_assert_uint_le(distinct(pids, 100), (size_t)ncpu);
  mproc_obj_free(res);

  mproc_obj_free(args);
  mproc_obj_free(meets);
  pool_finish(p);
  mproc_barrier_free(meeting);
  meeting = NULL;
}

MPT_TEST(pool_default_apply_async_results_valid_after_close_join, "EX-004-02",
         "With Pool(), ten apply_async(work, i), then close and join: every "
         "result is ready and gives i ** 2, from at most cpu_count distinct "
         "workers.")
{
  mproc_pool *p = pool_new(0);
  mproc_async_result *r[10];
  int64_t pids[10];
  for (int i = 0; i < 10; i++) {
    mproc_obj *a = mproc_obj_int(i);
    MPT_OK(mproc_pool_apply_async(p, square_with_pid, a, NULL, &r[i]));
    mproc_obj_free(a);
  }
  MPT_OK(mproc_pool_close(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(30)));
  for (int i = 0; i < 10; i++) {
    mproc_obj *res = NULL;
    bool ok = false;
    ck_assert(mproc_async_result_ready(r[i]));
    MPT_OK(mproc_async_result_successful(r[i], &ok));
    ck_assert(ok);
    MPT_OK(mproc_async_result_get(r[i], 0, &res, NULL));
    ck_assert_int_eq(int_of(mproc_obj_list_get(res, 0)), i * i);
    pids[i] = int_of(mproc_obj_list_get(res, 1));
    mproc_obj_free(res);
    mproc_async_result_free(r[i]);
  }
  ck_assert_uint_le(distinct(pids, 10), (size_t)mproc_cpu_count());
  mproc_pool_free(p);
  expect_no_child();
}

/* res is the map of square_with_pid over range(n): [[i * i, pid], ...];
 * stores the worker pids in pids[0..n). */
static void expect_squares_with_pids(const mproc_obj *res, size_t n,
                                     int64_t *pids)
{
  ck_assert_uint_eq(mproc_obj_len(res), n);
  for (size_t i = 0; i < n; i++) {
    const mproc_obj *it = mproc_obj_list_get(res, i);
    ck_assert_int_eq(int_of(mproc_obj_list_get(it, 0)), (int64_t)(i * i));
    pids[i] = int_of(mproc_obj_list_get(it, 1));
  }
}

MPT_TEST(pool_maxtasksperchild_1_recycles_workers_strands_nothing, "EX-004-02",
         "With two workers and maxtasksperchild=1, eight tasks (map with "
         "chunksize 1, then eight apply_async) all complete with the right "
         "results, in more than two distinct worker pids.")
{
  mproc_pool_options o = {0};
  mproc_pool *p = NULL;
  mproc_obj *args = range(8), *res = NULL;
  mproc_async_result *r[8];
  int64_t pids[8];
  o.processes = 2;
  o.maxtasksperchild = 1;
  MPT_OK(mproc_pool_new(&p, &o));

  MPT_OK(mproc_pool_map(p, square_with_pid, args, 1, &res, NULL));
  expect_squares_with_pids(res, 8, pids);
  ck_assert_uint_gt(distinct(pids, 8), 2);
  mproc_obj_free(res);

  for (int i = 0; i < 8; i++)
    MPT_OK(mproc_pool_apply_async(p, square_with_pid, mproc_obj_list_get(args, i),
                                  NULL, &r[i]));
  for (int i = 0; i < 8; i++) {
    res = get_ok(r[i]);
    ck_assert_int_eq(int_of(mproc_obj_list_get(res, 0)), i * i);
    pids[i] = int_of(mproc_obj_list_get(res, 1));
    mproc_obj_free(res);
    mproc_async_result_free(r[i]);
  }
  ck_assert_uint_gt(distinct(pids, 8), 2);

  mproc_obj_free(args);
  pool_finish(p);
  expect_no_child();
}

MPT_TEST(pool_map_chunk_runs_in_one_worker_maxtasksperchild_counts_chunks, "EX-000-12 EX-004-02",
         "With maxtasksperchild=1, map over eight items with chunksize 4 "
         "runs each chunk of four in one worker: items 0-3 share a worker "
         "pid, items 4-7 share another.")
{
  mproc_pool_options o = {0};
  mproc_pool *p = NULL;
  mproc_obj *args = range(8), *res = NULL;
  int64_t pids[8];
  o.processes = 2;
  o.maxtasksperchild = 1;
  MPT_OK(mproc_pool_new(&p, &o));
  MPT_OK(mproc_pool_map(p, square_with_pid, args, 4, &res, NULL));
  expect_squares_with_pids(res, 8, pids);
  for (size_t i = 0; i < 8; i++)
    ck_assert_msg(pids[i] == pids[i < 4 ? 0 : 4], "item %zu ran in worker "
                  "%lld, the first of its chunk in %lld", i,
                  (long long)pids[i], (long long)pids[i < 4 ? 0 : 4]);
  ck_assert_int_ne(pids[0], pids[4]);
  mproc_obj_free(res);
  mproc_obj_free(args);
  pool_finish(p);
  expect_no_child();
}

/* ------------------------------------------------------------------------ */
/* imap, imap_unordered, (name, delay) tuples, progress callbacks           */
/* ------------------------------------------------------------------------ */

static const int release_order[4] = {2, 0, 3, 1};

MPT_TEST(pool_imap_unordered_yields_in_completion_order_each_once, "EX-002-17",
         "imap_unordered over four gated tasks yields each result exactly "
         "once, in the order the tasks were let finish (2, 0, 3, 1), then "
         "EEOF.")
{
  mproc_pool *p;
  mproc_imap *it;
  mproc_obj *args = range(4), *res;
  gates_new();
  p = pool_new(4);
  MPT_OK(mproc_pool_imap_unordered(p, gated, args, 1, &it));
  for (int k = 0; k < 4; k++) {
    int i = release_order[k];
    wait_started(i);
    MPT_OK(mproc_event_set(gates[i]));
    res = NULL;
    MPT_OK(mproc_imap_next(it, mpt_scale(30), &res, NULL));
    ck_assert_msg(int_of(res) == i, "result %d was item %lld, expected %d", k,
                  (long long)int_of(res), i);
    mproc_obj_free(res);
  }
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_obj_free(args);
  pool_finish(p);
  gates_free();
}

MPT_TEST(pool_imap_yields_in_input_order_waiting_for_earlier_items, "EX-002-17",
         "imap over four gated tasks yields results in input order: item 2, "
         "finished first, is held back until items 0 and 1 are done; each "
         "result comes exactly once, then EEOF.")
{
  mproc_pool *p;
  mproc_imap *it;
  mproc_obj *args = range(4), *res = NULL;
  gates_new();
  p = pool_new(4);
  MPT_OK(mproc_pool_imap(p, gated, args, 1, &it));
  for (int i = 0; i < 4; i++)
    wait_started(i);

  /* Item 2 finishes first; item 0 is still running. */
  MPT_OK(mproc_event_set(gates[2]));
  MPT_ERR2(mproc_imap_next(it, 0.3, &res, NULL), MPROC_ETIMEDOUT,
           MPROC_EAGAIN);
  MPT_ERR(mproc_imap_next(it, 0, &res, NULL), MPROC_EAGAIN);

  MPT_OK(mproc_event_set(gates[0]));
  MPT_OK(mproc_imap_next(it, mpt_scale(30), &res, NULL));
  ck_assert_int_eq(int_of(res), 0);
  mproc_obj_free(res);
  MPT_ERR2(mproc_imap_next(it, 0.2, &res, NULL), MPROC_ETIMEDOUT,
           MPROC_EAGAIN);

  MPT_OK(mproc_event_set(gates[3]));
  MPT_OK(mproc_event_set(gates[1]));
  for (int i = 1; i < 4; i++) {
    res = NULL;
    MPT_OK(mproc_imap_next(it, mpt_scale(30), &res, NULL));
    ck_assert_int_eq(int_of(res), i);
    mproc_obj_free(res);
  }
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  MPT_ERR(mproc_imap_next(it, 0, &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);
  mproc_obj_free(args);
  pool_finish(p);
  gates_free();
}

MPT_TEST(pool_map_over_name_delay_tuples_results_in_input_order, "EX-002-16",
         "Pool(3).map over (name, delay) tuples returns the four results in "
         "input order; the fourth task runs on one of the three workers.")
{
  static const struct {
    const char *name;
    int delay;
  } tasks[4] = {{"Task-1", 2}, {"Task-2", 3}, {"Task-3", 1}, {"Task-4", 2}};
  mproc_array *arr;
  mproc_pool *p;
  mproc_obj *args = mproc_obj_list(), *res = NULL;
  int64_t pids[4];
  slots = mpt_scratch(&arr, 10);
  p = pool_new(3);
  for (int i = 0; i < 4; i++) {
    mproc_obj *t = mproc_obj_list();
    MPT_OK(mproc_obj_list_append(t, mproc_obj_str(tasks[i].name)));
    MPT_OK(mproc_obj_list_append(t, mproc_obj_int(tasks[i].delay)));
    MPT_OK(mproc_obj_list_append(args, t));
  }
  MPT_OK(mproc_pool_map(p, named_task, args, 1, &res, NULL));
  ck_assert_uint_eq(mproc_obj_len(res), 4);
  for (int i = 0; i < 4; i++) {
    char want[64];
    snprintf(want, sizeof want, "任务 %s 完成", tasks[i].name);
    ck_assert_str_eq(mproc_obj_str_value(mproc_obj_list_get(res, i)), want);
    pids[i] = slots[2 * (i + 1) + 1];
  }
  ck_assert_uint_le(distinct(pids, 4), 3);
  ck_assert(pid_in((pid_t)pids[3], pids, 3));
  mproc_obj_free(res);
  mproc_obj_free(args);
  pool_finish(p);
  mproc_array_free(arr);
  slots = NULL;
}

MPT_TEST(pool_progress_callback_counts_ten_completions_before_join_returns, "EX-004-03",
         "Ten apply_async with a counting callback on Pool(3): when close + "
         "join return the callback has run exactly ten times, in the test's "
         "process and not in its thread, and saw every result once.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(3);
  mproc_async_result *r[10];
  remember_caller();
  for (int i = 0; i < 10; i++) {
    mproc_obj *a = mproc_obj_int(i);
    MPT_OK(mproc_pool_apply_async(p, square, a, &cb, &r[i]));
    mproc_obj_free(a);
  }
  MPT_OK(mproc_pool_close(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(30)));
  ck_assert_int_eq(log.results, 10);
  ck_assert_int_eq(log.errors, 0);
  ck_assert_int_eq(log.sum, 285); /* 0 + 1 + 4 + ... + 81 */
  expect_in_parent_result_thread(&log);
  for (int i = 0; i < 10; i++) {
    mproc_obj *res = NULL;
    MPT_OK(mproc_async_result_get(r[i], 0, &res, NULL));
    ck_assert_int_eq(int_of(res), i * i);
    mproc_obj_free(res);
    mproc_async_result_free(r[i]);
  }
  mproc_obj_free(log.last);
  mproc_pool_free(p);
  expect_no_child();
}

/* ------------------------------------------------------------------------ */
/* Timeouts and terminate                                                   */
/* ------------------------------------------------------------------------ */

MPT_TEST(pool_get_timeout_on_slow_task_etimedout_then_terminate_cancels, "EX-000-13",
         "get(timeout=3) on a 10 s task gives ETIMEDOUT after 3 s; terminate "
         "returns at once, join completes well under a second later, and the "
         "result then fails with ECANCELLED.")
{
  mproc_pool *p = pool_new(2);
  mproc_obj *arg = mproc_obj_float(10.0 * mpt_scale(1)), *res = NULL;
  mproc_async_result *r;
  mproc_task_error err;
  bool ok = true;
  double t0, t1;
  int rc;

  MPT_OK(mproc_pool_apply_async(p, slow, arg, NULL, &r));
  t0 = mpt_now();
  rc = mproc_async_result_get(r, 3.0, &res, &err);
  MPT_ERR(rc, MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 3.0, 3.0 + mpt_scale(2));
  ck_assert(!mproc_async_result_ready(r));
  MPT_ERR(mproc_async_result_successful(r, &ok), MPROC_ESTATE);
  MPT_ERR(mproc_async_result_wait(r, 0), MPROC_EAGAIN);

  t0 = mpt_now();
  MPT_OK(mproc_pool_terminate(p));
  t1 = mpt_now();
  MPT_ELAPSED_WITHIN(t1 - t0, 0, mpt_scale(0.5));
  MPT_OK(mproc_pool_join(p, mpt_scale(5)));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1.0));

  MPT_ERR(mproc_async_result_get(r, 0, &res, &err), MPROC_ECANCELLED);
  ck_assert_int_eq(err.code, MPROC_ECANCELLED);
  ck_assert(mproc_async_result_ready(r));
  MPT_OK(mproc_async_result_successful(r, &ok));
  ck_assert(!ok);
  expect_no_child();

  mproc_async_result_free(r);
  mproc_obj_free(arg);
  mproc_pool_free(p);
}

MPT_TEST(pool_terminate_while_busy_cancels_running_and_queued_work, "EX-000-13",
         "terminate with two tasks running and more queued ends at once: "
         "every unfinished job (running or queued, apply or map) fails with "
         "ECANCELLED, its error callback has run by the time join returns, "
         "and no worker is left.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p;
  mproc_async_result *r[5];
  mproc_obj *args = range(4), *res = NULL;
  mproc_task_error err;
  double t0;
  remember_caller();
  gates_new();
  p = pool_new(2);
  for (int i = 0; i < 4; i++)
    MPT_OK(mproc_pool_apply_async(p, gated, mproc_obj_list_get(args, i), &cb,
                                  &r[i]));
  MPT_OK(mproc_pool_map_async(p, square, args, 1, &cb, &r[4]));
  wait_started(0);
  wait_started(1);

  t0 = mpt_now();
  MPT_OK(mproc_pool_terminate(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(5)));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1.0));
  expect_no_child();
  ck_assert_int_eq(log.errors, 5);
  ck_assert_int_eq(log.results, 0);
  ck_assert_int_eq(log.err.code, MPROC_ECANCELLED);
  expect_in_parent_result_thread(&log);
  for (int i = 0; i < 5; i++) {
    MPT_ERR(mproc_async_result_get(r[i], 0, &res, &err), MPROC_ECANCELLED);
    ck_assert_int_eq(err.code, MPROC_ECANCELLED);
    mproc_async_result_free(r[i]);
  }
  mproc_obj_free(args);
  mproc_pool_free(p);
  gates_free();
}

/* A task's SIGTERM handler: notes the signal in slots[0], then ends the
 * worker as the default action would. */
static void note_sigterm(int sig)
{
  __atomic_store_n(&slots[0], 1, __ATOMIC_SEQ_CST);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Installs note_sigterm, sets started[0] and waits for gates[0]. */
static int wait_noting_sigterm(const mproc_obj *arg, mproc_obj **result)
{
  (void)arg;
  signal(SIGTERM, note_sigterm);
  mproc_event_set(started[0]);
  if (mproc_event_wait(gates[0], mpt_scale(30)) != 0)
    return mproc_task_fail(91, "gate 0 was never opened");
  *result = mproc_obj_none();
  return 0;
}

MPT_TEST(pool_terminate_sends_sigterm_to_busy_workers, "EX-000-13",
         "terminate stops a busy worker with SIGTERM, as the documented "
         "Pool.terminate does: a SIGTERM handler the task installed runs.")
{
  mproc_array *arr;
  mproc_pool *p;
  mproc_async_result *r;
  mproc_obj *none = mproc_obj_none(), *res = NULL;
  slots = mpt_scratch(&arr, 1);
  gates_new();
  p = pool_new(1);
  MPT_OK(mproc_pool_apply_async(p, wait_noting_sigterm, none, NULL, &r));
  wait_started(0);
  MPT_OK(mproc_pool_terminate(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(5)));
  ck_assert_msg(__atomic_load_n(&slots[0], __ATOMIC_SEQ_CST) == 1,
                "the busy worker did not get SIGTERM");
  MPT_ERR(mproc_async_result_get(r, 0, &res, NULL), MPROC_ECANCELLED);
  mproc_async_result_free(r);
  mproc_obj_free(none);
  mproc_pool_free(p);
  gates_free();
  mproc_array_free(arr);
  slots = NULL;
}

MPT_TEST(pool_terminate_cancels_a_hundred_queued_jobs, "EX-000-13",
         "terminate with one task running and a hundred queued behind it "
         "fails every one of them with ECANCELLED, each error callback "
         "having run once by the time join returns.")
{
  enum { N = 100 };
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p;
  mproc_async_result *r[N + 1];
  mproc_obj *zero = anchor(mproc_obj_int(0)), *res = NULL;
  mproc_task_error err;
  remember_caller();
  gates_new();
  p = pool_new(1);
  MPT_OK(mproc_pool_apply_async(p, gated, zero, &cb, &r[0]));
  wait_started(0);
  for (int i = 1; i <= N; i++)
    MPT_OK(mproc_pool_apply_async(p, square, zero, &cb, &r[i]));
  MPT_OK(mproc_pool_terminate(p));
  MPT_OK(mproc_pool_join(p, mpt_scale(5)));
  expect_no_child();
  ck_assert_int_eq(log.errors, N + 1);
  ck_assert_int_eq(log.results, 0);
  expect_in_parent_result_thread(&log);
  for (int i = 0; i <= N; i++) {
    MPT_ERR(mproc_async_result_get(r[i], 0, &res, &err), MPROC_ECANCELLED);
    mproc_async_result_free(r[i]);
  }
  mproc_obj_free(zero);
  mproc_pool_free(p);
  gates_free();
}

/* ------------------------------------------------------------------------ */
/* Failures                                                                 */
/* ------------------------------------------------------------------------ */

MPT_TEST(pool_task_function_not_loaded_in_worker_fails_einval, "EX-000-02 EX-001-02",
         "A task pointer that is not in any object loaded in the workers (the "
         "C analogue of a function defined after the pool started) fails "
         "with EINVAL (no crash, no hang); the same workers then run a "
         "loaded function: starmap(add) gives [3, 7, 11].")
{
  static const int64_t in[3][2] = {{1, 2}, {3, 4}, {5, 6}};
  static const int64_t sums[3] = {3, 7, 11};
  void *heap = malloc(1 << 20);
  mproc_task_fn unknown = (mproc_task_fn)(uintptr_t)heap;
  mproc_pool *p = pool_new(4);
  mproc_obj *args = pairs(in, 3), *one = mproc_obj_int(1), *res = NULL;
  mproc_async_result *r;
  mproc_task_error err;
  ck_assert_ptr_nonnull(heap);

  MPT_OK(mproc_pool_starmap_async(p, unknown, args, 0, NULL, &r));
  memset(&err, 0, sizeof err);
  MPT_ERR(mproc_async_result_get(r, mpt_scale(30), &res, &err), MPROC_EINVAL);
  ck_assert_int_eq(err.code, MPROC_EINVAL);
  ck_assert_msg(err.message[0] != '\0', "the error has no message");
  mproc_async_result_free(r);

  MPT_OK(mproc_pool_apply_async(p, unknown, one, NULL, &r));
  memset(&err, 0, sizeof err);
  MPT_ERR(mproc_async_result_get(r, mpt_scale(30), &res, &err), MPROC_EINVAL);
  ck_assert_int_eq(err.code, MPROC_EINVAL);
  mproc_async_result_free(r);

  MPT_OK(mproc_pool_starmap(p, add, args, 0, &res, NULL));
  expect_list(res, sums, 3);
  mproc_obj_free(res);

  mproc_obj_free(one);
  mproc_obj_free(args);
  pool_finish(p);
  free(heap);
}

MPT_TEST(pool_failing_task_reaches_get_and_error_callback_unchanged, "EX-001-03 EX-002-15",
         "Ten apply_async of a task failing with code 22 and \"Bad value: 5\" "
         "for 5: that get gives ETASK with the task's code, message and "
         "worker pid, the error callback gets the same once, and the nine "
         "others give x * 2 to get and to their callbacks.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(2);
  mproc_async_result *r[10];
  remember_caller();
  for (int i = 0; i < 10; i++) {
    mproc_obj *a = mproc_obj_int(i);
    MPT_OK(mproc_pool_apply_async(p, risky, a, &cb, &r[i]));
    mproc_obj_free(a);
  }
  for (int i = 0; i < 10; i++) {
    mproc_obj *res = NULL;
    mproc_task_error err;
    memset(&err, 0, sizeof err);
    if (i != 5) {
      res = get_ok(r[i]);
      ck_assert_int_eq(int_of(res), 2 * i);
      mproc_obj_free(res);
    } else {
      MPT_ERR(mproc_async_result_get(r[i], mpt_scale(30), &res, &err),
              MPROC_ETASK);
      ck_assert_int_eq(err.code, 22);
      ck_assert_str_eq(err.message, "Bad value: 5");
      ck_assert_int_gt(err.pid, 0);
      ck_assert_int_ne(err.pid, getpid());
    }
    mproc_async_result_free(r[i]);
  }
  pool_finish(p);
  ck_assert_int_eq(log.errors, 1);
  ck_assert_int_eq(log.err.code, 22);
  ck_assert_str_eq(log.err.message, "Bad value: 5");
  ck_assert_int_eq(log.results, 9);
  ck_assert_int_eq(log.sum, 2 * (45 - 5));
  expect_in_parent_result_thread(&log);
  mproc_obj_free(log.last);
}

MPT_TEST(pool_map_with_failing_item_etask_with_its_error, "EX-001-04 EX-000-02",
         "map over range(10) where item 5 fails returns ETASK with that "
         "item's code and message; map_async reports the same to its error "
         "callback once and never calls the result callback.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(2);
  mproc_obj *args = range(10), *res = NULL;
  mproc_async_result *r;
  mproc_task_error err;
  bool ok = true;
  remember_caller();

  memset(&err, 0, sizeof err);
  MPT_ERR(mproc_pool_map(p, risky, args, 0, &res, &err), MPROC_ETASK);
  ck_assert_int_eq(err.code, 22);
  ck_assert_str_eq(err.message, "Bad value: 5");

  MPT_OK(mproc_pool_map_async(p, risky, args, 1, &cb, &r));
  memset(&err, 0, sizeof err);
  MPT_ERR(mproc_async_result_get(r, mpt_scale(30), &res, &err), MPROC_ETASK);
  ck_assert_int_eq(err.code, 22);
  ck_assert_str_eq(err.message, "Bad value: 5");
  MPT_OK(mproc_async_result_successful(r, &ok));
  ck_assert(!ok);
  ck_assert_int_eq(log.errors, 1);
  ck_assert_int_eq(log.results, 0);
  ck_assert_int_eq(log.err.code, 22);
  ck_assert_str_eq(log.err.message, "Bad value: 5");
  expect_in_parent_result_thread(&log);
  mproc_async_result_free(r);

  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST(pool_unencodable_result_fails_only_that_task, "EX-002-17",
         "A result nested deeper than MPROC_OBJ_MAX_DEPTH fails only its own "
         "item, with EINVAL, even inside a chunk: imap over range(6) with "
         "chunksize 2 yields 0, 1, 2, the error, 4, 5.")
{
  mproc_pool *p = pool_new(2);
  mproc_obj *args = range(6), *three = mproc_obj_int(3), *res = NULL;
  mproc_imap *it;
  mproc_async_result *r;
  mproc_task_error err;

  MPT_OK(mproc_pool_imap(p, too_deep_for_3, args, 2, &it));
  for (int i = 0; i < 6; i++) {
    res = NULL;
    memset(&err, 0, sizeof err);
    int rc = mproc_imap_next(it, mpt_scale(30), &res, &err);
    if (i == 3) {
      MPT_ERR(rc, MPROC_EINVAL);
      ck_assert_int_eq(err.code, MPROC_EINVAL);
    } else {
      ck_assert_msg(rc == 0, "item %d: %s (%d: %s)", i, mproc_err_name(rc),
                    err.code, err.message);
      ck_assert_int_eq(int_of(res), i);
      mproc_obj_free(res);
    }
  }
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);

  MPT_OK(mproc_pool_apply_async(p, too_deep_for_3, three, NULL, &r));
  MPT_ERR(mproc_async_result_get(r, mpt_scale(30), &res, &err), MPROC_EINVAL);
  mproc_async_result_free(r);

  MPT_OK(mproc_pool_map(p, square, args, 0, &res, NULL));
  expect_ints(res, 6, sq);
  mproc_obj_free(res);

  mproc_obj_free(three);
  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST_F(pool_worker_death_fails_its_task_eworkerlost_pool_replaces_it, "EX-000-02", "pool worker-lost",
         "A task that kills its worker (SIGKILL, or _exit(3)) fails with "
         "EWORKERLOST carrying the worker's pid and the signal or exit "
         "status, instead of hanging; a task running on another worker is "
         "unaffected, and the pool replaces the dead workers.")
{
  static const struct {
    int how;
    int signal, status;
  } deaths[] = {{0, SIGKILL, 0}, {1, 0, 3}};
  mproc_array *arr;
  mproc_pool *p;
  mproc_obj *zero, *args, *meets, *res = NULL;
  mproc_async_result *bystander, *r;
  int64_t pids[2];
  slots = mpt_scratch(&arr, 1);
  anchor(arr);
  gates_new();
  MPT_OK(mproc_barrier_new(&meeting, 2, NULL, NULL, MPROC_FOREVER));
  zero = anchor(mproc_obj_int(0));
  args = range(20);
  meets = range(2);
  p = pool_new(2);

  MPT_OK(mproc_pool_apply_async(p, gated, zero, NULL, &bystander));
  anchor(bystander);
  wait_started(0);
  for (size_t d = 0; d < sizeof deaths / sizeof deaths[0]; d++) {
    mproc_obj *how = anchor(mproc_obj_int(deaths[d].how));
    mproc_task_error err;
    memset(&err, 0, sizeof err);
    slots[0] = 0;
    MPT_OK(mproc_pool_apply_async(p, die, how, NULL, &r));
    anchor(r);
    MPT_ERR(mproc_async_result_get(r, mpt_scale(30), &res, &err),
            MPROC_EWORKERLOST);
    ck_assert_int_eq(err.code, MPROC_EWORKERLOST);
    ck_assert_int_ne(slots[0], 0);
    ck_assert_int_eq(err.pid, slots[0]);
    ck_assert_int_eq(err.signal, deaths[d].signal);
    if (deaths[d].signal == 0)
      ck_assert_int_eq(err.exit_status, deaths[d].status);
    pids[d] = slots[0];
    mproc_async_result_free(r);
    mproc_obj_free(how);
  }
  ck_assert(!mproc_async_result_ready(bystander));
  MPT_OK(mproc_event_set(gates[0]));
  res = get_ok(bystander);
  ck_assert_int_eq(int_of(res), 0);
  mproc_obj_free(res);
  mproc_async_result_free(bystander);

  /* Two live workers again: two tasks meet at a barrier of two. */
  MPT_OK(mproc_pool_map(p, meet, meets, 1, &res, NULL));
  for (int i = 0; i < 2; i++)
    ck_assert(!pid_in((pid_t)int_of(mproc_obj_list_get(res, i)), pids, 2));
  mproc_obj_free(res);
  MPT_OK(mproc_pool_map(p, square, args, 0, &res, NULL));
  expect_ints(res, 20, sq);
  mproc_obj_free(res);

  pool_finish(p);
  expect_no_child();
  mproc_obj_free(zero);
  mproc_obj_free(args);
  mproc_obj_free(meets);
  mproc_barrier_free(meeting);
  meeting = NULL;
  gates_free();
  mproc_array_free(arr);
  slots = NULL;
}

/* ------------------------------------------------------------------------ */
/* States and edge cases                                                    */
/* ------------------------------------------------------------------------ */

MPT_TEST(pool_join_before_close_estate, "EX-001-03",
         "join on a pool that is neither closed nor terminated gives ESTATE "
         "at once, whatever the timeout, and the pool stays usable.")
{
  mproc_pool *p = pool_new(2);
  mproc_obj *arg = mproc_obj_int(7), *res = NULL;
  double t0 = mpt_now();
  MPT_ERR(mproc_pool_join(p, 0), MPROC_ESTATE);
  MPT_ERR(mproc_pool_join(p, 0.5), MPROC_ESTATE);
  MPT_ERR(mproc_pool_join(p, MPROC_FOREVER), MPROC_ESTATE);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(0.4));
  MPT_OK(mproc_pool_apply(p, square, arg, &res, NULL));
  ck_assert_int_eq(int_of(res), 49);
  mproc_obj_free(res);
  mproc_obj_free(arg);
  pool_finish(p);
}

MPT_TEST(pool_closed_or_terminated_pool_rejects_work_estate, "EX-001-03",
         "After close, and after terminate, every submission (apply, "
         "apply_async, map, map_async, starmap, starmap_async, imap, "
         "imap_unordered) gives ESTATE; close and terminate may be repeated.")
{
  static const int64_t in[1][2] = {{1, 2}};
  mproc_obj *arg = mproc_obj_int(2), *args = range(3), *prs = pairs(in, 1);
  for (int terminated = 0; terminated < 2; terminated++) {
    mproc_pool *p = pool_new(2);
    mproc_async_result *r = NULL;
    mproc_imap *it = NULL;
    mproc_obj *res = NULL;
    if (terminated)
      MPT_OK(mproc_pool_terminate(p));
    else
      MPT_OK(mproc_pool_close(p));
    MPT_ERR(mproc_pool_apply(p, square, arg, &res, NULL), MPROC_ESTATE);
    MPT_ERR(mproc_pool_apply_async(p, square, arg, NULL, &r), MPROC_ESTATE);
    MPT_ERR(mproc_pool_map(p, square, args, 0, &res, NULL), MPROC_ESTATE);
    MPT_ERR(mproc_pool_map_async(p, square, args, 0, NULL, &r), MPROC_ESTATE);
    MPT_ERR(mproc_pool_starmap(p, add, prs, 0, &res, NULL), MPROC_ESTATE);
    MPT_ERR(mproc_pool_starmap_async(p, add, prs, 0, NULL, &r), MPROC_ESTATE);
    MPT_ERR(mproc_pool_imap(p, square, args, 0, &it), MPROC_ESTATE);
    MPT_ERR(mproc_pool_imap_unordered(p, square, args, 0, &it), MPROC_ESTATE);
    MPT_OK(mproc_pool_close(p));
    MPT_OK(mproc_pool_terminate(p));
    MPT_OK(mproc_pool_join(p, mpt_scale(30)));
    MPT_OK(mproc_pool_join(p, 0));
    mproc_pool_free(p);
  }
  mproc_obj_free(arg);
  mproc_obj_free(args);
  mproc_obj_free(prs);
}

MPT_TEST(pool_empty_input_gives_empty_results, "EX-003-03",
         "map, starmap and map_async over an empty list give an empty list "
         "(the callback gets it once); imap and imap_unordered end at once "
         "with EEOF.")
{
  struct cb_log log = {0};
  mproc_callbacks cb = {log_result, log_error, &log};
  mproc_pool *p = pool_new(2);
  mproc_obj *empty = mproc_obj_list(), *res = NULL;
  mproc_async_result *r;
  mproc_imap *it;
  remember_caller();

  MPT_OK(mproc_pool_map(p, square, empty, 0, &res, NULL));
  expect_ints(res, 0, sq);
  mproc_obj_free(res);
  MPT_OK(mproc_pool_starmap(p, add, empty, 0, &res, NULL));
  expect_ints(res, 0, sq);
  mproc_obj_free(res);
  MPT_OK(mproc_pool_map_async(p, square, empty, 0, &cb, &r));
  res = get_ok(r);
  expect_ints(res, 0, sq);
  mproc_obj_free(res);
  mproc_async_result_free(r);
  ck_assert_int_eq(log.results, 1);
  expect_ints(log.last, 0, sq);

  MPT_OK(mproc_pool_imap(p, square, empty, 0, &it));
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);
  MPT_OK(mproc_pool_imap_unordered(p, square, empty, 0, &it));
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);

  mproc_obj_free(log.last);
  mproc_obj_free(empty);
  pool_finish(p);
}

MPT_TEST(pool_map_100000_trivial_tasks_all_results_right, "EX-003-12",
         "map(increment, range(100000)) on Pool() returns the 100,000 "
         "results, each x + 1, in input order.")
{
  mproc_pool *p = pool_new(0);
  mproc_obj *args = range(100000), *res = NULL;
  MPT_OK(mproc_pool_map(p, increment, args, 0, &res, NULL));
  expect_ints(res, 100000, inc);
  mproc_obj_free(res);
  mproc_obj_free(args);
  pool_finish(p);
}

MPT_TEST(pool_invalid_arguments_einval, "EX-000-02",
         "NULL objects, a NULL task, map arguments that are not a list, a "
         "starmap item that is not a list and a NaN timeout give EINVAL; "
         "freeing NULL is ignored.")
{
  mproc_pool *p = pool_new(1);
  mproc_obj *args = range(3), *notlist = mproc_obj_int(3), *res = NULL;
  mproc_async_result *r = NULL;
  mproc_imap *it = NULL;
  MPT_ERR(mproc_pool_new(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pool_apply_async(NULL, square, notlist, NULL, &r),
          MPROC_EINVAL);
  MPT_ERR(mproc_pool_apply_async(p, NULL, notlist, NULL, &r), MPROC_EINVAL);
  MPT_ERR(mproc_pool_map_async(p, square, notlist, 0, NULL, &r),
          MPROC_EINVAL);
  MPT_ERR(mproc_pool_map(p, NULL, args, 0, &res, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pool_starmap_async(p, add, args, 0, NULL, &r), MPROC_EINVAL);
  MPT_ERR(mproc_pool_imap(p, square, notlist, 0, &it), MPROC_EINVAL);
  MPT_ERR(mproc_pool_imap_unordered(p, square, notlist, 0, &it),
          MPROC_EINVAL);
  MPT_ERR(mproc_async_result_get(NULL, 0, &res, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_async_result_wait(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_imap_next(NULL, 0, &res, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pool_close(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pool_terminate(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_pool_join(NULL, 0), MPROC_EINVAL);
  ck_assert(!mproc_async_result_ready(NULL));

  MPT_OK(mproc_pool_apply_async(p, square, notlist, NULL, &r));
  MPT_ERR(mproc_async_result_get(r, NAN, &res, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_async_result_wait(r, NAN), MPROC_EINVAL);
  res = get_ok(r);
  ck_assert_int_eq(int_of(res), 9);
  mproc_obj_free(res);
  mproc_async_result_free(r);

  mproc_async_result_free(NULL);
  mproc_imap_free(NULL);
  mproc_pool_free(NULL);
  mproc_pool *none = NULL;
  mproc_pool_freep(&none);
  mproc_obj_free(args);
  mproc_obj_free(notlist);
  pool_finish(p);
}

MPT_TEST(pool_scoped_pool_is_freed_at_scope_end, "EX-003-03",
         "A pool declared MPROC_SCOPED_POOL is terminated, joined and freed "
         "when its scope ends: afterwards no worker exists and no child is "
         "left to reap.")
{
  int64_t pids[2] = {0, 0};
  mproc_obj *args = range(2);
  MPT_OK(mproc_barrier_new(&meeting, 2, NULL, NULL, MPROC_FOREVER));
  {
    MPROC_SCOPED_POOL mproc_pool *p = NULL;
    mproc_obj *res = NULL;
    mproc_pool_options o = {0};
    o.processes = 2;
    MPT_OK(mproc_pool_new(&p, &o));
    MPT_OK(mproc_pool_map(p, meet, args, 1, &res, NULL));
    pids[0] = int_of(mproc_obj_list_get(res, 0));
    pids[1] = int_of(mproc_obj_list_get(res, 1));
    mproc_obj_free(res);
  }
  expect_no_child();
  for (int i = 0; i < 2; i++) {
    errno = 0;
    ck_assert_msg(kill((pid_t)pids[i], 0) == -1 && errno == ESRCH,
                  "worker %lld still exists after the scope",
                  (long long)pids[i]);
  }
  mproc_obj_free(args);
  mproc_barrier_free(meeting);
  meeting = NULL;
}

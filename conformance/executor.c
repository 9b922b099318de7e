/* Conformance: Executor and Future (concurrent.futures.ProcessPoolExecutor):
 * map, submit, as_completed, future states, cancellation, done callbacks,
 * shutdown, and an executor broken by a worker that dies. */
#define _GNU_SOURCE
#define MPT_SUITE "executor"
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
/* Shared state: created by a test before its executor, so every worker (a  */
/* fork of the test process) inherits it.                                   */
/* ------------------------------------------------------------------------ */

#define NGATES 8

static mproc_event *gates[NGATES];   /* a gated task waits for gates[i] */
static mproc_event *started[NGATES]; /* ... after setting started[i] */
static int64_t *slots;               /* observations (mpt_scratch) */

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

static pid_t test_pid;
static pthread_t test_thread;

static void remember_caller(void)
{
  test_pid = getpid();
  test_thread = pthread_self();
}

/* Workers are forked by the executor's result thread, at any time.  Such
 * a child has no copy of the test thread's registers, so a block the test
 * holds only in a register looks lost to Valgrind's leak check when the
 * worker exits.  What the helpers allocate is therefore also kept here, in
 * static storage. */
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

#define BAD_ARG 90

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

/* EX-000-03's process_data: data * 2. */
static int process_data(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  *result = mproc_obj_int(x * 2);
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

static int square(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  *result = mproc_obj_int(x * x);
  return 0;
}

/* x * x, slowly (50 ms). */
static int slow_square(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x;
  TASK_INT(arg, x);
  task_sleep(0.05);
  *result = mproc_obj_int(x * x);
  return 0;
}

static int return_pid(const mproc_obj *arg, mproc_obj **result)
{
  (void)arg;
  *result = mproc_obj_int(getpid());
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

/* Records the worker's pid in slots[0] and kills the worker. */
static int die(const mproc_obj *arg, mproc_obj **result)
{
  (void)arg;
  (void)result;
  slots[0] = getpid();
  raise(SIGKILL);
  return mproc_task_fail(93, "still alive after SIGKILL");
}

/* Like gated, then kills its worker instead of returning. */
static int die_at_gate(const mproc_obj *arg, mproc_obj **result)
{
  int64_t i;
  (void)result;
  TASK_INT(arg, i);
  if (i < 0 || i >= NGATES)
    return mproc_task_fail(BAD_ARG, "no gate %lld", (long long)i);
  mproc_event_set(started[i]);
  if (mproc_event_wait(gates[i], mpt_scale(30)) != 0)
    return mproc_task_fail(91, "gate %lld was never opened", (long long)i);
  slots[0] = getpid();
  raise(SIGKILL);
  return mproc_task_fail(93, "still alive after SIGKILL");
}

#define BIG_RESULT ((size_t)8 << 20)

/* Records its pid in slots[0], sets started[1], waits for gates[1], then
 * returns BIG_RESULT bytes (slots[1] = 1 just before returning). */
static int big_result(const mproc_obj *arg, mproc_obj **result)
{
  char *buf;
  (void)arg;
  slots[0] = getpid();
  mproc_event_set(started[1]);
  if (mproc_event_wait(gates[1], mpt_scale(30)) != 0)
    return mproc_task_fail(91, "gate 1 was never opened");
  if ((buf = malloc(BIG_RESULT)) == NULL)
    return mproc_task_fail(94, "out of memory");
  memset(buf, 'x', BIG_RESULT);
  *result = mproc_obj_bytes(buf, BIG_RESULT);
  free(buf);
  slots[1] = 1;
  return 0;
}

/* The length of a bytes argument. */
static int bytes_len(const mproc_obj *arg, mproc_obj **result)
{
  size_t n = 0;
  if (mproc_obj_bytes_value(arg, &n) == NULL)
    return mproc_task_fail(BAD_ARG, "argument is not bytes");
  *result = mproc_obj_int((int64_t)n);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers for the test process                                             */
/* ------------------------------------------------------------------------ */

static mproc_executor *executor_new(unsigned workers)
{
  mproc_executor *ex = NULL;
  mproc_executor_options o = {0};
  o.max_workers = workers;
  MPT_OK(mproc_executor_new(&ex, &o));
  ck_assert_ptr_nonnull(ex);
  return anchor(ex);
}

static mproc_future *submit_int(mproc_executor *ex, mproc_task_fn fn,
                                int64_t x)
{
  mproc_future *f = NULL;
  mproc_obj *a = mproc_obj_int(x);
  MPT_OK(mproc_executor_submit(ex, fn, a, &f));
  mproc_obj_free(a);
  return f;
}

static mproc_obj *range(int64_t n)
{
  mproc_obj *l = anchor(mproc_obj_list());
  ck_assert_ptr_nonnull(l);
  for (int64_t i = 0; i < n; i++)
    MPT_OK(mproc_obj_list_append(l, mproc_obj_int(i)));
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

/* The future's int result, waiting a bounded time; fails unless it
 * succeeds. */
static int64_t result_int(mproc_future *f, double timeout)
{
  mproc_obj *v = NULL;
  mproc_task_error err;
  int64_t x;
  memset(&err, 0, sizeof err);
  int rc = mproc_future_result(f, timeout, &v, &err);
  ck_assert_msg(rc == 0, "result returned %s (task error %d: %s), expected OK",
                mproc_err_name(rc), err.code, err.message);
  x = int_of(v);
  mproc_obj_free(v);
  return x;
}

/* Expects the future to fail with `want` within a bounded time. */
static void expect_failure(mproc_future *f, int want, const char *what)
{
  mproc_obj *v = NULL;
  mproc_task_error err;
  memset(&err, 0, sizeof err);
  int rc = mproc_future_result(f, mpt_scale(10), &v, &err);
  ck_assert_msg(rc == want,
                "%s: result returned %s (%s), expected %s", what,
                mproc_err_name(rc), err.message, mproc_err_name(want));
  ck_assert_msg(err.code == want, "%s: err.code is %s, expected %s", what,
                mproc_err_name(err.code), mproc_err_name(want));
  ck_assert(mproc_future_done(f));
}

static void wait_started(int i)
{
  ck_assert_msg(mproc_event_wait(started[i], mpt_scale(30)) == 0,
                "gated task %d never started", i);
}

static void expect_no_child(void)
{
  errno = 0;
  pid_t r = waitpid(-1, NULL, WNOHANG);
  ck_assert_msg(r == -1 && errno == ECHILD,
                "waitpid(-1, WNOHANG) returned %ld (%s): a worker is left",
                (long)r, strerror(errno));
}

/* Frees the executor; the free (a shutdown with wait) must not hang. */
static void executor_free_bounded(mproc_executor *ex)
{
  double t0 = mpt_now();
  mproc_executor_free(ex);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
}

/* What a done callback saw. */
struct done_log {
  int calls;
  int other_process, caller_thread;
  mproc_future *seen;
  int result_rc; /* mproc_future_result(f, 0) inside the callback */
  int64_t value;
};

static void log_done(mproc_future *f, void *ud)
{
  struct done_log *l = ud;
  mproc_obj *v = NULL;
  if (getpid() != test_pid)
    l->other_process++;
  if (pthread_equal(pthread_self(), test_thread))
    l->caller_thread++;
  l->calls++;
  l->seen = f;
  l->result_rc = mproc_future_result(f, 0, &v, NULL);
  if (l->result_rc == 0)
    mproc_obj_get_int(v, &l->value);
  mproc_obj_free(v);
}

/* ------------------------------------------------------------------------ */
/* map, submit, as_completed                                                */
/* ------------------------------------------------------------------------ */

MPT_TEST(executor_map_hundred_items_doubled_in_input_order, "EX-000-03",
         "ProcessPoolExecutor(4).map(process_data, range(100)) yields the 100 "
         "doubled values in input order, then EEOF, for the default "
         "chunksize and for chunksize 7.")
{
  static const size_t chunksizes[] = {0, 7};
  mproc_executor *ex = executor_new(4);
  mproc_obj *args = range(100);
  for (size_t c = 0; c < sizeof chunksizes / sizeof chunksizes[0]; c++) {
    mproc_imap *it = NULL;
    mproc_obj *res = NULL;
    MPT_OK(mproc_executor_map(ex, process_data, args, MPROC_FOREVER,
                              chunksizes[c], &it));
    for (int64_t i = 0; i < 100; i++) {
      res = NULL;
      MPT_OK(mproc_imap_next(it, mpt_scale(30), &res, NULL));
      ck_assert_msg(int_of(res) == 2 * i,
                    "chunksize %zu: result %lld is %lld, expected %lld",
                    chunksizes[c], (long long)i, (long long)int_of(res),
                    (long long)(2 * i));
      mproc_obj_free(res);
    }
    MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
    mproc_imap_free(it);
  }
  mproc_obj_free(args);
  executor_free_bounded(ex);
}

static const int release_order[4] = {2, 0, 3, 1};

MPT_TEST(executor_as_completed_yields_each_future_once_in_completion_order, "EX-000-03",
         "as_completed over 100 submitted futures yields each exactly once, "
         "done, with data * 2; over four gated futures it yields them in the "
         "order they were let finish (2, 0, 3, 1), and again in that order "
         "once all are done.")
{
  mproc_executor *ex;
  mproc_future *f[100], *g[4], *next;
  mproc_as_completed *it;
  bool seen[100] = {false};
  gates_new();
  ex = executor_new(4);

  for (int i = 0; i < 100; i++)
    f[i] = submit_int(ex, process_data, i);
  MPT_OK(mproc_as_completed_new(f, 100, mpt_scale(60), &it));
  for (int k = 0; k < 100; k++) {
    int i = 0;
    next = NULL;
    MPT_OK(mproc_as_completed_next(it, &next));
    while (i < 100 && f[i] != next)
      i++;
    ck_assert_msg(i < 100, "as_completed yielded a future not given to it");
    ck_assert_msg(!seen[i], "future %d was yielded twice", i);
    seen[i] = true;
    ck_assert(mproc_future_done(next));
    ck_assert_int_eq(result_int(next, 0), 2 * i);
  }
  MPT_ERR(mproc_as_completed_next(it, &next), MPROC_EEOF);
  mproc_as_completed_free(it);
  for (int i = 0; i < 100; i++)
    mproc_future_free(f[i]);

  for (int i = 0; i < 4; i++)
    g[i] = submit_int(ex, gated, i);
  for (int i = 0; i < 4; i++)
    wait_started(i);
  MPT_OK(mproc_as_completed_new(g, 4, mpt_scale(30), &it));
  for (int k = 0; k < 4; k++) {
    int i = release_order[k];
    MPT_OK(mproc_event_set(gates[i]));
    MPT_OK(mproc_as_completed_next(it, &next));
    ck_assert_msg(next == g[i], "yield %d was not future %d", k, i);
  }
  MPT_ERR(mproc_as_completed_next(it, &next), MPROC_EEOF);
  mproc_as_completed_free(it);

  MPT_OK(mproc_as_completed_new(g, 4, 0, &it));
  for (int k = 0; k < 4; k++) {
    MPT_OK(mproc_as_completed_next(it, &next));
    ck_assert_msg(next == g[release_order[k]],
                  "already done: yield %d was not future %d", k,
                  release_order[k]);
  }
  MPT_ERR(mproc_as_completed_next(it, &next), MPROC_EEOF);
  mproc_as_completed_free(it);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(result_int(g[i], 0), i);
    mproc_future_free(g[i]);
  }
  executor_free_bounded(ex);
  gates_free();
}

MPT_TEST(executor_risky_function_one_future_fails_bad_value_5, "EX-000-14",
         "Ten futures of risky_function over range(10): exactly the one for "
         "5 fails, with ETASK, the task's code and \"Bad value: 5\"; the "
         "other nine give x * 2.")
{
  mproc_executor *ex = executor_new(4);
  mproc_future *f[10], *next;
  mproc_as_completed *it;
  int failed = 0;
  for (int i = 0; i < 10; i++)
    f[i] = submit_int(ex, risky, i);
  MPT_OK(mproc_as_completed_new(f, 10, mpt_scale(30), &it));
  for (int k = 0; k < 10; k++) {
    mproc_obj *v = NULL;
    mproc_task_error err;
    int i = 0, rc;
    MPT_OK(mproc_as_completed_next(it, &next));
    while (i < 10 && f[i] != next)
      i++;
    ck_assert_int_lt(i, 10);
    memset(&err, 0, sizeof err);
    rc = mproc_future_result(next, 0, &v, &err);
    if (rc == 0) {
      ck_assert_int_eq(int_of(v), 2 * i);
      mproc_obj_free(v);
      continue;
    }
    failed++;
    ck_assert_int_eq(i, 5);
    MPT_ERR(rc, MPROC_ETASK);
    ck_assert_int_eq(err.code, 22);
    ck_assert_str_eq(err.message, "Bad value: 5");
    ck_assert_int_gt(err.pid, 0);
    ck_assert_int_ne(err.pid, getpid());
  }
  ck_assert_int_eq(failed, 1);
  mproc_as_completed_free(it);
  for (int i = 0; i < 10; i++)
    mproc_future_free(f[i]);
  executor_free_bounded(ex);
}

/* ------------------------------------------------------------------------ */
/* Future states, timeouts, cancel, done callbacks                          */
/* ------------------------------------------------------------------------ */

MPT_TEST(executor_future_result_exception_timeouts_and_states, "EX-000-03 EX-000-14",
         "A running future is running and not done; result and exception "
         "give EAGAIN with timeout 0 and ETIMEDOUT after a positive timeout; "
         "once it finishes it is done, not running, exception reports no "
         "failure; a failed future's exception describes the failure.")
{
  mproc_executor *ex;
  mproc_future *f, *g;
  mproc_obj *v = NULL;
  mproc_task_error err;
  bool failed = true;
  double t0;
  gates_new();
  ex = executor_new(1);

  f = submit_int(ex, gated, 0);
  wait_started(0);
  ck_assert(mproc_future_running(f));
  ck_assert(!mproc_future_done(f));
  ck_assert(!mproc_future_cancelled(f));
  MPT_ERR(mproc_future_result(f, 0, &v, NULL), MPROC_EAGAIN);
  MPT_ERR(mproc_future_result(f, -1, &v, NULL), MPROC_EAGAIN);
  t0 = mpt_now();
  MPT_ERR(mproc_future_result(f, 0.2, &v, NULL), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  MPT_ERR(mproc_future_exception(f, 0, &failed, NULL), MPROC_EAGAIN);
  t0 = mpt_now();
  MPT_ERR(mproc_future_exception(f, 0.1, &failed, NULL), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.1, 0.1 + mpt_scale(2));
  MPT_ERR(mproc_future_result(f, NAN, &v, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_future_exception(f, NAN, &failed, NULL), MPROC_EINVAL);

  MPT_OK(mproc_event_set(gates[0]));
  ck_assert_int_eq(result_int(f, mpt_scale(30)), 0);
  ck_assert(mproc_future_done(f));
  ck_assert(!mproc_future_running(f));
  ck_assert(!mproc_future_cancelled(f));
  MPT_OK(mproc_future_exception(f, 0, &failed, NULL));
  ck_assert(!failed);
  ck_assert_int_eq(result_int(f, 0), 0); /* again: a copy each time */

  g = submit_int(ex, risky, 5);
  memset(&err, 0, sizeof err);
  MPT_OK(mproc_future_exception(g, mpt_scale(30), &failed, &err));
  ck_assert(failed);
  ck_assert_int_eq(err.code, 22);
  ck_assert_str_eq(err.message, "Bad value: 5");
  memset(&err, 0, sizeof err);
  MPT_ERR(mproc_future_result(g, 0, &v, &err), MPROC_ETASK);
  ck_assert_int_eq(err.code, 22);
  ck_assert_str_eq(err.message, "Bad value: 5");
  ck_assert(mproc_future_done(g));

  mproc_future_free(f);
  mproc_future_free(g);
  executor_free_bounded(ex);
  gates_free();
}

MPT_TEST(executor_cancel_succeeds_only_before_start, "EX-000-03",
         "With both workers busy, a queued future can be cancelled: cancel "
         "returns 0 (also a second time) after running its done callback, "
         "it is cancelled and done, result and exception give ECANCELLED; a "
         "running or finished future cannot be cancelled (ESTATE) and "
         "completes normally.")
{
  mproc_executor *ex;
  mproc_future *a, *b, *q;
  mproc_obj *v = NULL;
  bool failed;
  struct done_log early = {0}, late = {0};
  remember_caller();
  gates_new();
  ex = executor_new(2);
  a = submit_int(ex, gated, 0);
  b = submit_int(ex, gated, 1);
  q = submit_int(ex, square, 4);
  wait_started(0);
  wait_started(1);

  ck_assert(mproc_future_running(a));
  MPT_ERR(mproc_future_cancel(a), MPROC_ESTATE);
  ck_assert(!mproc_future_cancelled(a));
  ck_assert(mproc_future_running(a));

  ck_assert(!mproc_future_running(q));
  ck_assert(!mproc_future_done(q));
  MPT_OK(mproc_future_add_done_callback(q, log_done, &early));
  ck_assert_int_eq(early.calls, 0);
  MPT_OK(mproc_future_cancel(q));
  ck_assert_int_eq(early.calls, 1); /* in this thread, before cancel returns */
  ck_assert_int_eq(early.caller_thread, 1);
  ck_assert(mproc_future_cancelled(q));
  ck_assert(mproc_future_done(q));
  ck_assert(!mproc_future_running(q));
  MPT_OK(mproc_future_cancel(q));
  MPT_ERR(mproc_future_result(q, 0, &v, NULL), MPROC_ECANCELLED);
  MPT_ERR(mproc_future_exception(q, 0, &failed, NULL), MPROC_ECANCELLED);
  MPT_OK(mproc_future_add_done_callback(q, log_done, &late));
  ck_assert_int_eq(late.calls, 1); /* already done: called at once */
  ck_assert_int_eq(late.caller_thread, 1);
  ck_assert_int_eq(late.result_rc, MPROC_ECANCELLED);

  MPT_OK(mproc_event_set(gates[0]));
  MPT_OK(mproc_event_set(gates[1]));
  ck_assert_int_eq(result_int(a, mpt_scale(30)), 0);
  ck_assert_int_eq(result_int(b, mpt_scale(30)), 1);
  MPT_ERR(mproc_future_cancel(a), MPROC_ESTATE);
  ck_assert(!mproc_future_cancelled(a));
  ck_assert_int_eq(early.calls, 1);

  mproc_future_free(a);
  mproc_future_free(b);
  mproc_future_free(q);
  executor_free_bounded(ex);
  gates_free();
}

MPT_TEST(executor_done_callback_runs_once_when_done_or_at_once_if_done, "EX-000-03",
         "Done callbacks added to a running future each run exactly once, in "
         "the test's process but not its thread, by the time result returns; "
         "added to a done future a callback runs at once in the calling "
         "thread and sees the result.")
{
  mproc_executor *ex;
  mproc_future *f;
  struct done_log l1 = {0}, l2 = {0}, l3 = {0};
  remember_caller();
  gates_new();
  ex = executor_new(1);
  f = submit_int(ex, gated, 3);
  wait_started(3);
  MPT_OK(mproc_future_add_done_callback(f, log_done, &l1));
  MPT_OK(mproc_future_add_done_callback(f, log_done, &l2));
  ck_assert_int_eq(l1.calls, 0);

  MPT_OK(mproc_event_set(gates[3]));
  ck_assert_int_eq(result_int(f, mpt_scale(30)), 3);
  for (int k = 0; k < 2; k++) {
    struct done_log *l = k == 0 ? &l1 : &l2;
    ck_assert_int_eq(l->calls, 1);
    ck_assert_ptr_eq(l->seen, f);
    ck_assert_int_eq(l->other_process, 0);
    ck_assert_int_eq(l->caller_thread, 0);
  }

  MPT_OK(mproc_future_add_done_callback(f, log_done, &l3));
  ck_assert_int_eq(l3.calls, 1);
  ck_assert_int_eq(l3.caller_thread, 1);
  ck_assert_int_eq(l3.result_rc, 0);
  ck_assert_int_eq(l3.value, 3);

  mproc_future_free(f);
  executor_free_bounded(ex);
  ck_assert_int_eq(l1.calls, 1);
  ck_assert_int_eq(l2.calls, 1);
  gates_free();
}

MPT_TEST(executor_as_completed_timeout_etimedout_for_pending_futures, "EX-000-03",
         "as_completed with a 0.3 s limit yields the finished future, then "
         "gives ETIMEDOUT (or EAGAIN) about 0.3 s after it was created while "
         "the others are still running; they stay pending, and a later call "
         "yields one that completed meanwhile, then fails again.")
{
  mproc_executor *ex;
  mproc_future *f[3], *next = NULL;
  mproc_as_completed *it;
  double t0;
  gates_new();
  ex = executor_new(2);
  f[0] = submit_int(ex, square, 3);
  ck_assert_int_eq(result_int(f[0], mpt_scale(30)), 9);
  f[1] = submit_int(ex, gated, 0);
  f[2] = submit_int(ex, gated, 1);

  t0 = mpt_now();
  MPT_OK(mproc_as_completed_new(f, 3, 0.3, &it));
  MPT_OK(mproc_as_completed_next(it, &next));
  ck_assert_ptr_eq(next, f[0]);
  MPT_ERR2(mproc_as_completed_next(it, &next), MPROC_ETIMEDOUT, MPROC_EAGAIN);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.3, 0.3 + mpt_scale(2));
  ck_assert(!mproc_future_done(f[1]));
  ck_assert(!mproc_future_done(f[2]));

  /* A later call yields what completed meanwhile, then fails again. */
  MPT_OK(mproc_event_set(gates[0]));
  ck_assert_int_eq(result_int(f[1], mpt_scale(30)), 0);
  MPT_OK(mproc_as_completed_next(it, &next));
  ck_assert_ptr_eq(next, f[1]);
  MPT_ERR2(mproc_as_completed_next(it, &next), MPROC_ETIMEDOUT, MPROC_EAGAIN);
  mproc_as_completed_free(it);

  MPT_OK(mproc_event_set(gates[1]));
  ck_assert_int_eq(result_int(f[2], mpt_scale(30)), 1);
  for (int i = 0; i < 3; i++)
    mproc_future_free(f[i]);
  executor_free_bounded(ex);
  gates_free();
}

MPT_TEST(executor_map_error_at_failing_item_and_overall_timeout, "EX-000-14",
         "executor map of risky_function over range(10) yields x * 2 for "
         "0..4, ETASK with \"Bad value: 5\" at item 5, then 12..18; a map "
         "with a 0.3 s limit over a task still running gives ETIMEDOUT about "
         "0.3 s after the map call, whatever the wait passed to next.")
{
  mproc_executor *ex;
  mproc_obj *args = range(10), *gate0 = range(1), *res = NULL;
  mproc_imap *it;
  double t0;
  gates_new();
  ex = executor_new(2);

  MPT_OK(mproc_executor_map(ex, risky, args, MPROC_FOREVER, 0, &it));
  for (int i = 0; i < 10; i++) {
    mproc_task_error err;
    int rc;
    res = NULL;
    memset(&err, 0, sizeof err);
    rc = mproc_imap_next(it, mpt_scale(30), &res, &err);
    if (i == 5) {
      MPT_ERR(rc, MPROC_ETASK);
      ck_assert_int_eq(err.code, 22);
      ck_assert_str_eq(err.message, "Bad value: 5");
    } else {
      ck_assert_msg(rc == 0, "item %d: %s (%s)", i, mproc_err_name(rc),
                    err.message);
      ck_assert_int_eq(int_of(res), 2 * i);
      mproc_obj_free(res);
    }
  }
  MPT_ERR(mproc_imap_next(it, mpt_scale(5), &res, NULL), MPROC_EEOF);
  mproc_imap_free(it);

  t0 = mpt_now();
  MPT_OK(mproc_executor_map(ex, gated, gate0, 0.3, 1, &it));
  MPT_ERR2(mproc_imap_next(it, MPROC_FOREVER, &res, NULL), MPROC_ETIMEDOUT,
           MPROC_EAGAIN);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.3, 0.3 + mpt_scale(2));
  MPT_OK(mproc_event_set(gates[0]));
  mproc_imap_free(it);

  mproc_obj_free(args);
  mproc_obj_free(gate0);
  executor_free_bounded(ex);
  gates_free();
}

/* ------------------------------------------------------------------------ */
/* Shutdown                                                                 */
/* ------------------------------------------------------------------------ */

MPT_TEST(executor_shutdown_wait_completes_queued_work, "EX-000-03",
         "shutdown(wait=true) on one worker with six queued tasks returns "
         "only when all six are done with their results and every worker "
         "has exited; a second shutdown returns at once.")
{
  mproc_executor *ex = executor_new(1);
  mproc_future *f[6];
  double t0;
  for (int i = 0; i < 6; i++)
    f[i] = submit_int(ex, slow_square, i);
  MPT_OK(mproc_executor_shutdown(ex, true, false));
  expect_no_child();
  for (int i = 0; i < 6; i++) {
    ck_assert(mproc_future_done(f[i]));
    ck_assert_int_eq(result_int(f[i], 0), i * i);
    mproc_future_free(f[i]);
  }
  t0 = mpt_now();
  MPT_OK(mproc_executor_shutdown(ex, true, false));
  MPT_OK(mproc_executor_shutdown(ex, false, true));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(0.5));
  executor_free_bounded(ex);
}

MPT_TEST(executor_shutdown_cancel_futures_cancels_what_has_not_started, "EX-000-03",
         "shutdown(wait=false, cancel_futures=true) returns at once, cancels "
         "the four queued futures (ECANCELLED) and lets the running one "
         "finish with its result.")
{
  mproc_executor *ex;
  mproc_future *f[5];
  mproc_obj *v = NULL;
  double t0;
  gates_new();
  ex = executor_new(1);
  f[0] = submit_int(ex, gated, 0);
  for (int i = 1; i < 5; i++)
    f[i] = submit_int(ex, square, i);
  wait_started(0);

  t0 = mpt_now();
  MPT_OK(mproc_executor_shutdown(ex, false, true));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(0.5));
  for (int i = 1; i < 5; i++) {
    ck_assert(mproc_future_cancelled(f[i]));
    ck_assert(mproc_future_done(f[i]));
    MPT_ERR(mproc_future_result(f[i], 0, &v, NULL), MPROC_ECANCELLED);
  }
  ck_assert(!mproc_future_cancelled(f[0]));
  ck_assert(!mproc_future_done(f[0]));

  MPT_OK(mproc_event_set(gates[0]));
  ck_assert_int_eq(result_int(f[0], mpt_scale(30)), 0);
  MPT_OK(mproc_executor_shutdown(ex, true, false));
  expect_no_child();
  for (int i = 0; i < 5; i++)
    mproc_future_free(f[i]);
  executor_free_bounded(ex);
  gates_free();
}

MPT_TEST(executor_submit_and_map_after_shutdown_estate, "EX-000-03",
         "After shutdown (with or without wait), submit and map give "
         "ESTATE.")
{
  mproc_obj *arg = mproc_obj_int(1), *args = range(2);
  for (int wait = 0; wait < 2; wait++) {
    mproc_executor *ex = executor_new(1);
    mproc_future *f = NULL;
    mproc_imap *it = NULL;
    MPT_OK(mproc_executor_shutdown(ex, wait, false));
    MPT_ERR(mproc_executor_submit(ex, square, arg, &f), MPROC_ESTATE);
    MPT_ERR(mproc_executor_map(ex, square, args, MPROC_FOREVER, 0, &it),
            MPROC_ESTATE);
    executor_free_bounded(ex);
  }
  mproc_obj_free(arg);
  mproc_obj_free(args);
}

/* ------------------------------------------------------------------------ */
/* A broken executor                                                        */
/* ------------------------------------------------------------------------ */

MPT_TEST_F(executor_worker_death_breaks_every_pending_and_running_future_ebroken, "EX-000-14", "executor worker-lost",
         "A worker killed by its task breaks the executor: that future, one "
         "running on the other worker and three queued ones all fail with "
         "EBROKEN within a bounded time; later submit and map give EBROKEN; "
         "freeing does not hang and leaves no worker.")
{
  mproc_array *arr;
  mproc_executor *ex;
  mproc_future *f[5], *g = NULL;
  mproc_obj *arg = mproc_obj_int(1), *args = range(2);
  mproc_imap *it = NULL;
  double t0;
  slots = mpt_scratch(&arr, 1);
  gates_new();
  ex = executor_new(2);
  f[0] = submit_int(ex, gated, 0);
  wait_started(0);
  f[1] = submit_int(ex, die, 0);
  for (int i = 2; i < 5; i++)
    f[i] = submit_int(ex, gated, i);

  t0 = mpt_now();
  for (int i = 0; i < 5; i++) {
    char what[32];
    snprintf(what, sizeof what, "future %d", i);
    expect_failure(f[i], MPROC_EBROKEN, what);
  }
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  ck_assert_int_ne(slots[0], 0);
  MPT_ERR(mproc_executor_submit(ex, square, arg, &g), MPROC_EBROKEN);
  MPT_ERR(mproc_executor_map(ex, square, args, MPROC_FOREVER, 0, &it),
          MPROC_EBROKEN);
  executor_free_bounded(ex);
  expect_no_child();
  for (int i = 0; i < 5; i++)
    mproc_future_free(f[i]);
  mproc_obj_free(arg);
  mproc_obj_free(args);
  gates_free();
  mproc_array_free(arr);
  slots = NULL;
}

/* A done callback that holds the executor's result thread until
 * `release` is set, after setting `entered`. */
static mproc_event *entered, *release;

static void hold_result_thread(mproc_future *f, void *ud)
{
  (void)f;
  (void)ud;
  mproc_event_set(entered);
  mproc_event_wait(release, mpt_scale(30));
}

/* The scheduler state of process pid ('S': asleep), from /proc. */
static char process_state(pid_t pid)
{
  char path[64], buf[512], *p;
  FILE *fp;
  size_t n;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  if ((fp = fopen(path, "r")) == NULL)
    return '?';
  n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/* The big_result task has returned and its worker sleeps: it is blocked
 * sending the result nobody reads. */
static bool blocked_sending(void *arg)
{
  return slots[1] == 1 && process_state(*(pid_t *)arg) == 'S';
}

MPT_TEST_F(executor_worker_killed_while_sending_large_result_breaks_executor, "EX-000-14", "executor worker-lost",
         "A worker killed halfway through sending an 8 MiB result breaks the "
         "executor: that future and a queued one fail with EBROKEN (no hang, "
         "no partial result), a future finished before keeps its result, "
         "and later submits give EBROKEN.")
{
  mproc_array *arr;
  mproc_executor *ex;
  mproc_future *fa, *fb, *fc, *g = NULL;
  mproc_obj *none = mproc_obj_none(), *arg = mproc_obj_int(1);
  pid_t pid;
  double t0;
  slots = mpt_scratch(&arr, 2);
  gates_new();
  MPT_OK(mproc_event_new(&entered));
  MPT_OK(mproc_event_new(&release));
  ex = executor_new(2);
  fa = submit_int(ex, gated, 0);
  MPT_OK(mproc_executor_submit(ex, big_result, none, &fb));
  fc = submit_int(ex, gated, 2);
  wait_started(0);
  wait_started(1);

  /* Hold the result thread in fa's done callback, so that nobody reads
   * what fb's worker sends. */
  MPT_OK(mproc_future_add_done_callback(fa, hold_result_thread, NULL));
  MPT_OK(mproc_event_set(gates[0]));
  ck_assert_msg(mproc_event_wait(entered, mpt_scale(30)) == 0,
                "fa's done callback never ran");
  MPT_OK(mproc_event_set(gates[1]));
  pid = (pid_t)slots[0];
  ck_assert_int_gt(pid, 0);
  ck_assert_msg(mpt_poll_until(blocked_sending, &pid, mpt_scale(30)),
                "the worker never blocked sending its result (state %c)",
                process_state(pid));
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  MPT_OK(mproc_event_set(release));

  t0 = mpt_now();
  expect_failure(fb, MPROC_EBROKEN, "the future whose worker was killed");
  expect_failure(fc, MPROC_EBROKEN, "the queued future");
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  ck_assert_int_eq(result_int(fa, mpt_scale(10)), 0);
  MPT_ERR(mproc_executor_submit(ex, square, arg, &g), MPROC_EBROKEN);
  executor_free_bounded(ex);
  expect_no_child();

  mproc_future_free(fa);
  mproc_future_free(fb);
  mproc_future_free(fc);
  mproc_obj_free(none);
  mproc_obj_free(arg);
  mproc_event_free(entered);
  mproc_event_free(release);
  entered = release = NULL;
  gates_free();
  mproc_array_free(arr);
  slots = NULL;
}

static bool future_running(void *f) { return mproc_future_running(f); }

MPT_TEST_F(executor_worker_killed_while_receiving_large_argument_breaks_executor, "EX-000-14", "executor worker-lost",
         "A worker killed while a 16 MiB argument is being sent to it (it was "
         "stopped, so the transfer cannot finish) breaks the executor: that "
         "future fails with EBROKEN within a bounded time, with nothing else "
         "happening in the executor, and later submits give EBROKEN.")
{
  const size_t size = (size_t)16 << 20;
  mproc_executor *ex = executor_new(1);
  mproc_future *f0, *f1, *g = NULL;
  mproc_obj *big, *arg = anchor(mproc_obj_int(1));
  char *buf = malloc(size);
  pid_t pid;
  double t0;
  ck_assert_ptr_nonnull(buf);
  memset(buf, 'y', size);
  big = anchor(mproc_obj_bytes(buf, size));
  free(buf);
  ck_assert_ptr_nonnull(big);

  f0 = submit_int(ex, return_pid, 0);
  pid = (pid_t)result_int(f0, mpt_scale(30));
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  MPT_OK(mproc_executor_submit(ex, bytes_len, big, &f1));
  ck_assert_msg(mpt_poll_until(future_running, f1, mpt_scale(30)),
                "the future with the large argument never started");
  ck_assert_int_eq(kill(pid, SIGKILL), 0);

  /* No other call wakes the executor here: it must notice by itself. */
  t0 = mpt_now();
  expect_failure(f1, MPROC_EBROKEN, "the future with the large argument");
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  MPT_ERR(mproc_executor_submit(ex, square, arg, &g), MPROC_EBROKEN);
  executor_free_bounded(ex);
  expect_no_child();

  mproc_future_free(f0);
  mproc_future_free(f1);
  mproc_obj_free(big);
  mproc_obj_free(arg);
}

MPT_TEST_F(executor_worker_death_after_shutdown_nowait_breaks_executor, "EX-000-14", "executor worker-lost",
         "A worker that dies after shutdown(wait=false) began still breaks "
         "the executor: the running and queued futures fail with EBROKEN "
         "within a bounded time, a submit is refused (ESTATE or EBROKEN) and "
         "shutdown(wait=true) returns.")
{
  mproc_array *arr;
  mproc_executor *ex;
  mproc_future *f[3], *g = NULL;
  mproc_obj *arg = mproc_obj_int(1);
  double t0;
  slots = mpt_scratch(&arr, 1);
  gates_new();
  ex = executor_new(2);
  f[0] = submit_int(ex, gated, 0);
  f[1] = submit_int(ex, die_at_gate, 1);
  f[2] = submit_int(ex, gated, 2);
  wait_started(0);
  wait_started(1);

  t0 = mpt_now();
  MPT_OK(mproc_executor_shutdown(ex, false, false));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(0.5));
  MPT_OK(mproc_event_set(gates[1])); /* f[1]'s worker dies now */

  t0 = mpt_now();
  for (int i = 0; i < 3; i++) {
    char what[32];
    snprintf(what, sizeof what, "future %d", i);
    expect_failure(f[i], MPROC_EBROKEN, what);
  }
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  MPT_ERR2(mproc_executor_submit(ex, square, arg, &g), MPROC_ESTATE,
           MPROC_EBROKEN);
  t0 = mpt_now();
  MPT_OK(mproc_executor_shutdown(ex, true, false));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  expect_no_child();
  executor_free_bounded(ex);

  for (int i = 0; i < 3; i++)
    mproc_future_free(f[i]);
  mproc_obj_free(arg);
  gates_free();
  mproc_array_free(arr);
  slots = NULL;
}

static int failing_init(void *arg)
{
  (void)arg;
  return mproc_task_fail(7, "cannot open the database");
}

MPT_TEST(executor_failing_initializer_breaks_executor_ebroken, "EX-000-14",
         "An initializer that returns non-zero breaks the executor: a "
         "submitted future fails with EBROKEN (or the submit itself is "
         "refused with EBROKEN), and later submits give EBROKEN.")
{
  mproc_executor_options o = {0};
  mproc_executor *ex = NULL;
  mproc_future *f = NULL;
  mproc_obj *arg = mproc_obj_int(3);
  int rc;
  o.max_workers = 2;
  o.initializer = failing_init;
  MPT_OK(mproc_executor_new(&ex, &o));
  rc = mproc_executor_submit(ex, square, arg, &f);
  if (rc == 0) {
    expect_failure(f, MPROC_EBROKEN, "the future");
    mproc_future_free(f);
  } else {
    MPT_ERR(rc, MPROC_EBROKEN);
  }
  MPT_ERR(mproc_executor_submit(ex, square, arg, &f), MPROC_EBROKEN);
  executor_free_bounded(ex);
  expect_no_child();
  mproc_obj_free(arg);
}

MPT_TEST(executor_invalid_arguments_einval, "EX-000-03",
         "NULL objects, a NULL task or callback, map arguments that are not "
         "a list and NaN timeouts give EINVAL; the state queries say false "
         "for NULL; as_completed over no futures ends at once; freeing NULL "
         "is ignored.")
{
  mproc_executor *ex = executor_new(1);
  mproc_obj *arg = mproc_obj_int(2), *v = NULL;
  mproc_future *f = NULL, *next = NULL;
  mproc_imap *it = NULL;
  mproc_as_completed *ac = NULL;
  bool failed;
  MPT_ERR(mproc_executor_new(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_executor_submit(NULL, square, arg, &f), MPROC_EINVAL);
  MPT_ERR(mproc_executor_submit(ex, NULL, arg, &f), MPROC_EINVAL);
  MPT_ERR(mproc_executor_map(ex, square, arg, MPROC_FOREVER, 0, &it),
          MPROC_EINVAL);
  MPT_ERR(mproc_executor_shutdown(NULL, true, false), MPROC_EINVAL);
  MPT_ERR(mproc_future_result(NULL, 0, &v, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_future_exception(NULL, 0, &failed, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_future_cancel(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_future_add_done_callback(NULL, log_done, NULL), MPROC_EINVAL);
  ck_assert(!mproc_future_done(NULL));
  ck_assert(!mproc_future_running(NULL));
  ck_assert(!mproc_future_cancelled(NULL));
  MPT_ERR(mproc_as_completed_new(NULL, 1, 0, &ac), MPROC_EINVAL);
  MPT_ERR(mproc_as_completed_next(NULL, &next), MPROC_EINVAL);

  f = submit_int(ex, square, 2);
  MPT_ERR(mproc_future_add_done_callback(f, NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_as_completed_new(&f, 1, NAN, &ac), MPROC_EINVAL);
  ck_assert_int_eq(result_int(f, mpt_scale(30)), 4);
  mproc_future_free(f);

  MPT_OK(mproc_as_completed_new(NULL, 0, 0, &ac));
  MPT_ERR(mproc_as_completed_next(ac, &next), MPROC_EEOF);
  mproc_as_completed_free(ac);

  mproc_future_free(NULL);
  mproc_as_completed_free(NULL);
  mproc_executor_free(NULL);
  mproc_obj_free(arg);
  executor_free_bounded(ex);
}

/*
 * harness.h: the conformance suite's test harness, on top of Check.
 *
 * Each conformance program is one C file per primitive that starts with
 *
 *     #define MPT_SUITE "lock"
 *     #include "harness.h"
 *
 * and declares its tests with MPT_TEST.  The harness registers them, runs
 * each in its own Check test case (fork mode) under a fixture that fails the
 * test when it leaves a child process or a file descriptor behind, and prints
 * one PASS/FAIL line per test, then "N passed, N failed" (harness.c's main
 * describes the report and the results file).
 *
 * Assertions come in two kinds.  In the test process use Check's ck_assert*
 * and MPT_OK / MPT_ERR.  In a child started through the mproc API, Check's
 * reporting does not work: use MPT_CHILD_* instead, which print the failure
 * to stderr, keep it for the parent's report and end the child with exit
 * code MPT_CHILD_FAILED.
 */
#ifndef MPT_HARNESS_H
#define MPT_HARNESS_H

#include <check.h>
#include <mproc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef MPT_SUITE
#error "define MPT_SUITE (the primitive's name) before including harness.h"
#endif

/* ------------------------------------------------------------------------ */
/* Declaring tests                                                          */
/* ------------------------------------------------------------------------ */

struct mpt_test {
  const char *suite;    /* MPT_SUITE of the declaring file */
  const char *name;     /* states the behaviour and the outcome */
  const char *ids;      /* catalogue IDs (docs/examples.md), space-separated */
  const char *features; /* features it needs (harness.c's table), spaces */
  const char *sentence; /* what must hold */
  const char *file;
  int line;
  const TTest *ttest;
  struct mpt_test *next; /* registration list; owned by the harness */
};

void mpt__register(struct mpt_test *t);

/* The feature (docs/validating.md) a file's tests need unless they say
 * otherwise: define MPT_FEATURE before including harness.h; default: the
 * suite's name. */
#ifndef MPT_FEATURE
#define MPT_FEATURE MPT_SUITE
#endif

/* MPT_TEST(name, "EX-000-06 EX-000-08", "What must hold.") { body }
 * Keep the name and the ID string on the macro's first line: scripts parse
 * `MPT_TEST(name, "IDs"` (and `MPT_TEST_F(name, "IDs"`).  The test
 * registers itself at load time and needs the file's MPT_FEATURE. */
#define MPT_TEST(tname, tids, tsentence)                                      \
  MPT_TEST_F(tname, tids, MPT_FEATURE, tsentence)

/* MPT_TEST_F(name, "IDs", "lock owner-died", "What must hold.") { body }
 * A test that needs other features than its file's, or an optional
 * behaviour besides: it reports UNSUPPORTED, without running, when the
 * implementation under test declares any of them unsupported. */
#define MPT_TEST_F(tname, tids, tfeatures, tsentence)                         \
  static void tname##_fn(int mpt__iter);                                      \
  static const TTest tname##_ttest = {#tname, tname##_fn, __FILE__,           \
                                      __LINE__};                              \
  static struct mpt_test tname##_desc = {                                     \
      MPT_SUITE, #tname,    tids,           tfeatures,                        \
      tsentence, __FILE__, __LINE__,       &tname##_ttest, NULL};             \
  __attribute__((constructor)) static void tname##_register(void)             \
  {                                                                           \
    mpt__register(&tname##_desc);                                             \
  }                                                                           \
  static void tname##_fn(int mpt__iter __attribute__((unused)))

/* ------------------------------------------------------------------------ */
/* Outcomes other than PASS and FAIL                                        */
/* ------------------------------------------------------------------------ */

/* UNRESOLVED: the environment broke, not the implementation.  Use where a
 * call the test makes for its own set-up, outside the API under test,
 * fails (pthread_create, socket, mmap): ends the test with UNRESOLVED and
 * the printf-style message.  In the test process only. */
#define MPT_UNRESOLVED_IF(cond, ...)                                          \
  do {                                                                        \
    if (cond)                                                                 \
      mpt__end_as("UNRESOLVED", __FILE__, __LINE__, __VA_ARGS__);             \
  } while (0)

/* UNTESTED: what the test checks cannot be checked here (it needs
 * something this machine or user lacks); ends the test with UNTESTED and
 * the message saying what is missing.  In the test process only. */
#define MPT_UNTESTED_IF(cond, ...)                                            \
  do {                                                                        \
    if (cond)                                                                 \
      mpt__end_as("UNTESTED", __FILE__, __LINE__, __VA_ARGS__);               \
  } while (0)

void mpt__end_as(const char *outcome, const char *file, int line,
                 const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* ------------------------------------------------------------------------ */
/* Assertions in the test process                                           */
/* ------------------------------------------------------------------------ */

/* Expects `expr` (an mproc call) to return 0; prints the error name if not. */
#define MPT_OK(expr)                                                          \
  do {                                                                        \
    int mpt__rc = (expr);                                                     \
    if (mpt__rc != 0)                                                         \
      _ck_assert_failed(__FILE__, __LINE__, "MPT_OK(" #expr ")",              \
                        "%s returned %s (%d), expected OK", #expr,            \
                        mproc_err_name(mpt__rc), mpt__rc);                    \
    mark_point();                                                             \
  } while (0)

/* Expects `expr` to return the error `want` (an MPROC_E* constant). */
#define MPT_ERR(expr, want)                                                   \
  do {                                                                        \
    int mpt__rc = (expr);                                                     \
    int mpt__want = (want);                                                   \
    if (mpt__rc != mpt__want)                                                 \
      _ck_assert_failed(__FILE__, __LINE__, "MPT_ERR(" #expr ")",             \
                        "%s returned %s (%d), expected %s", #expr,            \
                        mproc_err_name(mpt__rc), mpt__rc,                     \
                        mproc_err_name(mpt__want));                           \
    mark_point();                                                             \
  } while (0)

/* Expects `expr` to return one of two errors (where the contract allows
 * either). */
#define MPT_ERR2(expr, want1, want2)                                          \
  do {                                                                        \
    int mpt__rc = (expr);                                                     \
    int mpt__w1 = (want1), mpt__w2 = (want2);                                 \
    if (mpt__rc != mpt__w1 && mpt__rc != mpt__w2)                             \
      _ck_assert_failed(__FILE__, __LINE__, "MPT_ERR2(" #expr ")",            \
                        "%s returned %s (%d), expected %s or %s", #expr,      \
                        mproc_err_name(mpt__rc), mpt__rc,                     \
                        mproc_err_name(mpt__w1), mproc_err_name(mpt__w2));    \
    mark_point();                                                             \
  } while (0)

/* Expects an elapsed time (seconds) within [lo, hi]. */
#define MPT_ELAPSED_WITHIN(elapsed, lo, hi)                                   \
  do {                                                                        \
    double mpt__e = (elapsed), mpt__lo = (lo), mpt__hi = (hi);                \
    if (!(mpt__e >= mpt__lo && mpt__e <= mpt__hi))                            \
      _ck_assert_failed(__FILE__, __LINE__, "MPT_ELAPSED_WITHIN",             \
                        "%s took %.6fs, expected between %.6fs and %.6fs",    \
                        #elapsed, mpt__e, mpt__lo, mpt__hi);                  \
    mark_point();                                                             \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Assertions in children                                                   */
/* ------------------------------------------------------------------------ */

/* The exit code of a child whose MPT_CHILD_* assertion failed. */
#define MPT_CHILD_FAILED 99

/* Reports a failure from a child and ends it with MPT_CHILD_FAILED: prints
 * file:line and the message to stderr and keeps the first one for the
 * parent's report (see mpt_join_all). */
void mpt__child_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define MPT_CHILD_ASSERT(cond)                                                \
  do {                                                                        \
    if (!(cond))                                                              \
      mpt__child_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);     \
  } while (0)

#define MPT_CHILD_OK(expr)                                                    \
  do {                                                                        \
    int mpt__rc = (expr);                                                     \
    if (mpt__rc != 0)                                                         \
      mpt__child_fail(__FILE__, __LINE__, "%s returned %s (%d), expected OK", \
                      #expr, mproc_err_name(mpt__rc), mpt__rc);               \
  } while (0)

#define MPT_CHILD_ERR(expr, want)                                             \
  do {                                                                        \
    int mpt__rc = (expr);                                                     \
    int mpt__want = (want);                                                   \
    if (mpt__rc != mpt__want)                                                 \
      mpt__child_fail(__FILE__, __LINE__, "%s returned %s (%d), expected %s", \
                      #expr, mproc_err_name(mpt__rc), mpt__rc,                \
                      mproc_err_name(mpt__want));                             \
  } while (0)

#define MPT_CHILD_EQ(a, b)                                                    \
  do {                                                                        \
    long long mpt__a = (long long)(a), mpt__b = (long long)(b);               \
    if (mpt__a != mpt__b)                                                     \
      mpt__child_fail(__FILE__, __LINE__, "%s == %lld, %s == %lld", #a,       \
                      mpt__a, #b, mpt__b);                                    \
  } while (0)

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* `seconds` times MPROC_TIME_SCALE (default 1).  Every upper time bound in
 * the suite goes through it, so slow environments (Valgrind) only need the
 * variable. */
double mpt_scale(double seconds);

/* CLOCK_MONOTONIC, in seconds. */
double mpt_now(void);

/* Observation window: waits `seconds` on a private event that nobody sets
 * and asserts that the wait timed out.  Used to give other processes the
 * chance to do what they must not do, before asserting they did not: the
 * window is a bounded wait on the library, never a sleep that orders
 * events. */
#define mpt_observe(seconds) mpt__observe(__FILE__, __LINE__, (seconds))
void mpt__observe(const char *file, int line, double seconds);

/* Polls pred(arg) every millisecond until it holds or `timeout` seconds
 * pass; returns its last value.  For states that have no wait of their own
 * (a barrier's n_waiting, another process's scheduler state). */
bool mpt_poll_until(bool (*pred)(void *arg), void *arg, double timeout);

/* ------------------------------------------------------------------------ */
/* Children                                                                 */
/* ------------------------------------------------------------------------ */

/* Initialises and starts n processes running fn(arg) (mpt_spawn) or
 * fn(args + i * stride) (mpt_spawn_each).  Fails the test (after killing and
 * reaping what it started) if any init or start fails. */
#define mpt_spawn(procs, n, fn, arg)                                          \
  mpt__spawn(__FILE__, __LINE__, (procs), (n), (fn), (arg), 0)
#define mpt_spawn_each(procs, n, fn, args, stride)                            \
  mpt__spawn(__FILE__, __LINE__, (procs), (n), (fn), (args), (stride))
void mpt__spawn(const char *file, int line, mproc_process *procs, int n,
                mproc_target_fn fn, void *args, size_t stride);

/* Joins and closes n processes, within mpt_scale(40) seconds in all, and
 * requires each to have exited with 0.  On a failure it kills and reaps
 * every one, then fails the test naming the process, its exit code and the
 * first message a child reported with MPT_CHILD_*. */
#define mpt_join_all(procs, n) mpt__join_all(__FILE__, __LINE__, (procs), (n))
void mpt__join_all(const char *file, int line, mproc_process *procs, int n);

/* Joins one process (bounded), requires the exit code `code`, closes it. */
#define mpt_join_expect(proc, code)                                           \
  mpt__join_expect(__FILE__, __LINE__, (proc), (code))
void mpt__join_expect(const char *file, int line, mproc_process *proc,
                      int code);

/* Waits up to `timeout` seconds for `pid` to end and reaps it if it is the
 * caller's child (orphans are, through the subreaper fixture).  Returns true
 * when the process no longer exists, false if it is still running. */
bool mpt_wait_pid_gone(pid_t pid, double timeout);

/* The first failure message a child reported since the test began ("" if
 * none). */
const char *mpt_child_message(void);

/* A raw (lock-free) shared Array of n zeroed int64_t ('q') that children
 * write their observations into; returns its data.  Free *arr with
 * mproc_array_free. */
#define mpt_scratch(arr, n) mpt__scratch(__FILE__, __LINE__, (arr), (n))
int64_t *mpt__scratch(const char *file, int line, mproc_array **arr,
                      size_t n);

/* pthread_create for a test's helper thread; ends the test UNRESOLVED if
 * the system gives no thread. */
#define mpt_thread_create(th, fn, arg)                                        \
  mpt__thread_create(__FILE__, __LINE__, (th), (fn), (arg))
void mpt__thread_create(const char *file, int line, pthread_t *th,
                        void *(*fn)(void *), void *arg);

/* ------------------------------------------------------------------------ */
/* Signals during waits                                                     */
/* ------------------------------------------------------------------------ */

/* Checks that a blocking call survives signals.  Installs a SIGUSR1 handler
 * without SA_RESTART, starts a helper process, and calls wait_fn(arg) in
 * the caller.  The helper waits until the caller sleeps inside wait_fn,
 * sends it SIGUSR1 `signals` times (each only once the caller is asleep
 * again after the previous one was handled), then marks the wake-up and
 * calls wake_fn(arg), which must make wait_fn return 0.  Fails the test if
 * wait_fn returns before the wake-up, if the signals were not all handled,
 * or if the helper failed; otherwise returns wait_fn's result. */
#define mpt_wait_through_signals(wait_fn, wake_fn, arg, signals)              \
  mpt__wait_through_signals(__FILE__, __LINE__, (wait_fn), (wake_fn), (arg),  \
                            (signals))
int mpt__wait_through_signals(const char *file, int line,
                              int (*wait_fn)(void *arg),
                              int (*wake_fn)(void *arg), void *arg,
                              int signals);

#endif /* MPT_HARNESS_H */

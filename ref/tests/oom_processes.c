/* Out-of-memory paths where the library's other processes allocate, and
 * of the manager's client, by fault injection (the allocation wrappers of
 * ref/tests/oom.c, linked with -Wl,--wrap):
 *
 * - the manager's client: every allocation of a scenario failing in turn,
 *   as in oom.c; each run returns ENOMEM or EBROKEN (never a wrong answer
 *   or another error) and gives back every byte;
 * - the manager's server, pool workers and a process's child are forks of
 *   this program, so they run these wrappers too: in them the k-th
 *   allocation (counted from when a scenario starts) fails, k = 0, 1, 2 ...
 *   until a run sees no failure.  The server answers ENOMEM or cuts one
 *   connection (EBROKEN) and goes on serving; a worker that cannot go on
 *   exits and its tasks fail with EWORKERLOST (or ETASK when the task's
 *   own allocation failed); a child that cannot start exits with status 1.
 *   Never a wrong answer.
 *
 * The children's countdown lives in shared memory so that this process can
 * arm and disarm it. */
#include <check.h>
#include <errno.h>
#include <mproc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

void __real_mproc_process_exit(int code);

typedef struct shared {
  _Atomic long countdown; /* the server's: fail when it reaches 0 */
  _Atomic long injected;
} shared;

static shared *sh;
static bool in_server; /* set in every forked child */
/* Atomic: a pool's result thread allocates too. */
static _Atomic long countdown = -1; /* this process's; -1: never */
static _Atomic long injected;
static _Atomic long live;
static long current_k; /* the allocation failing in this run, for messages */
/* Failing the server's allocations: a server that cannot read the client's
 * digest hangs up, which the client reports as EAUTH (it cannot tell that
 * from a refusal). */
static bool server_side;
/* Under Valgrind every k-th allocation only: each run is slow there. */
static long stride = 1;
/* A child's allocations vary a little from run to run (how many times its
 * poll loop turns): the countdown has run past them all only after this
 * many runs in a row without a failure. */
#define QUIET_RUNS 5

static bool fail_now(void) {
  if (in_server) {
    if (sh == NULL || atomic_load(&sh->countdown) < 0)
      return false;
    if (atomic_fetch_sub(&sh->countdown, 1) == 0) {
      atomic_fetch_add(&sh->injected, 1);
      return true;
    }
    return false;
  }
  if (countdown < 0)
    return false;
  if (countdown-- == 0) {
    injected++;
    return true;
  }
  return false;
}

void __wrap_mproc_process_exit(int code);

#include "alloc_wrap.h"

/* The server leaves through here: nothing fails any more on the way out
 * (coverage builds write their counters then). */
void __wrap_mproc_process_exit(int code) {
  if (in_server && sh != NULL)
    atomic_store(&sh->countdown, -1);
  __real_mproc_process_exit(code);
}

static void child_after_fork(void) { in_server = true; }

static const char KEY[] = "oom-manager-key";

/* ---- the scenario: every kind of object, every operation ---- */

/* Check's assertions allocate (they report progress through a pipe), so
 * none runs while a countdown is armed: a step that goes wrong records
 * why and ends the scenario with WRONG, and the caller asserts after
 * disarming.  A step may fail with ENOMEM, or EBROKEN (the connection was
 * lost), and on the server's side EAUTH (see server_side); any other
 * outcome than the expected one is wrong. */
#define WRONG 1
static char wrong[256];

#define EXPECT(cond)                                                       \
  do {                                                                     \
    if (!(cond)) {                                                         \
      snprintf(wrong, sizeof wrong, "allocation %ld: line %d: %s",         \
               current_k, __LINE__, #cond);                                \
      rc = WRONG;                                                          \
      goto out;                                                            \
    }                                                                      \
  } while (0)

#define STEP(call, want)                                                   \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != (want)) {                                                   \
      rc = rc_;                                                            \
      if (rc_ != MPROC_ENOMEM && rc_ != MPROC_EBROKEN &&                   \
          !(server_side && rc_ == MPROC_EAUTH)) {                          \
        snprintf(wrong, sizeof wrong,                                      \
                 "allocation %ld: %s gave %s, expected %s", current_k,     \
                 #call, mproc_err_name(rc_), mproc_err_name(want));        \
        rc = WRONG;                                                        \
      }                                                                    \
      goto out;                                                            \
    }                                                                      \
  } while (0)

static bool is_str(const mproc_obj *o, const char *want) {
  const char *v = mproc_obj_str_value(o);
  return v != NULL && strcmp(v, want) == 0;
}

static bool is_int(const mproc_obj *o, int64_t want) {
  int64_t v = 0;
  return mproc_obj_get_int(o, &v) == 0 && v == want;
}

static int run_operations(mproc_manager *m) {
  int rc = 0;
  mproc_proxy *d = NULL, *l = NULL, *ns = NULL, *q = NULL, *lk = NULL,
              *ev = NULL, *v = NULL;
  mproc_obj *a = mproc_obj_str("a"), *one = mproc_obj_int(1),
            *two = mproc_obj_int(2), *b = mproc_obj_str("b"),
            *pair = mproc_obj_list(), *got = NULL, *big = NULL;
  static char bigbuf[(1 << 20) + 1024];
  big = mproc_obj_bytes(bigbuf, sizeof bigbuf);
  if (a == NULL || one == NULL || two == NULL || b == NULL || pair == NULL ||
      big == NULL ||
      mproc_obj_list_append(pair, mproc_obj_int(2)) != 0 ||
      mproc_obj_list_append(pair, mproc_obj_int(3)) != 0) {
    rc = MPROC_ENOMEM;
    goto out;
  }
  size_t n = 0;
  bool flag = false;

  STEP(mproc_manager_dict(m, &d), 0);
  STEP(mproc_proxy_dict_set(d, a, one), 0);
  STEP(mproc_proxy_dict_set(d, two, b), 0);
  STEP(mproc_proxy_dict_get(d, a, NULL, &got), 0);
  EXPECT(is_int(got, 1));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_dict_get(d, b, two, &got), 0); /* missing: the default */
  EXPECT(is_int(got, 2));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_dict_contains(d, a, &flag), 0);
  EXPECT(flag);
  STEP(mproc_proxy_dict_len(d, &n), 0);
  EXPECT(n == 2);
  STEP(mproc_proxy_dict_keys(d, &got), 0);
  EXPECT(mproc_obj_len(got) == 2);
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_dict_items(d, &got), 0);
  EXPECT(mproc_obj_len(got) == 2);
  for (size_t i = 0; i < 2; i++)
    EXPECT(mproc_obj_len(mproc_obj_list_get(got, i)) == 2);
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_dict_copy(d, &got), 0);
  EXPECT(mproc_obj_len(got) == 2);
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_dict_delete(d, a), 0);
  STEP(mproc_proxy_dict_len(d, &n), 0);
  EXPECT(n == 1);

  STEP(mproc_manager_list(m, &l), 0);
  STEP(mproc_proxy_list_append(l, one), 0);
  STEP(mproc_proxy_list_extend(l, pair), 0);
  STEP(mproc_proxy_list_set(l, 1, b), 0);
  STEP(mproc_proxy_list_get(l, 1, &got), 0);
  EXPECT(is_str(got, "b"));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_list_pop(l, -1, &got), 0);
  EXPECT(is_int(got, 3));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_list_len(l, &n), 0);
  EXPECT(n == 2);
  STEP(mproc_proxy_list_copy(l, &got), 0);
  EXPECT(mproc_obj_len(got) == 2);
  mproc_obj_free(got);
  got = NULL;

  STEP(mproc_manager_namespace(m, &ns), 0);
  STEP(mproc_proxy_ns_set(ns, "x", one), 0);
  STEP(mproc_proxy_ns_get(ns, "x", &got), 0);
  EXPECT(is_int(got, 1));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_ns_delete(ns, "x"), 0);

  STEP(mproc_manager_queue(m, 1, &q), 0);
  STEP(mproc_proxy_queue_put(q, one, 1), 0);
  STEP(mproc_proxy_queue_put(q, two, 0.001), MPROC_EFULL); /* parks */
  STEP(mproc_proxy_queue_qsize(q, &n), 0);
  EXPECT(n == 1);
  STEP(mproc_proxy_queue_get(q, &got, 1), 0);
  EXPECT(is_int(got, 1));
  mproc_obj_free(got);
  got = NULL;
  STEP(mproc_proxy_queue_get(q, &got, 0.001), MPROC_EEMPTY); /* parks */

  STEP(mproc_manager_lock(m, &lk), 0);
  STEP(mproc_proxy_lock_acquire(lk, 1), 0);
  STEP(mproc_proxy_lock_acquire(lk, 0.001), MPROC_ETIMEDOUT); /* parks */
  STEP(mproc_proxy_lock_release(lk), 0);

  STEP(mproc_manager_event(m, &ev), 0);
  STEP(mproc_proxy_event_set(ev), 0);
  STEP(mproc_proxy_event_is_set(ev, &flag), 0);
  EXPECT(flag);
  STEP(mproc_proxy_event_clear(ev), 0);
  STEP(mproc_proxy_event_wait(ev, 0.001), MPROC_ETIMEDOUT); /* parks */

  STEP(mproc_manager_value(m, one, &v), 0);
  STEP(mproc_proxy_value_set(v, b), 0);
  STEP(mproc_proxy_value_get(v, &got), 0);
  EXPECT(is_str(got, "b"));
  mproc_obj_free(got);
  got = NULL;
  /* A value larger than a connection's first buffer (1 MiB), both ways. */
  STEP(mproc_proxy_value_set(v, big), 0);
  STEP(mproc_proxy_value_get(v, &got), 0);
  EXPECT(mproc_obj_equal(got, big));
out:
  mproc_obj_free(got);
  mproc_obj_free(big);
  mproc_obj_free(pair);
  mproc_obj_free(b);
  mproc_obj_free(two);
  mproc_obj_free(one);
  mproc_obj_free(a);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(ns);
  mproc_proxy_free(q);
  mproc_proxy_free(lk);
  mproc_proxy_free(ev);
  mproc_proxy_free(v);
  return rc;
}

/* Stops a long-lived server with SIGTERM and waits for it however long it
 * takes to exit (shutdown would kill it after a second: in coverage builds
 * its exit writes many counters), then frees the manager. */
static void stop_server(mproc_manager *m) {
  pid_t pid = mproc_manager_pid(m);
  ck_assert_int_eq(kill(pid, SIGTERM), 0);
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  mproc_manager_free(m);
}

/* ---- the client's allocations ---- */

/* Runs `fn` with this process's k-th allocation failing, k = 0, 1, 2 ...
 * until a run injects nothing; returns the number of failing runs. */
static long exhaust(int (*fn)(void *), void *arg, const char *name) {
  long runs = 0;
  for (long k = 0;; k += stride) {
    long before = live;
    injected = 0;
    countdown = current_k = k;
    int rc = fn(arg);
    countdown = -1;
    long leaked = live - before; /* before any assertion: they allocate */
    ck_assert_msg(rc != WRONG, "%s: %s", name, wrong);
    ck_assert_msg(leaked == 0, "%s: allocation %ld failing leaked %ld blocks",
                  name, k, leaked);
    if (injected == 0) {
      ck_assert_msg(rc == 0, "%s: without failures it returned %s", name,
                    mproc_err_name(rc));
      return runs;
    }
    runs++;
    /* 0: the library did without (a connection not kept for reuse). */
    ck_assert_msg(rc == 0 || rc == MPROC_ENOMEM || rc == MPROC_EBROKEN,
                  "%s: allocation %ld failing gave %s", name, k,
                  mproc_err_name(rc));
  }
}

static int start_scenario(void *arg) {
  (void)arg;
  mproc_manager *m = NULL;
  mproc_manager_options o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  int rc = mproc_manager_start(&m, &o);
  if (rc != 0)
    return rc;
  mproc_proxy *d = NULL;
  rc = mproc_manager_dict(m, &d);
  mproc_proxy_free(d);
  int src = mproc_manager_shutdown(m);
  mproc_manager_free(m);
  return rc != 0 ? rc : src;
}

/* A second client of a running server, by address, doing everything. */
static int connect_scenario(void *arg) {
  mproc_manager *m = arg, *peer = NULL;
  int rc = mproc_manager_connect(&peer, mproc_manager_address(m), KEY,
                                 sizeof KEY - 1);
  if (rc == 0)
    rc = run_operations(peer);
  mproc_manager_free(peer);
  return rc;
}

START_TEST(oom_manager_client_fails_cleanly) {
  ck_assert_int_gt(exhaust(start_scenario, NULL, "start"), 5 / stride);
  mproc_manager *m = NULL;
  mproc_manager_options o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ck_assert_int_eq(mproc_manager_start(&m, &o), 0);
  ck_assert_int_gt(exhaust(connect_scenario, m, "operations"), 100 / stride);
  stop_server(m);
}
END_TEST

/* ---- the server's allocations ---- */

/* The server answers correctly, through a new connection. */
static void expect_healthy(mproc_manager *m) {
  mproc_manager *peer = NULL;
  ck_assert_int_eq(mproc_manager_connect(&peer, mproc_manager_address(m), KEY,
                                         sizeof KEY - 1),
                   0);
  mproc_proxy *d = NULL;
  mproc_obj *k = mproc_obj_str("k"), *got = NULL;
  ck_assert_int_eq(mproc_manager_dict(peer, &d), 0);
  ck_assert_int_eq(mproc_proxy_dict_set(d, k, k), 0);
  ck_assert_int_eq(mproc_proxy_dict_get(d, k, NULL, &got), 0);
  ck_assert_str_eq(mproc_obj_str_value(got), "k");
  mproc_obj_free(got);
  mproc_obj_free(k);
  mproc_proxy_free(d);
  mproc_manager_free(peer);
}

/* Waits until process `pid` sleeps (state S in /proc/PID/stat): the
 * server's only sleep between requests is its poll. */
static void wait_until_sleeping(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  for (int i = 0; i < 10000; i++) {
    char buf[512] = {0};
    FILE *f = fopen(path, "r");
    if (f == NULL)
      return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (rp != NULL && rp[1] == ' ' && rp[2] == 'S')
      return;
    struct timespec nap = {0, 100000L};
    nanosleep(&nap, NULL);
  }
}

START_TEST(oom_manager_server_survives_every_failure) {
  server_side = true;
  mproc_manager *m = NULL;
  mproc_manager_options o = {.authkey = KEY, .authkey_len = sizeof KEY - 1};
  ck_assert_int_eq(mproc_manager_start(&m, &o), 0);
  long runs = 0;
  mproc_proxy *sync = NULL;
  ck_assert_int_eq(mproc_manager_dict(m, &sync), 0);
  /* With this process's connection and 15 more the server's table of 16
   * clients is full: an extra first run (its first allocation failing)
   * has its client make the table grow. */
  enum { IDLE = 15 };
  mproc_manager *idle[IDLE];
  for (int i = 0; i < IDLE; i++)
    ck_assert_int_eq(mproc_manager_connect(&idle[i], mproc_manager_address(m),
                                           KEY, sizeof KEY - 1),
                     0);
  int quiet = 0;
  for (long k = -1;; k += k < 0 ? 1 : stride) {
    /* Count from a quiet server: it has answered everything sent so far
     * (the last client's goodbye included) and sleeps in poll, so the
     * first allocation of the run is the new client's. */
    size_t n = 0;
    ck_assert_int_eq(mproc_proxy_dict_len(sync, &n), 0);
    wait_until_sleeping(mproc_manager_pid(m));
    atomic_store(&sh->injected, 0);
    atomic_store(&sh->countdown, current_k = k < 0 ? 0 : k);
    int rc = connect_scenario(m);
    atomic_store(&sh->countdown, -1);
    ck_assert_msg(rc != WRONG, "%s", wrong);
    /* Connecting may also fail: EEOF when the server could not take the
     * connection and hung up before its challenge. */
    ck_assert_msg(rc == 0 || rc == MPROC_ENOMEM || rc == MPROC_EBROKEN ||
                      rc == MPROC_EAUTH || rc == MPROC_EEOF,
                  "allocation %ld: %s", current_k, mproc_err_name(rc));
    if (k < 0)
      for (int i = 0; i < IDLE; i++)
        mproc_manager_free(idle[i]);
    expect_healthy(m);
    if (atomic_load(&sh->injected) == 0) {
      ck_assert_msg(rc == 0, "without failures it returned %s",
                    mproc_err_name(rc));
      if (++quiet == QUIET_RUNS)
        break;
      continue;
    }
    quiet = 0;
    runs++;
  }
  ck_assert_int_gt(runs, 100 / stride);
  mproc_proxy_free(sync);
  stop_server(m);
}
END_TEST

/* ---- pool workers ---- */

static int square(const mproc_obj *arg, mproc_obj **out) {
  int64_t x = 0;
  mproc_obj_get_int(arg, &x);
  *out = mproc_obj_int(x * x);
  return *out != NULL ? 0 : MPROC_ENOMEM;
}

static int refuse(const mproc_obj *arg, mproc_obj **out) {
  (void)arg;
  (void)out;
  return mproc_task_fail(7, "refused %d", 7);
}

static mproc_obj *int_list(int n) {
  mproc_obj *l = mproc_obj_list();
  for (int i = 1; i <= n; i++)
    ck_assert_int_eq(mproc_obj_list_append(l, mproc_obj_int(i)), 0);
  return l;
}

/* map(square, [1, 2, 3]) is [1, 4, 9], or failed as a lost worker would
 * fail it, or as a task whose allocation failed. */
static void check_map(int rc, const mproc_obj *res, const mproc_task_error *e,
                      bool strict) {
  if (rc == 0) {
    ck_assert_msg(mproc_obj_len(res) == 3, "allocation %ld: %zu results",
                  current_k, mproc_obj_len(res));
    for (int i = 0; i < 3; i++)
      ck_assert_msg(is_int(mproc_obj_list_get(res, i), (i + 1) * (i + 1)),
                    "allocation %ld: result %d is wrong", current_k, i);
    return;
  }
  ck_assert_msg(!strict, "allocation %ld: map gave %s (%s)", current_k,
                mproc_err_name(rc), e->message);
  ck_assert_msg(rc == MPROC_EWORKERLOST ||
                    (rc == MPROC_ETASK && e->code == MPROC_ENOMEM),
                "allocation %ld: map gave %s, code %s (%s)", current_k,
                mproc_err_name(rc), mproc_err_name(e->code), e->message);
}

START_TEST(oom_workers_fail_their_tasks_cleanly) {
  static mproc_obj *args, *one; /* static: see oom_results_copied_out */
  args = int_list(3);
  one = mproc_obj_int(1);
  long runs = 0;
  int quiet = 0;
  for (long k = 0;; k += stride) {
    mproc_pool *pool = NULL;
    mproc_pool_options o = {.processes = 1};
    /* Armed first: the worker's own start is counted too. */
    atomic_store(&sh->injected, 0);
    atomic_store(&sh->countdown, current_k = k);
    ck_assert_int_eq(mproc_pool_new(&pool, &o), 0);
    mproc_obj *res = NULL;
    mproc_task_error e;
    memset(&e, 0, sizeof e);
    int rc = mproc_pool_map(pool, square, args, 3, &res, &e);
    mproc_obj *r2 = NULL;
    mproc_task_error e2;
    memset(&e2, 0, sizeof e2);
    int rc2 = mproc_pool_apply(pool, refuse, one, &r2, &e2);
    atomic_store(&sh->countdown, -1);
    check_map(rc, res, &e, false);
    mproc_obj_free(res);
    ck_assert_msg(rc2 == MPROC_EWORKERLOST ||
                      (rc2 == MPROC_ETASK && e2.code == 7 &&
                       strcmp(e2.message, "refused 7") == 0),
                  "allocation %ld: apply gave %s, code %d (%s)", k,
                  mproc_err_name(rc2), e2.code, e2.message);
    /* The pool recovers: the next worker does not fail. */
    res = NULL;
    rc = mproc_pool_map(pool, square, args, 3, &res, &e);
    check_map(rc, res, &e, true);
    mproc_obj_free(res);
    /* Workers leave normally (free would terminate them, and a coverage
     * build would lose what they counted). */
    ck_assert_int_eq(mproc_pool_close(pool), 0);
    ck_assert_int_eq(mproc_pool_join(pool, scale(30)), 0);
    mproc_pool_free(pool);
    if (atomic_load(&sh->injected) == 0) {
      if (++quiet == QUIET_RUNS)
        break;
      continue;
    }
    quiet = 0;
    runs++;
  }
  ck_assert_int_gt(runs, 10 / stride);
  mproc_obj_free(args);
  mproc_obj_free(one);
}
END_TEST

/* ---- results copied out to the caller ---- */

static mproc_event *gate;

/* A task that waits until `gate` is set. */
static int wait_gate(const mproc_obj *arg, mproc_obj **out) {
  (void)arg;
  if (mproc_event_wait(gate, scale(30)) != 0)
    return mproc_task_fail(1, "the gate stayed shut");
  *out = mproc_obj_int(1);
  return *out != NULL ? 0 : MPROC_ENOMEM;
}

static void count_call(mproc_future *f, void *ud) {
  (void)f;
  ++*(int *)ud;
}

static bool running(mproc_future *f) {
  for (int i = 0; i < 30000 && !mproc_future_running(f); i++) {
    struct timespec nap = {0, 1000000L};
    nanosleep(&nap, NULL);
  }
  return mproc_future_running(f);
}

/* Fails this thread's next allocation in `call` (run while the library's
 * result threads have nothing to do, so the failure is the caller's). */
#define FAIL_NEXT(call)                                                    \
  ({                                                                       \
    injected = 0;                                                          \
    countdown = 0;                                                         \
    int rc_ = (call);                                                      \
    countdown = -1;                                                        \
    ck_assert_int_eq(injected, 1);                                         \
    rc_;                                                                   \
  })

START_TEST(oom_results_copied_out_fail_cleanly) {
  ck_assert_int_eq(mproc_event_new(&gate), 0);
  mproc_executor *ex = NULL;
  mproc_executor_options eo = {.max_workers = 1};
  ck_assert_int_eq(mproc_executor_new(&ex, &eo), 0);
  /* Static: the pools' workers are forked by their result threads, and in
   * such a child a block only this thread's registers hold looks lost to
   * Valgrind's leak check. */
  static mproc_obj *three, *res;
  three = mproc_obj_int(3);
  res = NULL;
  mproc_future *f = NULL;
  ck_assert_int_eq(mproc_executor_submit(ex, wait_gate, three, &f), 0);
  ck_assert(running(f)); /* sent: the executor waits for its worker */
  int calls = 0;
  ck_assert_int_eq(FAIL_NEXT(mproc_future_add_done_callback(f, count_call,
                                                            &calls)),
                   MPROC_ENOMEM);
  ck_assert_int_eq(mproc_future_add_done_callback(f, count_call, &calls), 0);
  ck_assert_int_eq(mproc_event_set(gate), 0);
  mproc_task_error e;
  ck_assert_int_eq(mproc_future_result(f, scale(30), &res, &e), 0);
  mproc_obj_free(res);
  res = NULL;
  ck_assert_int_eq(FAIL_NEXT(mproc_future_result(f, 0, &res, &e)),
                   MPROC_ENOMEM);
  ck_assert_ptr_null(res);
  ck_assert_int_eq(mproc_future_result(f, 0, &res, &e), 0);
  ck_assert(is_int(res, 1));
  mproc_obj_free(res);
  res = NULL;
  ck_assert_int_eq(calls, 1);
  mproc_future_free(f);
  mproc_executor_free(ex);

  mproc_pool *pool = NULL;
  mproc_pool_options po = {.processes = 1};
  ck_assert_int_eq(mproc_pool_new(&pool, &po), 0);
  mproc_async_result *ar = NULL;
  ck_assert_int_eq(mproc_pool_apply_async(pool, square, three, NULL, &ar), 0);
  ck_assert_int_eq(mproc_async_result_wait(ar, scale(30)), 0);
  ck_assert_int_eq(FAIL_NEXT(mproc_async_result_get(ar, 0, &res, &e)),
                   MPROC_ENOMEM);
  ck_assert_ptr_null(res);
  ck_assert_int_eq(mproc_async_result_get(ar, 0, &res, &e), 0);
  ck_assert(is_int(res, 9));
  mproc_obj_free(res);
  mproc_async_result_free(ar);
  mproc_pool_free(pool);
  mproc_obj_free(three);
  mproc_event_free(gate);
}
END_TEST

/* ---- a process's child ---- */

/* Past the start: nothing fails any more (the child's exit writes the
 * coverage counters of coverage builds, through code that must not). */
static int return_five(void *arg) {
  (void)arg;
  atomic_store(&sh->countdown, -1);
  return 5;
}

START_TEST(oom_child_that_cannot_start_exits_with_1) {
  long failing = 0;
  for (long k = 0;; k++) {
    mproc_process p;
    mproc_process_options o = {.target = return_five, .name = "named"};
    ck_assert_int_eq(mproc_process_init(&p, &o), 0);
    atomic_store(&sh->injected, 0);
    atomic_store(&sh->countdown, current_k = k);
    ck_assert_int_eq(mproc_process_start(&p), 0);
    ck_assert_int_eq(mproc_process_join(&p, scale(30)), 0);
    atomic_store(&sh->countdown, -1);
    int code = -1;
    ck_assert_int_eq(mproc_process_exitcode(&p, &code), 0);
    ck_assert_int_eq(mproc_process_close(&p), 0);
    if (atomic_load(&sh->injected) == 0) {
      ck_assert_int_eq(code, 5);
      break;
    }
    ck_assert_msg(code == 1, "allocation %ld: the child exited with %d", k,
                  code);
    failing++;
  }
  ck_assert_int_eq(failing, 2); /* its id and its name */
}
END_TEST

int main(void) {
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED)
    return 99;
  atomic_store(&sh->countdown, -1);
#ifdef RUNNING_ON_VALGRIND
  if (RUNNING_ON_VALGRIND)
    stride = 7;
#endif
  pthread_atfork(NULL, NULL, child_after_fork);
  /* Without forked test runs Check cannot time a test out: a hang (a reply
   * the server never sends) ends the program instead. */
  alarm((unsigned)scale(240));
  Suite *s = suite_create("oom_processes");
  TCase *tc = tcase_create("oom_processes");
  tcase_set_timeout(tc, scale(120));
  tcase_add_test(tc, oom_manager_client_fails_cleanly);
  tcase_add_test(tc, oom_manager_server_survives_every_failure);
  tcase_add_test(tc, oom_workers_fail_their_tasks_cleanly);
  tcase_add_test(tc, oom_results_copied_out_fail_cleanly);
  tcase_add_test(tc, oom_child_that_cannot_start_exits_with_1);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  /* The tests themselves must not run in forked children: the server is
   * told apart from this process by being one. */
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  printf("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}

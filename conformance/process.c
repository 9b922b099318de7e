/* Conformance: processes (function and subclass style, names, pids, join,
 * is_alive, exit codes, terminate/kill, close, daemons) and cpu_count. */
#define _GNU_SOURCE
#define MPT_SUITE "process"
#include "harness.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr) - offsetof(type, member)))

static int return_zero(void *arg)
{
  (void)arg;
  return 0;
}

/* Blocks until `arg` (an mproc_event) is set; the scaled bound only keeps
 * a broken test from hanging forever. */
static int wait_for_event(void *arg)
{
  MPT_CHILD_OK(mproc_event_wait(arg, mpt_scale(60)));
  return 0;
}

static void start_target(mproc_process *p, mproc_target_fn fn, void *arg,
                         const char *name)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  o.name = name;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

/* ---- workers: pids, names, arguments ---- */

struct worker_arg {
  int index;
  int64_t *slots; /* 4 per worker */
};

static int report_pids(void *p)
{
  struct worker_arg *a = p;
  int64_t *s = a->slots + 4 * a->index;
  s[0] = getpid();
  s[1] = mproc_current_pid();
  s[2] = getppid();
  s[3] = mproc_parent_pid();
  return 0;
}

MPT_TEST(process_four_workers_see_own_pid_and_parent_pid, "EX-000-01",
         "Four workers each see their own pid (as the parent sees it) and the "
         "parent's pid as their parent pid.")
{
  enum { N = 4 };
  mproc_process procs[N];
  struct worker_arg args[N];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 4 * N);
  pid_t pids[N];

  for (int i = 0; i < N; i++)
    args[i] = (struct worker_arg){i, slots};
  mpt_spawn_each(procs, N, report_pids, args, sizeof args[0]);
  for (int i = 0; i < N; i++)
    pids[i] = mproc_process_pid(&procs[i]);
  mpt_join_all(procs, N);
  for (int i = 0; i < N; i++) {
    int64_t *s = slots + 4 * i;
    ck_assert_int_gt(pids[i], 0);
    ck_assert_int_eq(s[0], pids[i]);
    ck_assert_int_eq(s[1], pids[i]);
    ck_assert_int_eq(s[2], getpid());
    ck_assert_int_eq(s[3], getpid());
    for (int j = 0; j < i; j++)
      ck_assert_int_ne(pids[i], pids[j]);
  }
  mproc_array_free(arr);
}

struct five_arg {
  int index;
  int64_t *slots;
  mproc_barrier *all_running;
};

static int run_concurrently(void *p)
{
  struct five_arg *a = p;
  __atomic_add_fetch(&a->slots[a->index], 1, __ATOMIC_SEQ_CST);
  /* Only passes once all five run at the same time. */
  MPT_CHILD_OK(mproc_barrier_wait(a->all_running, mpt_scale(30), NULL));
  return 0;
}

MPT_TEST(process_five_workers_run_concurrently_and_once, "EX-001-01",
         "Five processes started on one target all run at the same time (they "
         "meet at a Barrier(5)), each runs it exactly once, and all exit 0 "
         "before the parent's joins return.")
{
  enum { N = 5 };
  mproc_process procs[N];
  struct five_arg args[N];
  mproc_barrier *b;
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, N);

  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  for (int i = 0; i < N; i++)
    args[i] = (struct five_arg){i, slots, b};
  mpt_spawn_each(procs, N, run_concurrently, args, sizeof args[0]);
  mpt_join_all(procs, N);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(slots[i], 1);
  ck_assert(!mproc_barrier_broken(b));
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

/* The C form of target(*args, **kwargs): one struct. */
struct greeting {
  const char *who;
  int times;
  double scale; /* a "keyword" argument */
  int64_t *out;
};

static int greet(void *p)
{
  struct greeting *g = p;
  MPT_CHILD_ASSERT(strcmp(g->who, "bob") == 0);
  g->out[0] = (int64_t)(g->times * g->scale);
  g->out[1] = (int64_t)strlen(g->who);
  return 0;
}

MPT_TEST(process_target_receives_struct_of_arguments, "EX-002-02",
         "A target started with a struct of positional and keyword arguments "
         "sees every field as the parent set it.")
{
  mproc_process p;
  mproc_array *arr;
  int64_t *out = mpt_scratch(&arr, 2);
  struct greeting g = {"bob", 3, 2.5, out};

  start_target(&p, greet, &g, NULL);
  mpt_join_all(&p, 1);
  ck_assert_int_eq(out[0], 7);
  ck_assert_int_eq(out[1], 3);
  mproc_array_free(arr);
}

struct my_process {
  mproc_process base;
  int delay_ms;
  int index;
  int64_t *out; /* per process: delay, own pid */
};

static int my_process_run(mproc_process *self)
{
  struct my_process *me = container_of(self, struct my_process, base);
  char want[32];
  snprintf(want, sizeof want, "worker-%d", me->index);
  MPT_CHILD_ASSERT(strcmp(mproc_current_name(), want) == 0);
  MPT_CHILD_ASSERT(strcmp(mproc_process_name(self), want) == 0);
  me->out[2 * me->index] = me->delay_ms;
  me->out[2 * me->index + 1] = mproc_current_pid();
  return 0;
}

MPT_TEST(process_subclass_run_recovers_its_struct, "EX-002-01",
         "A subclass-style process runs its run routine with the embedded "
         "object, from which it recovers its own fields and name; its own "
         "pid is the one the parent sees.")
{
  enum { N = 2 };
  struct my_process mine[N];
  mproc_array *arr;
  int64_t *out = mpt_scratch(&arr, 2 * N);
  pid_t pids[N];
  char names[N][32];

  for (int i = 0; i < N; i++) {
    mproc_process_options o = {0};
    snprintf(names[i], sizeof names[i], "worker-%d", i);
    mine[i].delay_ms = 100 * (i + 1);
    mine[i].index = i;
    mine[i].out = out;
    o.run = my_process_run;
    o.name = names[i];
    MPT_OK(mproc_process_init(&mine[i].base, &o));
    MPT_OK(mproc_process_start(&mine[i].base));
  }
  for (int i = 0; i < N; i++) {
    ck_assert_str_eq(mproc_process_name(&mine[i].base), names[i]);
    pids[i] = mproc_process_pid(&mine[i].base);
  }
  for (int i = 0; i < N; i++)
    mpt_join_all(&mine[i].base, 1);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(out[2 * i], 100 * (i + 1));
    ck_assert_int_eq(out[2 * i + 1], pids[i]);
  }
  mproc_array_free(arr);
}

struct named_arg {
  char expected[32];
  int64_t *out;
};

static int check_own_name(void *p)
{
  struct named_arg *a = p;
  MPT_CHILD_ASSERT(strcmp(mproc_current_name(), a->expected) == 0);
  a->out[0] = mproc_current_pid();
  return 0;
}

MPT_TEST(process_a_and_b_run_under_their_names, "EX-003-02",
         "Processes named A and B run at once, each under its own name and "
         "with its own pid, which is the one the parent sees.")
{
  const char *names[] = {"A", "B"};
  mproc_process p[2];
  mproc_array *arr;
  struct named_arg a[2];
  int64_t *out = mpt_scratch(&arr, 2);
  pid_t pids[2];

  for (size_t i = 0; i < 2; i++) {
    a[i].out = &out[i];
    snprintf(a[i].expected, sizeof a[i].expected, "%s", names[i]);
    start_target(&p[i], check_own_name, &a[i], names[i]);
    ck_assert_str_eq(mproc_process_name(&p[i]), names[i]);
    pids[i] = mproc_process_pid(&p[i]);
  }
  mpt_join_all(p, 2);
  for (size_t i = 0; i < 2; i++)
    ck_assert_int_eq(out[i], pids[i]);
  ck_assert_int_ne(pids[0], pids[1]);
  ck_assert_int_ne(pids[0], getpid());
  mproc_array_free(arr);
}

MPT_TEST(process_custom_name_is_copied_at_init, "EX-002-01",
         "The name given to init is copied: changing the caller's buffer "
         "afterwards changes neither the object's nor the child's name.")
{
  mproc_process p;
  mproc_process_options o = {0};
  mproc_array *arr;
  struct named_arg a = {"custom-name", NULL};
  char buf[32] = "custom-name";

  a.out = mpt_scratch(&arr, 1);
  o.target = check_own_name;
  o.arg = &a;
  o.name = buf;
  MPT_OK(mproc_process_init(&p, &o));
  memcpy(buf, "overwritten", 12);
  ck_assert_str_eq(mproc_process_name(&p), "custom-name");
  MPT_OK(mproc_process_start(&p));
  mpt_join_all(&p, 1);
  ck_assert_int_gt(a.out[0], 0);
  mproc_array_free(arr);
}

MPT_TEST(process_main_process_is_named_mainprocess, "EX-000-01",
         "The calling process, not started through the library, is "
         "MainProcess with its own pid and getppid() as parent.")
{
  ck_assert_str_eq(mproc_current_name(), "MainProcess");
  ck_assert_int_eq(mproc_current_pid(), getpid());
  ck_assert_int_eq(mproc_parent_pid(), getppid());
}

/* Runs in a child with a default name: its own children count from 1. */
static int name_grandchildren(void *p)
{
  struct named_arg *a = p;
  mproc_process kids[2];
  struct named_arg ka[2];
  const char *me = mproc_current_name();

  MPT_CHILD_ASSERT(strcmp(me, a->expected) == 0);
  for (int i = 0; i < 2; i++) {
    mproc_process_options o = {0};
    snprintf(ka[i].expected, sizeof ka[i].expected, "%s:%d", me, i + 1);
    ka[i].out = a->out + 1 + i;
    o.target = check_own_name;
    o.arg = &ka[i];
    MPT_CHILD_OK(mproc_process_init(&kids[i], &o));
    MPT_CHILD_ASSERT(strcmp(mproc_process_name(&kids[i]), ka[i].expected) ==
                     0);
    MPT_CHILD_OK(mproc_process_start(&kids[i]));
  }
  mpt_join_all(kids, 2);
  return 0;
}

MPT_TEST(process_default_names_count_per_parent, "EX-002-01 EX-000-01",
         "Default names are Process-N with N counting up per parent process; "
         "a child's children are Process-N:1, Process-N:2.")
{
  mproc_process p[2];
  mproc_array *arr;
  int64_t *out = mpt_scratch(&arr, 3);
  struct named_arg a[2];
  int n1 = 0, n2 = 0;
  char tail;

  for (int i = 0; i < 2; i++) {
    mproc_process_options o = {0};
    o.target = name_grandchildren;
    o.arg = &a[i];
    a[i].out = out;
    MPT_OK(mproc_process_init(&p[i], &o));
  }
  ck_assert_msg(sscanf(mproc_process_name(&p[0]), "Process-%d%c", &n1,
                       &tail) == 1,
                "first default name is %s", mproc_process_name(&p[0]));
  ck_assert_msg(sscanf(mproc_process_name(&p[1]), "Process-%d%c", &n2,
                       &tail) == 1,
                "second default name is %s", mproc_process_name(&p[1]));
  ck_assert_int_ge(n1, 1);
  ck_assert_int_eq(n2, n1 + 1);
  for (int i = 0; i < 2; i++)
    snprintf(a[i].expected, sizeof a[i].expected, "%s",
             mproc_process_name(&p[i]));
  /* Starting does not rename. */
  MPT_OK(mproc_process_start(&p[0]));
  ck_assert_str_eq(mproc_process_name(&p[0]), a[0].expected);
  mpt_join_all(&p[0], 1);
  ck_assert_int_gt(out[1], 0); /* both grandchildren checked their names */
  ck_assert_int_gt(out[2], 0);
  /* The second object was never started: closing it is allowed. */
  MPT_OK(mproc_process_close(&p[1]));
  mproc_array_free(arr);
}

/* ---- state errors ---- */

MPT_TEST(process_unstarted_object_rejects_join_and_signals_estate, "EX-000-01",
         "Before start: join, exitcode, terminate and kill give ESTATE, "
         "is_alive is false, pid is 0; close is allowed.")
{
  mproc_process p;
  mproc_process_options o = {.target = return_zero};
  int code = 12345;

  MPT_OK(mproc_process_init(&p, &o));
  ck_assert(!mproc_process_is_alive(&p));
  ck_assert_int_eq(mproc_process_pid(&p), 0);
  MPT_ERR(mproc_process_join(&p, 0), MPROC_ESTATE);
  MPT_ERR(mproc_process_join(&p, MPROC_FOREVER), MPROC_ESTATE);
  MPT_ERR(mproc_process_exitcode(&p, &code), MPROC_ESTATE);
  ck_assert_int_eq(code, 12345);
  MPT_ERR(mproc_process_terminate(&p), MPROC_ESTATE);
  MPT_ERR(mproc_process_kill(&p), MPROC_ESTATE);
  MPT_OK(mproc_process_close(&p));
}

MPT_TEST(process_start_twice_estate, "EX-000-01",
         "Starting a process a second time gives ESTATE, while it runs and "
         "after it ended.")
{
  mproc_process p;
  mproc_event *go;

  MPT_OK(mproc_event_new(&go));
  start_target(&p, wait_for_event, go, NULL);
  MPT_ERR(mproc_process_start(&p), MPROC_ESTATE);
  MPT_OK(mproc_event_set(go));
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  MPT_ERR(mproc_process_start(&p), MPROC_ESTATE);
  mpt_join_all(&p, 1);
  mproc_event_free(go);
}

MPT_TEST(process_init_rejects_bad_options_einval, "EX-000-01 EX-002-01",
         "init gives EINVAL for a NULL object or options and unless exactly "
         "one of target and run is given.")
{
  mproc_process p;
  mproc_process_options none = {0};
  mproc_process_options both = {.target = return_zero,
                                .run = (mproc_run_fn)my_process_run};
  mproc_process_options ok = {.target = return_zero};

  MPT_ERR(mproc_process_init(NULL, &ok), MPROC_EINVAL);
  MPT_ERR(mproc_process_init(&p, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_process_init(&p, &none), MPROC_EINVAL);
  MPT_ERR(mproc_process_init(&p, &both), MPROC_EINVAL);
}

MPT_TEST(process_null_object_einval, "EX-000-01",
         "Every process function given NULL fails with EINVAL or reports "
         "nothing (false, 0, NULL).")
{
  mproc_process p;
  int code;

  MPT_ERR(mproc_process_start(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_process_join(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_process_exitcode(NULL, &code), MPROC_EINVAL);
  MPT_ERR(mproc_process_set_daemon(NULL, true), MPROC_EINVAL);
  MPT_ERR(mproc_process_terminate(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_process_kill(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_process_close(NULL), MPROC_EINVAL);
  ck_assert(!mproc_process_is_alive(NULL));
  ck_assert_int_eq(mproc_process_pid(NULL), 0);
  ck_assert_ptr_null(mproc_process_name(NULL));
  ck_assert(!mproc_process_daemon(NULL));
  /* A NULL result pointer as well. */
  start_target(&p, return_zero, NULL, NULL);
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  MPT_ERR(mproc_process_exitcode(&p, NULL), MPROC_EINVAL);
  mpt_join_all(&p, 1);
}

/* ---- join, is_alive, exit codes ---- */

static const struct {
  const char *label;
  double timeout;
  int expect;
} join_timeouts[] = {
    {"zero", 0, MPROC_EAGAIN},
    {"negative", -1, MPROC_EAGAIN},
    {"tiny negative", -1e-9, MPROC_EAGAIN},
    {"positive", 0.1, MPROC_ETIMEDOUT},
};

MPT_TEST(process_join_timeout_leaves_child_running, "EX-000-01",
         "join on a running child with timeout 0 or negative gives EAGAIN, "
         "with a positive limit ETIMEDOUT after the limit; the child keeps "
         "running and a later join succeeds.")
{
  mproc_process p;
  mproc_event *go;
  int code;

  MPT_OK(mproc_event_new(&go));
  start_target(&p, wait_for_event, go, NULL);
  for (size_t i = 0; i < sizeof join_timeouts / sizeof join_timeouts[0];
       i++) {
    double t0 = mpt_now();
    MPT_ERR(mproc_process_join(&p, join_timeouts[i].timeout),
            join_timeouts[i].expect);
    double elapsed = mpt_now() - t0;
    if (join_timeouts[i].timeout > 0)
      MPT_ELAPSED_WITHIN(elapsed, join_timeouts[i].timeout,
                         join_timeouts[i].timeout + mpt_scale(2));
    ck_assert_msg(mproc_process_is_alive(&p), "not alive after %s join",
                  join_timeouts[i].label);
    MPT_ERR(mproc_process_exitcode(&p, &code), MPROC_ESTATE);
  }
  MPT_ERR(mproc_process_join(&p, NAN), MPROC_EINVAL);
  ck_assert(mproc_process_is_alive(&p));
  MPT_OK(mproc_event_set(go));
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  ck_assert(!mproc_process_is_alive(&p));
  MPT_OK(mproc_process_exitcode(&p, &code));
  ck_assert_int_eq(code, 0);
  /* Joining an ended child again returns at once. */
  MPT_OK(mproc_process_join(&p, 0));
  mpt_join_all(&p, 1);
  mproc_event_free(go);
}

/* Child: sets the event `arg` after a moment (a bounded wait on an event
 * nobody sets), so that a join is likely to be blocking by then. */
static int set_after_a_moment(void *arg)
{
  mproc_event *idle;
  MPT_CHILD_OK(mproc_event_new(&idle));
  MPT_CHILD_ERR(mproc_event_wait(idle, 0.1), MPROC_ETIMEDOUT);
  mproc_event_free(idle);
  MPT_CHILD_OK(mproc_event_set(arg));
  return 0;
}

static int wait_then_return_3(void *arg)
{
  MPT_CHILD_OK(mproc_event_wait(arg, mpt_scale(60)));
  return 3;
}

MPT_TEST(process_join_without_limit_waits_for_the_child, "EX-000-01",
         "join with MPROC_FOREVER, or with a finite limit too long for one "
         "poll (1e8 s), blocks until the child exits, reaps it and returns "
         "0 with the child's exit code kept; joining again returns at once.")
{
  static const double limits[] = {MPROC_FOREVER, 1e8};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    mproc_process child, helper;
    mproc_event *go;
    int code = -1;

    MPT_OK(mproc_event_new(&go));
    start_target(&child, wait_then_return_3, go, NULL);
    start_target(&helper, set_after_a_moment, go, NULL);
    MPT_OK(mproc_process_join(&child, limits[i]));
    ck_assert(!mproc_process_is_alive(&child));
    MPT_OK(mproc_process_exitcode(&child, &code));
    ck_assert_int_eq(code, 3);
    MPT_OK(mproc_process_join(&child, limits[i]));
    mpt_join_expect(&child, 3);
    mpt_join_all(&helper, 1);
    mproc_event_free(go);
  }
}

static bool not_alive(void *p) { return !mproc_process_is_alive(p); }

MPT_TEST(process_is_alive_false_before_start_and_after_exit, "EX-000-01",
         "is_alive is false before start, true while the child runs, and "
         "becomes false once it exits, without a join; then join returns at "
         "once and nothing is left to reap.")
{
  mproc_process p;
  mproc_event *go;
  mproc_process_options o = {.target = wait_for_event};
  pid_t pid;
  int code;

  MPT_OK(mproc_event_new(&go));
  o.arg = go;
  MPT_OK(mproc_process_init(&p, &o));
  ck_assert(!mproc_process_is_alive(&p));
  MPT_OK(mproc_process_start(&p));
  pid = mproc_process_pid(&p);
  ck_assert(mproc_process_is_alive(&p));
  MPT_OK(mproc_event_set(go));
  ck_assert_msg(mpt_poll_until(not_alive, &p, mpt_scale(10)),
                "is_alive still true %.1fs after the child was released",
                mpt_scale(10));
  /* is_alive reaped it: no zombie remains. */
  ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
  MPT_OK(mproc_process_join(&p, 0));
  MPT_OK(mproc_process_exitcode(&p, &code));
  ck_assert_int_eq(code, 0);
  mpt_join_all(&p, 1);
  mproc_event_free(go);
}

MPT_TEST(process_join_reaps_child_no_zombie, "EX-000-01",
         "After join returns the child is reaped: it is neither a zombie nor "
         "waitable, and its pid is still reported.")
{
  mproc_process p;
  pid_t pid;

  start_target(&p, return_zero, NULL, NULL);
  pid = mproc_process_pid(&p);
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  ck_assert_int_eq(mproc_process_pid(&p), pid);
  ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
  ck_assert_int_eq(kill(pid, 0), -1);
  ck_assert_int_eq(errno, ESRCH);
  mpt_join_all(&p, 1);
}

enum how_exit {
  HOW_RETURN,
  HOW_MPROC_EXIT,
  HOW_LIBC_EXIT,
  HOW_RAISE
};

struct exit_case {
  const char *label;
  enum how_exit how;
  int value;
  int expect;
};

static const struct exit_case exit_cases[] = {
    {"return 0", HOW_RETURN, 0, 0},
    {"return 7", HOW_RETURN, 7, 7},
    {"return 255", HOW_RETURN, 255, 255},
    {"mproc_process_exit(3)", HOW_MPROC_EXIT, 3, 3},
    {"mproc_process_exit(0)", HOW_MPROC_EXIT, 0, 0},
    {"exit(5)", HOW_LIBC_EXIT, 5, 5},
    {"raise(SIGUSR2)", HOW_RAISE, SIGUSR2, -SIGUSR2},
    {"raise(SIGINT)", HOW_RAISE, SIGINT, -SIGINT},
};

static int end_as_told(void *p)
{
  const struct exit_case *c = p;
  switch (c->how) {
  case HOW_RETURN:
    return c->value;
  case HOW_MPROC_EXIT:
    mproc_process_exit(c->value);
  case HOW_LIBC_EXIT:
    exit(c->value);
  case HOW_RAISE:
    signal(c->value, SIG_DFL);
    raise(c->value);
    break;
  }
  return 100;
}

MPT_TEST(process_exitcode_is_return_value_exit_status_or_minus_signal, "EX-000-01 EX-001-01",
         "exitcode is the target's return value, the n of "
         "mproc_process_exit(n) or exit(n), and -s after death by signal s.")
{
  for (size_t i = 0; i < sizeof exit_cases / sizeof exit_cases[0]; i++) {
    mproc_process p;
    int code = 12345;
    start_target(&p, end_as_told, (void *)&exit_cases[i], NULL);
    MPT_OK(mproc_process_join(&p, mpt_scale(30)));
    MPT_OK(mproc_process_exitcode(&p, &code));
    ck_assert_msg(code == exit_cases[i].expect,
                  "%s: exitcode %d, expected %d", exit_cases[i].label, code,
                  exit_cases[i].expect);
    MPT_OK(mproc_process_close(&p));
  }
}

static const struct {
  const char *label;
  int (*send)(mproc_process *);
  int expect;
} signal_cases[] = {
    {"kill", mproc_process_kill, -SIGKILL},
    {"terminate", mproc_process_terminate, -SIGTERM},
};

MPT_TEST(process_kill_gives_minus_9_terminate_minus_15, "EX-000-01",
         "A running child ended by kill has exitcode -9, by terminate -15; "
         "exitcode is ESTATE while it runs, and signalling an ended child "
         "does nothing.")
{
  for (size_t i = 0; i < sizeof signal_cases / sizeof signal_cases[0]; i++) {
    mproc_process p;
    mproc_event *never;
    int code;
    MPT_OK(mproc_event_new(&never));
    start_target(&p, wait_for_event, never, NULL);
    MPT_ERR(mproc_process_exitcode(&p, &code), MPROC_ESTATE);
    MPT_OK(signal_cases[i].send(&p));
    MPT_OK(mproc_process_join(&p, mpt_scale(30)));
    MPT_OK(mproc_process_exitcode(&p, &code));
    ck_assert_msg(code == signal_cases[i].expect,
                  "%s: exitcode %d, expected %d", signal_cases[i].label, code,
                  signal_cases[i].expect);
    MPT_OK(mproc_process_kill(&p));
    MPT_OK(mproc_process_terminate(&p));
    MPT_OK(mproc_process_exitcode(&p, &code));
    ck_assert_int_eq(code, signal_cases[i].expect);
    MPT_OK(mproc_process_close(&p));
    mproc_event_free(never);
  }
}

/* ---- close ---- */

MPT_TEST(process_close_running_estate_closed_object_eclosed, "EX-000-01",
         "close on a running child gives ESTATE and leaves the object usable; "
         "after join close succeeds, and every later call gives ECLOSED or "
         "reports nothing.")
{
  mproc_process p;
  mproc_event *go;
  int code;

  MPT_OK(mproc_event_new(&go));
  start_target(&p, wait_for_event, go, NULL);
  MPT_ERR(mproc_process_close(&p), MPROC_ESTATE);
  ck_assert(mproc_process_is_alive(&p));
  ck_assert_int_gt(mproc_process_pid(&p), 0);
  MPT_OK(mproc_event_set(go));
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  MPT_OK(mproc_process_exitcode(&p, &code));
  ck_assert_int_eq(code, 0);
  MPT_OK(mproc_process_close(&p));

  MPT_ERR(mproc_process_start(&p), MPROC_ECLOSED);
  MPT_ERR(mproc_process_join(&p, 0), MPROC_ECLOSED);
  MPT_ERR(mproc_process_exitcode(&p, &code), MPROC_ECLOSED);
  MPT_ERR(mproc_process_set_daemon(&p, true), MPROC_ECLOSED);
  MPT_ERR(mproc_process_terminate(&p), MPROC_ECLOSED);
  MPT_ERR(mproc_process_kill(&p), MPROC_ECLOSED);
  MPT_ERR(mproc_process_close(&p), MPROC_ECLOSED);
  ck_assert(!mproc_process_is_alive(&p));
  ck_assert_int_eq(mproc_process_pid(&p), 0);
  ck_assert_ptr_null(mproc_process_name(&p));
  mproc_event_free(go);
}

MPT_TEST(process_closed_object_can_be_initialised_again, "EX-000-01",
         "After close the same storage can be initialised and started "
         "again.")
{
  mproc_process p;
  for (int round = 0; round < 2; round++) {
    start_target(&p, return_zero, NULL, NULL);
    mpt_join_all(&p, 1);
  }
}

/* ---- only the starter may wait on or signal a child ---- */

struct sibling_arg {
  mproc_process *other; /* the parent's object, as copied by fork */
};

static int poke_sibling(void *p)
{
  struct sibling_arg *a = p;
  int code;
  MPT_CHILD_ERR(mproc_process_join(a->other, 0), MPROC_ESTATE);
  MPT_CHILD_ERR(mproc_process_join(a->other, 0.05), MPROC_ESTATE);
  MPT_CHILD_ERR(mproc_process_terminate(a->other), MPROC_ESTATE);
  MPT_CHILD_ERR(mproc_process_kill(a->other), MPROC_ESTATE);
  MPT_CHILD_ERR(mproc_process_exitcode(a->other, &code), MPROC_ESTATE);
  return 0;
}

MPT_TEST(process_only_starter_may_join_or_signal_estate, "EX-000-01",
         "A process that did not start a child gets ESTATE from join, "
         "terminate, kill and exitcode on its (inherited) object.")
{
  mproc_process a, b;
  mproc_event *go;
  struct sibling_arg sa = {&a};

  MPT_OK(mproc_event_new(&go));
  start_target(&a, wait_for_event, go, NULL);
  start_target(&b, poke_sibling, &sa, NULL);
  mpt_join_all(&b, 1);
  ck_assert(mproc_process_is_alive(&a));
  MPT_OK(mproc_event_set(go));
  mpt_join_all(&a, 1);
  mproc_event_free(go);
}

/* ---- daemons ---- */

MPT_TEST(process_set_daemon_only_before_start, "EX-002-03",
         "The daemon flag can be set and read back before start; setting it "
         "after start gives ESTATE and leaves it unchanged.")
{
  mproc_process p;
  mproc_process_options o = {.target = return_zero};

  MPT_OK(mproc_process_init(&p, &o));
  ck_assert(!mproc_process_daemon(&p));
  MPT_OK(mproc_process_set_daemon(&p, true));
  ck_assert(mproc_process_daemon(&p));
  MPT_OK(mproc_process_set_daemon(&p, false));
  ck_assert(!mproc_process_daemon(&p));
  MPT_OK(mproc_process_start(&p));
  MPT_ERR(mproc_process_set_daemon(&p, true), MPROC_ESTATE);
  ck_assert(!mproc_process_daemon(&p));
  mpt_join_all(&p, 1);

  o.daemon = true;
  MPT_OK(mproc_process_init(&p, &o));
  ck_assert(mproc_process_daemon(&p));
  MPT_OK(mproc_process_close(&p));
}

static int try_to_start_child(void *arg)
{
  mproc_process q;
  mproc_process_options o = {.target = return_zero};
  (void)arg;
  MPT_CHILD_OK(mproc_process_init(&q, &o));
  MPT_CHILD_ERR(mproc_process_start(&q), MPROC_ESTATE);
  MPT_CHILD_OK(mproc_process_close(&q));
  return 0;
}

MPT_TEST(process_daemon_cannot_start_children_estate, "EX-002-03",
         "A daemon process gets ESTATE when it tries to start a child.")
{
  mproc_process p;
  mproc_process_options o = {.target = try_to_start_child, .daemon = true};

  MPT_OK(mproc_process_init(&p, &o));
  MPT_OK(mproc_process_start(&p));
  mpt_join_all(&p, 1);
}

enum parent_end {
  PARENT_RETURNS,
  PARENT_MPROC_EXIT,
  PARENT_LIBC_EXIT,
  PARENT_KILLED
};

struct daemon_case {
  const char *label;
  enum parent_end how;
};

static const struct daemon_case daemon_cases[] = {
    {"parent returns from its target", PARENT_RETURNS},
    {"parent calls mproc_process_exit", PARENT_MPROC_EXIT},
    {"parent calls exit", PARENT_LIBC_EXIT},
    {"parent is killed with SIGKILL", PARENT_KILLED},
};

struct daemon_arg {
  enum parent_end how;
  mproc_event *ready;
  mproc_event *up; /* set by the daemon once its target runs */
  mproc_event *never;
  int64_t *gpid;
};

/* The daemon: says it runs (so its start-up is over: a parent that dies
 * before then is noticed by the start-up itself), then waits for ever. */
static int daemon_up_then_wait(void *p)
{
  struct daemon_arg *a = p;
  MPT_CHILD_OK(mproc_event_set(a->up));
  MPT_CHILD_OK(mproc_event_wait(a->never, mpt_scale(60)));
  return 0;
}

/* Static so that the object stays reachable in the intermediate process
 * whatever way it ends (it cannot be closed while the daemon runs). */
static mproc_process daemon_grandchild;

static int start_daemon_then_end(void *p)
{
  struct daemon_arg *a = p;
  mproc_process_options o = {0};
  o.target = daemon_up_then_wait;
  o.arg = a;
  o.daemon = true;
  MPT_CHILD_OK(mproc_process_init(&daemon_grandchild, &o));
  MPT_CHILD_OK(mproc_process_start(&daemon_grandchild));
  *a->gpid = mproc_process_pid(&daemon_grandchild);
  MPT_CHILD_OK(mproc_event_wait(a->up, mpt_scale(30)));
  MPT_CHILD_OK(mproc_event_set(a->ready));
  switch (a->how) {
  case PARENT_RETURNS:
    return 0;
  case PARENT_MPROC_EXIT:
    mproc_process_exit(0);
  case PARENT_LIBC_EXIT:
    exit(0);
  case PARENT_KILLED:
    mproc_event_wait(a->never, mpt_scale(60));
    return 1;
  }
  return 2;
}

MPT_TEST_F(process_daemon_dies_when_its_parent_ends, "EX-002-03", "process daemon-exit",
         "A daemon child (an endless loop), once running, is gone within a "
         "bounded time after its parent returns, exits, or is killed with "
         "SIGKILL.")
{
  for (size_t i = 0; i < sizeof daemon_cases / sizeof daemon_cases[0]; i++) {
    mproc_process p;
    mproc_array *arr;
    struct daemon_arg a;
    int code;
    pid_t gpid;

    a.how = daemon_cases[i].how;
    a.gpid = mpt_scratch(&arr, 1);
    MPT_OK(mproc_event_new(&a.ready));
    MPT_OK(mproc_event_new(&a.up));
    MPT_OK(mproc_event_new(&a.never));
    start_target(&p, start_daemon_then_end, &a, NULL);
    MPT_OK(mproc_event_wait(a.ready, mpt_scale(30)));
    gpid = (pid_t)*a.gpid;
    ck_assert_int_gt(gpid, 0);
    if (a.how == PARENT_KILLED)
      MPT_OK(mproc_process_kill(&p));
    MPT_OK(mproc_process_join(&p, mpt_scale(30)));
    MPT_OK(mproc_process_exitcode(&p, &code));
    ck_assert_msg(code == (a.how == PARENT_KILLED ? -SIGKILL : 0),
                  "%s: intermediate exitcode %d", daemon_cases[i].label, code);
    MPT_OK(mproc_process_close(&p));
    /* Orphans are reparented to this process (the fixture made it a
     * subreaper), so the daemon can be waited for here. */
    ck_assert_msg(mpt_wait_pid_gone(gpid, mpt_scale(10)),
                  "%s: daemon %ld still running %.1fs later",
                  daemon_cases[i].label, (long)gpid, mpt_scale(10));
    mproc_event_free(a.ready);
    mproc_event_free(a.up);
    mproc_event_free(a.never);
    mproc_array_free(arr);
  }
}

/* ---- threads and fork ---- */

struct churn {
  int stop;
  int errors;
};

static int churn_once(void)
{
  mproc_lock *l;
  mproc_value *v;
  mproc_event *e;
  mproc_semaphore *s;
  mproc_process p;
  mproc_process_options o = {.target = return_zero};
  int rc;

  if ((rc = mproc_lock_new(&l)) != 0)
    return rc;
  if ((rc = mproc_lock_acquire(l, mpt_scale(10))) == 0)
    rc = mproc_lock_release(l);
  mproc_lock_free(l);
  if (rc != 0)
    return rc;
  if ((rc = mproc_value_new(&v, 'i', NULL)) != 0)
    return rc;
  rc = mproc_value_set_i64(v, 42);
  mproc_value_free(v);
  if (rc != 0)
    return rc;
  if ((rc = mproc_event_new(&e)) != 0)
    return rc;
  rc = mproc_event_set(e);
  mproc_event_free(e);
  if (rc != 0)
    return rc;
  if ((rc = mproc_semaphore_new(&s, 1)) != 0)
    return rc;
  if ((rc = mproc_semaphore_acquire(s, 0)) == 0)
    rc = mproc_semaphore_release(s);
  mproc_semaphore_free(s);
  if (rc != 0)
    return rc;
  if ((rc = mproc_process_init(&p, &o)) != 0)
    return rc;
  return mproc_process_close(&p);
}

static void *churn_main(void *p)
{
  struct churn *c = p;
  while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
    if (churn_once() != 0)
      __atomic_add_fetch(&c->errors, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static int churn_in_child(void *arg)
{
  (void)arg;
  MPT_CHILD_OK(churn_once());
  return 0;
}

MPT_TEST(process_start_while_thread_uses_library_no_deadlock, "EX-000-01",
         "Children started while another thread of the parent creates, uses "
         "and frees library objects can themselves use the library and exit.")
{
  enum { ROUNDS = 20 };
  struct churn c = {0, 0};
  pthread_t th;

  mpt_thread_create(&th, churn_main, &c);
  for (int i = 0; i < ROUNDS; i++) {
    mproc_process p;
    start_target(&p, churn_in_child, NULL, NULL);
    mpt_join_expect(&p, 0);
  }
  __atomic_store_n(&c.stop, 1, __ATOMIC_SEQ_CST);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_int_eq(c.errors, 0);
}

/* ---- signals, streams ---- */

static int join_wait(void *p) { return mproc_process_join(p, mpt_scale(30)); }

static mproc_event *join_release;
static int join_wake(void *p)
{
  (void)p;
  return mproc_event_set(join_release);
}

MPT_TEST(process_join_survives_signals, "EX-000-01",
         "Signals delivered while join waits neither end it early nor make it "
         "miss the child's end.")
{
  mproc_process p;
  MPT_OK(mproc_event_new(&join_release));
  start_target(&p, wait_for_event, join_release, NULL);
  MPT_OK(mpt_wait_through_signals(join_wait, join_wake, &p, 3));
  mpt_join_all(&p, 1);
  mproc_event_free(join_release);
}

MPT_TEST(process_start_flushes_stdout_so_output_is_not_duplicated, "EX-001-01",
         "Output buffered in the parent before start is written once, not "
         "once more by the child.")
{
  int fds[2], saved;
  mproc_process p;
  char buf[64];
  ssize_t n, total = 0;

  fflush(stdout);
  ck_assert_int_eq(pipe(fds), 0);
  saved = dup(STDOUT_FILENO);
  ck_assert_int_ge(saved, 0);
  ck_assert_int_ge(dup2(fds[1], STDOUT_FILENO), 0);
  close(fds[1]);
  fputs("once", stdout); /* no newline: stays in the buffer */
  start_target(&p, return_zero, NULL, NULL);
  MPT_OK(mproc_process_join(&p, mpt_scale(30)));
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  while ((n = read(fds[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
    total += n;
  close(fds[0]);
  buf[total] = '\0';
  mpt_join_all(&p, 1);
  ck_assert_str_eq(buf, "once");
}

/* ---- errata and cpu_count ---- */

static int global_counter;

static int bump_global(void *p)
{
  int64_t *seen = p;
  for (int i = 0; i < 1000; i++)
    global_counter++;
  *seen = global_counter;
  return 0;
}

MPT_TEST(process_global_changed_in_child_unchanged_in_parent, "EX-002-09 EX-002-10 EX-003-07",
         "A global variable changed by children keeps its value in the "
         "parent: each child changes its own copy (the documents' global "
         "counters stay 0).")
{
  enum { N = 2 };
  mproc_process procs[N];
  mproc_array *arr;
  int64_t *seen = mpt_scratch(&arr, N);

  global_counter = 0;
  for (int i = 0; i < N; i++)
    start_target(&procs[i], bump_global, &seen[i], NULL);
  mpt_join_all(procs, N);
  ck_assert_int_eq(global_counter, 0);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(seen[i], 1000); /* not 2000: copies are private */
  mproc_array_free(arr);
}

MPT_TEST(cpu_count_equals_online_processors, "EX-003-11",
         "cpu_count is at least 1 and equals the number of online "
         "processors.")
{
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int n = mproc_cpu_count();
  ck_assert_int_ge(n, 1);
  if (online >= 1)
    ck_assert_int_eq(n, online);
}

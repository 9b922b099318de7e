/* Conformance: Barrier. */
#define _GNU_SOURCE
#define MPT_SUITE "barrier"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct n_waiting_arg {
  mproc_barrier *b;
  unsigned n;
};

static bool n_waiting_is(void *p)
{
  struct n_waiting_arg *a = p;
  return mproc_barrier_n_waiting(a->b) == a->n;
}

/* Waits (polling with a deadline: n_waiting has no wait of its own) until
 * n parties are blocked in the barrier. */
static void await_waiting(mproc_barrier *b, unsigned n)
{
  struct n_waiting_arg a = {b, n};
  ck_assert_msg(mpt_poll_until(n_waiting_is, &a, mpt_scale(30)),
                "n_waiting is %u, expected %u", mproc_barrier_n_waiting(b),
                n);
}

/* A party: waits `rounds` times and records each index and result. */
struct party_arg {
  mproc_barrier *b;
  int rounds;
  double timeout;
  int64_t *slots; /* per party: rounds x (rc, index) */
  int index;      /* which party, set per child */
};

static int party(void *p)
{
  struct party_arg *a = p;
  for (int r = 0; r < a->rounds; r++) {
    unsigned idx = 999;
    int rc = mproc_barrier_wait(a->b, a->timeout, &idx);
    a->slots[(a->index * a->rounds + r) * 2] = rc;
    a->slots[(a->index * a->rounds + r) * 2 + 1] = idx;
  }
  return 0;
}

static void spawn_parties(mproc_process *procs, struct party_arg *args, int n,
                          mproc_barrier *b, int rounds, double timeout,
                          int64_t *slots)
{
  for (int i = 0; i < n; i++)
    args[i] = (struct party_arg){b, rounds, timeout, slots, i};
  mpt_spawn_each(procs, n, party, args, sizeof args[0]);
}

struct staggered_arg {
  mproc_barrier *b;
  mproc_event *go;  /* the last party arrives only when this is set */
  double *times;    /* per party: arrival, return (CLOCK_MONOTONIC) */
  int64_t *results; /* per party: rc, index */
  int index;
};

static int staggered_party(void *p)
{
  struct staggered_arg *a = p;
  unsigned idx = 999;
  if (a->go != NULL)
    MPT_CHILD_OK(mproc_event_wait(a->go, mpt_scale(30)));
  a->times[2 * a->index] = mpt_now();
  a->results[2 * a->index] = mproc_barrier_wait(a->b, mpt_scale(30), &idx);
  a->times[2 * a->index + 1] = mpt_now();
  a->results[2 * a->index + 1] = idx;
  return 0;
}

MPT_TEST(barrier_three_parties_get_distinct_indexes, "EX-002-14",
         "Three processes arriving at Barrier(3) one after another: none "
         "returns before the last arrives, then all return 0 with distinct "
         "indexes {0, 1, 2}.")
{
  enum { N = 3 };
  mproc_barrier *b;
  mproc_process procs[N];
  struct staggered_arg args[N];
  mproc_array *tarr, *rarr;
  mproc_event *go;
  mproc_shared_options raw = {.raw = true};
  double *times;
  int64_t *results = mpt_scratch(&rarr, 2 * N);
  int seen[N] = {0};

  MPT_OK(mproc_array_new(&tarr, 'd', 2 * N, NULL, &raw));
  times = mproc_array_data(tarr);
  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  MPT_OK(mproc_event_new(&go));
  ck_assert_uint_eq(mproc_barrier_parties(b), N);
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  ck_assert(!mproc_barrier_broken(b));
  for (int i = 0; i < N; i++)
    args[i] = (struct staggered_arg){b, i == N - 1 ? go : NULL, times,
                                     results, i};
  mpt_spawn_each(procs, N, staggered_party, args, sizeof args[0]);
  await_waiting(b, N - 1);
  mpt_observe(0.2);
  for (int i = 0; i < N - 1; i++)
    ck_assert_msg(times[2 * i + 1] == 0, "party %d returned before the last "
                  "arrived", i);
  MPT_OK(mproc_event_set(go));
  mpt_join_all(procs, N);
  for (int i = 0; i < N; i++) {
    ck_assert_msg(results[2 * i] == 0, "party %d: wait gave %s", i,
                  mproc_err_name((int)results[2 * i]));
    ck_assert_msg(times[2 * i + 1] >= times[2 * (N - 1)],
                  "party %d returned at %.6f, before the last arrived at "
                  "%.6f", i, times[2 * i + 1], times[2 * (N - 1)]);
    ck_assert_int_lt(results[2 * i + 1], N);
    seen[results[2 * i + 1]]++;
  }
  for (int i = 0; i < N; i++)
    ck_assert_msg(seen[i] == 1, "index %d given %d times", i, seen[i]);
  ck_assert_int_eq(results[2 * (N - 1) + 1], N - 1); /* arrived last */
  ck_assert(!mproc_barrier_broken(b));
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  mproc_event_free(go);
  mproc_barrier_free(b);
  mproc_array_free(tarr);
  mproc_array_free(rarr);
}

/* The action counts its runs in a shared array and checks it runs once
 * per generation, before anyone of that generation is released. */
struct action_arg {
  int64_t *runs;
};

static int count_action(void *p)
{
  struct action_arg *a = p;
  __atomic_add_fetch(a->runs, 1, __ATOMIC_SEQ_CST);
  return 0;
}

struct gen_arg {
  mproc_barrier *b;
  int64_t *runs;
  int generations;
};

static int pass_generations(void *p)
{
  struct gen_arg *a = p;
  for (int g = 0; g < a->generations; g++) {
    MPT_CHILD_OK(mproc_barrier_wait(a->b, mpt_scale(30), NULL));
    /* Generation g's action ran before we were released; generation
     * g + 1's cannot have run, since it needs us too. */
    MPT_CHILD_EQ(__atomic_load_n(a->runs, __ATOMIC_SEQ_CST), g + 1);
  }
  return 0;
}

MPT_TEST(barrier_action_runs_once_per_generation, "EX-002-14",
         "Over five generations of three processes, the action runs exactly "
         "once per generation, before the parties are released.")
{
  enum { N = 3, GENERATIONS = 5 };
  mproc_process procs[N];
  mproc_array *arr;
  struct action_arg act;
  struct gen_arg a;

  act.runs = mpt_scratch(&arr, 1);
  MPT_OK(mproc_barrier_new(&a.b, N, count_action, &act, MPROC_FOREVER));
  a.runs = act.runs;
  a.generations = GENERATIONS;
  mpt_spawn(procs, N, pass_generations, &a);
  mpt_join_all(procs, N);
  ck_assert_int_eq(*act.runs, GENERATIONS);
  mproc_barrier_free(a.b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_n_waiting_counts_blocked_parties, "EX-002-14",
         "n_waiting counts the parties blocked in wait; the last party "
         "releases them and n_waiting returns to 0.")
{
  enum { N = 3 };
  mproc_barrier *b;
  mproc_process procs[N - 1];
  struct party_arg args[N - 1];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2 * (N - 1));
  unsigned idx = 999;

  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  spawn_parties(procs, args, N - 1, b, 1, mpt_scale(30), slots);
  await_waiting(b, N - 1);
  ck_assert(!mproc_barrier_broken(b));
  MPT_OK(mproc_barrier_wait(b, mpt_scale(30), &idx));
  ck_assert_uint_eq(idx, N - 1); /* arrival order: the parent came last */
  mpt_join_all(procs, N - 1);
  for (int i = 0; i < N - 1; i++)
    ck_assert_int_eq(slots[2 * i], 0);
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_abort_gives_waiters_ebroken, "EX-002-14",
         "abort wakes every waiting party with EBROKEN, marks the barrier "
         "broken, and later waits fail with EBROKEN at once.")
{
  enum { N = 3 };
  mproc_barrier *b;
  mproc_process procs[N - 1];
  struct party_arg args[N - 1];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2 * (N - 1));
  double t0;

  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  spawn_parties(procs, args, N - 1, b, 1, mpt_scale(30), slots);
  await_waiting(b, N - 1);
  MPT_OK(mproc_barrier_abort(b));
  mpt_join_all(procs, N - 1);
  for (int i = 0; i < N - 1; i++)
    ck_assert_msg(slots[2 * i] == MPROC_EBROKEN, "party %d: wait gave %s", i,
                  mproc_err_name((int)slots[2 * i]));
  ck_assert(mproc_barrier_broken(b));
  t0 = mpt_now();
  MPT_ERR(mproc_barrier_wait(b, mpt_scale(30), NULL), MPROC_EBROKEN);
  MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EBROKEN);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_reset_makes_broken_barrier_usable, "EX-002-14",
         "After abort, reset clears the broken state and a full set of "
         "parties passes again.")
{
  enum { N = 2 };
  mproc_barrier *b;
  mproc_process procs[N - 1];
  struct party_arg args[N - 1];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2);

  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  MPT_OK(mproc_barrier_abort(b));
  ck_assert(mproc_barrier_broken(b));
  MPT_OK(mproc_barrier_reset(b));
  ck_assert(!mproc_barrier_broken(b));
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  spawn_parties(procs, args, N - 1, b, 1, mpt_scale(30), slots);
  MPT_OK(mproc_barrier_wait(b, mpt_scale(30), NULL));
  mpt_join_all(procs, N - 1);
  ck_assert_int_eq(slots[0], 0);
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_reset_while_waiting_gives_ebroken_then_usable, "EX-002-14",
         "reset while parties wait wakes them with EBROKEN; the barrier is "
         "then usable, not broken.")
{
  enum { N = 3 };
  mproc_barrier *b;
  mproc_process procs[N - 1];
  struct party_arg args[N - 1];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2 * (N - 1) * 2);

  MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
  /* Two rounds each: round 0 is reset, round 1 completes with the
   * parent. */
  spawn_parties(procs, args, N - 1, b, 2, mpt_scale(30), slots);
  await_waiting(b, N - 1);
  MPT_OK(mproc_barrier_reset(b));
  await_waiting(b, N - 1);
  ck_assert(!mproc_barrier_broken(b));
  MPT_OK(mproc_barrier_wait(b, mpt_scale(30), NULL));
  mpt_join_all(procs, N - 1);
  for (int i = 0; i < N - 1; i++) {
    ck_assert_msg(slots[i * 4] == MPROC_EBROKEN,
                  "party %d, reset round: %s", i,
                  mproc_err_name((int)slots[i * 4]));
    ck_assert_msg(slots[i * 4 + 2] == 0, "party %d, next round: %s", i,
                  mproc_err_name((int)slots[i * 4 + 2]));
  }
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

static const struct {
  const char *label;
  double timeout;
  int expect;
} party_timeouts[] = {
    {"0", 0, MPROC_EAGAIN},
    {"0.1", 0.1, MPROC_ETIMEDOUT},
    {"0.2", 0.2, MPROC_ETIMEDOUT},
};

MPT_TEST(barrier_wait_timeout_breaks_it_for_everyone, "EX-002-14",
         "A party whose wait times out gets ETIMEDOUT (EAGAIN for timeout 0) "
         "no sooner than its limit; the barrier is broken and the other "
         "waiting parties get EBROKEN.")
{
  enum { N = 3 };
  for (size_t i = 0; i < sizeof party_timeouts / sizeof party_timeouts[0];
       i++) {
    mproc_barrier *b;
    mproc_process procs[N - 2];
    struct party_arg args[N - 2];
    mproc_array *arr;
    int64_t *slots = mpt_scratch(&arr, 2 * (N - 2));
    double t0, t = party_timeouts[i].timeout;
    int rc;

    MPT_OK(mproc_barrier_new(&b, N, NULL, NULL, MPROC_FOREVER));
    spawn_parties(procs, args, N - 2, b, 1, mpt_scale(30), slots);
    await_waiting(b, N - 2);
    t0 = mpt_now();
    rc = mproc_barrier_wait(b, t, NULL);
    ck_assert_msg(rc == party_timeouts[i].expect, "timeout %s: %s",
                  party_timeouts[i].label, mproc_err_name(rc));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, t, t + mpt_scale(2));
    mpt_join_all(procs, N - 2);
    ck_assert_msg(slots[0] == MPROC_EBROKEN, "timeout %s: other party got %s",
                  party_timeouts[i].label, mproc_err_name((int)slots[0]));
    ck_assert(mproc_barrier_broken(b));
    MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EBROKEN);
    mproc_barrier_free(b);
    mproc_array_free(arr);
  }
}

/* True once process *p is stopped (state T in /proc/PID/stat). */
static bool is_stopped(void *p)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)*(pid_t *)p);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  return rp != NULL && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't');
}

MPT_TEST(barrier_wait_times_out_while_previous_generation_resets, "EX-002-14",
         "reset abandons a waiter that cannot leave (stopped) at once: a "
         "party arriving alone afterwards waits within its own limit and gets "
         "EAGAIN (timeout 0) or ETIMEDOUT no sooner than the limit, breaking "
         "the barrier; the abandoned waiter, continued, gets EBROKEN.")
{
  mproc_barrier *b;
  mproc_process procs[1];
  struct party_arg args[1];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2);
  pid_t pid;
  double t0;

  MPT_OK(mproc_barrier_new(&b, 2, NULL, NULL, MPROC_FOREVER));
  spawn_parties(procs, args, 1, b, 1, mpt_scale(30), slots);
  await_waiting(b, 1);
  /* The waiter cannot leave while stopped: its generation stays inside. */
  pid = mproc_process_pid(&procs[0]);
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  ck_assert_msg(mpt_poll_until(is_stopped, &pid, mpt_scale(10)),
                "the waiter did not stop");
  MPT_OK(mproc_barrier_reset(b));
  MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EAGAIN);
  ck_assert(mproc_barrier_broken(b));
  MPT_OK(mproc_barrier_reset(b)); /* the stopped waiter is still inside */
  t0 = mpt_now();
  MPT_ERR(mproc_barrier_wait(b, 0.2, NULL), MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  ck_assert(mproc_barrier_broken(b));
  ck_assert_int_eq(kill(pid, SIGCONT), 0);
  mpt_join_all(procs, 1);
  ck_assert_msg(slots[0] == MPROC_EBROKEN, "the waiter got %s",
                mproc_err_name((int)slots[0]));
  MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EBROKEN);
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

/* An action that kills its process: the party dies inside the barrier. */
static int die_in_action(void *p)
{
  (void)p;
  raise(SIGKILL);
  return 0;
}

MPT_TEST_F(barrier_party_dying_in_the_action_breaks_it, "EX-002-14", "barrier owner-died",
         "When the last party dies inside the action, the next call on the "
         "barrier finds it broken: that wait gets EBROKEN, the party still "
         "waiting is woken with EBROKEN without waiting for its own limit, "
         "and broken() is true.")
{
  mproc_barrier *b;
  mproc_process procs[2];
  struct party_arg args[2];
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 4);
  double t0;

  MPT_OK(mproc_barrier_new(&b, 2, die_in_action, NULL, MPROC_FOREVER));
  spawn_parties(procs, args, 1, b, 1, mpt_scale(60), slots);
  await_waiting(b, 1);
  args[1] = (struct party_arg){b, 1, mpt_scale(60), slots, 1};
  mpt_spawn(&procs[1], 1, party, &args[1]);
  mpt_join_expect(&procs[1], -9);
  t0 = mpt_now();
  MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EBROKEN);
  ck_assert(mproc_barrier_broken(b));
  mpt_join_all(procs, 1);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  ck_assert_msg(slots[0] == MPROC_EBROKEN, "the waiting party got %s",
                mproc_err_name((int)slots[0]));
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

/* An action that kills its process while *flag is set. */
static int die_in_action_if(void *flag)
{
  if (__atomic_load_n((int64_t *)flag, __ATOMIC_SEQ_CST) != 0)
    raise(SIGKILL);
  return 0;
}

MPT_TEST_F(barrier_reset_after_a_party_died_inside_makes_it_usable, "EX-002-14", "barrier owner-died",
         "After the last party died inside the action (it stays counted, it "
         "will never leave), reset still empties the barrier: broken() turns "
         "false and the next full set of parties passes with indices 0 and "
         "1.")
{
  mproc_barrier *b;
  mproc_process procs[2];
  struct party_arg args[2];
  mproc_array *arr, *flag_arr;
  int64_t *slots = mpt_scratch(&arr, 4);
  int64_t *die = mpt_scratch(&flag_arr, 1);
  unsigned idx = 999;

  *die = 1;
  MPT_OK(mproc_barrier_new(&b, 2, die_in_action_if, die, MPROC_FOREVER));
  spawn_parties(procs, args, 1, b, 1, mpt_scale(60), slots);
  await_waiting(b, 1);
  args[1] = (struct party_arg){b, 1, mpt_scale(60), slots, 1};
  mpt_spawn(&procs[1], 1, party, &args[1]);
  mpt_join_expect(&procs[1], -9);
  MPT_ERR(mproc_barrier_wait(b, 0, NULL), MPROC_EBROKEN);
  mpt_join_all(procs, 1);
  ck_assert_msg(slots[0] == MPROC_EBROKEN, "the waiting party got %s",
                mproc_err_name((int)slots[0]));

  *die = 0;
  MPT_OK(mproc_barrier_reset(b));
  ck_assert(!mproc_barrier_broken(b));
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  spawn_parties(procs, args, 1, b, 1, mpt_scale(30), slots);
  MPT_OK(mproc_barrier_wait(b, mpt_scale(30), &idx));
  mpt_join_all(procs, 1);
  ck_assert_msg(slots[0] == 0, "the other party got %s",
                mproc_err_name((int)slots[0]));
  ck_assert_msg(idx + slots[1] == 1, "indices %u and %lld", idx,
                (long long)slots[1]);
  mproc_barrier_free(b);
  mproc_array_free(arr);
  mproc_array_free(flag_arr);
}

static int failing_action(void *p)
{
  __atomic_add_fetch((int64_t *)p, 1, __ATOMIC_SEQ_CST);
  return 1;
}

MPT_TEST(barrier_failing_action_breaks_it, "EX-002-14",
         "An action that returns non-zero runs once and breaks the barrier: "
         "every party of that generation gets EBROKEN.")
{
  enum { N = 2 };
  mproc_barrier *b;
  mproc_process procs[N - 1];
  struct party_arg args[N - 1];
  mproc_array *arr, *runs_arr;
  int64_t *slots = mpt_scratch(&arr, 2);
  int64_t *runs = mpt_scratch(&runs_arr, 1);

  MPT_OK(mproc_barrier_new(&b, N, failing_action, runs, MPROC_FOREVER));
  spawn_parties(procs, args, N - 1, b, 1, mpt_scale(30), slots);
  MPT_ERR(mproc_barrier_wait(b, mpt_scale(30), NULL), MPROC_EBROKEN);
  mpt_join_all(procs, N - 1);
  ck_assert_msg(slots[0] == MPROC_EBROKEN, "other party got %s",
                mproc_err_name((int)slots[0]));
  ck_assert_int_eq(*runs, 1);
  ck_assert(mproc_barrier_broken(b));
  mproc_barrier_free(b);
  mproc_array_free(arr);
  mproc_array_free(runs_arr);
}

MPT_TEST(barrier_default_timeout_from_new_applies, "EX-002-14",
         "A wait with MPROC_DEFAULT_TIMEOUT uses the timeout given to new: "
         "alone it times out (ETIMEDOUT) no sooner than that; with "
         "MPROC_FOREVER it waits for the other party.")
{
  mproc_barrier *b;
  mproc_process p;
  struct party_arg a;
  mproc_array *arr;
  int64_t *slots = mpt_scratch(&arr, 2);
  double t0;

  MPT_OK(mproc_barrier_new(&b, 2, NULL, NULL, 0.2));
  t0 = mpt_now();
  MPT_ERR(mproc_barrier_wait(b, MPROC_DEFAULT_TIMEOUT, NULL),
          MPROC_ETIMEDOUT);
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.2, 0.2 + mpt_scale(2));
  ck_assert(mproc_barrier_broken(b));
  mproc_barrier_free(b);

  MPT_OK(mproc_barrier_new(&b, 2, NULL, NULL, MPROC_FOREVER));
  spawn_parties(&p, &a, 1, b, 1, MPROC_DEFAULT_TIMEOUT, slots);
  MPT_OK(mproc_barrier_wait(b, MPROC_DEFAULT_TIMEOUT, NULL));
  mpt_join_all(&p, 1);
  ck_assert_int_eq(slots[0], 0);
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_single_party_passes_at_once, "EX-002-14",
         "Barrier(1) releases its only party at once with index 0, running "
         "the action each time.")
{
  mproc_barrier *b;
  mproc_array *arr;
  struct action_arg act;
  unsigned idx = 999;

  act.runs = mpt_scratch(&arr, 1);
  MPT_OK(mproc_barrier_new(&b, 1, count_action, &act, MPROC_FOREVER));
  MPT_OK(mproc_barrier_wait(b, 0, &idx));
  ck_assert_uint_eq(idx, 0);
  MPT_OK(mproc_barrier_wait(b, MPROC_FOREVER, NULL));
  ck_assert_int_eq(*act.runs, 2);
  mproc_barrier_free(b);
  mproc_array_free(arr);
}

MPT_TEST(barrier_invalid_arguments_einval, "EX-002-14",
         "new with 0 parties, a NaN or default timeout or a NULL result "
         "gives EINVAL; "
         "wait with NaN or on NULL gives EINVAL; the snapshots of NULL are 0 "
         "or false.")
{
  mproc_barrier *b = NULL;
  MPT_ERR(mproc_barrier_new(&b, 0, NULL, NULL, MPROC_FOREVER), MPROC_EINVAL);
  MPT_ERR(mproc_barrier_new(&b, 2, NULL, NULL, NAN), MPROC_EINVAL);
  MPT_ERR(mproc_barrier_new(&b, 2, NULL, NULL, MPROC_DEFAULT_TIMEOUT),
          MPROC_EINVAL);
  MPT_ERR(mproc_barrier_new(NULL, 2, NULL, NULL, MPROC_FOREVER),
          MPROC_EINVAL);
  MPT_ERR(mproc_barrier_wait(NULL, 0, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_barrier_abort(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_barrier_reset(NULL), MPROC_EINVAL);
  ck_assert_uint_eq(mproc_barrier_parties(NULL), 0);
  ck_assert_uint_eq(mproc_barrier_n_waiting(NULL), 0);
  ck_assert(!mproc_barrier_broken(NULL));
  MPT_OK(mproc_barrier_new(&b, 2, NULL, NULL, MPROC_FOREVER));
  MPT_ERR(mproc_barrier_wait(b, NAN, NULL), MPROC_EINVAL);
  ck_assert(!mproc_barrier_broken(b));
  ck_assert_uint_eq(mproc_barrier_n_waiting(b), 0);
  mproc_barrier_free(b);
}

static int barrier_wait_fn(void *p)
{
  return mproc_barrier_wait(p, mpt_scale(30), NULL);
}

static int barrier_wake_fn(void *p)
{
  return mproc_barrier_wait(p, mpt_scale(30), NULL);
}

MPT_TEST(barrier_wait_survives_signals, "EX-002-14",
         "Signals delivered while a party waits neither end its wait early "
         "nor make it miss the last party's arrival.")
{
  mproc_barrier *b;
  MPT_OK(mproc_barrier_new(&b, 2, NULL, NULL, MPROC_FOREVER));
  MPT_OK(mpt_wait_through_signals(barrier_wait_fn, barrier_wake_fn, b, 3));
  ck_assert(!mproc_barrier_broken(b));
  mproc_barrier_free(b);
}

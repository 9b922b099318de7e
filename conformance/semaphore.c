/* Conformance: Semaphore and BoundedSemaphore. */
#define _GNU_SOURCE
#define MPT_SUITE "semaphore"
#include "harness.h"

#include <limits.h>
#include <stdio.h>

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

static int value_of(mproc_semaphore *s)
{
  int v = -12345;
  MPT_OK(mproc_semaphore_get_value(s, &v));
  return v;
}

MPT_TEST(semaphore_get_value_follows_acquire_and_release, "EX-000-09",
         "get_value reports the permits: the initial value, one less per "
         "acquire, one more per release; with none left acquire(0) gives "
         "EAGAIN.")
{
  mproc_semaphore *s;
  MPT_OK(mproc_semaphore_new(&s, 5));
  ck_assert_int_eq(value_of(s), 5);
  MPT_OK(mproc_semaphore_acquire(s, MPROC_FOREVER));
  ck_assert_int_eq(value_of(s), 4);
  MPT_OK(mproc_semaphore_release(s));
  ck_assert_int_eq(value_of(s), 5);
  for (int i = 0; i < 5; i++)
    MPT_OK(mproc_semaphore_acquire(s, i % 2 ? 0 : MPROC_DEFAULT_TIMEOUT));
  ck_assert_int_eq(value_of(s), 0);
  MPT_ERR(mproc_semaphore_acquire(s, 0), MPROC_EAGAIN);
  ck_assert_int_eq(value_of(s), 0);
  for (int i = 0; i < 5; i++)
    MPT_OK(mproc_semaphore_release(s));
  ck_assert_int_eq(value_of(s), 5);
  mproc_semaphore_free(s);
}

static const struct {
  const char *label;
  double timeout;
  int expect;
} empty_timeouts[] = {
    {"0", 0, MPROC_EAGAIN},
    {"-1 (like 0)", -1, MPROC_EAGAIN},
    {"0.1", 0.1, MPROC_ETIMEDOUT},
    {"0.2", 0.2, MPROC_ETIMEDOUT},
};

MPT_TEST(semaphore_acquire_without_permit_eagain_or_etimedout, "EX-000-09 EX-002-11",
         "With no permit, acquire with timeout 0 or negative gives EAGAIN at "
         "once and with a positive timeout ETIMEDOUT no sooner than the "
         "timeout; a NaN timeout gives EINVAL and takes nothing.")
{
  for (int bounded = 0; bounded <= 1; bounded++) {
    mproc_semaphore *s;
    MPT_OK(bounded ? mproc_bounded_semaphore_new(&s, 0)
                   : mproc_semaphore_new(&s, 0));
    for (size_t i = 0; i < sizeof empty_timeouts / sizeof empty_timeouts[0];
         i++) {
      double t = empty_timeouts[i].timeout, t0 = mpt_now(), elapsed;
      int rc = mproc_semaphore_acquire(s, t);
      elapsed = mpt_now() - t0;
      ck_assert_msg(rc == empty_timeouts[i].expect,
                    "%s, timeout %s: %s, expected %s",
                    bounded ? "bounded" : "plain", empty_timeouts[i].label,
                    mproc_err_name(rc),
                    mproc_err_name(empty_timeouts[i].expect));
      if (t > 0)
        MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
      else
        MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
    }
    MPT_ERR(mproc_semaphore_acquire(s, NAN), MPROC_EINVAL);
    mproc_semaphore_free(s);
  }
  {
    mproc_semaphore *s;
    MPT_OK(mproc_semaphore_new(&s, 2));
    MPT_ERR(mproc_semaphore_acquire(s, NAN), MPROC_EINVAL);
    ck_assert_int_eq(value_of(s), 2);
    mproc_semaphore_free(s);
  }
}

/* ---- Semaphore(3) and ten processes ---- */

struct holders_arg {
  mproc_semaphore *sem;
  mproc_lock *lock;     /* guards the counters */
  mproc_event *all_in;  /* set by the holder that makes `limit` */
  int64_t *current;     /* holders now */
  int64_t *max;         /* most holders seen at once */
  int64_t *done;        /* workers finished */
  int limit;
};

static int hold_permit(void *p)
{
  struct holders_arg *a = p;
  int64_t now;
  MPT_CHILD_OK(mproc_semaphore_acquire(a->sem, mpt_scale(30)));
  MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
  now = ++*a->current;
  if (now > *a->max)
    *a->max = now;
  MPT_CHILD_OK(mproc_lock_release(a->lock));
  if (now == a->limit)
    MPT_CHILD_OK(mproc_event_set(a->all_in));
  /* The first `limit` holders wait here for each other, so the maximum is
   * reached whatever the scheduling; later holders find the event set. */
  MPT_CHILD_OK(mproc_event_wait(a->all_in, mpt_scale(30)));
  MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
  --*a->current;
  ++*a->done;
  MPT_CHILD_OK(mproc_lock_release(a->lock));
  MPT_CHILD_OK(mproc_semaphore_release(a->sem));
  return 0;
}

MPT_TEST(semaphore_three_of_ten_processes_hold_at_once, "EX-000-09 EX-002-11",
         "Ten processes sharing Semaphore(3) (plain or bounded) never have "
         "more than 3 holders at once and do reach 3.")
{
  enum { N = 10, LIMIT = 3 };
  for (int bounded = 0; bounded <= 1; bounded++) {
    mproc_process procs[N];
    mproc_array *arr;
    int64_t *s = mpt_scratch(&arr, 3);
    struct holders_arg a;
    MPT_OK(bounded ? mproc_bounded_semaphore_new(&a.sem, LIMIT)
                   : mproc_semaphore_new(&a.sem, LIMIT));
    MPT_OK(mproc_lock_new(&a.lock));
    MPT_OK(mproc_event_new(&a.all_in));
    a.current = &s[0];
    a.max = &s[1];
    a.done = &s[2];
    a.limit = LIMIT;
    mpt_spawn(procs, N, hold_permit, &a);
    mpt_join_all(procs, N);
    ck_assert_int_eq(*a.max, LIMIT);
    ck_assert_int_eq(*a.current, 0);
    ck_assert_int_eq(*a.done, N);
    ck_assert_int_eq(value_of(a.sem), LIMIT);
    mproc_event_free(a.all_in);
    mproc_lock_free(a.lock);
    mproc_semaphore_free(a.sem);
    mproc_array_free(arr);
  }
}

/* ---- blocking and waking ---- */

struct waiter_arg {
  mproc_semaphore *sem;
  mproc_semaphore *trying; /* released just before blocking */
  mproc_semaphore *got;    /* released once the permit is taken */
};

static int take_permit(void *p)
{
  struct waiter_arg *a = p;
  MPT_CHILD_OK(mproc_semaphore_release(a->trying));
  MPT_CHILD_OK(mproc_semaphore_acquire(a->sem, mpt_scale(30)));
  MPT_CHILD_OK(mproc_semaphore_release(a->got));
  return 0;
}

MPT_TEST(semaphore_each_release_wakes_one_blocked_process, "EX-000-09 EX-002-11",
         "Three processes blocked on an empty semaphore stay blocked until "
         "releases come; each release lets exactly one through.")
{
  enum { N = 3 };
  mproc_process procs[N];
  struct waiter_arg a;
  int got;

  MPT_OK(mproc_semaphore_new(&a.sem, 0));
  MPT_OK(mproc_semaphore_new(&a.trying, 0));
  MPT_OK(mproc_semaphore_new(&a.got, 0));
  mpt_spawn(procs, N, take_permit, &a);
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_semaphore_acquire(a.trying, mpt_scale(30)));
  mpt_observe(0.2);
  MPT_OK(mproc_semaphore_get_value(a.got, &got));
  ck_assert_msg(got == 0, "%d processes got a permit before any release",
                got);
  for (int i = 1; i <= N; i++) {
    MPT_OK(mproc_semaphore_release(a.sem));
    MPT_OK(mproc_semaphore_acquire(a.got, mpt_scale(30)));
    if (i < N) {
      /* Nobody else may get through on the same release. */
      int rc = mproc_semaphore_acquire(a.got, 0.2);
      ck_assert_msg(rc == MPROC_ETIMEDOUT,
                    "after release %d a second process got through (%s)", i,
                    mproc_err_name(rc));
    }
  }
  mpt_join_all(procs, N);
  ck_assert_int_eq(value_of(a.sem), 0);
  mproc_semaphore_free(a.sem);
  mproc_semaphore_free(a.trying);
  mproc_semaphore_free(a.got);
}

static int take_two(void *p)
{
  MPT_CHILD_OK(mproc_semaphore_acquire(p, 0));
  MPT_CHILD_OK(mproc_semaphore_acquire(p, 0));
  return 0;
}

MPT_TEST(semaphore_created_before_start_is_shared_with_child, "EX-000-09",
         "Permits taken by a child are gone for the parent: the semaphore is "
         "one object in both.")
{
  mproc_semaphore *s;
  mproc_process p;
  MPT_OK(mproc_semaphore_new(&s, 3));
  start(&p, take_two, s);
  mpt_join_all(&p, 1);
  ck_assert_int_eq(value_of(s), 1);
  mproc_semaphore_free(s);
}

/* ---- bounds ---- */

MPT_TEST(bounded_semaphore_release_above_initial_estate, "EX-000-09 EX-002-11",
         "A BoundedSemaphore refuses a release above its initial value with "
         "ESTATE and keeps its value; a plain Semaphore accepts it.")
{
  mproc_semaphore *b, *s, *z;
  MPT_OK(mproc_bounded_semaphore_new(&b, 2));
  MPT_ERR(mproc_semaphore_release(b), MPROC_ESTATE);
  ck_assert_int_eq(value_of(b), 2);
  MPT_OK(mproc_semaphore_acquire(b, 0));
  MPT_OK(mproc_semaphore_release(b));
  MPT_ERR(mproc_semaphore_release(b), MPROC_ESTATE);
  ck_assert_int_eq(value_of(b), 2);

  MPT_OK(mproc_bounded_semaphore_new(&z, 0));
  MPT_ERR(mproc_semaphore_release(z), MPROC_ESTATE);
  ck_assert_int_eq(value_of(z), 0);

  MPT_OK(mproc_semaphore_new(&s, 2));
  MPT_OK(mproc_semaphore_release(s));
  ck_assert_int_eq(value_of(s), 3);
  mproc_semaphore_free(b);
  mproc_semaphore_free(z);
  mproc_semaphore_free(s);
}

MPT_TEST(semaphore_value_above_max_einval, "EX-000-09 EX-002-11",
         "A value above MPROC_SEM_VALUE_MAX gives EINVAL; MPROC_SEM_VALUE_MAX "
         "itself is accepted, and a release there gives ERANGE.")
{
  mproc_semaphore *s = NULL;
  MPT_ERR(mproc_semaphore_new(&s, (unsigned)MPROC_SEM_VALUE_MAX + 1u),
          MPROC_EINVAL);
  MPT_ERR(mproc_bounded_semaphore_new(&s, (unsigned)MPROC_SEM_VALUE_MAX + 1u),
          MPROC_EINVAL);
  MPT_ERR(mproc_semaphore_new(&s, UINT_MAX), MPROC_EINVAL);
  MPT_OK(mproc_semaphore_new(&s, MPROC_SEM_VALUE_MAX));
  ck_assert_int_eq(value_of(s), MPROC_SEM_VALUE_MAX);
  MPT_ERR(mproc_semaphore_release(s), MPROC_ERANGE);
  ck_assert_int_eq(value_of(s), MPROC_SEM_VALUE_MAX);
  MPT_OK(mproc_semaphore_acquire(s, 0));
  MPT_OK(mproc_semaphore_release(s));
  mproc_semaphore_free(s);
  MPT_OK(mproc_bounded_semaphore_new(&s, MPROC_SEM_VALUE_MAX));
  MPT_ERR(mproc_semaphore_release(s), MPROC_ESTATE);
  mproc_semaphore_free(s);
}

MPT_TEST(semaphore_null_arguments_einval, "EX-000-09",
         "Every semaphore function given NULL fails with EINVAL; free(NULL) "
         "is ignored.")
{
  mproc_semaphore *s;
  int v;
  MPT_ERR(mproc_semaphore_new(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_bounded_semaphore_new(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_semaphore_acquire(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_semaphore_release(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_semaphore_get_value(NULL, &v), MPROC_EINVAL);
  MPT_OK(mproc_semaphore_new(&s, 1));
  MPT_ERR(mproc_semaphore_get_value(s, NULL), MPROC_EINVAL);
  mproc_semaphore_free(s);
  mproc_semaphore_free(NULL);
}

/* ---- signals ---- */

static int sem_wait(void *p) { return mproc_semaphore_acquire(p, mpt_scale(30)); }
static int sem_wake(void *p) { return mproc_semaphore_release(p); }

MPT_TEST(semaphore_acquire_survives_signals, "EX-000-09",
         "Signals delivered while acquire waits neither end the wait early "
         "nor lose the release that wakes it.")
{
  mproc_semaphore *s;
  MPT_OK(mproc_semaphore_new(&s, 0));
  MPT_OK(mpt_wait_through_signals(sem_wait, sem_wake, s, 3));
  ck_assert_int_eq(value_of(s), 0);
  mproc_semaphore_free(s);
}

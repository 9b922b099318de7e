/* Conformance: Event. */
#define _GNU_SOURCE
#define MPT_SUITE "event"
#include "harness.h"

#include <stdio.h>

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

struct waiter_arg {
  mproc_event *event;
  mproc_semaphore *ready; /* released just before waiting */
  int64_t *returned;      /* waiters whose wait returned */
};

static int wait_event(void *p)
{
  struct waiter_arg *a = p;
  MPT_CHILD_OK(mproc_semaphore_release(a->ready));
  /* No limit, as in the example (Check's timeout ends a hung test). */
  MPT_CHILD_OK(mproc_event_wait(a->event, MPROC_FOREVER));
  MPT_CHILD_ASSERT(mproc_event_is_set(a->event));
  __atomic_add_fetch(a->returned, 1, __ATOMIC_SEQ_CST);
  return 0;
}

MPT_TEST(event_one_set_releases_all_three_waiters, "EX-000-10 EX-002-12 EX-003-08",
         "Three processes waiting on an Event do not return before it is "
         "set; one set releases all three.")
{
  enum { N = 3 };
  mproc_process procs[N];
  mproc_array *arr;
  struct waiter_arg a;

  a.returned = mpt_scratch(&arr, 1);
  MPT_OK(mproc_event_new(&a.event));
  MPT_OK(mproc_semaphore_new(&a.ready, 0));
  mpt_spawn(procs, N, wait_event, &a);
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert(!mproc_event_is_set(a.event));
  ck_assert_msg(*a.returned == 0, "%lld waiters returned before set",
                (long long)*a.returned);
  MPT_OK(mproc_event_set(a.event));
  mpt_join_all(procs, N);
  ck_assert_int_eq(*a.returned, N);
  ck_assert(mproc_event_is_set(a.event));
  mproc_semaphore_free(a.ready);
  mproc_event_free(a.event);
  mproc_array_free(arr);
}

static int set_event(void *p)
{
  MPT_CHILD_OK(mproc_event_set(p));
  return 0;
}

MPT_TEST(event_set_by_child_wakes_waiting_parent, "EX-002-12 EX-003-08",
         "A parent waiting on an Event returns 0 when a child (the notifier) "
         "sets it.")
{
  mproc_event *e;
  mproc_process p;
  MPT_OK(mproc_event_new(&e));
  start(&p, set_event, e);
  MPT_OK(mproc_event_wait(e, mpt_scale(30)));
  ck_assert(mproc_event_is_set(e));
  mpt_join_all(&p, 1);
  mproc_event_free(e);
}

MPT_TEST(event_waiter_child_released_by_setter_child, "EX-002-12 EX-003-08",
         "A waiter process blocked on an Event does not return before a "
         "setter process sets it, then returns 0; the parent then sees the "
         "Event set.")
{
  mproc_process waiter, setter;
  mproc_array *arr;
  struct waiter_arg a;

  a.returned = mpt_scratch(&arr, 1);
  MPT_OK(mproc_event_new(&a.event));
  MPT_OK(mproc_semaphore_new(&a.ready, 0));
  start(&waiter, wait_event, &a);
  MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_int_eq(*a.returned, 0);
  start(&setter, set_event, a.event);
  mpt_join_all(&setter, 1);
  mpt_join_all(&waiter, 1);
  ck_assert_int_eq(*a.returned, 1);
  ck_assert(mproc_event_is_set(a.event));
  mproc_semaphore_free(a.ready);
  mproc_event_free(a.event);
  mproc_array_free(arr);
}

static const struct {
  const char *label;
  double timeout;
  int expect;
} clear_timeouts[] = {
    {"0", 0, MPROC_EAGAIN},
    {"-1 (like 0)", -1, MPROC_EAGAIN},
    {"-1e-6 (like 0)", -1e-6, MPROC_EAGAIN},
    {"0.1", 0.1, MPROC_ETIMEDOUT},
    {"0.3", 0.3, MPROC_ETIMEDOUT},
};

MPT_TEST(event_wait_on_clear_event_eagain_or_etimedout, "EX-000-10 EX-002-12",
         "Waiting on a clear Event with timeout 0 or negative gives EAGAIN at "
         "once, with a positive timeout ETIMEDOUT no sooner than the timeout "
         "and within a bounded delay; NaN gives EINVAL.")
{
  mproc_event *e;
  MPT_OK(mproc_event_new(&e));
  for (size_t i = 0; i < sizeof clear_timeouts / sizeof clear_timeouts[0];
       i++) {
    double t = clear_timeouts[i].timeout, t0 = mpt_now(), elapsed;
    int rc = mproc_event_wait(e, t);
    elapsed = mpt_now() - t0;
    ck_assert_msg(rc == clear_timeouts[i].expect, "timeout %s: %s",
                  clear_timeouts[i].label, mproc_err_name(rc));
    if (t > 0)
      MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
    else
      MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
  }
  MPT_ERR(mproc_event_wait(e, NAN), MPROC_EINVAL);
  MPT_OK(mproc_event_set(e));
  MPT_ERR(mproc_event_wait(e, NAN), MPROC_EINVAL);
  mproc_event_free(e);
}

static const double set_timeouts[] = {0, -1, 0.5, 30, MPROC_FOREVER,
                                      MPROC_DEFAULT_TIMEOUT};

MPT_TEST(event_wait_on_set_event_returns_at_once, "EX-000-10 EX-003-08",
         "Waiting on a set Event returns 0 at once, whatever the timeout.")
{
  mproc_event *e;
  MPT_OK(mproc_event_new(&e));
  MPT_OK(mproc_event_set(e));
  for (size_t i = 0; i < sizeof set_timeouts / sizeof set_timeouts[0]; i++) {
    double t0 = mpt_now();
    MPT_OK(mproc_event_wait(e, set_timeouts[i]));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
  }
  mproc_event_free(e);
}

MPT_TEST(event_clear_resets_the_flag, "EX-000-10 EX-002-12",
         "A new Event is clear; set makes is_set true (twice is the same as "
         "once); clear makes it false again and waits block once more.")
{
  mproc_event *e;
  MPT_OK(mproc_event_new(&e));
  ck_assert(!mproc_event_is_set(e));
  MPT_OK(mproc_event_clear(e)); /* clearing a clear event is fine */
  ck_assert(!mproc_event_is_set(e));
  MPT_OK(mproc_event_set(e));
  MPT_OK(mproc_event_set(e));
  ck_assert(mproc_event_is_set(e));
  MPT_OK(mproc_event_clear(e));
  ck_assert(!mproc_event_is_set(e));
  MPT_ERR(mproc_event_wait(e, 0), MPROC_EAGAIN);
  MPT_ERR(mproc_event_wait(e, 0.05), MPROC_ETIMEDOUT);
  MPT_OK(mproc_event_set(e));
  MPT_OK(mproc_event_wait(e, 0));
  mproc_event_free(e);
}

static int clear_event(void *p)
{
  MPT_CHILD_ASSERT(mproc_event_is_set(p));
  MPT_CHILD_OK(mproc_event_clear(p));
  return 0;
}

MPT_TEST(event_flag_is_shared_with_children, "EX-002-12",
         "An Event created before start is one flag: a set in the parent is "
         "seen by the child and the child's clear is seen by the parent.")
{
  mproc_event *e;
  mproc_process p;
  MPT_OK(mproc_event_new(&e));
  MPT_OK(mproc_event_set(e));
  start(&p, clear_event, e);
  mpt_join_all(&p, 1);
  ck_assert(!mproc_event_is_set(e));
  mproc_event_free(e);
}

MPT_TEST(event_null_arguments_einval, "EX-000-10",
         "Every event function given NULL fails with EINVAL or reports false; "
         "free(NULL) is ignored.")
{
  MPT_ERR(mproc_event_new(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_event_set(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_event_clear(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_event_wait(NULL, 0), MPROC_EINVAL);
  ck_assert(!mproc_event_is_set(NULL));
  mproc_event_free(NULL);
}

static int ev_wait(void *p) { return mproc_event_wait(p, mpt_scale(30)); }
static int ev_wake(void *p) { return mproc_event_set(p); }

MPT_TEST(event_wait_survives_signals, "EX-002-12 EX-003-08",
         "Signals delivered while wait blocks neither end it early nor lose "
         "the set that wakes it.")
{
  mproc_event *e;
  MPT_OK(mproc_event_new(&e));
  MPT_OK(mpt_wait_through_signals(ev_wait, ev_wake, e, 3));
  mproc_event_free(e);
}

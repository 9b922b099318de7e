/* Conformance: Condition (over its own RLock, a Lock or an RLock). */
#define _GNU_SOURCE
#define MPT_SUITE "condition"
#include "harness.h"

#include <stdio.h>

#define container_of(ptr, type, member)                                       \
  ((type *)((char *)(ptr) - offsetof(type, member)))

enum ckind { OWN_RLOCK, OVER_LOCK, OVER_RLOCK };

static const char *ckind_name(enum ckind k)
{
  return k == OWN_RLOCK ? "own RLock" : k == OVER_LOCK ? "Lock" : "RLock";
}

/* A condition of kind k; *ext is the caller's lock (NULL for OWN_RLOCK),
 * to be freed after the condition. */
static mproc_condition *new_condition(enum ckind k, mproc_lock **ext)
{
  mproc_condition *c;
  *ext = NULL;
  if (k == OVER_LOCK)
    MPT_OK(mproc_lock_new(ext));
  else if (k == OVER_RLOCK)
    MPT_OK(mproc_rlock_new(ext));
  MPT_OK(mproc_condition_new(&c, *ext));
  return c;
}

static void free_condition(mproc_condition *c, mproc_lock *ext)
{
  mproc_condition_free(c);
  mproc_lock_free(ext);
}

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

static bool flag_set(void *p) { return *(volatile int64_t *)p != 0; }
static bool never(void *p)
{
  (void)p;
  return false;
}

/* Child: acquire(0) on the condition's lock must give `expect`. */
struct try_arg {
  mproc_condition *c;
  int expect;
};

static int try_condition(void *p)
{
  struct try_arg *a = p;
  MPT_CHILD_ERR(mproc_condition_acquire(a->c, 0), a->expect);
  if (a->expect == 0)
    MPT_CHILD_OK(mproc_condition_release(a->c));
  return 0;
}

static void try_from_child(mproc_condition *c, int expect)
{
  mproc_process p;
  struct try_arg a = {c, expect};
  start(&p, try_condition, &a);
  mpt_join_all(&p, 1);
}

/* ---- basics ---- */

MPT_TEST(condition_lock_is_the_given_lock_or_its_own_rlock, "EX-002-13",
         "A condition made over a lock uses that lock; one made without "
         "creates its own RLock; acquire/release act on it.")
{
  mproc_lock *l;
  mproc_condition *c;

  MPT_OK(mproc_lock_new(&l));
  MPT_OK(mproc_condition_new(&c, l));
  ck_assert_ptr_eq(mproc_condition_lock(c), l);
  MPT_OK(mproc_condition_acquire(c, 0));
  MPT_ERR(mproc_lock_acquire(l, 0), MPROC_EAGAIN);
  MPT_OK(mproc_condition_release(c));
  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_release(l));
  mproc_condition_free(c);
  mproc_lock_free(l);

  MPT_OK(mproc_condition_new(&c, NULL));
  ck_assert_ptr_nonnull(mproc_condition_lock(c));
  ck_assert(mproc_lock_is_recursive(mproc_condition_lock(c)));
  MPT_OK(mproc_condition_acquire(c, MPROC_FOREVER));
  MPT_OK(mproc_condition_acquire(c, 0));
  try_from_child(c, MPROC_EAGAIN);
  MPT_OK(mproc_condition_release(c));
  MPT_OK(mproc_condition_release(c));
  try_from_child(c, 0);
  mproc_condition_free(c);
}

MPT_TEST(condition_null_arguments_einval, "EX-002-13",
         "Condition functions given NULL fail with EINVAL.")
{
  MPT_ERR(mproc_condition_new(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_condition_acquire(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_condition_release(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_condition_wait(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_condition_wait_for(NULL, never, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_condition_notify(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_condition_notify_all(NULL), MPROC_EINVAL);
}

/* ---- the lock must be held ---- */

struct hold_arg {
  mproc_condition *c;
  mproc_event *held, *letgo;
};

static int hold_condition(void *p)
{
  struct hold_arg *a = p;
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  MPT_CHILD_OK(mproc_event_set(a->held));
  MPT_CHILD_OK(mproc_event_wait(a->letgo, mpt_scale(30)));
  MPT_CHILD_OK(mproc_condition_release(a->c));
  return 0;
}

static void expect_eperm_everywhere(mproc_condition *c, const char *what)
{
  int rc;
  rc = mproc_condition_wait(c, 0);
  ck_assert_msg(rc == MPROC_EPERM, "%s: wait(0) gave %s", what,
                mproc_err_name(rc));
  rc = mproc_condition_wait(c, 0.1);
  ck_assert_msg(rc == MPROC_EPERM, "%s: wait(0.1) gave %s", what,
                mproc_err_name(rc));
  rc = mproc_condition_wait_for(c, never, NULL, 0.1);
  ck_assert_msg(rc == MPROC_EPERM, "%s: wait_for gave %s", what,
                mproc_err_name(rc));
  rc = mproc_condition_notify(c, 1);
  ck_assert_msg(rc == MPROC_EPERM, "%s: notify(1) gave %s", what,
                mproc_err_name(rc));
  rc = mproc_condition_notify_all(c);
  ck_assert_msg(rc == MPROC_EPERM, "%s: notify_all gave %s", what,
                mproc_err_name(rc));
}

MPT_TEST(condition_wait_or_notify_without_lock_eperm, "EX-002-13 EX-004-01",
         "wait, wait_for, notify and notify_all by a caller that does not "
         "hold the lock (free, or held by another process) give EPERM and "
         "leave the lock as it was.")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    mproc_condition *c = new_condition((enum ckind)k, &ext);
    struct hold_arg a = {c, NULL, NULL};
    mproc_process p;
    char what[64];

    snprintf(what, sizeof what, "%s, free", ckind_name((enum ckind)k));
    expect_eperm_everywhere(c, what);
    try_from_child(c, 0); /* still free */

    MPT_OK(mproc_event_new(&a.held));
    MPT_OK(mproc_event_new(&a.letgo));
    start(&p, hold_condition, &a);
    MPT_OK(mproc_event_wait(a.held, mpt_scale(30)));
    snprintf(what, sizeof what, "%s, held by another process",
             ckind_name((enum ckind)k));
    expect_eperm_everywhere(c, what);
    MPT_ERR(mproc_condition_acquire(c, 0), MPROC_EAGAIN); /* still held */
    MPT_OK(mproc_event_set(a.letgo));
    mpt_join_all(&p, 1);
    mproc_event_free(a.held);
    mproc_event_free(a.letgo);
    free_condition(c, ext);
  }
}

/* ---- timeouts ---- */

MPT_TEST(condition_wait_timeout_etimedout_and_lock_held_after, "EX-002-13",
         "An unnotified wait gives EAGAIN for timeout 0 and ETIMEDOUT no "
         "sooner than a positive timeout, and returns with the lock held at "
         "the same depth.")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    mproc_condition *c = new_condition((enum ckind)k, &ext);
    double t0;
    MPT_OK(mproc_condition_acquire(c, 0));
    MPT_ERR(mproc_condition_wait(c, 0), MPROC_EAGAIN);
    MPT_ERR(mproc_condition_wait(c, -1), MPROC_EAGAIN);
    t0 = mpt_now();
    MPT_ERR(mproc_condition_wait(c, 0.1), MPROC_ETIMEDOUT);
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.1, 0.1 + mpt_scale(2));
    MPT_ERR(mproc_condition_wait(c, NAN), MPROC_EINVAL);
    try_from_child(c, MPROC_EAGAIN);
    MPT_OK(mproc_condition_release(c));
    if (k == OVER_LOCK)
      MPT_ERR(mproc_condition_release(c), MPROC_ESTATE);
    else
      MPT_ERR2(mproc_condition_release(c), MPROC_ESTATE, MPROC_EPERM);
    try_from_child(c, 0);
    free_condition(c, ext);
  }
}

struct setter_arg {
  mproc_condition *c;
  int64_t *flag;
  mproc_semaphore *go; /* NULL: set at once */
};

static int set_flag_and_notify(void *p)
{
  struct setter_arg *a = p;
  if (a->go != NULL)
    MPT_CHILD_OK(mproc_semaphore_acquire(a->go, mpt_scale(30)));
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  *a->flag = 1;
  MPT_CHILD_OK(mproc_condition_notify_all(a->c));
  MPT_CHILD_OK(mproc_condition_release(a->c));
  return 0;
}

MPT_TEST(condition_wait_for_checks_predicate_with_timeout, "EX-002-13 EX-004-01",
         "wait_for returns 0 at once when the predicate holds, EAGAIN or "
         "ETIMEDOUT (no sooner than the timeout) when it never does, and 0 "
         "once another process makes it true and notifies.")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    mproc_condition *c = new_condition((enum ckind)k, &ext);
    mproc_array *arr;
    int64_t *flag = mpt_scratch(&arr, 1);
    struct setter_arg a = {c, flag, NULL};
    mproc_process p;
    double t0;

    MPT_OK(mproc_condition_acquire(c, 0));
    MPT_ERR(mproc_condition_wait_for(c, never, NULL, 0), MPROC_EAGAIN);
    t0 = mpt_now();
    MPT_ERR(mproc_condition_wait_for(c, never, NULL, 0.15), MPROC_ETIMEDOUT);
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0.15, 0.15 + mpt_scale(2));
    MPT_ERR(mproc_condition_wait_for(c, never, NULL, NAN), MPROC_EINVAL);
    *flag = 1;
    t0 = mpt_now();
    MPT_OK(mproc_condition_wait_for(c, flag_set, flag, 0));
    MPT_OK(mproc_condition_wait_for(c, flag_set, flag, MPROC_FOREVER));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(1));
    *flag = 0;
    start(&p, set_flag_and_notify, &a);
    MPT_OK(mproc_condition_wait_for(c, flag_set, flag, mpt_scale(30)));
    ck_assert_int_eq(*flag, 1);
    MPT_OK(mproc_condition_release(c));
    mpt_join_all(&p, 1);
    mproc_array_free(arr);
    free_condition(c, ext);
  }
}

/* ---- notify counts ---- */

struct notify_arg {
  mproc_condition *c;
  mproc_semaphore *ready; /* released, lock held, just before waiting */
  mproc_semaphore *done;  /* released after the wait returned */
  int64_t *waiting, *woken;
};

static int wait_once(void *p)
{
  struct notify_arg *a = p;
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  ++*a->waiting;
  MPT_CHILD_OK(mproc_semaphore_release(a->ready));
  /* One wait, no loop: spurious returns happen only after a waiter died. */
  MPT_CHILD_OK(mproc_condition_wait(a->c, mpt_scale(30)));
  ++*a->woken;
  MPT_CHILD_OK(mproc_condition_release(a->c));
  MPT_CHILD_OK(mproc_semaphore_release(a->done));
  return 0;
}

static const unsigned notify_counts[] = {0, 1, 2, 3, 5};

MPT_TEST(condition_notify_passes_over_dead_and_timed_out_waiters, "EX-002-13",
         "A waiter that died inside wait and one that timed out do not "
         "swallow a notification: with a live waiter queued between them, "
         "notify(1) wakes it.")
{
  mproc_process first, live;
  mproc_array *arr;
  int64_t *s = mpt_scratch(&arr, 2);
  struct notify_arg a;

  MPT_OK(mproc_condition_new(&a.c, NULL));
  MPT_OK(mproc_semaphore_new(&a.ready, 0));
  MPT_OK(mproc_semaphore_new(&a.done, 0));
  a.waiting = &s[0];
  a.woken = &s[1];
  /* Each waiter is inside wait once the lock is free for us again: the
   * first one, then the live one, then this process (with a limit). */
  mpt_spawn(&first, 1, wait_once, &a);
  MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
  MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
  MPT_OK(mproc_condition_release(a.c));
  mpt_spawn(&live, 1, wait_once, &a);
  MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
  MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
  ck_assert_int_eq(*a.waiting, 2);
  MPT_ERR(mproc_condition_wait(a.c, 0.1), MPROC_ETIMEDOUT);
  MPT_OK(mproc_process_kill(&first));
  mpt_join_expect(&first, -9);
  MPT_OK(mproc_condition_notify(a.c, 1));
  MPT_OK(mproc_condition_release(a.c));
  MPT_OK(mproc_semaphore_acquire(a.done, mpt_scale(30)));
  mpt_join_all(&live, 1);
  ck_assert_int_eq(*a.woken, 1);
  mproc_semaphore_free(a.ready);
  mproc_semaphore_free(a.done);
  mproc_condition_free(a.c);
  mproc_array_free(arr);
}

/* Child: takes the lock once the parent waits, notifies, and exits still
 * holding it. */
static int notify_and_die_holding(void *p)
{
  mproc_condition *c = p;
  MPT_CHILD_OK(mproc_condition_acquire(c, mpt_scale(30)));
  MPT_CHILD_OK(mproc_condition_notify(c, 1));
  return 0;
}

static bool count_and_refuse(void *p)
{
  ++*(int *)p;
  return false;
}

MPT_TEST_F(condition_wait_for_returns_eownerdead_without_the_predicate, "EX-002-13", "condition owner-died",
         "When the lock's holder dies after notifying, wait_for returns "
         "EOWNERDEAD at once with the lock held, without evaluating the "
         "predicate again.")
{
  for (int k = OVER_LOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    mproc_condition *c = new_condition((enum ckind)k, &ext);
    mproc_process p;
    int evaluations = 0;

    MPT_OK(mproc_condition_acquire(c, 0));
    start(&p, notify_and_die_holding, c);
    MPT_ERR(mproc_condition_wait_for(c, count_and_refuse, &evaluations,
                                     mpt_scale(30)),
            MPROC_EOWNERDEAD);
    ck_assert_msg(evaluations == 1, "%s: the predicate ran %d times",
                  ckind_name((enum ckind)k), evaluations);
    MPT_OK(mproc_condition_release(c));
    mpt_join_all(&p, 1);
    free_condition(c, ext);
  }
}

MPT_TEST(condition_notify_n_wakes_exactly_n_waiters, "EX-002-13 EX-004-01",
         "With three processes waiting, notify(n) wakes exactly min(n, 3) of "
         "them and notify_all the rest.")
{
  enum { N = 3 };
  for (size_t i = 0; i < sizeof notify_counts / sizeof notify_counts[0];
       i++) {
    unsigned n = notify_counts[i], expect = n < N ? n : N;
    mproc_process procs[N];
    mproc_array *arr;
    int64_t *s = mpt_scratch(&arr, 2);
    struct notify_arg a;
    int rc;

    MPT_OK(mproc_condition_new(&a.c, NULL));
    MPT_OK(mproc_semaphore_new(&a.ready, 0));
    MPT_OK(mproc_semaphore_new(&a.done, 0));
    a.waiting = &s[0];
    a.woken = &s[1];
    mpt_spawn(procs, N, wait_once, &a);
    for (int j = 0; j < N; j++)
      MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
    /* Each released `ready` holding the lock, and gives the lock up only
     * inside wait: once the lock is ours, all three are waiting. */
    MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
    ck_assert_int_eq(*a.waiting, N);
    ck_assert_int_eq(*a.woken, 0);
    MPT_OK(mproc_condition_notify(a.c, n));
    MPT_OK(mproc_condition_release(a.c));
    for (unsigned j = 0; j < expect; j++)
      MPT_OK(mproc_semaphore_acquire(a.done, mpt_scale(30)));
    if (expect < N) {
      rc = mproc_semaphore_acquire(a.done, 0.2);
      ck_assert_msg(rc == MPROC_ETIMEDOUT,
                    "notify(%u) woke more than %u waiters (%s)", n, expect,
                    mproc_err_name(rc));
    }
    MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
    ck_assert_msg(*a.woken == (int64_t)expect, "notify(%u) woke %lld", n,
                  (long long)*a.woken);
    MPT_OK(mproc_condition_notify_all(a.c));
    MPT_OK(mproc_condition_release(a.c));
    for (unsigned j = expect; j < N; j++)
      MPT_OK(mproc_semaphore_acquire(a.done, mpt_scale(30)));
    mpt_join_all(procs, N);
    ck_assert_int_eq(*a.woken, N);
    mproc_semaphore_free(a.ready);
    mproc_semaphore_free(a.done);
    mproc_condition_free(a.c);
    mproc_array_free(arr);
  }
}

/* A waiter that records, when woken, its own index in the next free place
 * of `order` (shared): the order in which waiters were notified. */
struct order_arg {
  struct notify_arg *n;
  int64_t index;
  int64_t *order;
};

static int wait_record_order(void *p)
{
  struct order_arg *o = p;
  struct notify_arg *a = o->n;
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  ++*a->waiting;
  MPT_CHILD_OK(mproc_semaphore_release(a->ready));
  MPT_CHILD_OK(mproc_condition_wait(a->c, mpt_scale(30)));
  o->order[(*a->woken)++] = o->index;
  MPT_CHILD_OK(mproc_condition_release(a->c));
  MPT_CHILD_OK(mproc_semaphore_release(a->done));
  return 0;
}

MPT_TEST(condition_notify_wakes_the_oldest_waiter_first, "EX-002-13",
         "With three processes that started waiting one after the other, "
         "each notify(1) wakes the one that has waited longest.")
{
  enum { N = 3 };
  mproc_process procs[N];
  mproc_array *arr;
  int64_t *s = mpt_scratch(&arr, 2 + N);
  struct notify_arg a;
  struct order_arg o[N];

  MPT_OK(mproc_condition_new(&a.c, NULL));
  MPT_OK(mproc_semaphore_new(&a.ready, 0));
  MPT_OK(mproc_semaphore_new(&a.done, 0));
  a.waiting = &s[0];
  a.woken = &s[1];
  for (int i = 0; i < N; i++) {
    o[i] = (struct order_arg){&a, i, &s[2]};
    mpt_spawn(&procs[i], 1, wait_record_order, &o[i]);
    /* Waiter i released `ready` holding the lock and gives the lock up
     * only inside wait: once the lock is ours, it is queued, before
     * waiter i + 1 starts. */
    MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
    MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
    MPT_OK(mproc_condition_release(a.c));
  }
  for (int i = 0; i < N; i++) {
    MPT_OK(mproc_condition_acquire(a.c, mpt_scale(30)));
    MPT_OK(mproc_condition_notify(a.c, 1));
    MPT_OK(mproc_condition_release(a.c));
    MPT_OK(mproc_semaphore_acquire(a.done, mpt_scale(30)));
    ck_assert_msg(s[2 + i] == i, "notify number %d woke waiter %lld", i,
                  (long long)s[2 + i]);
  }
  mpt_join_all(procs, N);
  mproc_semaphore_free(a.ready);
  mproc_semaphore_free(a.done);
  mproc_condition_free(a.c);
  mproc_array_free(arr);
}

MPT_TEST(condition_notify_without_waiters_is_harmless, "EX-002-13",
         "notify and notify_all with nobody waiting return 0 and wake no "
         "later waiter.")
{
  mproc_condition *c;
  MPT_OK(mproc_condition_new(&c, NULL));
  MPT_OK(mproc_condition_acquire(c, 0));
  MPT_OK(mproc_condition_notify(c, 1));
  MPT_OK(mproc_condition_notify_all(c));
  MPT_ERR(mproc_condition_wait(c, 0.1), MPROC_ETIMEDOUT);
  MPT_OK(mproc_condition_release(c));
  mproc_condition_free(c);
}

/* ---- the lock is released while waiting ---- */

MPT_TEST_F(condition_wait_releases_every_rlock_level, "EX-002-13", "condition rlock",
         "A wait by the owner of an RLock held three levels deep lets another "
         "process take the lock, and returns with all three levels held.")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k += OVER_RLOCK - OWN_RLOCK) {
    mproc_lock *ext;
    mproc_condition *c = new_condition((enum ckind)k, &ext);
    mproc_array *arr;
    int64_t *flag = mpt_scratch(&arr, 1);
    struct setter_arg a = {c, flag, NULL};
    mproc_process p;

    for (int i = 0; i < 3; i++)
      MPT_OK(mproc_condition_acquire(c, 0));
    start(&p, set_flag_and_notify, &a);
    MPT_OK(mproc_condition_wait_for(c, flag_set, flag, mpt_scale(30)));
    mpt_join_all(&p, 1);
    try_from_child(c, MPROC_EAGAIN);
    for (int i = 0; i < 3; i++)
      MPT_OK(mproc_condition_release(c));
    MPT_ERR2(mproc_condition_release(c), MPROC_ESTATE, MPROC_EPERM);
    try_from_child(c, 0);
    mproc_array_free(arr);
    free_condition(c, ext);
  }
}

/* ---- producer and consumer over a shared buffer ---- */

enum { RING = 5, ITEMS = 200 };

struct ring {
  mproc_condition *c;
  mproc_array *buf; /* 'i', RING slots */
  int64_t *s;       /* head, tail, count, sum, errors */
};

static bool ring_has_room(void *p)
{
  struct ring *r = p;
  return r->s[2] < RING;
}

static bool ring_has_item(void *p)
{
  struct ring *r = p;
  return r->s[2] > 0;
}

static int produce(void *p)
{
  struct ring *r = p;
  for (int i = 1; i <= ITEMS; i++) {
    MPT_CHILD_OK(mproc_condition_acquire(r->c, mpt_scale(30)));
    MPT_CHILD_OK(
        mproc_condition_wait_for(r->c, ring_has_room, r, mpt_scale(30)));
    MPT_CHILD_OK(mproc_array_set_i64(r->buf, (size_t)r->s[1], i));
    r->s[1] = (r->s[1] + 1) % RING;
    r->s[2]++;
    MPT_CHILD_ASSERT(r->s[2] <= RING);
    MPT_CHILD_OK(mproc_condition_notify_all(r->c));
    MPT_CHILD_OK(mproc_condition_release(r->c));
  }
  return 0;
}

static int consume(void *p)
{
  struct ring *r = p;
  for (int i = 1; i <= ITEMS; i++) {
    int64_t v;
    MPT_CHILD_OK(mproc_condition_acquire(r->c, mpt_scale(30)));
    MPT_CHILD_OK(
        mproc_condition_wait_for(r->c, ring_has_item, r, mpt_scale(30)));
    MPT_CHILD_OK(mproc_array_get_i64(r->buf, (size_t)r->s[0], &v));
    MPT_CHILD_EQ(v, i); /* first in, first out */
    r->s[0] = (r->s[0] + 1) % RING;
    r->s[2]--;
    r->s[3] += v;
    MPT_CHILD_OK(mproc_condition_notify_all(r->c));
    MPT_CHILD_OK(mproc_condition_release(r->c));
  }
  return 0;
}

MPT_TEST(condition_producer_consumer_over_shared_array, "EX-002-13",
         "A producer and a consumer process passing 200 items through a "
         "5-slot shared Array ring buffer under a Condition deliver every item "
         "once, in order, the count never above 5 (the example, fixed to use "
         "shared memory).")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    struct ring r;
    mproc_array *arr;
    mproc_process procs[2];
    mproc_shared_options raw = {.raw = true};

    r.c = new_condition((enum ckind)k, &ext);
    r.s = mpt_scratch(&arr, 5);
    MPT_OK(mproc_array_new(&r.buf, 'i', RING, NULL, &raw));
    start(&procs[0], consume, &r);
    start(&procs[1], produce, &r);
    mpt_join_all(procs, 2);
    ck_assert_int_eq(r.s[2], 0);
    ck_assert_int_eq(r.s[3], (int64_t)ITEMS * (ITEMS + 1) / 2);
    mproc_array_free(r.buf);
    mproc_array_free(arr);
    free_condition(r.c, ext);
  }
}

/* The example's list is a plain global: each process appends to its own
 * copy, so the consumer's predicate never becomes true. */
static int global_items[8];
static int global_count;

static bool global_nonempty(void *p)
{
  (void)p;
  return global_count > 0;
}

struct erratum_arg {
  mproc_condition *c;
  mproc_semaphore *waiting;
  int64_t *s; /* consumer's result code, producer's count */
};

static int erratum_consumer(void *p)
{
  struct erratum_arg *a = p;
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  MPT_CHILD_OK(mproc_semaphore_release(a->waiting));
  a->s[0] = mproc_condition_wait_for(a->c, global_nonempty, NULL,
                                     mpt_scale(0.5));
  MPT_CHILD_OK(mproc_condition_release(a->c));
  return 0;
}

static int erratum_producer(void *p)
{
  struct erratum_arg *a = p;
  MPT_CHILD_OK(mproc_condition_acquire(a->c, mpt_scale(30)));
  global_items[global_count++] = 42;
  a->s[1] = global_count;
  MPT_CHILD_OK(mproc_condition_notify_all(a->c));
  MPT_CHILD_OK(mproc_condition_release(a->c));
  return 0;
}

MPT_TEST(condition_global_list_not_shared_consumer_times_out, "EX-002-13",
         "Erratum: an item appended to a plain global by the producer "
         "process is not seen by the consumer process, whose bounded "
         "wait_for times out (the example hangs).")
{
  struct erratum_arg a;
  mproc_array *arr;
  mproc_process cons, prod;

  global_count = 0;
  a.s = mpt_scratch(&arr, 2);
  MPT_OK(mproc_condition_new(&a.c, NULL));
  MPT_OK(mproc_semaphore_new(&a.waiting, 0));
  start(&cons, erratum_consumer, &a);
  /* The consumer released `waiting` holding the lock: the producer gets
   * the lock only once the consumer waits, so its notify reaches it. */
  MPT_OK(mproc_semaphore_acquire(a.waiting, mpt_scale(30)));
  start(&prod, erratum_producer, &a);
  mpt_join_all(&prod, 1);
  mpt_join_all(&cons, 1);
  ck_assert_int_eq(a.s[1], 1); /* the producer saw its own append */
  ck_assert_msg(a.s[0] == MPROC_ETIMEDOUT,
                "the consumer's wait_for gave %s, expected ETIMEDOUT",
                mproc_err_name((int)a.s[0]));
  ck_assert_int_eq(global_count, 0);
  mproc_semaphore_free(a.waiting);
  mproc_condition_free(a.c);
  mproc_array_free(arr);
}

/* ---- two conditions, shared counter, daemon subclasses ---- */

enum { PC_MAX = 10, PC_PRODUCERS = 2, PC_CONSUMERS = 3, PC_ITEMS = 60 };

struct pc_shared {
  mproc_lock *lock;
  mproc_condition *not_full, *not_empty;
  mproc_value *counter; /* 'i', synchronised by `lock` */
  int64_t *stats;       /* produced, consumed */
};

struct pc_process {
  mproc_process base;
  struct pc_shared *sh;
  bool producer;
  int items;
};

static bool pc_not_full(void *p)
{
  return *(int *)mproc_value_ptr(((struct pc_shared *)p)->counter) < PC_MAX;
}

static bool pc_not_empty(void *p)
{
  return *(int *)mproc_value_ptr(((struct pc_shared *)p)->counter) > 0;
}

static int pc_run(mproc_process *self)
{
  struct pc_process *me = container_of(self, struct pc_process, base);
  struct pc_shared *sh = me->sh;
  int *counter = mproc_value_ptr(sh->counter);
  for (int i = 0; i < me->items; i++) {
    MPT_CHILD_OK(mproc_lock_acquire(sh->lock, mpt_scale(30)));
    if (me->producer) {
      MPT_CHILD_OK(mproc_condition_wait_for(sh->not_full, pc_not_full, sh,
                                            mpt_scale(30)));
      ++*counter;
      sh->stats[0]++;
      MPT_CHILD_OK(mproc_condition_notify(sh->not_empty, 1));
    } else {
      MPT_CHILD_OK(mproc_condition_wait_for(sh->not_empty, pc_not_empty, sh,
                                            mpt_scale(30)));
      --*counter;
      sh->stats[1]++;
      MPT_CHILD_OK(mproc_condition_notify(sh->not_full, 1));
    }
    MPT_CHILD_ASSERT(*counter >= 0 && *counter <= PC_MAX);
    MPT_CHILD_EQ(sh->stats[0] - sh->stats[1], *counter);
    MPT_CHILD_OK(mproc_lock_release(sh->lock));
  }
  return 0;
}

MPT_TEST(condition_two_conditions_over_one_lock_count_exactly, "EX-004-01",
         "Corrected: two producer and three consumer daemon processes "
         "(subclass style) sharing a counter through not_full/not_empty "
         "conditions over one lock keep 0 <= counter <= MAXSIZE and "
         "produced - consumed == counter at every step and at the end.")
{
  enum { N = PC_PRODUCERS + PC_CONSUMERS };
  struct pc_shared sh;
  struct pc_process procs[N];
  mproc_array *arr;
  mproc_shared_options o;
  int64_t final;

  sh.stats = mpt_scratch(&arr, 2);
  MPT_OK(mproc_lock_new(&sh.lock));
  MPT_OK(mproc_condition_new(&sh.not_full, sh.lock));
  MPT_OK(mproc_condition_new(&sh.not_empty, sh.lock));
  o = (mproc_shared_options){.lock = sh.lock};
  MPT_OK(mproc_value_new(&sh.counter, 'i', &o));
  for (int i = 0; i < N; i++) {
    mproc_process_options po = {0};
    procs[i].sh = &sh;
    procs[i].producer = i < PC_PRODUCERS;
    procs[i].items = procs[i].producer ? PC_ITEMS / PC_PRODUCERS
                                       : PC_ITEMS / PC_CONSUMERS;
    po.run = pc_run;
    po.daemon = true;
    MPT_OK(mproc_process_init(&procs[i].base, &po));
  }
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_process_start(&procs[i].base));
  for (int i = 0; i < N; i++)
    mpt_join_all(&procs[i].base, 1);
  MPT_OK(mproc_value_get_i64(sh.counter, &final));
  ck_assert_int_eq(sh.stats[0], PC_ITEMS);
  ck_assert_int_eq(sh.stats[1], PC_ITEMS);
  ck_assert_int_eq(sh.stats[0] - sh.stats[1], final);
  ck_assert_int_eq(final, 0);
  mproc_value_free(sh.counter);
  mproc_condition_free(sh.not_full);
  mproc_condition_free(sh.not_empty);
  mproc_lock_free(sh.lock);
  mproc_array_free(arr);
}

/* The document's own structure: each condition has its own lock, the
 * producers update the counter holding not_full's, the consumers holding
 * not_empty's.  Updates can be lost (the catalogue's erratum), so only
 * the bounds hold, and the run is limited in time, not in items. */
struct pc_orig {
  mproc_condition *not_full, *not_empty;
  mproc_value *counter; /* 'i' with its own lock, used per access */
  int64_t *s;           /* stop, produced, consumed */
};

struct pc_orig_process {
  mproc_process base;
  struct pc_orig *sh;
  bool producer;
};

static bool pc_orig_stop(struct pc_orig *sh)
{
  return __atomic_load_n(&sh->s[0], __ATOMIC_SEQ_CST) != 0;
}

static int64_t pc_orig_get(struct pc_orig *sh)
{
  int64_t v;
  MPT_CHILD_OK(mproc_value_get_i64(sh->counter, &v));
  return v;
}

static int pc_orig_run(mproc_process *self)
{
  struct pc_orig_process *me =
      container_of(self, struct pc_orig_process, base);
  struct pc_orig *sh = me->sh;
  mproc_condition *mine = me->producer ? sh->not_full : sh->not_empty;
  mproc_condition *other = me->producer ? sh->not_empty : sh->not_full;
  while (!pc_orig_stop(sh)) {
    int64_t v;
    bool done = false;
    MPT_CHILD_OK(mproc_condition_acquire(mine, mpt_scale(30)));
    for (;;) {
      v = pc_orig_get(sh);
      if (me->producer ? v < PC_MAX : v > 0)
        break;
      if (pc_orig_stop(sh)) {
        done = true;
        break;
      }
      /* Short waits, so that the stop flag is seen. */
      int rc = mproc_condition_wait(mine, 0.05);
      MPT_CHILD_ASSERT(rc == 0 || rc == MPROC_ETIMEDOUT);
    }
    if (!done) {
      /* counter.value += 1 (or -= 1): a read and a write. */
      MPT_CHILD_OK(mproc_value_set_i64(sh->counter, v + (me->producer ? 1 : -1)));
      __atomic_add_fetch(&sh->s[me->producer ? 1 : 2], 1, __ATOMIC_SEQ_CST);
      v = pc_orig_get(sh);
      MPT_CHILD_ASSERT(v >= 0 && v <= PC_MAX);
    }
    MPT_CHILD_OK(mproc_condition_release(mine));
    MPT_CHILD_OK(mproc_condition_acquire(other, mpt_scale(30)));
    MPT_CHILD_OK(mproc_condition_notify_all(other));
    MPT_CHILD_OK(mproc_condition_release(other));
  }
  return 0;
}

MPT_TEST(condition_two_condition_original_keeps_counter_in_bounds, "EX-004-01",
         "The document's structure (two conditions, each with its own lock, "
         "two producer and three consumer daemon subclasses) keeps the shared "
         "counter within 0..MAXSIZE at every observation and makes progress, "
         "although it may lose updates.")
{
  enum { N = PC_PRODUCERS + PC_CONSUMERS };
  struct pc_orig sh;
  struct pc_orig_process procs[N];
  mproc_array *arr;

  sh.s = mpt_scratch(&arr, 3);
  MPT_OK(mproc_condition_new(&sh.not_full, NULL));
  MPT_OK(mproc_condition_new(&sh.not_empty, NULL));
  MPT_OK(mproc_value_new(&sh.counter, 'i', NULL));
  for (int i = 0; i < N; i++) {
    mproc_process_options po = {0};
    procs[i].sh = &sh;
    procs[i].producer = i < PC_PRODUCERS;
    po.run = pc_orig_run;
    po.daemon = true;
    MPT_OK(mproc_process_init(&procs[i].base, &po));
    ck_assert(mproc_process_daemon(&procs[i].base));
  }
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_process_start(&procs[i].base));
  mpt_observe(0.5); /* let them run */
  __atomic_store_n(&sh.s[0], 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < N; i++)
    mpt_join_all(&procs[i].base, 1);
  ck_assert_int_gt(sh.s[1], 0);
  ck_assert_int_gt(sh.s[2], 0);
  mproc_value_free(sh.counter);
  mproc_condition_free(sh.not_full);
  mproc_condition_free(sh.not_empty);
  mproc_array_free(arr);
}

/* ---- signals ---- */

struct sig_arg {
  mproc_condition *c;
};

static int cond_wait(void *p)
{
  return mproc_condition_wait(((struct sig_arg *)p)->c, mpt_scale(30));
}

static int cond_wake(void *p)
{
  mproc_condition *c = ((struct sig_arg *)p)->c;
  int rc = mproc_condition_acquire(c, mpt_scale(30));
  if (rc == 0)
    rc = mproc_condition_notify_all(c);
  if (rc == 0)
    rc = mproc_condition_release(c);
  return rc;
}

MPT_TEST(condition_wait_survives_signals, "EX-002-13 EX-004-01",
         "Signals delivered while wait blocks neither end it early (no "
         "spurious return) nor lose the notification.")
{
  for (int k = OWN_RLOCK; k <= OVER_RLOCK; k++) {
    mproc_lock *ext;
    struct sig_arg a = {new_condition((enum ckind)k, &ext)};
    MPT_OK(mproc_condition_acquire(a.c, 0));
    MPT_OK(mpt_wait_through_signals(cond_wait, cond_wake, &a, 3));
    MPT_OK(mproc_condition_release(a.c));
    free_condition(a.c, ext);
  }
}

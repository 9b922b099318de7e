/* Conformance: Lock and RLock (exclusion across processes, timeouts,
 * release rules, recursion, owner death, signals). */
#define _GNU_SOURCE
#define MPT_SUITE "lock"
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

enum kind { LOCK, RLOCK };

static const char *kind_name(enum kind k) { return k == LOCK ? "Lock" : "RLock"; }

static mproc_lock *new_lock(enum kind k)
{
  mproc_lock *l;
  MPT_OK(k == LOCK ? mproc_lock_new(&l) : mproc_rlock_new(&l));
  ck_assert(mproc_lock_is_recursive(l) == (k == RLOCK));
  return l;
}

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

/* ---- a process that holds a lock ---- */

enum holder_end {
  HOLDER_RELEASES, /* releases when letgo is set */
  HOLDER_RETURNS,  /* returns from its target still holding it */
  HOLDER_WAITS     /* holds it until killed */
};

struct holder {
  mproc_lock *lock;
  mproc_event *held;  /* set once the lock is held */
  mproc_event *letgo; /* HOLDER_RELEASES: release when set */
  enum holder_end end;
};

static int hold_lock(void *p)
{
  struct holder *h = p;
  MPT_CHILD_OK(mproc_lock_acquire(h->lock, mpt_scale(30)));
  MPT_CHILD_OK(mproc_event_set(h->held));
  switch (h->end) {
  case HOLDER_RELEASES:
    MPT_CHILD_OK(mproc_event_wait(h->letgo, mpt_scale(30)));
    MPT_CHILD_OK(mproc_lock_release(h->lock));
    return 0;
  case HOLDER_RETURNS:
    return 0;
  case HOLDER_WAITS:
    mproc_event_wait(h->letgo, mpt_scale(60));
    return 1;
  }
  return 2;
}

static void holder_start(mproc_process *p, struct holder *h, mproc_lock *l,
                         enum holder_end end)
{
  h->lock = l;
  h->end = end;
  MPT_OK(mproc_event_new(&h->held));
  MPT_OK(mproc_event_new(&h->letgo));
  start(p, hold_lock, h);
  MPT_OK(mproc_event_wait(h->held, mpt_scale(30)));
}

static void holder_finish(mproc_process *p, struct holder *h)
{
  MPT_OK(mproc_event_set(h->letgo));
  mpt_join_all(p, 1);
  mproc_event_free(h->held);
  mproc_event_free(h->letgo);
}

/* Child: acquire(0) must give `expect`; on success release again. */
struct try_arg {
  mproc_lock *lock;
  int expect;
};

static int try_lock(void *p)
{
  struct try_arg *a = p;
  MPT_CHILD_ERR(mproc_lock_acquire(a->lock, 0), a->expect);
  if (a->expect == 0)
    MPT_CHILD_OK(mproc_lock_release(a->lock));
  return 0;
}

static void try_from_child(mproc_lock *l, int expect)
{
  mproc_process p;
  struct try_arg a = {l, expect};
  start(&p, try_lock, &a);
  mpt_join_all(&p, 1);
}

/* ---- basics ---- */

MPT_TEST(lock_acquire_release_roundtrip, "EX-000-08",
         "A new Lock is free: acquire takes it, a second try fails with "
         "EAGAIN, release frees it, and a release too many gives ESTATE.")
{
  mproc_lock *l = new_lock(LOCK);
  MPT_OK(mproc_lock_acquire(l, MPROC_FOREVER));
  MPT_ERR(mproc_lock_acquire(l, 0), MPROC_EAGAIN);
  MPT_OK(mproc_lock_release(l));
  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_release(l));
  MPT_OK(mproc_lock_acquire(l, MPROC_DEFAULT_TIMEOUT));
  MPT_OK(mproc_lock_release(l));
  MPT_ERR(mproc_lock_release(l), MPROC_ESTATE);
  mproc_lock_free(l);
}

MPT_TEST(lock_null_arguments_einval, "EX-000-08",
         "new, acquire and release given NULL fail with EINVAL; free(NULL) is "
         "ignored.")
{
  MPT_ERR(mproc_lock_new(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_rlock_new(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_lock_acquire(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_lock_acquire(NULL, MPROC_FOREVER), MPROC_EINVAL);
  MPT_ERR(mproc_lock_release(NULL), MPROC_EINVAL);
  mproc_lock_free(NULL);
}

MPT_TEST(lock_release_unlocked_estate, "EX-000-08",
         "Releasing a Lock that is not locked gives ESTATE (released too many "
         "times).")
{
  mproc_lock *l = new_lock(LOCK);
  MPT_ERR(mproc_lock_release(l), MPROC_ESTATE);
  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_release(l));
  MPT_ERR(mproc_lock_release(l), MPROC_ESTATE);
  mproc_lock_free(l);
}

/* ---- timeouts ---- */

static const struct {
  const char *label;
  double timeout;
  int expect;
} held_timeouts[] = {
    {"0", 0, MPROC_EAGAIN},
    {"-1 (like 0)", -1, MPROC_EAGAIN},
    {"-0.5 (like 0)", -0.5, MPROC_EAGAIN},
    {"0.1", 0.1, MPROC_ETIMEDOUT},
    {"0.25", 0.25, MPROC_ETIMEDOUT},
};

static const struct {
  enum kind kind;
  bool holder_is_child; /* else the caller holds a Lock itself */
} holders[] = {
    {LOCK, false},
    {LOCK, true},
    {RLOCK, true},
};

MPT_TEST(lock_timeout_on_held_lock_eagain_or_etimedout, "EX-000-08 EX-002-10",
         "On a held lock, timeout 0 or negative gives EAGAIN at once and a "
         "positive timeout gives ETIMEDOUT no sooner than the timeout and "
         "within a bounded delay after it.")
{
  for (size_t h = 0; h < sizeof holders / sizeof holders[0]; h++) {
    mproc_lock *l = new_lock(holders[h].kind);
    mproc_process p;
    struct holder hd;
    if (holders[h].holder_is_child)
      holder_start(&p, &hd, l, HOLDER_RELEASES);
    else
      MPT_OK(mproc_lock_acquire(l, 0));
    for (size_t i = 0; i < sizeof held_timeouts / sizeof held_timeouts[0];
         i++) {
      double t = held_timeouts[i].timeout, t0 = mpt_now(), elapsed;
      int rc = mproc_lock_acquire(l, t);
      elapsed = mpt_now() - t0;
      ck_assert_msg(rc == held_timeouts[i].expect,
                    "%s held by %s, timeout %s: %s, expected %s",
                    kind_name(holders[h].kind),
                    holders[h].holder_is_child ? "a child" : "the caller",
                    held_timeouts[i].label, mproc_err_name(rc),
                    mproc_err_name(held_timeouts[i].expect));
      if (t > 0)
        MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
      else
        MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
    }
    if (holders[h].holder_is_child)
      holder_finish(&p, &hd);
    else
      MPT_OK(mproc_lock_release(l));
    mproc_lock_free(l);
  }
}

MPT_TEST(lock_nan_timeout_einval, "EX-000-08 EX-002-10",
         "A NaN timeout gives EINVAL, on a free lock (which stays free) as on "
         "a held one.")
{
  for (int k = LOCK; k <= RLOCK; k++) {
    mproc_lock *l = new_lock((enum kind)k);
    MPT_ERR(mproc_lock_acquire(l, NAN), MPROC_EINVAL);
    try_from_child(l, 0); /* still free */
    MPT_OK(mproc_lock_acquire(l, 0));
    MPT_ERR(mproc_lock_acquire(l, NAN), MPROC_EINVAL);
    MPT_OK(mproc_lock_release(l));
    if (k == RLOCK) /* the NaN call did not add a level */
      MPT_ERR2(mproc_lock_release(l), MPROC_ESTATE, MPROC_EPERM);
    mproc_lock_free(l);
  }
}

/* ---- sharing between processes ---- */

/* A "module-level" lock: a static global, not passed to the child. */
static mproc_lock *module_lock;

static int use_module_lock(void *arg)
{
  bool parent_holds = arg != NULL;
  if (parent_holds) {
    double t0 = mpt_now();
    MPT_CHILD_ERR(mproc_lock_acquire(module_lock, 0.5), MPROC_ETIMEDOUT);
    MPT_CHILD_ASSERT(mpt_now() - t0 >= 0.5);
  } else {
    MPT_CHILD_OK(mproc_lock_acquire(module_lock, 0.5));
    MPT_CHILD_OK(mproc_lock_release(module_lock));
  }
  return 0;
}

MPT_TEST(lock_created_before_start_is_shared_with_child, "EX-000-15",
         "A Lock in a static global created before start is the same lock in "
         "the child: while the parent holds it the child's acquire(0.5) gives "
         "ETIMEDOUT; once released the child takes it.")
{
  mproc_process p;
  MPT_OK(mproc_lock_new(&module_lock));
  MPT_OK(mproc_lock_acquire(module_lock, 0));
  start(&p, use_module_lock, (void *)1);
  mpt_join_all(&p, 1);
  MPT_OK(mproc_lock_release(module_lock));
  start(&p, use_module_lock, NULL);
  mpt_join_all(&p, 1);
  mproc_lock_free(module_lock);
  module_lock = NULL;
}

static int release_lock(void *p)
{
  MPT_CHILD_OK(mproc_lock_release(p));
  return 0;
}

MPT_TEST(lock_released_by_another_process, "EX-000-08 EX-000-15",
         "A Lock held by one process may be released by another, after which "
         "it is free.")
{
  mproc_lock *l = new_lock(LOCK);
  mproc_process p;
  MPT_OK(mproc_lock_acquire(l, 0));
  start(&p, release_lock, l);
  mpt_join_all(&p, 1);
  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_release(l));
  mproc_lock_free(l);
}

struct blocked_arg {
  mproc_lock *lock;
  mproc_semaphore *trying; /* released just before the blocking acquire */
  int64_t *returned;
};

static int acquire_blocking(void *p)
{
  struct blocked_arg *a = p;
  MPT_CHILD_OK(mproc_semaphore_release(a->trying));
  MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
  __atomic_store_n(a->returned, 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(mproc_lock_release(a->lock));
  return 0;
}

MPT_TEST(lock_blocks_other_process_until_released, "EX-000-08 EX-002-10",
         "While the parent holds a Lock or RLock, another process's blocking "
         "acquire does not return; it returns once the parent releases.")
{
  for (int k = LOCK; k <= RLOCK; k++) {
    mproc_lock *l = new_lock((enum kind)k);
    mproc_array *arr;
    struct blocked_arg a;
    mproc_process p;
    a.lock = l;
    a.returned = mpt_scratch(&arr, 1);
    MPT_OK(mproc_semaphore_new(&a.trying, 0));
    MPT_OK(mproc_lock_acquire(l, 0));
    start(&p, acquire_blocking, &a);
    MPT_OK(mproc_semaphore_acquire(a.trying, mpt_scale(30)));
    mpt_observe(0.2);
    ck_assert_msg(*a.returned == 0, "%s: the child's acquire returned while "
                  "the parent held the lock", kind_name((enum kind)k));
    MPT_OK(mproc_lock_release(l));
    mpt_join_all(&p, 1);
    ck_assert_int_eq(*a.returned, 1);
    mproc_semaphore_free(a.trying);
    mproc_array_free(arr);
    mproc_lock_free(l);
  }
}

/* ---- counters under the lock ---- */

enum access { VIA_GET_SET, VIA_PTR };

struct counter_arg {
  mproc_value *value;
  mproc_lock *lock;
  enum access access;
  int iterations;
  int delta;
};

static int count_under_lock(void *p)
{
  struct counter_arg *a = p;
  for (int i = 0; i < a->iterations; i++) {
    MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
    if (a->access == VIA_GET_SET) {
      int64_t v;
      MPT_CHILD_OK(mproc_value_get_i64(a->value, &v));
      MPT_CHILD_OK(mproc_value_set_i64(a->value, v + a->delta));
    } else {
      *(int *)mproc_value_ptr(a->value) += a->delta;
    }
    MPT_CHILD_OK(mproc_lock_release(a->lock));
  }
  return 0;
}

static const struct {
  const char *label;
  enum access access;
  bool own_lock; /* the Value's get_lock(), else a separate Lock */
} counter_cases[] = {
    {"get/set under the Value's own lock", VIA_GET_SET, true},
    {"pointer under a separate Lock", VIA_PTR, false},
};

MPT_TEST(lock_four_processes_count_to_40000, "EX-000-06 EX-000-08",
         "Four processes doing 10000 locked increments each of a shared "
         "Value('i') leave it at 40000.")
{
  enum { N = 4, ITER = 10000 };
  for (size_t c = 0; c < sizeof counter_cases / sizeof counter_cases[0];
       c++) {
    mproc_process procs[N];
    struct counter_arg a;
    mproc_lock *sep = NULL;
    int64_t v;
    MPT_OK(mproc_value_new(&a.value, 'i', NULL));
    if (counter_cases[c].own_lock) {
      a.lock = mproc_value_get_lock(a.value);
    } else {
      sep = new_lock(LOCK);
      a.lock = sep;
    }
    a.access = counter_cases[c].access;
    a.iterations = ITER;
    a.delta = 1;
    mpt_spawn(procs, N, count_under_lock, &a);
    mpt_join_all(procs, N);
    MPT_OK(mproc_value_get_i64(a.value, &v));
    ck_assert_msg(v == N * ITER, "%s: counter %lld, expected %d",
                  counter_cases[c].label, (long long)v, N * ITER);
    mproc_value_free(a.value);
    mproc_lock_free(sep);
  }
}

MPT_TEST(lock_increments_and_decrements_cancel_out, "EX-002-06",
         "One process adding 1 and another subtracting 1, 100000 times each "
         "under the lock, leave the shared Value at 0.")
{
  enum { ITER = 100000 };
  mproc_process procs[2];
  struct counter_arg args[2];
  mproc_value *v;
  int64_t got;

  MPT_OK(mproc_value_new(&v, 'i', NULL));
  for (int i = 0; i < 2; i++)
    args[i] = (struct counter_arg){v, mproc_value_get_lock(v), VIA_GET_SET,
                                   ITER, i == 0 ? 1 : -1};
  mpt_spawn_each(procs, 2, count_under_lock, args, sizeof args[0]);
  mpt_join_all(procs, 2);
  MPT_OK(mproc_value_get_i64(v, &got));
  ck_assert_int_eq(got, 0);
  mproc_value_free(v);
}

struct exclusion_arg {
  mproc_lock *lock;
  int64_t *inside;     /* holders currently inside */
  int64_t *violations; /* times someone found another holder inside */
};

static int check_exclusion(void *p)
{
  struct exclusion_arg *a = p;
  for (int i = 0; i < 2000; i++) {
    MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
    if (__atomic_add_fetch(a->inside, 1, __ATOMIC_SEQ_CST) != 1)
      __atomic_add_fetch(a->violations, 1, __ATOMIC_SEQ_CST);
    if (i % 16 == 0)
      sched_yield(); /* give the others a chance to barge in */
    if (__atomic_load_n(a->inside, __ATOMIC_SEQ_CST) != 1)
      __atomic_add_fetch(a->violations, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(a->inside, 1, __ATOMIC_SEQ_CST);
    MPT_CHILD_OK(mproc_lock_release(a->lock));
  }
  return 0;
}

MPT_TEST(lock_excludes_other_processes_from_critical_section, "EX-000-08 EX-002-10",
         "Four processes entering a critical section under a Lock or RLock "
         "never find another process inside.")
{
  enum { N = 4 };
  for (int k = LOCK; k <= RLOCK; k++) {
    mproc_process procs[N];
    mproc_array *arr;
    int64_t *s = mpt_scratch(&arr, 2);
    struct exclusion_arg a = {new_lock((enum kind)k), &s[0], &s[1]};
    mpt_spawn(procs, N, check_exclusion, &a);
    mpt_join_all(procs, N);
    ck_assert_msg(s[1] == 0, "%s: %lld violations of mutual exclusion",
                  kind_name((enum kind)k), (long long)s[1]);
    mproc_lock_free(a.lock);
    mproc_array_free(arr);
  }
}

/* ---- owner death ---- */

enum death {
  DEATH_JOINED_FIRST, /* holder returns; the caller joins, then acquires */
  DEATH_RACING,       /* holder returns while the caller acquires */
  DEATH_KILLED        /* holder is killed with SIGKILL while holding */
};

static const struct {
  const char *label;
  enum death death;
} deaths[] = {
    {"holder exited, joined before acquire", DEATH_JOINED_FIRST},
    {"holder exits while the caller acquires", DEATH_RACING},
    {"holder killed", DEATH_KILLED},
};

MPT_TEST_F(lock_owner_death_next_acquire_eownerdead, "EX-000-08 EX-002-10", "lock owner-died",
         "When the holder of a Lock or RLock dies holding it, the next "
         "acquire returns EOWNERDEAD within a bounded time and the caller "
         "then holds the lock.")
{
  for (int k = LOCK; k <= RLOCK; k++)
    for (size_t d = 0; d < sizeof deaths / sizeof deaths[0]; d++) {
      mproc_lock *l = new_lock((enum kind)k);
      mproc_process p;
      struct holder h;
      int rc;
      holder_start(&p, &h, l,
                   deaths[d].death == DEATH_KILLED ? HOLDER_WAITS
                                                   : HOLDER_RETURNS);
      if (deaths[d].death == DEATH_KILLED)
        MPT_OK(mproc_process_kill(&p));
      if (deaths[d].death != DEATH_RACING)
        MPT_OK(mproc_process_join(&p, mpt_scale(30)));
      rc = mproc_lock_acquire(l, mpt_scale(10));
      ck_assert_msg(rc == MPROC_EOWNERDEAD, "%s, %s: acquire returned %s",
                    kind_name((enum kind)k), deaths[d].label,
                    mproc_err_name(rc));
      /* The caller holds it now. */
      try_from_child(l, MPROC_EAGAIN);
      if (k == RLOCK) {
        MPT_OK(mproc_lock_acquire(l, 0)); /* recursion works: count 2 */
        MPT_OK(mproc_lock_release(l));
      } else {
        MPT_ERR(mproc_lock_acquire(l, 0), MPROC_EAGAIN);
      }
      MPT_OK(mproc_lock_release(l));
      if (k == RLOCK)
        MPT_ERR2(mproc_lock_release(l), MPROC_ESTATE, MPROC_EPERM);
      else
        MPT_ERR(mproc_lock_release(l), MPROC_ESTATE);
      try_from_child(l, 0);
      MPT_OK(mproc_process_join(&p, mpt_scale(30)));
      MPT_OK(mproc_process_close(&p));
      mproc_event_free(h.held);
      mproc_event_free(h.letgo);
      mproc_lock_free(l);
    }
}

/* ---- RLock ---- */

MPT_TEST_F(rlock_nests_five_levels_then_other_process_takes_it, "EX-002-10", "rlock",
         "An RLock acquired five times by its owner stays held until the "
         "fifth release; then another process can take it, and one release "
         "more fails.")
{
  mproc_lock *l = new_lock(RLOCK);
  for (int i = 0; i < 5; i++)
    MPT_OK(mproc_lock_acquire(l, i % 2 ? 0 : MPROC_FOREVER));
  try_from_child(l, MPROC_EAGAIN);
  for (int i = 0; i < 4; i++)
    MPT_OK(mproc_lock_release(l));
  try_from_child(l, MPROC_EAGAIN);
  MPT_OK(mproc_lock_release(l));
  try_from_child(l, 0);
  MPT_ERR2(mproc_lock_release(l), MPROC_ESTATE, MPROC_EPERM);
  mproc_lock_free(l);
}

struct nested_arg {
  mproc_lock *rlock;
  mproc_event *deep, *unwind;
  mproc_semaphore *trying;
  int64_t *s; /* nester's view of the global; waiter returned */
};

static int nested_count;

static void nested_increment(struct nested_arg *a, int n)
{
  if (n == 0) {
    /* Five levels deep: let the parent look, then unwind. */
    MPT_CHILD_OK(mproc_event_set(a->deep));
    MPT_CHILD_OK(mproc_event_wait(a->unwind, mpt_scale(30)));
    return;
  }
  MPT_CHILD_OK(mproc_lock_acquire(a->rlock, mpt_scale(30)));
  nested_count++;
  nested_increment(a, n - 1);
  MPT_CHILD_OK(mproc_lock_release(a->rlock));
}

static int nester(void *p)
{
  struct nested_arg *a = p;
  nested_increment(a, 5);
  a->s[0] = nested_count;
  /* All five levels are released: one more release fails. */
  MPT_CHILD_ASSERT(mproc_lock_release(a->rlock) != 0);
  return 0;
}

static int blocked_on_rlock(void *p)
{
  struct nested_arg *a = p;
  MPT_CHILD_OK(mproc_semaphore_release(a->trying));
  MPT_CHILD_OK(mproc_lock_acquire(a->rlock, mpt_scale(30)));
  __atomic_store_n(&a->s[1], 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(mproc_lock_release(a->rlock));
  return 0;
}

MPT_TEST_F(rlock_nested_five_deep_in_child_blocks_other_until_last_release, "EX-002-10", "rlock",
         "A child that takes an RLock five levels deep (recursively, counting "
         "a global) keeps another child blocked until its last release; the "
         "parent's global stays 0.")
{
  struct nested_arg a;
  mproc_array *arr;
  mproc_process p, q;

  nested_count = 0;
  a.rlock = new_lock(RLOCK);
  a.s = mpt_scratch(&arr, 2);
  MPT_OK(mproc_event_new(&a.deep));
  MPT_OK(mproc_event_new(&a.unwind));
  MPT_OK(mproc_semaphore_new(&a.trying, 0));
  start(&p, nester, &a);
  MPT_OK(mproc_event_wait(a.deep, mpt_scale(30)));
  start(&q, blocked_on_rlock, &a);
  MPT_OK(mproc_semaphore_acquire(a.trying, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_msg(a.s[1] == 0, "the other child took the RLock while it was "
                "held five levels deep");
  MPT_OK(mproc_event_set(a.unwind));
  mpt_join_all(&p, 1);
  mpt_join_all(&q, 1);
  ck_assert_int_eq(a.s[0], 5);
  ck_assert_int_eq(a.s[1], 1);
  ck_assert_int_eq(nested_count, 0);
  mproc_semaphore_free(a.trying);
  mproc_event_free(a.deep);
  mproc_event_free(a.unwind);
  mproc_lock_free(a.rlock);
  mproc_array_free(arr);
}

static int release_expect_eperm(void *p)
{
  MPT_CHILD_ERR(mproc_lock_release(p), MPROC_EPERM);
  return 0;
}

static void *release_in_thread(void *p)
{
  return (void *)(intptr_t)mproc_lock_release(p);
}

MPT_TEST_F(rlock_release_by_non_owner_eperm, "EX-002-10", "rlock",
         "Releasing an RLock held by another process or another thread gives "
         "EPERM and leaves it held.")
{
  mproc_lock *l = new_lock(RLOCK);
  mproc_process p;
  pthread_t th;
  void *ret;

  MPT_OK(mproc_lock_acquire(l, 0));
  start(&p, release_expect_eperm, l);
  mpt_join_all(&p, 1);
  mpt_thread_create(&th, release_in_thread, l);
  ck_assert_int_eq(pthread_join(th, &ret), 0);
  ck_assert_msg((intptr_t)ret == MPROC_EPERM,
                "release from another thread returned %s",
                mproc_err_name((int)(intptr_t)ret));
  try_from_child(l, MPROC_EAGAIN);
  MPT_OK(mproc_lock_release(l));
  try_from_child(l, 0);
  mproc_lock_free(l);
}

MPT_TEST_F(rlock_release_unowned_fails, "EX-002-10", "rlock",
         "Releasing an RLock nobody holds fails with ESTATE (not locked) or "
         "EPERM (not the owner).")
{
  mproc_lock *l = new_lock(RLOCK);
  MPT_ERR2(mproc_lock_release(l), MPROC_ESTATE, MPROC_EPERM);
  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_release(l));
  MPT_ERR2(mproc_lock_release(l), MPROC_ESTATE, MPROC_EPERM);
  mproc_lock_free(l);
}

static void *acquire_in_thread(void *p)
{
  return (void *)(intptr_t)mproc_lock_acquire(p, 0);
}

MPT_TEST_F(rlock_reentrant_only_for_owning_thread, "EX-002-10", "rlock",
         "An RLock held by one thread is re-acquired at once by that thread "
         "but not by another thread of the same process.")
{
  mproc_lock *l = new_lock(RLOCK);
  pthread_t th;
  void *ret;

  MPT_OK(mproc_lock_acquire(l, 0));
  MPT_OK(mproc_lock_acquire(l, 0));
  mpt_thread_create(&th, acquire_in_thread, l);
  ck_assert_int_eq(pthread_join(th, &ret), 0);
  ck_assert_msg((intptr_t)ret == MPROC_EAGAIN,
                "acquire(0) from another thread returned %s",
                mproc_err_name((int)(intptr_t)ret));
  MPT_OK(mproc_lock_release(l));
  MPT_OK(mproc_lock_release(l));
  mproc_lock_free(l);
}

/* ---- signals ---- */

struct signal_arg {
  mproc_lock *lock;
  struct holder *holder;
};

static int signal_wait(void *p)
{
  struct signal_arg *a = p;
  return mproc_lock_acquire(a->lock, mpt_scale(30));
}

static int signal_wake(void *p)
{
  struct signal_arg *a = p;
  return mproc_event_set(a->holder->letgo);
}

MPT_TEST(lock_acquire_survives_signals, "EX-000-08 EX-002-10",
         "Signals delivered while acquire waits for a Lock or RLock held by "
         "another process neither end the wait early nor lose the wake-up.")
{
  for (int k = LOCK; k <= RLOCK; k++) {
    mproc_lock *l = new_lock((enum kind)k);
    mproc_process p;
    struct holder h;
    struct signal_arg a = {l, &h};
    holder_start(&p, &h, l, HOLDER_RELEASES);
    MPT_OK(mpt_wait_through_signals(signal_wait, signal_wake, &a, 3));
    MPT_OK(mproc_lock_release(l));
    holder_finish(&p, &h);
    mproc_lock_free(l);
  }
}

/* ---- errata: globals are not shared ---- */

static int global_count;
enum { GLOBAL_ITER = 100000 };

struct global_arg {
  mproc_lock *lock;
  mproc_value *shared;
  int64_t *seen;
  int nest; /* levels of acquire per increment (RLock: 2) */
};

static int bump_global_locked(void *p)
{
  struct global_arg *a = p;
  for (int i = 0; i < GLOBAL_ITER; i++) {
    for (int n = 0; n < a->nest; n++)
      MPT_CHILD_OK(mproc_lock_acquire(a->lock, mpt_scale(30)));
    global_count++;
    *(int *)mproc_value_ptr(a->shared) += 1;
    for (int n = 0; n < a->nest; n++)
      MPT_CHILD_OK(mproc_lock_release(a->lock));
  }
  *a->seen = global_count;
  return 0;
}

static const struct {
  const char *label;
  enum kind kind;
  int nest;
} global_cases[] = {
    {"Lock", LOCK, 1},
    {"RLock acquired twice per increment", RLOCK, 2},
};

MPT_TEST(lock_guarded_global_counter_stays_zero_in_parent, "EX-002-09 EX-002-10 EX-003-07",
         "Two processes incrementing a global int 100000 times under a shared "
         "lock leave the parent's global at 0 (each child counts only its "
         "own 100000), while a shared Value under the same lock reaches the "
         "claimed 200000.")
{
  for (size_t c = 0; c < sizeof global_cases / sizeof global_cases[0]; c++) {
    mproc_process procs[2];
    struct global_arg args[2];
    mproc_array *arr;
    int64_t *seen = mpt_scratch(&arr, 2);
    mproc_lock *l = new_lock(global_cases[c].kind);
    mproc_value *v;
    int64_t total;
    mproc_shared_options o = {.lock = l};
    MPT_OK(mproc_value_new(&v, 'i', &o));
    global_count = 0;
    for (int i = 0; i < 2; i++)
      args[i] = (struct global_arg){l, v, &seen[i], global_cases[c].nest};
    mpt_spawn_each(procs, 2, bump_global_locked, args, sizeof args[0]);
    mpt_join_all(procs, 2);
    ck_assert_msg(global_count == 0, "%s: parent's global is %d",
                  global_cases[c].label, global_count);
    ck_assert_int_eq(seen[0], GLOBAL_ITER);
    ck_assert_int_eq(seen[1], GLOBAL_ITER);
    MPT_OK(mproc_value_get_i64(v, &total));
    ck_assert_int_eq(total, 2 * GLOBAL_ITER);
    mproc_value_free(v);
    mproc_lock_free(l);
    mproc_array_free(arr);
  }
}

/* Scenarios for the shared-memory primitives: Lock/RLock, Semaphore,
 * Condition, Barrier, Event. */
#include "stress.h"

#include <signal.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* lock                                                                     */
/* ------------------------------------------------------------------------ */

/* Two counters, one behind a Lock and one behind an RLock.  A holder
 * increments its lock's counter, then its own tally; `inside` catches two
 * holders at once.  A holder killed by chaos leaves them inconsistent: the
 * next acquirer gets EOWNERDEAD and repairs (counter = sum of tallies), as
 * the contract asks, so the final totals are exact even under chaos. */
struct lock_state {
  mproc_lock *lock[2];
  _Atomic int inside[2];
  uint64_t counter[2];
  uint64_t tally[ST_SLOTS][2];
  _Atomic uint64_t repairs;
};

static void lock_repair(struct lock_state *s, int k)
{
  uint64_t sum = 0;
  for (int i = 0; i < ST_SLOTS; i++)
    sum += s->tally[i][k];
  s->counter[k] = sum;
  atomic_store(&s->inside[k], 0);
  atomic_fetch_add(&s->repairs, 1);
}

static void lock_worker(st_ctx *ctx, int index, void *arg)
{
  struct lock_state *s = arg;
  int me = index;
  for (uint64_t n = 0; st_more(ctx, n); n++) {
    int k = (int)st_rng_below(&ctx->rng, 2), rc;
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
    unsigned depth = k == 1 ? 1 + (unsigned)st_rng_below(&ctx->rng, 3) : 1;
    st_op(ctx, "%s acquire (timeout %g)", k ? "rlock" : "lock", t);
    rc = mproc_lock_acquire(s->lock[k], t);
    if (rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT) {
      st_done(ctx, true);
      continue;
    }
    if (rc == MPROC_EOWNERDEAD) {
      ST_CHECK(ctx, ctx->cfg->chaos, "EOWNERDEAD without chaos");
      lock_repair(s, k);
    } else if (rc != 0) {
      st_fail(ctx, "lock acquire returned %s", mproc_err_name(rc));
      return;
    }
    if (atomic_fetch_add(&s->inside[k], 1) != 0)
      st_fail(ctx, "two holders of the %s at once", k ? "rlock" : "lock");
    for (unsigned d = 1; d < depth; d++)
      ST_OK(ctx, mproc_lock_acquire(s->lock[k], 0));
    /* A read-modify-write with a window: lost updates show. */
    uint64_t v = s->counter[k];
    for (int spin = (int)st_rng_below(&ctx->rng, 50); spin > 0; spin--)
      __asm__ __volatile__("" ::: "memory");
    s->counter[k] = v + 1;
    s->tally[me][k]++;
    for (unsigned d = 1; d < depth; d++)
      ST_OK(ctx, mproc_lock_release(s->lock[k]));
    atomic_fetch_sub(&s->inside[k], 1);
    ST_OK(ctx, mproc_lock_release(s->lock[k]));
    st_done(ctx, false);
  }
}

void st_scenario_lock(st_ctx *ctx)
{
  struct lock_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  mproc_process agent;
  int flags = ST_STORM | ST_STOPPABLE | ST_KILLABLE;
  ST_OK(ctx, mproc_lock_new(&s->lock[0]));
  ST_OK(ctx, mproc_rlock_new(&s->lock[1]));
  st_count_name(ctx, 0, "increments");
  st_count_name(ctx, 1, "owner_died_repairs");
  st_start(ctx, g, ctx->cfg->procs, "locker", flags, lock_worker, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  st_join(ctx, g, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  for (int k = 0; k < 2; k++) {
    uint64_t sum = 0;
    int rc = mproc_lock_acquire(s->lock[k], 0);
    if (rc == MPROC_EOWNERDEAD)
      lock_repair(s, k);
    else
      ST_OK(ctx, rc);
    for (int i = 0; i < ST_SLOTS; i++)
      sum += s->tally[i][k];
    ST_CHECK(ctx, s->counter[k] == sum,
             "%s counter is %llu, the holders counted %llu",
             k ? "rlock" : "lock", (unsigned long long)s->counter[k],
             (unsigned long long)sum);
    ST_OK(ctx, mproc_lock_release(s->lock[k]));
    st_count(ctx, 0, sum);
  }
  ST_CHECK(ctx, mproc_lock_release(s->lock[0]) == MPROC_ESTATE,
           "releasing an unlocked Lock did not give ESTATE");
  st_count(ctx, 1, atomic_load(&s->repairs));
  mproc_lock_free(s->lock[0]);
  mproc_lock_free(s->lock[1]);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}

/* ------------------------------------------------------------------------ */
/* semaphore                                                                */
/* ------------------------------------------------------------------------ */

/* A holder counts itself in `holders` after acquiring and out before
 * releasing.  A holder killed by chaos keeps both its permit and its
 * count, so "holders never above the bound" stays exact under chaos; only
 * the final value relaxes (permits of killed holders are lost: a
 * semaphore has no owner).  Under chaos no wait is unbounded, since every
 * permit may end up lost. */
struct sem_state {
  mproc_semaphore *sem;
  unsigned bound;
  _Atomic int holders, max_holders;
};

static void sem_worker(st_ctx *ctx, int index, void *arg)
{
  struct sem_state *s = arg;
  (void)index;
  for (uint64_t n = 0; st_more(ctx, n); n++) {
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, !ctx->cfg->chaos);
    int rc, h;
    st_op(ctx, "semaphore acquire (timeout %g)", t);
    rc = mproc_semaphore_acquire(s->sem, t);
    if (rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT) {
      st_done(ctx, true);
      continue;
    }
    if (rc != 0) {
      st_fail(ctx, "semaphore acquire returned %s", mproc_err_name(rc));
      return;
    }
    h = atomic_fetch_add(&s->holders, 1) + 1;
    if (h > (int)s->bound)
      st_fail(ctx, "%d holders of a semaphore bounded at %u", h, s->bound);
    for (int m = atomic_load(&s->max_holders);
         h > m && !atomic_compare_exchange_weak(&s->max_holders, &m, h);)
      ;
    for (int spin = (int)st_rng_below(&ctx->rng, 200); spin > 0; spin--)
      __asm__ __volatile__("" ::: "memory");
    atomic_fetch_sub(&s->holders, 1);
    st_op(ctx, "semaphore release");
    ST_OK(ctx, mproc_semaphore_release(s->sem));
    st_done(ctx, false);
  }
}

void st_scenario_semaphore(st_ctx *ctx)
{
  struct sem_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  mproc_process agent;
  st_rng rng;
  int value = -1, killed;
  st_rng_init(&rng, ctx->cfg->seed, (uint64_t)ctx->index, 1, 0);
  s->bound = 1 + (unsigned)st_rng_below(&rng, (uint64_t)ctx->cfg->procs - 1);
  ST_OK(ctx, mproc_bounded_semaphore_new(&s->sem, s->bound));
  st_count_name(ctx, 0, "bound");
  st_count_name(ctx, 1, "max_holders");
  st_start(ctx, g, ctx->cfg->procs, "holder",
           ST_STORM | ST_STOPPABLE | ST_KILLABLE, sem_worker, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  killed = st_join(ctx, g, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  ST_OK(ctx, mproc_semaphore_get_value(s->sem, &value));
  ST_CHECK(ctx, value <= (int)s->bound && value >= (int)s->bound - killed,
           "the semaphore's final value is %d; bound %u, %d holders killed",
           value, s->bound, killed);
  if (value == (int)s->bound)
    ST_CHECK(ctx, mproc_semaphore_release(s->sem) == MPROC_ESTATE,
             "a release above the bound did not give ESTATE");
  st_count(ctx, 0, s->bound);
  st_count(ctx, 1, (uint64_t)atomic_load(&s->max_holders));
  mproc_semaphore_free(s->sem);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}

/* ------------------------------------------------------------------------ */
/* condition                                                                */
/* ------------------------------------------------------------------------ */

/* Producers and consumers on a bounded ring guarded by a Condition.  Each
 * item is (producer, seq); every consumer must see each producer's items
 * in increasing order, and the final tally must show each item exactly
 * once.  Chaos stops and storms the processes but does not kill them: the
 * ring is not repairable from a dead holder's half-made change. */
#define COND_RING 16
#define COND_MAX_ITEMS (1u << 20)
#define COND_PRODUCERS_MAX 16

struct cond_state {
  mproc_lock *lock;
  mproc_condition *cond;
  unsigned head, count, producers_left;
  uint32_t ring_producer[COND_RING];
  uint64_t ring_seq[COND_RING];
  uint64_t produced[ST_SLOTS];
  _Atomic uint8_t seen[COND_PRODUCERS_MAX][COND_MAX_ITEMS / 8];
  int nproducers;
};

static bool cond_not_full(void *arg)
{
  struct cond_state *s = arg;
  return s->count < COND_RING;
}

static bool cond_not_empty_or_done(void *arg)
{
  struct cond_state *s = arg;
  return s->count > 0 || s->producers_left == 0;
}

static void cond_producer(st_ctx *ctx, int index, void *arg)
{
  struct cond_state *s = arg;
  uint64_t seq = 0;
  for (uint64_t n = 0; seq < COND_MAX_ITEMS && st_more(ctx, n); n++) {
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
    int rc;
    st_op(ctx, "condition acquire");
    ST_OK(ctx, mproc_condition_acquire(s->cond, MPROC_FOREVER));
    st_op(ctx, "condition wait_for not full (timeout %g)", t);
    rc = mproc_condition_wait_for(s->cond, cond_not_full, s, t);
    if (rc == 0) {
      unsigned slot = (s->head + s->count) % COND_RING;
      s->ring_producer[slot] = (uint32_t)index;
      s->ring_seq[slot] = seq++;
      s->count++;
      s->produced[index] = seq;
      if (st_rng_chance(&ctx->rng, 50))
        ST_OK(ctx, mproc_condition_notify(s->cond, 1));
      else
        ST_OK(ctx, mproc_condition_notify_all(s->cond));
    } else if (rc != MPROC_EAGAIN && rc != MPROC_ETIMEDOUT) {
      st_fail(ctx, "condition wait_for returned %s", mproc_err_name(rc));
    }
    ST_OK(ctx, mproc_condition_release(s->cond));
    st_done(ctx, rc != 0);
  }
  st_op(ctx, "condition acquire (last)");
  ST_OK(ctx, mproc_condition_acquire(s->cond, MPROC_FOREVER));
  s->producers_left--;
  ST_OK(ctx, mproc_condition_notify_all(s->cond));
  ST_OK(ctx, mproc_condition_release(s->cond));
  st_done(ctx, false);
}

static void cond_consumer(st_ctx *ctx, int index, void *arg)
{
  struct cond_state *s = arg;
  uint64_t next[ST_SLOTS] = {0};
  (void)index;
  for (;;) {
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
    int rc;
    bool finished = false;
    st_op(ctx, "condition acquire");
    ST_OK(ctx, mproc_condition_acquire(s->cond, MPROC_FOREVER));
    st_op(ctx, "condition wait_for an item (timeout %g)", t);
    rc = mproc_condition_wait_for(s->cond, cond_not_empty_or_done, s, t);
    if (rc == 0 && s->count > 0) {
      uint32_t p = s->ring_producer[s->head];
      uint64_t seq = s->ring_seq[s->head];
      s->head = (s->head + 1) % COND_RING;
      s->count--;
      ST_OK(ctx, mproc_condition_notify_all(s->cond));
      if (p >= (uint32_t)s->nproducers || seq >= COND_MAX_ITEMS) {
        st_fail(ctx, "item (%u, %llu) was never produced", p,
                (unsigned long long)seq);
      } else {
        ST_CHECK(ctx, seq >= next[p],
                 "producer %u's item %llu came after its item %llu", p,
                 (unsigned long long)seq, (unsigned long long)next[p] - 1);
        next[p] = seq + 1;
        if (atomic_fetch_or(&s->seen[p][seq / 8], (uint8_t)(1u << seq % 8)) &
            (1u << seq % 8))
          st_fail(ctx, "producer %u's item %llu was consumed twice", p,
                  (unsigned long long)seq);
      }
    } else if (rc == 0) {
      finished = true;
    } else if (rc != MPROC_EAGAIN && rc != MPROC_ETIMEDOUT) {
      st_fail(ctx, "condition wait_for returned %s", mproc_err_name(rc));
      finished = true;
    }
    ST_OK(ctx, mproc_condition_release(s->cond));
    st_done(ctx, rc != 0);
    if (finished)
      return;
  }
}

void st_scenario_condition(st_ctx *ctx)
{
  struct cond_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  mproc_process agent;
  st_rng rng;
  int np = ctx->cfg->procs / 2 > COND_PRODUCERS_MAX ? COND_PRODUCERS_MAX
                                                    : ctx->cfg->procs / 2;
  int nc = ctx->cfg->procs - np;
  uint64_t total = 0;
  st_rng_init(&rng, ctx->cfg->seed, (uint64_t)ctx->index, 1, 0);
  if (st_rng_chance(&rng, 50)) /* over a Lock, or its own RLock */
    ST_OK(ctx, mproc_lock_new(&s->lock));
  ST_OK(ctx, mproc_condition_new(&s->cond, s->lock));
  s->nproducers = np;
  s->producers_left = (unsigned)np;
  st_count_name(ctx, 0, "items");
  st_start(ctx, g, np, "producer", ST_STORM | ST_STOPPABLE, cond_producer, s);
  st_start(ctx, g, nc, "consumer", ST_STORM | ST_STOPPABLE, cond_consumer, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, 0);
  st_join(ctx, g, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  ST_CHECK(ctx, s->count == 0, "%u items were left in the ring", s->count);
  for (int p = 0; p < np; p++) {
    for (uint64_t q = 0; q < s->produced[p]; q++)
      if (!(atomic_load(&s->seen[p][q / 8]) & (1u << q % 8))) {
        st_fail(ctx, "producer %d's item %llu was lost", p,
                (unsigned long long)q);
        break;
      }
    total += s->produced[p];
  }
  st_count(ctx, 0, total);
  mproc_condition_free(s->cond);
  mproc_lock_free(s->lock);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}

/* ------------------------------------------------------------------------ */
/* barrier                                                                  */
/* ------------------------------------------------------------------------ */

/* Every party waits round after round.  The action (run once per
 * generation, before anyone is released) advances `generation` and
 * decides whether this is the last round, so all parties stop together.
 * After each wait a party checks that the generation is its round + 1 and
 * marks its index in that round's mask; a repeated index fails, and each
 * completed round's mask must be full.  Chaos stops and storms parties
 * (each wait allows far longer than a stop) but does not kill them: a
 * barrier with a dead party can never fill. */
#define BARRIER_RING 64

struct barrier_state {
  mproc_barrier *barrier;
  _Atomic uint64_t generation;
  _Atomic int last;
  _Atomic uint64_t mask[BARRIER_RING];
  unsigned parties;
  const st_ctx *ctx;
  uint64_t rounds;
};

static int barrier_action(void *arg)
{
  struct barrier_state *s = arg;
  uint64_t g = atomic_fetch_add(&s->generation, 1) + 1;
  bool more = s->ctx->cfg->iterations > 0 ? g < s->ctx->cfg->iterations
                                          : st_now() < s->ctx->deadline;
  /* The mask of the round two generations back is complete now: reuse. */
  atomic_store(&s->mask[(g + 1) % BARRIER_RING], 0);
  if (!more)
    atomic_store(&s->last, 1);
  return 0;
}

static void barrier_worker(st_ctx *ctx, int index, void *arg)
{
  struct barrier_state *s = arg;
  uint64_t full = s->parties >= 64 ? ~0ULL : (1ULL << s->parties) - 1;
  (void)index;
  for (uint64_t round = 0;; round++) {
    unsigned idx = 0;
    int rc;
    st_op(ctx, "barrier wait, round %llu", (unsigned long long)round);
    rc = mproc_barrier_wait(s->barrier, st_scale(30), &idx);
    if (rc != 0) {
      st_fail(ctx, "barrier wait returned %s in round %llu",
              mproc_err_name(rc), (unsigned long long)round);
      return;
    }
    uint64_t g = atomic_load(&s->generation);
    ST_CHECK(ctx, g >= round + 1,
             "released from round %llu while the generation is %llu",
             (unsigned long long)round, (unsigned long long)g);
    ST_CHECK(ctx, idx < s->parties, "index %u of %u parties", idx,
             s->parties);
    if (atomic_fetch_or(&s->mask[(round + 1) % BARRIER_RING],
                        1ULL << idx) & (1ULL << idx))
      st_fail(ctx, "index %u given twice in round %llu", idx,
              (unsigned long long)round);
    if (round > 0 && g == round + 1) {
      /* Nobody can be past the next wait yet: the previous round's mask
       * is stable and must be full. */
      uint64_t m = atomic_load(&s->mask[round % BARRIER_RING]);
      ST_CHECK(ctx, m == full,
               "round %llu's indexes were 0x%llx, expected 0x%llx",
               (unsigned long long)round - 1, (unsigned long long)m,
               (unsigned long long)full);
    }
    st_done(ctx, false);
    if (atomic_load(&s->last) && g == round + 1)
      return;
  }
}

void st_scenario_barrier(st_ctx *ctx)
{
  struct barrier_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  mproc_process agent;
  s->parties = (unsigned)ctx->cfg->procs;
  s->ctx = ctx;
  ST_OK(ctx, mproc_barrier_new(&s->barrier, s->parties, barrier_action, s,
                               MPROC_FOREVER));
  st_count_name(ctx, 0, "generations");
  st_start(ctx, g, ctx->cfg->procs, "party", ST_STORM | ST_STOPPABLE,
           barrier_worker, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, 0);
  st_join(ctx, g, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  ST_CHECK(ctx, !mproc_barrier_broken(s->barrier), "the barrier is broken");
  ST_CHECK(ctx, mproc_barrier_n_waiting(s->barrier) == 0,
           "%u parties still counted as waiting",
           mproc_barrier_n_waiting(s->barrier));
  st_count(ctx, 0, atomic_load(&s->generation));
  mproc_barrier_free(s->barrier);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}

/* ------------------------------------------------------------------------ */
/* event                                                                    */
/* ------------------------------------------------------------------------ */

/* One setter alternates set and clear, numbering the phases: `phase` is
 * odd while the flag is (about to be) set.  A wait that returns 0 must have
 * overlapped a set phase: the phase it saw at the start was odd or it has
 * advanced since.  A wait that times out must not have ended early, signal
 * storms notwithstanding.  Waiters may be killed by chaos; the setter is
 * not. */
struct event_state {
  mproc_event *event;
  _Atomic uint64_t phase;
  _Atomic int setter_done;
};

static void event_setter(st_ctx *ctx, int index, void *arg)
{
  struct event_state *s = arg;
  (void)index;
  for (uint64_t n = 0; st_more(ctx, n); n++) {
    st_op(ctx, "event set/clear");
    atomic_fetch_add(&s->phase, 1); /* odd: set */
    ST_OK(ctx, mproc_event_set(s->event));
    ST_CHECK(ctx, mproc_event_is_set(s->event) ||
                      (atomic_load(&s->phase) & 1) == 0,
             "the event is clear right after set");
    for (int spin = (int)st_rng_below(&ctx->rng, 2000); spin > 0; spin--)
      __asm__ __volatile__("" ::: "memory");
    ST_OK(ctx, mproc_event_clear(s->event));
    atomic_fetch_add(&s->phase, 1); /* even: clear */
    if (st_rng_chance(&ctx->rng, 10))
      st_pause_ms((double)st_rng_below(&ctx->rng, 3));
    st_done(ctx, false);
  }
  atomic_store(&s->setter_done, 1);
}

static void event_waiter(st_ctx *ctx, int index, void *arg)
{
  struct event_state *s = arg;
  (void)index;
  while (!atomic_load(&s->setter_done)) {
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, false);
    uint64_t p0 = atomic_load(&s->phase), p1;
    double t0 = st_now(), took;
    int rc;
    st_op(ctx, "event wait (timeout %g)", t);
    rc = mproc_event_wait(s->event, t);
    took = st_now() - t0;
    p1 = atomic_load(&s->phase);
    if (rc == 0)
      ST_CHECK(ctx, (p0 & 1) || p1 > p0,
               "a wait returned 0 though the event stayed clear (phase %llu)",
               (unsigned long long)p0);
    else if (rc == MPROC_ETIMEDOUT)
      ST_CHECK(ctx, took >= t - 0.0005,
               "a wait of %gs timed out after %gs (early)", t, took);
    else if (rc != MPROC_EAGAIN)
      st_fail(ctx, "event wait returned %s", mproc_err_name(rc));
    st_done(ctx, rc != 0);
  }
  st_op(ctx, "event wait forever (the leader sets it at the end)");
  ST_OK(ctx, mproc_event_wait(s->event, MPROC_FOREVER));
  st_done(ctx, false);
}

void st_scenario_event(st_ctx *ctx)
{
  struct event_state *s = st_share(sizeof *s);
  st_group *setter = st_group_new();
  st_group *waiters = st_group_new();
  mproc_process agent;
  ST_OK(ctx, mproc_event_new(&s->event));
  st_start(ctx, setter, 1, "setter", ST_STORM | ST_STOPPABLE, event_setter,
           s);
  st_start(ctx, waiters, ctx->cfg->procs - 1, "waiter",
           ST_STORM | ST_STOPPABLE | ST_KILLABLE, event_waiter, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  st_join(ctx, setter, NULL);
  atomic_fetch_add(&s->phase, 1); /* the last set phase, for good */
  ST_OK(ctx, mproc_event_set(s->event));
  st_join(ctx, waiters, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  ST_CHECK(ctx, mproc_event_is_set(s->event), "the event is not set");
  mproc_event_free(s->event);
  st_group_free(waiters);
  st_group_free(setter);
  st_unshare(s, sizeof *s);
}

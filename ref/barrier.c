/* Barrier, after the documented system's algorithm (threading.Barrier):
 * a generation fills, is released ("draining") and must drain completely
 * before the next one may fill.  State changes are made under an internal
 * lock and announced by bumping `seq`, on which waiters sleep.
 *
 * Unlike threads, parties can die inside the barrier and stay counted.  So
 * reset does not wait for the members of an unreleased generation to leave
 * (a dead one never would): it abandons them at once, starting a new
 * `epoch` with an empty count, and they leave with EBROKEN without touching
 * the new count. */
#include "internal.h"

#include <limits.h>

enum barrier_state {
  FILLING = 0,
  DRAINING = 1,
  BROKEN = -2,
};

/* Resets remembered: a party that sleeps through more resets than this
 * cannot tell whether its generation was released first (see left_with). */
#define RESETS_KEPT 64

struct mproc_barrier {
  mproc__lockbody lock;
  _Atomic uint32_t seq;
  uint32_t parties;
  uint32_t count;
  _Atomic uint32_t asleep; /* parties that have left the critical section
                              to sleep: what n_waiting reports, so that a
                              party counted there no longer holds the lock */
  uint32_t gen; /* bumped at each release: a released party knows it was
                   released whatever the state is by the time it wakes */
  uint32_t epoch; /* bumped when reset abandons the members of a generation */
  uint32_t reset_gen[RESETS_KEPT]; /* gen when epoch e began, at e % KEPT */
  int32_t state;
  double timeout;
  mproc_barrier_action_fn action; /* same address in forked children */
  void *arg;
};

int mproc_barrier_new(mproc_barrier **out, unsigned parties,
                      mproc_barrier_action_fn action, void *arg,
                      double timeout) {
  if (out == NULL || parties == 0 || parties > INT32_MAX || isnan(timeout) ||
      timeout == MPROC_DEFAULT_TIMEOUT)
    return MPROC_EINVAL;
  int err = 0;
  mproc_barrier *b = mproc__shm_alloc(sizeof *b, &err);
  if (b == NULL)
    return err;
  mproc__lockbody_init(&b->lock, false);
  b->parties = parties;
  b->state = FILLING;
  b->timeout = timeout;
  b->action = action;
  b->arg = arg;
  *out = b;
  return 0;
}

static void notify_all(mproc_barrier *b);

static void lock(mproc_barrier *b) {
  mproc__deadline never = {.never = true};
  /* A party that died inside this short critical section may have left
   * the counts half-updated: nobody can trust this generation any more.
   * Its sleeping waiters learn it now, not at their own deadlines. */
  if (mproc__lockbody_acquire(&b->lock, &never) == MPROC_EOWNERDEAD) {
    b->state = BROKEN;
    notify_all(b);
  }
}

static void unlock(mproc_barrier *b) { mproc__lockbody_release(&b->lock); }

static void notify_all(mproc_barrier *b) {
  atomic_fetch_add(&b->seq, 1);
  mproc__futex_wake(&b->seq, INT_MAX);
}

/* Sleeps until the state changes or the deadline passes; lock held on
 * entry and return.  Returns 0, or the deadline's error. */
static int wait_change(mproc_barrier *b, const mproc__deadline *d) {
  uint32_t s = atomic_load(&b->seq);
  unlock(b);
  atomic_fetch_add(&b->asleep, 1);
  int rc = 0;
  if (d->poll || mproc__deadline_passed(d))
    rc = mproc__deadline_error(d);
  else if (mproc__futex_wait(&b->seq, s, d->never ? NULL : &d->at) ==
               MPROC_ETIMEDOUT &&
           atomic_load(&b->seq) == s)
    rc = mproc__deadline_error(d);
  atomic_fetch_sub(&b->asleep, 1);
  lock(b);
  return rc;
}

static void break_barrier(mproc_barrier *b) {
  b->state = BROKEN;
  notify_all(b);
}

/* Whether reset abandoned generation `gen`, joined in `epoch`: the first
 * reset after the party joined found that generation still unreleased.
 * Beyond RESETS_KEPT resets the record is gone; such a party was asleep
 * for all of them, and is treated as abandoned. */
static bool abandoned(const mproc_barrier *b, uint32_t epoch, uint32_t gen) {
  if (b->epoch == epoch)
    return false;
  if (b->epoch - epoch > RESETS_KEPT)
    return true;
  return b->reset_gen[(epoch + 1) % RESETS_KEPT] == gen;
}

int mproc_barrier_wait(mproc_barrier *b, double timeout, unsigned *index) {
  if (b == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, b->timeout);
  if (rc != 0)
    return rc;

  lock(b);
  /* Wait for a previous generation to drain. */
  while (b->state == DRAINING) {
    rc = wait_change(b, &d);
    if (rc != 0) {
      break_barrier(b); /* an expired limit breaks it, as documented */
      unlock(b);
      return rc;
    }
  }
  if (b->state == BROKEN) {
    unlock(b);
    return MPROC_EBROKEN;
  }

  uint32_t epoch = b->epoch;
  uint32_t my = b->count++;
  if (my + 1 == b->parties) {
    /* Last to arrive: run the action, then release everyone. */
    int failed = b->action != NULL && b->action(b->arg) != 0;
    if (failed) {
      break_barrier(b);
      rc = MPROC_EBROKEN;
    } else {
      b->state = DRAINING;
      b->gen++;
      notify_all(b);
    }
  } else {
    uint32_t gen = b->gen;
    while (b->state == FILLING && b->gen == gen && b->epoch == epoch) {
      int w = wait_change(b, &d);
      if (w != 0 && b->state == FILLING && b->gen == gen &&
          b->epoch == epoch) {
        break_barrier(b);
        rc = w;
        break;
      }
    }
    if (abandoned(b, epoch, gen) || (rc == 0 && b->gen == gen))
      rc = MPROC_EBROKEN; /* broken or reset before the release */
  }

  /* Leave: the last one out of a drained generation reopens the barrier.
   * An abandoned generation's count is gone already. */
  if (b->epoch == epoch) {
    b->count--;
    if (b->count == 0 && b->state == DRAINING) {
      b->state = FILLING;
      notify_all(b);
    }
  }
  unlock(b);
  if (rc == 0 && index != NULL)
    *index = my;
  return rc;
}

int mproc_barrier_abort(mproc_barrier *b) {
  if (b == NULL)
    return MPROC_EINVAL;
  lock(b);
  break_barrier(b);
  unlock(b);
  return 0;
}

int mproc_barrier_reset(mproc_barrier *b) {
  if (b == NULL)
    return MPROC_EINVAL;
  lock(b);
  /* The parties inside (waiting, broken and not yet gone, released and
   * not yet gone, or dead) are abandoned: the barrier is empty at once.
   * Those of an unreleased generation leave with EBROKEN; released ones
   * still return their index (abandoned() tells them apart). */
  if (b->count > 0) {
    b->epoch++;
    b->reset_gen[b->epoch % RESETS_KEPT] = b->gen;
    b->count = 0;
  }
  b->state = FILLING;
  notify_all(b);
  unlock(b);
  return 0;
}

unsigned mproc_barrier_parties(mproc_barrier *b) {
  return b == NULL ? 0 : b->parties;
}

/* Snapshots read without the lock, so that they never wait for an
 * action; each field is a naturally aligned word. */
unsigned mproc_barrier_n_waiting(mproc_barrier *b) {
  if (b == NULL)
    return 0;
  /* Parties of the filling generation that are blocked (outside the
   * critical section): a party still inside it is not waiting yet. */
  int32_t state = __atomic_load_n(&b->state, __ATOMIC_SEQ_CST);
  uint32_t count = __atomic_load_n(&b->count, __ATOMIC_SEQ_CST);
  uint32_t asleep = atomic_load(&b->asleep);
  return state == FILLING ? (asleep < count ? asleep : count) : 0;
}

bool mproc_barrier_broken(mproc_barrier *b) {
  return b != NULL && __atomic_load_n(&b->state, __ATOMIC_SEQ_CST) == BROKEN;
}

void mproc_barrier_free(mproc_barrier *b) { mproc__shm_free(b); }

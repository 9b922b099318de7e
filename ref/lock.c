/* Lock and RLock.
 *
 * The lock word holds the owner's id (a pid for a Lock, a tid for an RLock)
 * plus a "waiters" bit, so ownership is taken with one compare-and-swap and
 * is never unknown, even if the owner is killed the instant after.  Waiters
 * sleep on the word with a futex and wake periodically to check that the
 * owner still exists: a dead owner's lock is taken over and the taker is
 * told so (MPROC_EOWNERDEAD), where the documented system deadlocks. */
#include "internal.h"

#include <errno.h>

#define SPIN_TRIES 100
#define CHECK_MIN_MS 5
#define CHECK_MAX_MS 100

static uint32_t self_id(const mproc__lockbody *b) {
  return b->recursive ? mproc__tid() : mproc__pid();
}

void mproc__lockbody_init(mproc__lockbody *b, bool recursive) {
  atomic_store(&b->word, 0);
  b->count = 0;
  b->recursive = recursive;
}

/* The word now holds our id: what the last owner did before its release
 * happened before what we do now. */
static void taken(mproc__lockbody *b) {
  MPROC__HAPPENS_AFTER(&b->word);
  b->count = 1;
}

/* Takes over the lock from a dead owner if `w` is still its word. */
static bool take_from_dead(mproc__lockbody *b, uint32_t w, uint32_t me) {
  uint32_t owner = w & MPROC__LOCK_IDMASK;
  if (owner == 0 || mproc__task_alive(owner))
    return false;
  if (!atomic_compare_exchange_strong(&b->word, &w,
                                      me | (w & MPROC__LOCK_WAITERS)))
    return false;
  taken(b);
  return true;
}

int mproc__lockbody_acquire(mproc__lockbody *b, const mproc__deadline *d) {
  uint32_t me = self_id(b);
  uint32_t w = atomic_load(&b->word);

  if (b->recursive && (w & MPROC__LOCK_IDMASK) == me) {
    if (b->count == UINT32_MAX)
      return MPROC_ERANGE;
    b->count++;
    return 0;
  }
  for (int i = 0; i < SPIN_TRIES; i++) {
    w = 0;
    if (atomic_compare_exchange_weak(&b->word, &w, me)) {
      taken(b);
      return 0;
    }
    if (d->poll)
      break;
  }

  long check_ms = CHECK_MIN_MS;
  for (;;) {
    w = atomic_load(&b->word);
    if (w == 0) {
      /* Having waited, assume others wait too: keep the bit so the
       * release wakes them. */
      if (atomic_compare_exchange_strong(&b->word, &w,
                                         me | MPROC__LOCK_WAITERS)) {
        taken(b);
        return 0;
      }
      continue;
    }
    if (d->poll) {
      if (take_from_dead(b, w, me))
        return MPROC_EOWNERDEAD;
      return MPROC_EAGAIN;
    }
    if (!(w & MPROC__LOCK_WAITERS)) {
      if (!atomic_compare_exchange_strong(&b->word, &w,
                                          w | MPROC__LOCK_WAITERS))
        continue;
      w |= MPROC__LOCK_WAITERS;
    }
    struct timespec wake;
    bool last = mproc__deadline_slice(d, check_ms, &wake);
    if (mproc__futex_wait(&b->word, w, &wake) == MPROC_ETIMEDOUT) {
      uint32_t now = atomic_load(&b->word);
      if (now != 0 && take_from_dead(b, now, me))
        return MPROC_EOWNERDEAD;
      if (last && atomic_load(&b->word) != 0)
        return MPROC_ETIMEDOUT;
      check_ms = check_ms * 2 > CHECK_MAX_MS ? CHECK_MAX_MS : check_ms * 2;
    }
  }
}

int mproc__lockbody_release(mproc__lockbody *b) {
  uint32_t w = atomic_load(&b->word);
  if (w == 0)
    return MPROC_ESTATE;
  if (b->recursive) {
    if ((w & MPROC__LOCK_IDMASK) != mproc__tid())
      return MPROC_EPERM;
    if (--b->count > 0)
      return 0;
  }
  /* A Lock may be released by any process, as in the documented system. */
  MPROC__HAPPENS_BEFORE(&b->word);
  while (!atomic_compare_exchange_weak(&b->word, &w, 0)) {
    if (w == 0)
      return MPROC_ESTATE;
  }
  if (w & MPROC__LOCK_WAITERS)
    mproc__futex_wake(&b->word, 1);
  return 0;
}

bool mproc__lockbody_is_mine(mproc__lockbody *b) {
  return (atomic_load(&b->word) & MPROC__LOCK_IDMASK) == self_id(b);
}

uint32_t mproc__lockbody_release_all(mproc__lockbody *b) {
  uint32_t depth = b->recursive ? b->count : 1;
  b->count = 1;
  mproc__lockbody_release(b);
  return depth;
}

int mproc__lockbody_restore(mproc__lockbody *b, uint32_t depth) {
  mproc__deadline never = {.never = true};
  int rc = mproc__lockbody_acquire(b, &never);
  if (b->recursive)
    b->count = depth;
  return rc;
}

static int lock_new(mproc_lock **out, bool recursive) {
  if (out == NULL)
    return MPROC_EINVAL;
  int err = 0;
  mproc_lock *l = mproc__shm_alloc(sizeof *l, &err);
  if (l == NULL)
    return err;
  mproc__lockbody_init(&l->body, recursive);
  *out = l;
  return 0;
}

int mproc_lock_new(mproc_lock **out) { return lock_new(out, false); }

int mproc_rlock_new(mproc_lock **out) { return lock_new(out, true); }

int mproc_lock_acquire(mproc_lock *l, double timeout) {
  if (l == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  return mproc__lockbody_acquire(&l->body, &d);
}

int mproc_lock_release(mproc_lock *l) {
  if (l == NULL)
    return MPROC_EINVAL;
  return mproc__lockbody_release(&l->body);
}

bool mproc_lock_is_recursive(const mproc_lock *l) {
  return l != NULL && l->body.recursive;
}

void mproc_lock_free(mproc_lock *l) { mproc__shm_free(l); }

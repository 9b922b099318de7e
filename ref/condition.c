/* Condition variable over a Lock or RLock, in shared memory.
 *
 * Protocol.  `nsleepers` counts waiters not yet chosen by a notify; it is
 * changed only with the user's lock held.  `tokens` counts wake-ups handed
 * out by notify and not yet taken; waiters sleep on it and take one with a
 * compare-and-swap.  Invariant (under the lock): nsleepers + tokens equals
 * the number of waiters still inside wait().  Tokens are interchangeable,
 * so a waiter that times out leaves by taking back a sleeper slot if one is
 * left, and otherwise takes the token that was meant for it (it was
 * notified after all).  Waiters that die inside wait() only leave surplus
 * tokens behind, which show up as spurious wake-ups, never as a hang. */
#include "internal.h"

struct mproc_condition {
  mproc_lock *lock;      /* the user's lock, or &own */
  uint32_t owns_lock;
  uint32_t nsleepers;    /* guarded by *lock */
  _Atomic uint32_t tokens;
  uint32_t pad;
  mproc_lock own;
};

int mproc_condition_new(mproc_condition **out, mproc_lock *lock) {
  if (out == NULL)
    return MPROC_EINVAL;
  int err = 0;
  mproc_condition *c = mproc__shm_alloc(sizeof *c, &err);
  if (c == NULL)
    return err;
  if (lock == NULL) {
    mproc__lockbody_init(&c->own.body, true);
    c->lock = &c->own;
    c->owns_lock = 1;
  } else {
    c->lock = lock;
  }
  *out = c;
  return 0;
}

mproc_lock *mproc_condition_lock(mproc_condition *c) {
  return c == NULL ? NULL : c->lock;
}

int mproc_condition_acquire(mproc_condition *c, double timeout) {
  if (c == NULL)
    return MPROC_EINVAL;
  return mproc_lock_acquire(c->lock, timeout);
}

int mproc_condition_release(mproc_condition *c) {
  if (c == NULL)
    return MPROC_EINVAL;
  return mproc_lock_release(c->lock);
}

static bool take_token(mproc_condition *c) {
  uint32_t t = atomic_load(&c->tokens);
  while (t > 0) {
    if (atomic_compare_exchange_weak(&c->tokens, &t, t - 1))
      return true;
  }
  return false;
}

/* Waits with the lock held on entry and on return. */
static int wait_until(mproc_condition *c, const mproc__deadline *d) {
  mproc__lockbody *lb = &c->lock->body;
  if (!mproc__lockbody_is_mine(lb))
    return MPROC_EPERM;
  c->nsleepers++;
  uint32_t depth = mproc__lockbody_release_all(lb);

  bool woken = false;
  for (;;) {
    if (take_token(c)) {
      woken = true;
      break;
    }
    if (d->poll || mproc__deadline_passed(d))
      break;
    mproc__futex_wait(&c->tokens, 0, d->never ? NULL : &d->at);
  }

  int rc = mproc__lockbody_restore(lb, depth);
  if (!woken) {
    if (c->nsleepers > 0)
      c->nsleepers--;
    else
      woken = take_token(c);
  }
  if (rc == MPROC_EOWNERDEAD)
    return rc;
  return woken ? 0 : mproc__deadline_error(d);
}

int mproc_condition_wait(mproc_condition *c, double timeout) {
  if (c == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  return wait_until(c, &d);
}

int mproc_condition_wait_for(mproc_condition *c, bool (*pred)(void *arg),
                             void *arg, double timeout) {
  if (c == NULL || pred == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  if (!mproc__lockbody_is_mine(&c->lock->body))
    return MPROC_EPERM;
  while (!pred(arg)) {
    rc = wait_until(c, &d);
    if (rc == MPROC_EOWNERDEAD)
      return rc;
    if (rc != 0)
      return pred(arg) ? 0 : rc;
  }
  return 0;
}

int mproc_condition_notify(mproc_condition *c, unsigned n) {
  if (c == NULL)
    return MPROC_EINVAL;
  if (!mproc__lockbody_is_mine(&c->lock->body))
    return MPROC_EPERM;
  uint32_t k = n < c->nsleepers ? n : c->nsleepers;
  if (k == 0)
    return 0;
  c->nsleepers -= k;
  atomic_fetch_add(&c->tokens, k);
  mproc__futex_wake(&c->tokens, (int)(k > INT32_MAX ? INT32_MAX : k));
  return 0;
}

int mproc_condition_notify_all(mproc_condition *c) {
  return mproc_condition_notify(c, UINT32_MAX);
}

void mproc_condition_free(mproc_condition *c) { mproc__shm_free(c); }

/* Semaphore and BoundedSemaphore: a counter in shared memory; waiters
 * sleep on the counter word itself while it is zero.  A semaphore has no
 * owner, so there is nothing to recover when a holder dies. */
#include "internal.h"

struct mproc_semaphore {
  _Atomic uint32_t value;
  _Atomic uint32_t waiters;
  uint32_t bounded;
  uint32_t initial;
};

static int sem_new(mproc_semaphore **out, unsigned value, bool bounded) {
  if (out == NULL || value > (unsigned)MPROC_SEM_VALUE_MAX)
    return MPROC_EINVAL;
  int err = 0;
  mproc_semaphore *s = mproc__shm_alloc(sizeof *s, &err);
  if (s == NULL)
    return err;
  atomic_store(&s->value, value);
  s->bounded = bounded;
  s->initial = value;
  *out = s;
  return 0;
}

int mproc_semaphore_new(mproc_semaphore **out, unsigned value) {
  return sem_new(out, value, false);
}

int mproc_bounded_semaphore_new(mproc_semaphore **out, unsigned value) {
  return sem_new(out, value, true);
}

int mproc_semaphore_acquire(mproc_semaphore *s, double timeout) {
  if (s == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  for (;;) {
    uint32_t v = atomic_load(&s->value);
    while (v > 0) {
      if (atomic_compare_exchange_weak(&s->value, &v, v - 1))
        return 0;
    }
    if (mproc__deadline_passed(&d) || d.poll)
      return mproc__deadline_error(&d);
    /* Announce before sleeping; a release in between changes the value and
     * the futex then returns at once. */
    atomic_fetch_add(&s->waiters, 1);
    mproc__futex_wait(&s->value, 0, d.never ? NULL : &d.at);
    atomic_fetch_sub(&s->waiters, 1);
  }
}

int mproc_semaphore_release(mproc_semaphore *s) {
  if (s == NULL)
    return MPROC_EINVAL;
  uint32_t v = atomic_load(&s->value);
  do {
    if (s->bounded && v >= s->initial)
      return MPROC_ESTATE;
    if (v >= (uint32_t)MPROC_SEM_VALUE_MAX)
      return MPROC_ERANGE;
  } while (!atomic_compare_exchange_weak(&s->value, &v, v + 1));
  if (atomic_load(&s->waiters) > 0)
    mproc__futex_wake(&s->value, 1);
  return 0;
}

int mproc_semaphore_get_value(mproc_semaphore *s, int *value) {
  if (s == NULL || value == NULL)
    return MPROC_EINVAL;
  *value = (int)atomic_load(&s->value);
  return 0;
}

void mproc_semaphore_free(mproc_semaphore *s) { mproc__shm_free(s); }

/* Event: a flag word in shared memory; waiters sleep on it while it is 0
 * and set() wakes them all. */
#include "internal.h"

#include <limits.h>

struct mproc_event {
  _Atomic uint32_t flag;
};

int mproc_event_new(mproc_event **out) {
  if (out == NULL)
    return MPROC_EINVAL;
  int err = 0;
  mproc_event *e = mproc__shm_alloc(sizeof *e, &err);
  if (e == NULL)
    return err;
  *out = e;
  return 0;
}

int mproc_event_set(mproc_event *e) {
  if (e == NULL)
    return MPROC_EINVAL;
  if (atomic_exchange(&e->flag, 1) == 0)
    mproc__futex_wake(&e->flag, INT_MAX);
  return 0;
}

int mproc_event_clear(mproc_event *e) {
  if (e == NULL)
    return MPROC_EINVAL;
  atomic_store(&e->flag, 0);
  return 0;
}

bool mproc_event_is_set(mproc_event *e) {
  return e != NULL && atomic_load(&e->flag) != 0;
}

int mproc_event_wait(mproc_event *e, double timeout) {
  if (e == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  while (atomic_load(&e->flag) == 0) {
    if (d.poll || mproc__deadline_passed(&d))
      return mproc__deadline_error(&d);
    mproc__futex_wait(&e->flag, 0, d.never ? NULL : &d.at);
  }
  return 0;
}

void mproc_event_free(mproc_event *e) { mproc__shm_free(e); }

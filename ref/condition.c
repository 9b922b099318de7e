/* Condition variable over a Lock or RLock, in shared memory.
 *
 * Protocol.  Each waiter takes a slot of its own (a futex word and its
 * owner's thread id) and queues it FIFO, with the user's lock held;
 * notify(n) takes the n oldest slots off the queue and sets their words.
 * A notification therefore goes to waiters that were waiting when notify
 * was called and to nobody else: a waiter arriving later cannot take it
 * (a shared pool of wake-up tokens would let it, and the waiter the
 * notification was meant for would sleep on).  A waiter that times out
 * takes its slot off the queue, unless it was signalled meanwhile, in
 * which case it was notified.  notify skips the slots of waiters that have
 * died, so they never swallow a notification.  All queue changes happen
 * under the user's lock. */
#include "internal.h"

#include <limits.h>

#define MAX_WAITERS 1024
#define NIL (-1)

typedef struct slot {
  _Atomic uint32_t word; /* 0 waiting, 1 notified */
  uint32_t owner;        /* tid of the waiter */
  int32_t prev, next;    /* queue links, or the free list (next) */
  uint32_t queued;
  uint32_t pad;
} slot;

struct mproc_condition {
  mproc_lock *lock; /* the user's lock, or &own */
  uint32_t owns_lock;
  int32_t head, tail, free_head; /* guarded by *lock */
  mproc_lock own;
  slot slots[MAX_WAITERS];
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
  c->head = c->tail = NIL;
  for (int i = 0; i < MAX_WAITERS; i++)
    c->slots[i].next = i + 1 < MAX_WAITERS ? i + 1 : NIL;
  c->free_head = 0;
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

/* ---- the slot queue (user lock held) ---- */

static void unlink_slot(mproc_condition *c, int32_t i) {
  slot *s = &c->slots[i];
  if (s->prev != NIL)
    c->slots[s->prev].next = s->next;
  else
    c->head = s->next;
  if (s->next != NIL)
    c->slots[s->next].prev = s->prev;
  else
    c->tail = s->prev;
  s->queued = 0;
}

static void free_slot(mproc_condition *c, int32_t i) {
  c->slots[i].next = c->free_head;
  c->free_head = i;
}

/* Takes a free slot; when none is left, reclaims those whose waiter died
 * after being notified (nobody else will ever give them back). */
static int32_t alloc_slot(mproc_condition *c) {
  if (c->free_head == NIL) {
    for (int32_t i = 0; i < MAX_WAITERS; i++) {
      slot *s = &c->slots[i];
      if (!s->queued && s->owner != 0 && !mproc__task_alive(s->owner)) {
        s->owner = 0;
        free_slot(c, i);
      }
    }
    if (c->free_head == NIL)
      return NIL;
  }
  int32_t i = c->free_head;
  c->free_head = c->slots[i].next;
  slot *s = &c->slots[i];
  atomic_store(&s->word, 0);
  s->owner = mproc__tid();
  s->queued = 1;
  s->next = NIL;
  s->prev = c->tail;
  if (c->tail != NIL)
    c->slots[c->tail].next = i;
  else
    c->head = i;
  c->tail = i;
  return i;
}

/* Waits with the lock held on entry and on return. */
static int wait_until(mproc_condition *c, const mproc__deadline *d) {
  mproc__lockbody *lb = &c->lock->body;
  if (!mproc__lockbody_is_mine(lb))
    return MPROC_EPERM;
  int32_t i = alloc_slot(c);
  if (i == NIL)
    return MPROC_ERESOURCE;
  slot *s = &c->slots[i];
  uint32_t depth = mproc__lockbody_release_all(lb);

  while (atomic_load(&s->word) == 0) {
    if (d->poll || mproc__deadline_passed(d))
      break;
    mproc__futex_wait(&s->word, 0, d->never ? NULL : &d->at);
  }

  int rc = mproc__lockbody_restore(lb, depth);
  /* Notified also if the signal came between the timeout and the relock. */
  bool woken = atomic_load(&s->word) != 0;
  if (!woken)
    unlink_slot(c, i);
  s->owner = 0;
  free_slot(c, i);
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
    if (rc == MPROC_EOWNERDEAD || rc == MPROC_ERESOURCE)
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
  while (n > 0 && c->head != NIL) {
    int32_t i = c->head;
    slot *s = &c->slots[i];
    unlink_slot(c, i);
    if (!mproc__task_alive(s->owner)) {
      /* Died while waiting: its notification goes to the next waiter. */
      s->owner = 0;
      free_slot(c, i);
      continue;
    }
    atomic_store(&s->word, 1);
    mproc__futex_wake(&s->word, 1);
    n--;
  }
  return 0;
}

int mproc_condition_notify_all(mproc_condition *c) {
  return mproc_condition_notify(c, UINT_MAX);
}

void mproc_condition_free(mproc_condition *c) { mproc__shm_free(c); }

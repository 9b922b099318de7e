/* Queue, SimpleQueue and JoinableQueue.
 *
 * Items live in a ring of shared memory reserved at creation (MAP_NORESERVE:
 * pages cost memory only once written, and those past the first TRIM_BYTES
 * are handed back when the queue drains) and mapped at the same address in
 * every child.  A record is an 8-byte length and the item's MessagePack
 * bytes.  All changes happen under the queue's lock.
 *
 * Crash safety.  The queue's counters exist twice (st[0], st[1]); a change
 * is written to the copy not in use and published by one atomic store of
 * `cur`.  A producer or consumer killed in the middle of an operation has
 * therefore either done all of it or none of it: a consumer never sees a
 * torn item, and the next process to take the lock (told EOWNERDEAD by the
 * lock) finds consistent counters.  Waiters re-check the state at least
 * every WAIT_SLICE_MS, so a wake-up lost with a killed process only delays
 * them. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_CAPACITY ((size_t)1 << 30)
#define TRIM_BYTES ((uint64_t)4 << 20)
#define WAIT_SLICE_MS 100
#define REC_HDR 8

enum queue_kind { Q_PLAIN, Q_JOINABLE, Q_SIMPLE };

typedef struct qstate {
  uint64_t head, tail; /* byte offsets, position = offset % capacity */
  uint64_t count;      /* items */
  uint64_t unfinished; /* JoinableQueue: puts without task_done */
} qstate;

typedef struct qshared {
  mproc__lockbody lock;
  _Atomic uint32_t cur;
  _Atomic uint32_t put_seq;  /* bumped by every put: not-empty waiters */
  _Atomic uint32_t get_seq;  /* bumped by every get: not-full waiters */
  _Atomic uint32_t done_seq; /* bumped when unfinished reaches 0 */
  _Atomic uint32_t waiters;  /* processes in wait_seq: bump wakes only if
                                any (one killed there only costs wakes) */
  qstate st[2];
  uint64_t capacity, maxsize, max_message;
  uint64_t touched; /* bytes of the ring written since the last trim */
  uint32_t kind;
  unsigned char *ring;
} qshared;

struct mproc_queue {
  qshared *sh;
  bool closed; /* per process: the handle is copied at fork */
};

static int queue_new(mproc_queue **out, const mproc_queue_options *o,
                     enum queue_kind kind) {
  if (out == NULL)
    return MPROC_EINVAL;
  size_t cap = o != NULL && o->capacity ? o->capacity : DEFAULT_CAPACITY;
  size_t maxmsg = o != NULL && o->max_message ? o->max_message
                                              : MPROC_MAX_MESSAGE_DEFAULT;
  if (cap < 64 || cap > ((size_t)1 << 46))
    return MPROC_EINVAL;
  mproc_queue *q = calloc(1, sizeof *q);
  if (q == NULL)
    return MPROC_ENOMEM;
  int err = 0;
  qshared *sh = mproc__shm_alloc(sizeof *sh, &err);
  if (sh == NULL) {
    free(q);
    return err;
  }
  void *ring = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ring == MAP_FAILED) {
    mproc__shm_free(sh);
    free(q);
    return errno == ENOMEM ? MPROC_ENOMEM : MPROC_ERESOURCE; /* LCOV_EXCL_BR_LINE: as in shm.c, only ENOMEM can be provoked */
  }
  mproc__lockbody_init(&sh->lock, false);
  sh->capacity = cap;
  sh->maxsize = o != NULL ? o->maxsize : 0;
  sh->max_message = maxmsg;
  sh->kind = kind;
  sh->ring = ring;
  q->sh = sh;
  *out = q;
  return 0;
}

int mproc_queue_new(mproc_queue **out, const mproc_queue_options *o) {
  return queue_new(out, o, Q_PLAIN);
}

int mproc_joinable_queue_new(mproc_queue **out,
                             const mproc_queue_options *o) {
  return queue_new(out, o, Q_JOINABLE);
}

int mproc_simple_queue_new(mproc_queue **out) {
  return queue_new(out, NULL, Q_SIMPLE);
}

/* ---- state and ring helpers (lock held) ---- */

static qstate current(qshared *sh) { return sh->st[atomic_load(&sh->cur)]; }

static void commit(qshared *sh, const qstate *ns) {
  uint32_t next = atomic_load(&sh->cur) ^ 1u;
  sh->st[next] = *ns;
  atomic_store(&sh->cur, next);
}

static void ring_copy(qshared *sh, uint64_t off, void *buf, size_t n,
                      bool write) {
  size_t pos = (size_t)(off % sh->capacity);
  size_t first = sh->capacity - pos < n ? sh->capacity - pos : n;
  unsigned char *b = buf;
  if (write) {
    memcpy(sh->ring + pos, b, first);
    memcpy(sh->ring, b + first, n - first);
    uint64_t hi = pos + n > sh->capacity ? sh->capacity : pos + n;
    if (hi > sh->touched)
      sh->touched = hi;
  } else {
    memcpy(b, sh->ring + pos, first);
    memcpy(b + first, sh->ring, n - first);
  }
}

static int lock_q(qshared *sh, const mproc__deadline *d) {
  int rc = mproc__lockbody_acquire(&sh->lock, d);
  /* A dead holder left the counters consistent (see above); its waiters
   * may have missed a wake-up: wake everybody to re-check. */
  if (rc == MPROC_EOWNERDEAD) {
    atomic_fetch_add(&sh->put_seq, 1);
    atomic_fetch_add(&sh->get_seq, 1);
    mproc__futex_wake(&sh->put_seq, INT_MAX);
    mproc__futex_wake(&sh->get_seq, INT_MAX);
    rc = 0;
  }
  return rc;
}

static void unlock_q(qshared *sh) { mproc__lockbody_release(&sh->lock); }

/* Lock held.  A waiter counts itself in under the lock before it reads
 * the sequence, so either it is counted here or it will see the new
 * sequence and not sleep. */
static void bump(qshared *sh, _Atomic uint32_t *seq) {
  atomic_fetch_add(seq, 1);
  if (atomic_load(&sh->waiters) != 0)
    mproc__futex_wake(seq, INT_MAX);
}

/* Waits (lock released meanwhile) until *seq moves, a slice passes, or the
 * deadline.  Returns 0 to re-check, or the deadline's error. */
static int wait_seq(qshared *sh, _Atomic uint32_t *seq,
                    const mproc__deadline *d) {
  if (d->poll || mproc__deadline_passed(d))
    return mproc__deadline_error(d);
  atomic_fetch_add(&sh->waiters, 1);
  uint32_t s = atomic_load(seq);
  unlock_q(sh);
  struct timespec wake;
  mproc__deadline_slice(d, WAIT_SLICE_MS, &wake);
  mproc__futex_wait(seq, s, &wake);
  atomic_fetch_sub(&sh->waiters, 1);
  /* Holders keep the lock only to copy one item (and a dead holder is
   * taken over), so re-taking it without a limit is bounded, and callers
   * always hold the lock again when this returns. */
  mproc__deadline never = {.never = true};
  return lock_q(sh, &never);
}

static int check(mproc_queue *q) {
  if (q == NULL)
    return MPROC_EINVAL;
  return q->closed ? MPROC_ECLOSED : 0;
}

/* ---- operations ---- */

int mproc_queue_put(mproc_queue *q, const mproc_obj *obj, double timeout) {
  int rc = check(q);
  if (rc != 0)
    return rc;
  if (obj == NULL)
    return MPROC_EINVAL;
  qshared *sh = q->sh;
  mproc__deadline d;
  if ((rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER)) != 0)
    return rc;
  void *buf;
  size_t len;
  if ((rc = mproc_obj_encode(obj, &buf, &len)) != 0)
    return rc;
  uint64_t rec = REC_HDR + (uint64_t)len;
  if (len > sh->max_message || rec > sh->capacity) {
    free(buf);
    return MPROC_EMSGSIZE;
  }
  /* The lock is held only to copy one item (a dead holder is taken
   * over), so even a call that may not wait takes it without a limit:
   * EFULL and EEMPTY mean full and empty, not busy. */
  mproc__deadline never = {.never = true};
  lock_q(sh, &never);
  for (;;) {
    qstate s = current(sh);
    bool full = (sh->maxsize && s.count >= sh->maxsize) ||
                sh->capacity - (s.tail - s.head) < rec;
    if (!full)
      break;
    if (wait_seq(sh, &sh->get_seq, &d) != 0) {
      unlock_q(sh);
      free(buf);
      return MPROC_EFULL;
    }
  }
  qstate ns = current(sh);
  uint64_t n = len;
  ring_copy(sh, ns.tail, &n, REC_HDR, true);
  ring_copy(sh, ns.tail + REC_HDR, buf, len, true);
  ns.tail += rec;
  ns.count++;
  if (sh->kind == Q_JOINABLE)
    ns.unfinished++;
  commit(sh, &ns);
  bump(sh, &sh->put_seq);
  unlock_q(sh);
  free(buf);
  return 0;
}

int mproc_queue_get(mproc_queue *q, mproc_obj **out, double timeout) {
  int rc = check(q);
  if (rc != 0)
    return rc;
  if (out == NULL)
    return MPROC_EINVAL;
  qshared *sh = q->sh;
  mproc__deadline d;
  if ((rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER)) != 0)
    return rc;
  mproc__deadline never = {.never = true};
  lock_q(sh, &never);
  while (current(sh).count == 0) {
    if (wait_seq(sh, &sh->put_seq, &d) != 0) {
      unlock_q(sh);
      return MPROC_EEMPTY;
    }
  }
  qstate ns = current(sh);
  uint64_t n;
  ring_copy(sh, ns.head, &n, REC_HDR, false);
  void *buf = malloc(n ? (size_t)n : 1);
  if (buf == NULL) {
    unlock_q(sh);
    return MPROC_ENOMEM; /* the item stays for the next get */
  }
  ring_copy(sh, ns.head + REC_HDR, buf, (size_t)n, false);
  ns.head += REC_HDR + n;
  ns.count--;
  if (ns.count == 0)
    ns.head = ns.tail = 0; /* drained: start again at the front */
  commit(sh, &ns);
  if (ns.count == 0 && sh->touched > TRIM_BYTES) {
    /* Only after the commit: the pages hold nothing that counts now.  The
     * first TRIM_BYTES stay: the next items are written there (head and
     * tail are back at 0), and pages given back would fault in again. */
    madvise(sh->ring + TRIM_BYTES, (size_t)(sh->touched - TRIM_BYTES),
            MADV_REMOVE);
    sh->touched = TRIM_BYTES;
  }
  bump(sh, &sh->get_seq);
  unlock_q(sh);
  rc = mproc_obj_decode(buf, (size_t)n, out);
  free(buf);
  return rc;
}

int mproc_queue_qsize(mproc_queue *q, size_t *n) {
  if (q == NULL || n == NULL)
    return MPROC_EINVAL;
  qshared *sh = q->sh;
  *n = (size_t)__atomic_load_n(&sh->st[atomic_load(&sh->cur)].count,
                               __ATOMIC_SEQ_CST);
  return 0;
}

bool mproc_queue_empty(mproc_queue *q) {
  size_t n = 0;
  return mproc_queue_qsize(q, &n) != 0 || n == 0;
}

bool mproc_queue_full(mproc_queue *q) {
  size_t n = 0;
  if (mproc_queue_qsize(q, &n) != 0)
    return false;
  return q->sh->maxsize != 0 && n >= q->sh->maxsize;
}

int mproc_queue_task_done(mproc_queue *q) {
  if (q == NULL)
    return MPROC_EINVAL;
  qshared *sh = q->sh;
  if (sh->kind != Q_JOINABLE)
    return MPROC_ENOTSUP;
  mproc__deadline never = {.never = true};
  lock_q(sh, &never);
  qstate ns = current(sh);
  if (ns.unfinished == 0) {
    unlock_q(sh);
    return MPROC_ESTATE;
  }
  ns.unfinished--;
  commit(sh, &ns);
  if (ns.unfinished == 0)
    bump(sh, &sh->done_seq);
  unlock_q(sh);
  return 0;
}

int mproc_queue_join(mproc_queue *q, double timeout) {
  if (q == NULL)
    return MPROC_EINVAL;
  qshared *sh = q->sh;
  if (sh->kind != Q_JOINABLE)
    return MPROC_ENOTSUP;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  if ((rc = lock_q(sh, &d)) != 0)
    return rc;
  while (current(sh).unfinished > 0) {
    if ((rc = wait_seq(sh, &sh->done_seq, &d)) != 0) {
      unlock_q(sh);
      return rc;
    }
  }
  unlock_q(sh);
  return 0;
}

int mproc_queue_close(mproc_queue *q) {
  int rc = check(q);
  if (rc != 0)
    return rc;
  q->closed = true;
  return 0;
}

void mproc_queue_free(mproc_queue *q) {
  if (q == NULL)
    return;
  munmap(q->sh->ring, (size_t)q->sh->capacity);
  mproc__shm_free(q->sh);
  free(q);
}

/* Internal interfaces shared by the files of libmproc.  Nothing here is
 * part of the contract; every symbol is hidden (-fvisibility=hidden) and
 * carries the second-tier prefix mproc__. */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include "config.h"

#include "mproc.h"

#include <stdatomic.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

/* ---- notes for Valgrind's thread tools ---- */

/* Helgrind and DRD see pthread synchronisation only, not the atomics and
 * futexes the primitives are made of: these mark the happens-before edges
 * those make (a release before the acquire that sees it), keyed on the
 * synchronising word.  MPROC__FORKED_OWN(var) says that in a forked child
 * the forking thread, the only one left, owns `var`: what the parent's
 * other threads did with it is past.  Outside Valgrind the client
 * requests cost a few instructions; without Valgrind's headers, nothing. */
#ifdef HAVE_VALGRIND_HELGRIND_H
#include <valgrind/helgrind.h>
#define MPROC__HAPPENS_BEFORE(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define MPROC__HAPPENS_AFTER(addr) ANNOTATE_HAPPENS_AFTER(addr)
#define MPROC__FORKED_OWN(var) VALGRIND_HG_CLEAN_MEMORY(&(var), sizeof(var))
#else
#define MPROC__HAPPENS_BEFORE(addr) ((void)(addr))
#define MPROC__HAPPENS_AFTER(addr) ((void)(addr))
#define MPROC__FORKED_OWN(var) ((void)&(var))
#endif

/* ---- deadlines (clock.c) ---- */

/* A point on CLOCK_MONOTONIC, or "never" for no limit. */
typedef struct mproc__deadline {
  struct timespec at;
  bool never;
  bool poll; /* the caller asked not to block (timeout <= 0) */
} mproc__deadline;

/* Converts a relative timeout, following the header's rules, into a
 * deadline fixed at the call's entry.  `dflt` replaces
 * MPROC_DEFAULT_TIMEOUT.  Returns 0 or MPROC_EINVAL (NaN). */
int mproc__deadline_init(mproc__deadline *d, double timeout, double dflt);

/* True once the deadline has passed (never for "never"). */
bool mproc__deadline_passed(const mproc__deadline *d);

/* The error for an expired deadline: EAGAIN for a poll, else ETIMEDOUT. */
int mproc__deadline_error(const mproc__deadline *d);

/* Milliseconds left, rounded up, capped at `cap_ms` (-1: no cap; returns
 * -1 for "never" without cap). */
int mproc__deadline_ms(const mproc__deadline *d, int cap_ms);

/* now + ms on CLOCK_MONOTONIC, clamped to the deadline: the next moment a
 * waiter should wake to re-check something (owner liveness).  Returns
 * true when the result is the deadline itself. */
bool mproc__deadline_slice(const mproc__deadline *d, long ms,
                           struct timespec *out);

void mproc__monotonic(struct timespec *ts);

/* ---- futexes (futex.c) ---- */

/* Sleeps while *addr == val, until woken or CLOCK_MONOTONIC reaches `abs`
 * (NULL: no limit).  Process-shared.  Returns 0 when woken or when the
 * value had already changed, MPROC_ETIMEDOUT at the deadline.  EINTR is
 * reported as 0 (a spurious wake-up): callers re-check their condition. */
int mproc__futex_wait(_Atomic uint32_t *addr, uint32_t val,
                      const struct timespec *abs);
void mproc__futex_wake(_Atomic uint32_t *addr, int n);

/* ---- owners (owner.c) ---- */

/* The calling thread's id (cached per thread, refreshed after fork). */
uint32_t mproc__tid(void);
/* The calling process's pid (cached, refreshed after fork). */
uint32_t mproc__pid(void);
/* Refreshes the pid cache in a forked child. */
void mproc__owner_after_fork(void);
/* A tracked pidfd for child `pid`, or -1 where pidfd_open(2) is missing
 * (kernels before 5.3, Valgrind) or fails. */
int mproc__pidfd_open(pid_t pid);
/* True unless task `id` (a pid or a tid) has certainly ended: no such task,
 * or a zombie.  Used to detect a lock holder that died. */
bool mproc__task_alive(uint32_t id);

/* ---- shared memory (shm.c) ---- */

/* Zeroed memory shared with children forked later (MAP_SHARED anonymous);
 * NULL on failure with *err set to ENOMEM or ERESOURCE. */
void *mproc__shm_alloc(size_t size, int *err);
void mproc__shm_free(void *p);

/* ---- locks used inside other primitives (lock.c) ---- */

/* The shared-memory body of a Lock/RLock, embeddable in other objects. */
typedef struct mproc__lockbody {
  _Atomic uint32_t word;  /* 0: free; else owner id | MPROC__LOCK_WAITERS */
  uint32_t count;         /* RLock recursion depth, owner-only */
  uint32_t recursive;     /* 1 for an RLock (owner is a tid, else a pid) */
  uint32_t pad;
} mproc__lockbody;

#define MPROC__LOCK_WAITERS 0x80000000u
#define MPROC__LOCK_IDMASK 0x3fffffffu

void mproc__lockbody_init(mproc__lockbody *b, bool recursive);
int mproc__lockbody_acquire(mproc__lockbody *b, const mproc__deadline *d);
int mproc__lockbody_release(mproc__lockbody *b);
/* True when the caller (its pid for a Lock, its tid for an RLock) holds it. */
bool mproc__lockbody_is_mine(mproc__lockbody *b);
/* Releases every level held by the caller; returns the depth released.
 * Only for the caller's own lock (check is_mine first). */
uint32_t mproc__lockbody_release_all(mproc__lockbody *b);
/* Re-acquires with a saved depth, without a time limit. */
int mproc__lockbody_restore(mproc__lockbody *b, uint32_t depth);

struct mproc_lock {
  mproc__lockbody body;
};

/* ---- values (obj.c, codec.c) ---- */

struct mproc_obj {
  mproc_obj_type type;
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      char *p;
      size_t n;
    } s; /* str and bytes, always NUL-terminated */
    struct {
      /* A list's items; a dict's keys in [0, cap) and values in
       * [cap, 2*cap). */
      mproc_obj **items;
      size_t n, cap;
      size_t *index; /* dicts of 16 keys or more: open-addressing table of
                        positions + 1 (0: empty), so lookups stay O(1) and
                        a large dict from a peer decodes in linear time */
      size_t icap;
    } c;
  } u;
};

bool mproc__utf8_valid(const unsigned char *s, size_t n);

/* ---- the library's own descriptors (fdtrack.c) ---- */

void mproc__fd_track(int fd);
void mproc__fd_untrack(int fd);
/* In a forked child: closes every tracked descriptor. */
void mproc__fd_close_tracked(void);

/* ---- worker pools (workers.c) ---- */

/* Around fork: the pools' lock is held across it, so that neither the
 * parent's state nor the lock itself is caught half-changed in the child.
 * after_fork is called in both the parent and the child. */
void mproc__workers_before_fork(void);
void mproc__workers_after_fork(void);

/* ---- fork bookkeeping (process.c) ---- */

/* Marks the calling process as a daemon named `name` (it may not start
 * children); used by pool workers, which are daemonic like the documented
 * system's ForkPoolWorker-N. */
void mproc__become_daemon(const char *name);
bool mproc__is_daemon(void);

#endif

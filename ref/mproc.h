/*
 * mproc.h: the process-parallelism API of Python's multiprocessing, in C.
 *
 * This header is the contract.  The reference library (libmproc) implements
 * it, and the conformance suite tests any library that implements it through
 * this header alone.  Prose versions of every contract live in docs/, one
 * page per primitive.
 *
 * Conventions that hold for every function below:
 *
 *  - Errors.  A fallible function returns 0 on success or a negative
 *    MPROC_E* code from the single list below; the same condition gives the
 *    same code everywhere.  mproc_strerror() and mproc_err_name() describe a
 *    code.  NULL where an object is required gives MPROC_EINVAL.
 *
 *  - Timeouts are seconds as a double, as in the documented system:
 *      MPROC_FOREVER (+infinity)   no limit;
 *      0                           do not block: try once;
 *      negative (finite)           treated as 0, like multiprocessing;
 *      MPROC_DEFAULT_TIMEOUT       the object's own default (a Barrier's
 *                                  timeout; no limit for every other object);
 *      NaN                         MPROC_EINVAL.
 *    A call that cannot proceed returns MPROC_EAGAIN when it was not allowed
 *    to block (timeout 0) and MPROC_ETIMEDOUT when a positive limit expired;
 *    queues say MPROC_EEMPTY / MPROC_EFULL instead, like queue.Empty/Full.
 *    Limits are measured on CLOCK_MONOTONIC from the call's entry.  A signal
 *    delivered to the caller neither ends a wait early nor loses a wake-up.
 *
 *  - Sharing with children.  Objects created before mproc_process_start()
 *    are usable in the child (the documented system's "fork" start method):
 *    locks, semaphores, events, conditions, barriers, values and arrays live
 *    in shared memory.  Each process that holds a copy may free its own copy
 *    (the *_free functions only unmap the caller's view); the memory goes
 *    away when the last process that maps it frees it or exits.  Freeing an
 *    object while another thread of the same process uses it is undefined.
 *    Process objects are not shared: only the process that started a child
 *    may join, poll, signal or close it.
 *
 *  - Threads.  Every function is thread-safe except where it says otherwise.
 */
#ifndef MPROC_H
#define MPROC_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MPROC_EXTERN __attribute__((visibility("default")))
#else
#define MPROC_EXTERN
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define MPROC_VERSION_MAJOR 0
#define MPROC_VERSION_MINOR 1
#define MPROC_VERSION_PATCH 0

/* Name and version of the implementation, e.g. "mproc-ref 0.1.0".  Reports
 * of the conformance suite quote it.  Static storage; never fails. */
MPROC_EXTERN const char *mproc_implementation(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/* XX(name, value, message).  Values are part of the ABI: never renumber. */
#define MPROC_ERRNO_MAP(XX)                                                   \
  XX(EINVAL, -1, "invalid argument")                                          \
  XX(ETIMEDOUT, -2, "timed out")                                              \
  XX(EAGAIN, -3, "operation would block")                                     \
  XX(ECLOSED, -4, "object is closed")                                         \
  XX(ESTATE, -5, "object is in the wrong state for this operation")           \
  XX(EPERM, -6, "caller does not own the object")                             \
  XX(EOWNERDEAD, -7, "previous owner died while holding it")                  \
  XX(EBROKEN, -8, "object is broken")                                         \
  XX(ENOTSUP, -9, "operation not supported")                                  \
  XX(ENOMEM, -10, "out of memory")                                            \
  XX(ERESOURCE, -11, "out of system resources")                               \
  XX(ERANGE, -12, "index or value out of range")                              \
  XX(EEOF, -13, "end of file: the peer has closed")                           \
  XX(EFULL, -14, "queue is full")                                             \
  XX(EEMPTY, -15, "queue is empty")                                           \
  XX(EMSGSIZE, -16, "message larger than the allowed maximum")                \
  XX(EPROTO, -17, "malformed data from the peer")                             \
  XX(ETASK, -18, "task failed")                                               \
  XX(EWORKERLOST, -19, "worker process lost")                                 \
  XX(ECANCELLED, -20, "cancelled")                                            \
  XX(EAUTH, -21, "authentication failed")                                     \
  XX(ESYS, -22, "unexpected operating-system error")

typedef enum mproc_errno {
  MPROC_OK = 0,
#define MPROC__ERR_ENUM(name, val, msg) MPROC_##name = (val),
  MPROC_ERRNO_MAP(MPROC__ERR_ENUM)
#undef MPROC__ERR_ENUM
} mproc_errno;

/* A sentence describing `err` ("timed out").  Unknown codes give
 * "unknown error".  Static storage; never fails. */
MPROC_EXTERN const char *mproc_strerror(int err);

/* The constant's name without prefix ("ETIMEDOUT"; "OK" for 0).  Unknown
 * codes give "UNKNOWN".  Static storage; never fails. */
MPROC_EXTERN const char *mproc_err_name(int err);

/* ------------------------------------------------------------------------ */
/* Timeouts                                                                 */
/* ------------------------------------------------------------------------ */

#define MPROC_FOREVER (INFINITY)
#define MPROC_DEFAULT_TIMEOUT (-INFINITY)

/* ------------------------------------------------------------------------ */
/* Processes                                                                */
/* ------------------------------------------------------------------------ */

typedef struct mproc_process mproc_process;

/* Function style: the child runs target(arg); the return value (0..255) is
 * the child's exit code. */
typedef int (*mproc_target_fn)(void *arg);

/* Subclass style: the child runs run(self), where self points at the
 * mproc_process embedded in the caller's own struct; recover the outer
 * struct from it.  The return value (0..255) is the child's exit code. */
typedef int (*mproc_run_fn)(mproc_process *self);

/* A process object.  Embed it (subclass style) or declare it; initialise it
 * with mproc_process_init() and release it with mproc_process_close().  The
 * field is private to the implementation. */
struct mproc_process {
  void *mproc__impl;
};

/* Options for mproc_process_init().  Zero means the documented default. */
typedef struct mproc_process_options {
  mproc_target_fn target; /* function style; exactly one of target, run */
  void *arg;              /* passed to target; not copied, not freed */
  mproc_run_fn run;       /* subclass style */
  const char *name;       /* NULL: "Process-N" (children of children:
                             "Process-N:M"); copied */
  bool daemon;            /* terminated when the parent exits or dies */
} mproc_process_options;

/* Prepares `p` to run a child.  Does not block.  The caller owns `p`'s
 * storage; the library owns what init allocates until
 * mproc_process_close().  Errors: EINVAL (NULL p or opts, neither or both of
 * target and run), ENOMEM. */
MPROC_EXTERN int mproc_process_init(mproc_process *p,
                                    const mproc_process_options *opts);

/* Forks the child and returns at once; the child runs the target or run
 * routine and exits with its return value.  Standard streams are flushed
 * first, so buffered output is not duplicated.  Errors: EINVAL, ECLOSED,
 * ESTATE (already started, or the caller is a daemon: like the documented
 * system, daemons may not have children), ERESOURCE (fork failed). */
MPROC_EXTERN int mproc_process_start(mproc_process *p);

/* Waits for the child to end and reaps it.  Blocks up to `timeout`.
 * Returns 0 when the child has ended (also when it had already ended), and
 * leaves it running on EAGAIN/ETIMEDOUT.  Errors: EINVAL, ECLOSED, ESTATE
 * (not started, or the caller is not the process that started it). */
MPROC_EXTERN int mproc_process_join(mproc_process *p, double timeout);

/* True between a successful start and the child's end.  Reaps a child that
 * has ended.  Never blocks.  False for NULL, closed or unstarted objects. */
MPROC_EXTERN bool mproc_process_is_alive(mproc_process *p);

/* The child's pid, or 0 before start (and for NULL or closed objects). */
MPROC_EXTERN pid_t mproc_process_pid(const mproc_process *p);

/* The exit code, like the documented system's exitcode: the target's return
 * value or the n of an explicit exit(n); -s after death by signal s.
 * Reaps a child that has ended; never blocks.  Errors: EINVAL, ECLOSED,
 * ESTATE (not started, or still running: the documented system's None). */
MPROC_EXTERN int mproc_process_exitcode(mproc_process *p, int *code);

/* The process name; static for the object's life.  NULL for NULL or closed
 * objects. */
MPROC_EXTERN const char *mproc_process_name(const mproc_process *p);

/* Sets or reads the daemon flag.  Setting is only allowed before start.
 * Errors: EINVAL, ECLOSED, ESTATE (already started). */
MPROC_EXTERN int mproc_process_set_daemon(mproc_process *p, bool daemon);
MPROC_EXTERN bool mproc_process_daemon(const mproc_process *p);

/* Sends SIGTERM (terminate) or SIGKILL (kill) to a running child; does
 * nothing once the child has ended.  Never blocks.  Errors: EINVAL, ECLOSED,
 * ESTATE (not started, or not the caller's child). */
MPROC_EXTERN int mproc_process_terminate(mproc_process *p);
MPROC_EXTERN int mproc_process_kill(mproc_process *p);

/* Releases what the library holds for `p`; `p` may then be re-initialised
 * or its storage reused.  Never blocks.  Errors: EINVAL, ECLOSED (already
 * closed), ESTATE (started and not yet ended; the object stays usable). */
MPROC_EXTERN int mproc_process_close(mproc_process *p);

/* Ends the calling child now with `code`, flushing standard streams first,
 * without running the parent's atexit handlers (the documented system's
 * sys.exit(code) in a child).  Never returns. */
MPROC_EXTERN void mproc_process_exit(int code) __attribute__((noreturn));

/* The calling process's name ("MainProcess" in the main process), its pid,
 * and its parent's pid (the pid of the process that started it; getppid()
 * in the main process).  Never fail. */
MPROC_EXTERN const char *mproc_current_name(void);
MPROC_EXTERN pid_t mproc_current_pid(void);
MPROC_EXTERN pid_t mproc_parent_pid(void);

/* Number of online CPUs, at least 1 (the documented system's cpu_count). */
MPROC_EXTERN int mproc_cpu_count(void);

/* ------------------------------------------------------------------------ */
/* Lock and RLock                                                           */
/* ------------------------------------------------------------------------ */

/* One type for both kinds, so a Condition or a Value may use either. */
typedef struct mproc_lock mproc_lock;

/* Creates an unlocked Lock (non-recursive; any process or thread may
 * release it, as in the documented system) or RLock (re-entrant for the
 * owning thread; only the owner may release it) in shared memory.  The
 * caller owns the result (mproc_lock_free).  Errors: EINVAL, ENOMEM,
 * ERESOURCE. */
MPROC_EXTERN int mproc_lock_new(mproc_lock **out);
MPROC_EXTERN int mproc_rlock_new(mproc_lock **out);

/* Acquires, blocking up to `timeout`.  An RLock already owned by the
 * calling thread is acquired again at once.  Errors: EINVAL, EAGAIN,
 * ETIMEDOUT, and EOWNERDEAD: the holder died while holding the lock; the
 * caller now holds it (an RLock with count 1) and must repair whatever the
 * lock protects before releasing it. */
MPROC_EXTERN int mproc_lock_acquire(mproc_lock *l, double timeout);

/* Releases once.  Never blocks.  Errors: EINVAL, ESTATE (not locked: the
 * documented "released too many times"), EPERM (an RLock the calling
 * thread does not own). */
MPROC_EXTERN int mproc_lock_release(mproc_lock *l);

/* True for an RLock. */
MPROC_EXTERN bool mproc_lock_is_recursive(const mproc_lock *l);

/* Unmaps the caller's copy; NULL is ignored. */
MPROC_EXTERN void mproc_lock_free(mproc_lock *l);

/* ------------------------------------------------------------------------ */
/* Semaphore and BoundedSemaphore                                           */
/* ------------------------------------------------------------------------ */

typedef struct mproc_semaphore mproc_semaphore;

/* Largest value a semaphore may hold. */
#define MPROC_SEM_VALUE_MAX INT32_MAX

/* Creates a semaphore with `value` permits; a bounded one refuses a release
 * above its initial value.  Errors: EINVAL (NULL, value above
 * MPROC_SEM_VALUE_MAX), ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_semaphore_new(mproc_semaphore **out, unsigned value);
MPROC_EXTERN int mproc_bounded_semaphore_new(mproc_semaphore **out,
                                             unsigned value);

/* Takes one permit, blocking up to `timeout`.  Errors: EINVAL, EAGAIN,
 * ETIMEDOUT. */
MPROC_EXTERN int mproc_semaphore_acquire(mproc_semaphore *s, double timeout);

/* Returns one permit and wakes one waiter.  Never blocks.  Errors: EINVAL,
 * ESTATE (a bounded semaphore already at its initial value), ERANGE (at
 * MPROC_SEM_VALUE_MAX). */
MPROC_EXTERN int mproc_semaphore_release(mproc_semaphore *s);

/* The current number of permits (a snapshot).  Errors: EINVAL. */
MPROC_EXTERN int mproc_semaphore_get_value(mproc_semaphore *s, int *value);

MPROC_EXTERN void mproc_semaphore_free(mproc_semaphore *s);

/* ------------------------------------------------------------------------ */
/* Event                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct mproc_event mproc_event;

/* Creates a cleared event.  Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_event_new(mproc_event **out);

/* set wakes every waiter; clear resets the flag.  Never block.  Errors:
 * EINVAL. */
MPROC_EXTERN int mproc_event_set(mproc_event *e);
MPROC_EXTERN int mproc_event_clear(mproc_event *e);

/* The flag; false for NULL. */
MPROC_EXTERN bool mproc_event_is_set(mproc_event *e);

/* Waits up to `timeout` for the flag.  Returns 0 when it is set (at once if
 * it already is).  Errors: EINVAL, EAGAIN, ETIMEDOUT. */
MPROC_EXTERN int mproc_event_wait(mproc_event *e, double timeout);

MPROC_EXTERN void mproc_event_free(mproc_event *e);

/* ------------------------------------------------------------------------ */
/* Condition                                                                */
/* ------------------------------------------------------------------------ */

typedef struct mproc_condition mproc_condition;

/* Creates a condition over `lock` (a Lock or an RLock, not owned: it must
 * outlive the condition), or over a new RLock of its own when `lock` is
 * NULL, like the documented system.  Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_condition_new(mproc_condition **out, mproc_lock *lock);

/* The underlying lock (owned by the condition or the caller, see above). */
MPROC_EXTERN mproc_lock *mproc_condition_lock(mproc_condition *c);

/* Shorthands for mproc_lock_acquire/release on the underlying lock. */
MPROC_EXTERN int mproc_condition_acquire(mproc_condition *c, double timeout);
MPROC_EXTERN int mproc_condition_release(mproc_condition *c);

/* Releases the lock (every level of an RLock), waits up to `timeout` for a
 * notification, then re-acquires the lock (without a limit) before
 * returning, whatever the outcome.  Returns 0 when notified.  Spurious
 * returns are possible after a waiter died; loop on the predicate (or use
 * wait_for).  Errors: EINVAL, EPERM (the caller does not hold the lock),
 * EAGAIN, ETIMEDOUT, EOWNERDEAD (re-acquired from a holder that died). */
MPROC_EXTERN int mproc_condition_wait(mproc_condition *c, double timeout);

/* Waits until pred(arg) is true, evaluating it with the lock held, up to
 * `timeout` in total.  Returns 0 when the predicate is true (at once if it
 * already is).  Errors: as mproc_condition_wait. */
MPROC_EXTERN int mproc_condition_wait_for(mproc_condition *c,
                                          bool (*pred)(void *arg), void *arg,
                                          double timeout);

/* Wakes up to `n` waiters (notify) or all (notify_all).  The caller must
 * hold the lock.  Never blocks.  Errors: EINVAL, EPERM. */
MPROC_EXTERN int mproc_condition_notify(mproc_condition *c, unsigned n);
MPROC_EXTERN int mproc_condition_notify_all(mproc_condition *c);

/* Frees the condition and the RLock it made for itself, if any. */
MPROC_EXTERN void mproc_condition_free(mproc_condition *c);

/* ------------------------------------------------------------------------ */
/* Barrier                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct mproc_barrier mproc_barrier;

/* Run by exactly one party (the last to arrive) each time the barrier
 * fills, before the others are released.  A non-zero return breaks the
 * barrier, like an exception in the documented system's action. */
typedef int (*mproc_barrier_action_fn)(void *arg);

/* Creates a barrier for `parties` (at least 1) with an optional action and
 * a default timeout for waits that pass MPROC_DEFAULT_TIMEOUT
 * (MPROC_FOREVER for none).  Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_barrier_new(mproc_barrier **out, unsigned parties,
                                   mproc_barrier_action_fn action, void *arg,
                                   double timeout);

/* Waits until `parties` processes are waiting, then releases them all;
 * stores a distinct index 0..parties-1 (arrival order) in *index when
 * `index` is not NULL.  Blocks up to `timeout`.  Errors: EINVAL, EBROKEN
 * (the barrier is or became broken: aborted, reset while waiting, a failed
 * action, another party's timeout), ETIMEDOUT or EAGAIN (this party's limit
 * expired; the barrier is now broken for everyone, as documented). */
MPROC_EXTERN int mproc_barrier_wait(mproc_barrier *b, double timeout,
                                    unsigned *index);

/* abort breaks the barrier (waiters get EBROKEN); reset makes it usable
 * again after waiters of the current generation got EBROKEN.  Never block
 * beyond the barrier's own short critical section.  Errors: EINVAL. */
MPROC_EXTERN int mproc_barrier_abort(mproc_barrier *b);
MPROC_EXTERN int mproc_barrier_reset(mproc_barrier *b);

/* Snapshots; 0 / false for NULL. */
MPROC_EXTERN unsigned mproc_barrier_parties(mproc_barrier *b);
MPROC_EXTERN unsigned mproc_barrier_n_waiting(mproc_barrier *b);
MPROC_EXTERN bool mproc_barrier_broken(mproc_barrier *b);

MPROC_EXTERN void mproc_barrier_free(mproc_barrier *b);

/* ------------------------------------------------------------------------ */
/* Shared memory: Value and Array                                           */
/* ------------------------------------------------------------------------ */

/* Type codes, as in the documented system (Python's array module):
 *   'c' char (0..255)  'b' signed char   'B' unsigned char
 *   'h' short          'H' unsigned short
 *   'i' int            'I' unsigned int
 *   'l' long           'L' unsigned long
 *   'q' long long      'Q' unsigned long long
 *   'f' float          'd' double
 * Stores are checked: a value that does not fit the type gives MPROC_ERANGE
 * and leaves the element unchanged.  (The documented system silently keeps
 * the low bits instead; see docs/value.md.) */

typedef struct mproc_value mproc_value;
typedef struct mproc_array mproc_array;

/* How a Value or Array is synchronised.  Zero: a new RLock of its own. */
typedef struct mproc_shared_options {
  bool raw;         /* no lock at all (RawValue/RawArray) */
  mproc_lock *lock; /* use this Lock or RLock instead; not owned */
} mproc_shared_options;

/* Creates a zeroed Value of `typecode`.  opts may be NULL.  Errors: EINVAL
 * (unknown type code, raw together with a lock), ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_value_new(mproc_value **out, char typecode,
                                 const mproc_shared_options *opts);

/* Element access.  Each single get or set is atomic (never torn) and takes
 * no lock; a read-modify-write such as v += 1 needs the lock, exactly as in
 * the documented system.  get_i64/set_i64 and get_u64/set_u64 work on the
 * integer codes; set_i64 also on 'f' and 'd' (converted); get_double and
 * set_double on 'f' and 'd', and get_double on integer codes (converted).
 * Errors: EINVAL (NULL, wrong type), ERANGE (does not fit). */
MPROC_EXTERN int mproc_value_get_i64(mproc_value *v, int64_t *out);
MPROC_EXTERN int mproc_value_set_i64(mproc_value *v, int64_t x);
MPROC_EXTERN int mproc_value_get_u64(mproc_value *v, uint64_t *out);
MPROC_EXTERN int mproc_value_set_u64(mproc_value *v, uint64_t x);
MPROC_EXTERN int mproc_value_get_double(mproc_value *v, double *out);
MPROC_EXTERN int mproc_value_set_double(mproc_value *v, double x);

/* The element itself, for direct typed access under the lock. */
MPROC_EXTERN void *mproc_value_ptr(mproc_value *v);

/* The type code, or 0 for NULL. */
MPROC_EXTERN char mproc_value_typecode(const mproc_value *v);

/* The synchronising lock (the documented get_lock()), NULL when raw. */
MPROC_EXTERN mproc_lock *mproc_value_get_lock(mproc_value *v);

/* Frees the caller's copy and the lock it made for itself, if any. */
MPROC_EXTERN void mproc_value_free(mproc_value *v);

/* Creates an Array of `length` elements (at least 1), zeroed, or copied
 * from `init` (an array of `length` elements of the C type of `typecode`)
 * when it is not NULL.  Errors: as mproc_value_new, ERANGE when the size
 * overflows. */
MPROC_EXTERN int mproc_array_new(mproc_array **out, char typecode,
                                 size_t length, const void *init,
                                 const mproc_shared_options *opts);

MPROC_EXTERN size_t mproc_array_length(const mproc_array *a);
MPROC_EXTERN char mproc_array_typecode(const mproc_array *a);

/* As the Value accessors, at `index`; an index at or past the length gives
 * ERANGE. */
MPROC_EXTERN int mproc_array_get_i64(mproc_array *a, size_t index,
                                     int64_t *out);
MPROC_EXTERN int mproc_array_set_i64(mproc_array *a, size_t index, int64_t x);
MPROC_EXTERN int mproc_array_get_u64(mproc_array *a, size_t index,
                                     uint64_t *out);
MPROC_EXTERN int mproc_array_set_u64(mproc_array *a, size_t index,
                                     uint64_t x);
MPROC_EXTERN int mproc_array_get_double(mproc_array *a, size_t index,
                                        double *out);
MPROC_EXTERN int mproc_array_set_double(mproc_array *a, size_t index,
                                        double x);

MPROC_EXTERN void *mproc_array_data(mproc_array *a);
MPROC_EXTERN mproc_lock *mproc_array_get_lock(mproc_array *a);
MPROC_EXTERN void mproc_array_free(mproc_array *a);

#ifdef __cplusplus
}
#endif
#endif /* MPROC_H */

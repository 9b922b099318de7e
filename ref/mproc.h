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
 *      MPROC_FOREVER (+infinity)   no limit (so is any value of 1e9
 *                                  seconds, about 31 years, or more);
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
 *    Process objects are not shared: only the process that initialised a
 *    process object may start it, and only the process that started a
 *    child may join, poll or signal it; a child may close its inherited
 *    copy, which only frees that copy.  One process object must not be used
 *    by several threads at once.
 *
 *  - Threads.  Every function is thread-safe except where it says otherwise.
 *    Ownership of a Lock is per process (any thread of the holding process
 *    counts as the holder, e.g. for Condition wait/notify); ownership of an
 *    RLock is per thread.
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
 * ESTATE (already started, initialised by another process, or the
 * caller is a daemon: like the documented system, daemons may not have
 * children), ENOMEM or ERESOURCE (fork failed). */
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
 * ESTATE (not started, or still running: the documented system's None),
 * ESYS (the application reaped the child itself, e.g. with waitpid(-1) or
 * SIGCHLD ignored, so the status is unknown). */
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
 * ETIMEDOUT, ERANGE (an RLock already held 2^32-1 times), and EOWNERDEAD:
 * the holder died while holding the lock; the caller now holds it (an
 * RLock with count 1) and must repair whatever the lock protects before
 * releasing it. */
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
 * returning, whatever the outcome.  Returns 0 when notified.  Waiters are
 * notified in the order they started waiting.  Errors: EINVAL, EPERM (the
 * caller does not hold the lock), EAGAIN, ETIMEDOUT, EOWNERDEAD
 * (re-acquired from a holder that died), ERESOURCE (more than 1024
 * threads already wait on this condition). */
MPROC_EXTERN int mproc_condition_wait(mproc_condition *c, double timeout);

/* Waits until pred(arg) is true, evaluating it with the lock held, up to
 * `timeout` in total.  Returns 0 when the predicate is true (at once if it
 * already is).  Errors: as mproc_condition_wait. */
MPROC_EXTERN int mproc_condition_wait_for(mproc_condition *c,
                                          bool (*pred)(void *arg), void *arg,
                                          double timeout);

/* Wakes up to `n` waiters (notify) or all (notify_all) among those waiting
 * at the time of the call, oldest first; waiters that died while waiting
 * are skipped.  The caller must hold the lock.  Never blocks.  Errors:
 * EINVAL, EPERM. */
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
 * barrier, like an exception in the documented system's action.  It runs
 * inside the barrier's critical section: it must not call the barrier's
 * own functions. */
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

/* abort breaks the barrier (waiters get EBROKEN); reset empties it and
 * makes it usable at once: parties still inside (dead ones included) stop
 * counting, waiters of the unreleased generation get EBROKEN, released ones
 * keep their index.  They wait only for the barrier's critical section
 * (which includes a running action).  Errors: EINVAL. */
MPROC_EXTERN int mproc_barrier_abort(mproc_barrier *b);
MPROC_EXTERN int mproc_barrier_reset(mproc_barrier *b);

/* Snapshots, taken without waiting; 0 / false for NULL.  n_waiting counts
 * the parties of the filling generation that are blocked in wait. */
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
 * integer codes; set_i64 and set_u64 also on 'f' and 'd' (converted); get_double and
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

/* ------------------------------------------------------------------------ */
/* Values on the wire                                                       */
/* ------------------------------------------------------------------------ */

/* What crosses a process boundary through a Pipe, a Queue or a Manager: a
 * small dynamic value, encoded as MessagePack.  Heap objects owned by
 * whoever created them or received them; free with mproc_obj_free().
 *
 * Constructors return NULL when memory runs out (and mproc_obj_str()
 * also for a string that is not valid UTF-8).  Container setters take
 * ownership of the items passed to them, also when they fail, and fail
 * with MPROC_ENOMEM when given NULL, so constructors can be nested:
 *     mproc_obj_list_append(list, mproc_obj_int(3)); */

typedef enum mproc_obj_type {
  MPROC_OBJ_NONE,
  MPROC_OBJ_BOOL,
  MPROC_OBJ_INT,   /* 64-bit signed */
  MPROC_OBJ_FLOAT, /* double */
  MPROC_OBJ_STR,   /* UTF-8 */
  MPROC_OBJ_BYTES,
  MPROC_OBJ_LIST,
  MPROC_OBJ_DICT   /* keys are str or int; insertion order is kept */
} mproc_obj_type;

typedef struct mproc_obj mproc_obj;

/* Deepest nesting of lists and dicts that encode and decode accept. */
#define MPROC_OBJ_MAX_DEPTH 32

MPROC_EXTERN mproc_obj *mproc_obj_none(void);
MPROC_EXTERN mproc_obj *mproc_obj_bool(bool b);
MPROC_EXTERN mproc_obj *mproc_obj_int(int64_t i);
MPROC_EXTERN mproc_obj *mproc_obj_float(double f);
MPROC_EXTERN mproc_obj *mproc_obj_str(const char *s);            /* copied */
MPROC_EXTERN mproc_obj *mproc_obj_strn(const char *s, size_t n);  /* copied */
MPROC_EXTERN mproc_obj *mproc_obj_bytes(const void *p, size_t n); /* copied */
MPROC_EXTERN mproc_obj *mproc_obj_list(void);
MPROC_EXTERN mproc_obj *mproc_obj_dict(void);

/* The type; MPROC_OBJ_NONE for NULL. */
MPROC_EXTERN mproc_obj_type mproc_obj_type_of(const mproc_obj *o);

/* Scalar access.  Errors: EINVAL (NULL or another type). */
MPROC_EXTERN int mproc_obj_get_bool(const mproc_obj *o, bool *out);
MPROC_EXTERN int mproc_obj_get_int(const mproc_obj *o, int64_t *out);
MPROC_EXTERN int mproc_obj_get_float(const mproc_obj *o, double *out);

/* A str's text (NUL-terminated; it contains no NUL only if the sender's
 * did not) or NULL for another type; bytes' data and length or NULL.
 * Borrowed: valid while `o` is. */
MPROC_EXTERN const char *mproc_obj_str_value(const mproc_obj *o);
MPROC_EXTERN const void *mproc_obj_bytes_value(const mproc_obj *o,
                                               size_t *len);

/* Entries of a list or dict, bytes of a str or bytes; 0 otherwise. */
MPROC_EXTERN size_t mproc_obj_len(const mproc_obj *o);

/* Appends `item` (taken).  Errors: EINVAL (not a list; item freed),
 * ENOMEM. */
MPROC_EXTERN int mproc_obj_list_append(mproc_obj *list, mproc_obj *item);

/* The i-th item, borrowed; NULL out of range or not a list. */
MPROC_EXTERN const mproc_obj *mproc_obj_list_get(const mproc_obj *list,
                                                 size_t i);

/* Sets dict[key] = value (both taken), replacing an equal key's value.
 * Errors: EINVAL (not a dict, key neither str nor int; both freed),
 * ENOMEM. */
MPROC_EXTERN int mproc_obj_dict_set(mproc_obj *dict, mproc_obj *key,
                                    mproc_obj *value);

/* dict[key] (borrowed) or NULL when absent or not a dict. */
MPROC_EXTERN const mproc_obj *mproc_obj_dict_get(const mproc_obj *dict,
                                                 const mproc_obj *key);
MPROC_EXTERN const mproc_obj *mproc_obj_dict_get_str(const mproc_obj *dict,
                                                     const char *key);
MPROC_EXTERN const mproc_obj *mproc_obj_dict_get_int(const mproc_obj *dict,
                                                     int64_t key);

/* The i-th key and value in insertion order (borrowed), NULL out of
 * range. */
MPROC_EXTERN const mproc_obj *mproc_obj_dict_key(const mproc_obj *dict,
                                                 size_t i);
MPROC_EXTERN const mproc_obj *mproc_obj_dict_value(const mproc_obj *dict,
                                                   size_t i);

/* A deep copy, or NULL when memory runs out (or for NULL). */
MPROC_EXTERN mproc_obj *mproc_obj_copy(const mproc_obj *o);

/* Deep equality.  Types must match (1 and 1.0 differ); dicts compare as
 * mappings, regardless of order; floats compare with ==. */
MPROC_EXTERN bool mproc_obj_equal(const mproc_obj *a, const mproc_obj *b);

/* The documented system's repr(): None, True, 42, 1.5, 'item_3',
 * b'\x00', [1, 2, 3], {'a': 1}.  Returns a malloc'd string the caller
 * frees with free(), or NULL when memory runs out. */
MPROC_EXTERN char *mproc_obj_repr(const mproc_obj *o);

/* Frees `o` and everything in it; NULL is ignored. */
MPROC_EXTERN void mproc_obj_free(mproc_obj *o);

/* MessagePack encoding.  encode stores a malloc'd buffer (free() it).
 * Errors: EINVAL (NULL, nesting deeper than MPROC_OBJ_MAX_DEPTH), ENOMEM.
 * decode needs exactly one complete value in buf[0..len).  Errors: EINVAL,
 * EPROTO (malformed, truncated, trailing bytes, unsupported type, too
 * deep), ENOMEM.  Decoding never allocates more than a small multiple of
 * `len`, whatever sizes the bytes announce. */
MPROC_EXTERN int mproc_obj_encode(const mproc_obj *o, void **buf,
                                  size_t *len);
MPROC_EXTERN int mproc_obj_decode(const void *buf, size_t len,
                                  mproc_obj **out);

/* ------------------------------------------------------------------------ */
/* Pipe and Connection                                                      */
/* ------------------------------------------------------------------------ */

/* One end of a pipe.  Messages keep their boundaries; an empty message is
 * a message.  Like the documented system's Connection, an end is not for
 * concurrent use: one sender and one receiver at a time per end (use a
 * Lock around it, or a Queue).  ESYS from any call below means an
 * unexpected failure of the socket itself.  The end lives in the heap of each process holding it; the
 * descriptor is inherited by children started later.  recv reports end of
 * file once every copy of the peer end, in every process, is closed and
 * everything sent before has been received. */
typedef struct mproc_conn mproc_conn;

/* Default largest message a connection accepts (bytes). */
#define MPROC_MAX_MESSAGE_DEFAULT ((size_t)512 << 20)

typedef struct mproc_pipe_options {
  bool one_way;       /* false: both ends send and receive (duplex);
                         true: the first end receives, the second sends */
  size_t max_message; /* largest message accepted; 0: the default */
} mproc_pipe_options;

/* Creates a connected pair.  opts may be NULL (duplex).  The caller owns
 * both ends.  Errors: EINVAL, ENOMEM, ERESOURCE (out of descriptors). */
MPROC_EXTERN int mproc_pipe(mproc_conn **end1, mproc_conn **end2,
                            const mproc_pipe_options *opts);

/* Sends one value / one message of raw bytes.  Blocks until the whole
 * message is written (the peer may need to read first); there is no time
 * limit, as in the documented system.  A signal does not interrupt it.
 * Errors: EINVAL, ECLOSED (this end is closed), ENOTSUP (a receive-only
 * end), EMSGSIZE (above this end's maximum), EEOF (the peer is closed
 * everywhere), ENOMEM. */
MPROC_EXTERN int mproc_conn_send(mproc_conn *c, const mproc_obj *obj);
MPROC_EXTERN int mproc_conn_send_bytes(mproc_conn *c, const void *buf,
                                       size_t len);

/* Receives one message, waiting up to `timeout`.  A message cut short by
 * the time limit is kept and completed by the next call.  recv decodes it
 * (the caller owns *out); recv_bytes returns it raw in a malloc'd buffer
 * (the caller frees *buf; an empty message gives len 0 and a non-NULL
 * buffer).  Errors: EINVAL, ECLOSED, ENOTSUP (a send-only end), EAGAIN,
 * ETIMEDOUT, EEOF (peer closed and nothing left), EPROTO (recv: the message
 * is not a valid value; it was consumed and the connection stays usable),
 * EMSGSIZE (the peer announced a message above the maximum; nothing of its
 * size is allocated and the connection is broken from then on), EBROKEN
 * (an earlier EMSGSIZE, or a peer that closed in the middle of a message),
 * ENOMEM. */
MPROC_EXTERN int mproc_conn_recv(mproc_conn *c, mproc_obj **out,
                                 double timeout);
MPROC_EXTERN int mproc_conn_recv_bytes(mproc_conn *c, void **buf,
                                       size_t *len, double timeout);

/* Waits up to `timeout` until recv would not block (a message or end of
 * file is waiting); consumes nothing.  Returns 0 when readable.  Errors:
 * EINVAL, ECLOSED, ENOTSUP, EAGAIN, ETIMEDOUT. */
MPROC_EXTERN int mproc_conn_poll(mproc_conn *c, double timeout);

/* Waits up to `timeout` until at least one of `n` connections is readable,
 * like the documented system's multiprocessing.connection.wait; sets
 * ready[i] for each.  Errors: EINVAL (n == 0 or above 65536, a NULL
 * entry), ECLOSED (an entry is closed), ENOTSUP (an entry is send-only),
 * EAGAIN, ETIMEDOUT, ENOMEM. */
MPROC_EXTERN int mproc_conn_wait(mproc_conn *const *conns, size_t n,
                                 double timeout, bool *ready);

/* Changes this end's largest accepted message.  Errors: EINVAL, ECLOSED. */
MPROC_EXTERN int mproc_conn_set_max_message(mproc_conn *c, size_t max);

/* The descriptor, or -1 when closed or NULL. */
MPROC_EXTERN int mproc_conn_fileno(const mproc_conn *c);

/* Closes this process's copy of the end.  Errors: EINVAL, ECLOSED
 * (already closed). */
MPROC_EXTERN int mproc_conn_close(mproc_conn *c);

/* Closes (if still open) and frees this process's copy; NULL is ignored. */
MPROC_EXTERN void mproc_conn_free(mproc_conn *c);

/* ------------------------------------------------------------------------ */
/* Queue, SimpleQueue, JoinableQueue                                        */
/* ------------------------------------------------------------------------ */

/* A multi-producer, multi-consumer FIFO of values in shared memory.
 * Items are copied in whole under the queue's lock, so a put that returns
 * has delivered its item even if the producer exits at once, and a
 * producer killed in the middle of a put leaves no torn item behind: its
 * item is simply not there.  Items put by one producer come out in the
 * order it put them. */
typedef struct mproc_queue mproc_queue;

typedef struct mproc_queue_options {
  size_t maxsize;      /* most items at once; 0: unbounded (within
                          capacity) */
  size_t capacity;     /* bytes of shared memory reserved for items (the
                          pages are used only as needed); 0: 1 GiB */
  size_t max_message;  /* largest encoded item; 0: the default */
} mproc_queue_options;

/* Creates a Queue, a JoinableQueue (adds task_done/join) or a SimpleQueue
 * (unbounded).  opts may be NULL.  The caller owns the result
 * (mproc_queue_free).  Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_queue_new(mproc_queue **out,
                                 const mproc_queue_options *opts);
MPROC_EXTERN int mproc_joinable_queue_new(mproc_queue **out,
                                          const mproc_queue_options *opts);
MPROC_EXTERN int mproc_simple_queue_new(mproc_queue **out);

/* Puts a copy of `obj`, waiting up to `timeout` while the queue is full.
 * Errors: EINVAL, ECLOSED (closed in this process), EFULL (still full at
 * the limit; at once for timeout 0), EMSGSIZE (the encoded item exceeds
 * max_message or the capacity), ENOMEM. */
MPROC_EXTERN int mproc_queue_put(mproc_queue *q, const mproc_obj *obj,
                                 double timeout);

/* Takes the oldest item, waiting up to `timeout` while the queue is empty;
 * the caller owns *out.  Errors: EINVAL, ECLOSED, EEMPTY (still empty at
 * the limit), ENOMEM. */
MPROC_EXTERN int mproc_queue_get(mproc_queue *q, mproc_obj **out,
                                 double timeout);

/* Snapshots, exact at the instant they are taken but stale as soon as
 * another process puts or gets: use them for reports, not for deciding
 * whether a get will succeed.  qsize errors: EINVAL. */
MPROC_EXTERN int mproc_queue_qsize(mproc_queue *q, size_t *n);
MPROC_EXTERN bool mproc_queue_empty(mproc_queue *q);
MPROC_EXTERN bool mproc_queue_full(mproc_queue *q);

/* JoinableQueue: marks one item got earlier as processed.  Never blocks.
 * Errors: EINVAL, ENOTSUP (not joinable), ESTATE (more task_done calls
 * than items put: the documented "called too many times"). */
MPROC_EXTERN int mproc_queue_task_done(mproc_queue *q);

/* JoinableQueue: waits up to `timeout` until every item ever put has had
 * its task_done.  Errors: EINVAL, ENOTSUP, EAGAIN, ETIMEDOUT. */
MPROC_EXTERN int mproc_queue_join(mproc_queue *q, double timeout);

/* Closes the queue for the calling process only (the documented system's
 * close): later put and get in this process give ECLOSED; items already
 * put stay available to other processes.  Errors: EINVAL, ECLOSED. */
MPROC_EXTERN int mproc_queue_close(mproc_queue *q);

/* Frees this process's view; NULL is ignored. */
MPROC_EXTERN void mproc_queue_free(mproc_queue *q);

/* ------------------------------------------------------------------------ */
/* Tasks                                                                    */
/* ------------------------------------------------------------------------ */

/* A task runs in a worker process: it computes *result from `arg` (a
 * borrowed value; for starmap a list of arguments) and returns 0, leaving
 * *result to the library (NULL means None); or it fails by returning
 * non-zero, preferably through mproc_task_fail() so that a message goes
 * with the code (the documented system's exception).  Tasks are passed as
 * function pointers: the function must exist in the worker, which is a
 * fork of the process that created the pool (see docs/pool.md for code
 * loaded after that). */
typedef int (*mproc_task_fn)(const mproc_obj *arg, mproc_obj **result);

/* For use inside a task: records `code` (non-zero) and a printf-style
 * message for the caller, and returns `code`, so a task can say
 *     return mproc_task_fail(22, "Bad value: %lld", (long long)x);
 * Messages longer than MPROC_TASK_MESSAGE_MAX - 1 bytes are cut. */
MPROC_EXTERN int mproc_task_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define MPROC_TASK_MESSAGE_MAX 256

/* Why a task produced no result.  `code` is the task's own code when the
 * call returned MPROC_ETASK, else the MPROC_E* code the call returned. */
typedef struct mproc_task_error {
  int code;
  pid_t pid;       /* the worker that ran it; 0 if it never ran */
  int signal;      /* EWORKERLOST: the signal that killed the worker, or 0 */
  int exit_status; /* EWORKERLOST: the worker's exit status if it exited */
  char message[MPROC_TASK_MESSAGE_MAX];
} mproc_task_error;

/* ------------------------------------------------------------------------ */
/* Pool                                                                     */
/* ------------------------------------------------------------------------ */

/* A pool of worker processes, like multiprocessing.Pool.  Workers are
 * forked by the pool's own result thread, which also runs every callback,
 * one at a time, in the parent process.  A worker that dies fails only the
 * tasks it was running (MPROC_EWORKERLOST, with its pid and how it died)
 * and is replaced: the documented Pool hangs forever there. */
typedef struct mproc_pool mproc_pool;
typedef struct mproc_async_result mproc_async_result;
typedef struct mproc_imap mproc_imap;

typedef struct mproc_pool_options {
  unsigned processes;          /* workers; 0: mproc_cpu_count() */
  int (*initializer)(void *arg); /* run once in each worker before any
                                    task; non-zero breaks the pool */
  void *initarg;
  unsigned maxtasksperchild;   /* a worker retires after this many task
                                  messages (chunks); 0: never */
  size_t max_message;          /* largest message to or from a worker;
                                  0: MPROC_MAX_MESSAGE_DEFAULT */
} mproc_pool_options;

/* Creates a pool; returns once its workers are forked (blocks only for
 * that).  opts may be NULL.  The caller owns the pool (mproc_pool_free).
 * Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_pool_new(mproc_pool **out,
                                const mproc_pool_options *opts);

/* Called in the parent's result thread when a job ends: on_result with the
 * result (apply) or the list of results (map, starmap), borrowed for the
 * call; otherwise on_error with the first failure, borrowed. */
typedef struct mproc_callbacks {
  void (*on_result)(const mproc_obj *result, void *ud);
  void (*on_error)(const mproc_task_error *err, void *ud);
  void *ud;
} mproc_callbacks;

/* Submits work and returns at once with a result handle the caller owns
 * (mproc_async_result_free; freeing early is allowed: the callbacks still
 * run).  An argument too large to send (above max_message) fails its item
 * later, with EMSGSIZE, like any other failure.  apply_async runs fn(arg); map_async runs fn on each item of the
 * list `args` in chunks of `chunksize` items (0: the documented system's
 * default, len / (4 * processes) rounded up); starmap_async is map_async
 * whose items must be lists (argument tuples).  Arguments are copied.
 * cb may be NULL.  Errors: EINVAL (NULL fn, args not a list, a starmap
 * item not a list), ESTATE (the pool is closed or terminated), EBROKEN (an
 * initializer failed), ENOMEM. */
MPROC_EXTERN int mproc_pool_apply_async(mproc_pool *pool, mproc_task_fn fn,
                                        const mproc_obj *arg,
                                        const mproc_callbacks *cb,
                                        mproc_async_result **out);
MPROC_EXTERN int mproc_pool_map_async(mproc_pool *pool, mproc_task_fn fn,
                                      const mproc_obj *args,
                                      size_t chunksize,
                                      const mproc_callbacks *cb,
                                      mproc_async_result **out);
MPROC_EXTERN int mproc_pool_starmap_async(mproc_pool *pool,
                                          mproc_task_fn fn,
                                          const mproc_obj *args,
                                          size_t chunksize,
                                          const mproc_callbacks *cb,
                                          mproc_async_result **out);

/* The blocking forms: submit and wait without limit.  *result receives the
 * value (apply) or the list of results in input order (map, starmap); the
 * caller owns it.  err may be NULL.  Errors: those of the async forms and
 * of mproc_async_result_get. */
MPROC_EXTERN int mproc_pool_apply(mproc_pool *pool, mproc_task_fn fn,
                                  const mproc_obj *arg, mproc_obj **result,
                                  mproc_task_error *err);
MPROC_EXTERN int mproc_pool_map(mproc_pool *pool, mproc_task_fn fn,
                                const mproc_obj *args, size_t chunksize,
                                mproc_obj **result, mproc_task_error *err);
MPROC_EXTERN int mproc_pool_starmap(mproc_pool *pool, mproc_task_fn fn,
                                    const mproc_obj *args, size_t chunksize,
                                    mproc_obj **result,
                                    mproc_task_error *err);

/* Waits up to `timeout` for the job; the task keeps running when the wait
 * times out.  On success *result receives a copy of the result the caller
 * owns.  err (may be NULL) is filled on failure.  Errors: EINVAL, EAGAIN,
 * ETIMEDOUT, ETASK (a task failed: err->code and err->message are its
 * own), EWORKERLOST (the worker running it died), ECANCELLED (the pool was
 * terminated first), EBROKEN (an initializer failed), EMSGSIZE (a result
 * was too large to send back), ENOMEM. */
MPROC_EXTERN int mproc_async_result_get(mproc_async_result *r,
                                        double timeout, mproc_obj **result,
                                        mproc_task_error *err);

/* Waits up to `timeout` for the job to end.  Errors: EINVAL, EAGAIN,
 * ETIMEDOUT. */
MPROC_EXTERN int mproc_async_result_wait(mproc_async_result *r,
                                         double timeout);

/* True once the job has ended. */
MPROC_EXTERN bool mproc_async_result_ready(mproc_async_result *r);

/* Whether the job succeeded.  Errors: EINVAL, ESTATE (not ready yet, as
 * the documented system raises). */
MPROC_EXTERN int mproc_async_result_successful(mproc_async_result *r,
                                               bool *ok);

MPROC_EXTERN void mproc_async_result_free(mproc_async_result *r);

/* Lazy iteration over results: imap yields results in input order, each
 * as soon as it and all before it are ready; imap_unordered in completion
 * order, each exactly once.  chunksize 0 means 1.  The caller owns the
 * iterator (mproc_imap_free).  Errors: as map_async. */
MPROC_EXTERN int mproc_pool_imap(mproc_pool *pool, mproc_task_fn fn,
                                 const mproc_obj *args, size_t chunksize,
                                 mproc_imap **out);
MPROC_EXTERN int mproc_pool_imap_unordered(mproc_pool *pool,
                                           mproc_task_fn fn,
                                           const mproc_obj *args,
                                           size_t chunksize,
                                           mproc_imap **out);

/* The next result, waiting up to `timeout` (an executor map's own time
 * limit, counted from the map call, also applies).  The caller owns
 * *result.  A failed item is reported at its place with its error; the
 * iteration may go on after it.  Errors: EINVAL, EEOF (no more results),
 * EAGAIN, ETIMEDOUT, and the errors of mproc_async_result_get. */
MPROC_EXTERN int mproc_imap_next(mproc_imap *it, double timeout,
                                 mproc_obj **result, mproc_task_error *err);

MPROC_EXTERN void mproc_imap_free(mproc_imap *it);

/* close: no more work may be submitted; the workers exit when the
 * submitted work is done.  terminate: stops the workers at once (SIGTERM,
 * then SIGKILL after a short grace); every unfinished job fails with
 * ECANCELLED.  Neither waits.  Errors: EINVAL. */
MPROC_EXTERN int mproc_pool_close(mproc_pool *pool);
MPROC_EXTERN int mproc_pool_terminate(mproc_pool *pool);

/* Waits up to `timeout` for every worker to exit and every callback to
 * have run.  Errors: EINVAL, ESTATE (neither closed nor terminated: the
 * documented "Pool is still running"), EAGAIN, ETIMEDOUT. */
MPROC_EXTERN int mproc_pool_join(mproc_pool *pool, double timeout);

/* The end of a scope, like leaving the documented system's `with Pool()`
 * block: terminates, joins and frees.  Result handles stay valid.  NULL is
 * ignored. */
MPROC_EXTERN void mproc_pool_free(mproc_pool *pool);

/* For __attribute__((cleanup)): `MPROC_SCOPED_POOL mproc_pool *p = NULL;`
 * frees the pool when p goes out of scope. */
MPROC_EXTERN void mproc_pool_freep(mproc_pool **pool);
#define MPROC_SCOPED_POOL __attribute__((cleanup(mproc_pool_freep)))

/* ------------------------------------------------------------------------ */
/* Executor and Future (concurrent.futures.ProcessPoolExecutor)             */
/* ------------------------------------------------------------------------ */

/* Unlike a Pool, an executor is broken by a worker that dies: every
 * pending and running future fails with MPROC_EBROKEN and later submits
 * fail too, as in the documented system (never a hang). */
typedef struct mproc_executor mproc_executor;
typedef struct mproc_future mproc_future;

typedef struct mproc_executor_options {
  unsigned max_workers;          /* 0: mproc_cpu_count() */
  int (*initializer)(void *arg); /* non-zero breaks the executor */
  void *initarg;
  size_t max_message;            /* 0: MPROC_MAX_MESSAGE_DEFAULT */
} mproc_executor_options;

/* Returns once the workers are forked (blocks only for that).
 * Errors: EINVAL, ENOMEM, ERESOURCE. */
MPROC_EXTERN int mproc_executor_new(mproc_executor **out,
                                    const mproc_executor_options *opts);

/* Schedules fn(arg) (arg copied); the caller owns the future
 * (mproc_future_free; the work goes on without it).  An argument too large
 * to send fails the future with EMSGSIZE.  Errors: EINVAL, ESTATE (after
 * shutdown), EBROKEN, ENOMEM. */
MPROC_EXTERN int mproc_executor_submit(mproc_executor *ex, mproc_task_fn fn,
                                       const mproc_obj *arg,
                                       mproc_future **out);

/* Like map on the documented executor: an iterator of results in input
 * order; `timeout` (counted from this call) bounds the whole iteration;
 * an error surfaces at the failing item.  chunksize 0 means 1.  Errors: as
 * submit (EINVAL also for args not a list). */
MPROC_EXTERN int mproc_executor_map(mproc_executor *ex, mproc_task_fn fn,
                                    const mproc_obj *args, double timeout,
                                    size_t chunksize, mproc_imap **out);

/* Stops accepting work.  cancel_futures cancels what has not started;
 * wait blocks (without limit) until running and queued work is done and
 * the workers have exited.  A second call only waits as asked.  Errors:
 * EINVAL. */
MPROC_EXTERN int mproc_executor_shutdown(mproc_executor *ex, bool wait,
                                         bool cancel_futures);

/* shutdown(wait = true), then frees (like leaving `with`); NULL is
 * ignored. */
MPROC_EXTERN void mproc_executor_free(mproc_executor *ex);

/* The result (a copy the caller owns), waiting up to `timeout`.  Errors:
 * EINVAL, EAGAIN, ETIMEDOUT, ETASK, ECANCELLED (cancelled), EBROKEN,
 * EMSGSIZE, ENOMEM; err (may be NULL) says more. */
MPROC_EXTERN int mproc_future_result(mproc_future *f, double timeout,
                                     mproc_obj **result,
                                     mproc_task_error *err);

/* The documented exception(): waits up to `timeout`, then *failed says
 * whether the future failed and err (may be NULL) describes it.  Errors:
 * EINVAL, EAGAIN, ETIMEDOUT, ECANCELLED. */
MPROC_EXTERN int mproc_future_exception(mproc_future *f, double timeout,
                                        bool *failed, mproc_task_error *err);

/* States: pending, running (handed to a worker), done (finished, failed or
 * cancelled), cancelled. */
MPROC_EXTERN bool mproc_future_done(mproc_future *f);
MPROC_EXTERN bool mproc_future_running(mproc_future *f);
MPROC_EXTERN bool mproc_future_cancelled(mproc_future *f);

/* Cancels a future that has not started.  Returns 0 when it is cancelled
 * (also if it already was).  Errors: EINVAL, ESTATE (running or done: the
 * documented cancel() returning False). */
MPROC_EXTERN int mproc_future_cancel(mproc_future *f);

/* Calls cb(f, ud) when f is done: at once in the calling thread if it
 * already is, otherwise in the executor's result thread.  Errors: EINVAL,
 * ENOMEM. */
MPROC_EXTERN int mproc_future_add_done_callback(mproc_future *f,
                                                void (*cb)(mproc_future *f,
                                                           void *ud),
                                                void *ud);

MPROC_EXTERN void mproc_future_free(mproc_future *f);

/* as_completed: an iterator over `n` futures (not owned; they must outlive
 * it) that yields each exactly once as it completes, in completion order
 * (those already done first).  `timeout` counts from this call.  Errors:
 * EINVAL, ENOMEM. */
typedef struct mproc_as_completed mproc_as_completed;
MPROC_EXTERN int mproc_as_completed_new(mproc_future *const *futures,
                                        size_t n, double timeout,
                                        mproc_as_completed **out);

/* The next completed future (borrowed from the caller's array).  Errors:
 * EINVAL, EEOF (all yielded), ETIMEDOUT or EAGAIN (the time limit passed
 * with futures still pending; they stay pending). */
MPROC_EXTERN int mproc_as_completed_next(mproc_as_completed *it,
                                         mproc_future **next);

MPROC_EXTERN void mproc_as_completed_free(mproc_as_completed *it);

/* ------------------------------------------------------------------------ */
/* Manager                                                                  */
/* ------------------------------------------------------------------------ */

/* A server process that holds shared objects (dict, list, Namespace,
 * Queue, Lock, Event, Value) for the processes that use them through
 * proxies, like multiprocessing.Manager.  Every operation is one request
 * handled whole by the single-threaded server, so it is atomic.  Clients
 * reach the server over a Unix-domain socket in a directory only the same
 * user may enter, and prove they know the authentication key by HMAC
 * challenge and response (both ways) before anything else; a client that
 * sends garbage, an oversized frame or a wrong key is disconnected and the
 * others go on.  If the server dies, every call returns MPROC_EBROKEN, never
 * hangs (a server that is alive but stopped, e.g. by SIGSTOP, delays
 * calls until it runs again).  The server watches the starting process
 * and exits, removing its socket, when that process ends.
 *
 * Proxies and the manager handle may be used in the creating process and
 * in any process it starts afterwards; each process (and each concurrent
 * call) uses a connection of its own. */
typedef struct mproc_manager mproc_manager;
typedef struct mproc_proxy mproc_proxy;

typedef struct mproc_manager_options {
  const void *authkey;  /* NULL: 32 random bytes */
  size_t authkey_len;
  size_t max_message;   /* largest request or reply; 0: the default */
} mproc_manager_options;

/* Starts the server and waits until it accepts connections.  The caller
 * owns the manager (mproc_manager_free).  Errors: EINVAL, ENOMEM,
 * ERESOURCE (fork, socket or temporary directory failed), ESTATE (called
 * from a daemon, which may not have children). */
MPROC_EXTERN int mproc_manager_start(mproc_manager **out,
                                     const mproc_manager_options *opts);

/* Connects to a running manager by address and key (the documented
 * BaseManager(address, authkey).connect()).  The result does not own the
 * server: shutdown through it gives ENOTSUP.  Errors: EINVAL, ENOMEM,
 * ERESOURCE, EEOF (nobody at that address), EAUTH (wrong key). */
MPROC_EXTERN int mproc_manager_connect(mproc_manager **out,
                                       const char *address,
                                       const void *authkey,
                                       size_t authkey_len);

/* The socket path and the server's pid (0 for a connected manager). */
MPROC_EXTERN const char *mproc_manager_address(const mproc_manager *m);
MPROC_EXTERN pid_t mproc_manager_pid(const mproc_manager *m);

/* Stops the server (asks it, then SIGKILL after a short grace), reaps it
 * and removes its socket and directory.  Later calls through proxies give
 * ECLOSED in this process and EBROKEN elsewhere.  Only the process that
 * started the manager may shut it down.  Blocks for at most about a
 * second.  Errors: EINVAL, ENOTSUP (a connected manager), ESTATE (already
 * shut down, or not the starting process). */
MPROC_EXTERN int mproc_manager_shutdown(mproc_manager *m);

/* Shuts down (if this process started it and it is running) and frees,
 * like leaving the documented `with Manager() as m` block; NULL is
 * ignored.  Proxies must be freed first. */
MPROC_EXTERN void mproc_manager_free(mproc_manager *m);
MPROC_EXTERN void mproc_manager_freep(mproc_manager **m);
#define MPROC_SCOPED_MANAGER __attribute__((cleanup(mproc_manager_freep)))

/* Creates an object on the server and returns a proxy the caller owns
 * (mproc_proxy_free frees the proxy, not the object, which lives until
 * shutdown).  value's initial content and the queue's maxsize (0:
 * unbounded) are copied.  Errors: EINVAL, ENOMEM, ECLOSED, EBROKEN (the
 * server is gone). */
MPROC_EXTERN int mproc_manager_dict(mproc_manager *m, mproc_proxy **out);
MPROC_EXTERN int mproc_manager_list(mproc_manager *m, mproc_proxy **out);
MPROC_EXTERN int mproc_manager_namespace(mproc_manager *m,
                                         mproc_proxy **out);
MPROC_EXTERN int mproc_manager_queue(mproc_manager *m, size_t maxsize,
                                     mproc_proxy **out);
MPROC_EXTERN int mproc_manager_lock(mproc_manager *m, mproc_proxy **out);
MPROC_EXTERN int mproc_manager_event(mproc_manager *m, mproc_proxy **out);
MPROC_EXTERN int mproc_manager_value(mproc_manager *m,
                                     const mproc_obj *initial,
                                     mproc_proxy **out);

MPROC_EXTERN void mproc_proxy_free(mproc_proxy *p);

/* Every proxy call below blocks until the server answers; only the calls
 * with a timeout wait for something else, and the server enforces that
 * limit.  Results are copies the caller owns.  Common errors: EINVAL (NULL,
 * the proxy is of another kind, a dict key neither str nor int), ECLOSED
 * (the manager was shut down by this process), EBROKEN (the server died
 * or went away), EMSGSIZE (a request or reply above max_message), ENOMEM
 * (here or in the server). */

/* dict.  get with dflt == NULL gives ERANGE for a missing key (the
 * documented KeyError); with dflt, a copy of dflt.  delete gives ERANGE
 * for a missing key.  keys: a list; items: a list of [key, value] lists;
 * copy: a local dict. */
MPROC_EXTERN int mproc_proxy_dict_set(mproc_proxy *d, const mproc_obj *key,
                                      const mproc_obj *value);
MPROC_EXTERN int mproc_proxy_dict_get(mproc_proxy *d, const mproc_obj *key,
                                      const mproc_obj *dflt,
                                      mproc_obj **out);
MPROC_EXTERN int mproc_proxy_dict_delete(mproc_proxy *d,
                                         const mproc_obj *key);
MPROC_EXTERN int mproc_proxy_dict_contains(mproc_proxy *d,
                                           const mproc_obj *key, bool *out);
MPROC_EXTERN int mproc_proxy_dict_len(mproc_proxy *d, size_t *out);
MPROC_EXTERN int mproc_proxy_dict_keys(mproc_proxy *d, mproc_obj **out);
MPROC_EXTERN int mproc_proxy_dict_items(mproc_proxy *d, mproc_obj **out);
MPROC_EXTERN int mproc_proxy_dict_copy(mproc_proxy *d, mproc_obj **out);

/* list.  Indexes may be negative (from the end); out of range gives
 * ERANGE (IndexError).  extend takes a list. */
MPROC_EXTERN int mproc_proxy_list_append(mproc_proxy *l,
                                         const mproc_obj *value);
MPROC_EXTERN int mproc_proxy_list_extend(mproc_proxy *l,
                                         const mproc_obj *values);
MPROC_EXTERN int mproc_proxy_list_get(mproc_proxy *l, int64_t index,
                                      mproc_obj **out);
MPROC_EXTERN int mproc_proxy_list_set(mproc_proxy *l, int64_t index,
                                      const mproc_obj *value);
MPROC_EXTERN int mproc_proxy_list_pop(mproc_proxy *l, int64_t index,
                                      mproc_obj **out);
MPROC_EXTERN int mproc_proxy_list_len(mproc_proxy *l, size_t *out);
MPROC_EXTERN int mproc_proxy_list_copy(mproc_proxy *l, mproc_obj **out);

/* Namespace: named attributes; a missing one gives ERANGE
 * (AttributeError). */
MPROC_EXTERN int mproc_proxy_ns_set(mproc_proxy *ns, const char *name,
                                    const mproc_obj *value);
MPROC_EXTERN int mproc_proxy_ns_get(mproc_proxy *ns, const char *name,
                                    mproc_obj **out);
MPROC_EXTERN int mproc_proxy_ns_delete(mproc_proxy *ns, const char *name);

/* Queue: as mproc_queue_put/get (EFULL, EEMPTY). */
MPROC_EXTERN int mproc_proxy_queue_put(mproc_proxy *q, const mproc_obj *v,
                                       double timeout);
MPROC_EXTERN int mproc_proxy_queue_get(mproc_proxy *q, mproc_obj **out,
                                       double timeout);
MPROC_EXTERN int mproc_proxy_queue_qsize(mproc_proxy *q, size_t *out);

/* Lock: as mproc_lock_acquire/release (EAGAIN, ETIMEDOUT, ESTATE).  A
 * client that dies (its connection closes) while holding the lock hands
 * it to the next acquirer with EOWNERDEAD, where the documented manager's
 * lock stays locked forever. */
MPROC_EXTERN int mproc_proxy_lock_acquire(mproc_proxy *l, double timeout);
MPROC_EXTERN int mproc_proxy_lock_release(mproc_proxy *l);

/* Event: as mproc_event_*. */
MPROC_EXTERN int mproc_proxy_event_set(mproc_proxy *e);
MPROC_EXTERN int mproc_proxy_event_clear(mproc_proxy *e);
MPROC_EXTERN int mproc_proxy_event_is_set(mproc_proxy *e, bool *out);
MPROC_EXTERN int mproc_proxy_event_wait(mproc_proxy *e, double timeout);

/* Value: any mproc_obj. */
MPROC_EXTERN int mproc_proxy_value_get(mproc_proxy *v, mproc_obj **out);
MPROC_EXTERN int mproc_proxy_value_set(mproc_proxy *v, const mproc_obj *x);

#ifdef __cplusplus
}
#endif
#endif /* MPROC_H */

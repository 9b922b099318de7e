/* The worker-pool engine shared by Pool (pool.c) and Executor
 * (executor.c).  Internal: nothing here is part of the contract. */
#ifndef MPROC_WORKERS_H
#define MPROC_WORKERS_H

#include "internal.h"

#include <pthread.h>

typedef enum mproc__job_kind {
  MPROC__JOB_APPLY,
  MPROC__JOB_MAP,            /* ends at the first failure, like MapResult */
  MPROC__JOB_IMAP,           /* results taken one by one, in input order */
  MPROC__JOB_IMAP_UNORDERED, /* ... in completion order */
  MPROC__JOB_FUTURE,
} mproc__job_kind;

enum { ITEM_PENDING = 0, ITEM_OK = 1, ITEM_FAILED = 2 };
enum { F_PENDING, F_RUNNING, F_DONE };

typedef struct mproc__done_cb {
  void (*fn)(mproc_future *f, void *ud);
  void *ud;
} mproc__done_cb;

typedef struct mproc__engine mproc__engine;

/* A job: one submission.  Everything in it is guarded by the engines'
 * lock (mproc__pools_lock). */
typedef struct mproc__job {
  int refs;              /* one per handle, one while chunks are out */
  mproc__engine *eng;    /* NULL once the engine let go of the job */
  mproc__job_kind kind;
  mproc_task_fn fn;
  size_t n;              /* items */
  size_t chunks_left;    /* chunks not yet accounted for */
  mproc_obj **args;      /* per item, until sent to a worker */
  mproc_obj **results;   /* per item */
  mproc_task_error *errs; /* per item (imap, future) */
  int *rcs;              /* per item return codes (imap, future) */
  unsigned char *state;  /* per item: ITEM_* */
  size_t ndone;
  size_t *order;         /* items in completion order */
  size_t next;           /* iteration position */
  bool settled;          /* the outcome is known (callbacks may run) */
  bool finished;         /* settled and callbacks done: ready() */
  int rc;                /* outcome: 0 or an MPROC_E* code */
  mproc_task_error err;  /* the first failure */
  mproc_obj *value;      /* apply: the result; map: the list */
  mproc_callbacks cb;
  int fstate;            /* futures: F_* */
  bool cancelled;
  mproc__done_cb *dcbs;
  size_t ndcbs;
  mproc_future *future;  /* the handle passed to done callbacks */
  uint64_t done_seq;     /* completion order among all jobs */
  mproc__deadline deadline; /* executor map: bounds the iteration */
  bool has_deadline;
} mproc__job;

typedef struct mproc__engine_options {
  unsigned processes;
  int (*initializer)(void *arg);
  void *initarg;
  unsigned maxtasks;
  size_t max_message;
  bool executor; /* a dying worker breaks the engine */
} mproc__engine_options;

/* The process-wide lock and condition for every engine, job and
 * iterator. */
void mproc__pools_lock(void);
void mproc__pools_unlock(void);
/* Waits for any job to change (lock held); returns ETIMEDOUT/EAGAIN at the
 * deadline, else 0. */
int mproc__pools_wait(const mproc__deadline *d);

int mproc__engine_new(mproc__engine **out, const mproc__engine_options *o,
                      void *owner);

/* Submits `kind` over `args` (a list for maps, any value for apply and
 * futures).  Returns the job with one reference for the caller.  Lock not
 * held.  Errors: EINVAL, ESTATE, EBROKEN, ENOMEM. */
int mproc__engine_submit(mproc__engine *e, mproc__job_kind kind,
                         mproc_task_fn fn, const mproc_obj *args,
                         size_t chunksize, bool star,
                         const mproc_callbacks *cb, mproc__job **out);

/* close: no more submissions.  terminate: stop now.  cancel_pending:
 * cancel the futures not yet started.  Lock not held. */
void mproc__engine_close(mproc__engine *e);
void mproc__engine_terminate(mproc__engine *e);
void mproc__engine_cancel_pending(mproc__engine *e);

/* Fills *err (if not NULL) with why the engine is broken. */
void mproc__engine_broken_error(mproc__engine *e, mproc_task_error *err);

/* Waits for the result thread to end.  ESTATE if neither closed nor
 * terminated.  Lock not held. */
int mproc__engine_join(mproc__engine *e, const mproc__deadline *d);

/* Terminates, joins and frees. */
void mproc__engine_free(mproc__engine *e);

/* Cancels a pending future's job (lock held).  Returns 0 or ESTATE. */
int mproc__job_cancel(mproc__job *j);

/* Drops a reference (lock held). */
void mproc__job_unref(mproc__job *j);

/* Fills *err from item i's failure or the job's (lock held). */
void mproc__job_error(const mproc__job *j, mproc_task_error *err);

/* Next item of an iteration (imap kinds), waiting up to `d` (lock held).
 * The caller owns *result. */
int mproc__job_next(mproc__job *j, const mproc__deadline *d,
                    mproc_obj **result, mproc_task_error *err);

#endif

/* Executor, Future and as_completed: concurrent.futures over the worker
 * engine (workers.c), which breaks the executor when a worker dies. */
#include "workers.h"

#include <stdlib.h>

struct mproc_executor {
  mproc__engine *eng;
};

struct mproc_as_completed {
  mproc__job **jobs;
  bool *yielded;
  size_t n, left;
  mproc__deadline deadline;
};

static mproc__job *job_of(const mproc_future *f) { return (mproc__job *)f; }

int mproc_executor_new(mproc_executor **out,
                       const mproc_executor_options *opts) {
  if (out == NULL)
    return MPROC_EINVAL;
  mproc__engine_options o = {.executor = true};
  if (opts != NULL) {
    o.processes = opts->max_workers;
    o.initializer = opts->initializer;
    o.initarg = opts->initarg;
    o.max_message = opts->max_message;
  }
  mproc_executor *ex = calloc(1, sizeof *ex);
  if (ex == NULL)
    return MPROC_ENOMEM;
  int rc = mproc__engine_new(&ex->eng, &o, ex);
  if (rc != 0) {
    free(ex);
    return rc;
  }
  *out = ex;
  return 0;
}

int mproc_executor_submit(mproc_executor *ex, mproc_task_fn fn,
                          const mproc_obj *arg, mproc_future **out) {
  if (ex == NULL || out == NULL)
    return MPROC_EINVAL;
  mproc__job *j;
  int rc = mproc__engine_submit(ex->eng, MPROC__JOB_FUTURE, fn, arg, 1,
                                false, NULL, &j);
  if (rc == 0)
    *out = (mproc_future *)j;
  return rc;
}

int mproc_executor_map(mproc_executor *ex, mproc_task_fn fn,
                       const mproc_obj *args, double timeout,
                       size_t chunksize, mproc_imap **out) {
  if (ex == NULL || out == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__job *j;
  rc = mproc__engine_submit(ex->eng, MPROC__JOB_IMAP, fn, args,
                            chunksize ? chunksize : 1, false, NULL, &j);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  j->deadline = d;
  j->has_deadline = !d.never;
  mproc__pools_unlock();
  *out = (mproc_imap *)j;
  return 0;
}

int mproc_executor_shutdown(mproc_executor *ex, bool wait,
                            bool cancel_futures) {
  if (ex == NULL)
    return MPROC_EINVAL;
  if (cancel_futures)
    mproc__engine_cancel_pending(ex->eng);
  mproc__engine_close(ex->eng);
  if (wait) {
    mproc__deadline never = {.never = true};
    return mproc__engine_join(ex->eng, &never);
  }
  return 0;
}

void mproc_executor_free(mproc_executor *ex) {
  if (ex == NULL)
    return;
  mproc_executor_shutdown(ex, true, false);
  mproc__engine_free(ex->eng);
  free(ex);
}

static int wait_done(mproc__job *j, const mproc__deadline *d) {
  while (!j->finished) {
    int rc = mproc__pools_wait(d);
    if (rc != 0 && !j->finished)
      return rc;
  }
  return 0;
}

int mproc_future_result(mproc_future *f, double timeout, mproc_obj **result,
                        mproc_task_error *err) {
  mproc__job *j = job_of(f);
  if (j == NULL || result == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  rc = wait_done(j, &d);
  if (rc == 0) {
    rc = j->rc;
    if (rc == 0) {
      *result = mproc_obj_copy(j->value);
      if (*result == NULL)
        rc = MPROC_ENOMEM;
    } else {
      mproc__job_error(j, err);
    }
  }
  mproc__pools_unlock();
  return rc;
}

int mproc_future_exception(mproc_future *f, double timeout, bool *failed,
                           mproc_task_error *err) {
  mproc__job *j = job_of(f);
  if (j == NULL || failed == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  rc = wait_done(j, &d);
  if (rc == 0 && j->cancelled)
    rc = MPROC_ECANCELLED; /* the documented exception() raises here */
  if (rc == 0) {
    *failed = j->rc != 0;
    if (*failed)
      mproc__job_error(j, err);
  }
  mproc__pools_unlock();
  return rc;
}

bool mproc_future_done(mproc_future *f) {
  mproc__job *j = job_of(f);
  if (j == NULL)
    return false;
  mproc__pools_lock();
  bool done = j->finished;
  mproc__pools_unlock();
  return done;
}

bool mproc_future_running(mproc_future *f) {
  mproc__job *j = job_of(f);
  if (j == NULL)
    return false;
  mproc__pools_lock();
  bool running = j->fstate == F_RUNNING;
  mproc__pools_unlock();
  return running;
}

bool mproc_future_cancelled(mproc_future *f) {
  mproc__job *j = job_of(f);
  if (j == NULL)
    return false;
  mproc__pools_lock();
  bool c = j->cancelled;
  mproc__pools_unlock();
  return c;
}

int mproc_future_cancel(mproc_future *f) {
  mproc__job *j = job_of(f);
  if (j == NULL)
    return MPROC_EINVAL;
  mproc__pools_lock();
  int rc = mproc__job_cancel(j);
  mproc__pools_unlock();
  return rc;
}

int mproc_future_add_done_callback(mproc_future *f,
                                   void (*cb)(mproc_future *, void *),
                                   void *ud) {
  mproc__job *j = job_of(f);
  if (j == NULL || cb == NULL)
    return MPROC_EINVAL;
  mproc__pools_lock();
  if (j->settled) {
    /* Done (or its callbacks are running now): call it here, as the
     * documented system does for a future that is already done. */
    mproc__pools_unlock();
    cb(f, ud);
    return 0;
  }
  mproc__done_cb *v = realloc(j->dcbs, (j->ndcbs + 1) * sizeof *v);
  if (v == NULL) {
    mproc__pools_unlock();
    return MPROC_ENOMEM;
  }
  v[j->ndcbs].fn = cb;
  v[j->ndcbs].ud = ud;
  j->dcbs = v;
  j->ndcbs++;
  mproc__pools_unlock();
  return 0;
}

void mproc_future_free(mproc_future *f) {
  if (f == NULL)
    return;
  mproc__pools_lock();
  mproc__job_unref(job_of(f));
  mproc__pools_unlock();
}

int mproc_as_completed_new(mproc_future *const *futures, size_t n,
                           double timeout, mproc_as_completed **out) {
  if (out == NULL || (futures == NULL && n > 0))
    return MPROC_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (futures[i] == NULL)
      return MPROC_EINVAL;
  mproc_as_completed *it = calloc(1, sizeof *it);
  if (it == NULL)
    return MPROC_ENOMEM;
  int rc = mproc__deadline_init(&it->deadline, timeout, MPROC_FOREVER);
  it->jobs = calloc(n ? n : 1, sizeof *it->jobs);
  it->yielded = calloc(n ? n : 1, sizeof *it->yielded);
  if (rc != 0 || it->jobs == NULL || it->yielded == NULL) {
    free(it->jobs);
    free(it->yielded);
    free(it);
    return rc != 0 ? rc : MPROC_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    it->jobs[i] = job_of(futures[i]);
  it->n = it->left = n;
  *out = it;
  return 0;
}

int mproc_as_completed_next(mproc_as_completed *it, mproc_future **next) {
  if (it == NULL || next == NULL)
    return MPROC_EINVAL;
  mproc__pools_lock();
  for (;;) {
    if (it->left == 0) {
      mproc__pools_unlock();
      return MPROC_EEOF;
    }
    /* The earliest completed one not yet yielded. */
    size_t best = it->n;
    for (size_t i = 0; i < it->n; i++)
      if (!it->yielded[i] && it->jobs[i]->finished &&
          (best == it->n || it->jobs[i]->done_seq < it->jobs[best]->done_seq))
        best = i;
    if (best < it->n) {
      it->yielded[best] = true;
      it->left--;
      *next = (mproc_future *)it->jobs[best];
      mproc__pools_unlock();
      return 0;
    }
    int rc = mproc__pools_wait(&it->deadline);
    if (rc != 0) {
      mproc__pools_unlock();
      return rc;
    }
  }
}

void mproc_as_completed_free(mproc_as_completed *it) {
  if (it == NULL)
    return;
  free(it->jobs);
  free(it->yielded);
  free(it);
}

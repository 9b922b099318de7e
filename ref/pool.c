/* Pool, AsyncResult and the imap iterators: the documented Pool's API over
 * the worker engine (workers.c).  An async result and an iterator are the
 * engine's job object seen through a public name. */
#include "workers.h"

#include <stdlib.h>

struct mproc_pool {
  mproc__engine *eng;
};

static mproc__job *job_of(const void *handle) { return (mproc__job *)handle; }

int mproc_pool_new(mproc_pool **out, const mproc_pool_options *opts) {
  if (out == NULL)
    return MPROC_EINVAL;
  mproc__engine_options o = {0};
  if (opts != NULL) {
    o.processes = opts->processes;
    o.initializer = opts->initializer;
    o.initarg = opts->initarg;
    o.maxtasks = opts->maxtasksperchild;
    o.max_message = opts->max_message;
  }
  mproc_pool *p = calloc(1, sizeof *p);
  if (p == NULL)
    return MPROC_ENOMEM;
  int rc = mproc__engine_new(&p->eng, &o, p);
  if (rc != 0) {
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

static int submit(mproc_pool *pool, mproc__job_kind kind, mproc_task_fn fn,
                  const mproc_obj *args, size_t chunksize, bool star,
                  const mproc_callbacks *cb, void **out) {
  if (pool == NULL || out == NULL)
    return MPROC_EINVAL;
  mproc__job *j;
  int rc = mproc__engine_submit(pool->eng, kind, fn, args, chunksize, star,
                                cb, &j);
  if (rc == 0)
    *out = j;
  return rc;
}

int mproc_pool_apply_async(mproc_pool *pool, mproc_task_fn fn,
                           const mproc_obj *arg, const mproc_callbacks *cb,
                           mproc_async_result **out) {
  return submit(pool, MPROC__JOB_APPLY, fn, arg, 1, false, cb, (void **)out);
}

int mproc_pool_map_async(mproc_pool *pool, mproc_task_fn fn,
                         const mproc_obj *args, size_t chunksize,
                         const mproc_callbacks *cb,
                         mproc_async_result **out) {
  return submit(pool, MPROC__JOB_MAP, fn, args, chunksize, false, cb,
                (void **)out);
}

int mproc_pool_starmap_async(mproc_pool *pool, mproc_task_fn fn,
                             const mproc_obj *args, size_t chunksize,
                             const mproc_callbacks *cb,
                             mproc_async_result **out) {
  return submit(pool, MPROC__JOB_MAP, fn, args, chunksize, true, cb,
                (void **)out);
}

int mproc_pool_imap(mproc_pool *pool, mproc_task_fn fn,
                    const mproc_obj *args, size_t chunksize,
                    mproc_imap **out) {
  return submit(pool, MPROC__JOB_IMAP, fn, args, chunksize ? chunksize : 1,
                false, NULL, (void **)out);
}

int mproc_pool_imap_unordered(mproc_pool *pool, mproc_task_fn fn,
                              const mproc_obj *args, size_t chunksize,
                              mproc_imap **out) {
  return submit(pool, MPROC__JOB_IMAP_UNORDERED, fn, args,
                chunksize ? chunksize : 1, false, NULL, (void **)out);
}

/* Submits and waits without limit.  A pool already broken refuses the
 * submission; the caller still learns why, as from get(). */
static int blocking(mproc_pool *pool, int rc, mproc_async_result *r,
                    mproc_obj **result, mproc_task_error *err) {
  if (rc == MPROC_EBROKEN)
    mproc__engine_broken_error(pool->eng, err);
  if (rc != 0)
    return rc;
  rc = mproc_async_result_get(r, MPROC_FOREVER, result, err);
  mproc_async_result_free(r);
  return rc;
}

int mproc_pool_apply(mproc_pool *pool, mproc_task_fn fn,
                     const mproc_obj *arg, mproc_obj **result,
                     mproc_task_error *err) {
  if (result == NULL)
    return MPROC_EINVAL;
  mproc_async_result *r = NULL;
  int rc = mproc_pool_apply_async(pool, fn, arg, NULL, &r);
  return blocking(pool, rc, r, result, err);
}

int mproc_pool_map(mproc_pool *pool, mproc_task_fn fn, const mproc_obj *args,
                   size_t chunksize, mproc_obj **result,
                   mproc_task_error *err) {
  if (result == NULL)
    return MPROC_EINVAL;
  mproc_async_result *r = NULL;
  int rc = mproc_pool_map_async(pool, fn, args, chunksize, NULL, &r);
  return blocking(pool, rc, r, result, err);
}

int mproc_pool_starmap(mproc_pool *pool, mproc_task_fn fn,
                       const mproc_obj *args, size_t chunksize,
                       mproc_obj **result, mproc_task_error *err) {
  if (result == NULL)
    return MPROC_EINVAL;
  mproc_async_result *r = NULL;
  int rc = mproc_pool_starmap_async(pool, fn, args, chunksize, NULL, &r);
  return blocking(pool, rc, r, result, err);
}

/* Waits until the job is ready (lock held). */
static int wait_ready(mproc__job *j, const mproc__deadline *d) {
  while (!j->finished) {
    int rc = mproc__pools_wait(d);
    if (rc != 0 && !j->finished)
      return rc;
  }
  return 0;
}

int mproc_async_result_get(mproc_async_result *r, double timeout,
                           mproc_obj **result, mproc_task_error *err) {
  mproc__job *j = job_of(r);
  if (j == NULL || result == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  rc = wait_ready(j, &d);
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

int mproc_async_result_wait(mproc_async_result *r, double timeout) {
  mproc__job *j = job_of(r);
  if (j == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  rc = wait_ready(j, &d);
  mproc__pools_unlock();
  return rc;
}

bool mproc_async_result_ready(mproc_async_result *r) {
  mproc__job *j = job_of(r);
  if (j == NULL)
    return false;
  mproc__pools_lock();
  bool ready = j->finished;
  mproc__pools_unlock();
  return ready;
}

int mproc_async_result_successful(mproc_async_result *r, bool *ok) {
  mproc__job *j = job_of(r);
  if (j == NULL || ok == NULL)
    return MPROC_EINVAL;
  mproc__pools_lock();
  int rc = j->finished ? 0 : MPROC_ESTATE;
  if (rc == 0)
    *ok = j->rc == 0;
  mproc__pools_unlock();
  return rc;
}

void mproc_async_result_free(mproc_async_result *r) {
  if (r == NULL)
    return;
  mproc__pools_lock();
  mproc__job_unref(job_of(r));
  mproc__pools_unlock();
}

int mproc_imap_next(mproc_imap *it, double timeout, mproc_obj **result,
                    mproc_task_error *err) {
  mproc__job *j = job_of(it);
  if (j == NULL || result == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  mproc__pools_lock();
  rc = mproc__job_next(j, &d, result, err);
  mproc__pools_unlock();
  return rc;
}

void mproc_imap_free(mproc_imap *it) {
  mproc_async_result_free((mproc_async_result *)it);
}

int mproc_pool_close(mproc_pool *pool) {
  if (pool == NULL)
    return MPROC_EINVAL;
  mproc__engine_close(pool->eng);
  return 0;
}

int mproc_pool_terminate(mproc_pool *pool) {
  if (pool == NULL)
    return MPROC_EINVAL;
  mproc__engine_terminate(pool->eng);
  return 0;
}

int mproc_pool_join(mproc_pool *pool, double timeout) {
  if (pool == NULL)
    return MPROC_EINVAL;
  mproc__deadline d;
  int rc = mproc__deadline_init(&d, timeout, MPROC_FOREVER);
  if (rc != 0)
    return rc;
  return mproc__engine_join(pool->eng, &d);
}

void mproc_pool_free(mproc_pool *pool) {
  if (pool == NULL)
    return;
  mproc__engine_free(pool->eng);
  free(pool);
}

void mproc_pool_freep(mproc_pool **pool) {
  if (pool != NULL) {
    mproc_pool_free(*pool);
    *pool = NULL;
  }
}

/* Scenarios for Pool and Executor: tasks that succeed, fail or crash,
 * chosen from the seed; every task must be accounted for exactly once: a
 * correct result, its own error, or a worker-lost (pool) / broken
 * (executor) error where a crash or chaos explains it. */
#include "stress.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum task_kind { TASK_OK, TASK_FAIL, TASK_CRASH };

/* The leader's context, inherited by the workers the pool forks. */
static st_ctx *task_ctx;

/* arg: [x, kind, result size].  A success returns [2x + 1, payload]. */
static int stress_task(const mproc_obj *arg, mproc_obj **result)
{
  int64_t x = 0, kind = 0, size = 0;
  mproc_obj *r;
  st_register_worker(task_ctx);
  mproc_obj_get_int(mproc_obj_list_get(arg, 0), &x);
  mproc_obj_get_int(mproc_obj_list_get(arg, 1), &kind);
  mproc_obj_get_int(mproc_obj_list_get(arg, 2), &size);
  if (kind == TASK_FAIL)
    return mproc_task_fail(1000 + (int)(x % 7), "task %lld failed",
                           (long long)x);
  if (kind == TASK_CRASH) {
    if (x % 2)
      kill(getpid(), SIGKILL);
    _exit(7);
  }
  void *p = st_payload_make(0xffff, (uint64_t)x, (size_t)size);
  r = mproc_obj_list();
  mproc_obj_list_append(r, mproc_obj_int(2 * x + 1));
  mproc_obj_list_append(
      r, p != NULL ? mproc_obj_bytes(p, ((st_payload_hdr *)p)->len) : NULL);
  free(p);
  *result = r;
  return r != NULL && mproc_obj_len(r) == 2 ? 0 : 1;
}

static mproc_obj *task_arg(int64_t x, int kind, size_t size)
{
  mproc_obj *a = mproc_obj_list();
  mproc_obj_list_append(a, mproc_obj_int(x));
  mproc_obj_list_append(a, mproc_obj_int(kind));
  mproc_obj_list_append(a, mproc_obj_int((int64_t)size));
  return a;
}

static int pick_kind(st_rng *r, unsigned crash_percent)
{
  uint64_t k = st_rng_below(r, 100);
  return k < crash_percent ? TASK_CRASH : k < crash_percent + 10 ? TASK_FAIL
                                                                 : TASK_OK;
}

/* Checks a successful result for item x. */
static void check_value(st_ctx *ctx, int64_t x, const mproc_obj *v)
{
  int64_t y = 0;
  size_t len = 0;
  const void *p = mproc_obj_bytes_value(mproc_obj_list_get(v, 1), &len);
  st_payload_hdr h;
  const char *bad = p != NULL ? st_payload_check(p, len, &h) : "no payload";
  if (mproc_obj_get_int(mproc_obj_list_get(v, 0), &y) != 0 || y != 2 * x + 1)
    st_fail(ctx, "task %lld returned %lld", (long long)x, (long long)y);
  else if (bad != NULL || h.seq != (uint64_t)x)
    st_fail(ctx, "task %lld's result: %s", (long long)x,
            bad != NULL ? bad : "another task's payload");
}

/* Checks an item's outcome against what it was meant to do.  `lost_ok`:
 * a worker loss is explained (a crash in its chunk, or chaos). */
static void check_outcome(st_ctx *ctx, int64_t x, int kind, int rc,
                          const mproc_obj *v, const mproc_task_error *err,
                          bool lost_ok)
{
  if (rc == MPROC_EWORKERLOST && (kind == TASK_CRASH || lost_ok)) {
    st_count(ctx, 3, 1);
    return;
  }
  switch (kind) {
  case TASK_OK:
    if (rc == 0)
      check_value(ctx, x, v);
    else
      st_fail(ctx, "task %lld should succeed, got %s (%s)", (long long)x,
              mproc_err_name(rc), err->message);
    st_count(ctx, 1, 1);
    break;
  case TASK_FAIL:
    ST_CHECK(ctx, rc == MPROC_ETASK && err->code == 1000 + (int)(x % 7),
             "task %lld should fail with ETASK %d, got %s code %d",
             (long long)x, 1000 + (int)(x % 7), mproc_err_name(rc), err->code);
    st_count(ctx, 2, 1);
    break;
  default:
    st_fail(ctx, "crashing task %lld gave %s, not EWORKERLOST", (long long)x,
            mproc_err_name(rc));
  }
}

/* ------------------------------------------------------------------------ */
/* pool                                                                     */
/* ------------------------------------------------------------------------ */

#define POOL_MAX_JOBS (1u << 20)

struct callback_log {
  _Atomic uint8_t called[POOL_MAX_JOBS / 8];
  _Atomic uint64_t calls, twice;
};
static struct callback_log *cblog;

static void cb_mark(uintptr_t id)
{
  atomic_fetch_add(&cblog->calls, 1);
  if (atomic_fetch_or(&cblog->called[id / 8], (uint8_t)(1u << id % 8)) &
      (1u << id % 8))
    atomic_fetch_add(&cblog->twice, 1);
}
static void cb_result(const mproc_obj *r, void *ud)
{
  (void)r;
  cb_mark((uintptr_t)ud);
}
static void cb_error(const mproc_task_error *e, void *ud)
{
  (void)e;
  cb_mark((uintptr_t)ud);
}

/* Waits for a job with short timeouts, as impatient callers do. */
static int get_patiently(st_ctx *ctx, mproc_async_result *r, mproc_obj **v,
                         mproc_task_error *err)
{
  for (;;) {
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
    int rc;
    st_op(ctx, "async_result get (timeout %g)", t);
    rc = mproc_async_result_get(r, t, v, err);
    st_done(ctx, rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT);
    if (rc != MPROC_EAGAIN && rc != MPROC_ETIMEDOUT)
      return rc;
  }
}

static void pool_batch_apply(st_ctx *ctx, mproc_pool *pool, int64_t *x,
                             uint64_t *apply_jobs)
{
  enum { N = 16 };
  mproc_async_result *r[N];
  int kind[N];
  int64_t first = *x;
  for (int i = 0; i < N; i++) {
    mproc_callbacks cb = {cb_result, cb_error,
                          (void *)(uintptr_t)(*apply_jobs % POOL_MAX_JOBS)};
    mproc_obj *a;
    kind[i] = pick_kind(&ctx->rng, 3);
    a = task_arg(*x, kind[i], st_rng_size(&ctx->rng, 256 << 10));
    (*x)++;
    (*apply_jobs)++;
    st_op(ctx, "pool apply_async");
    ST_OK(ctx, mproc_pool_apply_async(pool, stress_task, a, &cb, &r[i]));
    mproc_obj_free(a);
    st_done(ctx, false);
  }
  for (int i = 0; i < N; i++) {
    mproc_obj *v = NULL;
    mproc_task_error err = {0};
    int rc = get_patiently(ctx, r[i], &v, &err);
    check_outcome(ctx, first + i, kind[i], rc, v, &err, ctx->cfg->chaos);
    mproc_obj_free(v);
    mproc_async_result_free(r[i]);
  }
}

/* map_async, imap or imap_unordered over one list. */
static void pool_batch_map(st_ctx *ctx, mproc_pool *pool, int64_t *x)
{
  enum { N = 64 };
  int kind[N], how = (int)st_rng_below(&ctx->rng, 3);
  size_t chunk = 1 + (size_t)st_rng_below(&ctx->rng, 8);
  bool chunk_crashed[N] = {false}, seen[N] = {false};
  int64_t first = *x;
  mproc_obj *args = mproc_obj_list();
  for (int i = 0; i < N; i++) {
    kind[i] = pick_kind(&ctx->rng, 1);
    if (kind[i] == TASK_CRASH)
      for (size_t k = (size_t)i / chunk * chunk;
           k < ((size_t)i / chunk + 1) * chunk && k < N; k++)
        chunk_crashed[k] = true;
    mproc_obj_list_append(args, task_arg(*x + i, kind[i],
                                         st_rng_size(&ctx->rng, 4096)));
  }
  *x += N;
  if (how == 0) {
    mproc_async_result *r = NULL;
    mproc_obj *v = NULL;
    mproc_task_error err = {0};
    bool any_fail = false, any_crash = false;
    int rc;
    st_op(ctx, "pool map_async (chunksize %zu)", chunk);
    ST_OK(ctx, mproc_pool_map_async(pool, stress_task, args, chunk, NULL, &r));
    st_done(ctx, false);
    rc = get_patiently(ctx, r, &v, &err);
    for (int i = 0; i < N; i++) {
      any_fail |= kind[i] == TASK_FAIL;
      any_crash |= kind[i] == TASK_CRASH;
    }
    if (rc == 0) {
      ST_CHECK(ctx, !any_fail && !any_crash,
               "map_async succeeded though some of its tasks fail");
      for (int i = 0; i < N && rc == 0; i++)
        check_value(ctx, first + i, mproc_obj_list_get(v, (size_t)i));
      st_count(ctx, 1, N);
    } else {
      ST_CHECK(ctx, (rc == MPROC_ETASK && any_fail) ||
                        (rc == MPROC_EWORKERLOST &&
                         (any_crash || ctx->cfg->chaos)),
               "map_async gave %s (tasks failing: %d, crashing: %d)",
               mproc_err_name(rc), any_fail, any_crash);
    }
    mproc_obj_free(v);
    mproc_async_result_free(r);
  } else {
    mproc_imap *it = NULL;
    int outcomes = 0;
    st_op(ctx, "pool %s (chunksize %zu)", how == 1 ? "imap" : "imap_unordered",
          chunk);
    if (how == 1)
      ST_OK(ctx, mproc_pool_imap(pool, stress_task, args, chunk, &it));
    else
      ST_OK(ctx, mproc_pool_imap_unordered(pool, stress_task, args, chunk,
                                           &it));
    st_done(ctx, false);
    for (;;) {
      mproc_obj *v = NULL;
      mproc_task_error err = {0};
      int rc;
      st_op(ctx, "imap_next, %d of %d", outcomes, N);
      rc = mproc_imap_next(it, MPROC_FOREVER, &v, &err);
      st_done(ctx, false);
      if (rc == MPROC_EEOF)
        break;
      if (how == 1) {
        if (outcomes < N)
          check_outcome(ctx, first + outcomes, kind[outcomes], rc, v, &err,
                        chunk_crashed[outcomes] || ctx->cfg->chaos);
      } else {
        /* Unordered: identify the item by its value or its message. */
        long long id = -1;
        int64_t y = -1;
        if (rc == 0 && mproc_obj_get_int(mproc_obj_list_get(v, 0), &y) == 0)
          id = (long long)(y - 1) / 2;
        else if (rc == MPROC_ETASK && sscanf(err.message, "task %lld failed",
                                             &id) != 1)
          id = -1;
        if (rc == MPROC_EWORKERLOST) {
          st_count(ctx, 3, 1);
        } else if (id < first || id >= first + N) {
          st_fail(ctx, "imap_unordered gave %s for an unknown item",
                  mproc_err_name(rc));
        } else {
          ST_CHECK(ctx, !seen[id - first], "item %lld was reported twice",
                   id);
          seen[id - first] = true;
          check_outcome(ctx, id, kind[id - first], rc, v, &err, false);
        }
      }
      mproc_obj_free(v);
      outcomes++;
    }
    ST_CHECK(ctx, outcomes == N, "imap gave %d outcomes for %d items",
             outcomes, N);
    if (how == 2)
      for (int i = 0; i < N; i++)
        ST_CHECK(ctx, seen[i] || chunk_crashed[i] || ctx->cfg->chaos,
                 "imap_unordered never reported item %lld",
                 (long long)(first + i));
    mproc_imap_free(it);
  }
  mproc_obj_free(args);
}

void st_scenario_pool(st_ctx *ctx)
{
  mproc_pool_options o = {0};
  mproc_pool *pool = NULL;
  mproc_process agent;
  int64_t x = 0;
  uint64_t apply_jobs = 0, n;
  mproc_async_result *late = NULL;
  mproc_obj *a;
  task_ctx = ctx;
  cblog = st_share(sizeof *cblog);
  o.processes = (unsigned)ctx->cfg->procs;
  o.maxtasksperchild =
      st_rng_chance(&ctx->rng, 50) ? 0 : 1 + (unsigned)st_rng_below(&ctx->rng, 20);
  st_count_name(ctx, 0, "tasks");
  st_count_name(ctx, 1, "succeeded");
  st_count_name(ctx, 2, "failed");
  st_count_name(ctx, 3, "worker_lost");
  st_count_name(ctx, 4, "maxtasksperchild");
  st_count(ctx, 4, o.maxtasksperchild);
  /* The agent first: forked while the pool's result thread runs, it
   * would hold copies of that thread's allocations that nothing in it
   * points to (Valgrind's "definitely lost"). */
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs * 2);
  ST_OK(ctx, mproc_pool_new(&pool, &o));
  for (n = 0; st_more(ctx, n) && apply_jobs + 16 < POOL_MAX_JOBS; n++) {
    int64_t before = x;
    if (st_rng_chance(&ctx->rng, 50))
      pool_batch_apply(ctx, pool, &x, &apply_jobs);
    else
      pool_batch_map(ctx, pool, &x);
    st_count(ctx, 0, (uint64_t)(x - before));
  }
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  ST_OK(ctx, mproc_pool_close(pool));
  a = task_arg(0, TASK_OK, 0);
  ST_CHECK(ctx,
           mproc_pool_apply_async(pool, stress_task, a, NULL, &late) ==
               MPROC_ESTATE,
           "apply_async on a closed pool did not give ESTATE");
  mproc_obj_free(a);
  st_op(ctx, "pool join");
  ST_OK(ctx, mproc_pool_join(pool, MPROC_FOREVER));
  st_done(ctx, false);
  ST_CHECK(ctx, atomic_load(&cblog->calls) == apply_jobs &&
                    atomic_load(&cblog->twice) == 0,
           "%llu apply jobs, %llu callbacks (%llu twice)",
           (unsigned long long)apply_jobs,
           (unsigned long long)atomic_load(&cblog->calls),
           (unsigned long long)atomic_load(&cblog->twice));
  mproc_pool_free(pool);
  st_unshare(cblog, sizeof *cblog);
}

/* ------------------------------------------------------------------------ */
/* executor                                                                 */
/* ------------------------------------------------------------------------ */

struct fut_rec {
  mproc_future *f;
  int64_t x;
  int kind;
  bool cancelled, yielded;
  _Atomic int callbacks;
};

static void fut_done(mproc_future *f, void *ud)
{
  (void)f;
  atomic_fetch_add(&((struct fut_rec *)ud)->callbacks, 1);
}

void st_scenario_executor(st_ctx *ctx)
{
  enum { N = 24 };
  mproc_executor_options o = {0};
  mproc_executor *ex = NULL;
  mproc_process agent;
  int64_t x = 0;
  uint64_t executors = 1;
  task_ctx = ctx;
  o.max_workers = (unsigned)ctx->cfg->procs;
  st_count_name(ctx, 0, "tasks");
  st_count_name(ctx, 1, "succeeded");
  st_count_name(ctx, 2, "failed");
  st_count_name(ctx, 3, "broken_or_cancelled");
  st_count_name(ctx, 4, "executors");
  if (ctx->cfg->chaos) /* before the result thread, as in the pool */
    st_chaos_start(ctx, &agent, ctx->cfg->procs * 2);
  ST_OK(ctx, mproc_executor_new(&ex, &o));
  for (uint64_t n = 0; st_more(ctx, n); n++) {
    struct fut_rec rec[N];
    mproc_future *fs[N];
    mproc_as_completed *it = NULL;
    bool any_crash = false, broken = false;
    int nf = 0;
    memset(rec, 0, sizeof rec);
    for (int i = 0; i < N; i++) {
      mproc_obj *a;
      int rc;
      rec[i].x = x++;
      rec[i].kind = pick_kind(&ctx->rng, 2);
      any_crash |= rec[i].kind == TASK_CRASH;
      a = task_arg(rec[i].x, rec[i].kind, st_rng_size(&ctx->rng, 64 << 10));
      st_op(ctx, "executor submit");
      rc = mproc_executor_submit(ex, stress_task, a, &rec[i].f);
      mproc_obj_free(a);
      st_done(ctx, false);
      if (rc == MPROC_EBROKEN) {
        broken = true;
        break;
      }
      ST_OK(ctx, rc);
      if (rc != 0)
        break;
      ST_OK(ctx, mproc_future_add_done_callback(rec[i].f, fut_done, &rec[i]));
      if (st_rng_chance(&ctx->rng, 10))
        rec[i].cancelled = mproc_future_cancel(rec[i].f) == 0;
      fs[nf++] = rec[i].f;
    }
    st_count(ctx, 0, (uint64_t)nf);
    ST_OK(ctx, mproc_as_completed_new(fs, (size_t)nf, MPROC_FOREVER, &it));
    for (int k = 0;; k++) {
      mproc_future *f = NULL;
      int rc;
      st_op(ctx, "as_completed next, %d of %d", k, nf);
      rc = mproc_as_completed_next(it, &f);
      st_done(ctx, false);
      if (rc == MPROC_EEOF) {
        ST_CHECK(ctx, k == nf, "as_completed yielded %d of %d futures", k,
                 nf);
        break;
      }
      if (rc != 0) {
        st_fail(ctx, "as_completed next returned %s", mproc_err_name(rc));
        break;
      }
      for (int i = 0; i < nf; i++)
        if (rec[i].f == f) {
          mproc_obj *v = NULL;
          mproc_task_error err = {0};
          ST_CHECK(ctx, !rec[i].yielded, "a future was yielded twice");
          rec[i].yielded = true;
          rc = mproc_future_result(f, 0, &v, &err);
          if (rc == MPROC_ECANCELLED) {
            ST_CHECK(ctx, rec[i].cancelled, "an uncancelled future gave "
                                            "ECANCELLED");
            st_count(ctx, 3, 1);
          } else if (rc == MPROC_EBROKEN) {
            ST_CHECK(ctx, any_crash || ctx->cfg->chaos,
                     "EBROKEN without a crash or chaos");
            broken = true;
            st_count(ctx, 3, 1);
          } else {
            ST_CHECK(ctx, !rec[i].cancelled, "a cancelled future ran");
            check_outcome(ctx, rec[i].x, rec[i].kind, rc, v, &err, false);
          }
          mproc_obj_free(v);
        }
    }
    mproc_as_completed_free(it);
    if (broken) {
      /* A worker died: the executor is broken for good; replace it. */
      mproc_future *f = NULL;
      mproc_obj *a = task_arg(0, TASK_OK, 0);
      int rc = mproc_executor_submit(ex, stress_task, a, &f);
      mproc_obj_free(a);
      ST_CHECK(ctx, rc == MPROC_EBROKEN,
               "submit to a broken executor gave %s", mproc_err_name(rc));
      mproc_future_free(f);
      st_op(ctx, "free a broken executor");
      mproc_executor_free(ex);
      st_done(ctx, false);
      ex = NULL;
    }
    for (int i = 0; i < nf; i++) {
      if (broken)
        ST_CHECK(ctx, atomic_load(&rec[i].callbacks) == 1,
                 "a future's done callback ran %d times",
                 atomic_load(&rec[i].callbacks));
      else {
        /* The callbacks run in the result thread, maybe just after the
         * future is done: wait for them (bounded by the watchdog). */
        st_op(ctx, "wait for a done callback");
        while (atomic_load(&rec[i].callbacks) == 0)
          st_pause_ms(0.2);
        st_done(ctx, false);
        ST_CHECK(ctx, atomic_load(&rec[i].callbacks) == 1,
                 "a future's done callback ran %d times",
                 atomic_load(&rec[i].callbacks));
      }
      mproc_future_free(rec[i].f);
    }
    if (ex == NULL) {
      ST_OK(ctx, mproc_executor_new(&ex, &o));
      executors++;
    }
  }
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  st_op(ctx, "executor shutdown");
  ST_OK(ctx, mproc_executor_shutdown(ex, true, false));
  st_done(ctx, false);
  mproc_executor_free(ex);
  st_count(ctx, 4, executors);
}

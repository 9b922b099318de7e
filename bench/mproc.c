/* The workloads through libmproc's public API, shaped like the documented
 * system's examples so that they match bench/bench.py line for line. */
#include "bench.h"

#include <mproc.h>
#include <stdlib.h>
#include <string.h>

/* Stops the workload with a failure when a call does not return 0. */
#define TRY(call)                                                             \
  do {                                                                        \
    if ((call) != 0)                                                          \
      goto fail;                                                              \
  } while (0)

static int exit_at_once(void *arg) {
  (void)arg;
  return 0;
}

/* Starts `n` children running `target(args[i])` into `procs[i]`. */
static int start_all(mproc_process *procs, int n, mproc_target_fn target,
                     void *const *args) {
  for (int i = 0; i < n; i++) {
    mproc_process_options o = {.target = target, .arg = args ? args[i] : NULL};
    if (mproc_process_init(&procs[i], &o) != 0 ||
        mproc_process_start(&procs[i]) != 0)
      return -1;
  }
  return 0;
}

/* Joins and closes `n` children; -1 unless every one exited with 0. */
static int join_all(mproc_process *procs, int n) {
  int rc = 0, code;
  for (int i = 0; i < n; i++) {
    if (mproc_process_join(&procs[i], MPROC_FOREVER) != 0 ||
        mproc_process_exitcode(&procs[i], &code) != 0 || code != 0)
      rc = -1;
    mproc_process_close(&procs[i]);
  }
  return rc;
}

/* ---- process start + join ---- */

double lib_start_join(const bench_params *p) {
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    mproc_process proc;
    if (start_all(&proc, 1, exit_at_once, NULL) != 0 || join_all(&proc, 1) != 0)
      return -1;
  }
  return bench_now() - t0;
}

/* ---- uncontended Lock ---- */

double lib_lock(const bench_params *p) {
  mproc_lock *l = NULL;
  double t = -1;
  TRY(mproc_lock_new(&l));
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    TRY(mproc_lock_acquire(l, MPROC_FOREVER));
    TRY(mproc_lock_release(l));
  }
  t = bench_now() - t0;
fail:
  mproc_lock_free(l);
  return t;
}

/* ---- the counter: with counter.get_lock(): counter.value += 1 ---- */

struct counter_job {
  mproc_value *value;
  long n;
};

static int count_up(void *arg) {
  struct counter_job *job = arg;
  mproc_lock *l = mproc_value_get_lock(job->value);
  int *v = mproc_value_ptr(job->value);
  for (long i = 0; i < job->n; i++) {
    if (mproc_lock_acquire(l, MPROC_FOREVER) != 0)
      return 1;
    (*v)++;
    if (mproc_lock_release(l) != 0)
      return 1;
  }
  return 0;
}

double lib_counter(const bench_params *p) {
  struct counter_job job = {.n = p->n};
  mproc_process procs[p->procs];
  void *args[p->procs];
  double t = -1;
  TRY(mproc_value_new(&job.value, 'i', NULL));
  for (int k = 0; k < p->procs; k++)
    args[k] = &job;
  double t0 = bench_now();
  TRY(start_all(procs, p->procs, count_up, args));
  TRY(join_all(procs, p->procs));
  t = bench_now() - t0;
  if (*(int *)mproc_value_ptr(job.value) != (int)(p->n * p->procs))
    t = -1;
fail:
  mproc_value_free(job.value);
  return t;
}

/* ---- Pipe round trip of a small value ---- */

struct echo_job {
  mproc_conn *mine, *theirs;
};

static int echo(void *arg) {
  struct echo_job *job = arg;
  mproc_obj *o;
  mproc_conn_close(job->theirs);
  while (mproc_conn_recv(job->mine, &o, MPROC_FOREVER) == 0) {
    int rc = mproc_conn_send(job->mine, o);
    mproc_obj_free(o);
    if (rc != 0)
      return 1;
  }
  return 0;
}

/* One round trip: send `o`, receive the echo. */
static int round_trip(mproc_conn *c, const mproc_obj *o) {
  mproc_obj *back = NULL;
  int rc = mproc_conn_send(c, o);
  if (rc == 0)
    rc = mproc_conn_recv(c, &back, MPROC_FOREVER);
  if (rc == 0 && !mproc_obj_equal(o, back))
    rc = -1;
  mproc_obj_free(back);
  return rc;
}

double lib_pipe_rtt(const bench_params *p) {
  struct echo_job job = {NULL, NULL};
  mproc_obj *o = mproc_obj_int(42);
  mproc_process proc;
  void *arg = &job;
  double t = -1;
  TRY(o == NULL);
  TRY(mproc_pipe(&job.theirs, &job.mine, NULL));
  TRY(start_all(&proc, 1, echo, &arg));
  mproc_conn_close(job.mine);
  TRY(round_trip(job.theirs, o)); /* the child is running from here on */
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++)
    TRY(round_trip(job.theirs, o));
  t = bench_now() - t0;
  mproc_conn_close(job.theirs);
  TRY(join_all(&proc, 1));
  goto done;
fail:
  t = -1;
done:
  mproc_conn_free(job.theirs);
  mproc_conn_free(job.mine);
  mproc_obj_free(o);
  return t;
}

/* ---- Queue: producers put n / procs items each, consumers get as many ---- */

struct queue_job {
  mproc_queue *q;
  long n;
  size_t size; /* 0: small ints; else bytes items of this size */
};

static int put_items(void *arg) {
  struct queue_job *job = arg;
  mproc_obj *big = NULL;
  if (job->size) {
    char *buf = calloc(1, job->size);
    big = buf ? mproc_obj_bytes(buf, job->size) : NULL;
    free(buf);
    if (big == NULL)
      return 1;
  }
  int rc = 0;
  for (long i = 0; i < job->n && rc == 0; i++) {
    if (big) {
      rc = mproc_queue_put(job->q, big, MPROC_FOREVER);
    } else {
      mproc_obj *o = mproc_obj_int(i);
      rc = o ? mproc_queue_put(job->q, o, MPROC_FOREVER) : -1;
      mproc_obj_free(o);
    }
  }
  mproc_obj_free(big);
  return rc == 0 ? 0 : 1;
}

static int get_items(void *arg) {
  struct queue_job *job = arg;
  for (long i = 0; i < job->n; i++) {
    mproc_obj *o;
    if (mproc_queue_get(job->q, &o, MPROC_FOREVER) != 0)
      return 1;
    size_t len = mproc_obj_len(o);
    mproc_obj_free(o);
    if (job->size && len != job->size)
      return 1;
  }
  return 0;
}

/* procs producers and procs consumers, or with consume_here one producer
 * child and the calling process as the consumer. */
static double queue_run(long n, int procs, size_t size, bool consume_here) {
  struct queue_job job = {.n = n / procs, .size = size};
  int nprocs = consume_here ? 1 : 2 * procs;
  mproc_process children[nprocs];
  void *args[nprocs];
  double t = -1;
  TRY(mproc_queue_new(&job.q, NULL));
  for (int k = 0; k < nprocs; k++)
    args[k] = &job;
  double t0 = bench_now();
  for (int k = 0; k < nprocs; k++)
    TRY(start_all(&children[k], 1, k < procs ? put_items : get_items, &args[k]));
  if (consume_here)
    TRY(get_items(&job));
  TRY(join_all(children, nprocs));
  t = bench_now() - t0;
fail:
  mproc_queue_free(job.q);
  return t;
}

double lib_queue_1p1c(const bench_params *p) {
  return queue_run(p->n, 1, 0, true);
}

double lib_queue_bandwidth(const bench_params *p) {
  return queue_run(p->n, 1, p->size, true);
}

double lib_queue_npnc(const bench_params *p) {
  return queue_run(p->n, p->procs, 0, false);
}

/* ---- Pool and executor: a trivial task ---- */

static int twice(const mproc_obj *arg, mproc_obj **result) {
  int64_t x;
  if (mproc_obj_get_int(arg, &x) != 0)
    return mproc_task_fail(1, "not an int");
  *result = mproc_obj_int(2 * x);
  return *result ? 0 : 1;
}

/* A pool whose workers are running: one task has been through it. */
static int pool_ready(mproc_pool **pool, int procs) {
  mproc_pool_options po = {.processes = (unsigned)procs};
  mproc_obj *one = mproc_obj_int(1), *r = NULL;
  int rc = one ? mproc_pool_new(pool, &po) : MPROC_ENOMEM;
  if (rc == 0)
    rc = mproc_pool_apply(*pool, twice, one, &r, NULL);
  mproc_obj_free(r);
  mproc_obj_free(one);
  return rc;
}

static mproc_obj *int_list(long n) {
  mproc_obj *l = mproc_obj_list();
  for (long i = 0; l && i < n; i++)
    if (mproc_obj_list_append(l, mproc_obj_int(i)) != 0) {
      mproc_obj_free(l);
      l = NULL;
    }
  return l;
}

double lib_pool_map(const bench_params *p) {
  mproc_pool *pool = NULL;
  mproc_obj *args = int_list(p->n), *res = NULL;
  double t = -1;
  TRY(args == NULL);
  TRY(pool_ready(&pool, p->procs));
  double t0 = bench_now();
  TRY(mproc_pool_map(pool, twice, args, 0, &res, NULL));
  t = bench_now() - t0;
  if (mproc_obj_len(res) != (size_t)p->n)
    t = -1;
fail:
  mproc_obj_free(res);
  mproc_obj_free(args);
  mproc_pool_free(pool);
  return t;
}

double lib_apply_async(const bench_params *p) {
  mproc_pool *pool = NULL;
  mproc_obj *one = mproc_obj_int(1);
  double t = -1;
  TRY(one == NULL);
  TRY(pool_ready(&pool, p->procs));
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    mproc_async_result *ar;
    mproc_obj *r = NULL;
    TRY(mproc_pool_apply_async(pool, twice, one, NULL, &ar));
    int rc = mproc_async_result_get(ar, MPROC_FOREVER, &r, NULL);
    mproc_async_result_free(ar);
    mproc_obj_free(r);
    TRY(rc);
  }
  t = bench_now() - t0;
fail:
  mproc_obj_free(one);
  mproc_pool_free(pool);
  return t;
}

double lib_executor(const bench_params *p) {
  mproc_executor *ex = NULL;
  mproc_executor_options eo = {.max_workers = (unsigned)p->procs};
  mproc_future **fs = calloc((size_t)p->n, sizeof *fs);
  mproc_obj *arg = mproc_obj_int(1);
  double t = -1;
  TRY(fs == NULL || arg == NULL);
  TRY(mproc_executor_new(&ex, &eo));
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++)
    TRY(mproc_executor_submit(ex, twice, arg, &fs[i]));
  for (long i = 0; i < p->n; i++) {
    mproc_obj *r = NULL;
    int rc = mproc_future_result(fs[i], MPROC_FOREVER, &r, NULL);
    mproc_obj_free(r);
    TRY(rc);
  }
  t = bench_now() - t0;
fail:
  for (long i = 0; fs && i < p->n; i++)
    mproc_future_free(fs[i]);
  free(fs);
  mproc_obj_free(arg);
  mproc_executor_free(ex);
  return t;
}

/* ---- Manager: d[i] = i through a dict proxy ---- */

double lib_manager_dict(const bench_params *p) {
  mproc_manager *m = NULL;
  mproc_proxy *d = NULL;
  double t = -1;
  TRY(mproc_manager_start(&m, NULL));
  TRY(mproc_manager_dict(m, &d));
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    mproc_obj *k = mproc_obj_int(i), *v = mproc_obj_int(i);
    int rc = k && v ? mproc_proxy_dict_set(d, k, v) : -1;
    mproc_obj_free(k);
    mproc_obj_free(v);
    TRY(rc);
  }
  t = bench_now() - t0;
fail:
  mproc_proxy_free(d);
  mproc_manager_free(m);
  return t;
}

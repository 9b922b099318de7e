/* The worker-pool engine behind Pool and Executor.
 *
 * Protocol.  Each worker has its own socket pair with the parent.  The
 * parent's result thread hands a worker one chunk at a time, so it always
 * knows which items each worker holds: when a worker dies, exactly those
 * items fail (EWORKERLOST), and a worker retiring after maxtasksperchild
 * strands nothing.  Messages are values (see docs/pool.md):
 *   parent -> worker  [0, token, task address, [args...]]   run a chunk
 *                     [1]                                    exit
 *   worker -> parent  [0, token, [item results...]]          a chunk done
 *                     [1, code, message]                     initializer failed
 * where an item result is [0, value], [1, code, message] (the task failed)
 * or [2, code, message] (the library failed it in the worker, e.g. a result
 * too large to send).
 *
 * Threads.  One result thread per engine forks the workers (so that their
 * PR_SET_PDEATHSIG is tied to a thread that lives as long as the pool),
 * sends chunks, reads results, reaps workers and runs the callbacks.  All
 * engine and job state is guarded by one process-wide lock; waiters sleep
 * on one condition variable that is broadcast on every change. */
#include "workers.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TERMINATE_GRACE_MS 200

/* ---- the process-wide lock ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static uint64_t done_counter;

static void cv_init(void) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&cv, &a);
  pthread_condattr_destroy(&a);
}

void mproc__pools_lock(void) {
  pthread_once(&cv_once, cv_init);
  pthread_mutex_lock(&mu);
}

void mproc__pools_unlock(void) { pthread_mutex_unlock(&mu); }

int mproc__pools_wait(const mproc__deadline *d) {
  if (d->poll || mproc__deadline_passed(d))
    return mproc__deadline_error(d);
  if (d->never)
    pthread_cond_wait(&cv, &mu);
  else
    pthread_cond_timedwait(&cv, &mu, &d->at);
  return 0; /* callers re-check their condition and the deadline */
}

static void broadcast(void) { pthread_cond_broadcast(&cv); }

void mproc__workers_before_fork(void) { mproc__pools_lock(); }

void mproc__workers_after_fork(void) { mproc__pools_unlock(); }

/* ---- task errors, in the worker ---- */

static _Thread_local struct {
  bool set;
  int code;
  char msg[MPROC_TASK_MESSAGE_MAX];
} task_err;

int mproc_task_fail(int code, const char *fmt, ...) {
  task_err.set = true;
  task_err.code = code;
  task_err.msg[0] = '\0';
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(task_err.msg, sizeof task_err.msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

static void set_err(mproc_task_error *e, int code, pid_t pid, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
static void set_err(mproc_task_error *e, int code, pid_t pid, const char *fmt,
                    ...) {
  memset(e, 0, sizeof *e);
  e->code = code;
  e->pid = pid;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

/* ---- structures ---- */

typedef struct chunk {
  mproc__job *job;
  size_t first, n;
  uint64_t token;
  struct chunk *next;
} chunk;

typedef struct worker {
  pid_t pid;
  int pidfd;
  mproc_conn *conn;
  chunk *busy;
  unsigned chunks;
  bool retiring;  /* will exit by itself (maxtasksperchild) */
  bool exit_sent;
  bool send_failed; /* nothing more is sent; what it sent is still read */
  bool conn_dead;   /* nothing more can be read */
} worker;

enum engine_state { E_RUNNING, E_CLOSED, E_TERMINATING };

struct mproc__engine {
  mproc__engine_options o;
  void *owner; /* the Pool or Executor: keeps it reachable from the result
                  thread, so leak checkers in forked workers see it */
  worker *w;
  size_t nw;
  chunk *head, *tail; /* pending chunks, FIFO */
  int evfd;
  pthread_t thread;
  bool started; /* the first workers are forked (or the engine broke) */
  sigset_t sigmask; /* the creating thread's, for the workers */
  bool thread_done, joined;
  enum engine_state state;
  bool terminate_started, kill_armed;
  struct timespec kill_at;
  bool broken;
  mproc_task_error broken_err;
  uint64_t tokens;
  unsigned spawned; /* workers started so far, for their names */
};

/* Jobs whose outcome became known, waiting for their callbacks. */
typedef struct settled_list {
  mproc__job *v[64];
  size_t n;
} settled_list;

/* ---- jobs (lock held) ---- */

void mproc__job_unref(mproc__job *j) {
  if (j == NULL || --j->refs > 0)
    return;
  for (size_t i = 0; i < j->n; i++) {
    if (j->args != NULL)
      mproc_obj_free(j->args[i]);
    if (j->results != NULL)
      mproc_obj_free(j->results[i]);
  }
  free(j->args);
  free(j->results);
  free(j->errs);
  free(j->rcs);
  free(j->state);
  free(j->order);
  free(j->dcbs);
  mproc_obj_free(j->value);
  free(j);
}

static void run_settled(settled_list *s);

/* The job's outcome is known: prepare its value and queue its callbacks. */
static void settle(mproc__job *j, int rc, const mproc_task_error *err,
                   settled_list *s) {
  if (j->settled)
    return;
  if (rc == 0 && j->kind == MPROC__JOB_MAP) {
    mproc_obj *list = mproc_obj_list();
    for (size_t i = 0; list != NULL && i < j->n; i++) {
      mproc_obj *v = j->results[i] ? j->results[i] : mproc_obj_none();
      j->results[i] = NULL;
      if (mproc_obj_list_append(list, v) != 0) {
        mproc_obj_free(list);
        list = NULL;
      }
    }
    if (list == NULL) {
      static const mproc_task_error nomem = {.code = MPROC_ENOMEM,
                                             .message = "out of memory"};
      rc = MPROC_ENOMEM;
      err = &nomem;
    }
    j->value = list;
  } else if (rc == 0 && (j->kind == MPROC__JOB_APPLY ||
                         j->kind == MPROC__JOB_FUTURE)) {
    j->value = j->results[0] ? j->results[0] : mproc_obj_none();
    j->results[0] = NULL;
  }
  j->settled = true;
  j->rc = rc;
  if (rc != 0)
    j->err = *err;
  j->done_seq = ++done_counter;
  if (j->kind == MPROC__JOB_FUTURE)
    j->fstate = F_DONE;
  j->refs++;
  if (s->n == sizeof s->v / sizeof s->v[0])
    run_settled(s); /* full: flush now */
  s->v[s->n++] = j;
}

/* Runs callbacks outside the lock, then marks the jobs ready: like the
 * documented system, a result is ready only after its callback ran. */
static void run_settled(settled_list *s) {
  for (size_t k = 0; k < s->n; k++) {
    mproc__job *j = s->v[k];
    bool any = j->cb.on_result || j->cb.on_error || j->ndcbs > 0;
    if (any) {
      mproc__pools_unlock();
      if (j->rc == 0 && j->cb.on_result)
        j->cb.on_result(j->value, j->cb.ud);
      else if (j->rc != 0 && j->cb.on_error)
        j->cb.on_error(&j->err, j->cb.ud);
      for (size_t i = 0; i < j->ndcbs; i++)
        j->dcbs[i].fn((mproc_future *)j, j->dcbs[i].ud);
      mproc__pools_lock();
    }
    j->finished = true;
    mproc__job_unref(j);
  }
  s->n = 0;
  broadcast();
}

/* Records item i of j.  `value` (taken) is the result when rc is 0. */
static void item_done(mproc__job *j, size_t i, int rc, mproc_obj *value,
                      const mproc_task_error *err, settled_list *s) {
  if (j->state[i] != ITEM_PENDING) {
    mproc_obj_free(value);
    return;
  }
  j->state[i] = rc == 0 ? ITEM_OK : ITEM_FAILED;
  if (rc == 0)
    j->results[i] = value;
  else
    mproc_obj_free(value);
  if (j->rcs != NULL) {
    j->rcs[i] = rc;
    if (rc != 0)
      j->errs[i] = *err;
  }
  j->order[j->ndone++] = i;
  switch (j->kind) {
  case MPROC__JOB_APPLY:
  case MPROC__JOB_FUTURE:
    settle(j, rc, err, s);
    break;
  case MPROC__JOB_MAP:
    if (rc != 0 || j->ndone == j->n)
      settle(j, rc, err, s);
    break;
  default:
    if (j->ndone == j->n)
      settle(j, 0, NULL, s);
    break;
  }
  broadcast();
}

static void chunk_done(chunk *c) {
  mproc__job *j = c->job;
  if (--j->chunks_left == 0) {
    j->eng = NULL;
    mproc__job_unref(j);
  }
  free(c);
}

static void fail_chunk(chunk *c, const mproc_task_error *err, int rc,
                       settled_list *s) {
  for (size_t i = c->first; i < c->first + c->n; i++)
    item_done(c->job, i, rc, NULL, err, s);
  chunk_done(c);
}

static void fail_pending(mproc__engine *e, int rc,
                         const mproc_task_error *err, settled_list *s) {
  while (e->head != NULL) {
    chunk *c = e->head;
    e->head = c->next;
    fail_chunk(c, err, rc, s);
  }
  e->tail = NULL;
}

void mproc__job_error(const mproc__job *j, mproc_task_error *err) {
  if (err != NULL)
    *err = j->err;
}

/* ---- the worker process ---- */

/* [kind, code, message], or NULL when any part of it cannot be made: a
 * partial item would be read as another outcome. */
static mproc_obj *error_item(int kind, int code, const char *msg) {
  mproc_obj *it = mproc_obj_list();
  if (mproc_obj_list_append(it, mproc_obj_int(kind)) == 0 &&
      mproc_obj_list_append(it, mproc_obj_int(code)) == 0) {
    /* A message cut in the middle of a UTF-8 sequence is not valid UTF-8
     * (but a valid one that could not be copied is no reason to say so). */
    mproc_obj *m = mproc_obj_str(msg);
    if (m == NULL &&
        !mproc__utf8_valid((const unsigned char *)msg, strlen(msg)))
      m = mproc_obj_str("(message not UTF-8)");
    if (mproc_obj_list_append(it, m) == 0)
      return it;
  }
  mproc_obj_free(it);
  return NULL;
}

static mproc_obj *run_one(mproc_task_fn fn, const mproc_obj *arg) {
  mproc_obj *out = NULL;
  task_err.set = false;
  int rc = fn(arg, &out);
  if (rc == 0) {
    mproc_obj *it = mproc_obj_list();
    if (mproc_obj_list_append(it, mproc_obj_int(0)) != 0) {
      mproc_obj_free(out); /* [out] alone would be read as an error */
      mproc_obj_free(it);
      return NULL;
    }
    if (mproc_obj_list_append(it, out ? out : mproc_obj_none()) != 0) {
      mproc_obj_free(it);
      return NULL;
    }
    return it;
  }
  mproc_obj_free(out);
  if (task_err.set && task_err.code == rc)
    return error_item(1, rc, task_err.msg);
  char msg[64];
  snprintf(msg, sizeof msg, "task failed with code %d", rc);
  return error_item(1, rc, msg);
}

static int send_obj(mproc_conn *c, mproc_obj *o) {
  int rc = o == NULL ? MPROC_ENOMEM : mproc_conn_send(c, o);
  mproc_obj_free(o);
  return rc;
}

/* Sends a chunk's results.  A result that cannot be encoded (too deep)
 * or does not fit in the message with the results before it fails that
 * item only. */
static int send_results(mproc_conn *c, int64_t token, mproc_obj *results,
                        size_t max_message) {
  mproc_obj *msg = mproc_obj_list();
  /* All or nothing: [token, results] would read as another message. */
  if (mproc_obj_list_append(msg, mproc_obj_int(0)) != 0 ||
      mproc_obj_list_append(msg, mproc_obj_int(token)) != 0) {
    mproc_obj_free(results);
    mproc_obj_free(msg);
    return MPROC_ENOMEM;
  }
  if (mproc_obj_list_append(msg, results) != 0) { /* frees results */
    mproc_obj_free(msg);
    return MPROC_ENOMEM;
  }
  int rc = mproc_conn_send(c, msg);
  if (rc == MPROC_EINVAL || rc == MPROC_EMSGSIZE) {
    size_t room = max_message > 4096 ? max_message - 4096 : 0;
    for (size_t i = 0; i < results->u.c.n; i++) {
      void *buf;
      size_t len;
      int erc = mproc_obj_encode(results->u.c.items[i], &buf, &len);
      if (erc == 0) {
        free(buf);
        if (len <= room) {
          room -= len;
          continue;
        }
        erc = MPROC_EMSGSIZE;
      }
      char m[128];
      snprintf(m, sizeof m, "the task's result cannot be sent: %s",
               mproc_strerror(erc));
      mproc_obj_free(results->u.c.items[i]);
      results->u.c.items[i] = error_item(2, erc, m);
      if (results->u.c.items[i] == NULL) {
        mproc_obj_free(msg);
        return MPROC_ENOMEM; /* the worker exits: its tasks are lost */
      }
    }
    rc = mproc_conn_send(c, msg);
  }
  mproc_obj_free(msg);
  return rc;
}

static _Noreturn void worker_main(const mproc__engine *e, mproc_conn *c,
                                  pid_t parent, unsigned number) {
  /* Output another thread buffered before the fork is the parent's to
   * write, not ours. */
  __fpurge(stdout);
  __fpurge(stderr);
  char name[32];
  snprintf(name, sizeof name, "ForkPoolWorker-%u", number);
  mproc__become_daemon(name);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* LCOV_EXCL_BR_LINE: see below */
    mproc_process_exit(1); /* LCOV_EXCL_LINE: the parent would have to die between fork() and prctl(); no test can order that */
  /* Forked with every signal blocked (the result thread's mask): a
   * terminate()'s SIGTERM that comes before this point waits for the
   * default action instead of running the application's handler here. */
  signal(SIGTERM, SIG_DFL);
  pthread_sigmask(SIG_SETMASK, &e->sigmask, NULL);
  if (e->o.initializer != NULL) {
    task_err.set = false;
    int rc = e->o.initializer(e->o.initarg);
    if (rc != 0) {
      mproc_obj *m = mproc_obj_list();
      mproc_obj_list_append(m, mproc_obj_int(1));
      mproc_obj_list_append(m, mproc_obj_int(rc));
      mproc_obj_list_append(m, mproc_obj_str(task_err.set ? task_err.msg : ""));
      send_obj(c, m);
      mproc_process_exit(3);
    }
  }
  unsigned chunks = 0;
  for (;;) {
    mproc_obj *msg = NULL;
    int rc = mproc_conn_recv(c, &msg, MPROC_FOREVER);
    if (rc != 0)
      mproc_process_exit(rc == MPROC_EEOF ? 0 : 2);
    int64_t kind = -1, token = 0, addr = 0;
    mproc_obj_get_int(mproc_obj_list_get(msg, 0), &kind);
    if (kind != 0) {
      mproc_obj_free(msg);
      mproc_process_exit(kind == 1 ? 0 : 2);
    }
    mproc_obj_get_int(mproc_obj_list_get(msg, 1), &token);
    mproc_obj_get_int(mproc_obj_list_get(msg, 2), &addr);
    const mproc_obj *args = mproc_obj_list_get(msg, 3);
    mproc_task_fn fn = (mproc_task_fn)(uintptr_t)addr;
    Dl_info info;
    bool known = fn != NULL && dladdr((void *)(uintptr_t)addr, &info) != 0;
    mproc_obj *results = mproc_obj_list();
    for (size_t i = 0; results != NULL && i < mproc_obj_len(args); i++) {
      mproc_obj *it;
      if (known) {
        it = run_one(fn, mproc_obj_list_get(args, i));
      } else {
        /* The C counterpart of the documented pool's "Can't get
         * attribute": code loaded after the worker was forked. */
        it = error_item(2, MPROC_EINVAL,
                        "task function is not loaded in the worker");
      }
      if (mproc_obj_list_append(results, it) != 0) {
        mproc_obj_free(results);
        results = NULL;
      }
    }
    mproc_obj_free(msg);
    if (results == NULL ||
        send_results(c, token, results, e->o.max_message) != 0)
      mproc_process_exit(2);
    if (e->o.maxtasks != 0 && ++chunks >= e->o.maxtasks)
      mproc_process_exit(0);
  }
}

/* ---- the parent side (lock held unless said otherwise) ---- */

static void wake(mproc__engine *e) {
  uint64_t one = 1;
  ssize_t r = write(e->evfd, &one, sizeof one);
  (void)r; /* a full counter already means "wake up" */
}

static int spawn(mproc__engine *e) {
  mproc_conn *pe, *we;
  mproc_pipe_options po = {.max_message = e->o.max_message};
  int rc = mproc_pipe(&pe, &we, &po);
  if (rc != 0)
    return rc;
  /* Tracked before fork, so the child (and every later child) closes it. */
  mproc__fd_track(mproc_conn_fileno(pe));
  pid_t parent = getpid();
  unsigned number = ++e->spawned;
  /* The fork hooks take the pools' lock themselves. */
  mproc__pools_unlock();
  pid_t pid = fork();
  if (pid != 0)
    mproc__pools_lock();
  if (pid < 0) { /* LCOV_EXCL_START: fork(2) fails only at RLIMIT_NPROC, which root (the test lanes' user) is exempt from, or when the kernel is out of memory */
    mproc__fd_untrack(mproc_conn_fileno(pe));
    mproc_conn_free(pe);
    mproc_conn_free(we);
    return MPROC_ERESOURCE;
  } /* LCOV_EXCL_STOP */
  if (pid == 0)
    worker_main(e, we, parent, number);
  mproc_conn_free(we);
  int fd = mproc__pidfd_open(pid);
  worker *w = &e->w[e->nw++];
  memset(w, 0, sizeof *w);
  w->pid = pid;
  w->pidfd = fd;
  w->conn = pe;
  return 0;
}

static void break_engine(mproc__engine *e, const mproc_task_error *err,
                         settled_list *s) {
  if (e->broken)
    return;
  e->broken = true;
  e->broken_err = *err;
  fail_pending(e, MPROC_EBROKEN, err, s);
  for (size_t i = 0; i < e->nw; i++)
    kill(e->w[i].pid, SIGKILL);
}

/* Sends the next pending chunk to idle worker w.  Unlocks while sending. */
static void dispatch(mproc__engine *e, worker *w, settled_list *s) {
  chunk *c = e->head;
  e->head = c->next;
  if (e->head == NULL)
    e->tail = NULL;
  mproc__job *j = c->job;
  c->token = ++e->tokens;
  mproc_obj *args = mproc_obj_list();
  for (size_t i = c->first; args != NULL && i < c->first + c->n; i++) {
    mproc_obj *a = j->args[i];
    j->args[i] = NULL;
    if (mproc_obj_list_append(args, a) != 0)
      args = NULL;
  }
  mproc_obj *msg = mproc_obj_list();
  mproc_obj_list_append(msg, mproc_obj_int(0));
  mproc_obj_list_append(msg, mproc_obj_int((int64_t)c->token));
  mproc_obj_list_append(msg, mproc_obj_int((int64_t)(uintptr_t)j->fn));
  int rc = mproc_obj_list_append(msg, args);
  void *buf = NULL;
  size_t len = 0;
  if (rc == 0)
    rc = mproc_obj_encode(msg, &buf, &len);
  mproc_obj_free(msg);
  if (rc != 0) {
    mproc_task_error err;
    set_err(&err, rc, 0, "the task's argument cannot be sent: %s",
            mproc_strerror(rc));
    fail_chunk(c, &err, rc, s);
    return;
  }
  if (j->kind == MPROC__JOB_FUTURE)
    j->fstate = F_RUNNING;
  w->busy = c;
  mproc__pools_unlock();
  rc = mproc_conn_send_bytes(w->conn, buf, len);
  mproc__pools_lock();
  free(buf);
  if (rc == MPROC_EMSGSIZE) {
    mproc_task_error err;
    set_err(&err, rc, 0, "the task's argument is larger than the maximum");
    w->busy = NULL;
    fail_chunk(c, &err, rc, s);
  } else if (rc != 0) {
    /* The worker is going away; what it sent before (an initializer
     * failure, say) is still read, and the reaping fails the chunk. */
    w->send_failed = true;
  }
}

/* Handles one message from worker w. */
static void handle(mproc__engine *e, worker *w, mproc_obj *msg,
                   settled_list *s) {
  int64_t kind = -1, token = -1;
  mproc_obj_get_int(mproc_obj_list_get(msg, 0), &kind);
  if (kind == 1) {
    int64_t code = 0;
    mproc_obj_get_int(mproc_obj_list_get(msg, 1), &code);
    const char *m = mproc_obj_str_value(mproc_obj_list_get(msg, 2));
    mproc_task_error err;
    set_err(&err, MPROC_EBROKEN, w->pid,
            "the initializer failed in worker %d with code %lld%s%s",
            (int)w->pid, (long long)code, m && *m ? ": " : "", m ? m : "");
    break_engine(e, &err, s);
    return;
  }
  mproc_obj_get_int(mproc_obj_list_get(msg, 1), &token);
  mproc_obj *results = (mproc_obj *)mproc_obj_list_get(msg, 2);
  chunk *c = w->busy;
  if (kind != 0 || c == NULL || (uint64_t)token != c->token ||
      mproc_obj_len(results) != c->n) {
    kill(w->pid, SIGKILL); /* not our protocol: the reaping fails it */
    w->conn_dead = true;
    return;
  }
  for (size_t k = 0; k < c->n; k++) {
    mproc_obj *it = results->u.c.items[k];
    int64_t ik = -1, code = 0;
    mproc_obj_get_int(mproc_obj_list_get(it, 0), &ik);
    size_t idx = c->first + k;
    if (ik == 0) {
      mproc_obj *v = it->u.c.n > 1 ? it->u.c.items[1] : NULL;
      if (v != NULL)
        it->u.c.items[1] = NULL; /* moved into the job */
      item_done(c->job, idx, 0, v, NULL, s);
    } else {
      mproc_obj_get_int(mproc_obj_list_get(it, 1), &code);
      const char *m = mproc_obj_str_value(mproc_obj_list_get(it, 2));
      mproc_task_error err;
      set_err(&err, (int)code, w->pid, "%s", m ? m : "");
      item_done(c->job, idx, ik == 1 ? MPROC_ETASK : (int)code, NULL, &err,
                s);
    }
  }
  w->busy = NULL;
  chunk_done(c);
  if (e->o.maxtasks != 0 && ++w->chunks >= e->o.maxtasks)
    w->retiring = true;
}

static void read_results(mproc__engine *e, worker *w, settled_list *s) {
  while (!w->conn_dead) {
    mproc_obj *msg = NULL;
    int rc = mproc_conn_recv(w->conn, &msg, 0);
    if (rc == MPROC_EAGAIN)
      return;
    if (rc != 0) {
      if (rc != MPROC_EEOF)
        kill(w->pid, SIGKILL);
      w->conn_dead = true;
      return;
    }
    handle(e, w, msg, s);
    mproc_obj_free(msg);
  }
}

/* Worker i has ended (its pidfd is readable): collect what it sent, reap
 * it, account for its chunk, and forget it. */
static void reap(mproc__engine *e, size_t i, settled_list *s) {
  worker *w = &e->w[i];
  read_results(e, w, s);
  int st = 0;
  pid_t r;
  do
    r = waitpid(w->pid, &st, 0);
  while (r < 0 && errno == EINTR);
  int sig = r == w->pid && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  int code = r == w->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  bool expected = w->retiring || w->exit_sent || e->state == E_TERMINATING ||
                  e->broken;
  mproc_task_error err;
  if (e->state == E_TERMINATING && !e->broken) {
    set_err(&err, MPROC_ECANCELLED, w->pid, "the pool was terminated");
  } else if (e->broken) {
    err = e->broken_err;
  } else if (sig != 0) {
    set_err(&err, MPROC_EWORKERLOST, w->pid,
            "worker %d died from signal %d (%s)", (int)w->pid, sig,
            strsignal(sig));
  } else {
    set_err(&err, MPROC_EWORKERLOST, w->pid, "worker %d exited with status %d",
            (int)w->pid, code);
  }
  err.signal = sig;
  err.exit_status = code < 0 ? 0 : code;
  if (!expected && e->o.executor) {
    mproc_task_error b = err;
    b.code = MPROC_EBROKEN;
    snprintf(b.message, sizeof b.message,
             "a process in the pool was terminated abruptly: %.180s",
             err.message);
    break_engine(e, &b, s);
    err = b;
  }
  if (w->busy != NULL) {
    chunk *c = w->busy;
    w->busy = NULL;
    fail_chunk(c, &err, err.code, s);
  }
  if (w->pidfd >= 0) {
    mproc__fd_untrack(w->pidfd);
    close(w->pidfd);
  }
  mproc__fd_untrack(mproc_conn_fileno(w->conn));
  mproc_conn_free(w->conn);
  e->w[i] = e->w[--e->nw];
}

/* Starts, feeds and stops workers as the engine's state asks. */
static void steer(mproc__engine *e, settled_list *s) {
  if (e->state == E_TERMINATING && !e->terminate_started) {
    e->terminate_started = true;
    mproc_task_error err;
    set_err(&err, MPROC_ECANCELLED, 0, "the pool was terminated");
    fail_pending(e, MPROC_ECANCELLED, &err, s);
    for (size_t i = 0; i < e->nw; i++)
      kill(e->w[i].pid, SIGTERM);
    mproc__deadline d;
    mproc__deadline_init(&d, TERMINATE_GRACE_MS / 1000.0, MPROC_FOREVER);
    e->kill_at = d.at;
    e->kill_armed = true;
  }
  if (e->kill_armed) {
    mproc__deadline d = {.at = e->kill_at};
    if (mproc__deadline_passed(&d)) {
      for (size_t i = 0; i < e->nw; i++)
        kill(e->w[i].pid, SIGKILL);
      e->kill_armed = false;
    }
    return;
  }
  if (e->broken || e->state == E_TERMINATING)
    return;
  bool want = e->state == E_RUNNING || e->head != NULL;
  while (want && e->nw < e->o.processes) {
    int rc = spawn(e);
    if (rc == 0)
      continue;
    if (e->nw == 0) {
      mproc_task_error err;
      set_err(&err, MPROC_EBROKEN, 0, "cannot start a worker: %s",
              mproc_strerror(rc));
      break_engine(e, &err, s);
    }
    break;
  }
  for (size_t i = 0; i < e->nw && e->head != NULL; i++) {
    worker *w = &e->w[i];
    if (w->busy == NULL && !w->retiring && !w->exit_sent &&
        !w->send_failed && !w->conn_dead)
      dispatch(e, w, s);
  }
  if (e->state == E_CLOSED && e->head == NULL) {
    for (size_t i = 0; i < e->nw; i++) {
      worker *w = &e->w[i];
      if (w->busy == NULL && !w->exit_sent && !w->retiring &&
          !w->send_failed && !w->conn_dead) {
        w->exit_sent = true;
        mproc_obj *m = mproc_obj_list();
        mproc_obj_list_append(m, mproc_obj_int(1));
        mproc__pools_unlock();
        send_obj(w->conn, m); /* a dead worker is reaped anyway */
        mproc__pools_lock();
      }
    }
  }
}

static bool finished(const mproc__engine *e) {
  return e->nw == 0 && (e->state == E_TERMINATING || e->broken ||
                        (e->state == E_CLOSED && e->head == NULL));
}

static void *result_thread(void *arg) {
  mproc__engine *e = arg;
  settled_list s = {.n = 0};
  mproc__pools_lock();
  for (;;) {
    steer(e, &s);
    if (!e->started) {
      e->started = true;
      broadcast();
    }
    run_settled(&s);
    if (finished(e))
      break;
    /* Without a pidfd, a worker whose socket is closed is known dead. */
    for (size_t i = e->nw; i-- > 0;)
      if (e->w[i].pidfd < 0 && e->w[i].conn_dead)
        reap(e, i, &s);
    run_settled(&s);
    if (finished(e))
      break;
    size_t nw = e->nw;
    struct pollfd *p = calloc(1 + 2 * nw, sizeof *p);
    if (p == NULL) { /* retry soon rather than fail the pool */
      mproc__pools_unlock();
      poll(NULL, 0, 10);
      mproc__pools_lock();
      continue;
    }
    p[0].fd = e->evfd;
    p[0].events = POLLIN;
    for (size_t i = 0; i < nw; i++) {
      p[1 + 2 * i].fd = e->w[i].conn_dead ? -1 : mproc_conn_fileno(e->w[i].conn);
      p[1 + 2 * i].events = POLLIN;
      p[2 + 2 * i].fd = e->w[i].pidfd;
      p[2 + 2 * i].events = POLLIN;
    }
    int ms = -1;
    if (e->kill_armed) {
      mproc__deadline d = {.at = e->kill_at};
      ms = mproc__deadline_ms(&d, -1);
    }
    mproc__pools_unlock();
    int r = poll(p, 1 + 2 * nw, ms);
    mproc__pools_lock();
    if (r > 0 && (p[0].revents & POLLIN)) {
      uint64_t v;
      ssize_t k = read(e->evfd, &v, sizeof v);
      (void)k;
    }
    /* Downwards, so that removing worker i moves an already handled one. */
    for (size_t i = nw; r > 0 && i-- > 0;) {
      if (p[1 + 2 * i].revents != 0)
        read_results(e, &e->w[i], &s);
      if (p[2 + 2 * i].revents != 0 ||
          (e->w[i].pidfd < 0 && e->w[i].conn_dead))
        reap(e, i, &s);
    }
    free(p);
    run_settled(&s);
  }
  e->thread_done = true;
  broadcast();
  mproc__pools_unlock();
  return NULL;
}

/* ---- engine API ---- */

int mproc__engine_new(mproc__engine **out, const mproc__engine_options *o,
                      void *owner) {
  mproc__engine *e = calloc(1, sizeof *e);
  if (e == NULL)
    return MPROC_ENOMEM;
  e->o = *o;
  e->owner = owner;
  if (e->o.processes == 0)
    e->o.processes = (unsigned)mproc_cpu_count();
  if (e->o.max_message == 0)
    e->o.max_message = MPROC_MAX_MESSAGE_DEFAULT;
  e->w = calloc(e->o.processes, sizeof *e->w);
  e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (e->w == NULL || e->evfd < 0) {
    int rc = e->w == NULL ? MPROC_ENOMEM : MPROC_ERESOURCE;
    if (e->evfd >= 0)
      close(e->evfd);
    free(e->w);
    free(e);
    return rc;
  }
  mproc__fd_track(e->evfd);
  /* The result thread blocks every signal: the application's handlers
   * are not run on it, and the workers it forks start with them blocked. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &e->sigmask);
  mproc__pools_lock();
  int rc = pthread_create(&e->thread, NULL, result_thread, e);
  pthread_sigmask(SIG_SETMASK, &e->sigmask, NULL);
  /* Like the documented Pool, return with the workers forked: they see the
   * program as it was when the pool was made, not as it is at some later
   * moment the result thread happens to reach fork().  It also keeps the
   * caller's next allocations away from the fork, which an allocator
   * without fork handlers (ASan before LLVM 18) cannot survive. */
  while (rc == 0 && !e->started)
    pthread_cond_wait(&cv, &mu);
  mproc__pools_unlock();
  if (rc != 0) {
    mproc__fd_untrack(e->evfd);
    close(e->evfd);
    free(e->w);
    free(e);
    return rc == EAGAIN ? MPROC_ERESOURCE : MPROC_ENOMEM; /* LCOV_EXCL_BR_LINE: glibc's pthread_create reports a stack it cannot map as EAGAIN; no other error applies to default attributes */
  }
  *out = e;
  return 0;
}

int mproc__engine_submit(mproc__engine *e, mproc__job_kind kind,
                         mproc_task_fn fn, const mproc_obj *args,
                         size_t chunksize, bool star,
                         const mproc_callbacks *cb, mproc__job **out) {
  bool many = kind == MPROC__JOB_MAP || kind == MPROC__JOB_IMAP ||
              kind == MPROC__JOB_IMAP_UNORDERED;
  if (e == NULL || fn == NULL || out == NULL || args == NULL ||
      (many && mproc_obj_type_of(args) != MPROC_OBJ_LIST))
    return MPROC_EINVAL;
  size_t n = many ? mproc_obj_len(args) : 1;
  if (star)
    for (size_t i = 0; i < n; i++)
      if (mproc_obj_type_of(mproc_obj_list_get(args, i)) != MPROC_OBJ_LIST)
        return MPROC_EINVAL;
  bool per_item = kind != MPROC__JOB_MAP && kind != MPROC__JOB_APPLY;
  mproc__job *j = calloc(1, sizeof *j);
  size_t cells = n ? n : 1;
  if (j == NULL)
    return MPROC_ENOMEM;
  j->refs = 1;
  j->kind = kind;
  j->fn = fn;
  j->n = n;
  j->args = calloc(cells, sizeof *j->args);
  j->results = calloc(cells, sizeof *j->results);
  j->state = calloc(cells, 1);
  j->order = calloc(cells, sizeof *j->order);
  if (per_item) {
    j->errs = calloc(cells, sizeof *j->errs);
    j->rcs = calloc(cells, sizeof *j->rcs);
  }
  bool ok = j->args && j->results && j->state && j->order &&
            (!per_item || (j->errs && j->rcs));
  for (size_t i = 0; ok && i < n; i++) {
    j->args[i] = mproc_obj_copy(many ? mproc_obj_list_get(args, i) : args);
    ok = j->args[i] != NULL;
  }
  if (cb != NULL)
    j->cb = *cb;
  if (chunksize == 0) {
    chunksize = 1;
    if (kind == MPROC__JOB_MAP) {
      size_t per = 4 * (size_t)e->o.processes;
      chunksize = n / per + (n % per != 0);
      if (chunksize == 0)
        chunksize = 1;
    }
  }
  size_t nchunks = n / chunksize + (n % chunksize != 0);
  chunk *first = NULL, *last = NULL;
  for (size_t k = 0; ok && k < nchunks; k++) {
    chunk *c = calloc(1, sizeof *c);
    if (c == NULL) {
      ok = false;
      break;
    }
    c->job = j;
    c->first = k * chunksize;
    c->n = n - c->first < chunksize ? n - c->first : chunksize;
    if (last)
      last->next = c;
    else
      first = c;
    last = c;
  }
  mproc__pools_lock();
  int rc = !ok ? MPROC_ENOMEM
           : e->state != E_RUNNING ? MPROC_ESTATE
           : e->broken ? MPROC_EBROKEN
           : 0;
  if (rc != 0) {
    while (first != NULL) {
      chunk *c = first;
      first = c->next;
      free(c);
    }
    mproc__job_unref(j);
    mproc__pools_unlock();
    return rc;
  }
  j->eng = e;
  j->fstate = F_PENDING;
  if (nchunks > 0) {
    j->chunks_left = nchunks;
    j->refs++; /* the engine's, until every chunk is accounted for */
    if (e->tail)
      e->tail->next = first;
    else
      e->head = first;
    e->tail = last;
    wake(e);
  } else {
    /* Nothing to run: settle at once (in this thread). */
    settled_list s = {.n = 0};
    settle(j, 0, NULL, &s);
    run_settled(&s);
  }
  *out = j;
  mproc__pools_unlock();
  return 0;
}

int mproc__job_cancel(mproc__job *j) {
  if (j->cancelled)
    return 0;
  if (j->fstate != F_PENDING || j->settled)
    return MPROC_ESTATE;
  mproc__engine *e = j->eng;
  chunk *prev = NULL, *c = e ? e->head : NULL;
  while (c != NULL && c->job != j) {
    prev = c;
    c = c->next;
  }
  if (c == NULL)
    return MPROC_ESTATE;
  if (prev)
    prev->next = c->next;
  else
    e->head = c->next;
  if (e->tail == c)
    e->tail = prev;
  j->cancelled = true;
  mproc_task_error err;
  set_err(&err, MPROC_ECANCELLED, 0, "the future was cancelled");
  settled_list s = {.n = 0};
  fail_chunk(c, &err, MPROC_ECANCELLED, &s);
  run_settled(&s);
  return 0;
}

void mproc__engine_cancel_pending(mproc__engine *e) {
  mproc__pools_lock();
  for (chunk *c = e->head; c != NULL;) {
    chunk *next = c->next;
    if (c->job->kind == MPROC__JOB_FUTURE)
      mproc__job_cancel(c->job);
    c = next;
  }
  mproc__pools_unlock();
}

void mproc__engine_broken_error(mproc__engine *e, mproc_task_error *err) {
  if (err == NULL)
    return;
  mproc__pools_lock();
  *err = e->broken_err;
  mproc__pools_unlock();
}

void mproc__engine_close(mproc__engine *e) {
  mproc__pools_lock();
  if (e->state == E_RUNNING)
    e->state = E_CLOSED;
  wake(e);
  mproc__pools_unlock();
}

void mproc__engine_terminate(mproc__engine *e) {
  mproc__pools_lock();
  e->state = E_TERMINATING;
  wake(e);
  mproc__pools_unlock();
}

int mproc__engine_join(mproc__engine *e, const mproc__deadline *d) {
  mproc__pools_lock();
  if (e->state == E_RUNNING) {
    mproc__pools_unlock();
    return MPROC_ESTATE;
  }
  while (!e->thread_done) {
    int rc = mproc__pools_wait(d);
    if (rc != 0 && !e->thread_done) {
      mproc__pools_unlock();
      return rc;
    }
  }
  if (!e->joined) {
    e->joined = true;
    pthread_join(e->thread, NULL);
  }
  mproc__pools_unlock();
  return 0;
}

void mproc__engine_free(mproc__engine *e) {
  if (e == NULL)
    return;
  mproc__engine_terminate(e);
  mproc__deadline never = {.never = true};
  mproc__engine_join(e, &never);
  mproc__fd_untrack(e->evfd);
  close(e->evfd);
  free(e->w);
  free(e);
}

/* ---- iteration ---- */

int mproc__job_next(mproc__job *j, const mproc__deadline *d,
                    mproc_obj **result, mproc_task_error *err) {
  for (;;) {
    if (j->next >= j->n)
      return MPROC_EEOF;
    size_t i = 0;
    bool have;
    if (j->kind == MPROC__JOB_IMAP_UNORDERED) {
      have = j->next < j->ndone;
      if (have)
        i = j->order[j->next];
    } else {
      i = j->next;
      have = j->state[i] != ITEM_PENDING;
    }
    if (have) {
      j->next++;
      if (j->state[i] == ITEM_OK) {
        *result = j->results[i] ? j->results[i] : mproc_obj_none();
        j->results[i] = NULL;
        return *result ? 0 : MPROC_ENOMEM;
      }
      if (err != NULL)
        *err = j->errs[i];
      return j->rcs[i];
    }
    const mproc__deadline *use = d;
    if (j->has_deadline && (d->never || (!j->deadline.never &&
        (j->deadline.at.tv_sec < d->at.tv_sec ||
         (j->deadline.at.tv_sec == d->at.tv_sec &&
          j->deadline.at.tv_nsec < d->at.tv_nsec)))))
      use = &j->deadline;
    int rc = mproc__pools_wait(use);
    if (rc != 0)
      return rc;
  }
}

/* Fuzz target "ops": a small program of queue, pipe, lock, RLock,
 * semaphore, bounded semaphore, event, barrier and value operations run by
 * up to three processes at once, checked against a model.
 *
 * Input: three header bytes, then two bytes per operation (at most 64).
 *   byte 0  processes: 1 + byte % 3 (process 0 is the fuzzing process,
 *           the others are children started with mproc_process_start);
 *   byte 1  the queue's maxsize: byte % 5 (0: unbounded);
 *   byte 2  initial permits: semaphore bits 0-1, bounded semaphore 2-3;
 *   then (a, b) pairs: operation (a / 3) % N_OPS run by process
 *   (a % 3) % n,
 *   with argument b (a timeout from {0, 0, 0.5 ms, 2 ms}, for barrier
 *   waits {0, 2, 10, 50 ms}; a payload size below 48 bytes; a peer
 *   process).
 * Every object is created before the children start and freed after they
 * are joined; pipes are one per ordered pair of processes (each end has one
 * writer and one reader, as the contract asks).
 *
 * What must hold, whatever the interleaving:
 *   - every item put on the queue or sent on a pipe is received exactly
 *     once (by some process during the program, or by the final drain),
 *     intact, in its producer's order; nothing else is received;
 *   - at most one process holds the Lock, and at most one the RLock; a
 *     process cannot take its own Lock again; an RLock held by the caller
 *     is taken again at once, and releasing one it does not hold gives
 *     EPERM or ESTATE;
 *   - each semaphore ends at initial + releases - acquires, and a bounded
 *     one never exceeds its initial value;
 *   - an event never set is never seen set; one set and never cleared is
 *     seen set from then on;
 *   - a barrier releases whole generations: every arrival index is
 *     returned equally often, and nobody is left waiting;
 *   - the shared Value, incremented under its lock, ends at the number of
 *     increments;
 *   - poll saying readable means a message is there;
 *   - every call returns one of the errors its contract lists, in bounded
 *     time: every blocking call has a timeout of at most 2 ms (50 ms for
 *     barrier waits) and each
 *     child has a watchdog (alarm) that kills it after 10 s (scaled by
 *     MPROC_TIME_SCALE): the parent reports a child killed, still running
 *     or failed as a finding;
 *   - afterwards no child is left unreaped and no descriptor open. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_OPS 64
#define MAX_PROCS 3
#define MAX_PAYLOAD 48
#define MAX_RLOCK_DEPTH 8
#define WATCHDOG_S 10.0

enum opcode {
  O_Q_PUT, O_Q_GET, O_Q_SIZE,
  O_PIPE_SEND, O_PIPE_RECV, O_PIPE_POLL,
  O_LOCK_ACQ, O_LOCK_REL, O_RLOCK_ACQ, O_RLOCK_REL,
  O_SEM_ACQ, O_SEM_REL, O_BSEM_ACQ, O_BSEM_REL,
  O_EV_SET, O_EV_CLEAR, O_EV_WAIT,
  O_BAR_WAIT, O_BAR_RESET,
  O_VAL_INC,
  N_OPS
};

typedef struct op {
  uint8_t code, arg;
} op;

typedef struct program {
  int nproc;
  size_t maxsize;
  unsigned sem0, bsem0;
  op ops[MAX_PROCS][MAX_OPS];
  int nops[MAX_PROCS];
  bool any_set, any_clear;
} program;

/* Results, in memory shared with the children.  Each process writes only
 * its own rows, except the atomic counters; the parent reads after the
 * children have been joined. */
typedef struct shared {
  _Atomic int lock_holders, rlock_holders;
  uint8_t put_ok[MAX_PROCS][MAX_OPS];      /* by the producer */
  _Atomic int got[MAX_PROCS][MAX_OPS];     /* by any consumer */
  int sent[MAX_PROCS][MAX_PROCS];          /* pipe p->q, by p */
  int received[MAX_PROCS][MAX_PROCS];      /* pipe p->q, by q */
  int sem_acq[MAX_PROCS], sem_rel[MAX_PROCS];
  int bsem_acq[MAX_PROCS], bsem_rel[MAX_PROCS];
  int ev_sets[MAX_PROCS];
  int val_inc[MAX_PROCS];
  _Atomic int barrier_index[MAX_PROCS];
} shared;

typedef struct world {
  const program *prog;
  shared *sh;
  mproc_queue *q;
  mproc_conn *pipe_r[MAX_PROCS][MAX_PROCS], *pipe_w[MAX_PROCS][MAX_PROCS];
  mproc_lock *lock, *rlock;
  mproc_semaphore *sem, *bsem;
  mproc_event *ev;
  mproc_barrier *bar;
  mproc_value *val;
} world;

typedef struct proc_arg {
  world *w;
  int me;
} proc_arg;

static const double timeouts[4] = {0, 0, 0.0005, 0.002};

static double timeout_of(uint8_t arg) { return timeouts[arg & 3]; }

/* A barrier fills only when every process arrives in time: its waits may
 * take longer. */
static const double barrier_timeouts[4] = {0, 0.002, 0.01, 0.05};

static uint8_t payload_byte(int proc, int seq, size_t i) {
  return (uint8_t)(proc * 37 + seq * 11 + (int)i);
}

/* [proc, seq, payload] */
static mproc_obj *make_item(int proc, int seq, size_t len) {
  uint8_t buf[MAX_PAYLOAD];
  for (size_t i = 0; i < len; i++)
    buf[i] = payload_byte(proc, seq, i);
  mproc_obj *o = mproc_obj_list();
  mproc_obj_list_append(o, mproc_obj_int(proc));
  mproc_obj_list_append(o, mproc_obj_int(seq));
  int rc = mproc_obj_list_append(o, mproc_obj_bytes(buf, len));
  FUZZ_CHECK(rc == 0, "making an item: %s", mproc_err_name(rc));
  return o;
}

/* Checks an item's shape and payload; returns its producer and sequence
 * number.  Frees it. */
static void read_item(mproc_obj *o, const char *where, int nproc, int *proc,
                      int *seq) {
  int64_t p = -1, s = -1;
  size_t len = 0;
  const uint8_t *b = mproc_obj_bytes_value(mproc_obj_list_get(o, 2), &len);
  FUZZ_CHECK(mproc_obj_len(o) == 3 &&
                 mproc_obj_get_int(mproc_obj_list_get(o, 0), &p) == 0 &&
                 mproc_obj_get_int(mproc_obj_list_get(o, 1), &s) == 0 &&
                 b != NULL && p >= 0 && p < nproc && s >= 0 && s < MAX_OPS &&
                 len < MAX_PAYLOAD,
             "%s: a received item is not one that was sent", where);
  for (size_t i = 0; i < len; i++)
    FUZZ_CHECK(b[i] == payload_byte((int)p, (int)s, i),
               "%s: item (%lld, %lld) corrupted at byte %zu", where,
               (long long)p, (long long)s, i);
  mproc_obj_free(o);
  *proc = (int)p;
  *seq = (int)s;
}

static bool err_in(int rc, int a, int b, int c) {
  return rc == a || rc == b || rc == c;
}

/* Per-process state of the model. */
typedef struct local {
  int last_from[MAX_PROCS]; /* queue: last sequence seen per producer */
  int puts, sends[MAX_PROCS];
  bool lock_held;
  int rlock_depth;
  bool i_set;
} local;

static void queue_got(world *w, local *l, mproc_obj *o, const char *where) {
  int p, s;
  read_item(o, where, w->prog->nproc, &p, &s);
  FUZZ_CHECK(s > l->last_from[p], "%s: item %d of process %d came after "
             "its item %d", where, s, p, l->last_from[p]);
  l->last_from[p] = s;
  atomic_fetch_add(&w->sh->got[p][s], 1);
}

/* Receives from pipe from->me; returns the error (0: one item taken). */
static int pipe_take(world *w, int from, int me, double timeout,
                     const char *where) {
  mproc_obj *o = NULL;
  int rc = mproc_conn_recv(w->pipe_r[from][me], &o, timeout);
  if (rc != 0) {
    FUZZ_CHECK(rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT,
               "%s: recv on pipe %d->%d: %s", where, from, me,
               mproc_err_name(rc));
    return rc;
  }
  int p, s;
  read_item(o, where, w->prog->nproc, &p, &s);
  int *next = &w->sh->received[from][me];
  FUZZ_CHECK(p == from && s == *next, "%s: pipe %d->%d delivered item "
             "(%d, %d), expected (%d, %d)", where, from, me, p, s, from, *next);
  (*next)++;
  return 0;
}

static void run_op(world *w, local *l, int me, op o) {
  shared *sh = w->sh;
  const program *pr = w->prog;
  double t = timeout_of(o.arg);
  int rc;
  switch ((enum opcode)o.code) {
  case O_Q_PUT: {
    int seq = l->puts++;
    mproc_obj *item = make_item(me, seq, (o.arg >> 2) % MAX_PAYLOAD);
    rc = mproc_queue_put(w->q, item, t);
    mproc_obj_free(item);
    FUZZ_CHECK(rc == 0 || (rc == MPROC_EFULL && pr->maxsize > 0),
               "queue put: %s", mproc_err_name(rc));
    sh->put_ok[me][seq] = rc == 0;
    break;
  }
  case O_Q_GET: {
    mproc_obj *item = NULL;
    rc = mproc_queue_get(w->q, &item, t);
    FUZZ_CHECK(rc == 0 || rc == MPROC_EEMPTY, "queue get: %s",
               mproc_err_name(rc));
    if (rc == 0)
      queue_got(w, l, item, "queue get");
    break;
  }
  case O_Q_SIZE: {
    size_t n = 0;
    rc = mproc_queue_qsize(w->q, &n);
    FUZZ_CHECK(rc == 0, "qsize: %s", mproc_err_name(rc));
    FUZZ_CHECK(pr->maxsize == 0 || n <= pr->maxsize,
               "qsize %zu above maxsize %zu", n, pr->maxsize);
    FUZZ_CHECK(n <= (size_t)MAX_OPS * MAX_PROCS, "qsize %zu: more than "
               "was ever put", n);
    bool empty = mproc_queue_empty(w->q), full = mproc_queue_full(w->q);
    FUZZ_CHECK(!(full && pr->maxsize == 0), "an unbounded queue is full");
    (void)empty;
    break;
  }
  case O_PIPE_SEND: {
    int to = o.arg % pr->nproc;
    int seq = sh->sent[me][to];
    mproc_obj *item = make_item(me, seq, (o.arg >> 2) % MAX_PAYLOAD);
    rc = mproc_conn_send(w->pipe_w[me][to], item);
    mproc_obj_free(item);
    FUZZ_CHECK(rc == 0, "send on pipe %d->%d: %s", me, to,
               mproc_err_name(rc));
    sh->sent[me][to]++;
    break;
  }
  case O_PIPE_RECV:
    pipe_take(w, o.arg % pr->nproc, me, timeout_of(o.arg >> 2), "recv");
    break;
  case O_PIPE_POLL: {
    int from = o.arg % pr->nproc;
    rc = mproc_conn_poll(w->pipe_r[from][me], timeout_of(o.arg >> 2));
    FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
               "poll on pipe %d->%d: %s", from, me, mproc_err_name(rc));
    if (rc == 0) {
      rc = pipe_take(w, from, me, 0, "recv after poll");
      FUZZ_CHECK(rc == 0, "poll said pipe %d->%d was readable, then recv "
                 "gave %s", from, me, mproc_err_name(rc));
    }
    break;
  }
  case O_LOCK_ACQ:
    rc = mproc_lock_acquire(w->lock, t);
    if (l->lock_held) {
      FUZZ_CHECK(rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT,
                 "a process took its own Lock again: %s", mproc_err_name(rc));
      break;
    }
    FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
               "lock acquire: %s", mproc_err_name(rc));
    if (rc == 0) {
      int before = atomic_fetch_add(&sh->lock_holders, 1);
      FUZZ_CHECK(before == 0, "Lock taken while %d other holder(s) had it",
                 before);
      l->lock_held = true;
    }
    break;
  case O_LOCK_REL:
    if (!l->lock_held)
      break; /* another process's lock: not ours to release */
    atomic_fetch_sub(&sh->lock_holders, 1);
    rc = mproc_lock_release(w->lock);
    FUZZ_CHECK(rc == 0, "releasing a held Lock: %s", mproc_err_name(rc));
    l->lock_held = false;
    break;
  case O_RLOCK_ACQ:
    if (l->rlock_depth == MAX_RLOCK_DEPTH)
      break;
    rc = mproc_lock_acquire(w->rlock, t);
    if (l->rlock_depth > 0) {
      FUZZ_CHECK(rc == 0, "re-acquiring an owned RLock: %s",
                 mproc_err_name(rc));
    } else {
      FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
                 "rlock acquire: %s", mproc_err_name(rc));
      if (rc == 0) {
        int before = atomic_fetch_add(&sh->rlock_holders, 1);
        FUZZ_CHECK(before == 0, "RLock taken while %d other holder(s) had it",
                   before);
      }
    }
    if (rc == 0)
      l->rlock_depth++;
    break;
  case O_RLOCK_REL:
    if (l->rlock_depth == 0) {
      rc = mproc_lock_release(w->rlock);
      FUZZ_CHECK(rc == MPROC_EPERM || rc == MPROC_ESTATE,
                 "releasing an RLock not held: %s, expected EPERM or ESTATE",
                 mproc_err_name(rc));
      break;
    }
    if (l->rlock_depth == 1)
      atomic_fetch_sub(&sh->rlock_holders, 1);
    rc = mproc_lock_release(w->rlock);
    FUZZ_CHECK(rc == 0, "releasing a held RLock: %s", mproc_err_name(rc));
    l->rlock_depth--;
    break;
  case O_SEM_ACQ:
    rc = mproc_semaphore_acquire(w->sem, t);
    FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
               "semaphore acquire: %s", mproc_err_name(rc));
    sh->sem_acq[me] += rc == 0;
    break;
  case O_SEM_REL:
    rc = mproc_semaphore_release(w->sem);
    FUZZ_CHECK(rc == 0, "semaphore release: %s", mproc_err_name(rc));
    sh->sem_rel[me]++;
    break;
  case O_BSEM_ACQ:
  case O_BSEM_REL: {
    if (o.code == O_BSEM_ACQ) {
      rc = mproc_semaphore_acquire(w->bsem, t);
      FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
                 "bounded semaphore acquire: %s", mproc_err_name(rc));
      sh->bsem_acq[me] += rc == 0;
    } else {
      rc = mproc_semaphore_release(w->bsem);
      FUZZ_CHECK(rc == 0 || rc == MPROC_ESTATE,
                 "bounded semaphore release: %s", mproc_err_name(rc));
      sh->bsem_rel[me] += rc == 0;
    }
    int v = -1;
    rc = mproc_semaphore_get_value(w->bsem, &v);
    FUZZ_CHECK(rc == 0 && v >= 0 && (unsigned)v <= pr->bsem0,
               "bounded semaphore (initial %u) holds %d", pr->bsem0, v);
    break;
  }
  case O_EV_SET:
    rc = mproc_event_set(w->ev);
    FUZZ_CHECK(rc == 0, "event set: %s", mproc_err_name(rc));
    sh->ev_sets[me]++;
    l->i_set = true;
    break;
  case O_EV_CLEAR:
    rc = mproc_event_clear(w->ev);
    FUZZ_CHECK(rc == 0, "event clear: %s", mproc_err_name(rc));
    break;
  case O_EV_WAIT: {
    bool is_set = mproc_event_is_set(w->ev);
    rc = mproc_event_wait(w->ev, t);
    FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
               "event wait: %s", mproc_err_name(rc));
    if (!pr->any_set)
      FUZZ_CHECK(rc != 0 && !is_set, "an event nobody sets was seen set");
    if (l->i_set && !pr->any_clear)
      FUZZ_CHECK(rc == 0 && is_set, "an event set and never cleared was "
                 "seen clear (wait: %s)", mproc_err_name(rc));
    break;
  }
  case O_BAR_WAIT: {
    unsigned index = UINT32_MAX;
    rc = mproc_barrier_wait(w->bar, barrier_timeouts[o.arg & 3], &index);
    FUZZ_CHECK(rc == 0 || rc == MPROC_EBROKEN || rc == MPROC_ETIMEDOUT ||
                   rc == MPROC_EAGAIN,
               "barrier wait: %s", mproc_err_name(rc));
    if (rc == 0) {
      FUZZ_CHECK(index < (unsigned)pr->nproc, "barrier index %u of %d",
                 index, pr->nproc);
      atomic_fetch_add(&sh->barrier_index[index], 1);
    }
    break;
  }
  case O_BAR_RESET:
    rc = (o.arg & 1) ? mproc_barrier_abort(w->bar)
                     : mproc_barrier_reset(w->bar);
    FUZZ_CHECK(rc == 0, "barrier %s: %s", (o.arg & 1) ? "abort" : "reset",
               mproc_err_name(rc));
    break;
  case O_VAL_INC: {
    mproc_lock *vl = mproc_value_get_lock(w->val);
    rc = mproc_lock_acquire(vl, t);
    FUZZ_CHECK(err_in(rc, 0, MPROC_EAGAIN, MPROC_ETIMEDOUT),
               "value lock acquire: %s", mproc_err_name(rc));
    if (rc == 0) {
      long long *p = mproc_value_ptr(w->val);
      (*p)++;
      rc = mproc_lock_release(vl);
      FUZZ_CHECK(rc == 0, "value lock release: %s", mproc_err_name(rc));
      sh->val_inc[me]++;
    }
    break;
  }
  case N_OPS:
    break;
  }
}

/* Runs process `me`'s part, then gives back what it holds and takes every
 * message already sent to it, so that nothing it read ahead is lost when
 * it exits (docs/pipe.md, "Read-ahead"). */
static void run_program(world *w, int me) {
  local l;
  memset(&l, 0, sizeof l);
  for (int p = 0; p < MAX_PROCS; p++)
    l.last_from[p] = -1;
  for (int i = 0; i < w->prog->nops[me]; i++)
    run_op(w, &l, me, w->prog->ops[me][i]);
  if (l.lock_held) {
    atomic_fetch_sub(&w->sh->lock_holders, 1);
    FUZZ_CHECK(mproc_lock_release(w->lock) == 0, "final Lock release");
  }
  if (l.rlock_depth > 0)
    atomic_fetch_sub(&w->sh->rlock_holders, 1);
  for (; l.rlock_depth > 0; l.rlock_depth--)
    FUZZ_CHECK(mproc_lock_release(w->rlock) == 0, "final RLock release");
  for (int from = 0; from < w->prog->nproc; from++)
    while (pipe_take(w, from, me, 0, "final drain") == 0)
      ;
}

static int child_main(void *arg) {
  proc_arg *a = arg;
  /* The fuzzer's handlers are not for this process: a failed check here
   * aborts the child, and the parent reports it. */
  signal(SIGABRT, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  alarm((unsigned)fuzz_time_scale(WATCHDOG_S));
  run_program(a->w, a->me);
  return 0;
}

static bool parse(const uint8_t *data, size_t size, program *pr) {
  if (size < 3)
    return false;
  memset(pr, 0, sizeof *pr);
  pr->nproc = 1 + data[0] % MAX_PROCS;
  pr->maxsize = data[1] % 5;
  pr->sem0 = data[2] & 3;
  pr->bsem0 = (data[2] >> 2) & 3;
  size_t n = (size - 3) / 2;
  if (n > MAX_OPS)
    n = MAX_OPS;
  for (size_t i = 0; i < n; i++) {
    uint8_t a = data[3 + 2 * i], b = data[4 + 2 * i];
    int p = (a % 3) % pr->nproc;
    op o = {.code = (uint8_t)((a / 3) % N_OPS), .arg = b};
    pr->ops[p][pr->nops[p]++] = o;
    pr->any_set |= o.code == O_EV_SET;
    pr->any_clear |= o.code == O_EV_CLEAR;
  }
  return true;
}

static shared *sh_mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  program pr;
  if (!parse(data, size, &pr))
    return 0;
  if (sh_mem == NULL) {
    sh_mem = mmap(NULL, sizeof *sh_mem, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    FUZZ_CHECK(sh_mem != MAP_FAILED, "mmap: %s", strerror(errno));
  }
  memset(sh_mem, 0, sizeof *sh_mem);
  int fds_before = fuzz_count_fds();

  world w = {.prog = &pr, .sh = sh_mem};
  mproc_queue_options qo = {.maxsize = pr.maxsize, .capacity = 1u << 20};
  int rc = mproc_queue_new(&w.q, &qo);
  for (int p = 0; rc == 0 && p < pr.nproc; p++)
    for (int q = 0; rc == 0 && q < pr.nproc; q++)
      rc = mproc_pipe(&w.pipe_r[p][q], &w.pipe_w[p][q],
                      &(mproc_pipe_options){.one_way = true});
  if (rc == 0)
    rc = mproc_lock_new(&w.lock);
  if (rc == 0)
    rc = mproc_rlock_new(&w.rlock);
  if (rc == 0)
    rc = mproc_semaphore_new(&w.sem, pr.sem0);
  if (rc == 0)
    rc = mproc_bounded_semaphore_new(&w.bsem, pr.bsem0);
  if (rc == 0)
    rc = mproc_event_new(&w.ev);
  if (rc == 0)
    rc = mproc_barrier_new(&w.bar, (unsigned)pr.nproc, NULL, NULL,
                           MPROC_FOREVER);
  if (rc == 0)
    rc = mproc_value_new(&w.val, 'q', NULL);
  FUZZ_CHECK(rc == 0, "creating the objects: %s", mproc_err_name(rc));

  mproc_process procs[MAX_PROCS];
  proc_arg args[MAX_PROCS];
  pid_t pids[MAX_PROCS] = {0};
  for (int p = 1; p < pr.nproc; p++) {
    args[p] = (proc_arg){.w = &w, .me = p};
    mproc_process_options po = {.target = child_main, .arg = &args[p]};
    rc = mproc_process_init(&procs[p], &po);
    FUZZ_CHECK(rc == 0, "process init: %s", mproc_err_name(rc));
    rc = mproc_process_start(&procs[p]);
    FUZZ_CHECK(rc == 0, "process start: %s", mproc_err_name(rc));
    pids[p] = mproc_process_pid(&procs[p]);
  }
  run_program(&w, 0);

  /* Join with the watchdog's limit (and a margin): a child still running
   * then is stuck. */
  double limit = fuzz_time_scale(WATCHDOG_S) + 2;
  for (int p = 1; p < pr.nproc; p++) {
    rc = mproc_process_join(&procs[p], limit);
    if (rc != 0) {
      for (int k = 1; k < pr.nproc; k++)
        mproc_process_kill(&procs[k]);
      FUZZ_FAIL("process %d still running after %.0f s: %s", p, limit,
                mproc_err_name(rc));
    }
    int code = 0;
    rc = mproc_process_exitcode(&procs[p], &code);
    FUZZ_CHECK(rc == 0 && code == 0, "process %d ended with %d%s (its report "
               "is above)", p, code,
               code == -SIGALRM ? ": killed by its watchdog, stuck" : "");
    rc = mproc_process_close(&procs[p]);
    FUZZ_CHECK(rc == 0, "process close: %s", mproc_err_name(rc));
  }

  /* Queue: what is left, then every item put exactly once. */
  local fin;
  memset(&fin, 0, sizeof fin);
  for (int p = 0; p < MAX_PROCS; p++)
    fin.last_from[p] = -1;
  for (;;) {
    mproc_obj *item = NULL;
    rc = mproc_queue_get(w.q, &item, 0);
    if (rc != 0) {
      FUZZ_CHECK(rc == MPROC_EEMPTY, "final queue get: %s",
                 mproc_err_name(rc));
      break;
    }
    queue_got(&w, &fin, item, "final queue drain");
  }
  for (int p = 0; p < pr.nproc; p++)
    for (int s = 0; s < MAX_OPS; s++)
      FUZZ_CHECK(sh_mem->got[p][s] == sh_mem->put_ok[p][s],
                 "queue item (%d, %d): put %d time(s), got %d time(s)", p, s,
                 sh_mem->put_ok[p][s], sh_mem->got[p][s]);

  /* Pipes: what is left, then every message delivered exactly once. */
  for (int from = 0; from < pr.nproc; from++)
    for (int to = 0; to < pr.nproc; to++) {
      while (pipe_take(&w, from, to, 0, "final pipe drain") == 0)
        ;
      FUZZ_CHECK(sh_mem->received[from][to] == sh_mem->sent[from][to],
                 "pipe %d->%d: %d sent, %d received", from, to,
                 sh_mem->sent[from][to], sh_mem->received[from][to]);
    }

  /* Locks: all given back. */
  FUZZ_CHECK(sh_mem->lock_holders == 0 && sh_mem->rlock_holders == 0,
             "holders left: Lock %d, RLock %d", sh_mem->lock_holders,
             sh_mem->rlock_holders);
  rc = mproc_lock_acquire(w.lock, 0);
  FUZZ_CHECK(rc == 0, "the Lock is still held after the program: %s",
             mproc_err_name(rc));
  mproc_lock_release(w.lock);
  rc = mproc_lock_acquire(w.rlock, 0);
  FUZZ_CHECK(rc == 0, "the RLock is still held after the program: %s",
             mproc_err_name(rc));
  mproc_lock_release(w.rlock);

  /* Counts. */
  long long sem_want = pr.sem0, bsem_want = pr.bsem0, incs = 0, sets = 0;
  for (int p = 0; p < pr.nproc; p++) {
    sem_want += sh_mem->sem_rel[p] - sh_mem->sem_acq[p];
    bsem_want += sh_mem->bsem_rel[p] - sh_mem->bsem_acq[p];
    incs += sh_mem->val_inc[p];
    sets += sh_mem->ev_sets[p];
  }
  int v = -1;
  mproc_semaphore_get_value(w.sem, &v);
  FUZZ_CHECK(v == sem_want, "semaphore holds %d, releases and acquires say "
             "%lld", v, sem_want);
  mproc_semaphore_get_value(w.bsem, &v);
  FUZZ_CHECK(v == bsem_want, "bounded semaphore holds %d, releases and "
             "acquires say %lld", v, bsem_want);
  int64_t val = -1;
  mproc_value_get_i64(w.val, &val);
  FUZZ_CHECK(val == incs, "value is %lld after %lld increments",
             (long long)val, incs);
  bool is_set = mproc_event_is_set(w.ev);
  if (sets == 0)
    FUZZ_CHECK(!is_set, "an event never set ends set");
  else if (!pr.any_clear)
    FUZZ_CHECK(is_set, "an event set and never cleared ends clear");
  /* Whole generations: a released party succeeds even if the barrier is
   * aborted or broken by a timeout before it wakes (the documented
   * system's threading.Barrier fails it after an abort; regression inputs
   * regress-barrier-*). */
  for (int i = 1; i < pr.nproc; i++)
    FUZZ_CHECK(sh_mem->barrier_index[i] == sh_mem->barrier_index[0],
               "barrier: a generation was released in part: index 0 "
               "returned %d times, index %d %d times",
               sh_mem->barrier_index[0], i, sh_mem->barrier_index[i]);
  FUZZ_CHECK(mproc_barrier_n_waiting(w.bar) == 0,
             "%u parties still waiting at the barrier after the program",
             mproc_barrier_n_waiting(w.bar));

  mproc_value_free(w.val);
  mproc_barrier_free(w.bar);
  mproc_event_free(w.ev);
  mproc_semaphore_free(w.bsem);
  mproc_semaphore_free(w.sem);
  mproc_lock_free(w.rlock);
  mproc_lock_free(w.lock);
  for (int p = 0; p < pr.nproc; p++)
    for (int q = 0; q < pr.nproc; q++) {
      mproc_conn_free(w.pipe_r[p][q]);
      mproc_conn_free(w.pipe_w[p][q]);
    }
  mproc_queue_free(w.q);

  /* Each child reaped (not any child: the sanitizers' symbolizer is one). */
  for (int p = 1; p < pr.nproc; p++) {
    errno = 0;
    pid_t r = waitpid(pids[p], NULL, WNOHANG);
    FUZZ_CHECK(r < 0 && errno == ECHILD, "process %d (pid %d) is left "
               "unreaped", p, (int)pids[p]);
  }
  int fds_after = fuzz_count_fds();
  FUZZ_CHECK(fds_after == fds_before, "%d descriptors open before, %d after",
             fds_before, fds_after);
  return 0;
}

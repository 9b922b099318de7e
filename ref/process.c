/* Processes: fork, join with a time limit, exit codes, names, daemons.
 *
 * Every started child sits in a registry until it is reaped, so that the
 * exit handler can terminate daemons and reap everything, and so that a
 * forked child can forget its parent's children (it may not wait for
 * them).  The registry lock is taken around every fork(), by the
 * library's own starts and by anybody else's, so a child never inherits it
 * held by a thread that does not exist there. */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum proc_state { P_NEW, P_STARTED, P_ENDED };

typedef struct proc_impl {
  mproc_process *self;
  mproc_target_fn target;
  void *arg;
  mproc_run_fn run;
  char *name;
  char *ident;      /* "1", "1:2": the default-name path from the root */
  bool daemon;
  bool foreign;     /* inherited across fork: not the caller's child */
  enum proc_state state;
  pid_t pid;
  pid_t starter;    /* the process that initialised the object */
  int pidfd;        /* opened on the first timed join; -1 until then */
  int status;       /* wait status once ended */
  bool status_known; /* false if somebody else reaped the child */
  struct proc_impl *prev, *next; /* registry links while started */
} proc_impl;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static proc_impl *registry;
static unsigned name_counter;          /* guarded by registry_lock */
static const char *current_ident = ""; /* this process's default-name path */
static const char *current_name = "MainProcess";
static pid_t current_parent;           /* 0 in the main process */
static bool current_owned;             /* the two above are malloc'd */
static bool current_is_daemon;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* ---- fork hooks and exit handler ---- */

/* Lock order: the pools' lock, then the registry lock. */
static void before_fork(void) {
  mproc__workers_before_fork();
  pthread_mutex_lock(&registry_lock);
}

static void after_fork_parent(void) {
  pthread_mutex_unlock(&registry_lock);
  mproc__workers_after_fork();
}

static void after_fork_child(void) {
  /* Read without a lock by any thread, written only here and by the
   * child afterwards (child_main, mproc__become_daemon). */
  MPROC__FORKED_OWN(current_ident);
  MPROC__FORKED_OWN(current_name);
  MPROC__FORKED_OWN(current_owned);
  MPROC__FORKED_OWN(current_parent);
  MPROC__FORKED_OWN(current_is_daemon);
  pthread_mutex_unlock(&registry_lock);
  mproc__workers_after_fork();
  mproc__owner_after_fork();
  /* The parent's children are not ours: forget them.  Their pidfds, like
   * every descriptor the library keeps for itself, are closed here. */
  mproc__fd_close_tracked();
  for (proc_impl *p = registry; p != NULL; p = p->next) {
    p->foreign = true;
    p->pidfd = -1;
  }
  registry = NULL;
  name_counter = 0;
}

static void record_end(proc_impl *p, int status, bool known);

/* Like the documented system at interpreter exit: terminate daemonic
 * children, then wait for every child, so none is left a zombie. */
static void at_exit(void) {
  pthread_mutex_lock(&registry_lock);
  for (proc_impl *p = registry; p != NULL; p = p->next)
    if (p->daemon)
      kill(p->pid, SIGTERM);
  while (registry != NULL) {
    proc_impl *p = registry;
    int status = 0;
    pid_t r;
    do
      r = waitpid(p->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    record_end(p, status, r == p->pid);
  }
  pthread_mutex_unlock(&registry_lock);
}

static void setup(void) {
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  atexit(at_exit);
}

/* Also at load time, so that a plain fork() by the application keeps the
 * pid cache right even before the first start. */
__attribute__((constructor)) static void setup_at_load(void) {
  pthread_once(&setup_once, setup);
}

/* ---- registry (caller holds registry_lock) ---- */

static void registry_add(proc_impl *p) {
  p->prev = NULL;
  p->next = registry;
  if (registry != NULL)
    registry->prev = p;
  registry = p;
}

static void registry_remove(proc_impl *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else if (registry == p)
    registry = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void record_end(proc_impl *p, int status, bool known) {
  p->status = status;
  p->status_known = known;
  p->state = P_ENDED;
  if (p->pidfd >= 0) {
    mproc__fd_untrack(p->pidfd);
    close(p->pidfd);
    p->pidfd = -1;
  }
  registry_remove(p);
}

/* ---- helpers ---- */

static proc_impl *impl_of(const mproc_process *p, int *err) {
  if (p == NULL) {
    *err = MPROC_EINVAL;
    return NULL;
  }
  if (p->mproc__impl == NULL) {
    *err = MPROC_ECLOSED;
    return NULL;
  }
  return p->mproc__impl;
}

/* Started by the caller's process and not inherited. */
static int check_mine(proc_impl *p) {
  if (p->state == P_NEW || p->foreign || p->starter != getpid())
    return MPROC_ESTATE;
  return 0;
}

/* Reaps the child if it has ended; never blocks.  Returns true if ended. */
static bool poll_end(proc_impl *p) {
  if (p->state == P_ENDED)
    return true;
  int status = 0;
  pid_t r = waitpid(p->pid, &status, WNOHANG);
  if (r == p->pid || (r < 0 && errno == ECHILD)) {
    /* ECHILD: somebody else reaped it (SIGCHLD ignored, or waitpid(-1)
     * in the application); it has ended, with an unknown status. */
    pthread_mutex_lock(&registry_lock);
    record_end(p, status, r == p->pid);
    pthread_mutex_unlock(&registry_lock);
    return true;
  }
  return false;
}

static char *dup_string(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

/* ---- public functions ---- */

int mproc_process_init(mproc_process *p, const mproc_process_options *o) {
  if (p == NULL || o == NULL || (o->target == NULL) == (o->run == NULL))
    return MPROC_EINVAL;
  pthread_once(&setup_once, setup);
  proc_impl *impl = calloc(1, sizeof *impl);
  if (impl == NULL)
    return MPROC_ENOMEM;

  pthread_mutex_lock(&registry_lock);
  unsigned n = ++name_counter;
  pthread_mutex_unlock(&registry_lock);

  char ident[256];
  if (current_ident[0] == '\0')
    snprintf(ident, sizeof ident, "%u", n);
  else
    snprintf(ident, sizeof ident, "%s:%u", current_ident, n);
  char defname[300];
  snprintf(defname, sizeof defname, "Process-%s", ident);

  impl->ident = dup_string(ident);
  impl->name = dup_string(o->name != NULL ? o->name : defname);
  if (impl->ident == NULL || impl->name == NULL) {
    free(impl->ident);
    free(impl->name);
    free(impl);
    return MPROC_ENOMEM;
  }
  impl->self = p;
  impl->target = o->target;
  impl->arg = o->arg;
  impl->run = o->run;
  impl->daemon = o->daemon;
  impl->state = P_NEW;
  impl->pidfd = -1;
  impl->starter = getpid();
  p->mproc__impl = impl;
  return 0;
}

static void flush_coverage(void);

void mproc_process_exit(int code) {
  fflush(stdout);
  fflush(stderr);
  flush_coverage();
  _exit(code); /* LCOV_EXCL_LINE: runs after flush_coverage() wrote the counters, so no run can count it */
}

static _Noreturn void child_main(proc_impl *p, pid_t parent) {
  /* Anything still buffered was written by another thread after the
   * flush in start(): it is the parent's output, not ours. */
  __fpurge(stdout);
  __fpurge(stderr);
  /* Copies: the child may close its copy of the object.  In a child of a
   * child the inherited copies are replaced. */
  char *ident = dup_string(p->ident), *name = dup_string(p->name);
  if (ident == NULL || name == NULL) {
    free(ident); /* the other may have been copied */
    free(name);
    mproc_process_exit(1);
  }
  if (current_owned) {
    free((char *)current_ident);
    free((char *)current_name);
  }
  current_ident = ident;
  current_name = name;
  current_owned = true;
  current_parent = parent;
  current_is_daemon = p->daemon;
  p->foreign = true; /* a process cannot join itself */
  if (p->daemon) {
    /* Die with the parent even if it is killed: the documented system
     * leaves such daemons behind as orphans. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* LCOV_EXCL_BR_LINE: a race, see below */
      raise(SIGKILL); /* LCOV_EXCL_LINE: the parent would have to die between fork() and prctl(); no test can order that */
  }
  int code = p->run != NULL ? p->run(p->self) : p->target(p->arg);
  mproc_process_exit(code);
}

int mproc_process_start(mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  if (p->state != P_NEW || p->foreign || p->starter != getpid() ||
      current_is_daemon)
    return MPROC_ESTATE;
  /* Buffered output would otherwise be written by both processes. */
  fflush(stdout);
  fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) /* LCOV_EXCL_BR_LINE: see below */
    return errno == ENOMEM ? MPROC_ENOMEM : MPROC_ERESOURCE; /* LCOV_EXCL_LINE: fork(2) fails only at RLIMIT_NPROC, which root (the test lanes' user) is exempt from, or when the kernel is out of memory */
  if (pid == 0)
    child_main(p, parent);
  pthread_mutex_lock(&registry_lock);
  p->pid = pid;
  p->starter = parent;
  p->state = P_STARTED;
  registry_add(p);
  pthread_mutex_unlock(&registry_lock);
  return 0;
}

/* Waits on a pidfd; falls back to short naps where pidfd_open(2) is
 * missing (kernels before 5.3). */
static void wait_readable(proc_impl *p, int ms) {
  if (p->pidfd < 0) {
    p->pidfd = mproc__pidfd_open(p->pid);
  }
  if (p->pidfd >= 0) {
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    poll(&pfd, 1, ms); /* EINTR: the caller loops and re-checks */
  } else {
    struct timespec nap = {0, 2000000L};
    if (ms >= 0 && ms < 2)
      nap.tv_nsec = (long)ms * 1000000L;
    nanosleep(&nap, NULL);
  }
}

int mproc_process_join(mproc_process *pp, double timeout) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  mproc__deadline d;
  if ((err = mproc__deadline_init(&d, timeout, MPROC_FOREVER)) != 0)
    return err;
  if ((err = check_mine(p)) != 0)
    return err;
  if (p->state == P_ENDED)
    return 0;
  if (d.never) {
    int status = 0;
    pid_t r;
    do
      r = waitpid(p->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    pthread_mutex_lock(&registry_lock);
    record_end(p, status, r == p->pid);
    pthread_mutex_unlock(&registry_lock);
    return 0;
  }
  for (;;) {
    if (poll_end(p))
      return 0;
    if (d.poll || mproc__deadline_passed(&d))
      return mproc__deadline_error(&d);
    wait_readable(p, mproc__deadline_ms(&d, -1));
  }
}

bool mproc_process_is_alive(mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL || check_mine(p) != 0)
    return false;
  return !poll_end(p);
}

pid_t mproc_process_pid(const mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  return p == NULL || p->state == P_NEW ? 0 : p->pid;
}

int mproc_process_exitcode(mproc_process *pp, int *code) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  if (code == NULL)
    return MPROC_EINVAL;
  if ((err = check_mine(p)) != 0)
    return err;
  if (!poll_end(p))
    return MPROC_ESTATE;
  if (!p->status_known)
    return MPROC_ESYS;
  if (WIFSIGNALED(p->status))
    *code = -WTERMSIG(p->status);
  else
    *code = WEXITSTATUS(p->status);
  return 0;
}

const char *mproc_process_name(const mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  return p == NULL ? NULL : p->name;
}

int mproc_process_set_daemon(mproc_process *pp, bool daemon) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  if (p->state != P_NEW)
    return MPROC_ESTATE;
  p->daemon = daemon;
  return 0;
}

bool mproc_process_daemon(const mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  return p != NULL && p->daemon;
}

static int send_signal(mproc_process *pp, int sig) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  if ((err = check_mine(p)) != 0)
    return err;
  /* Until it is reaped the pid cannot be reused, so this never hits a
   * stranger; a zombie ignores the signal. */
  if (p->state == P_STARTED)
    kill(p->pid, sig);
  return 0;
}

int mproc_process_terminate(mproc_process *p) {
  return send_signal(p, SIGTERM);
}

int mproc_process_kill(mproc_process *p) { return send_signal(p, SIGKILL); }

int mproc_process_close(mproc_process *pp) {
  int err = 0;
  proc_impl *p = impl_of(pp, &err);
  if (p == NULL)
    return err;
  if (p->state == P_STARTED && !p->foreign && !poll_end(p))
    return MPROC_ESTATE;
  if (p->pidfd >= 0) { /* LCOV_EXCL_START: a guard: record_end() closed it when the child was reaped, and the fork hook set it to -1 in an inherited copy */
    mproc__fd_untrack(p->pidfd);
    close(p->pidfd);
  } /* LCOV_EXCL_STOP */
  free(p->name);
  free(p->ident);
  free(p);
  pp->mproc__impl = NULL;
  return 0;
}

bool mproc__is_daemon(void) { return current_is_daemon; }

void mproc__become_daemon(const char *name) {
  current_is_daemon = true;
  char *n = dup_string(name), *id = dup_string("");
  if (n == NULL || id == NULL) {
    free(n);
    free(id);
    return;
  }
  if (current_owned) {
    free((char *)current_name);
    free((char *)current_ident);
  }
  current_name = n;
  current_ident = id;
  current_owned = true;
}

const char *mproc_current_name(void) { return current_name; }

pid_t mproc_current_pid(void) { return getpid(); }

pid_t mproc_parent_pid(void) {
  return current_parent != 0 ? current_parent : getppid();
}

int mproc_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (int)n;
}

/* A child ends with _exit(), which skips the exit handler that writes
 * gcov's counters: write them first, so code that ran only in children
 * (targets, pool workers, the manager's server) shows up in coverage
 * reports.  The reference must be strong: a weak one does not pull
 * __gcov_dump out of libgcov. */
#ifdef MPROC_COVERAGE
extern void __gcov_dump(void);
static void flush_coverage(void) { __gcov_dump(); }
#else
static void flush_coverage(void) {}
#endif

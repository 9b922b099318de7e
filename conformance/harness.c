/*
 * harness.c: registration, the leak-checking fixture, helpers and main()
 * of every conformance program.
 *
 * main() builds one Check suite with one test case per registered test (so
 * each result carries its test's name, and each test gets the fixture and
 * the scaled timeout), runs it in Check's fork mode unless CK_FORK=no, and
 * prints, as each test ends, "<OUTCOME> <suite>.<test> [IDs] <message>".
 * The outcomes, in the manner of the Open POSIX Test Suite
 * (docs/validating.md):
 *
 *     PASS         every assertion held and nothing leaked
 *     FAIL         an assertion failed, the fixture found a leak, or the
 *                  test exited early
 *     UNRESOLVED   the environment broke (MPT_UNRESOLVED_IF, or the harness
 *                  could not get a process, memory or a mapping)
 *     UNSUPPORTED  not run: the implementation declares a feature the test
 *                  needs unsupported (MPROC_IMPL_UNSUPPORTED at configure
 *                  time, MPT_UNSUPPORTED at run time)
 *     UNTESTED     cannot be checked here (MPT_UNTESTED_IF)
 *     HUNG         Check's timeout, mpt_scale(60), expired
 *     CRASH(SIGx)  the test process died of signal SIGx
 *
 * Then "# outcomes: N PASS, ..." and last "N passed, N failed" alone on a
 * line, where failed counts FAIL, UNRESOLVED, HUNG and CRASH (UNSUPPORTED
 * and UNTESTED count in neither); it exits 0 iff none failed, 2 on a usage
 * error.  With MPT_RESULTS set to a directory it also writes
 * <dir>/<suite>.tsv: suite, test, IDs, outcome, duration in seconds,
 * message, features, tab-separated, one line per test.  argv[1], if given,
 * runs only the test of that name.
 */
#define _GNU_SOURCE
#define MPT_SUITE "harness"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Registration                                                             */
/* ------------------------------------------------------------------------ */

static struct mpt_test *mpt__tests;
static int mpt__ntests;

void mpt__register(struct mpt_test *t)
{
  t->next = mpt__tests;
  mpt__tests = t;
  mpt__ntests++;
}

/* Constructors run in an order the toolchain chooses: sort by position in
 * the file so reports read like the source. */
static int mpt__by_position(const void *a, const void *b)
{
  const struct mpt_test *x = *(struct mpt_test *const *)a;
  const struct mpt_test *y = *(struct mpt_test *const *)b;
  int c = strcmp(x->file, y->file);
  return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

double mpt_scale(double seconds)
{
  static double factor;
  if (factor == 0) {
    const char *s = getenv("MPROC_TIME_SCALE");
    char *end;
    double f = s != NULL ? strtod(s, &end) : 1;
    if (s != NULL && (end == s || !(f > 0)))
      f = 1;
    factor = f;
  }
  return seconds * factor;
}

double mpt_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void mpt__pause_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

bool mpt_poll_until(bool (*pred)(void *arg), void *arg, double timeout)
{
  double deadline = mpt_now() + timeout;
  for (;;) {
    if (pred(arg))
      return true;
    if (mpt_now() >= deadline)
      return pred(arg);
    mpt__pause_ms(1);
  }
}

/* ------------------------------------------------------------------------ */
/* Failures: Check in the test process, exit codes in children              */
/* ------------------------------------------------------------------------ */

/* Shared with children (inherited mapping): the first child failure. */
struct mpt__child_page {
  int claimed;
  char msg[2048];
};
static struct mpt__child_page *mpt__page;
static pid_t mpt__test_pid;

const char *mpt_child_message(void)
{
  return mpt__page != NULL && __atomic_load_n(&mpt__page->claimed,
                                              __ATOMIC_ACQUIRE) == 2
             ? mpt__page->msg
             : "";
}

static void mpt__vchild_fail(const char *file, int line, const char *fmt,
                             va_list ap) __attribute__((noreturn));
static void mpt__vchild_fail(const char *file, int line, const char *fmt,
                             va_list ap)
{
  char what[1024], msg[sizeof mpt__page->msg];
  const char *name = mproc_current_name();
  vsnprintf(what, sizeof what, fmt, ap);
  snprintf(msg, sizeof msg, "%s:%d: in %s (pid %ld): %s", file, line,
           name != NULL ? name : "?", (long)getpid(), what);
  fprintf(stderr, "%s\n", msg);
  if (mpt__page != NULL) {
    int expected = 0;
    if (__atomic_compare_exchange_n(&mpt__page->claimed, &expected, 1, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      memcpy(mpt__page->msg, msg, sizeof msg);
      __atomic_store_n(&mpt__page->claimed, 2, __ATOMIC_RELEASE);
    }
  }
  mproc_process_exit(MPT_CHILD_FAILED);
}

void mpt__child_fail(const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mpt__vchild_fail(file, line, fmt, ap);
}

/* Fails the test: through Check in the test process, as a child failure
 * anywhere else (the helpers below may be used in children too). */
static void mpt__fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
static void mpt__fail(const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  char msg[3072];
  va_start(ap, fmt);
  if (mpt__test_pid != 0 && getpid() != mpt__test_pid)
    mpt__vchild_fail(file, line, fmt, ap);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  _ck_assert_failed(file, line, "Failed", "%s", msg);
}

/* Failure messages that begin with an outcome's marker end the test with
 * that outcome instead of FAIL (see mpt__classify). */
#define MPT__MARK_SEP ": "

void mpt__end_as(const char *outcome, const char *file, int line,
                 const char *fmt, ...)
{
  va_list ap;
  char msg[3072];
  int n = snprintf(msg, sizeof msg, "%s" MPT__MARK_SEP, outcome);
  va_start(ap, fmt);
  if (mpt__test_pid != 0 && getpid() != mpt__test_pid)
    mpt__vchild_fail(file, line, fmt, ap); /* a child: its parent decides */
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  _ck_assert_failed(file, line, outcome, "%s", msg);
}

/* Errors that say the machine ran out of something, not that the
 * implementation is wrong. */
static bool mpt__environment_error(int rc)
{
  return rc == MPROC_ENOMEM || rc == MPROC_ERESOURCE || rc == MPROC_ESYS ||
         rc == MPROC_EAGAIN;
}

void mpt__observe(const char *file, int line, double seconds)
{
  mproc_event *e;
  int rc = mproc_event_new(&e);
  if (mpt__environment_error(rc))
    mpt__end_as("UNRESOLVED", file, line,
                "observation window: mproc_event_new returned %s",
                mproc_err_name(rc));
  if (rc != 0)
    mpt__fail(file, line, "observation window: mproc_event_new returned %s",
              mproc_err_name(rc));
  rc = mproc_event_wait(e, seconds);
  mproc_event_free(e);
  if (rc != MPROC_ETIMEDOUT)
    mpt__fail(file, line,
              "observation window: waiting %.3fs on an event nobody sets "
              "returned %s, expected ETIMEDOUT",
              seconds, mproc_err_name(rc));
}

/* ------------------------------------------------------------------------ */
/* Children                                                                 */
/* ------------------------------------------------------------------------ */

static void mpt__kill_and_close(mproc_process *procs, int n)
{
  for (int i = 0; i < n; i++) {
    mproc_process_kill(&procs[i]);
    mproc_process_join(&procs[i], mpt_scale(10));
    mproc_process_close(&procs[i]);
  }
}

void mpt__spawn(const char *file, int line, mproc_process *procs, int n,
                mproc_target_fn fn, void *args, size_t stride)
{
  for (int i = 0; i < n; i++) {
    mproc_process_options o = {0};
    int rc;
    o.target = fn;
    o.arg = (char *)args + (size_t)i * stride;
    const char *what = "mproc_process_init";
    rc = mproc_process_init(&procs[i], &o);
    if (rc == 0) {
      what = "mproc_process_start";
      rc = mproc_process_start(&procs[i]);
      if (rc != 0)
        mpt__kill_and_close(procs, i + 1);
    } else {
      mpt__kill_and_close(procs, i);
    }
    if (mpt__environment_error(rc))
      mpt__end_as("UNRESOLVED", file, line, "%s of process %d returned %s",
                  what, i, mproc_err_name(rc));
    if (rc != 0)
      mpt__fail(file, line, "%s of process %d returned %s", what, i,
                mproc_err_name(rc));
  }
}

void mpt__join_all(const char *file, int line, mproc_process *procs, int n)
{
  /* Longer than the children's own scaled 30 s waits, so that a stuck
   * child reports its failure before the join gives up on it. */
  double limit = mpt_scale(40), deadline = mpt_now() + limit;
  char what[512] = "";
  for (int i = 0; i < n && what[0] == '\0'; i++) {
    double left = deadline - mpt_now();
    int rc = mproc_process_join(&procs[i], left > 0 ? left : 0);
    if (rc != 0)
      snprintf(what, sizeof what,
               "process %d (%s, pid %ld) did not end within %.1fs: join "
               "returned %s",
               i, mproc_process_name(&procs[i]) ? mproc_process_name(&procs[i]) : "?",
               (long)mproc_process_pid(&procs[i]), limit, mproc_err_name(rc));
  }
  for (int i = 0; i < n && what[0] == '\0'; i++) {
    int code = 0;
    int rc = mproc_process_exitcode(&procs[i], &code);
    if (rc != 0 || code != 0)
      snprintf(what, sizeof what,
               "process %d (%s, pid %ld) exited with %d (exitcode returned "
               "%s)",
               i, mproc_process_name(&procs[i]) ? mproc_process_name(&procs[i]) : "?",
               (long)mproc_process_pid(&procs[i]), code, mproc_err_name(rc));
  }
  mpt__kill_and_close(procs, n);
  if (what[0] != '\0') {
    const char *cm = mpt_child_message();
    mpt__fail(file, line, "%s%s%s", what, cm[0] ? "; child reported: " : "",
              cm);
  }
}

void mpt__join_expect(const char *file, int line, mproc_process *proc,
                      int code)
{
  int rc = mproc_process_join(proc, mpt_scale(40));
  int got = 0;
  char what[512] = "";
  if (rc != 0) {
    snprintf(what, sizeof what,
             "process %s (pid %ld) did not end within %.1fs: join returned %s",
             mproc_process_name(proc) ? mproc_process_name(proc) : "?",
             (long)mproc_process_pid(proc), mpt_scale(40),
             mproc_err_name(rc));
  } else if ((rc = mproc_process_exitcode(proc, &got)) != 0 || got != code) {
    snprintf(what, sizeof what,
             "process %s (pid %ld) exited with %d, expected %d (exitcode "
             "returned %s)",
             mproc_process_name(proc) ? mproc_process_name(proc) : "?",
             (long)mproc_process_pid(proc), got, code, mproc_err_name(rc));
  }
  mpt__kill_and_close(proc, 1);
  if (what[0] != '\0') {
    const char *cm = mpt_child_message();
    mpt__fail(file, line, "%s%s%s", what, cm[0] ? "; child reported: " : "",
              cm);
  }
}

int64_t *mpt__scratch(const char *file, int line, mproc_array **arr,
                      size_t n)
{
  mproc_shared_options o = {.raw = true};
  int rc = mproc_array_new(arr, 'q', n, NULL, &o);
  if (mpt__environment_error(rc))
    mpt__end_as("UNRESOLVED", file, line,
                "mproc_array_new('q', %zu, raw) returned %s", n,
                mproc_err_name(rc));
  if (rc != 0)
    mpt__fail(file, line, "mproc_array_new('q', %zu, raw) returned %s", n,
              mproc_err_name(rc));
  return mproc_array_data(*arr);
}

void mpt__thread_create(const char *file, int line, pthread_t *th,
                        void *(*fn)(void *), void *arg)
{
  int rc = pthread_create(th, NULL, fn, arg);
  if (rc != 0)
    mpt__end_as("UNRESOLVED", file, line, "pthread_create: %s",
                strerror(rc));
}

bool mpt_wait_pid_gone(pid_t pid, double timeout)
{
  double deadline = mpt_now() + timeout;
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return true;
    if (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH)
      return true;
    if (mpt_now() >= deadline)
      return false;
    mpt__pause_ms(1);
  }
}

/* ------------------------------------------------------------------------ */
/* Signals during waits                                                     */
/* ------------------------------------------------------------------------ */

struct mpt__sigstate {
  int handled;  /* SIGUSR1 handled by the waiting thread */
  int entering; /* the waiter is about to call wait_fn */
  int woken;    /* the helper is about to call wake_fn */
};
static struct mpt__sigstate *mpt__sig;

struct mpt__sighelper {
  int (*wake_fn)(void *arg);
  void *arg;
  int signals;
  pid_t pid, tid; /* the waiting process and thread */
};

static void mpt__on_sigusr1(int sig)
{
  (void)sig;
  __atomic_add_fetch(&mpt__sig->handled, 1, __ATOMIC_SEQ_CST);
}

/* The scheduler state of thread tid of process pid ('S': asleep). */
static char mpt__thread_state(pid_t pid, pid_t tid)
{
  char path[64], buf[512];
  FILE *f;
  size_t n;
  char *p;
  snprintf(path, sizeof path, "/proc/%ld/task/%ld/stat", (long)pid,
           (long)tid);
  if ((f = fopen(path, "r")) == NULL)
    return '?';
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' ? p[2] : '?';
}

struct mpt__asleep_arg {
  pid_t pid, tid;
  int handled;
};

static bool mpt__waiter_asleep(void *p)
{
  struct mpt__asleep_arg *a = p;
  return __atomic_load_n(&mpt__sig->handled, __ATOMIC_SEQ_CST) == a->handled &&
         mpt__thread_state(a->pid, a->tid) == 'S';
}

static bool mpt__entering(void *p)
{
  (void)p;
  return __atomic_load_n(&mpt__sig->entering, __ATOMIC_SEQ_CST) != 0;
}

static bool mpt__handled(void *p)
{
  return __atomic_load_n(&mpt__sig->handled, __ATOMIC_SEQ_CST) >= *(int *)p;
}

static int mpt__sighelper_main(void *p)
{
  struct mpt__sighelper *h = p;
  MPT_CHILD_ASSERT(mpt_poll_until(mpt__entering, NULL, mpt_scale(10)));
  for (int i = 0; i < h->signals; i++) {
    struct mpt__asleep_arg a = {h->pid, h->tid, i};
    int want = i + 1;
    /* An implementation may spin instead of sleeping: then the signal
     * arrives while the waiter runs, which must be survived as well. */
    mpt_poll_until(mpt__waiter_asleep, &a, mpt_scale(2));
    MPT_CHILD_EQ(__atomic_load_n(&mpt__sig->handled, __ATOMIC_SEQ_CST), i);
    MPT_CHILD_OK(syscall(SYS_tgkill, h->pid, h->tid, SIGUSR1) == 0 ? 0
                                                                  : MPROC_ESYS);
    MPT_CHILD_ASSERT(mpt_poll_until(mpt__handled, &want, mpt_scale(10)));
  }
  __atomic_store_n(&mpt__sig->woken, 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(h->wake_fn(h->arg));
  return 0;
}

int mpt__wait_through_signals(const char *file, int line,
                              int (*wait_fn)(void *arg),
                              int (*wake_fn)(void *arg), void *arg,
                              int signals)
{
  struct sigaction sa, old;
  struct mpt__sighelper h = {wake_fn, arg, signals, getpid(),
                             (pid_t)syscall(SYS_gettid)};
  mproc_process helper;
  mproc_process_options o = {0};
  int rc, woken, handled, code = -1, jrc;

  mpt__sig = mmap(NULL, sizeof *mpt__sig, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mpt__sig == MAP_FAILED)
    mpt__end_as("UNRESOLVED", file, line, "mmap: %s", strerror(errno));
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = mpt__on_sigusr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: interrupted system calls see EINTR */
  sigaction(SIGUSR1, &sa, &old);

  o.target = mpt__sighelper_main;
  o.arg = &h;
  if ((rc = mproc_process_init(&helper, &o)) != 0 ||
      (rc = mproc_process_start(&helper)) != 0) {
    if (mpt__environment_error(rc))
      mpt__end_as("UNRESOLVED", file, line, "starting the signal helper: %s",
                  mproc_err_name(rc));
    mpt__fail(file, line, "starting the signal helper: %s",
              mproc_err_name(rc));
  }

  __atomic_store_n(&mpt__sig->entering, 1, __ATOMIC_SEQ_CST);
  rc = wait_fn(arg);
  woken = __atomic_load_n(&mpt__sig->woken, __ATOMIC_SEQ_CST);
  handled = __atomic_load_n(&mpt__sig->handled, __ATOMIC_SEQ_CST);

  if (!woken)
    mproc_process_kill(&helper);
  jrc = mproc_process_join(&helper, mpt_scale(30));
  if (jrc != 0) {
    mproc_process_kill(&helper);
    mproc_process_join(&helper, mpt_scale(10));
  }
  mproc_process_exitcode(&helper, &code);
  mproc_process_close(&helper);
  sigaction(SIGUSR1, &old, NULL);
  munmap(mpt__sig, sizeof *mpt__sig);
  mpt__sig = NULL;

  if (!woken)
    mpt__fail(file, line,
              "the wait returned %s before the wake-up, after %d of %d "
              "signals%s%s",
              mproc_err_name(rc), handled, signals,
              mpt_child_message()[0] ? "; helper reported: " : "",
              mpt_child_message());
  if (jrc != 0 || code != 0)
    mpt__fail(file, line, "signal helper failed (join %s, exit code %d)%s%s",
              mproc_err_name(jrc), code,
              mpt_child_message()[0] ? ": " : "", mpt_child_message());
  if (handled != signals)
    mpt__fail(file, line, "%d of %d signals were handled", handled, signals);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The fixture: no child and no descriptor may outlive a test               */
/* ------------------------------------------------------------------------ */

#define MPT_MAX_FDS 256

struct mpt__fdset {
  int n;
  int fd[MPT_MAX_FDS];
  char target[MPT_MAX_FDS][128];
};
static struct mpt__fdset mpt__fds_before;

static void mpt__snapshot_fds(struct mpt__fdset *s)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  s->n = 0;
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL && s->n < MPT_MAX_FDS) {
    char path[64];
    ssize_t len;
    int fd;
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    fd = atoi(e->d_name);
    if (fd == dirfd(d))
      continue;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    len = readlink(path, s->target[s->n], sizeof s->target[0] - 1);
    s->target[s->n][len > 0 ? len : 0] = '\0';
    s->fd[s->n++] = fd;
  }
  closedir(d);
}

static int mpt__fd_index(const struct mpt__fdset *s, int fd)
{
  for (int i = 0; i < s->n; i++)
    if (s->fd[i] == fd)
      return i;
  return -1;
}

/* Children of this process, found through /proc (waitpid cannot name a
 * child that is still running). */
static int mpt__list_children(pid_t *out, int max)
{
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  pid_t self = getpid();
  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL && n < max) {
    char path[300], buf[512], *p;
    FILE *f;
    size_t len;
    long ppid;
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    if ((f = fopen(path, "r")) == NULL)
      continue;
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2, "%*c %ld", &ppid) != 1)
      continue;
    if (ppid == self)
      out[n++] = (pid_t)atol(e->d_name);
  }
  closedir(d);
  return n;
}

static void mpt__append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mpt__append(char *buf, size_t size, const char *fmt, ...)
{
  size_t used = strlen(buf);
  va_list ap;
  if (used >= size - 1)
    return;
  va_start(ap, fmt);
  vsnprintf(buf + used, size - used, fmt, ap);
  va_end(ap);
}

static void mpt__setup(void)
{
  mpt__test_pid = getpid();
  /* The runner's handlers (SIGTERM, SIGINT: kill the test's process group;
   * SIGALRM: its timeout) are inherited by the test and by every child it
   * starts; a child ended by terminate would take the whole test down. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGALRM, SIG_DFL);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    mpt__end_as("UNRESOLVED", __FILE__, __LINE__,
                "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
  mpt__page = mmap(NULL, sizeof *mpt__page, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mpt__page == MAP_FAILED) {
    mpt__page = NULL;
    mpt__end_as("UNRESOLVED", __FILE__, __LINE__, "mmap: %s",
                strerror(errno));
  }
  mpt__snapshot_fds(&mpt__fds_before);
}

static void mpt__teardown(void)
{
  char problems[2048] = "";
  struct mpt__fdset *after = malloc(sizeof *after);

  /* Every child must have been reaped: a zombie or a live child means the
   * test (or the library) lost track of a process. */
  for (int round = 0; round < 100; round++) {
    int st;
    pid_t r = waitpid(-1, &st, WNOHANG);
    if (r > 0) {
      mpt__append(problems, sizeof problems,
                  "%schild %ld was left unreaped (%s %d)",
                  problems[0] ? "; " : "", (long)r,
                  WIFSIGNALED(st) ? "killed by signal" : "exit code",
                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break; /* ECHILD: none left */
    pid_t kids[64];
    int n = mpt__list_children(kids, 64);
    for (int i = 0; i < n; i++) {
      mpt__append(problems, sizeof problems, "%schild %ld was still running",
                  problems[0] ? "; " : "", (long)kids[i]);
      kill(kids[i], SIGKILL);
    }
    for (int i = 0; i < n; i++)
      waitpid(kids[i], &st, 0);
    if (n == 0)
      mpt__pause_ms(1); /* a child between running and zombie */
  }

  if (mpt__page != NULL) {
    munmap(mpt__page, sizeof *mpt__page);
    mpt__page = NULL;
  }

  if (after != NULL) {
    mpt__snapshot_fds(after);
    for (int i = 0; i < after->n; i++)
      if (mpt__fd_index(&mpt__fds_before, after->fd[i]) < 0)
        mpt__append(problems, sizeof problems, "%sfd %d (%s) was left open",
                    problems[0] ? "; " : "", after->fd[i], after->target[i]);
    for (int i = 0; i < mpt__fds_before.n; i++)
      if (mpt__fd_index(after, mpt__fds_before.fd[i]) < 0)
        mpt__append(problems, sizeof problems, "%sfd %d (%s) was closed",
                    problems[0] ? "; " : "", mpt__fds_before.fd[i],
                    mpt__fds_before.target[i]);
    free(after);
  }

  if (problems[0] != '\0')
    ck_abort_msg("after the test: %s", problems);
}

/* ------------------------------------------------------------------------ */
/* Features                                                                 */
/* ------------------------------------------------------------------------ */

/* Every feature a test may need; docs/validating.md says what each covers.
 * The names are what an implementation lists as unsupported. */
static const char *const mpt__features[] = {
    "process",  "daemon-exit", "lock",          "rlock",
    "owner-died", "semaphore", "event",         "condition",
    "barrier",  "shared-memory", "checked-stores", "values",
    "pipe",     "queue",       "joinable-queue", "pool",
    "executor", "worker-lost", "manager",
};

/* Implementations declare at configure time (MPROC_IMPL_UNSUPPORTED)
 * what they do not provide; the build passes it on. */
#ifndef MPT_IMPL_UNSUPPORTED
#define MPT_IMPL_UNSUPPORTED ""
#endif

static bool mpt__is_feature(const char *name, size_t len)
{
  for (size_t i = 0; i < sizeof mpt__features / sizeof *mpt__features; i++)
    if (strlen(mpt__features[i]) == len &&
        strncmp(mpt__features[i], name, len) == 0)
      return true;
  return false;
}

/* Calls fn on each word of a list separated by spaces or commas; stops at
 * and returns the first non-zero result. */
static int mpt__each_word(const char *list,
                          int (*fn)(const char *w, size_t len, void *arg),
                          void *arg)
{
  const char *p = list;
  while (*p != '\0') {
    size_t len;
    int r;
    p += strspn(p, " \t,");
    len = strcspn(p, " \t,");
    if (len == 0)
      break;
    if ((r = fn(p, len, arg)) != 0)
      return r;
    p += len;
  }
  return 0;
}

static int mpt__check_word(const char *w, size_t len, void *arg)
{
  const char *where = arg;
  if (mpt__is_feature(w, len))
    return 0;
  fprintf(stderr, "%s: unknown feature \"%.*s\"; the features are:", where,
          (int)len, w);
  for (size_t i = 0; i < sizeof mpt__features / sizeof *mpt__features; i++)
    fprintf(stderr, " %s", mpt__features[i]);
  fprintf(stderr, "\n");
  return 1;
}

/* The declared unsupported features: configure's and the environment's. */
static char mpt__unsupported[1024];

static int mpt__find_word(const char *w, size_t len, void *arg)
{
  const char *list = arg;
  const char *p = list;
  while ((p = strstr(p, " ")) != NULL) {
    p++;
    if (strncmp(p, w, len) == 0 && (p[len] == ' ' || p[len] == '\0'))
      return 1;
  }
  return 0;
}

static int mpt__add_word(const char *w, size_t len, void *arg)
{
  (void)arg;
  if (!mpt__find_word(w, len, mpt__unsupported))
    snprintf(mpt__unsupported + strlen(mpt__unsupported),
             sizeof mpt__unsupported - strlen(mpt__unsupported), " %.*s",
             (int)len, w);
  return 0;
}

struct mpt__missing {
  char name[64];
};

static int mpt__first_unsupported(const char *w, size_t len, void *arg)
{
  struct mpt__missing *m = arg;
  if (!mpt__find_word(w, len, mpt__unsupported))
    return 0;
  snprintf(m->name, sizeof m->name, "%.*s", (int)len, w);
  return 1;
}

/* Reads the declarations; false (after saying why) if one names no
 * feature. */
static bool mpt__load_unsupported(void)
{
  const char *env = getenv("MPT_UNSUPPORTED");
  if (mpt__each_word(MPT_IMPL_UNSUPPORTED, mpt__check_word,
                     (void *)"MPROC_IMPL_UNSUPPORTED") != 0 ||
      (env != NULL &&
       mpt__each_word(env, mpt__check_word, (void *)"MPT_UNSUPPORTED") != 0))
    return false;
  mpt__each_word(MPT_IMPL_UNSUPPORTED, mpt__add_word, NULL);
  if (env != NULL)
    mpt__each_word(env, mpt__add_word, NULL);
  return true;
}

/* ------------------------------------------------------------------------ */
/* Running and reporting                                                    */
/* ------------------------------------------------------------------------ */

struct mpt__record {
  struct mpt_test *test;
  double start, duration;
  char outcome[32]; /* "" until the test ended */
  char *message;
  bool skip; /* decided before running: UNSUPPORTED */
};

static SRunner *mpt__runner;
static struct mpt__record *mpt__records;
static int mpt__nrecords, mpt__cursor = -1;

static void mpt__before(void)
{
  do
    mpt__cursor++;
  while (mpt__cursor < mpt__nrecords && mpt__records[mpt__cursor].skip);
  if (mpt__cursor < mpt__nrecords)
    mpt__records[mpt__cursor].start = mpt_now();
}

/* The name of a signal, for CRASH(SIGx); its number where it is rare. */
static void mpt__signal_name(int sig, char *out, size_t size)
{
  static const struct {
    int sig;
    const char *name;
  } names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
      {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
      {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
      {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGSYS, "SIGSYS"},   {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].sig == sig) {
      snprintf(out, size, "%s", names[i].name);
      return;
    }
  snprintf(out, size, "SIG%d", sig);
}

/* The outcome of a finished Check test, from its type and message. */
static void mpt__classify(TestResult *tr, char *out, size_t size)
{
  static const char *const marked[] = {"UNRESOLVED", "UNTESTED"};
  const char *msg = tr_msg(tr) != NULL ? tr_msg(tr) : "";
  int sig;
  if (tr_rtype(tr) == CK_PASS) {
    snprintf(out, size, "PASS");
    return;
  }
  for (size_t i = 0; i < sizeof marked / sizeof *marked; i++) {
    size_t n = strlen(marked[i]);
    if (strncmp(msg, marked[i], n) == 0 &&
        strncmp(msg + n, MPT__MARK_SEP, strlen(MPT__MARK_SEP)) == 0) {
      snprintf(out, size, "%s", marked[i]);
      return;
    }
  }
  if (tr_rtype(tr) == CK_ERROR &&
      strncmp(msg, "Test timeout expired", 20) == 0) {
    snprintf(out, size, "HUNG");
    return;
  }
  if (tr_rtype(tr) == CK_ERROR && sscanf(msg, "Received signal %d", &sig) == 1) {
    char name[16];
    mpt__signal_name(sig, name, sizeof name);
    snprintf(out, size, "CRASH(%s)", name);
    return;
  }
  snprintf(out, size, "FAIL"); /* an assertion, or "Early exit with ..." */
}

static char *mpt__describe(TestResult *tr, const char *outcome)
{
  const char *msg = tr_msg(tr) != NULL ? tr_msg(tr) : "";
  const char *ctx = tr_ctx(tr) == CK_CTX_SETUP      ? "in setup: "
                    : tr_ctx(tr) == CK_CTX_TEARDOWN ? "in teardown: "
                                                    : "";
  const char *file = tr_lfile(tr);
  size_t size, n = strlen(outcome);
  char *out;
  if (strncmp(msg, outcome, n) == 0 &&
      strncmp(msg + n, MPT__MARK_SEP, strlen(MPT__MARK_SEP)) == 0)
    msg += n + strlen(MPT__MARK_SEP); /* the outcome is printed anyway */
  size = strlen(msg) + strlen(ctx) + (file ? strlen(file) : 0) + 64;
  if ((out = malloc(size)) == NULL)
    return NULL;
  if (file != NULL && tr_lno(tr) > 0)
    snprintf(out, size, "%s%s:%d: %s", ctx, file, tr_lno(tr), msg);
  else
    snprintf(out, size, "%s%s", ctx, msg);
  for (char *p = out; *p; p++)
    if (*p == '\t' || *p == '\n' || *p == '\r')
      *p = ' ';
  return out;
}

static void mpt__print(const struct mpt__record *rec)
{
  const char *msg = rec->message != NULL ? rec->message : "";
  printf("%s %s.%s [%s]%s%s\n", rec->outcome, rec->test->suite,
         rec->test->name, rec->test->ids, msg[0] ? " " : "", msg);
  fflush(stdout);
}

static void mpt__after(void)
{
  struct mpt__record *rec;
  TestResult **results = srunner_results(mpt__runner);
  int n = srunner_ntests_run(mpt__runner);
  if (mpt__cursor >= mpt__nrecords) {
    free(results);
    return;
  }
  rec = &mpt__records[mpt__cursor];
  rec->duration = mpt_now() - rec->start;
  snprintf(rec->outcome, sizeof rec->outcome, "FAIL");
  rec->message = strdup("no result recorded");
  for (int i = n - 1; i >= 0; i--) {
    if (strcmp(tr_tcname(results[i]), rec->test->name) != 0)
      continue;
    free(rec->message);
    mpt__classify(results[i], rec->outcome, sizeof rec->outcome);
    rec->message = tr_rtype(results[i]) == CK_PASS
                       ? strdup("")
                       : mpt__describe(results[i], rec->outcome);
    break;
  }
  free(results);
  mpt__print(rec);
}

static void mpt__write_results(const char *dir, const char *suite)
{
  char path[PATH_MAX];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s.tsv", dir, suite);
  if ((f = fopen(path, "w")) == NULL) {
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    return;
  }
  for (int i = 0; i < mpt__nrecords; i++) {
    struct mpt__record *r = &mpt__records[i];
    fprintf(f, "%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n", r->test->suite,
            r->test->name, r->test->ids, r->outcome, r->duration,
            r->message ? r->message : "", r->test->features);
  }
  fclose(f);
}

/* The outcome counts, in the order of harness.c's header comment. */
static const char *const mpt__outcomes[] = {
    "PASS", "FAIL", "UNRESOLVED", "UNSUPPORTED", "UNTESTED", "HUNG", "CRASH",
};

int main(int argc, char **argv)
{
  const char *filter = argc > 1 ? argv[1] : NULL;
  const char *results_dir = getenv("MPT_RESULTS");
  struct mpt_test **sorted;
  const char *suite_name;
  Suite *suite;
  int counts[sizeof mpt__outcomes / sizeof *mpt__outcomes] = {0};
  int passed, failed, i;

  if (mpt__ntests == 0) {
    fprintf(stderr, "%s: no tests registered\n", argv[0]);
    return 2;
  }
  if (!mpt__load_unsupported())
    return 2;
  sorted = calloc((size_t)mpt__ntests, sizeof *sorted);
  mpt__records = calloc((size_t)mpt__ntests, sizeof *mpt__records);
  if (sorted == NULL || mpt__records == NULL)
    return 2;
  i = 0;
  for (struct mpt_test *t = mpt__tests; t != NULL; t = t->next) {
    sorted[i++] = t;
    if (t->features == NULL ||
        mpt__each_word(t->features, mpt__check_word, (void *)t->name) != 0)
      return 2;
  }
  qsort(sorted, (size_t)mpt__ntests, sizeof *sorted, mpt__by_position);
  suite_name = sorted[0]->suite;

  suite = suite_create(suite_name);
  for (i = 0; i < mpt__ntests; i++) {
    struct mpt__record *rec;
    struct mpt__missing missing;
    TCase *tc;
    if (filter != NULL && strcmp(filter, sorted[i]->name) != 0)
      continue;
    rec = &mpt__records[mpt__nrecords++];
    rec->test = sorted[i];
    if (mpt__each_word(sorted[i]->features, mpt__first_unsupported,
                       &missing) != 0) {
      size_t size = strlen(missing.name) + 64;
      rec->skip = true;
      snprintf(rec->outcome, sizeof rec->outcome, "UNSUPPORTED");
      if ((rec->message = malloc(size)) != NULL)
        snprintf(rec->message, size, "needs %s, declared unsupported",
                 missing.name);
      continue;
    }
    tc = tcase_create(sorted[i]->name);
    tcase_add_unchecked_fixture(tc, mpt__before, mpt__after);
    tcase_add_checked_fixture(tc, mpt__setup, mpt__teardown);
    tcase_set_timeout(tc, mpt_scale(60));
    tcase_add_test(tc, sorted[i]->ttest);
    suite_add_tcase(suite, tc);
  }
  if (mpt__nrecords == 0) {
    fprintf(stderr, "%s: no test named %s\n", argv[0], filter);
    return 2;
  }

  printf("# %s: %s, MPROC_TIME_SCALE=%g%s%s\n", suite_name,
         mproc_implementation(), mpt_scale(1),
         mpt__unsupported[0] ? ", unsupported:" : "", mpt__unsupported);
  fflush(stdout);
  /* Skipped tests are reported first; the others as they end. */
  for (i = 0; i < mpt__nrecords; i++)
    if (mpt__records[i].skip)
      mpt__print(&mpt__records[i]);
  mpt__runner = srunner_create(suite);
  srunner_run_all(mpt__runner, CK_SILENT);

  for (i = 0; i < mpt__nrecords; i++) {
    struct mpt__record *rec = &mpt__records[i];
    if (rec->outcome[0] == '\0') { /* never ran */
      snprintf(rec->outcome, sizeof rec->outcome, "FAIL");
      rec->message = strdup("the test never ran");
    }
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
      if (strncmp(rec->outcome, mpt__outcomes[k], strlen(mpt__outcomes[k])) ==
              0 &&
          (rec->outcome[strlen(mpt__outcomes[k])] == '\0' ||
           rec->outcome[strlen(mpt__outcomes[k])] == '(')) {
        counts[k]++;
        break;
      }
  }
  passed = counts[0];
  failed = counts[1] + counts[2] + counts[5] + counts[6];
  if (results_dir != NULL && results_dir[0] != '\0')
    mpt__write_results(results_dir, suite_name);
  printf("# outcomes:");
  for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
    printf("%s %d %s", k ? "," : "", counts[k], mpt__outcomes[k]);
  printf("\n%d passed, %d failed\n", passed, failed);

  srunner_free(mpt__runner);
  for (i = 0; i < mpt__nrecords; i++)
    free(mpt__records[i].message);
  free(mpt__records);
  free(sorted);
  return failed == 0 ? 0 : 1;
}

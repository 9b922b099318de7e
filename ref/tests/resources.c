/* The library out of system resources, provoked with resource limits
 * rather than fault injection: no descriptors left (RLIMIT_NOFILE), no
 * address space left (RLIMIT_AS), a temporary directory that does not
 * exist.  Constructors give ERESOURCE or ENOMEM as the header says and
 * work again once the limit is lifted; a process can still be joined and
 * a manager server still follows its parent without pidfds; a server out
 * of descriptors accepts its waiting client once it has some again.  Also
 * the fork hook seen from an application's own fork().  Every test runs in
 * its own forked process (Check's default), so the limits die with it.
 *
 * Built with -fno-builtin-fork: the application's fork() here is the
 * plain libc one, not the coverage build's __gcov_fork, which would reset
 * the child's counters after the library's fork hook ran. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mproc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

/* Valgrind keeps descriptors of its own above a limit it reserves and so
 * does not let RLIMIT_NOFILE bite as the kernel would; and a child forked
 * from this (multithreaded) test thread cannot see the blocks that only
 * another thread's stack points to.  The tests that depend on either say
 * nothing under it. */
static bool under_valgrind(void) {
#ifdef RUNNING_ON_VALGRIND
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- descriptors ---- */

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* The n-th lowest descriptor number not in use (n = 0: the lowest). */
static int free_fd(int n) {
  for (int fd = 0;; fd++)
    if (!fd_open(fd) && n-- == 0)
      return fd;
}

static struct rlimit saved_nofile;

/* Lets this process open descriptors below `limit` only. */
static void limit_fds(int limit) {
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
  struct rlimit r = saved_nofile;
  r.rlim_cur = (rlim_t)limit;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
}

static void unlimit_fds(void) {
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
}

static int square(const mproc_obj *arg, mproc_obj **out) {
  int64_t x = 0;
  mproc_obj_get_int(arg, &x);
  *out = mproc_obj_int(x * x);
  return *out ? 0 : MPROC_ENOMEM;
}

START_TEST(resources_no_descriptors_gives_eresource) {
  if (under_valgrind())
    return;
  /* A manager to reach while no descriptor can be opened. */
  mproc_manager *m = NULL;
  ck_assert_int_eq(mproc_manager_start(&m, NULL), 0);
  limit_fds(free_fd(0));
  mproc_conn *a = NULL, *b = NULL;
  int pipe_rc = mproc_pipe(&a, &b, NULL);
  mproc_pool *pool = NULL;
  int pool_rc = mproc_pool_new(&pool, NULL);
  mproc_executor *ex = NULL;
  int ex_rc = mproc_executor_new(&ex, NULL);
  mproc_manager *m2 = NULL;
  int start_rc = mproc_manager_start(&m2, NULL);
  mproc_proxy *d = NULL;
  int dict_rc = mproc_manager_dict(m, &d); /* no pooled connection yet */
  unlimit_fds();
  ck_assert_int_eq(pipe_rc, MPROC_ERESOURCE);
  ck_assert_int_eq(pool_rc, MPROC_ERESOURCE);
  ck_assert_int_eq(ex_rc, MPROC_ERESOURCE);
  ck_assert_int_eq(start_rc, MPROC_ERESOURCE);
  ck_assert_int_eq(dict_rc, MPROC_ERESOURCE);
  ck_assert_ptr_null(a);
  ck_assert_ptr_null(pool);
  ck_assert_ptr_null(ex);
  ck_assert_ptr_null(m2);
  ck_assert_ptr_null(d);
  /* And all is well again with descriptors. */
  ck_assert_int_eq(mproc_pipe(&a, &b, NULL), 0);
  mproc_conn_free(a);
  mproc_conn_free(b);
  int conn_fd = free_fd(0);
  ck_assert_int_eq(mproc_manager_dict(m, &d), 0);
  mproc_proxy_free(d);
  ck_assert(fd_open(conn_fd)); /* the connection kept for the next call */
  /* Shutting down needs no new descriptor: the request goes over that
   * connection, and without a pidfd the server is reaped by polling. */
  pid_t server = mproc_manager_pid(m);
  limit_fds(conn_fd);
  int shut_rc = mproc_manager_shutdown(m);
  int gone = kill(server, 0) != 0 && errno == ESRCH;
  unlimit_fds();
  ck_assert_int_eq(shut_rc, 0);
  ck_assert(gone);
  mproc_manager_free(m);
}
END_TEST

START_TEST(resources_pool_that_cannot_start_a_worker_is_broken) {
  if (under_valgrind())
    return;
  /* Room for the pool's own eventfd, none for a worker's socket pair. */
  limit_fds(free_fd(0) + 1);
  mproc_pool *pool = NULL;
  mproc_pool_options o = {.processes = 2};
  int rc = mproc_pool_new(&pool, &o);
  mproc_obj *arg = mproc_obj_int(3), *res = NULL;
  mproc_task_error err;
  memset(&err, 0, sizeof err);
  int arc = rc == 0 ? mproc_pool_apply(pool, square, arg, &res, &err) : rc;
  unlimit_fds();
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(arc, MPROC_EBROKEN);
  ck_assert_int_eq(err.code, MPROC_EBROKEN);
  ck_assert_msg(strstr(err.message, "cannot start a worker") != NULL, "%s",
                err.message);
  ck_assert_ptr_null(res);
  mproc_obj_free(arg);
  mproc_pool_free(pool);
}
END_TEST

static int exit_seven_later(void *arg) {
  (void)arg;
  nap_ms(100);
  return 7;
}

START_TEST(resources_join_works_without_a_pidfd) {
  mproc_process p;
  mproc_process_options o = {.target = exit_seven_later};
  ck_assert_int_eq(mproc_process_init(&p, &o), 0);
  ck_assert_int_eq(mproc_process_start(&p), 0);
  /* pidfd_open cannot get a descriptor: join falls back to naps. */
  limit_fds(free_fd(0));
  double t0 = now();
  int first = mproc_process_join(&p, 0.001);
  int rc = mproc_process_join(&p, scale(10));
  double took = now() - t0;
  unlimit_fds();
  ck_assert_int_eq(first, MPROC_ETIMEDOUT);
  ck_assert_int_eq(rc, 0);
  ck_assert(took < scale(5));
  int code = 0;
  ck_assert_int_eq(mproc_process_exitcode(&p, &code), 0);
  ck_assert_int_eq(code, 7);
  ck_assert_int_eq(mproc_process_close(&p), 0);
}
END_TEST

/* ---- the manager's server out of descriptors, and without pidfds ---- */

typedef struct report {
  pid_t server;
  char path[108];
  int step; /* where the child gave up, 0 when all went well */
} report;

static int raw_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static bool readable_within(int fd, int ms) {
  fd_set set;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return select(fd + 1, &set, NULL, NULL, &tv) > 0;
}

/* CPU time (user + system, in clock ticks) that process `pid` has used, or
 * -1. */
static long cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long ut, st;
  if (p == NULL ||
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

/* In a child: starts a manager whose server has two descriptors to spare
 * (its listening socket and its signalfd: no pidfd, no client), checks
 * that a client waits until the server is given descriptors again, then
 * leaves the server behind. */
static mproc_manager *orphaned; /* left behind on purpose, yet reachable */

static int orphan_a_server(void *arg) {
  report *r = arg;
  struct rlimit saved, lim;
  getrlimit(RLIMIT_NOFILE, &saved);
  lim = saved;
  lim.rlim_cur = (rlim_t)free_fd(2);
  r->step = 1;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 1;
  mproc_manager *m = NULL;
  int rc = mproc_manager_start(&m, NULL);
  setrlimit(RLIMIT_NOFILE, &saved);
  r->step = 2;
  if (rc != 0)
    return 1;
  orphaned = m;
  r->server = mproc_manager_pid(m);
  snprintf(r->path, sizeof r->path, "%s", mproc_manager_address(m));
  r->step = 3;
  int fd = raw_connect(r->path);
  if (fd < 0)
    return 1;
  /* The server cannot accept: no challenge comes, and it does not spin on
   * the listening socket meanwhile (well under half of the 400 ms). */
  r->step = 4;
  long before = cpu_ticks(r->server);
  if (readable_within(fd, 400))
    return 1;
  r->step = 40;
  long used = cpu_ticks(r->server) - before;
  if (before < 0 || used * 1000 / sysconf(_SC_CLK_TCK) > 200)
    return 1;
  /* Given descriptors, it accepts the waiting client and challenges it. */
  r->step = 5;
  if (prlimit(r->server, RLIMIT_NOFILE, &saved, NULL) != 0)
    return 1;
  r->step = 6;
  if (!readable_within(fd, (int)(scale(5) * 1000)))
    return 1;
  close(fd);
  r->step = 0;
  return 0; /* without shutting the manager down */
}

START_TEST(resources_server_out_of_descriptors_and_without_pidfd) {
  if (under_valgrind())
    return;
  /* The orphaned server is reparented to this process. */
  ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  report *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(r, MAP_FAILED);
  mproc_process p;
  mproc_process_options o = {.target = orphan_a_server, .arg = r};
  ck_assert_int_eq(mproc_process_init(&p, &o), 0);
  ck_assert_int_eq(mproc_process_start(&p), 0);
  ck_assert_int_eq(mproc_process_join(&p, scale(20)), 0);
  int code = -1;
  ck_assert_int_eq(mproc_process_exitcode(&p, &code), 0);
  ck_assert_msg(code == 0, "the child gave up at step %d", r->step);
  ck_assert_int_eq(mproc_process_close(&p), 0);
  /* Without a pidfd the server looks at its parent every second: it
   * notices the orphaning, removes its socket and exits. */
  int st = 0;
  pid_t w = 0;
  double t0 = now();
  while ((w = waitpid(r->server, &st, WNOHANG)) == 0 && now() - t0 < scale(5))
    nap_ms(10);
  ck_assert_int_eq(w, r->server);
  ck_assert(WIFEXITED(st));
  ck_assert_int_eq(WEXITSTATUS(st), 0);
  ck_assert_int_ne(access(r->path, F_OK), 0);
  munmap(r, sizeof *r);
}
END_TEST

/* ---- address space ---- */

static long vm_size_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
      break;
  if (f != NULL)
    fclose(f);
  return kb;
}

static struct rlimit saved_as;

/* Leaves `spare` bytes of address space.  No assertion until unlimit_as:
 * Check's own reporting needs memory. */
static void limit_as(size_t spare) {
  getrlimit(RLIMIT_AS, &saved_as);
  struct rlimit r = saved_as;
  r.rlim_cur = (rlim_t)vm_size_kb() * 1024 + spare;
  setrlimit(RLIMIT_AS, &r);
}

static void unlimit_as(void) {
  ck_assert_int_eq(setrlimit(RLIMIT_AS, &saved_as), 0);
}

START_TEST(resources_no_address_space_gives_enomem) {
  ck_assert_int_gt(vm_size_kb(), 0);
  /* Room in the heap for the handles malloc'd next to the mappings. */
  free(malloc(1 << 16));
  mproc_lock *lock = NULL;
  mproc_semaphore *sem = NULL;
  mproc_event *ev = NULL;
  mproc_condition *cond = NULL;
  mproc_barrier *bar = NULL;
  mproc_value *val = NULL;
  mproc_queue *q1 = NULL, *q2 = NULL;
  mproc_queue_options qo = {.capacity = 1 << 20};
  limit_as(0);
  int rcs[] = {
      mproc_lock_new(&lock),
      mproc_semaphore_new(&sem, 1),
      mproc_event_new(&ev),
      mproc_condition_new(&cond, NULL),
      mproc_barrier_new(&bar, 2, NULL, NULL, MPROC_FOREVER),
      mproc_value_new(&val, 'i', NULL),
      mproc_queue_new(&q1, &qo), /* its header cannot be mapped */
  };
  unlimit_as();
  limit_as(64 << 10);
  int ring_rc = mproc_queue_new(&q2, &qo); /* the header can, the ring not */
  unlimit_as();
  for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++)
    ck_assert_msg(rcs[i] == MPROC_ENOMEM, "constructor %zu gave %s", i,
                  mproc_err_name(rcs[i]));
  ck_assert_int_eq(ring_rc, MPROC_ENOMEM);
  ck_assert(lock == NULL && sem == NULL && ev == NULL && cond == NULL &&
            bar == NULL && val == NULL && q1 == NULL && q2 == NULL);
  ck_assert_int_eq(mproc_lock_new(&lock), 0);
  mproc_lock_free(lock);
}
END_TEST

START_TEST(resources_no_room_for_a_thread_gives_eresource) {
  free(malloc(1 << 16));
  mproc_pool *pool = NULL;
  mproc_executor *ex = NULL;
  /* Less than any thread stack. */
  limit_as(128 << 10);
  int pool_rc = mproc_pool_new(&pool, NULL);
  int ex_rc = mproc_executor_new(&ex, NULL);
  unlimit_as();
  ck_assert_int_eq(pool_rc, MPROC_ERESOURCE);
  ck_assert_int_eq(ex_rc, MPROC_ERESOURCE);
  ck_assert_ptr_null(pool);
  ck_assert_ptr_null(ex);
}
END_TEST

/* ---- condition waiter slots ---- */

/* A condition has room for 1024 waiters (the header's limit).  Slots of
 * waiters that died after being notified, before they could take the lock
 * back, are reclaimed when the room runs out. */
enum { SLOTS = 1024, GROUPS = 4 };

typedef struct slot_arg {
  mproc_condition *c;
  _Atomic long *waiting;
} slot_arg;

static void *slot_waiter(void *p) {
  slot_arg *a = p;
  if (mproc_condition_acquire(a->c, scale(30)) != 0)
    return NULL;
  atomic_fetch_add(a->waiting, 1);
  mproc_condition_wait(a->c, scale(60)); /* notified, then killed */
  mproc_condition_release(a->c);
  return NULL;
}

/* A process of SLOTS / GROUPS waiting threads (Valgrind allows 500 threads
 * per process). */
static int slot_group(void *p) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 << 10);
  for (int i = 0; i < SLOTS / GROUPS; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, slot_waiter, p) != 0)
      return 1;
  }
  for (;;)
    pause();
}

static bool never_true(void *arg) {
  (void)arg;
  return false;
}

START_TEST(resources_condition_slots_run_out_and_are_reclaimed) {
  slot_arg *a = mmap(NULL, sizeof *a + sizeof(_Atomic long),
                     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(a, MAP_FAILED);
  a->waiting = (_Atomic long *)(a + 1);
  ck_assert_int_eq(mproc_condition_new(&a->c, NULL), 0);
  mproc_process procs[GROUPS];
  for (int i = 0; i < GROUPS; i++) {
    mproc_process_options o = {.target = slot_group, .arg = a};
    ck_assert_int_eq(mproc_process_init(&procs[i], &o), 0);
    ck_assert_int_eq(mproc_process_start(&procs[i]), 0);
  }
  double t0 = now();
  while (atomic_load(a->waiting) < SLOTS && now() - t0 < scale(30))
    nap_ms(5);
  ck_assert_int_eq(atomic_load(a->waiting), SLOTS);
  /* Each waiter counted itself holding the lock: once it is ours, all
   * 1024 are inside wait, and there is no room for one more. */
  ck_assert_int_eq(mproc_condition_acquire(a->c, scale(30)), 0);
  ck_assert_int_eq(mproc_condition_wait(a->c, 0.01), MPROC_ERESOURCE);
  ck_assert_int_eq(mproc_condition_wait_for(a->c, never_true, NULL, 0.01),
                   MPROC_ERESOURCE);
  /* Notified, they wait for the lock we hold; then they all die. */
  ck_assert_int_eq(mproc_condition_notify_all(a->c), 0);
  for (int i = 0; i < GROUPS; i++) {
    ck_assert_int_eq(mproc_process_kill(&procs[i]), 0);
    ck_assert_int_eq(mproc_process_join(&procs[i], scale(10)), 0);
    int code = 0;
    ck_assert_int_eq(mproc_process_exitcode(&procs[i], &code), 0);
    ck_assert_int_eq(code, -SIGKILL);
    ck_assert_int_eq(mproc_process_close(&procs[i]), 0);
  }
  /* Their slots come back: waiting works again. */
  ck_assert_int_eq(mproc_condition_wait(a->c, 0.01), MPROC_ETIMEDOUT);
  ck_assert_int_eq(mproc_condition_release(a->c), 0);
  mproc_condition_free(a->c);
  munmap(a, sizeof *a + sizeof(_Atomic long));
}
END_TEST

/* ---- the temporary directory ---- */

START_TEST(resources_manager_needs_its_temporary_directory) {
  mproc_manager *m = NULL;
  setenv("TMPDIR", "/nonexistent-mproc-dir", 1);
  ck_assert_int_eq(mproc_manager_start(&m, NULL), MPROC_ERESOURCE);
  ck_assert_ptr_null(m);
  /* Too long for a socket address: /tmp instead. */
  char longdir[80];
  memset(longdir, 'x', sizeof longdir - 1);
  longdir[0] = '/';
  longdir[sizeof longdir - 1] = '\0';
  setenv("TMPDIR", longdir, 1);
  ck_assert_int_eq(mproc_manager_start(&m, NULL), 0);
  ck_assert(strncmp(mproc_manager_address(m), "/tmp/mproc-", 11) == 0);
  mproc_manager_free(m);
  unsetenv("TMPDIR");
}
END_TEST

/* ---- an application's own fork ---- */

/* The descriptors open now, as a bitmap of the first 1024. */
static void open_fds(unsigned char set[1024]) {
  memset(set, 0, 1024);
  for (int fd = 0; fd < 1024; fd++)
    set[fd] = fd_open(fd);
}

static int wait_for_a_while(void *arg) {
  mproc_event *e = arg;
  return mproc_event_wait(e, scale(10)) == 0 ? 0 : 1;
}

START_TEST(resources_application_fork_drops_the_library_descriptors) {
  if (under_valgrind())
    return;
  static unsigned char before[1024], after[1024];
  open_fds(before);
  mproc_event *e = NULL;
  ck_assert_int_eq(mproc_event_new(&e), 0);
  mproc_pool *pool = NULL;
  mproc_pool_options po = {.processes = 2};
  ck_assert_int_eq(mproc_pool_new(&pool, &po), 0);
  mproc_obj *arg = mproc_obj_int(4), *res = NULL;
  ck_assert_int_eq(mproc_pool_apply(pool, square, arg, &res, NULL), 0);
  mproc_obj_free(res);
  mproc_obj_free(arg);
  mproc_process p;
  mproc_process_options o = {.target = wait_for_a_while, .arg = e};
  ck_assert_int_eq(mproc_process_init(&p, &o), 0);
  ck_assert_int_eq(mproc_process_start(&p), 0);
  ck_assert_int_eq(mproc_process_join(&p, 0.01), MPROC_ETIMEDOUT); /* pidfd */
  open_fds(after);
  int mine = 0;
  for (int fd = 0; fd < 1024; fd++)
    mine += after[fd] && !before[fd];
  ck_assert_int_ge(mine, 3); /* eventfd, worker sockets, pidfds */

  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int bad = 0;
    for (int fd = 0; fd < 1024; fd++)
      if (after[fd] && !before[fd] && fd_open(fd))
        bad = 1; /* the library's descriptor survived the fork */
    /* The parent's process is not this child's to join. */
    if (mproc_process_join(&p, 0) != MPROC_ESTATE)
      bad |= 2;
    mproc_process_exit(bad);
  }
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st));
  ck_assert_int_eq(WEXITSTATUS(st), 0);

  ck_assert_int_eq(mproc_event_set(e), 0);
  ck_assert_int_eq(mproc_process_join(&p, scale(10)), 0);
  ck_assert_int_eq(mproc_process_close(&p), 0);
  mproc_pool_free(pool);
  mproc_event_free(e);
}
END_TEST

/* Before any test forks: the library in a process that has never forked
 * since it was loaded (its pid cache starts empty). */
static int unforked_lock_works(void) {
  mproc_lock *l = NULL;
  if (mproc_lock_new(&l) != 0)
    return 0;
  bool ok = mproc_lock_acquire(l, 0) == 0 && mproc_lock_acquire(l, 0) != 0 &&
            mproc_lock_release(l) == 0;
  mproc_lock_free(l);
  return ok;
}

int main(void) {
  int pre_failed = !unforked_lock_works();
  if (pre_failed)
    printf("FAIL resources.unforked_lock_works\n");
  Suite *s = suite_create("resources");
  TCase *tc = tcase_create("resources");
  tcase_set_timeout(tc, scale(30));
  tcase_add_test(tc, resources_no_descriptors_gives_eresource);
  tcase_add_test(tc, resources_pool_that_cannot_start_a_worker_is_broken);
  tcase_add_test(tc, resources_join_works_without_a_pidfd);
  tcase_add_test(tc, resources_server_out_of_descriptors_and_without_pidfd);
  tcase_add_test(tc, resources_condition_slots_run_out_and_are_reclaimed);
  tcase_add_test(tc, resources_manager_needs_its_temporary_directory);
  tcase_add_test(tc, resources_application_fork_drops_the_library_descriptors);
  suite_add_tcase(s, tc);
  /* Address-space limits.  `make check-helgrind` leaves these out (with
   * CK_EXCLUDE_TAGS): Helgrind's own memory counts against the limit, so
   * the tool runs out and exits, and it reports the pthread_create that
   * the second test makes fail on purpose as an error. */
  TCase *as = tcase_create("rlimit_as");
  tcase_set_tags(as, "rlimit_as");
  tcase_set_timeout(as, scale(30));
  tcase_add_test(as, resources_no_address_space_gives_enomem);
  tcase_add_test(as, resources_no_room_for_a_thread_gives_eresource);
  suite_add_tcase(s, as);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int run = srunner_ntests_run(sr) + 1;
  int failed = srunner_ntests_failed(sr) + pre_failed;
  srunner_free(sr);
  printf("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}

/* Who holds a lock, and whether that holder still exists.  Ids are cached
 * because they are read on every acquire; the caches are keyed on the pid
 * so that a forked child, which inherits them, refreshes them. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Thread_local uint32_t cached_tid;
static _Thread_local uint32_t cached_tid_pid;
static uint32_t cached_pid;

uint32_t mproc__pid(void) {
  /* getpid() is cheap but not free; the cache is reset in the child. */
  uint32_t p = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
  if (p == 0) {
    p = (uint32_t)getpid();
    __atomic_store_n(&cached_pid, p, __ATOMIC_RELAXED);
  }
  return p;
}

uint32_t mproc__tid(void) {
  uint32_t pid = mproc__pid();
  if (cached_tid == 0 || cached_tid_pid != pid) {
    cached_tid = (uint32_t)syscall(SYS_gettid);
    cached_tid_pid = pid;
  }
  return cached_tid;
}

void mproc__owner_after_fork(void) {
  MPROC__FORKED_OWN(cached_pid);
  __atomic_store_n(&cached_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
}

int mproc__pidfd_open(pid_t pid) {
  /* Once the kernel (or Valgrind, which does not know the call) has said
   * ENOSYS, do not ask again: callers fall back to other means. */
  static _Atomic bool unsupported;
  if (atomic_load(&unsupported)) /* LCOV_EXCL_BR_LINE: set only after ENOSYS, see below */
    return -1; /* LCOV_EXCL_LINE: as above */
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    if (errno == ENOSYS) /* LCOV_EXCL_BR_LINE: see below */
      atomic_store(&unsupported, true); /* LCOV_EXCL_LINE: ENOSYS only on kernels before 5.3 and under Valgrind; the coverage lane runs natively on a newer kernel */
    return -1;
  }
  mproc__fd_track((int)fd);
  return (int)fd;
}

bool mproc__task_alive(uint32_t id) {
  /* /proc/<id>/stat exists for a pid and for a tid of any process; a
   * zombie (state Z or X) has ended even though its entry remains until it
   * is reaped, which matters: a parent waiting on a lock held by its own
   * dead child has not joined that child yet. */
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%u/stat", id);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    /* Without /proc nothing can be known: never take a lock over then. */
    if (errno != ENOENT && errno != ESRCH)
      return true;
    return access("/proc/self/stat", F_OK) != 0;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* The command name may contain spaces and parentheses: the state is the
   * first field after the last ')'. */
  char *rp = strrchr(buf, ')');
  if (rp == NULL || rp[1] == '\0' || rp[2] == '\0')
    return true;
  char state = rp[2];
  return state != 'Z' && state != 'X' && state != 'x';
}

/* The one place that talks to futex(2).  Every primitive sleeps here.
 * Futexes are process-shared (no FUTEX_PRIVATE_FLAG) because the words
 * live in MAP_SHARED memory used by several processes. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int mproc__futex_wait(_Atomic uint32_t *addr, uint32_t val,
                      const struct timespec *abs) {
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, so a
   * restarted wait never extends the caller's deadline. */
  long r = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET, val, abs,
                   NULL, FUTEX_BITSET_MATCH_ANY);
  if (r == -1 && errno == ETIMEDOUT)
    return MPROC_ETIMEDOUT;
  return 0; /* woken, value changed (EAGAIN) or interrupted (EINTR) */
}

void mproc__futex_wake(_Atomic uint32_t *addr, int n) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* Descriptors the library keeps for itself (pidfds, the parent's ends of
 * pool workers' sockets, wake-up eventfds).  A forked child must not keep
 * them: a worker holding a copy of another worker's socket would stop that
 * worker from ever seeing end of file, and the test suite counts leaked
 * descriptors.  The set is a bitmap so the fork hook needs no lock. */
#include "internal.h"

#include <limits.h>
#include <unistd.h>

#define TRACK_MAX 65536

static _Atomic uint64_t tracked[TRACK_MAX / 64];

void mproc__fd_track(int fd) {
  if (fd >= 0 && fd < TRACK_MAX)
    atomic_fetch_or(&tracked[fd / 64], (uint64_t)1 << (fd % 64));
}

void mproc__fd_untrack(int fd) {
  if (fd >= 0 && fd < TRACK_MAX)
    atomic_fetch_and(&tracked[fd / 64], ~((uint64_t)1 << (fd % 64)));
}

void mproc__fd_close_tracked(void) {
  for (int w = 0; w < TRACK_MAX / 64; w++) {
    uint64_t bits = atomic_exchange(&tracked[w], 0);
    while (bits != 0) {
      int b = __builtin_ctzll(bits);
      bits &= bits - 1;
      close(w * 64 + b);
    }
  }
}

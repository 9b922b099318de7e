/* Timeouts: the header's rules, applied once on entry to every call, and
 * turned into an absolute CLOCK_MONOTONIC deadline (musl's habit) so that
 * wake-ups and signals never stretch the total wait. */
#include "internal.h"

#include <limits.h>

/* Beyond this many seconds a limit is as good as none (about 31 years),
 * and time_t arithmetic stays far from overflow. */
#define MPROC__TIMEOUT_NEVER_S 1e9

void mproc__monotonic(struct timespec *ts) {
  clock_gettime(CLOCK_MONOTONIC, ts);
}

int mproc__deadline_init(mproc__deadline *d, double timeout, double dflt) {
  if (isnan(timeout))
    return MPROC_EINVAL;
  if (timeout == MPROC_DEFAULT_TIMEOUT) {
    if (isnan(dflt) || dflt == MPROC_DEFAULT_TIMEOUT)
      return MPROC_EINVAL;
    timeout = dflt;
  }
  d->never = false;
  d->poll = false;
  if (timeout >= MPROC__TIMEOUT_NEVER_S) {
    d->never = true;
    return 0;
  }
  if (timeout <= 0) {
    timeout = 0;
    d->poll = true;
  }
  mproc__monotonic(&d->at);
  double whole = (double)(long)timeout;
  d->at.tv_sec += (time_t)whole;
  d->at.tv_nsec += (long)((timeout - whole) * 1e9);
  if (d->at.tv_nsec >= 1000000000L) {
    d->at.tv_sec++;
    d->at.tv_nsec -= 1000000000L;
  }
  return 0;
}

static int ts_cmp(const struct timespec *a, const struct timespec *b) {
  if (a->tv_sec != b->tv_sec)
    return a->tv_sec < b->tv_sec ? -1 : 1;
  if (a->tv_nsec != b->tv_nsec)
    return a->tv_nsec < b->tv_nsec ? -1 : 1;
  return 0;
}

bool mproc__deadline_passed(const mproc__deadline *d) {
  if (d->never)
    return false;
  struct timespec now;
  mproc__monotonic(&now);
  return ts_cmp(&now, &d->at) >= 0;
}

int mproc__deadline_error(const mproc__deadline *d) {
  return d->poll ? MPROC_EAGAIN : MPROC_ETIMEDOUT;
}

int mproc__deadline_ms(const mproc__deadline *d, int cap_ms) {
  if (d->never)
    return cap_ms;
  struct timespec now;
  mproc__monotonic(&now);
  if (ts_cmp(&now, &d->at) >= 0)
    return 0;
  long long ns = (long long)(d->at.tv_sec - now.tv_sec) * 1000000000LL +
                 (d->at.tv_nsec - now.tv_nsec);
  long long ms = (ns + 999999) / 1000000;
  if (ms > INT_MAX)
    ms = INT_MAX;
  if (cap_ms >= 0 && ms > cap_ms)
    ms = cap_ms;
  return (int)ms;
}

bool mproc__deadline_slice(const mproc__deadline *d, long ms,
                           struct timespec *out) {
  mproc__monotonic(out);
  out->tv_sec += ms / 1000;
  out->tv_nsec += (ms % 1000) * 1000000L;
  if (out->tv_nsec >= 1000000000L) {
    out->tv_sec++;
    out->tv_nsec -= 1000000000L;
  }
  if (!d->never && ts_cmp(out, &d->at) >= 0) {
    *out = d->at;
    return true;
  }
  return false;
}

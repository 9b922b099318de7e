/* Time in the unit tests of ref/: every upper time bound goes through
 * scale(), so slow runs (Valgrind, sanitizers) only need MPROC_TIME_SCALE,
 * as in the conformance suite (mpt_scale). */
#ifndef MPROC_TESTS_TIMING_H
#define MPROC_TESTS_TIMING_H

#include <stdlib.h>
#include <time.h>

/* `secs` times MPROC_TIME_SCALE (at least 1). */
static inline double scale(double secs) {
  const char *s = getenv("MPROC_TIME_SCALE");
  double f = s != NULL ? atof(s) : 1.0;
  return secs * (f >= 1.0 ? f : 1.0);
}

/* CLOCK_MONOTONIC, in seconds. */
static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif

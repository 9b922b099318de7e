/* Shared by the fuzz targets and the replay driver (docs/fuzzing.md).
 *
 * Each target defines LLVMFuzzerTestOneInput; the same object links either
 * with libFuzzer (or AFL++'s driver) or with fuzz/replay.c, which feeds it
 * the saved corpus as an ordinary test.  A target reports a finding by
 * printing one line that starts with "FUZZ FINDING" and aborting, so that
 * every driver sees a crash with a stack. */
#ifndef MPROC_FUZZ_H
#define MPROC_FUZZ_H

#include "mproc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "FUZZ FINDING <file>:<line>: <message>" to stderr and aborts. */
_Noreturn void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define FUZZ_FAIL(...) fuzz_fail(__FILE__, __LINE__, __VA_ARGS__)

/* Fails unless `cond` holds; the message says what was expected. */
#define FUZZ_CHECK(cond, ...)                                                 \
  do {                                                                        \
    if (!(cond))                                                              \
      fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);                             \
  } while (0)

/* Open descriptors of the calling process (entries of /proc/self/fd, not
 * counting the directory's own). */
int fuzz_count_fds(void);

/* Structural identity of two values: same types, same entries in the same
 * order, floats compared bit for bit (so NaN equals the same NaN and -0.0
 * differs from 0.0).  Stricter than mproc_obj_equal, as a round trip must
 * be. */
bool fuzz_obj_same(const mproc_obj *a, const mproc_obj *b);

/* True when `tag` is in FUZZ_KNOWN, a comma-separated list of findings
 * already reported (docs/fuzzing.md lists the tags): the targets then
 * tolerate them, so that a long run can look for others while they are
 * open. */
bool fuzz_known(const char *tag);

/* `seconds` stretched by MPROC_TIME_SCALE (Valgrind runs set it). */
double fuzz_time_scale(double seconds);

#endif

/*
 * bench.h: the benchmark driver's view of a workload.
 *
 * Each workload exists three times: through libmproc's public API
 * (bench/mproc.c), written directly against POSIX as the lower bound
 * (bench/posix.c), and in CPython's multiprocessing (bench/bench.py, run by
 * bench/python.c).  A run function performs the whole workload once and
 * returns the seconds it took, or a negative number when something failed.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

typedef struct bench_params {
  long n;      /* items, operations or round trips (per process for the
                  counter) */
  int procs;   /* processes (producers and consumers each, or workers) */
  size_t size; /* bytes per item where the workload has sized items */
} bench_params;

typedef double (*bench_run_fn)(const bench_params *p);

/* The workloads, by name (lib_: through libmproc; posix_: the lower
 * bound); see the table in bench/main.c. */
double lib_start_join(const bench_params *p);
double lib_lock(const bench_params *p);
double lib_counter(const bench_params *p);
double lib_pipe_rtt(const bench_params *p);
double lib_queue_1p1c(const bench_params *p);
double lib_queue_bandwidth(const bench_params *p);
double lib_queue_npnc(const bench_params *p);
double lib_pool_map(const bench_params *p);
double lib_apply_async(const bench_params *p);
double lib_executor(const bench_params *p);
double lib_manager_dict(const bench_params *p);

double posix_start_join(const bench_params *p);
double posix_lock(const bench_params *p);
double posix_counter(const bench_params *p);
double posix_pipe_rtt(const bench_params *p);
double posix_socket_rtt(const bench_params *p);
double posix_queue_1p1c(const bench_params *p);
double posix_queue_bandwidth(const bench_params *p);
double posix_queue_npnc(const bench_params *p);
double posix_pool_map(const bench_params *p);
double posix_executor(const bench_params *p);
double posix_manager_dict(const bench_params *p);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* The CPython side: a long-lived python3 process running bench.py that
 * performs one workload per request.  start returns 0, or -1 when python3
 * cannot be run (the python column then stays empty). */
int python_start(const char *python, const char *script);
double python_run(const char *workload, const bench_params *p);
void python_stop(void);

#endif /* BENCH_H */

/*
 * stress.h: the stress harness (docs/stress.md).
 *
 * The runner (main.c) forks one leader process per scenario.  The leader
 * builds the scenario's objects, starts its worker processes and, under
 * chaos, a chaos agent, then checks the scenario's invariants.  Every
 * process of a scenario shares one board (an anonymous shared mapping made
 * by the runner): a slot per process that says what it is doing now, its
 * operation counts, and the first failure.  The runner's watchdog reads the
 * board when a scenario overruns, so a hang is reported as who was waiting
 * on what.
 */
#ifndef STRESS_H
#define STRESS_H

#include <mproc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------------------ */
/* Deterministic random numbers                                             */
/* ------------------------------------------------------------------------ */

/* splitmix64: tiny, fast, and every stream is fully determined by its
 * seed, so a process's schedule of operations replays from the run's seed. */
typedef struct st_rng {
  uint64_t s;
} st_rng;

/* A stream for (seed, scenario, role, index): distinct for every process. */
void st_rng_init(st_rng *r, uint64_t seed, uint64_t a, uint64_t b,
                 uint64_t c);
uint64_t st_rng_next(st_rng *r);
uint64_t st_rng_below(st_rng *r, uint64_t n); /* 0..n-1; 0 for n == 0 */
bool st_rng_chance(st_rng *r, unsigned percent);

/* A message size: mostly a few bytes, some kilobytes, rarely up to `max`. */
size_t st_rng_size(st_rng *r, size_t max);

/* A timeout for a blocking call: 0, very short, short or forever
 * (`allow_forever`).  Under chaos the short ones get shorter. */
double st_rng_timeout(st_rng *r, bool chaos, bool allow_forever);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

typedef struct st_config {
  uint64_t seed;
  double duration;     /* seconds of operations per scenario, or 0 */
  uint64_t iterations; /* operations per process, or 0 (then duration) */
  int procs;           /* worker processes per scenario */
  bool chaos;
  size_t max_message;  /* largest random message (bytes) */
  double hang_grace;   /* watchdog: seconds past the budget before a hang */
  long rss_growth_kib; /* bound on a process's resident growth */
} st_config;

/* Seconds scaled by MPROC_TIME_SCALE (slow runs: Valgrind, sanitizers). */
double st_scale(double seconds);
double st_now(void); /* CLOCK_MONOTONIC seconds */
void st_pause_ms(double ms);

/* ------------------------------------------------------------------------ */
/* The board                                                                */
/* ------------------------------------------------------------------------ */

#define ST_SLOTS 64
#define ST_WORKER_PIDS 32
#define ST_COUNTERS 12

/* What chaos may do to a process. */
enum st_flags {
  ST_KILLABLE = 1,  /* SIGKILL */
  ST_STOPPABLE = 2, /* SIGSTOP, then SIGCONT */
  ST_STORM = 4      /* SIGUSR1 storms (the process has a handler) */
};

enum st_slot_state { ST_FREE, ST_RUNNING, ST_DONE };

typedef struct st_slot {
  _Atomic int state;
  _Atomic int flags;
  _Atomic pid_t pid;
  _Atomic int killed;      /* chaos chose to SIGKILL it */
  _Atomic int64_t since_us; /* when the current operation started */
  _Atomic uint64_t ops;     /* completed operations */
  _Atomic uint64_t timeouts; /* operations that timed out (allowed) */
  _Atomic uint64_t signals;  /* SIGUSR1 handled */
  char role[24];
  char op[64];              /* current operation; "" between operations */
} st_slot;

typedef struct st_board {
  _Atomic int failed;
  _Atomic int failure_claimed;
  char failure[768];
  _Atomic int nslots;
  _Atomic int stop;         /* the leader asks workers to wind down */
  _Atomic int chaos_stop;   /* the leader asks the chaos agent to end */
  _Atomic pid_t leader;
  _Atomic uint64_t kills, stops, storms, signals_sent;
  /* Pool and executor workers register themselves here (tasks run in
   * library-made processes, which have no slot of their own). */
  _Atomic pid_t worker_pid[ST_WORKER_PIDS];
  _Atomic unsigned worker_next;
  /* Scenario-specific counts for the report (items, bytes, errors...). */
  _Atomic uint64_t count[ST_COUNTERS];
  char count_name[ST_COUNTERS][24];
  st_slot slot[ST_SLOTS];
} st_board;

/* The context a scenario runs with (the leader's and, copied by fork,
 * every worker's). */
typedef struct st_ctx {
  const st_config *cfg;
  st_board *board;
  const char *name;
  int index;        /* the scenario's index: part of every seed */
  double start;     /* st_now() when the leader began */
  double deadline;  /* end of the operation phase (duration budgets) */
  st_slot *me;      /* this process's slot */
  st_rng rng;       /* this process's stream */
} st_ctx;

/* Claims a slot for the calling process, seeds ctx->rng for (role, index)
 * and installs the SIGUSR1 handler when `flags` has ST_STORM. */
st_slot *st_claim(st_ctx *ctx, const char *role, int index, int flags);

/* The calling process is in operation `fmt` (shown by the watchdog). */
void st_op(st_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The operation ended: counts it (and as a timeout if `timed_out`). */
void st_done(st_ctx *ctx, bool timed_out);

/* Whether the budget allows another operation after `done` of them. */
bool st_more(const st_ctx *ctx, uint64_t done);

/* Records the first invariant violation (all are printed); workers go on
 * to their exit with st_exit_code(). */
void st_fail(st_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define ST_CHECK(ctx, cond, ...)                                              \
  do {                                                                        \
    if (!(cond))                                                              \
      st_fail((ctx), __VA_ARGS__);                                            \
  } while (0)
/* A library call that must succeed. */
#define ST_OK(ctx, expr)                                                      \
  do {                                                                        \
    int st__rc = (expr);                                                      \
    if (st__rc != 0)                                                          \
      st_fail((ctx), "%s:%d: %s returned %s", __FILE__, __LINE__, #expr,     \
              mproc_err_name(st__rc));                                        \
  } while (0)

/* Names a report counter and adds to it. */
void st_count_name(st_ctx *ctx, int i, const char *name);
void st_count(st_ctx *ctx, int i, uint64_t n);

/* SIGUSR1 deliveries seen by this process so far. */
uint64_t st_signals_seen(void);
/* Installs the counting SIGUSR1 handler without SA_RESTART, so storms
 * interrupt blocking system calls inside the library. */
void st_install_storm_handler(void);

/* Registers the calling pool/executor worker for chaos (once per
 * process). */
void st_register_worker(st_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Processes                                                                */
/* ------------------------------------------------------------------------ */

typedef void (*st_worker_fn)(st_ctx *ctx, int index, void *arg);

typedef struct st_group {
  int n;
  mproc_process proc[ST_SLOTS];
  struct st_group_arg {
    st_ctx *ctx;
    st_worker_fn fn;
    const char *role;
    int index, flags;
    void *arg;
  } args[ST_SLOTS];
} st_group;

/* A group in the leader's own memory (the children's copies stay
 * reachable, for Valgrind's leak check); st_group_free after st_join. */
st_group *st_group_new(void);
void st_group_free(st_group *g);

/* Starts n workers running fn(ctx, i, arg) with a slot of role/flags. */
void st_start(st_ctx *ctx, st_group *g, int n, const char *role, int flags,
              st_worker_fn fn, void *arg);
/* Joins every worker (the watchdog bounds the wait).  A worker killed by
 * chaos is expected; any other death is a failure.  Returns how many
 * were killed by chaos; `killed` (may be NULL) gets a flag per worker. */
int st_join(st_ctx *ctx, st_group *g, bool *killed);

/* The chaos agent (chaos.c): started by the leader after its workers,
 * stopped (and joined) before the final checks.  `kill_budget` bounds the
 * number of SIGKILLs. */
void st_chaos_start(st_ctx *ctx, mproc_process *agent, int kill_budget);
void st_chaos_stop(st_ctx *ctx, mproc_process *agent);

/* Shared scratch memory for a scenario (MAP_SHARED | MAP_ANONYMOUS),
 * zeroed; st_unshare unmaps it. */
void *st_share(size_t size);
void st_unshare(void *p, size_t size);

/* Payloads (queue and pipe items): a header and a pattern derived from
 * (producer, seq), so corruption or a mix-up is detected. */
typedef struct st_payload_hdr {
  uint32_t magic;
  uint32_t producer;
  uint64_t seq;
  uint64_t len; /* total bytes, header included */
} st_payload_hdr;
void *st_payload_make(uint32_t producer, uint64_t seq, size_t len);
/* Returns NULL when the payload is intact, else what is wrong. */
const char *st_payload_check(const void *buf, size_t len,
                             st_payload_hdr *hdr);

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                */
/* ------------------------------------------------------------------------ */

typedef struct st_scenario {
  const char *name;
  void (*run)(st_ctx *ctx);
  const char *what;
} st_scenario;

void st_scenario_lock(st_ctx *ctx);
void st_scenario_semaphore(st_ctx *ctx);
void st_scenario_condition(st_ctx *ctx);
void st_scenario_barrier(st_ctx *ctx);
void st_scenario_event(st_ctx *ctx);
void st_scenario_pipe(st_ctx *ctx);
void st_scenario_queue(st_ctx *ctx);
void st_scenario_joinable(st_ctx *ctx);
void st_scenario_pool(st_ctx *ctx);
void st_scenario_executor(st_ctx *ctx);
void st_scenario_manager(st_ctx *ctx);

/* Leak probes (leak.c). */
int st_count_fds(void);
int st_count_shared_maps(void); /* this process's MAP_SHARED mappings */
long st_rss_kib(pid_t pid);     /* resident set, or -1 */
pid_t st_parent_of(pid_t pid);  /* from /proc, or -1 */

#endif /* STRESS_H */

/* The chaos agent: a process of its own that, on a schedule drawn from the
 * run's seed, SIGKILLs, stops and continues, and storms with SIGUSR1 the
 * scenario's processes that allow it (their board flags).  It signals only
 * children of the leader (checked in /proc just before each signal), so a
 * recycled pid of some unrelated process is never hit. */
#include "stress.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool ours(st_ctx *ctx, pid_t pid)
{
  return pid > 0 && pid != getpid() &&
         st_parent_of(pid) == atomic_load(&ctx->board->leader);
}

/* A random running slot with all of `flags`, or NULL. */
static st_slot *pick_slot(st_ctx *ctx, int flags)
{
  int n = atomic_load(&ctx->board->nslots), start;
  if (n > ST_SLOTS)
    n = ST_SLOTS;
  if (n == 0)
    return NULL;
  start = (int)st_rng_below(&ctx->rng, (uint64_t)n);
  for (int k = 0; k < n; k++) {
    st_slot *s = &ctx->board->slot[(start + k) % n];
    if (atomic_load(&s->state) == ST_RUNNING &&
        (atomic_load(&s->flags) & flags) == flags && !atomic_load(&s->killed))
      return s;
  }
  return NULL;
}

static pid_t pick_worker(st_ctx *ctx)
{
  pid_t pid = atomic_load(
      &ctx->board->worker_pid[st_rng_below(&ctx->rng, ST_WORKER_PIDS)]);
  return ours(ctx, pid) ? pid : 0;
}

struct chaos_arg {
  st_ctx ctx;
  int kill_budget;
};

static int chaos_main(void *p)
{
  struct chaos_arg *arg = p;
  st_ctx ctx = arg->ctx;
  int kill_budget = arg->kill_budget;
  /* Kills are spread over the scenario's budget (an iteration budget
   * counts as two seconds), so the scenario goes on with survivors. */
  double span = ctx.cfg->duration > 0 ? ctx.cfg->duration : 2;
  double next_kill;
  st_claim(&ctx, "chaos", 0, 0);
  next_kill = st_now() + span / (kill_budget + 1) *
                             (0.5 + (double)st_rng_below(&ctx.rng, 1000) / 1000);
  while (!atomic_load(&ctx.board->chaos_stop)) {
    uint64_t k = st_rng_below(&ctx.rng, 100);
    st_pause_ms(1 + (double)st_rng_below(&ctx.rng, 20));
    if (k < 55) {
      /* A storm: a burst of SIGUSR1 at one or several processes. */
      int bursts = 1 + (int)st_rng_below(&ctx.rng, 4);
      atomic_fetch_add(&ctx.board->storms, 1);
      for (int b = 0; b < bursts; b++) {
        st_slot *s = pick_slot(&ctx, ST_STORM);
        pid_t pid = st_rng_chance(&ctx.rng, 30) ? pick_worker(&ctx)
                    : s != NULL                 ? atomic_load(&s->pid)
                                                : 0;
        int shots = 1 + (int)st_rng_below(&ctx.rng, 50);
        if (pid == atomic_load(&ctx.board->leader) ||
            (pid != 0 && ours(&ctx, pid)))
          for (int i = 0; i < shots; i++)
            if (kill(pid, SIGUSR1) == 0)
              atomic_fetch_add(&ctx.board->signals_sent, 1);
      }
    } else if (k < 85) {
      /* A short stop: long enough to strand a lock or a message. */
      st_slot *s = pick_slot(&ctx, ST_STOPPABLE);
      pid_t pid = s != NULL ? atomic_load(&s->pid) : 0;
      if (pid != 0 && ours(&ctx, pid) && kill(pid, SIGSTOP) == 0) {
        atomic_fetch_add(&ctx.board->stops, 1);
        st_pause_ms(1 + (double)st_rng_below(&ctx.rng, 40));
        kill(pid, SIGCONT);
      }
    } else if (kill_budget > 0 && st_now() >= next_kill) {
      /* A SIGKILL: a scenario process that allows it, or a pool worker. */
      st_slot *s = pick_slot(&ctx, ST_KILLABLE);
      pid_t pid = s != NULL ? atomic_load(&s->pid) : 0;
      if (s == NULL && st_rng_chance(&ctx.rng, 50))
        pid = pick_worker(&ctx);
      if (pid != 0 && ours(&ctx, pid)) {
        if (s != NULL)
          atomic_store(&s->killed, 1); /* before: the leader must know */
        if (kill(pid, SIGKILL) == 0) {
          atomic_fetch_add(&ctx.board->kills, 1);
          kill_budget--;
          next_kill = st_now() +
                      span / (kill_budget + 1) *
                          (0.5 + (double)st_rng_below(&ctx.rng, 1000) / 1000);
        }
      }
    }
  }
  return 0;
}

void st_chaos_start(st_ctx *ctx, mproc_process *agent, int kill_budget)
{
  static struct chaos_arg arg; /* the agent's copy is made by fork */
  mproc_process_options o = {0};
  arg.ctx = *ctx;
  arg.ctx.me = NULL;
  arg.kill_budget = kill_budget;
  atomic_store(&ctx->board->chaos_stop, 0);
  o.target = chaos_main;
  o.arg = &arg;
  o.name = "chaos";
  ST_OK(ctx, mproc_process_init(agent, &o));
  ST_OK(ctx, mproc_process_start(agent));
}

void st_chaos_stop(st_ctx *ctx, mproc_process *agent)
{
  int code = -1;
  atomic_store(&ctx->board->chaos_stop, 1);
  st_op(ctx, "join the chaos agent");
  ST_OK(ctx, mproc_process_join(agent, MPROC_FOREVER));
  ST_OK(ctx, mproc_process_exitcode(agent, &code));
  ST_CHECK(ctx, code == 0, "the chaos agent ended with exit code %d", code);
  ST_OK(ctx, mproc_process_close(agent));
  st_done(ctx, false);
}

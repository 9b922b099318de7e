/* What every scenario process uses: random streams, the board, workers,
 * shared scratch memory and self-checking payloads. */
#include "stress.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Random streams                                                           */
/* ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void st_rng_init(st_rng *r, uint64_t seed, uint64_t a, uint64_t b,
                 uint64_t c)
{
  r->s = mix(mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ a) ^ b) ^ c;
}

uint64_t st_rng_next(st_rng *r)
{
  r->s += 0x9e3779b97f4a7c15ULL;
  return mix(r->s);
}

uint64_t st_rng_below(st_rng *r, uint64_t n)
{
  return n == 0 ? 0 : st_rng_next(r) % n;
}

bool st_rng_chance(st_rng *r, unsigned percent)
{
  return st_rng_below(r, 100) < percent;
}

size_t st_rng_size(st_rng *r, size_t max)
{
  uint64_t k = st_rng_below(r, 100);
  size_t n;
  if (k < 60)
    n = (size_t)st_rng_below(r, 64);
  else if (k < 90)
    n = (size_t)st_rng_below(r, 64 << 10);
  else if (k < 98)
    n = (size_t)st_rng_below(r, 1 << 20);
  else
    n = (size_t)st_rng_below(r, max + 1);
  return n < max ? n : max;
}

double st_rng_timeout(st_rng *r, bool chaos, bool allow_forever)
{
  uint64_t k = st_rng_below(r, 100);
  if (k < 20)
    return 0;
  if (k < 50)
    return (chaos ? 0.0001 : 0.001) * (double)(1 + st_rng_below(r, 5));
  if (k < 75 || !allow_forever)
    return st_scale(0.01 * (double)(1 + st_rng_below(r, 10)));
  return MPROC_FOREVER;
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/* As mpt_scale in conformance/harness.c, which the stress harness does not
 * link (it is built on Check). */
double st_scale(double seconds)
{
  static double factor;
  if (factor == 0) {
    const char *s = getenv("MPROC_TIME_SCALE");
    char *end;
    double f = s != NULL ? strtod(s, &end) : 1;
    factor = s != NULL && end != s && f > 0 ? f : 1;
  }
  return seconds * factor;
}

double st_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void st_pause_ms(double ms)
{
  struct timespec ts = {(time_t)(ms / 1000),
                        (long)((ms - (double)(time_t)(ms / 1000) * 1000) *
                               1e6)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ------------------------------------------------------------------------ */
/* The board                                                                */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t signals_seen;

static void on_sigusr1(int sig)
{
  (void)sig;
  signals_seen++;
}

void st_install_storm_handler(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1; /* no SA_RESTART: interrupt blocking calls */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
}

uint64_t st_signals_seen(void) { return (uint64_t)signals_seen; }

st_slot *st_claim(st_ctx *ctx, const char *role, int index, int flags)
{
  int i = atomic_fetch_add(&ctx->board->nslots, 1);
  st_slot *s;
  if (i >= ST_SLOTS) {
    fprintf(stderr, "stress: out of board slots\n");
    _exit(2);
  }
  s = &ctx->board->slot[i];
  snprintf(s->role, sizeof s->role, "%s-%d", role, index);
  s->op[0] = '\0';
  atomic_store(&s->pid, getpid());
  atomic_store(&s->flags, flags);
  atomic_store(&s->state, ST_RUNNING);
  if (flags & ST_STORM)
    st_install_storm_handler();
  ctx->me = s;
  /* The role's name is part of the stream: the same role and index get
   * the same schedule in every run with this seed. */
  uint64_t h = 1469598103934665603ULL;
  for (const char *p = role; *p != '\0'; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  st_rng_init(&ctx->rng, ctx->cfg->seed, (uint64_t)ctx->index, h,
              (uint64_t)index);
  return s;
}

void st_op(st_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  struct timespec ts;
  if (ctx->me == NULL)
    return;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  atomic_store(&ctx->me->since_us,
               (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
  va_start(ap, fmt);
  vsnprintf(ctx->me->op, sizeof ctx->me->op, fmt, ap);
  va_end(ap);
}

void st_done(st_ctx *ctx, bool timed_out)
{
  if (ctx->me == NULL)
    return;
  ctx->me->op[0] = '\0';
  atomic_fetch_add(&ctx->me->ops, 1);
  if (timed_out)
    atomic_fetch_add(&ctx->me->timeouts, 1);
  atomic_store(&ctx->me->signals, st_signals_seen());
}

bool st_more(const st_ctx *ctx, uint64_t done)
{
  if (atomic_load(&ctx->board->stop))
    return false;
  if (ctx->cfg->iterations > 0)
    return done < ctx->cfg->iterations;
  return st_now() < ctx->deadline;
}

void st_fail(st_ctx *ctx, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "stress: %s: FAIL in %s (pid %ld): %s\n", ctx->name,
          ctx->me != NULL ? ctx->me->role : "?", (long)getpid(), msg);
  atomic_store(&ctx->board->failed, 1);
  if (atomic_exchange(&ctx->board->failure_claimed, 1) == 0)
    snprintf(ctx->board->failure, sizeof ctx->board->failure, "%s: %s",
             ctx->me != NULL ? ctx->me->role : "?", msg);
}

void st_count_name(st_ctx *ctx, int i, const char *name)
{
  snprintf(ctx->board->count_name[i], sizeof ctx->board->count_name[i], "%s",
           name);
}

void st_count(st_ctx *ctx, int i, uint64_t n)
{
  atomic_fetch_add(&ctx->board->count[i], n);
}

void st_register_worker(st_ctx *ctx)
{
  static pid_t registered;
  if (registered == getpid())
    return;
  registered = getpid();
  st_install_storm_handler();
  unsigned k = atomic_fetch_add(&ctx->board->worker_next, 1);
  atomic_store(&ctx->board->worker_pid[k % ST_WORKER_PIDS], registered);
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                  */
/* ------------------------------------------------------------------------ */

static int worker_main(void *p)
{
  struct st_group_arg *a = p;
  st_ctx ctx = *a->ctx;
  st_claim(&ctx, a->role, a->index, a->flags);
  a->fn(&ctx, a->index, a->arg);
  atomic_store(&ctx.me->signals, st_signals_seen());
  ctx.me->op[0] = '\0';
  atomic_store(&ctx.me->state, ST_DONE);
  return atomic_load(&ctx.board->failed) ? 3 : 0;
}

st_group *st_group_new(void)
{
  st_group *g = calloc(1, sizeof *g);
  if (g == NULL) {
    perror("stress: calloc");
    _exit(2);
  }
  return g;
}

void st_group_free(st_group *g) { free(g); }

void st_start(st_ctx *ctx, st_group *g, int n, const char *role, int flags,
              st_worker_fn fn, void *arg)
{
  for (int i = 0; i < n && g->n < ST_SLOTS; i++) {
    struct st_group_arg *a = &g->args[g->n];
    mproc_process_options o = {0};
    a->ctx = ctx;
    a->fn = fn;
    a->role = role;
    a->index = i;
    a->flags = flags;
    a->arg = arg;
    o.target = worker_main;
    o.arg = a;
    o.name = role;
    ST_OK(ctx, mproc_process_init(&g->proc[g->n], &o));
    ST_OK(ctx, mproc_process_start(&g->proc[g->n]));
    g->n++;
  }
}

int st_join(st_ctx *ctx, st_group *g, bool *killed)
{
  int nkilled = 0;
  for (int i = 0; i < g->n; i++) {
    int code = 0;
    pid_t pid = mproc_process_pid(&g->proc[i]);
    bool chaos_killed = false;
    st_op(ctx, "join %s-%d (pid %ld)", g->args[i].role, g->args[i].index,
          (long)pid);
    ST_OK(ctx, mproc_process_join(&g->proc[i], MPROC_FOREVER));
    ST_OK(ctx, mproc_process_exitcode(&g->proc[i], &code));
    for (int s = 0; s < ST_SLOTS; s++)
      if (atomic_load(&ctx->board->slot[s].pid) == pid &&
          atomic_load(&ctx->board->slot[s].killed))
        chaos_killed = true;
    if (code == -SIGKILL && chaos_killed)
      nkilled++;
    else if (code != 0 && !(code == 3 && atomic_load(&ctx->board->failed)))
      st_fail(ctx, "%s-%d (pid %ld) ended with exit code %d",
              g->args[i].role, g->args[i].index, (long)pid, code);
    if (killed != NULL)
      killed[i] = code == -SIGKILL && chaos_killed;
    ST_OK(ctx, mproc_process_close(&g->proc[i]));
    st_done(ctx, false);
  }
  g->n = 0;
  return nkilled;
}

/* ------------------------------------------------------------------------ */
/* Shared scratch memory and payloads                                       */
/* ------------------------------------------------------------------------ */

void *st_share(size_t size)
{
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("stress: mmap");
    _exit(2);
  }
  return p;
}

void st_unshare(void *p, size_t size) { munmap(p, size); }

#define ST_MAGIC 0x5354524cu

static uint8_t pattern_byte(uint32_t producer, uint64_t seq, size_t i)
{
  return (uint8_t)((i * 131u) ^ (seq * 7u) ^ (producer * 29u) ^ (i >> 8));
}

void *st_payload_make(uint32_t producer, uint64_t seq, size_t len)
{
  st_payload_hdr h = {ST_MAGIC, producer, seq, 0};
  uint8_t *buf;
  if (len < sizeof h)
    len = sizeof h;
  h.len = len;
  buf = malloc(len);
  if (buf == NULL)
    return NULL;
  memcpy(buf, &h, sizeof h);
  for (size_t i = sizeof h; i < len; i++)
    buf[i] = pattern_byte(producer, seq, i);
  return buf;
}

const char *st_payload_check(const void *buf, size_t len, st_payload_hdr *hdr)
{
  const uint8_t *b = buf;
  if (len < sizeof *hdr)
    return "payload shorter than its header";
  memcpy(hdr, buf, sizeof *hdr);
  if (hdr->magic != ST_MAGIC)
    return "payload header has a wrong magic number";
  if (hdr->len != len)
    return "payload length differs from the length it was sent with";
  for (size_t i = sizeof *hdr; i < len; i++)
    if (b[i] != pattern_byte(hdr->producer, hdr->seq, i))
      return "payload bytes are corrupt";
  return NULL;
}

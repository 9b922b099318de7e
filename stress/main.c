/* mproc-stress: runs the stress scenarios (docs/stress.md).
 *
 * The runner never calls the library itself.  It forks a leader per
 * scenario (in a process group of its own), watches it against the budget
 * plus a grace period, samples the resident memory of every process on the
 * board, and after the leader ends checks what the scenario left behind:
 * processes (the runner is a child subreaper, so orphans come back to it),
 * /dev/shm entries and files in the run's private TMPDIR.  It writes the
 * report: one line per scenario, "N passed, N failed", JUnit XML, JSON, and
 * a line of JSON appended to the history file. */
#include "stress.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const st_scenario scenarios[] = {
    {"lock", st_scenario_lock,
     "Lock and RLock protecting counters; exclusive holders, exact totals"},
    {"semaphore", st_scenario_semaphore,
     "BoundedSemaphore: holders never above the bound"},
    {"condition", st_scenario_condition,
     "Condition-guarded bounded buffer: every item once, in order"},
    {"barrier", st_scenario_barrier,
     "Barrier: distinct indexes, one action per generation"},
    {"event", st_scenario_event,
     "Event: waits end only when the flag was set, never early"},
    {"pipe", st_scenario_pipe,
     "Pipes: duplex echo and one-way streams of mixed sizes"},
    {"queue", st_scenario_queue,
     "Queue: many producers and consumers, mixed sizes up to MiB"},
    {"joinable", st_scenario_joinable,
     "JoinableQueue: task_done accounting and join"},
    {"pool", st_scenario_pool,
     "Pool: failing and crashing tasks, each accounted once"},
    {"executor", st_scenario_executor,
     "Executor: failing and crashing tasks, broken executors"},
    {"manager", st_scenario_manager,
     "Manager: many clients on dict, list, queue, lock, value"},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

typedef struct result {
  const st_scenario *sc;
  uint64_t seed;
  int round;
  bool ok;
  double seconds;
  uint64_t ops, timeouts, signals, kills, stops, storms;
  uint64_t count[ST_COUNTERS];
  char count_name[ST_COUNTERS][24];
  long rss_growth_kib;
  char message[1024];
} result;

static char tmpdir[64];
static const char *shm_prefix = ""; /* --shm-prefix */

/* SIGINT or SIGTERM (a cancelled CI job): the runner ends the running
 * scenario, cleans up and reports what ran. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
  (void)sig;
  interrupted = 1;
}

static uint64_t derive_seed(uint64_t seed, int round)
{
  st_rng r;
  if (round == 0)
    return seed;
  st_rng_init(&r, seed, 0x726f756e64ULL, (uint64_t)round, 0);
  return st_rng_next(&r);
}

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
  size_t used = strlen(buf);
  va_list ap;
  if (used + 1 >= size)
    return;
  va_start(ap, fmt);
  vsnprintf(buf + used, size - used, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* What a scenario may leave behind                                         */
/* ------------------------------------------------------------------------ */

typedef struct names {
  int n;
  char name[256][64];
} names;

static void list_dir(const char *path, names *out)
{
  DIR *d = opendir(path);
  struct dirent *e;
  out->n = 0;
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL && out->n < 256)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
        strlen(e->d_name) < sizeof out->name[0])
      strcpy(out->name[out->n++], e->d_name);
  closedir(d);
}

static bool in_names(const names *s, const char *name)
{
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->name[i], name) == 0)
      return true;
  return false;
}

/* Children of the runner, found through /proc (waitpid cannot name a
 * child that is still running). */
static int list_children(pid_t *out, int max)
{
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL && n < max)
    if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
        st_parent_of((pid_t)atol(e->d_name)) == getpid())
      out[n++] = (pid_t)atol(e->d_name);
  closedir(d);
  return n;
}

/* Reaps what outlived the leader.  Returns how many processes did. */
static int reap_orphans(double grace, char *msg, size_t size)
{
  double deadline = st_now() + grace;
  int orphans = 0;
  for (;;) {
    int st;
    pid_t kids[64];
    pid_t r = waitpid(-1, &st, WNOHANG);
    if (r > 0) {
      orphans++;
      append(msg, size, "%sprocess %ld outlived its scenario",
             msg[0] ? "; " : "", (long)r);
      continue;
    }
    int n = list_children(kids, 64);
    if (n == 0 && r < 0)
      break;
    if (st_now() > deadline) {
      for (int i = 0; i < n; i++) {
        append(msg, size, "%sprocess %ld was still running after %.0fs",
               msg[0] ? "; " : "", (long)kids[i], grace);
        kill(kids[i], SIGCONT);
        kill(kids[i], SIGKILL);
        waitpid(kids[i], &st, 0);
        orphans++;
      }
      break;
    }
    st_pause_ms(10);
  }
  return orphans;
}

static void remove_tree(const char *path)
{
  names n;
  list_dir(path, &n);
  for (int i = 0; i < n.n; i++) {
    char sub[512];
    snprintf(sub, sizeof sub, "%s/%s", path, n.name[i]);
    if (unlink(sub) != 0)
      remove_tree(sub);
  }
  rmdir(path);
}

/* ------------------------------------------------------------------------ */
/* One scenario                                                             */
/* ------------------------------------------------------------------------ */

static void leader_main(const st_config *cfg, const st_scenario *sc,
                        int index, st_board *board)
{
  st_ctx ctx = {0};
  int fds0, maps0, fds1, maps1;
  setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  ctx.cfg = cfg;
  ctx.board = board;
  ctx.name = sc->name;
  ctx.index = index;
  ctx.start = st_now();
  ctx.deadline = ctx.start + cfg->duration;
  atomic_store(&board->leader, getpid());
  st_claim(&ctx, "leader", 0, cfg->chaos ? ST_STORM : 0);
  fds0 = st_count_fds();
  maps0 = st_count_shared_maps();
  sc->run(&ctx);
  fds1 = st_count_fds();
  maps1 = st_count_shared_maps();
  ST_CHECK(&ctx, fds1 == fds0,
           "the leader had %d descriptors before the scenario, %d after",
           fds0, fds1);
  ST_CHECK(&ctx, maps1 == maps0,
           "the leader had %d shared mappings before the scenario, %d after",
           maps0, maps1);
  atomic_store(&ctx.me->signals, st_signals_seen());
  atomic_store(&ctx.me->state, ST_DONE);
  fflush(NULL);
  _exit(atomic_load(&board->failed) ? 1 : 0);
}

static void print_board(const st_board *b, FILE *out)
{
  double now = st_now();
  int n = atomic_load(&b->nslots);
  for (int i = 0; i < n && i < ST_SLOTS; i++) {
    const st_slot *s = &b->slot[i];
    int state = atomic_load(&s->state);
    double since = (double)atomic_load(&s->since_us) / 1e6;
    fprintf(out, "  %-14s pid %-7ld %-8s %s%s", s->role,
            (long)atomic_load(&s->pid),
            state == ST_DONE ? "done" : atomic_load(&s->killed) ? "killed"
                                                                 : "running",
            s->op[0] ? "in " : "between operations", s->op);
    if (s->op[0])
      fprintf(out, " for %.1fs", now - since);
    fprintf(out, " (%" PRIu64 " ops)\n", atomic_load(&s->ops));
  }
}

typedef struct rss_track {
  pid_t pid;
  long base, growth;
} rss_track;

static void run_one(const st_config *cfg, const st_scenario *sc, int index,
                    result *res)
{
  st_board *board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  static names shm_before, shm_after, tmp_after;
  rss_track rss[ST_SLOTS];
  double start = st_now(), deadline, warm;
  bool hung = false;
  int status = 0;
  pid_t leader;

  memset(res->message, 0, sizeof res->message);
  memset(rss, 0, sizeof rss);
  if (board == MAP_FAILED) {
    snprintf(res->message, sizeof res->message, "mmap: %s", strerror(errno));
    res->ok = false;
    return;
  }
  list_dir("/dev/shm", &shm_before);
  fflush(NULL);
  leader = fork();
  if (leader == 0)
    leader_main(cfg, sc, index, board);
  if (leader < 0) {
    snprintf(res->message, sizeof res->message, "fork: %s", strerror(errno));
    res->ok = false;
    munmap(board, sizeof *board);
    return;
  }
  setpgid(leader, leader);
  deadline = start + cfg->duration + cfg->hang_grace;
  warm = start + (cfg->duration > 0 ? cfg->duration / 4 : 1);
  for (;;) {
    pid_t r = waitpid(leader, &status, WNOHANG);
    if (r == leader)
      break;
    if (interrupted) {
      hung = true; /* nothing it left behind is its fault */
      append(res->message, sizeof res->message, "interrupted");
      kill(-leader, SIGCONT);
      kill(-leader, SIGKILL);
      waitpid(leader, &status, 0);
      break;
    }
    if (st_now() > deadline) {
      hung = true;
      fprintf(stderr,
              "stress: %s: HANG: no end %.0fs past the budget; the board:\n",
              sc->name, cfg->hang_grace);
      print_board(board, stderr);
      append(res->message, sizeof res->message,
             "hang: the scenario did not end %.0fs past its budget;",
             cfg->hang_grace);
      for (int i = 0; i < atomic_load(&board->nslots) && i < ST_SLOTS; i++) {
        const st_slot *s = &board->slot[i];
        if (atomic_load(&s->state) == ST_RUNNING && s->op[0])
          append(res->message, sizeof res->message, " %s (pid %ld) in %s;",
                 s->role, (long)atomic_load(&s->pid), s->op);
      }
      kill(-leader, SIGCONT);
      kill(-leader, SIGKILL);
      waitpid(leader, &status, 0);
      break;
    }
    /* Resident memory of every process on the board, after a warm-up. */
    if (st_now() >= warm)
      for (int i = 0; i < atomic_load(&board->nslots) && i < ST_SLOTS; i++) {
        pid_t pid = atomic_load(&board->slot[i].pid);
        long kib;
        if (atomic_load(&board->slot[i].state) != ST_RUNNING)
          continue;
        if ((kib = st_rss_kib(pid)) < 0)
          continue;
        if (rss[i].pid != pid) {
          rss[i].pid = pid;
          rss[i].base = kib;
        } else if (kib - rss[i].base > rss[i].growth) {
          rss[i].growth = kib - rss[i].base;
        }
      }
    st_pause_ms(50);
  }
  res->seconds = st_now() - start;

  if (!hung && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    append(res->message, sizeof res->message, "%s%s", res->message[0] ? " " : "",
           board->failure[0] ? board->failure : "the leader failed");
  if (!hung && !WIFEXITED(status))
    append(res->message, sizeof res->message,
           " (the leader died from signal %d)", WTERMSIG(status));
  {
    char leaks[512] = "";
    if (hung)
      kill(-leader, SIGKILL);
    reap_orphans(hung ? 1 : st_scale(5), leaks, sizeof leaks);
    list_dir("/dev/shm", &shm_after);
    for (int i = 0; i < shm_after.n; i++)
      if (!in_names(&shm_before, shm_after.name[i]) &&
          strncmp(shm_after.name[i], shm_prefix, strlen(shm_prefix)) == 0)
        append(leaks, sizeof leaks, "%s/dev/shm/%s was left behind",
               leaks[0] ? "; " : "", shm_after.name[i]);
    list_dir(tmpdir, &tmp_after);
    for (int i = 0; i < tmp_after.n; i++) {
      char path[512];
      append(leaks, sizeof leaks, "%s%s/%s was left behind",
             leaks[0] ? "; " : "", tmpdir, tmp_after.name[i]);
      snprintf(path, sizeof path, "%s/%s", tmpdir, tmp_after.name[i]);
      if (unlink(path) != 0)
        remove_tree(path);
    }
    if (leaks[0] && !hung)
      append(res->message, sizeof res->message, "%sleak: %s",
             res->message[0] ? " " : "", leaks);
  }
  res->rss_growth_kib = 0;
  for (int i = 0; i < ST_SLOTS; i++)
    if (rss[i].growth > res->rss_growth_kib)
      res->rss_growth_kib = rss[i].growth;
  for (int i = 0; i < ST_SLOTS; i++)
    if (!hung && rss[i].growth > cfg->rss_growth_kib) {
      append(res->message, sizeof res->message,
             "%sleak: %s (pid %ld) grew by %ld KiB of resident memory "
             "(bound %ld KiB)",
             res->message[0] ? " " : "", board->slot[i].role,
             (long)rss[i].pid, rss[i].growth, cfg->rss_growth_kib);
      break;
    }

  res->ok = res->message[0] == '\0';
  res->ops = res->timeouts = res->signals = 0;
  for (int i = 0; i < atomic_load(&board->nslots) && i < ST_SLOTS; i++) {
    res->ops += atomic_load(&board->slot[i].ops);
    res->timeouts += atomic_load(&board->slot[i].timeouts);
    res->signals += atomic_load(&board->slot[i].signals);
  }
  res->kills = atomic_load(&board->kills);
  res->stops = atomic_load(&board->stops);
  res->storms = atomic_load(&board->storms);
  for (int i = 0; i < ST_COUNTERS; i++) {
    res->count[i] = atomic_load(&board->count[i]);
    memcpy(res->count_name[i], board->count_name[i], sizeof res->count_name[i]);
  }
  munmap(board, sizeof *board);
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                  */
/* ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void xml_string(FILE *f, const char *s)
{
  for (; *s; s++)
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\n')
        fputc(*s, f);
    }
}

static void write_json(FILE *f, const st_config *cfg, const result *rs,
                       int n, int passed, int failed, const char *when)
{
  fprintf(f, "{\"time\":\"%s\",\"implementation\":", when);
  json_string(f, mproc_implementation());
  fprintf(f,
          ",\"seed\":%" PRIu64 ",\"duration\":%g,\"iterations\":%" PRIu64
          ",\"procs\":%d,\"chaos\":%s,\"passed\":%d,\"failed\":%d,"
          "\"scenarios\":[",
          cfg->seed, cfg->duration, cfg->iterations, cfg->procs,
          cfg->chaos ? "true" : "false", passed, failed);
  for (int i = 0; i < n; i++) {
    const result *r = &rs[i];
    fprintf(f, "%s{\"name\":", i ? "," : "");
    json_string(f, r->sc->name);
    fprintf(f,
            ",\"round\":%d,\"seed\":%" PRIu64 ",\"result\":\"%s\","
            "\"seconds\":%.3f,\"ops\":%" PRIu64 ",\"ops_per_sec\":%.1f,"
            "\"timeouts\":%" PRIu64 ",\"signals_handled\":%" PRIu64
            ",\"kills\":%" PRIu64 ",\"stops\":%" PRIu64 ",\"storms\":%" PRIu64
            ",\"rss_growth_kib\":%ld,\"counts\":{",
            r->round, r->seed, r->ok ? "pass" : "fail", r->seconds, r->ops,
            r->seconds > 0 ? (double)r->ops / r->seconds : 0.0, r->timeouts,
            r->signals, r->kills, r->stops, r->storms, r->rss_growth_kib);
    for (int c = 0, first = 1; c < ST_COUNTERS; c++)
      if (r->count_name[c][0]) {
        fprintf(f, "%s", first ? "" : ",");
        json_string(f, r->count_name[c]);
        fprintf(f, ":%" PRIu64, r->count[c]);
        first = 0;
      }
    fprintf(f, "},\"message\":");
    json_string(f, r->message);
    fputc('}', f);
  }
  fprintf(f, "]}\n");
}

static void write_junit(FILE *f, const result *rs, int n, int failed,
                        double total)
{
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<testsuite name=\"mproc-stress\" tests=\"%d\" failures=\"%d\" "
          "errors=\"0\" time=\"%.3f\">\n",
          n, failed, total);
  for (int i = 0; i < n; i++) {
    const result *r = &rs[i];
    fprintf(f,
            "  <testcase classname=\"stress\" name=\"%s.round%d\" "
            "time=\"%.3f\">\n",
            r->sc->name, r->round, r->seconds);
    if (!r->ok) {
      fprintf(f, "    <failure message=\"");
      xml_string(f, r->message);
      fprintf(f, "\">seed %" PRIu64 "</failure>\n", r->seed);
    }
    fprintf(f, "    <system-out>%" PRIu64 " ops, %.1f ops/s</system-out>\n",
            r->ops, r->seconds > 0 ? (double)r->ops / r->seconds : 0.0);
    fprintf(f, "  </testcase>\n");
  }
  fprintf(f, "</testsuite>\n");
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
  fprintf(f,
      "usage: mproc-stress [options]\n"
      "  --seed N            seed of every random choice (default: random)\n"
      "  --duration S        seconds of operations per scenario (default 2)\n"
      "  --iterations N      operations per process instead of a duration\n"
      "  --procs N           worker processes per scenario (default 4)\n"
      "  --total S           repeat the scenarios in rounds for S seconds\n"
      "  --rounds N          run the scenarios N times (default 1)\n"
      "  --scenarios A,B     only these scenarios (--list names them)\n"
      "  --chaos             SIGKILL, SIGSTOP/SIGCONT, SIGUSR1 storms\n"
      "  --max-message B     largest random message (default 4 MiB)\n"
      "  --hang-grace S      watchdog grace past the budget (default 60)\n"
      "  --rss-growth K      bound on resident growth, KiB (default 65536)\n"
      "  --shm-prefix P      only new /dev/shm entries named P* are leaks\n"
      "  --junit FILE        JUnit XML report\n"
      "  --json FILE         JSON report\n"
      "  --history FILE      append the JSON report as one line\n"
      "  --list              list the scenarios\n"
      "Time bounds are multiplied by MPROC_TIME_SCALE.\n");
}

static bool selected(const char *list, const char *name)
{
  size_t len = strlen(name);
  if (list == NULL)
    return true;
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && strncmp(p, name, n) == 0)
      return true;
    p += n + (end ? 1 : 0);
  }
  return false;
}

int main(int argc, char **argv)
{
  st_config cfg = {0};
  const char *only = NULL, *junit = NULL, *json = NULL, *history = NULL;
  double total = 0;
  int rounds = 1, passed = 0, failed = 0, nres = 0, cap = 0;
  result *rs = NULL;
  bool seeded = false;
  char when[32];
  time_t t = time(NULL);
  double t0;
  static const struct option opts[] = {
      {"seed", required_argument, 0, 's'},
      {"duration", required_argument, 0, 'd'},
      {"iterations", required_argument, 0, 'i'},
      {"procs", required_argument, 0, 'p'},
      {"total", required_argument, 0, 't'},
      {"rounds", required_argument, 0, 'r'},
      {"scenarios", required_argument, 0, 'S'},
      {"chaos", no_argument, 0, 'c'},
      {"max-message", required_argument, 0, 'm'},
      {"hang-grace", required_argument, 0, 'g'},
      {"rss-growth", required_argument, 0, 'R'},
      {"shm-prefix", required_argument, 0, 'P'},
      {"junit", required_argument, 0, 'J'},
      {"json", required_argument, 0, 'j'},
      {"history", required_argument, 0, 'H'},
      {"list", no_argument, 0, 'l'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;

  cfg.duration = 2;
  cfg.procs = 4;
  cfg.max_message = 4 << 20;
  cfg.hang_grace = 60;
  cfg.rss_growth_kib = 65536;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's': cfg.seed = strtoull(optarg, NULL, 0); seeded = true; break;
    case 'd': cfg.duration = strtod(optarg, NULL); break;
    case 'i': cfg.iterations = strtoull(optarg, NULL, 0); break;
    case 'p': cfg.procs = atoi(optarg); break;
    case 't': total = strtod(optarg, NULL); break;
    case 'r': rounds = atoi(optarg); break;
    case 'S': only = optarg; break;
    case 'c': cfg.chaos = true; break;
    case 'm': cfg.max_message = strtoull(optarg, NULL, 0); break;
    case 'g': cfg.hang_grace = strtod(optarg, NULL); break;
    case 'R': cfg.rss_growth_kib = atol(optarg); break;
    case 'P': shm_prefix = optarg; break;
    case 'J': junit = optarg; break;
    case 'j': json = optarg; break;
    case 'H': history = optarg; break;
    case 'l':
      for (size_t i = 0; i < NSCENARIOS; i++)
        printf("%-10s %s\n", scenarios[i].name, scenarios[i].what);
      return 0;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc || cfg.procs < 2 || cfg.procs > 32 || rounds < 1 ||
      !(cfg.duration >= 0) || (cfg.duration == 0 && cfg.iterations == 0)) {
    usage(stderr);
    return 2;
  }
  for (size_t i = 0; i < NSCENARIOS; i++)
    if (selected(only, scenarios[i].name))
      cap++;
  if (cap == 0) {
    fprintf(stderr, "mproc-stress: no scenario matches '%s'\n", only);
    return 2;
  }
  if (cfg.iterations > 0)
    cfg.duration = 0;
  cfg.hang_grace = st_scale(cfg.hang_grace);
  if (!seeded) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cfg.seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
  }
  printf("mproc-stress: seed %" PRIu64 " (replay with --seed %" PRIu64
         "), %s, %d processes, chaos %s, %s\n",
         cfg.seed, cfg.seed, mproc_implementation(), cfg.procs,
         cfg.chaos ? "on" : "off",
         cfg.iterations ? "iteration budget" : "duration budget");
  fflush(stdout);

  /* Orphans come back to the runner, so what a scenario left running is
   * seen (and reaped) here. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/mproc-stress-XXXXXX");
  if (mkdtemp(tmpdir) == NULL) {
    perror("mproc-stress: mkdtemp");
    return 2;
  }
  setenv("TMPDIR", tmpdir, 1);

  t0 = st_now();
  for (int round = 0;
       !interrupted && (total > 0 ? st_now() - t0 < total : round < rounds);
       round++) {
    for (size_t i = 0; i < NSCENARIOS && !interrupted; i++) {
      st_config run = cfg;
      result *r;
      if (!selected(only, scenarios[i].name))
        continue;
      if (nres % 64 == 0) {
        result *grown = realloc(rs, sizeof *rs * (size_t)(nres + 64));
        if (grown == NULL) {
          perror("mproc-stress");
          return 2;
        }
        rs = grown;
      }
      r = &rs[nres++];
      memset(r, 0, sizeof *r);
      r->sc = &scenarios[i];
      r->round = round;
      r->seed = run.seed = derive_seed(cfg.seed, round);
      run_one(&run, &scenarios[i], (int)i, r);
      if (r->ok)
        passed++;
      else
        failed++;
      printf("%s %-10s round %d  %6.2fs %10" PRIu64 " ops %10.1f ops/s  "
             "%" PRIu64 " timeouts, %" PRIu64 " signals, %" PRIu64
             " kills, %" PRIu64 " stops, rss +%ld KiB\n",
             r->ok ? "PASS" : "FAIL", r->sc->name, round, r->seconds, r->ops,
             r->seconds > 0 ? (double)r->ops / r->seconds : 0.0, r->timeouts,
             r->signals, r->kills, r->stops, r->rss_growth_kib);
      if (!r->ok)
        printf("     %s\n     replay: mproc-stress --seed %" PRIu64
               " --scenarios %s --procs %d --%s %g --max-message %zu%s\n",
               r->message, r->seed, r->sc->name, cfg.procs,
               cfg.iterations ? "iterations" : "duration",
               cfg.iterations ? (double)cfg.iterations : cfg.duration,
               cfg.max_message, cfg.chaos ? " --chaos" : "");
      fflush(stdout);
    }
  }
  remove_tree(tmpdir);

  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  if (json != NULL) {
    FILE *f = fopen(json, "w");
    if (f != NULL) {
      write_json(f, &cfg, rs, nres, passed, failed, when);
      fclose(f);
    }
  }
  if (history != NULL) {
    FILE *f = fopen(history, "a");
    if (f != NULL) {
      write_json(f, &cfg, rs, nres, passed, failed, when);
      fclose(f);
    }
  }
  if (junit != NULL) {
    FILE *f = fopen(junit, "w");
    if (f != NULL) {
      write_junit(f, rs, nres, failed, st_now() - t0);
      fclose(f);
    }
  }
  free(rs);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

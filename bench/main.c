/*
 * mproc-bench: each workload through libmproc, against the plain-POSIX
 * lower bound and CPython's multiprocessing, in one run.
 *
 * Repetitions run the three implementations back to back (in alternating
 * order) and ratios are taken within each repetition before the median, so
 * that load from elsewhere on the machine hits both sides of a ratio
 * alike.  The program prints figures and always exits 0 unless it cannot
 * run at all: benchmarks never fail a build.
 *
 * Usage: mproc-bench [--reps N] [--scaling] [--json FILE]
 *                    [--python PYTHON] [--script bench.py] [--only A,B,..]
 */
#include "bench.h"

#include <math.h>
#include <mproc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

enum unit {
  PER_OP,    /* microseconds per operation */
  TOTAL,     /* milliseconds for the whole workload */
  RATE,      /* thousands of items per second */
  BANDWIDTH, /* MiB per second */
};

struct workload {
  const char *name; /* also the function's name in bench.py */
  const char *title;
  enum unit unit;
  bench_params params;
  bench_run_fn mproc, posix;
  const char *posix_what;
  double max_vs_posix;   /* target: mproc time / POSIX time at most this */
  double min_vs_python;  /* target: CPython time / mproc time at least this */
  bool no_python;        /* a second lower bound for the row above */
};

#define MIB ((size_t)1 << 20)

static const struct workload workloads[] = {
    {"start_join", "process start+join", PER_OP, {30, 1, 0},
     lib_start_join, posix_start_join, "fork+waitpid", 1.2, 0, false},
    {"lock", "lock acquire+release, uncontended", PER_OP, {1000000, 1, 0},
     lib_lock, posix_lock, "pshared mutex", 1.5, 0, false},
    {"counter", "counter 4 x 10000 under a lock", TOTAL, {10000, 4, 0},
     lib_counter, posix_counter, "pshared mutex", 0, 0, false},
    {"counter", "counter 4 x 1000000 under a lock", TOTAL, {1000000, 4, 0},
     lib_counter, posix_counter, "pshared mutex", 1.3, 50, false},
    {"pipe_rtt", "pipe round trip, small value", PER_OP, {10000, 1, 0},
     lib_pipe_rtt, posix_pipe_rtt, "two pipes", 1.3, 0, false},
    {"pipe_rtt", "pipe round trip vs raw socketpair", PER_OP, {10000, 1, 0},
     lib_pipe_rtt, posix_socket_rtt, "socketpair", 0, 0, true},
    {"queue_1p1c", "queue 1p/1c small items", RATE, {50000, 1, 0},
     lib_queue_1p1c, posix_queue_1p1c, "pipe, 8 B/item", 1.0, 15, false},
    {"queue_bandwidth", "queue 1p/1c 1 MiB items", BANDWIDTH, {100, 1, MIB},
     lib_queue_bandwidth, posix_queue_bandwidth, "pipe", 0, 0, false},
    {"queue_npnc", "queue 4p/4c small items", RATE, {50000, 4, 0},
     lib_queue_npnc, posix_queue_npnc, "shared pipe", 0, 0, false},
    {"pool_map", "pool map, 100000 trivial tasks", TOTAL, {100000, 2, 0},
     lib_pool_map, posix_pool_map, "chunked pipe farm", 0, 0, false},
    {"apply_async", "apply_async round trip", PER_OP, {2000, 2, 0},
     lib_apply_async, posix_pipe_rtt, "pipe round trip", 2.0, 0, false},
    {"executor", "executor submit throughput", RATE, {5000, 2, 0},
     lib_executor, posix_executor, "pipe farm, 1 task/msg", 0, 10, false},
    {"manager_dict", "manager dict set", PER_OP, {5000, 1, 0},
     lib_manager_dict, posix_manager_dict, "socket to table server", 0, 0, false},
};
#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

/* A series of runs of one workload with one parameter varied. */
struct scaling {
  const char *workload; /* name in workloads[] */
  const char *title;
  const char *what;     /* the varied parameter */
  bench_params points[5];
  int n_points;
};

static const struct scaling scalings[] = {
    {"counter", "counter under a lock", "processes (100000 increments each)",
     {{100000, 1, 0}, {100000, 2, 0}, {100000, 4, 0}, {100000, 8, 0}}, 4},
    {"queue_1p1c", "queue 1p/1c small items", "items", {{1000, 1, 0}, {10000, 1, 0}, {100000, 1, 0}}, 3},
    {"queue_npnc", "queue np/nc small items", "producers = consumers (40000 items)",
     {{40000, 1, 0}, {40000, 2, 0}, {40000, 4, 0}, {40000, 8, 0}}, 4},
    {"queue_bandwidth", "queue 1p/1c bandwidth", "item size (16 MiB in all)",
     {{16384, 1, 1024}, {256, 1, 64 * 1024}, {16, 1, MIB}, {4, 1, 4 * MIB}},
     4},
    {"pool_map", "pool map", "tasks (2 workers)",
     {{1000, 2, 0}, {10000, 2, 0}, {100000, 2, 0}}, 3},
    {"pool_map", "pool map", "workers (100000 tasks)",
     {{100000, 1, 0}, {100000, 2, 0}, {100000, 4, 0}}, 3},
    {"executor", "executor submit throughput", "tasks (2 workers)", {{100, 2, 0}, {1000, 2, 0}, {10000, 2, 0}},
     3},
    {"manager_dict", "manager dict set", "items", {{500, 1, 0}, {5000, 1, 0}, {20000, 1, 0}}, 3},
};
#define N_SCALINGS (sizeof scalings / sizeof scalings[0])

enum { MPROC, POSIX, PYTHON, N_IMPL };
static const char *const impl_names[N_IMPL] = {"mproc", "posix", "python"};

struct stats {
  double median, min, max;
  int count; /* successful runs */
};

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Statistics over the non-negative entries of v[0..n). */
static struct stats summarise(const double *v, int n) {
  double s[n > 0 ? n : 1];
  struct stats st = {NAN, NAN, NAN, 0};
  for (int i = 0; i < n; i++)
    if (v[i] >= 0)
      s[st.count++] = v[i];
  if (st.count == 0)
    return st;
  qsort(s, (size_t)st.count, sizeof *s, cmp_double);
  st.min = s[0];
  st.max = s[st.count - 1];
  st.median = st.count % 2 ? s[st.count / 2]
                           : (s[st.count / 2 - 1] + s[st.count / 2]) / 2;
  return st;
}

/* Runs of one workload: times[impl][rep], seconds, -1 when failed or not
 * run. */
struct result {
  const struct workload *w;
  const char *title;  /* w->title, or the scaling series' own */
  const char *series; /* scaling runs: the varied parameter */
  bench_params params;
  double *times[N_IMPL];
  double *vs_posix, *vs_python; /* per-repetition ratios */
  struct stats st[N_IMPL], st_vs_posix, st_vs_python;
};

static bool have_python;

static double run_impl(const struct workload *w, const bench_params *p,
                       int impl) {
  fflush(NULL); /* children must not inherit unwritten output */
  switch (impl) {
  case MPROC:
    return w->mproc(p);
  case POSIX:
    return w->posix(p);
  default:
    return have_python && !w->no_python ? python_run(w->name, p) : -1;
  }
}

static void measure(struct result *r, const struct workload *w,
                    const bench_params *p, int reps) {
  r->w = w;
  r->title = w->title;
  r->params = *p;
  for (int i = 0; i < N_IMPL; i++)
    r->times[i] = calloc((size_t)reps, sizeof(double));
  r->vs_posix = calloc((size_t)reps, sizeof(double));
  r->vs_python = calloc((size_t)reps, sizeof(double));
  if (r->vs_posix == NULL || r->vs_python == NULL || r->times[PYTHON] == NULL) {
    fprintf(stderr, "mproc-bench: out of memory\n");
    exit(2);
  }
  for (int rep = 0; rep < reps; rep++) {
    for (int k = 0; k < N_IMPL; k++) {
      /* Alternate which side goes first: the machine warms up in a run. */
      int impl = rep % 2 ? (N_IMPL - 1 - k) : k;
      r->times[impl][rep] = run_impl(w, p, impl);
      if (impl != PYTHON && r->times[impl][rep] < 0)
        fprintf(stderr, "mproc-bench: %s (%s) failed\n", w->title,
                impl_names[impl]);
    }
    double m = r->times[MPROC][rep], x = r->times[POSIX][rep],
           y = r->times[PYTHON][rep];
    r->vs_posix[rep] = m > 0 && x > 0 ? m / x : -1;
    r->vs_python[rep] = m > 0 && y > 0 ? y / m : -1;
  }
  for (int i = 0; i < N_IMPL; i++)
    r->st[i] = summarise(r->times[i], reps);
  r->st_vs_posix = summarise(r->vs_posix, reps);
  r->st_vs_python = summarise(r->vs_python, reps);
}

static void free_result(struct result *r) {
  for (int i = 0; i < N_IMPL; i++)
    free(r->times[i]);
  free(r->vs_posix);
  free(r->vs_python);
}

/* ---- units ---- */

static const char *unit_name(enum unit u) {
  switch (u) {
  case PER_OP:
    return "us/op";
  case TOTAL:
    return "ms";
  case RATE:
    return "k items/s";
  default:
    return "MiB/s";
  }
}

/* A time in seconds shown in the workload's unit.  Rates invert, so the
 * minimum time is the maximum rate. */
static double in_unit(enum unit u, const bench_params *p, double seconds) {
  switch (u) {
  case PER_OP:
    return seconds * 1e6 / (double)p->n;
  case TOTAL:
    return seconds * 1e3;
  case RATE:
    return (double)p->n / seconds / 1e3;
  default:
    return (double)p->n * (double)p->size / (double)MIB / seconds;
  }
}

static void format_value(char *buf, size_t len, double v) {
  if (isnan(v))
    snprintf(buf, len, "-");
  else if (v >= 100)
    snprintf(buf, len, "%.0f", v);
  else if (v >= 10)
    snprintf(buf, len, "%.1f", v);
  else if (v >= 1)
    snprintf(buf, len, "%.2f", v);
  else
    snprintf(buf, len, "%.3f", v);
}

/* "median [best-worst]" in the workload's unit. */
static void format_stats(char *buf, size_t len, const struct result *r,
                         int impl) {
  const struct stats *s = &r->st[impl];
  char a[24], b[24], c[24];
  if (s->count == 0) {
    snprintf(buf, len, "-");
    return;
  }
  double lo = in_unit(r->w->unit, &r->params, s->min);
  double hi = in_unit(r->w->unit, &r->params, s->max);
  format_value(a, sizeof a, in_unit(r->w->unit, &r->params, s->median));
  format_value(b, sizeof b, lo < hi ? lo : hi);
  format_value(c, sizeof c, lo < hi ? hi : lo);
  snprintf(buf, len, "%s [%s-%s]", a, b, c);
}

static void format_ratio(char *buf, size_t len, const struct stats *s) {
  if (s->count == 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.2f [%.2f-%.2f]", s->median, s->min, s->max);
}

/* "met", "MISSED" or "" for a target on the median ratio. */
static const char *verdict(double target, const struct stats *s, bool at_most) {
  if (target == 0 || s->count == 0)
    return "";
  return (at_most ? s->median <= target : s->median >= target) ? "met"
                                                               : "MISSED";
}

static void print_table(const struct result *res, int n) {
  printf("%-36s %-9s | %-22s | %-22s | %-22s | %-18s %-12s | %-18s %-12s\n",
         "workload", "unit", "mproc med [min-max]", "posix med [min-max]",
         "python med [min-max]", "mproc/posix time", "target",
         "python/mproc time", "target");
  for (int i = 0; i < n; i++) {
    const struct result *r = &res[i];
    char m[128], x[128], y[128], rx[64], ry[64], tx[32] = "", ty[32] = "";
    format_stats(m, sizeof m, r, MPROC);
    format_stats(x, sizeof x, r, POSIX);
    format_stats(y, sizeof y, r, PYTHON);
    format_ratio(rx, sizeof rx, &r->st_vs_posix);
    format_ratio(ry, sizeof ry, &r->st_vs_python);
    if (r->w->max_vs_posix > 0)
      snprintf(tx, sizeof tx, "<=%.1f %s", r->w->max_vs_posix,
               verdict(r->w->max_vs_posix, &r->st_vs_posix, true));
    if (r->w->min_vs_python > 0)
      snprintf(ty, sizeof ty, ">=%.0f %s", r->w->min_vs_python,
               verdict(r->w->min_vs_python, &r->st_vs_python, false));
    printf("%-36s %-9s | %-22s | %-22s | %-22s | %-18s %-12s | %-18s %-12s\n",
           r->w->title, unit_name(r->w->unit), m, x, y, rx, tx, ry, ty);
  }
  printf("posix column:");
  for (int i = 0; i < n; i++) {
    const struct workload *w = res[i].w;
    if (i > 0 && strcmp(w->name, res[i - 1].w->name) == 0 &&
        strcmp(w->posix_what, res[i - 1].w->posix_what) == 0)
      continue;
    printf("%s %s = %s", i ? ";" : "", w->name, w->posix_what);
  }
  printf("\n");
}

/* Whether `name` is in the comma-separated list `only` (NULL: all). */
static bool selected(const char *only, const char *name) {
  size_t len = strlen(name);
  for (const char *p = only; p != NULL; p = strchr(p, ',')) {
    p += *p == ',';
    if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
      return true;
  }
  return only == NULL;
}

/* ---- machine description ---- */

static void read_line(const char *path, const char *prefix, char *buf,
                      size_t len) {
  FILE *f = fopen(path, "r");
  char line[256];
  snprintf(buf, len, "unknown");
  if (f == NULL)
    return;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, prefix, strlen(prefix)) != 0)
      continue;
    const char *v = line + strlen(prefix);
    v += strspn(v, " \t:");
    snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
    break;
  }
  fclose(f);
}

/* JSON strings here are machine facts and fixed titles: escape the two
 * characters that could occur. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', f);
    if ((unsigned char)*s >= 0x20)
      fputc(*s, f);
  }
  fputc('"', f);
}

static void json_stats(FILE *f, const char *key, const struct stats *s) {
  fprintf(f, "\"%s\": ", key);
  if (s->count == 0)
    fprintf(f, "null");
  else
    fprintf(f, "{\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"runs\": %d}",
            s->median, s->min, s->max, s->count);
}

static void json_result(FILE *f, const struct result *r) {
  fprintf(f, "{\"name\": ");
  json_string(f, r->w->name);
  fprintf(f, ", \"title\": ");
  json_string(f, r->title);
  if (r->series != NULL) {
    fprintf(f, ", \"series\": ");
    json_string(f, r->series);
  }
  fprintf(f, ", \"posix_equivalent\": ");
  json_string(f, r->w->posix_what);
  fprintf(f, ", \"n\": %ld, \"procs\": %d, \"size\": %zu, \"unit\": ",
          r->params.n, r->params.procs, r->params.size);
  json_string(f, unit_name(r->w->unit));
  fprintf(f, ",\n     \"seconds\": {");
  for (int i = 0; i < N_IMPL; i++) {
    if (i)
      fprintf(f, ", ");
    json_stats(f, impl_names[i], &r->st[i]);
  }
  fprintf(f, "},\n     \"in_unit\": {");
  for (int i = 0; i < N_IMPL; i++)
    fprintf(f, "%s\"%s\": %.6g", i ? ", " : "", impl_names[i],
            r->st[i].count ? in_unit(r->w->unit, &r->params, r->st[i].median)
                           : 0.0);
  fprintf(f, "},\n     ");
  json_stats(f, "mproc_over_posix", &r->st_vs_posix);
  fprintf(f, ", ");
  json_stats(f, "python_over_mproc", &r->st_vs_python);
  fprintf(f, ",\n     \"target_mproc_over_posix_max\": %g, "
             "\"target_python_over_mproc_min\": %g}",
          r->w->max_vs_posix, r->w->min_vs_python);
}

static void json_machine(FILE *f, const char *model, const char *load0,
                         const char *load1, int reps) {
  struct utsname u;
  uname(&u);
  fprintf(f, "  \"machine\": {\"cpu\": ");
  json_string(f, model);
  fprintf(f, ", \"cpus\": %d, \"kernel\": ", mproc_cpu_count());
  json_string(f, u.release);
  fprintf(f, ", \"loadavg_start\": ");
  json_string(f, load0);
  fprintf(f, ", \"loadavg_end\": ");
  json_string(f, load1);
  fprintf(f, "},\n  \"repetitions\": %d,\n  \"python\": %s,\n", reps,
          have_python ? "true" : "false");
}

int main(int argc, char **argv) {
  int reps = 3;
  bool scaling = false;
  const char *json = "results.json", *python = "python3", *script = NULL;
  const char *only = NULL; /* workload names, comma-separated */
  const char *env = getenv("BENCH_REPS");
  if (env != NULL && atoi(env) > 0)
    reps = atoi(env);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--scaling") == 0)
      scaling = true;
    else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
      json = argv[++i];
    else if (strcmp(argv[i], "--python") == 0 && i + 1 < argc)
      python = argv[++i];
    else if (strcmp(argv[i], "--script") == 0 && i + 1 < argc)
      script = argv[++i];
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr,
              "usage: %s [--reps N] [--scaling] [--json FILE] "
              "[--python PYTHON] [--script bench.py] [--only A,B,..]\n",
              argv[0]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN); /* a python that dies must not end the run */

  char model[256], load0[128], load1[128];
  read_line("/proc/cpuinfo", "model name", model, sizeof model);
  read_line("/proc/loadavg", "", load0, sizeof load0);
  have_python = script != NULL && *python && python_start(python, script) == 0;
  printf("mproc-bench: %s; %s, %d CPUs; load average at start %s; %d "
         "repetitions; CPython %s\n",
         mproc_implementation(), model, mproc_cpu_count(), load0, reps,
         have_python ? "measured" : "not available");

  size_t n_results = scaling ? 0 : N_WORKLOADS;
  for (size_t i = 0; scaling && i < N_SCALINGS; i++)
    n_results += (size_t)scalings[i].n_points;
  struct result *res = calloc(n_results, sizeof *res);
  if (res == NULL)
    return 2;
  double t0 = bench_now();
  size_t done = 0;
  if (!scaling) {
    for (size_t i = 0; i < N_WORKLOADS; i++)
      if (selected(only, workloads[i].name))
        measure(&res[done++], &workloads[i], &workloads[i].params, reps);
    print_table(res, (int)done);
  } else {
    for (size_t s = 0; s < N_SCALINGS; s++) {
      const struct workload *w = NULL;
      if (!selected(only, scalings[s].workload))
        continue;
      for (size_t i = 0; i < N_WORKLOADS && w == NULL; i++)
        if (strcmp(workloads[i].name, scalings[s].workload) == 0)
          w = &workloads[i];
      size_t first = done;
      for (int k = 0; k < scalings[s].n_points; k++, done++) {
        measure(&res[done], w, &scalings[s].points[k], reps);
        res[done].title = scalings[s].title;
        res[done].series = scalings[s].what;
      }
      printf("\n%s, by %s\n", scalings[s].title, scalings[s].what);
      printf("  %-8s %-6s %-6s | %-12s %-12s %-12s (%s) | mproc/posix\n", "n",
             "procs", "size", "mproc", "posix", "python", unit_name(w->unit));
      for (size_t i = first; i < done; i++) {
        char m[32], x[32], y[32];
        const struct result *r = &res[i];
        format_value(m, sizeof m, r->st[MPROC].count ? in_unit(w->unit, &r->params, r->st[MPROC].median) : NAN);
        format_value(x, sizeof x, r->st[POSIX].count ? in_unit(w->unit, &r->params, r->st[POSIX].median) : NAN);
        format_value(y, sizeof y, r->st[PYTHON].count ? in_unit(w->unit, &r->params, r->st[PYTHON].median) : NAN);
        printf("  %-8ld %-6d %-6zu | %-12s %-12s %-12s | %.2f\n", r->params.n,
               r->params.procs, r->params.size, m, x, y,
               r->st_vs_posix.count ? r->st_vs_posix.median : NAN);
      }
    }
  }
  read_line("/proc/loadavg", "", load1, sizeof load1);
  printf("load average at end %s; %.0f s\n", load1, bench_now() - t0);

  FILE *f = fopen(json, "w");
  if (f == NULL) {
    perror(json);
  } else {
    fprintf(f, "{\n  \"implementation\": ");
    json_string(f, mproc_implementation());
    fprintf(f, ",\n  \"kind\": \"%s\",\n", scaling ? "scaling" : "table");
    json_machine(f, model, load0, load1, reps);
    fprintf(f, "  \"results\": [\n");
    for (size_t i = 0; i < done; i++) {
      fprintf(f, "    ");
      json_result(f, &res[i]);
      fprintf(f, "%s\n", i + 1 < done ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
    printf("results written to %s\n", json);
  }
  for (size_t i = 0; i < done; i++)
    free_result(&res[i]);
  free(res);
  if (have_python)
    python_stop();
  return 0;
}

/* The replay driver: feeds saved inputs to a fuzz target's
 * LLVMFuzzerTestOneInput without libFuzzer, so that `make check` runs the
 * committed corpus as an ordinary regression test (SQLite's fuzzcheck.c
 * habit).
 *
 *     replay-<target> [FILE|DIR]...
 *
 * With no arguments it replays the target's corpus directory, compiled in
 * as FUZZ_CORPUS_DIR.  Each input runs in a child process of its own, so a
 * crash, a failed check or a hang (killed after 60 s, scaled by
 * MPROC_TIME_SCALE) fails that input only; the child exits through exit()
 * so that leak checkers (LeakSanitizer, Valgrind) see its end.  Prints one
 * PASS or FAIL line per input, then "N passed, N failed"; exits 0 iff
 * nothing failed and at least one input ran.  FUZZ_REPLAY_NOFORK=1 runs the
 * inputs in this process instead (for a debugger). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FUZZ_CORPUS_DIR
#error "FUZZ_CORPUS_DIR names the target's corpus directory"
#endif

#define REPLAY_MAX_INPUT (1u << 20)

typedef struct list {
  char **v;
  size_t n, cap;
} list;

static void add(list *l, const char *path) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    if (l->v == NULL) {
      perror("replay");
      exit(99);
    }
  }
  l->v[l->n] = strdup(path);
  if (l->v[l->n++] == NULL) {
    perror("replay");
    exit(99);
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files directly in `dir` (not dot files), in name order. */
static void add_dir(list *l, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    exit(99);
  }
  size_t first = l->n;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      add(l, path);
  }
  closedir(d);
  qsort(l->v + first, l->n - first, sizeof *l->v, by_name);
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  unsigned char *buf = malloc(REPLAY_MAX_INPUT);
  size_t n = buf != NULL ? fread(buf, 1, REPLAY_MAX_INPUT, f) : 0;
  bool bad = buf == NULL || ferror(f) || !feof(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* 0 when the input passed; prints why not otherwise. */
static int run_one(const char *path, bool nofork) {
  size_t len = 0;
  unsigned char *data = slurp(path, &len);
  if (data == NULL) {
    printf("FAIL %s: cannot read it (or larger than %u bytes)\n", path,
           REPLAY_MAX_INPUT);
    return 1;
  }
  if (nofork) {
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    printf("PASS %s\n", path);
    return 0;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    printf("FAIL %s: fork: %s\n", path, strerror(errno));
    free(data);
    return 1;
  }
  if (pid == 0) {
    signal(SIGALRM, SIG_DFL);
    alarm((unsigned)fuzz_time_scale(60));
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    exit(0);
  }
  free(data);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    printf("PASS %s\n", path);
    return 0;
  }
  if (WIFSIGNALED(st))
    printf("FAIL %s: killed by signal %d%s\n", path, WTERMSIG(st),
           WTERMSIG(st) == SIGALRM ? " (timed out)" : "");
  else
    printf("FAIL %s: exit status %d\n", path, WEXITSTATUS(st));
  return 1;
}

int main(int argc, char **argv) {
  list files = {0};
  if (argc < 2) {
    add_dir(&files, FUZZ_CORPUS_DIR);
  } else {
    for (int i = 1; i < argc; i++) {
      struct stat st;
      if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
        add_dir(&files, argv[i]);
      else
        add(&files, argv[i]);
    }
  }
  const char *nf = getenv("FUZZ_REPLAY_NOFORK");
  bool nofork = nf != NULL && strcmp(nf, "1") == 0;
  int passed = 0, failed = 0;
  for (size_t i = 0; i < files.n; i++) {
    if (run_one(files.v[i], nofork) == 0)
      passed++;
    else
      failed++;
    free(files.v[i]);
  }
  free(files.v);
  if (files.n == 0)
    printf("no inputs found\n");
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

/* The lower bounds: each workload written directly against POSIX, with no
 * library between the program and the kernel (bench/README in
 * docs/performance.md says which primitive stands for which). */
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* 0 when all `len` bytes arrived, 1 at end of file before any, -1 on
 * error or a short message. */
static int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, p + got, len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      return got == 0 ? 1 : -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reaps `n` children; -1 unless every one exited with status 0. */
static int reap(const pid_t *pids, int n) {
  int rc = 0;
  for (int i = 0; i < n; i++) {
    int st;
    while (waitpid(pids[i], &st, 0) < 0)
      if (errno != EINTR)
        return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      rc = -1;
  }
  return rc;
}

static void *shared_alloc(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static int shared_mutex_init(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  int rc = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

/* ---- process start + join: fork, _exit, waitpid ---- */

double posix_start_join(const bench_params *p) {
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    pid_t pid = fork();
    if (pid < 0)
      return -1;
    if (pid == 0)
      _exit(0);
    if (reap(&pid, 1) != 0)
      return -1;
  }
  return bench_now() - t0;
}

/* ---- uncontended lock: a process-shared mutex in shared memory ---- */

double posix_lock(const bench_params *p) {
  pthread_mutex_t *m = shared_alloc(sizeof *m);
  if (m == NULL || shared_mutex_init(m) != 0)
    return -1;
  double t0 = bench_now();
  for (long i = 0; i < p->n; i++) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
  double t = bench_now() - t0;
  pthread_mutex_destroy(m);
  munmap(m, sizeof *m);
  return t;
}

/* ---- the counter: procs processes x n increments under the mutex ---- */

struct shared_counter {
  pthread_mutex_t mutex;
  int value;
};

double posix_counter(const bench_params *p) {
  struct shared_counter *c = shared_alloc(sizeof *c);
  if (c == NULL || shared_mutex_init(&c->mutex) != 0)
    return -1;
  c->value = 0;
  pid_t pids[p->procs];
  double t0 = bench_now();
  for (int k = 0; k < p->procs; k++) {
    pids[k] = fork();
    if (pids[k] < 0)
      return -1;
    if (pids[k] == 0) {
      for (long i = 0; i < p->n; i++) {
        pthread_mutex_lock(&c->mutex);
        c->value++;
        pthread_mutex_unlock(&c->mutex);
      }
      _exit(0);
    }
  }
  int rc = reap(pids, p->procs);
  double t = bench_now() - t0;
  if (c->value != (int)(p->n * p->procs))
    rc = -1;
  munmap(c, sizeof *c);
  return rc == 0 ? t : -1;
}

/* ---- pipe round trip: two pipes, an 8-byte value echoed by a child ---- */

/* Echoes 8-byte values from `in` to `out` until end of file. */
static void echo_child(int in, int out) {
  uint64_t v;
  while (read_all(in, &v, sizeof v) == 0)
    if (write_all(out, &v, sizeof v) != 0)
      _exit(1);
  _exit(0);
}

/* Round trips through `down` (to the child) and `up` (back): the child
 * keeps down[0] and up[1], the parent down[1] and up[0]. */
static double echo_rtt(long n, int down[2], int up[2]) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(down[1]);
    close(up[0]);
    echo_child(down[0], up[1]);
  }
  close(down[0]);
  close(up[1]);
  int rc = 0;
  uint64_t v = 42, back = 0;
  /* One round trip first, so that the child is running when timing starts. */
  if (write_all(down[1], &v, sizeof v) != 0 || read_all(up[0], &back, sizeof back) != 0)
    rc = -1;
  double t0 = bench_now();
  for (long i = 0; i < n && rc == 0; i++)
    if (write_all(down[1], &v, sizeof v) != 0 ||
        read_all(up[0], &back, sizeof back) != 0 || back != v)
      rc = -1;
  double t = bench_now() - t0;
  close(down[1]);
  close(up[0]);
  if (reap(&pid, 1) != 0)
    rc = -1;
  return rc == 0 ? t : -1;
}

double posix_pipe_rtt(const bench_params *p) {
  int down[2], up[2];
  if (pipe(down) != 0)
    return -1;
  if (pipe(up) != 0)
    return -1;
  return echo_rtt(p->n, down, up);
}

/* The same over a Unix-domain socket pair, what a duplex Pipe is made of:
 * each direction uses its own descriptor of the pair. */
double posix_socket_rtt(const bench_params *p) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  int down[2] = {sv[1], sv[0]}, up[2] = {dup(sv[0]), dup(sv[1])};
  if (up[0] < 0 || up[1] < 0)
    return -1;
  return echo_rtt(p->n, down, up);
}

/* ---- queue stand-in: one pipe, one write() per item, one read() per item ---- */

/* Writes `n` items of `size` bytes (the first 8 bytes carry a sequence
 * number) to `fd`. */
static int produce(int fd, long n, size_t size, char *buf) {
  for (long i = 0; i < n; i++) {
    memcpy(buf, &i, sizeof i);
    if (write_all(fd, buf, size) != 0)
      return -1;
  }
  return 0;
}

static int consume(int fd, long n, size_t size, char *buf) {
  for (long i = 0; i < n; i++)
    if (read_all(fd, buf, size) != 0)
      return -1;
  return 0;
}

/* procs producers and procs consumers share one pipe.  Items of at most
 * PIPE_BUF bytes are written atomically, so several readers each get whole
 * items. */
static double pipe_queue(long n, int procs, size_t size) {
  if (size < sizeof(long))
    size = sizeof(long);
  char *buf = calloc(1, size);
  int fds[2];
  if (buf == NULL || pipe(fds) != 0)
    return -1;
  pid_t pids[2 * procs];
  long per = n / procs;
  double t0 = bench_now();
  for (int k = 0; k < 2 * procs; k++) {
    pids[k] = fork();
    if (pids[k] < 0)
      return -1;
    if (pids[k] == 0) {
      int rc = k < procs ? produce(fds[1], per, size, buf)
                         : consume(fds[0], per, size, buf);
      _exit(rc == 0 ? 0 : 1);
    }
  }
  int rc = reap(pids, 2 * procs);
  double t = bench_now() - t0;
  close(fds[0]);
  close(fds[1]);
  free(buf);
  return rc == 0 ? t : -1;
}

double posix_queue_1p1c(const bench_params *p) {
  return pipe_queue(p->n, 1, 8);
}

double posix_queue_bandwidth(const bench_params *p) {
  return pipe_queue(p->n, 1, p->size);
}

double posix_queue_npnc(const bench_params *p) {
  return pipe_queue(p->n, p->procs, 8);
}

/* ---- task farm: the pool and executor stand-in ----
 *
 * `procs` workers forked before timing, each with a task pipe and a result
 * pipe.  The parent hands out chunks of int64 arguments (a count, then the
 * values), at most one chunk per worker at a time, and collects the
 * doubled values in input order: what a pool's map does, without any
 * encoding, bookkeeping or failure handling. */

static void farm_worker(int in, int out) {
  int64_t count;
  int64_t *vals = NULL;
  size_t cap = 0;
  while (read_all(in, &count, sizeof count) == 0) {
    if ((size_t)count > cap) {
      cap = (size_t)count;
      vals = realloc(vals, cap * sizeof *vals);
      if (vals == NULL)
        _exit(1);
    }
    if (read_all(in, vals, (size_t)count * sizeof *vals) != 0)
      _exit(1);
    for (int64_t i = 0; i < count; i++)
      vals[i] *= 2;
    if (write_all(out, vals, (size_t)count * sizeof *vals) != 0)
      _exit(1);
  }
  free(vals);
  _exit(0);
}

static double farm(long n, int procs, long chunk) {
  int64_t *args = malloc((size_t)n * sizeof *args);
  int64_t *results = malloc((size_t)n * sizeof *results);
  int task[procs], result[procs];
  long pending[procs], count[procs]; /* chunk start, or -1 when idle */
  pid_t pids[procs];
  struct pollfd pfd[procs];
  if (args == NULL || results == NULL)
    return -1;
  for (long i = 0; i < n; i++)
    args[i] = i;
  for (int w = 0; w < procs; w++) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
      return -1;
    pids[w] = fork();
    if (pids[w] < 0)
      return -1;
    if (pids[w] == 0) {
      for (int v = 0; v < w; v++) {
        close(task[v]);
        close(result[v]);
      }
      close(down[1]);
      close(up[0]);
      farm_worker(down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    task[w] = down[1];
    result[w] = up[0];
    pending[w] = -1;
  }
  int rc = 0;
  long next = 0, done = 0;
  double t0 = bench_now();
  while (done < n && rc == 0) {
    for (int w = 0; w < procs && rc == 0; w++) {
      if (pending[w] >= 0 || next >= n)
        continue;
      int64_t c = next + chunk <= n ? chunk : n - next;
      if (write_all(task[w], &c, sizeof c) != 0 ||
          write_all(task[w], args + next, (size_t)c * sizeof *args) != 0)
        rc = -1;
      pending[w] = next;
      count[w] = c;
      next += c;
    }
    for (int w = 0; w < procs; w++)
      pfd[w] = (struct pollfd){.fd = pending[w] >= 0 ? result[w] : -1,
                               .events = POLLIN};
    if (rc != 0 || poll(pfd, (nfds_t)procs, -1) < 0)
      break;
    for (int w = 0; w < procs; w++) {
      if (pending[w] < 0 || !(pfd[w].revents & (POLLIN | POLLHUP)))
        continue;
      if (read_all(result[w], results + pending[w],
                   (size_t)count[w] * sizeof *results) != 0)
        rc = -1;
      done += count[w];
      pending[w] = -1;
    }
  }
  double t = bench_now() - t0;
  for (int w = 0; w < procs; w++)
    close(task[w]);
  if (reap(pids, procs) != 0)
    rc = -1;
  for (int w = 0; w < procs; w++)
    close(result[w]);
  for (long i = 0; i < n && rc == 0; i++)
    if (results[i] != 2 * i)
      rc = -1;
  free(args);
  free(results);
  return rc == 0 ? t : -1;
}

/* The documented Pool.map's default chunk size: len / (4 * processes),
 * rounded up. */
double posix_pool_map(const bench_params *p) {
  long chunk = (p->n + 4L * p->procs - 1) / (4L * p->procs);
  return farm(p->n, p->procs, chunk > 0 ? chunk : 1);
}

double posix_executor(const bench_params *p) {
  return farm(p->n, p->procs, 1);
}

/* ---- manager stand-in: a server process that owns a table ----
 *
 * The client sends (key, value) pairs over a Unix-domain socket pair and
 * waits for a one-byte acknowledgement, as a proxy call waits for the
 * server's reply; the server stores the value in an array indexed by key. */

double posix_manager_dict(const bench_params *p) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(sv[0]);
    int64_t *table = calloc((size_t)p->n, sizeof *table);
    int64_t kv[2];
    char ack = 0;
    while (table != NULL && read_all(sv[1], kv, sizeof kv) == 0) {
      if (kv[0] < 0 || kv[0] >= p->n)
        _exit(1);
      table[kv[0]] = kv[1];
      if (write_all(sv[1], &ack, 1) != 0)
        _exit(1);
    }
    free(table);
    _exit(0);
  }
  close(sv[1]);
  int rc = 0;
  char ack;
  double t0 = bench_now();
  for (long i = 0; i < p->n && rc == 0; i++) {
    int64_t kv[2] = {i, i};
    if (write_all(sv[0], kv, sizeof kv) != 0 || read_all(sv[0], &ack, 1) != 0)
      rc = -1;
  }
  double t = bench_now() - t0;
  close(sv[0]);
  if (reap(&pid, 1) != 0)
    rc = -1;
  return rc == 0 ? t : -1;
}

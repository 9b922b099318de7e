/* Conformance: Manager (a server process holding dict, list, Namespace,
 * Queue, Lock, Event and Value for proxies in the starting process and any
 * process started after it; atomic operations, authentication, hostile
 * clients, shutdown, and a server that is killed). */
#define _GNU_SOURCE
#define MPT_SUITE "manager"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

static mproc_manager *mgr_start(const mproc_manager_options *o)
{
  mproc_manager *m = NULL;
  MPT_OK(mproc_manager_start(&m, o));
  ck_assert_ptr_nonnull(m);
  return m;
}

/* Values built for one call, freed together by tmp_free().  Running out of
 * memory while building test values is not the library's fault: abort. */
static mproc_obj *tmp_objs[512];
static size_t tmp_n;

static const mproc_obj *keep(mproc_obj *o)
{
  if (o == NULL || tmp_n == sizeof tmp_objs / sizeof tmp_objs[0]) {
    fprintf(stderr, "manager.c: cannot build a test value\n");
    abort();
  }
  tmp_objs[tmp_n++] = o;
  return o;
}

static void tmp_free(void)
{
  while (tmp_n > 0)
    mproc_obj_free(tmp_objs[--tmp_n]);
}

static const mproc_obj *ostr(const char *s) { return keep(mproc_obj_str(s)); }
static const mproc_obj *oint(int64_t i) { return keep(mproc_obj_int(i)); }
static const mproc_obj *onone(void) { return keep(mproc_obj_none()); }
static const mproc_obj *obool(bool b) { return keep(mproc_obj_bool(b)); }
static const mproc_obj *ofloat(double f) { return keep(mproc_obj_float(f)); }
static const mproc_obj *obytes(const void *p, size_t n)
{
  return keep(mproc_obj_bytes(p, n));
}

/* A list of n items, copied. */
static const mproc_obj *olist(size_t n, ...)
{
  mproc_obj *l = mproc_obj_list();
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    const mproc_obj *item = va_arg(ap, const mproc_obj *);
    if (l != NULL && mproc_obj_list_append(l, mproc_obj_copy(item)) != 0) {
      mproc_obj_free(l);
      l = NULL;
    }
  }
  va_end(ap);
  return keep(l);
}

/* A dict of n key, value pairs, copied. */
static const mproc_obj *odict(size_t n, ...)
{
  mproc_obj *d = mproc_obj_dict();
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    const mproc_obj *k = va_arg(ap, const mproc_obj *);
    const mproc_obj *v = va_arg(ap, const mproc_obj *);
    if (d != NULL &&
        mproc_obj_dict_set(d, mproc_obj_copy(k), mproc_obj_copy(v)) != 0) {
      mproc_obj_free(d);
      d = NULL;
    }
  }
  va_end(ap);
  return keep(d);
}

/* repr(o) into buf, then frees o (a result the caller owns). */
static bool repr_is(mproc_obj *o, const char *want, char *buf, size_t size)
{
  char *r = mproc_obj_repr(o);
  bool ok = r != NULL && strcmp(r, want) == 0;
  snprintf(buf, size, "%s", r != NULL ? r : "(repr failed)");
  free(r);
  mproc_obj_free(o);
  return ok;
}

/* Asserts repr(o) == want and frees o. */
#define ASSERT_REPR(o, want) assert_repr(__FILE__, __LINE__, #o, (o), (want))
static void assert_repr(const char *file, int line, const char *what,
                        mproc_obj *o, const char *want)
{
  char got[1024];
  if (!repr_is(o, want, got, sizeof got))
    _ck_assert_failed(file, line, "ASSERT_REPR", "%s is %s, expected %s",
                      what, got, want);
  mark_point();
}

/* The same in a child. */
#define CHILD_REPR(o, want) child_repr(__FILE__, __LINE__, #o, (o), (want))
static void child_repr(const char *file, int line, const char *what,
                       mproc_obj *o, const char *want)
{
  char got[1024];
  if (!repr_is(o, want, got, sizeof got))
    mpt__child_fail(file, line, "%s is %s, expected %s", what, got, want);
}

/* The integer in o (then freed); false if o is not an int. */
static bool take_int(mproc_obj *o, int64_t *v)
{
  int rc = mproc_obj_get_int(o, v);
  mproc_obj_free(o);
  return rc == 0;
}

static size_t dict_len(mproc_proxy *d)
{
  size_t n = 12345;
  MPT_OK(mproc_proxy_dict_len(d, &n));
  return n;
}

static size_t list_len(mproc_proxy *l)
{
  size_t n = 12345;
  MPT_OK(mproc_proxy_list_len(l, &n));
  return n;
}

/* The scheduler state of a process ('?' when it does not exist). */
static char proc_state(pid_t pid)
{
  char path[64], buf[512], *p;
  FILE *f;
  size_t n;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  if ((f = fopen(path, "r")) == NULL)
    return '?';
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' ? p[2] : '?';
}

static bool running(pid_t pid)
{
  char s = proc_state(pid);
  return s != '?' && s != 'Z' && s != 'X';
}

static int count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* The socket path and its directory, copied (they must outlive the
 * manager). */
struct where {
  char path[PATH_MAX], dir[PATH_MAX];
};

static void where_of(mproc_manager *m, struct where *w)
{
  const char *a = mproc_manager_address(m);
  char *slash;
  ck_assert_ptr_nonnull(a);
  ck_assert_msg(a[0] != '\0' && strlen(a) < sizeof w->path,
                "address '%s' is empty or too long", a);
  snprintf(w->path, sizeof w->path, "%s", a);
  snprintf(w->dir, sizeof w->dir, "%s", a);
  slash = strrchr(w->dir, '/');
  ck_assert_msg(slash != NULL && slash != w->dir,
                "address '%s' has no directory", a);
  *slash = '\0';
}

static void assert_no_such_file(const char *path)
{
  struct stat st;
  int r = stat(path, &st);
  ck_assert_msg(r == -1 && errno == ENOENT,
                "%s still exists (stat returned %d, %s)", path, r,
                r == 0 ? "found" : strerror(errno));
}

/* After shutdown or free: the server reaped, socket and directory gone. */
static void assert_left_nothing(pid_t server, const struct where *w)
{
  int st;
  ck_assert_msg(waitpid(server, &st, WNOHANG) == -1 && errno == ECHILD,
                "the server (pid %ld) was not reaped", (long)server);
  ck_assert_msg(proc_state(server) == '?', "the server (pid %ld) still exists",
                (long)server);
  assert_no_such_file(w->path);
  assert_no_such_file(w->dir);
}

/* ------------------------------------------------------------------------ */
/* A child that keeps using the manager while the test does something else  */
/* ------------------------------------------------------------------------ */

/* It appends 0, 1, 2, ... to a list, pausing on the stop event between
 * appends (a bounded wait on the thing itself: it ends the loop). */
struct hammer {
  mproc_proxy *list;
  mproc_event *stop;
  int64_t *count; /* appends done so far */
  mproc_array *arr;
  mproc_process proc;
};

static int hammer_main(void *p)
{
  struct hammer *h = p;
  for (int64_t i = 0; mproc_event_wait(h->stop, 0.002) != 0; i++) {
    mproc_obj *o = mproc_obj_int(i);
    MPT_CHILD_OK(mproc_proxy_list_append(h->list, o));
    mproc_obj_free(o);
    __atomic_store_n(h->count, i + 1, __ATOMIC_SEQ_CST);
  }
  return 0;
}

struct progress {
  int64_t *count, target;
};

static bool reached(void *p)
{
  struct progress *g = p;
  return __atomic_load_n(g->count, __ATOMIC_SEQ_CST) >= g->target;
}

/* Requires the hammer to make 5 more appends within a bounded time. */
static void hammer_progress(struct hammer *h, const char *when)
{
  struct progress g = {h->count, __atomic_load_n(h->count, __ATOMIC_SEQ_CST) + 5};
  ck_assert_msg(mpt_poll_until(reached, &g, mpt_scale(10)),
                "%s: the other client stalled at %lld appends", when,
                (long long)__atomic_load_n(h->count, __ATOMIC_SEQ_CST));
}

static void hammer_start(struct hammer *h, mproc_manager *m)
{
  MPT_OK(mproc_manager_list(m, &h->list));
  MPT_OK(mproc_event_new(&h->stop));
  h->count = mpt_scratch(&h->arr, 1);
  start(&h->proc, hammer_main, h);
  hammer_progress(h, "at start");
}

/* Stops it and checks that every append arrived, in order. */
static void hammer_finish(struct hammer *h)
{
  mproc_obj *l;
  int64_t n;
  MPT_OK(mproc_event_set(h->stop));
  mpt_join_all(&h->proc, 1);
  n = *h->count;
  MPT_OK(mproc_proxy_list_copy(h->list, &l));
  ck_assert_msg((int64_t)mproc_obj_len(l) == n,
                "the other client appended %lld items, the list has %zu",
                (long long)n, mproc_obj_len(l));
  for (int64_t i = 0; i < n; i++) {
    int64_t v = -1;
    mproc_obj_get_int(mproc_obj_list_get(l, (size_t)i), &v);
    ck_assert_msg(v == i, "item %lld of the other client's list is %lld",
                  (long long)i, (long long)v);
  }
  mproc_obj_free(l);
  mproc_proxy_free(h->list);
  mproc_event_free(h->stop);
  mproc_array_free(h->arr);
}

/* ------------------------------------------------------------------------ */
/* Every call, for the tests of a manager that is gone                      */
/* ------------------------------------------------------------------------ */

struct kit {
  mproc_manager *m;
  mproc_proxy *dict, *list, *ns, *queue, *lock, *event, *value;
  mproc_obj *key, *val, *vals; /* arguments */
  mproc_obj *out;              /* results, freed after each call */
  mproc_proxy *made;
  size_t n;
  bool b;
};

static void kit_new(struct kit *k, mproc_manager *m)
{
  memset(k, 0, sizeof *k);
  k->m = m;
  MPT_OK(mproc_manager_dict(m, &k->dict));
  MPT_OK(mproc_manager_list(m, &k->list));
  MPT_OK(mproc_manager_namespace(m, &k->ns));
  MPT_OK(mproc_manager_queue(m, 0, &k->queue));
  MPT_OK(mproc_manager_lock(m, &k->lock));
  MPT_OK(mproc_manager_event(m, &k->event));
  k->key = mproc_obj_str("k");
  k->val = mproc_obj_int(1);
  k->vals = mproc_obj_list();
  ck_assert(k->key != NULL && k->val != NULL && k->vals != NULL);
  MPT_OK(mproc_obj_list_append(k->vals, mproc_obj_int(2)));
  MPT_OK(mproc_manager_value(m, k->val, &k->value));
}

static void kit_free(struct kit *k)
{
  mproc_proxy_free(k->dict);
  mproc_proxy_free(k->list);
  mproc_proxy_free(k->ns);
  mproc_proxy_free(k->queue);
  mproc_proxy_free(k->lock);
  mproc_proxy_free(k->event);
  mproc_proxy_free(k->value);
  mproc_obj_free(k->key);
  mproc_obj_free(k->val);
  mproc_obj_free(k->vals);
}

#define KIT_OP(name, expr)                                                    \
  static int name(struct kit *k) { return (expr); }
KIT_OP(op_dict_set, mproc_proxy_dict_set(k->dict, k->key, k->val))
KIT_OP(op_dict_get, mproc_proxy_dict_get(k->dict, k->key, NULL, &k->out))
KIT_OP(op_dict_get_default,
       mproc_proxy_dict_get(k->dict, k->key, k->val, &k->out))
KIT_OP(op_dict_delete, mproc_proxy_dict_delete(k->dict, k->key))
KIT_OP(op_dict_contains, mproc_proxy_dict_contains(k->dict, k->key, &k->b))
KIT_OP(op_dict_len, mproc_proxy_dict_len(k->dict, &k->n))
KIT_OP(op_dict_keys, mproc_proxy_dict_keys(k->dict, &k->out))
KIT_OP(op_dict_items, mproc_proxy_dict_items(k->dict, &k->out))
KIT_OP(op_dict_copy, mproc_proxy_dict_copy(k->dict, &k->out))
KIT_OP(op_list_append, mproc_proxy_list_append(k->list, k->val))
KIT_OP(op_list_extend, mproc_proxy_list_extend(k->list, k->vals))
KIT_OP(op_list_get, mproc_proxy_list_get(k->list, 0, &k->out))
KIT_OP(op_list_set, mproc_proxy_list_set(k->list, 0, k->val))
KIT_OP(op_list_pop, mproc_proxy_list_pop(k->list, -1, &k->out))
KIT_OP(op_list_len, mproc_proxy_list_len(k->list, &k->n))
KIT_OP(op_list_copy, mproc_proxy_list_copy(k->list, &k->out))
KIT_OP(op_ns_set, mproc_proxy_ns_set(k->ns, "x", k->val))
KIT_OP(op_ns_get, mproc_proxy_ns_get(k->ns, "x", &k->out))
KIT_OP(op_ns_delete, mproc_proxy_ns_delete(k->ns, "x"))
KIT_OP(op_queue_put, mproc_proxy_queue_put(k->queue, k->val, 0))
KIT_OP(op_queue_get, mproc_proxy_queue_get(k->queue, &k->out, 0))
KIT_OP(op_queue_qsize, mproc_proxy_queue_qsize(k->queue, &k->n))
KIT_OP(op_lock_acquire, mproc_proxy_lock_acquire(k->lock, 0))
KIT_OP(op_lock_release, mproc_proxy_lock_release(k->lock))
KIT_OP(op_event_set, mproc_proxy_event_set(k->event))
KIT_OP(op_event_clear, mproc_proxy_event_clear(k->event))
KIT_OP(op_event_is_set, mproc_proxy_event_is_set(k->event, &k->b))
KIT_OP(op_event_wait, mproc_proxy_event_wait(k->event, 0))
KIT_OP(op_value_get, mproc_proxy_value_get(k->value, &k->out))
KIT_OP(op_value_set, mproc_proxy_value_set(k->value, k->val))
KIT_OP(op_new_dict, mproc_manager_dict(k->m, &k->made))
KIT_OP(op_new_list, mproc_manager_list(k->m, &k->made))
KIT_OP(op_new_namespace, mproc_manager_namespace(k->m, &k->made))
KIT_OP(op_new_queue, mproc_manager_queue(k->m, 3, &k->made))
KIT_OP(op_new_lock, mproc_manager_lock(k->m, &k->made))
KIT_OP(op_new_event, mproc_manager_event(k->m, &k->made))
KIT_OP(op_new_value, mproc_manager_value(k->m, k->val, &k->made))

static const struct {
  const char *name;
  int (*fn)(struct kit *k);
} kit_ops[] = {
    {"dict_set", op_dict_set},         {"dict_get", op_dict_get},
    {"dict_get(default)", op_dict_get_default},
    {"dict_delete", op_dict_delete},   {"dict_contains", op_dict_contains},
    {"dict_len", op_dict_len},         {"dict_keys", op_dict_keys},
    {"dict_items", op_dict_items},     {"dict_copy", op_dict_copy},
    {"list_append", op_list_append},   {"list_extend", op_list_extend},
    {"list_get", op_list_get},         {"list_set", op_list_set},
    {"list_pop", op_list_pop},         {"list_len", op_list_len},
    {"list_copy", op_list_copy},       {"ns_set", op_ns_set},
    {"ns_get", op_ns_get},             {"ns_delete", op_ns_delete},
    {"queue_put(0)", op_queue_put},    {"queue_get(0)", op_queue_get},
    {"queue_qsize", op_queue_qsize},   {"lock_acquire(0)", op_lock_acquire},
    {"lock_release", op_lock_release}, {"event_set", op_event_set},
    {"event_clear", op_event_clear},   {"event_is_set", op_event_is_set},
    {"event_wait(0)", op_event_wait},  {"value_get", op_value_get},
    {"value_set", op_value_set},       {"manager_dict", op_new_dict},
    {"manager_list", op_new_list},     {"manager_namespace", op_new_namespace},
    {"manager_queue", op_new_queue},   {"manager_lock", op_new_lock},
    {"manager_event", op_new_event},   {"manager_value", op_new_value},
};
enum { KIT_NOPS = sizeof kit_ops / sizeof kit_ops[0] };

/* Runs call i and frees what it returned. */
static int kit_run(struct kit *k, size_t i)
{
  int rc;
  k->out = NULL;
  k->made = NULL;
  rc = kit_ops[i].fn(k);
  if (rc == 0) {
    mproc_obj_free(k->out);
    if (k->made != NULL)
      mproc_proxy_free(k->made);
  }
  k->out = NULL;
  k->made = NULL;
  return rc;
}

static bool gone_error(int rc)
{
  return rc == MPROC_EBROKEN || rc == MPROC_EEOF;
}

/* Every call must fail with EBROKEN or EEOF, each within a bounded time. */
static void kit_expect_gone(struct kit *k, const char *when)
{
  for (size_t i = 0; i < KIT_NOPS; i++) {
    double t0 = mpt_now(), took;
    int rc = kit_run(k, i);
    took = mpt_now() - t0;
    ck_assert_msg(gone_error(rc), "%s: %s returned %s, expected EBROKEN or "
                  "EEOF", when, kit_ops[i].name, mproc_err_name(rc));
    ck_assert_msg(took <= mpt_scale(5), "%s: %s took %.3fs", when,
                  kit_ops[i].name, took);
  }
}

/* ------------------------------------------------------------------------ */
/* Raw clients                                                              */
/* ------------------------------------------------------------------------ */

static int raw_connect(const char *path)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  MPT_UNRESOLVED_IF(fd < 0, "socket: %s", strerror(errno));
  ck_assert(strlen(path) < sizeof sa.sun_path);
  strcpy(sa.sun_path, path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    ck_abort_msg("connect to %s: %s", path, strerror(e));
  }
  return fd;
}

/* Reads and discards what the server sends until it closes the
 * connection: read returns 0 (or ECONNRESET, which a Unix socket reports
 * when the server closed with bytes of ours unread).  False if the
 * connection is still open after `timeout` seconds. */
static bool raw_closed_within(int fd, double timeout)
{
  double deadline = mpt_now() + timeout;
  char buf[4096];
  for (;;) {
    double left = deadline - mpt_now();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t n;
    int r;
    if (left <= 0)
      return false;
    r = poll(&p, 1, (int)(left * 1000) + 1);
    if (r <= 0)
      continue; /* EINTR or time up: the loop decides */
    n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN)
      ck_abort_msg("read from the server: %s", strerror(errno));
  }
}

static void raw_send(int fd, const void *buf, size_t len)
{
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
  ck_assert_msg(n == (ssize_t)len, "send of %zu bytes returned %zd (%s)", len,
                n, n < 0 ? strerror(errno) : "short");
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */
/* ------------------------------------------------------------------------ */

MPT_TEST(manager_start_runs_server_in_own_process_until_shutdown, "EX-000-07 EX-002-08",
         "start runs the server in a separate live process that serves "
         "calls until shutdown, which reaps it, removes its socket and "
         "directory and leaves no descriptor; a second shutdown gives ESTATE "
         "and later calls ECLOSED.")
{
  static const char key[] = "manager-life-cycle-key";
  mproc_manager_options with_key = {.authkey = key,
                                    .authkey_len = sizeof key - 1};
  const mproc_manager_options *opts[] = {NULL, &with_key};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    int fds = count_fds();
    mproc_manager *m = mgr_start(opts[i]), *c = NULL;
    pid_t pid = mproc_manager_pid(m);
    struct where w;
    struct stat st;
    mproc_proxy *d;
    mproc_obj *out;

    ck_assert_msg(pid > 0 && pid != getpid(),
                  "server pid %ld, test process %ld", (long)pid,
                  (long)getpid());
    ck_assert_msg(running(pid), "the server (pid %ld) is not running",
                  (long)pid);
    where_of(m, &w);
    ck_assert_msg(stat(w.path, &st) == 0 && S_ISSOCK(st.st_mode),
                  "%s is not a socket", w.path);
    MPT_OK(mproc_manager_dict(m, &d));
    MPT_OK(mproc_proxy_dict_set(d, ostr("answer"), oint(42)));
    MPT_OK(mproc_proxy_dict_get(d, ostr("answer"), NULL, &out));
    ASSERT_REPR(out, "42");
    ck_assert_msg(running(pid), "the server died while serving");

    MPT_OK(mproc_manager_shutdown(m));
    assert_left_nothing(pid, &w);
    ck_assert_int_eq(count_fds(), fds);
    MPT_ERR(mproc_manager_shutdown(m), MPROC_ESTATE);
    MPT_ERR(mproc_proxy_dict_get(d, ostr("answer"), NULL, &out),
            MPROC_ECLOSED);
    /* Nobody listens at the old address any more. */
    MPT_ERR(mproc_manager_connect(&c, w.path, key, sizeof key - 1),
            MPROC_EEOF);
    mproc_proxy_free(d);
    mproc_manager_free(m);
    tmp_free();
  }
}

MPT_TEST(manager_null_wrong_kind_and_nan_arguments_einval, "EX-000-07 EX-002-08",
         "NULL handles, proxies, results and values, a proxy of another kind "
         "and a NaN timeout give EINVAL, and the manager stays usable.")
{
  mproc_manager *m, *none = NULL;
  mproc_proxy *d, *l, *ns, *q, *lk, *e, *v, *p = NULL;
  mproc_obj *out = NULL;
  size_t n;
  bool b;

  MPT_ERR(mproc_manager_start(NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_shutdown(NULL), MPROC_EINVAL);
  mproc_manager_free(NULL);
  mproc_manager_freep(&none);
  MPT_ERR(mproc_manager_connect(NULL, "/nonexistent", "k", 1), MPROC_EINVAL);
  MPT_ERR(mproc_manager_connect(&none, NULL, "k", 1), MPROC_EINVAL);

  m = mgr_start(NULL);
  MPT_ERR(mproc_manager_dict(NULL, &p), MPROC_EINVAL);
  MPT_ERR(mproc_manager_dict(m, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_list(m, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_namespace(m, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_queue(m, 0, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_lock(m, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_event(m, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_value(m, onone(), NULL), MPROC_EINVAL);
  MPT_ERR(mproc_manager_value(NULL, onone(), &p), MPROC_EINVAL);

  MPT_OK(mproc_manager_dict(m, &d));
  MPT_OK(mproc_manager_list(m, &l));
  MPT_OK(mproc_manager_namespace(m, &ns));
  MPT_OK(mproc_manager_queue(m, 0, &q));
  MPT_OK(mproc_manager_lock(m, &lk));
  MPT_OK(mproc_manager_event(m, &e));
  MPT_OK(mproc_manager_value(m, onone(), &v));

  /* NULL proxy. */
  MPT_ERR(mproc_proxy_dict_set(NULL, ostr("k"), oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_len(NULL, &n), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_append(NULL, oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_get(NULL, "x", &out), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_put(NULL, oint(1), 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_lock_acquire(NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_lock_release(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_event_set(NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_value_get(NULL, &out), MPROC_EINVAL);

  /* A proxy of another kind. */
  MPT_ERR(mproc_proxy_dict_set(l, ostr("k"), oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_len(ns, &n), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_append(d, oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_len(q, &n), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_set(d, "x", oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_put(l, oint(1), 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_qsize(lk, &n), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_lock_acquire(q, 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_lock_release(e), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_event_set(lk), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_event_is_set(v, &b), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_value_set(e, oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_value_get(d, &out), MPROC_EINVAL);

  /* NULL results and values. */
  MPT_ERR(mproc_proxy_dict_get(d, ostr("k"), NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_len(d, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_keys(d, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_contains(d, ostr("k"), NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_dict_set(d, ostr("k"), NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_get(l, 0, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_append(l, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_extend(l, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_copy(l, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_set(ns, NULL, oint(1)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_set(ns, "x", NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_get(ns, "x", NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_ns_delete(ns, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_put(q, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_get(q, NULL, 0), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_qsize(q, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_event_is_set(e, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_value_get(v, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_value_set(v, NULL), MPROC_EINVAL);

  /* NaN timeouts. */
  MPT_ERR(mproc_proxy_queue_put(q, oint(1), NAN), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_queue_get(q, &out, NAN), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_lock_acquire(lk, NAN), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_event_wait(e, NAN), MPROC_EINVAL);

  /* Nothing happened, and everything still works. */
  ck_assert_uint_eq(dict_len(d), 0);
  ck_assert_uint_eq(list_len(l), 0);
  MPT_OK(mproc_proxy_queue_qsize(q, &n));
  ck_assert_uint_eq(n, 0);
  MPT_OK(mproc_proxy_lock_acquire(lk, 0)); /* the NaN acquire took nothing */
  MPT_OK(mproc_proxy_lock_release(lk));
  MPT_OK(mproc_proxy_event_is_set(e, &b));
  ck_assert(!b);
  MPT_OK(mproc_proxy_value_get(v, &out));
  ASSERT_REPR(out, "None");

  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(ns);
  mproc_proxy_free(q);
  mproc_proxy_free(lk);
  mproc_proxy_free(e);
  mproc_proxy_free(v);
  mproc_manager_free(m);
  tmp_free();
}

MPT_TEST(manager_scoped_form_shuts_down_at_scope_end, "EX-000-07",
         "A manager declared MPROC_SCOPED_MANAGER is shut down when its "
         "scope ends, like leaving `with Manager() as m`: server reaped, "
         "socket and directory removed.")
{
  pid_t pid;
  struct where w;
  int fds = count_fds();
  {
    MPROC_SCOPED_MANAGER mproc_manager *m = NULL;
    mproc_proxy *l;
    MPT_OK(mproc_manager_start(&m, NULL));
    pid = mproc_manager_pid(m);
    where_of(m, &w);
    MPT_OK(mproc_manager_list(m, &l));
    MPT_OK(mproc_proxy_list_append(l, ostr("inside")));
    ck_assert_uint_eq(list_len(l), 1);
    mproc_proxy_free(l);
    ck_assert(running(pid));
  }
  assert_left_nothing(pid, &w);
  ck_assert_int_eq(count_fds(), fds);
  {
    MPROC_SCOPED_MANAGER mproc_manager *never_started = NULL;
    (void)never_started;
  }
  tmp_free();
}

struct thread_start {
  mproc_manager *m;
  int rc;
};

static void *start_in_thread(void *p)
{
  struct thread_start *t = p;
  mproc_proxy *d = NULL;
  t->rc = mproc_manager_start(&t->m, NULL);
  if (t->rc == 0)
    t->rc = mproc_manager_dict(t->m, &d); /* the server is up and running */
  if (d != NULL)
    mproc_proxy_free(d);
  return NULL;
}

MPT_TEST(manager_started_by_thread_that_ends_keeps_serving, "EX-000-07",
         "A manager started by a thread that then ends keeps serving the "
         "process: the server watches the starting process, not the "
         "thread.")
{
  struct thread_start t = {NULL, MPROC_EINVAL};
  pthread_t th;
  mproc_proxy *l;
  pid_t pid;
  mpt_thread_create(&th, start_in_thread, &t);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  MPT_OK(t.rc);
  pid = mproc_manager_pid(t.m);
  mpt_observe(0.3); /* time for a parent-death signal to arrive, if any */
  ck_assert_msg(running(pid), "the server ended with its starting thread");
  MPT_OK(mproc_manager_list(t.m, &l));
  MPT_OK(mproc_proxy_list_append(l, ostr("still here")));
  ck_assert_uint_eq(list_len(l), 1);
  mproc_proxy_free(l);
  MPT_OK(mproc_manager_shutdown(t.m));
  mproc_manager_free(t.m);
  tmp_free();
}

struct orphan {
  int64_t *pid;
  char *path; /* shared page: the socket path */
};

/* The child's manager, left running on purpose (and reachable, so that
 * Valgrind does not call it lost). */
static mproc_manager *left_running;

static int start_and_leave(void *p)
{
  struct orphan *o = p;
  /* Static, like the manager: this process ends holding both on purpose,
   * and leak checkers should see them as reachable. */
  static mproc_proxy *d;
  MPT_CHILD_OK(mproc_manager_start(&left_running, NULL));
  MPT_CHILD_OK(mproc_manager_dict(left_running, &d));
  MPT_CHILD_OK(mproc_proxy_dict_set(d, ostr("k"), oint(1)));
  tmp_free();
  *o->pid = mproc_manager_pid(left_running);
  snprintf(o->path, PATH_MAX, "%s", mproc_manager_address(left_running));
  return 0; /* ends without shutdown or free */
}

MPT_TEST(manager_server_exits_and_cleans_up_when_starting_process_ends, "EX-000-07",
         "When the process that started a manager ends without shutting it "
         "down, the server exits within a bounded time and removes its "
         "socket and directory.")
{
  mproc_array *arr, *parr;
  struct orphan o;
  struct where w;
  mproc_process p;
  char *slash;
  o.pid = mpt_scratch(&arr, 1);
  MPT_OK(mproc_array_new(&parr, 'c', PATH_MAX, NULL,
                         &(mproc_shared_options){.raw = true}));
  o.path = mproc_array_data(parr);
  start(&p, start_and_leave, &o);
  mpt_join_all(&p, 1);
  ck_assert_msg(*o.pid > 0, "the child reported no server pid");
  snprintf(w.path, sizeof w.path, "%s", o.path);
  snprintf(w.dir, sizeof w.dir, "%s", o.path);
  slash = strrchr(w.dir, '/');
  ck_assert_ptr_nonnull(slash);
  *slash = '\0';
  /* The orphaned server is ours to reap (the fixture's subreaper). */
  ck_assert_msg(mpt_wait_pid_gone((pid_t)*o.pid, mpt_scale(5)),
                "the server (pid %lld) outlived its starting process by "
                "%.1fs", (long long)*o.pid, mpt_scale(5));
  assert_no_such_file(w.path);
  assert_no_such_file(w.dir);
  mproc_array_free(arr);
  mproc_array_free(parr);
}

static int start_as_daemon(void *p)
{
  mproc_manager *m = NULL;
  (void)p;
  MPT_CHILD_ERR(mproc_manager_start(&m, NULL), MPROC_ESTATE);
  return 0;
}

MPT_TEST(manager_start_from_daemon_estate, "EX-000-07",
         "A daemon process may not have children: its mproc_manager_start "
         "gives ESTATE.")
{
  mproc_process p;
  mproc_process_options o = {.target = start_as_daemon, .daemon = true};
  MPT_OK(mproc_process_init(&p, &o));
  MPT_OK(mproc_process_start(&p));
  mpt_join_all(&p, 1);
}

struct late_call {
  mproc_proxy *dict;
  mproc_semaphore *about; /* released just before the call */
};

static int set_one(void *p)
{
  struct late_call *a = p;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  MPT_CHILD_OK(mproc_proxy_dict_set(a->dict, ostr("late"), oint(1)));
  tmp_free();
  return 0;
}

MPT_TEST(manager_stopped_server_delays_calls_and_shutdown_is_bounded, "EX-000-07",
         "A call to a server stopped with SIGSTOP waits until it runs again "
         "and then succeeds; shutdown of a stopped server returns within "
         "about a second (bound: 3 s), whether or not the starting process "
         "has a connection open, and leaves nothing behind.")
{
  mproc_manager *m = mgr_start(NULL);
  pid_t pid = mproc_manager_pid(m);
  struct late_call a;
  struct where w;
  mproc_process p;
  double t0;

  where_of(m, &w);
  MPT_OK(mproc_manager_dict(m, &a.dict));
  MPT_OK(mproc_semaphore_new(&a.about, 0));
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  start(&p, set_one, &a);
  MPT_OK(mproc_semaphore_acquire(a.about, mpt_scale(30)));
  mpt_observe(0.3);
  ck_assert_msg(mproc_process_is_alive(&p),
                "a call returned while the server was stopped");
  ck_assert_int_eq(kill(pid, SIGCONT), 0);
  mpt_join_all(&p, 1);
  ck_assert_uint_eq(dict_len(a.dict), 1);

  /* The starting process has connections open now. */
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  t0 = mpt_now();
  MPT_OK(mproc_manager_shutdown(m));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(3));
  assert_left_nothing(pid, &w);
  mproc_proxy_free(a.dict);
  mproc_semaphore_free(a.about);
  mproc_manager_free(m);

  /* A server stopped before the starting process ever called it. */
  m = mgr_start(NULL);
  pid = mproc_manager_pid(m);
  where_of(m, &w);
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  t0 = mpt_now();
  MPT_OK(mproc_manager_shutdown(m));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(3));
  assert_left_nothing(pid, &w);
  mproc_manager_free(m);
  tmp_free();
}

/* ------------------------------------------------------------------------ */
/* Sharing with processes started after the manager                         */
/* ------------------------------------------------------------------------ */

struct family {
  mproc_manager *m;
  mproc_proxy *dict, *list;
  int64_t *grandchild_pid;
};

static int grandchild_main(void *p)
{
  struct family *f = p;
  *f->grandchild_pid = getpid();
  MPT_CHILD_OK(mproc_proxy_dict_set(f->dict, ostr("grandchild"),
                                    oint(getpid())));
  MPT_CHILD_OK(mproc_proxy_list_append(f->list, ostr("grandchild")));
  tmp_free();
  return 0;
}

static int family_child_main(void *p)
{
  struct family *f = p;
  mproc_proxy *own;
  mproc_process gc;
  mproc_obj *out;
  /* Objects the parent made, and one made here. */
  MPT_CHILD_OK(mproc_proxy_dict_get(f->dict, ostr("parent"), NULL, &out));
  CHILD_REPR(out, "'was here'");
  MPT_CHILD_OK(mproc_proxy_dict_set(f->dict, ostr("child"), oint(getpid())));
  MPT_CHILD_OK(mproc_proxy_list_append(f->list, ostr("child")));
  MPT_CHILD_OK(mproc_manager_value(f->m, ostr("made by the child"), &own));
  MPT_CHILD_OK(mproc_proxy_value_get(own, &out));
  CHILD_REPR(out, "'made by the child'");
  mproc_proxy_free(own);
  /* A process started by this child can use it too. */
  mpt_spawn(&gc, 1, grandchild_main, f);
  mpt_join_all(&gc, 1);
  tmp_free();
  return 0;
}

MPT_TEST(manager_parent_children_and_grandchildren_share_objects, "EX-000-07",
         "The starting process, a child started after the manager and that "
         "child's own child all read and write the same dict and list, and "
         "the child can create objects of its own.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_array *arr;
  struct family f = {m, NULL, NULL, mpt_scratch(&arr, 1)};
  mproc_process p;
  mproc_obj *out;
  char want[128];

  MPT_OK(mproc_manager_dict(m, &f.dict));
  MPT_OK(mproc_manager_list(m, &f.list));
  MPT_OK(mproc_proxy_dict_set(f.dict, ostr("parent"), ostr("was here")));
  start(&p, family_child_main, &f);
  pid_t child = mproc_process_pid(&p);
  mpt_join_all(&p, 1);

  MPT_OK(mproc_proxy_dict_copy(f.dict, &out));
  snprintf(want, sizeof want,
           "{'parent': 'was here', 'child': %ld, 'grandchild': %ld}",
           (long)child, (long)*f.grandchild_pid);
  ASSERT_REPR(out, want);
  MPT_OK(mproc_proxy_list_copy(f.list, &out));
  ASSERT_REPR(out, "['child', 'grandchild']");
  mproc_proxy_free(f.dict);
  mproc_proxy_free(f.list);
  mproc_manager_free(m);
  mproc_array_free(arr);
  tmp_free();
}

/* ------------------------------------------------------------------------ */
/* The documents' examples                                                  */
/* ------------------------------------------------------------------------ */

struct worker_arg {
  mproc_proxy *dict, *list;
  int id;
};

static int ex_000_07_worker(void *p)
{
  struct worker_arg *a = p;
  char value[32];
  snprintf(value, sizeof value, "result_%d", a->id);
  MPT_CHILD_OK(mproc_proxy_dict_set(a->dict, oint(a->id), ostr(value)));
  MPT_CHILD_OK(mproc_proxy_list_append(a->list, oint(a->id)));
  tmp_free();
  return 0;
}

MPT_TEST(manager_four_workers_fill_dict_and_list_exactly, "EX-000-07",
         "Four worker processes each doing dict[i] = 'result_i' and "
         "list.append(i) in a scoped manager leave exactly those four "
         "entries and a list that is a permutation of 0..3.")
{
  enum { N = 4 };
  pid_t server;
  struct where w;
  {
    MPROC_SCOPED_MANAGER mproc_manager *m = NULL;
    mproc_proxy *d, *l;
    mproc_process procs[N];
    struct worker_arg args[N];
    mproc_obj *keys, *list;
    bool seen[N] = {false};

    MPT_OK(mproc_manager_start(&m, NULL));
    server = mproc_manager_pid(m);
    where_of(m, &w);
    MPT_OK(mproc_manager_dict(m, &d));
    MPT_OK(mproc_manager_list(m, &l));
    for (int i = 0; i < N; i++)
      args[i] = (struct worker_arg){d, l, i};
    mpt_spawn_each(procs, N, ex_000_07_worker, args, sizeof args[0]);
    mpt_join_all(procs, N);

    ck_assert_uint_eq(dict_len(d), N);
    MPT_OK(mproc_proxy_dict_keys(d, &keys));
    ck_assert_uint_eq(mproc_obj_len(keys), N);
    for (size_t i = 0; i < N; i++) {
      int64_t k = -1;
      ck_assert_msg(mproc_obj_get_int(mproc_obj_list_get(keys, i), &k) == 0 &&
                        k >= 0 && k < N && !seen[k],
                    "key %zu is %lld: not an int in 0..3 seen once", i,
                    (long long)k);
      seen[k] = true;
    }
    mproc_obj_free(keys);
    for (int i = 0; i < N; i++) {
      mproc_obj *out;
      char want[32];
      snprintf(want, sizeof want, "'result_%d'", i);
      MPT_OK(mproc_proxy_dict_get(d, oint(i), NULL, &out));
      ASSERT_REPR(out, want);
    }
    MPT_OK(mproc_proxy_list_copy(l, &list));
    ck_assert_uint_eq(mproc_obj_len(list), N);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < N; i++) {
      int64_t v = -1;
      ck_assert_msg(mproc_obj_get_int(mproc_obj_list_get(list, i), &v) == 0 &&
                        v >= 0 && v < N && !seen[v],
                    "list item %zu is %lld: not a permutation of 0..3", i,
                    (long long)v);
      seen[v] = true;
    }
    mproc_obj_free(list);
    mproc_proxy_free(d);
    mproc_proxy_free(l);
  }
  assert_left_nothing(server, &w);
  tmp_free();
}

enum ex208_lock { EX208_MANAGER_LOCK, EX208_PLAIN_LOCK };

struct ex208 {
  mproc_proxy *list, *dict, *mlock;
  mproc_lock *plock;
  enum ex208_lock kind;
};

static void ex208_acquire(struct ex208 *a)
{
  if (a->kind == EX208_MANAGER_LOCK)
    MPT_CHILD_OK(mproc_proxy_lock_acquire(a->mlock, mpt_scale(30)));
  else
    MPT_CHILD_OK(mproc_lock_acquire(a->plock, mpt_scale(30)));
}

static void ex208_release(struct ex208 *a)
{
  if (a->kind == EX208_MANAGER_LOCK)
    MPT_CHILD_OK(mproc_proxy_lock_release(a->mlock));
  else
    MPT_CHILD_OK(mproc_lock_release(a->plock));
}

/* add_to_list: appends 1..5 under the lock, looking at the list after each
 * append (the document prints it) and checking that the dict does not
 * change meanwhile: the other process is kept out. */
static int ex208_add_to_list(void *p)
{
  struct ex208 *a = p;
  static const char *const prefix[] = {"[1]", "[1, 2]", "[1, 2, 3]",
                                       "[1, 2, 3, 4]", "[1, 2, 3, 4, 5]"};
  size_t other0, other;
  ex208_acquire(a);
  MPT_CHILD_OK(mproc_proxy_dict_len(a->dict, &other0));
  for (int i = 1; i <= 5; i++) {
    mproc_obj *out;
    MPT_CHILD_OK(mproc_proxy_list_append(a->list, oint(i)));
    MPT_CHILD_OK(mproc_proxy_list_copy(a->list, &out));
    CHILD_REPR(out, prefix[i - 1]);
    MPT_CHILD_OK(mproc_proxy_dict_len(a->dict, &other));
    MPT_CHILD_EQ(other, other0);
  }
  ex208_release(a);
  tmp_free();
  return 0;
}

static int ex208_update_dict(void *p)
{
  struct ex208 *a = p;
  static const char *const keys[] = {"a", "b", "c"};
  size_t other0, other, n;
  ex208_acquire(a);
  MPT_CHILD_OK(mproc_proxy_list_len(a->list, &other0));
  for (int i = 0; i < 3; i++) {
    MPT_CHILD_OK(mproc_proxy_dict_set(a->dict, ostr(keys[i]), oint(i + 1)));
    MPT_CHILD_OK(mproc_proxy_dict_len(a->dict, &n));
    MPT_CHILD_EQ(n, i + 1);
    MPT_CHILD_OK(mproc_proxy_list_len(a->list, &other));
    MPT_CHILD_EQ(other, other0);
  }
  ex208_release(a);
  tmp_free();
  return 0;
}

MPT_TEST(manager_list_and_dict_updated_under_one_lock_end_exact, "EX-002-08",
         "One process appending 1..5 to a manager list and another setting "
         "a, b, c in a manager dict, each under the same Lock (a manager "
         "Lock, or a plain Lock as in the document), never interleave and "
         "leave [1, 2, 3, 4, 5] and {'a': 1, 'b': 2, 'c': 3}.")
{
  static const struct {
    const char *label;
    enum ex208_lock kind;
  } cases[] = {
      {"manager Lock", EX208_MANAGER_LOCK},
      {"plain Lock", EX208_PLAIN_LOCK},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    mproc_manager *m = mgr_start(NULL);
    struct ex208 a = {NULL, NULL, NULL, NULL, cases[c].kind};
    mproc_process procs[2];
    mproc_obj *out;
    char got[256];
    MPT_OK(mproc_manager_list(m, &a.list));
    MPT_OK(mproc_manager_dict(m, &a.dict));
    if (a.kind == EX208_MANAGER_LOCK)
      MPT_OK(mproc_manager_lock(m, &a.mlock));
    else
      MPT_OK(mproc_lock_new(&a.plock));
    start(&procs[0], ex208_add_to_list, &a);
    start(&procs[1], ex208_update_dict, &a);
    mpt_join_all(procs, 2);
    MPT_OK(mproc_proxy_list_copy(a.list, &out));
    ck_assert_msg(repr_is(out, "[1, 2, 3, 4, 5]", got, sizeof got),
                  "%s: final list %s", cases[c].label, got);
    MPT_OK(mproc_proxy_dict_copy(a.dict, &out));
    ck_assert_msg(repr_is(out, "{'a': 1, 'b': 2, 'c': 3}", got, sizeof got),
                  "%s: final dict %s", cases[c].label, got);
    mproc_proxy_free(a.list);
    mproc_proxy_free(a.dict);
    if (a.mlock != NULL)
      mproc_proxy_free(a.mlock);
    mproc_lock_free(a.plock);
    mproc_manager_free(m);
    tmp_free();
  }
}

/* ------------------------------------------------------------------------ */
/* dict, list, Namespace, Value                                             */
/* ------------------------------------------------------------------------ */

MPT_TEST(manager_dict_proxy_behaves_like_python_dict, "EX-000-07",
         "The dict proxy sets, gets (ERANGE for a missing key unless a "
         "default is given), deletes (ERANGE when missing), answers "
         "contains and len, lists keys and items in insertion order and "
         "copies into an independent local dict; int 1 and str '1' are "
         "different keys.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *d;
  mproc_obj *out;
  bool b;

  MPT_OK(mproc_manager_dict(m, &d));
  ck_assert_uint_eq(dict_len(d), 0);
  MPT_OK(mproc_proxy_dict_keys(d, &out));
  ASSERT_REPR(out, "[]");
  MPT_OK(mproc_proxy_dict_items(d, &out));
  ASSERT_REPR(out, "[]");
  MPT_OK(mproc_proxy_dict_copy(d, &out));
  ASSERT_REPR(out, "{}");
  MPT_ERR(mproc_proxy_dict_get(d, ostr("a"), NULL, &out), MPROC_ERANGE);

  MPT_OK(mproc_proxy_dict_set(d, ostr("a"), oint(1)));
  MPT_OK(mproc_proxy_dict_set(d, oint(1), ostr("one")));
  MPT_OK(mproc_proxy_dict_set(d, ostr("1"), olist(1, oint(1))));
  MPT_OK(mproc_proxy_dict_set(d, oint(-7), onone()));
  ck_assert_uint_eq(dict_len(d), 4);

  MPT_OK(mproc_proxy_dict_get(d, ostr("a"), NULL, &out));
  ASSERT_REPR(out, "1");
  MPT_OK(mproc_proxy_dict_get(d, oint(1), NULL, &out));
  ASSERT_REPR(out, "'one'");
  MPT_OK(mproc_proxy_dict_get(d, ostr("1"), NULL, &out));
  ASSERT_REPR(out, "[1]");
  MPT_OK(mproc_proxy_dict_get(d, oint(-7), NULL, &out)); /* None is a value */
  ASSERT_REPR(out, "None");
  MPT_ERR(mproc_proxy_dict_get(d, ostr("zz"), NULL, &out), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_dict_get(d, oint(2), NULL, &out), MPROC_ERANGE);
  MPT_OK(mproc_proxy_dict_get(d, ostr("zz"), onone(), &out));
  ASSERT_REPR(out, "None");
  MPT_OK(mproc_proxy_dict_get(d, ostr("zz"), oint(42), &out));
  ASSERT_REPR(out, "42");
  MPT_OK(mproc_proxy_dict_get(d, ostr("a"), oint(42), &out));
  ASSERT_REPR(out, "1");

  MPT_OK(mproc_proxy_dict_contains(d, ostr("a"), &b));
  ck_assert(b);
  MPT_OK(mproc_proxy_dict_contains(d, oint(1), &b));
  ck_assert(b);
  MPT_OK(mproc_proxy_dict_contains(d, oint(-7), &b));
  ck_assert(b);
  MPT_OK(mproc_proxy_dict_contains(d, ostr("zz"), &b));
  ck_assert(!b);
  MPT_OK(mproc_proxy_dict_contains(d, oint(2), &b));
  ck_assert(!b);

  /* Replacing keeps the key's place. */
  MPT_OK(mproc_proxy_dict_set(d, ostr("a"), oint(2)));
  ck_assert_uint_eq(dict_len(d), 4);
  MPT_OK(mproc_proxy_dict_keys(d, &out));
  ASSERT_REPR(out, "['a', 1, '1', -7]");
  MPT_OK(mproc_proxy_dict_items(d, &out));
  ASSERT_REPR(out, "[['a', 2], [1, 'one'], ['1', [1]], [-7, None]]");

  /* copy is a local dict, independent of the server's. */
  MPT_OK(mproc_proxy_dict_copy(d, &out));
  ck_assert(mproc_obj_equal(out, odict(4, ostr("a"), oint(2), oint(1),
                                       ostr("one"), ostr("1"),
                                       olist(1, oint(1)), oint(-7), onone())));
  MPT_OK(mproc_obj_dict_set(out, mproc_obj_str("local"), mproc_obj_int(0)));
  mproc_obj_free(out);
  ck_assert_uint_eq(dict_len(d), 4);

  MPT_OK(mproc_proxy_dict_delete(d, oint(1)));
  MPT_ERR(mproc_proxy_dict_delete(d, oint(1)), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_dict_delete(d, ostr("zz")), MPROC_ERANGE);
  MPT_OK(mproc_proxy_dict_contains(d, oint(1), &b));
  ck_assert(!b);
  MPT_ERR(mproc_proxy_dict_get(d, oint(1), NULL, &out), MPROC_ERANGE);
  MPT_OK(mproc_proxy_dict_contains(d, ostr("1"), &b)); /* the other "1" */
  ck_assert(b);
  ck_assert_uint_eq(dict_len(d), 3);
  MPT_OK(mproc_proxy_dict_set(d, oint(1), ostr("back"))); /* goes last */
  MPT_OK(mproc_proxy_dict_keys(d, &out));
  ASSERT_REPR(out, "['a', '1', -7, 1]");

  /* Values of every type, nested, come back equal. */
  const mproc_obj *nested =
      odict(2, ostr("x"),
            olist(5, oint(INT64_MIN), ofloat(2.5), obytes("\0\xff", 2),
                  obool(true), odict(1, oint(7), onone())),
            oint(3), ostr("h\xc3\xa9llo"));
  MPT_OK(mproc_proxy_dict_set(d, ostr("nested"), nested));
  MPT_OK(mproc_proxy_dict_get(d, ostr("nested"), NULL, &out));
  ck_assert(mproc_obj_equal(out, nested));
  mproc_obj_free(out);

  mproc_proxy_free(d);
  mproc_manager_free(m);
  tmp_free();
}

MPT_TEST(manager_dict_key_neither_str_nor_int_einval, "EX-000-07",
         "A dict key that is None, bool, float, bytes, list, dict or NULL "
         "gives EINVAL from set, get, delete and contains, and stores "
         "nothing.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *d;
  mproc_obj *out = NULL;
  bool b;
  const mproc_obj *bad[] = {NULL,          onone(),          obool(false),
                            ofloat(1.0),   obytes("k", 1),   olist(1, oint(1)),
                            odict(1, ostr("k"), oint(1))};
  MPT_OK(mproc_manager_dict(m, &d));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *r = bad[i] ? mproc_obj_repr(bad[i]) : NULL;
    const char *what = r ? r : "NULL";
    int rc;
    ck_assert_msg((rc = mproc_proxy_dict_set(d, bad[i], oint(1))) ==
                      MPROC_EINVAL,
                  "set with key %s: %s", what, mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_dict_get(d, bad[i], NULL, &out)) ==
                      MPROC_EINVAL,
                  "get with key %s: %s", what, mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_dict_get(d, bad[i], oint(0), &out)) ==
                      MPROC_EINVAL,
                  "get with default, key %s: %s", what, mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_dict_delete(d, bad[i])) == MPROC_EINVAL,
                  "delete with key %s: %s", what, mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_dict_contains(d, bad[i], &b)) ==
                      MPROC_EINVAL,
                  "contains with key %s: %s", what, mproc_err_name(rc));
    free(r);
  }
  ck_assert_uint_eq(dict_len(d), 0);
  mproc_proxy_free(d);
  mproc_manager_free(m);
  tmp_free();
}

MPT_TEST(manager_list_proxy_indexes_from_either_end_out_of_range_erange, "EX-000-07",
         "The list proxy appends, extends, gets, sets and pops at "
         "non-negative and negative indexes, gives ERANGE out of range "
         "(also on an empty list), answers len and copies into an "
         "independent local list.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *l;
  mproc_obj *out;
  static const int64_t outside[] = {4, -5, 100, INT64_MAX, INT64_MIN};

  MPT_OK(mproc_manager_list(m, &l));
  ck_assert_uint_eq(list_len(l), 0);
  MPT_ERR(mproc_proxy_list_get(l, 0, &out), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_list_get(l, -1, &out), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_list_set(l, 0, oint(1)), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_list_pop(l, -1, &out), MPROC_ERANGE);
  MPT_OK(mproc_proxy_list_copy(l, &out));
  ASSERT_REPR(out, "[]");

  MPT_OK(mproc_proxy_list_append(l, oint(10)));
  MPT_OK(mproc_proxy_list_extend(l, olist(3, oint(20), oint(30), ostr("x"))));
  MPT_OK(mproc_proxy_list_extend(l, olist(0)));
  ck_assert_uint_eq(list_len(l), 4);
  MPT_OK(mproc_proxy_list_copy(l, &out));
  ASSERT_REPR(out, "[10, 20, 30, 'x']");
  MPT_ERR(mproc_proxy_list_extend(l, oint(5)), MPROC_EINVAL);
  MPT_ERR(mproc_proxy_list_extend(l, odict(0)), MPROC_EINVAL);

  MPT_OK(mproc_proxy_list_get(l, 0, &out));
  ASSERT_REPR(out, "10");
  MPT_OK(mproc_proxy_list_get(l, 3, &out));
  ASSERT_REPR(out, "'x'");
  MPT_OK(mproc_proxy_list_get(l, -1, &out));
  ASSERT_REPR(out, "'x'");
  MPT_OK(mproc_proxy_list_get(l, -4, &out));
  ASSERT_REPR(out, "10");
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
    int rc;
    ck_assert_msg((rc = mproc_proxy_list_get(l, outside[i], &out)) ==
                      MPROC_ERANGE,
                  "get(%lld) on 4 items: %s", (long long)outside[i],
                  mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_list_set(l, outside[i], oint(0))) ==
                      MPROC_ERANGE,
                  "set(%lld) on 4 items: %s", (long long)outside[i],
                  mproc_err_name(rc));
    ck_assert_msg((rc = mproc_proxy_list_pop(l, outside[i], &out)) ==
                      MPROC_ERANGE,
                  "pop(%lld) on 4 items: %s", (long long)outside[i],
                  mproc_err_name(rc));
  }
  MPT_OK(mproc_proxy_list_copy(l, &out));
  ASSERT_REPR(out, "[10, 20, 30, 'x']");

  MPT_OK(mproc_proxy_list_set(l, -1, oint(40)));
  MPT_OK(mproc_proxy_list_set(l, 1, onone()));
  MPT_OK(mproc_proxy_list_copy(l, &out));
  ASSERT_REPR(out, "[10, None, 30, 40]");
  MPT_OK(mproc_proxy_list_pop(l, -1, &out));
  ASSERT_REPR(out, "40");
  MPT_OK(mproc_proxy_list_pop(l, 0, &out));
  ASSERT_REPR(out, "10");
  ck_assert_uint_eq(list_len(l), 2);

  /* copy is local. */
  MPT_OK(mproc_proxy_list_copy(l, &out));
  MPT_OK(mproc_obj_list_append(out, mproc_obj_int(99)));
  ASSERT_REPR(out, "[None, 30, 99]");
  MPT_OK(mproc_proxy_list_copy(l, &out));
  ASSERT_REPR(out, "[None, 30]");

  MPT_OK(mproc_proxy_list_pop(l, -2, &out));
  ASSERT_REPR(out, "None");
  MPT_OK(mproc_proxy_list_pop(l, -1, &out));
  ASSERT_REPR(out, "30");
  ck_assert_uint_eq(list_len(l), 0);
  MPT_ERR(mproc_proxy_list_pop(l, 0, &out), MPROC_ERANGE);

  mproc_proxy_free(l);
  mproc_manager_free(m);
  tmp_free();
}

static int ns_child(void *p)
{
  mproc_proxy *ns = p;
  mproc_obj *out;
  MPT_CHILD_OK(mproc_proxy_ns_get(ns, "from_parent", &out));
  CHILD_REPR(out, "[1, 2]");
  MPT_CHILD_OK(mproc_proxy_ns_set(ns, "from_child", ostr("hi")));
  MPT_CHILD_OK(mproc_proxy_ns_delete(ns, "doomed"));
  tmp_free();
  return 0;
}

MPT_TEST(manager_namespace_set_get_delete_missing_erange, "EX-000-07",
         "A Namespace's attributes are set, replaced, read and deleted by "
         "any process; reading or deleting a missing attribute gives "
         "ERANGE.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *ns;
  mproc_process p;
  mproc_obj *out;

  MPT_OK(mproc_manager_namespace(m, &ns));
  MPT_ERR(mproc_proxy_ns_get(ns, "x", &out), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_ns_delete(ns, "x"), MPROC_ERANGE);
  MPT_OK(mproc_proxy_ns_set(ns, "x", oint(1)));
  MPT_OK(mproc_proxy_ns_get(ns, "x", &out));
  ASSERT_REPR(out, "1");
  MPT_OK(mproc_proxy_ns_set(ns, "x", ostr("two")));
  MPT_OK(mproc_proxy_ns_get(ns, "x", &out));
  ASSERT_REPR(out, "'two'");
  MPT_OK(mproc_proxy_ns_set(ns, "y", onone()));
  MPT_OK(mproc_proxy_ns_delete(ns, "x"));
  MPT_ERR(mproc_proxy_ns_get(ns, "x", &out), MPROC_ERANGE);
  MPT_ERR(mproc_proxy_ns_delete(ns, "x"), MPROC_ERANGE);
  MPT_OK(mproc_proxy_ns_get(ns, "y", &out));
  ASSERT_REPR(out, "None");

  MPT_OK(mproc_proxy_ns_set(ns, "from_parent", olist(2, oint(1), oint(2))));
  MPT_OK(mproc_proxy_ns_set(ns, "doomed", obool(true)));
  start(&p, ns_child, ns);
  mpt_join_all(&p, 1);
  MPT_OK(mproc_proxy_ns_get(ns, "from_child", &out));
  ASSERT_REPR(out, "'hi'");
  MPT_ERR(mproc_proxy_ns_get(ns, "doomed", &out), MPROC_ERANGE);

  mproc_proxy_free(ns);
  mproc_manager_free(m);
  tmp_free();
}

static int value_child(void *p)
{
  mproc_proxy *v = p;
  mproc_obj *out;
  MPT_CHILD_OK(mproc_proxy_value_get(v, &out));
  CHILD_REPR(out, "'set by the parent'");
  MPT_CHILD_OK(mproc_proxy_value_set(v, olist(2, ostr("set by"), oint(2))));
  tmp_free();
  return 0;
}

MPT_TEST(manager_value_holds_any_value_initial_copied, "EX-000-07",
         "A Value starts as a copy of its initial value (later changes to "
         "the caller's object do not reach it), holds a value of every "
         "type, and a set in one process is seen by another.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *v;
  mproc_process p;
  mproc_obj *out, *init = mproc_obj_list();
  const mproc_obj *values[] = {
      onone(),         obool(false),         oint(INT64_MIN),
      oint(INT64_MAX), ofloat(-0.5),         ostr(""),
      ostr("h\xc3\xa9llo"), obytes("\0a\xff", 3),
      olist(0),        odict(0),
      odict(2, ostr("k"), olist(2, oint(1), odict(1, oint(2), onone())),
            oint(9), obytes("", 0)),
  };

  ck_assert_ptr_nonnull(init);
  MPT_OK(mproc_obj_list_append(init, mproc_obj_int(1)));
  MPT_OK(mproc_manager_value(m, init, &v));
  MPT_OK(mproc_obj_list_append(init, mproc_obj_int(2)));
  mproc_obj_free(init);
  MPT_OK(mproc_proxy_value_get(v, &out));
  ASSERT_REPR(out, "[1]");

  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    MPT_OK(mproc_proxy_value_set(v, values[i]));
    MPT_OK(mproc_proxy_value_get(v, &out));
    ck_assert_msg(mproc_obj_type_of(out) == mproc_obj_type_of(values[i]) &&
                      mproc_obj_equal(out, values[i]),
                  "value %zu did not come back equal", i);
    mproc_obj_free(out);
  }

  MPT_OK(mproc_proxy_value_set(v, ostr("set by the parent")));
  start(&p, value_child, v);
  mpt_join_all(&p, 1);
  MPT_OK(mproc_proxy_value_get(v, &out));
  ASSERT_REPR(out, "['set by', 2]");

  mproc_proxy_free(v);
  mproc_manager_free(m);
  tmp_free();
}

/* ------------------------------------------------------------------------ */
/* Queue                                                                    */
/* ------------------------------------------------------------------------ */

MPT_TEST(manager_queue_fifo_maxsize_and_qsize, "EX-000-07",
         "The Queue proxy is FIFO, counts its items, refuses a put beyond "
         "maxsize with EFULL until a get makes room, and maxsize 0 means "
         "unbounded.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *q, *u;
  mproc_obj *out;
  size_t n;

  MPT_OK(mproc_manager_queue(m, 2, &q));
  MPT_OK(mproc_proxy_queue_qsize(q, &n));
  ck_assert_uint_eq(n, 0);
  MPT_OK(mproc_proxy_queue_put(q, ostr("a"), 0));
  MPT_OK(mproc_proxy_queue_put(q, ostr("b"), MPROC_FOREVER));
  MPT_ERR(mproc_proxy_queue_put(q, ostr("c"), 0), MPROC_EFULL);
  MPT_OK(mproc_proxy_queue_qsize(q, &n));
  ck_assert_uint_eq(n, 2);
  MPT_OK(mproc_proxy_queue_get(q, &out, 0));
  ASSERT_REPR(out, "'a'");
  MPT_OK(mproc_proxy_queue_put(q, ostr("c"), 0));
  MPT_OK(mproc_proxy_queue_get(q, &out, MPROC_FOREVER));
  ASSERT_REPR(out, "'b'");
  MPT_OK(mproc_proxy_queue_get(q, &out, MPROC_DEFAULT_TIMEOUT));
  ASSERT_REPR(out, "'c'");
  MPT_ERR(mproc_proxy_queue_get(q, &out, 0), MPROC_EEMPTY);

  MPT_OK(mproc_manager_queue(m, 0, &u));
  for (int i = 0; i < 200; i++) {
    MPT_OK(mproc_proxy_queue_put(u, oint(i), 0));
    if (tmp_n > 400)
      tmp_free();
  }
  MPT_OK(mproc_proxy_queue_qsize(u, &n));
  ck_assert_uint_eq(n, 200);
  for (int i = 0; i < 200; i++) {
    int64_t v = -1;
    MPT_OK(mproc_proxy_queue_get(u, &out, 0));
    ck_assert_msg(take_int(out, &v) && v == i, "item %d came out as %lld", i,
                  (long long)v);
  }
  MPT_OK(mproc_proxy_queue_qsize(u, &n));
  ck_assert_uint_eq(n, 0);

  mproc_proxy_free(q);
  mproc_proxy_free(u);
  mproc_manager_free(m);
  tmp_free();
}

MPT_TEST(manager_queue_timeouts_eempty_efull_not_before_limit, "EX-000-07",
         "get on an empty Queue proxy and put on a full one give EEMPTY / "
         "EFULL at once for timeout 0 or negative, and no sooner than a "
         "positive timeout and within a bounded delay after it.")
{
  static const struct {
    const char *label;
    double timeout;
  } timeouts[] = {{"0", 0}, {"-1 (like 0)", -1}, {"0.1", 0.1},
                  {"0.25", 0.25}};
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *empty, *full;
  mproc_obj *out;
  MPT_OK(mproc_manager_queue(m, 0, &empty));
  MPT_OK(mproc_manager_queue(m, 1, &full));
  MPT_OK(mproc_proxy_queue_put(full, ostr("only"), 0));
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
    double t = timeouts[i].timeout;
    for (int put = 0; put <= 1; put++) {
      double t0 = mpt_now(), elapsed;
      int rc = put ? mproc_proxy_queue_put(full, ostr("more"), t)
                   : mproc_proxy_queue_get(empty, &out, t);
      int want = put ? MPROC_EFULL : MPROC_EEMPTY;
      elapsed = mpt_now() - t0;
      ck_assert_msg(rc == want, "%s with timeout %s: %s, expected %s",
                    put ? "put on a full queue" : "get on an empty queue",
                    timeouts[i].label, mproc_err_name(rc),
                    mproc_err_name(want));
      if (t > 0)
        MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
      else
        MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
    }
  }
  MPT_OK(mproc_proxy_queue_get(full, &out, 0)); /* the timed-out put added nothing */
  ASSERT_REPR(out, "'only'");
  MPT_ERR(mproc_proxy_queue_get(full, &out, 0), MPROC_EEMPTY);
  mproc_proxy_free(empty);
  mproc_proxy_free(full);
  mproc_manager_free(m);
  tmp_free();
}

struct qblock {
  mproc_proxy *q;
  mproc_semaphore *about; /* released just before the blocking call */
  int64_t *returned;
};

static int qblock_get(void *p)
{
  struct qblock *a = p;
  mproc_obj *out;
  int rc;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  rc = mproc_proxy_queue_get(a->q, &out, mpt_scale(30));
  __atomic_store_n(a->returned, 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(rc);
  CHILD_REPR(out, "'wake up'");
  return 0;
}

static int qblock_put(void *p)
{
  struct qblock *a = p;
  int rc;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  rc = mproc_proxy_queue_put(a->q, ostr("second"), mpt_scale(30));
  __atomic_store_n(a->returned, 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(rc);
  tmp_free();
  return 0;
}

MPT_TEST(manager_queue_blocked_get_and_put_wake_on_other_process, "EX-000-07",
         "A process blocked in get on an empty Queue proxy stays blocked "
         "until another process puts, and one blocked in put on a full "
         "queue until another process gets.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_array *arr;
  struct qblock a;
  mproc_process p;
  mproc_obj *out;

  a.returned = mpt_scratch(&arr, 1);
  MPT_OK(mproc_semaphore_new(&a.about, 0));

  MPT_OK(mproc_manager_queue(m, 0, &a.q));
  start(&p, qblock_get, &a);
  MPT_OK(mproc_semaphore_acquire(a.about, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_msg(*a.returned == 0, "get returned on an empty queue");
  MPT_OK(mproc_proxy_queue_put(a.q, ostr("wake up"), 0));
  mpt_join_all(&p, 1);
  mproc_proxy_free(a.q);

  *a.returned = 0;
  MPT_OK(mproc_manager_queue(m, 1, &a.q));
  MPT_OK(mproc_proxy_queue_put(a.q, ostr("first"), 0));
  start(&p, qblock_put, &a);
  MPT_OK(mproc_semaphore_acquire(a.about, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_msg(*a.returned == 0, "put returned on a full queue");
  MPT_OK(mproc_proxy_queue_get(a.q, &out, 0));
  ASSERT_REPR(out, "'first'");
  mpt_join_all(&p, 1);
  MPT_OK(mproc_proxy_queue_get(a.q, &out, 0));
  ASSERT_REPR(out, "'second'");
  mproc_proxy_free(a.q);

  mproc_semaphore_free(a.about);
  mproc_array_free(arr);
  mproc_manager_free(m);
  tmp_free();
}

enum { PC_ITEMS = 50 };

static int pc_producer(void *p)
{
  for (int i = 0; i < PC_ITEMS; i++) {
    mproc_obj *o = mproc_obj_int(i);
    MPT_CHILD_OK(mproc_proxy_queue_put(p, o, mpt_scale(30)));
    mproc_obj_free(o);
  }
  return 0;
}

static int pc_consumer(void *p)
{
  for (int i = 0; i < PC_ITEMS; i++) {
    mproc_obj *o;
    int64_t v = -1;
    MPT_CHILD_OK(mproc_proxy_queue_get(p, &o, mpt_scale(30)));
    MPT_CHILD_ASSERT(take_int(o, &v));
    MPT_CHILD_EQ(v, i);
  }
  return 0;
}

MPT_TEST(manager_queue_producer_and_consumer_processes_fifo, "EX-000-07",
         "A producer process putting 0..49 into a Queue proxy of maxsize 5 "
         "and a consumer process getting 50 items see them in order, and "
         "the queue ends empty.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *q;
  mproc_process procs[2];
  mproc_obj *out;
  size_t n;
  MPT_OK(mproc_manager_queue(m, 5, &q));
  start(&procs[0], pc_producer, q);
  start(&procs[1], pc_consumer, q);
  mpt_join_all(procs, 2);
  MPT_OK(mproc_proxy_queue_qsize(q, &n));
  ck_assert_uint_eq(n, 0);
  MPT_ERR(mproc_proxy_queue_get(q, &out, 0), MPROC_EEMPTY);
  mproc_proxy_free(q);
  mproc_manager_free(m);
}

/* ------------------------------------------------------------------------ */
/* Lock                                                                     */
/* ------------------------------------------------------------------------ */

struct ltry {
  mproc_proxy *lock;
  int expect;
};

static int lock_try(void *p)
{
  struct ltry *a = p;
  MPT_CHILD_ERR(mproc_proxy_lock_acquire(a->lock, 0), a->expect);
  if (a->expect == 0)
    MPT_CHILD_OK(mproc_proxy_lock_release(a->lock));
  return 0;
}

static void lock_try_from_child(mproc_proxy *l, int expect)
{
  struct ltry a = {l, expect};
  mproc_process p;
  start(&p, lock_try, &a);
  mpt_join_all(&p, 1);
}

MPT_TEST(manager_lock_acquire_release_timeouts_and_release_unlocked_estate, "EX-002-08",
         "A manager Lock is taken by acquire; on a held lock timeout 0 or "
         "negative gives EAGAIN at once and a positive one ETIMEDOUT no "
         "sooner than the limit; release frees it, and releasing an "
         "unlocked lock gives ESTATE.")
{
  static const struct {
    const char *label;
    double timeout;
    int expect;
  } held[] = {{"0", 0, MPROC_EAGAIN},
              {"-1 (like 0)", -1, MPROC_EAGAIN},
              {"0.1", 0.1, MPROC_ETIMEDOUT},
              {"0.25", 0.25, MPROC_ETIMEDOUT}};
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *l;
  MPT_OK(mproc_manager_lock(m, &l));
  MPT_ERR(mproc_proxy_lock_release(l), MPROC_ESTATE);
  MPT_OK(mproc_proxy_lock_acquire(l, MPROC_FOREVER));
  for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) {
    double t = held[i].timeout, t0 = mpt_now(), elapsed;
    int rc = mproc_proxy_lock_acquire(l, t);
    elapsed = mpt_now() - t0;
    ck_assert_msg(rc == held[i].expect, "timeout %s: %s, expected %s",
                  held[i].label, mproc_err_name(rc),
                  mproc_err_name(held[i].expect));
    if (t > 0)
      MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
    else
      MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
  }
  lock_try_from_child(l, MPROC_EAGAIN);
  MPT_OK(mproc_proxy_lock_release(l));
  MPT_ERR(mproc_proxy_lock_release(l), MPROC_ESTATE);
  lock_try_from_child(l, 0);
  MPT_OK(mproc_proxy_lock_acquire(l, 0));
  MPT_OK(mproc_proxy_lock_release(l));
  MPT_OK(mproc_proxy_lock_acquire(l, MPROC_DEFAULT_TIMEOUT));
  MPT_OK(mproc_proxy_lock_release(l));
  MPT_ERR(mproc_proxy_lock_release(l), MPROC_ESTATE);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

struct lblock {
  mproc_proxy *lock;
  mproc_semaphore *about;
  int64_t *returned;
};

static int lock_blocked(void *p)
{
  struct lblock *a = p;
  int rc;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  rc = mproc_proxy_lock_acquire(a->lock, mpt_scale(30));
  __atomic_store_n(a->returned, 1, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(rc);
  MPT_CHILD_OK(mproc_proxy_lock_release(a->lock));
  return 0;
}

static int lock_release_only(void *p)
{
  MPT_CHILD_OK(mproc_proxy_lock_release(p));
  return 0;
}

MPT_TEST(manager_lock_blocks_other_process_until_released, "EX-002-08",
         "While the parent holds a manager Lock another process's acquire "
         "does not return; it returns once the parent releases.  Like a "
         "Lock, it may be released by a process that does not hold it.")
{
  mproc_manager *m = mgr_start(NULL);
  mproc_array *arr;
  struct lblock a;
  mproc_process p;

  a.returned = mpt_scratch(&arr, 1);
  MPT_OK(mproc_semaphore_new(&a.about, 0));
  MPT_OK(mproc_manager_lock(m, &a.lock));
  MPT_OK(mproc_proxy_lock_acquire(a.lock, 0));
  start(&p, lock_blocked, &a);
  MPT_OK(mproc_semaphore_acquire(a.about, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_msg(*a.returned == 0,
                "the child's acquire returned while the parent held the lock");
  MPT_OK(mproc_proxy_lock_release(a.lock));
  mpt_join_all(&p, 1);

  MPT_OK(mproc_proxy_lock_acquire(a.lock, 0));
  start(&p, lock_release_only, a.lock);
  mpt_join_all(&p, 1);
  MPT_OK(mproc_proxy_lock_acquire(a.lock, 0));
  MPT_OK(mproc_proxy_lock_release(a.lock));

  mproc_proxy_free(a.lock);
  mproc_semaphore_free(a.about);
  mproc_array_free(arr);
  mproc_manager_free(m);
}

enum holder_end { HOLDER_RETURNS, HOLDER_WAITS };

struct mholder {
  mproc_proxy *lock;
  mproc_event *held, *never;
  enum holder_end end;
};

static int hold_manager_lock(void *p)
{
  struct mholder *h = p;
  MPT_CHILD_OK(mproc_proxy_lock_acquire(h->lock, mpt_scale(30)));
  MPT_CHILD_OK(mproc_event_set(h->held));
  if (h->end == HOLDER_WAITS) {
    mproc_event_wait(h->never, mpt_scale(60));
    return 1;
  }
  return 0; /* ends holding it */
}

MPT_TEST_F(manager_lock_holder_death_next_acquire_eownerdead_and_holds_it, "EX-002-08", "manager owner-died",
         "When the process holding a manager Lock exits or is killed, the "
         "next acquire returns EOWNERDEAD within a bounded time and the "
         "caller then holds the lock (CPython's manager lock would stay "
         "locked).")
{
  static const struct {
    const char *label;
    enum holder_end end;
    bool kill, join_first;
  } deaths[] = {
      {"holder exited, joined before acquire", HOLDER_RETURNS, false, true},
      {"holder exits while the caller acquires", HOLDER_RETURNS, false, false},
      {"holder killed", HOLDER_WAITS, true, true},
  };
  for (size_t d = 0; d < sizeof deaths / sizeof deaths[0]; d++) {
    mproc_manager *m = mgr_start(NULL);
    struct mholder h = {NULL, NULL, NULL, deaths[d].end};
    mproc_process p;
    double t0;
    int rc, code = -1;
    MPT_OK(mproc_manager_lock(m, &h.lock));
    MPT_OK(mproc_event_new(&h.held));
    MPT_OK(mproc_event_new(&h.never));
    start(&p, hold_manager_lock, &h);
    MPT_OK(mproc_event_wait(h.held, mpt_scale(30)));
    if (deaths[d].kill)
      MPT_OK(mproc_process_kill(&p));
    if (deaths[d].join_first)
      MPT_OK(mproc_process_join(&p, mpt_scale(30)));
    t0 = mpt_now();
    rc = mproc_proxy_lock_acquire(h.lock, mpt_scale(10));
    ck_assert_msg(rc == MPROC_EOWNERDEAD, "%s: acquire returned %s",
                  deaths[d].label, mproc_err_name(rc));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
    /* The caller holds it now. */
    lock_try_from_child(h.lock, MPROC_EAGAIN);
    MPT_ERR(mproc_proxy_lock_acquire(h.lock, 0), MPROC_EAGAIN);
    MPT_OK(mproc_proxy_lock_release(h.lock));
    MPT_ERR(mproc_proxy_lock_release(h.lock), MPROC_ESTATE);
    lock_try_from_child(h.lock, 0);
    MPT_OK(mproc_process_join(&p, mpt_scale(30)));
    MPT_OK(mproc_process_exitcode(&p, &code));
    ck_assert_int_eq(code, deaths[d].kill ? -9 : 0);
    MPT_OK(mproc_process_close(&p));
    mproc_event_free(h.held);
    mproc_event_free(h.never);
    mproc_proxy_free(h.lock);
    mproc_manager_free(m);
  }
}

/* ------------------------------------------------------------------------ */
/* Event                                                                    */
/* ------------------------------------------------------------------------ */

MPT_TEST(manager_event_set_clear_is_set_and_wait_timeouts, "EX-000-07",
         "A manager Event starts clear; wait gives EAGAIN at once for "
         "timeout 0 or negative and ETIMEDOUT no sooner than a positive "
         "limit; after set, is_set is true and wait returns 0 at once; "
         "clear resets it.")
{
  static const struct {
    const char *label;
    double timeout;
    int expect;
  } clear_waits[] = {{"0", 0, MPROC_EAGAIN},
                     {"-1 (like 0)", -1, MPROC_EAGAIN},
                     {"0.1", 0.1, MPROC_ETIMEDOUT},
                     {"0.25", 0.25, MPROC_ETIMEDOUT}};
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *e;
  bool b = true;
  MPT_OK(mproc_manager_event(m, &e));
  MPT_OK(mproc_proxy_event_is_set(e, &b));
  ck_assert(!b);
  for (size_t i = 0; i < sizeof clear_waits / sizeof clear_waits[0]; i++) {
    double t = clear_waits[i].timeout, t0 = mpt_now(), elapsed;
    int rc = mproc_proxy_event_wait(e, t);
    elapsed = mpt_now() - t0;
    ck_assert_msg(rc == clear_waits[i].expect, "timeout %s: %s, expected %s",
                  clear_waits[i].label, mproc_err_name(rc),
                  mproc_err_name(clear_waits[i].expect));
    if (t > 0)
      MPT_ELAPSED_WITHIN(elapsed, t, t + mpt_scale(2));
    else
      MPT_ELAPSED_WITHIN(elapsed, 0, mpt_scale(1));
  }
  MPT_OK(mproc_proxy_event_set(e));
  MPT_OK(mproc_proxy_event_set(e)); /* idempotent */
  MPT_OK(mproc_proxy_event_is_set(e, &b));
  ck_assert(b);
  MPT_OK(mproc_proxy_event_wait(e, 0));
  MPT_OK(mproc_proxy_event_wait(e, MPROC_FOREVER));
  MPT_OK(mproc_proxy_event_wait(e, MPROC_DEFAULT_TIMEOUT));
  MPT_OK(mproc_proxy_event_clear(e));
  MPT_OK(mproc_proxy_event_is_set(e, &b));
  ck_assert(!b);
  MPT_ERR(mproc_proxy_event_wait(e, 0), MPROC_EAGAIN);
  mproc_proxy_free(e);
  mproc_manager_free(m);
}

struct ewait {
  mproc_proxy *event;
  mproc_semaphore *about;
  int64_t *s; /* [i]: 1 + the wait's result code, once returned */
  int i;
};

static int event_waiter(void *p)
{
  struct ewait *a = p;
  int rc;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  rc = mproc_proxy_event_wait(a->event, mpt_scale(30));
  __atomic_store_n(&a->s[a->i], 1 - rc, __ATOMIC_SEQ_CST);
  MPT_CHILD_OK(rc);
  return 0;
}

MPT_TEST(manager_event_one_set_releases_waiters_in_three_processes, "EX-000-07",
         "Three processes waiting on a manager Event do not return before "
         "it is set, and one set by the parent releases all three.")
{
  enum { N = 3 };
  mproc_manager *m = mgr_start(NULL);
  mproc_array *arr;
  int64_t *s = mpt_scratch(&arr, N);
  mproc_proxy *e;
  mproc_semaphore *about;
  struct ewait args[N];
  mproc_process procs[N];

  MPT_OK(mproc_manager_event(m, &e));
  MPT_OK(mproc_semaphore_new(&about, 0));
  for (int i = 0; i < N; i++)
    args[i] = (struct ewait){e, about, s, i};
  mpt_spawn_each(procs, N, event_waiter, args, sizeof args[0]);
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_semaphore_acquire(about, mpt_scale(30)));
  mpt_observe(0.2);
  for (int i = 0; i < N; i++)
    ck_assert_msg(s[i] == 0, "waiter %d returned %s before the set", i,
                  mproc_err_name((int)(1 - s[i])));
  MPT_OK(mproc_proxy_event_set(e));
  mpt_join_all(procs, N);
  for (int i = 0; i < N; i++)
    ck_assert_int_eq(s[i], 1);
  mproc_semaphore_free(about);
  mproc_proxy_free(e);
  mproc_array_free(arr);
  mproc_manager_free(m);
}

/* ------------------------------------------------------------------------ */
/* Atomicity                                                                */
/* ------------------------------------------------------------------------ */

struct counter {
  mproc_proxy *dict, *lock;
  int iterations;
};

static int count_under_manager_lock(void *p)
{
  struct counter *a = p;
  mproc_obj *key = mproc_obj_str("count"), *zero = mproc_obj_int(0);
  for (int i = 0; i < a->iterations; i++) {
    mproc_obj *out, *next;
    int64_t v = -1;
    MPT_CHILD_OK(mproc_proxy_lock_acquire(a->lock, mpt_scale(30)));
    MPT_CHILD_OK(mproc_proxy_dict_get(a->dict, key, zero, &out));
    MPT_CHILD_ASSERT(take_int(out, &v));
    next = mproc_obj_int(v + 1);
    MPT_CHILD_OK(mproc_proxy_dict_set(a->dict, key, next));
    mproc_obj_free(next);
    MPT_CHILD_OK(mproc_proxy_lock_release(a->lock));
  }
  mproc_obj_free(key);
  mproc_obj_free(zero);
  return 0;
}

MPT_TEST(manager_dict_counter_under_manager_lock_reaches_n_times_m, "EX-002-08",
         "Four processes doing 200 read-increment-write cycles each on a "
         "manager dict entry under a manager Lock leave it at exactly 800.")
{
  enum { N = 4, M = 200 };
  mproc_manager *m = mgr_start(NULL);
  struct counter a = {NULL, NULL, M};
  mproc_process procs[N];
  mproc_obj *out;
  int64_t v = -1;
  MPT_OK(mproc_manager_dict(m, &a.dict));
  MPT_OK(mproc_manager_lock(m, &a.lock));
  mpt_spawn(procs, N, count_under_manager_lock, &a);
  mpt_join_all(procs, N);
  MPT_OK(mproc_proxy_dict_get(a.dict, ostr("count"), NULL, &out));
  ck_assert_msg(take_int(out, &v) && v == N * M, "count is %lld, expected %d",
                (long long)v, N * M);
  MPT_OK(mproc_proxy_lock_acquire(a.lock, 0)); /* left unlocked */
  MPT_OK(mproc_proxy_lock_release(a.lock));
  mproc_proxy_free(a.dict);
  mproc_proxy_free(a.lock);
  mproc_manager_free(m);
  tmp_free();
}

struct appender {
  mproc_proxy *list;
  int who, count;
};

static int append_items(void *p)
{
  struct appender *a = p;
  for (int i = 0; i < a->count; i++) {
    mproc_obj *item = mproc_obj_list();
    MPT_CHILD_ASSERT(item != NULL);
    MPT_CHILD_OK(mproc_obj_list_append(item, mproc_obj_int(a->who)));
    MPT_CHILD_OK(mproc_obj_list_append(item, mproc_obj_int(i)));
    MPT_CHILD_OK(mproc_proxy_list_append(a->list, item));
    mproc_obj_free(item);
  }
  return 0;
}

/* Every [who, i] item is there once, each appender's in its order. */
static void check_appends(mproc_proxy *l, int writers, int count)
{
  mproc_obj *all;
  int next[16] = {0};
  ck_assert(writers <= 16);
  MPT_OK(mproc_proxy_list_copy(l, &all));
  ck_assert_msg(mproc_obj_len(all) == (size_t)writers * (size_t)count,
                "%zu items, expected %d", mproc_obj_len(all), writers * count);
  for (size_t i = 0; i < mproc_obj_len(all); i++) {
    const mproc_obj *item = mproc_obj_list_get(all, i);
    int64_t who = -1, seq = -1;
    mproc_obj_get_int(mproc_obj_list_get(item, 0), &who);
    mproc_obj_get_int(mproc_obj_list_get(item, 1), &seq);
    ck_assert_msg(who >= 0 && who < writers && seq == next[who],
                  "item %zu is [%lld, %lld]: lost, duplicated or out of order",
                  i, (long long)who, (long long)seq);
    next[who]++;
  }
  mproc_obj_free(all);
}

MPT_TEST(manager_concurrent_list_appends_lose_nothing_keep_each_order, "EX-000-07",
         "Four processes appending 100 items each to one manager list "
         "without a lock leave 400 items, each process's in the order it "
         "appended them: every server operation is atomic.")
{
  enum { N = 4, K = 100 };
  mproc_manager *m = mgr_start(NULL);
  mproc_proxy *l;
  struct appender args[N];
  mproc_process procs[N];
  MPT_OK(mproc_manager_list(m, &l));
  for (int i = 0; i < N; i++)
    args[i] = (struct appender){l, i, K};
  mpt_spawn_each(procs, N, append_items, args, sizeof args[0]);
  mpt_join_all(procs, N);
  check_appends(l, N, K);
  mproc_proxy_free(l);
  mproc_manager_free(m);
}

struct tget {
  mproc_proxy *q;
  mproc_semaphore *about;
  int returned, rc;
  mproc_obj *out;
};

static void *thread_get(void *p)
{
  struct tget *a = p;
  mproc_semaphore_release(a->about);
  a->rc = mproc_proxy_queue_get(a->q, &a->out, mpt_scale(30));
  __atomic_store_n(&a->returned, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void *thread_append(void *p)
{
  struct appender *a = p;
  for (int i = 0; i < a->count; i++) {
    mproc_obj *item = mproc_obj_list();
    int rc;
    if (item == NULL)
      return (void *)(intptr_t)MPROC_ENOMEM;
    mproc_obj_list_append(item, mproc_obj_int(a->who));
    mproc_obj_list_append(item, mproc_obj_int(i));
    rc = mproc_proxy_list_append(a->list, item);
    mproc_obj_free(item);
    if (rc != 0)
      return (void *)(intptr_t)rc;
  }
  return NULL;
}

MPT_TEST(manager_threads_of_one_process_do_not_block_each_other, "EX-000-07",
         "A thread blocked in a queue get does not stop another thread of "
         "the same process from putting the item that wakes it, and four "
         "threads appending 100 items each lose nothing.")
{
  enum { T = 4, K = 100 };
  mproc_manager *m = mgr_start(NULL);
  struct tget g = {0};
  struct appender args[T];
  pthread_t th[T];
  mproc_proxy *l;
  double t0;

  MPT_OK(mproc_manager_queue(m, 0, &g.q));
  MPT_OK(mproc_semaphore_new(&g.about, 0));
  mpt_thread_create(&th[0], thread_get, &g);
  MPT_OK(mproc_semaphore_acquire(g.about, mpt_scale(30)));
  mpt_observe(0.2);
  ck_assert_msg(__atomic_load_n(&g.returned, __ATOMIC_SEQ_CST) == 0,
                "get returned %s on an empty queue", mproc_err_name(g.rc));
  t0 = mpt_now();
  MPT_OK(mproc_proxy_queue_put(g.q, ostr("from the other thread"), 0));
  MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
  ck_assert_int_eq(pthread_join(th[0], NULL), 0);
  MPT_OK(g.rc);
  ASSERT_REPR(g.out, "'from the other thread'");
  mproc_proxy_free(g.q);
  mproc_semaphore_free(g.about);

  MPT_OK(mproc_manager_list(m, &l));
  for (int i = 0; i < T; i++) {
    args[i] = (struct appender){l, i, K};
    mpt_thread_create(&th[i], thread_append, &args[i]);
  }
  for (int i = 0; i < T; i++) {
    void *ret;
    ck_assert_int_eq(pthread_join(th[i], &ret), 0);
    ck_assert_msg(ret == NULL, "thread %d: append returned %s", i,
                  mproc_err_name((int)(intptr_t)ret));
  }
  check_appends(l, T, K);
  mproc_proxy_free(l);
  mproc_manager_free(m);
  tmp_free();
}

/* ------------------------------------------------------------------------ */
/* Connecting, authentication, hostile clients                              */
/* ------------------------------------------------------------------------ */

static const char conn_key[] = "the right key";

struct connect_arg {
  const char *address;
  mproc_proxy *shared;
};

static int connect_from_child(void *p)
{
  struct connect_arg *a = p;
  mproc_manager *c = NULL;
  mproc_proxy *v;
  mproc_obj *out;
  MPT_CHILD_OK(mproc_manager_connect(&c, a->address, conn_key,
                                     sizeof conn_key - 1));
  MPT_CHILD_EQ(mproc_manager_pid(c), 0);
  MPT_CHILD_ASSERT(mproc_manager_address(c) != NULL &&
                   strcmp(mproc_manager_address(c), a->address) == 0);
  MPT_CHILD_OK(mproc_manager_value(c, oint(7), &v));
  MPT_CHILD_OK(mproc_proxy_value_get(v, &out));
  CHILD_REPR(out, "7");
  MPT_CHILD_OK(mproc_proxy_value_set(v, ostr("through a connected manager")));
  MPT_CHILD_ERR(mproc_manager_shutdown(c), MPROC_ENOTSUP);
  MPT_CHILD_OK(mproc_proxy_value_get(v, &out)); /* still served */
  CHILD_REPR(out, "'through a connected manager'");
  mproc_proxy_free(v);
  mproc_manager_free(c);
  /* The inherited handle works as before. */
  MPT_CHILD_OK(mproc_proxy_list_append(a->shared, ostr("child")));
  tmp_free();
  return 0;
}

MPT_TEST(manager_connect_from_child_works_its_shutdown_enotsup, "EX-000-07",
         "A child connecting by address and key gets a working manager "
         "with pid 0 whose shutdown gives ENOTSUP; freeing it leaves the "
         "server running for everyone.")
{
  mproc_manager_options o = {.authkey = conn_key,
                             .authkey_len = sizeof conn_key - 1};
  mproc_manager *m = mgr_start(&o), *c = NULL;
  pid_t pid = mproc_manager_pid(m);
  struct where w;
  struct connect_arg a;
  mproc_process p;
  mproc_proxy *d;
  mproc_obj *out;

  where_of(m, &w);
  a.address = w.path;
  MPT_OK(mproc_manager_list(m, &a.shared));
  start(&p, connect_from_child, &a);
  mpt_join_all(&p, 1);
  ck_assert(running(pid));
  MPT_OK(mproc_proxy_list_copy(a.shared, &out));
  ASSERT_REPR(out, "['child']");

  /* The same from the starting process itself. */
  MPT_OK(mproc_manager_connect(&c, w.path, conn_key, sizeof conn_key - 1));
  ck_assert_int_eq(mproc_manager_pid(c), 0);
  MPT_OK(mproc_manager_dict(c, &d));
  MPT_OK(mproc_proxy_dict_set(d, ostr("k"), oint(1)));
  ck_assert_uint_eq(dict_len(d), 1);
  MPT_ERR(mproc_manager_shutdown(c), MPROC_ENOTSUP);
  mproc_proxy_free(d);
  mproc_manager_free(c);
  ck_assert(running(pid));
  MPT_OK(mproc_proxy_list_append(a.shared, ostr("parent")));
  ck_assert_uint_eq(list_len(a.shared), 2);

  mproc_proxy_free(a.shared);
  mproc_manager_free(m);
  assert_left_nothing(pid, &w);
  tmp_free();
}

MPT_TEST(manager_connect_with_wrong_key_eauth_server_keeps_serving, "EX-000-07",
         "Connecting with a wrong key (another key, a prefix or an "
         "extension of the right one, an empty key, or any key to a "
         "manager with a random key) gives EAUTH promptly, while another "
         "client keeps being served.")
{
  static const struct {
    const char *label;
    const char *key;
    size_t len;
  } wrong[] = {
      {"another key", "the wrong key", 13},
      {"a prefix", conn_key, sizeof conn_key - 2},
      {"an extension", "the right key!", 14},
      {"an empty key", NULL, 0},
  };
  mproc_manager_options o = {.authkey = conn_key,
                             .authkey_len = sizeof conn_key - 1};
  mproc_manager *m = mgr_start(&o), *rnd = mgr_start(NULL), *c;
  struct hammer h;
  struct where w, wr;

  where_of(m, &w);
  where_of(rnd, &wr);
  hammer_start(&h, m);
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    double t0 = mpt_now();
    int rc;
    c = NULL;
    rc = mproc_manager_connect(&c, w.path, wrong[i].key, wrong[i].len);
    ck_assert_msg(rc == MPROC_EAUTH, "%s: connect returned %s", wrong[i].label,
                  mproc_err_name(rc));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(5));
    hammer_progress(&h, wrong[i].label);
  }
  c = NULL;
  MPT_ERR(mproc_manager_connect(&c, wr.path, conn_key, sizeof conn_key - 1),
          MPROC_EAUTH);
  /* The right key still works. */
  c = NULL;
  MPT_OK(mproc_manager_connect(&c, w.path, conn_key, sizeof conn_key - 1));
  mproc_manager_free(c);
  hammer_finish(&h);
  mproc_manager_free(rnd);
  mproc_manager_free(m);
}

static const struct {
  const char *label;
  const char *prefix;
  size_t prefix_len;
  unsigned char fill;
  size_t fill_len;
} garbage[] = {
    {"text instead of frames", "GET / HTTP/1.1\r\nHost: mproc\r\n\r\n", 31, 0,
     0},
    {"length prefix 0x7fffffff and nothing more", "\x7f\xff\xff\xff", 4, 0,
     0},
    {"length prefix 0x7fffffff and 4096 bytes", "\x7f\xff\xff\xff", 4, 'A',
     4096},
    {"length 0xffffffff then a 2^63 length", "\xff\xff\xff\xff\x80\0\0\0\0\0\0\0",
     12, 0, 0},
    {"a 5-byte frame that answers nothing", "\0\0\0\x05hello", 9, 0, 0},
    {"a 32-byte frame of zeros (a wrong answer)", "\0\0\0\x20", 4, 0, 32},
    {"64 KiB of 0xff", "", 0, 0xff, 65536},
};

MPT_TEST(manager_raw_client_sending_garbage_is_disconnected_others_served, "EX-000-07 EX-002-08",
         "A raw socket client that sends text, an oversized length prefix "
         "or a frame that is no answer to the challenge is disconnected "
         "(read returns 0), and a client that closes at once changes "
         "nothing, while another client keeps being served.")
{
  mproc_manager *m = mgr_start(NULL);
  struct hammer h;
  struct where w;
  unsigned char *buf = malloc(65536 + 64);
  int fd;

  ck_assert_ptr_nonnull(buf);
  where_of(m, &w);
  hammer_start(&h, m);
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
    size_t len = garbage[i].prefix_len + garbage[i].fill_len;
    memcpy(buf, garbage[i].prefix, garbage[i].prefix_len);
    memset(buf + garbage[i].prefix_len, garbage[i].fill, garbage[i].fill_len);
    fd = raw_connect(w.path);
    raw_send(fd, buf, len);
    ck_assert_msg(raw_closed_within(fd, mpt_scale(10)),
                  "%s: still connected after %.1fs", garbage[i].label,
                  mpt_scale(10));
    close(fd);
    hammer_progress(&h, garbage[i].label);
  }
  fd = raw_connect(w.path);
  close(fd);
  hammer_progress(&h, "after a client that closed at once");
  free(buf);
  hammer_finish(&h);
  mproc_manager_free(m);
}

MPT_TEST(manager_raw_client_silent_is_disconnected_others_served, "EX-000-07 EX-002-08",
         "Sixteen raw clients that connect and send nothing, or half a "
         "length prefix, do not delay other clients and are disconnected "
         "within a bounded time (the authentication time limit).")
{
  enum { SILENT = 16 };
  mproc_manager *m = mgr_start(NULL);
  struct hammer h;
  struct where w;
  mproc_proxy *d;
  int fds[SILENT];
  double t0;

  where_of(m, &w);
  MPT_OK(mproc_manager_dict(m, &d));
  hammer_start(&h, m);
  t0 = mpt_now();
  for (int i = 0; i < SILENT; i++) {
    fds[i] = raw_connect(w.path);
    if (i % 2 == 1)
      raw_send(fds[i], "\0\0", 2);
  }
  /* Served at once while they hang on. */
  hammer_progress(&h, "with silent clients connected");
  MPT_OK(mproc_proxy_dict_set(d, ostr("k"), ostr("v")));
  ck_assert_uint_eq(dict_len(d), 1);
  for (int i = 0; i < SILENT; i++) {
    double left = t0 + mpt_scale(15) - mpt_now();
    ck_assert_msg(raw_closed_within(fds[i], left > 0 ? left : 0),
                  "silent client %d still connected after %.1fs", i,
                  mpt_now() - t0);
    close(fds[i]);
  }
  hammer_progress(&h, "after the silent clients were cut off");
  hammer_finish(&h);
  mproc_proxy_free(d);
  mproc_manager_free(m);
  tmp_free();
}

static int connect_as_other_user(void *p)
{
  const char *path = p;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd, r, e;
  MPT_CHILD_ASSERT(setgroups(0, NULL) == 0);
  MPT_CHILD_ASSERT(setgid(65534) == 0);
  MPT_CHILD_ASSERT(setuid(65534) == 0);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  MPT_CHILD_ASSERT(fd >= 0);
  strcpy(sa.sun_path, path);
  r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  e = errno;
  close(fd);
  if (r == 0 || e != EACCES)
    mpt__child_fail(__FILE__, __LINE__,
                    "connect as uid 65534 returned %d (%s), expected EACCES",
                    r, r == 0 ? "connected" : strerror(e));
  return 0;
}

MPT_TEST(manager_socket_in_directory_only_this_user_may_enter, "EX-000-07 EX-002-08",
         "The socket lives in a directory of mode 0700 owned by the "
         "caller's user.")
{
  mproc_manager *m = mgr_start(NULL);
  struct where w;
  struct stat st;
  where_of(m, &w);
  ck_assert_msg(stat(w.dir, &st) == 0, "stat %s: %s", w.dir, strerror(errno));
  ck_assert_msg(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
                "%s has mode %o, expected a directory of mode 0700", w.dir,
                (unsigned)(st.st_mode & 07777));
  ck_assert_msg(st.st_uid == geteuid(), "%s is owned by uid %ld, not %ld",
                w.dir, (long)st.st_uid, (long)geteuid());
  ck_assert_msg(stat(w.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
                    st.st_uid == geteuid(),
                "%s is not a socket owned by uid %ld", w.path,
                (long)geteuid());
  mproc_manager_free(m);
}

MPT_TEST(manager_socket_refuses_a_process_of_another_user_eacces, "EX-000-07 EX-002-08",
         "A process of another user cannot connect to the server's socket "
         "(EACCES); checking it needs root, to become that user.")
{
  mproc_manager *m;
  mproc_process p;
  struct where w;
  MPT_UNTESTED_IF(geteuid() != 0,
                  "needs root to run a process as another user (uid 65534)");
  m = mgr_start(NULL);
  where_of(m, &w);
  start(&p, connect_as_other_user, w.path);
  mpt_join_all(&p, 1);
  mproc_manager_free(m);
}

/* ------------------------------------------------------------------------ */
/* Shutdown and a server that dies                                          */
/* ------------------------------------------------------------------------ */

struct after_arg {
  struct kit *k;
  mproc_semaphore *ready;
  mproc_event *shut;
  int64_t *s; /* [2i]: result code of call i, [2i+1]: its duration in us;
                 [2 * KIT_NOPS]: 1 + the child's shutdown result */
};

static int use_after_shutdown(void *p)
{
  struct after_arg *a = p;
  /* A connection of its own before the shutdown. */
  MPT_CHILD_OK(mproc_proxy_dict_set(a->k->dict, a->k->key, a->k->val));
  MPT_CHILD_OK(mproc_semaphore_release(a->ready));
  MPT_CHILD_OK(mproc_event_wait(a->shut, mpt_scale(30)));
  for (size_t i = 0; i < KIT_NOPS; i++) {
    double t0 = mpt_now();
    a->s[2 * i] = kit_run(a->k, i);
    a->s[2 * i + 1] = (int64_t)((mpt_now() - t0) * 1e6);
  }
  a->s[2 * KIT_NOPS] = 1 + mproc_manager_shutdown(a->k->m);
  return 0;
}

MPT_TEST(manager_calls_after_shutdown_eclosed_here_ebroken_in_child, "EX-000-07 EX-002-08",
         "After shutdown every proxy call and object creation gives ECLOSED "
         "in the starting process, and EBROKEN or EEOF promptly in a child "
         "started before (whose own shutdown gives ESTATE).")
{
  mproc_manager *m = mgr_start(NULL);
  struct kit k;
  struct after_arg a;
  mproc_array *arr;
  mproc_process p;

  kit_new(&k, m);
  a.k = &k;
  a.s = mpt_scratch(&arr, 2 * KIT_NOPS + 1);
  MPT_OK(mproc_semaphore_new(&a.ready, 0));
  MPT_OK(mproc_event_new(&a.shut));
  start(&p, use_after_shutdown, &a);
  MPT_OK(mproc_semaphore_acquire(a.ready, mpt_scale(30)));
  MPT_OK(mproc_manager_shutdown(m));
  MPT_OK(mproc_event_set(a.shut));
  for (size_t i = 0; i < KIT_NOPS; i++) {
    int rc = kit_run(&k, i);
    ck_assert_msg(rc == MPROC_ECLOSED,
                  "in the starting process, %s returned %s, expected ECLOSED",
                  kit_ops[i].name, mproc_err_name(rc));
  }
  mpt_join_all(&p, 1);
  for (size_t i = 0; i < KIT_NOPS; i++) {
    ck_assert_msg(gone_error((int)a.s[2 * i]),
                  "in the child, %s returned %s, expected EBROKEN or EEOF",
                  kit_ops[i].name, mproc_err_name((int)a.s[2 * i]));
    ck_assert_msg(a.s[2 * i + 1] <= (int64_t)(mpt_scale(5) * 1e6),
                  "in the child, %s took %.3fs", kit_ops[i].name,
                  (double)a.s[2 * i + 1] / 1e6);
  }
  ck_assert_msg(a.s[2 * KIT_NOPS] - 1 == MPROC_ESTATE,
                "shutdown in the child returned %s, expected ESTATE",
                mproc_err_name((int)(a.s[2 * KIT_NOPS] - 1)));
  kit_free(&k);
  mproc_manager_free(m);
  mproc_semaphore_free(a.ready);
  mproc_event_free(a.shut);
  mproc_array_free(arr);
}

static int shutdown_from_child(void *p)
{
  mproc_manager *m = p;
  MPT_CHILD_ERR(mproc_manager_shutdown(m), MPROC_ESTATE);
  mproc_manager_free(m); /* this process's copy only */
  return 0;
}

MPT_TEST(manager_shutdown_only_by_starter_child_estate, "EX-000-07 EX-002-08",
         "A child's shutdown of the manager it inherited gives ESTATE, and "
         "freeing its copy leaves the server serving the parent.")
{
  mproc_manager *m = mgr_start(NULL);
  pid_t pid = mproc_manager_pid(m);
  mproc_proxy *d;
  mproc_process p;
  MPT_OK(mproc_manager_dict(m, &d));
  MPT_OK(mproc_proxy_dict_set(d, ostr("before"), oint(1)));
  start(&p, shutdown_from_child, m);
  mpt_join_all(&p, 1);
  ck_assert(running(pid));
  MPT_OK(mproc_proxy_dict_set(d, ostr("after"), oint(2)));
  ck_assert_uint_eq(dict_len(d), 2);
  MPT_OK(mproc_manager_shutdown(m));
  MPT_ERR(mproc_manager_shutdown(m), MPROC_ESTATE);
  mproc_proxy_free(d);
  mproc_manager_free(m);
  tmp_free();
}

MPT_TEST(manager_server_killed_every_call_ebroken_or_eeof_promptly, "EX-000-07 EX-002-08",
         "After the server is killed with SIGKILL every proxy call and "
         "object creation returns EBROKEN or EEOF within a bounded time, "
         "twice over; free then leaves no process, socket, directory or "
         "descriptor behind.")
{
  int fds = count_fds();
  mproc_manager *m = mgr_start(NULL);
  pid_t pid = mproc_manager_pid(m);
  struct kit k;
  struct where w;

  where_of(m, &w);
  kit_new(&k, m);
  MPT_OK(mproc_proxy_dict_set(k.dict, k.key, k.val)); /* an open connection */
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  kit_expect_gone(&k, "server killed");
  kit_expect_gone(&k, "server killed, second round");
  kit_free(&k);
  mproc_manager_free(m);
  assert_left_nothing(pid, &w);
  ck_assert_int_eq(count_fds(), fds);
}

enum blocked_op { B_GET, B_PUT, B_ACQUIRE, B_WAIT };

static const char *const blocked_names[] = {"queue get on an empty queue",
                                            "queue put on a full queue",
                                            "acquire of a held lock",
                                            "wait on a clear event"};

struct blocked {
  struct kit *k;
  mproc_proxy *full;
  mproc_semaphore *about;
  enum blocked_op op;
  int64_t *s; /* [0] returned, [1] result code, [2] when (ns) */
};

static int block_until_server_dies(void *p)
{
  struct blocked *a = p;
  mproc_obj *out = NULL;
  int rc = MPROC_EINVAL;
  MPT_CHILD_OK(mproc_semaphore_release(a->about));
  switch (a->op) {
  case B_GET:
    rc = mproc_proxy_queue_get(a->k->queue, &out, mpt_scale(30));
    break;
  case B_PUT:
    rc = mproc_proxy_queue_put(a->full, a->k->val, mpt_scale(30));
    break;
  case B_ACQUIRE:
    rc = mproc_proxy_lock_acquire(a->k->lock, mpt_scale(30));
    break;
  case B_WAIT:
    rc = mproc_proxy_event_wait(a->k->event, mpt_scale(30));
    break;
  }
  a->s[2] = (int64_t)(mpt_now() * 1e9);
  a->s[1] = rc;
  __atomic_store_n(&a->s[0], 1, __ATOMIC_SEQ_CST);
  if (rc == 0)
    mproc_obj_free(out);
  return 0;
}

MPT_TEST(manager_server_killed_while_children_block_they_fail_promptly, "EX-000-07 EX-002-08",
         "Children blocked in a queue get, a queue put, a lock acquire and "
         "an event wait when the server is killed each return EBROKEN or "
         "EEOF within a bounded time instead of hanging.")
{
  enum { N = 4 };
  mproc_manager *m = mgr_start(NULL);
  pid_t pid = mproc_manager_pid(m);
  struct kit k;
  struct where w;
  struct blocked args[N];
  mproc_process procs[N];
  mproc_semaphore *about;
  mproc_proxy *full;
  mproc_array *arr;
  int64_t *s = mpt_scratch(&arr, 3 * N);
  double killed;

  where_of(m, &w);
  kit_new(&k, m);
  MPT_OK(mproc_manager_queue(m, 1, &full));
  MPT_OK(mproc_proxy_queue_put(full, k.val, 0));
  MPT_OK(mproc_proxy_lock_acquire(k.lock, 0));
  MPT_OK(mproc_semaphore_new(&about, 0));
  for (int i = 0; i < N; i++)
    args[i] = (struct blocked){&k, full, about, (enum blocked_op)i, &s[3 * i]};
  mpt_spawn_each(procs, N, block_until_server_dies, args, sizeof args[0]);
  for (int i = 0; i < N; i++)
    MPT_OK(mproc_semaphore_acquire(about, mpt_scale(30)));
  mpt_observe(0.3);
  for (int i = 0; i < N; i++)
    ck_assert_msg(s[3 * i] == 0, "%s returned %s while the server lived",
                  blocked_names[i], mproc_err_name((int)s[3 * i + 1]));
  killed = mpt_now();
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  mpt_join_all(procs, N);
  for (int i = 0; i < N; i++) {
    double after = (double)s[3 * i + 2] / 1e9 - killed;
    ck_assert_msg(gone_error((int)s[3 * i + 1]),
                  "%s returned %s, expected EBROKEN or EEOF", blocked_names[i],
                  mproc_err_name((int)s[3 * i + 1]));
    ck_assert_msg(after <= mpt_scale(5), "%s returned %.3fs after the kill",
                  blocked_names[i], after);
  }
  mproc_semaphore_free(about);
  mproc_proxy_free(full);
  kit_free(&k);
  mproc_manager_free(m);
  assert_left_nothing(pid, &w);
  mproc_array_free(arr);
}

MPT_TEST(manager_request_or_reply_above_max_message_emsgsize, "EX-000-07",
         "With max_message 4096, a request or a reply larger than that "
         "gives EMSGSIZE, changes nothing on the server, and the manager "
         "stays usable.")
{
  mproc_manager_options o = {.max_message = 4096};
  mproc_manager *m = mgr_start(&o);
  mproc_proxy *v, *l, *p = NULL;
  mproc_obj *out;
  static unsigned char big[8192], part[3000];
  memset(big, 'b', sizeof big);
  memset(part, 'p', sizeof part);

  MPT_OK(mproc_manager_value(m, ostr("small"), &v));
  MPT_ERR(mproc_proxy_value_set(v, obytes(big, sizeof big)), MPROC_EMSGSIZE);
  MPT_OK(mproc_proxy_value_get(v, &out));
  ASSERT_REPR(out, "'small'");
  MPT_ERR(mproc_manager_value(m, obytes(big, sizeof big), &p), MPROC_EMSGSIZE);

  MPT_OK(mproc_manager_list(m, &l));
  for (int i = 0; i < 3; i++)
    MPT_OK(mproc_proxy_list_append(l, obytes(part, sizeof part)));
  MPT_ERR(mproc_proxy_list_copy(l, &out), MPROC_EMSGSIZE); /* ~9 KB reply */
  ck_assert_uint_eq(list_len(l), 3);
  MPT_OK(mproc_proxy_list_pop(l, -1, &out));
  ck_assert(mproc_obj_equal(out, obytes(part, sizeof part)));
  mproc_obj_free(out);
  MPT_OK(mproc_proxy_value_set(v, ostr("still fine")));
  MPT_OK(mproc_proxy_value_get(v, &out));
  ASSERT_REPR(out, "'still fine'");

  mproc_proxy_free(v);
  mproc_proxy_free(l);
  mproc_manager_free(m);
  tmp_free();
}

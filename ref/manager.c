/* The manager's client side: starting and stopping the server, the
 * per-process pool of authenticated connections, and the proxies.  A
 * request borrows an idle connection of the calling process (or opens a
 * new one), so concurrent calls from several threads never share one, and
 * a forked child never writes to its parent's connections (their
 * descriptors are closed in the child by the fork hook). */
#include "manager.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_S 1.0

struct mproc_manager {
  char *dir, *path;
  unsigned char *key;
  size_t keylen, max_message;
  pid_t server;  /* 0 for a connected manager */
  pid_t starter; /* the process that started the server */
  bool shut_down;
  pthread_mutex_t mu; /* guards the pool */
  pid_t pool_pid;
  mproc_conn **idle;
  size_t nidle, capidle;
};

struct mproc_proxy {
  mproc_manager *m;
  int kind;
  int64_t id;
};

/* ---- connections ---- */

/* Each step waits at most `limit` seconds. */
static int handshake(mproc_conn *c, const unsigned char *key, size_t keylen,
                     double limit) {
  void *buf = NULL;
  size_t len = 0;
  size_t hl = sizeof MGR_CHALLENGE - 1;
  int rc = mproc_conn_recv_bytes(c, &buf, &len, limit);
  if (rc != 0)
    return rc;
  unsigned char digest[MGR_DIGEST];
  bool ok = len == hl + MGR_NONCE && memcmp(buf, MGR_CHALLENGE, hl) == 0;
  if (ok)
    mproc__hmac_sha256(key, keylen, (unsigned char *)buf + hl, MGR_NONCE,
                       digest);
  free(buf);
  if (!ok)
    return MPROC_EPROTO;
  if ((rc = mproc_conn_send_bytes(c, digest, MGR_DIGEST)) != 0)
    return rc;
  rc = mproc_conn_recv_bytes(c, &buf, &len, limit);
  if (rc == MPROC_EEOF)
    return MPROC_EAUTH;
  if (rc != 0)
    return rc;
  ok = len == sizeof MGR_WELCOME - 1 && memcmp(buf, MGR_WELCOME, len) == 0;
  free(buf);
  if (!ok)
    return MPROC_EAUTH;
  /* Now make sure the server knows the key too. */
  unsigned char msg[sizeof MGR_CHALLENGE - 1 + MGR_NONCE];
  memcpy(msg, MGR_CHALLENGE, hl);
  if ((rc = mproc__random(msg + hl, MGR_NONCE)) != 0) /* LCOV_EXCL_BR_LINE: mproc__random() cannot fail (see hmac.c) */
    return rc; /* LCOV_EXCL_LINE: as above */
  if ((rc = mproc_conn_send_bytes(c, msg, sizeof msg)) != 0)
    return rc;
  if ((rc = mproc_conn_recv_bytes(c, &buf, &len, limit)) != 0)
    return rc;
  mproc__hmac_sha256(key, keylen, msg + hl, MGR_NONCE, digest);
  ok = len == MGR_DIGEST && mproc__digest_equal(buf, digest, MGR_DIGEST);
  free(buf);
  return ok ? 0 : MPROC_EAUTH;
}

static int dial(const char *path, const unsigned char *key, size_t keylen,
                size_t max_message, double limit, mproc_conn **out) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return MPROC_EINVAL;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return MPROC_ERESOURCE;
  int r;
  do
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(fd);
    return e == ENOENT || e == ECONNREFUSED ? MPROC_EEOF : MPROC_ERESOURCE;
  }
  mproc_conn *c = mproc__conn_wrap(fd, max_message);
  if (c == NULL) {
    close(fd);
    return MPROC_ENOMEM;
  }
  int rc = handshake(c, key, keylen, limit);
  if (rc != 0) {
    mproc_conn_free(c);
    return rc == MPROC_EPROTO || rc == MPROC_EBROKEN ? MPROC_EAUTH : rc;
  }
  mproc__fd_track(fd);
  *out = c;
  return 0;
}

static void drop(mproc_conn *c) {
  mproc__fd_untrack(mproc_conn_fileno(c));
  mproc_conn_free(c);
}

/* An idle connection of this process, or a new one whose handshake waits
 * at most `limit` seconds per step. */
static int borrow(mproc_manager *m, double limit, mproc_conn **out) {
  pthread_mutex_lock(&m->mu);
  if (m->shut_down && m->starter == getpid()) {
    pthread_mutex_unlock(&m->mu);
    return MPROC_ECLOSED;
  }
  if (m->pool_pid != getpid()) {
    /* Inherited: the descriptors were closed in this child by the fork
     * hook; only the memory is left to forget. */
    for (size_t i = 0; i < m->nidle; i++)
      mproc__conn_forget(m->idle[i]);
    m->nidle = 0;
    m->pool_pid = getpid();
  }
  mproc_conn *c = m->nidle > 0 ? m->idle[--m->nidle] : NULL;
  pthread_mutex_unlock(&m->mu);
  if (c != NULL) {
    *out = c;
    return 0;
  }
  int rc = dial(m->path, m->key, m->keylen, m->max_message, limit, out);
  return rc == MPROC_EEOF ? MPROC_EBROKEN : rc;
}

static void give_back(mproc_manager *m, mproc_conn *c) {
  pthread_mutex_lock(&m->mu);
  if (m->pool_pid == getpid() && m->nidle < m->capidle) {
    m->idle[m->nidle++] = c;
    c = NULL;
  } else if (m->pool_pid == getpid()) {
    size_t cap = m->capidle ? 2 * m->capidle : 4;
    mproc_conn **v = realloc(m->idle, cap * sizeof *v);
    if (v != NULL) {
      m->idle = v;
      m->capidle = cap;
      m->idle[m->nidle++] = c;
      c = NULL;
    }
  }
  pthread_mutex_unlock(&m->mu);
  if (c != NULL)
    drop(c);
}

/* Sends `req` (freed) and returns the reply's result (caller owns it),
 * waiting up to `timeout` for the reply. */
static int call_within(mproc_manager *m, mproc_obj *req, mproc_obj **result,
                       double timeout) {
  if (req == NULL)
    return MPROC_ENOMEM;
  mproc_conn *c;
  int rc = borrow(m, timeout < MGR_AUTH_SECONDS ? timeout : MGR_AUTH_SECONDS,
                  &c);
  if (rc != 0) {
    mproc_obj_free(req);
    return rc;
  }
  rc = mproc_conn_send(c, req);
  mproc_obj_free(req);
  if (rc == MPROC_EMSGSIZE || rc == MPROC_EINVAL || rc == MPROC_ENOMEM) {
    give_back(m, c); /* nothing was written: the connection is fine */
    return rc;
  }
  mproc_obj *reply = NULL;
  if (rc == 0)
    rc = mproc_conn_recv(c, &reply, timeout);
  if (rc != 0) {
    drop(c);
    return rc == MPROC_EMSGSIZE || rc == MPROC_ETIMEDOUT ? rc : MPROC_EBROKEN;
  }
  give_back(m, c);
  int64_t kind = -1;
  mproc_obj_get_int(mproc_obj_list_get(reply, 0), &kind);
  if (kind == 0) {
    if (result != NULL)
      *result = mproc_obj_copy(mproc_obj_list_get(reply, 1));
    rc = result != NULL && *result == NULL ? MPROC_ENOMEM : 0;
  } else {
    int64_t code = MPROC_EPROTO;
    mproc_obj_get_int(mproc_obj_list_get(reply, 1), &code);
    rc = (int)code;
  }
  mproc_obj_free(reply);
  return rc;
}

static int call(mproc_manager *m, mproc_obj *req, mproc_obj **result) {
  return call_within(m, req, result, MPROC_FOREVER);
}

/* [op, id, args...]: args end at the first NULL; each is copied. */
static mproc_obj *request(int op, int64_t id, const mproc_obj *a,
                          const mproc_obj *b, const mproc_obj *c) {
  mproc_obj *r = mproc_obj_list();
  int rc = mproc_obj_list_append(r, mproc_obj_int(op));
  if (rc == 0) /* else [id, ...] would be taken for another operation */
    rc = mproc_obj_list_append(r, mproc_obj_int(id));
  const mproc_obj *args[3] = {a, b, c};
  for (int i = 0; i < 3 && args[i] != NULL && rc == 0; i++)
    rc = mproc_obj_list_append(r, mproc_obj_copy(args[i]));
  if (rc != 0) {
    mproc_obj_free(r);
    return NULL;
  }
  return r;
}

/* ---- starting and stopping ---- */

static mproc_manager *alloc_manager(const void *key, size_t keylen,
                                    size_t max_message) {
  mproc_manager *m = calloc(1, sizeof *m);
  if (m == NULL)
    return NULL;
  m->key = malloc(keylen ? keylen : 1);
  if (m->key == NULL) {
    free(m);
    return NULL;
  }
  if (keylen > 0) /* an empty key may come as NULL */
    memcpy(m->key, key, keylen);
  m->keylen = keylen;
  m->max_message = max_message ? max_message : MPROC_MAX_MESSAGE_DEFAULT;
  pthread_mutex_init(&m->mu, NULL);
  m->pool_pid = getpid();
  return m;
}

static void free_manager(mproc_manager *m) {
  if (m->pool_pid == getpid()) {
    for (size_t i = 0; i < m->nidle; i++)
      drop(m->idle[i]);
  } else {
    for (size_t i = 0; i < m->nidle; i++)
      mproc__conn_forget(m->idle[i]);
  }
  free(m->idle);
  pthread_mutex_destroy(&m->mu);
  free(m->key);
  free(m->dir);
  free(m->path);
  free(m);
}

static char *dup_str(const char *s) {
  char *d = malloc(strlen(s) + 1);
  if (d != NULL)
    strcpy(d, s);
  return d;
}

int mproc_manager_start(mproc_manager **out,
                        const mproc_manager_options *opts) {
  if (out == NULL || (opts != NULL && opts->authkey == NULL &&
                      opts->authkey_len > 0))
    return MPROC_EINVAL;
  if (mproc__is_daemon())
    return MPROC_ESTATE; /* daemons may not have children */
  unsigned char rnd[32];
  const void *key = rnd;
  size_t keylen = sizeof rnd;
  if (opts != NULL && opts->authkey != NULL) {
    key = opts->authkey;
    keylen = opts->authkey_len;
  } else if (mproc__random(rnd, sizeof rnd) != 0) { /* LCOV_EXCL_BR_LINE: mproc__random() cannot fail (see hmac.c) */
    return MPROC_ERESOURCE; /* LCOV_EXCL_LINE: as above */
  }
  mproc_manager *m =
      alloc_manager(key, keylen, opts != NULL ? opts->max_message : 0);
  if (m == NULL)
    return MPROC_ENOMEM;
  /* A private directory: only this user may reach the socket in it. */
  const char *tmp = getenv("TMPDIR");
  char tmpl[108];
  snprintf(tmpl, sizeof tmpl, "%s/mproc-XXXXXX",
           tmp != NULL && *tmp != '\0' && strlen(tmp) < 60 ? tmp : "/tmp");
  if (mkdtemp(tmpl) == NULL) {
    free_manager(m);
    return MPROC_ERESOURCE;
  }
  char path[128];
  snprintf(path, sizeof path, "%s/listener", tmpl);
  m->dir = dup_str(tmpl);
  m->path = dup_str(path);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int lfd = -1;
  int rc = m->dir == NULL || m->path == NULL ? MPROC_ENOMEM : 0;
  if (rc == 0 && strlen(path) >= sizeof sa.sun_path)
    rc = MPROC_ERESOURCE;
  if (rc == 0) {
    strcpy(sa.sun_path, path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* Listening before the fork: when start returns, connects succeed. */
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, 128) != 0)
      rc = MPROC_ERESOURCE;
  }
  pid_t parent = getpid();
  pid_t pid = -1;
  if (rc == 0) {
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
      rc = MPROC_ERESOURCE;
  }
  if (pid == 0) {
    mproc__become_daemon("SyncManager-1");
    mproc__manager_serve(lfd, m->dir, m->path, m->key, m->keylen,
                         m->max_message, parent);
  }
  if (lfd >= 0)
    close(lfd);
  if (rc != 0) {
    if (m->path)
      unlink(m->path);
    rmdir(tmpl);
    free_manager(m);
    return rc;
  }
  m->server = pid;
  m->starter = parent;
  *out = m;
  return 0;
}

int mproc_manager_connect(mproc_manager **out, const char *address,
                          const void *authkey, size_t authkey_len) {
  if (out == NULL || address == NULL || (authkey == NULL && authkey_len > 0))
    return MPROC_EINVAL;
  mproc_manager *m = alloc_manager(authkey, authkey_len, 0);
  if (m == NULL)
    return MPROC_ENOMEM;
  m->path = dup_str(address);
  if (m->path == NULL) {
    free_manager(m);
    return MPROC_ENOMEM;
  }
  mproc_conn *c;
  int rc = dial(m->path, m->key, m->keylen, m->max_message,
                MGR_AUTH_SECONDS, &c);
  if (rc != 0) {
    free_manager(m);
    return rc;
  }
  give_back(m, c);
  *out = m;
  return 0;
}

const char *mproc_manager_address(const mproc_manager *m) {
  return m == NULL ? NULL : m->path;
}

pid_t mproc_manager_pid(const mproc_manager *m) {
  return m == NULL ? 0 : m->server;
}

/* Waits up to `secs` for the server to exit and reaps it. */
static bool reap_server(pid_t pid, double secs) {
  int fd = mproc__pidfd_open(pid);
  mproc__deadline d;
  mproc__deadline_init(&d, secs, MPROC_FOREVER);
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD))
      break;
    if (mproc__deadline_passed(&d)) {
      if (fd >= 0) {
        mproc__fd_untrack(fd);
        close(fd);
      }
      return false;
    }
    if (fd >= 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, mproc__deadline_ms(&d, -1));
    } else {
      struct timespec nap = {0, 2000000L};
      nanosleep(&nap, NULL);
    }
  }
  if (fd >= 0) {
    mproc__fd_untrack(fd);
    close(fd);
  }
  return true;
}

int mproc_manager_shutdown(mproc_manager *m) {
  if (m == NULL)
    return MPROC_EINVAL;
  if (m->server == 0)
    return MPROC_ENOTSUP;
  if (m->shut_down || m->starter != getpid())
    return MPROC_ESTATE;
  /* A server that does not answer in time (stopped, say) is killed. */
  call_within(m, request(OP_SHUTDOWN, 0, NULL, NULL, NULL), NULL,
              SHUTDOWN_GRACE_S);
  pthread_mutex_lock(&m->mu);
  m->shut_down = true;
  for (size_t i = 0; i < m->nidle; i++)
    drop(m->idle[i]);
  m->nidle = 0;
  pthread_mutex_unlock(&m->mu);
  if (!reap_server(m->server, SHUTDOWN_GRACE_S)) {
    kill(m->server, SIGKILL);
    reap_server(m->server, MPROC_FOREVER);
  }
  /* The server removes these itself, unless it was killed. */
  unlink(m->path);
  rmdir(m->dir);
  return 0;
}

void mproc_manager_free(mproc_manager *m) {
  if (m == NULL)
    return;
  if (m->server != 0 && !m->shut_down && m->starter == getpid())
    mproc_manager_shutdown(m);
  free_manager(m);
}

void mproc_manager_freep(mproc_manager **m) {
  if (m != NULL) {
    mproc_manager_free(*m);
    *m = NULL;
  }
}

/* ---- proxies ---- */

static int create(mproc_manager *m, int kind, const mproc_obj *arg,
                  mproc_proxy **out) {
  if (m == NULL || out == NULL)
    return MPROC_EINVAL;
  mproc_obj *k = mproc_obj_int(kind);
  if (k == NULL)
    return MPROC_ENOMEM; /* request() would send [op, 0] without it */
  mproc_obj *req = request(OP_CREATE, 0, k, arg, NULL);
  mproc_obj_free(k);
  mproc_obj *idobj = NULL;
  int rc = call(m, req, &idobj);
  int64_t id = 0;
  if (rc == 0 && mproc_obj_get_int(idobj, &id) != 0)
    rc = MPROC_EPROTO;
  mproc_obj_free(idobj);
  if (rc != 0)
    return rc;
  mproc_proxy *p = calloc(1, sizeof *p);
  if (p == NULL)
    return MPROC_ENOMEM;
  p->m = m;
  p->kind = kind;
  p->id = id;
  *out = p;
  return 0;
}

int mproc_manager_dict(mproc_manager *m, mproc_proxy **out) {
  return create(m, K_DICT, NULL, out);
}
int mproc_manager_list(mproc_manager *m, mproc_proxy **out) {
  return create(m, K_LIST, NULL, out);
}
int mproc_manager_namespace(mproc_manager *m, mproc_proxy **out) {
  return create(m, K_NS, NULL, out);
}
int mproc_manager_lock(mproc_manager *m, mproc_proxy **out) {
  return create(m, K_LOCK, NULL, out);
}
int mproc_manager_event(mproc_manager *m, mproc_proxy **out) {
  return create(m, K_EVENT, NULL, out);
}
int mproc_manager_queue(mproc_manager *m, size_t maxsize, mproc_proxy **out) {
  if (maxsize > INT64_MAX)
    return MPROC_EINVAL;
  mproc_obj *max = mproc_obj_int((int64_t)maxsize);
  if (max == NULL)
    return MPROC_ENOMEM;
  int rc = create(m, K_QUEUE, max, out);
  mproc_obj_free(max);
  return rc;
}
int mproc_manager_value(mproc_manager *m, const mproc_obj *initial,
                        mproc_proxy **out) {
  mproc_obj *none = initial ? NULL : mproc_obj_none();
  int rc = create(m, K_VALUE, initial ? initial : none, out);
  mproc_obj_free(none);
  return rc;
}

void mproc_proxy_free(mproc_proxy *p) { free(p); }

/* One proxy call: checks the kind, sends [op, id, a, b, c]. */
static int pcall(mproc_proxy *p, int kind, int op, const mproc_obj *a,
                 const mproc_obj *b, const mproc_obj *c, mproc_obj **out) {
  if (p == NULL || p->kind != kind)
    return MPROC_EINVAL;
  return call(p->m, request(op, p->id, a, b, c), out);
}

/* Result as an int64 (len, qsize). */
static int pcall_size(mproc_proxy *p, int kind, int op, size_t *out) {
  if (out == NULL)
    return MPROC_EINVAL;
  mproc_obj *r = NULL;
  int rc = pcall(p, kind, op, NULL, NULL, NULL, &r);
  int64_t n = 0;
  if (rc == 0 && (mproc_obj_get_int(r, &n) != 0 || n < 0))
    rc = MPROC_EPROTO;
  mproc_obj_free(r);
  if (rc == 0)
    *out = (size_t)n;
  return rc;
}

static int pcall_bool(mproc_proxy *p, int kind, int op, const mproc_obj *a,
                      bool *out) {
  if (out == NULL)
    return MPROC_EINVAL;
  mproc_obj *r = NULL;
  int rc = pcall(p, kind, op, a, NULL, NULL, &r);
  if (rc == 0 && mproc_obj_get_bool(r, out) != 0)
    rc = MPROC_EPROTO;
  mproc_obj_free(r);
  return rc;
}

/* A timeout travels as a float; NaN is refused here already. */
static int with_timeout(double t, mproc_obj **out) {
  if (isnan(t))
    return MPROC_EINVAL;
  *out = mproc_obj_float(t);
  return *out == NULL ? MPROC_ENOMEM : 0;
}

static bool key_ok(const mproc_obj *k) {
  mproc_obj_type t = mproc_obj_type_of(k);
  return k != NULL && (t == MPROC_OBJ_STR || t == MPROC_OBJ_INT);
}

int mproc_proxy_dict_set(mproc_proxy *d, const mproc_obj *key,
                         const mproc_obj *value) {
  if (!key_ok(key) || value == NULL)
    return MPROC_EINVAL;
  return pcall(d, K_DICT, OP_DICT_SET, key, value, NULL, NULL);
}

int mproc_proxy_dict_get(mproc_proxy *d, const mproc_obj *key,
                         const mproc_obj *dflt, mproc_obj **out) {
  if (!key_ok(key) || out == NULL)
    return MPROC_EINVAL;
  mproc_obj *has = mproc_obj_bool(dflt != NULL);
  if (has == NULL)
    return MPROC_ENOMEM;
  int rc = pcall(d, K_DICT, OP_DICT_GET, key, has, dflt, out);
  mproc_obj_free(has);
  return rc;
}

int mproc_proxy_dict_delete(mproc_proxy *d, const mproc_obj *key) {
  if (!key_ok(key))
    return MPROC_EINVAL;
  return pcall(d, K_DICT, OP_DICT_DEL, key, NULL, NULL, NULL);
}

int mproc_proxy_dict_contains(mproc_proxy *d, const mproc_obj *key,
                              bool *out) {
  if (!key_ok(key))
    return MPROC_EINVAL;
  return pcall_bool(d, K_DICT, OP_DICT_CONTAINS, key, out);
}

int mproc_proxy_dict_len(mproc_proxy *d, size_t *out) {
  return pcall_size(d, K_DICT, OP_DICT_LEN, out);
}

int mproc_proxy_dict_keys(mproc_proxy *d, mproc_obj **out) {
  return out ? pcall(d, K_DICT, OP_DICT_KEYS, NULL, NULL, NULL, out)
             : MPROC_EINVAL;
}

int mproc_proxy_dict_items(mproc_proxy *d, mproc_obj **out) {
  return out ? pcall(d, K_DICT, OP_DICT_ITEMS, NULL, NULL, NULL, out)
             : MPROC_EINVAL;
}

int mproc_proxy_dict_copy(mproc_proxy *d, mproc_obj **out) {
  return out ? pcall(d, K_DICT, OP_DICT_COPY, NULL, NULL, NULL, out)
             : MPROC_EINVAL;
}

int mproc_proxy_list_append(mproc_proxy *l, const mproc_obj *value) {
  if (value == NULL)
    return MPROC_EINVAL;
  return pcall(l, K_LIST, OP_LIST_APPEND, value, NULL, NULL, NULL);
}

int mproc_proxy_list_extend(mproc_proxy *l, const mproc_obj *values) {
  if (mproc_obj_type_of(values) != MPROC_OBJ_LIST || values == NULL)
    return MPROC_EINVAL;
  return pcall(l, K_LIST, OP_LIST_EXTEND, values, NULL, NULL, NULL);
}

static int indexed(mproc_proxy *l, int op, int64_t index,
                   const mproc_obj *value, mproc_obj **out) {
  mproc_obj *i = mproc_obj_int(index);
  if (i == NULL)
    return MPROC_ENOMEM;
  int rc = pcall(l, K_LIST, op, i, value, NULL, out);
  mproc_obj_free(i);
  return rc;
}

int mproc_proxy_list_get(mproc_proxy *l, int64_t index, mproc_obj **out) {
  return out ? indexed(l, OP_LIST_GET, index, NULL, out) : MPROC_EINVAL;
}

int mproc_proxy_list_set(mproc_proxy *l, int64_t index,
                         const mproc_obj *value) {
  return value ? indexed(l, OP_LIST_SET, index, value, NULL) : MPROC_EINVAL;
}

int mproc_proxy_list_pop(mproc_proxy *l, int64_t index, mproc_obj **out) {
  return out ? indexed(l, OP_LIST_POP, index, NULL, out) : MPROC_EINVAL;
}

int mproc_proxy_list_len(mproc_proxy *l, size_t *out) {
  return pcall_size(l, K_LIST, OP_LIST_LEN, out);
}

int mproc_proxy_list_copy(mproc_proxy *l, mproc_obj **out) {
  return out ? pcall(l, K_LIST, OP_LIST_COPY, NULL, NULL, NULL, out)
             : MPROC_EINVAL;
}

static int ns_call(mproc_proxy *ns, int op, const char *name,
                   const mproc_obj *value, mproc_obj **out) {
  if (name == NULL)
    return MPROC_EINVAL;
  mproc_obj *k = mproc_obj_str(name);
  if (k == NULL) /* not UTF-8, or no memory */
    return mproc__utf8_valid((const unsigned char *)name, strlen(name))
               ? MPROC_ENOMEM
               : MPROC_EINVAL;
  mproc_obj *no = op == OP_NS_GET ? mproc_obj_bool(false) : NULL;
  int rc = pcall(ns, K_NS, op, k, op == OP_NS_GET ? no : value, NULL, out);
  mproc_obj_free(no);
  mproc_obj_free(k);
  return rc;
}

int mproc_proxy_ns_set(mproc_proxy *ns, const char *name,
                       const mproc_obj *value) {
  return value ? ns_call(ns, OP_NS_SET, name, value, NULL) : MPROC_EINVAL;
}

int mproc_proxy_ns_get(mproc_proxy *ns, const char *name, mproc_obj **out) {
  return out ? ns_call(ns, OP_NS_GET, name, NULL, out) : MPROC_EINVAL;
}

int mproc_proxy_ns_delete(mproc_proxy *ns, const char *name) {
  return ns_call(ns, OP_NS_DEL, name, NULL, NULL);
}

int mproc_proxy_queue_put(mproc_proxy *q, const mproc_obj *v,
                          double timeout) {
  mproc_obj *t;
  int rc = v ? with_timeout(timeout, &t) : MPROC_EINVAL;
  if (rc != 0)
    return rc;
  rc = pcall(q, K_QUEUE, OP_Q_PUT, v, t, NULL, NULL);
  mproc_obj_free(t);
  return rc;
}

int mproc_proxy_queue_get(mproc_proxy *q, mproc_obj **out, double timeout) {
  mproc_obj *t;
  int rc = out ? with_timeout(timeout, &t) : MPROC_EINVAL;
  if (rc != 0)
    return rc;
  rc = pcall(q, K_QUEUE, OP_Q_GET, t, NULL, NULL, out);
  mproc_obj_free(t);
  return rc;
}

int mproc_proxy_queue_qsize(mproc_proxy *q, size_t *out) {
  return pcall_size(q, K_QUEUE, OP_Q_QSIZE, out);
}

static int timed(mproc_proxy *p, int kind, int op, double timeout) {
  mproc_obj *t;
  int rc = with_timeout(timeout, &t);
  if (rc != 0)
    return rc;
  rc = pcall(p, kind, op, t, NULL, NULL, NULL);
  mproc_obj_free(t);
  return rc;
}

int mproc_proxy_lock_acquire(mproc_proxy *l, double timeout) {
  return timed(l, K_LOCK, OP_LOCK_ACQUIRE, timeout);
}

int mproc_proxy_lock_release(mproc_proxy *l) {
  return pcall(l, K_LOCK, OP_LOCK_RELEASE, NULL, NULL, NULL, NULL);
}

int mproc_proxy_event_set(mproc_proxy *e) {
  return pcall(e, K_EVENT, OP_EVENT_SET, NULL, NULL, NULL, NULL);
}

int mproc_proxy_event_clear(mproc_proxy *e) {
  return pcall(e, K_EVENT, OP_EVENT_CLEAR, NULL, NULL, NULL, NULL);
}

int mproc_proxy_event_is_set(mproc_proxy *e, bool *out) {
  return pcall_bool(e, K_EVENT, OP_EVENT_IS_SET, NULL, out);
}

int mproc_proxy_event_wait(mproc_proxy *e, double timeout) {
  return timed(e, K_EVENT, OP_EVENT_WAIT, timeout);
}

int mproc_proxy_value_get(mproc_proxy *v, mproc_obj **out) {
  return out ? pcall(v, K_VALUE, OP_VALUE_GET, NULL, NULL, NULL, out)
             : MPROC_EINVAL;
}

int mproc_proxy_value_set(mproc_proxy *v, const mproc_obj *x) {
  return x ? pcall(v, K_VALUE, OP_VALUE_SET, x, NULL, NULL, NULL)
           : MPROC_EINVAL;
}

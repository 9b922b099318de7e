/* The manager's server process: one thread, one poll loop, every request
 * handled whole before the next, so every operation is atomic.  Blocking
 * operations (queue get and put, lock acquire, event wait) do not block
 * the server: the request is parked with its deadline and answered when
 * it can proceed or its time is up.  A client that breaks the protocol is
 * disconnected; a client that disappears while holding a lock hands the
 * lock to the next acquirer with EOWNERDEAD. */
#include "manager.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SEND_TIMEOUT_S 5
#define ACCEPT_PAUSE_S 0.05

enum client_state { C_AUTH_DIGEST, C_AUTH_CHALLENGE, C_READY };

typedef struct client {
  mproc_conn *c;
  uint64_t id;
  enum client_state state;
  unsigned char nonce[MGR_NONCE];
  mproc__deadline auth_deadline;
  bool dead;
  size_t max_message;
  unsigned char *out; /* framed replies not yet written: see send_reply */
  size_t out_len, out_off;
  mproc__deadline out_deadline; /* cut off if nothing is written by then */
} client;

typedef struct parked {
  uint64_t client;
  int op;
  int64_t obj;
  mproc_obj *item; /* queue put: the item */
  mproc__deadline deadline;
  struct parked *next;
} parked;

typedef struct sobj {
  int kind;
  mproc_obj *data;   /* dict, list, namespace (a dict), value */
  mproc_obj **q;     /* queue ring */
  size_t qhead, qlen, qcap, maxsize;
  bool held, owner_died;
  uint64_t holder;
  bool set;
} sobj;

typedef struct server {
  const void *key;
  size_t keylen, max_message;
  client *cl;
  size_t ncl, capcl;
  uint64_t next_client;
  sobj *objs;
  size_t nobjs, capobjs;
  parked *parked_head;
  bool stop;
  bool accept_paused;           /* out of descriptors: see accept_client */
  mproc__deadline accept_again; /* when to try accepting again */
} server;

/* ---- replies ---- */

static client *find_client(server *s, uint64_t id) {
  for (size_t i = 0; i < s->ncl; i++)
    if (s->cl[i].id == id && !s->cl[i].dead)
      return &s->cl[i];
  return NULL;
}

/* [1, code, message], or NULL when any part of it cannot be made (a
 * partial list would be read as another answer). */
static mproc_obj *error_reply(int code, const char *msg) {
  mproc_obj *r = mproc_obj_list();
  if (mproc_obj_list_append(r, mproc_obj_int(1)) != 0 ||
      mproc_obj_list_append(r, mproc_obj_int(code)) != 0 ||
      mproc_obj_list_append(r, mproc_obj_str(msg)) != 0) {
    mproc_obj_free(r);
    return NULL;
  }
  return r;
}

/* Replies are queued per client and written without blocking, so that a
 * client that does not read cannot stall the others.  While a client's
 * replies wait, its requests are not read (it cannot queue more than its
 * parked requests' replies), and a client whose socket takes nothing for
 * SEND_TIMEOUT_S is cut off. */
static void flush_client(client *c) {
  while (c->out_off < c->out_len) {
    ssize_t k = send(mproc_conn_fileno(c->c), c->out + c->out_off,
                     c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->dead = true; /* gone */
      return;
    }
    c->out_off += (size_t)k;
    mproc__deadline_init(&c->out_deadline, SEND_TIMEOUT_S, MPROC_FOREVER);
  }
  free(c->out);
  c->out = NULL;
  c->out_len = c->out_off = 0;
}

/* Appends reply, framed, to the client's output. */
static int queue_reply(client *c, const mproc_obj *reply) {
  void *body;
  size_t len;
  int rc = mproc_obj_encode(reply, &body, &len);
  if (rc != 0)
    return rc;
  unsigned char hdr[12];
  size_t hlen = mproc__conn_header(len, hdr);
  unsigned char *n = NULL;
  if (len > c->max_message)
    rc = MPROC_EMSGSIZE;
  else if ((n = realloc(c->out, c->out_len + hlen + len)) == NULL)
    rc = MPROC_ENOMEM;
  if (rc == 0) {
    if (c->out_len == 0)
      mproc__deadline_init(&c->out_deadline, SEND_TIMEOUT_S, MPROC_FOREVER);
    memcpy(n + c->out_len, hdr, hlen);
    memcpy(n + c->out_len + hlen, body, len);
    c->out = n;
    c->out_len += hlen + len;
  }
  free(body);
  return rc;
}

static void send_reply(client *c, mproc_obj *reply) {
  if (c == NULL || c->dead) {
    mproc_obj_free(reply);
    return;
  }
  int rc = reply == NULL ? MPROC_ENOMEM : queue_reply(c, reply);
  mproc_obj_free(reply);
  if (rc == MPROC_EMSGSIZE || rc == MPROC_ENOMEM || rc == MPROC_EINVAL) {
    /* Nothing was queued: say why instead, in a reply that fits. */
    mproc_obj *e = error_reply(rc, mproc_strerror(rc));
    rc = e == NULL ? MPROC_ENOMEM : queue_reply(c, e);
    mproc_obj_free(e);
  }
  if (rc != 0)
    c->dead = true;
  else
    flush_client(c);
}

static void reply_ok(client *c, mproc_obj *value) {
  mproc_obj *r = mproc_obj_list();
  int rc = mproc_obj_list_append(r, mproc_obj_int(0));
  if (rc != 0)
    mproc_obj_free(value);
  else
    rc = mproc_obj_list_append(r, value ? value : mproc_obj_none());
  if (rc != 0) {
    mproc_obj_free(r);
    r = NULL;
  }
  send_reply(c, r);
}

static void reply_err(client *c, int code, const char *msg);

/* A produced value: NULL means the server ran out of memory making it. */
static void reply_value(client *c, mproc_obj *value) {
  if (value == NULL)
    reply_err(c, MPROC_ENOMEM, "out of memory");
  else
    reply_ok(c, value);
}

static void reply_err(client *c, int code, const char *msg) {
  send_reply(c, error_reply(code, msg));
}

/* ---- objects ---- */

static sobj *get_obj(server *s, int64_t id, int kind) {
  if (id < 1 || (size_t)id > s->nobjs || s->objs[id - 1].kind != kind)
    return NULL;
  return &s->objs[id - 1];
}

static int64_t create(server *s, int64_t kind, const mproc_obj *arg) {
  if (s->nobjs == s->capobjs) {
    size_t cap = s->capobjs ? 2 * s->capobjs : 16;
    sobj *o = realloc(s->objs, cap * sizeof *o);
    if (o == NULL)
      return MPROC_ENOMEM;
    s->objs = o;
    s->capobjs = cap;
  }
  sobj o = {.kind = (int)kind};
  switch (kind) {
  case K_DICT:
  case K_NS:
    o.data = mproc_obj_dict();
    break;
  case K_LIST:
    o.data = mproc_obj_list();
    break;
  case K_VALUE:
    o.data = arg ? mproc_obj_copy(arg) : mproc_obj_none();
    break;
  case K_QUEUE: {
    int64_t max = 0;
    mproc_obj_get_int(arg, &max);
    if (max < 0)
      return MPROC_EINVAL;
    o.maxsize = (size_t)max;
    o.data = mproc_obj_none(); /* marks success below */
    break;
  }
  case K_LOCK:
  case K_EVENT:
    o.data = mproc_obj_none();
    break;
  default:
    return MPROC_EINVAL;
  }
  if (o.data == NULL)
    return MPROC_ENOMEM;
  s->objs[s->nobjs++] = o;
  return (int64_t)s->nobjs;
}

static bool queue_push(sobj *o, mproc_obj *item) {
  if (o->qlen == o->qcap) {
    size_t cap = o->qcap ? 2 * o->qcap : 16;
    mproc_obj **q = malloc(cap * sizeof *q);
    if (q == NULL)
      return false;
    for (size_t i = 0; i < o->qlen; i++)
      q[i] = o->q[(o->qhead + i) % o->qcap];
    free(o->q);
    o->q = q;
    o->qcap = cap;
    o->qhead = 0;
  }
  o->q[(o->qhead + o->qlen) % o->qcap] = item;
  o->qlen++;
  return true;
}

static mproc_obj *queue_pop(sobj *o) {
  mproc_obj *item = o->q[o->qhead];
  o->qhead = (o->qhead + 1) % o->qcap;
  o->qlen--;
  return item;
}

/* Python-style index: negative counts from the end. */
static bool norm_index(int64_t i, size_t len, size_t *out) {
  if (i < 0)
    i += (int64_t)len;
  if (i < 0 || (uint64_t)i >= len)
    return false;
  *out = (size_t)i;
  return true;
}

/* ---- parked requests ---- */

static void park(server *s, client *c, int op, int64_t obj, mproc_obj *item,
                 const mproc__deadline *d) {
  parked *p = calloc(1, sizeof *p);
  if (p == NULL) {
    mproc_obj_free(item);
    reply_err(c, MPROC_ENOMEM, "out of memory");
    return;
  }
  p->client = c->id;
  p->op = op;
  p->obj = obj;
  p->item = item;
  p->deadline = *d;
  parked **tail = &s->parked_head;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = p;
}

static bool has_parked(const server *s, int op, int64_t obj) {
  for (const parked *p = s->parked_head; p != NULL; p = p->next)
    if (p->op == op && p->obj == obj)
      return true;
  return false;
}

static void unpark(server *s, parked *p) {
  parked **pp = &s->parked_head;
  while (*pp != p)
    pp = &(*pp)->next;
  *pp = p->next;
  mproc_obj_free(p->item);
  free(p);
}

/* Answers every parked request that can proceed now, oldest first, until
 * nothing changes. */
static void settle(server *s) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (parked *p = s->parked_head; p != NULL; p = p->next) {
      client *c = find_client(s, p->client);
      sobj *o = &s->objs[p->obj - 1];
      bool done = false;
      if (c == NULL) {
        done = true;
      } else if (p->op == OP_Q_GET && o->qlen > 0) {
        reply_ok(c, queue_pop(o));
        done = true;
      } else if (p->op == OP_Q_PUT && (o->maxsize == 0 || o->qlen < o->maxsize)) {
        if (queue_push(o, p->item)) { /* LCOV_EXCL_BR_LINE: see below */
          p->item = NULL;
          reply_ok(c, NULL);
        } else {
          reply_err(c, MPROC_ENOMEM, "out of memory"); /* LCOV_EXCL_LINE: a put is parked only on a full queue (or behind one that is), and proceeds after a get made room: the ring then has a free slot and queue_push() does not allocate */
        }
        done = true;
      } else if (p->op == OP_LOCK_ACQUIRE && !o->held) {
        o->held = true;
        o->holder = c->id;
        if (o->owner_died) {
          o->owner_died = false;
          reply_err(c, MPROC_EOWNERDEAD, "the lock's holder went away");
        } else {
          reply_ok(c, NULL);
        }
        done = true;
      } else if (p->op == OP_EVENT_WAIT && o->set) {
        reply_ok(c, NULL);
        done = true;
      }
      if (done) {
        unpark(s, p);
        progress = true;
        break; /* the list changed: start again */
      }
    }
  }
}

/* Answers parked requests whose time is up; returns ms to the next
 * deadline (-1: none). */
static int expire(server *s) {
  int next = -1;
  for (parked *p = s->parked_head, *n; p != NULL; p = n) {
    n = p->next;
    if (mproc__deadline_passed(&p->deadline)) {
      client *c = find_client(s, p->client);
      int code = p->op == OP_Q_GET   ? MPROC_EEMPTY
                 : p->op == OP_Q_PUT ? MPROC_EFULL
                                     : MPROC_ETIMEDOUT;
      reply_err(c, code, "timed out");
      unpark(s, p);
      continue;
    }
    int ms = mproc__deadline_ms(&p->deadline, -1);
    if (ms >= 0 && (next < 0 || ms < next))
      next = ms;
  }
  return next;
}

/* ---- requests ---- */

static const mproc_obj *arg(const mproc_obj *req, size_t i) {
  return mproc_obj_list_get(req, i);
}

static bool valid_key(const mproc_obj *k) {
  mproc_obj_type t = mproc_obj_type_of(k);
  return k != NULL && (t == MPROC_OBJ_STR || t == MPROC_OBJ_INT);
}

/* A dict without `key`, rebuilt (the value type has no removal). */
static mproc_obj *dict_without(const mproc_obj *d, const mproc_obj *key) {
  mproc_obj *n = mproc_obj_dict();
  for (size_t i = 0; n != NULL && i < mproc_obj_len(d); i++) {
    const mproc_obj *k = mproc_obj_dict_key(d, i);
    if (mproc_obj_equal(k, key))
      continue;
    if (mproc_obj_dict_set(n, mproc_obj_copy(k),
                           mproc_obj_copy(mproc_obj_dict_value(d, i))) != 0) {
      mproc_obj_free(n);
      n = NULL;
    }
  }
  return n;
}

/* A timeout travels as a float (the client sends MPROC_FOREVER as +inf);
 * anything else is a malformed request, not "no limit". */
static int timeout_of(const mproc_obj *t, mproc__deadline *d) {
  double secs;
  if (mproc_obj_get_float(t, &secs) != 0)
    return MPROC_EINVAL;
  return mproc__deadline_init(d, secs, MPROC_FOREVER);
}

static void handle(server *s, client *c, const mproc_obj *req) {
  int64_t op = 0, id = 0;
  if (mproc_obj_type_of(req) != MPROC_OBJ_LIST ||
      mproc_obj_get_int(arg(req, 0), &op) != 0 ||
      mproc_obj_get_int(arg(req, 1), &id) != 0) {
    c->dead = true; /* not our protocol */
    return;
  }
  static const int kinds[OP__COUNT] = {
      [OP_DICT_SET] = K_DICT,      [OP_DICT_GET] = K_DICT,
      [OP_DICT_DEL] = K_DICT,      [OP_DICT_CONTAINS] = K_DICT,
      [OP_DICT_LEN] = K_DICT,      [OP_DICT_KEYS] = K_DICT,
      [OP_DICT_ITEMS] = K_DICT,    [OP_DICT_COPY] = K_DICT,
      [OP_LIST_APPEND] = K_LIST,   [OP_LIST_EXTEND] = K_LIST,
      [OP_LIST_GET] = K_LIST,      [OP_LIST_SET] = K_LIST,
      [OP_LIST_POP] = K_LIST,      [OP_LIST_LEN] = K_LIST,
      [OP_LIST_COPY] = K_LIST,     [OP_NS_SET] = K_NS,
      [OP_NS_GET] = K_NS,          [OP_NS_DEL] = K_NS,
      [OP_Q_PUT] = K_QUEUE,        [OP_Q_GET] = K_QUEUE,
      [OP_Q_QSIZE] = K_QUEUE,      [OP_LOCK_ACQUIRE] = K_LOCK,
      [OP_LOCK_RELEASE] = K_LOCK,  [OP_EVENT_SET] = K_EVENT,
      [OP_EVENT_CLEAR] = K_EVENT,  [OP_EVENT_IS_SET] = K_EVENT,
      [OP_EVENT_WAIT] = K_EVENT,   [OP_VALUE_GET] = K_VALUE,
      [OP_VALUE_SET] = K_VALUE,
  };
  if (op == OP_CREATE) {
    int64_t kind = 0;
    mproc_obj_get_int(arg(req, 2), &kind);
    int64_t nid = create(s, kind, arg(req, 3));
    if (nid < 0)
      reply_err(c, (int)nid, mproc_strerror((int)nid));
    else
      reply_value(c, mproc_obj_int(nid));
    return;
  }
  if (op == OP_SHUTDOWN) {
    reply_ok(c, NULL);
    s->stop = true;
    return;
  }
  if (op <= 0 || op >= OP__COUNT || kinds[op] == 0) {
    c->dead = true;
    return;
  }
  sobj *o = get_obj(s, id, kinds[op]);
  if (o == NULL) {
    reply_err(c, MPROC_EINVAL, "no such object of that kind");
    return;
  }
  const mproc_obj *a2 = arg(req, 2), *a3 = arg(req, 3);
  mproc__deadline d;
  size_t idx;
  switch (op) {
  case OP_DICT_SET:
  case OP_NS_SET:
    if (!valid_key(a2) || a3 == NULL) {
      reply_err(c, MPROC_EINVAL, "keys are str or int");
    } else if (mproc_obj_dict_set(o->data, mproc_obj_copy(a2),
                                  mproc_obj_copy(a3)) != 0) {
      reply_err(c, MPROC_ENOMEM, "out of memory");
    } else {
      reply_ok(c, NULL);
    }
    break;
  case OP_DICT_GET:
  case OP_NS_GET: {
    const mproc_obj *v = valid_key(a2) ? mproc_obj_dict_get(o->data, a2) : NULL;
    bool has_default = false;
    mproc_obj_get_bool(a3, &has_default);
    if (v != NULL)
      reply_value(c, mproc_obj_copy(v));
    else if (has_default && op == OP_DICT_GET && arg(req, 4) == NULL)
      reply_err(c, MPROC_EINVAL, "the default is missing");
    else if (has_default && op == OP_DICT_GET)
      reply_value(c, mproc_obj_copy(arg(req, 4)));
    else
      reply_err(c, MPROC_ERANGE, op == OP_NS_GET ? "no such attribute" : "no such key");
    break;
  }
  case OP_DICT_DEL:
  case OP_NS_DEL:
    if (!valid_key(a2) || mproc_obj_dict_get(o->data, a2) == NULL) {
      reply_err(c, MPROC_ERANGE, "no such key");
    } else {
      mproc_obj *n = dict_without(o->data, a2);
      if (n == NULL) {
        reply_err(c, MPROC_ENOMEM, "out of memory");
      } else {
        mproc_obj_free(o->data);
        o->data = n;
        reply_ok(c, NULL);
      }
    }
    break;
  case OP_DICT_CONTAINS:
    reply_value(c, mproc_obj_bool(valid_key(a2) &&
                               mproc_obj_dict_get(o->data, a2) != NULL));
    break;
  case OP_DICT_LEN:
  case OP_LIST_LEN:
    reply_value(c, mproc_obj_int((int64_t)mproc_obj_len(o->data)));
    break;
  case OP_DICT_KEYS:
  case OP_DICT_ITEMS: {
    mproc_obj *l = mproc_obj_list();
    for (size_t i = 0; l != NULL && i < mproc_obj_len(o->data); i++) {
      mproc_obj *k = mproc_obj_copy(mproc_obj_dict_key(o->data, i));
      mproc_obj *item = k;
      if (op == OP_DICT_ITEMS) {
        item = mproc_obj_list();
        if (mproc_obj_list_append(item, k) != 0 ||
            mproc_obj_list_append(
                item, mproc_obj_copy(mproc_obj_dict_value(o->data, i))) != 0) {
          mproc_obj_free(item); /* not a pair: no pair at all */
          item = NULL;
        }
      }
      if (mproc_obj_list_append(l, item) != 0) {
        mproc_obj_free(l);
        l = NULL;
      }
    }
    if (l == NULL)
      reply_err(c, MPROC_ENOMEM, "out of memory");
    else
      reply_ok(c, l);
    break;
  }
  case OP_DICT_COPY:
  case OP_LIST_COPY:
  case OP_VALUE_GET: {
    mproc_obj *copy = mproc_obj_copy(o->data);
    if (copy == NULL)
      reply_err(c, MPROC_ENOMEM, "out of memory");
    else
      reply_ok(c, copy);
    break;
  }
  case OP_LIST_APPEND:
    if (a2 == NULL || mproc_obj_list_append(o->data, mproc_obj_copy(a2)) != 0)
      reply_err(c, a2 ? MPROC_ENOMEM : MPROC_EINVAL, "cannot append");
    else
      reply_ok(c, NULL);
    break;
  case OP_LIST_EXTEND: {
    if (mproc_obj_type_of(a2) != MPROC_OBJ_LIST) {
      reply_err(c, MPROC_EINVAL, "extend takes a list");
      break;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < mproc_obj_len(a2); i++)
      rc = mproc_obj_list_append(o->data,
                                 mproc_obj_copy(mproc_obj_list_get(a2, i)));
    if (rc != 0)
      reply_err(c, rc, "cannot extend");
    else
      reply_ok(c, NULL);
    break;
  }
  case OP_LIST_GET:
  case OP_LIST_SET:
  case OP_LIST_POP: {
    int64_t i = 0;
    if (mproc_obj_get_int(a2, &i) != 0 ||
        !norm_index(i, mproc_obj_len(o->data), &idx)) {
      reply_err(c, MPROC_ERANGE, "list index out of range");
      break;
    }
    mproc_obj **items = o->data->u.c.items;
    if (op == OP_LIST_GET) {
      reply_value(c, mproc_obj_copy(items[idx]));
    } else if (op == OP_LIST_SET) {
      mproc_obj *v = a3 ? mproc_obj_copy(a3) : NULL;
      if (a3 == NULL) {
        reply_err(c, MPROC_EINVAL, "no value");
      } else if (v == NULL) {
        reply_err(c, MPROC_ENOMEM, "out of memory");
      } else {
        mproc_obj_free(items[idx]);
        items[idx] = v;
        reply_ok(c, NULL);
      }
    } else {
      mproc_obj *v = items[idx];
      memmove(items + idx, items + idx + 1,
              (o->data->u.c.n - idx - 1) * sizeof *items);
      o->data->u.c.n--;
      reply_ok(c, v);
    }
    break;
  }
  case OP_Q_PUT:
    if (a2 == NULL || timeout_of(a3, &d) != 0) {
      reply_err(c, MPROC_EINVAL, "bad put");
    } else if (!has_parked(s, OP_Q_PUT, id) &&
               (o->maxsize == 0 || o->qlen < o->maxsize)) {
      mproc_obj *v = mproc_obj_copy(a2);
      if (v == NULL || !queue_push(o, v)) {
        mproc_obj_free(v);
        reply_err(c, MPROC_ENOMEM, "out of memory");
      } else {
        reply_ok(c, NULL);
      }
    } else if (d.poll) {
      reply_err(c, MPROC_EFULL, "queue is full");
    } else {
      park(s, c, (int)op, id, mproc_obj_copy(a2), &d);
    }
    break;
  case OP_Q_GET:
    if (timeout_of(a2, &d) != 0)
      reply_err(c, MPROC_EINVAL, "bad timeout");
    else if (o->qlen > 0)
      reply_ok(c, queue_pop(o));
    else if (d.poll)
      reply_err(c, MPROC_EEMPTY, "queue is empty");
    else
      park(s, c, (int)op, id, NULL, &d);
    break;
  case OP_Q_QSIZE:
    reply_value(c, mproc_obj_int((int64_t)o->qlen));
    break;
  case OP_LOCK_ACQUIRE:
    if (timeout_of(a2, &d) != 0) {
      reply_err(c, MPROC_EINVAL, "bad timeout");
    } else if (!o->held) {
      o->held = true;
      o->holder = c->id;
      if (o->owner_died) {
        o->owner_died = false;
        reply_err(c, MPROC_EOWNERDEAD, "the lock's holder went away");
      } else {
        reply_ok(c, NULL);
      }
    } else if (d.poll) {
      reply_err(c, MPROC_EAGAIN, "lock is held");
    } else {
      park(s, c, (int)op, id, NULL, &d);
    }
    break;
  case OP_LOCK_RELEASE:
    if (!o->held) {
      reply_err(c, MPROC_ESTATE, "release of an unlocked lock");
    } else {
      o->held = false; /* any client may release, as with a Lock */
      reply_ok(c, NULL);
    }
    break;
  case OP_EVENT_SET:
    o->set = true;
    reply_ok(c, NULL);
    break;
  case OP_EVENT_CLEAR:
    o->set = false;
    reply_ok(c, NULL);
    break;
  case OP_EVENT_IS_SET:
    reply_value(c, mproc_obj_bool(o->set));
    break;
  case OP_EVENT_WAIT:
    if (timeout_of(a2, &d) != 0)
      reply_err(c, MPROC_EINVAL, "bad timeout");
    else if (o->set)
      reply_ok(c, NULL);
    else if (d.poll)
      reply_err(c, MPROC_EAGAIN, "event not set");
    else
      park(s, c, (int)op, id, NULL, &d);
    break;
  case OP_VALUE_SET: {
    mproc_obj *v = a2 ? mproc_obj_copy(a2) : NULL;
    if (a2 == NULL) {
      reply_err(c, MPROC_EINVAL, "no value");
    } else if (v == NULL) {
      reply_err(c, MPROC_ENOMEM, "out of memory");
    } else {
      mproc_obj_free(o->data);
      o->data = v;
      reply_ok(c, NULL);
    }
    break;
  }
  }
}

/* ---- connections ---- */

static void accept_client(server *s, int lfd) {
  int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    /* Out of descriptors, the connection stays queued and the listening
     * socket stays readable: polling it again at once would spin.  Leave
     * the client waiting in the backlog and look again a little later. */
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM) {
      s->accept_paused = true;
      mproc__deadline_init(&s->accept_again, ACCEPT_PAUSE_S, MPROC_FOREVER);
    }
    return;
  }
  /* The handshake's few bytes are written directly (they always fit in a
   * new socket's buffer); the send timeout only bounds that. */
  struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (s->ncl == s->capcl) {
    size_t cap = s->capcl ? 2 * s->capcl : 16;
    client *n = realloc(s->cl, cap * sizeof *n);
    if (n == NULL) {
      close(fd);
      return;
    }
    s->cl = n;
    s->capcl = cap;
  }
  client *c = &s->cl[s->ncl];
  memset(c, 0, sizeof *c);
  c->c = mproc__conn_wrap(fd, MGR_AUTH_MAX_MESSAGE);
  if (c->c == NULL) {
    close(fd);
    return;
  }
  c->id = ++s->next_client;
  s->ncl++;
  mproc__deadline_init(&c->auth_deadline, MGR_AUTH_SECONDS, MPROC_FOREVER);
  unsigned char msg[sizeof MGR_CHALLENGE - 1 + MGR_NONCE];
  memcpy(msg, MGR_CHALLENGE, sizeof MGR_CHALLENGE - 1);
  if (mproc__random(c->nonce, MGR_NONCE) != 0) { /* LCOV_EXCL_START: mproc__random() cannot fail (see hmac.c) */
    c->dead = true;
    return;
  } /* LCOV_EXCL_STOP */
  memcpy(msg + sizeof MGR_CHALLENGE - 1, c->nonce, MGR_NONCE);
  if (mproc_conn_send_bytes(c->c, msg, sizeof msg) != 0)
    c->dead = true;
}

static void handle_auth(server *s, client *c, const unsigned char *buf,
                        size_t len) {
  if (c->state == C_AUTH_DIGEST) {
    unsigned char want[MGR_DIGEST];
    mproc__hmac_sha256(s->key, s->keylen, c->nonce, MGR_NONCE, want);
    if (len != MGR_DIGEST || !mproc__digest_equal(buf, want, MGR_DIGEST)) {
      mproc_conn_send_bytes(c->c, MGR_FAILURE, sizeof MGR_FAILURE - 1);
      c->dead = true;
      return;
    }
    if (mproc_conn_send_bytes(c->c, MGR_WELCOME, sizeof MGR_WELCOME - 1) != 0)
      c->dead = true;
    c->state = C_AUTH_CHALLENGE;
    return;
  }
  size_t hl = sizeof MGR_CHALLENGE - 1;
  if (len != hl + MGR_NONCE || memcmp(buf, MGR_CHALLENGE, hl) != 0) {
    c->dead = true;
    return;
  }
  unsigned char digest[MGR_DIGEST];
  mproc__hmac_sha256(s->key, s->keylen, buf + hl, MGR_NONCE, digest);
  if (mproc_conn_send_bytes(c->c, digest, MGR_DIGEST) != 0)
    c->dead = true;
  c->state = C_READY;
  c->max_message = s->max_message;
  mproc_conn_set_max_message(c->c, s->max_message);
}

static void read_client(server *s, client *c) {
  while (!c->dead && c->out == NULL) {
    void *buf;
    size_t len;
    int rc = mproc_conn_recv_bytes(c->c, &buf, &len, 0);
    if (rc == MPROC_EAGAIN)
      return;
    if (rc != 0) {
      c->dead = true; /* gone, garbage or oversized: cut off */
      return;
    }
    if (c->state != C_READY) {
      handle_auth(s, c, buf, len);
    } else {
      mproc_obj *req = NULL;
      if (mproc_obj_decode(buf, len, &req) != 0)
        c->dead = true;
      else
        handle(s, c, req);
      mproc_obj_free(req);
    }
    free(buf);
  }
}

/* Cuts off the clients whose deadline passed (handshake, or replies not
 * read); returns the poll timeout in ms (-1: none) that `ms` and the
 * nearest remaining deadline allow. */
static int client_deadlines(server *s, int ms) {
  for (size_t i = 0; i < s->ncl; i++) {
    client *c = &s->cl[i];
    const mproc__deadline *d = c->state != C_READY ? &c->auth_deadline
                               : c->out != NULL    ? &c->out_deadline
                                                   : NULL;
    if (d == NULL)
      continue;
    if (mproc__deadline_passed(d)) {
      c->dead = true; /* too slow to authenticate, or not reading */
      continue;
    }
    int dm = mproc__deadline_ms(d, -1);
    if (ms < 0 || dm < ms)
      ms = dm;
  }
  return ms;
}

/* A client's poll events: its replies, while they wait, else requests. */
static short client_events(const client *c) {
  return c->out != NULL ? POLLOUT : POLLIN;
}

/* The client's socket is ready: write what waits, then handle requests
 * (also those read ahead already). */
static void client_ready(server *s, client *c) {
  if (c->out != NULL)
    flush_client(c);
  read_client(s, c);
}

/* Drops dead clients; their locks pass to the next acquirer as
 * owner-died, their parked requests are forgotten. */
static void reap_clients(server *s) {
  for (size_t i = 0; i < s->ncl;) {
    client *c = &s->cl[i];
    if (!c->dead) {
      i++;
      continue;
    }
    for (size_t k = 0; k < s->nobjs; k++) {
      sobj *o = &s->objs[k];
      if (o->kind == K_LOCK && o->held && o->holder == c->id) {
        o->held = false;
        o->owner_died = true;
      }
    }
    mproc_conn_free(c->c);
    free(c->out);
    s->cl[i] = s->cl[--s->ncl];
  }
}

_Noreturn void mproc__manager_serve(int listen_fd, const char *dir,
                                    const char *path, const void *key,
                                    size_t keylen, size_t max_message,
                                    pid_t parent) {
  /* Stop cleanly (removing the socket) when the parent dies or when told
   * to terminate. */
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  /* Like the documented manager, Ctrl-C in a terminal is for the parent,
   * which then shuts the server down. */
  signal(SIGINT, SIG_IGN);
  /* Watch the parent process itself (PR_SET_PDEATHSIG would follow the
   * thread that started us); without pidfd, check getppid() each second. */
  int parent_fd = mproc__pidfd_open(parent);
  server s = {.key = key, .keylen = keylen, .max_message = max_message};
  if (getppid() != parent) /* LCOV_EXCL_BR_LINE: see below */
    s.stop = true; /* LCOV_EXCL_LINE: the parent would have to die between fork() and here; no test can order that (the loop's own check is tested) */
  while (!s.stop) {
    settle(&s);
    int ms = client_deadlines(&s, expire(&s));
    reap_clients(&s);
    size_t n = s.ncl;
    struct pollfd *p = calloc(3 + n, sizeof *p);
    if (p == NULL) { /* retry soon rather than strand every client */
      struct timespec nap = {0, 10000000L};
      nanosleep(&nap, NULL);
      continue;
    }
    if (s.accept_paused && mproc__deadline_passed(&s.accept_again))
      s.accept_paused = false;
    if (s.accept_paused) {
      int am = mproc__deadline_ms(&s.accept_again, -1);
      if (ms < 0 || am < ms)
        ms = am;
    }
    p[0].fd = s.accept_paused ? -1 : listen_fd;
    p[0].events = POLLIN;
    p[1].fd = sfd;
    p[1].events = POLLIN;
    p[2].fd = parent_fd;
    p[2].events = POLLIN;
    if (parent_fd < 0 && (ms < 0 || ms > 1000))
      ms = 1000;
    for (size_t i = 0; i < n; i++) {
      p[3 + i].fd = mproc_conn_fileno(s.cl[i].c);
      p[3 + i].events = client_events(&s.cl[i]);
    }
    int r = poll(p, 3 + n, ms);
    if ((r > 0 && (p[1].revents || p[2].revents)) || getppid() != parent)
      s.stop = true;
    for (size_t i = 0; r > 0 && i < n; i++)
      if (p[3 + i].revents)
        client_ready(&s, &s.cl[i]);
    if (r > 0 && (p[0].revents & POLLIN))
      accept_client(&s, listen_fd);
    free(p);
    reap_clients(&s);
  }
  unlink(path);
  rmdir(dir);
  mproc_process_exit(0);
}

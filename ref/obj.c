/* mproc_obj: the dynamic values that cross process boundaries.  Lists and
 * dicts are growable arrays; dicts keep insertion order and look keys up
 * linearly, which suits the small dicts that travel in messages. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mproc_obj *alloc_obj(mproc_obj_type t) {
  mproc_obj *o = calloc(1, sizeof *o);
  if (o != NULL)
    o->type = t;
  return o;
}

mproc_obj *mproc_obj_none(void) { return alloc_obj(MPROC_OBJ_NONE); }

mproc_obj *mproc_obj_bool(bool b) {
  mproc_obj *o = alloc_obj(MPROC_OBJ_BOOL);
  if (o != NULL)
    o->u.b = b;
  return o;
}

mproc_obj *mproc_obj_int(int64_t i) {
  mproc_obj *o = alloc_obj(MPROC_OBJ_INT);
  if (o != NULL)
    o->u.i = i;
  return o;
}

mproc_obj *mproc_obj_float(double f) {
  mproc_obj *o = alloc_obj(MPROC_OBJ_FLOAT);
  if (o != NULL)
    o->u.f = f;
  return o;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool mproc__utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned min, cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

static mproc_obj *blob(mproc_obj_type t, const void *p, size_t n) {
  if (p == NULL && n > 0)
    return NULL;
  mproc_obj *o = alloc_obj(t);
  if (o == NULL)
    return NULL;
  o->u.s.p = malloc(n + 1); /* +1: str is NUL-terminated, bytes too */
  if (o->u.s.p == NULL) {
    free(o);
    return NULL;
  }
  if (n > 0)
    memcpy(o->u.s.p, p, n);
  o->u.s.p[n] = '\0';
  o->u.s.n = n;
  return o;
}

mproc_obj *mproc_obj_strn(const char *s, size_t n) {
  if (n == 0)
    s = ""; /* msgpack-c gives NULL for an empty string */
  if (s == NULL || !mproc__utf8_valid((const unsigned char *)s, n))
    return NULL;
  return blob(MPROC_OBJ_STR, s, n);
}

mproc_obj *mproc_obj_str(const char *s) {
  return s == NULL ? NULL : mproc_obj_strn(s, strlen(s));
}

mproc_obj *mproc_obj_bytes(const void *p, size_t n) {
  return blob(MPROC_OBJ_BYTES, p, n);
}

mproc_obj *mproc_obj_list(void) { return alloc_obj(MPROC_OBJ_LIST); }

mproc_obj *mproc_obj_dict(void) { return alloc_obj(MPROC_OBJ_DICT); }

mproc_obj_type mproc_obj_type_of(const mproc_obj *o) {
  return o == NULL ? MPROC_OBJ_NONE : o->type;
}

int mproc_obj_get_bool(const mproc_obj *o, bool *out) {
  if (o == NULL || out == NULL || o->type != MPROC_OBJ_BOOL)
    return MPROC_EINVAL;
  *out = o->u.b;
  return 0;
}

int mproc_obj_get_int(const mproc_obj *o, int64_t *out) {
  if (o == NULL || out == NULL || o->type != MPROC_OBJ_INT)
    return MPROC_EINVAL;
  *out = o->u.i;
  return 0;
}

int mproc_obj_get_float(const mproc_obj *o, double *out) {
  if (o == NULL || out == NULL || o->type != MPROC_OBJ_FLOAT)
    return MPROC_EINVAL;
  *out = o->u.f;
  return 0;
}

const char *mproc_obj_str_value(const mproc_obj *o) {
  return o != NULL && o->type == MPROC_OBJ_STR ? o->u.s.p : NULL;
}

const void *mproc_obj_bytes_value(const mproc_obj *o, size_t *len) {
  if (o == NULL || o->type != MPROC_OBJ_BYTES)
    return NULL;
  if (len != NULL)
    *len = o->u.s.n;
  return o->u.s.p;
}

size_t mproc_obj_len(const mproc_obj *o) {
  if (o == NULL)
    return 0;
  switch (o->type) {
  case MPROC_OBJ_STR:
  case MPROC_OBJ_BYTES:
    return o->u.s.n;
  case MPROC_OBJ_LIST:
  case MPROC_OBJ_DICT:
    return o->u.c.n;
  default:
    return 0;
  }
}

/* Makes room for one more entry in a list or dict. */
static int reserve(mproc_obj *o) {
  if (o->u.c.n < o->u.c.cap)
    return 0;
  size_t cap = o->u.c.cap ? o->u.c.cap * 2 : 4;
  size_t per = o->type == MPROC_OBJ_DICT ? 2 : 1;
  if (cap > SIZE_MAX / (per * sizeof(mproc_obj *)))
    return MPROC_ENOMEM;
  mproc_obj **items = realloc(o->u.c.items, cap * per * sizeof *items);
  if (items == NULL)
    return MPROC_ENOMEM;
  if (per == 2 && o->u.c.cap > 0) /* values live in the upper half */
    memmove(items + cap, items + o->u.c.cap, o->u.c.n * sizeof *items);
  o->u.c.items = items;
  o->u.c.cap = cap;
  return 0;
}

int mproc_obj_list_append(mproc_obj *list, mproc_obj *item) {
  if (item == NULL)
    return MPROC_ENOMEM;
  int rc = MPROC_EINVAL;
  if (list != NULL && list->type == MPROC_OBJ_LIST &&
      (rc = reserve(list)) == 0) {
    list->u.c.items[list->u.c.n++] = item;
    return 0;
  }
  mproc_obj_free(item);
  return rc;
}

const mproc_obj *mproc_obj_list_get(const mproc_obj *list, size_t i) {
  if (list == NULL || list->type != MPROC_OBJ_LIST || i >= list->u.c.n)
    return NULL;
  return list->u.c.items[i];
}

#define DKEY(o, i) ((o)->u.c.items[(i)])
#define DVAL(o, i) ((o)->u.c.items[(o)->u.c.cap + (i)])

static bool valid_key(const mproc_obj *k) {
  return k != NULL && (k->type == MPROC_OBJ_STR || k->type == MPROC_OBJ_INT);
}

#define INDEX_FROM 16

static uint64_t key_hash(const mproc_obj *k) {
  uint64_t h;
  if (k->type == MPROC_OBJ_INT) {
    h = (uint64_t)k->u.i * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 29);
  }
  h = 0xcbf29ce484222325u; /* FNV-1a */
  for (size_t i = 0; i < k->u.s.n; i++)
    h = (h ^ (unsigned char)k->u.s.p[i]) * 0x100000001b3u;
  return h;
}

/* The slot where `key` is, or the empty slot where it would go. */
static size_t index_slot(const mproc_obj *d, const mproc_obj *key) {
  size_t mask = d->u.c.icap - 1;
  size_t i = (size_t)key_hash(key) & mask;
  while (d->u.c.index[i] != 0 &&
         !mproc_obj_equal(DKEY(d, d->u.c.index[i] - 1), key))
    i = (i + 1) & mask;
  return i;
}

/* (Re)builds the index at twice the entries' capacity; false when memory
 * runs out (lookups then stay linear, which is only slower). */
static bool index_build(mproc_obj *d) {
  size_t icap = 64;
  while (icap < 2 * d->u.c.cap)
    icap *= 2;
  size_t *idx = calloc(icap, sizeof *idx);
  if (idx == NULL)
    return false;
  free(d->u.c.index);
  d->u.c.index = idx;
  d->u.c.icap = icap;
  for (size_t i = 0; i < d->u.c.n; i++)
    idx[index_slot(d, DKEY(d, i))] = i + 1;
  return true;
}

static ssize_t dict_find(const mproc_obj *d, const mproc_obj *key) {
  if (d->u.c.index != NULL) {
    size_t at = d->u.c.index[index_slot(d, key)];
    return at == 0 ? -1 : (ssize_t)(at - 1);
  }
  for (size_t i = 0; i < d->u.c.n; i++)
    if (mproc_obj_equal(DKEY(d, i), key))
      return (ssize_t)i;
  return -1;
}

int mproc_obj_dict_set(mproc_obj *dict, mproc_obj *key, mproc_obj *value) {
  int rc = MPROC_EINVAL;
  if (key == NULL || value == NULL) {
    rc = MPROC_ENOMEM;
  } else if (dict != NULL && dict->type == MPROC_OBJ_DICT &&
             valid_key(key)) {
    ssize_t at = dict_find(dict, key);
    if (at >= 0) {
      mproc_obj_free(DVAL(dict, at));
      DVAL(dict, at) = value;
      mproc_obj_free(key);
      return 0;
    }
    size_t old_cap = dict->u.c.cap;
    if ((rc = reserve(dict)) == 0) {
      DKEY(dict, dict->u.c.n) = key;
      DVAL(dict, dict->u.c.n) = value;
      dict->u.c.n++;
      bool stale = dict->u.c.index != NULL && dict->u.c.cap != old_cap;
      if (dict->u.c.n >= INDEX_FROM && (dict->u.c.index == NULL || stale)) {
        if (!index_build(dict)) {
          free(dict->u.c.index); /* a stale index would mislead */
          dict->u.c.index = NULL;
        }
      } else if (dict->u.c.index != NULL) {
        dict->u.c.index[index_slot(dict, key)] = dict->u.c.n;
      }
      return 0;
    }
  }
  mproc_obj_free(key);
  mproc_obj_free(value);
  return rc;
}

const mproc_obj *mproc_obj_dict_get(const mproc_obj *dict,
                                    const mproc_obj *key) {
  if (dict == NULL || dict->type != MPROC_OBJ_DICT || !valid_key(key))
    return NULL;
  ssize_t at = dict_find(dict, key);
  return at < 0 ? NULL : DVAL(dict, at);
}

const mproc_obj *mproc_obj_dict_get_str(const mproc_obj *dict,
                                        const char *key) {
  if (key == NULL)
    return NULL;
  /* A stack key: no allocation for a lookup. */
  mproc_obj k = {.type = MPROC_OBJ_STR};
  k.u.s.p = (char *)key;
  k.u.s.n = strlen(key);
  return mproc_obj_dict_get(dict, &k);
}

const mproc_obj *mproc_obj_dict_get_int(const mproc_obj *dict, int64_t key) {
  mproc_obj k = {.type = MPROC_OBJ_INT};
  k.u.i = key;
  return mproc_obj_dict_get(dict, &k);
}

const mproc_obj *mproc_obj_dict_key(const mproc_obj *dict, size_t i) {
  if (dict == NULL || dict->type != MPROC_OBJ_DICT || i >= dict->u.c.n)
    return NULL;
  return DKEY(dict, i);
}

const mproc_obj *mproc_obj_dict_value(const mproc_obj *dict, size_t i) {
  if (dict == NULL || dict->type != MPROC_OBJ_DICT || i >= dict->u.c.n)
    return NULL;
  return DVAL(dict, i);
}

mproc_obj *mproc_obj_copy(const mproc_obj *o) {
  if (o == NULL)
    return NULL;
  switch (o->type) {
  case MPROC_OBJ_NONE:
    return mproc_obj_none();
  case MPROC_OBJ_BOOL:
    return mproc_obj_bool(o->u.b);
  case MPROC_OBJ_INT:
    return mproc_obj_int(o->u.i);
  case MPROC_OBJ_FLOAT:
    return mproc_obj_float(o->u.f);
  case MPROC_OBJ_STR:
  case MPROC_OBJ_BYTES:
    return blob(o->type, o->u.s.p, o->u.s.n);
  case MPROC_OBJ_LIST: {
    mproc_obj *l = mproc_obj_list();
    for (size_t i = 0; l != NULL && i < o->u.c.n; i++) {
      if (mproc_obj_list_append(l, mproc_obj_copy(o->u.c.items[i])) != 0) {
        mproc_obj_free(l);
        l = NULL;
      }
    }
    return l;
  }
  case MPROC_OBJ_DICT: {
    mproc_obj *d = mproc_obj_dict();
    for (size_t i = 0; d != NULL && i < o->u.c.n; i++) {
      if (mproc_obj_dict_set(d, mproc_obj_copy(DKEY(o, i)),
                             mproc_obj_copy(DVAL(o, i))) != 0) {
        mproc_obj_free(d);
        d = NULL;
      }
    }
    return d;
  }
  }
  return NULL;
}

bool mproc_obj_equal(const mproc_obj *a, const mproc_obj *b) {
  if (a == NULL || b == NULL)
    return a == b;
  if (a->type != b->type)
    return false;
  switch (a->type) {
  case MPROC_OBJ_NONE:
    return true;
  case MPROC_OBJ_BOOL:
    return a->u.b == b->u.b;
  case MPROC_OBJ_INT:
    return a->u.i == b->u.i;
  case MPROC_OBJ_FLOAT:
    return a->u.f == b->u.f;
  case MPROC_OBJ_STR:
  case MPROC_OBJ_BYTES:
    return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
  case MPROC_OBJ_LIST:
    if (a->u.c.n != b->u.c.n)
      return false;
    for (size_t i = 0; i < a->u.c.n; i++)
      if (!mproc_obj_equal(a->u.c.items[i], b->u.c.items[i]))
        return false;
    return true;
  case MPROC_OBJ_DICT:
    if (a->u.c.n != b->u.c.n)
      return false;
    for (size_t i = 0; i < a->u.c.n; i++)
      if (!mproc_obj_equal(DVAL(a, i), mproc_obj_dict_get(b, DKEY(a, i))))
        return false;
    return true;
  }
  return false;
}

void mproc_obj_free(mproc_obj *o) {
  if (o == NULL)
    return;
  switch (o->type) {
  case MPROC_OBJ_STR:
  case MPROC_OBJ_BYTES:
    free(o->u.s.p);
    break;
  case MPROC_OBJ_LIST:
    for (size_t i = 0; i < o->u.c.n; i++)
      mproc_obj_free(o->u.c.items[i]);
    free(o->u.c.items);
    break;
  case MPROC_OBJ_DICT:
    for (size_t i = 0; i < o->u.c.n; i++) {
      mproc_obj_free(DKEY(o, i));
      mproc_obj_free(DVAL(o, i));
    }
    free(o->u.c.items);
    free(o->u.c.index);
    break;
  default:
    break;
  }
  free(o);
}

/* ---- repr ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->failed = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  sb_put(b, tmp, n < 0 ? 0 : (size_t)n);
}

/* Python quotes with ' unless the text holds a ' and no ". */
static void repr_text(sbuf *b, const mproc_obj *o) {
  const unsigned char *s = (const unsigned char *)o->u.s.p;
  size_t n = o->u.s.n;
  bool bytes = o->type == MPROC_OBJ_BYTES;
  char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
  if (bytes)
    sb_put(b, "b", 1);
  sb_put(b, &q, 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c == (unsigned char)q || c == '\\')
      sb_printf(b, "\\%c", c);
    else if (c == '\n')
      sb_put(b, "\\n", 2);
    else if (c == '\r')
      sb_put(b, "\\r", 2);
    else if (c == '\t')
      sb_put(b, "\\t", 2);
    else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
      sb_printf(b, "\\x%02x", c);
    else
      sb_put(b, (const char *)&s[i], 1);
  }
  sb_put(b, &q, 1);
}

/* Python's repr of a finite float: the shortest digits that read back
 * exactly, in positional notation when the decimal exponent is in
 * [-4, 16), else as d.ddde+XX; integral values keep a ".0". */
static void float_repr(double f, char *out, size_t size) {
  char e[40];
  int prec;
  for (prec = 1; prec < 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec - 1, f);
    if (strtod(e, NULL) == f)
      break;
  }
  snprintf(e, sizeof e, "%.*e", prec - 1, f);
  /* e is [-]d[.ddd]e[+-]XX: split digits and exponent. */
  bool neg = e[0] == '-';
  char digits[20];
  size_t nd = 0;
  const char *p = e + neg;
  for (; *p && *p != 'e'; p++)
    if (*p != '.')
      digits[nd++] = *p;
  digits[nd] = '\0';
  int exp = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0')
    digits[--nd] = '\0';
  char *o = out;
  size_t left = size;
#define EMIT(...)                                                             \
  do {                                                                        \
    int k = snprintf(o, left, __VA_ARGS__);                                   \
    if (k > 0 && (size_t)k < left) {                                          \
      o += k;                                                                 \
      left -= (size_t)k;                                                      \
    }                                                                         \
  } while (0)
  if (neg)
    EMIT("-");
  if (exp < -4 || exp >= 16) {
    EMIT("%c", digits[0]);
    if (nd > 1)
      EMIT(".%s", digits + 1);
    EMIT("e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  } else if (exp < 0) {
    EMIT("0.");
    for (int i = -1; i > exp; i--)
      EMIT("0");
    EMIT("%s", digits);
  } else {
    for (int i = 0; i <= exp; i++)
      EMIT("%c", (size_t)i < nd ? digits[i] : '0');
    EMIT(".");
    if ((size_t)exp + 1 < nd)
      EMIT("%s", digits + exp + 1);
    else
      EMIT("0");
  }
#undef EMIT
}

static void repr(sbuf *b, const mproc_obj *o) {
  switch (o->type) {
  case MPROC_OBJ_NONE:
    sb_put(b, "None", 4);
    break;
  case MPROC_OBJ_BOOL:
    sb_put(b, o->u.b ? "True" : "False", o->u.b ? 4 : 5);
    break;
  case MPROC_OBJ_INT:
    sb_printf(b, "%lld", (long long)o->u.i);
    break;
  case MPROC_OBJ_FLOAT: {
    double f = o->u.f;
    if (isnan(f)) {
      sb_put(b, "nan", 3);
    } else if (isinf(f)) {
      sb_put(b, f > 0 ? "inf" : "-inf", f > 0 ? 3 : 4);
    } else {
      char tmp[64];
      float_repr(f, tmp, sizeof tmp);
      sb_put(b, tmp, strlen(tmp));
    }
    break;
  }
  case MPROC_OBJ_STR:
  case MPROC_OBJ_BYTES:
    repr_text(b, o);
    break;
  case MPROC_OBJ_LIST:
    sb_put(b, "[", 1);
    for (size_t i = 0; i < o->u.c.n; i++) {
      if (i > 0)
        sb_put(b, ", ", 2);
      repr(b, o->u.c.items[i]);
    }
    sb_put(b, "]", 1);
    break;
  case MPROC_OBJ_DICT:
    sb_put(b, "{", 1);
    for (size_t i = 0; i < o->u.c.n; i++) {
      if (i > 0)
        sb_put(b, ", ", 2);
      repr(b, DKEY(o, i));
      sb_put(b, ": ", 2);
      repr(b, DVAL(o, i));
    }
    sb_put(b, "}", 1);
    break;
  }
}

char *mproc_obj_repr(const mproc_obj *o) {
  sbuf b = {0};
  if (o == NULL)
    sb_put(&b, "None", 4);
  else
    repr(&b, o);
  if (b.failed) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

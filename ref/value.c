/* Value and Array (the documented system's sharedctypes): typed elements
 * in shared memory, with an RLock of their own unless told otherwise.
 * A Value is an Array of one element behind its own set of names. */
#include "internal.h"

#include <float.h>
#include <limits.h>
#include <string.h>

enum kind { SIGNED, UNSIGNED, FLOAT };

typedef struct typeinfo {
  char code;
  uint8_t size;
  uint8_t kind;
  int64_t min;
  uint64_t max;
} typeinfo;

static const typeinfo types[] = {
    {'c', 1, UNSIGNED, 0, UCHAR_MAX},
    {'b', 1, SIGNED, SCHAR_MIN, SCHAR_MAX},
    {'B', 1, UNSIGNED, 0, UCHAR_MAX},
    {'h', sizeof(short), SIGNED, SHRT_MIN, SHRT_MAX},
    {'H', sizeof(short), UNSIGNED, 0, USHRT_MAX},
    {'i', sizeof(int), SIGNED, INT_MIN, INT_MAX},
    {'I', sizeof(int), UNSIGNED, 0, UINT_MAX},
    {'l', sizeof(long), SIGNED, LONG_MIN, LONG_MAX},
    {'L', sizeof(long), UNSIGNED, 0, ULONG_MAX},
    {'q', sizeof(long long), SIGNED, LLONG_MIN, LLONG_MAX},
    {'Q', sizeof(long long), UNSIGNED, 0, ULLONG_MAX},
    {'f', sizeof(float), FLOAT, 0, 0},
    {'d', sizeof(double), FLOAT, 0, 0},
};

static const typeinfo *lookup(char code) {
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (types[i].code == code)
      return &types[i];
  return NULL;
}

struct mproc_array {
  const typeinfo *type; /* static table: same address in every child */
  size_t length;
  mproc_lock *lock;     /* NULL when raw */
  mproc_lock own;
  _Alignas(16) unsigned char data[];
};

/* struct mproc_value is never defined: a Value pointer is an Array
 * pointer of length 1 under another name. */

int mproc_array_new(mproc_array **out, char typecode, size_t length,
                    const void *init, const mproc_shared_options *opts) {
  if (out == NULL || length == 0)
    return MPROC_EINVAL;
  const typeinfo *t = lookup(typecode);
  if (t == NULL)
    return MPROC_EINVAL;
  if (opts != NULL && opts->raw && opts->lock != NULL)
    return MPROC_EINVAL;
  if (length > (SIZE_MAX - sizeof(mproc_array) - 4096) / t->size)
    return MPROC_ERANGE;
  int err = 0;
  mproc_array *a = mproc__shm_alloc(sizeof *a + length * t->size, &err);
  if (a == NULL)
    return err;
  a->type = t;
  a->length = length;
  if (opts != NULL && opts->raw) {
    a->lock = NULL;
  } else if (opts != NULL && opts->lock != NULL) {
    a->lock = opts->lock;
  } else {
    mproc__lockbody_init(&a->own.body, true);
    a->lock = &a->own;
  }
  if (init != NULL)
    memcpy(a->data, init, length * t->size);
  *out = a;
  return 0;
}

size_t mproc_array_length(const mproc_array *a) {
  return a == NULL ? 0 : a->length;
}

char mproc_array_typecode(const mproc_array *a) {
  return a == NULL ? 0 : a->type->code;
}

void *mproc_array_data(mproc_array *a) { return a == NULL ? NULL : a->data; }

mproc_lock *mproc_array_get_lock(mproc_array *a) {
  return a == NULL ? NULL : a->lock;
}

void mproc_array_free(mproc_array *a) { mproc__shm_free(a); }

/* Single-element loads and stores are atomic so that a reader never sees
 * half of a concurrent store. */
static uint64_t load_bits(const mproc_array *a, size_t i) {
  const unsigned char *p = a->data + i * a->type->size;
  switch (a->type->size) {
  case 1:
    return __atomic_load_n((const uint8_t *)p, __ATOMIC_SEQ_CST);
  case 2:
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST);
  case 4:
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST);
  default:
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
  }
}

static void store_bits(mproc_array *a, size_t i, uint64_t bits) {
  unsigned char *p = a->data + i * a->type->size;
  switch (a->type->size) {
  case 1:
    __atomic_store_n((uint8_t *)p, (uint8_t)bits, __ATOMIC_SEQ_CST);
    break;
  case 2:
    __atomic_store_n((uint16_t *)p, (uint16_t)bits, __ATOMIC_SEQ_CST);
    break;
  case 4:
    __atomic_store_n((uint32_t *)p, (uint32_t)bits, __ATOMIC_SEQ_CST);
    break;
  default:
    __atomic_store_n((uint64_t *)p, bits, __ATOMIC_SEQ_CST);
    break;
  }
}

/* Sign-extends the stored bits of a signed type. */
static int64_t as_signed(const typeinfo *t, uint64_t bits) {
  unsigned shift = 64u - 8u * t->size;
  return (int64_t)(bits << shift) >> shift;
}

static double as_double(const typeinfo *t, uint64_t bits) {
  if (t->size == sizeof(float)) {
    float f;
    uint32_t b = (uint32_t)bits;
    memcpy(&f, &b, sizeof f);
    return f;
  }
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

static uint64_t from_double(const typeinfo *t, double x) {
  if (t->size == sizeof(float)) {
    float f = (float)x;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
  }
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

static int check(mproc_array *a, size_t i) {
  if (a == NULL)
    return MPROC_EINVAL;
  return i < a->length ? 0 : MPROC_ERANGE;
}

int mproc_array_get_i64(mproc_array *a, size_t i, int64_t *out) {
  int rc = check(a, i);
  if (rc != 0 || out == NULL)
    return rc != 0 ? rc : MPROC_EINVAL;
  const typeinfo *t = a->type;
  uint64_t bits = load_bits(a, i);
  if (t->kind == FLOAT)
    return MPROC_EINVAL;
  if (t->kind == SIGNED) {
    *out = as_signed(t, bits);
    return 0;
  }
  if (bits > INT64_MAX)
    return MPROC_ERANGE;
  *out = (int64_t)bits;
  return 0;
}

int mproc_array_get_u64(mproc_array *a, size_t i, uint64_t *out) {
  int rc = check(a, i);
  if (rc != 0 || out == NULL)
    return rc != 0 ? rc : MPROC_EINVAL;
  const typeinfo *t = a->type;
  uint64_t bits = load_bits(a, i);
  if (t->kind == FLOAT)
    return MPROC_EINVAL;
  if (t->kind == SIGNED) {
    int64_t v = as_signed(t, bits);
    if (v < 0)
      return MPROC_ERANGE;
    *out = (uint64_t)v;
    return 0;
  }
  *out = bits;
  return 0;
}

int mproc_array_get_double(mproc_array *a, size_t i, double *out) {
  int rc = check(a, i);
  if (rc != 0 || out == NULL)
    return rc != 0 ? rc : MPROC_EINVAL;
  const typeinfo *t = a->type;
  uint64_t bits = load_bits(a, i);
  if (t->kind == FLOAT)
    *out = as_double(t, bits);
  else if (t->kind == SIGNED)
    *out = (double)as_signed(t, bits);
  else
    *out = (double)bits;
  return 0;
}

int mproc_array_set_i64(mproc_array *a, size_t i, int64_t x) {
  int rc = check(a, i);
  if (rc != 0)
    return rc;
  const typeinfo *t = a->type;
  if (t->kind == FLOAT)
    return mproc_array_set_double(a, i, (double)x);
  bool fits = t->kind == SIGNED ? x >= t->min && (x < 0 || (uint64_t)x <= t->max)
                                 : x >= 0 && (uint64_t)x <= t->max;
  if (!fits)
    return MPROC_ERANGE;
  store_bits(a, i, (uint64_t)x);
  return 0;
}

int mproc_array_set_u64(mproc_array *a, size_t i, uint64_t x) {
  int rc = check(a, i);
  if (rc != 0)
    return rc;
  const typeinfo *t = a->type;
  if (t->kind == FLOAT)
    return mproc_array_set_double(a, i, (double)x);
  if (x > t->max)
    return MPROC_ERANGE;
  store_bits(a, i, x);
  return 0;
}

int mproc_array_set_double(mproc_array *a, size_t i, double x) {
  int rc = check(a, i);
  if (rc != 0)
    return rc;
  const typeinfo *t = a->type;
  if (t->kind != FLOAT)
    return MPROC_EINVAL;
  if (t->size == sizeof(float) && isfinite(x) && (x > FLT_MAX || x < -FLT_MAX))
    return MPROC_ERANGE;
  store_bits(a, i, from_double(t, x));
  return 0;
}

/* ---- Value: the same machinery at index 0 ---- */

int mproc_value_new(mproc_value **out, char typecode,
                    const mproc_shared_options *opts) {
  return mproc_array_new((mproc_array **)out, typecode, 1, NULL, opts);
}

int mproc_value_get_i64(mproc_value *v, int64_t *out) {
  return mproc_array_get_i64((mproc_array *)v, 0, out);
}
int mproc_value_set_i64(mproc_value *v, int64_t x) {
  return mproc_array_set_i64((mproc_array *)v, 0, x);
}
int mproc_value_get_u64(mproc_value *v, uint64_t *out) {
  return mproc_array_get_u64((mproc_array *)v, 0, out);
}
int mproc_value_set_u64(mproc_value *v, uint64_t x) {
  return mproc_array_set_u64((mproc_array *)v, 0, x);
}
int mproc_value_get_double(mproc_value *v, double *out) {
  return mproc_array_get_double((mproc_array *)v, 0, out);
}
int mproc_value_set_double(mproc_value *v, double x) {
  return mproc_array_set_double((mproc_array *)v, 0, x);
}
void *mproc_value_ptr(mproc_value *v) { return mproc_array_data((mproc_array *)v); }
char mproc_value_typecode(const mproc_value *v) {
  return mproc_array_typecode((const mproc_array *)v);
}
mproc_lock *mproc_value_get_lock(mproc_value *v) {
  return mproc_array_get_lock((mproc_array *)v);
}
void mproc_value_free(mproc_value *v) { mproc_array_free((mproc_array *)v); }

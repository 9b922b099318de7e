/* Conformance: shared Value and Array (type codes, checked stores,
 * indexes, locks, sharing with children). */
#define _GNU_SOURCE
#define MPT_SUITE "value"
#define MPT_FEATURE "shared-memory"
#include "harness.h"

#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

static void run_child(mproc_target_fn fn, void *arg)
{
  mproc_process p;
  start(&p, fn, arg);
  mpt_join_all(&p, 1);
}

/* ---- integer type codes ---- */

struct int_case {
  char code;
  bool is_signed;
  int64_t min;  /* signed codes */
  uint64_t max; /* as unsigned, for every code */
  size_t size;  /* of the C type */
};

static const struct int_case int_cases[] = {
    {'c', false, 0, UCHAR_MAX, sizeof(char)},
    {'b', true, SCHAR_MIN, SCHAR_MAX, sizeof(signed char)},
    {'B', false, 0, UCHAR_MAX, sizeof(unsigned char)},
    {'h', true, SHRT_MIN, SHRT_MAX, sizeof(short)},
    {'H', false, 0, USHRT_MAX, sizeof(unsigned short)},
    {'i', true, INT_MIN, INT_MAX, sizeof(int)},
    {'I', false, 0, UINT_MAX, sizeof(unsigned int)},
    {'l', true, LONG_MIN, LONG_MAX, sizeof(long)},
    {'L', false, 0, ULONG_MAX, sizeof(unsigned long)},
    {'q', true, LLONG_MIN, LLONG_MAX, sizeof(long long)},
    {'Q', false, 0, ULLONG_MAX, sizeof(unsigned long long)},
};
enum { N_INT = sizeof int_cases / sizeof int_cases[0] };

/* The element at p read as the C type of `code`, as unsigned bits
 * (sign-extended for signed codes). */
static uint64_t read_typed(const void *p, char code)
{
  switch (code) {
  case 'c': return *(const unsigned char *)p;
  case 'b': return (uint64_t)(int64_t) * (const signed char *)p;
  case 'B': return *(const unsigned char *)p;
  case 'h': return (uint64_t)(int64_t) * (const short *)p;
  case 'H': return *(const unsigned short *)p;
  case 'i': return (uint64_t)(int64_t) * (const int *)p;
  case 'I': return *(const unsigned int *)p;
  case 'l': return (uint64_t)(int64_t) * (const long *)p;
  case 'L': return *(const unsigned long *)p;
  case 'q': return (uint64_t)(int64_t) * (const long long *)p;
  case 'Q': return *(const unsigned long long *)p;
  }
  return 0xdeadbeef;
}

static int store_max(mproc_value *v, const struct int_case *c)
{
  return c->is_signed ? mproc_value_set_i64(v, (int64_t)c->max)
                      : mproc_value_set_u64(v, c->max);
}

struct int_tables {
  mproc_value *values[N_INT];
  mproc_array *arrays[N_INT]; /* length 3: the middle one gets min */
};

/* Child, phase 1: store max in each Value and min in each Array's middle
 * element. */
static int child_store_extremes(void *p)
{
  struct int_tables *t = p;
  for (int i = 0; i < N_INT; i++) {
    const struct int_case *c = &int_cases[i];
    MPT_CHILD_OK(store_max(t->values[i], c));
    MPT_CHILD_OK(mproc_array_set_i64(t->arrays[i], 1, c->min));
  }
  return 0;
}

/* Child, phase 2: the parent stored min in each Value. */
static int child_check_min(void *p)
{
  struct int_tables *t = p;
  for (int i = 0; i < N_INT; i++) {
    const struct int_case *c = &int_cases[i];
    int64_t got;
    MPT_CHILD_OK(mproc_value_get_i64(t->values[i], &got));
    if (got != c->min)
      mpt__child_fail(__FILE__, __LINE__, "'%c': child read %lld, expected "
                      "%lld", c->code, (long long)got, (long long)c->min);
  }
  return 0;
}

MPT_TEST(value_integer_codes_round_trip_min_and_max_in_child, "EX-000-06 EX-003-06",
         "For every integer type code, the maximum and minimum stored in a "
         "child are read back exactly by the parent (and the other way), in "
         "an element of the code's C size.")
{
  struct int_tables t;
  for (int i = 0; i < N_INT; i++) {
    MPT_OK(mproc_value_new(&t.values[i], int_cases[i].code, NULL));
    MPT_OK(mproc_array_new(&t.arrays[i], int_cases[i].code, 3, NULL, NULL));
    ck_assert_int_eq(mproc_value_typecode(t.values[i]), int_cases[i].code);
    ck_assert_int_eq(mproc_array_typecode(t.arrays[i]), int_cases[i].code);
  }
  run_child(child_store_extremes, &t);
  for (int i = 0; i < N_INT; i++) {
    const struct int_case *c = &int_cases[i];
    unsigned char *data = mproc_array_data(t.arrays[i]);
    int64_t s;
    uint64_t u;
    if (c->is_signed) {
      MPT_OK(mproc_value_get_i64(t.values[i], &s));
      ck_assert_msg(s == (int64_t)c->max, "'%c': max read as %lld", c->code,
                    (long long)s);
    } else {
      MPT_OK(mproc_value_get_u64(t.values[i], &u));
      ck_assert_msg(u == c->max, "'%c': max read as %llu", c->code,
                    (unsigned long long)u);
    }
    ck_assert_msg(read_typed(mproc_value_ptr(t.values[i]), c->code) == c->max,
                  "'%c': the element is not a C value of its type", c->code);
    /* The Array's elements have the C size: the neighbours are untouched. */
    ck_assert_msg(read_typed(data + c->size, c->code) == (uint64_t)c->min,
                  "'%c': arr[1] is not the minimum", c->code);
    ck_assert_msg(read_typed(data, c->code) == 0 &&
                      read_typed(data + 2 * c->size, c->code) == 0,
                  "'%c': storing arr[1] changed a neighbour", c->code);
    MPT_OK(mproc_array_get_i64(t.arrays[i], 1, &s));
    ck_assert_int_eq(s, c->min);
    MPT_OK(mproc_value_set_i64(t.values[i], c->min));
  }
  run_child(child_check_min, &t);
  for (int i = 0; i < N_INT; i++) {
    mproc_value_free(t.values[i]);
    mproc_array_free(t.arrays[i]);
  }
}

MPT_TEST_F(value_unsigned_max_read_as_i64_exactly_or_erange, "EX-003-06", "shared-memory checked-stores",
         "For every unsigned type code, get_i64 reads the maximum back as "
         "that positive number when it fits in 64 signed bits, and gives "
         "ERANGE when it does not.")
{
  for (int i = 0; i < N_INT; i++) {
    const struct int_case *c = &int_cases[i];
    mproc_value *v;
    int64_t got = 0;
    if (c->is_signed)
      continue;
    MPT_OK(mproc_value_new(&v, c->code, NULL));
    MPT_OK(mproc_value_set_u64(v, c->max));
    if (c->max <= (uint64_t)INT64_MAX) {
      MPT_OK(mproc_value_get_i64(v, &got));
      ck_assert_msg((uint64_t)got == c->max, "'%c': max read as %lld",
                    c->code, (long long)got);
    } else {
      MPT_ERR(mproc_value_get_i64(v, &got), MPROC_ERANGE);
    }
    mproc_value_free(v);
  }
}

MPT_TEST_F(value_integer_codes_out_of_range_erange_unchanged, "EX-003-06", "shared-memory checked-stores",
         "For every integer type code, storing one past the maximum or one "
         "below the minimum gives ERANGE and leaves the element unchanged; "
         "reading a value that does not fit the accessor gives ERANGE.")
{
  for (int i = 0; i < N_INT; i++) {
    const struct int_case *c = &int_cases[i];
    mproc_value *v;
    int64_t s;
    uint64_t u;
    MPT_OK(mproc_value_new(&v, c->code, NULL));
    MPT_OK(mproc_value_set_i64(v, 7));
    if (c->max < UINT64_MAX)
      MPT_ERR(mproc_value_set_u64(v, c->max + 1), MPROC_ERANGE);
    if (c->max < (uint64_t)INT64_MAX)
      MPT_ERR(mproc_value_set_i64(v, (int64_t)c->max + 1), MPROC_ERANGE);
    if (c->is_signed && c->min > INT64_MIN)
      MPT_ERR(mproc_value_set_i64(v, c->min - 1), MPROC_ERANGE);
    if (!c->is_signed) {
      MPT_ERR(mproc_value_set_i64(v, -1), MPROC_ERANGE);
      MPT_ERR(mproc_value_set_i64(v, INT64_MIN), MPROC_ERANGE);
    }
    if (c->code == 'q')
      MPT_ERR(mproc_value_set_u64(v, (uint64_t)INT64_MAX + 1), MPROC_ERANGE);
    MPT_OK(mproc_value_get_i64(v, &s));
    ck_assert_msg(s == 7, "'%c': a refused store changed the value to %lld",
                  c->code, (long long)s);
    /* A negative value does not fit get_u64. */
    if (c->is_signed) {
      MPT_OK(mproc_value_set_i64(v, -1));
      MPT_ERR(mproc_value_get_u64(v, &u), MPROC_ERANGE);
    }
    mproc_value_free(v);
  }
  {
    mproc_value *v;
    int64_t s;
    MPT_OK(mproc_value_new(&v, 'Q', NULL));
    MPT_OK(mproc_value_set_u64(v, UINT64_MAX));
    MPT_ERR(mproc_value_get_i64(v, &s), MPROC_ERANGE);
    mproc_value_free(v);
  }
}

/* ---- float codes ---- */

struct float_case {
  char code;
  double value;
};

static const struct float_case float_cases[] = {
    {'f', 0.5},     {'f', -1.25},    {'f', FLT_MAX},    {'f', -FLT_MAX},
    {'f', FLT_MIN}, {'d', 1.0 / 3},  {'d', DBL_MAX},    {'d', -DBL_MIN},
    {'d', -0.0},    {'d', 1e-300},
};
enum { N_FLOAT = sizeof float_cases / sizeof float_cases[0] };

static int child_store_floats(void *p)
{
  mproc_value **v = p;
  for (int i = 0; i < N_FLOAT; i++)
    MPT_CHILD_OK(mproc_value_set_double(v[i], float_cases[i].value));
  return 0;
}

MPT_TEST(value_float_codes_round_trip_in_child, "EX-000-06",
         "Values of type 'f' and 'd' stored by a child are read back exactly "
         "by the parent, as C floats and doubles.")
{
  mproc_value *v[N_FLOAT];
  for (int i = 0; i < N_FLOAT; i++)
    MPT_OK(mproc_value_new(&v[i], float_cases[i].code, NULL));
  run_child(child_store_floats, v);
  for (int i = 0; i < N_FLOAT; i++) {
    double got;
    MPT_OK(mproc_value_get_double(v[i], &got));
    ck_assert_msg(memcmp(&got, &float_cases[i].value, sizeof got) == 0,
                  "'%c': stored %a, read %a", float_cases[i].code,
                  float_cases[i].value, got);
    if (float_cases[i].code == 'f')
      ck_assert(*(float *)mproc_value_ptr(v[i]) ==
                (float)float_cases[i].value);
    else
      ck_assert(*(double *)mproc_value_ptr(v[i]) == float_cases[i].value);
    mproc_value_free(v[i]);
  }
}

MPT_TEST_F(value_float_store_that_does_not_fit_erange, "EX-003-06", "shared-memory checked-stores",
         "Storing a double too large for a float in an 'f' gives ERANGE and "
         "leaves the value unchanged.")
{
  mproc_value *v;
  double got;
  MPT_OK(mproc_value_new(&v, 'f', NULL));
  MPT_OK(mproc_value_set_double(v, 2.5));
  MPT_ERR(mproc_value_set_double(v, 1e300), MPROC_ERANGE);
  MPT_ERR(mproc_value_set_double(v, -1e300), MPROC_ERANGE);
  MPT_OK(mproc_value_get_double(v, &got));
  ck_assert(got == 2.5);
  mproc_value_free(v);
}

MPT_TEST(value_accessors_reject_wrong_type_einval, "EX-000-06",
         "get_i64 and get_u64 refuse 'f' and 'd' and set_double refuses "
         "integer codes (EINVAL); set_i64 and set_u64 convert into 'f' and "
         "'d' and get_double converts from integer codes.")
{
  mproc_value *d, *f, *i;
  int64_t s;
  uint64_t u;
  double x;
  MPT_OK(mproc_value_new(&d, 'd', NULL));
  MPT_OK(mproc_value_new(&f, 'f', NULL));
  MPT_OK(mproc_value_new(&i, 'i', NULL));
  MPT_ERR(mproc_value_get_i64(d, &s), MPROC_EINVAL);
  MPT_ERR(mproc_value_get_u64(d, &u), MPROC_EINVAL);
  MPT_ERR(mproc_value_get_i64(f, &s), MPROC_EINVAL);
  MPT_ERR(mproc_value_set_double(i, 1.5), MPROC_EINVAL);
  MPT_OK(mproc_value_set_i64(d, -3));
  MPT_OK(mproc_value_get_double(d, &x));
  ck_assert(x == -3.0);
  MPT_OK(mproc_value_set_i64(f, 12));
  MPT_OK(mproc_value_get_double(f, &x));
  ck_assert(x == 12.0);
  MPT_OK(mproc_value_set_u64(d, 5));
  MPT_OK(mproc_value_get_double(d, &x));
  ck_assert(x == 5.0);
  MPT_OK(mproc_value_set_i64(i, -7));
  MPT_OK(mproc_value_get_double(i, &x));
  ck_assert(x == -7.0);
  mproc_value_free(d);
  mproc_value_free(f);
  mproc_value_free(i);
}

static const char all_codes[] = "cbBhHiIlLqQfd";

MPT_TEST(value_and_array_start_zeroed, "EX-000-06",
         "A new Value of every type code is 0, as is every element of an "
         "Array made without initial values.")
{
  for (const char *c = all_codes; *c; c++) {
    mproc_value *v;
    mproc_array *a;
    double x = -1;
    MPT_OK(mproc_value_new(&v, *c, NULL));
    MPT_OK(mproc_value_get_double(v, &x));
    ck_assert_msg(x == 0, "Value('%c') starts at %g", *c, x);
    MPT_OK(mproc_array_new(&a, *c, 16, NULL, NULL));
    ck_assert_uint_eq(mproc_array_length(a), 16);
    for (size_t k = 0; k < 16; k++) {
      MPT_OK(mproc_array_get_double(a, k, &x));
      ck_assert_msg(x == 0, "Array('%c')[%zu] starts at %g", *c, k, x);
    }
    mproc_value_free(v);
    mproc_array_free(a);
  }
}

/* ---- the documents' examples ---- */

static int double_array(void *p)
{
  mproc_array *a = p;
  MPT_CHILD_OK(mproc_lock_acquire(mproc_array_get_lock(a), mpt_scale(30)));
  for (size_t i = 0; i < mproc_array_length(a); i++) {
    double v;
    MPT_CHILD_OK(mproc_array_get_double(a, i, &v));
    if (mproc_array_typecode(a) == 'd')
      MPT_CHILD_OK(mproc_array_set_double(a, i, 2 * v));
    else
      MPT_CHILD_OK(mproc_array_set_i64(a, i, (int64_t)(2 * v)));
  }
  MPT_CHILD_OK(mproc_lock_release(mproc_array_get_lock(a)));
  return 0;
}

MPT_TEST(array_doubled_in_child_seen_by_parent, "EX-000-06",
         "An Array('d') (and an Array('i')) [1, 2, 3, 4] doubled element by "
         "element in a child under its lock is [2, 4, 6, 8] in the parent.")
{
  const double dinit[4] = {1.0, 2.0, 3.0, 4.0};
  const int iinit[4] = {1, 2, 3, 4};
  mproc_array *d, *i;
  MPT_OK(mproc_array_new(&d, 'd', 4, dinit, NULL));
  MPT_OK(mproc_array_new(&i, 'i', 4, iinit, NULL));
  run_child(double_array, d);
  run_child(double_array, i);
  for (int k = 0; k < 4; k++) {
    ck_assert(((double *)mproc_array_data(d))[k] == 2.0 * (k + 1));
    ck_assert_int_eq(((int *)mproc_array_data(i))[k], 2 * (k + 1));
  }
  mproc_array_free(d);
  mproc_array_free(i);
}

struct half_arg {
  mproc_array *a;
  size_t from, to;
};

static int fill_half(void *p)
{
  struct half_arg *h = p;
  mproc_lock *l = mproc_array_get_lock(h->a);
  for (size_t i = h->from; i < h->to; i++) {
    MPT_CHILD_OK(mproc_lock_acquire(l, mpt_scale(30)));
    MPT_CHILD_OK(mproc_array_set_i64(h->a, i, 2 * (int64_t)i));
    MPT_CHILD_OK(mproc_lock_release(l));
  }
  return 0;
}

MPT_TEST(array_halves_filled_by_two_processes, "EX-002-07",
         "Two processes filling the two halves of an Array('i', 10) under its "
         "lock leave arr[i] == 2i for every i.")
{
  mproc_array *a;
  mproc_process procs[2];
  struct half_arg h[2];
  MPT_OK(mproc_array_new(&a, 'i', 10, NULL, NULL));
  h[0] = (struct half_arg){a, 0, 5};
  h[1] = (struct half_arg){a, 5, 10};
  mpt_spawn_each(procs, 2, fill_half, h, sizeof h[0]);
  mpt_join_all(procs, 2);
  for (size_t i = 0; i < 10; i++) {
    int64_t v;
    MPT_OK(mproc_array_get_i64(a, i, &v));
    ck_assert_int_eq(v, 2 * (int64_t)i);
  }
  mproc_array_free(a);
}

/* sum(range(50000000)), the example's total. */
#define BIG_SUM (INT64_C(50000000) * (50000000 - 1) / 2)

struct sum_arg {
  mproc_array *doubled;
  mproc_value *as_int, *as_q;
};

static int fill_and_sum(void *p)
{
  struct sum_arg *a = p;
  for (size_t i = 0; i < 5; i++)
    MPT_CHILD_OK(mproc_array_set_i64(a->doubled, i, (int64_t)(i * 2)));
  MPT_CHILD_ERR(mproc_value_set_i64(a->as_int, BIG_SUM), MPROC_ERANGE);
  MPT_CHILD_OK(mproc_value_set_i64(a->as_q, BIG_SUM));
  return 0;
}

MPT_TEST_F(value_sum_too_big_for_int_erange_fits_long_long, "EX-003-06", "shared-memory checked-stores",
         "A child fills Array('i', 5) with 0, 2, 4, 6, 8; it stores "
         "sum(range(50000000)) = 1249999975000000 in a Value('q'), while the "
         "Value('i') refuses it with ERANGE and keeps its value.")
{
  struct sum_arg a;
  int64_t v;
  ck_assert_int_eq(BIG_SUM, INT64_C(1249999975000000));
  MPT_OK(mproc_array_new(&a.doubled, 'i', 5, NULL, NULL));
  MPT_OK(mproc_value_new(&a.as_int, 'i', NULL));
  MPT_OK(mproc_value_new(&a.as_q, 'q', NULL));
  MPT_OK(mproc_value_set_i64(a.as_int, 7));
  run_child(fill_and_sum, &a);
  for (size_t i = 0; i < 5; i++) {
    MPT_OK(mproc_array_get_i64(a.doubled, i, &v));
    ck_assert_int_eq(v, (int64_t)(i * 2));
  }
  MPT_OK(mproc_value_get_i64(a.as_int, &v));
  ck_assert_int_eq(v, 7);
  MPT_OK(mproc_value_get_i64(a.as_q, &v));
  ck_assert_int_eq(v, BIG_SUM);
  mproc_array_free(a.doubled);
  mproc_value_free(a.as_int);
  mproc_value_free(a.as_q);
}

/* ---- indexes, creation errors, locks ---- */

static const size_t bad_indexes[] = {5, 6, 1000, SIZE_MAX};

MPT_TEST(array_index_out_of_range_erange, "EX-002-07 EX-003-06",
         "Every Array accessor given an index at or past the length gives "
         "ERANGE and changes nothing.")
{
  mproc_array *a, *d;
  MPT_OK(mproc_array_new(&a, 'i', 5, NULL, NULL));
  MPT_OK(mproc_array_new(&d, 'd', 5, NULL, NULL));
  for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++) {
    size_t k = bad_indexes[i];
    int64_t s;
    uint64_t u;
    double x;
    MPT_ERR(mproc_array_get_i64(a, k, &s), MPROC_ERANGE);
    MPT_ERR(mproc_array_set_i64(a, k, 1), MPROC_ERANGE);
    MPT_ERR(mproc_array_get_u64(a, k, &u), MPROC_ERANGE);
    MPT_ERR(mproc_array_set_u64(a, k, 1), MPROC_ERANGE);
    MPT_ERR(mproc_array_get_double(a, k, &x), MPROC_ERANGE);
    MPT_ERR(mproc_array_get_double(d, k, &x), MPROC_ERANGE);
    MPT_ERR(mproc_array_set_double(d, k, 1.0), MPROC_ERANGE);
  }
  for (size_t k = 0; k < 5; k++) {
    ck_assert_int_eq(((int *)mproc_array_data(a))[k], 0);
    ck_assert(((double *)mproc_array_data(d))[k] == 0);
  }
  MPT_OK(mproc_array_set_i64(a, 4, 1));
  mproc_array_free(a);
  mproc_array_free(d);
}

MPT_TEST(array_init_values_are_copied, "EX-000-06 EX-003-06",
         "An Array made from initial values holds a copy: changing the "
         "caller's buffer afterwards does not change it.")
{
  int src[3] = {7, 8, 9};
  double dsrc[2] = {0.25, -4};
  mproc_array *a, *d;
  double x;
  MPT_OK(mproc_array_new(&a, 'i', 3, src, NULL));
  MPT_OK(mproc_array_new(&d, 'd', 2, dsrc, NULL));
  src[0] = src[1] = src[2] = 0;
  dsrc[0] = dsrc[1] = 0;
  for (size_t i = 0; i < 3; i++) {
    int64_t v;
    MPT_OK(mproc_array_get_i64(a, i, &v));
    ck_assert_int_eq(v, 7 + (int64_t)i);
  }
  ck_assert_ptr_ne(mproc_array_data(a), src);
  MPT_OK(mproc_array_get_double(d, 0, &x));
  ck_assert(x == 0.25);
  MPT_OK(mproc_array_get_double(d, 1, &x));
  ck_assert(x == -4);
  mproc_array_free(a);
  mproc_array_free(d);
}

static const char bad_codes[] = {'x', 'u', 'z', 'D', 'F', ' ', 0};

MPT_TEST(value_and_array_creation_errors_einval, "EX-000-06",
         "Unknown type codes, raw together with a lock, an Array of length 0 "
         "and NULL results give EINVAL; an Array too large for memory "
         "addressing gives ERANGE.")
{
  mproc_value *v = NULL;
  mproc_array *a = NULL;
  mproc_lock *l;
  mproc_shared_options both;

  for (size_t i = 0; i < sizeof bad_codes; i++) {
    MPT_ERR(mproc_value_new(&v, bad_codes[i], NULL), MPROC_EINVAL);
    MPT_ERR(mproc_array_new(&a, bad_codes[i], 3, NULL, NULL), MPROC_EINVAL);
  }
  MPT_OK(mproc_lock_new(&l));
  both = (mproc_shared_options){.raw = true, .lock = l};
  MPT_ERR(mproc_value_new(&v, 'i', &both), MPROC_EINVAL);
  MPT_ERR(mproc_array_new(&a, 'i', 3, NULL, &both), MPROC_EINVAL);
  MPT_ERR(mproc_array_new(&a, 'i', 0, NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_value_new(NULL, 'i', NULL), MPROC_EINVAL);
  MPT_ERR(mproc_array_new(NULL, 'i', 3, NULL, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_array_new(&a, 'q', SIZE_MAX / 2, NULL, NULL), MPROC_ERANGE);
  MPT_ERR(mproc_array_new(&a, 'd', SIZE_MAX, NULL, NULL), MPROC_ERANGE);
  mproc_lock_free(l);
}

MPT_TEST(value_and_array_null_object_einval, "EX-000-06",
         "Accessors given a NULL Value or Array give EINVAL, or report 0 / "
         "NULL.")
{
  int64_t s;
  uint64_t u;
  double x;
  MPT_ERR(mproc_value_get_i64(NULL, &s), MPROC_EINVAL);
  MPT_ERR(mproc_value_set_i64(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_value_get_u64(NULL, &u), MPROC_EINVAL);
  MPT_ERR(mproc_value_set_u64(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_value_get_double(NULL, &x), MPROC_EINVAL);
  MPT_ERR(mproc_value_set_double(NULL, 1), MPROC_EINVAL);
  MPT_ERR(mproc_array_get_i64(NULL, 0, &s), MPROC_EINVAL);
  MPT_ERR(mproc_array_set_i64(NULL, 0, 1), MPROC_EINVAL);
  MPT_ERR(mproc_array_get_double(NULL, 0, &x), MPROC_EINVAL);
  ck_assert_int_eq(mproc_value_typecode(NULL), 0);
  ck_assert_int_eq(mproc_array_typecode(NULL), 0);
  ck_assert_uint_eq(mproc_array_length(NULL), 0);
  mproc_value_free(NULL);
  mproc_array_free(NULL);
}

static int try_lock_expect(void *p)
{
  MPT_CHILD_ERR(mproc_lock_acquire(p, 0), MPROC_EAGAIN);
  return 0;
}

MPT_TEST(value_get_lock_default_raw_or_given, "EX-000-06 EX-002-07",
         "get_lock gives a lock of the object's own (an RLock shared with "
         "children) by default, NULL for a raw object, and the caller's lock "
         "when one is given.")
{
  mproc_value *v, *raw_v, *given_v;
  mproc_array *a, *raw_a, *given_a;
  mproc_lock *l;
  mproc_shared_options raw = {.raw = true};
  mproc_shared_options given;
  mproc_process p;

  MPT_OK(mproc_lock_new(&l));
  given = (mproc_shared_options){.lock = l};
  MPT_OK(mproc_value_new(&v, 'i', NULL));
  MPT_OK(mproc_value_new(&raw_v, 'i', &raw));
  MPT_OK(mproc_value_new(&given_v, 'i', &given));
  MPT_OK(mproc_array_new(&a, 'i', 2, NULL, NULL));
  MPT_OK(mproc_array_new(&raw_a, 'i', 2, NULL, &raw));
  MPT_OK(mproc_array_new(&given_a, 'i', 2, NULL, &given));

  ck_assert_ptr_nonnull(mproc_value_get_lock(v));
  ck_assert(mproc_lock_is_recursive(mproc_value_get_lock(v)));
  ck_assert_ptr_nonnull(mproc_array_get_lock(a));
  ck_assert(mproc_lock_is_recursive(mproc_array_get_lock(a)));
  ck_assert_ptr_ne(mproc_value_get_lock(v), mproc_array_get_lock(a));
  ck_assert_ptr_null(mproc_value_get_lock(raw_v));
  ck_assert_ptr_null(mproc_array_get_lock(raw_a));
  ck_assert_ptr_eq(mproc_value_get_lock(given_v), l);
  ck_assert_ptr_eq(mproc_array_get_lock(given_a), l);

  /* The own lock is one lock in parent and child. */
  MPT_OK(mproc_lock_acquire(mproc_value_get_lock(v), 0));
  start(&p, try_lock_expect, mproc_value_get_lock(v));
  mpt_join_all(&p, 1);
  MPT_OK(mproc_lock_release(mproc_value_get_lock(v)));
  /* Raw objects are still shared memory. */
  MPT_OK(mproc_value_set_i64(raw_v, 5));
  MPT_OK(mproc_array_set_i64(raw_a, 1, 6));

  mproc_value_free(v);
  mproc_value_free(raw_v);
  mproc_value_free(given_v);
  mproc_array_free(a);
  mproc_array_free(raw_a);
  mproc_array_free(given_a);
  mproc_lock_free(l);
}

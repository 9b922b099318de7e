/* Conformance: values on the wire (construction, ownership, copy, equality,
 * repr like the documented system's, and the MessagePack encoding: round
 * trips, nesting limits, hostile bytes). */
#define _GNU_SOURCE
#define MPT_SUITE "obj"
#define MPT_FEATURE "values"
#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void start(mproc_process *p, mproc_target_fn fn, void *arg)
{
  mproc_process_options o = {0};
  o.target = fn;
  o.arg = arg;
  MPT_OK(mproc_process_init(p, &o));
  MPT_OK(mproc_process_start(p));
}

/* A list built from items given as arguments, NULL-terminated. */
static mproc_obj *list_of(mproc_obj *first, ...)
{
  mproc_obj *l = mproc_obj_list();
  va_list ap;
  ck_assert_ptr_nonnull(l);
  va_start(ap, first);
  for (mproc_obj *o = first; o != NULL; o = va_arg(ap, mproc_obj *))
    MPT_OK(mproc_obj_list_append(l, o));
  va_end(ap);
  return l;
}

/* A dict from alternating str keys and values, NULL-terminated. */
static mproc_obj *dict_of(const char *key, ...)
{
  mproc_obj *d = mproc_obj_dict();
  va_list ap;
  ck_assert_ptr_nonnull(d);
  va_start(ap, key);
  for (const char *k = key; k != NULL; k = va_arg(ap, const char *))
    MPT_OK(mproc_obj_dict_set(d, mproc_obj_str(k), va_arg(ap, mproc_obj *)));
  va_end(ap);
  return d;
}

/* Encodes, decodes, and requires the decoded value to equal `o`. */
static void roundtrip(const mproc_obj *o, const char *label)
{
  void *buf = NULL;
  size_t len = 0;
  mproc_obj *back = NULL;
  int rc = mproc_obj_encode(o, &buf, &len);
  ck_assert_msg(rc == 0, "%s: encode returned %s", label, mproc_err_name(rc));
  ck_assert_msg(buf != NULL && len > 0, "%s: encode gave an empty buffer",
                label);
  rc = mproc_obj_decode(buf, len, &back);
  ck_assert_msg(rc == 0, "%s: decode of its own encoding (%zu bytes) "
                "returned %s", label, len, mproc_err_name(rc));
  ck_assert_msg(mproc_obj_type_of(back) == mproc_obj_type_of(o),
                "%s: type %d came back as %d", label, mproc_obj_type_of(o),
                mproc_obj_type_of(back));
  ck_assert_msg(mproc_obj_equal(o, back), "%s: decoded value differs",
                label);
  free(buf);
  mproc_obj_free(back);
}

static void expect_repr(const mproc_obj *o, const char *want)
{
  char *got = mproc_obj_repr(o);
  ck_assert_msg(got != NULL, "repr returned NULL, expected %s", want);
  ck_assert_msg(strcmp(got, want) == 0, "repr is <%s>, expected <%s>", got,
                want);
  free(got);
}

/* ---- construction and access ---- */

MPT_TEST(obj_scalars_keep_type_and_value, "EX-000-04 EX-000-05",
         "None, bool, int, float, str and bytes constructors give values of "
         "their type whose accessors return what was given, and accessors of "
         "another type fail with EINVAL or give NULL.")
{
  mproc_obj *n = mproc_obj_none(), *t = mproc_obj_bool(true),
            *f = mproc_obj_bool(false), *i = mproc_obj_int(INT64_MIN),
            *x = mproc_obj_float(-2.5), *s = mproc_obj_str("item_3"),
            *b = mproc_obj_bytes("\0\1\2", 3);
  bool bv;
  int64_t iv;
  double dv;
  size_t len = 99;
  const unsigned char *bp;

  ck_assert(n && t && f && i && x && s && b);
  ck_assert_int_eq(mproc_obj_type_of(n), MPROC_OBJ_NONE);
  ck_assert_int_eq(mproc_obj_type_of(t), MPROC_OBJ_BOOL);
  ck_assert_int_eq(mproc_obj_type_of(i), MPROC_OBJ_INT);
  ck_assert_int_eq(mproc_obj_type_of(x), MPROC_OBJ_FLOAT);
  ck_assert_int_eq(mproc_obj_type_of(s), MPROC_OBJ_STR);
  ck_assert_int_eq(mproc_obj_type_of(b), MPROC_OBJ_BYTES);
  ck_assert_int_eq(mproc_obj_type_of(NULL), MPROC_OBJ_NONE);

  MPT_OK(mproc_obj_get_bool(t, &bv));
  ck_assert(bv);
  MPT_OK(mproc_obj_get_bool(f, &bv));
  ck_assert(!bv);
  MPT_OK(mproc_obj_get_int(i, &iv));
  ck_assert(iv == INT64_MIN);
  MPT_OK(mproc_obj_get_float(x, &dv));
  ck_assert(dv == -2.5);
  ck_assert_str_eq(mproc_obj_str_value(s), "item_3");
  ck_assert_uint_eq(mproc_obj_len(s), 6);
  bp = mproc_obj_bytes_value(b, &len);
  ck_assert_uint_eq(len, 3);
  ck_assert(bp[0] == 0 && bp[1] == 1 && bp[2] == 2);
  ck_assert_uint_eq(mproc_obj_len(b), 3);
  ck_assert_uint_eq(mproc_obj_len(i), 0);
  ck_assert_uint_eq(mproc_obj_len(NULL), 0);

  /* Accessors of another type. */
  MPT_ERR(mproc_obj_get_bool(i, &bv), MPROC_EINVAL);
  MPT_ERR(mproc_obj_get_int(t, &iv), MPROC_EINVAL); /* True is not 1 */
  MPT_ERR(mproc_obj_get_int(x, &iv), MPROC_EINVAL);
  MPT_ERR(mproc_obj_get_float(i, &dv), MPROC_EINVAL);
  MPT_ERR(mproc_obj_get_int(NULL, &iv), MPROC_EINVAL);
  MPT_ERR(mproc_obj_get_bool(NULL, &bv), MPROC_EINVAL);
  MPT_ERR(mproc_obj_get_float(NULL, &dv), MPROC_EINVAL);
  ck_assert_ptr_null(mproc_obj_str_value(b));
  ck_assert_ptr_null(mproc_obj_str_value(n));
  ck_assert_ptr_null(mproc_obj_str_value(NULL));
  ck_assert_ptr_null(mproc_obj_bytes_value(s, &len));
  ck_assert_ptr_null(mproc_obj_bytes_value(NULL, &len));

  mproc_obj_free(n);
  mproc_obj_free(t);
  mproc_obj_free(f);
  mproc_obj_free(i);
  mproc_obj_free(x);
  mproc_obj_free(s);
  mproc_obj_free(b);
  mproc_obj_free(NULL);
}

MPT_TEST(obj_str_and_bytes_copy_the_callers_buffer, "EX-000-04 EX-000-05",
         "str, strn and bytes copy their input: changing the caller's buffer "
         "afterwards changes nothing; strn and bytes keep embedded NULs and "
         "empty values are values.")
{
  char text[] = "Hello from sender";
  unsigned char raw[] = {0, 'a', 0, 0xff};
  mproc_obj *s = mproc_obj_str(text), *sn = mproc_obj_strn("a\0b", 3),
            *b = mproc_obj_bytes(raw, sizeof raw), *e = mproc_obj_str(""),
            *eb = mproc_obj_bytes(raw, 0);
  size_t len;
  const unsigned char *p;

  ck_assert(s && sn && b && e && eb);
  text[0] = 'J';
  raw[1] = 'z';
  ck_assert_str_eq(mproc_obj_str_value(s), "Hello from sender");
  ck_assert_uint_eq(mproc_obj_len(sn), 3);
  ck_assert(memcmp(mproc_obj_str_value(sn), "a\0b", 3) == 0);
  p = mproc_obj_bytes_value(b, &len);
  ck_assert_uint_eq(len, 4);
  ck_assert(p[0] == 0 && p[1] == 'a' && p[2] == 0 && p[3] == 0xff);
  ck_assert_str_eq(mproc_obj_str_value(e), "");
  ck_assert_uint_eq(mproc_obj_len(e), 0);
  ck_assert_ptr_nonnull(mproc_obj_bytes_value(eb, &len));
  ck_assert_uint_eq(len, 0);
  ck_assert_ptr_null(mproc_obj_str(NULL));
  mproc_obj_free(s);
  mproc_obj_free(sn);
  mproc_obj_free(b);
  mproc_obj_free(e);
  mproc_obj_free(eb);
}

static const struct {
  const char *label;
  const char *bytes;
  size_t len;
  bool valid;
} utf8_cases[] = {
    {"ASCII", "item_3", 6, true},
    {"2-byte e-acute", "\xc3\xa9", 2, true},
    {"3-byte euro sign", "\xe2\x82\xac", 3, true},
    {"4-byte emoji", "\xf0\x9f\x98\x80", 4, true},
    {"U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", 4, true},
    {"U+FFFF (a noncharacter, still valid)", "\xef\xbf\xbf", 3, true},
    {"lone continuation byte", "\x80", 1, false},
    {"invalid lead byte 0xff", "\xff", 1, false},
    {"lead byte 0xf8 (5-byte form)", "\xf8\x88\x80\x80\x80", 5, false},
    {"overlong NUL C0 80", "\xc0\x80", 2, false},
    {"overlong slash C1 AF", "\xc1\xaf", 2, false},
    {"overlong 3-byte E0 80 AF", "\xe0\x80\xaf", 3, false},
    {"overlong 4-byte F0 80 80 AF", "\xf0\x80\x80\xaf", 4, false},
    {"surrogate U+D800", "\xed\xa0\x80", 3, false},
    {"surrogate U+DFFF", "\xed\xbf\xbf", 3, false},
    {"above U+10FFFF", "\xf4\x90\x80\x80", 4, false},
    {"truncated 3-byte sequence", "\xe2\x82", 2, false},
    {"truncated at the end of valid text", "ok\xc3", 3, false},
    {"missing continuation", "\xc3(", 2, false},
};

MPT_TEST(obj_str_rejects_invalid_utf8_null_and_decode_eproto, "EX-000-04 EX-000-05",
         "A str must be valid UTF-8: strn returns NULL for overlong forms, "
         "surrogates, code points above U+10FFFF and broken sequences, and a "
         "str on the wire holding such bytes decodes to EPROTO.")
{
  for (size_t c = 0; c < sizeof utf8_cases / sizeof utf8_cases[0]; c++) {
    mproc_obj *s = mproc_obj_strn(utf8_cases[c].bytes, utf8_cases[c].len);
    unsigned char wire[16];
    mproc_obj *out = NULL;
    int rc;
    ck_assert_msg((s != NULL) == utf8_cases[c].valid,
                  "%s: strn %s, expected %s", utf8_cases[c].label,
                  s ? "accepted it" : "returned NULL",
                  utf8_cases[c].valid ? "a str" : "NULL");
    mproc_obj_free(s);
    /* The same bytes as a MessagePack fixstr. */
    wire[0] = (unsigned char)(0xa0 | utf8_cases[c].len);
    memcpy(wire + 1, utf8_cases[c].bytes, utf8_cases[c].len);
    rc = mproc_obj_decode(wire, 1 + utf8_cases[c].len, &out);
    ck_assert_msg(rc == (utf8_cases[c].valid ? 0 : MPROC_EPROTO),
                  "%s: decode of the fixstr returned %s", utf8_cases[c].label,
                  mproc_err_name(rc));
    if (rc == 0) {
      ck_assert_uint_eq(mproc_obj_len(out), utf8_cases[c].len);
      ck_assert(memcmp(mproc_obj_str_value(out), utf8_cases[c].bytes,
                       utf8_cases[c].len) == 0);
      mproc_obj_free(out);
    }
  }
}

MPT_TEST(obj_list_append_keeps_order_and_takes_ownership, "EX-000-05 EX-002-04",
         "list_append keeps items in order and takes them, also when it "
         "fails: EINVAL when the target is not a list (item freed), ENOMEM "
         "for a NULL item; list_get is NULL out of range.")
{
  mproc_obj *l = mproc_obj_list(), *notlist = mproc_obj_int(1);
  int64_t v;
  ck_assert_ptr_nonnull(l);
  ck_assert_uint_eq(mproc_obj_len(l), 0);
  ck_assert_ptr_null(mproc_obj_list_get(l, 0));
  for (int i = 1; i <= 100; i++)
    MPT_OK(mproc_obj_list_append(l, mproc_obj_int(i)));
  ck_assert_uint_eq(mproc_obj_len(l), 100);
  for (int i = 0; i < 100; i++) {
    MPT_OK(mproc_obj_get_int(mproc_obj_list_get(l, (size_t)i), &v));
    ck_assert_int_eq(v, i + 1);
  }
  ck_assert_ptr_null(mproc_obj_list_get(l, 100));
  ck_assert_ptr_null(mproc_obj_list_get(notlist, 0));
  ck_assert_ptr_null(mproc_obj_list_get(NULL, 0));
  /* Failed appends still take the item (Valgrind sees a leak otherwise). */
  MPT_ERR(mproc_obj_list_append(notlist, mproc_obj_str("taken")),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_list_append(NULL, mproc_obj_str("taken")), MPROC_EINVAL);
  MPT_ERR(mproc_obj_list_append(l, NULL), MPROC_ENOMEM);
  ck_assert_uint_eq(mproc_obj_len(l), 100);
  /* Nested constructors: the documented idiom. */
  MPT_OK(mproc_obj_list_append(l, list_of(mproc_obj_int(1), mproc_obj_int(2),
                                          mproc_obj_int(3), NULL)));
  expect_repr(mproc_obj_list_get(l, 100), "[1, 2, 3]");
  mproc_obj_free(l);
  mproc_obj_free(notlist);
}

MPT_TEST(obj_dict_set_replaces_equal_key_and_keeps_insertion_order, "EX-000-05 EX-002-04",
         "dict_set keeps insertion order, replaces the value of an equal key "
         "in place, tells str keys from int keys, rejects other key types "
         "with EINVAL and takes key and value even when it fails.")
{
  mproc_obj *d = mproc_obj_dict(), *k;
  int64_t v;
  ck_assert_ptr_nonnull(d);
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_str("b"), mproc_obj_int(1)));
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_str("a"), mproc_obj_int(2)));
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_int(1), mproc_obj_str("int one")));
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_str("1"), mproc_obj_str("str one")));
  MPT_OK(mproc_obj_dict_set(d, mproc_obj_str("b"), mproc_obj_int(3)));
  ck_assert_uint_eq(mproc_obj_len(d), 4);
  expect_repr(d, "{'b': 3, 'a': 2, 1: 'int one', '1': 'str one'}");
  ck_assert_str_eq(mproc_obj_str_value(mproc_obj_dict_key(d, 0)), "b");
  MPT_OK(mproc_obj_get_int(mproc_obj_dict_value(d, 0), &v));
  ck_assert_int_eq(v, 3);
  ck_assert_ptr_null(mproc_obj_dict_key(d, 4));
  ck_assert_ptr_null(mproc_obj_dict_value(d, 4));
  MPT_OK(mproc_obj_get_int(mproc_obj_dict_get_str(d, "a"), &v));
  ck_assert_int_eq(v, 2);
  ck_assert_str_eq(mproc_obj_str_value(mproc_obj_dict_get_int(d, 1)),
                   "int one");
  ck_assert_str_eq(mproc_obj_str_value(mproc_obj_dict_get_str(d, "1")),
                   "str one");
  k = mproc_obj_str("a");
  MPT_OK(mproc_obj_get_int(mproc_obj_dict_get(d, k), &v));
  ck_assert_int_eq(v, 2);
  mproc_obj_free(k);
  ck_assert_ptr_null(mproc_obj_dict_get_str(d, "missing"));
  ck_assert_ptr_null(mproc_obj_dict_get_int(d, 2));
  ck_assert_ptr_null(mproc_obj_dict_get_str(NULL, "a"));

  /* Keys other than str and int; the targets that are not dicts. */
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_bool(true), mproc_obj_int(0)),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_float(1.0), mproc_obj_int(0)),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_none(), mproc_obj_int(0)),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_bytes("k", 1), mproc_obj_int(0)),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_list(), mproc_obj_int(0)),
          MPROC_EINVAL);
  MPT_ERR(mproc_obj_dict_set(NULL, mproc_obj_str("k"), mproc_obj_int(0)),
          MPROC_EINVAL);
  k = mproc_obj_list();
  MPT_ERR(mproc_obj_dict_set(k, mproc_obj_str("k"), mproc_obj_int(0)),
          MPROC_EINVAL);
  mproc_obj_free(k);
  MPT_ERR(mproc_obj_dict_set(d, NULL, mproc_obj_int(0)), MPROC_ENOMEM);
  MPT_ERR(mproc_obj_dict_set(d, mproc_obj_str("k"), NULL), MPROC_ENOMEM);
  ck_assert_uint_eq(mproc_obj_len(d), 4);
  mproc_obj_free(d);
}

MPT_TEST(obj_copy_is_deep_and_independent, "EX-000-05 EX-002-04",
         "A copy equals its original and shares nothing with it: changing "
         "or freeing the original leaves the copy intact.")
{
  mproc_obj *o = list_of(
      mproc_obj_none(), mproc_obj_bool(false), mproc_obj_int(-1),
      mproc_obj_float(0.5), mproc_obj_str("item_0"), mproc_obj_bytes("\0", 1),
      list_of(mproc_obj_int(1), NULL),
      dict_of("a", mproc_obj_int(1), "b", list_of(mproc_obj_str("x"), NULL),
              NULL),
      NULL);
  mproc_obj *c = mproc_obj_copy(o), *nested;
  ck_assert_ptr_nonnull(c);
  ck_assert(mproc_obj_equal(o, c));
  expect_repr(c, "[None, False, -1, 0.5, 'item_0', b'\\x00', [1], "
                 "{'a': 1, 'b': ['x']}]");
  /* Change the original's nested list: the copy must not see it. */
  nested = (mproc_obj *)mproc_obj_list_get(o, 6);
  MPT_OK(mproc_obj_list_append(nested, mproc_obj_int(2)));
  ck_assert(!mproc_obj_equal(o, c));
  mproc_obj_free(o);
  expect_repr(c, "[None, False, -1, 0.5, 'item_0', b'\\x00', [1], "
                 "{'a': 1, 'b': ['x']}]");
  mproc_obj_free(c);
  ck_assert_ptr_null(mproc_obj_copy(NULL));
}

/* ---- equality ---- */

enum { SAME, DIFF };

static mproc_obj *mk_dict_ab(bool reversed)
{
  return reversed ? dict_of("b", mproc_obj_int(2), "a", mproc_obj_int(1), NULL)
                  : dict_of("a", mproc_obj_int(1), "b", mproc_obj_int(2), NULL);
}

MPT_TEST(obj_equal_needs_same_type_and_compares_dicts_as_mappings, "EX-000-05 EX-002-04",
         "equal is deep: types must match (1, 1.0 and True differ), dicts "
         "compare regardless of order, floats compare with == (0.0 equals "
         "-0.0, NaN equals nothing), str and bytes compare every byte.")
{
  struct {
    const char *label;
    mproc_obj *a, *b;
    int want;
  } cases[] = {
      {"None None", mproc_obj_none(), mproc_obj_none(), SAME},
      {"1 and 1", mproc_obj_int(1), mproc_obj_int(1), SAME},
      {"1 and 2", mproc_obj_int(1), mproc_obj_int(2), DIFF},
      {"1 and 1.0", mproc_obj_int(1), mproc_obj_float(1.0), DIFF},
      {"1 and True", mproc_obj_int(1), mproc_obj_bool(true), DIFF},
      {"0 and False", mproc_obj_int(0), mproc_obj_bool(false), DIFF},
      {"0 and None", mproc_obj_int(0), mproc_obj_none(), DIFF},
      {"0.0 and -0.0", mproc_obj_float(0.0), mproc_obj_float(-0.0), SAME},
      {"nan and nan", mproc_obj_float(NAN), mproc_obj_float(NAN), DIFF},
      {"1.5 and -1.5", mproc_obj_float(1.5), mproc_obj_float(-1.5), DIFF},
      {"'a' and b'a'", mproc_obj_str("a"), mproc_obj_bytes("a", 1), DIFF},
      {"'a' and 'a\\0'", mproc_obj_strn("a", 1), mproc_obj_strn("a\0", 2),
       DIFF},
      {"b'a\\0b' and b'a\\0c'", mproc_obj_bytes("a\0b", 3),
       mproc_obj_bytes("a\0c", 3), DIFF},
      {"[] and {}", mproc_obj_list(), mproc_obj_dict(), DIFF},
      {"[1, 2] and [2, 1]", list_of(mproc_obj_int(1), mproc_obj_int(2), NULL),
       list_of(mproc_obj_int(2), mproc_obj_int(1), NULL), DIFF},
      {"[1] and [1, 1]", list_of(mproc_obj_int(1), NULL),
       list_of(mproc_obj_int(1), mproc_obj_int(1), NULL), DIFF},
      {"{a:1, b:2} and {b:2, a:1}", mk_dict_ab(false), mk_dict_ab(true), SAME},
      {"{a:1} and {a:1.0}", dict_of("a", mproc_obj_int(1), NULL),
       dict_of("a", mproc_obj_float(1.0), NULL), DIFF},
      {"{a:1} and {b:1}", dict_of("a", mproc_obj_int(1), NULL),
       dict_of("b", mproc_obj_int(1), NULL), DIFF},
      {"{a:1} and {a:1, b:2}", dict_of("a", mproc_obj_int(1), NULL),
       mk_dict_ab(false), DIFF},
      {"nested equal",
       list_of(dict_of("k", list_of(mproc_obj_none(), NULL), NULL), NULL),
       list_of(dict_of("k", list_of(mproc_obj_none(), NULL), NULL), NULL),
       SAME},
      {"nested differ deep inside",
       list_of(dict_of("k", list_of(mproc_obj_none(), NULL), NULL), NULL),
       list_of(dict_of("k", list_of(mproc_obj_bool(false), NULL), NULL),
               NULL),
       DIFF},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    ck_assert_msg(cases[c].a && cases[c].b, "%s: construction failed",
                  cases[c].label);
    ck_assert_msg(mproc_obj_equal(cases[c].a, cases[c].b) ==
                      (cases[c].want == SAME),
                  "%s: equal is %d", cases[c].label,
                  mproc_obj_equal(cases[c].a, cases[c].b));
    ck_assert_msg(mproc_obj_equal(cases[c].b, cases[c].a) ==
                      (cases[c].want == SAME),
                  "%s (swapped): equal is %d", cases[c].label,
                  mproc_obj_equal(cases[c].b, cases[c].a));
    mproc_obj_free(cases[c].a);
    mproc_obj_free(cases[c].b);
  }
  ck_assert(mproc_obj_equal(NULL, NULL));
}

/* ---- repr ---- */

MPT_TEST(obj_repr_matches_python, "EX-000-04 EX-000-05",
         "repr gives the documented system's repr(): None, True, 42, "
         "'item_3', [1, 2, 3], {'a': 1}, b'\\x00', with Python's quoting, "
         "escapes and shortest float forms.")
{
  struct {
    mproc_obj *o;
    const char *want;
  } cases[] = {
      {mproc_obj_none(), "None"},
      {mproc_obj_bool(true), "True"},
      {mproc_obj_bool(false), "False"},
      {mproc_obj_int(0), "0"},
      {mproc_obj_int(42), "42"},
      {mproc_obj_int(-7), "-7"},
      {mproc_obj_int(INT64_MAX), "9223372036854775807"},
      {mproc_obj_int(INT64_MIN), "-9223372036854775808"},
      {mproc_obj_float(1.5), "1.5"},
      {mproc_obj_float(3.0), "3.0"},
      {mproc_obj_float(-0.0), "-0.0"},
      {mproc_obj_float(0.1), "0.1"},
      {mproc_obj_float(100.0), "100.0"},
      {mproc_obj_float(123456.789), "123456.789"},
      {mproc_obj_float(1.0 / 3.0), "0.3333333333333333"},
      {mproc_obj_float(1e15), "1000000000000000.0"},
      {mproc_obj_float(1e16), "1e+16"},
      {mproc_obj_float(1e100), "1e+100"},
      {mproc_obj_float(0.0001), "0.0001"},
      {mproc_obj_float(1.25e-05), "1.25e-05"},
      {mproc_obj_float(INFINITY), "inf"},
      {mproc_obj_float(-INFINITY), "-inf"},
      {mproc_obj_float(NAN), "nan"},
      {mproc_obj_str("item_3"), "'item_3'"},
      {mproc_obj_str("Hello from sender"), "'Hello from sender'"},
      {mproc_obj_str(""), "''"},
      {mproc_obj_str("it's"), "\"it's\""},
      {mproc_obj_str("say \"hi\""), "'say \"hi\"'"},
      {mproc_obj_str("it's \"x\""), "'it\\'s \"x\"'"},
      {mproc_obj_str("a\\b"), "'a\\\\b'"},
      {mproc_obj_str("tab\there\nnl\rcr"), "'tab\\there\\nnl\\rcr'"},
      {mproc_obj_str("\x01\x1f\x7f"), "'\\x01\\x1f\\x7f'"},
      {mproc_obj_str("caf\xc3\xa9"), "'caf\xc3\xa9'"},
      {mproc_obj_bytes("\0", 1), "b'\\x00'"},
      {mproc_obj_bytes("", 0), "b''"},
      {mproc_obj_bytes("abc", 3), "b'abc'"},
      {mproc_obj_bytes("\xff\x80\n", 3), "b'\\xff\\x80\\n'"},
      {mproc_obj_bytes("it's", 4), "b\"it's\""},
      {list_of(mproc_obj_int(1), mproc_obj_int(2), mproc_obj_int(3), NULL),
       "[1, 2, 3]"},
      {mproc_obj_list(), "[]"},
      {mproc_obj_dict(), "{}"},
      {dict_of("a", mproc_obj_int(1), NULL), "{'a': 1}"},
      {list_of(mproc_obj_none(), mproc_obj_bool(true), mproc_obj_float(1.5),
               mproc_obj_str("x"), mproc_obj_bytes("y", 1), mproc_obj_list(),
               mproc_obj_dict(), NULL),
       "[None, True, 1.5, 'x', b'y', [], {}]"},
      {list_of(list_of(mproc_obj_int(1), list_of(mproc_obj_int(2), NULL),
                       NULL),
               dict_of("k", list_of(mproc_obj_none(), NULL), NULL), NULL),
       "[[1, [2]], {'k': [None]}]"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *got;
    ck_assert_msg(cases[c].o != NULL, "construction of %s failed",
                  cases[c].want);
    got = mproc_obj_repr(cases[c].o);
    ck_assert_msg(got != NULL && strcmp(got, cases[c].want) == 0,
                  "repr is <%s>, expected <%s>", got ? got : "(NULL)",
                  cases[c].want);
    free(got);
    mproc_obj_free(cases[c].o);
  }
  expect_repr(NULL, "None"); /* type_of(NULL) is None too */
}

/* ---- encoding ---- */

static mproc_obj *str_of_len(size_t n)
{
  char *s = malloc(n + 1);
  mproc_obj *o;
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i < n; i++)
    s[i] = (char)('a' + i % 26);
  s[n] = '\0';
  o = mproc_obj_strn(s, n);
  free(s);
  return o;
}

static mproc_obj *bytes_of_len(size_t n)
{
  unsigned char *b = malloc(n + 1);
  mproc_obj *o;
  ck_assert_ptr_nonnull(b);
  for (size_t i = 0; i < n; i++)
    b[i] = (unsigned char)(i * 7 + 3);
  o = mproc_obj_bytes(b, n);
  free(b);
  return o;
}

static mproc_obj *list_of_len(size_t n)
{
  mproc_obj *l = mproc_obj_list();
  for (size_t i = 0; i < n; i++)
    MPT_OK(mproc_obj_list_append(l, mproc_obj_int((int64_t)i - 3)));
  return l;
}

static mproc_obj *dict_of_len(size_t n)
{
  mproc_obj *d = mproc_obj_dict();
  for (size_t i = 0; i < n; i++) {
    char k[32];
    snprintf(k, sizeof k, "key_%zu", i);
    MPT_OK(mproc_obj_dict_set(d, i % 2 ? mproc_obj_int((int64_t)i)
                                       : mproc_obj_str(k),
                              mproc_obj_int((int64_t)i)));
  }
  return d;
}

/* Round-trips `o` and frees it. */
static void roundtrip_free(mproc_obj *o, const char *label)
{
  ck_assert_msg(o != NULL, "%s: construction failed", label);
  roundtrip(o, label);
  mproc_obj_free(o);
}

MPT_TEST(obj_encode_decode_roundtrip_of_every_type, "EX-000-05 EX-002-04",
         "Every type survives encode then decode unchanged, at the size "
         "boundaries of the encoding (ints, float specials, str and bytes "
         "lengths, list and dict entry counts) and mixed inside containers.")
{
  static const int64_t ints[] = {
      0,      1,      127,    128,         255,          256,
      65535,  65536,  4294967295LL, 4294967296LL, INT64_MAX, -1,
      -32,    -33,    -128,   -129,        -32768,       -32769,
      -2147483648LL, -2147483649LL, INT64_MIN};
  static const double floats[] = {0.0,  1.5,      -2.25,    1e300,
                                  5e-324, 0.1,    INFINITY, -INFINITY};
  static const size_t lens[] = {1, 31, 32, 255, 256, 65535, 65536, 100000};
  static const size_t list_counts[] = {0, 1, 15, 16, 65535, 65536};
  static const size_t dict_counts[] = {0, 1, 15, 16, 300};
  char label[64];
  void *buf;
  size_t len;
  mproc_obj *back, *mixed;
  double d;

  roundtrip_free(mproc_obj_none(), "None");
  roundtrip_free(mproc_obj_bool(true), "True");
  roundtrip_free(mproc_obj_bool(false), "False");
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    snprintf(label, sizeof label, "int %lld", (long long)ints[i]);
    roundtrip_free(mproc_obj_int(ints[i]), label);
  }
  for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
    snprintf(label, sizeof label, "float %g", floats[i]);
    roundtrip_free(mproc_obj_float(floats[i]), label);
  }
  /* -0.0 keeps its sign, NaN stays NaN (it equals nothing, itself included). */
  {
    const double special[] = {-0.0, NAN};
    for (int i = 0; i < 2; i++) {
      mproc_obj *f = mproc_obj_float(special[i]);
      MPT_OK(mproc_obj_encode(f, &buf, &len));
      MPT_OK(mproc_obj_decode(buf, len, &back));
      MPT_OK(mproc_obj_get_float(back, &d));
      if (i == 0)
        ck_assert_msg(d == 0.0 && signbit(d), "-0.0 came back as %g", d);
      else
        ck_assert_msg(isnan(d), "NaN came back as %g", d);
      free(buf);
      mproc_obj_free(back);
      mproc_obj_free(f);
    }
  }
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    snprintf(label, sizeof label, "str of %zu bytes", lens[i]);
    roundtrip_free(str_of_len(lens[i]), label);
    snprintf(label, sizeof label, "bytes of %zu", lens[i]);
    roundtrip_free(bytes_of_len(lens[i]), label);
  }
  roundtrip_free(mproc_obj_strn("a\0b", 3), "str with a NUL");
  roundtrip_free(mproc_obj_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                 "non-ASCII str");
  for (size_t i = 0; i < sizeof list_counts / sizeof list_counts[0]; i++) {
    snprintf(label, sizeof label, "list of %zu", list_counts[i]);
    roundtrip_free(list_of_len(list_counts[i]), label);
  }
  for (size_t i = 0; i < sizeof dict_counts / sizeof dict_counts[0]; i++) {
    snprintf(label, sizeof label, "dict of %zu", dict_counts[i]);
    roundtrip_free(dict_of_len(dict_counts[i]), label);
  }
  mixed = list_of(
      mproc_obj_str("Hello from sender"),
      list_of(mproc_obj_int(1), mproc_obj_int(2), mproc_obj_int(3), NULL),
      dict_of("none", mproc_obj_none(), "flag", mproc_obj_bool(true), "pi",
              mproc_obj_float(3.14159), "raw", mproc_obj_bytes("\0\xff", 2),
              "nested",
              list_of(mproc_obj_dict(), mproc_obj_list(),
                      dict_of("deep", list_of(mproc_obj_int(-1), NULL), NULL),
                      NULL),
              NULL),
      NULL);
  ck_assert_ptr_nonnull(mixed);
  MPT_OK(mproc_obj_dict_set((mproc_obj *)mproc_obj_list_get(mixed, 2),
                            mproc_obj_int(7), mproc_obj_str("int key")));
  roundtrip(mixed, "mixed value");
  /* The decoded dict keeps the insertion order of the original. */
  MPT_OK(mproc_obj_encode(mixed, &buf, &len));
  MPT_OK(mproc_obj_decode(buf, len, &back));
  {
    char *a = mproc_obj_repr(mixed), *b = mproc_obj_repr(back);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
  }
  free(buf);
  mproc_obj_free(back);
  mproc_obj_free(mixed);
  /* Empty values last, alone and inside containers. */
  roundtrip_free(bytes_of_len(0), "empty bytes");
  roundtrip_free(str_of_len(0), "empty str");
  roundtrip_free(list_of(mproc_obj_str(""), mproc_obj_bytes("", 0), NULL),
                 "empty str and bytes in a list");
}

MPT_TEST(obj_encoding_is_messagepack, "EX-000-05 EX-002-04",
         "Values are MessagePack: None, True and False encode to their "
         "one-byte forms, and decode accepts every standard form of each "
         "type, including forms wider than needed (uint8 for 5, float32, "
         "str8 for short text, array16, map32).")
{
  static const struct {
    const char *label;
    const char *wire;
    size_t len;
    const char *repr;
  } forms[] = {
      {"nil", "\xc0", 1, "None"},
      {"false", "\xc2", 1, "False"},
      {"true", "\xc3", 1, "True"},
      {"positive fixint", "\x7f", 1, "127"},
      {"negative fixint", "\xe0", 1, "-32"},
      {"uint8", "\xcc\x05", 2, "5"},
      {"uint16", "\xcd\x00\x05", 3, "5"},
      {"uint32", "\xce\x00\x00\x00\x05", 5, "5"},
      {"uint64", "\xcf\x00\x00\x00\x00\x00\x00\x00\x05", 9, "5"},
      {"uint64 INT64_MAX", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9,
       "9223372036854775807"},
      {"int8", "\xd0\xfb", 2, "-5"},
      {"int16", "\xd1\xff\xfb", 3, "-5"},
      {"int32", "\xd2\xff\xff\xff\xfb", 5, "-5"},
      {"int64", "\xd3\xff\xff\xff\xff\xff\xff\xff\xfb", 9, "-5"},
      {"int8 holding a positive", "\xd0\x05", 2, "5"},
      {"float32", "\xca\x3f\xc0\x00\x00", 5, "1.5"},
      {"float64", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 9, "1.5"},
      {"fixstr", "\xa2hi", 3, "'hi'"},
      {"str8", "\xd9\x02hi", 4, "'hi'"},
      {"str16", "\xda\x00\x02hi", 5, "'hi'"},
      {"str32", "\xdb\x00\x00\x00\x02hi", 7, "'hi'"},
      {"empty str8", "\xd9\x00", 2, "''"},
      {"bin8", "\xc4\x01\x00", 3, "b'\\x00'"},
      {"bin16", "\xc5\x00\x01\x00", 4, "b'\\x00'"},
      {"bin32", "\xc6\x00\x00\x00\x01\x00", 6, "b'\\x00'"},
      {"fixarray", "\x93\x01\x02\x03", 4, "[1, 2, 3]"},
      {"array16", "\xdc\x00\x03\x01\x02\x03", 6, "[1, 2, 3]"},
      {"array32", "\xdd\x00\x00\x00\x03\x01\x02\x03", 8, "[1, 2, 3]"},
      {"fixmap", "\x81\xa1" "a\x01", 4, "{'a': 1}"},
      {"map16", "\xde\x00\x01\xa1" "a\x01", 6, "{'a': 1}"},
      {"map32", "\xdf\x00\x00\x00\x01\xa1" "a\x01", 8, "{'a': 1}"},
      {"map with an int key", "\x81\x01\xa1x", 4, "{1: 'x'}"},
      {"empty array16 and map32", "\x92\xdc\x00\x00\xdf\x00\x00\x00\x00", 9,
       "[[], {}]"},
      {"empty fixstr", "\xa0", 1, "''"},
      {"empty fixstr in a list", "\x91\xa0", 2, "['']"},
  };
  static const struct {
    mproc_obj *(*make)(bool);
    bool arg;
    unsigned char byte;
  } one_byte[] = {
      {mproc_obj_bool, true, 0xc3},
      {mproc_obj_bool, false, 0xc2},
  };
  void *buf;
  size_t len;
  mproc_obj *o = mproc_obj_none();

  MPT_OK(mproc_obj_encode(o, &buf, &len));
  ck_assert_uint_eq(len, 1);
  ck_assert_uint_eq(((unsigned char *)buf)[0], 0xc0);
  free(buf);
  mproc_obj_free(o);
  for (size_t i = 0; i < sizeof one_byte / sizeof one_byte[0]; i++) {
    o = one_byte[i].make(one_byte[i].arg);
    MPT_OK(mproc_obj_encode(o, &buf, &len));
    ck_assert_uint_eq(len, 1);
    ck_assert_uint_eq(((unsigned char *)buf)[0], one_byte[i].byte);
    free(buf);
    mproc_obj_free(o);
  }
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    mproc_obj *out = NULL;
    char *r;
    int rc = mproc_obj_decode(forms[i].wire, forms[i].len, &out);
    ck_assert_msg(rc == 0, "%s: decode returned %s", forms[i].label,
                  mproc_err_name(rc));
    r = mproc_obj_repr(out);
    ck_assert_msg(r != NULL && strcmp(r, forms[i].repr) == 0,
                  "%s: decoded to <%s>, expected <%s>", forms[i].label,
                  r ? r : "(NULL)", forms[i].repr);
    free(r);
    mproc_obj_free(out);
  }
}

/* ---- nesting ---- */

enum nest_kind { NEST_LIST, NEST_DICT, NEST_MIXED };

/* `levels` containers, one inside the other; the innermost is empty or
 * holds the int 1. */
static mproc_obj *nest(int levels, enum nest_kind kind, bool innermost_empty)
{
  mproc_obj *inner = NULL;
  for (int i = levels - 1; i >= 0; i--) {
    bool dict = kind == NEST_DICT || (kind == NEST_MIXED && i % 2 == 1);
    mproc_obj *c = dict ? mproc_obj_dict() : mproc_obj_list();
    mproc_obj *item = inner;
    ck_assert_ptr_nonnull(c);
    if (item == NULL && !innermost_empty)
      item = mproc_obj_int(1);
    if (item != NULL) {
      if (dict)
        MPT_OK(mproc_obj_dict_set(c, mproc_obj_str("k"), item));
      else
        MPT_OK(mproc_obj_list_append(c, item));
    }
    inner = c;
  }
  return inner;
}

/* The same, written as MessagePack by hand (fixarray / fixmap). */
static unsigned char *nest_wire(int levels, enum nest_kind kind,
                                bool innermost_empty, size_t *len)
{
  unsigned char *w = malloc((size_t)levels * 3 + 8), *p = w;
  ck_assert_ptr_nonnull(w);
  for (int i = 0; i < levels; i++) {
    bool dict = kind == NEST_DICT || (kind == NEST_MIXED && i % 2 == 1);
    bool last = i == levels - 1;
    if (last && innermost_empty) {
      *p++ = dict ? 0x80 : 0x90;
      break;
    }
    *p++ = dict ? 0x81 : 0x91;
    if (dict) {
      *p++ = 0xa1;
      *p++ = 'k';
    }
    if (last)
      *p++ = 0x01;
  }
  *len = (size_t)(p - w);
  return w;
}

static const char *nest_kind_name[] = {"lists", "dicts", "lists and dicts"};

MPT_TEST(obj_nesting_to_max_depth_roundtrips_deeper_einval_or_eproto, "EX-000-05 EX-002-04",
         "Lists and dicts nested MPROC_OBJ_MAX_DEPTH deep encode and decode; "
         "one level more is refused: encode gives EINVAL and decode of such "
         "bytes gives EPROTO, also when the innermost container is empty and "
         "for hostile depths far beyond the limit.")
{
  for (int k = NEST_LIST; k <= NEST_MIXED; k++)
    for (int empty = 0; empty <= 1; empty++) {
      mproc_obj *ok = nest(MPROC_OBJ_MAX_DEPTH, k, empty);
      mproc_obj *deep = nest(MPROC_OBJ_MAX_DEPTH + 1, k, empty);
      mproc_obj *out = NULL;
      unsigned char *w;
      size_t len;
      void *buf = NULL;
      int rc;
      char label[96];

      snprintf(label, sizeof label, "%d nested %s (innermost %s)",
               MPROC_OBJ_MAX_DEPTH, nest_kind_name[k],
               empty ? "empty" : "holding 1");
      roundtrip(ok, label);
      w = nest_wire(MPROC_OBJ_MAX_DEPTH, k, empty, &len);
      rc = mproc_obj_decode(w, len, &out);
      ck_assert_msg(rc == 0, "%s, hand-written: decode returned %s", label,
                    mproc_err_name(rc));
      ck_assert_msg(mproc_obj_equal(ok, out), "%s: decoded value differs",
                    label);
      mproc_obj_free(out);
      free(w);

      snprintf(label, sizeof label, "%d nested %s (innermost %s)",
               MPROC_OBJ_MAX_DEPTH + 1, nest_kind_name[k],
               empty ? "empty" : "holding 1");
      rc = mproc_obj_encode(deep, &buf, &len);
      ck_assert_msg(rc == MPROC_EINVAL, "%s: encode returned %s, expected "
                    "EINVAL", label, mproc_err_name(rc));
      if (rc == 0)
        free(buf);
      w = nest_wire(MPROC_OBJ_MAX_DEPTH + 1, k, empty, &len);
      out = NULL;
      rc = mproc_obj_decode(w, len, &out);
      ck_assert_msg(rc == MPROC_EPROTO, "%s: decode returned %s, expected "
                    "EPROTO", label, mproc_err_name(rc));
      if (rc == 0)
        mproc_obj_free(out);
      free(w);
      mproc_obj_free(ok);
      mproc_obj_free(deep);
    }

  /* Far beyond the limit: must fail cleanly, not overflow a stack. */
  for (int levels = 100; levels <= 1000000; levels *= 100) {
    size_t len;
    unsigned char *w = nest_wire(levels, NEST_LIST, false, &len);
    mproc_obj *out = NULL;
    int rc = mproc_obj_decode(w, len, &out);
    ck_assert_msg(rc == MPROC_EPROTO, "%d nested lists: decode returned %s",
                  levels, mproc_err_name(rc));
    free(w);
  }
}

/* ---- hostile bytes ---- */

#define W(s) s, sizeof s - 1

static const struct {
  const char *label;
  const char *wire;
  size_t len;
} malformed[] = {
    {"no bytes at all", "", 0},
    {"0xc1 (never used)", W("\xc1")},
    {"fixext1", W("\xd4\x01\x00")},
    {"fixext4 (timestamp)", W("\xd6\xff\x00\x00\x00\x00")},
    {"ext8", W("\xc7\x01\x05\x00")},
    {"ext32", W("\xc9\x00\x00\x00\x01\x05\x00")},
    {"fixstr of 5 with 2 bytes", W("\xa5" "ab")},
    {"str8 without its length", W("\xd9")},
    {"str16 with half its length", W("\xda\x00")},
    {"str32 announcing 3, holding 1", W("\xdb\x00\x00\x00\x03x")},
    {"bin8 announcing 2, holding 1", W("\xc4\x02\x00")},
    {"uint16 with 1 byte", W("\xcd\x01")},
    {"int64 with 7 bytes", W("\xd3\x00\x00\x00\x00\x00\x00\x00")},
    {"float64 with 3 bytes", W("\xcb\x00\x00\x00")},
    {"float32 with 3 bytes", W("\xca\x00\x00\x00")},
    {"fixarray of 2 with 1", W("\x92\x01")},
    {"array16 of 3 with 2", W("\xdc\x00\x03\x01\x02")},
    {"fixmap missing a value", W("\x81\xa1k")},
    {"map32 missing its entries", W("\xdf\x00\x00\x00\x01")},
    {"two values", W("\x01\x02")},
    {"None then a byte", W("\xc0\xc0")},
    {"empty list then a byte", W("\x90\x00")},
    {"a complete str then garbage", W("\xa2hi\xc1")},
    {"map key True", W("\x81\xc3\x01")},
    {"map key None", W("\x81\xc0\x01")},
    {"map key float", W("\x81\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\x01")},
    {"map key list", W("\x81\x90\x01")},
    {"map key bytes", W("\x81\xc4\x01k\x01")},
    {"map key dict", W("\x81\x80\x01")},
    {"uint64 above INT64_MAX", W("\xcf\x80\x00\x00\x00\x00\x00\x00\x00")},
    {"uint64 max", W("\xcf\xff\xff\xff\xff\xff\xff\xff\xff")},
    {"str8 with invalid UTF-8", W("\xd9\x02\xc0\x80")},
    {"str in a list with a surrogate", W("\x91\xa3\xed\xa0\x80")},
    {"dict key with invalid UTF-8", W("\x81\xa1\xff\x01")},
};

MPT_TEST(obj_decode_malformed_bytes_eproto, "EX-000-05",
         "decode of malformed bytes (unused or extension types, truncated "
         "values, trailing bytes, map keys other than str and int, integers "
         "beyond int64, invalid UTF-8) gives EPROTO.")
{
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    mproc_obj *out = NULL;
    /* A private copy of exactly len bytes, so a read past the end is a
     * Valgrind error. */
    void *copy = malloc(malformed[i].len ? malformed[i].len : 1);
    int rc;
    memcpy(copy, malformed[i].wire, malformed[i].len);
    rc = mproc_obj_decode(copy, malformed[i].len, &out);
    ck_assert_msg(rc == MPROC_EPROTO, "%s: decode returned %s, expected "
                  "EPROTO", malformed[i].label, mproc_err_name(rc));
    if (rc == 0)
      mproc_obj_free(out);
    free(copy);
  }
}

MPT_TEST(obj_decode_every_truncation_and_extension_eproto, "EX-000-05",
         "Every strict prefix of a valid encoding, and the encoding followed "
         "by one more byte, decodes to EPROTO; the whole encoding decodes to "
         "an equal value.")
{
  mproc_obj *o = list_of(
      mproc_obj_str("Hello from sender"),
      list_of(mproc_obj_int(1), mproc_obj_int(2), mproc_obj_int(300),
              mproc_obj_int(-70000), mproc_obj_int(INT64_MIN), NULL),
      dict_of("f", mproc_obj_float(2.5), "b", mproc_obj_bytes("\0\1", 2), "n",
              mproc_obj_none(), "t", mproc_obj_bool(true), "e",
              mproc_obj_list(), NULL),
      str_of_len(40), bytes_of_len(300), NULL);
  unsigned char *buf, *longer;
  size_t len;
  mproc_obj *out;

  MPT_OK(mproc_obj_encode(o, (void **)&buf, &len));
  for (size_t n = 0; n < len; n++) {
    unsigned char *prefix = malloc(n ? n : 1);
    int rc;
    memcpy(prefix, buf, n);
    out = NULL;
    rc = mproc_obj_decode(prefix, n, &out);
    ck_assert_msg(rc == MPROC_EPROTO, "prefix of %zu of %zu bytes: decode "
                  "returned %s", n, len, mproc_err_name(rc));
    if (rc == 0)
      mproc_obj_free(out);
    free(prefix);
  }
  for (int extra = 0; extra < 3; extra++) {
    static const unsigned char tails[] = {0xc0, 0x00, 0xc1};
    int rc;
    longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = tails[extra];
    out = NULL;
    rc = mproc_obj_decode(longer, len + 1, &out);
    ck_assert_msg(rc == MPROC_EPROTO, "encoding plus 0x%02x: decode returned "
                  "%s", tails[extra], mproc_err_name(rc));
    if (rc == 0)
      mproc_obj_free(out);
    free(longer);
  }
  MPT_OK(mproc_obj_decode(buf, len, &out));
  ck_assert(mproc_obj_equal(o, out));
  mproc_obj_free(out);
  free(buf);
  mproc_obj_free(o);
}

static const struct {
  const char *label;
  const char *wire;
  size_t len;
} oversized[] = {
    {"array32 announcing 2^32-1 items", W("\xdd\xff\xff\xff\xff")},
    {"map32 announcing 2^32-1 entries", W("\xdf\xff\xff\xff\xff")},
    {"str32 announcing 4 GiB", W("\xdb\xff\xff\xff\xff" "a")},
    {"bin32 announcing 4 GiB", W("\xc6\xff\xff\xff\xff\x00")},
    {"array16 announcing 65535 items, holding 2", W("\xdc\xff\xff\xc0\xc0")},
    {"array32 in a list", W("\x91\xdd\xff\xff\xff\xff")},
    {"map32 as a dict value", W("\x81\xa1k\xdf\xff\xff\xff\xff")},
    {"array32 announcing 2^31 then nils",
     W("\xdd\x80\x00\x00\x00\xc0\xc0\xc0\xc0\xc0\xc0\xc0\xc0")},
    {"nested array32s each announcing 2^32-1",
     W("\xdd\xff\xff\xff\xff\xdd\xff\xff\xff\xff\xdd\xff\xff\xff\xff")},
};

struct oversized_arg {
  int64_t *results; /* per case: the error, or 1 when it took too long */
};

/* Reserves address space only up to a limit above the current size, so a
 * huge allocation fails instead of succeeding lazily, then decodes every
 * case. */
static int decode_oversized(void *p)
{
  struct oversized_arg *a = p;
  long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f != NULL) {
    if (fscanf(f, "%ld", &pages) != 1)
      pages = 0;
    fclose(f);
  }
  if (pages > 0) {
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20);
    MPT_CHILD_ASSERT(setrlimit(RLIMIT_AS, &rl) == 0);
  }
  for (size_t i = 0; i < sizeof oversized / sizeof oversized[0]; i++) {
    mproc_obj *out = NULL;
    double t0 = mpt_now();
    int rc = mproc_obj_decode(oversized[i].wire, oversized[i].len, &out);
    a->results[i] = mpt_now() - t0 > mpt_scale(2) ? 1 : rc;
    if (rc == 0)
      mproc_obj_free(out);
  }
  return 0;
}

MPT_TEST(obj_decode_oversized_announcements_eproto_without_huge_allocation, "EX-000-05",
         "Bytes that announce more items or bytes than follow (array32 of "
         "2^32-1, a 4 GiB str) give EPROTO at once, also in a process whose "
         "address space is limited to 512 MiB more than it uses, so nothing "
         "of the announced size was allocated.")
{
  enum { N = sizeof oversized / sizeof oversized[0] };
  mproc_array *arr;
  struct oversized_arg a = {mpt_scratch(&arr, N)};
  mproc_process p;

  for (size_t i = 0; i < N; i++) {
    mproc_obj *out = NULL;
    double t0 = mpt_now();
    int rc = mproc_obj_decode(oversized[i].wire, oversized[i].len, &out);
    ck_assert_msg(rc == MPROC_EPROTO, "%s: decode returned %s, expected "
                  "EPROTO", oversized[i].label, mproc_err_name(rc));
    MPT_ELAPSED_WITHIN(mpt_now() - t0, 0, mpt_scale(2));
    if (rc == 0)
      mproc_obj_free(out);
  }
  start(&p, decode_oversized, &a);
  mpt_join_all(&p, 1);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(a.results[i] == MPROC_EPROTO, "%s, address space limited: "
                  "decode %s", oversized[i].label,
                  a.results[i] == 1 ? "took too long"
                                    : mproc_err_name((int)a.results[i]));
  mproc_array_free(arr);
}

MPT_TEST(obj_encode_decode_null_arguments_einval, "EX-000-05 EX-002-04",
         "encode and decode given NULL where a value, buffer or output is "
         "required fail with EINVAL.")
{
  mproc_obj *o = mproc_obj_int(1), *out;
  void *buf;
  size_t len;
  MPT_ERR(mproc_obj_encode(NULL, &buf, &len), MPROC_EINVAL);
  MPT_ERR(mproc_obj_encode(o, NULL, &len), MPROC_EINVAL);
  MPT_ERR(mproc_obj_encode(o, &buf, NULL), MPROC_EINVAL);
  MPT_ERR(mproc_obj_decode(NULL, 1, &out), MPROC_EINVAL);
  MPT_ERR(mproc_obj_decode("\x01", 1, NULL), MPROC_EINVAL);
  mproc_obj_free(o);
}

/* Fuzz target "codec": mproc_obj_decode on arbitrary bytes, and the round
 * trip of whatever decodes.
 *
 * Must hold for every input: decode returns 0 or EPROTO (never crashes,
 * never allocates more than a small multiple of the input: libFuzzer's
 * -malloc_limit_mb enforces that); a decoded value encodes, the encoding
 * decodes to the same value (floats bit for bit), encoding that again gives
 * the same bytes, a dict holds no two equal keys, and copy, equal and repr
 * agree with the value. */
#include "fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* True when a float anywhere in `o` is NaN (mproc_obj_equal compares floats
 * with ==, so NaN is unequal to itself). */
static bool has_nan(const mproc_obj *o) {
  size_t n = mproc_obj_len(o);
  switch (mproc_obj_type_of(o)) {
  case MPROC_OBJ_FLOAT: {
    double f = 0;
    mproc_obj_get_float(o, &f);
    return isnan(f);
  }
  case MPROC_OBJ_LIST:
    for (size_t i = 0; i < n; i++)
      if (has_nan(mproc_obj_list_get(o, i)))
        return true;
    return false;
  case MPROC_OBJ_DICT:
    for (size_t i = 0; i < n; i++)
      if (has_nan(mproc_obj_dict_value(o, i)))
        return true;
    return false;
  default:
    return false;
  }
}

/* Keys of every dict in `o` are str or int and pairwise different; `budget`
 * bounds the quadratic work on large dicts. */
static void check_dicts(const mproc_obj *o, size_t *budget) {
  size_t n = mproc_obj_len(o);
  if (mproc_obj_type_of(o) == MPROC_OBJ_LIST) {
    for (size_t i = 0; i < n; i++)
      check_dicts(mproc_obj_list_get(o, i), budget);
    return;
  }
  if (mproc_obj_type_of(o) != MPROC_OBJ_DICT)
    return;
  for (size_t i = 0; i < n; i++) {
    const mproc_obj *k = mproc_obj_dict_key(o, i);
    mproc_obj_type t = mproc_obj_type_of(k);
    FUZZ_CHECK(t == MPROC_OBJ_STR || t == MPROC_OBJ_INT,
               "decoded dict key %zu has type %d, not str or int", i, (int)t);
    FUZZ_CHECK(mproc_obj_dict_get(o, k) == mproc_obj_dict_value(o, i),
               "dict_get of decoded key %zu does not find its own value", i);
    for (size_t j = i + 1; j < n && *budget > 0; j++, (*budget)--)
      FUZZ_CHECK(!mproc_obj_equal(k, mproc_obj_dict_key(o, j)),
                 "decoded dict holds equal keys at %zu and %zu", i, j);
    check_dicts(mproc_obj_dict_value(o, i), budget);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mproc_obj *o = NULL;
  int rc = mproc_obj_decode(data, size, &o);
  if (rc != 0) {
    FUZZ_CHECK(rc == MPROC_EPROTO, "decode of %zu bytes gave %s, not EPROTO",
               size, mproc_err_name(rc));
    FUZZ_CHECK(o == NULL, "decode failed but stored a value");
    return 0;
  }
  FUZZ_CHECK(o != NULL, "decode succeeded without a value");
  size_t budget = 1u << 16;
  check_dicts(o, &budget);

  void *enc = NULL;
  size_t enc_len = 0;
  rc = mproc_obj_encode(o, &enc, &enc_len);
  FUZZ_CHECK(rc == 0, "a decoded value does not encode: %s",
             mproc_err_name(rc));
  /* Every encoded element takes at least one byte and the input had at
   * least one per element, but re-encoding may widen: float32 becomes
   * float64 (5 -> 9 bytes), small containers' headers stay small. */
  FUZZ_CHECK(enc_len <= 2 * size + 16,
             "re-encoding %zu bytes gave %zu bytes", size, enc_len);

  mproc_obj *o2 = NULL;
  rc = mproc_obj_decode(enc, enc_len, &o2);
  FUZZ_CHECK(rc == 0, "our own encoding does not decode: %s",
             mproc_err_name(rc));
  FUZZ_CHECK(fuzz_obj_same(o, o2), "the round trip changed the value");
  if (!has_nan(o)) {
    FUZZ_CHECK(mproc_obj_equal(o, o2), "mproc_obj_equal: round trip unequal");
    FUZZ_CHECK(mproc_obj_equal(o, o), "mproc_obj_equal: value unequal to "
                                      "itself");
  }

  void *enc2 = NULL;
  size_t enc2_len = 0;
  rc = mproc_obj_encode(o2, &enc2, &enc2_len);
  FUZZ_CHECK(rc == 0, "the round-tripped value does not encode: %s",
             mproc_err_name(rc));
  FUZZ_CHECK(enc2_len == enc_len && memcmp(enc, enc2, enc_len) == 0,
             "encoding is not stable: %zu then %zu bytes", enc_len, enc2_len);

  mproc_obj *copy = mproc_obj_copy(o);
  FUZZ_CHECK(copy != NULL, "copy failed");
  FUZZ_CHECK(fuzz_obj_same(o, copy), "copy differs from the original");

  char *repr = mproc_obj_repr(o);
  FUZZ_CHECK(repr != NULL, "repr failed");

  free(repr);
  mproc_obj_free(copy);
  free(enc2);
  mproc_obj_free(o2);
  free(enc);
  mproc_obj_free(o);
  return 0;
}

"""EX-003-06: Value('i') set to sum(range(50000000)), which does not fit,
and Array('i', 5) filled by a child.

Mirrors (conformance/value.c):
  value_sum_too_big_for_int_erange_fits_long_long,
  value_integer_codes_out_of_range_erange_unchanged,
  value_float_store_that_does_not_fit_erange,
  value_integer_codes_round_trip_min_and_max_in_child,
  array_index_out_of_range_erange, array_init_values_are_copied.

Deliberate difference (docs/examples.md, "Value and Array stores that do
not fit"): CPython keeps the low bits of an integer that does not fit, with
no error, and stores a float too large for 'f' as inf; libmproc refuses
every such store with MPROC_ERANGE and leaves the element unchanged.  This
script asserts CPython's side, value by value as the catalogue lists it.
"""

import ctypes

from multiprocessing.sharedctypes import typecode_to_type

from oracle_lib import ctx, join_all, raises, run, start

BIG_SUM = 50000000 * (50000000 - 1) // 2


def fill_and_sum(doubled, as_int, as_q):
    for i in range(5):
        doubled[i] = i * 2
    as_int.value = BIG_SUM   # C: ERANGE, value unchanged
    as_q.value = BIG_SUM


def document_example():
    assert BIG_SUM == 1249999975000000
    doubled = ctx.Array("i", 5)
    as_int, as_q = ctx.Value("i", 7), ctx.Value("q", 0)
    join_all([start(fill_and_sum, doubled, as_int, as_q)])
    assert list(doubled) == [0, 2, 4, 6, 8]
    assert as_int.value == 1283106752 == BIG_SUM % 2 ** 32  # the low bits
    assert as_q.value == BIG_SUM


def value_after(code, x, init=None):
    v = ctx.Value(code, init) if init is not None else ctx.Value(code)
    v.value = x
    return v.value


def low_bits():
    # The catalogue's list of what CPython 3.11 keeps.
    assert value_after("i", 2 ** 31) == -2147483648
    assert value_after("i", 2 ** 32 + 5) == 5
    assert value_after("i", 2 ** 64) == 0
    assert value_after("i", 2 ** 100) == 0
    assert ctx.Value("i", 2 ** 31).value == -2147483648
    a = ctx.Array("i", 2)
    a[0] = 2 ** 31
    assert a[0] == -2147483648
    assert list(ctx.Array("i", [2 ** 31, 1])) == [-2147483648, 1]
    assert value_after("B", 256) == 0
    assert value_after("B", -1) == 255
    assert value_after("h", 40000) == -25536
    assert value_after("q", 2 ** 63) == -9223372036854775808
    v = ctx.Value("i", 2147483647)
    v.value += 1
    assert v.value == -2147483648
    assert value_after("f", 1e39) == float("inf")
    assert value_after("f", 1e300) == float("inf")   # C: ERANGE
    assert value_after("f", -1e300) == float("-inf")
    # The cases that do raise.
    raises(TypeError, value_after, "i", 1.5)
    raises(OverflowError, value_after, "d", 10 ** 400)
    raises(TypeError, value_after, "c", 300)


def every_code_one_past():
    for code in "bBhHiIlLqQ":
        bits = 8 * ctypes.sizeof(typecode_to_type[code])
        lo, hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
                  if code.islower() else (0, (1 << bits) - 1))
        # C: ERANGE and unchanged.  CPython wraps around.
        assert value_after(code, hi + 1) == lo, code
        assert value_after(code, lo - 1) == hi, code
        assert value_after(code, hi) == hi and value_after(code, lo) == lo


def store_extremes(v):
    v[0].value = 2 ** 31 - 1
    v[1].value = -2 ** 31


def round_trip_in_child():
    v = [ctx.Value("i"), ctx.Value("i")]
    join_all([start(store_extremes, v)])
    assert [x.value for x in v] == [2 ** 31 - 1, -2 ** 31]


def array_bits():
    src = [7, 8, 9]
    a = ctx.Array("i", src)
    src[0] = 0
    assert list(a) == [7, 8, 9]
    raises(IndexError, a.__getitem__, 3)
    raises(IndexError, a.__setitem__, 5, 1)
    assert list(a) == [7, 8, 9]


def main():
    document_example()
    low_bits()
    every_code_one_past()
    round_trip_in_child()
    array_bits()


if __name__ == "__main__":
    run("EX-003-06", main)

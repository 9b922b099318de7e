"""EX-000-06: Value('i') counter, 4 processes x 10000 under a Lock = 40000;
Array('d') [1, 2, 3, 4] doubled in a child.

Mirrors (conformance/value.c, conformance/lock.c):
  lock_four_processes_count_to_40000, array_doubled_in_child_seen_by_parent,
  array_init_values_are_copied, value_and_array_start_zeroed,
  value_integer_codes_round_trip_min_and_max_in_child,
  value_float_codes_round_trip_in_child,
  value_accessors_reject_wrong_type_einval,
  value_and_array_creation_errors_einval, value_get_lock_default_raw_or_given.
C only: value_and_array_null_object_einval.

Where CPython differs from value_and_array_creation_errors_einval: 'u'
(wchar_t) is a valid type code in CPython (C: EINVAL), an Array of length 0
is accepted (C: EINVAL); unknown codes give TypeError ("this type has no
size"), an Array too large for memory OverflowError (C: ERANGE).  The
accessor rules agree in substance: an int stored into 'd'/'f' converts, a
float stored into 'i' is refused (TypeError; C: EINVAL).  The 'c' code is a
one-byte bytes value in CPython, so its min/max round trip is checked as
b'\\x00' / b'\\xff'.
"""

import ctypes
import struct

from multiprocessing.sharedctypes import typecode_to_type

from oracle_lib import ctx, join_all, raises, run, start

INT_CASES = {}
for code in "bBhHiIlLqQ":
    bits = 8 * ctypes.sizeof(typecode_to_type[code])
    if code.islower():
        INT_CASES[code] = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    else:
        INT_CASES[code] = (0, (1 << bits) - 1)


def count_under_lock(counter, lock):
    for _ in range(10000):
        with lock:
            counter.value += 1


def counter_40000():
    counter = ctx.Value("i", 0)
    lock = ctx.Lock()
    join_all([start(count_under_lock, counter, lock) for _ in range(4)])
    assert counter.value == 40000, counter.value


def double_array(arr):
    with arr.get_lock():
        for i in range(len(arr)):
            arr[i] = arr[i] * 2


def array_doubled():
    d = ctx.Array("d", [1.0, 2.0, 3.0, 4.0])
    i = ctx.Array("i", [1, 2, 3, 4])
    join_all([start(double_array, d)])
    join_all([start(double_array, i)])
    assert list(d) == [2.0, 4.0, 6.0, 8.0]
    assert list(i) == [2, 4, 6, 8]


def init_copied():
    src = [7, 8, 9]
    dsrc = [0.25, -4.0]
    a = ctx.Array("i", src)
    d = ctx.Array("d", dsrc)
    src[:] = [0, 0, 0]
    dsrc[:] = [0, 0]
    assert list(a) == [7, 8, 9] and list(d) == [0.25, -4.0]


def start_zeroed():
    for code in "bBhHiIlLqQfd":
        assert ctx.Value(code).value == 0
        a = ctx.Array(code, 16)
        assert len(a) == 16 and list(a) == [0] * 16
    assert ctx.Value("c").value == b"\x00"
    assert ctx.Array("c", 4).raw == b"\x00" * 4


def store_extremes(values, arrays):
    for code, (lo, hi) in INT_CASES.items():
        values[code].value = hi
        arrays[code][1] = lo
    values["c"].value = b"\xff"


def check_min(values):
    for code, (lo, hi) in INT_CASES.items():
        assert values[code].value == lo, (code, values[code].value)


def integer_round_trip():
    values = {c: ctx.Value(c) for c in INT_CASES}
    values["c"] = ctx.Value("c")
    arrays = {c: ctx.Array(c, 3) for c in INT_CASES}
    join_all([start(store_extremes, values, arrays)])
    for code, (lo, hi) in INT_CASES.items():
        assert values[code].value == hi, (code, values[code].value)
        a = arrays[code]
        assert list(a) == [0, lo, 0], (code, list(a))
        # The elements have the C size: arr[1] is exactly there.
        size = ctypes.sizeof(typecode_to_type[code])
        raw = bytes(memoryview(a.get_obj()).cast("B"))
        assert len(raw) == 3 * size
        assert raw[:size] == bytes(size) == raw[2 * size:]
        values[code].value = lo
    assert values["c"].value == b"\xff"
    join_all([start(check_min, values)])


FLOAT_CASES = [("f", 0.5), ("f", -1.25), ("f", 3.4028234663852886e+38),
               ("f", -3.4028234663852886e+38), ("f", 1.1754943508222875e-38),
               ("d", 1.0 / 3), ("d", 1.7976931348623157e+308),
               ("d", -2.2250738585072014e-308), ("d", -0.0), ("d", 1e-300)]


def store_floats(values):
    for v, (code, x) in zip(values, FLOAT_CASES):
        v.value = x


def float_round_trip():
    values = [ctx.Value(code) for code, _ in FLOAT_CASES]
    join_all([start(store_floats, values)])
    for v, (code, x) in zip(values, FLOAT_CASES):
        fmt = "f" if code == "f" else "d"
        want = struct.unpack(fmt, struct.pack(fmt, x))[0]
        assert struct.pack("d", v.value) == struct.pack("d", want), (code, x)


def wrong_type():
    d, f, i = ctx.Value("d"), ctx.Value("f"), ctx.Value("i")
    raises(TypeError, setattr, i, "value", 1.5)  # C: EINVAL
    d.value = -3
    assert d.value == -3.0 and type(d.value) is float
    f.value = 12
    assert f.value == 12.0
    i.value = -7
    assert float(i.value) == -7.0


def creation_errors():
    for code in ("x", "z", "D", "F", " "):
        raises(TypeError, ctx.Value, code)         # C: EINVAL
        raises(TypeError, ctx.Array, code, 3)
    assert ctx.Value("u").value == "\x00"          # C: 'u' is EINVAL
    assert len(ctx.Array("i", 0)) == 0             # C: EINVAL
    raises(OverflowError, ctx.Array, "q", 1 << 62)  # C: ERANGE
    raises(OverflowError, ctx.Array, "d", 1 << 64)


def try_lock_expect_false(lock):
    assert lock.acquire(timeout=0) is False


def get_lock():
    lock = ctx.Lock()
    v = ctx.Value("i")
    raw_v = ctx.Value("i", lock=False)
    given_v = ctx.Value("i", lock=lock)
    a = ctx.Array("i", 2)
    raw_a = ctx.Array("i", 2, lock=False)
    given_a = ctx.Array("i", 2, lock=lock)
    own = v.get_lock()
    assert type(own).__name__ == "RLock"
    assert type(a.get_lock()).__name__ == "RLock"
    assert v.get_lock() is not a.get_lock()
    assert not hasattr(raw_v, "get_lock") and not hasattr(raw_a, "get_lock")
    assert given_v.get_lock() is lock and given_a.get_lock() is lock
    # The own lock is one lock in parent and child.
    assert own.acquire(timeout=0)
    join_all([start(try_lock_expect_false, own)])
    own.release()
    raw_v.value = 5
    raw_a[1] = 6
    assert raw_v.value == 5 and raw_a[1] == 6


def main():
    counter_40000()
    array_doubled()
    init_copied()
    start_zeroed()
    integer_round_trip()
    float_round_trip()
    wrong_type()
    creation_errors()
    get_lock()


if __name__ == "__main__":
    run("EX-000-06", main)

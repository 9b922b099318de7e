"""EX-002-07: Array('i', 10) filled in halves by two processes under a Lock.

Mirrors (conformance/value.c):
  array_halves_filled_by_two_processes, array_index_out_of_range_erange,
  value_get_lock_default_raw_or_given.
An index at or past the end raises IndexError (C: ERANGE) and changes
nothing.
"""

from oracle_lib import ctx, join_all, raises, run, start


def fill_half(arr, start_i, end_i):
    lock = arr.get_lock()
    for i in range(start_i, end_i):
        with lock:
            arr[i] = i * 2


def halves():
    arr = ctx.Array("i", 10)
    assert list(arr) == [0] * 10  # zeroed at creation
    join_all([start(fill_half, arr, 0, 5), start(fill_half, arr, 5, 10)])
    assert list(arr) == [2 * i for i in range(10)]


def document_form():
    # The document: a separate Lock held around a whole half.
    arr = ctx.Array("i", 10)
    lock = ctx.Lock()

    def fill(a, lk, s, e):
        with lk:
            for i in range(s, e):
                a[i] = i * 2

    join_all([start(fill, arr, lock, 0, 5), start(fill, arr, lock, 5, 10)])
    assert list(arr) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


def index_out_of_range():
    a, d = ctx.Array("i", 5), ctx.Array("d", 5)
    for k in (5, 6, 1000, 2 ** 63):
        raises(IndexError, a.__getitem__, k)
        raises(IndexError, a.__setitem__, k, 1)
        raises(IndexError, d.__getitem__, k)
        raises(IndexError, d.__setitem__, k, 1.0)
    assert list(a) == [0] * 5 and list(d) == [0.0] * 5
    a[4] = 1
    assert a[4] == 1


def get_lock():
    lock = ctx.Lock()
    a = ctx.Array("i", 2)
    assert type(a.get_lock()).__name__ == "RLock"
    assert ctx.Array("i", 2, lock=lock).get_lock() is lock
    assert not hasattr(ctx.Array("i", 2, lock=False), "get_lock")


def main():
    halves()
    document_form()
    index_out_of_range()
    get_lock()


if __name__ == "__main__":
    run("EX-002-07", main)

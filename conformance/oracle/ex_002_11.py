"""EX-002-11: Semaphore(value=3) limits ten processes to three at a time.

Mirrors (conformance/semaphore.c):
  semaphore_three_of_ten_processes_hold_at_once (the document's ten named
  processes with a plain Semaphore, and the BoundedSemaphore case),
  semaphore_acquire_without_permit_eagain_or_etimedout,
  semaphore_each_release_wakes_one_blocked_process,
  bounded_semaphore_release_above_initial_estate,
  semaphore_value_above_max_einval.
The other cases of these tests, with the error kinds, are in ex_000_09.py.
"""

from _multiprocessing import SemLock

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed)

semaphore = ctx.Semaphore(value=3)  # module level, as in the document


def connect(lock, all_in, s):
    with semaphore:
        with lock:
            s[0] += 1
            s[1] = max(s[1], s[0])
            now = s[0]
        if now == 3:
            all_in.set()
        assert all_in.wait(scale(30))
        with lock:
            s[0] -= 1
            s[2] += 1


def hold(sem, lock, all_in, s):
    with sem:
        with lock:
            s[0] += 1
            s[1] = max(s[1], s[0])
            now = s[0]
        if now == 3:
            all_in.set()
        assert all_in.wait(scale(30))
        with lock:
            s[0] -= 1
            s[2] += 1


def ten_named_processes():
    lock, all_in = ctx.Lock(), ctx.Event()
    s = ctx.Array("q", 3, lock=False)
    procs = [start(connect, lock, all_in, s, name="Process-%d" % (i + 1))
             for i in range(10)]
    join_all(procs)
    assert list(s) == [0, 3, 10]
    assert semaphore.get_value() == 3


def bounded_three_of_ten():
    sem, lock, all_in = ctx.BoundedSemaphore(3), ctx.Lock(), ctx.Event()
    s = ctx.Array("q", 3, lock=False)
    join_all([start(hold, sem, lock, all_in, s) for _ in range(10)])
    assert list(s) == [0, 3, 10]
    assert sem.get_value() == 3


def without_permit_bounded():
    b = ctx.BoundedSemaphore(0)
    for t in (0, -1, 0.1):
        got, el = timed(b.acquire, timeout=t)
        assert got is False
        elapsed_within(el, max(t, 0), max(t, 0) + scale(2))


def take_permit(sem, trying, got):
    trying.release()
    assert sem.acquire(timeout=scale(30))
    got.release()


def each_release_wakes_one():
    sem, trying, got = ctx.Semaphore(0), ctx.Semaphore(0), ctx.Semaphore(0)
    procs = [start(take_permit, sem, trying, got) for _ in range(3)]
    for _ in range(3):
        assert trying.acquire(timeout=scale(30))
    observe(0.2)
    assert got.get_value() == 0
    for i in range(3):
        sem.release()
        assert got.acquire(timeout=scale(30))
        if i < 2:
            assert got.acquire(timeout=0.2) is False
    join_all(procs)


def bounds():
    b = ctx.BoundedSemaphore(3)
    raises(ValueError, b.release)
    assert b.get_value() == 3
    s = ctx.Semaphore(3)
    s.release()
    assert s.get_value() == 4
    raises(OverflowError, ctx.Semaphore, SemLock.SEM_VALUE_MAX + 1)


def main():
    ten_named_processes()
    bounded_three_of_ten()
    without_permit_bounded()
    each_release_wakes_one()
    bounds()


if __name__ == "__main__":
    run("EX-002-11", main)

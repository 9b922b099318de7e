"""EX-000-09: Semaphore(3) admits at most 3 of 10 processes at once.

Mirrors (conformance/semaphore.c):
  semaphore_three_of_ten_processes_hold_at_once (plain Semaphore; the
  BoundedSemaphore case is in ex_002_11.py),
  semaphore_get_value_follows_acquire_and_release,
  semaphore_acquire_without_permit_eagain_or_etimedout,
  semaphore_each_release_wakes_one_blocked_process,
  semaphore_created_before_start_is_shared_with_child,
  bounded_semaphore_release_above_initial_estate,
  semaphore_value_above_max_einval, semaphore_acquire_survives_signals.
C only: semaphore_null_arguments_einval.

Errors: a failed acquire returns False (C: EAGAIN / ETIMEDOUT); a NaN
timeout raises OSError(EINVAL) (C: EINVAL); a release above a
BoundedSemaphore's initial value, or at SEM_VALUE_MAX, raises ValueError
(C: ESTATE, and ERANGE at the maximum); a value above SEM_VALUE_MAX raises
OverflowError (C: EINVAL).

Where CPython contradicts semaphore_acquire_without_permit_eagain_or_etimedout:
acquire(timeout=nan) on a semaphore with permits takes one and returns True
(C: EINVAL, nothing taken); only without permits does it raise EINVAL.
"""

import errno

from _multiprocessing import SemLock

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed, wait_through_signals)


def hold_permit(sem, lock, all_in, s, limit):
    # s: current, max, done
    assert sem.acquire(timeout=scale(30))
    with lock:
        s[0] += 1
        now = s[0]
        s[1] = max(s[1], now)
    if now == limit:
        all_in.set()
    # The first `limit` holders wait for each other, so the maximum is
    # reached whatever the scheduling; later holders find the event set.
    assert all_in.wait(scale(30))
    with lock:
        s[0] -= 1
        s[2] += 1
    sem.release()


def three_of_ten(make):
    sem = make(3)
    lock = ctx.Lock()
    all_in = ctx.Event()
    s = ctx.Array("q", 3, lock=False)
    join_all([start(hold_permit, sem, lock, all_in, s, 3) for _ in range(10)])
    assert list(s) == [0, 3, 10], list(s)
    assert sem.get_value() == 3


def get_value_follows():
    s = ctx.Semaphore(5)
    assert s.get_value() == 5
    assert s.acquire()
    assert s.get_value() == 4
    s.release()
    assert s.get_value() == 5
    for i in range(5):
        assert s.acquire(timeout=0) if i % 2 else s.acquire()
    assert s.get_value() == 0
    assert s.acquire(timeout=0) is False
    assert s.get_value() == 0
    for _ in range(5):
        s.release()
    assert s.get_value() == 5


def without_permit():
    for make in (ctx.Semaphore, ctx.BoundedSemaphore):
        s = make(0)
        for t in (0, -1, 0.1, 0.2):
            got, el = timed(s.acquire, timeout=t)
            assert got is False
            elapsed_within(el, max(t, 0), max(t, 0) + scale(2))
        e = raises(OSError, s.acquire, timeout=float("nan"))
        assert e.errno == errno.EINVAL
    s = ctx.Semaphore(2)
    # With permits left a NaN timeout is not even looked at: CPython takes
    # one (C: EINVAL, takes nothing).
    assert s.acquire(timeout=float("nan")) is True
    assert s.get_value() == 1


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
    assert got.get_value() == 0, "a process got a permit before any release"
    for i in range(1, 4):
        sem.release()
        assert got.acquire(timeout=scale(30))
        if i < 3:
            assert got.acquire(timeout=0.2) is False, \
                "after release %d a second process got through" % i
    join_all(procs)
    assert sem.get_value() == 0


def take_two(s):
    assert s.acquire(timeout=0) and s.acquire(timeout=0)


def shared_with_child():
    s = ctx.Semaphore(3)
    join_all([start(take_two, s)])
    assert s.get_value() == 1


def bounds():
    b = ctx.BoundedSemaphore(2)
    raises(ValueError, b.release)
    assert b.get_value() == 2
    assert b.acquire(timeout=0)
    b.release()
    raises(ValueError, b.release)
    assert b.get_value() == 2
    z = ctx.BoundedSemaphore(0)
    raises(ValueError, z.release)
    assert z.get_value() == 0
    s = ctx.Semaphore(2)
    s.release()
    assert s.get_value() == 3
    top = SemLock.SEM_VALUE_MAX
    raises(OverflowError, ctx.Semaphore, top + 1)
    raises(OverflowError, ctx.BoundedSemaphore, top + 1)
    m = ctx.Semaphore(top)
    assert m.get_value() == top
    raises(ValueError, m.release)   # C: ERANGE
    assert m.get_value() == top
    assert m.acquire(timeout=0)
    m.release()
    raises(ValueError, ctx.BoundedSemaphore(top).release)


def through_signals():
    s = ctx.Semaphore(0)
    assert wait_through_signals(lambda: s.acquire(timeout=scale(30)),
                                s.release, 3)
    assert s.get_value() == 0


def main():
    three_of_ten(ctx.Semaphore)
    get_value_follows()
    without_permit()
    each_release_wakes_one()
    shared_with_child()
    bounds()
    through_signals()


if __name__ == "__main__":
    run("EX-000-09", main)

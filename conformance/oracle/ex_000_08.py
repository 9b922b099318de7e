"""EX-000-08: a Lock-protected Value counter, 4 processes x 10000 = 40000.

Mirrors (conformance/lock.c; the Lock cases -- the RLock cases of the
shared tests are in ex_002_10.py):
  lock_acquire_release_roundtrip, lock_release_unlocked_estate,
  lock_timeout_on_held_lock_eagain_or_etimedout, lock_nan_timeout_einval,
  lock_released_by_another_process, lock_blocks_other_process_until_released,
  lock_four_processes_count_to_40000,
  lock_excludes_other_processes_from_critical_section,
  lock_owner_death_next_acquire_eownerdead, lock_acquire_survives_signals.
C only: lock_null_arguments_einval.

Errors: a release too many is ValueError ("semaphore or lock released too
many times") for C's ESTATE; a failed acquire returns False for C's EAGAIN
(timeout 0 or negative) and ETIMEDOUT (positive timeout).

Deliberate difference (docs/examples.md): a Lock whose holder died stays
locked in CPython -- acquire(timeout) returns False and without a timeout
it deadlocks; libmproc's next acquire gives MPROC_EOWNERDEAD and holds the
lock.  Asserted here on CPython's side, bounded.

Where CPython contradicts lock_nan_timeout_einval: acquire(timeout=nan) on
a FREE lock takes it and returns True (C: EINVAL, the lock stays free); on
a held lock it raises OSError(EINVAL) like C.
"""

import errno

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed, wait_through_signals)


def try_lock(lock, expect):
    got = lock.acquire(timeout=0)
    assert got == expect, (got, expect)
    if got:
        lock.release()


def try_from_child(lock, expect):
    join_all([start(try_lock, lock, expect)])


def roundtrip():
    lk = ctx.Lock()
    assert lk.acquire()
    assert lk.acquire(timeout=0) is False   # C: EAGAIN
    assert lk.acquire(False) is False
    lk.release()
    assert lk.acquire(timeout=0)
    lk.release()
    e = raises(ValueError, lk.release)      # C: ESTATE
    assert "released too many times" in str(e)
    lk2 = ctx.Lock()
    raises(ValueError, lk2.release)         # never locked


def hold_lock(lock, held, letgo, end):
    assert lock.acquire(timeout=scale(30))
    held.set()
    if end == "releases":
        assert letgo.wait(scale(30))
        lock.release()
    elif end == "waits":
        letgo.wait(scale(60))


def holder_start(lock, end):
    held, letgo = ctx.Event(), ctx.Event()
    p = start(hold_lock, lock, held, letgo, end)
    assert held.wait(scale(30))
    return p, letgo


HELD_TIMEOUTS = [0, -1, -0.5, 0.1, 0.25]


def timeouts_on_held_lock():
    for holder_is_child in (False, True):
        lk = ctx.Lock()
        if holder_is_child:
            p, letgo = holder_start(lk, "releases")
        else:
            assert lk.acquire(timeout=0)
        for t in HELD_TIMEOUTS:
            got, el = timed(lk.acquire, timeout=t)
            assert got is False, (t, got)
            if t > 0:
                elapsed_within(el, t, t + scale(2), "acquire(%r)" % t)
            else:
                elapsed_within(el, 0, scale(1), "acquire(%r)" % t)
        if holder_is_child:
            letgo.set()
            join_all([p])
        else:
            lk.release()


def nan_timeout():
    lk = ctx.Lock()
    nan = float("nan")
    # C: EINVAL and the lock stays free.  CPython takes the free lock.
    assert lk.acquire(timeout=nan) is True
    try_from_child(lk, False)
    lk.release()
    try_from_child(lk, True)
    assert lk.acquire(timeout=0)
    e = raises(OSError, lk.acquire, timeout=nan)  # held: EINVAL, as in C
    assert e.errno == errno.EINVAL
    lk.release()


def release_lock(lock):
    lock.release()


def released_by_another_process():
    lk = ctx.Lock()
    assert lk.acquire(timeout=0)
    join_all([start(release_lock, lk)])
    assert lk.acquire(timeout=0)
    lk.release()


def acquire_blocking(lock, trying, returned):
    trying.release()
    assert lock.acquire(timeout=scale(30))
    returned.value = 1
    lock.release()


def blocks_until_released():
    lk = ctx.Lock()
    trying = ctx.Semaphore(0)
    returned = ctx.Value("q", 0, lock=False)
    assert lk.acquire(timeout=0)
    p = start(acquire_blocking, lk, trying, returned)
    assert trying.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0, "acquired while the parent held the lock"
    lk.release()
    join_all([p])
    assert returned.value == 1


def count_under_lock(counter, lock, iterations, delta):
    for _ in range(iterations):
        with lock:
            counter.value += delta


def count_to_40000():
    # The Value's own lock, and a separate Lock (as in the document).
    for own in (True, False):
        counter = ctx.Value("i", 0)
        lock = counter.get_lock() if own else ctx.Lock()
        procs = [start(count_under_lock, counter, lock, 10000, 1)
                 for _ in range(4)]
        join_all(procs)
        assert counter.value == 40000, (own, counter.value)


def check_exclusion(lock, s):
    for _ in range(2000):
        assert lock.acquire(timeout=scale(30))
        s[0] += 1
        if s[0] != 1:
            s[1] += 1
        s[0] -= 1
        lock.release()


def exclusion():
    lk = ctx.Lock()
    s = ctx.Array("q", 2, lock=False)  # inside, violations
    join_all([start(check_exclusion, lk, s) for _ in range(4)])
    assert s[1] == 0, "%d violations of mutual exclusion" % s[1]


def owner_death():
    for death in ("exited, joined before acquire", "killed"):
        lk = ctx.Lock()
        p, letgo = holder_start(lk, "waits" if death == "killed" else
                                "returns")
        if death == "killed":
            p.kill()
        p.join(scale(30))
        assert p.exitcode == (-9 if death == "killed" else 0)
        # C: EOWNERDEAD, and the caller holds the lock.  CPython: the lock
        # stays locked; a bounded acquire times out (without a bound it
        # would hang forever).
        got, el = timed(lk.acquire, timeout=scale(0.5))
        assert got is False, death
        elapsed_within(el, scale(0.5), scale(0.5) + scale(2))
        try_from_child(lk, False)  # still locked for everyone


def signal_wait(lock):
    return lock.acquire(timeout=scale(30))


def acquire_through_signals():
    lk = ctx.Lock()
    p, letgo = holder_start(lk, "releases")
    assert wait_through_signals(lambda: signal_wait(lk), letgo.set, 3)
    lk.release()
    join_all([p])


def main():
    roundtrip()
    timeouts_on_held_lock()
    nan_timeout()
    released_by_another_process()
    blocks_until_released()
    count_to_40000()
    exclusion()
    owner_death()
    acquire_through_signals()


if __name__ == "__main__":
    run("EX-000-08", main)

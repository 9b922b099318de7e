"""EX-002-10: an RLock acquired nested (depth 5) around a global count; the
parent's count is untouched.

Mirrors (conformance/lock.c; the RLock cases of the shared tests -- the Lock
cases are in ex_000_08.py -- and the rlock_* tests; conformance/process.c):
  rlock_nests_five_levels_then_other_process_takes_it,
  rlock_nested_five_deep_in_child_blocks_other_until_last_release,
  rlock_reentrant_only_for_owning_thread, rlock_release_by_non_owner_eperm,
  rlock_release_unowned_fails, lock_timeout_on_held_lock_eagain_or_etimedout,
  lock_blocks_other_process_until_released,
  lock_excludes_other_processes_from_critical_section,
  lock_nan_timeout_einval, lock_owner_death_next_acquire_eownerdead,
  lock_acquire_survives_signals,
  lock_guarded_global_counter_stays_zero_in_parent,
  process_global_changed_in_child_unchanged_in_parent.

Errors: releasing an RLock one does not own (unowned, another process's or
another thread's) raises AssertionError ("attempt to release recursive lock
not owned by thread") for C's EPERM/ESTATE; a failed acquire returns False.

Deliberate difference: an RLock whose holder died stays locked in CPython
(bounded acquire returns False); libmproc gives MPROC_EOWNERDEAD.

Where CPython contradicts lock_nan_timeout_einval: acquire(timeout=nan)
takes a free RLock, and on an RLock the caller already owns it adds a level
(count 2) -- C: EINVAL, no level added.
"""

import threading

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed, wait_through_signals)


def try_lock(lock, expect):
    got = lock.acquire(timeout=0)
    assert got == expect, (got, expect)
    if got:
        lock.release()


def try_from_child(lock, expect):
    join_all([start(try_lock, lock, expect)])


def not_owner(fn):
    e = raises(AssertionError, fn)
    assert "not owned" in str(e), e


def nests_five_levels():
    r = ctx.RLock()
    for i in range(5):
        assert r.acquire(timeout=0) if i % 2 else r.acquire()
    try_from_child(r, False)
    for _ in range(4):
        r.release()
    try_from_child(r, False)
    r.release()
    try_from_child(r, True)
    not_owner(r.release)


nested_count = 0


def nested_increment(r, deep, unwind, n):
    global nested_count
    if n == 0:
        deep.set()
        assert unwind.wait(scale(30))
        return
    with r:
        nested_count += 1
        nested_increment(r, deep, unwind, n - 1)


def nester(r, deep, unwind, s):
    nested_increment(r, deep, unwind, 5)
    s[0] = nested_count
    not_owner(r.release)


def blocked_on_rlock(r, trying, s):
    trying.release()
    assert r.acquire(timeout=scale(30))
    s[1] = 1
    r.release()


def nested_in_child_blocks_other():
    r = ctx.RLock()
    deep, unwind, trying = ctx.Event(), ctx.Event(), ctx.Semaphore(0)
    s = ctx.Array("q", 2, lock=False)
    p = start(nester, r, deep, unwind, s)
    assert deep.wait(scale(30))
    q = start(blocked_on_rlock, r, trying, s)
    assert trying.acquire(timeout=scale(30))
    observe(0.2)
    assert s[1] == 0, "took the RLock while it was held five levels deep"
    unwind.set()
    join_all([p, q])
    assert s[0] == 5 and s[1] == 1
    assert nested_count == 0


def owning_thread_only():
    r = ctx.RLock()
    assert r.acquire(timeout=0) and r.acquire(timeout=0)
    got = []
    th = threading.Thread(target=lambda: got.append(r.acquire(timeout=0)))
    th.start()
    th.join(scale(30))
    assert got == [False]
    # Release by another thread or process: refused, the lock stays held.
    errs = []

    def release_in_thread():
        try:
            r.release()
        except AssertionError as e:
            errs.append(e)

    th = threading.Thread(target=release_in_thread)
    th.start()
    th.join(scale(30))
    assert len(errs) == 1
    join_all([start(not_owner, r.release)])
    try_from_child(r, False)
    r.release()
    r.release()
    try_from_child(r, True)
    not_owner(r.release)  # unowned


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


def timeouts_on_held_rlock():
    r = ctx.RLock()
    p, letgo = holder_start(r, "releases")
    for t in (0, -1, -0.5, 0.1, 0.25):
        got, el = timed(r.acquire, timeout=t)
        assert got is False
        elapsed_within(el, max(t, 0), max(t, 0) + scale(2), "acquire(%r)" % t)
    letgo.set()
    join_all([p])


def acquire_blocking(lock, trying, returned):
    trying.release()
    assert lock.acquire(timeout=scale(30))
    returned.value = 1
    lock.release()


def blocks_until_released():
    r = ctx.RLock()
    trying = ctx.Semaphore(0)
    returned = ctx.Value("q", 0, lock=False)
    assert r.acquire(timeout=0)
    p = start(acquire_blocking, r, trying, returned)
    assert trying.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    r.release()
    join_all([p])
    assert returned.value == 1


def check_exclusion(lock, s):
    for _ in range(2000):
        assert lock.acquire(timeout=scale(30))
        s[0] += 1
        if s[0] != 1:
            s[1] += 1
        s[0] -= 1
        lock.release()


def exclusion():
    r = ctx.RLock()
    s = ctx.Array("q", 2, lock=False)
    join_all([start(check_exclusion, r, s) for _ in range(4)])
    assert s[1] == 0, "%d violations" % s[1]


def nan_timeout():
    r = ctx.RLock()
    nan = float("nan")
    assert r.acquire(timeout=nan) is True      # C: EINVAL, stays free
    assert r.acquire(timeout=nan) is True      # C: EINVAL, no level added
    r.release()
    try_from_child(r, False)                   # the NaN call added a level
    r.release()
    try_from_child(r, True)


def owner_death():
    for death in ("exited", "killed"):
        r = ctx.RLock()
        p, letgo = holder_start(r, "waits" if death == "killed" else
                                "returns")
        if death == "killed":
            p.kill()
        p.join(scale(30))
        got, el = timed(r.acquire, timeout=scale(0.5))
        assert got is False, death  # C: EOWNERDEAD, caller holds it
        try_from_child(r, False)


def acquire_through_signals():
    r = ctx.RLock()
    p, letgo = holder_start(r, "releases")
    assert wait_through_signals(lambda: r.acquire(timeout=scale(30)),
                                letgo.set, 3)
    r.release()
    join_all([p])


ITER = 100000
count = 0


def bump_nested(rlock, shared, seen):
    global count
    for _ in range(ITER):
        with rlock:
            with rlock:  # two levels per increment, as in the C test
                count += 1
                shared.value += 1
    seen.value = count


def global_count_untouched():
    rlock = ctx.RLock()
    shared = ctx.Value("i", 0, lock=False)  # guarded by rlock
    seen = [ctx.Value("q", 0, lock=False) for _ in range(2)]
    join_all([start(bump_nested, rlock, shared, s) for s in seen])
    assert count == 0
    assert [s.value for s in seen] == [ITER, ITER]
    assert shared.value == 2 * ITER


def main():
    nests_five_levels()
    nested_in_child_blocks_other()
    owning_thread_only()
    timeouts_on_held_rlock()
    blocks_until_released()
    exclusion()
    nan_timeout()
    owner_death()
    acquire_through_signals()
    global_count_untouched()


if __name__ == "__main__":
    run("EX-002-10", main)

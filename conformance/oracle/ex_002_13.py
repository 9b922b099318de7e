"""EX-002-13: a Condition producer/consumer over a global list hangs (the
list is not shared); the corrected form uses shared memory.

Mirrors (conformance/condition.c):
  condition_global_list_not_shared_consumer_times_out,
  condition_producer_consumer_over_shared_array,
  condition_lock_is_the_given_lock_or_its_own_rlock,
  condition_wait_or_notify_without_lock_eperm,
  condition_wait_timeout_etimedout_and_lock_held_after,
  condition_wait_for_checks_predicate_with_timeout,
  condition_notify_n_wakes_exactly_n_waiters,
  condition_notify_without_waiters_is_harmless,
  condition_wait_releases_every_rlock_level, condition_wait_survives_signals,
  condition_notify_passes_over_dead_and_timed_out_waiters,
  condition_wait_for_returns_eownerdead_without_the_predicate.
C only: condition_null_arguments_einval.

Also runs the document's own example and asserts its hang, bounded: after
half a (scaled) second both processes are still blocked; the script kills
them.

Errors: wait/wait_for/notify/notify_all without holding the lock raise
AssertionError (C: EPERM); a wait that times out returns False (C: EAGAIN /
ETIMEDOUT) with the lock held again at the same depth; a NaN timeout raises
OSError(EINVAL) as C's EINVAL.

Deliberate difference (a dead lock holder): when the process that took the
lock to notify dies holding it, the woken wait_for never returns -- it
blocks re-acquiring the lock (shown bounded, in a thread left blocked; the
predicate ran once) -- where libmproc returns EOWNERDEAD at once with the
lock held.
"""

import errno
import threading

from oracle_lib import (ctx, elapsed_within, join_all, kill_all, observe,
                        poll_until, raises, run, scale, start, timed,
                        wait_through_signals)

KINDS = ("own RLock", "Lock", "RLock")


def new_condition(kind):
    if kind == "own RLock":
        return ctx.Condition()
    return ctx.Condition(ctx.Lock() if kind == "Lock" else ctx.RLock())


def try_condition(c, expect):
    got = c.acquire(timeout=0)
    assert got == expect, (got, expect)
    if got:
        c.release()


def try_from_child(c, expect):
    join_all([start(try_condition, c, expect)])


def lock_is_given_or_own():
    lk = ctx.Lock()
    c = ctx.Condition(lk)
    assert c.acquire(timeout=0)
    assert lk.acquire(timeout=0) is False
    c.release()
    assert lk.acquire(timeout=0)
    lk.release()
    c = ctx.Condition()
    assert type(c._lock).__name__ == "RLock"
    assert c.acquire() and c.acquire(timeout=0)  # recursive
    try_from_child(c, False)
    c.release()
    c.release()
    try_from_child(c, True)


def expect_not_owner(c):
    for call in (lambda: c.wait(0), lambda: c.wait(0.1),
                 lambda: c.wait_for(lambda: False, 0.1),
                 lambda: c.notify(1), c.notify_all):
        raises(AssertionError, call)  # C: EPERM


def hold_condition(c, held, letgo):
    assert c.acquire(timeout=scale(30))
    held.set()
    assert letgo.wait(scale(30))
    c.release()


def without_lock():
    for kind in KINDS:
        c = new_condition(kind)
        expect_not_owner(c)
        try_from_child(c, True)  # still free
        held, letgo = ctx.Event(), ctx.Event()
        p = start(hold_condition, c, held, letgo)
        assert held.wait(scale(30))
        expect_not_owner(c)
        assert c.acquire(timeout=0) is False  # still held
        letgo.set()
        join_all([p])


def wait_timeouts():
    for kind in KINDS:
        c = new_condition(kind)
        assert c.acquire(timeout=0)
        assert c.wait(0) is False
        assert c.wait(-1) is False
        got, el = timed(c.wait, 0.1)
        assert got is False
        elapsed_within(el, 0.1, 0.1 + scale(2))
        e = raises(OSError, c.wait, float("nan"))
        assert e.errno == errno.EINVAL
        try_from_child(c, False)  # held again after every wait
        c.release()
        raises(ValueError if kind == "Lock" else AssertionError, c.release)
        try_from_child(c, True)


def set_flag_and_notify(c, flag):
    with c:
        flag.value = 1
        c.notify_all()


def wait_for_predicate():
    for kind in KINDS:
        c = new_condition(kind)
        flag = ctx.Value("q", 0, lock=False)
        assert c.acquire(timeout=0)
        assert c.wait_for(lambda: False, 0) is False
        got, el = timed(c.wait_for, lambda: False, 0.15)
        assert got is False
        elapsed_within(el, 0.15, 0.15 + scale(2))
        raises(OSError, c.wait_for, lambda: False, float("nan"))
        flag.value = 1
        got, el = timed(c.wait_for, lambda: flag.value != 0, 0)
        assert got is True
        assert c.wait_for(lambda: flag.value != 0) is True
        elapsed_within(el, 0, scale(1))
        flag.value = 0
        p = start(set_flag_and_notify, c, flag)
        assert c.wait_for(lambda: flag.value != 0, scale(30)) is True
        c.release()
        join_all([p])


def wait_once(c, ready, done, s):
    with c:
        s[0] += 1
        ready.release()
        assert c.wait(scale(30))  # one wait, no loop
        s[1] += 1
    done.release()


def notify_n():
    for n in (0, 1, 2, 3, 5):
        expect = min(n, 3)
        c = ctx.Condition()
        ready, done = ctx.Semaphore(0), ctx.Semaphore(0)
        s = ctx.Array("q", 2, lock=False)  # waiting, woken
        procs = [start(wait_once, c, ready, done, s) for _ in range(3)]
        for _ in range(3):
            assert ready.acquire(timeout=scale(30))
        # Each released `ready` holding the lock and gives it up only inside
        # wait: once the lock is ours, all three are waiting.
        assert c.acquire(timeout=scale(30))
        assert list(s) == [3, 0]
        c.notify(n)
        c.release()
        for _ in range(expect):
            assert done.acquire(timeout=scale(30))
        if expect < 3:
            assert done.acquire(timeout=0.2) is False, \
                "notify(%d) woke more than %d" % (n, expect)
        with c:
            assert s[1] == expect, (n, s[1])
            c.notify_all()
        for _ in range(expect, 3):
            assert done.acquire(timeout=scale(30))
        join_all(procs)
        assert s[1] == 3


def notify_without_waiters():
    c = ctx.Condition()
    with c:
        c.notify(1)
        c.notify_all()
        assert c.wait(0.1) is False


def releases_every_rlock_level():
    for kind in ("own RLock", "RLock"):
        c = new_condition(kind)
        flag = ctx.Value("q", 0, lock=False)
        for _ in range(3):
            assert c.acquire(timeout=0)
        p = start(set_flag_and_notify, c, flag)
        assert c.wait_for(lambda: flag.value != 0, scale(30))
        join_all([p])
        try_from_child(c, False)
        for _ in range(3):
            c.release()
        raises(AssertionError, c.release)
        try_from_child(c, True)


RING, ITEMS = 5, 200


def produce(c, buf, s):  # s: head, tail, count, sum
    for i in range(1, ITEMS + 1):
        with c:
            assert c.wait_for(lambda: s[2] < RING, scale(30))
            buf[s[1]] = i
            s[1] = (s[1] + 1) % RING
            s[2] += 1
            assert s[2] <= RING
            c.notify_all()


def consume(c, buf, s):
    for i in range(1, ITEMS + 1):
        with c:
            assert c.wait_for(lambda: s[2] > 0, scale(30))
            v = buf[s[0]]
            assert v == i, (v, i)  # first in, first out
            s[0] = (s[0] + 1) % RING
            s[2] -= 1
            s[3] += v
            c.notify_all()


def producer_consumer_shared():
    for kind in KINDS:
        c = new_condition(kind)
        buf = ctx.Array("i", RING, lock=False)
        s = ctx.Array("q", 4, lock=False)
        join_all([start(consume, c, buf, s), start(produce, c, buf, s)])
        assert s[2] == 0 and s[3] == ITEMS * (ITEMS + 1) // 2


global_items = []


def erratum_consumer(c, waiting, s):
    with c:
        waiting.release()
        s[0] = int(c.wait_for(lambda: len(global_items) > 0, scale(0.5)))


def erratum_producer(c, s):
    with c:
        global_items.append(42)
        s[1] = len(global_items)
        c.notify_all()


def global_list_not_shared():
    c, waiting = ctx.Condition(), ctx.Semaphore(0)
    s = ctx.Array("q", [9, 0], lock=False)
    cons = start(erratum_consumer, c, waiting, s)
    # The consumer released `waiting` holding the lock: the producer gets
    # the lock only once the consumer waits, so its notify reaches it.
    assert waiting.acquire(timeout=scale(30))
    join_all([start(erratum_producer, c, s)])
    join_all([cons])
    assert s[1] == 1      # the producer saw its own append
    assert s[0] == 0      # the consumer's wait_for timed out (C: ETIMEDOUT)
    assert global_items == []


# The document's example, as written (module-level globals, no guard).
condition = ctx.Condition()
queue = []
MAX_QUEUE_SIZE = 5


def doc_producer():
    for i in range(10):
        with condition:
            while len(queue) >= MAX_QUEUE_SIZE:
                condition.wait()
            queue.append(i)
            condition.notify_all()


def doc_consumer():
    for _ in range(10):
        with condition:
            while len(queue) == 0:
                condition.wait()
            queue.pop(0)
            condition.notify_all()


def document_hangs():
    procs = [start(doc_producer), start(doc_consumer)]
    observe(0.5)
    for p in procs:
        p.join(0)
    assert all(p.is_alive() for p in procs), \
        "the document's example ended; CPython used to deadlock"
    kill_all(procs)


def through_signals():
    for kind in KINDS:
        c = new_condition(kind)
        assert c.acquire(timeout=0)

        def wake():
            with c:
                c.notify_all()

        assert wait_through_signals(lambda: c.wait(scale(30)), wake, 3)
        c.release()


def passes_over_dead_and_timed_out_waiters():
    c = ctx.Condition()
    ready, done = ctx.Semaphore(0), ctx.Semaphore(0)
    s = ctx.Array("q", 2, lock=False)
    first = start(wait_once, c, ready, done, s)
    assert ready.acquire(timeout=scale(30))
    with c:  # the first waiter is inside its wait
        pass
    live = start(wait_once, c, ready, done, s)
    assert ready.acquire(timeout=scale(30))
    assert c.acquire(timeout=scale(30))
    assert s[0] == 2
    assert c.wait(0.1) is False  # a waiter that timed out (this process)
    first.kill()
    join_all([first], expect=-9)
    c.notify(1)
    c.release()
    assert done.acquire(timeout=scale(30))
    join_all([live])
    assert s[1] == 1


def notify_and_die_holding(c):
    assert c.acquire(timeout=scale(30))
    c.notify(1)  # and exit holding the lock


def holder_dies_after_notifying():
    for kind in ("Lock", "RLock"):
        c = new_condition(kind)
        evaluations = []
        holder = []

        def waiter():
            assert c.acquire(timeout=0)
            holder.append(start(notify_and_die_holding, c))
            c.wait_for(lambda: evaluations.append(1) and False, scale(30))
            evaluations.append("returned")

        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        assert poll_until(lambda: holder, scale(30))
        join_all(holder)  # notified, then died holding the lock
        th.join(scale(0.5))
        # C: EOWNERDEAD at once, the predicate not run again.  CPython: the
        # wait_for blocks for good re-acquiring the lock (the thread is
        # left behind, blocked).
        assert th.is_alive(), kind
        assert evaluations == [1], evaluations


def main():
    lock_is_given_or_own()
    without_lock()
    wait_timeouts()
    wait_for_predicate()
    notify_n()
    notify_without_waiters()
    releases_every_rlock_level()
    producer_consumer_shared()
    global_list_not_shared()
    document_hangs()
    through_signals()
    passes_over_dead_and_timed_out_waiters()
    holder_dies_after_notifying()


if __name__ == "__main__":
    run("EX-002-13", main)

"""EX-000-10: an Event releases three waiting processes when the parent sets
it.

Mirrors (conformance/event.c):
  event_one_set_releases_all_three_waiters,
  event_wait_on_clear_event_eagain_or_etimedout,
  event_wait_on_set_event_returns_at_once, event_clear_resets_the_flag.
C only: event_null_arguments_einval.

A wait that times out returns False (C: EAGAIN for timeout 0 or negative,
ETIMEDOUT for a positive one).  Where CPython contradicts the C test: a NaN
timeout raises OSError(EINVAL) only on a clear Event; on a set Event
wait(nan) returns True at once (C: EINVAL in both cases).
"""

import errno

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed)


def wait_event(event, ready, returned):
    ready.release()
    assert event.wait()  # no limit, as in the example
    assert event.is_set()
    with returned.get_lock():
        returned.value += 1


def three_waiters():
    event, ready = ctx.Event(), ctx.Semaphore(0)
    returned = ctx.Value("q", 0)
    procs = [start(wait_event, event, ready, returned) for _ in range(3)]
    for _ in range(3):
        assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert not event.is_set()
    assert returned.value == 0, "waiters returned before set"
    event.set()
    join_all(procs)
    assert returned.value == 3 and event.is_set()


def clear_event_timeouts():
    e = ctx.Event()
    for t in (0, -1, -1e-6, 0.1, 0.3):
        got, el = timed(e.wait, t)
        assert got is False, t
        elapsed_within(el, max(t, 0), max(t, 0) + scale(2), "wait(%r)" % t)
    err = raises(OSError, e.wait, float("nan"))
    assert err.errno == errno.EINVAL
    e.set()
    assert e.wait(float("nan")) is True  # C: EINVAL


def set_event_at_once():
    e = ctx.Event()
    e.set()
    for t in (0, -1, 0.5, 30, None):
        got, el = timed(e.wait, t)
        assert got is True
        elapsed_within(el, 0, scale(1))


def clear_resets():
    e = ctx.Event()
    assert not e.is_set()
    e.clear()
    assert not e.is_set()
    e.set()
    e.set()
    assert e.is_set()
    e.clear()
    assert not e.is_set()
    assert e.wait(0) is False
    assert e.wait(0.05) is False
    e.set()
    assert e.wait(0) is True


def main():
    three_waiters()
    clear_event_timeouts()
    set_event_at_once()
    clear_resets()


if __name__ == "__main__":
    run("EX-000-10", main)

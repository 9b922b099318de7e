"""EX-002-12: an Event set by a setter process wakes a waiter process.

Mirrors (conformance/event.c):
  event_waiter_child_released_by_setter_child,
  event_set_by_child_wakes_waiting_parent, event_flag_is_shared_with_children,
  event_one_set_releases_all_three_waiters, event_clear_resets_the_flag,
  event_wait_on_clear_event_eagain_or_etimedout, event_wait_survives_signals.
"""

from oracle_lib import (ctx, elapsed_within, join_all, observe, run, scale,
                        start, timed, wait_through_signals)

event = ctx.Event()  # module level, shared by fork as in the document


def waiter(ready, returned):
    ready.release()
    assert event.wait()
    returned.value += 1


def setter():
    event.set()


def waiter_and_setter():
    ready, returned = ctx.Semaphore(0), ctx.Value("q", 0, lock=False)
    w = start(waiter, ready, returned)
    assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    join_all([start(setter)])
    join_all([w])
    assert returned.value == 1 and event.is_set()


def set_in_child(e):
    e.set()


def child_wakes_parent():
    e = ctx.Event()
    p = start(set_in_child, e)
    assert e.wait(scale(30)) is True
    assert e.is_set()
    join_all([p])


def clear_in_child(e):
    assert e.is_set()
    e.clear()


def flag_shared():
    e = ctx.Event()
    e.set()
    join_all([start(clear_in_child, e)])
    assert not e.is_set()


def waiters_three():
    e, ready = ctx.Event(), ctx.Semaphore(0)
    returned = ctx.Value("q", 0)

    def w():
        ready.release()
        assert e.wait()
        with returned.get_lock():
            returned.value += 1

    procs = [start(w) for _ in range(3)]
    for _ in range(3):
        assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    e.set()
    join_all(procs)
    assert returned.value == 3


def clear_and_timeouts():
    e = ctx.Event()
    e.set()
    e.clear()
    assert not e.is_set()
    for t in (0, -1, 0.1):
        got, el = timed(e.wait, t)
        assert got is False
        elapsed_within(el, max(t, 0), max(t, 0) + scale(2))


def through_signals():
    e = ctx.Event()
    assert wait_through_signals(lambda: e.wait(scale(30)), e.set, 3) is True


def main():
    waiter_and_setter()
    child_wakes_parent()
    flag_shared()
    waiters_three()
    clear_and_timeouts()
    through_signals()


if __name__ == "__main__":
    run("EX-002-12", main)

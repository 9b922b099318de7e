"""EX-003-08: an Event passed as an argument: the notifier process wakes the
waiter process.

Mirrors (conformance/event.c):
  event_waiter_child_released_by_setter_child,
  event_set_by_child_wakes_waiting_parent,
  event_one_set_releases_all_three_waiters,
  event_wait_on_set_event_returns_at_once, event_wait_survives_signals.
"""

from oracle_lib import (ctx, elapsed_within, join_all, observe, run, scale,
                        start, timed, wait_through_signals)


def waiter(event, ready, returned):
    ready.release()
    assert event.wait()
    with returned.get_lock():
        returned.value += 1


def notifier(event):
    event.set()


def waiter_and_notifier():
    event, ready = ctx.Event(), ctx.Semaphore(0)
    returned = ctx.Value("q", 0)
    w = start(waiter, event, ready, returned)
    assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    join_all([start(notifier, event)])
    join_all([w])
    assert returned.value == 1 and event.is_set()


def notifier_wakes_parent():
    event = ctx.Event()
    p = start(notifier, event)
    assert event.wait(scale(30))
    join_all([p])


def three_waiters():
    event, ready = ctx.Event(), ctx.Semaphore(0)
    returned = ctx.Value("q", 0)
    procs = [start(waiter, event, ready, returned) for _ in range(3)]
    for _ in range(3):
        assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    event.set()
    join_all(procs)
    assert returned.value == 3


def set_returns_at_once():
    e = ctx.Event()
    e.set()
    for t in (0, -1, 0.5, 30, None):
        got, el = timed(e.wait, t)
        assert got is True
        elapsed_within(el, 0, scale(1))


def through_signals():
    e = ctx.Event()
    assert wait_through_signals(lambda: e.wait(scale(30)), e.set, 3) is True


def main():
    waiter_and_notifier()
    notifier_wakes_parent()
    three_waiters()
    set_returns_at_once()
    through_signals()


if __name__ == "__main__":
    run("EX-003-08", main)

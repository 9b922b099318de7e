"""EX-000-03: ProcessPoolExecutor map, then submit + as_completed.

Mirrors (conformance/executor.c):
  executor_map_hundred_items_doubled_in_input_order,
  executor_as_completed_yields_each_future_once_in_completion_order,
  executor_as_completed_timeout_etimedout_for_pending_futures,
  executor_future_result_exception_timeouts_and_states,
  executor_cancel_succeeds_only_before_start,
  executor_done_callback_runs_once_when_done_or_at_once_if_done,
  executor_shutdown_wait_completes_queued_work,
  executor_shutdown_cancel_futures_cancels_what_has_not_started,
  executor_submit_and_map_after_shutdown_estate,
  executor_invalid_arguments_einval (as_completed over no futures ends at
  once; the rest is C only).

Errors: TimeoutError (builtin; concurrent.futures.TimeoutError is the same
class in 3.11) for C's EAGAIN / ETIMEDOUT; CancelledError for ECANCELLED;
cancel() returns False for C's ESTATE; RuntimeError ("cannot schedule new
futures after shutdown") for ESTATE after shutdown.

Where CPython contradicts the C tests:
- executor_cancel_succeeds_only_before_start and
  executor_shutdown_cancel_futures_cancels_what_has_not_started: CPython
  moves up to max_workers + 1 queued futures into its call queue and marks
  them running at once, so with every worker busy the next queued futures
  are already "running" and cannot be cancelled; only futures beyond the
  call queue can.  shutdown(wait=False, cancel_futures=True) cancels those
  (here 2 or 3 of the 4 queued ones, depending on what the manager thread
  had moved, asynchronously, just after it returns) and runs those in the
  call queue (C: all four cancelled on return).  A
  later shutdown(wait=True) then returns at once, while a task still runs
  (C: it waits for the work and the workers).
- executor_as_completed_timeout_etimedout_for_pending_futures: after the
  TimeoutError the as_completed iterator is finished (StopIteration); a
  later call does not yield what completed meanwhile (C: it does).
- executor_as_completed_yields_each_future_once_in_completion_order: over
  futures that are all done already, as_completed yields them in set order,
  not in the order they finished (only the set is asserted here).
- result(timeout=nan) on a running future raises TimeoutError at once (C:
  EINVAL).
"""

import os
import threading
from concurrent.futures import (CancelledError, ProcessPoolExecutor,
                                as_completed)

from oracle_lib import (ctx, elapsed_within, now, poll_until, raises, run,
                        scale, timed)


def process_data(x):
    return x * 2


def gated(i):
    started[i].set()
    assert gates[i].wait(scale(30))
    return i


def square(x):
    return x * x


def new_gates(n=8):
    global gates, started
    gates = [ctx.Event() for _ in range(n)]
    started = [ctx.Event() for _ in range(n)]


def wait_started(i):
    assert started[i].wait(scale(30)), "gated task %d never started" % i


def map_in_order():
    with ProcessPoolExecutor(max_workers=4) as ex:
        for chunksize in (1, 7):
            it = ex.map(process_data, range(100), chunksize=chunksize)
            assert [next(it) for _ in range(100)] == \
                [2 * i for i in range(100)]
            raises(StopIteration, next, it)


def as_completed_order():
    new_gates()
    with ProcessPoolExecutor(max_workers=4) as ex:
        fs = [ex.submit(process_data, i) for i in range(100)]
        seen = set()
        for f in as_completed(fs, timeout=scale(60)):
            i = fs.index(f)
            assert i not in seen and f.done()
            seen.add(i)
            assert f.result(0) == 2 * i
        assert len(seen) == 100
        g = [ex.submit(gated, i) for i in range(4)]
        for i in range(4):
            wait_started(i)
        it = as_completed(g, timeout=scale(30))
        for i in (2, 0, 3, 1):
            gates[i].set()
            assert next(it) is g[i]
        raises(StopIteration, next, it)
        # Already done: CPython yields them from a set, in no particular
        # order (C: again in the order they finished).
        again = list(as_completed(g, timeout=0))
        assert len(again) == 4 and set(again) == set(g)
        assert list(as_completed([])) == []


def as_completed_timeout():
    new_gates()
    with ProcessPoolExecutor(max_workers=2) as ex:
        f0 = ex.submit(square, 3)
        assert f0.result(scale(30)) == 9
        f1, f2 = ex.submit(gated, 0), ex.submit(gated, 1)
        t0 = now()
        it = as_completed([f0, f1, f2], timeout=0.3)
        assert next(it) is f0
        e = raises(TimeoutError, next, it)
        assert "2 (of 3) futures unfinished" in str(e)
        elapsed_within(now() - t0, 0.3, 0.3 + scale(2))
        assert not f1.done() and not f2.done()
        gates[0].set()
        assert f1.result(scale(30)) == 0
        raises(StopIteration, next, it)  # C: yields f1, then ETIMEDOUT
        gates[1].set()
        assert f2.result(scale(30)) == 1


def risky(x):
    if x == 5:
        raise ValueError("Bad value: %d" % x)
    return x * 2


def states_and_timeouts():
    new_gates()
    with ProcessPoolExecutor(max_workers=1) as ex:
        f = ex.submit(gated, 0)
        wait_started(0)
        assert f.running() and not f.done() and not f.cancelled()
        for t in (0, -1):
            r, el = timed(f.result, t)
            assert isinstance(r, TimeoutError)
            elapsed_within(el, 0, scale(1))
        r, el = timed(f.result, 0.2)
        assert isinstance(r, TimeoutError)
        elapsed_within(el, 0.2, 0.2 + scale(2))
        raises(TimeoutError, f.exception, 0)
        r, el = timed(f.exception, 0.1)
        assert isinstance(r, TimeoutError)
        elapsed_within(el, 0.1, 0.1 + scale(2))
        r, el = timed(f.result, float("nan"))
        assert isinstance(r, TimeoutError)   # C: EINVAL
        elapsed_within(el, 0, scale(1))
        gates[0].set()
        assert f.result(scale(30)) == 0
        assert f.done() and not f.running() and not f.cancelled()
        assert f.exception(0) is None
        assert f.result(0) == 0
        g = ex.submit(risky, 5)
        e = g.exception(scale(30))
        assert type(e) is ValueError and str(e) == "Bad value: 5"
        assert str(raises(ValueError, g.result, 0)) == "Bad value: 5"
        assert g.done()


def cancel_before_start():
    new_gates()
    me = threading.get_ident()
    early, late = [], []
    with ProcessPoolExecutor(max_workers=2) as ex:
        a, b = ex.submit(gated, 0), ex.submit(gated, 1)
        wait_started(0)
        wait_started(1)
        # The next three fill CPython's call queue (2 workers + 1) and are
        # marked running at once; the sixth stays pending.
        q = [ex.submit(square, i) for i in range(4)]
        assert poll_until(lambda: all(x.running() for x in q[:3]),
                          scale(30))
        assert a.running() and a.cancel() is False and not a.cancelled()
        assert q[0].cancel() is False      # C: a queued future cancels
        assert not q[3].running() and not q[3].done()
        q[3].add_done_callback(lambda f: early.append(threading.get_ident()))
        assert early == []
        assert q[3].cancel() is True
        assert early == [me]  # in this thread, before cancel returned
        assert q[3].cancelled() and q[3].done() and not q[3].running()
        assert q[3].cancel() is True
        raises(CancelledError, q[3].result, 0)
        raises(CancelledError, q[3].exception, 0)
        q[3].add_done_callback(lambda f: late.append(
            (threading.get_ident(), f.cancelled())))
        assert late == [(me, True)]  # already done: at once
        gates[0].set()
        gates[1].set()
        assert a.result(scale(30)) == 0 and b.result(scale(30)) == 1
        assert [x.result(scale(30)) for x in q[:3]] == [0, 1, 4]
        assert a.cancel() is False and not a.cancelled()
        assert len(early) == 1


def done_callbacks():
    new_gates()
    me = (os.getpid(), threading.get_ident())
    l1, l2, l3 = [], [], []
    with ProcessPoolExecutor(max_workers=1) as ex:
        f = ex.submit(gated, 3)
        wait_started(3)
        for log in (l1, l2):
            f.add_done_callback(lambda fut, log=log: log.append(
                (fut, os.getpid(), threading.get_ident())))
        assert l1 == []
        gates[3].set()
        assert f.result(scale(30)) == 3
        assert poll_until(lambda: len(l1) == 1 and len(l2) == 1, scale(10))
        for log in (l1, l2):
            fut, pid, thread = log[0]
            assert fut is f and pid == me[0] and thread != me[1]
        f.add_done_callback(lambda fut: l3.append(
            (threading.get_ident(), fut.result(0))))
        assert l3 == [(me[1], 3)]
    assert len(l1) == 1 and len(l2) == 1


def slow_square(x):
    import time
    time.sleep(0.02)  # only makes the task slow
    return x * x


def shutdown_wait():
    ex = ProcessPoolExecutor(max_workers=1)
    fs = [ex.submit(slow_square, i) for i in range(6)]
    ex.shutdown(wait=True)
    assert ctx.active_children() == []
    for i, f in enumerate(fs):
        assert f.done() and f.result(0) == i * i
    t0 = now()
    ex.shutdown(wait=True)
    ex.shutdown(wait=False, cancel_futures=True)
    elapsed_within(now() - t0, 0, scale(0.5))


def shutdown_cancel_futures():
    new_gates()
    ex = ProcessPoolExecutor(max_workers=1)
    f = [ex.submit(gated, 0)] + [ex.submit(square, i) for i in range(1, 5)]
    wait_started(0)
    assert poll_until(lambda: f[1].running(), scale(30))  # in the call queue
    manager = ex._executor_manager_thread
    t0 = now()
    ex.shutdown(wait=False, cancel_futures=True)
    elapsed_within(now() - t0, 0, scale(0.5))
    # C: f[1..4] all cancelled when shutdown returns.  CPython's manager
    # thread cancels, just after, only those not yet in its call queue:
    # f[1] was in it (running) and runs; f[2] may have been; f[3] and f[4]
    # cannot have been (one worker: a call queue of two).
    assert poll_until(lambda: f[3].cancelled() and f[4].cancelled(),
                      scale(10))
    for x in f[3:]:
        assert x.done()
        raises(CancelledError, x.result, 0)
    assert not f[0].cancelled() and not f[0].done()
    assert not f[1].cancelled()
    # A later shutdown(wait=True) does not wait any more (C: it returns
    # only when the work is done and no worker is left): f[0] still waits
    # for its gate when it returns.
    ex.shutdown(wait=True)
    assert not f[0].done()
    gates[0].set()
    assert f[0].result(scale(30)) == 0
    assert f[1].result(scale(30)) == 1   # ran although queued at shutdown
    assert f[2].cancelled() or f[2].result(scale(30)) == 4
    manager.join(scale(30))
    assert not manager.is_alive()
    assert poll_until(lambda: ctx.active_children() == [], scale(30))


def submit_after_shutdown():
    for wait in (False, True):
        ex = ProcessPoolExecutor(max_workers=1)
        ex.shutdown(wait=wait)
        e = raises(RuntimeError, ex.submit, square, 1)    # C: ESTATE
        assert "after shutdown" in str(e)
        raises(RuntimeError, ex.map, square, range(2))
        ex.shutdown(wait=True)


def main():
    map_in_order()
    as_completed_order()
    as_completed_timeout()
    states_and_timeouts()
    cancel_before_start()
    done_callbacks()
    shutdown_wait()
    shutdown_cancel_futures()
    submit_after_shutdown()


if __name__ == "__main__":
    run("EX-000-03", main)

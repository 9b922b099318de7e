"""EX-000-13: apply_async(...).get(timeout=3) on a 10 s task times out;
terminate.

Mirrors (conformance/pool.c):
  pool_get_timeout_on_slow_task_etimedout_then_terminate_cancels,
  pool_terminate_while_busy_cancels_running_and_queued_work,
  pool_terminate_cancels_a_hundred_queued_jobs.

The timeout is multiprocessing.TimeoutError (context.TimeoutError, a
ProcessError), not the builtin TimeoutError; successful() on an unfinished
result raises ValueError (C: ESTATE); terminate() returns at once and
join() soon after, leaving no worker.

Where CPython contradicts the C tests: after terminate() the unfinished
results are never completed -- get(timeout) keeps raising TimeoutError,
ready() stays False, and no error callback runs (C: every unfinished job,
running or queued, apply or map, fails with ECANCELLED and its error
callback has run when join returns).
"""

import time

from oracle_lib import ctx, elapsed_within, now, raises, run, scale, timed


def slow_function(seconds):
    time.sleep(seconds)  # the task is slow; nothing is ordered by it
    return seconds


def get_timeout_then_terminate():
    pool = ctx.Pool(2)
    r = pool.apply_async(slow_function, (10 * scale(1),))
    got, el = timed(r.get, 3)
    assert isinstance(got, ctx.TimeoutError), got
    assert not isinstance(got, TimeoutError)  # not the builtin
    elapsed_within(el, 3, 3 + scale(2))
    assert not r.ready()
    raises(ValueError, r.successful)          # C: ESTATE
    r.wait(0)
    assert not r.ready()
    t0 = now()
    pool.terminate()
    elapsed_within(now() - t0, 0, scale(0.5), "terminate")
    pool.join()
    elapsed_within(now() - t0, 0, scale(1), "terminate + join")
    assert ctx.active_children() == []
    got, _ = timed(r.get, 0.1)
    assert isinstance(got, ctx.TimeoutError), got   # C: ECANCELLED
    assert not r.ready()


def gated(i):
    started[i].set()
    gates[i].wait(scale(30))
    return i


def square(x):
    return x * x


def terminate_while_busy():
    global gates, started
    gates = [ctx.Event() for _ in range(4)]
    started = [ctx.Event() for _ in range(4)]
    results, errors = [], []
    pool = ctx.Pool(2)
    rs = [pool.apply_async(gated, (i,), callback=results.append,
                           error_callback=errors.append) for i in range(4)]
    rs.append(pool.map_async(square, range(4), chunksize=1,
                             callback=results.append,
                             error_callback=errors.append))
    assert started[0].wait(scale(30)) and started[1].wait(scale(30))
    t0 = now()
    pool.terminate()
    pool.join()
    elapsed_within(now() - t0, 0, scale(1), "terminate + join")
    assert ctx.active_children() == []
    assert results == [] and errors == []   # C: 5 error callbacks
    for r in rs:
        assert not r.ready()                # C: ECANCELLED
        got, _ = timed(r.get, 0)
        assert isinstance(got, ctx.TimeoutError)


def hundred_queued():
    global gates, started
    gates, started = [ctx.Event()], [ctx.Event()]
    results, errors = [], []
    pool = ctx.Pool(1)
    rs = [pool.apply_async(gated, (0,), callback=results.append,
                           error_callback=errors.append)]
    assert started[0].wait(scale(30))
    rs += [pool.apply_async(square, (0,), callback=results.append,
                            error_callback=errors.append) for _ in range(100)]
    pool.terminate()
    pool.join()
    assert ctx.active_children() == []
    assert results == [] and errors == []  # C: 101 error callbacks
    assert not any(r.ready() for r in rs)  # C: ECANCELLED for each


def main():
    get_timeout_then_terminate()
    terminate_while_busy()
    hundred_queued()


if __name__ == "__main__":
    run("EX-000-13", main)

"""EX-001-03: apply, apply_async with a callback, close, join.

Mirrors (conformance/pool.c):
  pool_apply_and_apply_async_callback_in_parent_before_join_returns,
  pool_failing_task_reaches_get_and_error_callback_unchanged,
  pool_join_before_close_estate,
  pool_closed_or_terminated_pool_rejects_work_estate.

Errors: join() on a running pool raises ValueError ("Pool is still
running"; C: ESTATE) at once; a closed or terminated pool refuses every
submission with ValueError ("Pool not running"; C: ESTATE).  A failing
task's exception reaches get() and the error callback as the same
exception object type and message (C: ETASK with code and message).
"""

import os
import threading

from oracle_lib import (ctx, elapsed_within, now, raises, run, scale)


def worker(num):
    return num * num


def risky(x):
    if x == 5:
        raise ValueError("Bad value: %d" % x)
    return x * 2


def where():
    return os.getpid(), threading.get_ident()


def apply_and_callback():
    me = where()
    seen = []
    pool = ctx.Pool(2)
    assert pool.apply(worker, (10,)) == 100
    pool.apply_async(worker, (20,), callback=lambda r: seen.append((r,
                                                                    where())))
    pool.close()
    pool.join()
    assert len(seen) == 1 and seen[0][0] == 400        # once, before join
    pid, thread = seen[0][1]
    assert pid == me[0] and thread != me[1]   # the parent, not this thread


def failing_task():
    me = where()
    results, errors = [], []

    def on_result(r):
        results.append((r, where()))

    def on_error(e):
        errors.append((e, where()))

    pool = ctx.Pool(2)
    rs = [pool.apply_async(risky, (i,), callback=on_result,
                           error_callback=on_error) for i in range(10)]
    for i, r in enumerate(rs):
        if i == 5:
            e = raises(ValueError, r.get, scale(30))
            assert str(e) == "Bad value: 5"
            assert r.successful() is False
        else:
            assert r.get(scale(30)) == 2 * i
    pool.close()
    pool.join()
    assert len(errors) == 1 and type(errors[0][0]) is ValueError
    assert str(errors[0][0]) == "Bad value: 5"
    assert sorted(r for r, _ in results) == [2 * i for i in range(10)
                                             if i != 5]
    for _, (pid, thread) in results + errors:
        assert pid == me[0] and thread != me[1]


def join_before_close():
    pool = ctx.Pool(2)
    t0 = now()
    for _ in range(2):
        e = raises(ValueError, pool.join)          # C: ESTATE
        assert "still running" in str(e)
    elapsed_within(now() - t0, 0, scale(0.4))
    assert pool.apply(worker, (7,)) == 49          # still usable
    pool.terminate()
    pool.join()


def rejects_after_close_or_terminate():
    for end in ("close", "terminate"):
        pool = ctx.Pool(2)
        getattr(pool, end)()
        getattr(pool, end)()  # may be repeated
        calls = [lambda: pool.apply(worker, (1,)),
                 lambda: pool.apply_async(worker, (1,)),
                 lambda: pool.map(worker, [1]),
                 lambda: pool.map_async(worker, [1]),
                 lambda: pool.starmap(max, [(1, 2)]),
                 lambda: pool.starmap_async(max, [(1, 2)]),
                 lambda: pool.imap(worker, [1]),
                 lambda: pool.imap_unordered(worker, [1])]
        for call in calls:
            e = raises(ValueError, call)           # C: ESTATE
            assert "not running" in str(e)
        pool.terminate()
        pool.join()


def main():
    apply_and_callback()
    failing_task()
    join_before_close()
    rejects_after_close_or_terminate()


if __name__ == "__main__":
    run("EX-001-03", main)

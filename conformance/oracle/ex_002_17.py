"""EX-002-17: imap yields in submission order, imap_unordered in completion
order.

Mirrors (conformance/pool.c):
  pool_imap_unordered_yields_in_completion_order_each_once,
  pool_imap_yields_in_input_order_waiting_for_earlier_items,
  pool_unencodable_result_fails_only_that_task.
Made deterministic as in C: gated tasks (each waits for an event the script
sets) instead of durations.  A bounded next(timeout) that finds nothing
raises multiprocessing.TimeoutError (C: ETIMEDOUT / EAGAIN); the end is
StopIteration (C: EEOF).  A result that cannot be pickled is
MaybeEncodingError (C: EINVAL).

Where CPython contradicts pool_unencodable_result_fails_only_that_task:
with chunksize 2 the whole chunk holding the bad result fails, and imap
ends there -- it yields 0, 1, then the error, then stops (C: 0, 1, 2, the
error, 4, 5).  With chunksize 1 CPython does yield 0, 1, 2, the error, 4,
5.
"""

from multiprocessing.pool import MaybeEncodingError

from oracle_lib import ctx, raises, run, scale

RELEASE_ORDER = [2, 0, 3, 1]


def gated(i):
    started[i].set()
    assert gates[i].wait(scale(30))
    return i


def new_gates():
    global gates, started
    gates = [ctx.Event() for _ in range(4)]
    started = [ctx.Event() for _ in range(4)]


def unordered():
    new_gates()
    with ctx.Pool(4) as pool:
        it = pool.imap_unordered(gated, range(4), chunksize=1)
        for i in RELEASE_ORDER:
            assert started[i].wait(scale(30))
            gates[i].set()
            assert it.next(scale(30)) == i
        raises(StopIteration, it.next, scale(5))
    pool.join()


def ordered():
    new_gates()
    with ctx.Pool(4) as pool:
        it = pool.imap(gated, range(4), chunksize=1)
        for i in range(4):
            assert started[i].wait(scale(30))
        gates[2].set()  # item 2 finishes first; item 0 still runs
        raises(ctx.TimeoutError, it.next, 0.3)
        raises(ctx.TimeoutError, it.next, 0)
        gates[0].set()
        assert it.next(scale(30)) == 0
        raises(ctx.TimeoutError, it.next, 0.2)
        gates[3].set()
        gates[1].set()
        assert [it.next(scale(30)) for _ in range(3)] == [1, 2, 3]
        raises(StopIteration, it.next, scale(5))
        raises(StopIteration, it.next, 0)
    pool.join()


def bad_for_3(x):
    if x == 3:
        return lambda: 3  # cannot be pickled
    return x


def drain(it):
    # With chunksize > 1 CPython's imap is a plain generator over chunks
    # (no next(timeout)); the tasks here finish at once.
    out = []
    while True:
        try:
            out.append(next(it))
        except StopIteration:
            return out
        except MaybeEncodingError:
            out.append("error")


def square(x):
    return x * x


def unencodable():
    with ctx.Pool(2) as pool:
        assert drain(pool.imap(bad_for_3, range(6), chunksize=2)) == \
            [0, 1, "error"]                      # C: [0, 1, 2, err, 4, 5]
        assert drain(pool.imap(bad_for_3, range(6), chunksize=1)) == \
            [0, 1, 2, "error", 4, 5]
        r = pool.apply_async(bad_for_3, (3,))
        raises(MaybeEncodingError, r.get, scale(30))
        assert pool.map(square, range(6)) == [0, 1, 4, 9, 16, 25]
    pool.join()


def main():
    unordered()
    ordered()
    unencodable()


if __name__ == "__main__":
    run("EX-002-17", main)

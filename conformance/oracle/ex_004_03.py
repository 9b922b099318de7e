"""EX-004-03: apply_async with a progress callback counting ten
completions (the document's tqdm bar replaced by a counter).

Mirrors (conformance/pool.c):
  pool_progress_callback_counts_ten_completions_before_join_returns.
A lambda callback is fine: callbacks run in the parent and are not pickled.
"""

import os
import threading

from oracle_lib import ctx, run


def work(n):
    return n ** 2


def main():
    me = (os.getpid(), threading.get_ident())
    calls = []
    update = lambda r: calls.append((r, os.getpid(),  # noqa: E731
                                     threading.get_ident()))
    p = ctx.Pool(3)
    res = [p.apply_async(work, args=(i,), callback=update) for i in range(10)]
    p.close()
    p.join()
    assert len(calls) == 10
    assert sorted(c[0] for c in calls) == [i * i for i in range(10)]
    assert sum(c[0] for c in calls) == 285
    for _, pid, thread in calls:
        assert pid == me[0] and thread != me[1]
    assert [r.get(0) for r in res] == [i * i for i in range(10)]


if __name__ == "__main__":
    run("EX-004-03", main)

"""EX-001-04: map, and map_async with a callback that gets the whole list.

Mirrors (conformance/pool.c):
  pool_map_async_callback_receives_the_whole_list_once,
  pool_map_with_failing_item_etask_with_its_error.
"""

import os
import threading

from oracle_lib import ctx, raises, run, scale


def worker(num):
    return num * num


def risky(x):
    if x == 5:
        raise ValueError("Bad value: %d" % x)
    return x * 2


def main():
    me = (os.getpid(), threading.get_ident())
    seen = []
    squares = [i * i for i in range(10)]
    pool = ctx.Pool(2)
    assert pool.map(worker, range(10)) == squares
    pool.map_async(worker, range(10), callback=lambda r: seen.append(
        (r, os.getpid(), threading.get_ident())))
    # A failing item: map raises it; map_async's error callback runs once,
    # its result callback never.
    e = raises(ValueError, pool.map, risky, range(10))
    assert str(e) == "Bad value: 5"
    results, errors = [], []
    r = pool.map_async(risky, range(10), chunksize=1,
                       callback=results.append, error_callback=errors.append)
    raises(ValueError, r.get, scale(30))
    assert r.successful() is False
    pool.close()
    pool.join()
    assert len(seen) == 1 and seen[0][0] == squares   # whole list, once
    assert seen[0][1] == me[0] and seen[0][2] != me[1]
    assert results == [] and len(errors) == 1
    assert str(errors[0]) == "Bad value: 5"


if __name__ == "__main__":
    run("EX-001-04", main)

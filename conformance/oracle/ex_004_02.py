"""EX-004-02: Pool() with ten apply_async(work, n), close, join, then get.

Mirrors (conformance/pool.c):
  pool_default_apply_async_results_valid_after_close_join,
  pool_default_size_is_cpu_count (the workers used),
  pool_apply_and_apply_async_callback_in_parent_before_join_returns,
  pool_maxtasksperchild_1_recycles_workers_strands_nothing.
The document's comment "at most 3 processes" is wrong: Pool() has
cpu_count() workers.
"""

import os
import threading

from oracle_lib import ctx, run, scale


def work(n):
    return n ** 2, os.getpid()


def default_pool():
    me = (os.getpid(), threading.get_ident())
    seen = []
    p = ctx.Pool()
    assert len(p._pool) == ctx.cpu_count()  # not 3
    res_l = [p.apply_async(work, args=(i,)) for i in range(10)]
    p.apply_async(work, (20,), callback=lambda r: seen.append(
        (r[0], os.getpid(), threading.get_ident())))
    p.close()
    p.join()
    pids = set()
    for i, r in enumerate(res_l):
        assert r.ready() and r.successful()
        v, pid = r.get(0)
        assert v == i ** 2
        pids.add(pid)
    assert len(pids) <= ctx.cpu_count()
    assert seen == [(400, me[0], seen[0][2])] and seen[0][2] != me[1]


def recycled():
    with ctx.Pool(2, maxtasksperchild=1) as p:
        res = p.map(work, range(8), chunksize=1)
        assert [r[0] for r in res] == [i * i for i in range(8)]
        assert len({r[1] for r in res}) > 2
        rs = [p.apply_async(work, (i,)) for i in range(8)]
        res = [r.get(scale(30)) for r in rs]
        assert [r[0] for r in res] == [i * i for i in range(8)]
        assert len({r[1] for r in res}) > 2
    p.join()


def main():
    default_pool()
    recycled()


if __name__ == "__main__":
    run("EX-004-02", main)

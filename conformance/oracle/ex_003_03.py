"""EX-003-03: Pool(4).map squares of range(10).

Mirrors (conformance/pool.c):
  pool_map_squares_range10_gives_ten_results_in_order,
  pool_empty_input_gives_empty_results, pool_scoped_pool_is_freed_at_scope_end
  (the `with Pool() as pool` form: leaving the block terminates the pool;
  join then leaves no worker).

Where CPython contradicts pool_empty_input_gives_empty_results: map_async
over an empty list returns [] from get() but never calls its callback (C:
the callback gets [] once).
"""

from oracle_lib import ctx, raises, run, scale


def worker(x):
    return x * x


def main():
    with ctx.Pool(4) as pool:
        assert pool.map(worker, range(10)) == [x * x for x in range(10)]
        assert pool.map(worker, []) == []
        assert pool.starmap(max, []) == []
        got = []
        r = pool.map_async(worker, [], callback=got.append)
        assert r.get(scale(30)) == []
        r.wait(scale(30))
        assert got == []  # C: the callback gets [] once
        raises(StopIteration, next, pool.imap(worker, []))
        raises(StopIteration, next, pool.imap_unordered(worker, []))
        workers = list(pool._pool)
        assert len(workers) == 4
    pool.join()
    for w in workers:
        assert not w.is_alive() and w.exitcode is not None
    assert ctx.active_children() == []


if __name__ == "__main__":
    run("EX-003-03", main)

"""EX-003-12: Pool() defaults to cpu_count workers; map over range(100).

Mirrors (conformance/pool.c):
  pool_default_size_is_cpu_count,
  pool_map_100000_trivial_tasks_all_results_right.
"""

import os

from oracle_lib import ctx, run, scale


def meet(_):
    meeting.wait(scale(30))
    return os.getpid()


def square_with_pid(x):
    return x * x, os.getpid()


def increment(x):
    return x + 1


def main():
    global meeting
    ncpu = ctx.cpu_count()
    meeting = ctx.Barrier(ncpu)
    with ctx.Pool() as pool:
        assert len(pool.map(meet, range(ncpu), chunksize=1)) == ncpu
        res = pool.map(square_with_pid, range(100))
        assert [r[0] for r in res] == [x * x for x in range(100)]
        assert len({r[1] for r in res}) <= ncpu
        assert pool.map(increment, range(100000)) == \
            list(range(1, 100001))
    pool.join()


if __name__ == "__main__":
    run("EX-003-12", main)

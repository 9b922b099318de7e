"""EX-000-11: a Pool initializer runs once per worker.

Mirrors (conformance/pool.c):
  pool_initializer_runs_exactly_once_in_each_worker,
  pool_failing_initializer_breaks_pool_ebroken.

Where CPython contradicts pool_failing_initializer_breaks_pool_ebroken: an
initializer that raises kills its worker, and CPython's pool keeps
replacing it (the initializer ran many times within a second here), so a
submitted task never runs: get(timeout) raises TimeoutError (without a
timeout it hangs) and later submissions are accepted.  libmproc's pool
breaks: EBROKEN from get and from later submissions.
"""

import os

from oracle_lib import ctx, run, scale, timed


def init_worker():
    with inits.get_lock():
        inits[1 + inits[0]] = os.getpid()
        inits[0] += 1


def twice_recording_pid(x):
    ran[x] = os.getpid()
    return x * 2


def initializer_once_per_worker():
    global inits, ran
    inits = ctx.Array("q", 1 + 64)
    ran = ctx.Array("q", 10, lock=False)
    with ctx.Pool(4, initializer=init_worker) as pool:
        assert pool.map(twice_recording_pid, range(10), chunksize=1) == \
            [2 * i for i in range(10)]
        pool.close()
        pool.join()  # every worker has run its initializer and exited
    assert inits[0] == 4, inits[0]
    pids = set(inits[1:5])
    assert len(pids) == 4
    for i in range(10):
        assert ran[i] in pids, "item %d ran in a pid that never ran the " \
            "initializer" % i


def failing_init():
    with runs.get_lock():
        runs.value += 1
    raise RuntimeError("cannot open the database")


def square(x):
    return x * x


def failing_initializer():
    global runs
    runs = ctx.Value("q", 0)
    pool = ctx.Pool(2, initializer=failing_init)
    try:
        r = pool.apply_async(square, (3,))
        got, el = timed(r.get, scale(1))
        assert isinstance(got, ctx.TimeoutError), got   # C: EBROKEN
        assert runs.value > 2, runs.value               # workers respawned
        pool.apply_async(square, (3,))                  # C: EBROKEN
    finally:
        pool.terminate()
        pool.join()


def main():
    initializer_once_per_worker()
    failing_initializer()


if __name__ == "__main__":
    run("EX-000-11", main)

"""EX-003-02: processes A and B run under their names with their own pids.

Mirrors (conformance/process.c): process_a_and_b_run_under_their_names.
"""

import os

from oracle_lib import ctx, join_all, run, scale, start


def worker(expected, out, slot, barrier):
    assert ctx.current_process().name == expected
    out[slot] = os.getpid()
    barrier.wait(scale(30))  # A and B run at once


def main():
    out = ctx.Array("q", 2, lock=False)
    barrier = ctx.Barrier(2)
    procs = []
    for i, name in enumerate(("A", "B")):
        p = start(worker, name, out, i, barrier, name=name)
        assert p.name == name
        procs.append(p)
    pids = [p.pid for p in procs]
    join_all(procs)
    assert list(out) == pids
    assert pids[0] != pids[1] and os.getpid() not in pids


if __name__ == "__main__":
    run("EX-003-02", main)

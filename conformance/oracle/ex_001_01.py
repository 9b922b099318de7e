"""EX-001-01: five Process workers run at the same time; the parent joins all.

Mirrors (conformance/process.c):
  process_five_workers_run_concurrently_and_once,
  process_exitcode_is_return_value_exit_status_or_minus_signal,
  process_start_flushes_stdout_so_output_is_not_duplicated.

CPython agrees, except that a target's return value is not its exit code
(CPython ignores it: exit code 0; sys.exit(n) gives n), as in EX-000-01.
"""

import os
import subprocess
import sys

from oracle_lib import ctx, join_all, run, scale, start


def run_concurrently(i, slots, barrier):
    slots[i] += 1
    # Passes only once all five run at the same time.
    barrier.wait(scale(30))


def five_concurrently():
    slots = ctx.Array("q", 5, lock=False)
    barrier = ctx.Barrier(5)
    procs = [start(run_concurrently, i, slots, barrier) for i in range(5)]
    join_all(procs)
    assert list(slots) == [1] * 5
    assert not barrier.broken


def exit_codes():
    cases = [(lambda: 7, 0),              # C: 7 (the return value)
             (lambda: sys.exit(7), 7),
             (lambda: os._exit(255), 255)]
    for fn, expect in cases:
        p = start(fn)
        p.join(scale(30))
        assert p.exitcode == expect, (p.exitcode, expect)
        p.close()


CHILD = r"""
import multiprocessing, sys
multiprocessing.set_start_method("fork", force=True)
sys.stdout.write("once")            # no newline: stays in the buffer
p = multiprocessing.Process(target=int)
p.start(); p.join(30)
sys.exit(p.exitcode)
"""


def stdout_not_duplicated():
    r = subprocess.run([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                       timeout=scale(30))
    assert r.returncode == 0
    assert r.stdout == b"once", r.stdout


def main():
    five_concurrently()
    exit_codes()
    stdout_not_duplicated()


if __name__ == "__main__":
    run("EX-001-01", main)

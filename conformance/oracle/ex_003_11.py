"""EX-003-11: cpu_count gives the recommended number of processes.

Mirrors (conformance/process.c): cpu_count_equals_online_processors.
"""

import os

from oracle_lib import ctx, run


def main():
    n = ctx.cpu_count()
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    assert n >= 1
    assert n == online, (n, online)
    assert n == os.cpu_count()
    # Not the CPUs this process may use (the catalogue's note): those are
    # len(os.sched_getaffinity(0)), at most cpu_count().
    assert 1 <= len(os.sched_getaffinity(0)) <= n


if __name__ == "__main__":
    run("EX-003-11", main)

"""EX-002-16: Pool(3).map over (name, delay) tuples.

Mirrors (conformance/pool.c):
  pool_map_over_name_delay_tuples_results_in_input_order.
Delays are the document's seconds x 0.1, as in the C test.
"""

import os
import time

from oracle_lib import ctx, run


def task(args):
    name, delay = args
    k = int(name[-1])
    ran[k] = os.getpid()
    time.sleep(delay * 0.1)  # only makes the task slow
    return "任务 %s 完成" % name


def main():
    global ran
    ran = ctx.Array("q", 5, lock=False)
    tasks = [("Task-1", 2), ("Task-2", 3), ("Task-3", 1), ("Task-4", 2)]
    with ctx.Pool(3) as pool:
        results = pool.map(task, tasks, chunksize=1)
    pool.join()
    assert results == ["任务 Task-%d 完成" % i for i in (1, 2, 3, 4)]
    pids = list(ran[1:5])
    assert len(set(pids)) <= 3
    assert pids[3] in pids[:3]  # the fourth ran on one of the three


if __name__ == "__main__":
    run("EX-002-16", main)

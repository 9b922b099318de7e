"""EX-002-18: Pool.apply blocks until the task is done.

Mirrors (conformance/pool.c): pool_apply_blocks_until_the_task_is_done
(the tasks' own CLOCK_MONOTONIC stamps: each apply returns only after its
task ran, and the second task starts after the first apply returned).
"""

import time

from oracle_lib import ctx, now, run


def task(name, delay):
    t0 = now()
    time.sleep(delay * 0.1)  # only makes the task slow
    return name, t0, now()


def main():
    with ctx.Pool(processes=3) as pool:
        t_call = now()
        n1, s1, e1 = pool.apply(task, args=("Task-1", 2))
        t_back = now()
        n2, s2, e2 = pool.apply(task, args=("Task-2", 3))
        t_end = now()
    pool.join()
    assert (n1, n2) == ("Task-1", "Task-2")
    assert t_call <= s1 <= e1 <= t_back
    assert t_back <= s2 <= e2 <= t_end


if __name__ == "__main__":
    run("EX-002-18", main)

"""EX-002-15: Pool(3), three apply_async, then get.

Mirrors (conformance/pool.c):
  pool_three_apply_async_run_in_parallel_get_in_submission_order,
  pool_failing_task_reaches_get_and_error_callback_unchanged (its CPython
  side in full is in ex_001_03.py; the failing task among successful ones
  is checked here too).
"""

import os

from oracle_lib import ctx, raises, run, scale


def task(name, delay):
    meeting.wait(scale(30))  # the three run at the same time
    return "任务 %s 完成" % name, os.getpid()


def risky(x):
    if x == 5:
        raise ValueError("Bad value: %d" % x)
    return x * 2


def main():
    global meeting
    meeting = ctx.Barrier(3)
    with ctx.Pool(processes=3) as pool:
        rs = [pool.apply_async(task, args=("Task-%d" % i, 2))
              for i in (1, 2, 3)]
        got = [r.get(scale(30)) for r in rs]
        assert [g[0] for g in got] == ["任务 Task-1 完成", "任务 Task-2 完成",
                                      "任务 Task-3 完成"]
        assert len({g[1] for g in got}) == 3   # three distinct workers
        errors = []
        rs = [pool.apply_async(risky, (i,), error_callback=errors.append)
              for i in range(10)]
        for i, r in enumerate(rs):
            if i == 5:
                assert str(raises(ValueError, r.get, scale(30))) == \
                    "Bad value: 5"
            else:
                assert r.get(scale(30)) == 2 * i
        assert len(errors) == 1 and str(errors[0]) == "Bad value: 5"
    pool.join()


if __name__ == "__main__":
    run("EX-002-15", main)

"""EX-001-02: Pool(processes=4).map over range(10): ten results, not the
five the document prints.

Mirrors (conformance/pool.c):
  pool_map_squares_range10_gives_ten_results_in_order.
Also cited by EX-001-02: pool_task_function_not_loaded_in_worker_fails_einval
(its CPython side, the hang of a function the workers do not have, is
asserted in ex_000_02.py).
"""

import time

from oracle_lib import ctx, run, scale


def worker(num):
    time.sleep(0.02)  # the document's sleep, shortened; only makes it slow
    return num * num


def main():
    with ctx.Pool(processes=4) as pool:
        results = pool.map(worker, range(10))
        assert results == [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
        assert results != [0, 1, 4, 9, 16]  # what the document prints
        assert pool.map_async(worker, range(10)).get(scale(30)) == results
    pool.join()


if __name__ == "__main__":
    run("EX-001-02", main)

"""EX-003-07: a Lock around a global counter; the document claims 200000,
CPython prints 0 (globals are per process).

Mirrors (conformance/lock.c, conformance/process.c):
  lock_guarded_global_counter_stays_zero_in_parent,
  process_global_changed_in_child_unchanged_in_parent.
"""

from oracle_lib import ctx, join_all, run, start

ITER = 100000
counter = 0


def worker(lock, shared, seen):
    global counter
    for _ in range(ITER):
        with lock:
            counter += 1
            shared.value += 1
    seen.value = counter


def main():
    lock = ctx.Lock()
    # Read and written under `lock` only (C: the value's pointer).  A Value
    # made with lock=lock would take that non-recursive Lock again inside
    # `with lock:` and deadlock.
    shared = ctx.Value("i", 0, lock=False)
    seen = [ctx.Value("q", 0, lock=False) for _ in range(2)]
    join_all([start(worker, lock, shared, s) for s in seen])
    assert counter == 0, counter             # "正确输出200000" is false
    assert [s.value for s in seen] == [ITER, ITER]
    assert shared.value == 200000            # a Value does reach it


if __name__ == "__main__":
    run("EX-003-07", main)

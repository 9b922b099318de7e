"""EX-002-09: a Lock around a global count in two children; the parent's
count is untouched (the document's "0" is right by accident).

Mirrors (conformance/lock.c, conformance/process.c):
  lock_guarded_global_counter_stays_zero_in_parent (the Lock case),
  process_global_changed_in_child_unchanged_in_parent.
"""

from oracle_lib import ctx, join_all, run, start

ITER = 100000
count = 0
lock = ctx.Lock()


def increment(shared, seen):
    global count
    for _ in range(ITER):
        lock.acquire()
        try:
            count += 1
            shared.value += 1
        finally:
            lock.release()
    seen.value = count


def bump_global(seen):
    global count
    for _ in range(1000):
        count += 1
    seen.value = count


def main():
    # Read and written under `lock` only (C: the value's pointer).  A Value
    # made with lock=lock would take that non-recursive Lock again inside
    # `with lock:` and deadlock.
    shared = ctx.Value("i", 0, lock=False)
    seen = [ctx.Value("q", 0, lock=False) for _ in range(2)]
    join_all([start(increment, shared, s) for s in seen])
    assert count == 0                       # the parent's copy
    assert [s.value for s in seen] == [ITER, ITER]  # each child's own
    assert shared.value == 2 * ITER         # shared memory really is shared
    seen = [ctx.Value("q", 0, lock=False) for _ in range(2)]
    join_all([start(bump_global, s) for s in seen])
    assert count == 0
    assert [s.value for s in seen] == [1000, 1000]  # not 2000: private


if __name__ == "__main__":
    run("EX-002-09", main)

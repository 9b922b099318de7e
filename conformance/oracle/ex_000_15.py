"""EX-000-15: pitfalls -- a module-level Lock IS shared with fork.

Mirrors (conformance/lock.c):
  lock_created_before_start_is_shared_with_child,
  lock_released_by_another_process.

Also confirms the catalogue's notes on the other two pitfalls (not covered
by C tests): with fork a module-level Pool works, a lambda passed to
Process(args=...) works (nothing is pickled), but a lambda given to a Pool
cannot be pickled (PicklingError).
"""

import pickle

from oracle_lib import ctx, join_all, raises, run, start, timed

module_lock = ctx.Lock()  # module level, not passed to the child
LAMBDA = lambda: 42  # noqa: E731 - the document's lambda, at module level


def use_module_lock(parent_holds):
    if parent_holds:
        got, el = timed(module_lock.acquire, timeout=0.5)
        assert got is False           # C: ETIMEDOUT: the same lock
        assert el >= 0.5 - 0.002
    else:
        assert module_lock.acquire(timeout=0.5)
        module_lock.release()


def module_level_lock_shared():
    assert module_lock.acquire(timeout=0)
    join_all([start(use_module_lock, True)])
    module_lock.release()
    join_all([start(use_module_lock, False)])


def release_lock(lock):
    lock.release()


def released_by_another_process():
    lk = ctx.Lock()
    assert lk.acquire(timeout=0)
    join_all([start(release_lock, lk)])
    assert lk.acquire(timeout=0)
    lk.release()


def call_it(fn, out):
    out.value = fn()


def square(x):
    return x * x


def other_pitfalls():
    out = ctx.Value("i", 0)
    join_all([start(call_it, LAMBDA, out)])   # works with fork
    assert out.value == 42
    pool = ctx.Pool(2)
    try:
        assert pool.map(square, range(5)) == [0, 1, 4, 9, 16]
        raises(pickle.PicklingError, pool.apply, LAMBDA)
    finally:
        pool.terminate()
        pool.join()


def main():
    module_level_lock_shared()
    released_by_another_process()
    other_pitfalls()


if __name__ == "__main__":
    run("EX-000-15", main)

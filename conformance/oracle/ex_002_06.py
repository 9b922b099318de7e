"""EX-002-06: a Value incremented 100000 and decremented 100000 under a Lock
ends at 0.

Mirrors (conformance/lock.c): lock_increments_and_decrements_cancel_out
(under the Value's own lock, as the C test does), plus the document's own
form with a separate Lock.
"""

from oracle_lib import ctx, join_all, run, start

ITER = 100000


def count(counter, lock, delta):
    for _ in range(ITER):
        with lock:
            counter.value += delta


def main():
    for separate in (False, True):
        v = ctx.Value("i", 0)
        lock = ctx.Lock() if separate else v.get_lock()
        join_all([start(count, v, lock, 1), start(count, v, lock, -1)])
        assert v.value == 0, (separate, v.value)


if __name__ == "__main__":
    run("EX-002-06", main)

"""EX-003-04: a Queue drained with `while not queue.empty()` after the
producer was joined.

Mirrors (conformance/queue.c):
  queue_empty_loop_consumer_after_producer_joined_gets_all_5.

The C test asserts only the joined version (started concurrently the loop
is racy).  This script also confirms the catalogue's erratum on CPython,
made deterministic: while the producer's items are still in its feeder
thread (the script holds the queue's write lock, Queue._wlock), qsize()
already counts 5 but empty() is True, so the document's consumer ends at
once with nothing consumed.
"""

from oracle_lib import ctx, join_all, poll_until, run, scale, start


def producer(q):
    for i in range(5):
        q.put(i)


def consumer(q, got):
    while not q.empty():
        v = q.get(timeout=0)  # every get(0) succeeds
        assert v == got.value, (v, got.value)
        got.value += 1


def joined_first():
    q = ctx.Queue()
    got = ctx.Value("q", 0, lock=False)
    join_all([start(producer, q)])
    join_all([start(consumer, q, got)])
    assert got.value == 5
    assert q.empty()


def empty_is_a_snapshot():
    q = ctx.Queue()
    got = ctx.Value("q", 0, lock=False)
    assert q._wlock.acquire(timeout=scale(10))
    try:
        p = start(producer, q)
        # The five puts returned (counted), none is in the pipe yet.
        assert poll_until(lambda: q.qsize() == 5, scale(30))
        join_all([start(consumer, q, got)])
        assert got.value == 0  # "consumed 0 of 5"
    finally:
        q._wlock.release()
    join_all([p])  # its feeder flushes now
    for i in range(5):
        assert q.get(timeout=scale(10)) == i


def main():
    joined_first()
    empty_is_a_snapshot()


if __name__ == "__main__":
    run("EX-003-04", main)

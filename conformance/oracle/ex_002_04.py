"""EX-002-04: a Queue producer puts ten ints, a consumer does ten gets.

Mirrors (conformance/queue.c, conformance/obj.c):
  queue_consumer_of_ten_gets_0_to_9_in_order,
  queue_put_get_fifo_with_qsize_empty_full, queue_maxsize_0_is_unbounded,
  queue_put_on_full_queue_efull_not_before_timeout,
  queue_get_on_empty_queue_eempty_not_before_timeout,
  queue_timeout_0_succeeds_on_non_full_or_non_empty_queue_in_use,
  queue_blocked_get_and_put_wake_on_other_process,
  queue_producers_and_consumers_with_sentinels_lose_nothing (3x1, 3x3; the
  other scenarios in ex_000_04.py), queue_8mib_items_from_child_arrive_intact,
  queue_child_that_put_50mib_can_be_joined_before_reading,
  queue_blocking_get_and_put_survive_signals,
  queue_task_done_and_join_on_plain_queue_enotsup,
  joinable_queue_task_done_too_many_estate,
  joinable_queue_join_waits_for_every_task_done_across_consumers,
  obj_dict_set_replaces_equal_key_and_keeps_insertion_order,
  obj_copy_is_deep_and_independent,
  obj_encode_decode_roundtrip_of_every_type (through the queue).
Shared with EX-000-04 and checked in ex_000_04.py:
queue_close_eclosed_in_this_process_items_stay_for_others,
queue_items_put_by_producer_that_exits_at_once_are_delivered,
queue_process_killed_mid_traffic_leaves_no_torn_item,
simple_queue_put_get_empty_close.
C only: queue_null_arguments_einval, queue_items_up_to_max_message_fit_
larger_emsgsize and queue_capacity_full_gives_efull_until_room (CPython has
no message limit or byte capacity), obj_encoding_is_messagepack,
obj_list_append_keeps_order_and_takes_ownership,
obj_nesting_to_max_depth_roundtrips_deeper_einval_or_eproto,
obj_encode_decode_null_arguments_einval,
obj_equal_needs_same_type_and_compares_dicts_as_mappings (Python's ==
calls 1, 1.0 and True equal; what the queue keeps is the type, checked).

Errors: Full / Empty for C's EFULL / EEMPTY; a NaN timeout gives OSError
(EINVAL) on put, ValueError on get (C: EINVAL); task_done/join on a plain
Queue do not exist (AttributeError; C: ENOTSUP); task_done too many times
raises ValueError (C: ESTATE); JoinableQueue.join() has no timeout, so it
is bounded here by running it in a thread.

Where CPython contradicts the C tests:
- queue_put_get_fifo_with_qsize_empty_full: put() returns before the item
  is in the pipe (a feeder thread writes it), so right after a put empty()
  can be True and get(timeout=0) can raise Empty while qsize() is 1.  Shown
  deterministically by holding the queue's write lock (Queue._wlock).
- obj_copy_is_deep_and_independent (as the queue's contract): CPython
  pickles an item when the feeder thread gets to it, so a change the caller
  makes after put() can arrive with the item (shown deterministically: the
  feeder is kept busy with an earlier item); libmproc encodes in put().
- queue_child_that_put_50mib_can_be_joined_before_reading: the catalogue's
  note, confirmed: the producer of 50 items of 1 MiB is still alive after
  join(timeout) and ends only once the queue is drained.
"""

import queue as stdqueue
import threading

from oracle_lib import (ctx, elapsed_within, join_all, observe, poll_until,
                        raises, run, scale, start, timed,
                        wait_through_signals)


def producer(q):
    for i in range(10):
        q.put(i)


def consumer(q, got):
    for i in range(10):
        v = q.get(timeout=scale(30))
        assert v == i, (v, i)
        got.value += 1


def ten_gets():
    q = ctx.Queue()
    got = ctx.Value("q", 0, lock=False)
    join_all([start(producer, q), start(consumer, q, got)])
    assert got.value == 10
    raises(stdqueue.Empty, q.get, timeout=0.1)


ITEMS = [0, None, False, 2.5, "item_3", b"\0\1", ["nested"], {}, "",
         {"a": 1, 2: [1, 2, 3]}, -2 ** 63, True]


def fifo_qsize_empty_full():
    q = ctx.Queue()
    assert q.qsize() == 0 and q.empty() and not q.full()
    for i, item in enumerate(ITEMS):
        q.put(item)
        assert q.qsize() == i + 1
        assert not q.full()
    for i, item in enumerate(ITEMS):
        got = q.get(timeout=scale(10))
        assert type(got) is type(item) and got == item, (item, got)
        assert q.qsize() == len(ITEMS) - i - 1
    assert q.empty()
    # put() returns before the item is in the pipe: with the feeder thread
    # kept from writing, the queue counts an item it cannot deliver yet.
    assert q._wlock.acquire(timeout=scale(10))
    try:
        q.put("late")
        assert q.qsize() == 1
        assert q.empty()                       # C: not empty after a put
        raises(stdqueue.Empty, q.get, timeout=0)  # C: get(0) succeeds
    finally:
        q._wlock.release()
    assert q.get(timeout=scale(10)) == "late"


def unbounded():
    # Queue(0) and Queue() are the same queue in CPython (maxsize 0 becomes
    # SEM_VALUE_MAX); the second one gets fewer items to keep the run short.
    for q, n in ((ctx.Queue(0), 10000), (ctx.Queue(), 1000)):
        for i in range(n):
            q.put(i, timeout=0)
        assert not q.full() and q.qsize() == n
        for i in range(n):
            assert q.get(timeout=scale(10)) == i


def full_queue():
    q = ctx.Queue(3)
    for i in range(3):
        q.put(i, timeout=scale(30))
    assert q.full() and q.qsize() == 3
    for t in (0, -1):
        r, el = timed(q.put, "extra", timeout=t)
        assert isinstance(r, stdqueue.Full)
        elapsed_within(el, 0, scale(1))
    r, el = timed(q.put, "extra", timeout=0.2)
    assert isinstance(r, stdqueue.Full)
    elapsed_within(el, 0.2, 0.2 + scale(2))
    raises(OSError, q.put, "extra", timeout=float("nan"))
    assert q.qsize() == 3
    assert q.get(timeout=scale(10)) == 0
    assert not q.full()
    q.put("extra", timeout=0)
    assert q.full()
    assert q.get(timeout=scale(10)) == 1 and q.get(timeout=scale(10)) == 2


def empty_queue():
    q = ctx.Queue()
    for t in (0, -0.5):
        r, el = timed(q.get, timeout=t)
        assert isinstance(r, stdqueue.Empty)
        elapsed_within(el, 0, scale(1))
    r, el = timed(q.get, timeout=0.2)
    assert isinstance(r, stdqueue.Empty)
    elapsed_within(el, 0.2, 0.2 + scale(2))
    raises(ValueError, q.get, timeout=float("nan"))


N_BUSY, PAYLOAD = 50, 256 << 10  # C: 200 items


def busy_consumer(q):
    for i in range(N_BUSY):
        tag, seq, payload = q.get(timeout=scale(30))
        assert seq == i and len(payload) == PAYLOAD


def busy_producer(q):
    for i in range(N_BUSY):
        q.put((0, i, bytes([i % 256]) * PAYLOAD))


def timeout_0_in_use():
    q = ctx.Queue()
    p = start(busy_consumer, q)
    refused = 0
    for i in range(N_BUSY):
        while True:
            try:
                q.put((0, i, bytes([i % 256]) * PAYLOAD), timeout=0)
                break
            except stdqueue.Full:
                refused += 1
    join_all([p])
    assert refused == 0
    p = start(busy_producer, q)
    for i in range(N_BUSY):
        assert poll_until(lambda: not q.empty(), scale(30))
        tag, seq, payload = q.get(timeout=0)  # never Empty once not empty
        assert seq == i and payload == bytes([i % 256]) * PAYLOAD
    join_all([p])


def get_blocking(q, trying, returned):
    trying.release()
    v = q.get(timeout=scale(30))
    returned[0] = 1
    returned[1] = v


def put_blocking(q, trying, returned):
    trying.release()
    q.put(99, timeout=scale(30))
    returned[0] = 1


def blocked_wake():
    for kind in ("get", "put"):
        q = ctx.Queue(0 if kind == "get" else 1)
        returned = ctx.Array("q", 2, lock=False)
        trying = ctx.Semaphore(0)
        if kind == "put":
            q.put(1)
        p = start(get_blocking if kind == "get" else put_blocking, q, trying,
                  returned)
        assert trying.acquire(timeout=scale(30))
        observe(0.2)
        assert returned[0] == 0, "the child's %s returned early" % kind
        if kind == "get":
            q.put(42)
        else:
            assert q.get(timeout=scale(30)) == 1
        join_all([p])
        assert returned[0] == 1
        if kind == "get":
            assert returned[1] == 42
        else:
            assert q.get(timeout=scale(10)) == 99


def mpmc_producer(q, tag, items):
    for i in range(items):
        q.put((tag, i))


def mpmc_consumer(q, seen, bad, producers, items):
    last = [-1] * producers
    while True:
        o = q.get(timeout=scale(30))
        if o is None:
            return
        tag, seq = o
        if seq <= last[tag]:
            with bad.get_lock():
                bad.value += 1
        last[tag] = seq
        with seen.get_lock():
            seen[tag * items + seq] += 1


def sentinels_by_parent():
    for np_, nc, items in ((3, 1, 100), (3, 3, 100)):  # C: 200 items
        q = ctx.Queue()
        seen, bad = ctx.Array("q", np_ * items), ctx.Value("q", 0)
        cons = [start(mpmc_consumer, q, seen, bad, np_, items)
                for _ in range(nc)]
        prod = [start(mpmc_producer, q, t, items) for t in range(np_)]
        join_all(prod)
        for _ in range(nc):
            q.put(None)
        join_all(cons)
        assert bad.value == 0 and list(seen) == [1] * (np_ * items)


def put_big_items(q, size, count):
    for i in range(count):
        q.put((7, i, bytes([(i * 37 + k) % 256 for k in range(256)])
               * (size // 256)))


def big_items():
    q = ctx.Queue()
    p = start(put_big_items, q, 8 << 20, 2)
    for i in range(2):
        tag, seq, payload = q.get(timeout=scale(30))
        assert seq == i and len(payload) == 8 << 20
        assert payload[:256] * (len(payload) // 256) == payload
        assert payload[:256] == bytes([(i * 37 + k) % 256
                                       for k in range(256)])
    join_all([p])


def join_before_reading():
    q = ctx.Queue()
    p = start(put_big_items, q, 1 << 20, 50)
    r, el = timed(p.join, scale(1))
    assert p.is_alive(), "the 50 MiB producer ended before the queue " \
        "was read (CPython used to deadlock here)"  # C: join succeeds
    assert poll_until(lambda: q.qsize() == 50, scale(30))
    for i in range(50):
        tag, seq, payload = q.get(timeout=scale(30))
        assert seq == i and len(payload) == 1 << 20
    join_all([p])
    assert q.empty()


def through_signals():
    q = ctx.Queue()
    v = wait_through_signals(lambda: q.get(timeout=scale(30)),
                             lambda: q.put("wake"), 3)
    assert v == "wake"
    q = ctx.Queue(1)
    q.put("first")
    wait_through_signals(lambda: q.put("second", timeout=scale(30)),
                         lambda: q.get(timeout=scale(30)), 3)
    assert q.get(timeout=scale(10)) == "second"


def joinable_basics():
    q = ctx.Queue()
    assert not hasattr(q, "task_done") and not hasattr(q, "join")
    j = ctx.JoinableQueue()

    def bounded_join(t):
        th = threading.Thread(target=j.join, daemon=True)
        th.start()
        th.join(t)
        return not th.is_alive()

    assert bounded_join(scale(10))          # nothing put: joins at once
    e = raises(ValueError, j.task_done)     # C: ESTATE
    assert "too many" in str(e)
    j.put(1)
    assert not bounded_join(0.2)            # C: ETIMEDOUT
    assert j.get(timeout=scale(10)) == 1
    assert not bounded_join(0.2)
    j.task_done()
    assert bounded_join(scale(10))
    raises(ValueError, j.task_done)


JQ_ITEMS, JQ_CONSUMERS, JQ_HELD = 12, 3, 7


def jq_consumer(q, holding, finish, done):
    while True:
        v = q.get(timeout=scale(30))
        if v is None:
            q.task_done()
            return
        if v == JQ_HELD:
            holding.set()
            assert finish.wait(scale(30))
            q.task_done()
        else:
            q.task_done()
            done.release()


def jq_joiner(q, joined):
    q.join()
    joined.value = 1


def joinable_across_consumers():
    q = ctx.JoinableQueue()
    holding, finish, done = ctx.Event(), ctx.Event(), ctx.Semaphore(0)
    joined = ctx.Value("q", 0, lock=False)
    cons = [start(jq_consumer, q, holding, finish, done)
            for _ in range(JQ_CONSUMERS)]
    for i in range(1, JQ_ITEMS + 1):
        q.put(i)
    joiner = start(jq_joiner, q, joined)
    assert holding.wait(scale(30))
    for _ in range(JQ_ITEMS - 1):
        assert done.acquire(timeout=scale(30))
    assert q.empty()
    th = threading.Thread(target=q.join, daemon=True)
    th.start()
    th.join(0.2)
    assert th.is_alive()          # C: EAGAIN / ETIMEDOUT
    observe(0.1)
    assert joined.value == 0, "join returned with an item unfinished"
    finish.set()
    th.join(scale(10))
    assert not th.is_alive()
    join_all([joiner])
    assert joined.value == 1
    for _ in range(JQ_CONSUMERS):
        q.put(None)
    th = threading.Thread(target=q.join, daemon=True)
    th.start()
    th.join(scale(30))
    assert not th.is_alive()
    join_all(cons)
    raises(ValueError, q.task_done)


def dict_order_and_copies():
    q = ctx.Queue()
    d = {"a": 1, 1: "int key", "1": "str key"}
    d["a"] = 2  # replaces in place, keeps the position
    q.put(d)
    got = q.get(timeout=scale(10))
    assert list(got.items()) == [("a", 2), (1, "int key"), ("1", "str key")]
    assert got[1] != got["1"] and got is not d
    # CPython pickles an item when its feeder thread gets to it, not in
    # put(): a change made after put() can travel with the item.  Made
    # deterministic: the feeder, holding an earlier item, waits for the
    # write lock while the next item sits unpickled in the buffer.
    assert q._wlock.acquire(timeout=scale(10))
    try:
        q.put("first")
        assert poll_until(lambda: len(q._buffer) == 0, scale(10))
        nested = [{"k": [None]}]
        q.put(nested)
        nested[0]["k"].append("changed after put")
    finally:
        q._wlock.release()
    assert q.get(timeout=scale(10)) == "first"
    got = q.get(timeout=scale(10))
    assert got == [{"k": [None, "changed after put"]}], got  # C: [None]


def main():
    ten_gets()
    fifo_qsize_empty_full()
    unbounded()
    full_queue()
    empty_queue()
    timeout_0_in_use()
    blocked_wake()
    sentinels_by_parent()
    big_items()
    join_before_reading()
    through_signals()
    joinable_basics()
    joinable_across_consumers()
    dict_order_and_copies()


if __name__ == "__main__":
    run("EX-002-04", main)

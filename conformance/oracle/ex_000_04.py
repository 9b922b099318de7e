"""EX-000-04: a Queue producer puts item_0..item_9 then a None sentinel; the
consumer stops at None.

Mirrors (conformance/queue.c, conformance/obj.c):
  queue_producer_items_then_none_consumer_stops_at_none,
  queue_producers_and_consumers_with_sentinels_lose_nothing,
  queue_items_put_by_producer_that_exits_at_once_are_delivered,
  queue_process_killed_mid_traffic_leaves_no_torn_item,
  queue_close_eclosed_in_this_process_items_stay_for_others,
  simple_queue_put_get_empty_close, obj_repr_matches_python,
  obj_scalars_keep_type_and_value, obj_str_and_bytes_copy_the_callers_buffer,
  obj_str_rejects_invalid_utf8_null_and_decode_eproto.

Where CPython contradicts the C tests (asserted here as CPython does it,
deterministically: the script holds the queue's internal write lock,
Queue._wlock, so that the feeder thread cannot write):
- queue_items_put_by_producer_that_exits_at_once_are_delivered: CPython's
  put() only hands the item to a feeder thread; a producer that leaves with
  os._exit (C: _exit) before the thread wrote loses its items (here all
  100), although qsize() still counts them.  With a normal exit the items
  are flushed and delivered (provided someone reads: see EX-002-04).
- queue_process_killed_mid_traffic_leaves_no_torn_item: a producer killed
  while its feeder thread is half-way through writing a 1 MiB item leaves a
  torn message in the pipe and the write lock held by a dead process: a
  consumer's get(timeout=1) then blocks forever (inside recv, past its
  timeout; shown bounded and killed), and another producer's items never
  arrive.  libmproc's queue stays usable.
- After close(), put and get raise ValueError (C: ECLOSED), but a second
  close() is accepted (C: ECLOSED).  A closed SimpleQueue raises OSError.
- A str holding a lone surrogate crosses a CPython queue (pickle uses
  surrogatepass); libmproc refuses to build such a str (it must be UTF-8).
"""

import queue as stdqueue

from oracle_lib import (ctx, join_all, kill_all, observe, poll_until, raises,
                        run, scale, start, timed)


def producer(q, n):
    for i in range(n):
        q.put("item_%d" % i)
    q.put(None)


def consumer(q, got):
    while True:
        item = q.get(timeout=scale(30))
        if item is None:
            break
        assert repr(item) == "'item_%d'" % got.value, (item, got.value)
        got.value += 1


def items_then_none():
    q = ctx.Queue()
    got = ctx.Value("q", 0, lock=False)
    join_all([start(producer, q, 10), start(consumer, q, got)])
    assert got.value == 10
    raises(stdqueue.Empty, q.get, timeout=0.1)


def mpmc_producer(q, tag, items, sentinels):
    for i in range(items):
        q.put((tag, i))
    for _ in range(sentinels):
        q.put(None)


def mpmc_consumer(q, seen, per_cons, bad, index, producers, items):
    last = [-1] * producers
    while True:
        o = q.get(timeout=scale(30))
        if o is None:
            return
        tag, seq = o
        if not (0 <= tag < producers and 0 <= seq < items) or seq <= last[tag]:
            with bad.get_lock():
                bad.value += 1
        else:
            last[tag] = seq
            with seen.get_lock():
                seen[tag * items + seq] += 1
        per_cons[index] += 1


MPMC = [  # producers, consumers, items, sentinels by, maxsize
    (1, 1, 200, "producer", 0),
    (1, 3, 200, "producer", 4),
    (3, 3, 200, "parent", 5),
    (2, 4, 150, "parent", 0),
]


def sentinels_lose_nothing():
    for np_, nc, items, by, maxsize in MPMC:
        q = ctx.Queue(maxsize)
        seen = ctx.Array("q", np_ * items)
        per_cons = ctx.Array("q", nc, lock=False)
        bad = ctx.Value("q", 0)
        cons = [start(mpmc_consumer, q, seen, per_cons, bad, i, np_, items)
                for i in range(nc)]
        prod = [start(mpmc_producer, q, t, items,
                      nc if by == "producer" else 0) for t in range(np_)]
        join_all(prod)
        if by == "parent":
            for _ in range(nc):
                q.put(None, timeout=scale(30))
        join_all(cons)
        assert bad.value == 0
        assert list(seen) == [1] * (np_ * items), (np_, nc)
        assert sum(per_cons) == np_ * items


def put_then_exit(q, n, how):
    for i in range(n):
        q.put((0, i, b"x" * 1000))
    if how == "os._exit":
        import os
        os._exit(0)


def producer_exits_at_once():
    # A normal exit flushes the feeder thread: all 100 delivered.  (They
    # are read before the join: 100 KB do not fit in the pipe, and the
    # exiting producer waits for its feeder thread -- see EX-002-04.)
    q = ctx.Queue()
    p = start(put_then_exit, q, 100, "return")
    for i in range(100):
        assert q.get(timeout=scale(10))[1] == i
    join_all([p])
    # os._exit right after the puts.  Holding the write lock makes sure the
    # feeder thread had not written anything yet when the process ended.
    q = ctx.Queue()
    assert q._wlock.acquire(timeout=scale(10))
    p = start(put_then_exit, q, 100, "os._exit")
    join_all([p])
    q._wlock.release()
    assert q.qsize() == 100   # counted (C: 100 items there) ...
    r, _ = timed(q.get, timeout=scale(0.5))   # ... but none arrives
    assert isinstance(r, stdqueue.Empty), "an item arrived: %r" % (r,)


def put_big(q, started):
    q.put(b"y" * (1 << 20))  # far more than a pipe buffer
    started.set()
    ctx.Event().wait(scale(60))  # stays until killed


def get_one(q, out):
    out.value = len(q.get(timeout=1))


def put_small(q):
    q.put("small")


def killed_mid_put():
    q = ctx.Queue()
    started = ctx.Event()
    p = start(put_big, q, started)
    assert started.wait(scale(30))
    # Bytes are in the pipe: the feeder is blocked half-way through the
    # 1 MiB message, holding the queue's write lock.
    assert poll_until(lambda: q._reader.poll(0), scale(30))
    p.kill()
    join_all([p], expect=-9)
    out = ctx.Value("q", -1, lock=False)
    c = start(get_one, q, out)
    c.join(scale(1) + 0.5)  # its get(timeout=1) is over by then
    assert c.is_alive() and out.value == -1, \
        "get on the torn queue returned (CPython used to block forever)"
    kill_all([c])
    # Another producer's item never arrives either: the dead process still
    # holds the write lock.
    assert q._wlock.acquire(timeout=0) is False
    w = start(put_small, q)
    observe(0.3)
    assert w.is_alive()  # its feeder waits for the lock; exit waits for it
    kill_all([w])


def closer_a(q, go, a_closed):
    assert go.wait(scale(30))
    for i in range(3):
        assert q.get(timeout=scale(30)) == i
    q.close()
    raises(ValueError, q.get, timeout=0)
    a_closed.set()


def closer_b(q, a_closed):
    assert a_closed.wait(scale(30))
    q.put("still open here")
    assert q.get(timeout=scale(30)) == "still open here"


def close_per_process():
    q = ctx.Queue()
    go, a_closed = ctx.Event(), ctx.Event()
    procs = [start(closer_a, q, go, a_closed), start(closer_b, q, a_closed)]
    for i in range(3):
        q.put(i)
    q.close()
    raises(ValueError, q.put, 5, timeout=0)   # C: ECLOSED
    raises(ValueError, q.put, 5, timeout=scale(1))
    raises(ValueError, q.get, timeout=0)
    raises(ValueError, q.get, timeout=scale(1))
    q.close()                                 # C: ECLOSED; accepted here
    go.set()
    join_all(procs)
    q.join_thread()


def sq_child(s):
    assert s.get() == "from parent"
    s.put("from child")


def simple_queue():
    s = ctx.SimpleQueue()
    assert s.empty()
    s.put("from parent")
    assert not s.empty()  # SimpleQueue.put writes before returning
    join_all([start(sq_child, s)])
    assert s.get() == "from child"
    assert s.empty()
    assert not hasattr(s, "task_done") and not hasattr(s, "join")  # ENOTSUP
    s.close()
    raises(OSError, s.put, 1)  # C: ECLOSED
    raises(OSError, s.get)


REPRS = [
    (None, "None"), (True, "True"), (False, "False"), (0, "0"), (42, "42"),
    (-7, "-7"), (2 ** 63 - 1, "9223372036854775807"),
    (-2 ** 63, "-9223372036854775808"), (1.5, "1.5"), (3.0, "3.0"),
    (-0.0, "-0.0"), (0.1, "0.1"), (100.0, "100.0"),
    (123456.789, "123456.789"), (1.0 / 3.0, "0.3333333333333333"),
    (1e15, "1000000000000000.0"), (1e16, "1e+16"), (1e100, "1e+100"),
    (0.0001, "0.0001"), (1.25e-05, "1.25e-05"), (float("inf"), "inf"),
    (float("-inf"), "-inf"), (float("nan"), "nan"), ("item_3", "'item_3'"),
    ("Hello from sender", "'Hello from sender'"), ("", "''"),
    ("it's", "\"it's\""), ('say "hi"', "'say \"hi\"'"),
    ("it's \"x\"", "'it\\'s \"x\"'"), ("a\\b", "'a\\\\b'"),
    ("tab\there\nnl\rcr", "'tab\\there\\nnl\\rcr'"),
    ("\x01\x1f\x7f", "'\\x01\\x1f\\x7f'"), ("caf\u00e9", "'caf\u00e9'"),
    (b"\0", "b'\\x00'"), (b"", "b''"), (b"abc", "b'abc'"),
    (b"\xff\x80\n", "b'\\xff\\x80\\n'"), (b"it's", "b\"it's\""),
    ([1, 2, 3], "[1, 2, 3]"), ([], "[]"), ({}, "{}"), ({"a": 1}, "{'a': 1}"),
    ([None, True, 1.5, "x", b"y", [], {}],
     "[None, True, 1.5, 'x', b'y', [], {}]"),
    ([[1, [2]], {"k": [None]}], "[[1, [2]], {'k': [None]}]"),
]


END = ("end of the echo",)


def echo(q_in, q_out):
    while True:
        o = q_in.get(timeout=scale(30))
        q_out.put(o)
        if o == END:
            return


def reprs_and_types():
    # The C repr strings are exactly Python's repr of those values ...
    for value, want in REPRS:
        assert repr(value) == want, (value, repr(value), want)
    # ... and the values cross the queue keeping type and value.
    q_in, q_out = ctx.Queue(), ctx.Queue()
    p = start(echo, q_in, q_out)
    values = [v for v, _ in REPRS] + ["\ud800", "a\0b", b"a\0b"]
    for v in values:
        q_in.put(v)
    for v in values:
        got = q_out.get(timeout=scale(30))
        assert type(got) is type(v) and repr(got) == repr(v), (v, got)
    q_in.put(END)
    assert q_out.get(timeout=scale(30)) == END
    join_all([p])
    # Copies: the caller's buffer changing afterwards changes nothing.
    buf = bytearray(b"abc")
    q_in.put(bytes(buf))
    buf[0] = ord("z")
    assert q_in.get(timeout=scale(10)) == b"abc"


def main():
    items_then_none()
    sentinels_lose_nothing()
    producer_exits_at_once()
    killed_mid_put()
    close_per_process()
    simple_queue()
    reprs_and_types()


if __name__ == "__main__":
    run("EX-000-04", main)

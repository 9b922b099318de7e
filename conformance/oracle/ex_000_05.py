"""EX-000-05: a Pipe sender sends a string then a list; the receiver does
two recv calls.

Mirrors (conformance/pipe.c, conformance/obj.c):
  pipe_sender_child_string_then_list_receiver_child_two_recvs,
  pipe_recv_after_peer_closed_everywhere_data_first_then_eeof,
  pipe_duplex_both_ends_send_and_receive,
  pipe_values_of_every_type_cross_processes_unchanged,
  pipe_one_way_first_end_receives_second_sends_else_enotsup,
  pipe_empty_message_is_a_message,
  pipe_64mib_message_from_child_arrives_intact,
  pipe_message_boundaries_kept, pipe_poll_times_out_and_does_not_consume,
  pipe_poll_with_partial_message_times_out, pipe_closed_end_eclosed,
  pipe_wait_flags_each_ready_connection,
  pipe_undecodable_message_eproto_connection_stays_usable,
  pipe_announced_size_above_max_emsgsize_then_ebroken,
  pipe_truncated_message_then_peer_close_ebroken,
  pipe_blocking_calls_survive_signals, obj_scalars_keep_type_and_value,
  obj_repr_matches_python (the strings the receiver checks).
C only: pipe_recv_timeout_keeps_partial_message_for_next_call and
pipe_recv_with_short_timeouts_assembles_8mib_message (CPython's recv has no
timeout), pipe_send_above_max_emsgsize_connection_stays_usable (no message
limit), pipe_null_arguments_einval, and the codec tests of obj.c, which
test libmproc's own value type and its MessagePack encoding (pickle takes
their place in CPython): obj_copy_is_deep_and_independent,
obj_decode_every_truncation_and_extension_eproto,
obj_decode_malformed_bytes_eproto,
obj_decode_oversized_announcements_eproto_without_huge_allocation,
obj_dict_set_replaces_equal_key_and_keeps_insertion_order,
obj_encode_decode_null_arguments_einval,
obj_encode_decode_roundtrip_of_every_type, obj_encoding_is_messagepack,
obj_equal_needs_same_type_and_compares_dicts_as_mappings,
obj_list_append_keeps_order_and_takes_ownership,
obj_nesting_to_max_depth_roundtrips_deeper_einval_or_eproto,
obj_str_and_bytes_copy_the_callers_buffer,
obj_str_rejects_invalid_utf8_null_and_decode_eproto (what of them shows
through a pipe or queue -- every type crossing unchanged, copies, dict
order, surrogates -- is checked here, in ex_000_04.py and ex_002_04.py).

Errors: EOFError for C's EEOF; OSError("connection is read-only" /
"write-only") for ENOTSUP; OSError("handle is closed") for ECLOSED;
UnpicklingError for EPROTO; OSError("bad message length") for EMSGSIZE,
after which the end is closed (C: EBROKEN); OSError("got end of file during
message") for EBROKEN.

Where CPython contradicts the C tests:
- pipe_poll_with_partial_message_times_out: poll() returns True as soon as
  any byte of a message has arrived (C: it times out until recv would not
  block); a recv then blocks until the rest comes.
- pipe_truncated_message_then_peer_close_ebroken: a message cut right
  after its 4-byte length prefix gives EOFError, as if the peer had closed
  cleanly (C: EBROKEN); cut anywhere else it gives OSError ("got end of
  file during message"); and after that error the next recv gives EOFError
  (C: EBROKEN again).
- pipe_undecodable_message_eproto_connection_stays_usable: an empty message
  given to recv() raises EOFError ("Ran out of input") -- the same
  exception as a closed peer -- and a pickle followed by trailing bytes is
  accepted (C: EPROTO for both).
- pipe_closed_end_eclosed: a second close() is accepted (C: ECLOSED);
  fileno() raises (C: -1).
- poll(nan) raises ValueError (C: EINVAL), the same kind of refusal.
"""

import os
import pickle
import struct
import threading

from multiprocessing.connection import wait

from oracle_lib import (ctx, elapsed_within, join_all, raises, run, scale,
                        start, timed, wait_through_signals)


def sender(conn):
    conn.send("Hello from sender")
    conn.send([1, 2, 3])
    conn.close()


def receiver(conn):
    assert repr(conn.recv()) == "'Hello from sender'"
    assert repr(conn.recv()) == "[1, 2, 3]"
    conn.close()


def document_example():
    parent_conn, child_conn = ctx.Pipe()
    join_all([start(sender, child_conn), start(receiver, parent_conn)])
    parent_conn.close()
    child_conn.close()


def data_then_eof():
    for duplex in (True, False):
        r, w = ctx.Pipe(duplex)  # a one-way pipe's first end receives
        p = start(sender, w)
        w.close()
        join_all([p])
        assert r.poll(0)
        assert r.recv() == "Hello from sender"
        assert r.recv() == [1, 2, 3]
        assert r.poll(0)  # end of file is readable
        raises(EOFError, r.recv)
        raises(EOFError, r.recv)
        raises(EOFError, r.recv_bytes)
        assert r.poll(scale(5))
        r.close()


def duplex_both_ways():
    a, b = ctx.Pipe()
    for src, dst in ((a, b), (b, a)):
        src.send("Hello from sender")
        src.send([1, 2, 3])
        assert dst.recv() == "Hello from sender"
        assert dst.recv() == [1, 2, 3]
    a.close()
    b.close()


def echo(mine, theirs):
    theirs.close()
    while True:
        o = mine.recv()
        mine.send(o)
        if o is None:
            return


def every_type_echoed():
    theirs, mine = ctx.Pipe()
    p = start(echo, mine, theirs)
    mine.close()
    values = [0, -2 ** 63, True, -1.25, "item_3", b"\0\xff", b"",
              [1, 2, 3], {"a": 1, 2: [1, 2, 3]}, "x" * 300000, "", None]
    for v in values:
        theirs.send(v)
        assert theirs.poll(scale(30))
        got = theirs.recv()
        assert type(got) is type(v) and got == v, repr(v)[:60]
    join_all([p])
    theirs.close()


def oneway_child(r, w):
    r.close()
    raises(OSError, w.recv)
    w.send("from the child")


def one_way():
    r, w = ctx.Pipe(duplex=False)
    for call in (lambda: r.send(7), lambda: r.send_bytes(b"x")):
        assert "read-only" in str(raises(OSError, call))   # C: ENOTSUP
    for call in (w.recv, w.recv_bytes, lambda: w.poll(0)):
        assert "write-only" in str(raises(OSError, call))
    assert r.poll(0) is False
    w.send(7)
    w.send_bytes(b"raw")
    assert r.recv() == 7
    assert r.recv_bytes() == b"raw"
    p = start(oneway_child, r, w)
    w.close()
    assert r.poll(scale(30)) and r.recv() == "from the child"
    join_all([p])
    raises(EOFError, r.recv)
    r.close()


def empty_message():
    a, b = ctx.Pipe()
    msgs = [b"", b"", b"a", b"", b"bc", b""]
    assert a.poll(0) is False
    b.send_bytes(b"")
    assert a.poll(scale(5))
    for m in msgs[1:]:
        b.send_bytes(m)
    for m in msgs:
        assert a.recv_bytes() == m
    assert a.poll(0) is False
    a.close()
    b.close()


def pattern(n, seed):
    block = bytes(((i * 131) ^ (seed * 29)) & 0xFF for i in range(4096))
    return (block * (n // 4096 + 1))[:n]


def send_big(mine, theirs, size, seed):
    theirs.close()
    mine.send_bytes(pattern(size, seed))


def message_64mib():
    theirs, mine = ctx.Pipe()
    p = start(send_big, mine, theirs, 64 << 20, 5)
    mine.close()
    got = theirs.recv_bytes()
    assert len(got) == 64 << 20 and got == pattern(64 << 20, 5)
    join_all([p])
    raises(EOFError, theirs.recv_bytes)
    theirs.close()


SIZES = [1, 0, 100, 4095, 4096, 4097, 65535, 65536, 65537, 1000000, 0, 3,
         2 << 20, 7]


def send_burst(mine, theirs):
    theirs.close()
    for i, n in enumerate(SIZES):
        mine.send_bytes(pattern(n, i))
    for i in range(2000):
        mine.send_bytes(bytes([i % 256]))


def boundaries():
    theirs, mine = ctx.Pipe()
    p = start(send_burst, mine, theirs)
    mine.close()
    for i, n in enumerate(SIZES):
        assert theirs.recv_bytes() == pattern(n, i), i
    for i in range(2000):
        assert theirs.recv_bytes() == bytes([i % 256])
    join_all([p])
    raises(EOFError, theirs.recv_bytes)
    theirs.close()


def poll_timeouts():
    a, b = ctx.Pipe()
    for t in (0, -1):
        got, el = timed(a.poll, t)
        assert got is False
        elapsed_within(el, 0, scale(1))
    got, el = timed(a.poll, 0.2)
    assert got is False
    elapsed_within(el, 0.2, 0.2 + scale(2))
    raises(ValueError, a.poll, float("nan"))  # C: EINVAL
    b.send("item_0")
    assert a.poll(scale(5))
    for _ in range(3):
        assert a.poll(0)
    assert a.poll(None)
    assert a.recv() == "item_0"
    assert a.poll(0) is False
    # A message that has only partly arrived: CPython's poll says ready
    # (C: it times out while recv would block).
    msg = pattern(100, 3)
    frame = struct.pack("!i", len(msg)) + msg
    os.write(b.fileno(), frame[:-50])
    assert a.poll(0) is True                    # C: EAGAIN
    got = []
    th = threading.Thread(target=lambda: got.append(a.recv_bytes()))
    th.start()
    th.join(0.2)
    assert th.is_alive() and not got            # recv waits for the rest
    os.write(b.fileno(), frame[-50:])
    th.join(scale(10))
    assert got == [msg]
    a.close()
    b.close()


def closed_end():
    a, b = ctx.Pipe()
    a.close()
    a.close()  # C: ECLOSED
    for call in (lambda: a.send(None), lambda: a.send_bytes(b"x"), a.recv,
                 a.recv_bytes, lambda: a.poll(0), a.fileno,
                 lambda: wait([a, b], 0)):
        assert "closed" in str(raises(OSError, call))
    raises(EOFError, b.recv)
    b.close()


def send_late(w, go):
    assert go.acquire(timeout=scale(30))
    w.send("late")


def wait_flags():
    pipes = [ctx.Pipe(duplex=(i != 2)) for i in range(3)]
    r = [p[0] for p in pipes]
    w = [p[1] for p in pipes]
    assert wait(r, 0) == []
    got, el = timed(wait, r, 0.2)
    assert got == []
    elapsed_within(el, 0.2, 0.2 + scale(2))
    w[1].send(1)
    w[2].send(1)
    assert set(wait(r, scale(5))) == {r[1], r[2]}
    assert set(wait(r, 0)) == {r[1], r[2]}  # nothing consumed
    r[1].recv()
    r[2].recv()
    assert wait(r, 0) == []
    go = ctx.Semaphore(0)
    p = start(send_late, w[0], go)
    go.release()
    assert wait(r, scale(30)) == [r[0]]
    assert r[0].recv() == "late"
    join_all([p])
    w[2].close()
    assert wait(r, scale(5)) == [r[2]]  # end of file counts as readable
    raises(EOFError, r[2].recv)
    for c in r + w:
        c.close()


def undecodable():
    a, b = ctx.Pipe()
    for bad in (b"\xc1", b"garbage", pickle.dumps([1, 2, 3])[:-3]):
        b.send_bytes(bad)
        raises(pickle.UnpicklingError, a.recv)   # C: EPROTO
        b.send("good")
        assert a.recv() == "good"                # the end stays usable
    b.send_bytes(b"")
    raises(EOFError, a.recv)   # an empty message looks like end of file
    b.send_bytes(pickle.dumps(1) + b"trailing")
    assert a.recv() == 1       # trailing bytes are ignored (C: EPROTO)
    b.send("good")
    assert a.recv() == "good"
    a.close()
    b.close()


def announced_too_big():
    a, b = ctx.Pipe()
    b.send_bytes(b"z" * 2048)
    e = raises(OSError, a.recv_bytes, 1024)      # C: EMSGSIZE
    assert "bad message length" in str(e)
    raises(OSError, a.recv_bytes)                # then closed (C: EBROKEN)
    b.close()


def truncated():
    msg = pattern(40, 4)
    frame = struct.pack("!i", len(msg)) + msg
    for cut in range(1, len(frame)):
        a, b = ctx.Pipe()
        os.write(b.fileno(), frame[:cut])
        b.close()
        if cut == 4:
            # The whole length prefix and none of the body: CPython reports
            # a clean end of file (C: EBROKEN, not EEOF).
            raises(EOFError, a.recv_bytes)
        else:
            e = raises(OSError, a.recv_bytes)
            assert "end of file during message" in str(e), (cut, e)
        raises(EOFError, a.recv)                 # C: EBROKEN again
        a.close()


def signals():
    a, b = ctx.Pipe()
    got = wait_through_signals(lambda: a.recv(), lambda: b.send("value"), 3)
    assert got == "value"
    assert wait_through_signals(lambda: a.poll(scale(30)),
                                lambda: b.send("polled"), 3)
    assert a.recv() == "polled"
    big = pattern(8 << 20, 7)

    def take_big():
        assert b.recv_bytes() == big

    wait_through_signals(lambda: a.send_bytes(big), take_big, 3)
    a.close()
    b.close()


def main():
    document_example()
    data_then_eof()
    duplex_both_ways()
    every_type_echoed()
    one_way()
    empty_message()
    message_64mib()
    boundaries()
    poll_timeouts()
    closed_end()
    wait_flags()
    undecodable()
    announced_too_big()
    truncated()
    signals()


if __name__ == "__main__":
    run("EX-000-05", main)

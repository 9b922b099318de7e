"""EX-003-05: a Pipe receiver looping until EOFError hangs (as EX-002-05,
with the ends swapped: the first end sends).

Mirrors (conformance/pipe.c):
  pipe_receiver_waiting_for_eof_blocks_while_a_sender_copy_is_open and
  pipe_receiver_gets_eeof_once_every_sender_copy_is_closed (the swapped
  scenarios), pipe_recv_after_peer_closed_everywhere_data_first_then_eeof.
Also cited by EX-003-05 and checked in ex_002_05.py:
pipe_peer_killed_gives_eeof_or_ebroken_never_a_hang,
pipe_send_to_closed_peer_eeof_without_sigpipe.

Also runs the document's code as written and asserts its hang, bounded:
the receiver got 0..4 and is still blocked in recv() half a (scaled)
second later (both systems hang here; C shows it with a recv timeout too).
"""

from oracle_lib import ctx, join_all, kill_all, observe, raises, run, start
from pipe_eof import FIXED, HANGING, run_eof_scenario


def sender(conn):
    for i in range(5):
        conn.send(i)
    conn.close()


def receiver(conn, got):
    while True:
        try:
            got[conn.recv()] = 1
        except EOFError:
            got[5] = 1  # "pipe closed": never reached as written
            break


def document_as_written():
    parent_conn, child_conn = ctx.Pipe()
    got = ctx.Array("q", 6, lock=False)
    p1 = start(sender, parent_conn)
    p2 = start(receiver, child_conn, got)
    join_all([p1])
    observe(0.5)
    p2.join(0)
    assert p2.is_alive(), "the receiver ended; CPython used to hang here"
    assert list(got) == [1, 1, 1, 1, 1, 0]
    kill_all([p2])
    parent_conn.close()
    child_conn.close()


def data_then_eof_first_end_sends():
    a, b = ctx.Pipe()
    p = start(sender, a)
    a.close()
    join_all([p])
    assert [b.recv() for _ in range(5)] == [0, 1, 2, 3, 4]
    raises(EOFError, b.recv)
    raises(EOFError, b.recv)
    b.close()


def main():
    for scenario in HANGING + FIXED:
        if scenario[3]:
            run_eof_scenario(*scenario)
    document_as_written()
    data_then_eof_first_end_sends()


if __name__ == "__main__":
    run("EX-003-05", main)

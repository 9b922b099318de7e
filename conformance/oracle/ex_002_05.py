"""EX-002-05: a Pipe receiver looping until EOFError hangs: the parent and
the receiver itself still hold copies of the sending end.

Mirrors (conformance/pipe.c):
  pipe_receiver_waiting_for_eof_blocks_while_a_sender_copy_is_open and
  pipe_receiver_gets_eeof_once_every_sender_copy_is_closed (the scenarios
  where the second end sends; EX-003-05's swapped ones are in
  ex_003_05.py), pipe_peer_killed_gives_eeof_or_ebroken_never_a_hang,
  pipe_send_to_closed_peer_eeof_without_sigpipe.
Also cited by EX-002-05 and checked in ex_000_05.py:
pipe_recv_after_peer_closed_everywhere_data_first_then_eeof,
pipe_message_boundaries_kept, pipe_truncated_message_then_peer_close_ebroken,
pipe_values_of_every_type_cross_processes_unchanged,
pipe_blocking_calls_survive_signals.

Both systems hang here (the documents' erratum): the receiver's wait for
end of file is bounded by poll(timeout) and the timeout is asserted, as the
C test bounds it with a recv timeout (ETIMEDOUT).

Where CPython differs: sending to a peer closed everywhere raises
BrokenPipeError (C: EEOF) because the interpreter ignores SIGPIPE; a
sender that restores the default SIGPIPE action is killed by the signal
(exit code -13), while libmproc's send gives EEOF with SIGPIPE at its
default action.  A peer killed inside a message gives OSError ("got end of
file during message"; C: EBROKEN); killed between messages, EOFError (C:
EEOF).
"""

import errno
import os
import signal
import struct

from oracle_lib import ctx, join_all, raises, run, scale, start
from pipe_eof import FIXED, HANGING, run_eof_scenario


def victim(mine, theirs, point, partial, ready):
    theirs.close()
    for i in range(3):
        mine.send(i)
    if point == "mid message":
        os.write(mine.fileno(), partial)
    if point == "blocked send":
        ready.set()
        mine.send_bytes(bytes(64 << 20))  # killed in here
        return
    ready.set()
    mine.recv()  # blocks until killed: nobody sends to it


def peer_killed():
    msg = bytes(range(64))
    frame = struct.pack("!i", len(msg)) + msg
    for point in ("between messages", "mid message", "blocked send"):
        theirs, mine = ctx.Pipe()
        ready = ctx.Event()
        p = start(victim, mine, theirs, point, frame[:-10], ready)
        mine.close()
        for k in range(3):
            assert theirs.poll(scale(30)) and theirs.recv() == k
        assert ready.wait(scale(30))
        p.kill()
        join_all([p], expect=-9)
        assert theirs.poll(scale(10))  # never a hang
        if point == "between messages":
            raises(EOFError, theirs.recv)                   # C: EEOF
        elif point == "mid message":
            e = raises(OSError, theirs.recv)                # C: EBROKEN
            assert "end of file during message" in str(e)
        else:
            raises((OSError, EOFError), theirs.recv)        # C: either
        theirs.close()


def read_one_then_close(mine, theirs):
    theirs.close()
    mine.recv_bytes()
    mine.close()


def send_with_default_sigpipe(mine):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    mine.send("anyone there?")  # killed by SIGPIPE here (C: EEOF)
    os._exit(0)


def send_to_closed_peer():
    big = bytes(8 << 20)
    for duplex in (True, False):
        a, b = ctx.Pipe(duplex)
        a.close()  # a one-way pipe's receiving end
        raises(BrokenPipeError, b.send, 5)              # C: EEOF
        raises(BrokenPipeError, b.send_bytes, b"")
        raises(BrokenPipeError, b.send_bytes, big)
        p = start(send_with_default_sigpipe, b)
        join_all([p], expect=-signal.SIGPIPE)           # C: exits 0
        b.close()
    a, b = ctx.Pipe()
    p = start(read_one_then_close, b, a)
    b.close()
    a.send_bytes(b"first")
    # Blocks until the child has closed, then fails.
    e = raises(OSError, a.send_bytes, big)
    assert e.errno in (errno.EPIPE, errno.ECONNRESET), e
    raises(OSError, a.send, 5)
    join_all([p])
    a.close()


def main():
    for scenario in HANGING:
        if not scenario[3]:
            run_eof_scenario(*scenario)
    for scenario in FIXED:
        if not scenario[3]:
            run_eof_scenario(*scenario)
    peer_killed()
    send_to_closed_peer()


if __name__ == "__main__":
    run("EX-002-05", main)

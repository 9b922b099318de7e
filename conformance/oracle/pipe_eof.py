"""The EX-002-05 / EX-003-05 scenarios shared by ex_002_05.py and
ex_003_05.py (conformance/pipe.c, run_eof_scenario): a sender process sends
five ints and closes its end; a receiver process loops until end of file.
End of file comes only once every copy of the sending end is closed; while
one is open the receiver blocks -- the documents' hang, bounded here by
poll(timeout) so that it shows up as a timeout (C: ETIMEDOUT)."""

from oracle_lib import ctx, join_all, scale, start

EOF_, TIMEOUT = 1, 2


def eof_sender(ends, swapped):
    send_end = ends[0] if swapped else ends[1]
    for i in range(5):
        send_end.send(i)
    send_end.close()


def eof_receiver(ends, swapped, closes_inherited, parent_done, got,
                 last_timeout):
    send_end, recv_end = (ends[0], ends[1]) if swapped else (ends[1], ends[0])
    if closes_inherited:
        send_end.close()
    assert parent_done.acquire(timeout=scale(30))
    while True:
        if not recv_end.poll(scale(30) if got[0] < 5 else last_timeout):
            got[1] = TIMEOUT
            return
        try:
            v = recv_end.recv()
        except EOFError:
            got[1] = EOF_
            return
        assert v == got[0], (v, got[0])
        got[0] += 1


def run_eof_scenario(label, parent, receiver_closes_inherited, swapped):
    """parent: "keeps", "closes after" or "closes before" (its copy of the
    sending end, relative to starting the receiver)."""
    eof_expected = parent != "keeps" and (parent == "closes before" or
                                          receiver_closes_inherited)
    last_timeout = scale(10) if eof_expected else 0.3
    got = ctx.Array("q", 2, lock=False)
    parent_done = ctx.Semaphore(0)
    ends = ctx.Pipe()
    send_end = ends[0] if swapped else ends[1]
    procs = [start(eof_sender, ends, swapped)]
    if parent == "closes before":
        send_end.close()
    procs.append(start(eof_receiver, ends, swapped, receiver_closes_inherited,
                       parent_done, got, last_timeout))
    if parent == "closes after":
        send_end.close()
    parent_done.release()
    join_all(procs)
    assert got[0] == 5, "%s: the receiver got %d of 5 items" % (label, got[0])
    want = EOF_ if eof_expected else TIMEOUT
    assert got[1] == want, "%s: after the 5 items: %s, expected %s" % (
        label, {EOF_: "EOFError", TIMEOUT: "timeout"}.get(got[1], got[1]),
        "EOFError" if eof_expected else "timeout (the documents' hang)")
    for end in ends:
        end.close()


HANGING = [
    ("EX-002-05 as written: parent and receiver keep copies", "keeps", False,
     False),
    ("EX-003-05 as written (first end sends)", "keeps", False, True),
    ("parent closes after starting the receiver, receiver keeps its copy",
     "closes after", False, False),
    ("receiver closes its copy, parent keeps its own", "keeps", True, False),
    ("first end sends, receiver closes its copy, parent keeps its own",
     "keeps", True, True),
]

FIXED = [
    ("parent closes before starting the receiver", "closes before", False,
     False),
    ("first end sends, parent closes before starting the receiver",
     "closes before", False, True),
    ("receiver closes its inherited copy, parent closes after start",
     "closes after", True, False),
    ("first end sends, receiver and parent close their copies",
     "closes after", True, True),
]

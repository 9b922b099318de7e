"""EX-000-01: four Process workers see their own pid and the parent's pid.

Mirrors (conformance/process.c):
  process_four_workers_see_own_pid_and_parent_pid,
  process_main_process_is_named_mainprocess,
  process_default_names_count_per_parent,
  process_unstarted_object_rejects_join_and_signals_estate,
  process_start_twice_estate,
  process_join_timeout_leaves_child_running,
  process_is_alive_false_before_start_and_after_exit,
  process_join_reaps_child_no_zombie,
  process_exitcode_is_return_value_exit_status_or_minus_signal,
  process_kill_gives_minus_9_terminate_minus_15,
  process_close_running_estate_closed_object_eclosed,
  process_closed_object_can_be_initialised_again,
  process_only_starter_may_join_or_signal_estate,
  process_start_while_thread_uses_library_no_deadlock,
  process_join_survives_signals,
  process_join_without_limit_waits_for_the_child.
C only (no Python counterpart): process_init_rejects_bad_options_einval,
process_null_object_einval.

Where CPython differs from the C contract (asserted here as CPython does it):
- A target's return value is not the exit code: CPython ignores it (exit
  code 0); sys.exit(n) / os._exit(n) give n.  In C the target returns the
  exit code.
- A process that did not start a child cannot join it (AssertionError, like
  C's ESTATE), but CPython lets it terminate()/kill() the child through the
  inherited object (C: ESTATE, the child keeps running).
- Wrong-state errors are AssertionError (join/start), AttributeError
  (terminate/kill before start) or ValueError (close while running, any use
  after close); a second close() is silently accepted (C: ECLOSED).
- mproc_parent_pid() in the main process is getppid(); CPython's
  parent_process() there is None.
- process_join_without_limit_waits_for_the_child: join() without a limit
  waits as in C, but a finite limit too long for one poll (1e8 s) raises
  OverflowError ("timeout is too large") at once (C: waits for the child).
"""

import os
import signal
import sys
import threading

from multiprocessing.connection import wait

from oracle_lib import (ctx, elapsed_within, join_all, poll_until, raises,
                        run, scale, start, timed, wait_through_signals)


def report_pids(i, slots):
    slots[4 * i + 0] = os.getpid()
    slots[4 * i + 1] = ctx.current_process().pid
    slots[4 * i + 2] = os.getppid()
    slots[4 * i + 3] = ctx.parent_process().pid


def four_workers_pids():
    slots = ctx.Array("q", 16, lock=False)
    procs = [start(report_pids, i, slots) for i in range(4)]
    pids = [p.pid for p in procs]
    join_all(procs)
    for i in range(4):
        assert pids[i] > 0
        assert slots[4 * i] == pids[i] and slots[4 * i + 1] == pids[i]
        assert slots[4 * i + 2] == os.getpid()
        assert slots[4 * i + 3] == os.getpid()
    assert len(set(pids)) == 4


def main_process_name():
    me = ctx.current_process()
    assert me.name == "MainProcess"
    assert me.pid == os.getpid()
    assert ctx.parent_process() is None  # C: mproc_parent_pid() == getppid()


def check_own_name(expected, out, slot):
    assert ctx.current_process().name == expected, ctx.current_process().name
    out[slot] = os.getpid()


def name_grandchildren(out):
    me = ctx.current_process().name
    kids = [ctx.Process(target=check_own_name,
                        args=("%s:%d" % (me, i + 1), out, 1 + i))
            for i in range(2)]
    for i, k in enumerate(kids):
        assert k.name == "%s:%d" % (me, i + 1), k.name
        k.start()
    for k in kids:
        k.join(scale(30))
        assert k.exitcode == 0


def default_names():
    out = ctx.Array("q", 3, lock=False)
    p = [ctx.Process(target=name_grandchildren, args=(out,)) for _ in range(2)]
    n = [int(x.name.split("-", 1)[1]) for x in p]
    assert p[0].name == "Process-%d" % n[0] and n[0] >= 1
    assert n[1] == n[0] + 1
    name0 = p[0].name
    p[0].start()
    start_name = p[0].name
    join_all([p[0]])
    assert start_name == name0  # starting does not rename
    assert out[1] > 0 and out[2] > 0
    p[1].close()  # never started: closing it is allowed


def wait_for_event(ev):
    assert ev.wait(scale(60))


def unstarted_object():
    p = ctx.Process(target=wait_for_event, args=(ctx.Event(),))
    assert not p.is_alive()
    assert p.pid is None  # C: pid 0
    raises(AssertionError, p.join, 0)
    raises(AssertionError, p.join)
    assert p.exitcode is None  # C: ESTATE, code untouched
    raises(AttributeError, p.terminate)  # C: ESTATE
    raises(AttributeError, p.kill)
    p.close()


def start_twice():
    go = ctx.Event()
    p = start(wait_for_event, go)
    e = raises(AssertionError, p.start)
    assert "twice" in str(e)
    go.set()
    join_all([p])
    raises(AssertionError, p.start)


def join_timeouts():
    go = ctx.Event()
    p = start(wait_for_event, go)
    for t in (0, -1, -1e-9, 0.1):
        r, el = timed(p.join, t)
        assert r is None  # CPython's join never reports a timeout
        if t > 0:
            elapsed_within(el, t, t + scale(2), "join(%r)" % t)
        else:
            elapsed_within(el, 0, scale(1), "join(%r)" % t)
        assert p.is_alive(), "not alive after join(%r)" % t
        assert p.exitcode is None  # C: ESTATE while it runs
    raises(ValueError, p.join, float("nan"))  # C: EINVAL
    assert p.is_alive()
    go.set()
    p.join(scale(30))
    assert not p.is_alive() and p.exitcode == 0


def is_alive_and_reaping():
    go = ctx.Event()
    p = ctx.Process(target=wait_for_event, args=(go,))
    assert not p.is_alive()
    p.start()
    assert p.is_alive()
    go.set()
    # Wait for the end without join: the sentinel becomes readable (as the
    # child closes its descriptors, a moment before it can be reaped).
    assert wait([p.sentinel], scale(30)) == [p.sentinel]
    assert poll_until(lambda: not p.is_alive(), scale(10))  # reaps it
    r, el = timed(p.join, scale(30))
    elapsed_within(el, 0, scale(1), "join after the end")
    raises(ChildProcessError, os.waitpid, p.pid, os.WNOHANG)
    # join reaps: no zombie, nothing to wait for, the pid still reported.
    q = start(int)
    pid = q.pid
    q.join(scale(30))
    assert q.pid == pid
    raises(ChildProcessError, os.waitpid, pid, os.WNOHANG)
    raises(ProcessLookupError, os.kill, pid, 0)


def end_as_told(how, value):
    if how == "return":
        return value
    if how == "sys.exit":
        sys.exit(value)
    if how == "os._exit":
        os._exit(value)
    if how == "raise":
        raise ValueError("boom")
    signal.signal(value, signal.SIG_DFL)
    os.kill(os.getpid(), value)
    return 100


EXIT_CASES = [
    ("return", 0, 0),
    ("return", 7, 0),    # C: 7 -- CPython ignores the target's return value
    ("return", 255, 0),  # C: 255
    ("sys.exit", 3, 3),
    ("sys.exit", 0, 0),
    ("os._exit", 5, 5),
    ("raise", None, 1),
    ("signal", signal.SIGUSR2, -signal.SIGUSR2),
    ("signal", signal.SIGINT, -signal.SIGINT),
]


def exit_codes():
    # The traceback of the "raise" case goes to stderr; keep the run quiet.
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        for how, value, expect in EXIT_CASES:
            p = start(end_as_told, how, value)
            p.join(scale(30))
            assert p.exitcode == expect, \
                "%s(%r): exitcode %r, expected %r" % (how, value, p.exitcode,
                                                      expect)
            p.close()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def kill_and_terminate():
    for send, expect in (("kill", -9), ("terminate", -15)):
        never = ctx.Event()
        p = start(wait_for_event, never)
        assert p.exitcode is None
        getattr(p, send)()
        p.join(scale(30))
        assert p.exitcode == expect, (send, p.exitcode)
        p.kill()  # signalling an ended child does nothing
        p.terminate()
        assert p.exitcode == expect
        p.close()


def close_rules():
    go = ctx.Event()
    p = start(wait_for_event, go)
    raises(ValueError, p.close)  # C: ESTATE
    assert p.is_alive() and p.pid > 0
    go.set()
    p.join(scale(30))
    assert p.exitcode == 0
    p.close()
    for call in (p.start, lambda: p.join(0), lambda: p.exitcode,
                 p.terminate, p.kill, p.is_alive, lambda: p.pid):
        raises(ValueError, call)  # C: ECLOSED
    p.close()  # C: ECLOSED; CPython accepts a second close
    for _ in range(2):  # the C test re-initialises the same storage
        q = start(int)
        join_all([q])
        q.close()


def poke_sibling(a):
    raises(AssertionError, a.join, 0)       # C: ESTATE
    raises(AssertionError, a.join, 0.05)
    assert a.exitcode is None               # C: ESTATE
    a.terminate()                           # C: ESTATE; CPython signals it


def only_starter():
    go = ctx.Event()
    a = start(wait_for_event, go)
    b = start(poke_sibling, a)
    join_all([b])
    a.join(scale(30))
    # Difference: the sibling's terminate() went through.
    assert a.exitcode == -signal.SIGTERM, a.exitcode


def churn_once():
    lk = ctx.Lock()
    assert lk.acquire(timeout=scale(10))
    lk.release()
    v = ctx.Value("i")
    v.value = 42
    e = ctx.Event()
    e.set()
    s = ctx.Semaphore(1)
    assert s.acquire(False)
    s.release()
    ctx.Process(target=int).close()


def threads_and_fork():
    stop = threading.Event()
    errors = []

    def churn():
        while not stop.is_set():
            try:
                churn_once()
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    th = threading.Thread(target=churn)
    th.start()
    try:
        for _ in range(10):  # C: 20 rounds; 10 keep the run short
            p = start(churn_once)
            join_all([p], timeout=scale(30))
            p.close()
    finally:
        stop.set()
        th.join(scale(30))
    assert not th.is_alive() and not errors, errors


def join_through_signals():
    go = ctx.Event()
    p = start(wait_for_event, go)
    wait_through_signals(lambda: p.join(scale(30)), go.set, 3)
    assert p.exitcode == 0


def set_after_a_moment(ev):
    assert not ctx.Event().wait(0.1)  # a moment, so that join blocks
    ev.set()


def wait_then_exit_3(ev):
    assert ev.wait(scale(60))
    sys.exit(3)


def join_without_limit():
    go = ctx.Event()
    child = start(wait_then_exit_3, go)
    helper = start(set_after_a_moment, go)
    child.join()
    assert not child.is_alive() and child.exitcode == 3
    r, el = timed(child.join)  # again: at once
    elapsed_within(el, 0, scale(1))
    join_all([helper])
    go = ctx.Event()
    child = start(wait_then_exit_3, go)
    e = raises(OverflowError, child.join, 1e8)  # C: waits for the child
    assert "too large" in str(e)
    assert child.is_alive()
    go.set()
    child.join(scale(30))
    assert child.exitcode == 3


def main():
    four_workers_pids()
    main_process_name()
    default_names()
    unstarted_object()
    start_twice()
    join_timeouts()
    is_alive_and_reaping()
    exit_codes()
    kill_and_terminate()
    close_rules()
    only_starter()
    threads_and_fork()
    join_through_signals()
    join_without_limit()


if __name__ == "__main__":
    run("EX-000-01", main)

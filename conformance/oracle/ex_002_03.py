"""EX-002-03: a daemon child in an endless loop ends with its parent.

Mirrors (conformance/process.c):
  process_set_daemon_only_before_start,
  process_daemon_cannot_start_children_estate,
  process_daemon_dies_when_its_parent_ends.

Deliberate difference (docs/examples.md, "Deliberate differences"): CPython
ends daemonic children from an exit handler (multiprocessing.util.
_exit_function), so a daemon is gone after its parent returns or calls
sys.exit (the C cases "returns" and "exit"), but it survives a parent
killed with SIGKILL (re-parented; here to this script, a child subreaper),
and also a parent that leaves with os._exit.  libmproc's daemons die with
their parent in every case.  A consequence seen here: the surviving daemon
holds an inherited copy of its parent's sentinel pipe, so CPython's
join(timeout) of that ended parent runs to its timeout (C: join returns
at once).  This script asserts CPython's side: the orphaned daemon is
still running half a (scaled) second later; the script then kills it
itself.
"""

import os
import subprocess
import sys

from oracle_lib import (ctx, elapsed_within, join_all, poll_until, raises,
                        run, scale, set_subreaper, start, timed,
                        wait_pid_gone)


def wait_for_event(ev):
    ev.wait(scale(60))


def set_daemon_before_start():
    p = ctx.Process(target=int)
    assert not p.daemon
    p.daemon = True
    assert p.daemon
    p.daemon = False
    assert not p.daemon
    p.start()
    e = raises(AssertionError, setattr, p, "daemon", True)  # C: ESTATE
    assert "already started" in str(e)
    assert not p.daemon
    join_all([p])
    q = ctx.Process(target=int, daemon=True)
    assert q.daemon
    q.close()


def try_to_start_child():
    q = ctx.Process(target=int)
    e = raises(AssertionError, q.start)  # C: ESTATE
    assert "daemonic processes are not allowed to have children" in str(e)
    q.close()


def daemon_no_children():
    p = start(try_to_start_child, daemon=True)
    join_all([p])


def start_daemon_then_end(how, ready, never, gpid):
    d = ctx.Process(target=wait_for_event, args=(never,), daemon=True)
    d.start()
    gpid.value = d.pid
    ready.set()
    if how == "returns":
        return
    if how == "sys.exit":
        sys.exit(0)
    if how == "os._exit":
        os._exit(0)
    never.wait(scale(60))  # "killed": waits to be killed


# (how the intermediate parent ends, its exit code, the daemon is gone)
CASES = [
    ("returns", 0, True),
    ("sys.exit", 0, True),
    ("os._exit", 0, False),    # no exit handler runs
    ("killed", -9, False),     # C: gone -- the deliberate difference
]


def daemon_dies_with_parent():
    set_subreaper()
    for how, code, gone in CASES:
        ready, never = ctx.Event(), ctx.Event()
        gpid = ctx.Value("q", 0)
        p = start(start_daemon_then_end, how, ready, never, gpid)
        assert ready.wait(scale(30))
        if how == "killed":
            p.kill()
        pid = gpid.value
        if gone:
            p.join(scale(30))
        else:
            # The orphaned daemon inherited the write end of the parent's
            # sentinel pipe, which join() waits on: CPython's join cannot
            # see the end of a parent whose daemon survives.  It returns
            # only at its timeout; the exit status is there (waitpid).
            r, el = timed(p.join, scale(0.5))
            elapsed_within(el, scale(0.5), scale(0.5) + scale(2),
                           "%s: join of the ended parent" % how)
            assert poll_until(lambda: p.exitcode is not None, scale(30))
        assert p.exitcode == code, (how, p.exitcode)
        assert pid > 0
        if gone:
            assert wait_pid_gone(pid, scale(10)), \
                "%s: daemon %d still running" % (how, pid)
        else:
            assert not wait_pid_gone(pid, scale(0.5)), \
                "%s: the daemon ended, CPython used to leave it" % how
            os.kill(pid, 9)  # clean up the orphan ourselves
            assert wait_pid_gone(pid, scale(10))
        p.close()


MAIN = r"""
import multiprocessing, sys, time
multiprocessing.set_start_method("fork", force=True)
def daemon_task():
    while True:
        time.sleep(0.1)
d = multiprocessing.Process(target=daemon_task, daemon=True)
d.start()
print(d.pid, flush=True)
if sys.argv[1] == "wait":
    time.sleep(60)
"""


def main_process_exits():
    # The document's form: the main process itself exits normally.
    r = subprocess.run([sys.executable, "-c", MAIN, "exit"],
                       stdout=subprocess.PIPE, timeout=scale(30))
    assert r.returncode == 0
    assert wait_pid_gone(int(r.stdout), scale(10))
    # The main process killed with SIGKILL: its daemon stays (re-parented).
    m = subprocess.Popen([sys.executable, "-c", MAIN, "wait"],
                         stdout=subprocess.PIPE)
    try:
        pid = int(m.stdout.readline())
    finally:
        m.kill()
        m.wait(scale(30))
        m.stdout.close()
    assert not wait_pid_gone(pid, scale(0.5))
    os.kill(pid, 9)
    assert wait_pid_gone(pid, scale(10))


def main():
    set_daemon_before_start()
    daemon_no_children()
    daemon_dies_with_parent()
    main_process_exits()


if __name__ == "__main__":
    run("EX-002-03", main)

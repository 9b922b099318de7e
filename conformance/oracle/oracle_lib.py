"""Helpers shared by the oracle scripts (conformance/oracle/ex_*.py).

The oracle runs the catalogue's scenarios (docs/examples.md) against
CPython's multiprocessing with the fork start method and asserts what the C
conformance tests assert, so that those expectations are checked against the
documented system.  These helpers mirror conformance/harness.c: every time
bound goes through scale(), a child reports a failure by raising (exit code
1 plus its traceback on stderr), waits are bounded, and no process outlives
the script.
"""

import atexit
import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time

# The documents use the module's own classes (default names "Process-N"),
# with fork, the Linux default of CPython 3.11; made explicit here.
multiprocessing.set_start_method("fork", force=True)
ctx = multiprocessing
SCALE = float(os.environ.get("MPROC_TIME_SCALE", "1"))
now = time.monotonic
_main_pid = os.getpid()
_started = []


def scale(seconds):
    """Every upper time bound goes through here (MPROC_TIME_SCALE)."""
    return seconds * SCALE


def track(p):
    """Registers a process (started by other means) for the final clean-up."""
    _started.append(p)
    return p


def start(target, *args, name=None, daemon=None, kwargs=None):
    """Starts target(*args, **kwargs) in a new process (fork)."""
    p = ctx.Process(target=target, args=args, kwargs=kwargs or {}, name=name,
                    daemon=daemon)
    p.start()
    return track(p)


def kill_all(procs):
    for p in procs:
        try:
            if p.is_alive():
                p.kill()
            p.join(scale(10))
        except ValueError:  # already closed
            pass


def join_all(procs, expect=0, timeout=None):
    """Joins every process within one bounded time and requires each exit
    code to be `expect`; on a failure kills and reaps them all first."""
    procs = list(procs)
    deadline = now() + (scale(40) if timeout is None else timeout)
    for p in procs:
        p.join(max(0.0, deadline - now()))
    bad = [(p.name, p.exitcode) for p in procs if p.exitcode != expect]
    if bad:
        kill_all(procs)
        raise AssertionError("exit codes %r, expected %r (a child's traceback "
                             "is on stderr)" % (bad, expect))


def observe(seconds):
    """Observation window: a bounded wait on an event nobody sets, so that
    other processes get the chance to do what they must not do."""
    assert not threading.Event().wait(scale(seconds))


def poll_until(pred, timeout):
    """Polls pred() every millisecond until it holds or `timeout` passes,
    for states that have no wait of their own (n_waiting, /proc state)."""
    deadline = now() + timeout
    while True:
        if pred():
            return True
        if now() >= deadline:
            return pred()
        time.sleep(0.001)


def elapsed_within(elapsed, lo, hi, what="the call"):
    # 2 ms of slack below: CPython's SemLock sleeps against CLOCK_REALTIME.
    assert lo - 0.002 <= elapsed <= hi, \
        "%s took %.6fs, expected between %.6fs and %.6fs" % (what, elapsed,
                                                            lo, hi)


def timed(fn, *args, **kwargs):
    """Returns (result or raised exception, seconds taken)."""
    t0 = now()
    try:
        r = fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the caller checks the kind
        r = e
    return r, now() - t0


def raises(exc, fn, *args, **kwargs):
    """Calls fn and requires it to raise `exc`; returns the exception."""
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn),
                                                  exc))


def set_subreaper():
    """Makes this process a child subreaper (Linux), so that orphaned
    grandchildren are re-parented to it and can be waited for."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_pid_gone(pid, timeout):
    """Waits up to `timeout` for `pid` to end, reaping it if it is our child
    (orphans are, under set_subreaper); True when it no longer runs."""
    deadline = now() + timeout
    try:
        pfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        while True:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not pid_alive(pid):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                return True
            left = deadline - now()
            if left <= 0:
                return False
            select.select([pfd], [], [], min(left, 0.1))
    finally:
        os.close(pfd)


def _thread_state(pid, tid):
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


_SYS_TGKILL = {"x86_64": 234, "aarch64": 131, "i686": 270, "i386": 270}


def _tgkill(pid, tid, sig):
    """Sends sig to one thread of another process (the waiting main thread:
    a process-directed signal could be taken by another thread)."""
    nr = _SYS_TGKILL.get(os.uname().machine)
    if nr is None:
        os.kill(pid, sig)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.syscall(nr, pid, tid, sig)
    assert rc == 0, os.strerror(ctypes.get_errno())


def wait_through_signals(wait_fn, wake_fn, signals=3):
    """Checks that a blocking call survives signals, like the C harness's
    mpt_wait_through_signals: installs a SIGUSR1 handler (Python installs it
    without SA_RESTART), starts a helper process that waits until this
    process sleeps inside wait_fn(), sends SIGUSR1 `signals` times (each
    once the previous one was handled and the waiter sleeps again), then
    marks the wake-up and calls wake_fn(), which must make wait_fn return.
    Returns wait_fn()'s result."""
    st = ctx.Array("q", 3, lock=False)  # entering, handled, woken
    pid = os.getpid()
    tid = threading.get_native_id()

    def on_usr1(signum, frame):
        st[1] += 1

    def helper():
        assert poll_until(lambda: st[0] == 1, scale(10))
        for i in range(signals):
            poll_until(lambda: _thread_state(pid, tid) == "S", scale(2))
            assert st[1] == i, "handled %d, expected %d" % (st[1], i)
            _tgkill(pid, tid, signal.SIGUSR1)
            assert poll_until(lambda: st[1] == i + 1, scale(10)), \
                "signal %d was not handled" % (i + 1)
        poll_until(lambda: _thread_state(pid, tid) == "S", scale(2))
        st[2] = 1
        wake_fn()

    old = signal.signal(signal.SIGUSR1, on_usr1)
    try:
        h = start(helper)
        st[0] = 1
        rc = wait_fn()
        woken = st[2]
        if not woken:
            h.kill()
        h.join(scale(30))
        if h.is_alive():
            h.kill()
            h.join(scale(10))
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert woken, "the wait returned %r before the wake-up, after %d of %d " \
                  "signals" % (rc, st[1], signals)
    assert h.exitcode == 0, "signal helper failed (exit code %r)" % h.exitcode
    assert st[1] == signals, "%d of %d signals handled" % (st[1], signals)
    return rc


def _cleanup():
    if os.getpid() != _main_pid:
        return
    kill_all(_started)


atexit.register(_cleanup)


def run(ids, main, hard_exit=False):
    """Runs main() in the script's process, requires that every process it
    started has been reaped, and prints the PASS line.

    hard_exit: for a script that leaves CPython machinery stuck on purpose
    (a thread blocked forever, which the interpreter would join at exit):
    after the PASS line, the script's children are killed and reaped and
    the process leaves with os._exit(0)."""
    main()
    left = [p for p in ctx.active_children()]
    if left and not hard_exit:
        kill_all(left)
        raise AssertionError("processes left running: %r" % left)
    print("PASS " + ids)
    sys.stdout.flush()
    if hard_exit:
        kill_all(left)
        sys.stderr.flush()
        os._exit(0)

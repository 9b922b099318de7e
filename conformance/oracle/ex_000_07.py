"""EX-000-07: a Manager dict and list filled by four workers.

Mirrors (conformance/manager.c):
  manager_four_workers_fill_dict_and_list_exactly,
  manager_start_runs_server_in_own_process_until_shutdown,
  manager_scoped_form_shuts_down_at_scope_end,
  manager_started_by_thread_that_ends_keeps_serving,
  manager_server_exits_and_cleans_up_when_starting_process_ends,
  manager_start_from_daemon_estate,
  manager_stopped_server_delays_calls_and_shutdown_is_bounded,
  manager_parent_children_and_grandchildren_share_objects,
  manager_dict_proxy_behaves_like_python_dict,
  manager_dict_key_neither_str_nor_int_einval,
  manager_list_proxy_indexes_from_either_end_out_of_range_erange,
  manager_namespace_set_get_delete_missing_erange,
  manager_value_holds_any_value_initial_copied,
  manager_queue_fifo_maxsize_and_qsize,
  manager_queue_timeouts_eempty_efull_not_before_limit,
  manager_queue_blocked_get_and_put_wake_on_other_process,
  manager_queue_producer_and_consumer_processes_fifo,
  manager_event_set_clear_is_set_and_wait_timeouts,
  manager_event_one_set_releases_waiters_in_three_processes,
  manager_concurrent_list_appends_lose_nothing_keep_each_order,
  manager_threads_of_one_process_do_not_block_each_other,
  manager_connect_from_child_works_its_shutdown_enotsup,
  manager_connect_with_wrong_key_eauth_server_keeps_serving,
  manager_raw_client_sending_garbage_is_disconnected_others_served,
  manager_raw_client_silent_is_disconnected_others_served,
  manager_socket_in_directory_only_this_user_may_enter (the mode; the
  other-user connect needs root), manager_calls_after_shutdown_eclosed_here_
  ebroken_in_child, manager_shutdown_only_by_starter_child_estate,
  manager_server_killed_every_call_ebroken_or_eeof_promptly,
  manager_server_killed_while_children_block_they_fail_promptly.
C only: manager_null_wrong_kind_and_nan_arguments_einval,
manager_request_or_reply_above_max_message_emsgsize (no message limit).

Errors: KeyError / IndexError / AttributeError for C's ERANGE (missing key,
index, attribute); queue.Empty / queue.Full for EEMPTY / EFULL;
AuthenticationError for EAUTH; after shutdown, calls raise OSError
(BrokenPipeError, ConnectionRefusedError, FileNotFoundError) or EOFError
for C's ECLOSED / EBROKEN; a connected (not started) manager has no
shutdown at all (AttributeError; C: ENOTSUP).

Where CPython contradicts the C tests:
- manager_dict_key_neither_str_nor_int_einval: any picklable hashable key
  works (None, float, bytes, tuple) -- a limit of libmproc's values.
- manager_queue_timeouts_eempty_efull_not_before_limit: a negative timeout
  raises ValueError (C: EEMPTY / EFULL at once).
- manager_stopped_server_delays_calls_and_shutdown_is_bounded: shutdown()
  of a server stopped with SIGSTOP does not return (it waits for the
  server's answer to its connection handshake, with no limit); bounded
  here, it completes once the server gets SIGCONT (C: within 3 s).
- manager_raw_client_silent_is_disconnected_others_served: a raw client
  that stays silent is never cut off (its server thread waits for the
  answer to the challenge forever); others are served meanwhile.
- manager_shutdown_only_by_starter_child_estate: a child's shutdown() of an
  inherited manager is silently ignored (returns None; C: ESTATE); the
  server keeps serving, as in C.
- A second shutdown() in the starter returns None (C: ESTATE).
- manager_server_killed_every_call_ebroken_or_eeof_promptly: calls do
  fail promptly, but the killed server's socket and directory stay behind
  (C: none left); the script removes them.
"""

import os
import queue as stdqueue
import signal
import socket
import stat
import struct
import threading
from multiprocessing.managers import SyncManager

from oracle_lib import (ctx, elapsed_within, join_all, now, observe,
                        poll_until, raises, run, scale, start, timed)


def worker(d, lst, i):
    d[i] = "result_%d" % i
    lst.append(i)


def four_workers():
    with ctx.Manager() as manager:
        server = manager._process
        path = manager.address
        d, lst = manager.dict(), manager.list()
        join_all([start(worker, d, lst, i) for i in range(4)])
        assert dict(d) == {i: "result_%d" % i for i in range(4)}
        assert sorted(lst) == [0, 1, 2, 3]
    # Leaving the block shut the server down and reaped it.
    assert not server.is_alive() and server.exitcode == 0
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.dirname(path))


def life_cycle():
    m = ctx.Manager()
    server = m._process
    assert server.is_alive() and server.pid != os.getpid()
    path = m.address
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    d = m.dict()
    d["k"] = 1
    assert d["k"] == 1
    m.shutdown()
    assert not server.is_alive() and server.exitcode == 0
    assert not os.path.exists(path)
    assert not os.path.exists(os.path.dirname(path))
    assert m.shutdown() is None        # C: ESTATE
    raises((OSError, EOFError), d.__setitem__, "a", 1)   # C: ECLOSED
    raises(AssertionError, m.dict)     # "server not yet started"


def started_in_thread():
    box = []
    th = threading.Thread(target=lambda: box.append(ctx.Manager()))
    th.start()
    th.join(scale(30))
    m = box[0]
    observe(0.3)
    assert m._process.is_alive(), "the server ended with its thread"
    lst = m.list()
    lst.append("still here")
    assert len(lst) == 1
    m.shutdown()


def start_and_leave(out):
    m = ctx.Manager()
    d = m.dict()
    d["k"] = 1
    out.value = m._process.pid
    # Returns without shutdown: CPython's exit handlers shut it down.


def starting_process_ends():
    out = ctx.Value("q", 0)
    join_all([start(start_and_leave, out)])
    pid = out.value
    assert pid > 0
    assert poll_until(lambda: not _alive(pid), scale(5)), \
        "the server outlived its starting process"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def start_as_daemon():
    e = raises(AssertionError, ctx.Manager)  # C: ESTATE
    assert "daemonic" in str(e)


def from_daemon():
    join_all([start(start_as_daemon, daemon=True)])


def set_one(d):
    d["late"] = 1


def stopped_server():
    m = ctx.Manager()
    pid = m._process.pid
    d = m.dict()
    os.kill(pid, signal.SIGSTOP)
    try:
        # (A child that inherits a proxy contacts the server as it starts,
        # so it cannot even announce its call: it is simply observed.)
        p = start(set_one, d)
        observe(0.3)
        assert p.is_alive(), "a call returned while the server was stopped"
        os.kill(pid, signal.SIGCONT)
        join_all([p])
        assert len(d) == 1
        os.kill(pid, signal.SIGSTOP)
        th = threading.Thread(target=m.shutdown, daemon=True)
        th.start()
        th.join(scale(3))
        assert th.is_alive(), "shutdown of a stopped server returned"
    finally:
        os.kill(pid, signal.SIGCONT)
    th.join(scale(30))
    assert not th.is_alive() and not m._process.is_alive()


def grandchild(d, lst):
    d["grandchild"] = os.getpid()
    lst.append("grandchild")


def family_child(m_address, d, lst):
    assert d["parent"] == "was here"
    d["child"] = os.getpid()
    lst.append("child")
    g = ctx.Process(target=grandchild, args=(d, lst))
    g.start()
    g.join(scale(30))
    assert g.exitcode == 0


def family(m):
    d, lst = m.dict(), m.list()
    d["parent"] = "was here"
    join_all([start(family_child, m.address, d, lst)])
    assert sorted(lst) == ["child", "grandchild"]
    assert set(d.keys()) == {"parent", "child", "grandchild"}


def proxies(m):
    d = m.dict()
    d["a"] = 1
    d[1] = "int key"
    d["1"] = "str key"
    d["a"] = 2
    assert d["a"] == 2 and d.get("missing", 7) == 7
    assert d.get("missing") is None
    raises(KeyError, d.__getitem__, "missing")       # C: ERANGE
    assert "a" in d and len(d) == 3
    assert list(d.keys()) == ["a", 1, "1"]
    assert list(d.items()) == [("a", 2), (1, "int key"), ("1", "str key")]
    copy = d.copy()
    del d["a"]
    raises(KeyError, d.__delitem__, "a")
    assert copy["a"] == 2 and "a" not in d
    for key in (None, 1.5, b"x", (1, 2), True):      # C: EINVAL
        d[key] = "ok"
        assert d[key] == "ok"
    lst = m.list()
    lst.extend([1, 2, 3])
    lst.append(4)
    assert lst[-1] == 4 and lst[0] == 1 and lst[-4] == 1
    lst[-1] = 40
    raises(IndexError, lst.__getitem__, 4)           # C: ERANGE
    raises(IndexError, lst.__getitem__, -5)
    raises(IndexError, lst.__setitem__, 9, 0)
    assert lst.pop() == 40 and lst.pop(0) == 1
    assert lst[:] == [2, 3] and list(lst) == [2, 3]
    ns = m.Namespace()
    ns.x = 1
    ns.x = 2
    assert ns.x == 2
    del ns.x
    raises(AttributeError, getattr, ns, "x")         # C: ERANGE
    raises(AttributeError, delattr, ns, "x")
    init = [1, 2]
    v = m.Value("i", init)  # holds any value; the typecode is not checked
    init.append(3)
    assert v.value == [1, 2]                         # a copy
    for x in (None, 1.5, "s", b"b", [1], {"k": 2}, -2 ** 63):
        v.value = x
        assert v.value == x


def q_get(q, trying, returned):
    trying.release()
    returned.value = q.get(timeout=scale(30))


def q_put(q, trying, returned):
    trying.release()
    q.put(99, timeout=scale(30))
    returned.value = 1


def q_producer(q):
    for i in range(50):
        q.put(i, timeout=scale(30))


def q_consumer(q, bad):
    for i in range(50):
        if q.get(timeout=scale(30)) != i:
            bad.value += 1


def queues(m):
    q = m.Queue(3)
    assert q.qsize() == 0 and q.empty()
    for i in range(3):
        q.put(i)
    assert q.full() and q.qsize() == 3
    for t in (0,):
        r, el = timed(q.put, 9, timeout=t)
        assert isinstance(r, stdqueue.Full)
        elapsed_within(el, 0, scale(1))
    raises(ValueError, q.put, 9, timeout=-1)         # C: EFULL at once
    r, el = timed(q.put, 9, timeout=0.2)
    assert isinstance(r, stdqueue.Full)
    elapsed_within(el, 0.2, 0.2 + scale(2))
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    r, el = timed(q.get, timeout=0)
    assert isinstance(r, stdqueue.Empty)
    raises(ValueError, q.get, timeout=-1)            # C: EEMPTY at once
    r, el = timed(q.get, timeout=0.2)
    assert isinstance(r, stdqueue.Empty)
    elapsed_within(el, 0.2, 0.2 + scale(2))
    big = m.Queue(0)
    for i in range(100):
        big.put(i, timeout=0)
    assert big.qsize() == 100 and not big.full()
    for kind in ("get", "put"):
        q = m.Queue(0 if kind == "get" else 1)
        trying, returned = ctx.Semaphore(0), ctx.Value("q", 0)
        if kind == "put":
            q.put(1)
        p = start(q_get if kind == "get" else q_put, q, trying, returned)
        assert trying.acquire(timeout=scale(30))
        observe(0.2)
        assert returned.value == 0
        if kind == "get":
            q.put(42)
        else:
            assert q.get(timeout=scale(30)) == 1
        join_all([p])
        assert returned.value == (42 if kind == "get" else 1)
    q = m.Queue(5)
    bad = ctx.Value("q", 0)
    join_all([start(q_producer, q), start(q_consumer, q, bad)])
    assert bad.value == 0 and q.empty()


def ev_waiter(e, ready, returned):
    ready.release()
    assert e.wait(scale(30))
    with returned.get_lock():
        returned.value += 1


def events(m):
    e = m.Event()
    assert not e.is_set()
    for t in (0, -1):
        r, el = timed(e.wait, t)
        assert r is False
        elapsed_within(el, 0, scale(1))
    r, el = timed(e.wait, 0.2)
    assert r is False
    elapsed_within(el, 0.2, 0.2 + scale(2))
    e.set()
    assert e.is_set() and e.wait(0)
    e.clear()
    assert not e.is_set()
    ready, returned = ctx.Semaphore(0), ctx.Value("q", 0)
    procs = [start(ev_waiter, e, ready, returned) for _ in range(3)]
    for _ in range(3):
        assert ready.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    e.set()
    join_all(procs)
    assert returned.value == 3


def appender(lst, tag):
    for i in range(100):
        lst.append((tag, i))


def concurrent_appends(m):
    lst = m.list()
    join_all([start(appender, lst, t) for t in range(4)])
    items = list(lst)
    assert len(items) == 400
    for t in range(4):
        assert [i for tag, i in items if tag == t] == list(range(100))


def threads_do_not_block(m):
    q = m.Queue()
    got = []
    th = threading.Thread(target=lambda: got.append(q.get(timeout=scale(30))))
    th.start()
    observe(0.1)
    q.put("from another thread")
    th.join(scale(30))
    assert got == ["from another thread"]


def connect_from_child(address, authkey, shared):
    c = SyncManager(address=address, authkey=authkey)
    c.connect()
    assert not hasattr(c, "shutdown")  # C: ENOTSUP
    shared.append("child")


def connecting(m):
    shared = m.list()
    join_all([start(connect_from_child, m.address, bytes(m._authkey),
                    shared)])
    assert m._process.is_alive() and list(shared) == ["child"]
    for key in (b"the wrong key", bytes(m._authkey)[:-1],
                bytes(m._authkey) + b"!", b""):
        c = SyncManager(address=m.address, authkey=key)
        r, el = timed(c.connect)
        assert isinstance(r, ctx.AuthenticationError), r  # C: EAUTH
        elapsed_within(el, 0, scale(5))
    shared.append("parent")  # still served
    assert len(shared) == 2


def _recv_all(sock, timeout):
    """Reads until end of file or `timeout`; True at end of file."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True  # closed with our garbage unread
    except socket.timeout:
        return False


def raw_clients(m):
    served = m.list()
    garbage = [b"GET / HTTP/1.1\r\nHost: mproc\r\n\r\n",
               b"\x7f\xff\xff\xff",
               b"\x7f\xff\xff\xff" + b"A" * 4096,
               b"\xff\xff\xff\xff" + struct.pack("!Q", 1 << 63),
               b"\0\0\0\x05hello",
               b"\0\0\0\x20" + bytes(32),
               b"\xff" * 65536]
    for g in garbage:
        s = socket.socket(socket.AF_UNIX)
        s.connect(m.address)
        s.sendall(g)
        assert _recv_all(s, scale(10)), "still connected after %r" % g[:8]
        s.close()
        served.append(1)
    s = socket.socket(socket.AF_UNIX)
    s.connect(m.address)
    s.close()
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(m.address)
    served.append(1)  # others are served meanwhile
    assert len(served) == len(garbage) + 1
    # C: cut off after the authentication time limit.  CPython: never.
    assert not _recv_all(silent, scale(1))
    silent.close()


def child_shutdown(m):
    assert m.shutdown() is None  # ignored in another process (C: ESTATE)


def call_after_shutdown(d, go, out):
    assert go.wait(scale(30))
    t0 = now()
    try:
        d["x"] = 1
        out.value = 0
    except (OSError, EOFError):
        out.value = 1
    assert now() - t0 < scale(5)


def shutdown_and_kill():
    m = ctx.Manager()
    d = m.dict()
    join_all([start(child_shutdown, m)])
    d["still"] = "served"
    assert d["still"] == "served"
    go, out = ctx.Event(), ctx.Value("q", -1)
    p = start(call_after_shutdown, d, go, out)
    m.shutdown()
    go.set()
    join_all([p])
    assert out.value == 1  # C: EBROKEN or EEOF promptly in the child
    # The server killed: every call fails promptly, also blocked ones.
    m = ctx.Manager()
    # (Every proxy stays referenced here: the server drops an object as
    # soon as no process holds a proxy of it.)
    d, q, empty, lk, ev = m.dict(), m.Queue(1), m.Queue(), m.Lock(), \
        m.Event()
    q.put("full")
    lk.acquire()
    ready = ctx.Semaphore(0)
    blocked = [start(_blocked_call, name, obj, ready) for name, obj in
               (("get", empty), ("put", q), ("acquire", lk), ("wait", ev))]
    for _ in blocked:
        assert ready.acquire(timeout=scale(30))
    observe(0.2)
    os.kill(m._process.pid, signal.SIGKILL)
    t0 = now()
    join_all(blocked, timeout=scale(10))
    elapsed_within(now() - t0, 0, scale(10))
    r, el = timed(d.__setitem__, "k", 1)
    assert isinstance(r, (OSError, EOFError)), r
    elapsed_within(el, 0, scale(5))
    m._process.join(scale(10))
    # Nobody removes a killed server's socket and directory in CPython (C:
    # freeing the manager leaves none); the script removes them itself.
    assert os.path.exists(m.address)
    os.unlink(m.address)
    os.rmdir(os.path.dirname(m.address))


def _blocked_call(name, obj, ready):
    ready.release()
    try:
        if name == "get":
            obj.get(timeout=scale(60))
        elif name == "put":
            obj.put("more", timeout=scale(60))
        elif name == "acquire":
            obj.acquire(timeout=scale(60))
        else:
            obj.wait(scale(60))
    except (OSError, EOFError):
        return  # the server went away: a prompt failure
    raise AssertionError("%s returned normally" % name)


def main():
    four_workers()
    life_cycle()
    started_in_thread()
    starting_process_ends()
    from_daemon()
    stopped_server()
    with ctx.Manager() as m:
        family(m)
        proxies(m)
        queues(m)
        events(m)
        concurrent_appends(m)
        threads_do_not_block(m)
        connecting(m)
        raw_clients(m)
    shutdown_and_kill()


if __name__ == "__main__":
    run("EX-000-07", main)

"""EX-002-08: a Manager list and dict updated under one Lock.

Mirrors (conformance/manager.c):
  manager_list_and_dict_updated_under_one_lock_end_exact (with a manager
  Lock and with a plain multiprocessing.Lock, as in the document),
  manager_dict_counter_under_manager_lock_reaches_n_times_m,
  manager_lock_acquire_release_timeouts_and_release_unlocked_estate,
  manager_lock_blocks_other_process_until_released,
  manager_lock_holder_death_next_acquire_eownerdead_and_holds_it.
Also cited by EX-002-08 and checked in ex_000_07.py:
manager_start_runs_server_in_own_process_until_shutdown,
manager_calls_after_shutdown_eclosed_here_ebroken_in_child,
manager_shutdown_only_by_starter_child_estate,
manager_socket_in_directory_only_this_user_may_enter,
manager_raw_client_sending_garbage_is_disconnected_others_served,
manager_raw_client_silent_is_disconnected_others_served,
manager_server_killed_every_call_ebroken_or_eeof_promptly,
manager_server_killed_while_children_block_they_fail_promptly.
C only: manager_null_wrong_kind_and_nan_arguments_einval.

Errors: a failed acquire returns False (C: EAGAIN / ETIMEDOUT); releasing
an unlocked manager Lock raises RuntimeError ("release unlocked lock"; C:
ESTATE).  A manager Lock held by one process may be released by another,
as in C.

Where CPython contradicts the C tests:
- manager_lock_acquire_release_timeouts_and_release_unlocked_estate: a
  negative timeout is not "at once": acquire(True, -1) blocks forever
  (threading's "no limit", shown bounded in a thread) and acquire(True,
  -0.5) raises ValueError (C: EAGAIN at once for both).
- manager_lock_holder_death_next_acquire_eownerdead_and_holds_it: the
  catalogue's note, confirmed: a manager Lock whose holder exited or was
  killed stays locked (bounded acquire returns False; C: EOWNERDEAD and
  the caller holds it).
"""

import signal
import threading

from oracle_lib import (ctx, elapsed_within, join_all, observe, raises, run,
                        scale, start, timed)


def add_items(lst, d, lock, seen):
    for i in range(1, 6):
        with lock:
            before = len(d)
            lst.append(i)
            if list(lst) != list(range(1, i + 1)) or len(d) != before:
                seen.value += 1


def set_keys(lst, d, lock, seen):
    for i, k in enumerate("abc"):
        with lock:
            before = len(lst)
            d[k] = i + 1
            if len(lst) != before:
                seen.value += 1


def document_example(m):
    for lock in (m.Lock(), ctx.Lock()):
        lst, d = m.list(), m.dict()
        seen = ctx.Value("q", 0)
        join_all([start(add_items, lst, d, lock, seen),
                  start(set_keys, lst, d, lock, seen)])
        assert seen.value == 0
        assert list(lst) == [1, 2, 3, 4, 5]
        assert dict(d) == {"a": 1, "b": 2, "c": 3}


def bump(d, lock):
    for _ in range(200):
        with lock:
            d["n"] = d["n"] + 1


def counter_800(m):
    d, lock = m.dict(), m.Lock()
    d["n"] = 0
    join_all([start(bump, d, lock) for _ in range(4)])
    assert d["n"] == 800


def hold(lock, held, letgo, end):
    assert lock.acquire(timeout=scale(30))
    held.set()
    if end == "releases":
        assert letgo.wait(scale(30))
        lock.release()
    elif end == "waits":
        letgo.wait(scale(60))


def try_lock(lock, expect):
    got = lock.acquire(timeout=0)
    assert got == expect
    if got:
        lock.release()


def release_it(lock):
    lock.release()


def lock_rules(m):
    lk = m.Lock()
    assert lk.acquire()
    assert lk.acquire(timeout=0) is False
    r, el = timed(lk.acquire, timeout=0.2)
    assert r is False
    elapsed_within(el, 0.2, 0.2 + scale(2))
    raises(ValueError, lk.acquire, True, -0.5)       # C: EAGAIN at once
    got = []
    th = threading.Thread(target=lambda: got.append(lk.acquire(True, -1)),
                          daemon=True)
    th.start()
    th.join(scale(0.5))
    assert th.is_alive() and got == []               # C: EAGAIN at once
    lk.release()                                     # lets the thread in
    th.join(scale(30))
    assert got == [True]
    lk.release()
    raises(RuntimeError, lk.release)                 # C: ESTATE
    # Released by another process.
    assert lk.acquire(timeout=0)
    join_all([start(release_it, lk)])
    assert lk.acquire(timeout=0)
    lk.release()


def acquire_blocking(lock, trying, returned):
    trying.release()
    assert lock.acquire(timeout=scale(30))
    returned.value = 1
    lock.release()


def blocks_other_process(m):
    lk = m.Lock()
    trying, returned = ctx.Semaphore(0), ctx.Value("q", 0)
    assert lk.acquire(timeout=0)
    p = start(acquire_blocking, lk, trying, returned)
    assert trying.acquire(timeout=scale(30))
    observe(0.2)
    assert returned.value == 0
    lk.release()
    join_all([p])
    assert returned.value == 1


def holder_death(m):
    for death in ("exits", "killed"):
        lk = m.Lock()
        held, letgo = ctx.Event(), ctx.Event()
        p = start(hold, lk, held, letgo,
                  "waits" if death == "killed" else "returns")
        assert held.wait(scale(30))
        if death == "killed":
            p.kill()
        p.join(scale(30))
        assert p.exitcode == (-signal.SIGKILL if death == "killed" else 0)
        r, el = timed(lk.acquire, timeout=scale(0.5))
        assert r is False, death        # C: EOWNERDEAD, then held
        join_all([start(try_lock, lk, False)])


def main():
    with ctx.Manager() as m:
        document_example(m)
        counter_800(m)
        lock_rules(m)
        blocks_other_process(m)
        holder_death(m)


if __name__ == "__main__":
    run("EX-002-08", main)

"""EX-002-14: Barrier(3) -- three processes arrive one after another and
continue together.

Mirrors (conformance/barrier.c):
  barrier_three_parties_get_distinct_indexes,
  barrier_action_runs_once_per_generation,
  barrier_n_waiting_counts_blocked_parties,
  barrier_abort_gives_waiters_ebroken,
  barrier_reset_makes_broken_barrier_usable,
  barrier_reset_while_waiting_gives_ebroken_then_usable,
  barrier_wait_timeout_breaks_it_for_everyone,
  barrier_failing_action_breaks_it, barrier_default_timeout_from_new_applies,
  barrier_single_party_passes_at_once, barrier_invalid_arguments_einval,
  barrier_wait_survives_signals,
  barrier_wait_times_out_while_previous_generation_resets,
  barrier_party_dying_in_the_action_breaks_it.

Errors: C's EBROKEN is threading.BrokenBarrierError.  Where CPython differs:
- the party whose wait times out also gets BrokenBarrierError (C:
  ETIMEDOUT, EAGAIN for timeout 0; the others EBROKEN in both);
- a failing action: the party that ran it (the last to arrive) gets the
  action's own exception, the others BrokenBarrierError (C: every party
  EBROKEN);
- Barrier(0) is accepted at creation (C: EINVAL).  A NaN timeout raises
  OSError(EINVAL) and leaves the barrier usable, as in C.
- barrier_wait_times_out_while_previous_generation_resets: while a
  waiter of the reset generation cannot run (stopped with SIGSTOP), reset()
  itself does not return -- multiprocessing's notify_all waits, holding the
  barrier's lock, until every woken waiter answers -- and a wait(0) blocks
  without regard to its own timeout; shown bounded: both are still blocked
  half a second later, and once the old waiter runs again reset returns
  and the late wait ends with BrokenBarrierError (C: reset returns at once
  and wait(0) gives EAGAIN at once).
- barrier_party_dying_in_the_action_breaks_it (a dead lock holder, the
  deliberate difference): the action runs holding the barrier's lock, so a
  party that dies in it leaves that lock held forever -- broken stays
  False and every later wait, and the party already waiting, block for
  good (shown bounded in processes that the script then kills; C: EBROKEN
  at once for all).
"""

import errno
import os
import signal
import threading

from oracle_lib import (ctx, elapsed_within, join_all, kill_all, now,
                        observe, poll_until, raises, run, scale, start, timed,
                        wait_through_signals)

Broken = threading.BrokenBarrierError


def await_waiting(b, n):
    assert poll_until(lambda: b.n_waiting == n, scale(30)), \
        "n_waiting is %d, expected %d" % (b.n_waiting, n)


def staggered_party(b, go, times, results, i):
    if go is not None:
        assert go.wait(scale(30))
    times[2 * i] = now()
    results[i] = b.wait(scale(30))
    times[2 * i + 1] = now()


def three_parties():
    b, go = ctx.Barrier(3), ctx.Event()
    times = ctx.Array("d", 6, lock=False)
    results = ctx.Array("q", [-1] * 3, lock=False)
    assert b.parties == 3 and b.n_waiting == 0 and not b.broken
    procs = [start(staggered_party, b, go if i == 2 else None, times, results,
                   i) for i in range(3)]
    await_waiting(b, 2)
    observe(0.2)
    assert times[1] == 0 and times[3] == 0, "returned before the last arrived"
    go.set()
    join_all(procs)
    for i in range(3):
        assert times[2 * i + 1] >= times[4]
    assert sorted(results) == [0, 1, 2]
    assert results[2] == 2  # arrived last
    assert not b.broken and b.n_waiting == 0


def count_action(runs):
    runs.value += 1


def pass_generations(b, runs):
    for g in range(5):
        b.wait(scale(30))
        assert runs.value == g + 1, (g, runs.value)


def action_once_per_generation():
    runs = ctx.Value("q", 0, lock=False)
    b = ctx.Barrier(3, action=lambda: count_action(runs))
    join_all([start(pass_generations, b, runs) for _ in range(3)])
    assert runs.value == 5


def party(b, out, i, rounds=1, timeout=None):
    for r in range(rounds):
        try:
            out[i * rounds + r] = b.wait(scale(30) if timeout is None
                                         else timeout)
        except Broken:
            out[i * rounds + r] = -1  # EBROKEN


def n_waiting():
    b = ctx.Barrier(3)
    out = ctx.Array("q", 2, lock=False)
    procs = [start(party, b, out, i) for i in range(2)]
    await_waiting(b, 2)
    assert not b.broken
    assert b.wait(scale(30)) == 2  # the parent came last
    join_all(procs)
    assert sorted(out) == [0, 1]
    assert b.n_waiting == 0


def abort():
    b = ctx.Barrier(3)
    out = ctx.Array("q", 2, lock=False)
    procs = [start(party, b, out, i) for i in range(2)]
    await_waiting(b, 2)
    b.abort()
    join_all(procs)
    assert list(out) == [-1, -1]
    assert b.broken
    t0 = now()
    raises(Broken, b.wait, scale(30))
    raises(Broken, b.wait, 0)
    elapsed_within(now() - t0, 0, scale(1))


def reset_after_abort():
    b = ctx.Barrier(2)
    b.abort()
    assert b.broken
    b.reset()
    assert not b.broken and b.n_waiting == 0
    out = ctx.Array("q", [9], lock=False)
    p = start(party, b, out, 0)
    b.wait(scale(30))
    join_all([p])
    assert out[0] in (0, 1)


def reset_while_waiting():
    b = ctx.Barrier(3)
    out = ctx.Array("q", 4, lock=False)
    procs = [start(party, b, out, i, 2) for i in range(2)]
    await_waiting(b, 2)
    b.reset()
    await_waiting(b, 2)
    assert not b.broken
    b.wait(scale(30))
    join_all(procs)
    assert out[0] == -1 and out[2] == -1          # the reset round
    assert out[1] >= 0 and out[3] >= 0            # the next round


def timeout_breaks_it():
    for t in (0, 0.1, 0.2):
        b = ctx.Barrier(3)
        out = ctx.Array("q", [9], lock=False)
        p = start(party, b, out, 0)
        await_waiting(b, 1)
        r, el = timed(b.wait, t)
        assert isinstance(r, Broken), r  # C: ETIMEDOUT (EAGAIN for 0)
        elapsed_within(el, t, t + scale(2))
        join_all([p])
        assert out[0] == -1
        assert b.broken
        raises(Broken, b.wait, 0)


def failing_action(runs):
    runs.value += 1
    raise RuntimeError("action failed")


def failing_party(b, kinds, i):
    try:
        b.wait(scale(30))
        kinds[i] = 0
    except Broken:
        kinds[i] = 1
    except RuntimeError:
        kinds[i] = 2


def failing_action_breaks():
    runs = ctx.Value("q", 0, lock=False)
    b = ctx.Barrier(2, action=lambda: failing_action(runs))
    kinds = ctx.Array("q", 2, lock=False)
    p = start(failing_party, b, kinds, 0)
    failing_party(b, kinds, 1)
    join_all([p])
    assert sorted(kinds) == [1, 2], list(kinds)  # C: both EBROKEN
    assert runs.value == 1
    assert b.broken


def default_timeout():
    b = ctx.Barrier(2, timeout=0.2)
    r, el = timed(b.wait)
    assert isinstance(r, Broken)
    elapsed_within(el, 0.2, 0.2 + scale(2))
    assert b.broken
    b = ctx.Barrier(2)
    out = ctx.Array("q", [9], lock=False)
    p = start(party, b, out, 0, 1, None)
    b.wait()
    join_all([p])
    assert out[0] in (0, 1)


def single_party():
    runs = ctx.Value("q", 0, lock=False)
    b = ctx.Barrier(1, action=lambda: count_action(runs))
    assert b.wait(0) == 0
    assert b.wait() == 0
    assert runs.value == 2


def invalid_arguments():
    ctx.Barrier(0)  # accepted (C: EINVAL)
    b = ctx.Barrier(2)
    e = raises(OSError, b.wait, float("nan"))
    assert e.errno == errno.EINVAL
    assert not b.broken and b.n_waiting == 0


def through_signals():
    b = ctx.Barrier(2)
    wait_through_signals(lambda: b.wait(scale(30)),
                         lambda: b.wait(scale(30)), 3)
    assert not b.broken


def _stopped(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except OSError:
        return False


def wait_while_previous_generation_resets():
    b = ctx.Barrier(2)
    out = ctx.Array("q", [9], lock=False)
    p = start(party, b, out, 0)
    await_waiting(b, 1)
    # n_waiting counts it before its wait gives the barrier's lock up:
    # take the lock once, so that it is stopped inside the wait.
    assert b._cond.acquire(timeout=scale(10))
    b._cond.release()
    os.kill(p.pid, signal.SIGSTOP)  # its generation cannot leave
    got = []

    def call(fn, *args):
        try:
            got.append((fn.__name__, fn(*args)))
        except Broken as e:
            got.append((fn.__name__, e))

    try:
        assert poll_until(lambda: _stopped(p.pid), scale(10))
        # CPython's reset() notifies the waiters holding the barrier's lock
        # and waits until each woken one answers: it cannot return while
        # the old generation's waiter is stopped (C: it returns at once).
        resetting = threading.Thread(target=call, args=(b.reset,),
                                     daemon=True)
        resetting.start()
        assert poll_until(lambda: b._state == -1, scale(10))  # resetting
        late = threading.Thread(target=call, args=(b.wait, 0), daemon=True)
        late.start()
        late.join(scale(0.5))
        assert resetting.is_alive() and late.is_alive() and got == [], \
            got  # C: reset returns, then wait(0) gives EAGAIN at once
    finally:
        os.kill(p.pid, signal.SIGCONT)
    resetting.join(scale(30))
    late.join(scale(30))
    assert not resetting.is_alive() and not late.is_alive()
    results = dict(got)
    assert results["reset"] is None
    assert isinstance(results["wait"], Broken)   # C: EAGAIN / ETIMEDOUT
    join_all([p])
    assert out[0] == -1         # the old waiter: broken, as in C
    assert b.broken
    raises(Broken, b.wait, 0)


def die_in_action():
    os.kill(os.getpid(), signal.SIGKILL)


def party_dies_in_action():
    b = ctx.Barrier(2, action=die_in_action)
    out = ctx.Array("q", [9, 9, 9], lock=False)
    waiting = start(party, b, out, 0)
    await_waiting(b, 1)
    assert b._cond.acquire(timeout=scale(10))  # it is inside its wait
    b._cond.release()
    last = start(party, b, out, 1)  # arrives last, runs the action, dies
    join_all([last], expect=-signal.SIGKILL)
    assert not b.broken                          # C: broken
    later = start(party, b, out, 2, 1, 0)        # wait(0)
    later.join(scale(0.5))
    assert later.is_alive() and waiting.is_alive()  # C: EBROKEN at once
    assert list(out) == [9, 9, 9]
    kill_all([later, waiting])


def main():
    three_parties()
    action_once_per_generation()
    n_waiting()
    abort()
    reset_after_abort()
    reset_while_waiting()
    timeout_breaks_it()
    failing_action_breaks()
    default_timeout()
    single_party()
    invalid_arguments()
    through_signals()
    wait_while_previous_generation_resets()
    party_dies_in_action()


if __name__ == "__main__":
    run("EX-002-14", main)

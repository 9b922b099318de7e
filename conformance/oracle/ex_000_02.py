"""EX-000-02: Pool(4) map, map_async, apply, apply_async and starmap of a
function defined after the pool started (which hangs).

Mirrors (conformance/pool.c):
  pool_map_map_async_apply_apply_async_agree_on_cpu_work,
  pool_starmap_and_starmap_async_unpack_argument_pairs,
  pool_apply_blocks_until_the_task_is_done,
  pool_map_with_failing_item_etask_with_its_error,
  pool_task_function_not_loaded_in_worker_fails_einval,
  pool_worker_death_fails_its_task_eworkerlost_pool_replaces_it,
  pool_invalid_arguments_einval (the parts Python has: arguments that are
  not iterable raise TypeError; C: EINVAL).

Deliberate difference (docs/examples.md, "A pool worker that dies"): a
worker killed by its task (SIGKILL or os._exit(3)) loses the task in
CPython: get(timeout) raises multiprocessing.TimeoutError (without a
timeout it hangs); the pool does replace the worker and a task on another
worker is unaffected.  libmproc fails the task with MPROC_EWORKERLOST.  A
consequence shown here: with a lost task in the pool, close() + join()
never returns (bounded here; terminate() ends it).

The erratum (a function defined after the pool started): each worker that
receives the task dies unpickling it; starmap_async(...).get(timeout)
raises TimeoutError (C: every item fails with EINVAL, no hang).
cpu_intensive runs over 20000 here (C: 1000000) to keep the run short.
"""

import os
import threading
import time

from oracle_lib import ctx, now, raises, run, scale, timed

N = 20000
WANT = sum(i * i for i in range(N))


def cpu_intensive(n):
    return sum(i * i for i in range(n))


def multiply(a, b):
    return a * b


def plus(a, b):
    return a + b


def risky(x):
    if x == 5:
        raise ValueError("Bad value: %d" % x)
    return x * 2


def stamped(seconds):
    t0 = now()
    time.sleep(seconds)  # slow, not ordering anything
    return (t0, now())


def five_calls(pool):
    assert pool.map(cpu_intensive, [N] * 8) == [WANT] * 8
    assert pool.map_async(cpu_intensive, [N] * 8).get(timeout=scale(10)) \
        == [WANT] * 8
    assert pool.apply(cpu_intensive, (N,)) == WANT
    assert pool.apply_async(cpu_intensive, (N,)).get(scale(30)) == WANT
    pairs = [(1, 2), (3, 4), (5, 6)]
    assert pool.starmap(multiply, pairs) == [2, 12, 30]
    assert pool.starmap(plus, pairs) == [3, 7, 11]
    got = []
    r = pool.starmap_async(multiply, pairs, callback=got.append)
    assert r.get(scale(30)) == [2, 12, 30]
    r.wait(scale(30))
    assert got == [[2, 12, 30]]


def apply_blocks(pool):
    t_call = now()
    s1, e1 = pool.apply(stamped, (0.2,))
    t_back = now()
    s2, e2 = pool.apply(stamped, (0.1,))
    assert t_call <= s1 and e1 <= t_back  # the task ran inside apply
    assert s2 >= t_back                   # the second started after


def failing_item(pool):
    e = raises(ValueError, pool.map, risky, range(10))
    assert str(e) == "Bad value: 5"      # C: ETASK, code and message
    results, errors = [], []
    r = pool.map_async(risky, range(10), chunksize=1,
                       callback=results.append, error_callback=errors.append)
    e = raises(ValueError, r.get, scale(30))
    assert str(e) == "Bad value: 5"
    assert r.successful() is False
    assert results == [] and len(errors) == 1
    assert str(errors[0]) == "Bad value: 5"


def invalid_arguments(pool):
    raises(TypeError, pool.map, cpu_intensive, 5)
    raises(TypeError, pool.starmap, multiply, [5])  # an item not a pair


def defined_after_start():
    pool = ctx.Pool(4)
    try:
        assert pool.map(cpu_intensive, [10] * 8) == [285] * 8
        # The document's `add`, defined in __main__ after the workers were
        # forked: pickled by reference, unknown to the old workers.
        exec("def add(a, b):\n    return a + b\n", globals())
        r = pool.starmap_async(globals()["add"], [(1, 2), (3, 4), (5, 6)])
        got, el = timed(r.get, scale(1))  # the document: 3 s
        assert isinstance(got, ctx.TimeoutError), got  # C: EINVAL, no hang
    finally:
        pool.terminate()
        pool.join()


def gated(i):
    started[i].set()
    assert gates[i].wait(scale(30))
    return i


def die(how):
    slot.value = os.getpid()
    if how == 0:
        os.kill(os.getpid(), 9)
    os._exit(3)


def meet(_):
    meeting.wait(scale(30))
    return os.getpid()


def square(x):
    return x * x


def worker_death():
    # Shared objects reach the workers by inheritance (module globals set
    # before the pool forks them), not as task arguments.
    global gates, started, meeting, slot
    gates, started = [ctx.Event()], [ctx.Event()]
    meeting = ctx.Barrier(2)
    slot = ctx.Value("q", 0)
    pool = ctx.Pool(2)
    try:
        bystander = pool.apply_async(gated, (0,))
        assert started[0].wait(scale(30))
        dead = []
        for how in (0, 1):  # SIGKILL, os._exit(3)
            slot.value = 0
            r = pool.apply_async(die, (how,))
            got, el = timed(r.get, scale(1))
            # C: EWORKERLOST with the pid and the signal / exit status.
            assert isinstance(got, ctx.TimeoutError), got
            assert slot.value != 0 and not r.ready()
            dead.append(slot.value)
        assert not bystander.ready()
        gates[0].set()
        assert bystander.get(scale(30)) == 0  # unaffected
        # Two live workers again, neither of them a dead one.
        pids = pool.map(meet, range(2), chunksize=1)
        assert not set(pids) & set(dead)
        assert pool.map(square, range(20)) == [x * x for x in range(20)]
        # The lost tasks stay pending: close() + join() never returns.
        pool.close()
        th = threading.Thread(target=pool.join, daemon=True)
        th.start()
        th.join(scale(1))
        assert th.is_alive(), "join returned with lost tasks pending"
    finally:
        pool.terminate()
        pool.join()


def main():
    with ctx.Pool(4) as pool:
        five_calls(pool)
        apply_blocks(pool)
        failing_item(pool)
        invalid_arguments(pool)
    pool.join()
    defined_after_start()
    worker_death()


if __name__ == "__main__":
    run("EX-000-02", main)

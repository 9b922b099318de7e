"""The benchmark workloads in CPython's multiprocessing and
concurrent.futures, for comparison with libmproc (bench/mproc.c).

Run by the C driver (bench/python.c) as a server: each line on standard
input is "workload n procs size"; the answer on standard output is the
seconds the workload took, or "nan" when it failed.  The start method is
"fork", as in libmproc.
"""
import concurrent.futures
import multiprocessing as mp
import os
import sys
import time


def _noop():
    pass


def start_join(n, procs, size):
    t0 = time.perf_counter()
    for _ in range(n):
        p = mp.Process(target=_noop)
        p.start()
        p.join()
    return time.perf_counter() - t0


def lock(n, procs, size):
    lk = mp.Lock()
    t0 = time.perf_counter()
    for _ in range(n):
        lk.acquire()
        lk.release()
    return time.perf_counter() - t0


def _count_up(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


def counter(n, procs, size):
    c = mp.Value('i', 0)
    t0 = time.perf_counter()
    ps = [mp.Process(target=_count_up, args=(c, n)) for _ in range(procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    t = time.perf_counter() - t0
    assert c.value == n * procs
    return t


def _echo(conn, theirs):
    theirs.close()
    try:
        while True:
            conn.send(conn.recv())
    except EOFError:
        pass


def pipe_rtt(n, procs, size):
    a, b = mp.Pipe()
    p = mp.Process(target=_echo, args=(b, a))
    p.start()
    b.close()
    a.send(42)
    assert a.recv() == 42
    t0 = time.perf_counter()
    for _ in range(n):
        a.send(42)
        a.recv()
    t = time.perf_counter() - t0
    a.close()
    p.join()
    return t


def _put_items(q, n, size):
    item = bytes(size) if size else None
    for i in range(n):
        q.put(item if size else i)


def _get_items(q, n, size):
    for _ in range(n):
        q.get()


def _queue_run(n, procs, size, consume_here):
    q = mp.Queue()
    t0 = time.perf_counter()
    ps = [mp.Process(target=_put_items, args=(q, n // procs, size))
          for _ in range(procs)]
    if not consume_here:
        ps += [mp.Process(target=_get_items, args=(q, n // procs, size))
               for _ in range(procs)]
    for p in ps:
        p.start()
    if consume_here:
        _get_items(q, n, size)
    for p in ps:
        p.join()
    return time.perf_counter() - t0


def queue_1p1c(n, procs, size):
    return _queue_run(n, 1, 0, True)


def queue_bandwidth(n, procs, size):
    return _queue_run(n, 1, size, True)


def queue_npnc(n, procs, size):
    return _queue_run(n, procs, 0, False)


def _twice(x):
    return 2 * x


def pool_map(n, procs, size):
    args = list(range(n))
    with mp.Pool(procs) as pool:
        pool.apply(_twice, (1,))
        t0 = time.perf_counter()
        res = pool.map(_twice, args)
        t = time.perf_counter() - t0
    assert len(res) == n
    return t


def apply_async(n, procs, size):
    with mp.Pool(procs) as pool:
        pool.apply(_twice, (1,))
        t0 = time.perf_counter()
        for _ in range(n):
            pool.apply_async(_twice, (1,)).get()
        return time.perf_counter() - t0


def executor(n, procs, size):
    with concurrent.futures.ProcessPoolExecutor(procs) as ex:
        t0 = time.perf_counter()
        fs = [ex.submit(_twice, 1) for _ in range(n)]
        for f in fs:
            f.result()
        return time.perf_counter() - t0


def manager_dict(n, procs, size):
    with mp.Manager() as m:
        d = m.dict()
        t0 = time.perf_counter()
        for i in range(n):
            d[i] = i
        return time.perf_counter() - t0


def main():
    mp.set_start_method('fork')
    for line in sys.stdin:
        name, n, procs, size = line.split()
        try:
            t = globals()[name](int(n), int(procs), int(size))
        except Exception as e:  # reported as a failed run, never fatal
            print(f"bench.py: {name}: {e!r}", file=sys.stderr)
            t = float('nan')
        sys.stdout.write(f"{t!r}\n")
        sys.stdout.flush()


if __name__ == '__main__':
    main()

"""EX-001-05: starmap and starmap_async with a callback.

Mirrors (conformance/pool.c):
  pool_starmap_and_starmap_async_unpack_argument_pairs.
"""

from oracle_lib import ctx, run, scale


def multiply(x, y):
    return x * y


def add(x, y):
    return x + y


def main():
    pairs = [(1, 2), (3, 4), (5, 6)]
    got = []
    with ctx.Pool(2) as pool:
        assert pool.starmap(multiply, pairs) == [2, 12, 30]
        assert pool.starmap(add, pairs) == [3, 7, 11]
        r = pool.starmap_async(multiply, pairs, callback=got.append)
        assert r.get(scale(30)) == [2, 12, 30]
        r.wait(scale(30))
    pool.join()
    assert got == [[2, 12, 30]]


if __name__ == "__main__":
    run("EX-001-05", main)

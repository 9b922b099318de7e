"""EX-000-12: Pool.map over ten lists with chunksize=2.

Mirrors (conformance/pool.c):
  pool_map_chunksize_2_over_ten_lists_flattens_to_doubles.
"""

import os

from oracle_lib import ctx, run


def process_chunk(chunk):
    ran[chunk[0] // 100] = os.getpid()
    return [x * 2 for x in chunk]


def main():
    global ran
    ran = ctx.Array("q", 10, lock=False)
    data = list(range(1000))
    chunks = [data[i:i + 100] for i in range(0, 1000, 100)]
    with ctx.Pool(4) as pool:
        results = pool.map(process_chunk, chunks, chunksize=2)
    pool.join()
    assert len(results) == 10 and all(len(r) == 100 for r in results)
    assert [x for r in results for x in r] == [2 * x for x in data]
    for c in range(5):  # the two lists of one chunk ran in one worker
        assert ran[2 * c] != 0 and ran[2 * c] == ran[2 * c + 1], c


if __name__ == "__main__":
    run("EX-000-12", main)

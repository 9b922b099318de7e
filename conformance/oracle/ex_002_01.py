"""EX-002-01: a Process subclass with its own fields; run() sees self.pid.

Mirrors (conformance/process.c):
  process_subclass_run_recovers_its_struct,
  process_custom_name_is_copied_at_init,
  process_default_names_count_per_parent.
C only: process_init_rejects_bad_options_einval (exactly one of target and
run; in Python a subclass simply overrides run()).

Difference in naming: CPython names an unnamed instance of a subclass after
its class ("Plain-N", not "Process-N"); the counter is shared, and its
children are "Process-N:1", "Process-N:2" as in C.
"""

import os

from oracle_lib import ctx, join_all, run, scale, track


class MyProcess(ctx.Process):
    def __init__(self, name, delay_ms, index, out):
        super().__init__()
        self.name = name  # as in the document
        self.delay_ms = delay_ms
        self.index = index
        self.out = out

    def run(self):
        want = "worker-%d" % self.index
        assert ctx.current_process().name == want
        assert self.name == want
        assert self.pid == os.getpid()  # inside run(), self.pid is its own
        self.out[2 * self.index] = self.delay_ms
        self.out[2 * self.index + 1] = os.getpid()


def subclass_fields():
    out = ctx.Array("q", 4, lock=False)
    mine = [MyProcess("worker-%d" % i, 100 * (i + 1), i, out)
            for i in range(2)]
    for m in mine:
        track(m).start()
    pids = [m.pid for m in mine]
    for i, m in enumerate(mine):
        assert m.name == "worker-%d" % i
    join_all(mine)
    for i in range(2):
        assert out[2 * i] == 100 * (i + 1)
        assert out[2 * i + 1] == pids[i]


def check_name(expected, out, slot):
    assert ctx.current_process().name == expected
    out[slot] = os.getpid()


def name_copied():
    out = ctx.Array("q", 1, lock=False)
    buf = bytearray(b"custom-name")
    p = ctx.Process(target=check_name, args=("custom-name", out, 0),
                    name=buf.decode())
    buf[:] = b"overwritten"
    assert p.name == "custom-name"
    track(p).start()
    join_all([p])
    assert out[0] > 0


class Plain(ctx.Process):
    def __init__(self, out):
        super().__init__()
        self.out = out

    def run(self):
        ident = ctx.current_process().name.split("-", 1)[1]
        kids = [ctx.Process(target=check_name,
                            args=("Process-%s:%d" % (ident, i + 1), self.out,
                                  1 + i))
                for i in range(2)]
        for k in kids:
            k.start()
        for k in kids:
            k.join(scale(30))
            assert k.exitcode == 0


def default_names():
    out = ctx.Array("q", 3, lock=False)
    p = [Plain(out) for _ in range(2)]
    n = [int(x.name.split("-", 1)[1]) for x in p]
    # CPython names an unnamed subclass instance after its class: Plain-N
    # (C: Process-N); a plain Process started by it is Process-N:1.
    assert p[0].name == "Plain-%d" % n[0] and n[0] >= 1
    assert n[1] == n[0] + 1
    track(p[0]).start()
    join_all([p[0]])
    assert out[1] > 0 and out[2] > 0
    p[1].close()


def main():
    subclass_fields()
    name_copied()
    default_names()


if __name__ == "__main__":
    run("EX-002-01", main)

"""EX-002-02: a target given args and kwargs sees the parent's values.

Mirrors (conformance/process.c): process_target_receives_struct_of_arguments
(C passes one struct: the fields are the positional and keyword arguments).
"""

from oracle_lib import ctx, join_all, run, start


def greet(who, times, out, scale=1.0):
    assert who == "bob"
    out[0] = int(times * scale)
    out[1] = len(who)


def main():
    out = ctx.Array("q", 2, lock=False)
    p = start(greet, "bob", 3, out, kwargs={"scale": 2.5})
    join_all([p])
    assert list(out) == [7, 3]
    # The document's two forms: positional args, and keywords only.
    out2 = ctx.Array("q", 2, lock=False)
    q = start(greet, kwargs={"who": "bob", "times": 4, "out": out2})
    join_all([q])
    assert list(out2) == [4, 3]


if __name__ == "__main__":
    run("EX-002-02", main)

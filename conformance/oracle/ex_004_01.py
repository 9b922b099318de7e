"""EX-004-01: Process subclasses, two Conditions over a Value counter, daemon
producers and consumers.

Mirrors (conformance/condition.c):
  condition_two_condition_original_keeps_counter_in_bounds,
  condition_two_conditions_over_one_lock_count_exactly,
  condition_notify_n_wakes_exactly_n_waiters (notify(1) per item below),
  condition_wait_for_checks_predicate_with_timeout,
  condition_wait_or_notify_without_lock_eperm,
  condition_wait_survives_signals.
The full notify(n), wait_for and signal cases are in ex_002_13.py.

The document's structure (each condition with its own lock) keeps
0 <= counter <= MAXSIZE, but updates can be lost (the catalogue's erratum),
so only the bounds and progress are asserted for it; the corrected form
(two conditions over one lock) keeps produced - consumed == counter at
every step.
"""

from oracle_lib import (ctx, join_all, observe, raises, run, scale, track,
                        wait_through_signals)

MAXSIZE, PRODUCERS, CONSUMERS, ITEMS = 10, 2, 3, 60


class Orig(ctx.Process):
    """The document's Producer/Consumer, stopped by a shared flag."""

    def __init__(self, producer, not_full, not_empty, counter, s):
        super().__init__(daemon=True)
        self.producer = producer
        self.not_full, self.not_empty = not_full, not_empty
        self.counter, self.s = counter, s  # s: stop, produced, consumed

    def run(self):
        mine = self.not_full if self.producer else self.not_empty
        other = self.not_empty if self.producer else self.not_full
        while not self.s[0]:
            done = False
            with mine:
                while True:
                    v = self.counter.value
                    if (v < MAXSIZE) if self.producer else (v > 0):
                        break
                    if self.s[0]:
                        done = True
                        break
                    mine.wait(0.05)  # short waits, so the stop flag is seen
                if not done:
                    # counter.value += 1 (or -= 1): a read and a write.
                    self.counter.value += 1 if self.producer else -1
                    self.s[1 if self.producer else 2] += 1
                    v = self.counter.value
                    assert 0 <= v <= MAXSIZE, v
            with other:
                other.notify_all()


def document_structure():
    not_full, not_empty = ctx.Condition(), ctx.Condition()
    counter = ctx.Value("i", 0)
    s = ctx.Array("q", 3)  # with its lock: children on both sides count
    procs = [Orig(i < PRODUCERS, not_full, not_empty, counter, s)
             for i in range(PRODUCERS + CONSUMERS)]
    for p in procs:
        assert p.daemon
        track(p).start()
    observe(0.5)  # let them run
    s[0] = 1
    join_all(procs)
    assert s[1] > 0 and s[2] > 0, list(s)
    assert 0 <= counter.value <= MAXSIZE


class Fixed(ctx.Process):
    def __init__(self, producer, items, sh):
        super().__init__(daemon=True)
        self.producer, self.items, self.sh = producer, items, sh

    def run(self):
        lock, not_full, not_empty, counter, stats = self.sh
        for _ in range(self.items):
            with lock:
                if self.producer:
                    assert not_full.wait_for(lambda: counter.value < MAXSIZE,
                                             scale(30))
                    counter.value += 1
                    stats[0] += 1
                    not_empty.notify(1)
                else:
                    assert not_empty.wait_for(lambda: counter.value > 0,
                                              scale(30))
                    counter.value -= 1
                    stats[1] += 1
                    not_full.notify(1)
                assert 0 <= counter.value <= MAXSIZE
                assert stats[0] - stats[1] == counter.value


def one_lock_counts_exactly():
    lock = ctx.Lock()
    not_full, not_empty = ctx.Condition(lock), ctx.Condition(lock)
    counter = ctx.Value("i", 0, lock=False)  # synchronised by `lock`
    stats = ctx.Array("q", 2, lock=False)
    sh = (lock, not_full, not_empty, counter, stats)
    procs = [Fixed(True, ITEMS // PRODUCERS, sh) for _ in range(PRODUCERS)] \
        + [Fixed(False, ITEMS // CONSUMERS, sh) for _ in range(CONSUMERS)]
    for p in procs:
        track(p).start()
    join_all(procs)
    assert list(stats) == [ITEMS, ITEMS]
    assert counter.value == 0


def without_lock():
    c = ctx.Condition()
    raises(AssertionError, c.wait, 0)
    raises(AssertionError, c.notify_all)
    with c:
        assert c.wait_for(lambda: False, 0) is False


def through_signals():
    c = ctx.Condition()
    assert c.acquire(timeout=0)

    def wake():
        with c:
            c.notify_all()

    assert wait_through_signals(lambda: c.wait(scale(30)), wake, 3)
    c.release()


def main():
    document_structure()
    one_lock_counts_exactly()
    without_lock()
    through_signals()


if __name__ == "__main__":
    run("EX-004-01", main)

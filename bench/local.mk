# Benchmarks (docs/performance.md).  `make bench` builds mproc-bench and
# prints libmproc beside the plain-POSIX lower bound and CPython's
# multiprocessing; `make bench-scaling` prints how each workload scales.
# Neither is part of `make check`: benchmarks report, they never fail.
EXTRA_PROGRAMS += bench/mproc-bench
bench_mproc_bench_SOURCES = bench/bench.h bench/main.c bench/mproc.c \
	bench/posix.c bench/python.c
bench_mproc_bench_LDADD = ref/libmproc.la $(MSGPACK_LIBS) $(PTHREAD_LIBS)
CLEANFILES += bench/mproc-bench$(EXEEXT) bench/results.json \
	bench/scaling.json bench/scaling.svg
EXTRA_DIST += bench/bench.py bench/plot.py

# BENCH_REPS: repetitions of each workload; BENCH_QUICK=1 means one
# (a smoke test: no spread).
BENCH_REPS = 3
bench_run = reps=$(BENCH_REPS); test -z "$(BENCH_QUICK)" || reps=1; \
	set -- --reps $$reps; \
	test -z "$(PYTHON3)" || \
	  set -- "$$@" --python "$(PYTHON3)" --script $(srcdir)/bench/bench.py; \
	$(LIBTOOL) --mode=execute bench/mproc-bench$(EXEEXT) "$$@"

bench: bench/mproc-bench$(EXEEXT)
	@$(bench_run) --json bench/results.json
bench-scaling: bench/mproc-bench$(EXEEXT)
	@$(bench_run) --scaling --json bench/scaling.json
	@test -z "$(PYTHON3)" || \
	  $(PYTHON3) $(srcdir)/bench/plot.py bench/scaling.json bench/scaling.svg
.PHONY: bench bench-scaling

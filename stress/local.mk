# The stress harness (docs/stress.md).  `make check` runs the short pass
# (stress/short.test); `make stress` runs it on its own;
# `make stress-nightly` runs stress/nightly with STRESS_* settings;
# `make stress-mutants` shows that broken builds of the library fail it.
check_PROGRAMS += stress/mproc-stress
TESTS += stress/short.test
EXTRA_DIST += stress/short.test
dist_noinst_SCRIPTS += stress/nightly stress/mutants stress/plot-history

stress_mproc_stress_SOURCES = stress/stress.h stress/main.c stress/common.c \
	stress/chaos.c stress/leak.c stress/sync.c stress/msg.c stress/pool.c \
	stress/manager.c
stress_mproc_stress_LDADD = ref/libmproc.la $(PTHREAD_LIBS)

# Nightly settings (see docs/stress.md); empty means the script's default.
STRESS_DURATION =
STRESS_TOTAL =
STRESS_PROCS =
STRESS_CHAOS =
STRESS_SEED =
STRESS_OUT = stress-out
STRESS_VALGRIND =
stress_env = STRESS_BIN='$(abs_top_builddir)/stress/mproc-stress' \
	STRESS_LIBTOOL='$(abs_top_builddir)/libtool' \
	STRESS_DURATION='$(STRESS_DURATION)' STRESS_TOTAL='$(STRESS_TOTAL)' \
	STRESS_PROCS='$(STRESS_PROCS)' STRESS_CHAOS='$(STRESS_CHAOS)' \
	STRESS_SEED='$(STRESS_SEED)' STRESS_OUT='$(STRESS_OUT)' \
	STRESS_VALGRIND='$(STRESS_VALGRIND)' \
	STRESS_SUPP='$(abs_top_srcdir)/valgrind.supp'

stress: stress/mproc-stress$(EXEEXT)
	$(SHELL) $(top_srcdir)/stress/short.test
stress-nightly: stress/mproc-stress$(EXEEXT)
	$(stress_env) $(SHELL) $(top_srcdir)/stress/nightly
stress-mutants:
	CC='$(CC)' MSGPACK_CFLAGS='$(MSGPACK_CFLAGS)' MSGPACK_LIBS='$(MSGPACK_LIBS)' \
	PTHREAD_CFLAGS='$(PTHREAD_CFLAGS)' PTHREAD_LIBS='$(PTHREAD_LIBS)' \
	$(SHELL) $(top_srcdir)/stress/mutants $(top_srcdir) stress-mutants
.PHONY: stress stress-nightly stress-mutants
CLEANFILES += stress-short.xml stress-short.json
clean-stress:
	-rm -rf stress-mutants
.PHONY: clean-stress
clean-local: clean-stress

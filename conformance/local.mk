# The conformance suite: one Check program per primitive, each linking the
# shared harness.  `make check` runs them as tests; `make conformance` runs
# them through conformance/report, which prints the report by primitive and
# by catalogue example (docs/examples.md).
conformance_programs = \
	conformance/process \
	conformance/lock \
	conformance/semaphore \
	conformance/event \
	conformance/condition \
	conformance/barrier \
	conformance/value \
	conformance/obj \
	conformance/pipe \
	conformance/queue \
	conformance/pool \
	conformance/executor \
	conformance/manager

check_PROGRAMS += $(conformance_programs)
TESTS += $(conformance_programs)
dist_noinst_SCRIPTS += conformance/report conformance/driver
# Each conformance test becomes its own automake result (PASS, FAIL, SKIP for
# UNSUPPORTED and UNTESTED, ERROR for UNRESOLVED; conformance/driver says
# why).  LOG_DRIVER serves every test without an extension: the driver hands
# the others to automake's own.
LOG_DRIVER = $(SHELL) $(top_srcdir)/conformance/driver \
	$(top_srcdir)/build-aux/test-driver
EXTRA_DIST += conformance/README.md

conformance_harness = conformance/harness.c conformance/harness.h
conformance_cflags = $(AM_CFLAGS) $(CHECK_CFLAGS) \
	-DMPT_IMPL_UNSUPPORTED='"$(MPROC_IMPL_UNSUPPORTED)"'
# The implementation under test: the reference library, or the one named by
# ./configure MPROC_IMPL_CFLAGS=... MPROC_IMPL_LIBS=... (docs/validating.md).
# The suite sees only mproc.h and the library's exported symbols.
if OUTSIDE_IMPL
conformance_cppflags = $(MPROC_IMPL_CFLAGS)
conformance_impl = $(MPROC_IMPL_LIBS)
else
conformance_cppflags = -I$(top_srcdir)/ref
conformance_impl = ref/libmproc.la
endif
conformance_ldadd = $(conformance_impl) $(CHECK_LIBS) $(PTHREAD_LIBS)

conformance_process_SOURCES = conformance/process.c $(conformance_harness)
conformance_process_CFLAGS = $(conformance_cflags)
conformance_process_CPPFLAGS = $(conformance_cppflags)
conformance_process_LDADD = $(conformance_ldadd)

conformance_lock_SOURCES = conformance/lock.c $(conformance_harness)
conformance_lock_CFLAGS = $(conformance_cflags)
conformance_lock_CPPFLAGS = $(conformance_cppflags)
conformance_lock_LDADD = $(conformance_ldadd)

conformance_semaphore_SOURCES = conformance/semaphore.c $(conformance_harness)
conformance_semaphore_CFLAGS = $(conformance_cflags)
conformance_semaphore_CPPFLAGS = $(conformance_cppflags)
conformance_semaphore_LDADD = $(conformance_ldadd)

conformance_event_SOURCES = conformance/event.c $(conformance_harness)
conformance_event_CFLAGS = $(conformance_cflags)
conformance_event_CPPFLAGS = $(conformance_cppflags)
conformance_event_LDADD = $(conformance_ldadd)

conformance_condition_SOURCES = conformance/condition.c $(conformance_harness)
conformance_condition_CFLAGS = $(conformance_cflags)
conformance_condition_CPPFLAGS = $(conformance_cppflags)
conformance_condition_LDADD = $(conformance_ldadd)

conformance_barrier_SOURCES = conformance/barrier.c $(conformance_harness)
conformance_barrier_CFLAGS = $(conformance_cflags)
conformance_barrier_CPPFLAGS = $(conformance_cppflags)
conformance_barrier_LDADD = $(conformance_ldadd)

conformance_value_SOURCES = conformance/value.c $(conformance_harness)
conformance_value_CFLAGS = $(conformance_cflags)
conformance_value_CPPFLAGS = $(conformance_cppflags)
conformance_value_LDADD = $(conformance_ldadd)

conformance_obj_SOURCES = conformance/obj.c $(conformance_harness)
conformance_obj_CFLAGS = $(conformance_cflags)
conformance_obj_CPPFLAGS = $(conformance_cppflags)
conformance_obj_LDADD = $(conformance_ldadd)

conformance_pipe_SOURCES = conformance/pipe.c $(conformance_harness)
conformance_pipe_CFLAGS = $(conformance_cflags)
conformance_pipe_CPPFLAGS = $(conformance_cppflags)
conformance_pipe_LDADD = $(conformance_ldadd)

conformance_queue_SOURCES = conformance/queue.c $(conformance_harness)
conformance_queue_CFLAGS = $(conformance_cflags)
conformance_queue_CPPFLAGS = $(conformance_cppflags)
conformance_queue_LDADD = $(conformance_ldadd)

conformance_pool_SOURCES = conformance/pool.c $(conformance_harness)
conformance_pool_CFLAGS = $(conformance_cflags)
conformance_pool_CPPFLAGS = $(conformance_cppflags)
conformance_pool_LDADD = $(conformance_ldadd)

conformance_executor_SOURCES = conformance/executor.c $(conformance_harness)
conformance_executor_CFLAGS = $(conformance_cflags)
conformance_executor_CPPFLAGS = $(conformance_cppflags)
conformance_executor_LDADD = $(conformance_ldadd)

conformance_manager_SOURCES = conformance/manager.c $(conformance_harness)
conformance_manager_CFLAGS = $(conformance_cflags)
conformance_manager_CPPFLAGS = $(conformance_cppflags)
conformance_manager_LDADD = $(conformance_ldadd)

.PHONY: conformance
conformance: $(conformance_programs)
	$(SHELL) $(top_srcdir)/conformance/report $(top_builddir)

# The oracle (docs/oracle.md): every covered catalogue example as a Python
# script run against CPython's multiprocessing, asserting what the C tests
# assert.  `make oracle` runs them (skipped, exit 77, without python3).
oracle_scripts = \
	conformance/oracle/ex_000_01.py \
	conformance/oracle/ex_000_02.py \
	conformance/oracle/ex_000_03.py \
	conformance/oracle/ex_000_04.py \
	conformance/oracle/ex_000_05.py \
	conformance/oracle/ex_000_06.py \
	conformance/oracle/ex_000_07.py \
	conformance/oracle/ex_000_08.py \
	conformance/oracle/ex_000_09.py \
	conformance/oracle/ex_000_10.py \
	conformance/oracle/ex_000_11.py \
	conformance/oracle/ex_000_12.py \
	conformance/oracle/ex_000_13.py \
	conformance/oracle/ex_000_14.py \
	conformance/oracle/ex_000_15.py \
	conformance/oracle/ex_001_01.py \
	conformance/oracle/ex_001_02.py \
	conformance/oracle/ex_001_03.py \
	conformance/oracle/ex_001_04.py \
	conformance/oracle/ex_001_05.py \
	conformance/oracle/ex_002_01.py \
	conformance/oracle/ex_002_02.py \
	conformance/oracle/ex_002_03.py \
	conformance/oracle/ex_002_04.py \
	conformance/oracle/ex_002_05.py \
	conformance/oracle/ex_002_06.py \
	conformance/oracle/ex_002_07.py \
	conformance/oracle/ex_002_08.py \
	conformance/oracle/ex_002_09.py \
	conformance/oracle/ex_002_10.py \
	conformance/oracle/ex_002_11.py \
	conformance/oracle/ex_002_12.py \
	conformance/oracle/ex_002_13.py \
	conformance/oracle/ex_002_14.py \
	conformance/oracle/ex_002_15.py \
	conformance/oracle/ex_002_16.py \
	conformance/oracle/ex_002_17.py \
	conformance/oracle/ex_002_18.py \
	conformance/oracle/ex_003_02.py \
	conformance/oracle/ex_003_03.py \
	conformance/oracle/ex_003_04.py \
	conformance/oracle/ex_003_05.py \
	conformance/oracle/ex_003_06.py \
	conformance/oracle/ex_003_07.py \
	conformance/oracle/ex_003_08.py \
	conformance/oracle/ex_003_11.py \
	conformance/oracle/ex_003_12.py \
	conformance/oracle/ex_004_01.py \
	conformance/oracle/ex_004_02.py \
	conformance/oracle/ex_004_03.py
dist_noinst_SCRIPTS += conformance/oracle/run
EXTRA_DIST += $(oracle_scripts) \
	conformance/oracle/oracle_lib.py \
	conformance/oracle/pipe_eof.py

.PHONY: oracle
oracle:
	$(SHELL) $(top_srcdir)/conformance/oracle/run $(top_srcdir)/conformance/oracle

# make conformance-demo: the outside-implementation path end to end
# (conformance/demo): this build's library installed under
# conformance/outside/inst, a second build against it with the manager
# declared unsupported, both reports side by side in
# conformance/outside/side-by-side.html.
dist_noinst_SCRIPTS += conformance/demo
.PHONY: conformance-demo clean-conformance
conformance-demo: all
	MAKE='$(MAKE)' $(SHELL) $(top_srcdir)/conformance/demo \
	  '$(abs_top_srcdir)' '$(abs_top_builddir)' '$(libdir)' \
	  '$(includedir)' '$(CC)'
clean-local: clean-conformance
clean-conformance:
	-rm -rf conformance/results conformance/outside

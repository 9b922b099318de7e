# libmproc: the reference implementation of ref/mproc.h.
lib_LTLIBRARIES += ref/libmproc.la
include_HEADERS += ref/mproc.h

ref_libmproc_la_SOURCES = \
	ref/internal.h \
	ref/error.c \
	ref/clock.c \
	ref/futex.c \
	ref/owner.c \
	ref/shm.c \
	ref/process.c \
	ref/lock.c \
	ref/semaphore.c \
	ref/event.c \
	ref/condition.c \
	ref/barrier.c \
	ref/value.c \
	ref/obj.c \
	ref/codec.c \
	ref/connection.c \
	ref/queue.c \
	ref/fdtrack.c \
	ref/workers.h \
	ref/workers.c \
	ref/pool.c \
	ref/executor.c \
	ref/hmac.c \
	ref/manager.h \
	ref/manager.c \
	ref/manager_server.c
ref_libmproc_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
ref_libmproc_la_LIBADD = $(MSGPACK_LIBS) $(PTHREAD_LIBS)
ref_libmproc_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined

# Unit tests of the reference library itself (not part of the conformance
# suite: they know how this implementation allocates).
check_PROGRAMS += ref/tests/oom ref/tests/errors
TESTS += ref/tests/oom ref/tests/errors
ref_tests_oom_SOURCES = ref/tests/oom.c ref/tests/alloc_wrap.h
ref_tests_oom_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_oom_LDFLAGS = $(AM_LDFLAGS) -static \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
ref_tests_oom_LDADD = ref/libmproc.la $(MSGPACK_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
ref_tests_errors_SOURCES = ref/tests/errors.c
ref_tests_errors_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_errors_LDADD = ref/libmproc.la $(CHECK_LIBS)

# The manager's wire protocol spoken by hand, and a fake server for the
# client's side (static: it uses the internal HMAC and connection wrapper).
check_PROGRAMS += ref/tests/manager_protocol
TESTS += ref/tests/manager_protocol
ref_tests_manager_protocol_SOURCES = ref/tests/manager_protocol.c ref/tests/timing.h
ref_tests_manager_protocol_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_manager_protocol_LDFLAGS = $(AM_LDFLAGS) -static
ref_tests_manager_protocol_LDADD = ref/libmproc.la $(MSGPACK_LIBS) $(CHECK_LIBS) \
	$(PTHREAD_LIBS) -lm

# Fault injection in the manager's client, and in the library's other
# processes (the manager's server, pool workers, a process's child: forks
# of the test, so wrapped too).
check_PROGRAMS += ref/tests/oom_processes
TESTS += ref/tests/oom_processes
ref_tests_oom_processes_SOURCES = ref/tests/oom_processes.c ref/tests/alloc_wrap.h ref/tests/timing.h
ref_tests_oom_processes_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_oom_processes_LDFLAGS = $(AM_LDFLAGS) -static \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free \
	-Wl,--wrap=mproc_process_exit
ref_tests_oom_processes_LDADD = ref/libmproc.la $(MSGPACK_LIBS) $(CHECK_LIBS) \
	$(PTHREAD_LIBS)

# Out of descriptors, address space or temporary directory, by resource
# limits; and an application's own fork.  -fno-builtin-fork keeps that
# fork() the plain one in coverage builds (-fprofile-arcs turns fork() into
# __gcov_fork, which resets the child's counters after the fork hook ran).
check_PROGRAMS += ref/tests/resources
TESTS += ref/tests/resources
ref_tests_resources_SOURCES = ref/tests/resources.c ref/tests/timing.h
ref_tests_resources_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -fno-builtin-fork
ref_tests_resources_LDADD = ref/libmproc.la $(CHECK_LIBS)

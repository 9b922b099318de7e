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
ref_tests_oom_SOURCES = ref/tests/oom.c
ref_tests_oom_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_oom_LDFLAGS = $(AM_LDFLAGS) -static \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
ref_tests_oom_LDADD = ref/libmproc.la $(MSGPACK_LIBS) $(CHECK_LIBS) $(PTHREAD_LIBS)
ref_tests_errors_SOURCES = ref/tests/errors.c
ref_tests_errors_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ref_tests_errors_LDADD = ref/libmproc.la $(CHECK_LIBS)

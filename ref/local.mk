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

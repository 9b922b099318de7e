# Fuzz targets (docs/fuzzing.md).  `make check` replays each target's saved
# corpus (fuzz/corpus/<target>/) through the plain driver fuzz/replay.c;
# `make fuzz` builds the targets with clang's libFuzzer and the address and
# undefined-behaviour sanitizers and fuzzes each for FUZZ_SECONDS;
# `make fuzz-afl` does the same with AFL++.
fuzz_replay_programs = \
	fuzz/replay-codec \
	fuzz/replay-conn \
	fuzz/replay-manager \
	fuzz/replay-manager-inproc \
	fuzz/replay-ops

check_PROGRAMS += $(fuzz_replay_programs)
TESTS += $(fuzz_replay_programs)

# Statically linked: the manager targets use the library's internal
# functions (HMAC, the server's request handling).
fuzz_common = fuzz/fuzz.h fuzz/util.c fuzz/replay.c
fuzz_ldflags = $(AM_LDFLAGS) -static
fuzz_ldadd = ref/libmproc.la $(MSGPACK_LIBS) $(PTHREAD_LIBS)
fuzz_corpus = $(abs_top_srcdir)/fuzz/corpus

fuzz_replay_codec_SOURCES = fuzz/codec.c $(fuzz_common)
fuzz_replay_codec_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(fuzz_corpus)/codec"'
fuzz_replay_codec_LDFLAGS = $(fuzz_ldflags)
fuzz_replay_codec_LDADD = $(fuzz_ldadd)

fuzz_replay_conn_SOURCES = fuzz/conn.c $(fuzz_common)
fuzz_replay_conn_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(fuzz_corpus)/conn"'
fuzz_replay_conn_LDFLAGS = $(fuzz_ldflags)
fuzz_replay_conn_LDADD = $(fuzz_ldadd)

fuzz_replay_manager_SOURCES = fuzz/manager.c $(fuzz_common)
fuzz_replay_manager_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(fuzz_corpus)/manager"'
fuzz_replay_manager_LDFLAGS = $(fuzz_ldflags)
fuzz_replay_manager_LDADD = $(fuzz_ldadd)

fuzz_replay_manager_inproc_SOURCES = fuzz/manager.c $(fuzz_common)
fuzz_replay_manager_inproc_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MANAGER_INPROC \
	-DFUZZ_CORPUS_DIR='"$(fuzz_corpus)/manager-inproc"'
fuzz_replay_manager_inproc_LDFLAGS = $(fuzz_ldflags)
fuzz_replay_manager_inproc_LDADD = $(fuzz_ldadd)

fuzz_replay_ops_SOURCES = fuzz/ops.c $(fuzz_common)
fuzz_replay_ops_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR='"$(fuzz_corpus)/ops"'
fuzz_replay_ops_LDFLAGS = $(fuzz_ldflags)
fuzz_replay_ops_LDADD = $(fuzz_ldadd)

# The seed generator: `make fuzz-seeds` rewrites the generated seeds.
EXTRA_PROGRAMS = fuzz/gen-seeds
fuzz_gen_seeds_SOURCES = fuzz/gen-seeds.c
fuzz_gen_seeds_LDFLAGS = $(fuzz_ldflags)
fuzz_gen_seeds_LDADD = $(fuzz_ldadd)
CLEANFILES += fuzz/gen-seeds$(EXEEXT)

EXTRA_DIST += fuzz/corpus fuzz/fuzz.sh

FUZZ_SECONDS = 60
FUZZ_TARGETS = codec conn manager manager-inproc ops
FUZZ_CC = clang
FUZZ_AFL_CC = afl-clang-fast
FUZZ_FLAGS =
fuzz_env = srcdir='$(abs_top_srcdir)' builddir='$(abs_top_builddir)' \
	LIB_SOURCES='$(ref_libmproc_la_SOURCES)' \
	MSGPACK_CFLAGS='$(MSGPACK_CFLAGS)' MSGPACK_LIBS='$(MSGPACK_LIBS)' \
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_FLAGS='$(FUZZ_FLAGS)'

fuzz:
	$(fuzz_env) CC='$(FUZZ_CC)' $(SHELL) $(top_srcdir)/fuzz/fuzz.sh run $(FUZZ_TARGETS)
fuzz-build:
	$(fuzz_env) CC='$(FUZZ_CC)' $(SHELL) $(top_srcdir)/fuzz/fuzz.sh build $(FUZZ_TARGETS)
fuzz-afl:
	$(fuzz_env) CC='$(FUZZ_AFL_CC)' $(SHELL) $(top_srcdir)/fuzz/fuzz.sh afl $(FUZZ_TARGETS)
fuzz-seeds: fuzz/gen-seeds$(EXEEXT)
	fuzz/gen-seeds$(EXEEXT) $(top_srcdir)/fuzz/corpus
clean-fuzz:
	-rm -rf fuzz/lf fuzz/afl fuzz/work fuzz/afl-work
.PHONY: fuzz fuzz-build fuzz-afl fuzz-seeds clean-fuzz
# `make clean` removes the fuzz builds and work directories too.
clean-local: clean-fuzz

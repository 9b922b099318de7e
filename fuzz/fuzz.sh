#!/bin/sh
# Builds and runs the fuzz targets (docs/fuzzing.md).  Called by `make fuzz`,
# `make fuzz-build` and `make fuzz-afl` (fuzz/local.mk), which pass:
#   srcdir builddir      absolute source and build directories (configured)
#   CC                   clang for libFuzzer, afl-clang-fast for AFL++
#   LIB_SOURCES          ref_libmproc_la_SOURCES (only the .c files count)
#   MSGPACK_CFLAGS MSGPACK_LIBS
#   FUZZ_SECONDS         seconds per target (default 60)
#   FUZZ_FLAGS           extra libFuzzer flags (e.g. -seed=1 -jobs=1 -workers=1)
#
#   fuzz.sh build TARGET...   libFuzzer binaries in $builddir/fuzz/lf/
#   fuzz.sh run TARGET...     build, then fuzz each target in turn, one
#                             process at a time; a finding is minimised and
#                             copied into $srcdir/fuzz/corpus/TARGET/
#   fuzz.sh afl TARGET...     the same with AFL++ (afl-clang-fast, afl-fuzz)
#
# The last lines printed are a summary: per target the executions (from
# libFuzzer's final stats), the corpus size and the outcome.  Exit status 0
# iff no target found anything.
set -u

: "${srcdir:?}" "${builddir:?}" "${CC:=clang}" "${LIB_SOURCES:?}"
: "${MSGPACK_CFLAGS=}" "${MSGPACK_LIBS=-lmsgpackc}" "${FUZZ_SECONDS:=60}"
: "${FUZZ_FLAGS=}"

mode=${1:?usage: fuzz.sh build|run|afl TARGET...}
shift
targets=${*:-codec conn manager manager-inproc ops}

# Per-target source, extra defines and libFuzzer options.
target_source() {
  case $1 in
    codec) echo codec.c ;;
    conn) echo conn.c ;;
    manager|manager-inproc) echo manager.c ;;
    ops) echo ops.c ;;
    *) echo "fuzz.sh: unknown target $1" >&2; return 1 ;;
  esac
}
target_defines() {
  case $1 in manager-inproc) echo -DFUZZ_MANAGER_INPROC ;; esac
}
target_options() {
  case $1 in
    codec) echo -max_len=4096 -malloc_limit_mb=64 -timeout=10 ;;
    conn) echo -max_len=4096 -malloc_limit_mb=64 -timeout=10 ;;
    manager) echo -max_len=4096 -timeout=30 ;;
    manager-inproc) echo -max_len=4096 -timeout=10 ;;
    ops) echo -max_len=131 -timeout=30 ;;
  esac
}

case $mode in
  afl) kind=afl ;;
  *) kind=lf ;;
esac
out=$builddir/fuzz/$kind
mkdir -p "$out/obj" || exit 1

if [ $kind = afl ]; then
  # afl-clang-fast instruments; AFL_USE_ASAN/UBSAN add the sanitizers.
  AFL_USE_ASAN=1 AFL_USE_UBSAN=1
  export AFL_USE_ASAN AFL_USE_UBSAN
  cflags_lib="-g -O1"
  ldflags_fuzzer="-fsanitize=fuzzer"
else
  san="-fsanitize=address,undefined -fno-sanitize-recover=all"
  cflags_lib="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san"
  ldflags_fuzzer="-fsanitize=fuzzer $san"
fi
common="-std=gnu11 -pthread -Wall -Wextra -I$builddir -I$srcdir/ref $MSGPACK_CFLAGS"

# Compiles $1 into $2 unless $2 is newer than it and every header.
compile() {
  src=$1 obj=$2
  shift 2
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ "$obj" -nt "$builddir/config.h" ]; then
    stale=no
    for h in "$srcdir"/ref/*.h "$srcdir"/fuzz/*.h; do
      [ "$h" -nt "$obj" ] && stale=yes
    done
    # The in-process manager target compiles the server's source too.
    case $obj in *manager*) [ "$srcdir/ref/manager_server.c" -nt "$obj" ] && stale=yes ;; esac
    [ $stale = no ] && return 0
  fi
  echo "  CC       $obj"
  $CC $common $cflags_lib "$@" -c "$src" -o "$obj"
}

build() {
  libobjs=
  for s in $LIB_SOURCES; do
    case $s in *.c) ;; *) continue ;; esac
    o=$out/obj/lib-$(basename "$s" .c).o
    compile "$srcdir/$s" "$o" || return 1
    libobjs="$libobjs $o"
  done
  compile "$srcdir/fuzz/util.c" "$out/obj/util.o" || return 1
  for t in $targets; do
    src=$(target_source "$t") || return 1
    o=$out/obj/target-$t.o
    # shellcheck disable=SC2046
    compile "$srcdir/fuzz/$src" "$o" $(target_defines "$t") || return 1
    bin=$out/fuzz-$t
    relink=no
    for dep in "$o" "$out/obj/util.o" $libobjs; do
      [ "$dep" -nt "$bin" ] && relink=yes
    done
    if [ ! -x "$bin" ] || [ $relink = yes ]; then
      echo "  CCLD     $bin"
      # shellcheck disable=SC2086
      $CC $common $ldflags_fuzzer -o "$bin" "$o" "$out/obj/util.o" $libobjs \
        $MSGPACK_LIBS -lm || return 1
    fi
  done
}

echo "fuzz.sh: building the $kind targets with $CC in $out"
build || { echo "fuzz.sh: build failed" >&2; exit 1; }
[ "$mode" = build ] && exit 0

summary=
status=0
note() { summary="$summary$(printf '%-15s %s' "$1" "$2")
"; }

run_libfuzzer() {
  t=$1
  bin=$out/fuzz-$t
  work=$builddir/fuzz/work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  log=$work/fuzz.log
  seeds=$srcdir/fuzz/corpus/$t
  echo "fuzz.sh: $t for $FUZZ_SECONDS s (log: $log)"
  before=$(ls "$work/artifacts" | wc -l)
  # One process (no -jobs/-workers: a single worker in this process).
  # Leaks and timeouts must not exit with libFuzzer's 77/70.
  # shellcheck disable=SC2046,SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" $(target_options "$t") -max_total_time="$FUZZ_SECONDS" \
      -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" $FUZZ_FLAGS \
      "$work/corpus" "$seeds" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(ls "$work/corpus" | wc -l)
  leak=no
  grep -q 'ERROR: LeakSanitizer' "$log" && leak=yes
  outcome=ok
  if [ $rc -ne 0 ] || [ $leak = yes ]; then
    outcome="FAILED (exit $rc, leak: $leak)"
    status=1
    art=$(ls -t "$work/artifacts" | head -n 1)
    if [ -n "$art" ] && [ "$(ls "$work/artifacts" | wc -l)" -gt "$before" ]; then
      min=$work/artifacts/minimized-$art
      echo "fuzz.sh: $t: minimising $art"
      # shellcheck disable=SC2046
      "$bin" $(target_options "$t") -minimize_crash=1 -runs=20000 \
        -max_total_time=300 -error_exitcode=1 -timeout_exitcode=1 \
        -exact_artifact_path="$min" "$work/artifacts/$art" \
        > "$work/minimize.log" 2>&1
      [ -s "$min" ] || min=$work/artifacts/$art
      cp "$min" "$seeds/$art"
      outcome="$outcome: reproducer fuzz/corpus/$t/$art"
    fi
    grep -m 3 -E 'FUZZ FINDING|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log"
  fi
  grep -q 'libFuzzer disabled leak detection' "$log" &&
    outcome="$outcome (note: libFuzzer disabled per-input leak detection)"
  note "$t" "executions: ${execs:-?}, corpus: $corpus, $outcome"
}

run_afl() {
  t=$1
  bin=$out/fuzz-$t
  work=$builddir/fuzz/afl-work/$t
  mkdir -p "$work"
  log=$work/afl.log
  echo "fuzz.sh: $t under AFL++ for $FUZZ_SECONDS s (log: $log)"
  AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
  AFL_NO_AFFINITY=1 \
    afl-fuzz -i "$srcdir/fuzz/corpus/$t" -o "$work/out" -V "$FUZZ_SECONDS" \
      -m none -t 30000 -- "$bin" > "$log" 2>&1
  rc=$?
  stats=$work/out/default/fuzzer_stats
  execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null)
  crashes=$(ls "$work/out/default/crashes" 2>/dev/null | grep -vc README)
  hangs=$(ls "$work/out/default/hangs" 2>/dev/null | wc -l)
  outcome=ok
  if [ $rc -ne 0 ] || [ "${crashes:-0}" -gt 0 ] || [ "${hangs:-0}" -gt 0 ]; then
    outcome="FAILED (exit $rc, crashes: $crashes, hangs: $hangs; see $work/out/default)"
    status=1
  fi
  note "$t" "executions: ${execs:-?}, $outcome"
}

for t in $targets; do
  if [ $kind = afl ]; then run_afl "$t"; else run_libfuzzer "$t"; fi
done
echo "fuzz.sh: summary ($kind, $FUZZ_SECONDS s per target)"
printf '%s' "$summary"
exit $status

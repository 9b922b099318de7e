# Shared by the scripts in this directory: bootstrap the build system and
# configure an out-of-tree build under build/<name>.
top=$(cd "$(dirname "$0")/.." && pwd)

bootstrap() {
  if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
    (cd "$top" && autoreconf -fi)
  fi
}

# configure_build NAME [configure args...]: leaves the caller in build/NAME.
configure_build() {
  name=$1; shift
  mkdir -p "$top/build/$name"
  cd "$top/build/$name"
  if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
    "$top/configure" -q "$@"
  fi
}

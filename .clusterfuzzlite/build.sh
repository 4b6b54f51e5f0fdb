#!/bin/bash -eu
# Builds every fuzz target (targets/<name>.c) for ClusterFuzzLite / OSS-Fuzz
# into $OUT, with <name>.dict, <name>.options and <name>_seed_corpus.zip
# beside each binary. Runs inside the base-builder image (compile) and
# outside it: every variable the builder sets has a default here, and the
# build itself is CMake (SOCKCHECK_FUZZ_ENGINE = $LIB_FUZZING_ENGINE).
#   CC=clang CXX=clang++ CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out .clusterfuzzlite/build.sh

# The source tree: beside this script when it is run from a checkout, the
# working directory inside the builder image (the Dockerfile's WORKDIR).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -d "$here/../targets" ]; then
  root=$(cd "$here/.." && pwd)
elif [ -d "$PWD/targets" ]; then
  root=$PWD
else
  root=${SRC:-/src}/sockcheck
fi

CC=${CC:-clang}
CXX=${CXX:-clang++}
CFLAGS=${CFLAGS:--O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link}
CXXFLAGS=${CXXFLAGS:-$CFLAGS}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:-$root/build/cflite-out}
WORK=${WORK:-$root/build/cflite-work}
export CC CXX CFLAGS CXXFLAGS

# Fuzzing builds get a deterministic library (OpenSSL, systemd do the same).
case " $CFLAGS " in
  *FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION*) ;;
  *) CFLAGS="$CFLAGS -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION" ;;
esac

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
build="$WORK/sockcheck-build"
mkdir -p "$OUT" "$build"
OUT=$(cd "$OUT" && pwd)

# The sanitizers and coverage flags come in CFLAGS; the build adds none of
# its own (SOCKCHECK_SANITIZE empty) and no -O (empty build type).
cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE= -DBUILD_TESTING=ON -DSOCKCHECK_TESTS=OFF \
  -DSOCKCHECK_SANITIZE= -DSOCKCHECK_WERROR=OFF \
  -DSOCKCHECK_FUZZ=ON -DSOCKCHECK_FUZZ_ENGINE="$LIB_FUZZING_ENGINE"

names=()
for src in "$root"/targets/*.c; do
  name=$(basename "$src" .c)
  [ "$name" = replay_main ] || names+=("$name")
done
cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" --target "${names[@]}"

# A flat zip of the corpus files (hidden entries skipped), with zip(1) or,
# where the image lacks it, Python's zipfile.
seed_zip() {
  local dir=$1 zipfile=$2
  rm -f "$zipfile"
  if command -v zip >/dev/null 2>&1; then
    (cd "$dir" && find . -maxdepth 1 -type f ! -name '.*' -print0 | xargs -0 -r zip -q -j "$zipfile")
  else
    python3 - "$dir" "$zipfile" <<'PY'
import os, sys, zipfile
d, z = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if not n.startswith(".") and os.path.isfile(p):
            f.write(p, n)
PY
  fi
}

for name in "${names[@]}"; do
  cp "$build/targets/$name" "$OUT/$name"
  for ext in dict options; do
    [ -f "$root/targets/$name.$ext" ] && cp "$root/targets/$name.$ext" "$OUT/"
  done
  if [ -d "$root/corpus/$name" ]; then
    seed_zip "$root/corpus/$name" "$OUT/${name}_seed_corpus.zip"
  fi
done
echo "build.sh: ${#names[@]} targets in $OUT: ${names[*]}"

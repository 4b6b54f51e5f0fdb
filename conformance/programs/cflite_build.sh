#!/usr/bin/env bash
# Checks .clusterfuzzlite/build.sh outside Docker, with the environment the
# OSS-Fuzz / ClusterFuzzLite builder sets: every target of targets/ and its
# seed corpus zip land in $OUT (with its .dict and .options), names are
# builder-safe, nothing else in $OUT is executable, each target carries
# coverage counters and ASan, and each runs 100 iterations from its seeds
# cleanly (the cheap parts of OSS-Fuzz's bad_build_check). When AFL++ is
# installed (afl-clang-fast, libAFLDriver.a), the same build.sh also makes
# AFL++ binaries, and each must run a seed.
# Exit 0: all good; 1: a check failed; 77: skipped (no clang/libFuzzer).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v clang >/dev/null 2>&1 || ! command -v clang++ >/dev/null 2>&1; then
  echo "cflite_build: SKIP: clang/clang++ not installed"
  exit 77
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! clang -fsanitize=fuzzer "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
  echo "cflite_build: SKIP: clang cannot link libFuzzer (libclang-rt-*-dev missing)"
  exit 77
fi

out="$tmp/out"
mkdir -p "$out" "$tmp/work"
echo "cflite_build: building into $out"
if ! env CC=clang CXX=clang++ CFLAGS="-fsanitize=address,fuzzer-no-link" \
     CXXFLAGS="-fsanitize=address,fuzzer-no-link" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
     OUT="$out" SRC="$root/.." WORK="$tmp/work" "$root/.clusterfuzzlite/build.sh" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log"
  echo "cflite_build: FAIL: build.sh failed"
  exit 1
fi

failed=0
fail() {
  echo "cflite_build: FAIL: $*"
  failed=1
}

names=()
for src in "$root"/targets/*.c; do
  name=$(basename "$src" .c)
  [ "$name" = replay_main ] || names+=("$name")
done
[ ${#names[@]} -gt 0 ] || fail "no targets found in $root/targets"

for name in "${names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || fail "$name: not a builder-safe name"
  bin="$out/$name"
  [ -x "$bin" ] || { fail "$name: no executable in \$OUT"; continue; }
  zipfile="$out/${name}_seed_corpus.zip"
  [ -f "$zipfile" ] || fail "$name: no ${name}_seed_corpus.zip"
  for ext in dict options; do
    if [ -f "$root/targets/$name.$ext" ] && [ ! -f "$out/$name.$ext" ]; then
      fail "$name: $name.$ext not copied"
    fi
  done
  seeds="$tmp/seeds-$name"
  mkdir -p "$seeds"
  [ -f "$zipfile" ] && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$zipfile" "$seeds"
  nseeds=$(find "$seeds" -type f | wc -l)
  [ "$nseeds" -gt 0 ] || fail "$name: empty seed corpus"
  log="$tmp/run-$name.log"
  if ! (cd "$tmp" && "$bin" -runs=100 -seed=1337 -timeout=25 -rss_limit_mb=2560 "$seeds" >"$log" 2>&1); then
    tail -30 "$log"
    fail "$name: did not run 100 iterations cleanly"
    continue
  fi
  # With more seeds than runs, libFuzzer still executes every seed and
  # reports that count ("Done 406 runs").
  grep -qE "^Done [0-9]+ runs" "$log" || fail "$name: no 'Done N runs' line"
  counters=$(sed -n 's/^INFO: Loaded [0-9]* modules *(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)
  [ "${counters:-0}" -ge 100 ] || fail "$name: only ${counters:-0} coverage counters (bad build)"
  if command -v objdump >/dev/null 2>&1; then
    asan=$(objdump -d "$bin" | grep -c 'call.*__asan' || true)
    [ "$asan" -ge 1000 ] || fail "$name: only $asan ASan calls (not an ASan build?)"
  fi
  echo "cflite_build: ok $name ($nseeds seeds, ${counters} counters)"
done

# Only the targets are executable in $OUT (the builder runs every one).
while IFS= read -r -d '' f; do
  base=$(basename "$f")
  printf '%s\n' "${names[@]}" | grep -qx "$base" || fail "unexpected executable in \$OUT: $base"
done < <(find "$out" -maxdepth 1 -type f -perm -u+x -print0)

# AFL++ (optional): the same targets linked with libAFLDriver.a, so that a
# campaign can mix engines.
afl_driver=$(ls /usr/lib/afl/libAFLDriver.a /usr/local/lib/afl/libAFLDriver.a 2>/dev/null | head -1 || true)
if command -v afl-clang-fast >/dev/null 2>&1 && [ -n "$afl_driver" ]; then
  afl_out="$tmp/afl-out"
  mkdir -p "$afl_out" "$tmp/afl-work"
  if env CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS="-O1 -g" CXXFLAGS="-O1 -g" AFL_QUIET=1 \
       LIB_FUZZING_ENGINE="$afl_driver" OUT="$afl_out" WORK="$tmp/afl-work" \
       "$root/.clusterfuzzlite/build.sh" >"$tmp/afl-build.log" 2>&1; then
    for name in "${names[@]}"; do
      # sed reads to the end: head would leave sort writing into a closed
      # pipe, and its SIGPIPE under pipefail ended this script at random.
      seed=$(find "$root/corpus/$name" -maxdepth 1 -type f ! -name '.*' | sort | sed -n 1p)
      if [ ! -x "$afl_out/$name" ]; then
        fail "$name: no AFL++ binary"
      elif ! "$afl_out/$name" "$seed" >"$tmp/afl-$name.log" 2>&1; then
        tail -20 "$tmp/afl-$name.log"
        fail "$name: the AFL++ binary failed on $seed"
      else
        echo "cflite_build: ok $name (AFL++, libAFLDriver)"
      fi
    done
  else
    tail -30 "$tmp/afl-build.log"
    fail "build.sh with afl-clang-fast failed"
  fi
else
  echo "cflite_build: AFL++ not installed: AFL++ build not checked"
fi

[ "$failed" -eq 0 ] && echo "cflite_build: all ${#names[@]} targets ok"
exit "$failed"

# shellcheck shell=bash
# Shared by the program tests (client_cli.sh, server_cli.sh, wine_echo.sh):
# a scratch directory and the processes to stop, both cleaned up at exit;
# TAP-like ok/no lines with their counts; check; wait_file. Sourced.

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { # check NAME WANT_RC WANT_REGEX CMD...: exit code and output (stdout and stderr)
  local name=$1 want=$2 re=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$out"; then ok "$name"; else no "$name (exit $rc, want $want; output: ${out:0:2000})"; fi
}
# Waits (bounded) until FILE is non-empty; polls with a 50 ms read timeout.
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; read -r -t 0.05 <> <(:) 2>/dev/null || true; done; return 1; }

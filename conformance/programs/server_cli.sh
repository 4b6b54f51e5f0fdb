#!/usr/bin/env bash
# The sockcheck-server program: --help/--version, exit codes and messages
# for bad input, port file, and SIGTERM drain. Usage: server_cli.sh BINDIR
set -uo pipefail
bin="$1/sockcheck-server"
client="$1/sockcheck-client"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { # check NAME WANT_RC WANT_REGEX CMD...
  local name=$1 want=$2 re=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$out"; then ok "$name"; else no "$name (exit $rc, want $want; output: $out)"; fi
}
# Waits (bounded) until FILE is non-empty; polls with a 50 ms read timeout.
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; read -r -t 0.05 <> <(:) 2>/dev/null || true; done; return 1; }

check "help" 0 "usage: sockcheck-server" "$bin" --help
check "version" 0 "^sockcheck-server [0-9]+\.[0-9]+\.[0-9]+" "$bin" --version
check "unknown option" 2 "unrecognized option|usage" "$bin" --bogus
check "stray argument" 2 "unexpected argument 'extra'" "$bin" extra
check "malformed address" 2 "address '1.2.3.4.5:7': malformed address" "$bin" --listen 1.2.3.4.5:7
check "bad port" 2 "address '127.0.0.1:70000': port" "$bin" --listen 127.0.0.1:70000
check "bad max-conns" 2 "max-conns" "$bin" --max-conns lots
check "buffer too small" 2 "buffer must be at least 512" "$bin" --buffer 10

# A port in use: the first server holds it, the second names the call.
"$bin" --listen 127.0.0.1:0 --tcp --port-file "$tmp/port" >"$tmp/out1" 2>&1 &
pids+=($!); first=$!
if wait_file "$tmp/port"; then
  port=$(cat "$tmp/port")
  ok "port file written ($port)"
  grep -q "^listening tcp 127.0.0.1:$port$" "$tmp/out1" && ok "prints its listener" || no "prints its listener: $(cat "$tmp/out1")"
  check "port in use" 3 "bind tcp 127.0.0.1:$port: Address already in use" "$bin" --listen "127.0.0.1:$port" --tcp
  # SIGTERM: drains and exits 0.
  kill -TERM "$first"
  for _ in $(seq 200); do kill -0 "$first" 2>/dev/null || break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
  wait "$first"; rc=$?
  [ "$rc" -eq 0 ] && ok "SIGTERM exits 0" || no "SIGTERM exit $rc"
else
  no "port file never written: $(cat "$tmp/out1")"
fi

# Echo through the program with the reference client, when it is built.
if [ -x "$client" ]; then
  rm -f "$tmp/port"
  "$bin" --listen 127.0.0.1:0 --port-file "$tmp/port" -q &
  pids+=($!); srv=$!
  if wait_file "$tmp/port"; then
    port=$(cat "$tmp/port")
    got=$(printf 'hello over tcp' | "$client" pipe "127.0.0.1:$port" 2>&1)
    [ "$got" = "hello over tcp" ] && ok "tcp echo through the program" || no "tcp echo: '$got'"
    check "client verify tcp" 0 "" "$client" verify --count 3 --size 0,1,70000 "127.0.0.1:$port"
    check "client verify udp" 0 "" "$client" verify --udp --count 3 --size 0,1,1472 "127.0.0.1:$port"
  else
    no "second server did not start"
  fi
  kill -TERM "$srv"; wait "$srv"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

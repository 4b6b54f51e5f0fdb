#!/usr/bin/env bash
# The sockcheck-server program: --help/--version, exit codes and messages
# for bad input, port file, and SIGTERM drain. Usage: server_cli.sh BINDIR
set -uo pipefail
bin="$1/sockcheck-server"
client="$1/sockcheck-client"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check "help" 0 "usage: sockcheck-server" "$bin" --help
check "version" 0 "^sockcheck-server [0-9]+\.[0-9]+\.[0-9]+" "$bin" --version
check "unknown option" 2 "unrecognized option|usage" "$bin" --bogus
check "stray argument" 2 "unexpected argument 'extra'" "$bin" extra
check "malformed address" 2 "address '1.2.3.4.5:7': malformed address" "$bin" --listen 1.2.3.4.5:7
check "bad port" 2 "address '127.0.0.1:70000': port" "$bin" --listen 127.0.0.1:70000
check "bad max-conns" 2 "max-conns" "$bin" --max-conns lots
check "buffer too small" 2 "buffer must be at least 512" "$bin" --buffer 10
check "short help" 0 "usage: sockcheck-server" "$bin" -h
check "short version" 0 "^sockcheck-server [0-9]+\.[0-9]+\.[0-9]+" "$bin" -V
check "unknown option: usage on stderr" 2 "^usage: sockcheck-server" sh -c '"$1" --bogus 2>&1 >/dev/null' sh "$bin"
check "missing value" 2 "requires an argument.*listen|listen.*requires an argument" "$bin" --listen
check "max-conns 0" 2 "--max-conns must be at least 1" "$bin" --max-conns 0
check "max-conns negative" 2 "--max-conns '-1': expected a whole number from 0 to 10000000" "$bin" --max-conns -1
check "max-conns too big" 2 "--max-conns '10000001'" "$bin" --max-conns 10000001
check "max-conns trailing junk" 2 "--max-conns '5x'" "$bin" --max-conns 5x
check "max-conns out of range" 2 "--max-conns '99999999999999999999'" "$bin" --max-conns 99999999999999999999
check "buffer not a number" 2 "--buffer 'xyz': expected a whole number from 0 to 67108864" "$bin" --buffer xyz
check "buffer too big" 2 "--buffer '67108865'" "$bin" --buffer 67108865
check "max-buffered too small" 2 "--max-buffered must be at least 512" "$bin" --max-buffered 100
check "max-buffered not a number" 2 "--max-buffered 'lots': expected a whole number from 0 to 1099511627776" \
  "$bin" --max-buffered lots
check "idle-timeout not a number" 2 "--idle-timeout 'soon': expected a whole number from 0 to 86400000" \
  "$bin" --idle-timeout soon
check "drain-timeout not a number" 2 "--drain-timeout '': expected a whole number" "$bin" --drain-timeout ''
check "udp-rate too big" 2 "--udp-rate '100000001': expected a whole number from 0 to 100000000" \
  "$bin" --udp-rate 100000001
# A value that does not parse says so once: the range check of the option
# must not run on what an earlier option left behind.
out=$("$bin" --max-conns 7 --buffer xyz 2>&1); rc=$?
if [ "$rc" -eq 2 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q -- "--buffer 'xyz'" <<<"$out"; then
  ok "bad --buffer after a good option: one message"
else no "bad --buffer after a good option (exit $rc): $out"; fi
out=$("$bin" --buffer 600 --max-conns zero 2>&1); rc=$?
if [ "$rc" -eq 2 ] && [ "$(grep -c . <<<"$out")" -eq 1 ] && grep -q -- "--max-conns 'zero'" <<<"$out"; then
  ok "bad --max-conns after a good option: one message"
else no "bad --max-conns after a good option (exit $rc): $out"; fi
many=()
for _ in $(seq 17); do many+=(--listen 127.0.0.1:0); done
check "17 listeners" 2 "--listen: at most 16 addresses" "$bin" "${many[@]}"
check "unclosed bracket" 2 "address '\[::1': malformed address" "$bin" --listen '[::1'
check "empty port" 2 "address '127.0.0.1:': port missing or out of range" "$bin" --listen 127.0.0.1:
long=$(printf '%04100d' 0)
check "port file name too long" 3 "write --port-file .*: File name too long" \
  "$bin" --listen 127.0.0.1:0 --tcp -q --port-file "$tmp/$long"
check "port file in a missing directory" 3 "write --port-file $tmp/nodir/port: No such file or directory" \
  "$bin" --listen 127.0.0.1:0 --tcp -q --port-file "$tmp/nodir/port"
# The temporary file is written, but renaming it onto a directory fails;
# the temporary file is removed.
mkdir "$tmp/isdir"
check "port file is a directory" 3 "write --port-file $tmp/isdir: Is a directory" \
  "$bin" --listen 127.0.0.1:0 --udp -q --port-file "$tmp/isdir"
[ ! -e "$tmp/isdir.tmp" ] && ok "failed port file leaves no temporary file" || no "$tmp/isdir.tmp left behind"

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

# Drain: a client that keeps its connection open gets the server's FIN on
# the first SIGTERM; a second SIGTERM stops the server at once. The fd
# number is picked by bash ({fd}), /dev/tcp is bash's own.
rm -f "$tmp/port"
"$bin" --listen 127.0.0.1:0 --tcp --port-file "$tmp/port" --drain-timeout 60000 --max-conns 4 \
  --buffer 4096 --max-buffered 8192 >"$tmp/out2" 2>&1 &
pids+=($!); srv=$!
if wait_file "$tmp/port"; then
  port=$(cat "$tmp/port")
  if exec {conn}<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'ping' >&"$conn"
    read -r -t 5 -N 4 -u "$conn" got; [ "${got:-}" = ping ] && ok "drain: echo before the signal" || no "drain: echo '${got:-}'"
    kill -TERM "$srv"
    # EOF (status 1, nothing read) within 5 s, not a timeout (status > 128).
    read -r -t 5 -N 1 -u "$conn" got; st=$?
    [ "$st" -eq 1 ] && ok "drain: first SIGTERM sends FIN" || no "drain: read after SIGTERM status $st"
    kill -0 "$srv" 2>/dev/null && ok "drain: still running for the open connection" || no "drain: exited with a connection open"
    kill -TERM "$srv"
    for _ in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
    wait "$srv"; rc=$?
    [ "$rc" -eq 0 ] && ok "drain: second SIGTERM exits 0 at once" || no "drain: second SIGTERM exit $rc"
    grep -q "stopped: 1 connections (peak 1)" "$tmp/out2" && ok "drain: prints its statistics" \
      || no "drain: statistics: $(cat "$tmp/out2")"
    exec {conn}>&-
  else
    no "drain: cannot connect to 127.0.0.1:$port"
  fi
else
  no "drain: port file never written: $(cat "$tmp/out2")"
fi

# --idle-timeout closes a silent client; --drain-timeout ends the drain of
# a client that never closes.
rm -f "$tmp/port"
"$bin" --listen 127.0.0.1:0 --tcp --port-file "$tmp/port" --idle-timeout 200 --drain-timeout 0 \
  --dual-stack >"$tmp/out3" 2>&1 &
pids+=($!); srv=$!
if wait_file "$tmp/port"; then
  port=$(cat "$tmp/port")
  if exec {conn}<>"/dev/tcp/127.0.0.1/$port"; then
    read -r -t 5 -N 1 -u "$conn" got; st=$?
    [ "$st" -eq 1 ] && ok "idle client closed by the server" || no "idle client: read status $st"
    exec {conn}>&-
  else
    no "idle: cannot connect"
  fi
  exec {conn}<>"/dev/tcp/127.0.0.1/$port"
  kill -TERM "$srv"
  for _ in $(seq 100); do kill -0 "$srv" 2>/dev/null || break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
  wait "$srv"; rc=$?
  [ "$rc" -eq 0 ] && ok "drain timeout: exits 0 with a client still open" || no "drain timeout: exit $rc"
  exec {conn}>&-
  grep -q "1 idle closed" "$tmp/out3" && ok "idle close counted" || no "idle close count: $(cat "$tmp/out3")"
else
  no "idle: port file never written: $(cat "$tmp/out3")"
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
  # UDP only, with a reply cap: TCP is refused.
  rm -f "$tmp/port"
  "$bin" -l 127.0.0.1:0 --udp --udp-rate 1000 --port-file "$tmp/port" -q &
  pids+=($!); srv=$!
  if wait_file "$tmp/port"; then
    port=$(cat "$tmp/port")
    check "--udp server echoes UDP" 0 "3 of 3 payloads echoed intact" "$client" verify --udp --size 1,2,3 "127.0.0.1:$port"
    check "--udp server has no TCP" 2 "Connection refused" "$client" verify --size 1 "127.0.0.1:$port"
  else
    no "UDP-only server did not start"
  fi
  kill -TERM "$srv"; wait "$srv"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

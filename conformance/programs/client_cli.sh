#!/usr/bin/env bash
# The sockcheck-client program: --help/--version, exit codes and messages
# (2 for usage errors and unreachable servers, 1 for a corrupted echo), and
# the pipe, verify and load modes against sockcheck-server.
# Usage: client_cli.sh BINDIR. Exit 0 all passed, 1 a check failed, 77 (CTest
# SKIP_RETURN_CODE) when python3 is missing.
set -uo pipefail
client="$1/sockcheck-client"
server="$1/sockcheck-server"
[ -x "$client" ] || { echo "client_cli.sh: $client not found"; exit 2; }
[ -x "$server" ] || { echo "client_cli.sh: $server not found"; exit 2; }
# python3 holds a refusing port and plays the corrupting peer.
command -v python3 >/dev/null || { echo "client_cli.sh: SKIP: python3 is needed"; exit 77; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
have_v6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have_v6=1

# ---- no server needed ----
check "help" 0 "^usage: sockcheck-client" "$client" --help
check "help after a mode" 0 "^usage: sockcheck-client" "$client" verify --help
check "version" 0 "^sockcheck-client [0-9]+\.[0-9]+\.[0-9]+$" "$client" --version
check "no mode" 2 "a mode is required" "$client"
check "unknown mode" 2 "unknown mode 'bogus'" "$client" bogus
check "missing target" 2 "HOST:PORT is required" "$client" verify
check "bad size" 2 "--size 'abc'" "$client" verify --size abc 127.0.0.1:9
check "udp payload too big" 2 "a UDP payload is at most" "$client" verify --udp --size 70000 127.0.0.1:9
check "malformed address" 2 "1\.2\.3\.4\.5" "$client" verify 1.2.3.4.5:7
check "short help" 0 "^usage: sockcheck-client" "$client" -h
check "short help after a mode" 0 "^usage: sockcheck-client" "$client" load --target 127.0.0.1:9 -h
check "short version" 0 "^sockcheck-client [0-9]+\.[0-9]+\.[0-9]+$" "$client" -V
# Each mode takes only its own options.
check "pipe takes no --count" 2 "pipe takes no --count" "$client" pipe --count 3 127.0.0.1:9
check "pipe takes no --size" 2 "pipe takes no --size" "$client" pipe --size 3 127.0.0.1:9
check "verify takes no --target" 2 "verify takes no --target" "$client" verify --target 127.0.0.1:9
check "verify takes no --json" 2 "verify takes no --json" "$client" verify --json 127.0.0.1:9
check "load takes no --udp" 2 "load takes no --udp" "$client" load --udp --target 127.0.0.1:9
check "load takes no --seed" 2 "load takes no --seed" "$client" load --seed 3 --target 127.0.0.1:9
# Values that do not parse name the option and the value.
usage_re="\(sockcheck-client --help for usage\)$"
check "bad --timeout" 2 "--timeout 'soon': expected milliseconds $usage_re" "$client" verify --timeout soon 127.0.0.1:9
check "--timeout too big" 2 "--timeout '86400001'" "$client" pipe --timeout 86400001 127.0.0.1:9
check "negative --count" 2 "--count '-3': expected a whole number" "$client" verify --count -3 127.0.0.1:9
check "--count out of range" 2 "--count '99999999999999999999'" "$client" verify --count 99999999999999999999 127.0.0.1:9
check "bad --seed" 2 "--seed '0x10': expected a whole number" "$client" verify --seed 0x10 127.0.0.1:9
check "--size over 1 GiB" 2 "--size '2048M'" "$client" verify --size 2048M 127.0.0.1:9
check "--size empty element" 2 "--size '1,,2': expected bytes \(K, M suffixes\), comma-separated" \
  "$client" verify --size 1,,2 127.0.0.1:9
check "--size unknown suffix" 2 "--size '5G'" "$client" verify --size 5G 127.0.0.1:9
check "--size element too long" 2 "--size '0000000000000000000000000000000001'" \
  "$client" verify --size 0000000000000000000000000000000001 127.0.0.1:9
sizes=$(printf '1,%.0s' $(seq 64))1
check "65 sizes" 2 "--size '1,1,1" "$client" verify --size "$sizes" 127.0.0.1:9
check "load takes one --size" 2 "--size '1,2': expected bytes \(K, M suffixes\) $usage_re" \
  "$client" load --size 1,2 --target 127.0.0.1:9
check "bad --proto" 2 "--proto 'sctp': expected tcp or udp" "$client" load --proto sctp --target 127.0.0.1:9
check "--conns 0" 2 "--conns '0': expected 1 to 1000000" "$client" load --conns 0 --target 127.0.0.1:9
check "--conns too many" 2 "--conns '1000001'" "$client" load --conns 1000001 --target 127.0.0.1:9
check "bad --mode" 2 "--mode 'burst': expected pingpong or stream" "$client" load --mode burst --target 127.0.0.1:9
check "bad --duration" 2 "--duration 'soon': expected seconds" "$client" load --duration soon --target 127.0.0.1:9
check "negative --duration" 2 "--duration '-1'" "$client" load --duration -1 --target 127.0.0.1:9
check "--duration trailing junk" 2 "--duration '5s'" "$client" load --duration 5s --target 127.0.0.1:9
check "--duration too long" 2 "--duration '2073601'" "$client" load --duration 2073601 --target 127.0.0.1:9
check "--interval too long" 2 "--interval '3600001': expected milliseconds" \
  "$client" load --interval 3600001 --target 127.0.0.1:9
check "--spread 0" 2 "--spread '0': expected 1 to 65536 addresses" "$client" load --spread 0 --target 127.0.0.1:9
check "--spread too many" 2 "--spread '65537'" "$client" load --spread 65537 --target 127.0.0.1:9
check "--connect-timeout 0" 2 "--connect-timeout '0': expected milliseconds" \
  "$client" load --connect-timeout 0 --target 127.0.0.1:9
check "option without its value" 2 "verify: --timeout needs a value" "$client" verify 127.0.0.1:9 --timeout
check "unknown option" 2 "verify: bad option --bogus" "$client" verify --bogus 127.0.0.1:9
check "two targets" 2 "verify: unexpected argument 127.0.0.1:10" "$client" verify 127.0.0.1:9 127.0.0.1:10
check "load takes no positional target" 2 "load: unexpected argument 127.0.0.1:9" "$client" load 127.0.0.1:9
check "load without --target" 2 "load: --target HOST:PORT is required" "$client" load --count 1
# HOST:PORT forms that are refused before any lookup.
long_host=$(printf 'h%.0s' $(seq 256))
for a in '[::1]7' '[::1' '::1:7' ':7' '127.0.0.1:' '127.0.0.1:12345678901234567' "$long_host:7"; do
  re_a=$(printf '%s' "${a:0:10}" | sed 's/[][\.*^$]/\\&/g')
  check "bad address '${a:0:20}'" 2 "bad address '$re_a.*': expected HOST:PORT or \[IPV6\]:PORT" \
    "$client" verify "$a"
done
check "pipe: unknown service" 2 "no usable address" "$client" pipe 127.0.0.1:notaport </dev/null
# load's own checks, made before it connects.
check "load udp: size below 8" 2 "--size 4: UDP load needs 8 to 65507 bytes" \
  "$client" load --proto udp --size 4 --target 127.0.0.1:9
check "load udp: size above 65507" 2 "--size 65508: UDP load needs 8 to 65507 bytes" \
  "$client" load --proto udp --size 65508 --target 127.0.0.1:9
check "load: size 0" 2 "--size 0: a load round trip needs at least one byte" \
  "$client" load --size 0 --target 127.0.0.1:9
check "load: --interval with stream" 2 "--interval applies to ping-pong only" \
  "$client" load --mode stream --interval 5 --target 127.0.0.1:9
check "load: --eof-ok with udp" 2 "--eof-ok applies to TCP only" "$client" load --proto udp --eof-ok --target 127.0.0.1:9
check "load udp: unknown service" 2 "resolve 127.0.0.1:notaport: no usable address found" \
  "$client" load --proto udp --target 127.0.0.1:notaport
check "load: --spread needs an IPv4 loopback target" 2 "--spread needs an IPv4 loopback target" \
  "$client" load --proto udp --spread 2 --target '[::1]:9'

# A port nobody listens on: held bound but not listening for TCP (connect
# is refused with a RST), and left unbound for UDP (ICMP port unreachable).
# The same helper holds a mute UDP port (bound, never read) and a mute TCP
# listener (never accepts: the kernel completes the handshake, nothing is
# ever echoed).
coproc HOLD { python3 -c '
import socket, sys
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(("127.0.0.1", 0))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(("127.0.0.1", 0))
l.listen(64)
print(t.getsockname()[1], u.getsockname()[1], l.getsockname()[1], flush=True)
sys.stdin.read()
'; }
pids+=("$HOLD_PID")
read -r -t 10 refused mute_udp mute_tcp <&"${HOLD[0]}" || refused=""
if [ -n "$refused" ]; then
  msg="connect 127\.0\.0\.1:$refused: Connection refused"
  check "verify: refused connection exits 2" 2 "$msg" "$client" verify "127.0.0.1:$refused"
  check "pipe: refused connection exits 2" 2 "$msg" "$client" pipe "127.0.0.1:$refused" </dev/null
  check "load: refused connection exits 2" 2 "$msg" "$client" load --target "127.0.0.1:$refused" --count 5
  check "verify udp: refused port exits 2" 2 "127\.0\.0\.1:$refused: Connection refused" \
    "$client" verify --udp "127.0.0.1:$refused"
  check "pipe udp: refused port exits 2" 2 "127\.0\.0\.1:$refused: Connection refused" \
    sh -c 'printf x | "$1" pipe --udp --timeout 2000 "$2"' sh "$client" "127.0.0.1:$refused"
  check "load udp: refused port exits 2" 2 "Connection refused" \
    "$client" load --proto udp --target "127.0.0.1:$refused" --count 5 --timeout 300
  # Silence is a failure (exit 1), not a usage error.
  check "verify udp: no echo exits 1" 1 "size=1 FAIL: .*\(sent 1, received 0\)" \
    "$client" verify --udp --size 1 --timeout 200 "127.0.0.1:$mute_udp"
  check "pipe udp: no echo exits 1" 1 "pipe: sent 5 bytes, 0 came back" \
    sh -c 'printf hello | "$1" pipe --udp --timeout 200 "$2"' sh "$client" "127.0.0.1:$mute_udp"
  check "verify tcp: no echo exits 1" 1 "verify 1/2 tcp size=10 FAIL: .*\(sent 10, received 0\)" \
    "$client" verify --size 10,20 --timeout 200 "127.0.0.1:$mute_tcp"
  check "load tcp: no echo at all exits 1" 1 "recv 127\.0\.0\.1:$mute_tcp: Connection timed out" \
    "$client" load --target "127.0.0.1:$mute_tcp" --duration 0.5 --timeout 200
  check "load udp: no echo at all exits 1" 1 "lost=" \
    "$client" load --proto udp --target "127.0.0.1:$mute_udp" --count 3 --timeout 200
else
  no "could not hold a refusing port"
fi

# ---- against sockcheck-server ----
# Port 0 gives each listener its own port and the port file names the
# first, so IPv6 gets a server of its own.
"$server" --listen 127.0.0.1:0 --port-file "$tmp/port" -q >"$tmp/server.out" 2>&1 &
srv=$!
pids+=("$srv")
if [ "$have_v6" -eq 1 ]; then
  "$server" --listen '[::1]:0' --port-file "$tmp/port6" -q >"$tmp/server6.out" 2>&1 &
  srv6=$!
  pids+=("$srv6")
fi
if wait_file "$tmp/port"; then
  port=$(cat "$tmp/port")
  t="127.0.0.1:$port"
  got=$(printf 'hello over tcp' | "$client" pipe "$t" 2>&1)
  [ "$got" = "hello over tcp" ] && ok "pipe tcp" || no "pipe tcp: '$got'"
  head -c 300000 /dev/urandom >"$tmp/blob"
  "$client" pipe "$t" <"$tmp/blob" >"$tmp/blob.echo" 2>"$tmp/pipe.err"; rc=$?
  if [ "$rc" -eq 0 ] && cmp -s "$tmp/blob" "$tmp/blob.echo"; then ok "pipe tcp: 300000 random bytes come back intact"
  else no "pipe tcp binary (exit $rc: $(head -c 300 "$tmp/pipe.err"))"; fi
  got=$(printf 'hello over udp' | "$client" pipe --udp --timeout 2000 "$t" 2>&1)
  [ "$got" = "hello over udp" ] && ok "pipe udp" || no "pipe udp: '$got'"
  check "verify tcp (default sizes)" 0 "payloads echoed intact .*: PASS" "$client" verify "$t"
  check "verify udp (default sizes)" 0 "payloads echoed intact .*: PASS" "$client" verify --udp "$t"
  check "verify by name (localhost)" 0 ": PASS" "$client" verify --count 2 --size 1,1K "localhost:$port"
  if [ "$have_v6" -eq 1 ] && wait_file "$tmp/port6"; then
    t6="[::1]:$(cat "$tmp/port6")"
    check "verify tcp over ::1" 0 ": PASS" "$client" verify --size 0,1,64K "$t6"
    check "verify udp over ::1" 0 ": PASS" "$client" verify --udp --size 0,1,1452 "$t6"
    check "pipe tcp over ::1" 0 "^six$" sh -c 'printf six | "$1" pipe "$2"' sh "$client" "$t6"
    kill -TERM "$srv6"
    wait "$srv6"; rc=$?
    [ "$rc" -eq 0 ] && ok "IPv6 server stops on SIGTERM" || no "IPv6 server exit $rc: $(cat "$tmp/server6.out")"
  elif [ "$have_v6" -eq 1 ]; then
    no "IPv6 server did not write its port file: $(cat "$tmp/server6.out")"
  fi
  check "load tcp ping-pong" 0 "result=PASS" "$client" load --target "$t" --conns 4 --count 200
  check "load tcp stream" 0 "result=PASS" "$client" load --target "$t" --mode stream --size 4096 --count 200
  check "load udp" 0 "result=PASS" "$client" load --target "$t" --proto udp --conns 2 --count 100
  check "load udp, json" 0 '^\{.*"result":"PASS"\}$' \
    "$client" load --target "$t" --proto udp --size 8 --count 20 --timeout 2000 --json
  check "load paced, spread, eof-ok, json" 0 '^\{.*"result":"PASS"\}$' \
    "$client" load --target "$t" --proto tcp --mode pingpong --conns 3 --count 30 --interval 1 --spread 2 \
    --connect-timeout 2000 --eof-ok --json
  check "load by duration: progress each second" 0 "^load: 1\.[0-9]s round_trips=[0-9]+ rt_per_s=" \
    "$client" load --target "$t" --duration 1.6 --size 1K
  # SIGTERM stops a load early; what it measured still counts.
  "$client" load --target "$t" --duration 60 >"$tmp/load.out" 2>"$tmp/load.err" &
  ld=$!
  pids+=("$ld")
  for _ in $(seq 100); do grep -q "^load: " "$tmp/load.err" && break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
  kill -TERM "$ld"
  for _ in $(seq 100); do kill -0 "$ld" 2>/dev/null || break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
  wait "$ld"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q "result=PASS" "$tmp/load.out"; then ok "load: SIGTERM stops it, exit 0"
  else no "load SIGTERM: exit $rc: $(cat "$tmp/load.out" "$tmp/load.err" | head -c 600)"; fi
  check "verify: K and M suffixes, seed" 0 "3 of 3 payloads echoed intact \(tcp 127\.0\.0\.1:$port, seed 7\): PASS" \
    "$client" verify --size 1k,1m --count 3 --seed 7 --timeout 5000 "$t"
  check "pipe: unreadable stdin exits 1" 1 "read stdin: Is a directory" sh -c '"$1" pipe "$2" </' sh "$client" "$t"
  check "pipe: stdout full exits 1" 1 "write stdout: No space left on device" \
    sh -c 'printf full | "$1" pipe "$2" >/dev/full' sh "$client" "$t"
  kill -TERM "$srv"
  wait "$srv"; rc=$?
  [ "$rc" -eq 0 ] && ok "server stops on SIGTERM" || no "server exit $rc after SIGTERM: $(cat "$tmp/server.out")"
else
  no "server did not write its port file: $(cat "$tmp/server.out")"
fi

# ---- against a corrupting echo peer: the client must notice (exit 1) ----
# It flips the lowest bit of the first byte of each chunk it echoes (TCP)
# and of each datagram (UDP); empty payloads come back intact.
python3 - "$tmp/bad.port" >"$tmp/bad.out" 2>&1 <<'PY' &
import socket, sys, threading
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
        break
    except OSError:
        t.close(); u.close()
t.listen(64)
def flip(d):
    b = bytearray(d)
    if b:
        b[0] ^= 1
    return bytes(b)
def tcp(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(flip(d))
def udp():
    while True:
        d, a = u.recvfrom(65536)
        u.sendto(flip(d), a)
threading.Thread(target=udp, daemon=True).start()
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % port)
while True:
    c, _ = t.accept()
    threading.Thread(target=tcp, args=(c,), daemon=True).start()
PY
bad=$!
pids+=("$bad")
if wait_file "$tmp/bad.port"; then
  b="127.0.0.1:$(cat "$tmp/bad.port")"
  check "verify tcp: corrupted echo exits 1" 1 "size=100 FAIL: .* at offset 0" "$client" verify --size 0,100 "$b"
  check "verify udp: corrupted echo exits 1" 1 "size=100 FAIL" "$client" verify --udp --size 0,100 "$b"
  check "load tcp: corrupted echo exits 1" 1 "result=FAIL" "$client" load --target "$b" --count 20
else
  no "corrupting peer did not start: $(cat "$tmp/bad.out")"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

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
check() { # check NAME WANT_RC WANT_REGEX CMD...
  local name=$1 want=$2 re=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$out"; then ok "$name"; else no "$name (exit $rc, want $want; output: ${out:0:600})"; fi
}
# Waits (bounded) until FILE is non-empty; polls with a 50 ms read timeout.
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; read -r -t 0.05 <> <(:) 2>/dev/null || true; done; return 1; }
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

# A port nobody listens on: held bound but not listening for TCP (connect
# is refused with a RST), and left unbound for UDP (ICMP port unreachable).
coproc HOLD { python3 -c '
import socket, sys
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(("127.0.0.1", 0))
print(t.getsockname()[1], flush=True)
sys.stdin.read()
'; }
pids+=("$HOLD_PID")
read -r -t 10 refused <&"${HOLD[0]}" || refused=""
if [ -n "$refused" ]; then
  msg="connect 127\.0\.0\.1:$refused: Connection refused"
  check "verify: refused connection exits 2" 2 "$msg" "$client" verify "127.0.0.1:$refused"
  check "pipe: refused connection exits 2" 2 "$msg" "$client" pipe "127.0.0.1:$refused" </dev/null
  check "load: refused connection exits 2" 2 "$msg" "$client" load --target "127.0.0.1:$refused" --count 5
  check "verify udp: refused port exits 2" 2 "127\.0\.0\.1:$refused: Connection refused" \
    "$client" verify --udp "127.0.0.1:$refused"
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

#!/usr/bin/env bash
# Runs the black-box echo suites against other echo servers (socat, ncat)
# on loopback and reports what each passes and fails.
# usage: peers.sh SUITE_BINARY
#
# Each peer echoes TCP and UDP on one port number, on 127.0.0.1 and on ::1
# (one process per address and protocol; loopback only). The suites run
# once per family with SOCKCHECK_TARGET=127.0.0.1:P, then [::1]:P.
#
# Peers are not expected to pass everything, and the table printed is the
# record: socat's UDP-RECVFROM,fork wedges after an empty datagram and both
# tools relay UDP through 8 KiB reads (a 64 KiB datagram comes back in
# pieces); both relay TCP through pipes with blocking writes (socat PIPE,
# ncat --exec cat), which can deadlock once a client has megabytes in
# flight, depending on scheduling. What is asserted, for every peer:
#  - the suites run to the end against it, on each family (a foreign
#    server must never hang SOCKCHECK_TARGET mode);
#  - RFC 862's core promise over TCP, on IPv4 and IPv6: payloads of 0 B to
#    64 KiB come back byte for byte (echo_tcp/echoes_payload_byte_for_byte;
#    its 1 MiB and 8 MiB cases may only fail by timing out);
#  - no TCP test reports a corrupted byte: a relay cannot corrupt a
#    stream, so a mismatch would be the suite misreading a chunked peer.
# Exit 0 when that holds, 1 when not, 77 (CTest SKIP_RETURN_CODE) when
# socat and ncat are both absent.
set -uo pipefail

bin=${1:?usage: peers.sh SUITE_BINARY}
[ -x "$bin" ] || { echo "peers.sh: $bin is not executable" >&2; exit 2; }
command -v python3 >/dev/null || { echo "peers.sh: SKIP: python3 is needed to pick ports"; exit 77; }
peers=()
command -v socat >/dev/null && peers+=(socat)
command -v ncat >/dev/null && peers+=(ncat)
[ ${#peers[@]} -gt 0 ] || { echo "peers.sh: SKIP: neither socat nor ncat is installed"; exit 77; }

tmp=$(mktemp -d)
# Each server runs in a session of its own (setsid), so that it and the
# children it forks per client (socat fork, ncat --exec) are stopped
# together by their process group id.
pids=()
stop() {
  local p
  for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null; done
  for p in "$@"; do wait "$p" 2>/dev/null; done
}
cleanup() {
  stop "${pids[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT
have_v6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have_v6=1

# A port number free for TCP and UDP on 127.0.0.1 (and ::1): the kernel
# picks one for TCP (port 0), the others are tried on the same number.
free_port() {
  python3 - "$have_v6" <<'PY'
import socket, sys
v6 = sys.argv[1] == "1"
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    held = [t]
    try:
        for fam, typ, host in [(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1")] + (
                [(socket.AF_INET6, socket.SOCK_STREAM, "::1"), (socket.AF_INET6, socket.SOCK_DGRAM, "::1")] if v6 else []):
            s = socket.socket(fam, typ)
            held.append(s)
            s.bind((host, port))
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    print(port)
    sys.exit(0)
sys.exit(1)
PY
}

# Waits until HOST PORT accepts TCP connections and answers a UDP echo
# probe; both bounded by a deadline (5 s), polled, never a fixed sleep.
# Prints what did not become ready.
wait_ready() {
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
deadline = time.monotonic() + 5
tcp = udp = False
while time.monotonic() < deadline and not (tcp and udp):
    if not tcp:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            tcp = True
        except OSError:
            time.sleep(0.02)  # a refused connect returns at once
    if not udp:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(b"ready?", (host, port))
            udp = s.recv(64) == b"ready?"
        except OSError:
            pass
        s.close()
if not tcp:
    print("tcp not ready")
if not udp:
    print("udp did not answer a probe")
PY
}

# start_peer NAME HOST PORT: one TCP and one UDP echo process on HOST.
start_peer() {
  local name=$1 host=$2 port=$3 v6=""
  [[ $host == *:* ]] && v6=6
  case "$name" in
    socat)
      local b=$host
      [ -n "$v6" ] && b="[$host]"
      setsid socat "TCP${v6:-4}-LISTEN:$port,bind=$b,reuseaddr,fork" PIPE </dev/null >/dev/null 2>>"$tmp/$name.err" &
      pids+=($!)
      setsid socat -T 5 "UDP${v6:-4}-RECVFROM:$port,bind=$b,fork" PIPE </dev/null >/dev/null 2>>"$tmp/$name.err" &
      pids+=($!)
      ;;
    ncat)
      setsid ncat -l "$host" "$port" --keep-open --exec /bin/cat </dev/null >/dev/null 2>>"$tmp/$name.err" &
      pids+=($!)
      setsid ncat -u -l "$host" "$port" --keep-open --exec /bin/cat </dev/null >/dev/null 2>>"$tmp/$name.err" &
      pids+=($!)
      ;;
  esac
}

status=0
summary=()
for peer in "${peers[@]}"; do
  port=$(free_port) || { echo "peers.sh: no free port found"; exit 1; }
  hosts=(127.0.0.1)
  [ "$have_v6" -eq 1 ] && hosts+=(::1)
  first=${#pids[@]}
  for h in "${hosts[@]}"; do start_peer "$peer" "$h" "$port"; done
  declare -A fails=() passes=() skips=()
  for h in "${hosts[@]}"; do
    target="$h:$port"
    [[ $h == *:* ]] && target="[$h]:$port"
    notready=$(wait_ready "$h" "$port")
    [ -n "$notready" ] && echo "# $peer $target: ${notready//$'\n'/, }"
    tap="$tmp/$peer-${h//:/_}.tap"
    start=$(date +%s)
    SOCKCHECK_TARGET=$target "$bin" --jobs 2 --filter 'echo*/*' --tap="$tap" >"$tap.log" 2>&1
    rc=$?
    echo "# $peer $target: suite exit $rc in $(( $(date +%s) - start ))s"
    while IFS= read -r line; do
      if [[ $line =~ ^not\ ok\ -\ ([^:]+)::([^ ]+) ]]; then
        fails["${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"]+="$h "
      elif [[ $line =~ ^ok\ -\ ([^:]+)::([^ ]+).*#\ SKIP\ (.*)$ ]]; then
        [ "${BASH_REMATCH[3]}" = "test was skipped" ] || skips["${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"]+="$h "
      elif [[ $line =~ ^ok\ -\ ([^:]+)::([^ ]+) ]]; then
        passes["${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"]+="$h "
      fi
    done <"$tap"
    # The first message of each failure: "timed out", or the assertion.
    awk -v where="$h" '
      /^not ok - / { split($4, n, "::"); cur = n[1] "/" n[2]
                     if ($0 ~ /timed out/) { print cur "\t" where ": timed out"; cur = "" }
                     else if ($0 ~ /unexpected signal/) { print cur "\t" where ": crashed"; cur = "" }
                     next }
      cur != "" && /^      / { sub(/^ +/, ""); sub(/^Assertion failed: /, ""); print cur "\t" where ": " substr($0, 1, 150); cur = "" }
      /^ok - / { cur = "" }' "$tap" >>"$tmp/$peer.why"
    if ! grep -q '^1\.\.' "$tap" 2>/dev/null; then
      echo "not ok - $peer $target: the suite did not finish"
      tail -5 "$tap.log"
      status=1
    fi
  done
  # Stop this peer before the next one starts.
  stop "${pids[@]:$first}"
  pids=("${pids[@]:0:$first}")

  # One line per test: pass everywhere, fail (with where and why), skip.
  mapfile -t names < <(printf '%s\n' "${!passes[@]}" "${!fails[@]}" "${!skips[@]}" | sort -u)
  np=0 nf=0
  for t in "${names[@]}"; do
    [ -n "$t" ] || continue
    if [ -n "${fails[$t]:-}" ]; then
      why=$(awk -F'\t' -v t="$t" '$1 == t { print $2 }' "$tmp/$peer.why" | sort -u | head -3 | paste -sd';' -)
      echo "$peer: FAIL $t [$why]"
      nf=$((nf + 1))
    elif [ -n "${passes[$t]:-}" ]; then
      echo "$peer: pass $t"
      np=$((np + 1))
    else
      echo "$peer: skip $t"
    fi
  done
  # What must hold for any echo peer (see the top of this file).
  must=echo_tcp/echoes_payload_byte_for_byte
  bad_sizes=$(awk -F'\t' -v t="$must" '$1 == t' "$tmp/$peer.why" \
    | grep -Ev ': (1048576|[0-9]{7,}) bytes: Connection timed out' || true)
  if [ -z "${passes[$must]:-}" ] || [ -n "$bad_sizes" ]; then
    echo "not ok - $peer: TCP echo of 0 B to 64 KiB is not byte-exact on every family:"
    [ -z "$bad_sizes" ] || printf '  %s\n' "$bad_sizes"
    status=1
  else
    echo "ok - $peer: TCP echo of 0 B to 64 KiB is byte-exact on every family${fails[$must]:+ (MiB payloads stalled: see above)}"
  fi
  corrupt=$(grep -E '^echo_tcp/.*(differ|another client|as array)' "$tmp/$peer.why" || true)
  if [ -n "$corrupt" ]; then
    echo "not ok - $peer: a TCP test reported corrupted bytes (a relay cannot corrupt a stream):"
    printf '  %s\n' "$corrupt"
    status=1
  else
    echo "ok - $peer: no TCP test reported a corrupted byte"
  fi
  summary+=("$peer: $np tests pass, $nf fail")
  [ -s "$tmp/$peer.err" ] && { echo "# $peer stderr (first lines):"; sort -u "$tmp/$peer.err" | head -3; }
  unset fails passes skips
done
printf '%s\n' "${summary[@]}"
exit "$status"

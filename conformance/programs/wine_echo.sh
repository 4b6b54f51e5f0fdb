#!/usr/bin/env bash
# Echo across the Windows/Linux boundary: sockcheck-server.exe under Wine
# serves the Linux sockcheck-client, and the Linux sockcheck-server serves
# sockcheck-client.exe under Wine; TCP and UDP, IPv4 and IPv6, each checked
# with `sockcheck-client verify`. Loopback only, ephemeral ports.
# Usage: wine_echo.sh WINDOWS_BINDIR LINUX_BINDIR
# Uses $WINEPREFIX (or Wine's default prefix); WINEDEBUG defaults to -all.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: wine_echo.sh WINDOWS_BINDIR LINUX_BINDIR" >&2
  exit 2
fi
winbin=$1 linbin=$2
export WINEDEBUG=${WINEDEBUG:--all}
wine=""
for w in /usr/lib/wine/wine64 "$(command -v wine64 || true)" "$(command -v wine || true)"; do
  [ -n "$w" ] && [ -x "$w" ] && { wine=$w; break; }
done
for f in "$winbin/sockcheck-server.exe" "$winbin/sockcheck-client.exe" "$linbin/sockcheck-server" \
         "$linbin/sockcheck-client"; do
  [ -f "$f" ] || { echo "wine_echo.sh: missing $f" >&2; exit 2; }
done
[ -n "$wine" ] || { echo "wine_echo.sh: wine64 not found" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Waits (bounded: 20 s) until FILE has N "listening" lines; 50 ms steps.
wait_listening() {
  for _ in $(seq 400); do
    [ "$(grep -c '^listening' "$1" 2>/dev/null)" -ge "$2" ] && return 0
    read -r -t 0.05 <> <(:) 2>/dev/null || true
  done
  return 1
}
# The port of "listening PROTO ADDR:PORT" in FILE (Windows ends lines in CRLF).
port_of() { tr -d '\r' <"$1" | sed -n "s/^listening $2 $3:\([0-9]*\)$/\1/p" | head -1; }
# Stops a server with SIGINT (Ctrl-C under Wine): it drains and exits 0.
stop() {
  kill -INT "$1" 2>/dev/null
  for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || break; read -r -t 0.05 <> <(:) 2>/dev/null || true; done
  wait "$1"
}
# verify NAME CLIENT... : one verify run per protocol and family.
verify_all() {
  local who=$1 out=$2; shift 2
  local fam host proto port
  for fam in v4 v6; do
    host=127.0.0.1; [ "$fam" = v6 ] && host='\[::1\]'
    for proto in tcp udp; do
      port=$(port_of "$out" "$proto" "$host")
      local target=${host//\\/}:$port
      local args=(verify --count 6 --seed 7)
      [ "$proto" = udp ] && args+=(--udp)
      if [ -z "$port" ]; then
        no "$who $proto $fam: no listener line in $(tr -d '\r' <"$out")"
      elif res=$(timeout 120 "$@" "${args[@]}" "$target" 2>&1) && grep -q "PASS" <<<"$res"; then
        ok "$who $proto $fam ($target): $(tr -d '\r' <<<"$res" | tail -1)"
      else
        no "$who $proto $fam ($target): $(tr -d '\r' <<<"$res")"
      fi
    done
  done
}

# 1. The Windows server under Wine, the Linux client.
"$wine" "$winbin/sockcheck-server.exe" --listen 127.0.0.1:0 --listen '[::1]:0' >"$tmp/win.out" 2>"$tmp/win.err" &
pids+=($!); wsrv=$!
if wait_listening "$tmp/win.out" 4; then
  verify_all "sockcheck-server.exe <- linux client" "$tmp/win.out" "$linbin/sockcheck-client"
  stop "$wsrv"; rc=$?
  [ "$rc" -eq 0 ] && ok "sockcheck-server.exe stops on SIGINT with 0" || no "sockcheck-server.exe exit $rc: $(cat "$tmp/win.err")"
else
  no "sockcheck-server.exe never listened: $(cat "$tmp/win.out" "$tmp/win.err")"
fi

# 2. The Linux server, the Windows client under Wine.
"$linbin/sockcheck-server" --listen 127.0.0.1:0 --listen '[::1]:0' >"$tmp/lin.out" 2>"$tmp/lin.err" &
pids+=($!); lsrv=$!
if wait_listening "$tmp/lin.out" 4; then
  verify_all "linux server <- sockcheck-client.exe" "$tmp/lin.out" "$wine" "$winbin/sockcheck-client.exe"
  stop "$lsrv"; rc=$?
  [ "$rc" -eq 0 ] && ok "linux sockcheck-server stops on SIGINT with 0" || no "linux server exit $rc: $(cat "$tmp/lin.err")"
else
  no "linux sockcheck-server never listened: $(cat "$tmp/lin.out" "$tmp/lin.err")"
fi

echo "wine_echo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# The short version of every stress scenario (ci/stress --short: scale,
# lossy link, hostile clients, fd and memory exhaustion, drain, soak, UDP
# abuse) against the programs of one build. Usage: stress_short.sh BINDIR
set -euo pipefail
[[ $# -eq 1 && -x $1/sockcheck-server ]] || { echo "usage: stress_short.sh BINDIR (with sockcheck-server)" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec "$root/ci/stress" --short --bin-dir "$1"

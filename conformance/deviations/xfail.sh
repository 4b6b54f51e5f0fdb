#!/usr/bin/env bash
# Judges Criterion TAP reports against a stack's known deviations: the
# listed tests must fail (XFAIL), every other test must pass or skip.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: conformance/deviations/xfail.sh [--label NAME] [--results FILE] DEVIATIONS.tsv TAP...
Reads the TAP reports of sockcheck-conformance (--tap=FILE) and the stack's
deviations file (columns: test as suite::test, row, expected, observed;
'#' lines are comments). A test filtered out of one report (SKIP "test was
skipped") takes its result from the report that ran it.
  --label NAME    name printed with the totals (default: the file's stem)
  --results FILE  write one line per test: test, result, message (TSV)
Exit status 0 when every listed test failed and every other test passed or
skipped; 1 when an unlisted test failed (a new deviation) or a listed test
passed (the deviation disappeared) or a listed test does not exist; 2 on
bad usage or unreadable input.
USAGE
}

label=""
results=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --label) label="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "xfail.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
dev=$1
shift
[ -r "$dev" ] || { echo "xfail.sh: cannot read $dev" >&2; exit 2; }
for t in "$@"; do
  [ -r "$t" ] || { echo "xfail.sh: cannot read $t" >&2; exit 2; }
done
[ -n "$label" ] || label=$(basename "$dev" .tsv)

# One pass over the deviations file (FILENAME == dev), then the reports.
awk -v dev="$dev" -v label="$label" -v stack="$(basename "$dev" .tsv)" -v results="$results" '
BEGIN { FS = "\t" }
{ sub(/\r$/, "") } # Criterion writes CRLF on Windows
FILENAME == dev {
  if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/ || $1 == "test") next
  if (NF < 4) { printf "xfail.sh: %s:%d: want 4 tab-separated columns\n", dev, FNR > "/dev/stderr"; bad = 1; next }
  listed[$1] = 1; order[++nlisted] = $1; row[$1] = $2; expected[$1] = $3; observed[$1] = $4
  next
}
# A result line: "ok - suite::test ...", "not ok - suite::test ...".
/^(not )?ok - / {
  split($0, w, " ")
  name = (w[1] == "not") ? w[4] : w[3]
  known[name] = 1
  if ($0 ~ /^not ok/) {
    fails[name]++; cur = name
    rest = $0; sub(/^not ok - [^ ]+ ?/, "", rest)
    # Crashes and timeouts say why on the line itself.
    if (rest ~ /^(unexpected signal|timed out)/) msg[name] = rest
  } else if ($0 ~ /# SKIP test was skipped$/) {
    filtered[name]++; cur = ""
  } else if ($0 ~ /# SKIP /) {
    skips[name]++; cur = ""
    if (skipmsg[name] == "") { m = $0; sub(/.*# SKIP /, "", m); skipmsg[name] = m }
  } else {
    passes[name]++; cur = ""
  }
  next
}
/^      Assertion failed: / && cur != "" {
  if (msg[cur] == "") { m = $0; sub(/^      Assertion failed: /, "", m); msg[cur] = m }
  next
}
# The failure text continues on further indented lines: keep the first
# line that says something when the assertion had no message.
/^      [^ ]/ && cur != "" && msg[cur] ~ /^\(no message\)$/ { m = $0; sub(/^ +/, "", m); msg[cur] = m; next }
END {
  if (bad) exit 2
  npass = nxfail = nskip = nfail = nxpass = nmissing = 0
  for (name in known) {
    if (name in fails) res = "fail"
    else if (name in passes) res = "pass"
    else if (name in skips) res = "skip"
    else continue # filtered out of every report: not run
    if (name in listed) res = (res == "fail") ? "xfail" : (res == "pass") ? "xpass" : "skip-listed"
    result[name] = res
    text = (res == "skip" || res == "skip-listed") ? skipmsg[name] : msg[name]
    printf "%s\t%s\t%s\n", name, res, text > results
    if (res == "pass") npass++
    else if (res == "xfail") nxfail++
    else if (res == "skip" || res == "skip-listed") nskip++
    else if (res == "xpass") nxpass++
    else { nfail++; newdev[nfail] = name }
  }
  if (nlisted) {
    printf "== known deviations of %s (XFAIL when the test fails)\n", stack
    for (i = 1; i <= nlisted; i++) {
      name = order[i]
      if (!(name in known)) { st = "MISSING (no such test)"; nmissing++ }
      else if (!(name in result)) st = "not run"
      else if (result[name] == "xfail") st = "XFAIL"
      else if (result[name] == "xpass") st = "XPASS (the deviation disappeared)"
      else st = "skipped"
      printf "   %-7s %s%s\n", st, name, (row[name] != "" && row[name] != "-") ? " [" row[name] "]" : ""
      printf "           expected: %s\n           listed:   %s\n", expected[name], observed[name]
      if (result[name] == "xfail" && msg[name] != "") printf "           now:      %s\n", msg[name]
    }
  }
  if (nfail) {
    printf "== NEW deviations: %d unlisted test(s) failed\n", nfail
    for (i = 1; i <= nfail; i++) printf "   FAIL    %s: %s\n", newdev[i], msg[newdev[i]]
  }
  if (nxpass) {
    printf "== listed deviations that disappeared: %d listed test(s) passed\n", nxpass
    for (name in result) if (result[name] == "xpass") printf "   XPASS   %s\n", name
  }
  printf "== %s totals: %d pass, %d known deviation, %d skip, %d fail", label, npass, nxfail, nskip, nfail + nxpass + nmissing
  printf " (%d new deviation, %d disappeared, %d listed but missing)\n", nfail, nxpass, nmissing
  exit (nfail || nxpass || nmissing) ? 1 : 0
}
' "$dev" "$@"

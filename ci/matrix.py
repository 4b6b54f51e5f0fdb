#!/usr/bin/env python3
"""Per-row coverage of the conformance matrix.

  ci/matrix.py import MATRIX.md > conformance/matrix.tsv
      Extracts every row (ID, section, condition, Linux result) of the
      per-call tables of conformance-matrix.md into a TSV. Run once when the
      matrix changes; the TSV is committed.

  ci/matrix.py skips --tap FILE [--filter PATTERN]
      Lists the tests that skipped themselves, with their reasons.

  ci/matrix.py report --tap FILE [--filter PATTERN] [--tsv FILE] [--sources DIR]
      Maps each test to its row IDs through the `.description` of its
      Test(...) / ParameterizedTest(...) in the suites' sources, reads the
      results from Criterion's TAP, and prints every row ID as pass / fail /
      skip (with the reason) / missing, then the totals. Exit status 1 when
      a row fails.

Criterion's TAP reports the tests a --filter excluded as "# SKIP test was
skipped", the same text as a cr_skip_test() without a message; the filter
is matched here (with bash's extglob, the syntax Criterion documents) to
tell them apart: excluded tests are "not run", selected ones a real skip.
"""
import argparse
import os
import re
import signal
import subprocess
import sys

ROW_ID = re.compile(r"\b[A-Z]{2}-[0-9]{2}\b")
DEFAULT_SKIP = "test was skipped"


def cmd_import(args):
    section = ""
    rows = []
    with open(args.markdown, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("## "):
                section = line[3:].strip()
                continue
            if not line.startswith("| "):
                continue
            # Cells are separated by "|" except where escaped as "\|".
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if len(cells) < 3 or not re.fullmatch(r"[A-Z]{2}-[0-9]{2}", cells[0]):
                continue
            rows.append((cells[0], section, cells[1], cells[2]))
    ids = [r[0] for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        sys.exit("matrix.py: duplicate row IDs: " + " ".join(dup))
    out = sys.stdout
    out.write("id\tsection\tcondition\tlinux_result\n")
    for r in rows:
        out.write("\t".join(c.replace("\t", " ") for c in r) + "\n")
    print("matrix.py: %d rows" % len(rows), file=sys.stderr)


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        if not header.startswith("id\t"):
            sys.exit("matrix.py: %s: not a matrix TSV" % path)
        for line in f:
            cells = line.rstrip("\n").split("\t")
            if len(cells) >= 4:
                rows.append({"id": cells[0], "section": cells[1], "condition": cells[2], "linux": cells[3]})
    return rows


def c_strings(text):
    """The concatenated contents of the C string literals in text."""
    return "".join(m.group(1) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text))


def test_macros(src):
    """Yields (suite, name, description) for each Test/ParameterizedTest."""
    for m in re.finditer(r"^(Parameterized)?Test\(", src, re.M):
        # The argument list, up to the matching parenthesis, strings skipped.
        i, depth, quote = m.end(), 1, None
        while i < len(src) and depth:
            ch = src[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            i += 1
        args = src[m.end():i - 1]
        parts = [p.strip() for p in args.split(",")]
        # ParameterizedTest(type *p, suite, name, ...) has one more leading
        # argument than Test(suite, name, ...).
        k = 1 if m.group(1) else 0
        if len(parts) < k + 2:
            continue
        desc = ""
        d = re.search(r"\.description\s*=\s*((?:\"(?:[^\"\\]|\\.)*\"\s*)+)", args)
        if d:
            desc = c_strings(d.group(1))
        yield parts[k], parts[k + 1], desc


def scan_sources(root):
    """{suite/name: (row IDs, description, file)} over api, echo, harness."""
    tests = {}
    for part in ("api", "echo", "harness"):
        d = os.path.join(root, part)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".c"):
                continue
            path = os.path.join(d, fn)
            with open(path, encoding="utf-8", errors="replace") as f:
                src = f.read()
            for suite, name, desc in test_macros(src):
                tests["%s/%s" % (suite, name)] = (ROW_ID.findall(desc), desc, "%s/%s" % (part, fn))
    return tests


def read_tap(path):
    """{suite/name: [(status, reason)]}, one entry per instance. A failure's
    reason is "timed out", the signal, or its first failed assertion."""
    res = {}
    pat = re.compile(r"^(ok|not ok) - ([^\s:]+)::(\S+)(.*)$")
    last = None  # the failing instance whose YAML block follows
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = pat.match(line)
            if not m:
                # "  - file.c:12: |+" then "      message" in the YAML block.
                if last is not None:
                    loc = re.match(r"^  - (\S+:\d+): ", line)
                    if loc and not last[1]:
                        last[1] = os.path.basename(loc.group(1)) + ":"
                    elif last[1].endswith(":") and line.startswith("      "):
                        msg = line.strip()
                        if msg.startswith("Assertion failed: "):
                            msg = msg[len("Assertion failed: "):]
                        last[1] += " " + msg[:120]
                continue
            key = "%s/%s" % (m.group(2), m.group(3))
            rest = m.group(4)
            last = None
            if m.group(1) == "not ok":
                if "timed out" in rest:
                    entry = ["fail", "timed out"]
                elif "unexpected signal" in rest:
                    entry = ["fail", "crashed: " + rest.strip()]
                else:
                    entry = ["fail", ""]
                    last = entry
            elif "# SKIP" in rest:
                entry = ["skip", rest.split("# SKIP", 1)[1].strip()]
            else:
                entry = ["pass", ""]
            res.setdefault(key, []).append(entry)
    return {k: [tuple(e) for e in v] for k, v in res.items()}


def selected_by(names, pattern):
    """The names the Criterion --filter pattern selects (bash extglob)."""
    if not pattern:
        return set(names)
    script = 'shopt -s extglob; while IFS= read -r t; do [[ $t == $1 ]] && printf "%s\\n" "$t"; done; true'
    out = subprocess.run(["bash", "-c", script, "match", pattern], input="\n".join(names) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def tap_results(path, pattern):
    """read_tap, with the tests the filter excluded marked "notrun"."""
    tap = read_tap(path)
    chosen = selected_by(sorted(tap), pattern)
    results = {}
    for key, inst in tap.items():
        out = []
        for status, reason in inst:
            if status == "skip" and reason == DEFAULT_SKIP:
                if key not in chosen:
                    status, reason = "notrun", "excluded by --filter"
                else:
                    reason = "skipped without a reason (cr_skip_test needs one)"
            out.append((status, reason))
        results[key] = out
    return results


def cmd_skips(args):
    """Prints each real skip with its reason, and the count."""
    results = tap_results(args.tap, args.filter)
    n = 0
    for key in sorted(results):
        for why in sorted({why for s, why in results[key] if s == "skip"}):
            k = sum(1 for s, w in results[key] if s == "skip" and w == why)
            print("[SKIP] %s%s: %s" % (key, " (x%d)" % k if k > 1 else "", why))
            n += k
    print("skipped: %d" % n)
    return 0


def cmd_report(args):
    rows = read_tsv(args.tsv)
    tests = scan_sources(args.sources)
    results = tap_results(args.tap, args.filter)
    tap = results

    by_row = {}
    for key, (ids, _, _) in tests.items():
        for rid in dict.fromkeys(ids):
            by_row.setdefault(rid, []).append(key)

    known = {r["id"] for r in rows}
    totals = dict(implemented=0, passing=0, failing=0, skipped=0, missing=0, notrun=0)
    lines = []
    for r in rows:
        keys = by_row.get(r["id"], [])
        inst = [(k, s, why) for k in keys for s, why in results.get(k, [("notrun", "not in this build")])]
        n = {s: sum(1 for _, st, _ in inst if st == s) for s in ("pass", "fail", "skip", "notrun")}
        if not keys:
            status, detail = "missing", ""
            totals["missing"] += 1
        elif n["fail"]:
            status = "FAIL"
            detail = "; ".join(sorted({"%s [%s]" % (k, why) if why else k for k, s, why in inst if s == "fail"}))
        elif n["pass"]:
            status, notes = "pass", []
            if n["skip"]:
                notes.append("%d instance(s) skipped: %s" % (
                    n["skip"], "; ".join(sorted({why for _, s, why in inst if s == "skip"}))))
            if n["notrun"]:
                notes.append("%d instance(s) not run" % n["notrun"])
            detail = "; ".join(notes)
        elif n["skip"]:
            status = "skip"
            detail = "; ".join(sorted({"%s: %s" % (k, why) for k, s, why in inst if s == "skip"}))
        else:
            status = "not run"
            detail = "; ".join(sorted({"%s (%s)" % (k, why) for k, s, why in inst}))
        if keys:
            totals["implemented"] += 1
            totals[{"FAIL": "failing", "pass": "passing", "skip": "skipped", "not run": "notrun"}[status]] += 1
        counts = "%d/%d/%d" % (n["pass"], n["fail"], n["skip"]) if keys else "-"
        lines.append((r["id"], status, counts, detail, r["condition"]))

    print("%-6s %-8s %-9s %s" % ("ID", "STATUS", "P/F/S", "DETAIL (skip reason, failing tests) | CONDITION"))
    section = None
    for (rid, status, counts, detail, cond), r in zip(lines, rows):
        if r["section"] != section:
            section = r["section"]
            print("# " + section)
        tail = detail if detail else cond
        if not detail and len(tail) > 70:
            tail = tail[:67] + "..."
        print("%-6s %-8s %-9s %s" % (rid, status, counts, tail))

    unmapped = sorted(k for k, (ids, _, _) in tests.items() if not ids and k in tap
                      and any(s != "notrun" for s, _ in results.get(k, [])))
    unknown = sorted({i for ids, _, _ in tests.values() for i in ids if i not in known})
    api_unmapped = [k for k in unmapped if tests[k][2].startswith("api/")]
    if api_unmapped:
        print("# api tests naming no row ID (gap tests, or a missing ID): " + ", ".join(api_unmapped))
    if unknown:
        print("# row IDs named by tests but absent from the matrix: " + ", ".join(unknown))
    ran = sum(1 for inst in results.values() for s, _ in inst if s != "notrun")
    print("matrix: %d rows: %d implemented (%d passing, %d failing, %d skipped%s), %d missing; %d test instances ran"
          % (len(rows), totals["implemented"], totals["passing"], totals["failing"], totals["skipped"],
             ", %d not run" % totals["notrun"] if totals["notrun"] else "", totals["missing"], ran))
    return 1 if totals["failing"] else 0


def main():
    # Piped into head: stop quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    ap = argparse.ArgumentParser(description="Per-row coverage of the conformance matrix.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="conformance-matrix.md -> TSV on stdout")
    imp.add_argument("markdown")
    rep = sub.add_parser("report", help="per-row table from a TAP file")
    rep.add_argument("--tap", required=True)
    rep.add_argument("--filter", default="")
    rep.add_argument("--tsv", default=os.path.join(top, "conformance", "matrix.tsv"))
    rep.add_argument("--sources", default=os.path.join(top, "conformance"))
    sk = sub.add_parser("skips", help="the real skips of a TAP file, with reasons")
    sk.add_argument("--tap", required=True)
    sk.add_argument("--filter", default="")
    args = ap.parse_args()
    if args.cmd == "import":
        cmd_import(args)
        return 0
    if args.cmd == "skips":
        return cmd_skips(args)
    return cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())

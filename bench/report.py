#!/usr/bin/env python3
"""Turns the result lines of bench/run.sh into the Markdown report.

  report.py --results RESULTS.jsonl --rss RSS.txt --out OUT.md [--svg OUT.svg]
            [--meta key=value ...] [--strict 0|1] [--database sqlite|postgresql]

Prints the report and writes it to OUT.md; with --svg also the picture
(plot.py: latency percentiles per case, ratios against their targets). Each figure is the median over
the runs of that case (rps, p50 and p99 each taken separately). Exit status:
1 when a measured run had a non-2xx answer or a socket error, else 3 when
--strict 1 and a target is missed, else 0.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402  (bench/plot.py, beside this file)

CASES = [
    # case, title
    ("a", "(a) ceiling: nginx answers a constant JSON body"),
    ("h", "(h) ceiling: the same gateway in front of a minimal libfcgi responder (bytes of (b))"),
    ("b", "(b) GET /api/cars/{id}"),
    ("c", "(c) GET /api/cars?limit=100 (100 cars)"),
    ("g", "(g) GET /api/trucks/availability, one page (10 000 trucks × 100 allocations)"),
    ("f", "(f) ceiling: raw %s check-and-insert, 1 connection"),
    ("d", "(d) POST allocation, non-overlapping"),
    ("e10", "(e) POST allocation, car with 10 allocations"),
    ("e10000", "(e) POST allocation, car with 10 000 allocations"),
    ("e100000", "(e) POST allocation, car with 100 000 allocations"),
]

# The picture's row names (plot.py), short enough for its left margin.
SHORT = {"a": "(a) nginx, constant body", "h": "(h) minimal libfcgi responder",
         "b": "(b) GET one car", "c": "(c) list of 100 cars", "g": "(g) availability page",
         "f": "(f) raw %s check-and-insert", "d": "(d) POST booking, 32 conns",
         "e10": "(e) POST, car with 10", "e10000": "(e) POST, car with 10 000",
         "e100000": "(e) POST, car with 100 000"}

MIB = 1024.0
D_P999_MS = 50   # (d): the slowest booking in a thousand
G_P50_MS = 5     # (g): one availability page over 10 000 resources


def median(values):
    return statistics.median(values) if values else None


def fmt(value, digits):
    return "—" if value is None else ("{:,.%df}" % digits).format(value).replace(",", " ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--rss", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--svg")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--strict", default="0")
    ap.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[args.database]

    runs = {}
    with open(args.results) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                runs.setdefault(r["case"], []).append(r)

    summary = {}
    errors = []
    for case, _ in CASES:
        rs = runs.get(case, [])
        if not rs:
            continue
        non2xx = sum(r.get("non2xx", 0) for r in rs)
        socket = sum(sum(r.get("socket_errors", {}).values()) for r in rs)
        unmatched = sum(r.get("unmatched", 0) for r in rs)
        # Requests wrk counted but whose response never came (timeouts
        # aside) show up as a gap between wrk's count and the timed samples.
        statuses = {}
        for r in rs:
            for code, n in r.get("statuses", {}).items():
                statuses[code] = statuses.get(code, 0) + n
        summary[case] = {
            "connections": rs[0]["connections"],
            "rps": median([r["rps"] for r in rs]),
            "p50": median([r["p50_us"] / 1000.0 for r in rs]),
            "p99": median([r["p99_us"] / 1000.0 for r in rs]),
            # Older result lines (before p99.9 was recorded) have none.
            "p999": median([r["p999_us"] / 1000.0 for r in rs if "p999_us" in r]),
            "max": max(r["max_us"] / 1000.0 for r in rs),
            # Little's law: connections busy on a request that completed
            # within the run, on average. Well below the connection count:
            # the connections spent time elsewhere (on the client, or on
            # requests stalled past the end of the run).
            "busy": median([r["rps"] * r["mean_us"] / 1e6 for r in rs]),
            "rps_runs": [r["rps"] for r in rs],
            "runs": len(rs),
            "non2xx": non2xx,
            "socket": socket,
            "unmatched": unmatched,
            "statuses": statuses,
        }
        if non2xx or socket:
            bad = ", ".join("%s×%d" % (c, n) for c, n in sorted(statuses.items())
                            if not c.startswith("2"))
            errors.append("case %s: %d non-2xx answers (%s), %d socket errors"
                          % (case, non2xx, bad or "none", socket))
        if unmatched:
            errors.append("case %s: %d responses could not be paired with their request "
                          "(no X-Bench-Echo): latency not measured for them" % (case, unmatched))

    # A ratio is the median of the per-round ratios: both figures of a
    # round were measured minutes apart at most (rounds interleave the
    # cases), so a slow spell of the shared machine hits both.
    key_of = {"rps": "rps", "p50": "p50_us"}
    per_round = {}

    def ratio(num, den, key):
        by_run = {r["run"]: r for r in runs.get(den, [])}
        values = []
        for r in runs.get(num, []):
            d = by_run.get(r["run"])
            if d is not None and d[key_of[key]]:
                values.append(r[key_of[key]] / d[key_of[key]])
        per_round[(num, den, key)] = values
        return median(values)

    # case -> (ratio, text of the ratio, target text, passes)
    checks = {}
    # The picture's bars: (label, ratio, target, "ge" | "le", passes).
    bars = []
    # The targets of issue 14. (d) against (f): 1.0 on SQLite, where group
    # commit shares one fsync among several bookings; 0.95 on PostgreSQL,
    # whose ceiling (libpq, one connection) the server's own group commit
    # already helps.
    d_target = 1.0 if args.database == "sqlite" else 0.95
    for case, target in (("b", 0.30), ("c", 0.15)):
        r = ratio(case, "a", "rps")
        checks[case] = (r, "rps ÷ (a) = %s" % fmt(r, 3), "≥ %.2f" % target,
                        r is not None and r >= target)
        if runs.get(case):
            bars.append(("(%s) rps ÷ (a)" % case, r, target, "ge", checks[case][3]))
    # (b) against the FastCGI hop's own ceiling, when (h) ran: invsys's
    # work per GET is then what (b) loses to (h).
    if runs.get("h") and runs.get("b"):
        r0, text0, target0, ok0 = checks["b"]
        r = ratio("b", "h", "rps")
        ok = r is not None and r >= 0.95
        checks["b"] = (r0, "%s; ÷ (h) = %s" % (text0, fmt(r, 3)), "%s; ≥ 0.95 of (h)" % target0,
                       ok0 and ok)
        bars.insert(1, ("(b) rps ÷ (h)", r, 0.95, "ge", ok))
    r = ratio("d", "f", "rps")
    if runs.get("d"):
        # p99.9 is an absolute target: a booking is never kept waiting
        # more than 50 ms, however many share its COMMIT.
        # On PostgreSQL the issue asks for the ratio alone; p99.9 is shown.
        p999 = summary["d"]["p999"]
        tail_ok = args.database != "sqlite" or (p999 is not None and p999 <= D_P999_MS)
        checks["d"] = (r, "rps ÷ (f) = %s; p99.9 = %s ms" % (fmt(r, 3), fmt(p999, 1)),
                       "≥ %.2f" % d_target + ("; p99.9 ≤ %d ms" % D_P999_MS
                                               if args.database == "sqlite" else ""),
                       r is not None and r >= d_target and tail_ok)
        bars.append(("(d) rps ÷ (f)", r, d_target, "ge", r is not None and r >= d_target))
        if p999 is not None and args.database == "sqlite":
            bars.append(("(d) p99.9 ÷ %d ms" % D_P999_MS, p999 / D_P999_MS, 1.0, "le", tail_ok))
    if runs.get("g"):
        p50 = summary["g"]["p50"]
        ok = p50 is not None and p50 <= G_P50_MS
        checks["g"] = (p50, "p50 = %s ms" % fmt(p50, 2), "p50 ≤ %d ms" % G_P50_MS, ok)
        bars.append(("(g) p50 ÷ %d ms" % G_P50_MS, p50 / G_P50_MS, 1.0, "le", ok))
    r = ratio("e100000", "e10", "p50")
    checks["e100000"] = (r, "p50 ÷ p50 at 10 = %s" % fmt(r, 3), "≤ 1.30",
                         r is not None and r <= 1.30)
    if runs.get("e100000"):
        bars.append(("(e) p50 at 100 000 ÷ p50 at 10", r, 1.30, "le", checks["e100000"][3]))

    out = []
    out.append("# invsys benchmark — %s" % database)
    out.append("")
    out.append("- database: %s" % database)
    for m in args.meta:
        key, _, value = m.partition("=")
        out.append("- %s: %s" % (key, value))
    out.append("- latency: per request, timed in wrk's Lua hooks (request() to response()) "
               "with clock_gettime(CLOCK_MONOTONIC), each response paired with its request "
               "by a sequence number that nginx echoes; (f): steady_clock around each "
               "transaction. wrk's own (corrected) percentiles are not used.")
    out.append("- each figure: the median over the runs (rps, p50, p99 and p99.9 each on its own); "
               "each ratio: the median of the per-round ratios")
    out.append("")
    out.append("| case | conns | rps | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx / socket errors "
               "| ratio to its ceiling | target | result |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    missed = []
    for case, title in CASES:
        s = summary.get(case)
        if s is None:
            continue
        errs = "%d / %d" % (s["non2xx"], s["socket"])
        if s["non2xx"] or s["socket"]:
            errs = "**%s**" % errs
        ratio_text, target, result = "", "", ""
        if case in ("a", "f"):
            ratio_text = "ceiling"
        elif case == "h":
            r = ratio("h", "a", "rps")
            ratio_text = "ceiling of (b); rps ÷ (a) = %s" % fmt(r, 3)
        elif case in ("e10", "e10000"):
            r = ratio(case, "e10", "p50")
            ratio_text = "p50 ÷ p50 at 10 = %s" % fmt(r, 3)
        if case in checks:
            _, ratio_text, target, ok = checks[case]
            if s["non2xx"] or s["socket"]:
                ok = False
            result = "pass" if ok else "**miss**"
            if not ok:
                missed.append(case)
        out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title.replace("%s", database), s["connections"], fmt(s["rps"], 0), fmt(s["p50"], 3),
            fmt(s["p99"], 3), fmt(s["p999"], 3), fmt(s["max"], 1), errs, ratio_text, target, result))
    out.append("")
    out.append("max ms: the slowest request of all runs. rps, p50, p99, p99.9: medians of the runs; "
               "ratio: median of the per-round ratios.")
    out.append("")
    for case, _ in CASES:
        s = summary.get(case)
        if s is None or case == "f":
            continue
        if s["busy"] < 0.7 * s["connections"]:
            out.append("- case %s: rps × mean latency = %.1f of %d connections busy on requests "
                       "that completed in the run (Little's law): the rest waited on the client "
                       "or on requests stalled past the end of the run." % (
                           case, s["busy"], s["connections"]))
    for case, _ in CASES:
        s = summary.get(case)
        if s is not None and s["runs"] > 1:
            out.append("- rps of the rounds, case %s: %s" % (
                case, ", ".join(fmt(v, 0) for v in s["rps_runs"])))
    for (num, den, key), values in sorted(per_round.items()):
        if len(values) > 1 and num not in ("e10", "e10000"):
            out.append("- %s of %s ÷ %s by round: %s" % (
                key, num, den, ", ".join(fmt(v, 3) for v in values)))
    out.append("")

    worst_worker_kib = None
    out.append("RSS after the run (VmRSS from /proc/PID/status; target ≤ 20 MiB per invsys worker):")
    out.append("")
    with open(args.rss) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            prog, role, pid = parts[0], parts[1], parts[2]
            kib = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
            text = "- %s %s (pid %s): %s MiB" % (prog, role if role != "single" else
                                                "(single process: the worker)", pid,
                                                fmt(None if kib is None else kib / MIB, 1))
            if prog == "invsys-fcgi" and role in ("worker", "single"):
                if kib is not None:
                    worst_worker_kib = max(worst_worker_kib or 0, kib)
                ok = kib is not None and kib <= 20 * 1024
                text += " — target ≤ 20 MiB: %s" % ("pass" if ok else "**miss**")
                if not ok:
                    missed.append("rss %s" % pid)
            out.append(text)
    out.append("")
    # A ceiling that moves a lot between rounds: the machine was busy
    # (other processes' CPU or disk); the per-round ratios are then the
    # figures to trust, and a rerun on a quiet machine is worth it.
    for case, what in (("a", "CPU"), ("f", "disk (fsync)")):
        s = summary.get(case)
        if s is None or len(s["rps_runs"]) < 2 or min(s["rps_runs"]) <= 0:
            continue
        spread = max(s["rps_runs"]) / min(s["rps_runs"])
        if spread > 1.5:
            out.append("**Noisy machine**: the ceiling (%s) varied %.1f× between rounds: "
                       "something else was using the %s. Trust the per-round ratios "
                       "over the medians, and rerun on a quiet machine." % (case, spread, what))
            out.append("")
    if errors:
        out.append("**ERRORS in measured runs** (the figures above are not valid):")
        out.append("")
        for e in errors:
            out.append("- " + e)
        out.append("")
    out.append("Targets missed: %s" % (", ".join(missed) if missed else "none"))

    if args.svg:
        if worst_worker_kib is not None:
            r = worst_worker_kib / (20 * 1024.0)
            bars.append(("largest invsys worker RSS ÷ 20 MiB", r, 1.0, "le", r <= 1.0))
        meta = dict(m.partition("=")[::2] for m in args.meta)
        latencies = []
        for case, title in CASES:
            sm = summary.get(case)
            if sm is None:
                continue
            p90 = median([r["p90_us"] / 1000.0 for r in runs[case] if "p90_us" in r])
            latencies.append(("%s — %s rps" % (SHORT[case].replace("%s", database), fmt(sm["rps"], 0)),
                              {"p50": sm["p50"], "p90": p90, "p99": sm["p99"],
                               "p99.9": sm["p999"], "max": sm["max"]}))
        plot.write_svg(args.svg, "invsys benchmark — %s" % database,
                       "%s, commit %s; %s" % (meta.get("date", "?"), meta.get("commit", "?"),
                                              meta.get("machine", "")),
                       latencies, bars)

    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(args.out, "w") as f:
        f.write(text)
    if errors:
        return 1
    if missed and args.strict == "1":
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

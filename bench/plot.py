#!/usr/bin/env python3
"""The benchmark's picture: bench/results/latest.svg beside latest.md.

Called by report.py (write_svg); standard library only, plain SVG 1.1 that
a browser and GitHub's Markdown show as it is. Two panels:

- latency: per case, p50, p90, p99, p99.9 and the slowest request (medians
  of the runs; max of all runs) on a logarithmic millisecond axis, so that a case
  at 0.2 ms and one at 50 ms both read;
- ratios: each target ratio as a bar, the target as a line across it, green
  when met and red when missed; for a "≤" target ((e), the tails and RSS
  as fractions of their limits) a shorter bar is better, for "≥" ones a
  longer bar.

  plot.py RESULTS_SUMMARY.json OUT.svg   (the same from a saved summary)
"""
import json
import math
import sys
from xml.sax.saxutils import escape

WIDTH = 960
ROW = 26
LEFT = 330          # room for the case titles
PLOT_W = WIDTH - LEFT - 40
PERCENTILES = (("p50", "p50", "#1f77b4"), ("p90", "p90", "#2ca02c"),
               ("p99", "p99", "#ff7f0e"), ("p99.9", "p99.9", "#9467bd"),
               ("max", "max", "#d62728"))
PASS, MISS = "#4caf50", "#e53935"


def _text(x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
    return ('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
            % (x, y, size, anchor, weight, fill, escape(s)))


def _short(title, limit=48):
    return title if len(title) <= limit else title[:limit - 1] + "…"


def latency_panel(cases, top):
    """cases: [(title, {"p50": ms, "p90": ms, "p99": ms, "max": ms})]."""
    values = [v for _, p in cases for v in p.values() if v and v > 0]
    if not values:
        return [], top
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    if hi <= lo:
        hi = lo * 10
    span = math.log10(hi) - math.log10(lo)

    def x_of(ms):
        return LEFT + (math.log10(ms) - math.log10(lo)) / span * PLOT_W

    out = [_text(20, top, "Latency per case (ms, log scale): p50, p90, p99, p99.9, max", 15, weight="bold")]
    y0 = top + 18
    height = ROW * len(cases)
    decade = lo
    while decade <= hi * 1.0001:
        x = x_of(decade)
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, y0, x, y0 + height))
        out.append(_text(x, y0 + height + 14, ("%g" % decade), 11, "middle", fill="#555"))
        decade *= 10
    for i, (title, p) in enumerate(cases):
        y = y0 + i * ROW + ROW / 2
        out.append(_text(LEFT - 10, y + 4, _short(title), 12, "end"))
        known = [(k, p[k]) for k, _, _ in PERCENTILES if p.get(k) and p[k] > 0]
        if len(known) > 1:
            out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-width="2"/>'
                       % (x_of(known[0][1]), y, x_of(known[-1][1]), y))
        for key, _, color in PERCENTILES:
            v = p.get(key)
            if v and v > 0:
                out.append('<circle cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s %s: %.3f ms</title></circle>'
                           % (x_of(v), y, color, escape(title), key, v))
    legend_y = y0 + height + 32
    x = LEFT
    for _, label, color in PERCENTILES:
        out.append('<circle cx="%d" cy="%d" r="5" fill="%s"/>' % (x, legend_y - 4, color))
        out.append(_text(x + 9, legend_y, label, 12))
        x += 70
    return out, legend_y + 24


def ratio_panel(checks, top):
    """checks: [(label, ratio or None, target, "ge" | "le", passed)]."""
    if not checks:
        return [], top
    scale_max = max([1.0] + [c[1] for c in checks if c[1] is not None] + [c[2] for c in checks]) * 1.1

    def x_of(v):
        return LEFT + min(v, scale_max) / scale_max * PLOT_W

    out = [_text(20, top, "Ratios against their targets (bar: measured; black line: target)", 15,
                 weight="bold")]
    y0 = top + 18
    for i, (label, ratio, target, kind, passed) in enumerate(checks):
        y = y0 + i * ROW
        out.append(_text(LEFT - 10, y + ROW / 2 + 4, _short(label), 12, "end"))
        if ratio is not None:
            out.append('<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s = %.3f</title></rect>'
                       % (LEFT, y + 4, max(x_of(ratio) - LEFT, 1), ROW - 8, PASS if passed else MISS,
                          escape(label), ratio))
            out.append(_text(x_of(ratio) + 6, y + ROW / 2 + 4, "%.3f" % ratio, 11))
        else:
            out.append(_text(LEFT + 6, y + ROW / 2 + 4, "not measured", 11, fill="#777"))
        tx = x_of(target)
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="2"/>'
                   % (tx, y + 1, tx, y + ROW - 1))
        out.append(_text(WIDTH - 10, y + ROW / 2 + 4, "%s %.2f" % ("≥" if kind == "ge" else "≤", target),
                         11, "end", fill="#555"))
    return out, y0 + ROW * len(checks) + 16


def write_svg(path, title, subtitle, cases, checks):
    body = [_text(20, 26, title, 18, weight="bold"), _text(20, 46, subtitle, 12, fill="#555")]
    part, y = latency_panel(cases, 80)
    body += part
    part, y = ratio_panel(checks, y + 16)
    body += part
    svg = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif">\n<rect width="100%%" height="100%%" fill="#fff"/>\n%s\n</svg>\n'
           % (WIDTH, y + 10, WIDTH, y + 10, "\n".join(body)))
    with open(path, "w", encoding="utf-8") as f:
        f.write(svg)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        s = json.load(f)
    write_svg(argv[2], s["title"], s["subtitle"], [tuple(c) for c in s["cases"]],
              [tuple(c) for c in s["checks"]])


if __name__ == "__main__":
    main(sys.argv)

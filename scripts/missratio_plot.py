#!/usr/bin/env python3
"""Miss ratio against cache size, as an SVG (issue 13).

    missratio_plot.py DIR OUT.svg M...

Reads DIR/<m>-<workload>-<server>.json, as scripts/hitratio.sh writes them
(`gocached bench hitratio --json`), for each -m value M given, and draws one
panel per workload: x is -m in MB on a log scale, y the miss ratio, one line
per server. No dependency beyond the standard library.
"""
import glob
import json
import math
import os
import sys

NAMES = {"gocached": "gocached", "mc145": "memcached 1.6.45", "mc18": "memcached 1.6.18"}
COLORS = {"gocached": "#d62728", "mc145": "#1f77b4", "mc18": "#2ca02c"}


def load(d, ms):
    data = {}  # workload -> server -> [(m, miss)]
    for m in ms:
        for f in sorted(glob.glob(os.path.join(d, "%s-*.json" % m))):
            base = os.path.basename(f)[: -len(".json")]
            _, rest = base.split("-", 1)
            workload, server = rest.rsplit("-", 1)
            if server not in NAMES:
                continue
            hit = json.load(open(f))["results"][0]["hit_ratio"]
            data.setdefault(workload, {}).setdefault(server, []).append((int(m), 1 - hit))
    return data


def panel(out, x0, y0, w, h, title, series):
    ms = sorted({m for pts in series.values() for m, _ in pts})
    misses = [v for pts in series.values() for _, v in pts]
    lo, hi = math.log2(ms[0]), math.log2(ms[-1])
    if hi == lo:
        hi = lo + 1
    ylo = math.floor(min(misses) * 10) / 10
    yhi = math.ceil(max(misses) * 10) / 10
    if yhi <= ylo:
        yhi = ylo + 0.1
    px = lambda m: x0 + (math.log2(m) - lo) / (hi - lo) * w
    py = lambda v: y0 + h - (v - ylo) / (yhi - ylo) * h
    out.append('<text x="%d" y="%d" text-anchor="middle" font-size="14">%s</text>' % (x0 + w / 2, y0 - 12, title))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>' % (x0, y0, w, h))
    for m in ms:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (px(m), y0, px(m), y0 + h))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(m), y0 + h + 16, m))
    steps = int(round((yhi - ylo) / 0.05))
    for i in range(steps + 1):
        v = ylo + i * 0.05
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>' % (x0, py(v), x0 + w, py(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.2f</text>' % (x0 - 6, py(v) + 4, v))
    out.append('<text x="%d" y="%d" text-anchor="middle">-m (MB)</text>' % (x0 + w / 2, y0 + h + 36))
    for i, (s, pts) in enumerate(sorted(series.items(), key=lambda kv: list(NAMES).index(kv[0]))):
        pts = sorted(pts)
        line = " ".join("%.1f,%.1f" % (px(m), py(v)) for m, v in pts)
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (line, COLORS[s]))
        for m, v in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (px(m), py(v), COLORS[s]))
        ly = y0 + 16 + i * 18
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (x0 + w - 150, ly - 4, x0 + w - 130, ly - 4, COLORS[s]))
        out.append('<text x="%d" y="%d">%s</text>' % (x0 + w - 125, ly, NAMES[s]))


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: missratio_plot.py DIR OUT.svg M...")
    d, dst, ms = sys.argv[1], sys.argv[2], sys.argv[3:]
    data = load(d, ms)
    if not data:
        sys.exit("missratio_plot: no results in %s for -m %s" % (d, " ".join(ms)))
    pw, ph, left, top = 420, 300, 70, 60
    width = left + len(data) * (pw + left) + 10
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, top + ph + 60),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="20" font-size="15">Miss ratio against cache size (cache-aside replay, the same requests for every server)</text>' % left]
    for i, wl in enumerate(sorted(data)):
        panel(out, left + i * (pw + left), top, pw, ph, wl, data[wl])
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")
    print("missratio_plot: wrote %s" % dst, file=sys.stderr)


if __name__ == "__main__":
    main()

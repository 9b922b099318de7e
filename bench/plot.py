"""Draws bench/scaling.json (written by `make bench-scaling`) as one SVG
of small panels, one per scaling series: the median of each
implementation against the varied parameter, both axes logarithmic.

Usage: python3 plot.py scaling.json out.svg
"""
import json
import math
import sys

COLOURS = {"mproc": "#1f77b4", "posix": "#2ca02c", "python": "#d62728"}
W, H, PAD = 300, 200, 45


def xvalue(r, series):
    if series.startswith("item size"):
        return r["size"]
    if series.startswith(("processes", "producers", "workers")):
        return r["procs"]
    return r["n"]


def panel(out, x0, y0, title, unit, rows, series):
    xs = [xvalue(r, series) for r in rows]
    ys = [v for r in rows for v in r["in_unit"].values() if v > 0]
    if not ys:
        return
    lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
    ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    if lx1 == lx0:
        lx1 += 1
    if ly1 == ly0:
        ly1 += 1

    def px(x):
        return x0 + PAD + (math.log10(x) - lx0) / (lx1 - lx0) * (W - 2 * PAD)

    def py(y):
        return y0 + H - PAD + (ly0 - math.log10(y)) / (ly1 - ly0) * (H - 2 * PAD)

    out.append(f'<text x="{x0 + W / 2}" y="{y0 + 14}" text-anchor="middle" '
               f'font-size="11">{title}</text>')
    out.append(f'<text x="{x0 + W / 2}" y="{y0 + 27}" text-anchor="middle" '
               f'font-size="10">by {series}</text>')
    out.append(f'<rect x="{x0 + PAD}" y="{y0 + PAD}" width="{W - 2 * PAD}" '
               f'height="{H - 2 * PAD}" fill="none" stroke="#999"/>')
    for e in range(ly0, ly1 + 1):
        out.append(f'<text x="{x0 + PAD - 4}" y="{py(10 ** e) + 3}" '
                   f'text-anchor="end" font-size="9">1e{e}</text>')
    for x in xs:
        out.append(f'<text x="{px(x)}" y="{y0 + H - PAD + 12}" '
                   f'text-anchor="middle" font-size="9">{x:g}</text>')
    out.append(f'<text x="{x0 + 4}" y="{y0 + PAD - 6}" font-size="9">{unit}</text>')
    for impl, colour in COLOURS.items():
        pts = [(px(xvalue(r, series)), py(r["in_unit"][impl]))
               for r in rows if r["in_unit"].get(impl, 0) > 0]
        if pts:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.5"/>')


def main():
    data = json.load(open(sys.argv[1]))
    groups = []
    for r in data["results"]:
        key = (r["title"], r["series"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(r)
    cols = 2
    rows = (len(groups) + cols - 1) // cols
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * W}" '
           f'height="{rows * H + 30}" font-family="sans-serif">',
           f'<rect width="100%" height="100%" fill="white"/>']
    for i, ((title, series), rs) in enumerate(groups):
        panel(out, (i % cols) * W, (i // cols) * H, title, rs[0]["unit"], rs,
              series)
    for k, (impl, colour) in enumerate(COLOURS.items()):
        out.append(f'<text x="{10 + 90 * k}" y="{rows * H + 20}" '
                   f'fill="{colour}" font-size="12">{impl}</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

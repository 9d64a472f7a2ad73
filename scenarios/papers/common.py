"""Shared pieces of the paper experiments (scenarios/papers/*/analyse.py):
published values, merged sweep tables, intervals, the comparison rows.

A comparison row says: the figure, the published value and its source,
ours with its 95 % interval, the tolerance (fixed in published.md before
anything ran) and whether the published value lies within our interval
widened by the tolerance ("inconclusive" when our interval runs from half
to twice the published value or wider: the runs cannot tell).
"""

import csv
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

import numpy as np  # noqa: E402
import pouwsim_h5 as ph  # noqa: E402

# Student-t 0.975 quantiles for 1..30 degrees of freedom (the merged tables
# carry GSL's intervals; these serve intervals computed here).
T975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
        2.2622, 2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
        2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
        2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423]


def t975(df):
    return T975[df - 1] if 1 <= df <= len(T975) else 1.96


def published(exp_dir):
    """Values of the table in EXP/published.md: rows `| \\`key\\` | value |
    unit | what | source |` -> {key: (value, unit, what, source)}."""
    out = {}
    with open(os.path.join(exp_dir, "published.md")) as f:
        for line in f:
            m = re.match(r"^\|\s*`([^`]+)`\s*" + r"\|([^|]*)" * 4 + r"\|",
                         line)
            if m:
                out[m.group(1)] = (float(m.group(2)), m.group(3).strip(),
                                   m.group(4).strip(), m.group(5).strip())
    return out


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(x):
    return float(x) if x not in ("", None) else math.nan


def wilson(k, n, z=1.96):
    """95 % Wilson interval of a proportion k/n: (p, lo, hi)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return p, max(0.0, c - h), min(1.0, c + h)


def median_ci(values):
    """Median of the values and its distribution-free 95 % interval: the
    order statistics x(j), x(k) with P(j <= B < k) >= 0.95 for B ~
    Binomial(n, 1/2), as close to the middle as possible.  (median, lo,
    hi); lo and hi NaN below 6 values."""
    v = np.sort(np.array([x for x in values if not math.isnan(x)],
                         dtype=float))
    n = v.size
    if n == 0:
        return math.nan, math.nan, math.nan
    med = float(np.median(v))
    if n < 6:
        return med, math.nan, math.nan
    # integer division: 2.0 ** n overflows a double beyond about 1000 values
    pmf = [math.comb(n, i) / (1 << n) for i in range(n + 1)]
    j = n // 2
    while j > 0 and sum(pmf[j:n - j + 1]) < 0.95:
        j -= 1
    # x(j) and x(n - j + 1) in 1-based order statistics
    return med, float(v[max(j - 1, 0)]), float(v[min(n - j, n - 1)])


def t50_values(files):
    """The delay to half of the nodes (s) of every block of the runs that
    reached half of them (as /summary's prop50 figures take them)."""
    out = []
    for f in files:
        t = ph.block_outcomes(ph.open_run(f))["t50_s"]
        out += [float(x) for x in t if not math.isnan(x)]
    return out


def mean_ci(values):
    """Mean and 95 % Student-t interval of a list: (mean, lo, hi)."""
    v = np.array([x for x in values if not math.isnan(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    h = t975(v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return m, m - h, m + h


class Sweep:
    """A merged sweep directory: its points, runs and run files."""

    def __init__(self, path):
        self.path = path
        self.points = read_csv(os.path.join(path, "merged-points.csv"))
        self.runs = read_csv(os.path.join(path, "merged.csv"))

    def run_files(self, **match):
        """Run files of the runs whose columns equal `match`."""
        return [os.path.join(self.path, "runs", r["run"] + ".h5")
                for r in self.runs
                if all(r.get(k) == v for k, v in match.items())]

    def point(self, **match):
        for p in self.points:
            if all(p.get(k) == v for k, v in match.items()):
                return p
        raise KeyError("no point with %s in %s" % (match, self.path))

    def pooled_stale(self, **match):
        """Stale blocks over all blocks of the point's runs, with a Wilson
        interval: (rate, lo, hi, blocks)."""
        k = n = 0
        for r in self.runs:
            if all(r.get(kk) == v for kk, v in match.items()):
                k += int(float(r["stale_blocks"]))
                n += int(float(r["blocks_mined"]))
        p, lo, hi = wilson(k, n)
        return p, lo, hi, n


def row(figure, pub, ours, lo, hi, tol, note="", unit="", scale=1.0,
        fmt="%.3g"):
    """A comparison row.  pub: (value, unit, what, source) from published();
    tol: the absolute tolerance; holds when the published value lies within
    [lo - tol, hi + tol] (or ours +- tol without an interval)."""
    value = pub[0]
    if math.isnan(lo) or math.isnan(hi):
        lo = hi = ours
    lo = max(lo, 0.0)  # every figure compared here is a time, rate or share
    holds = (not math.isnan(ours)) and lo - tol <= value <= hi + tol
    # An interval from half to twice the published value cannot tell: say
    # so rather than "yes" (a stale rate of 0 in 30 blocks, for one).
    if holds and value > 0 and lo <= value / 2 and hi >= 2 * value:
        holds = None
    return {
        "figure": figure,
        "published": value, "source": pub[3], "what": pub[2],
        "ours": ours, "lo": lo, "hi": hi, "tol": tol,
        "holds": holds, "note": note, "unit": unit, "scale": scale,
        "fmt": fmt,
    }


def fmt_row(r):
    """(published, ours with interval, tolerance, holds) as text."""
    s, f, u = r["scale"], r["fmt"], r["unit"]

    def v(x):
        return "n/a" if math.isnan(x) else (f % (x * s))
    ours = v(r["ours"])
    if r["lo"] != r["hi"]:
        ours += " [%s, %s]" % (v(r["lo"]), v(r["hi"]))
    verdict = ("inconclusive" if r["holds"] is None
               else "yes" if r["holds"] else "**no**")
    return (v(r["published"]) + u, ours + u, "+-" + v(r["tol"]) + u, verdict)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def open_run(path):
    return ph.open_run(path)


def arrival_delays_s(path):
    """Per block of a run file: sorted delays (s) from mining to each node's
    arrival, the miner's own 0 included; and the node count."""
    run = ph.open_run(path)
    _, _, d = ph.arrival_delays(run)
    return [x.astype(float) / 1e9 for x in d], run.nodes

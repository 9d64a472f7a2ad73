#!/usr/bin/python3
"""Figures of one pouwsim run.

    /usr/bin/python3 analysis/plot_run.py RUN.h5 [--out DIR]

writes three PNG files into DIR (default: the directory of RUN.h5), named
after the run file (RUN_propagation.png, RUN_forks.png, RUN_timeseries.png):

  propagation  for each block, the fraction of all nodes that have stored it
               against the time since it was mined (grey: a sample of
               blocks; bold: the median over all blocks), with the median
               t50 and t90 of /summary marked
  forks        every block at (mined time, height) joined to its parent;
               main-chain and stale blocks in two colours; reorganisations
               (from /reorgs) and scenario timeline events marked
  timeseries   highest and lowest tip height, mean mempool size and the
               network-wide rate of message bytes sent, from /timeseries

and prints the paths written.  Exit status: 0 all figures written; 2 a user
error (no such file, not a run file, a dataset a figure needs is missing:
the other figures are still written); 1 the packages are missing (message
says which) or an internal error.
"""

import argparse
import os
import signal
import sys

MISSING = (
    "plot_run: error: %s cannot import %s: install python3-h5py, "
    "python3-numpy and python3-matplotlib (`make deps`) and run the script "
    "with /usr/bin/python3 (the python3 on PATH may be another interpreter)"
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import pouwsim_h5 as ph
except ImportError as e:
    sys.exit(MISSING % (sys.executable, e.name))


MAIN_COLOUR = "#1f5fa8"
STALE_COLOUR = "#d62728"
REORG_COLOUR = "#ff7f0e"
EVENT_COLOUR = "#6b6b6b"
DPI = 120


class FigureError(Exception):
    """A figure cannot be drawn from this file (message for the user)."""


def pyplot():
    """matplotlib.pyplot on the headless Agg backend, imported on first use
    (half of the start-up time: user errors are reported before it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def time_unit(end_s):
    """A readable unit for an axis spanning 0..end_s seconds."""
    if end_s <= 900:
        return "s", 1.0
    if end_s <= 36000:
        return "min", 60.0
    return "h", 3600.0


def end_time_s(run):
    if run.summary and "end_ns" in run.summary:
        return run.summary["end_ns"] / 1e9
    if run.rows("/timeseries"):
        return float(
            ph.ns_to_s(run.array("/timeseries", ["t_ns"])["t_ns"]).max()
        )
    return 0.0


def mark_timeline(ax, run, scale, with_labels, span_s):
    """Dotted vertical lines at the scenario's timeline events within
    span_s = (start, end) seconds."""
    for t_s, action, fields in run.timeline():
        if not span_s[0] <= t_s <= span_s[1]:
            continue
        ax.axvline(t_s / scale, color=EVENT_COLOUR, lw=0.8, ls=":", zorder=0)
        if with_labels:
            text = action
            if "fraction" in fields:
                text += " " + fields["fraction"]
            ax.annotate(
                text,
                xy=(t_s / scale, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2),
                textcoords="offset points",
                rotation=90,
                va="top",
                ha="left",
                fontsize=7,
                color=EVENT_COLOUR,
            )


def save(fig, path):
    plt = pyplot()
    try:
        fig.savefig(path, dpi=DPI)
    except OSError as e:
        raise ph.RunFileError("cannot write %s: %s" % (path, e)) from None
    finally:
        plt.close(fig)
    return path


# ---- (a) propagation --------------------------------------------------------


def median_curve(delays, grid, n_nodes):
    """At each grid time, the median over blocks of the fraction of nodes
    holding the block.  Nearest rank, so that the curve crosses level f
    exactly at the /summary-style median of the blocks' tf (when every block
    got there).  Works through the grid in slices to bound memory."""
    nb = len(delays)
    med = np.zeros(grid.size)
    if not nb:
        return med
    rank = nb - 1 - nb // 2
    step = max(1, 4000000 // nb)
    for lo in range(0, grid.size, step):
        g = grid[lo:lo + step]
        frac = np.empty((nb, g.size))
        for i, d in enumerate(delays):
            frac[i] = np.searchsorted(d, g, side="right")
        med[lo:lo + step] = np.partition(frac, rank, axis=0)[rank] / n_nodes
    return med


def plot_propagation(run, path, n_sample, linear, xmax):
    run.require("/blocks", nonempty=True)
    if not run.has("/arrivals"):
        raise FigureError(
            "%s: no dataset /arrivals: the propagation figure needs it "
            "(run the scenario with output.arrivals: true)" % run.path
        )
    n = run.nodes
    if not n:
        raise FigureError("%s: /run has no 'nodes' attribute" % run.path)
    _, _, delays_ns = ph.arrival_delays(run)
    if run.summary and "prop50_median_s" in run.summary:
        q = {k: run.summary[k] for k in ("prop50_median_s", "prop90_median_s")}
        q_src = "/summary"
    else:
        q = ph.propagation_quantiles(delays_ns, n)
        q_src = "recomputed from /arrivals (no /summary: partial file)"
    delays = [d / 1e9 for d in delays_ns]  # seconds from here on
    nb = len(delays)

    alld = np.concatenate(delays) if nb else np.zeros(0)
    pos = alld[alld > 0]
    top = (
        float(xmax)
        if xmax
        else (float(alld.max()) * 1.05 if alld.size else 1.0)
    )
    top = max(top, 1e-3)
    if linear:
        lo = 0.0
        grid = np.linspace(0.0, top, 2000)
    else:
        lo = 10.0 ** np.floor(np.log10(pos.min())) if pos.size else 1e-3
        lo = min(lo, top / 10)
        grid = np.geomspace(lo, top, 2000)

    fig, ax = pyplot().subplots(figsize=(8, 5), constrained_layout=True)
    pick = (
        np.unique(
            np.linspace(0, nb - 1, min(n_sample, nb)).round().astype(int)
        )
        if nb
        else []
    )
    for i in pick:
        d = delays[i]
        x = np.concatenate(([lo], np.maximum(d, lo), [top]))
        y = np.concatenate(([0.0], np.arange(1, d.size + 1) / n, [d.size / n]))
        ax.step(x, y, where="post", color="0.6", lw=0.5, alpha=0.6)
    ax.plot(
        grid,
        median_curve(delays, grid, n),
        color="black",
        lw=2.2,
        label="median over all %d blocks" % nb,
    )
    ax.plot([], [], color="0.6", lw=0.8, label="%d sampled blocks" % len(pick))
    for key, frac_level, colour in (
        ("prop50_median_s", 0.5, MAIN_COLOUR),
        ("prop90_median_s", 0.9, STALE_COLOUR),
    ):
        v = q.get(key)
        if v is None or not np.isfinite(v):
            continue
        ax.axvline(
            max(v, lo),
            color=colour,
            ls="--",
            lw=1.2,
            label="median t%d = %.3f s" % (round(frac_level * 100), v),
        )
        ax.axhline(frac_level, color=colour, ls=":", lw=0.6)
    if not linear:
        ax.set_xscale("log")
    ax.set_xlim(lo, top)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(
        "time since the block was mined (s%s)"
        % ("" if linear else ", log scale")
    )
    ax.set_ylabel("fraction of the %d nodes that stored the block" % n)
    ax.set_title("%s\nblock propagation" % run.label())
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    ax.text(
        0.01,
        0.99,
        "t50/t90 markers: %s\nthe miner holds its block at time 0%s"
        % (q_src, "" if linear else " (drawn at the left edge)"),
        transform=ax.transAxes,
        va="top",
        fontsize=7,
        color="0.35",
    )
    return save(fig, path)


# ---- (b) fork tree ----------------------------------------------------------


def plot_forks(run, path, window):
    run.require("/blocks", nonempty=True)
    b = run.table("/blocks", ["idx", "hash", "parent", "height", "mined_ns"])
    main, derived = ph.main_chain(run)
    t = ph.ns_to_s(b["mined_ns"])
    h = b["height"].astype(float)
    unit, scale = time_unit(max(end_time_s(run), float(t.max())))
    x = t / scale
    row_of = {hh: i for i, hh in enumerate(b["hash"].tolist())}
    genesis = run.run.get("genesis")
    segs, seg_main = [], []
    for i, p in enumerate(b["parent"].tolist()):
        j = row_of.get(p)
        if j is not None:
            segs.append(((x[j], h[j]), (x[i], h[i])))
        elif p == genesis:
            segs.append(((0.0, 0.0), (x[i], h[i])))
        else:
            continue  # parent unknown (not in this file)
        seg_main.append(bool(main[i]))
    seg_main = np.array(seg_main, dtype=bool)
    segs = np.array(segs, dtype=float).reshape(-1, 2, 2)

    from matplotlib.collections import LineCollection

    fig, ax = pyplot().subplots(figsize=(10, 6), constrained_layout=True)
    ax.add_collection(
        LineCollection(
            segs[seg_main], colors=MAIN_COLOUR, linewidths=0.8, zorder=1
        )
    )
    ax.add_collection(
        LineCollection(
            segs[~seg_main], colors=STALE_COLOUR, linewidths=0.8, zorder=1
        )
    )
    ax.scatter(
        [0], [0], marker="s", s=25, color="black", zorder=3, label="genesis"
    )
    src = (
        "derived from parent links (partial file)"
        if derived
        else "from /block_outcomes.main"
    )
    ax.scatter(
        x[main],
        h[main],
        s=10,
        color=MAIN_COLOUR,
        zorder=2,
        label="main chain: %d blocks" % int(main.sum()),
    )
    ax.scatter(
        x[~main],
        h[~main],
        s=22,
        color=STALE_COLOUR,
        marker="D",
        zorder=3,
        label="stale: %d blocks" % int((~main).sum()),
    )
    if run.rows("/reorgs"):
        r = run.table("/reorgs")
        rx = ph.ns_to_s(r["t_ns"]) / scale
        depth = r["depth"].astype(float)
        ax.scatter(
            rx,
            r["new_height"].astype(float) + 0.5,
            marker="v",
            s=12 + 10 * np.minimum(depth, 10),
            facecolors="none",
            edgecolors=REORG_COLOUR,
            linewidths=0.8,
            alpha=0.7,
            zorder=4,
            label="reorg at a node (%d, deepest %d); y: new tip height"
            % (r["t_ns"].size, int(depth.max())),
        )
    elif run.has("/reorgs"):
        ax.plot([], [], " ", label="no reorganisations")
    span = window or (0.0, max(end_time_s(run), float(t.max())))
    mark_timeline(ax, run, scale, True, span)
    if window:
        lo_s, hi_s = window
        sel = (t >= lo_s) & (t <= hi_s)
        ax.set_xlim(lo_s / scale, hi_s / scale)
        if sel.any():
            ax.set_ylim(h[sel].min() - 1, h[sel].max() + 1)
    else:
        ax.set_xlim(0, max(end_time_s(run), float(t.max())) / scale * 1.01)
        ax.set_ylim(-0.5, h.max() + 1.5)
    ax.set_xlabel("time the block was mined (%s of simulated time)" % unit)
    ax.set_ylabel("block height")
    ax.set_title("%s\nblock tree (main chain %s)" % (run.label(), src))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, alpha=0.3)
    return save(fig, path)


# ---- (c) time series --------------------------------------------------------


def plot_timeseries(run, path, window):
    run.require("/timeseries", nonempty=True)
    ts = run.table("/timeseries")
    t = ph.ns_to_s(ts["t_ns"])
    unit, scale = time_unit(max(end_time_s(run), float(t.max())))
    x = t / scale
    fig, axes = pyplot().subplots(
        3, 1, figsize=(9, 8), sharex=True, constrained_layout=True
    )
    ax = axes[0]
    ax.step(
        x,
        ts["max_height"],
        where="post",
        color=MAIN_COLOUR,
        label="highest tip",
    )
    ax.step(
        x,
        ts["min_height"],
        where="post",
        color=STALE_COLOUR,
        label="lowest tip",
    )
    ax.step(
        x,
        ts["mean_height"],
        where="post",
        color="0.4",
        lw=0.8,
        ls="--",
        label="mean tip (all nodes)",
    )
    ax.set_ylabel("chain height (blocks)")
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    ax.plot(x, ts["mean_mempool"], color="#2ca02c")
    ax.set_ylabel("mean mempool size\n(transactions per node)")
    ax = axes[2]
    # counters are cumulative from t = 0: rate over each sample interval
    t0 = np.concatenate(([0.0], t))
    b0 = np.concatenate(([0.0], ts["bytes"].astype(float)))
    dt = np.diff(t0)
    rate = np.divide(np.diff(b0), dt, out=np.zeros_like(dt), where=dt > 0)
    rname, rdiv = "B/s", 1.0
    for name, div in (("kB/s", 1e3), ("MB/s", 1e6), ("GB/s", 1e9)):
        if rate.size and rate.max() >= div:
            rname, rdiv = name, div
    ax.step(
        np.concatenate(([0.0], x)),
        np.concatenate((rate[:1], rate)) / rdiv,
        where="pre",
        color="#9467bd",
    )
    ax.set_ylabel("message bytes sent\n(%s, whole network)" % rname)
    ax.set_xlabel("simulated time (%s)" % unit)
    for i, a in enumerate(axes):
        mark_timeline(a, run, scale, i == 0, window or (0.0, float(t.max())))
        a.grid(True, alpha=0.3)
    if window:
        axes[0].set_xlim(window[0] / scale, window[1] / scale)
    else:
        axes[0].set_xlim(0, x.max())
    on = ts["online"]
    note = (
        ""
        if on.min() == on.max()
        else "; online nodes %d..%d" % (on.min(), on.max())
    )
    axes[0].set_title(
        "%s\ntime series (one sample every %s%s)"
        % (
            run.label(),
            run.parameters().get("output.sample_interval", "?"),
            note,
        )
    )
    return save(fig, path)


# ---- main -------------------------------------------------------------------


def parse_window(text):
    try:
        a, b = text.split(":")
        lo, hi = float(a), float(b)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected START:END in seconds, e.g. 600:900"
        ) from None
    if not hi > lo >= 0:
        raise argparse.ArgumentTypeError("expected 0 <= START < END")
    return lo, hi


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Propagation CDF, fork tree and time-series figures "
        "of a pouwsim run file."
    )
    ap.add_argument(
        "run",
        metavar="RUN.h5",
        help="HDF5 file written by `pouwsim run --out`",
    )
    ap.add_argument(
        "--out",
        metavar="DIR",
        help="directory for the PNG files (default: the directory of RUN.h5)",
    )
    ap.add_argument(
        "--sample",
        type=int,
        default=100,
        metavar="N",
        help="grey propagation curves to draw (default 100; evenly "
        "spaced blocks)",
    )
    ap.add_argument(
        "--linear",
        action="store_true",
        help="linear time axis for the propagation figure (default: log)",
    )
    ap.add_argument(
        "--xmax",
        type=float,
        metavar="S",
        help="propagation figure: end of the time axis in seconds",
    )
    ap.add_argument(
        "--window",
        type=parse_window,
        metavar="START:END",
        help="fork tree and time series: show this span of simulated seconds",
    )
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    if args.sample < 0:
        ap.error("--sample must be >= 0")
    if args.xmax is not None and args.xmax <= 0:
        ap.error("--xmax must be > 0")

    try:
        run = ph.open_run(args.run)
    except ph.RunFileError as e:
        print("plot_run: error: %s" % e, file=sys.stderr)
        return 2
    warn = run.layout_warning()
    if warn:
        print("plot_run: warning: %s" % warn, file=sys.stderr)
    if not run.finished:
        print(
            "plot_run: note: %s has no /summary: the run did not finish; "
            "drawing what the file holds" % run.path,
            file=sys.stderr,
        )
    out = args.out or os.path.dirname(os.path.abspath(args.run))
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        print(
            "plot_run: error: cannot create %s: %s" % (out, e), file=sys.stderr
        )
        return 2
    stem = os.path.splitext(os.path.basename(args.run))[0]
    jobs = (
        (
            "propagation",
            lambda p: plot_propagation(
                run, p, args.sample, args.linear, args.xmax
            ),
        ),
        ("forks", lambda p: plot_forks(run, p, args.window)),
        ("timeseries", lambda p: plot_timeseries(run, p, args.window)),
    )
    status = 0
    for tag, fn in jobs:
        path = os.path.join(out, "%s_%s.png" % (stem, tag))
        try:
            print(fn(path))
        except (ph.RunFileError, FigureError) as e:
            print(
                "plot_run: error: %s figure not written: %s" % (tag, e),
                file=sys.stderr,
            )
            status = 2
        except ImportError as e:
            print(MISSING % (sys.executable, e.name), file=sys.stderr)
            return 1
    return status


if __name__ == "__main__":
    sys.exit(main())

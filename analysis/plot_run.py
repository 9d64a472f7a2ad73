#!/usr/bin/python3
"""Figures of one pouwsim run.

    /usr/bin/python3 analysis/plot_run.py RUN.h5 [--out DIR]

writes three PNG files into DIR (default: the directory of RUN.h5), named
after the run file (RUN_propagation.png, RUN_forks.png, RUN_timeseries.png),
and two more for a consensus: pouw run (RUN_training.png,
RUN_verification.png):

  propagation  for each block, the fraction of all nodes that have stored it
               against the time since it was mined (grey: a sample of
               blocks; bold: the median over all blocks), with the median
               t50 and t90 of /summary marked
  forks        every block at (mined time, height) joined to its parent;
               main-chain and stale blocks in two colours; reorganisations
               (from /reorgs) and scenario timeline events marked
  timeseries   highest and lowest tip height, mean mempool size and the
               network-wide rate of message bytes sent, from /timeseries
  training     (pouw) training loss and training-batch accuracy against the
               iteration number, one curve per selected miner, the
               iterations that found PoUW blocks starred, the accuracy
               threshold a PoUW block must meet, and the final test
               accuracy of /summary (from /ml/iterations)
  verification (pouw) per PoUW block: nodes that connected or refused it,
               delay from its mining to each node's verification, and the
               simulated re-execution cost (from /ml/verifications), with
               the task's life-cycle times of /tasks marked

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


# ---- (d) PoUW training ------------------------------------------------------


def centred_mean(y, w):
    """Mean of w consecutive values centred on each position (the window
    shifts inwards at the ends; all values when there are fewer than w)."""
    y = np.asarray(y, dtype=float)
    if w <= 1 or y.size < 2:
        return y
    c = np.concatenate(([0.0], np.cumsum(y)))
    i = np.arange(y.size)
    lo = np.maximum(0, i - w // 2)
    hi = np.minimum(y.size, lo + w)
    lo = np.maximum(0, hi - w)
    return (c[hi] - c[lo]) / (hi - lo)


def task_row(run):
    """The first /tasks row as a dict of plain values, or None."""
    if not run.rows("/tasks"):
        return None
    t = run.table("/tasks")
    return {k: v[0].item() if hasattr(v[0], "item") else v[0]
            for k, v in t.items()}


def phase_text(run):
    """Task phase at the end, as a word (None for a partial file)."""
    if not run.summary or "pouw_phase_at_end" not in run.summary:
        return None
    ph_ = run.summary["pouw_phase_at_end"]
    return ph.TASK_PHASES.get(ph_, "phase %s" % ph_)


def plot_training(run, path):
    run.require("/ml/iterations")
    it = run.table("/ml/iterations")
    seq = it["seq"].astype(np.int64)
    fig, (ax_l, ax_a) = pyplot().subplots(
        2, 1, figsize=(9, 7.5), sharex=True, constrained_layout=True
    )
    phase = phase_text(run)
    pairs = sorted(
        set(zip(it["miner_index"].tolist(), it["miner_node"].tolist()))
    )
    cmap = pyplot().get_cmap("tab10")
    n_blocks = int((it["block"] == 1).sum())
    window = max(1, int(round(seq.size / max(1, len(pairs)) / 25)))
    for k, (mi, node) in enumerate(pairs):
        sel = np.nonzero(
            (it["miner_index"] == mi) & (it["miner_node"] == node)
        )[0]
        sel = sel[np.argsort(seq[sel], kind="stable")]
        x = seq[sel]
        loss = it["loss"][sel]
        acc = it["accuracy"][sel]
        blk = it["block"][sel] == 1
        c = cmap(k % 10)
        ax_l.plot(
            x,
            loss,
            color=c,
            lw=1.1,
            label="miner %d (node %d): %d iterations, %d PoUW blocks"
            % (mi, node, x.size, int(blk.sum())),
        )
        ax_a.plot(x, acc, color=c, lw=0.6, alpha=0.35)
        ax_a.plot(x, centred_mean(acc, window), color=c, lw=1.6)
        for ax, y in ((ax_l, loss), (ax_a, acc)):
            ax.scatter(
                x[blk],
                y[blk],
                marker="*",
                s=110,
                color=c,
                edgecolors="black",
                linewidths=0.6,
                zorder=5,
            )
    if n_blocks:
        ax_l.scatter(
            [],
            [],
            marker="*",
            s=110,
            color="white",
            edgecolors="black",
            linewidths=0.6,
            label="iteration that found a PoUW block (%d)" % n_blocks,
        )
    if seq.size:
        xs = np.arange(0, int(seq.max()) + 2)
        thr = ph.task_threshold(run, xs)
        if thr is not None:
            ax_a.step(
                xs,
                thr,
                where="post",
                color="0.3",
                ls="--",
                lw=1.0,
                label="accuracy a PoUW block's batch must reach "
                "(verify_ml_work)",
            )
        # epoch boundaries (every miner has the same schedule)
        starts = np.unique(seq[(it["iter"] == 0) & (it["epoch"] > 0)])
        for e_seq in starts.tolist():
            for ax in (ax_l, ax_a):
                ax.axvline(e_seq, color=EVENT_COLOUR, ls=":", lw=0.8)
            ax_l.annotate(
                "epoch %d" % int(it["epoch"][seq == e_seq][0]),
                xy=(e_seq, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, 2),
                textcoords="offset points",
                va="bottom",
                fontsize=7,
                color=EVENT_COLOUR,
            )
    task = task_row(run)
    best = run.summary.get("pouw_best_accuracy") if run.summary else None
    evaluated = task["result_ns"] > 0 if task else bool(best)
    if best is not None and evaluated:
        ax_a.axhline(
            best,
            color="black",
            ls=":",
            lw=1.6,
            label="final test accuracy, best model (/summary): %.4f" % best,
        )
    if window > 1:
        ax_a.plot(
            [],
            [],
            color="0.3",
            lw=1.6,
            label="bold: mean over %d iterations; thin: each batch" % window,
        )
    notes = []
    if not run.finished:
        notes.append("no /summary (partial file): no final test accuracy")
    elif not evaluated:
        notes.append(
            "no evaluator result by the end (task phase: %s)" % phase
        )
    if not seq.size:
        notes.append(
            "no training iteration recorded (task phase at the end: %s)"
            % (phase or "unknown")
        )
    if notes:
        ax_a.text(
            0.01,
            0.98,
            "\n".join(notes),
            transform=ax_a.transAxes,
            va="top",
            fontsize=8,
            color="0.3",
        )
    ax_l.set_ylabel("training loss\n(mean cross-entropy of the batch)")
    ax_a.set_ylabel("accuracy on the training batch")
    ax_a.set_xlabel("iteration of the miner (seq)")
    ax_a.set_ylim(0, 1.02)
    ax_l.set_ylim(bottom=0)
    if seq.size:
        ax_a.set_xlim(-0.5, int(seq.max()) + 0.5)
    for ax in (ax_l, ax_a):
        ax.grid(True, alpha=0.3)
    if pairs or n_blocks:
        ax_l.legend(loc="upper right", fontsize=8)
    if ax_a.get_legend_handles_labels()[0]:
        ax_a.legend(loc="lower right", fontsize=8)
    ax_l.set_title(
        "%s\nPoUW training: %d miners, %d iterations, %d PoUW blocks%s"
        % (
            run.label(),
            len(pairs),
            seq.size,
            n_blocks,
            "; task %s at the end" % phase if phase else "",
        )
    )
    return save(fig, path)


# ---- (e) PoUW verification --------------------------------------------------


def plot_verification(run, path):
    run.require("/ml/verifications")
    run.require("/blocks")
    b = run.table("/blocks", ["idx", "mined_ns", "miner"])
    row_of = {i: r for r, i in enumerate(b["idx"].tolist())}
    main, derived = ph.main_chain(run)
    v = run.table("/ml/verifications")
    vb = (
        ph.verifications_by_block(run)
        if v["block"].size
        else {"block": np.zeros(0, dtype=np.uint64)}
    )
    found = (
        ph.pouw_blocks(run)["block"]
        if run.rows("/ml/iterations")
        else np.zeros(0, dtype=np.int64)
    )
    blocks = sorted(
        set(int(x) for x in vb["block"].tolist() if int(x) in row_of)
        | set(int(x) for x in found.tolist() if x >= 0)
    )
    task = task_row(run)
    end_s = max(end_time_s(run), 1e-9)
    # the axis ends a little after the last PoUW event: the task's life
    # cycle is often short against the run
    last_ns = max(
        [int(b["mined_ns"][row_of[x]]) for x in blocks]
        + ([int(v["t_ns"].max())] if v["t_ns"].size else [])
        + [
            int(task[k])
            for k in ("submitted_ns", "training_ns", "result_ns", "settled_ns")
            if task
        ]
        + [0]
    )
    span_s = min(end_s, last_ns / 1e9 * 1.05) if last_ns else end_s
    cut = span_s < end_s * 0.95
    unit, scale = time_unit(span_s)
    n = run.nodes or 0
    fig, axes = pyplot().subplots(
        3, 1, figsize=(9, 9), sharex=True, constrained_layout=True
    )
    # (1) nodes that connected / refused each block
    ax = axes[0]
    pos = {x: j for j, x in enumerate(vb["block"].tolist())}
    mined = np.array(
        [b["mined_ns"][row_of[x]] for x in blocks], dtype=float
    ) / 1e9 / scale
    is_main = np.array([bool(main[row_of[x]]) for x in blocks], dtype=bool)
    conn = np.array(
        [vb["connected"][pos[x]] if x in pos else 0 for x in blocks]
    )
    refd = np.array(
        [vb["refused"][pos[x]] if x in pos else 0 for x in blocks]
    )
    for sel, fill, what in (
        (is_main, True, "main chain"),
        (~is_main, False, "stale"),
    ):
        if not sel.any():
            continue
        ax.scatter(
            mined[sel],
            conn[sel],
            marker="o",
            s=28,
            facecolors=MAIN_COLOUR if fill else "none",
            edgecolors=MAIN_COLOUR,
            zorder=3,
            label="nodes that connected it (%s block: %d)"
            % (what, int(sel.sum())),
        )
    if refd.any():
        ax.scatter(
            mined[refd > 0],
            refd[refd > 0],
            marker="x",
            s=36,
            color=STALE_COLOUR,
            zorder=4,
            label="nodes that refused it",
        )
    if n:
        ax.axhline(n, color="0.4", ls="--", lw=0.8, label="all %d nodes" % n)
    ax.set_ylim(-0.5, max(n, int(conn.max()) if conn.size else 1) * 1.08)
    ax.set_ylabel("nodes per PoUW block")
    # (2) delay from mining to each verification
    ax = axes[1]
    drawn = 0
    med_x, med_y, lo_d, hi_d = [], [], [], []
    for x in blocks:
        sel = v["block"] == x
        d = (v["t_ns"][sel].astype(np.int64)
             - int(b["mined_ns"][row_of[x]])) / 1e9
        d = d[d > 0]
        if not d.size:
            continue
        t = float(b["mined_ns"][row_of[x]]) / 1e9 / scale
        ok = v["outcome"][sel][
            (v["t_ns"][sel].astype(np.int64)
             - int(b["mined_ns"][row_of[x]])) > 0
        ] == 0
        ax.scatter(
            np.full(int(ok.sum()), t), d[ok], s=6, color=MAIN_COLOUR,
            alpha=0.35, linewidths=0,
        )
        if (~ok).any():
            ax.scatter(
                np.full(int((~ok).sum()), t), d[~ok], s=14, marker="x",
                color=STALE_COLOUR,
            )
        med_x.append(t)
        med_y.append(float(ph.nearest_rank(d, 0.5)))
        lo_d.append(float(d.min()))
        hi_d.append(float(d.max()))
        drawn += d.size
    if med_x:
        ax.scatter(
            med_x,
            med_y,
            marker="_",
            s=160,
            color="black",
            linewidths=1.5,
            zorder=4,
            label="median over the block's nodes",
        )
        ax.scatter(
            [], [], s=10, color=MAIN_COLOUR, label="one node (%d rows)" % drawn
        )
        if refd.any():
            ax.scatter(
                [], [], s=14, marker="x", color=STALE_COLOUR,
                label="a node that refused it",
            )
        ax.set_yscale("log")
        # room above the points for the legend, below for the note
        ax.set_ylim(min(lo_d) / 4, max(hi_d) * 12)
        ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_ylabel("delay from mining to\nverification at a node (s)")
    ax.text(
        0.01,
        0.02,
        "t_ns - /blocks.mined_ns; the miner's own row (delay 0) is not drawn",
        transform=ax.transAxes,
        va="bottom",
        fontsize=7,
        color="0.35",
    )
    # (3) simulated re-execution cost
    ax = axes[2]
    if v["block"].size and blocks:
        cost = np.array(
            [vb["cost_ns"][pos[x]] if x in pos else 0 for x in blocks],
            dtype=float,
        )
        total = np.array(
            [vb["cost_sum_ns"][pos[x]] if x in pos else 0 for x in blocks],
            dtype=float,
        )
        cname, cdiv = "s", 1e9
        for name, div in (("ms", 1e6), ("\u00b5s", 1e3)):
            if total.max() < div * 1e3:
                cname, cdiv = name, div
        ax.scatter(
            mined,
            cost / cdiv,
            marker="o",
            s=24,
            color="#2ca02c",
            zorder=3,
            label="one verification (cost_ns)",
        )
        ax.scatter(
            mined,
            total / cdiv,
            marker="s",
            s=24,
            color="#9467bd",
            zorder=3,
            label="summed over the block's rows (all nodes)",
        )
        pos_v = np.concatenate((cost[cost > 0], total[total > 0])) / cdiv
        if pos_v.size:
            from matplotlib.ticker import FormatStrFormatter, LogLocator

            ax.set_yscale("log")
            ax.set_ylim(pos_v.min() / 2, pos_v.max() * 2)
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.set_ylabel("simulated CPU time to\nre-execute (%s)" % cname)
        ax.legend(loc="center right", fontsize=8)
    else:
        ax.set_ylabel("simulated CPU time to\nre-execute")
    ax.set_xlabel(
        "time the PoUW block was mined (%s of simulated time%s)"
        % (unit, "; the run goes on to %.0f %s" % (end_s / scale, unit)
           if cut else "")
    )
    # the task's life cycle
    marks = []
    if task:
        for key, what in (
            ("submitted_ns", "submitted"),
            ("training_ns", "training"),
            ("result_ns", "result"),
            ("settled_ns", "settled"),
        ):
            if task[key] > 0:
                marks.append((task[key] / 1e9 / scale, what))
    for j, a in enumerate(axes):
        for t, what in marks:
            a.axvline(t, color=EVENT_COLOUR, ls=":", lw=0.9, zorder=0)
            if j == 0:
                a.annotate(
                    what,
                    xy=(t, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -2),
                    textcoords="offset points",
                    rotation=90,
                    va="top",
                    ha="left",
                    fontsize=7,
                    color=EVENT_COLOUR,
                )
        a.grid(True, alpha=0.3)
    axes[0].set_xlim(0, span_s / scale * (1.0 if cut else 1.01))
    if blocks:
        axes[0].legend(loc="lower right", fontsize=8)
    else:
        axes[0].text(
            0.5,
            0.5,
            "no PoUW block was mined, verified or refused",
            transform=axes[0].transAxes,
            ha="center",
            fontsize=9,
            color="0.3",
        )
    refusals = {}
    for code in v["outcome"][v["outcome"] != 0].tolist():
        refusals[code] = refusals.get(code, 0) + 1
    ref_text = (
        ", ".join(
            "%d %s" % (c, ph.POUW_REASONS.get(k, "code %d" % k))
            for k, c in sorted(refusals.items())
        )
        or "none refused"
    )
    axes[0].set_title(
        "%s\nPoUW verification: %d blocks, %d rows (%s)%s"
        % (
            run.label(),
            len(blocks),
            v["block"].size,
            ref_text,
            "; main chain derived from parent links" if derived else "",
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
        "of a pouwsim run file; for a pouw run also training curves and "
        "verification of the PoUW blocks."
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
    if run.pouw:
        jobs += (
            ("training", lambda p: plot_training(run, p)),
            ("verification", lambda p: plot_verification(run, p)),
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

#!/usr/bin/python3
"""Training accuracy against iteration for PoUW runs on different data sets,
side by side: one panel per data set (pouw.task.dataset), in the order the
data sets first appear on the command line.

    /usr/bin/python3 analysis/plot_accuracy.py RUN.h5 [RUN.h5 ...] --out FIG.png

In each panel, for the run with the most iterations per miner: the accuracy
on each miner's training batch against its iteration number (thin: each
iteration; bold: a centred moving mean), and the dynamic threshold a PoUW
block's batch must reach.  For every run of that data set: a star at (its
last iteration, its final test accuracy of /summary), so runs of one data
set with different iteration budgets show where a shorter budget ends.
A dotted line marks the task's min_accuracy.  FIG.png is created, never
overwritten (--force replaces it).

Exit status: 0 written; 2 a user error (no such file, not a PoUW run file,
output exists); 1 the packages are missing or an internal error.
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import plot_run as pr
    import pouwsim_h5 as ph
except ImportError as e:
    sys.exit(
        "plot_accuracy: error: %s cannot import %s: install python3-h5py, "
        "python3-numpy and python3-matplotlib (`make deps`) and run the "
        "script with /usr/bin/python3" % (sys.executable, e.name)
    )

NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
         "synthetic": "synthetic"}


def run_info(run):
    """(data set, iterations per miner, min accuracy, best test accuracy)."""
    run.require("/ml/iterations")
    params = run.parameters()
    it = run.table("/ml/iterations")
    n_iter = int(it["seq"].max()) + 1 if it["seq"].size else 0
    best = run.summary.get("pouw_best_accuracy") if run.summary else None
    return (params.get("pouw.task.dataset", "?"), n_iter,
            float(params.get("pouw.task.min_accuracy", "nan")), best)


def draw_curves(ax, run):
    """Batch accuracy per miner (thin and smoothed) and the threshold."""
    it = run.table("/ml/iterations")
    seq = it["seq"].astype(np.int64)
    pairs = sorted(set(zip(it["miner_index"].tolist(),
                           it["miner_node"].tolist())))
    window = max(1, int(round(seq.size / max(1, len(pairs)) / 25)))
    cmap = pr.pyplot().get_cmap("tab10")
    for k, (mi, node) in enumerate(pairs):
        sel = np.nonzero((it["miner_index"] == mi)
                         & (it["miner_node"] == node))[0]
        sel = sel[np.argsort(seq[sel], kind="stable")]
        acc = it["accuracy"][sel]
        c = cmap(k % 10)
        ax.plot(seq[sel], acc, color=c, lw=0.6, alpha=0.35)
        ax.plot(seq[sel], pr.centred_mean(acc, window), color=c, lw=1.6,
                label="miner %d (node %d), training batch: mean over %d"
                % (mi, node, window))
    xs = np.arange(0, int(seq.max()) + 2) if seq.size else np.arange(1)
    thr = ph.task_threshold(run, xs)
    if thr is not None:
        ax.step(xs, thr, where="post", color="0.3", ls="--", lw=1.0,
                label="accuracy a PoUW block's batch must reach")


def draw_panel(ax, name, runs):
    """runs: [(path, run, info)] of one data set."""
    longest = max(runs, key=lambda r: r[2][1])
    draw_curves(ax, longest[1])
    min_acc = longest[2][2]
    ax.axhline(min_acc, color="black", ls=":", lw=1.2,
               label="min_accuracy %.2f" % min_acc)
    for path, run, (_, n_iter, _, best) in sorted(runs,
                                                   key=lambda r: r[2][1]):
        if not best:
            continue
        ax.scatter([n_iter - 1], [best], marker="*", s=220, color="gold",
                   edgecolors="black", linewidths=0.8, zorder=6)
        ax.annotate("test %.4f\nafter %d iterations" % (best, n_iter),
                    xy=(n_iter - 1, best), xytext=(-8, -22),
                    textcoords="offset points", ha="right", fontsize=8)
    ax.scatter([], [], marker="*", s=220, color="gold", edgecolors="black",
               linewidths=0.8, label="final test accuracy, best model")
    lrun = longest[1]
    miners = len(set(lrun.table("/ml/iterations")["miner_index"].tolist()))
    ax.set_title("%s (%s): %d miners, seed %s"
                 % (NAMES.get(name, name), lrun.run.get("name", "?"), miners,
                    lrun.run.get("seed")), fontsize=10)
    ax.set_xlabel("iteration of the miner (seq)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.5, longest[2][1] + 0.5)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="RUN.h5")
    ap.add_argument("--out", required=True, metavar="FIG.png")
    ap.add_argument("--force", action="store_true",
                    help="replace FIG.png if it exists")
    a = ap.parse_args(argv)
    if os.path.exists(a.out) and not a.force:
        print("plot_accuracy: error: %s exists; not overwritten (--force "
              "replaces it)" % a.out, file=sys.stderr)
        return 2
    groups, hidden = {}, set()
    try:
        for path in a.runs:
            run = ph.open_run(path)
            info = run_info(run)
            groups.setdefault(info[0], []).append((path, run, info))
            hidden.add(run.parameters().get("pouw.task.hidden", "?"))
    except ph.RunFileError as e:
        print("plot_accuracy: error: %s" % e, file=sys.stderr)
        return 2
    plt = pr.pyplot()
    fig, axes = plt.subplots(1, len(groups), figsize=(6.5 * len(groups), 5),
                             sharey=True, squeeze=False,
                             constrained_layout=True)
    for ax, (name, runs) in zip(axes[0], groups.items()):
        draw_panel(ax, name, runs)
    axes[0][0].set_ylabel("accuracy")
    fig.suptitle("PoUW training: accuracy against iteration (hidden "
                 "layers %s)" % ", ".join(sorted(hidden)), fontsize=11)
    try:
        pr.save(fig, a.out)
    except ph.RunFileError as e:
        print("plot_accuracy: error: %s" % e, file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())

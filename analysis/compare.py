#!/usr/bin/python3
"""Compare the summary figures of several pouwsim runs.

    /usr/bin/python3 analysis/compare.py RUN1.h5 RUN2.h5 ... [--group]
                                         [--csv FILE] [--out FILE.png]

prints a table, one column per run (or per group of runs with --group), one
row per figure: every /summary attribute, PoUW figures included for
consensus: pouw runs.  Files of layout 1, whose /summary lacked some
figures `pouwsim run` prints, get them recomputed from the tables (marked
"*").  --csv writes one row per run (per group) with the raw values in the
file's units; --out draws a bar chart of the main figures.

--group puts runs that differ only in their seed together (same resolved
scenario in /run.parameters apart from `seed`) and reports mean, sample
standard deviation and the number of runs: the usual way to report
"pow vs pouw over 10 seeds".  Columns are labelled by what differs between
the runs (or groups): the parameters whose values differ, as
`consensus=pouw, nodes=500` (a key by its last component when that is
unambiguous).

Exit status: 0 done; 2 a user error (a file missing, not a run file, or a
run that did not finish: no /summary); 1 the packages are missing (message
says which) or an internal error.
"""

import argparse
import csv
import math
import os
import signal
import sys

MISSING = (
    "compare: error: %s cannot import %s: install python3-h5py, "
    "python3-numpy and python3-matplotlib (`make deps`) and run the script "
    "with /usr/bin/python3 (the python3 on PATH may be another interpreter)"
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import pouwsim_h5 as ph
except ImportError as e:
    sys.exit(MISSING % (sys.executable, e.name))

# (key, label for people, scale for the table, format).  Keys are the
# /summary attribute names, in the order of the table.
FIGURES = [
    ("nodes", "nodes", 1, "%.0f"),
    ("end_ns", "simulated time (s)", 1e-9, "%.1f"),
    ("blocks_mined", "blocks mined", 1, "%.0f"),
    ("main_height", "main chain height", 1, "%.0f"),
    ("stale_blocks", "stale blocks", 1, "%.0f"),
    ("stale_rate", "stale rate (%)", 100, "%.3f"),
    ("mean_interval_s", "mean block interval (s)", 1, "%.2f"),
    ("prop50_median_s", "propagation to 50%: median (s)", 1, "%.3f"),
    ("prop50_p90_s", "propagation to 50%: p90 (s)", 1, "%.3f"),
    ("prop50_blocks", "propagation to 50%: blocks measured", 1, "%.0f"),
    ("prop90_median_s", "propagation to 90%: median (s)", 1, "%.3f"),
    ("prop90_p90_s", "propagation to 90%: p90 (s)", 1, "%.3f"),
    ("prop90_blocks", "propagation to 90%: blocks measured", 1, "%.0f"),
    ("txs_created", "transactions created", 1, "%.0f"),
    ("txs_confirmed", "transactions confirmed", 1, "%.0f"),
    ("conf_median_s", "confirmation latency: median (s)", 1, "%.2f"),
    ("conf_p90_s", "confirmation latency: p90 (s)", 1, "%.2f"),
    ("reorgs", "reorganisations (node events)", 1, "%.0f"),
    ("reorg_max_depth", "deepest reorganisation (blocks)", 1, "%.0f"),
    ("blocks_refused", "blocks refused (node events)", 1, "%.0f"),
    ("messages", "messages sent", 1, "%.0f"),
    ("message_bytes", "message bytes sent (MB)", 1e-6, "%.1f"),
    ("mem_bytes_per_node", "memory per node (kB)", 1e-3, "%.1f"),
    ("events", "simulator events", 1, "%.0f"),
    ("pouw_iterations", "PoUW: training iterations", 1, "%.0f"),
    ("pouw_blocks", "PoUW: blocks from useful work", 1, "%.0f"),
    ("pouw_verifications", "PoUW: verifications", 1, "%.0f"),
    ("pouw_verify_failures", "PoUW: verifications refused", 1, "%.0f"),
    ("pouw_best_accuracy", "PoUW: best test accuracy", 1, "%.4f"),
    ("pouw_phase_at_end", "PoUW: task phase at the end", 1, "%.0f"),
]
# Figures of the bar chart (those no run has are left out).
CHART = [
    "stale_rate",
    "prop50_median_s",
    "prop90_median_s",
    "conf_median_s",
    "mean_interval_s",
    "reorgs",
    "reorg_max_depth",
    "message_bytes",
    "pouw_blocks",
    "pouw_best_accuracy",
]
DERIVED_NOTE = (
    "* recomputed from the tables for files of layout 1, whose /summary "
    "lacks it"
)


def derived(run):
    """Figures that /summary of a layout 1 file lacks (`pouwsim run` printed
    them), recomputed from the tables exactly as sim/metrics.c computes
    them.  Layout 2 files store them all: then this returns {}."""
    s = run.summary
    out = {}
    if "nodes" not in s and run.nodes is not None:
        out["nodes"] = run.nodes  # /run.nodes: the same number
    need = {
        "stale_blocks",
        "mean_interval_s",
        "prop50_blocks",
        "prop90_blocks",
        "conf_p90_s",
        "messages",
        "message_bytes",
    } - set(s)
    if not need:
        return out
    if run.rows("/block_outcomes"):
        o = run.array("/block_outcomes", ["idx", "main", "reached"])
        out["stale_blocks"] = int((o["main"] == 0).sum())
        for frac, key in ((0.5, "prop50_blocks"), (0.9, "prop90_blocks")):
            k = ph.threshold_count(run.nodes or 0, frac)
            out[key] = int((o["reached"] >= k).sum())
        main_h = s.get("main_height", 0)
        if not main_h:
            out["mean_interval_s"] = 0.0  # as `pouwsim run` prints it
        elif run.rows("/blocks"):
            b = run.array("/blocks", ["idx", "height", "mined_ns"])
            mined = dict(zip(o["idx"].tolist(), o["main"].tolist()))
            tip = [
                m
                for i, h, m in zip(
                    b["idx"].tolist(),
                    b["height"].tolist(),
                    b["mined_ns"].tolist(),
                )
                if h == main_h and mined.get(i)
            ]
            if tip:
                out["mean_interval_s"] = tip[0] / 1e9 / main_h
    elif s.get("blocks_mined") == 0:
        out["stale_blocks"] = 0
    if run.has("/tx_confirmations"):
        lat = run.array("/tx_confirmations", ["latency_ns"])["latency_ns"]
        out["conf_p90_s"] = (
            ph.nearest_rank(lat, 0.9) / 1e9 if lat.size else 0.0
        )
    if run.has("/messages"):
        m = run.array("/messages", ["count", "bytes"])
        out["messages"] = int(m["count"].sum())
        out["message_bytes"] = int(m["bytes"].sum())
    return {k: v for k, v in out.items() if k in need or k == "nodes"}


# Figures recomputed from the tables for at least one run (marked "*").
DERIVED_KEYS = set()


def load(paths):
    runs = []
    for p in paths:
        r = ph.open_run(p)
        if not r.finished:
            raise ph.RunFileError(
                "%s: no /summary: the run did not finish (killed or failed), "
                "so there is nothing to compare" % p
            )
        w = r.layout_warning()
        if w:
            print("compare: warning: %s" % w, file=sys.stderr)
        values = dict(r.summary)
        extra = derived(r)
        values.update(extra)
        DERIVED_KEYS.update(k for k in extra if k != "nodes")
        runs.append((r, values))
    return runs


def differing(params, skip=("seed",)):
    """Keys whose value differs between the dicts of `params`, in key
    order; `skip` is left out."""
    keys = sorted(set().union(*params)) if params else []
    return [
        k
        for k in keys
        if k not in skip and len({p.get(k) for p in params}) > 1
    ]


def short_keys(keys):
    """Key -> its last component when that is unambiguous among `keys`
    (`network.latency.mean` -> `mean`), else the whole key."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {
        k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last)
    }


def describe_by(params, keys):
    """Labels naming, for each dict of `params`, its values of `keys`:
    `name=...` first as the bare name, the others as short=value."""
    names = short_keys([k for k in keys if k != "name"])
    out = []
    for p in params:
        parts = [p.get("name", "")] if "name" in keys else []
        parts += [
            "%s=%s" % (names[k], p.get(k, "-")) for k in keys if k != "name"
        ]
        out.append(", ".join(parts))
    return out


def run_labels(runs, given):
    """Column labels: what differs between the runs' resolved scenarios
    (their seeds too), or the scenario name and seed when nothing else
    does."""
    if given:
        labels = given.split(",")
        if len(labels) != len(runs):
            raise ph.RunFileError(
                "--labels: %d labels for %d runs" % (len(labels), len(runs))
            )
        return labels
    params = [r.parameters() for r, _ in runs]
    keys = differing(params)
    if keys:
        labels = describe_by(params, keys)
        seeds = [r.seed for r, _ in runs]
        if len(set(zip(labels, seeds))) > len(set(labels)):
            labels = ["%s seed %s" % (lab, s) for lab, s in zip(labels, seeds)]
    else:
        labels = ["%s seed %s" % (r.name, r.seed) for r, _ in runs]
    for i, lab in enumerate(labels):
        if labels.count(lab) > 1:
            labels[i] = "%s (%s)" % (lab, os.path.basename(runs[i][0].path))
    return labels


def figure_keys(rows):
    """Known figures first, then any other /summary key (figures added to
    the simulator after this script), alphabetically."""
    present = set()
    for v in rows:
        present.update(k for k, x in v.items() if isinstance(x, (int, float)))
    keys = [k for k, _, _, _ in FIGURES if k in present]
    keys += sorted(present - set(keys))
    return keys


def describe(key):
    for k, label, scale, fmt in FIGURES:
        if k == key:
            return (label + (" *" if k in DERIVED_KEYS else "")), scale, fmt
    return key, 1, "%.6g"


def group_runs(runs):
    """Groups of runs that differ only in their seed: list of
    (label, [indices]).  A group is labelled by the parameters that differ
    between the groups (`relay=compact, nodes=500`), or by the scenario
    name when there is one group."""
    groups = {}
    order = []
    for i, (r, _) in enumerate(runs):
        params = "\n".join(
            line
            for line in r.run.get("parameters", "").splitlines()
            if not line.startswith("seed = ")
        )
        key = (r.run.get("consensus"), r.nodes, params)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(i)
    params = [runs[groups[k][0]][0].parameters() for k in order]
    keys = differing(params)
    if keys:
        labels = describe_by(params, keys)
    else:
        labels = [runs[groups[k][0]][0].name for k in order]
    return [(lab, groups[k]) for lab, k in zip(labels, order)]


def stats(values):
    v = np.array(
        [
            x
            for x in values
            if x is not None and not (isinstance(x, float) and math.isnan(x))
        ],
        dtype=float,
    )
    if not v.size:
        return math.nan, math.nan, 0
    sd = float(v.std(ddof=1)) if v.size > 1 else math.nan
    return float(v.mean()), sd, int(v.size)


def print_table(columns, keys, cells, grouped):
    """columns: header labels; cells[key][col] -> text."""
    first = ["figure"] + [describe(k)[0] for k in keys]
    widths = [max(len(s) for s in first)]
    for c, head in enumerate(columns):
        widths.append(max([len(head)] + [len(cells[k][c]) for k in keys]))
    line = "  ".join(
        [first[0].ljust(widths[0])]
        + [h.rjust(w) for h, w in zip(columns, widths[1:])]
    )
    print(line)
    print("-" * len(line))
    for k, lab in zip(keys, first[1:]):
        print(
            "  ".join(
                [lab.ljust(widths[0])]
                + [cells[k][c].rjust(w) for c, w in enumerate(widths[1:])]
            )
        )
    notes = [DERIVED_NOTE] if any(k in DERIVED_KEYS for k in keys) else []
    if "pouw_phase_at_end" in keys:
        notes.append(
            "task phase: "
            + ", ".join("%d %s" % kv for kv in sorted(ph.TASK_PHASES.items()))
        )
    if grouped:
        notes.append("groups: mean +- sample standard deviation (runs)")
    if notes:
        print("\n".join(notes))


def fmt_value(key, x, mean=False):
    _, scale, fmt = describe(key)
    if mean and fmt == "%.0f":
        fmt = "%.1f"  # a mean of counts
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if key == "pouw_phase_at_end" and not mean:
        return "%d %s" % (x, ph.TASK_PHASES.get(x, "?"))
    return fmt % (x * scale)


def bar_chart(path, title, columns, keys, means, sds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in CHART if k in keys]
    if not keys:
        raise ph.RunFileError("no figures to chart")
    ncol = 4 if len(keys) > 4 else len(keys)
    nrow = int(math.ceil(len(keys) / ncol))
    fig, axes = plt.subplots(
        nrow,
        ncol,
        figsize=(3.2 * ncol, 3.0 * nrow + 0.8),
        constrained_layout=True,
        squeeze=False,
    )
    xs = np.arange(len(columns))
    colours = [plt.get_cmap("tab10")(i % 10) for i in range(len(columns))]
    for ax, k in zip(axes.flat, keys):
        label, scale, _ = describe(k)
        y = np.array(
            [np.nan if v is None else v * scale for v in means[k]], dtype=float
        )
        err = None
        if sds is not None:
            err = np.array(
                [
                    0 if (v is None or math.isnan(v)) else v * scale
                    for v in sds[k]
                ]
            )
        ax.bar(xs, np.nan_to_num(y), yerr=err, color=colours, capsize=3)
        for x, v in zip(xs, y):
            if np.isnan(v):  # a figure this run does not have (pow: PoUW)
                ax.annotate(
                    "n/a",
                    xy=(x, 0),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                    color="0.4",
                )
        ax.set_title(
            label.replace(": ", ":\n", 1) if len(label) > 28 else label,
            fontsize=9,
        )
        ax.set_xticks(xs)
        ax.set_xticklabels(columns, rotation=30, ha="right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=11)
    if any(k in DERIVED_KEYS for k in keys):
        fig.text(
            0.995,
            0.005,
            DERIVED_NOTE,
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.35",
        )
    try:
        fig.savefig(path, dpi=120)
    except OSError as e:
        raise ph.RunFileError("cannot write %s: %s" % (path, e)) from None
    finally:
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Compare the /summary figures of pouwsim runs."
    )
    ap.add_argument(
        "runs",
        nargs="+",
        metavar="RUN.h5",
        help="run files (`pouwsim run --out`)",
    )
    ap.add_argument(
        "--group",
        action="store_true",
        help="pool runs that differ only in their seed: mean, sd, n",
    )
    ap.add_argument(
        "--labels",
        metavar="A,B,...",
        help="column labels, one per run (default: name and seed)",
    )
    ap.add_argument("--csv", metavar="FILE", help="write the values as CSV")
    ap.add_argument(
        "--out",
        metavar="FILE.png",
        help="write a bar chart of the main figures",
    )
    args = ap.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    try:
        runs = load(args.runs)
        labels = run_labels(runs, args.labels)
        keys = figure_keys([v for _, v in runs])
        if args.group:
            groups = group_runs(runs)
            columns = ["%s (n=%d)" % (lab, len(ix)) for lab, ix in groups]
            means = {k: [] for k in keys}
            sds = {k: [] for k in keys}
            cells = {k: [] for k in keys}
            for _, ix in groups:
                for k in keys:
                    m, sd, n = stats([runs[i][1].get(k) for i in ix])
                    means[k].append(m)
                    sds[k].append(sd)
                    cells[k].append(
                        "-"
                        if n == 0
                        else fmt_value(k, m)
                        if n == 1
                        else "%s +- %s"
                        % (fmt_value(k, m, True), fmt_value(k, sd, True))
                    )
        else:
            columns = labels
            means = {k: [v.get(k) for _, v in runs] for k in keys}
            sds = None
            cells = {k: [fmt_value(k, x) for x in means[k]] for k in keys}
        print_table(columns, keys, cells, args.group)

        if args.csv:
            try:
                with open(args.csv, "w", newline="") as f:
                    w = csv.writer(f)
                    if args.group:
                        w.writerow(
                            ["group", "n", "files"]
                            + [
                                c
                                for k in keys
                                for c in (k + "_mean", k + "_sd")
                            ]
                        )
                        for (lab, ix), c in zip(groups, range(len(groups))):
                            w.writerow(
                                [
                                    lab,
                                    len(ix),
                                    ";".join(runs[i][0].path for i in ix),
                                ]
                                + [
                                    "" if math.isnan(x) else x
                                    for k in keys
                                    for x in (means[k][c], sds[k][c])
                                ]
                            )
                    else:
                        w.writerow(
                            [
                                "label",
                                "file",
                                "name",
                                "seed",
                                "consensus",
                                "version",
                            ]
                            + keys
                        )
                        for (r, v), lab in zip(runs, labels):
                            w.writerow(
                                [
                                    lab,
                                    r.path,
                                    r.name,
                                    r.seed,
                                    r.run.get("consensus"),
                                    r.run.get("version"),
                                ]
                                + [v.get(k, "") for k in keys]
                            )
            except OSError as e:
                raise ph.RunFileError(
                    "cannot write %s: %s" % (args.csv, e)
                ) from None
            print(args.csv)
        if args.out:
            names = sorted({r.name for r, _ in runs})
            title = "comparison of %d runs: %s" % (len(runs), ", ".join(names))
            if args.group:
                title += " (mean +- sd over seeds)"
            bar_chart(args.out, title, columns, keys, means, sds)
            print(args.out)
    except ph.RunFileError as e:
        print("compare: error: %s" % e, file=sys.stderr)
        return 2
    except ImportError as e:
        print(MISSING % (sys.executable, e.name), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

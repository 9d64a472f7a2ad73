#!/usr/bin/python3
"""Compare two runs of one scenario, one per transaction model
(network.tx_model: messages, the exact reference, and flood).

    /usr/bin/python3 analysis/compare_tx_models.py MESSAGES.h5 FLOOD.h5 [--markdown]

Both runs need output.tx_arrivals: true (and output.arrivals, the default).
Prints, for each figure, both runs' values and their difference:

  - transaction propagation: delay from creation to each node's acceptance
    (/tx_arrivals t_ns - /txs created_ns), quantiles and the Kolmogorov-Smirnov
    distance between the two distributions; and the share of (payment, node)
    pairs reached within 60 s;
  - block propagation: delay of every block arrival (/arrivals), quantiles and
    KS distance; the summary's median delay to 50 % and 90 % of the nodes;
  - confirmation latency (/tx_confirmations latency_ns): quantiles, KS;
  - block fill: mean bytes and transactions of the main chain's blocks;
  - mean mempool size over the run (/timeseries).

Only arrivals up to the end of each run count (a flood run knows arrivals
after its end).  The runs' payments are not the same set (wallets pay from
what their node sees confirmed, which depends on the model), so the
comparison is of distributions, not of pairs.  Exit status 2 on a file that
is not a run file or lacks the tables.
"""

import sys

import numpy as np

import pouwsim_h5 as ph


def quantiles(x, qs=(0.1, 0.5, 0.9, 0.99)):
    if len(x) == 0:
        return [float("nan")] * len(qs)
    return [float(np.quantile(x, q)) for q in qs]


def ks(a, b):
    """Largest distance between the two empirical CDFs."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    a = np.sort(a)
    b = np.sort(b)
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def figures(path):
    run = ph.open_run(path)
    end = int(run.summary["end_ns"])
    txs = run.table("/txs")
    created = np.zeros(len(txs["idx"]), dtype=np.int64)
    created[txs["idx"].astype(np.int64)] = txs["created_ns"].astype(np.int64)  # idx is 0..n-1
    ta = run.table("/tx_arrivals")
    t = ta["t_ns"].astype(np.int64)
    keep = t <= end
    tx_delay = (t[keep] - created[ta["tx"][keep].astype(np.int64)]) / 1e9
    blocks = run.table("/blocks")
    mined = np.zeros(len(blocks["idx"]), dtype=np.int64)
    mined[blocks["idx"].astype(np.int64)] = blocks["mined_ns"].astype(np.int64)
    arr = run.table("/arrivals")
    bdel = (arr["t_ns"].astype(np.int64) - mined[arr["block"].astype(np.int64)]) / 1e9
    conf = run.table("/tx_confirmations")["latency_ns"] / 1e9
    outc = run.table("/block_outcomes")
    main = set(outc["idx"][outc["main"] == 1].tolist())
    sel = np.array([int(i) in main for i in blocks["idx"]], dtype=bool)
    ts = run.table("/timeseries")
    n_nodes = int(run.summary["nodes"])
    n_tx = len(txs["idx"])
    return {
        "tx_delay": tx_delay,
        "tx_within_60s": float(np.sum(tx_delay <= 60.0)) / max(1, n_tx * n_nodes),
        "block_delay": bdel,
        "conf": conf,
        "prop50": float(run.summary["prop50_median_s"]),
        "prop90": float(run.summary["prop90_median_s"]),
        "fill_bytes": float(np.mean(blocks["size"][sel])) if sel.any() else float("nan"),
        "fill_txs": float(np.mean(blocks["n_tx"][sel])) - 1 if sel.any() else float("nan"),
        "mempool": float(np.mean(ts["mean_mempool"])) if len(ts["mean_mempool"]) else float("nan"),
        "payments": n_tx,
        "nodes": n_nodes,
    }


def rows(a, b):
    out = []
    for name, key, unit in (("payment reaches a node", "tx_delay", "s"),
                            ("block reaches a node", "block_delay", "s"),
                            ("confirmation latency", "conf", "s")):
        qa, qb = quantiles(a[key]), quantiles(b[key])
        for q, x, y in zip(("p10", "p50", "p90", "p99"), qa, qb):
            out.append((f"{name}, {q}", x, y, unit))
        out.append((f"{name}, KS distance", ks(a[key], b[key]), float("nan"), ""))
    for label, key, unit in (("(payment, node) pairs reached within 60 s", "tx_within_60s", ""),
                             ("median delay to 50 % of nodes", "prop50", "s"),
                             ("median delay to 90 % of nodes", "prop90", "s"),
                             ("main-chain block size, mean", "fill_bytes", "B"),
                             ("main-chain payments per block, mean", "fill_txs", ""),
                             ("mempool size, mean over nodes and samples", "mempool", ""),
                             ("payments created", "payments", "")):
        out.append((label, a[key], b[key], unit))
    return out


def fmt(v):
    if isinstance(v, float) and np.isnan(v):
        return "-"
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 100:
        return f"{int(v)}"
    return f"{v:.4g}"


def main(argv):
    args = [x for x in argv[1:] if not x.startswith("--")]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        a, b = figures(args[0]), figures(args[1])
    except (ph.RunFileError, KeyError) as e:
        print(f"compare_tx_models.py: {e}", file=sys.stderr)
        return 2
    print(f"{a['nodes']} nodes: {args[0]} (messages) against {args[1]} (flood)\n")
    print("| figure | messages | flood | flood - messages |")
    print("|---|---|---|---|")
    for label, x, y, unit in rows(a, b):
        d = "-" if np.isnan(y) or np.isnan(x) else fmt(y - x)
        u = f" {unit}" if unit else ""
        print(f"| {label} | {fmt(x)}{u} | {fmt(y)}{u if not np.isnan(y) else ''} | {d} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Proof of work against proof of useful work on the same network at the
same block rate (scenarios/pow-vs-pouw.yaml, five seeds): block rate, stale
rate, propagation, bytes per block and the verification load side by side;
see published.md."""

import math
import os
import re

import numpy as np

import common

TITLE = "Proof of work against proof of useful work at the same block rate"
RULES = ["pow", "pouw"]


def wall_s(sw, run):
    """The run's wall time from its log (`pouwsim run` prints it last)."""
    path = os.path.join(sw.path, "runs", run + ".log")
    if not os.path.exists(path):
        return math.nan
    with open(path) as f:
        m = re.findall(r"^wall time\s+([0-9.]+) s", f.read(), re.M)
    return float(m[-1]) if m else math.nan


def verification(files):
    """Pooled over the runs' /ml/verifications: per node other than the
    block's miner, bytes fetched and first heard -> verified (s); per PoUW
    block, rows, distinct nodes, bytes of all nodes, re-execution CPU time
    (s); refused rows."""
    fetch, delay, per_block, total, cost, nodes = [], [], [], [], [], []
    refused = 0
    for path in files:
        run = common.open_run(path)
        if not run.has("/ml/verifications"):
            continue
        v = run.table("/ml/verifications")
        b = run.table("/blocks", ["idx", "miner"])
        miner = dict(zip(b["idx"].tolist(), b["miner"].tolist()))
        other = np.array([miner.get(k) != n for k, n in
                          zip(v["block"].tolist(), v["node"].tolist())],
                         dtype=bool)
        fetch += v["bytes"][other].astype(float).tolist()
        delay += ((v["t_ns"][other].astype(float)
                   - v["heard_ns"][other].astype(float)) / 1e9).tolist()
        refused += int((v["outcome"] != 0).sum())
        blocks, first, rows = np.unique(v["block"], return_index=True,
                                        return_counts=True)
        per_block += rows.astype(float).tolist()
        pairs = np.unique(v["block"].astype(np.uint64) * np.uint64(1 << 32)
                          + v["node"].astype(np.uint64))
        nodes += np.unique(pairs >> np.uint64(32),
                           return_counts=True)[1].astype(float).tolist()
        sums = np.bincount(np.searchsorted(blocks, v["block"]),
                           weights=v["bytes"].astype(float))
        total += sums.tolist()
        cost += (v["cost_ns"][first].astype(float) / 1e9).tolist()
    return {"fetch": fetch, "delay": delay, "rows": per_block, "nodes": nodes,
            "total": total, "cost": cost, "refused": refused}


def gamma_cdf(a, x):
    """P(G < x) for G ~ Gamma(a, 1), a a positive integer (Erlang)."""
    term, tail = 1.0, 1.0
    for i in range(1, a):
        term *= x / i
        tail += term
    return 1.0 - math.exp(-x) * tail


def retarget_means(n, t):
    """Mean block interval (s) that retargeting every n blocks towards t
    settles at when the hash rate is constant: the target after a window
    gives the interval n t / G, G ~ Gamma(n - 1, 1) (the n - 1 intervals
    the window's timestamps span, in units of the last interval), so
    E = n t / (n - 2) uncapped; capped at the proof-of-work limit, where a
    hash rate of exactly chain.pow_hashes_per_block per t puts the interval
    at t, it is E[max(t, n t / G)] = t P(G >= n) + n t / (n - 2)
    P(G' < n), G' ~ Gamma(n - 2, 1).  (uncapped, capped)."""
    a = n - 1
    free = n * t / (a - 1)
    return free, t * (1.0 - gamma_cdf(a, n)) + free * gamma_cdf(a - 1, n)


def t_values(files, col):
    out = []
    for f in files:
        t = common.ph.block_outcomes(common.open_run(f))[col]
        out += [float(x) for x in t if not math.isnan(x)]
    return out


def ci(m, lo, hi, fmt, scale=1.0):
    if math.isnan(m):
        return "n/a"
    s = fmt % (m * scale)
    if not (math.isnan(lo) or math.isnan(hi)):
        s += " [%s, %s]" % (fmt % (lo * scale), fmt % (hi * scale))
    return s


def q(values, p, fmt, scale=1.0):
    x = common.ph.nearest_rank(values, p)
    return "n/a" if math.isnan(x) else fmt % (x * scale)


def analyse(ctx):
    sw = ctx.sweeps["powpouw"]
    runs = {c: [r for r in sw.runs if r["consensus"] == c] for c in RULES}
    files = {c: sw.run_files(consensus=c) for c in RULES}
    col = {c: {} for c in RULES}

    def mean_of(key, fmt, scale=1.0):
        for c in RULES:
            m, lo, hi = common.mean_ci([common.num(r[key]) for r in runs[c]])
            if key == "pouw_block_share":  # a share: at most 1
                hi = min(hi, 1.0)
            col[c][key] = (m, ci(m, lo, hi, fmt, scale))
        return [col[c][key][1] for c in RULES]

    def add(name, cells, a=None, b=None):
        r = "%.2f" % (b / a) if a and b and not math.isnan(a + b) else ""
        lines.append("| %s | %s | %s | %s |" % (name, cells[0], cells[1], r))

    lines = ["| figure | pow | pouw | pouw / pow |", "|---|---|---|---|"]
    add("runs (seeds, the same under both rules)",
        [str(len(runs[c])) for c in RULES])
    cells = mean_of("main_height", "%.1f")
    add("main-chain blocks per run", cells, col["pow"]["main_height"][0],
        col["pouw"]["main_height"][0])
    cells = mean_of("mean_interval_s", "%.2f")
    add("mean main-chain block interval (s)", cells,
        col["pow"]["mean_interval_s"][0], col["pouw"]["mean_interval_s"][0])
    cells = mean_of("blocks_mined", "%.1f")
    add("blocks mined per run (stale included)", cells)
    st = {c: sw.pooled_stale(consensus=c) for c in RULES}
    add("stale rate (%%), pooled, %s blocks" % " and ".join(
        str(st[c][3]) for c in RULES),
        [ci(st[c][0], st[c][1], st[c][2], "%.2f", 100) for c in RULES],
        st["pow"][0], st["pouw"][0])
    prop = {}
    for label, key in (("50 %", "t50_s"), ("90 %", "t90_s")):
        med = {}
        for c in RULES:
            v = t_values(files[c], key)
            med[c] = common.median_ci(v)
            prop.setdefault(c, {})[key] = v
        add("propagation to %s of the nodes (s): median over blocks "
            "[interval]" % label,
            [ci(*med[c], "%.3f") for c in RULES], med["pow"][0],
            med["pouw"][0])
    cells = mean_of("bytes_per_block", "%.3f", 1e-6)
    add("bytes of block relay and PoUW data per block mined (MB)", cells,
        col["pow"]["bytes_per_block"][0], col["pouw"]["bytes_per_block"][0])
    size = {}
    for c in RULES:
        s = []
        for f in files[c]:
            s += common.open_run(f).table("/blocks", ["size"])["size"].astype(
                float).tolist()
        size[c] = float(np.mean(s)) if s else math.nan
    add("mean block size (bytes)", ["%.0f" % size[c] for c in RULES],
        size["pow"], size["pouw"])
    cells = mean_of("pouw_block_share", "%.1f", 100)
    cells[0] = "0"
    add("PoUW blocks in the main chain (%)", cells)
    cells = mean_of("pouw_tasks_settled", "%.1f")
    add("tasks settled per run", ["-", cells[1]])
    v = verification(files["pouw"])
    add("nodes that verified a PoUW block (its miner included; a stale "
        "block may reach its miner alone), mean [min, max]",
        ["-", "%.1f [%.0f, %.0f]" % (np.mean(v["nodes"]), min(v["nodes"]),
                                     max(v["nodes"])) if v["nodes"] else
         "n/a"])
    add("verifications per PoUW block (a node connects a block again "
        "after a reorganisation back to it), mean [min, max]",
        ["-", "%.1f [%.0f, %.0f]" % (np.mean(v["rows"]), min(v["rows"]),
                                     max(v["rows"])) if v["rows"] else "n/a"])
    add("refused verifications", ["-", str(v["refused"])])
    add("fetched by one node to check one PoUW block (bytes): median, p90",
        ["-", "%s, %s" % (q(v["fetch"], 0.5, "%.0f"),
                          q(v["fetch"], 0.9, "%.0f"))])
    add("fetched by all nodes per PoUW block (MB): mean",
        ["-", "%.2f" % (np.mean(v["total"]) / 1e6) if v["total"] else "n/a"])
    add("simulated CPU time of one re-execution (us): median",
        ["-", q(v["cost"], 0.5, "%.1f", 1e6)])
    add("first heard to verified, per node and PoUW block (s): median, p90",
        ["-", "%s, %s" % (q(v["delay"], 0.5, "%.3f"),
                          q(v["delay"], 0.9, "%.3f"))])
    wall = {c: [wall_s(sw, r["run"]) for r in runs[c]] for c in RULES}
    add("wall time of one run (s), mean [min, max]",
        ["%.1f [%.1f, %.1f]" % (np.nanmean(wall[c]), np.nanmin(wall[c]),
                                np.nanmax(wall[c]))
         if not all(math.isnan(w) for w in wall[c]) else "n/a"
         for c in RULES])
    ctx.tables.append(("PoW and PoUW side by side", "\n".join(lines)))
    draw(ctx, prop)
    h = {c: [int(float(r["main_height"])) for r in runs[c]] for c in RULES}
    ctx.notes.append(
        "Main-chain blocks per run, seed by seed (repetition r has the "
        "same seed under both rules): pow %s; pouw %s." % (
            ", ".join(map(str, h["pow"])), ", ".join(map(str, h["pouw"]))))
    if files["pow"]:
        par = common.open_run(files["pow"][0]).parameters()
        n = int(par["chain.retarget_interval"])
        t = common.ph.parse_duration_ns(par["chain.block_interval"]) / 1e9
        free, capped = retarget_means(n, t)
        factor = int(par.get("chain.pow_limit_factor", "1"))
    if files["pow"] and factor > 1:
        ctx.notes.append(
            "Why both rules settle near %.1f s and not at %.0f s: "
            "retargeting every n = %d blocks towards t measures the n - 1 "
            "intervals the window's timestamps span, so with a constant "
            "rate the interval settles at n t / (n - 2) = %.2f s under both "
            "rules.  chain.pow_limit_factor = %d makes the easiest target "
            "%d times easier than the start, so no retarget is capped at "
            "the proof-of-work limit: with the limit at the start (factor 1) "
            "every retarget of pow that would ease the target is capped and "
            "pow settles at E[max(t, n t / G)] = %.2f s (G ~ Gamma(n - 1, "
            "1)) while pouw, whose nonces come several times faster than "
            "the nominal hash rate, stays at %.2f s.  Measured: pow %.2f s, "
            "pouw %.2f s (above)." % (
                free, t, n, free, factor, factor, capped, free,
                col["pow"]["mean_interval_s"][0],
                col["pouw"]["mean_interval_s"][0]))
    elif files["pow"]:
        ctx.notes.append(
            "Why the block rates differ by a few per cent although both "
            "rules retarget towards the same interval: the target can never "
            "be easier than the proof-of-work limit (core/chain.c "
            "required_bits), which chain.pow_hashes_per_block puts at "
            "exactly the proof-of-work miners' nominal hash rate.  Under pow "
            "the hash rate is that nominal rate, so every retarget that would "
            "ease the target below the limit is capped and the mean interval "
            "settles at E[max(t, n t / G)] = %.2f s (n = %d blocks a window, "
            "t = %.0f s, G ~ Gamma(n - 1, 1): the window's timestamps span "
            "n - 1 intervals); under pouw the training iterations' nonces "
            "come several times faster than the nominal hash rate, the "
            "target stays well inside the limit and the interval settles at "
            "n t / (n - 2) = %.2f s.  Measured: %.2f s and %.2f s (above).  "
            "Without retargeting (chain.fixed_target) pow gives the nominal "
            "%.0f s (checked on this scenario at 60 nodes, seeds 1 to 4: "
            "29.4 to 30.4 s)." % (
                capped, n, t, free, col["pow"]["mean_interval_s"][0],
                col["pouw"]["mean_interval_s"][0], t))
    ctx.notes.append(
        "Why PoUW blocks travel slower: a node relays a PoUW block only once "
        "it has checked it, and the check needs the miner's model state, "
        "residual and the peer updates of the iteration, which the node "
        "fetches when it lacks them (pouw_getdata / pouw_data), then the "
        "re-execution of the iteration on its CPU; a proof-of-work block "
        "costs a hash.  The slower spread is what raises the stale rate at "
        "the same block rate.  Bytes per block: a PoUW block carries its "
        "proof (two iteration messages, the miner's history of iteration "
        "ids, 32 bytes an iteration, and a signature) in every compact "
        "block, and the data fetches come on top.")
    ctx.notes.append(
        "Intervals: counts, intervals, bytes and shares are means over the "
        "runs with Student-t 95 % intervals; the stale rate is pooled with "
        "a Wilson interval; propagation medians are pooled over the blocks "
        "of all runs with distribution-free intervals; verification figures "
        "are pooled over the rows of /ml/verifications of all pouw runs "
        "(nodes other than the block's miner for the per-node figures).  "
        "Wall times come from the runs' logs, two runs at once on the "
        "shared 2-core machine.")
    return []


def draw(ctx, prop):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True,
                             constrained_layout=True)
    for ax, key, label in ((axes[0], "t50_s", "50 %"),
                           (axes[1], "t90_s", "90 %")):
        for k, c in enumerate(RULES):
            v = np.sort(np.array(prop[c][key]))
            if v.size:
                ax.step(v, np.arange(1, v.size + 1) / v.size, where="post",
                        color="C%d" % k, label="%s (%d blocks)" % (c, v.size))
        ax.set_xscale("log")
        ax.set_xlabel("delay from mining to %s of the nodes (s)" % label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("share of blocks")
    fig.suptitle("Same network, same block rate: block propagation under "
                 "pow and pouw", fontsize=10)
    fig.savefig(ctx.figure_path(""), dpi=110)
    plt.close(fig)

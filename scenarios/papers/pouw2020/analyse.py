"""PoUW on Fashion-MNIST: training curves of 1, 3 and 5 seated miners and
the final test accuracy against published MLP baselines; see published.md."""

import numpy as np

import common

TITLE = "Proof of useful work: the seed's task on Fashion-MNIST, 1, 3 and 5 miners"
SEATS = ["1", "3", "5"]
WINDOW = 15  # iterations in the moving mean of the curves


def analyse(ctx):
    pub = ctx.pub()
    sw = ctx.sweeps["pouw2020"]
    rows = []
    per_seat = {}
    for seats in SEATS:
        runs = [r for r in sw.runs if r["pouw.miner_seats"] == seats]
        acc = [common.num(r["pouw_best_accuracy"]) for r in runs]
        m, lo, hi = common.mean_ci(acc)
        per_seat[seats] = (runs, m)
        note = "%d task seeds: %s" % (len(acc), ", ".join(
            "%.4f" % a for a in acc))
        rows.append(common.row(
            "%s miner%s: best test accuracy vs MLP 256-128-100" % (
                seats, "" if seats == "1" else "s"),
            pub["mlp_256_128_100"], m, lo, hi, 0.02, fmt="%.4f", note=note))
        rows.append(common.row(
            "%s miner%s: best test accuracy vs scikit-learn MLPs 0.84-0.87" % (
                seats, "" if seats == "1" else "s"),
            pub["sklearn_mlp_mid"], m, lo, hi, 0.015, fmt="%.4f"))
    seated = draw(ctx, sw, pub)
    ctx.notes.append(
        "Seats: pouw.miner_seats fixes the miner seats of every task "
        "(core/PROTOCOL.md 6.3; the complexity rule gives the seed's task "
        "3); five nodes buy miner tickets.  Miners that trained, per run: "
        "%s." % "; ".join("%s seats: %s" % (s, ", ".join(map(str, seated[s])))
                          for s in SEATS))
    for seats in SEATS:
        runs, m = per_seat[seats]
        ctx.notes.append(
            "%s seats: PoUW blocks per run %s; verifications %s (%d refused); "
            "iterations %s." % (
                seats,
                ", ".join(str(int(float(r["pouw_blocks"]))) for r in runs),
                ", ".join(str(int(float(r["pouw_verifications"])))
                          for r in runs),
                sum(int(float(r["pouw_verify_failures"])) for r in runs),
                ", ".join(str(int(float(r["pouw_iterations"]))) for r in runs)))
    ctx.notes.append(bursts(sw))
    ctx.notes.append(
        "What differs from the baselines: ours is a smaller network (hidden "
        "128-64 against 256-128-100) trained for a fixed 300 iterations of "
        "batches of 500 per miner, so the examples seen grow with the seat "
        "count (2.5, 7.5 and 12.5 epochs of the training set for 1, 3 and "
        "5 miners), and miners exchange threshold-quantised updates (tau "
        "0.0015) instead of exact gradients: each miner applies its own "
        "step and every peer's quantised update, so with more miners each "
        "model moves by more per iteration at the task's fixed learning "
        "rate 0.3 (chosen by the seed for its 3 miners), and late updates "
        "arrive in bursts (above).  The figure shows how the curves differ; the seats and the seed's hyperparameters "
        "were not changed to approach the published numbers.")
    return rows


def bursts(sw):
    """How the peer updates a miner applies per iteration relate to its
    loss: per seat count, the mean and largest number applied at once,
    and the mean loss at iterations with a burst (at least 3 times the
    mean) against the others."""
    parts = []
    for seats in SEATS[1:]:
        peers, loss = [], []
        for path in sw.run_files(**{"pouw.miner_seats": seats}):
            it = common.open_run(path).table("/ml/iterations")
            peers.append(it["peers"].astype(float))
            loss.append(it["loss"].astype(float))
        if not peers:
            continue
        p, l_ = np.concatenate(peers), np.concatenate(loss)
        burst = p >= 3 * p.mean()
        parts.append(
            "%s miners: %.2f peer updates per iteration on average, up to %d "
            "at once; mean loss %.3f at the %d iterations with a burst (>= 3 "
            "times the mean), %.3f at the others" % (
                seats, p.mean(), int(p.max()),
                l_[burst].mean() if burst.any() else float("nan"),
                int(burst.sum()), l_[~burst].mean()))
    return ("Peer updates (/ml/iterations.peers): " + "; ".join(parts) +
            ".  Updates that arrive late are applied together, and the "
            "loss is higher at those iterations.")


def moving(x, w):
    return np.convolve(x, np.ones(w) / w, "valid") if x.size >= w else x


def draw(ctx, sw, pub):
    plt = common.pyplot()
    fig, (a, b) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True,
                               constrained_layout=True)
    seated = {}
    for k, seats in enumerate(SEATS):
        seated[seats] = []
        files = sw.run_files(**{"pouw.miner_seats": seats})
        for j, path in enumerate(files):
            run = common.open_run(path)
            it = run.table("/ml/iterations")
            miners = sorted(set(it["miner_node"].tolist()))
            seated[seats].append(len(miners))
            # one curve per run: the mean over its miners at each iteration
            n = min(int((it["miner_node"] == m).sum()) for m in miners)
            acc = np.zeros(n)
            loss = np.zeros(n)
            for m in miners:
                sel = it["miner_node"] == m
                order = np.argsort(it["seq"][sel], kind="stable")[:n]
                acc += it["accuracy"][sel][order] / len(miners)
                loss += it["loss"][sel][order] / len(miners)
            x = np.arange(n)[WINDOW - 1:] if n >= WINDOW else np.arange(n)
            lab = ("%s miner%s" % (seats, "" if seats == "1" else "s")
                   if j == 0 else None)
            a.plot(x, moving(loss, WINDOW), color="C%d" % k, lw=1, alpha=0.8,
                   label=lab)
            b.plot(x, moving(acc, WINDOW), color="C%d" % k, lw=1, alpha=0.8,
                   label=lab)
            best = run.summary.get("pouw_best_accuracy")
            if best:
                b.plot([n - 1 + 4 * k], [best], "*", color="C%d" % k, ms=10)
    for key, ls in (("mlp_256_128_100", "--"), ("human", ":")):
        b.axhline(pub[key][0], ls=ls, color="0.3", lw=1,
                  label="%s %.4f" % (pub[key][2], pub[key][0]))
    a.set_ylabel("training loss (mean of the miners)")
    b.set_ylabel("batch accuracy (mean of the miners)")
    b.set_xlabel("iteration of each miner (moving mean of %d)" % WINDOW)
    b.set_ylim(0.5, 1)
    a.legend(fontsize=7)
    b.legend(fontsize=7, loc="lower right")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
    fig.suptitle("Seed's task on Fashion-MNIST by 1, 3 and 5 miners, one "
                 "line per task seed; stars: final test accuracy", fontsize=10)
    fig.savefig(ctx.figure_path(""), dpi=110)
    plt.close(fig)
    return seated

"""Eyal and Sirer 2014: selfish-mining revenue against alpha for gamma 0
and 1/2 on the idealised network, and the threshold; see published.md."""

import math

import numpy as np

import common

TITLE = "Eyal and Sirer 2014: selfish-mining revenue against alpha"


def closed_form(a, g):
    return ((a * (1 - a) ** 2 * (4 * a + g * (1 - 2 * a)) - a ** 3)
            / (1 - a * (1 + (2 - a) * a)))


def analyse(ctx):
    pub = ctx.pub()
    sw = ctx.sweeps["eyal2014"]
    rows, curves = [], {}
    for p in sw.points:
        name, a = p["name"], float(p["adversaries[0].share"])
        m, ci = common.num(p["attack0_revenue_share_mean"]), common.num(
            p["attack0_revenue_share_ci95"])
        gm = common.num(p["attack0_gamma_mean"])
        gci = common.num(p["attack0_gamma_ci95"])
        curves.setdefault(name, []).append((a, m, ci, gm))
        if name == "network":
            if math.isnan(gm):
                continue
            g = min(max(gm, 0.0), 1.0)
            r = closed_form(a, g)
            spread = [closed_form(a, min(max(x, 0.0), 1.0))
                      for x in (gm - gci, gm + gci)] if not math.isnan(gci) \
                else [r]
            tol = max(abs(x - r) for x in spread)
            ref = (r, "", "closed form at the measured gamma",
                   "Eyal and Sirer 2014 formula")
            rows.append(common.row(
                "network: alpha %.2f (gamma measured %.3f)" % (a, gm), ref, m,
                m - ci, m + ci, tol, fmt="%.4f", note="%s runs" % p["runs"]))
            continue
        g = "0" if name == "ideal-gamma0" else "0.5"
        key = "a%.2f_g%s" % (a, g)
        if key in pub:
            rows.append(common.row(
                "ideal, gamma %s: alpha %.2f (measured gamma %.3f)" % (
                    g, a, gm), pub[key], m, m - ci, m + ci, 0.0, fmt="%.4f",
                note="%s runs" % p["runs"]))
    for name, thr in (("ideal-gamma0", "threshold_g0"),
                      ("ideal-gamma0.5", "threshold_g0.5")):
        pts = sorted(curves.get(name, []))
        gain = [(a, m - a) for a, m, _, _ in pts if not math.isnan(m)]
        cross = math.nan
        for (a0, d0), (a1, d1) in zip(gain, gain[1:]):
            if d0 < 0 <= d1:
                cross = a0 + (a1 - a0) * (-d0) / (d1 - d0)
        rows.append(common.row(
            "%s: threshold (revenue crosses alpha)" % name, pub[thr], cross,
            math.nan, math.nan, 0.05, fmt="%.3f",
            note="linear interpolation between the grid's alphas; tolerance "
                 "the grid's spacing"))
    ctx.notes.append(
        "gamma = 1 has no tie rule on the idealised network (first_seen "
        "gives 0, random 1/2): its column of the published table is not "
        "simulated.  On the network point gamma is what the run measured "
        "(the share of honest power that mined on the pool's block in a "
        "tie), and the closed form is evaluated there; the tolerance "
        "carries gamma's interval through the formula.")
    draw(ctx, curves, pub)
    return rows


def draw(ctx, curves, pub):
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    xs = np.linspace(0, 0.5, 101)
    for k, g in enumerate((0.0, 0.5, 1.0)):
        ax.plot(xs, [closed_form(x, g) for x in xs], color="C%d" % k,
                lw=1, label="closed form, gamma %g" % g)
    kinds = (("ideal-gamma0", "o"), ("ideal-gamma0.5", "o"),
             ("network", "s"))
    for k, (name, fmt) in enumerate(kinds):
        pts = sorted(curves.get(name, []))
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                        yerr=[0 if math.isnan(p[2]) else p[2] for p in pts],
                        fmt=fmt,
                        color="C%d" % (k if k < 2 else 3), ms=4, capsize=2,
                        label="pouwsim %s" % name)
    ax.plot(xs, xs, ":", color="0.4", label="honest mining (revenue = alpha)")
    ax.set_xlabel("pool hash share alpha")
    ax.set_ylabel("pool's share of main-chain blocks")
    ax.set_xlim(0, 0.5)
    ax.set_ylim(0, 0.8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Selfish mining (Eyal and Sirer 2014)", fontsize=10)
    fig.savefig(ctx.figure_path(""), dpi=110)
    plt.close(fig)

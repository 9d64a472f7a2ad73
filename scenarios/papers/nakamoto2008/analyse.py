"""Nakamoto 2008: double-spend success against q and z, by simulated races
with the real chain code; see published.md."""

import math

import numpy as np

import common

TITLE = "Nakamoto 2008: double-spend success against q and z"


def formula(q, z):
    """Nakamoto's P(z), the Poisson term in log space."""
    p = 1 - q
    lam = z * q / p
    s = 1.0
    for k in range(z + 1):
        poisson = math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1)) \
            if lam > 0 else (1.0 if k == 0 else 0.0)
        s -= poisson * (1 - (q / p) ** (z - k))
    return s


def exact(q, z):
    """The same race without the Poisson approximation (the attacker's
    blocks while the honest miners find z are negative binomial):
    1 - sum_{k<=z} C(k+z-1, k) (p^z q^k - q^z p^k) (Rosenfeld 2014)."""
    p = 1 - q
    return 1 - sum(math.comb(k + z - 1, k)
                   * (p ** z * q ** k - q ** z * p ** k)
                   for k in range(z + 1))


def pooled(sw, name, q, z):
    k = n = 0
    for r in sw.runs:
        if (r["name"] == name and r["adversaries[0].share"] == q
                and r["adversaries[0].confirmations"] == z):
            k += int(float(r["attack0_successes"] or 0))
            n += int(float(r["attack0_attempts"] or 0))
    p, lo, hi = common.wilson(k, n)
    return p, lo, hi, k, n


def analyse(ctx):
    pub = ctx.pub()
    sw = ctx.sweeps["nakamoto2008"]
    rows, pts = [], []
    for p in sw.points:
        name = p["name"]
        q, z = p["adversaries[0].share"], p["adversaries[0].confirmations"]
        rate, lo, hi, k, n = pooled(sw, name, q, z)
        key = "q%s_z%s" % (q, z)
        nak = formula(float(q), int(z))
        ref = pub.get(key) or (nak, "", "P(q, z)",
                               "Nakamoto 2008, s11 formula")
        ex = exact(float(q), int(z))
        rows.append(common.row(
            "%s: q %s, z %s" % (name, q, z), ref, rate, lo, hi, abs(nak - ex),
            fmt="%.4f", note="%d of %d attempts; the exact race gives %.4f"
            % (k, n, ex)))
        pts.append((name, float(q), int(z), rate, lo, hi))
    ctx.notes.append(
        "Tolerance: the gap between Nakamoto's P, which approximates the "
        "attacker's progress by a Poisson law, and the exact race "
        "(negative binomial; Rosenfeld 2014), so that a simulation of the "
        "race itself is not blamed for the formula's approximation.")
    ctx.notes.append(
        "On the network point the merchant counts confirmations on a chain "
        "it sees with propagation delay, and honest blocks are sometimes "
        "stale, which slows the honest side of the race: the rate may lie "
        "above the idealised race's (Nakamoto's analysis has no network); "
        "its runs have fewer attempts (15 s blocks for 6 h), hence the wide "
        "intervals.")
    ctx.notes.append(
        "The smallest z with P < 0.001 (q 0.10 -> 5, 0.30 -> 24, 0.45 -> "
        "340) is a property of the formula; resolving 10^-3 to a few "
        "percent takes about 10^6 attempts, which these runs do not have: "
        "they check the formula where P is 1 % or more.")
    draw(ctx, pts)
    return rows


def draw(ctx, pts):
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    zs = np.arange(0, 11)
    for k, q in enumerate(sorted({p[1] for p in pts})):
        ax.plot(zs, [formula(q, int(z)) for z in zs], color="C%d" % k, lw=1,
                label="Nakamoto's P, q = %g" % q)
        for name, mark in (("race", "o"), ("network", "s")):
            sel = sorted((p for p in pts if p[1] == q and p[0] == name),
                         key=lambda p: p[2])
            if not sel:
                continue
            ax.errorbar([p[2] for p in sel], [max(p[3], 1e-4) for p in sel],
                        yerr=[[max(p[3] - p[4], 0) for p in sel],
                              [p[5] - p[3] for p in sel]],
                        fmt=mark, color="C%d" % k, capsize=2, ms=4,
                        mfc="none" if name == "network" else None,
                        label="pouwsim %s, q = %g" % (name, q))
    ax.set_yscale("log")
    ax.set_xlabel("confirmations z")
    ax.set_ylabel("attacker success probability")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Double spend (Nakamoto 2008, s11)", fontsize=10)
    fig.savefig(ctx.figure_path(""), dpi=110)
    plt.close(fig)

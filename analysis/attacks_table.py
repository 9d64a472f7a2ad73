#!/usr/bin/python3
"""Run the proof-of-work attack scenarios and tabulate what they measured.

Every scenarios/attacks/*.yaml whose adversaries are proof-of-work
strategies (selfish, double_spend, eclipse, partition, withholding,
delayed_release, spam) is run once as shipped and once per variant listed
in VARIANTS (the --set lines their header comments suggest), each REPEAT
times: the simulated figures are the same every time (one seed), the wall
time is the median and the peak RSS the largest of the repeats.  The table
is written as Markdown to --out (results/attacks.md).

    /usr/bin/python3 analysis/attacks_table.py [--repeat 3]
        [--out results/attacks.md] [--force]

Run from the repository root after `make`.  Scenarios of other types (the
PoUW attacks) are listed as skipped, not run.  The table file is created,
never replaced without --force; build/attacks/ is the script's own scratch
directory (its run files are replaced on every call).
"""
import argparse
import glob
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pouwsim_h5 as ph  # noqa: E402

POW_TYPES = {"selfish", "double_spend", "eclipse", "partition",
             "withholding", "delayed_release", "spam"}

# Variants run besides each shipped scenario: --set arguments.
VARIANTS = {
    "selfish.yaml": [
        ["adversaries[0].share=0.2"],
        ["adversaries[0].stubborn=[lead]"],
        ["adversaries[0].stubborn=[equal_fork]"],
        ["adversaries[0].stubborn=[trail]", "adversaries[0].trail=2"],
    ],
    "selfish-ideal.yaml": [
        ["chain.tie_break=random"],
        ["adversaries[0].share=0.25"],
    ],
    "double_spend.yaml": [["adversaries[0].confirmations=6"]],
    "double_spend-eclipse.yaml": [["adversaries[0].eclipse=false"]],
    "eclipse.yaml": [["adversaries[0].mode=delay",
                      "adversaries[0].delay=30s"]],
    "delayed_release.yaml": [["adversaries[0].delay=1s"]],
    "spam.yaml": [
        ["adversaries[0].mode=conflicting"],
        ["adversaries[0].mode=oversized"],
        ["adversaries[0].mode=malformed"],
        ["adversaries[0].mode=orphan_blocks"],
    ],
}


def adversary_types(path):
    with open(path) as f:
        text = f.read()
    block = text.split("\nadversaries:", 1)
    if len(block) != 2:
        return []
    return re.findall(r"type:\s*(\w+)", block[1])


def run_once(cmd):
    """Wall time (s) and peak RSS (MB) of one run; exits on a failure."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        sys.exit("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, err))
    return wall, usage.ru_maxrss / 1024.0


def num(x, fmt="%.3f"):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return fmt % x


def outcome(t, a, s):
    """The strategy's figures, as its file in sim/adversary/ defines them."""
    rev = "revenue share %s of %d main-chain blocks (hash share %.2f)" % (
        num(a["revenue_share"]), a["main_total"], a["share"])
    stale = "stale rate %.1f %%" % (100 * s["stale_rate"])
    if t == "selfish":
        return "%s; gamma measured %s over %d ties; %s; %s" % (
            rev, num(a["gamma"]), a["ties"], stale, a["detail"])
    if t == "double_spend":
        return ("%d of %d attempts succeeded (rate %s); merchant lost "
                "%.2f coins; %d msgs dropped" % (
                    a["successes"], a["attempts"], num(a["success_rate"]),
                    a["loss"] / 1e8, a["msgs_dropped"]))
    if t in ("eclipse", "partition"):
        return ("%d msgs dropped, %d delayed; deepest reorganisation %d; "
                "%s; %s" % (a["msgs_dropped"], a["msgs_delayed"],
                            s["reorg_max_depth"], stale, a["detail"]))
    if t in ("withholding", "delayed_release"):
        return "%s; %d mined, %d withheld at the end, %d released; %s" % (
            rev, a["blocks_mined"], a["blocks_withheld"],
            a["blocks_released"], stale)
    if t == "spam":
        return ("%d messages sent, %d of its payments in the chain; "
                "%d payments confirmed in all" % (
                    a["attempts"], a["successes"], s["txs_confirmed"]))
    return ""


def nakamoto_exact(q, z):
    """The race of Nakamoto's s11 without his Poisson approximation (the
    attacker's blocks while the honest miners find z are negative
    binomial); sim_attack_nakamoto_exact in sim/adversary/adversary.c,
    written again."""
    p, total = 1 - q, 1.0
    for k in range(z):
        nb = math.comb(z + k - 1, k) * p ** z * q ** k
        total -= nb * (1 - (q / p) ** (z - k))
    return total


def closed_form(t, a, params):
    e = a["expected"]
    if t == "selfish":
        if math.isnan(e):
            return "none (stubborn: no closed form)"
        return "Eyal-Sirer R(%.2f, %s) = %.4f (measured - R = %+.4f)" % (
            a["share"], num(a["gamma"]), e, a["revenue_share"] - e)
    if t == "double_spend":
        if math.isnan(e):
            return "none (eclipsed merchant)"
        n = a["attempts"]
        z = int(params["adversaries[%d].confirmations" % a["idx"]])
        x = nakamoto_exact(a["share"], z)
        sd = math.sqrt(x * (1 - x) / n) if n else float("nan")
        return ("Nakamoto P(%.2f, %d) = %.4f, exact race %.4f "
                "(measured - P = %+.4f, binomial sd %.4f)" % (
                    a["share"], z, e, x, a["success_rate"] - e, sd))
    return "none"


def refusals(run, idx):
    if not run.has("/attack_refusals") or run.rows("/attack_refusals") == 0:
        return "none"
    r = run.table("/attack_refusals")
    out = ["%s %s: %d" % (r["object"][i], r["reason"][i], int(r["count"][i]))
           for i in range(len(r["attack"])) if int(r["attack"][i]) == idx]
    return ", ".join(out) if out else "none"


def peaks(a):
    if not (a["bound_mempool"] or a["bound_orphans"] or a["bound_queue"]):
        return "not measured (spam records them)"
    return "mempool %d / %d tx; orphans %d / %d; peer queue %d / %d B" % (
        a["peak_mempool"], a["bound_mempool"], a["peak_orphans"],
        a["bound_orphans"], a["peak_queue"], a["bound_queue"])


def plain(v):
    return v.item() if hasattr(v, "item") else v


def measure(binary, sc, sets, out, repeat):
    """Run one row REPEAT times; the table rows of its attacks."""
    cmd = [binary, "run", sc, "--out", out, "--force", "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    walls, rss = [], 0.0
    for _ in range(repeat):
        w, m = run_once(cmd)
        walls.append(w)
        rss = max(rss, m)
    run = ph.open_run(out)
    at = run.table("/attacks")
    params = run.parameters()
    shown = ["pouwsim", "run", sc] + [x for s in sets for x in ("--set", s)]
    rows = []
    for i in range(len(at["idx"])):
        a = {c: plain(v[i]) for c, v in at.items()}
        t = a["type"]
        rows.append([
            t, "`%s`" % " ".join(shlex.quote(x) for x in shown),
            outcome(t, a, run.summary), closed_form(t, a, params),
            refusals(run, a["idx"]), "%.2f" % (a["stake_slashed"] / 1e8),
            peaks(a), "%.2f s" % statistics.median(walls), "%.0f MB" % rss,
        ])
    return rows


HEAD = ["attack", "command", "outcome measured", "closed form",
        "refusals by reason (honest nodes)", "stake slashed (coins)",
        "peak / bound of bounded structures (honest nodes)",
        "wall (median)", "peak RSS"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="results/attacks.md")
    ap.add_argument("--bin", default="build/pouwsim")
    ap.add_argument("--force", action="store_true",
                    help="replace --out if it exists")
    args = ap.parse_args()
    if os.path.lexists(args.out) and not args.force:
        print("%s: exists (use --force to replace it)" % args.out,
              file=sys.stderr)
        sys.exit(2)
    os.makedirs("build/attacks", exist_ok=True)
    rows, skipped = [], []
    load0 = os.getloadavg()[0]
    t_start = time.monotonic()
    for sc in sorted(glob.glob("scenarios/attacks/*.yaml")):
        types = adversary_types(sc)
        base = os.path.basename(sc)
        if not types or any(t not in POW_TYPES for t in types):
            skipped.append("%s (%s)" % (sc, ", ".join(types) or "none"))
            continue
        for k, sets in enumerate([[]] + VARIANTS.get(base, [])):
            out = "build/attacks/%s-%d.h5" % (base[:-5], k)
            rows += measure(args.bin, sc, sets, out, args.repeat)
            print("%-44s %s" % (" ".join(sets) or base, rows[-1][2][:70]),
                  file=sys.stderr)
    load1 = os.getloadavg()[0]
    with open(args.out, "w") as f:
        f.write("# Proof-of-work attacks: measured outcomes\n\n")
        f.write(
            "Generated by `/usr/bin/python3 analysis/attacks_table.py "
            "--repeat %d --force` (every PoW scenario of scenarios/attacks/ "
            "as shipped, and the variants its header comment names, each "
            "run with `--out build/attacks/NAME.h5 --force --quiet`).  "
            "Simulated figures are exact for the scenario's seed; wall "
            "times are the median of %d runs on the shared 2-core machine "
            "(1-minute load %.1f at the start, %.1f at the end; %.0f s in "
            "all), peak RSS the largest of the repeats.\n\n"
            % (args.repeat, args.repeat, load0, load1,
               time.monotonic() - t_start))
        f.write("| " + " | ".join(HEAD) + " |\n|" + "---|" * len(HEAD) + "\n")
        for r in rows:
            cells = (str(c).replace("|", "\\|") for c in r)
            f.write("| " + " | ".join(cells) + " |\n")
        if skipped:
            f.write("\nNot run here (not proof-of-work strategies): %s.\n"
                    % ", ".join(skipped))
    print("wrote %s (%d rows)" % (args.out, len(rows)), file=sys.stderr)


if __name__ == "__main__":
    main()

"""The PoUW attacks of scenarios/attacks/ (every file there with consensus
pouw): what each cost its attacker and how the network answered; see
published.md."""

import glob
import os
import re

import common

TITLE = "Proof of useful work: cost and outcome of the PoUW attacks"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                    ".."))
COIN = 1e8  # base units per coin
# /tasks.outcome (analysis/README.md)
OUTCOME = {1: "evaluated", 2: "void", 3: "unevaluated", 4: "missed"}


def RUNS(quick):
    """One run of each PoUW attack scenario as written (its seed: the
    attacking node is chosen for it); the same in the quick version."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "scenarios", "attacks",
                                              "*.yaml"))):
        with open(path) as f:
            text = f.read()
        if re.search(r"^consensus:\s*pouw\b", text, re.M):
            rel = os.path.relpath(path, ROOT)
            out.append((os.path.splitext(os.path.basename(path))[0], rel, []))
    return out


def analyse(ctx):
    lines = [
        "| scenario | attacker (node) | attempts (successes) | blocks it "
        "mined | in the main chain | refusals by honest nodes (reason) | "
        "stake slashed | detail | task outcome |",
        "|---|---|---|---|---|---|---|---|---|"]
    for label, path in sorted(ctx.runs.items()):
        run = common.open_run(path)
        att = run.table("/attacks")
        ref = (run.table("/attack_refusals")
               if run.has("/attack_refusals") and run.rows("/attack_refusals")
               else None)
        tasks = run.table("/tasks")
        outcome = ", ".join(
            "%s, best accuracy %.4f" % (OUTCOME.get(int(o), "not settled"), a)
            for o, a in zip(tasks["outcome"], tasks["best_accuracy"]))
        for i in range(len(att["type"])):
            why = []
            if ref is not None:
                sel = ref["attack"] == att["idx"][i]
                for obj, reason, n in zip(ref["object"][sel],
                                          ref["reason"][sel],
                                          ref["count"][sel]):
                    why.append("%d %s %s" % (int(n), obj, reason))
            lines.append("| %s | %s (%d) | %d (%d) | %d | %d of %d | %s | %s "
                         "| %s | %s |"
                         % ("[%s](../../scenarios/attacks/%s.yaml)" % (
                             label, label) if i == 0 else "",
                            att["type"][i], int(att["node"][i]),
                            int(att["attempts"][i]), int(att["successes"][i]),
                            int(att["blocks_mined"][i]),
                            int(att["main_blocks"][i]),
                            int(att["main_total"][i]),
                            "; ".join(why) or "none",
                            "%g coin" % (int(att["stake_slashed"][i]) / COIN),
                            str(att["detail"][i]).replace(" ", ", "),
                            outcome if i == 0 else ""))
    ctx.tables.append(("PoUW attacks: cost and outcome", "\n".join(lines)))
    ctx.notes.append(
        "One run per scenario file of scenarios/attacks/ whose consensus is "
        "pouw, with the seed the file gives (the attacking node is one the "
        "protocol seats with that seed; with another seed the file would "
        "name another node).  Refusals are counted per node that refused "
        "(a block refused by 29 nodes counts 29) and by reason (object "
        "block: the chain's reason; work: the verify_ml_work verdict).  "
        "Stake slashed: taken at the task's settlement from the attacker's "
        "stake (the role it was seated in) as the settlement rules decide.  Attempts and "
        "successes, and the detail column, are the strategy's own record "
        "(/attacks; analysis/README.md says what each type counts).  Task "
        "outcome: the settlement's (/tasks.outcome) and the best test "
        "accuracy.")
    ctx.notes.append(
        "Runs: %d; attacks recorded: %d." % (
            len(ctx.runs), len(lines) - 2))
    return []



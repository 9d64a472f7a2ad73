"""Eyal and Sirer 2014: selfish-mining revenue against alpha for gamma 0,
0.5 and 1, and the threshold; see published.md."""

TITLE = "Eyal and Sirer 2014: selfish-mining revenue against alpha"
BLOCKED = ("needs the selfish adversary (issue 8, branch adv), which is not "
           "on main yet: a scenario's adversaries are parsed and ignored "
           "there, so a run would measure nothing")

"""Nakamoto 2008: double-spend success against q and z, by simulated races
with the real chain code and on the network model; see published.md."""

TITLE = "Nakamoto 2008: double-spend success against q and z"
BLOCKED = ("needs the double_spend adversary (issue 8, branch adv), which is "
           "not on main yet: a scenario's adversaries are parsed and ignored "
           "there, so a run would measure nothing")

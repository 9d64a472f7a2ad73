/* sim/invariants.h -- what must hold at the end of every run, checked.
 *
 * A run is only worth its figures if its ledgers are right.  At the end of
 * every run (sim_run, before the file is closed) and in the tests, for
 * every distinct tip among the nodes:
 *
 *   valid from genesis  the tip's chain, block by block from genesis, is
 *                       accepted by a fresh chain that shares no block
 *                       verdict with the run (no valcache: every block is
 *                       checked again) and ends at the same tip with the
 *                       same UTXO set (pu_utxo_digest);
 *   supply              the coins in existence (spendable + locked) are
 *                       exactly the genesis allocation plus the block
 *                       reward of every block on the chain: no unit created
 *                       or lost by transactions, fees, escrows or stakes;
 *   UTXO index          the per-address balance index agrees with the coins:
 *                       each address's balance is the sum of its unlocked
 *                       coins, the totals and counts match.
 *
 * And among the online honest nodes (those running sim_behavior_honest; an
 * adversary may keep a private branch), when no partition is in force:
 *
 *   common prefix       their chains agree below the lowest tip except for
 *                       at most K blocks, K = 6 + 4 x the blocks mined per
 *                       90 %-propagation time (prop90 p90 / mean interval,
 *                       from the summary): deeper disagreement cannot come
 *                       from propagation delay (not checked when no block
 *                       reached 90 % of nodes).
 *
 * Cost: one replay per distinct tip (usually one or two) and one pass over
 * each distinct UTXO set; small next to the run, which connected every
 * block at every node. */
#ifndef SIM_INVARIANTS_H
#define SIM_INVARIANTS_H

#include "sim/engine.h"

typedef struct sim_inv_report {
    uint32_t tips;           /* distinct tips checked (replayed from genesis) */
    uint64_t blocks_replayed;
    uint64_t coins_checked;
    bool prefix_checked;     /* the common-prefix check ran */
    uint32_t prefix_depth;   /* lowest online tip height - common prefix height */
    uint32_t prefix_limit;   /* K */
} sim_inv_report;

/** Runs the checks on the run's nodes; sum is the run's summary (for the
 * common-prefix bound; NULL skips that check).  PU_OK, or PU_ERR_INVALID
 * with err naming the node, the check and the values; PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_invariants_check(sim_ctx *ctx, const sim_summary *sum,
                                         sim_inv_report *rep, char *err, size_t errlen);

#endif

/* sim/mining.h -- proof-of-work miners: when each finds its next block, and
 * the real block it then builds (see the comment at the top of mining.c).
 *
 * A miner listens to its node's tip changes (SIM_OBS_TIP_CHANGED) and
 * restarts its memoryless timer on every one; the run (sim.c) and the
 * strategies start, stop and reshape miners through the functions below. */
#ifndef SIM_MINING_H
#define SIM_MINING_H

#include "sim/engine.h"

/** Place the scenario's miners (mining.miners, mining.hashpower,
 * mining.placement), listen to tip changes and schedule every miner's first
 * block.  The total hash power is chain.pow_hashes_per_block per
 * chain.block_interval (times pouw.pow_share under PoUW). */
PU_NODISCARD pu_err sim_mining_init(sim_ctx *ctx);
void sim_mining_free(sim_mining *m);

/** Try nonces from `nonce` up until h meets its own target (real header
 * hashes; the scaled targets of the simulator make this quick). */
void sim_mining_grind(const sim_ctx *ctx, pu_header *h, uint64_t nonce);
/** SIM_EV_MINE. */
void sim_mining_fire(sim_ctx *ctx, const sim_event *ev);
/** Restart nd's timer from its current tip (no effect if nd mines nothing). */
void sim_mining_reschedule(sim_ctx *ctx, sim_node *nd);
/** Cancel nd's pending block (it went offline). */
void sim_mining_stop(sim_ctx *ctx, sim_node *nd);

/** Number of miners, and miner i's node. */
uint32_t sim_mining_count(const sim_ctx *ctx);
uint32_t sim_mining_node(const sim_ctx *ctx, uint32_t miner);
/** Miner index of node v, or UINT32_MAX when v mines nothing. */
uint32_t sim_mining_miner_of(const sim_ctx *ctx, uint32_t v);

/** Add node v as a miner with no hash power (it gets some through
 * sim_mining_set_share), drawing from rng; *miner gets its index.  v must
 * not be a miner already (PU_ERR_EXISTS). */
PU_NODISCARD pu_err sim_mining_add(sim_ctx *ctx, uint32_t v, sim_rng rng, uint32_t *miner);
/** Set miner i's share of the total hash power (the `hashpower` timeline
 * action).  A share is a share of the scheduled total (the one the run was
 * built with): miner i gets share x total and the other miners are scaled
 * together so that they hold (1 - share) x total between them, each keeping
 * its proportion, so the total -- and the block rate -- stay as scheduled.
 * When the others hold nothing there is nothing to scale, and the total
 * becomes share x total (setting the last active miner to 0 stops mining).
 * Every miner whose rate changed restarts its timer, in miner order. */
void sim_mining_set_share(sim_ctx *ctx, uint32_t miner, double share);
/** Current hash rate of miner i (scaled hashes per second) and the total the
 * run was built with. */
double sim_mining_rate(const sim_ctx *ctx, uint32_t miner);
double sim_mining_total0(const sim_ctx *ctx);

#endif

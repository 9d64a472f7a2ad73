/* sim/adversary/branch.h -- a private branch: the chain an attacking miner
 * builds on, beside its node's public view.
 *
 * The attacker's node keeps running the honest protocol on its own chain
 * (what the network has shown it, plus what it published): it relays,
 * answers requests and syncs from that chain, so nothing it withholds can
 * leak through chain sync.  Its miner builds on a second chain, the branch,
 * which holds the public blocks it has adopted and the blocks it found and
 * keeps to itself (the node's behaviour returns it as its mining chain).
 * Publishing hands withheld blocks to the node, which stores and relays
 * them; adopting copies the public active chain into the branch when the
 * public chain has more work, dropping the withheld blocks it orphans.
 *
 * The branch's mempool is its own: the attacker's blocks carry only the
 * transactions it gives the branch (sim_branch_add_tx), no public ones. */
#ifndef SIM_ADVERSARY_BRANCH_H
#define SIM_ADVERSARY_BRANCH_H

#include "sim/adversary/adversary.h"

typedef struct sim_branch sim_branch;

/** What a private-mining strategy gives its node's behaviour: the first
 * member of the strategy's state, which is the node's beh_state. */
typedef struct sim_branch_user {
    sim_adversary *adv;
    sim_branch *br;
    /** While the adversary is active: a block the node's miner found on the
     * branch's tip (the strategy adds it with sim_branch_add_own, or not). */
    void (*found)(sim_ctx *ctx, struct sim_branch_user *u, pu_block *b);
} sim_branch_user;

/** The behaviour of a node mining on a private branch while its adversary is
 * active: the honest protocol on its public chain, blocks it finds to the
 * strategy, its miner on the branch.  Inactive, it is the honest behaviour. */
extern const sim_behavior sim_branch_behavior;

/** Set a private-mining strategy up on node v: u (the first member of the
 * strategy's state) gets a new branch and `found`, v a miner slot (*miner)
 * and sim_branch_behavior with u as its state.  The branch is u->br (free it
 * with sim_branch_free). */
PU_NODISCARD pu_err sim_branch_user_init(sim_ctx *ctx, sim_adversary *adv, uint32_t v,
                                         sim_branch_user *u,
                                         void (*found)(sim_ctx *, sim_branch_user *, pu_block *),
                                         uint32_t *miner);

/** A branch for node nd, holding the genesis block only (adopt before
 * use).  Fork choice inside the branch is always first seen. */
PU_NODISCARD pu_err sim_branch_new(sim_ctx *ctx, uint32_t node, sim_branch **out);
void sim_branch_free(sim_branch *br);
pu_chain *sim_branch_chain(const sim_branch *br);
uint32_t sim_branch_height(const sim_branch *br);
/** Blocks found and not yet published, on the branch's active chain. */
uint32_t sim_branch_withheld(const sim_branch *br);
/** Height of the first withheld block (0 when none). */
uint32_t sim_branch_first_withheld(const sim_branch *br);

/** A block the attacker found on the branch's tip: added, withheld.  A
 * failure stops the run (sim_fail). */
void sim_branch_add_own(sim_ctx *ctx, sim_branch *br, pu_block *b);
/** Give the branch's mempool a transaction of the attacker's (so its next
 * blocks carry it); returns whether the mempool took it. */
bool sim_branch_add_tx(sim_branch *br, pu_tx *tx);
/** Copy the node's public active chain into the branch (the blocks it
 * lacks, in order).  When that gives the public chain the branch's tip,
 * the withheld blocks are orphaned and forgotten: returns how many. */
uint32_t sim_branch_adopt(sim_ctx *ctx, sim_branch *br);
/** The same from another chain (an eclipsed victim's, say). */
uint32_t sim_branch_adopt_from(sim_ctx *ctx, sim_branch *br, const pu_chain *src);
/** Publish the withheld blocks of height <= max_height through the node,
 * lowest first; returns how many. */
uint32_t sim_branch_publish(sim_ctx *ctx, sim_branch *br, uint32_t max_height);

#endif

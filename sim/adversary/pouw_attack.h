/* sim/adversary/pouw_attack.h -- what the PoUW attacks share
 * (forged_work, nonce_range, wrong_template, wrong_batch, poisoning by a
 * seated miner; false_report by an evaluator or supervisor; replay by any
 * node): the attacker's PoUW identity, the draw of each
 * opportunity, publishing a block its own node refuses, and the outcome
 * columns every PoUW attack fills.
 *
 * Publishing: a block that breaks the protocol is refused by the attacker's
 * own node as by any other (every node validates with the same rules), and
 * an honest node never relays a block it refused.  So the attacker sends
 * each of its cheating blocks straight to every other node, as an attacker
 * that opens a connection to everyone would: every honest node judges it,
 * which is what the attack's outcome counts (refusals by reason, the
 * verdict of the ML work, the stake the settlement takes). */
#ifndef SIM_ADVERSARY_POUW_ATTACK_H
#define SIM_ADVERSARY_POUW_ATTACK_H

#include "sim/adversary/adversary.h"
#include "sim/pouw.h"

typedef struct sim_pouw_attack {
    sim_adversary *adv;
    uint32_t node;             /* the attacker's node */
    const pu_keypair *key;     /* its PoUW worker's key */
    sim_rng rng;               /* its draws: one per opportunity */
    bool cheating;             /* the current iteration cheats */
    uint64_t opportunities, cheats; /* iterations seen while active, and cheated */
    void *strategy;            /* the strategy's own state (not owned) */
} sim_pouw_attack;

/** Create the attack of adv on its node, which must run a PoUW worker of
 * role `role` (PU_ROLE_MINER for the seated-miner attacks): an error naming
 * the nodes that qualify otherwise.  role -1: any node (its PoUW worker's
 * key if it runs one, else a key of its own from its random stream).  cheat (may be NULL)
 * is installed on the node's miner with self = the attack.  The node's
 * behaviour publishes every block its miner finds while `cheating` to every
 * node (file comment).  Sets the adversary's state to the attack. */
PU_NODISCARD pu_err sim_pouw_attack_new(sim_ctx *ctx, sim_adversary *adv, int role,
                                        const sim_pouw_cheat *cheat, char *err, size_t errlen);
void sim_pouw_attack_free(void *state);
/** An opportunity: whether the attack cheats this time (active, and the
 * draw under `probability`); sets a->cheating.  One draw per call while
 * active, none otherwise. */
bool sim_pouw_attack_roll(sim_ctx *ctx, sim_pouw_attack *a);
/** Send b to every node but the attacker's (file comment) and count it as
 * an attempt. */
void sim_pouw_attack_publish(sim_ctx *ctx, sim_pouw_attack *a, pu_block *b);
/** End of run: stake slashed, successes (its cheating blocks in the
 * reference chain), and the detail column. */
void sim_pouw_attack_finish(sim_ctx *ctx, sim_adversary *adv);

#endif

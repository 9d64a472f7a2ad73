/* sim/pouw.h -- the PoUW roles and task life cycle of a run (consensus:
 * pouw): client, miners, supervisors, evaluators, verifiers, peers.
 *
 * The whole life cycle runs over the simulated network with real objects:
 * the client's PAY_FOR_TASK, the workers' BUY_TICKETS, deterministic
 * selection at the block that closes registration (core/econ), training
 * by the selected miners (real pu_ml_step iterations costing simulated
 * time from pouw.gflops; iteration messages and update messages travel to
 * the task group with their real sizes), PoUW blocks mined from iterations
 * with committed templates and bounded nonces, verification by
 * re-execution at every node (shared cache for wall time, simulated CPU
 * charged per node), evaluation on the hidden test split, TASK_RESULT and
 * SETTLEMENT transactions.
 *
 * The roles listen to the run's events (tip changes; blocks connected or
 * refused, to report verifications), answer the engine's hooks (the
 * simulated cost of verifying a PoUW block, the settlement a block builder
 * must include, task-group messages) and report what they do (iterations,
 * verifications, and at the end the task's outcome and every worker's
 * account) as events for sim/metrics.  Internal to the simulator core. */
#ifndef SIM_POUW_H
#define SIM_POUW_H

#include "core/econ.h"
#include "sim/engine.h"

/** Build the task, the PoUW engine (econ rules, verifier, record) and the
 * role assignment.  err gets a message on failure. */
PU_NODISCARD pu_err sim_pouw_new(sim_ctx *ctx, sim_pouw **out, char *err, size_t errlen);
void sim_pouw_free(sim_pouw *pw);
/** Fund every role's key in the genesis block. */
PU_NODISCARD pu_err sim_pouw_genesis(sim_ctx *ctx, pu_block *genesis);
/** The consensus settings of the chain rules (pu_econ_describe). */
void sim_pouw_describe_rules(const sim_pouw *pw, char *buf, size_t n);
/** The chain rules every node uses. */
const pu_rules *sim_pouw_rules(sim_pouw *pw);
/** The PoUW ledger rules behind them (borrowed, lives with pw). */
struct pu_econ *sim_pouw_econ(const sim_pouw *pw);
/** Install the hooks, listen, and schedule the client's submission (after
 * the miners' listener: see sim/observe.h on order). */
PU_NODISCARD pu_err sim_pouw_start(sim_ctx *ctx);

void sim_pouw_fire(sim_ctx *ctx, const sim_event *ev);      /* SIM_EV_POUW */
/** End of run: report the task's outcome (SIM_OBS_TASK_END) and every
 * role's account (SIM_OBS_ROLE_END); failures go to sim_fail. */
void sim_pouw_report(sim_ctx *ctx);

/* ---- for attack strategies (sim/adversary; sim/pouw_adv.c) ---- */

/** How the PoUW worker on a node departs from the protocol.  A seated
 * miner with a cheat asks it at every iteration, an evaluator before each
 * result, a supervisor before its audit vote; every member may be NULL
 * (that step stays honest), and a cheat whose adversary is not active must
 * change nothing.  Nothing else of the PoUW engine knows about attacks. */
typedef struct sim_pouw_cheat {
    /** Which miner's batch to train on at this iteration: *miner_index holds
     * the miner's own index (of n_miners) and may be changed; the message
     * still names the miner's own index, so it claims that batch. */
    void (*batch)(void *self, sim_ctx *ctx, uint32_t node, uint32_t n_miners, uint32_t *miner_index);
    /** The update message as trained, before it is stored and sent to the
     * task group (the miner's own model took the true one): may change it,
     * returning true; the message then names the update sent. */
    bool (*update)(void *self, sim_ctx *ctx, uint32_t node, pu_ml_update *u);
    /** The iteration message as trained (commit, prev and signature not
     * set yet): may change what it claims (metrics, update, end state). */
    void (*message)(void *self, sim_ctx *ctx, uint32_t node, pu_iter_msg *msg);
    /** How to mine this iteration: the miner tries `allowed` nonces from
     * base + *first (0; *first >= allowed mines outside the range); *fresh
     * (false) set mines on a template built now on the tip instead of the
     * one committed k iterations earlier. */
    void (*mine)(void *self, sim_ctx *ctx, uint32_t node, uint64_t allowed, uint64_t *first, bool *fresh);
    /** An evaluator's result about to be posted: the accuracies (ppm,
     * UINT32_MAX: no model) it reports for the n miners, changeable. */
    void (*result)(void *self, sim_ctx *ctx, uint32_t node, uint32_t *accuracy_ppm, uint32_t n);
    /** A supervisor's audit vote about to be posted: *found is the
     * pu_pouw_reason of the first misconduct its audit found (0: none, a
     * yes vote), changeable. */
    void (*vote)(void *self, sim_ctx *ctx, uint32_t node, uint8_t *found);
    /** A worker about to buy its ticket for the task (stake: the task's
     * unit): -1 leaves it to the worker, 1 means the cheat bought tickets
     * its own way (the worker buys none), 0 that it will try again at the
     * worker's next tip. */
    int (*tickets)(void *self, sim_ctx *ctx, uint32_t node, const pu_hash32 *task_id, pu_amount stake);
    void *self;
} sim_pouw_cheat;

/** Install cheat c (copied) for the miner on node (NULL: honest again).
 * PU_ERR_RANGE for a node out of range, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_pouw_set_cheat(sim_ctx *ctx, uint32_t node, const sim_pouw_cheat *c);
/** The PoUW worker on node: its role (pu_role; 0 for a client) and key;
 * false if node runs none. */
bool sim_pouw_worker(const sim_ctx *ctx, uint32_t node, int *role, const pu_keypair **key);
/** Nodes running workers of role (pu_role; 0: clients), in worker order,
 * into out (at most max); returns how many there are. */
size_t sim_pouw_role_nodes(const sim_ctx *ctx, int role, uint32_t *out, size_t max);
/** The worker on node pays `each` to each of the n addresses `to` (a
 * PAYMENT from one of its coins, change back to it), through its node's
 * mempool; *txid gets its id (the outputs are txid:0 .. n-1).  False when
 * it has no free coin that large or its node refused the payment. */
bool sim_pouw_fund(sim_ctx *ctx, uint32_t node, const pu_addr *to, uint32_t n, pu_amount each, pu_hash32 *txid);
/** What the run's settled tasks did to the stakes of the worker on node,
 * as the reference chain (sim_best_chain) says: stakes of its seats taken
 * by a settlement (PROTOCOL.md s7.6: a proven cheater's, an absent
 * supervisor's or evaluator's), the miner seats it held and those proven
 * misconduct against (first reason in *proven_reason, 0 none). */
typedef struct sim_pouw_fate {
    pu_amount staked, slashed;
    uint32_t seats, proven;
    uint8_t proven_reason;
} sim_pouw_fate;
PU_NODISCARD pu_err sim_pouw_worker_fate(sim_ctx *ctx, uint32_t node, sim_pouw_fate *out);
/** The same for the seats held by key pub (any identity, a worker's or not). */
PU_NODISCARD pu_err sim_pouw_key_fate(sim_ctx *ctx, const uint8_t pub[33], sim_pouw_fate *out);
/** The chain rules of a lazy verifier: the run's, except that PoUW work is
 * taken on trust (pu_econ_config.trust_ml_work), built once (borrowed, lives
 * with the engine).  PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_pouw_lazy_rules(sim_ctx *ctx, const pu_rules **out);
/** A PoUW block made at node outside the miners (a replayed one): what
 * checking it needs is named after node, as for a block node mined. */
void sim_pouw_block_made(sim_ctx *ctx, uint32_t node, const pu_block *b);

#endif

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
 * SETTLEMENT transactions.  Internal to the simulator core. */
#ifndef SIM_POUW_H
#define SIM_POUW_H

#include "core/chain.h"
#include "sim/sim.h"

typedef struct sim_node sim_node;
typedef struct sim_msg sim_msg;
typedef struct sim_event sim_event;
typedef struct sim_pouw sim_pouw;

/** Build the task, the PoUW engine (econ rules, verifier, record) and the
 * role assignment.  err gets a message on failure. */
PU_NODISCARD pu_err sim_pouw_new(sim_ctx *ctx, sim_pouw **out, char *err, size_t errlen);
void sim_pouw_free(sim_pouw *pw);
/** Fund every role's key in the genesis block. */
PU_NODISCARD pu_err sim_pouw_genesis(sim_ctx *ctx, pu_block *genesis);
/** The chain rules every node uses. */
const pu_rules *sim_pouw_rules(sim_pouw *pw);
/** Schedule the client's submission. */
PU_NODISCARD pu_err sim_pouw_start(sim_ctx *ctx);

void sim_pouw_fire(sim_ctx *ctx, const sim_event *ev);      /* SIM_EV_POUW */
void sim_pouw_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m); /* SIM_MSG_TASK */
void sim_pouw_tip_changed(sim_ctx *ctx, sim_node *nd);
/** Simulated CPU to verify the ML work of b at a node (0 for PoW blocks). */
uint64_t sim_pouw_verify_cost(const sim_ctx *ctx, const pu_block *b);
/** A node connected (reason 0) or refused (nonzero) a PoUW block: record it,
 * with verify_ml_work's detailed reason for a refusal. */
void sim_pouw_verified(sim_ctx *ctx, uint32_t node, const pu_block *b, int reason);
/** Settlements due on nd's branch, to put in a block it builds (borrowed
 * references; valid until the next call). */
size_t sim_pouw_block_extras(sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max);
/** Summary and outputs at the end of the run. */
PU_NODISCARD pu_err sim_pouw_finish(sim_ctx *ctx, sim_summary *s);

#endif

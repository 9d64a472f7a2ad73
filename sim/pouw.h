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

#endif

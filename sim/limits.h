/* sim/limits.h -- what a scenario will cost, judged before it runs.
 *
 * Two ways a scenario whose every value is in range can still fail badly:
 * it needs more memory than the machine has (the kernel then kills the
 * process without a word), or its events come so fast that simulated time
 * practically stops (transactions.rate: 1e12).  sim_limits_check estimates
 * both from the parameters and refuses such a scenario with a message that
 * names the keys driving the estimate, at the position where the biggest
 * one was given (FILE:LINE:COL: error: ...).  It also refuses a run whose
 * coins would exceed the money supply (block reward x blocks on top of the
 * wallets' genesis coins), which would otherwise fail mid-run.
 *
 * The memory model, per node and for the whole run, was fitted to peak RSS
 * measurements (GNU time, `%M`) of runs from 100 to 25,600 nodes, 1 to
 * 80,000 wallets, both transaction models (network.tx_model), up to 53,000
 * confirmed payments (sim/limits.c lists them); it errs on the high side by
 * up to ~3x and is a guard against orders of magnitude, not a prediction.
 *
 * The event rate counts, per simulated second, the messages that
 * transactions and blocks cause (about four events per link each: announce,
 * request, data, check; under tx_model flood a transaction is an event per
 * miner instead), the announce trickles, time series samples (each walks
 * every node) and PoUW iterations, all divided by 1 - network.loss for the
 * retransmissions.  Above SIM_LIMITS_EVENTS_MAX the run would take
 * more than about 100 s of wall time per simulated second at the
 * engine's ~1 M events/s. */
#ifndef SIM_LIMITS_H
#define SIM_LIMITS_H

#include "sim/params.h"

/** Event work per simulated second beyond which a run is refused. */
#define SIM_LIMITS_EVENTS_MAX 1e8
/** Memory estimate above this share of the machine's memory is refused. */
#define SIM_LIMITS_MEM_SHARE 0.9

/** sim_limits_check flags. */
#define SIM_LIMITS_MEM_WARN 1u /* a memory estimate over the limit is a warning (--force) */

typedef struct sim_limits_cost {
    double mem_bytes;        /* estimated peak resident memory of the run */
    double node_bytes;       /* of which per node */
    double events_per_sim_s; /* event work per simulated second */
    double blocks;           /* blocks the run may mine (upper side) */
} sim_limits_cost;

/** The estimates of the run p describes. */
void sim_limits_estimate(const sim_params *p, sim_limits_cost *out);

/** Refuses a run that would stall, outgrow mem_total bytes (the machine's
 * memory; 0 = unknown, not checked) or exceed the money supply: PU_ERR_RANGE
 * with d at the key that drives it (d->path should hold the scenario file
 * for keys left at their defaults).  With SIM_LIMITS_MEM_WARN the memory
 * limit only fills warn (warnlen bytes; "" when none) and returns PU_OK. */
PU_NODISCARD pu_err sim_limits_check(const sim_params *p, uint64_t mem_total, unsigned flags,
                                     char *warn, size_t warnlen, sim_diag *d);

#endif

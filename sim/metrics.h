/* sim/metrics.h -- what a run records: a listener (sim/observe.h) that turns
 * the run's events into HDF5 tables (streamed, so a killed run still shows
 * them up to its last checkpoint) and the figures of the summary.  The
 * layout is documented dataset by dataset in analysis/README.md.
 *
 * Nothing calls into the metrics to record something: actors report events
 * and the metrics listen.  The run (sim.c) drives only the file's life:
 * create, periodic samples and checkpoints, and the end:
 *   sim_metrics_finish   blocks, transactions, messages, refusals; fills the
 *                        engine's part of the summary;
 *   (the roles and adversaries then report their end-of-run events)
 *   sim_metrics_close    the summary block, the file closed. */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include "sim/engine.h"

/* Bump when a dataset or column changes meaning. */
#define SIM_METRICS_LAYOUT 3

/** Listen to the run's events and, when path is non-empty, create the HDF5
 * file with its /run attributes and tables (the PoUW tables too under
 * consensus pouw).  Sets ctx->metrics.  On failure ctx->err says why. */
PU_NODISCARD pu_err sim_metrics_new(sim_ctx *ctx, const char *path, sim_metrics **out);
void sim_metrics_free(sim_metrics *m);
/** One /timeseries row: the state now. */
void sim_metrics_sample(sim_ctx *ctx);
PU_NODISCARD pu_err sim_metrics_checkpoint(sim_ctx *ctx);
/** A last checkpoint of a run that ends early: /run.stop_reason = reason,
 * /run.stopped_at_ns = now (/run.finished stays 0, as in every checkpoint;
 * sim_metrics_close sets it to 1). */
PU_NODISCARD pu_err sim_metrics_mark_partial(sim_ctx *ctx, const char *reason);
PU_NODISCARD pu_err sim_metrics_finish(sim_ctx *ctx, sim_summary *sum);
PU_NODISCARD pu_err sim_metrics_close(sim_ctx *ctx, sim_summary *sum);
/** The run file, for other recording listeners' tables (sim/trace); NULL
 * without HDF5 output.  Borrowed: valid until sim_metrics_close. */
struct sim_h5 *sim_metrics_h5(const sim_metrics *m);

#endif

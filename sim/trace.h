/* sim/trace.h -- optional traces of a run: one row per message and the life
 * cycle of transactions, for analyses the summary tables cannot answer
 * (which path a block took, how long a transaction sat in each mempool,
 * which nodes evicted it).  A listener (sim/observe.h) writing into the run
 * file of sim/metrics; nothing calls it to record.
 *
 *   output.messages: none|sample|all      /trace/messages
 *   output.tx_lifecycle: none|sample|all  /trace/txs, /trace/tx_events
 *
 * Sampling is a pure function of the run: a message is recorded iff
 * mix64(key ^ its number in sending order) mod 10^6 < output.message_sample
 * (in ppm), a transaction iff mix64(key ^ the first 8 bytes of its txid) mod
 * 10^6 < output.tx_sample, where key comes from the run's seed
 * (SIM_RNG_TRACE stream key) and mix64 is core/mix.h's finaliser.  No random
 * stream is drawn, so a trace changes nothing else in the run; with both
 * keys at none (the default) no listener is added and the run file has no
 * /trace group.  A sampled transaction is followed everywhere: every event
 * of it at every node.  Layout: analysis/README.md. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include "sim/engine.h"

typedef struct sim_trace sim_trace;

/** Creates the trace tables in the metrics' run file and listens, when the
 * scenario asks for a trace; otherwise *out is NULL and nothing happens.
 * Call after sim_metrics_new (the tables follow the metrics' in the file).
 * Without HDF5 output there is nothing to write: *out stays NULL.
 * PU_ERR_NOMEM, errors of sim_h5 (ctx->err says why). */
PU_NODISCARD pu_err sim_trace_new(sim_ctx *ctx, sim_trace **out);
void sim_trace_free(sim_trace *t);

#endif

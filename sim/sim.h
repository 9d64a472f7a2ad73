/* sim/sim.h -- one simulation run: build it from parameters, run it, read
 * its summary.
 *
 * A run is a value: everything lives in the sim_ctx (no globals), so several
 * runs may exist in one process (one thread each).  The result -- the HDF5
 * file, the SQLite file, the summary's simulated figures -- is a function of
 * the parameters alone.  Wall-clock time never enters a run: progress
 * display and checkpoint pacing are the caller's (sim/cli.c), through hooks. */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdio.h>

#include "core/types.h"
#include "sim/params.h"

typedef struct sim_ctx sim_ctx;

/** Called every few thousand events; return true to ask for an HDF5
 * checkpoint now (the CLI does so every few seconds of wall time). */
typedef struct sim_progress {
    uint64_t now_ns, end_ns;
    uint64_t events;
    uint64_t blocks;       /* mined so far */
    uint64_t max_height;   /* best tip among nodes */
} sim_progress;

typedef struct sim_run_hooks {
    bool (*progress)(void *ctx, const sim_progress *p);
    void *ctx;
} sim_run_hooks;

typedef struct sim_run_opts {
    const char *out_h5;        /* HDF5 output path; NULL/"" = none */
    const char *db_path;       /* SQLite output of one node; NULL/"" = none */
    uint32_t db_node;
    sim_run_hooks hooks;
} sim_run_opts;

/** Simulated outcome of a run (every field deterministic). */
typedef struct sim_summary {
    uint64_t nodes, events, end_ns;
    uint64_t blocks_mined, main_height, stale_blocks;
    double stale_rate;                       /* stale / mined */
    double prop50_median_s, prop50_p90_s;    /* delay to 50 % of nodes */
    double prop90_median_s, prop90_p90_s;    /* delay to 90 % of nodes */
    uint64_t prop50_blocks, prop90_blocks;   /* blocks that reached 50 % / 90 % (the samples) */
    uint64_t txs_created, txs_confirmed;
    double conf_median_s, conf_p90_s;        /* creation -> inclusion in the main chain */
    uint64_t reorgs, reorg_max_depth;
    uint64_t blocks_refused;                 /* invalid blocks refused by nodes (all reasons
                                              * but duplicates and not-yet-valid times) */
    uint64_t messages, message_bytes;
    double mean_interval_s;                  /* main-chain block interval */
    uint64_t mem_bytes_per_node;             /* chain + mempool + net state, mean */
    /* consensus pouw */
    bool pouw;
    uint64_t pouw_blocks;                    /* blocks mined from training iterations */
    uint64_t pouw_iterations;                /* iterations run, all miners */
    uint64_t pouw_verifications, pouw_verify_failures;
    double pouw_best_accuracy;               /* best final test accuracy (evaluator) */
    int pouw_phase_at_end;                   /* pu_task_phase on the reference chain */
} sim_summary;

/** Build a run: network, nodes (each a real core chain), miners, wallets,
 * outputs.  p and scenario_text are borrowed until sim_free.  On failure
 * err holds a message. */
PU_NODISCARD pu_err sim_new(const sim_params *p, const char *scenario_text, const sim_run_opts *o,
                            sim_ctx **out, char *err, size_t errlen);
/** Run to the end (duration or stop_after_blocks), finish the outputs and
 * fill *sum.  Once. */
PU_NODISCARD pu_err sim_run(sim_ctx *ctx, sim_summary *sum, char *err, size_t errlen);
void sim_free(sim_ctx *ctx);

/** Print a summary as text (used by the CLI and `make run`). */
void sim_summary_print(const sim_summary *s, FILE *f);

/* Introspection for tests and tools (valid after sim_new). */
uint32_t sim_n_nodes(const sim_ctx *ctx);
/** Node i's chain (borrowed; see core/chain.h). */
struct pu_chain *sim_node_chain(const sim_ctx *ctx, uint32_t i);
uint64_t sim_now_ns(const sim_ctx *ctx);

#endif

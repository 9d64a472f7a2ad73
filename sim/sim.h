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
#include "sim/summary.h"

typedef struct sim_ctx sim_ctx;

typedef struct sim_run_opts {
    const char *out_h5;        /* HDF5 output path; NULL/"" = none */
    const char *db_path;       /* SQLite output of one node; NULL/"" = none */
    uint32_t db_node;
    sim_run_hooks hooks;
} sim_run_opts;

/** Build a run: network, nodes (each a real core chain), miners, wallets,
 * outputs.  p and scenario_text are borrowed until sim_free.  On failure
 * err holds a message. */
PU_NODISCARD pu_err sim_new(const sim_params *p, const char *scenario_text, const sim_run_opts *o,
                            sim_ctx **out, char *err, size_t errlen);
/** Run to the end (duration or stop_after_blocks), finish the outputs and
 * fill *sum.  Once.
 *
 * A run that stops early -- the hook answered SIM_HOOK_STOP, or a failure
 * stopped it -- writes a last HDF5 checkpoint (best effort after a failure)
 * whose /run attributes say finished = 0 and stop_reason, commits the
 * SQLite store up to its tip, and returns PU_ERR_STATE (stopped) or the
 * failure's code, with err saying why. */
PU_NODISCARD pu_err sim_run(sim_ctx *ctx, sim_summary *sum, char *err, size_t errlen);
void sim_free(sim_ctx *ctx);

/** Print a summary as text (used by the CLI and `make run`). */
void sim_summary_print(const sim_summary *s, FILE *f);

/* Introspection for tests and tools (valid after sim_new). */
uint32_t sim_n_nodes(const sim_ctx *ctx);
/** Node i's chain (borrowed; see core/chain.h). */
struct pu_chain *sim_node_chain(const sim_ctx *ctx, uint32_t i);
uint64_t sim_now_ns(const sim_ctx *ctx);
/** True when the run failed because of a scenario value (its error names
 * the key and where it was given): the caller reports bad input. */
bool sim_failed_on_input(const sim_ctx *ctx);
/** The PoUW ledger rules every node uses (consensus pouw), else NULL. */
struct pu_econ *sim_econ(const sim_ctx *ctx);
/** The run's genesis block hash (borrowed, valid until sim_free): a
 * database of this scenario starts with it. */
const pu_hash32 *sim_genesis_hash(const sim_ctx *ctx);

/** Where a run's work and memory went (benchmarks; not part of results). */
typedef struct sim_perf {
    uint64_t sig_checks;         /* signature checks asked of the shared cache */
    uint64_t sig_verifications;  /* ECDSA verifications actually run */
    uint64_t blocks_validated;   /* full validations (once per block) */
    uint64_t verdicts_shared;    /* connects that read another chain's verdict */
    uint64_t base_moves;         /* steps the shared UTXO base moved */
    size_t shared_bytes;         /* block records, UTXO states and base, transaction pool */
    size_t nodes_bytes;          /* every node's own ledger state, summed */
    size_t flood_bytes;          /* tx_model flood: arrival profiles, transactions */
    uint64_t flood_profiles;     /* tx_model flood: (origin, sample) floods computed */
} sim_perf;
void sim_perf_get(const sim_ctx *ctx, sim_perf *out);

#endif

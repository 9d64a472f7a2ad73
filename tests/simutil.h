/* tests/simutil.h -- whole runs in tests: scenario text to a finished run,
 * columns of the run's HDF5 tables, file comparison. */
#ifndef PU_SIMUTIL_H
#define PU_SIMUTIL_H

#include "core/chain.h"
#include "sim/h5read.h"
#include "sim/scenario.h"
#include "sim/sim.h"

/** Resolve YAML text into params (defaults + text + checks); 0 on success,
 * else the diagnostic is printed and p released. */
int su_load(sim_params *p, const char *yaml);
/** Run yaml to its end with HDF5 output to th_tmpdir()/h5name (NULL: none);
 * the context is kept for inspection (sim_free it, and release p).  NULL on
 * failure, with the error printed and p released. */
sim_ctx *su_run(const char *yaml, const char *h5name, sim_params *p, sim_summary *sum);
/** su_run with node 0's chain database at th_tmpdir()/dbname as well. */
sim_ctx *su_run_db(const char *yaml, const char *h5name, const char *dbname, sim_params *p,
                   sim_summary *sum);
/** Value of an integer column (1, 4 or 8 bytes) of row `row`. */
uint64_t su_col_u64(const sim_h5read_tab *t, uint64_t row, const char *name);
/** A string column of row `row` into buf (NUL-terminated, at most n - 1 bytes). */
const char *su_col_str(const sim_h5read_tab *t, uint64_t row, const char *name, char *buf, size_t n);
/** Value of a double column of row `row`. */
double su_col_f64(const sim_h5read_tab *t, uint64_t row, const char *name);
/** A whole table of th_tmpdir()/h5name; NULL when absent. */
sim_h5read_tab *su_table(const char *h5name, const char *table);
bool su_files_equal(const char *a, const char *b);
/** Whether table `table` holds the same rows, byte for byte, in the HDF5
 * files th_tmpdir()/a and th_tmpdir()/b (false when either lacks it). */
bool su_tables_equal(const char *a, const char *b, const char *table);
/** The honest datasets of a run (NULL-terminated): what an adversary that
 * never starts must leave unchanged. */
extern const char *const su_honest_tables[];
/** The chain with the most work among the run's nodes: the reference. */
const pu_chain *su_best_chain(const sim_ctx *ctx);

#endif

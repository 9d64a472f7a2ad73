/* sim/runrow.h -- one run file as one table row: who it is (name, seed,
 * consensus, version), every resolved parameter (/run.parameters) and every
 * summary figure (/summary attributes); written as CSV by `pouwsim export`
 * (run.csv) and gathered by `pouwsim merge`.
 *
 * "Never" and "no value" are empty cells, never a number: an unsigned
 * figure equal to 2^64 - 1 (the simulator's "never"), a floating-point
 * figure that is NaN or infinite, a figure a run does not have (a pow run
 * has no PoUW figures).  Numbers are written exactly: integers in decimal,
 * doubles with the fewest of 15, 16 or 17 significant digits that read back
 * as the same double (0.3 stays "0.3"). */
#ifndef SIM_RUNROW_H
#define SIM_RUNROW_H

#include <stdio.h>

#include "core/types.h"
#include "sim/h5read.h"

typedef enum sim_cell_kind {
    SIM_CELL_NONE = 0, /* no value: an empty cell */
    SIM_CELL_U64,
    SIM_CELL_I64,
    SIM_CELL_F64,
    SIM_CELL_STR,      /* a text attribute (an attack's type): s */
} sim_cell_kind;

/** A figure's value as the file stores it. */
typedef struct sim_cell {
    sim_cell_kind kind;
    uint64_t u;
    int64_t i;
    double f;
    char *s;           /* SIM_CELL_STR: owned by the row */
} sim_cell;

/** True when the cell is empty in a table: no value, or "never" (a text
 * cell is empty when it holds no text). */
bool sim_cell_empty(const sim_cell *c);
/** The value as a double; NaN when sim_cell_empty. */
double sim_cell_f64(const sim_cell *c);
/** Write the cell (nothing when empty). */
void sim_cell_csv(FILE *f, const sim_cell *c);
/** Write a double as above (nothing when NaN or infinite). */
void sim_csv_double(FILE *f, double v);
/** Write text as one CSV field: quoted ("" for a quote) only when it holds
 * a comma, quote, CR or LF. */
void sim_csv_text(FILE *f, const char *s);

/** A run file's row.  Plain storage: fill with sim_runrow_read, release
 * with sim_runrow_release. */
typedef struct sim_runrow {
    char *name, *consensus, *version;
    uint64_t seed;
    bool finished;          /* the file has /summary (the run ended normally) */
    size_t nparams;         /* "key = value" lines of /run.parameters, in file order */
    char **param_keys, **param_values;
    size_t nfigs;           /* /summary attributes, by name (byte order) */
    char **fig_names;
    sim_cell *figs;
} sim_runrow;

/** Read the row of the open run file r (its parameters only when `params`
 * is true).  A run without /summary (killed) gives finished = false and no
 * figures.  Returns PU_OK, PU_ERR_NOTFOUND
 * (no /run: not a run file), PU_ERR_RANGE (an attribute of another type),
 * PU_ERR_IO, PU_ERR_NOMEM; sim_h5read_errmsg(r) says why.  On failure the
 * row is released. */
PU_NODISCARD pu_err sim_runrow_read(sim_h5read *r, bool params, sim_runrow *out);
void sim_runrow_release(sim_runrow *row);

/** Write `path` (replacing it): a header line `name,seed,consensus,version,
 * finished`, then every parameter key, then every figure; one data row.
 * Returns PU_OK or PU_ERR_IO (err, errlen bytes, says why). */
PU_NODISCARD pu_err sim_runrow_write_csv(const sim_runrow *row, const char *path, char *err,
                                         size_t errlen);

#endif

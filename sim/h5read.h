/* sim/h5read.h -- read a run's HDF5 file: summary for `pouwsim info`, CSV
 * export for `pouwsim export --csv`, and tables and attributes in memory for
 * tests and analysis in C.
 *
 * Works on any HDF5 file whose tables are 1-D compound datasets with integer
 * (1, 2, 4 or 8 bytes, either sign), floating-point or fixed-length string
 * members -- everything sim/h5 writes.  Other datasets are listed by info
 * and skipped by the export; a table with other member types is refused.
 *
 * The file is opened read-only, without HDF5 file locking, so that it can be
 * read while a run is writing its checkpoints (see sim/h5.h: open, read,
 * close).  One thread at a time may use HDF5 in a process.  As in sim/h5, HDF5's error
 * printing is off during every call (and restored afterwards) and failures
 * leave a message in the reader (sim_h5read_errmsg).  Errors: PU_ERR_IO
 * (HDF5 or file failure), PU_ERR_NOTFOUND (no such dataset, column or
 * attribute), PU_ERR_RANGE (wrong type or shape for the request, or an
 * unsupported member type), PU_ERR_EXISTS (two datasets map to one CSV
 * name), PU_ERR_NOMEM. */
#ifndef SIM_H5READ_H
#define SIM_H5READ_H

#include <stdio.h>

#include "core/types.h"
#include "sim/outfile.h"

typedef struct sim_h5read sim_h5read;         /* an open file; opaque */
typedef struct sim_h5read_tab sim_h5read_tab; /* a table in memory; opaque */

typedef enum sim_h5read_kind {
    SIM_H5READ_UINT = 1, /* unsigned integer, `size` 1, 2, 4 or 8 */
    SIM_H5READ_INT,      /* signed integer, `size` 1, 2, 4 or 8 */
    SIM_H5READ_FLOAT,    /* held as double (`size` 8) whatever the file width */
    SIM_H5READ_STR,      /* `size` bytes, NUL-padded, not NUL-terminated when full */
} sim_h5read_kind;

/** A column of a table in memory.  Rows are packed (no padding), values in
 * native byte order at `offset` from the start of the row. */
typedef struct sim_h5read_col {
    const char *name;
    sim_h5read_kind kind;
    uint32_t size;
    size_t offset;
} sim_h5read_col;

/** Open `path` read-only.  A file that carries pouwsim's whole-file
 * checksum (every run file since layout 3; sim/h5sum.c) is checked before
 * HDF5 reads a byte of it, so a damaged run file is an error, not a crash
 * or wrong values; a file without one is read unchecked (`info` says
 * which) -- and HDF5 1.10.8 itself can crash on some damage (a variable-
 * length string whose global-heap length is altered: SIGSEGV in
 * H5HG_read, found by the runfile_raw fuzz target), which no check through
 * HDF5's API can see beforehand.  Attribute shapes and stored sizes are
 * checked before any buffer is sized.  On failure *out is NULL and err (errlen bytes, may be NULL) holds
 * a message.  Returns PU_OK, PU_ERR_PARSE (damaged: the checksum or length
 * differs), PU_ERR_IO, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_h5read_open(const char *path, sim_h5read **out, char *err,
                                    size_t errlen);
/** Close; NULL does nothing.  Tables read from r stay valid. */
void sim_h5read_free(sim_h5read *r);
/** Message of the last failure ("" if none); valid until the next call on r. */
const char *sim_h5read_errmsg(const sim_h5read *r);

/** Datasets of the file, by path in byte order of the names ("/blocks",
 * "/ml/iterations", ...).  The string is borrowed from r. */
size_t sim_h5read_ndatasets(const sim_h5read *r);
const char *sim_h5read_dataset_path(const sim_h5read *r, size_t i);

/** Text summary, for `pouwsim info`:
 *
 *     file: run.h5
 *     checksum: SHA-256 verified        (or "none (not checked)")
 *     attributes of /run:
 *       scenario: str = "name: quick\n..."
 *       seed: u64 = 42
 *       rates: f64[3] = 0.5, 1, 2
 *     datasets: 2
 *       /blocks: 120 rows; height u64, hash str64, t_s f64
 *       /x: shape (3, 4); u64
 *
 * One "attributes of" section per object carrying attributes, objects and
 * attributes in byte order of their names; strings are C-escaped and cut
 * after 160 bytes ("..." then " (N bytes)"), arrays after 16 values ("...
 * (N values)"), an empty array shows "(empty)"; doubles print with %.17g.
 * Returns PU_OK or PU_ERR_IO. */
PU_NODISCARD pu_err sim_h5read_info(sim_h5read *r, FILE *out);

/** Write every 1-D compound dataset to dir/<path without the leading '/',
 * '/' replaced by '_'>.csv ("/ml/iterations" -> ml_iterations.csv),
 * creating dir if missing (not its parents).  The CSV files are outputs of
 * `set` (sim/outfile.h; the run file is declared in it as an input): an
 * existing CSV of one of those names is refused unless flags has
 * SIM_OUTFILE_FORCE, checked for every table before anything is written;
 * each is written under its temporary name, and the caller commits the set
 * (sim_outset_commit_all) once everything it writes is written, or frees it
 * to leave dir as it was.  A header line of column names, then one line per
 * row: integers exact, doubles %.17g, strings as stored (quoted CSV-style
 * only if they hold a comma, quote or newline).  Lines end in "\n".
 * *nfiles counts the files written.  Returns PU_OK, PU_ERR_IO, PU_ERR_RANGE
 * (a CSV name that is not a regular file, or the run file itself),
 * PU_ERR_EXISTS, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_h5read_export_csv(sim_h5read *r, const char *dir, sim_outset *set,
                                          unsigned flags, size_t *nfiles);

/** Read the whole table at `path` into memory (free with
 * sim_h5read_tab_free).  Returns PU_OK, PU_ERR_NOTFOUND, PU_ERR_RANGE (not a
 * 1-D compound of supported members), PU_ERR_IO, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_h5read_table(sim_h5read *r, const char *path, sim_h5read_tab **out);
void sim_h5read_tab_free(sim_h5read_tab *t);

uint64_t sim_h5read_tab_rows(const sim_h5read_tab *t);
size_t sim_h5read_tab_ncols(const sim_h5read_tab *t);
/** The columns, in file order; borrowed, valid until the table is freed. */
const sim_h5read_col *sim_h5read_tab_cols(const sim_h5read_tab *t);
/** Index of the column called `name`: PU_OK or PU_ERR_NOTFOUND. */
PU_NODISCARD pu_err sim_h5read_tab_col(const sim_h5read_tab *t, const char *name, size_t *idx);
/** The packed rows (rows * row_size bytes); borrowed like the columns. */
const uint8_t *sim_h5read_tab_data(const sim_h5read_tab *t);
size_t sim_h5read_tab_row_size(const sim_h5read_tab *t);

/** One value, converted C-style from the column's kind (integers to double,
 * doubles truncated toward zero, signed to unsigned modulo 2^64).  A string
 * column, a row or column out of range give 0. */
uint64_t sim_h5read_tab_u64(const sim_h5read_tab *t, uint64_t row, size_t col);
int64_t sim_h5read_tab_i64(const sim_h5read_tab *t, uint64_t row, size_t col);
double sim_h5read_tab_f64(const sim_h5read_tab *t, uint64_t row, size_t col);
/** A string value into buf (n bytes, always NUL-terminated, truncated if
 * short); "" for a non-string column or out-of-range row or column.
 * Returns buf. */
char *sim_h5read_tab_str(const sim_h5read_tab *t, uint64_t row, size_t col, char *buf, size_t n);

/** Attributes of the object at `obj` ("/run", "/" or a dataset).  The
 * integer getters take integer attributes of their own signedness, the
 * double getters floating-point ones; a scalar reads as an array of one.
 * Strings (variable or fixed length) and arrays come back in malloc()ed
 * memory the caller free()s; an empty array gives NULL and 0.
 * Returns PU_OK, PU_ERR_NOTFOUND, PU_ERR_RANGE (other type, or an array
 * where a single value is wanted), PU_ERR_IO, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_h5read_attr_u64(sim_h5read *r, const char *obj, const char *name,
                                        uint64_t *out);
PU_NODISCARD pu_err sim_h5read_attr_i64(sim_h5read *r, const char *obj, const char *name,
                                        int64_t *out);
PU_NODISCARD pu_err sim_h5read_attr_f64(sim_h5read *r, const char *obj, const char *name,
                                        double *out);
PU_NODISCARD pu_err sim_h5read_attr_str(sim_h5read *r, const char *obj, const char *name,
                                        char **out);
PU_NODISCARD pu_err sim_h5read_attr_u64_array(sim_h5read *r, const char *obj,
                                              const char *name, uint64_t **out, size_t *n);
PU_NODISCARD pu_err sim_h5read_attr_f64_array(sim_h5read *r, const char *obj,
                                              const char *name, double **out, size_t *n);

/** Names of the attributes of the object at `obj`, in byte order: an array
 * of *n malloc()ed strings, freed with sim_h5read_names_free.  Returns
 * PU_OK, PU_ERR_NOTFOUND (no such object), PU_ERR_IO, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_h5read_attr_names(sim_h5read *r, const char *obj, char ***out,
                                          size_t *n);
void sim_h5read_names_free(char **names, size_t n);

#endif

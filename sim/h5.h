/* sim/h5.h -- deterministic, crash-tolerant HDF5 output: one file per run.
 *
 * A run declares tables (compound datasets such as /blocks or /ml/iterations)
 * and attributes (on /run and other groups), appends rows from plain C
 * structs, calls sim_h5_checkpoint() every few seconds of wall time, and
 * finally sim_h5_close().
 *
 *   typedef struct { uint64_t height; char hash[65]; double t_s; } blk_row;
 *   static const sim_h5_col blk_cols[] = {
 *       SIM_H5_COL(blk_row, height),        // u64, from the field's C type
 *       SIM_H5_COL_STR(blk_row, hash),      // str64: sizeof(hash) - 1
 *       SIM_H5_COL(blk_row, t_s),           // f64
 *   };
 *   rc = sim_h5_table_create(f, "/blocks", blk_cols, 3, 4096, 0, &blocks);
 *   blk_row r = { 7, "00ab...", 12.5 };
 *   rc = sim_h5_table_append(blocks, &r);   // packs into memory, no HDF5 call
 *
 * ## Guarantees
 *
 * Determinism.  The file left by sim_h5_close() is a function of the
 * sequence of declarations, attribute values and rows only: checkpoints,
 * sim_h5_table_flush() calls, their timing and the chunk buffering never show
 * in it.  sim_h5_close() writes the final file from scratch in a canonical
 * order (objects in declaration order, each followed by its attributes in
 * order of first setting, then its rows), with object time tracking off,
 * libver bounds fixed to the 1.8 format, zeroed fill values and packed rows
 * (no padding bytes exist).  Bytes are identical across machines with the
 * same HDF5 and zlib builds (deflate output depends on the zlib version).
 * Tables keep their chunk size in the final file, except that a table with
 * fewer rows than a chunk gets a chunk of exactly its size.  Deflated tables
 * also get HDF5's shuffle filter.
 *
 * Integrity.  Every table carries HDF5's Fletcher32 filter (last in the
 * pipeline: it checks the stored bytes), and every file this module closes
 * -- each published checkpoint and the final file -- starts with a 512-byte
 * user block holding the SHA-256 and length of the rest of the file
 * (sim/h5sum.c), which sim/h5read checks before HDF5 reads the file.
 *
 * Full disks.  Files are written through our own HDF5 file driver
 * (sim/h5vfd.c), which keeps the first failed write (ENOSPC, EFBIG, EIO) and
 * hides it from HDF5, because HDF5 1.10 crashes at exit after a failed flush.
 * The failure surfaces as PU_ERR_IO from the call that wrote, or at the
 * latest from the next checkpoint or close; a file a write failed on is
 * never published.
 *
 * Crash tolerance.  At every moment `path` names a complete HDF5 file, closed
 * by the library, that holds every row and attribute up to the last
 * completed sim_h5_checkpoint() (sim_h5_new() makes an empty one first), so a
 * run killed at any point -- inside a checkpoint or sim_h5_close() too --
 * leaves a file h5py and h5dump open without repair.  Method: two working
 * files, `path.ck0` and `path.ck1`, used in turn.  Between checkpoints rows
 * go, a chunk at a time, to the working file: the one `path` does not name.
 * A checkpoint closes it (HDF5 then writes all its metadata), fsyncs it, and
 * makes `path` a hard link to it with link() + rename(), which is atomic;
 * the other file becomes the working file and catches up by copying the
 * stored chunks written since the previous checkpoint (direct chunk I/O: no
 * recompression).  Memory stays at one chunk per table whatever the
 * checkpoint interval.  sim_h5_close() first publishes like a checkpoint,
 * then writes the canonical file beside it (copying stored chunks again) and
 * renames it over `path`.
 *
 * Rejected, with measurements (HDF5 1.10.8, 6 tables, SIGKILL at random):
 * - one file kept open plus H5Fflush() at each checkpoint: 3 kills in 20
 *   left a file h5dump could not even open.  The metadata cache writes
 *   entries whenever it evicts them, a flush is not atomic, and space freed
 *   after a flush can be reused before the next one.
 * - SWMR: 20 kills in 20 left a file that h5dump and plain h5py refuse
 *   ("file is already open for write", needs h5clear); also no new datasets
 *   or attributes once SWMR starts, and the bytes depend on flush timing.
 * - buffering rows between checkpoints and touching one file only inside
 *   them: still corrupt when killed inside the checkpoint, and memory grows
 *   with the interval.
 * Our method, in 376 kills at random moments of runs with 60 checkpoints
 * (tests/sim/test_h5.c does 11 targeted ones), always left a file holding
 * exactly the last or the in-flight checkpoint, every row intact.  Its price: every row is stored three times (both working files
 * and the final file, two of them by chunk copy), and checkpoints cost a
 * file close + open, an fsync and the copy of one interval.  Measured on a
 * quiet moment of a shared 2-core VM, ext4, 56-byte rows: appends 34 M
 * rows/s (plain HDF5, 4096 rows per write: 46 M rows/s); a checkpoint every
 * 100k rows 3 ms, 15 ms with fsync; close 8-17 M rows/s.  deflate costs
 * what zlib costs: 7 M rows/s at level 1.  Under load, about half of all
 * this.  tests/bench/bench_h5.c measures it.
 * Power loss: checkpoints fsync the file and its directory (unless
 * SIM_H5_NOSYNC), so the last checkpoint survives a crash of the machine.
 *
 * After a kill, `path.ck0`, `path.ck1` and `path.tmp` may remain beside
 * `path`; they are scratch and `path` alone is the result.  (sim/outfile
 * gives every run a new `path`, so stale scratch never meets a new run.)  A reader that keeps `path` open across a checkpoint holds the
 * file that has just become the working file, which then changes under it:
 * open, read, close (as `pouwsim info` does).
 *
 * HDF5 error stacks are not printed: every call that reaches HDF5 switches
 * its automatic error printing off for the duration of the call and restores
 * the previous handler, and a failure's message is kept in the object
 * (sim_h5_errmsg).  The serial HDF5 library is not thread-safe: one thread
 * at a time may use HDF5 in a process, whatever the objects.
 *
 * Errors: PU_ERR_IO (HDF5 or file-system failure; the object becomes failed
 * and every later call returns PU_ERR_STATE, while `path` keeps the last
 * checkpoint), PU_ERR_RANGE (bad name, type, length or string too long),
 * PU_ERR_EXISTS (path already declared), PU_ERR_NOMEM, PU_ERR_STATE. */
#ifndef SIM_H5_H
#define SIM_H5_H

#include <stddef.h>

#include "core/types.h"

#define SIM_H5_ERRLEN 256u
/** Longest fixed-length string column, in bytes. */
#define SIM_H5_STR_MAX 4096u
/** Most rows per chunk a table may ask for. */
#define SIM_H5_CHUNK_MAX (1u << 20)

/** sim_h5_new flags. */
#define SIM_H5_NOSYNC 1u /* skip fsync at checkpoints: survives a kill, not power loss */

typedef struct sim_h5 sim_h5;             /* one output file; opaque */
typedef struct sim_h5_table sim_h5_table; /* one table, owned by its sim_h5 */

/** Column types.  Integers and doubles are stored little-endian; strings are
 * fixed-length, NUL-padded ASCII (h5py strips the padding). */
typedef enum sim_h5_type {
    SIM_H5_U8 = 1,
    SIM_H5_U32,
    SIM_H5_U64,
    SIM_H5_I64,
    SIM_H5_F64,
    SIM_H5_STR,
} sim_h5_type;

/** A column and where its value lives in the caller's row struct.
 * Numeric fields must have exactly the C type of the column (uint8_t,
 * uint32_t, uint64_t, int64_t, double).  A SIM_H5_STR field is a char array
 * of at least len + 1 bytes holding a NUL-terminated string of at most len
 * characters; it is stored NUL-padded to len bytes. */
typedef struct sim_h5_col {
    const char *name;   /* [A-Za-z0-9_]+, unique in the table; copied */
    sim_h5_type type;
    uint32_t len;       /* SIM_H5_STR: width in bytes, 1..SIM_H5_STR_MAX; else 0 */
    size_t offset;      /* offsetof(row struct, field) */
} sim_h5_col;

/** Column for a numeric field, its type taken from the field's C type (a
 * field of any other type does not compile). */
#define SIM_H5_COL(row_t, field)                                                       \
    { #field,                                                                          \
      _Generic(((row_t *)0)->field, uint8_t: SIM_H5_U8, uint32_t: SIM_H5_U32,          \
               uint64_t: SIM_H5_U64, int64_t: SIM_H5_I64, double: SIM_H5_F64),         \
      0, offsetof(row_t, field) }
/** Column for a char array field `char field[N]`: strings of up to N-1 bytes. */
#define SIM_H5_COL_STR(row_t, field) \
    { #field, SIM_H5_STR, (uint32_t)(sizeof(((row_t *)0)->field) - 1), offsetof(row_t, field) }

/** Start a run's file at `path` and leave an empty valid HDF5 file there.
 * `path` is a name the caller owns (normally the temporary file of a
 * sim/outfile output): whatever is there is replaced.  The scratch names
 * `path`.ck0, .ck1 and .tmp are created exclusively: if one exists (another
 * writer's), this fails with PU_ERR_IO rather than touch it.
 * flags: 0 or SIM_H5_NOSYNC.  On failure *out is NULL and, when err is not
 * NULL, err holds a message (errlen bytes, NUL-terminated).
 * Returns PU_OK, PU_ERR_IO, PU_ERR_NOMEM, PU_ERR_RANGE (empty path). */
PU_NODISCARD pu_err sim_h5_new(const char *path, unsigned flags, sim_h5 **out, char *err,
                               size_t errlen);

/** Finish the run: write the canonical final file to `path`, remove the
 * scratch files and free f (always, whatever the result).  If it fails or the
 * process dies inside, `path` holds everything up to this call (or, if f had
 * failed earlier, up to its last checkpoint).  err as for sim_h5_new. */
PU_NODISCARD pu_err sim_h5_close(sim_h5 *f, char *err, size_t errlen);

/** Abandon the run without finishing: `path` keeps the last checkpoint,
 * scratch files are removed, f and its tables are freed.  NULL does nothing. */
void sim_h5_free(sim_h5 *f);

/** Make everything appended or set so far part of `path` (see above).
 * Returns PU_OK, PU_ERR_IO, PU_ERR_NOMEM, PU_ERR_STATE. */
PU_NODISCARD pu_err sim_h5_checkpoint(sim_h5 *f);

/** Message of the last failure ("" if none).  Valid until the next call on f. */
const char *sim_h5_errmsg(const sim_h5 *f);

/** Declare a table at `path` ("/name" or "/group/.../name"; components
 * [A-Za-z0-9_.-]+, not "." or ".."), creating missing groups.  chunk_rows
 * (1..SIM_H5_CHUNK_MAX) is both the HDF5 chunk size and the number of rows
 * buffered in memory before a write; 4096 is a good default.  deflate is 0
 * (none) or a zlib level 1..9.  The table belongs to f: valid until f is
 * closed or freed.  cols is read during the call only.
 * Returns PU_OK, PU_ERR_RANGE, PU_ERR_EXISTS, PU_ERR_NOMEM, PU_ERR_STATE. */
PU_NODISCARD pu_err sim_h5_table_create(sim_h5 *f, const char *path, const sim_h5_col *cols,
                                        size_t ncols, uint32_t chunk_rows, int deflate,
                                        sim_h5_table **out);

/** Append one row read from the caller's struct at `row` (layout given by
 * the columns' offsets).  The row is packed into the table's buffer; HDF5 is
 * touched only when a chunk is complete.  Nothing is appended on failure.
 * Returns PU_OK, PU_ERR_RANGE (string longer than its column: the row is
 * not appended), PU_ERR_IO, PU_ERR_STATE. */
PU_NODISCARD pu_err sim_h5_table_append(sim_h5_table *t, const void *row);

/** Append n rows from an array of structs, `stride` bytes apart (usually
 * sizeof the struct).  On PU_ERR_RANGE the rows before the bad one are
 * appended and *done says how many; done may be NULL. */
PU_NODISCARD pu_err sim_h5_table_append_n(sim_h5_table *t, const void *rows, size_t n,
                                          size_t stride, size_t *done);

/** Write the table's buffered rows to the working file now.  This does not
 * make them crash-safe (only a checkpoint does) and never changes the final
 * file; it bounds how much sits in memory.
 * Returns PU_OK, PU_ERR_IO, PU_ERR_STATE. */
PU_NODISCARD pu_err sim_h5_table_flush(sim_h5_table *t);

/** Rows appended so far. */
uint64_t sim_h5_table_rows(const sim_h5_table *t);

/** Attributes on a group (created on demand, e.g. "/run"; "/" is the root)
 * or on a table declared earlier.  Setting an attribute again replaces its
 * value (and type) in place: its position in the file stays that of its
 * first setting.  Names follow the column-name rule.  Strings are stored as
 * variable-length UTF-8 scalars, which h5py returns as `str`: pass UTF-8
 * text (no NUL; other bytes make h5py's decoding fail).  Arrays are 1-D,
 * n >= 0; values are copied.  Nothing touches HDF5 before the next
 * checkpoint or the close.
 * Returns PU_OK, PU_ERR_RANGE, PU_ERR_EXISTS (a table lies on the path, as
 * in "/blocks/x"), PU_ERR_NOMEM, PU_ERR_STATE. */
PU_NODISCARD pu_err sim_h5_attr_str(sim_h5 *f, const char *obj, const char *name,
                                    const char *value);
PU_NODISCARD pu_err sim_h5_attr_u64(sim_h5 *f, const char *obj, const char *name, uint64_t v);
PU_NODISCARD pu_err sim_h5_attr_i64(sim_h5 *f, const char *obj, const char *name, int64_t v);
PU_NODISCARD pu_err sim_h5_attr_f64(sim_h5 *f, const char *obj, const char *name, double v);
PU_NODISCARD pu_err sim_h5_attr_u64_array(sim_h5 *f, const char *obj, const char *name,
                                          const uint64_t *v, size_t n);
PU_NODISCARD pu_err sim_h5_attr_f64_array(sim_h5 *f, const char *obj, const char *name,
                                          const double *v, size_t n);

#endif

/* sim/outfile.h -- the one way a pouwsim command writes a file a user named.
 *
 * Every command that writes files (run: --out and --db; export: the CSV
 * files; any later writer) declares its inputs and outputs in one
 * sim_outset, writes each output under the temporary name the set hands
 * out, and commits the outputs when the command has succeeded:
 *
 *   sim_outset *os;
 *   sim_outfile *h5;
 *   rc = sim_outset_new(&os);
 *   rc = sim_outset_input(os, "the scenario", scenario_path, err, errlen);
 *   rc = sim_outset_output(os, "--out", "run.h5", force ? SIM_OUTFILE_FORCE : 0, &h5, err, errlen);
 *   ... write sim_outfile_path(h5) (any library: HDF5, SQLite, stdio) ...
 *   rc = sim_outfile_commit(h5, err, errlen);        // success: rename into place
 *   or sim_outfile_keep(h5) / sim_outfile_discard(h5) // failure
 *   sim_outset_free(os);
 *
 * ## Rules
 *
 * - Created, never overwritten without asking.  An existing target is
 *   refused unless SIM_OUTFILE_FORCE.  A target that is a symbolic link or
 *   anything but a regular file (directory, device node, FIFO, socket) is
 *   refused even with SIM_OUTFILE_FORCE: nothing is ever written through a
 *   link or into a device.
 * - Inputs are never outputs.  A target that is the same file as a declared
 *   input, or as another output of the set, is refused.  Identity is
 *   (st_dev, st_ino) of the file, so hard links, "./x" and "a/../x" are
 *   caught; a target that does not exist yet is identified by its
 *   directory's (st_dev, st_ino) and its name, so `--db x --out ./x` is
 *   caught before either exists.
 * - Written aside, renamed on success.  sim_outset_output creates an empty
 *   regular file TARGET.partial-PID (a free -PID-N suffix when taken) in the
 *   target's directory, with O_CREAT | O_EXCL | O_NOFOLLOW (no file of that
 *   name is ever reused, so concurrent commands never collide), mode 0666
 *   minus the umask.  Writers write there and may create companion files
 *   whose names extend it (HDF5's .ck0/.ck1/.tmp, SQLite's -wal/-shm);
 *   they remove their companions when they close.  sim_outfile_commit
 *   fsyncs the file, re-checks the target and renames the file onto it
 *   (atomically: the target is either the old file or the new one), then
 *   fsyncs the directory.  Without SIM_OUTFILE_FORCE the rename refuses to
 *   replace a target that appeared in the meantime (another command wrote
 *   it): the output then stays under its temporary name and the message
 *   says so.  Until the commit the target is untouched, so a failed or
 *   interrupted command leaves the user's old file exactly as it was.
 * - Paths of any length: nothing is cut (the system's own limits give an
 *   error such as "File name too long").
 *
 * Messages (err, errlen: one line, NUL-terminated, may be NULL) start with
 * the output's label and path, e.g.
 *   "--out run.h5: exists (use --force to replace it)"
 *   "--out /dev/null: is a character device, not a regular file"
 *   "--db scen.yaml: is the scenario file (an input)"
 *   "--db x.h5: is the same file as --out"
 *
 * Errors: PU_ERR_EXISTS (exists without FORCE, or appeared before the
 * commit), PU_ERR_RANGE (not a regular file, a link, the same file as an
 * input or another output), PU_ERR_IO (a system call failed: the message
 * quotes strerror), PU_ERR_NOMEM, PU_ERR_STATE (commit of an output already
 * finished).  Not thread-safe; one set per command. */
#ifndef SIM_OUTFILE_H
#define SIM_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/types.h"

typedef struct sim_outset sim_outset;   /* the inputs and outputs of one command */
typedef struct sim_outfile sim_outfile; /* one output; owned by its set */

/** sim_outset_output flags. */
#define SIM_OUTFILE_FORCE 1u /* an existing regular file may be replaced */

PU_NODISCARD pu_err sim_outset_new(sim_outset **out);
/** Frees the set.  Outputs neither committed nor kept are discarded (their
 * temporary files removed).  NULL does nothing. */
void sim_outset_free(sim_outset *s);

/** Declares an existing file that the command reads (label for messages,
 * e.g. "the scenario file").  A path that does not exist is no error (the
 * reader will say so); nothing is recorded for it. */
PU_NODISCARD pu_err sim_outset_input(sim_outset *s, const char *label, const char *path,
                                     char *err, size_t errlen);

/** Checks `target` against the rules above and creates its temporary file.
 * label names the output in messages ("--out", "--db", "CSV").  *out is
 * owned by the set (valid until sim_outset_free). */
PU_NODISCARD pu_err sim_outset_output(sim_outset *s, const char *label, const char *target,
                                      unsigned flags, sim_outfile **out, char *err,
                                      size_t errlen);

/** The temporary path to write (borrowed; valid until the set is freed). */
const char *sim_outfile_path(const sim_outfile *o);
/** The path the user named. */
const char *sim_outfile_target(const sim_outfile *o);
/** True when the target existed when declared (it will be replaced: FORCE). */
bool sim_outfile_replaces(const sim_outfile *o);

/** Moves the finished temporary file onto the target (see above). */
PU_NODISCARD pu_err sim_outfile_commit(sim_outfile *o, char *err, size_t errlen);
/** Commits every output of the set still open, in declaration order (for a
 * command whose outputs succeed or fail together: all are written before
 * the first is renamed).  Stops at the first failure. */
PU_NODISCARD pu_err sim_outset_commit_all(sim_outset *s, char *err, size_t errlen);
/** Leaves the temporary file where it is (a partial output the user may
 * want); the set forgets it. */
void sim_outfile_keep(sim_outfile *o);
/** Removes the temporary file; the target is untouched. */
void sim_outfile_discard(sim_outfile *o);

#endif

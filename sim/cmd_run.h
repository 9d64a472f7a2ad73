/* sim/cmd_run.h -- `pouwsim run FILE.yaml`: load a scenario, run it, write
 * its HDF5 file (and one node's SQLite database), print the summary.
 *
 * Outputs go through sim/outfile: written as TARGET.partial-PID and renamed
 * into place when the run succeeds; an existing file is replaced only with
 * --force, never when it is a link, a device, a directory or an input; a
 * database only when it is a pouwsim store of this run's genesis.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP stop the run at the next event
 * boundary (a last checkpoint with /run.finished = 0 and /run.stop_reason,
 * the partial outputs kept, one line on err) and the status is 128 + the
 * signal; a second signal ends the process by its default action.
 *
 * Exit status: 0 done; 1 the run failed (the partial output is kept and
 * named), an output's disk or memory failed; 2 bad usage or input (scenario
 * errors as FILE:LINE:COL: error: ...), a refused output; 129/130/143
 * stopped by a signal. */
#ifndef SIM_CMD_RUN_H
#define SIM_CMD_RUN_H

#include <stdio.h>

#include "sim/cmd_sweep.h" /* sim_cmd_env */

/** The usage text (`pouwsim help run`). */
extern const char sim_cmd_run_usage[];

/** `pouwsim run ARGS` (argv without the command name). */
int sim_cmd_run(int argc, char **argv, const sim_cmd_env *env, FILE *out, FILE *err);

#endif

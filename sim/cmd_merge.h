/* sim/cmd_merge.h -- `pouwsim merge DIR`: the runs of a sweep directory
 * (sim/cmd_sweep.h) as one table, and the points with confidence intervals.
 *
 *   pouwsim merge DIR [--out PREFIX] [--confidence C] [--partial] [--force]
 *
 * Reads DIR/plan.txt and every DIR/runs/NAME.h5 and writes (PREFIX
 * defaults to DIR/merged):
 *
 * PREFIX.csv, one row per run in plan order:
 *     run, point, rep, seed, <every swept key>, <every /summary figure>
 *   A swept key's cell is its value at that point in scenario syntax
 *   (`0.3`, `10min`, `[0.3, 0.7]`; a string without its quotes), the base
 *   scenario's value where the point does not set it.  Figures are the
 *   union of the runs' numeric /summary attributes (text ones, such as an
 *   attack's type, are left out) in byte order of their names; "never",
 *   NaN and a figure a run lacks are empty cells (sim/runrow.h).
 *
 * PREFIX-points.csv, one row per point:
 *     point, <every swept key>, runs, then per figure F:
 *     F_n, F_mean, F_sd, F_ci<level>
 *   over the point's runs that have a value of F: n, mean, sample standard
 *   deviation and the half-width of the two-sided Student-t confidence
 *   interval at level C (default 0.95: column F_ci95), t_{(1+C)/2, n-1} *
 *   sd / sqrt(n) with GSL's gsl_cdf_tdist_Pinv.  sd and the interval are
 *   empty for n < 2, mean for n = 0.
 *
 * PREFIX.h5: the same two tables as /runs and /points.  Column names are
 *   the CSV's with every character outside [A-Za-z0-9_] replaced by '_'
 *   (`network.nodes` -> `network_nodes`); a swept key's column is f64 when
 *   every value of it is a plain number, else a string; figures are f64,
 *   NaN for an empty cell.  Group /sweep holds attributes: name, scenario,
 *   scenario_sha256, base_seed, repetitions, runs, points, runs_missing,
 *   confidence, keys and key_columns (the swept keys and their column
 *   names, one per line).
 *
 * The outputs are a function of the plan and the run files only (no time,
 * no paths), so a sweep run in shares on a cluster merges to the same bytes
 * as the same sweep run on one machine.  A run file whose seed is not the
 * plan's is an error (it belongs to another sweep).  Without --partial a
 * missing run (failed or not run yet) is an error that lists them; with it
 * the tables hold the runs there are.  Existing outputs are refused unless
 * --force.  Exit status: 0 written, 1 a missing run or a write failure, 2
 * bad usage or a directory that is not a sweep's. */
#ifndef SIM_CMD_MERGE_H
#define SIM_CMD_MERGE_H

#include <stdio.h>

/** `pouwsim merge ARGS` (argv without the command name). */
int sim_cmd_merge(int argc, char **argv, FILE *out, FILE *err);

#endif

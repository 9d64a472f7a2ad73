/* sim/cmd_sweep.h -- `pouwsim sweep`: run the points of a scenario's sweep
 * section (sim/sweep.h) as child processes, resumable, in shares for a
 * cluster's job array.
 *
 *   pouwsim sweep FILE --out DIR [--jobs N] [--shard K/N] [--list] [--quiet]
 *   pouwsim sweep FILE --out DIR --print-sbatch [--array N] [--cpus N]
 *                      [--sbatch OPTION]...
 *
 * The sweep directory DIR (created with its parents; an existing DIR must be
 * this sweep's or hold nothing but what a sweep puts there):
 *   plan.txt             the plan (sim_sweep_plan_text): what every run is
 *   scenario/FILE        the scenario text as read; every run reads this copy
 *   runs/NAME.h5         a finished run's output
 *   runs/NAME.log        what the run printed (its summary, wall time, errors)
 *   runs/.NAME.partial.h5  a run in progress (with the HDF5 writer's scratch
 *                        files); renamed to NAME.h5 only when the run
 *                        succeeded, removed when the run is started again
 *   slurm/               the job array's logs (--print-sbatch)
 * A second sweep into DIR checks that the scenario gives the same plan
 * (same text, same points, same seeds) and refuses otherwise.
 *
 * Each run is `EXE run DIR/scenario/FILE --quiet --seed SEED --set KEY=VALUE
 * ... --out runs/.NAME.partial.h5`, started with posix_spawn, at most N at
 * once (--jobs; default SLURM_CPUS_PER_TASK inside Slurm, else the number of
 * online CPUs).  Resume: a run whose NAME.h5 exists is finished and is not
 * run again.  A run that fails (non-zero exit or a signal) is reported with
 * the last line of its log while the others go on; running the command
 * again retries it.
 *
 * Shares: --shard K/N (1 <= K <= N) runs share K of N, run i belonging to
 * share (i mod N) + 1.  Without --shard, inside a Slurm job array
 * (SLURM_ARRAY_TASK_ID set) the share is SLURM_ARRAY_TASK_ID -
 * SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT (both from the
 * environment; MIN defaults to 0, COUNT to MAX - MIN + 1).
 * --print-sbatch prepares DIR and writes to `out` an sbatch script that
 * runs the sweep as a job array of --array tasks (default: the runs, at
 * most 100), each with --cpus CPUs (default 1) and --jobs set to them;
 * --sbatch adds one `#SBATCH OPTION` line (repeatable).
 *
 * Progress goes to `err`: one line for the whole sweep (runs done, failed,
 * running, ETA), rewritten in place on a terminal, one line per finished
 * run otherwise.  Exit status: 0 every run of the share finished, 1 a run
 * failed or a file could not be written, 2 bad input or usage (nothing
 * run). */
#ifndef SIM_CMD_SWEEP_H
#define SIM_CMD_SWEEP_H

#include <stdbool.h>
#include <stdio.h>

/** What the command needs from the process around it: the CLI passes the
 * real ones; tests pass their own. */
typedef struct sim_cmd_env {
    const char *exe;          /* the pouwsim binary every run starts */
    double (*wall_s)(void);   /* wall clock (s): progress and ETA only */
    /* Environment lookup (Slurm's variables); NULL = none set. */
    const char *(*getenv)(void *ctx, const char *name);
    void *env_ctx;
    bool err_tty;             /* err is a terminal: rewrite one line */
} sim_cmd_env;

/** `pouwsim sweep ARGS` (argv without the command name). */
int sim_cmd_sweep(int argc, char **argv, const sim_cmd_env *env, FILE *out, FILE *err);

#endif

/* sim/cli.c -- pouwsim run | info | export | keys, help and version. */
#define _DEFAULT_SOURCE /* isatty, readlink */
#include "sim/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/cmd_chain.h"
#include "sim/cmd_opret.h"
#include "sim/cmd_run.h"
#include "sim/cmd_sweep.h"
#include "sim/cmd_task.h"
#include "sim/h5read.h"
#include "sim/outfile.h"
#include "sim/cmd_merge.h"
#include "sim/runrow.h"
#include "sim/scenario.h"
#include "sim/sim.h"

#ifndef POUWSIM_VERSION
#define POUWSIM_VERSION "0.1.0"
#endif

static const char usage_main[] =
    "usage: pouwsim <command> [options]\n"
    "\n"
    "A deterministic discrete-event simulator of Proof-of-Useful-Work blockchains.\n"
    "\n"
    "commands:\n"
    "  run FILE.yaml     run a scenario, write an HDF5 file and print a summary\n"
    "  info RUN.h5       describe a run's output: attributes and datasets\n"
    "  export RUN.h5     write every dataset of a run, and run.csv, as CSV (--csv DIR)\n"
    "  sweep FILE.yaml   run the points of the scenario's sweep section (--out DIR)\n"
    "  merge DIR         one table of a sweep's runs, intervals per point\n"
    "  keys              list every scenario key (--markdown: the reference)\n"
    "  opret decode|encode  read or build a 160-byte OP_RETURN record\n"
    "  chain DB.sqlite   inspect or verify the chain database of a run (--db)\n"
    "  import-task FILE.json  a task of the Python implementation as a pouw.task section\n"
    "  help COMMAND      help on a command\n"
    "\n"
    "  --help, --version\n";

static const char usage_info[] = "usage: pouwsim info RUN.h5\n";
static const char usage_export[] =
    "usage: pouwsim export RUN.h5 --csv DIR [--force]\n"
    "\n"
    "Writes every table of the run as DIR/<table>.csv, and DIR/run.csv: one row with\n"
    "the run's name, seed, every resolved parameter and every summary figure\n"
    "(\"never\" as an empty cell).  Existing files are replaced only with --force;\n"
    "the files appear together when all are written.  A damaged run file is refused.\n";
static const char usage_keys[] = "usage: pouwsim keys [--markdown]\n";

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bad_usage(const char *msg, const char *usage)
{
    fprintf(stderr, "pouwsim: %s\n%s", msg, usage);
    return 2;
}

static int cmd_info(int argc, char **argv)
{
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(usage_info, stdout);
        return 0;
    }
    if (argc != 1)
        return bad_usage("info takes one HDF5 file", usage_info);
    sim_h5read *r;
    char err[300];
    if (sim_h5read_open(argv[0], &r, err, sizeof err) != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", argv[0], err);
        return 2;
    }
    pu_err rc = sim_h5read_info(r, stdout);
    if (rc != PU_OK)
        fprintf(stderr, "%s: error: %s\n", argv[0], sim_h5read_errmsg(r));
    sim_h5read_free(r);
    return rc == PU_OK ? 0 : 1;
}

/* DIR/run.csv: the run's parameters and summary in one row (sim/runrow.h),
 * another output of the export's set. */
static pu_err export_run_row(sim_h5read *r, const char *file, const char *dir, sim_outset *set,
                             unsigned flags)
{
    sim_runrow row;
    char err[1024];
    size_t n = strlen(dir) + 9;
    char *path = malloc(n);
    sim_outfile *o;
    if (!path)
        return PU_ERR_NOMEM;
    snprintf(path, n, "%s/run.csv", dir);
    pu_err rc = sim_outset_output(set, "CSV", path, flags, &o, err, sizeof err);
    free(path);
    if (rc != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", file, err);
        return rc;
    }
    if ((rc = sim_runrow_read(r, true, &row)) != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", file, sim_h5read_errmsg(r));
        return rc;
    }
    if ((rc = sim_runrow_write_csv(&row, sim_outfile_path(o), err, sizeof err)) != PU_OK)
        fprintf(stderr, "%s\n", err);
    sim_runrow_release(&row);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    unsigned flags = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_export, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--force")) {
            flags |= SIM_OUTFILE_FORCE;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            return bad_usage("bad arguments", usage_export);
        }
    }
    if (!file || !dir)
        return bad_usage("export needs a file and --csv DIR", usage_export);
    sim_h5read *r;
    sim_outset *set = NULL;
    char err[1024];
    if (sim_h5read_open(file, &r, err, sizeof err) != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", file, err);
        return 2;
    }
    size_t nfiles = 0;
    pu_err rc = sim_outset_new(&set);
    if (rc == PU_OK && (rc = sim_h5read_export_csv(r, dir, set, flags, &nfiles)) != PU_OK)
        fprintf(stderr, "%s: error: %s\n", file, sim_h5read_errmsg(r));
    if (rc == PU_OK)
        rc = export_run_row(r, file, dir, set, flags);
    if (rc == PU_OK && (rc = sim_outset_commit_all(set, err, sizeof err)) != PU_OK)
        fprintf(stderr, "%s: error: %s\n", file, err);
    if (rc == PU_OK)
        printf("exported %zu tables and run.csv to %s\n", nfiles, dir);
    sim_outset_free(set); /* on failure: nothing written stays */
    sim_h5read_free(r);
    /* a refused output (exists, not a regular file) is the command line's fault */
    return rc == PU_OK ? 0 : rc == PU_ERR_EXISTS || rc == PU_ERR_RANGE ? 2 : 1;
}

static int cmd_keys(int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "--markdown"))
        return sim_params_markdown(stdout) == PU_OK ? 0 : 1;
    if (argc) {
        if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
            fputs(usage_keys, stdout);
            return 0;
        }
        return bad_usage("bad arguments", usage_keys);
    }
    for (size_t i = 0; i < sim_params_key_count(); i++) {
        const sim_param_key *k = sim_params_key_at(i);
        if (k->type != SIM_PT_SECTION)
            printf("%-36s %-12s %s\n", k->path, k->def[0] ? k->def : "\"\"", k->doc);
    }
    return 0;
}

static const char *env_lookup(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* The environment of sweep: this binary starts the runs. */
static sim_cmd_env cmd_env(char *exe, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", exe, n - 1);
    if (len <= 0)
        snprintf(exe, n, "pouwsim"); /* no /proc: spawn fails and says so per run */
    else
        exe[len] = 0;
    return (sim_cmd_env){exe, wall_s, env_lookup, NULL, isatty(2) == 1};
}

int sim_cli_main(int argc, char **argv)
{
    if (argc < 2)
        return bad_usage("missing command", usage_main);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("pouwsim %s\n", POUWSIM_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        const char *what = argc > 2 ? argv[2] : "";
        char *help[] = {"--help", NULL};
        if (!strcmp(what, "sweep") || !strcmp(what, "merge")) {
            char exe[4096];
            sim_cmd_env env = cmd_env(exe, sizeof exe);
            return what[0] == 's' ? sim_cmd_sweep(1, help, &env, stdout, stderr)
                                  : sim_cmd_merge(1, help, stdout, stderr);
        }
        fputs(!strcmp(what, "run") ? sim_cmd_run_usage : !strcmp(what, "info") ? usage_info
              : !strcmp(what, "export") ? usage_export : !strcmp(what, "keys") ? usage_keys
              : !strcmp(what, "opret") ? sim_cmd_opret_usage
              : !strcmp(what, "chain") ? sim_cmd_chain_usage
              : !strcmp(what, "import-task") ? sim_cmd_import_task_usage : usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "run")) {
        char exe[4096];
        sim_cmd_env env = cmd_env(exe, sizeof exe);
        return sim_cmd_run(argc - 2, argv + 2, &env, stdout, stderr);
    }
    if (!strcmp(cmd, "info"))
        return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "export"))
        return cmd_export(argc - 2, argv + 2);
    if (!strcmp(cmd, "keys"))
        return cmd_keys(argc - 2, argv + 2);
    if (!strcmp(cmd, "chain"))
        return sim_cmd_chain(argc - 2, argv + 2, stdout, stderr);
    if (!strcmp(cmd, "import-task"))
        return sim_cmd_import_task(argc - 2, argv + 2, stdout, stderr);
    if (!strcmp(cmd, "opret"))
        return sim_cmd_opret(argc - 2, argv + 2, stdin, stdout, stderr);
    if (!strcmp(cmd, "sweep")) {
        char exe[4096];
        sim_cmd_env env = cmd_env(exe, sizeof exe);
        return sim_cmd_sweep(argc - 2, argv + 2, &env, stdout, stderr);
    }
    if (!strcmp(cmd, "merge"))
        return sim_cmd_merge(argc - 2, argv + 2, stdout, stderr);
    char msg[128];
    snprintf(msg, sizeof msg, "unknown command '%s'", cmd);
    return bad_usage(msg, usage_main);
}

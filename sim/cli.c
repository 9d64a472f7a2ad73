/* sim/cli.c -- pouwsim run | info | export | keys, help and version. */
#define _DEFAULT_SOURCE /* getrusage, isatty */
#include "sim/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/cmd_chain.h"
#include "sim/cmd_opret.h"
#include "sim/cmd_sweep.h"
#include "sim/cmd_task.h"
#include "sim/h5read.h"
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

static const char usage_run[] =
    "usage: pouwsim run FILE.yaml [options]\n"
    "\n"
    "  --seed N             override the scenario's seed\n"
    "  --out PATH           HDF5 output (default: output.hdf5 of the scenario, else NAME.h5)\n"
    "  --db PATH            also keep one node's ledger in a SQLite database\n"
    "  --db-node ID         which node (default 0)\n"
    "  --set KEY=VALUE      override any scenario key (repeatable), e.g.\n"
    "                       --set network.nodes=500 --set network.latency.mean=50ms\n"
    "  --quiet              no progress display\n"
    "\n"
    "Same scenario and seed give byte-identical outputs.  Bad input is reported as\n"
    "FILE:LINE:COL: error: ... with exit status 2 before anything runs.\n";

static const char usage_info[] = "usage: pouwsim info RUN.h5\n";
static const char usage_export[] =
    "usage: pouwsim export RUN.h5 --csv DIR\n"
    "\n"
    "Writes every table of the run as DIR/<table>.csv, and DIR/run.csv: one row with\n"
    "the run's name, seed, every resolved parameter and every summary figure\n"
    "(\"never\" as an empty cell).\n";
static const char usage_keys[] = "usage: pouwsim keys [--markdown]\n";

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss / 1024.0; /* kB on Linux */
}

typedef struct progress_state {
    double start, last_show, last_ck;
    bool show;
} progress_state;

static bool on_progress(void *c, const sim_progress *p)
{
    progress_state *st = c;
    double now = wall_s();
    if (st->show && now - st->last_show >= 0.5) {
        double el = now - st->start, frac = p->end_ns ? (double)p->now_ns / p->end_ns : 0;
        double eta = frac > 0 ? el * (1 - frac) / frac : 0;
        fprintf(stderr, "\r  sim %.0f/%.0f s  blocks %llu  height %llu  events %.2fM  %.2fM ev/s  ETA %.0f s   ",
                p->now_ns / 1e9, p->end_ns / 1e9, (unsigned long long)p->blocks,
                (unsigned long long)p->max_height, p->events / 1e6,
                el > 0 ? p->events / el / 1e6 : 0, eta);
        fflush(stderr);
        st->last_show = now;
    }
    if (now - st->last_ck >= 5.0) { /* a killed run keeps at most ~5 s of work unsaved */
        st->last_ck = now;
        return true;
    }
    return false;
}

static int bad_usage(const char *msg, const char *usage)
{
    fprintf(stderr, "pouwsim: %s\n%s", msg, usage);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

typedef struct run_args {
    const char *file, *out, *db;
    uint64_t db_node;
    const char **sets;
    size_t n_sets;
    bool quiet;
    char seed_set[40];
} run_args;

static int parse_run(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
    if (!a->sets)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_run, stdout);
            return -1;
        } else if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
            a->quiet = true;
        } else if (!strcmp(arg, "--seed") && has_next) {
            uint64_t seed;
            if (!parse_u64(argv[++i], &seed))
                return bad_usage("--seed takes a non-negative integer", usage_run);
            snprintf(a->seed_set, sizeof a->seed_set, "seed=%llu", (unsigned long long)seed);
        } else if (!strcmp(arg, "--out") && has_next) {
            a->out = argv[++i];
        } else if (!strcmp(arg, "--db") && has_next) {
            a->db = argv[++i];
        } else if (!strcmp(arg, "--db-node") && has_next) {
            if (!parse_u64(argv[++i], &a->db_node))
                return bad_usage("--db-node takes a node id", usage_run);
        } else if (!strcmp(arg, "--set") && has_next) {
            a->sets[a->n_sets++] = argv[++i];
        } else if (arg[0] == '-') {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%s'", arg);
            return bad_usage(msg, usage_run);
        } else if (!a->file) {
            a->file = arg;
        } else {
            return bad_usage("run takes one scenario file", usage_run);
        }
    }
    if (!a->file)
        return bad_usage("run needs a scenario file", usage_run);
    if (a->seed_set[0])
        a->sets[a->n_sets++] = a->seed_set; /* after --set: --seed wins */
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    run_args a;
    int st = parse_run(argc, argv, &a);
    if (st) {
        free(a.sets);
        return st < 0 ? 0 : st;
    }
    sim_params p;
    char *text = NULL, buf[600];
    sim_diag d;
    sim_diag_clear(&d);
    pu_err rc = sim_scenario_load_with(a.file, a.sets, a.n_sets, &p, &text, &d);
    free(a.sets);
    if (rc != PU_OK) {
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    if (a.db && a.db_node >= p.network.nodes) {
        fprintf(stderr, "--db-node: error: node %llu does not exist (the scenario has %llu nodes)\n",
                (unsigned long long)a.db_node, (unsigned long long)p.network.nodes);
        sim_params_release(&p);
        free(text);
        return 2;
    }
    char out[512];
    if (a.out)
        snprintf(out, sizeof out, "%s", a.out);
    else if (p.output.hdf5 && p.output.hdf5[0])
        snprintf(out, sizeof out, "%s", p.output.hdf5);
    else
        snprintf(out, sizeof out, "%s.h5", p.name);
    progress_state ps = {wall_s(), 0, wall_s(), !a.quiet && p.output.progress && isatty(2)};
    sim_run_opts o = {out, a.db, (uint32_t)a.db_node, {on_progress, &ps}};
    sim_ctx *ctx = NULL;
    sim_summary sum;
    char err[300];
    rc = sim_new(&p, text, &o, &ctx, err, sizeof err);
    if (rc != PU_OK) {
        /* Nothing has run: a file named by the scenario or the command line
         * is missing or wrong (only a lack of memory is not the input's fault). */
        fprintf(stderr, "pouwsim: error: %s\n", err);
        sim_params_release(&p);
        free(text);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    rc = sim_run(ctx, &sum, err, sizeof err);
    double wall = wall_s() - ps.start;
    if (ps.show)
        fprintf(stderr, "\r%100s\r", "");
    int status = 0;
    if (rc != PU_OK) {
        fprintf(stderr, "pouwsim: run failed: %s\n", err);
        status = 1;
    } else {
        printf("== %s (seed %llu)\n", p.name, (unsigned long long)p.seed);
        sim_summary_print(&sum, stdout);
        printf("wall time             %.2f s (%.0f events/s)\n", wall,
               wall > 0 ? (double)sum.events / wall : 0);
        printf("peak memory           %.1f MB\n", peak_rss_mb());
        printf("output                %s\n", out);
        if (a.db)
            printf("database              %s (node %llu)\n", a.db, (unsigned long long)a.db_node);
    }
    sim_free(ctx);
    sim_params_release(&p);
    free(text);
    return status;
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

/* DIR/run.csv: the run's parameters and summary in one row (sim/runrow.h). */
static pu_err export_run_row(sim_h5read *r, const char *file, const char *dir)
{
    sim_runrow row;
    char path[4096], err[300];
    pu_err rc = sim_runrow_read(r, true, &row);
    if (rc != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", file, sim_h5read_errmsg(r));
        return rc;
    }
    if (snprintf(path, sizeof path, "%s/run.csv", dir) >= (int)sizeof path)
        rc = PU_ERR_RANGE;
    else if ((rc = sim_runrow_write_csv(&row, path, err, sizeof err)) != PU_OK)
        fprintf(stderr, "%s\n", err);
    sim_runrow_release(&row);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage_export, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--csv") && i + 1 < argc) {
            dir = argv[++i];
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            return bad_usage("bad arguments", usage_export);
        }
    }
    if (!file || !dir)
        return bad_usage("export needs a file and --csv DIR", usage_export);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: error: cannot create: %s\n", dir, strerror(errno));
        return 2;
    }
    sim_h5read *r;
    char err[300];
    if (sim_h5read_open(file, &r, err, sizeof err) != PU_OK) {
        fprintf(stderr, "%s: error: %s\n", file, err);
        return 2;
    }
    size_t nfiles;
    pu_err rc = sim_h5read_export_csv(r, dir, &nfiles);
    if (rc != PU_OK)
        fprintf(stderr, "%s: error: %s\n", file, sim_h5read_errmsg(r));
    else
        rc = export_run_row(r, file, dir);
    if (rc == PU_OK)
        printf("exported %zu tables and run.csv to %s\n", nfiles, dir);
    sim_h5read_free(r);
    return rc == PU_OK ? 0 : 1;
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
        fputs(!strcmp(what, "run") ? usage_run : !strcmp(what, "info") ? usage_info
              : !strcmp(what, "export") ? usage_export : !strcmp(what, "keys") ? usage_keys
              : !strcmp(what, "opret") ? sim_cmd_opret_usage
              : !strcmp(what, "chain") ? sim_cmd_chain_usage
              : !strcmp(what, "import-task") ? sim_cmd_import_task_usage : usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
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

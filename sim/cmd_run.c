/* sim/cmd_run.c -- `pouwsim run`: a scenario in, a run file (and a
 * database) out, through sim/outfile; signals; the summary.  See cmd_run.h. */
#define _DEFAULT_SOURCE /* getrusage */
#include "sim/cmd_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/store.h"
#include "sim/limits.h"
#include "sim/outfile.h"
#include "sim/scenario.h"
#include "sim/sim.h"

const char sim_cmd_run_usage[] =
    "usage: pouwsim run FILE.yaml [options]\n"
    "\n"
    "  --seed N             override the scenario's seed\n"
    "  --out PATH           HDF5 output (default: output.hdf5 of the scenario, else NAME.h5)\n"
    "  --db PATH            also keep one node's ledger in a SQLite database\n"
    "                       (default: output.sqlite of the scenario, else none)\n"
    "  --db-node ID         which node (default: output.sqlite_node, 0)\n"
    "  --set KEY=VALUE      override any scenario key (repeatable), e.g.\n"
    "                       --set network.nodes=500 --set network.latency.mean=50ms\n"
    "  --force              replace existing outputs (regular files only; a database\n"
    "                       only if it is a pouwsim database of this scenario), and run\n"
    "                       even when the memory estimate exceeds the machine's memory\n"
    "  --quiet              no progress display\n"
    "\n"
    "Same scenario and seed give byte-identical outputs.  Bad input is reported as\n"
    "FILE:LINE:COL: error: ... with exit status 2 before anything runs.  Outputs are\n"
    "written under a temporary name (OUT.partial-PID) and renamed into place when the\n"
    "run succeeds; an existing file is never replaced without --force.\n"
    "SIGINT, SIGTERM and SIGHUP stop the run at the next event boundary with a final\n"
    "checkpoint (/run.finished = 0) kept under the temporary name, and exit with\n"
    "128 + the signal number; a second signal ends the process at once.\n";


/* Where the command prints and what it reads of the process around it. */
typedef struct run_io {
    FILE *out, *err;
    const sim_cmd_env *env;
} run_io;

static int bad_usage(const run_io *io, const char *msg)
{
    fprintf(io->err, "pouwsim: %s\n%s", msg, sim_cmd_run_usage);
    return 2;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss / 1024.0; /* kB on Linux */
}

/* ---- signals ---------------------------------------------------------------
 *
 * SIGINT, SIGTERM and SIGHUP are blocked for the duration of a run and
 * polled (sigpending) by the progress hook between events: the run then
 * stops at an event boundary, writes its last checkpoint and exits.  Polling
 * a blocked signal needs no handler and so no global flag (STYLE s7); the
 * hook runs every few thousand events, and every few hundred nodes while
 * the network is built, so the delay is a fraction of a second.  Once one
 * signal is taken the three are unblocked with their default action, so a
 * second one ends the process at once.  SIGXFSZ is ignored during a run, so
 * that a file-size limit (RLIMIT_FSIZE) is a write error with a message, like
 * a full disk, rather than a silent death. */
typedef struct sigwatch {
    sigset_t set, old_mask;
    struct sigaction old_xfsz;
    int taken; /* the signal that asked us to stop, 0 = none */
} sigwatch;

static void sig_begin(sigwatch *w)
{
    w->taken = 0;
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    sigaddset(&w->set, SIGHUP);
    sigprocmask(SIG_BLOCK, &w->set, &w->old_mask);
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &w->old_xfsz);
}

static int sig_poll(sigwatch *w)
{
    if (w->taken)
        return w->taken;
    sigset_t pend;
    if (sigpending(&pend) != 0 || (!sigismember(&pend, SIGINT) && !sigismember(&pend, SIGTERM) &&
                                   !sigismember(&pend, SIGHUP)))
        return 0;
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&w->set, NULL, &zero);
    if (sig > 0) {
        w->taken = sig;
        sigprocmask(SIG_UNBLOCK, &w->set, NULL);
    }
    return w->taken;
}

static void sig_end(sigwatch *w)
{
    sigaction(SIGXFSZ, &w->old_xfsz, NULL);
    sigprocmask(SIG_SETMASK, &w->old_mask, NULL);
}

static const char *sig_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "signal";
}

/* ---- progress ---------------------------------------------------------------- */

typedef struct progress_state {
    const run_io *io;
    double start, last_show, last_ck, ck_every;
    bool show, ck_asked;
    sigwatch sig;
} progress_state;

/* Checkpoints every 5 s of wall time, or more rarely when one costs more
 * than a twentieth of that (it reads and hashes the whole file, which grows
 * with the run): the cost of crash safety stays under about 5 %. */
static void pace_checkpoints(progress_state *st, double now)
{
    if (!st->ck_asked)
        return;
    st->ck_asked = false;
    double cost = now - st->last_ck; /* the checkpoint and the events since */
    st->ck_every = cost * 20 > 5.0 ? cost * 20 : 5.0;
}

static sim_hook_reply on_progress(void *c, sim_progress *p)
{
    progress_state *st = c;
    int sig = sig_poll(&st->sig);
    if (sig) {
        snprintf(p->stop_reason, sizeof p->stop_reason, "interrupted by %s", sig_name(sig));
        return SIM_HOOK_STOP;
    }
    double now = st->io->env->wall_s();
    pace_checkpoints(st, now);
    if (st->show && now - st->last_show >= 0.5) {
        double el = now - st->start, frac = p->end_ns ? (double)p->now_ns / p->end_ns : 0;
        double eta = frac > 0 ? el * (1 - frac) / frac : 0;
        fprintf(st->io->err,
                "\r  sim %.0f/%.0f s  blocks %llu  height %llu  events %.2fM  %.2fM ev/s  ETA %.0f s   ",
                p->now_ns / 1e9, p->end_ns / 1e9, (unsigned long long)p->blocks,
                (unsigned long long)p->max_height, p->events / 1e6,
                el > 0 ? p->events / el / 1e6 : 0, eta);
        fflush(st->io->err);
        st->last_show = now;
    }
    if (p->events && now - st->last_ck >= st->ck_every) {
        st->last_ck = now;
        st->ck_asked = true;
        return SIM_HOOK_CHECKPOINT;
    }
    return SIM_HOOK_CONTINUE;
}

/* ---- arguments ---------------------------------------------------------------- */

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
    bool db_node_set, force, quiet;
    const char **sets;
    size_t n_sets;
    char seed_set[40];
} run_args;

/* 0 parsed, -1 help printed, else an exit status. */
static int parse_run(const run_io *io, int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->sets = calloc((size_t)argc + 1, sizeof *a->sets);
    if (!a->sets)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool has_next = i + 1 < argc;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(sim_cmd_run_usage, io->out);
            return -1;
        } else if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
            a->quiet = true;
        } else if (!strcmp(arg, "--force")) {
            a->force = true;
        } else if (!strcmp(arg, "--seed") && has_next) {
            uint64_t seed;
            if (!parse_u64(argv[++i], &seed))
                return bad_usage(io, "--seed takes a non-negative integer");
            snprintf(a->seed_set, sizeof a->seed_set, "seed=%llu", (unsigned long long)seed);
        } else if (!strcmp(arg, "--out") && has_next) {
            a->out = argv[++i];
        } else if (!strcmp(arg, "--db") && has_next) {
            a->db = argv[++i];
        } else if (!strcmp(arg, "--db-node") && has_next) {
            if (!parse_u64(argv[++i], &a->db_node))
                return bad_usage(io, "--db-node takes a node id");
            a->db_node_set = true;
        } else if (!strcmp(arg, "--set") && has_next) {
            a->sets[a->n_sets++] = argv[++i];
        } else if (arg[0] == '-') {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%.80s'", arg);
            return bad_usage(io, msg);
        } else if (!a->file) {
            a->file = arg;
        } else {
            return bad_usage(io, "run takes one scenario file");
        }
    }
    if (!a->file)
        return bad_usage(io, "run needs a scenario file");
    if (a->seed_set[0])
        a->sets[a->n_sets++] = a->seed_set; /* after --set: --seed wins */
    return 0;
}

/* ---- outputs ------------------------------------------------------------------- */

/* Everything one run writes, and where. */
typedef struct run_outputs {
    char *out;                 /* the HDF5 target (malloc'd: paths of any length) */
    const char *db;            /* the SQLite target, or NULL */
    uint32_t db_node;
    bool force;                /* --force: existing outputs may be replaced */
    sim_outset *set;
    sim_outfile *h5, *sql;
} run_outputs;

/* --out, else output.hdf5, else NAME.h5; --db, else output.sqlite. */
static int resolve_outputs(const run_io *io, const run_args *a, const sim_params *p,
                           run_outputs *ro)
{
    const char *out = a->out ? a->out : p->output.hdf5[0] ? p->output.hdf5 : NULL;
    size_t n = out ? strlen(out) + 1 : strlen(p->name) + 4;
    ro->out = malloc(n);
    if (!ro->out)
        return 1;
    snprintf(ro->out, n, out ? "%s" : "%s.h5", out ? out : p->name);
    ro->db = a->db ? a->db : p->output.sqlite[0] ? p->output.sqlite : NULL;
    uint64_t node = a->db_node_set ? a->db_node : p->output.sqlite_node;
    if (ro->db && node >= p->network.nodes) {
        fprintf(io->err, "--db-node: error: node %llu does not exist (the scenario has %llu nodes)\n",
                (unsigned long long)node, (unsigned long long)p->network.nodes);
        return 2;
    }
    ro->db_node = (uint32_t)node;
    return 0;
}

/* SQLite keeps a database's recent state in DB-wal (and DB-shm, or a
 * rollback DB-journal) beside it, and applies whatever it finds there to
 * the file of that name: a stray one left by an earlier database would be
 * replayed into ours.  Found: 1 and *which names it; with `remove`, they go
 * (only when the database they belong to is being replaced on --force, or
 * the database is ours and discarded). */
static int db_siblings(const char *db, bool remove, char *which, size_t n)
{
    static const char sfx[3][9] = {"-wal", "-shm", "-journal"};
    for (int i = 0; i < 3; i++) {
        snprintf(which, n, "%s%s", db, sfx[i]);
        struct stat st;
        if (lstat(which, &st) != 0)
            continue;
        if (!remove)
            return 1;
        unlink(which);
    }
    return 0;
}

/* Inputs, then outputs, through sim/outfile: refusals before anything runs. */
static int declare_files(const run_io *io, const run_args *a, const sim_params *p,
                         run_outputs *ro)
{
    char err[1024];
    unsigned fl = a->force ? SIM_OUTFILE_FORCE : 0;
    ro->force = a->force;
    pu_err rc = sim_outset_new(&ro->set);
    if (rc == PU_OK)
        rc = sim_outset_input(ro->set, "the scenario file", a->file, err, sizeof err);
    if (rc == PU_OK && p->network.topology.model == SIM_TOPO_FILE)
        rc = sim_outset_input(ro->set, "network.topology.file", p->network.topology.file, err,
                              sizeof err);
    if (rc == PU_OK)
        rc = sim_outset_output(ro->set, a->out ? "--out" : p->output.hdf5[0] ? "output.hdf5" : "output",
                               ro->out, fl, &ro->h5, err, sizeof err);
    if (rc == PU_OK && ro->db)
        rc = sim_outset_output(ro->set, a->db ? "--db" : "output.sqlite", ro->db, fl, &ro->sql,
                               err, sizeof err);
    if (rc == PU_OK && ro->db && !a->force && db_siblings(ro->db, false, err, sizeof err)) {
        fprintf(io->err, "pouwsim: error: --db %s: %s exists (a journal of an earlier database; "
                "remove it, or use --force)\n", ro->db, err);
        return 2;
    }
    if (rc == PU_OK)
        return 0;
    fprintf(io->err, "pouwsim: error: %s\n", rc == PU_ERR_NOMEM ? "out of memory" : err);
    return rc == PU_ERR_NOMEM ? 1 : 2;
}

/* A database is replaced only by one of the same chain: a pouwsim store
 * whose genesis is this run's (the same scenario's wallets and task). */
static int check_db_replace(const run_io *io, const run_outputs *ro, const sim_ctx *ctx)
{
    if (!ro->sql || !sim_outfile_replaces(ro->sql))
        return 0;
    pu_hash32 g;
    char err[600];
    if (pu_store_probe(ro->db, &g, err, sizeof err) != PU_OK) {
        fprintf(io->err, "pouwsim: error: --db %s: not replaced: %s\n", ro->db, err);
        return 2;
    }
    if (!pu_hash_is_zero(&g) && !pu_hash_eq(&g, sim_genesis_hash(ctx))) {
        fprintf(io->err, "pouwsim: error: --db %s: not replaced: a pouwsim database of another "
                "scenario (its genesis differs from this run's)\n", ro->db);
        return 2;
    }
    return 0;
}

/* After a run that did not complete: the partial outputs stay where they are. */
static void keep_partial(run_outputs *ro, char *where, size_t n)
{
    int k = snprintf(where, n, "partial output in %s", sim_outfile_path(ro->h5));
    sim_outfile_keep(ro->h5);
    if (ro->sql && k > 0 && (size_t)k < n) {
        snprintf(where + k, n - (size_t)k, " and %s", sim_outfile_path(ro->sql));
        sim_outfile_keep(ro->sql);
    }
}

/* The database's journals beside the target: replaced with the database
 * on --force; without it they were absent when the run started, and one
 * that appeared since belongs to someone else's database of that name. */
static int clear_db_siblings(const run_io *io, run_outputs *ro)
{
    char which[1024];
    if (!ro->sql || !db_siblings(ro->db, false, which, sizeof which))
        return 0;
    if (ro->force) {
        db_siblings(ro->db, true, which, sizeof which);
        return 0;
    }
    fprintf(io->err, "pouwsim: error: --db %s: %s appeared while this command ran (not "
            "replaced); the outputs are in %s and %s\n", ro->db, which,
            sim_outfile_path(ro->h5), sim_outfile_path(ro->sql));
    sim_outfile_keep(ro->h5);
    sim_outfile_keep(ro->sql);
    return 1;
}

static int commit_outputs(const run_io *io, run_outputs *ro)
{
    char err[1024];
    if (clear_db_siblings(io, ro))
        return 1;
    if (sim_outset_commit_all(ro->set, err, sizeof err) == PU_OK)
        return 0;
    fprintf(io->err, "pouwsim: error: %s\n", err);
    return 1;
}

/* ---- the run -------------------------------------------------------------------- */

static void print_summary(const run_io *io, const sim_params *p, const sim_summary *sum,
                          const run_outputs *ro, double wall)
{
    fprintf(io->out, "== %s (seed %llu)\n", p->name, (unsigned long long)p->seed);
    sim_summary_print(sum, io->out);
    fprintf(io->out, "wall time             %.2f s (%.0f events/s)\n", wall,
            wall > 0 ? (double)sum->events / wall : 0);
    fprintf(io->out, "peak memory           %.1f MB\n", peak_rss_mb());
    fprintf(io->out, "output                %s\n", ro->out);
    if (ro->db)
        fprintf(io->out, "database              %s (node %u)\n", ro->db, (unsigned)ro->db_node);
    fflush(io->out);
}

/* sim_new failed: nothing has run and nothing is kept. */
static int setup_failed(const run_io *io, run_outputs *ro, const sigwatch *sig, pu_err rc,
                        const char *err)
{
    char scratch[64];
    if (ro->sql) /* companions of a database we created and will discard */
        db_siblings(sim_outfile_path(ro->sql), true, scratch, sizeof scratch);
    if (sig->taken) {
        fprintf(io->err, "pouwsim: %s; nothing written\n", err);
        return 128 + sig->taken;
    }
    /* A file named by the scenario or the command line is missing or wrong
     * (status 2), or memory or an output's disk failed us (status 1: not
     * the input's fault).  Output failures name the file we created. */
    fprintf(io->err, "pouwsim: error: %s\n", err);
    bool out_fail = strstr(err, sim_outfile_path(ro->h5)) ||
                    (ro->sql && strstr(err, sim_outfile_path(ro->sql)));
    return rc == PU_ERR_NOMEM || out_fail ? 1 : 2;
}

/* Runs a built simulation to its end, frees it, and settles the outputs. */
static int run_built(const sim_params *p, run_outputs *ro, progress_state *ps, sim_ctx *ctx)
{
    const run_io *io = ps->io;
    sim_summary sum;
    char err[300], where[2400];
    pu_err rc = sim_run(ctx, &sum, err, sizeof err);
    double wall = io->env->wall_s() - ps->start;
    uint64_t stopped_ns = sim_now_ns(ctx);
    bool input = sim_failed_on_input(ctx);
    if (ps->show)
        fprintf(io->err, "\r%100s\r", "");
    sim_free(ctx); /* closes the files: SQLite folds its WAL into the database */
    if (rc == PU_OK) {
        print_summary(io, p, &sum, ro, wall);
        return commit_outputs(io, ro);
    }
    keep_partial(ro, where, sizeof where);
    if (ps->sig.taken) {
        fprintf(io->err, "pouwsim: %s at simulated time %.3f s; %s (/run.finished = 0)\n", err,
                stopped_ns / 1e9, where);
        return 128 + ps->sig.taken;
    }
    fprintf(io->err, "pouwsim: run failed: %s\npouwsim: %s (/run.finished = 0)\n", err, where);
    return input ? 2 : 1; /* a value of the scenario, named in err */
}

/* Builds and runs the simulation once the outputs are declared. */
static int run_sim(const run_io *io, const run_args *a, const sim_params *p, const char *text,
                   run_outputs *ro)
{
    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.io = io;
    ps.start = ps.last_ck = io->env->wall_s();
    ps.ck_every = 5.0; /* a killed run keeps at most ~5 s of work unsaved */
    ps.show = !a->quiet && p->output.progress && io->env->err_tty;
    sim_run_opts o = {sim_outfile_path(ro->h5), ro->sql ? sim_outfile_path(ro->sql) : NULL,
                      ro->db_node, {on_progress, &ps}};
    sim_ctx *ctx = NULL;
    char err[300];
    int status;
    sig_begin(&ps.sig);
    pu_err rc = sim_new(p, text, &o, &ctx, err, sizeof err);
    if (rc != PU_OK)
        status = setup_failed(io, ro, &ps.sig, rc, err);
    else if ((status = check_db_replace(io, ro, ctx)) != 0)
        sim_free(ctx);
    else
        status = run_built(p, ro, &ps, ctx);
    sig_end(&ps.sig);
    return status;
}

/* Memory, event rate and money supply of the scenario (sim/limits.h),
 * before anything is created.  The machine's memory is a fact of this
 * process, so it is read here, not in the run. */
static int check_limits(const run_io *io, const run_args *a, const sim_params *p)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    uint64_t mem = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
    char warn[400], buf[600];
    sim_diag d;
    sim_diag_clear(&d);
    sim_diag_at(&d, a->file, 0, 0);
    pu_err rc = sim_limits_check(p, mem, a->force ? SIM_LIMITS_MEM_WARN : 0, warn, sizeof warn, &d);
    if (rc != PU_OK) {
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(io->err, "%s\n", buf);
        return 2;
    }
    if (warn[0])
        fprintf(io->err, "pouwsim: %s\n", warn);
    return 0;
}

int sim_cmd_run(int argc, char **argv, const sim_cmd_env *env, FILE *out, FILE *err)
{
    run_io io = {out, err, env};
    run_args a;
    int st = parse_run(&io, argc, argv, &a);
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
        fprintf(err, "%s\n", buf);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    st = check_limits(&io, &a, &p);
    run_outputs ro;
    memset(&ro, 0, sizeof ro);
    if (st == 0)
        st = resolve_outputs(&io, &a, &p, &ro);
    if (st == 0)
        st = declare_files(&io, &a, &p, &ro);
    if (st == 0)
        st = run_sim(&io, &a, &p, text, &ro);
    sim_outset_free(ro.set); /* removes the temporary files of outputs not kept */
    free(ro.out);
    sim_params_release(&p);
    free(text);
    return st;
}

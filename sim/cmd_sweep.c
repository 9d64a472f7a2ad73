/* sim/cmd_sweep.c -- `pouwsim sweep`; see cmd_sweep.h. */
#define _DEFAULT_SOURCE /* realpath, nanosleep */
#include "sim/cmd_sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/scenario.h"
#include "sim/sweep.h"

extern char **environ; /* children inherit the environment */

#define PATHLEN 4096

static const char usage[] =
    "usage: pouwsim sweep FILE.yaml --out DIR [--jobs N] [--shard K/N] [--list] [--quiet]\n"
    "       pouwsim sweep FILE.yaml --out DIR --print-sbatch [--array N] [--cpus N]\n"
    "                                [--sbatch OPTION]...\n"
    "\n"
    "Runs every point of the scenario's `sweep` section (scenarios/README.md, Sweeps)\n"
    "as a separate `pouwsim run`, N at a time, into DIR/runs/.  Rerunning the same\n"
    "command resumes: finished runs are not run again, failed ones are retried.\n"
    "\n"
    "  --out DIR        the sweep directory (plan, scenario copy, runs)\n"
    "  --jobs N         runs at once (default: SLURM_CPUS_PER_TASK in Slurm, else the CPUs)\n"
    "  --shard K/N      run only share K of N (run i is in share i mod N + 1); inside a\n"
    "                   Slurm job array the share comes from SLURM_ARRAY_TASK_ID/COUNT\n"
    "  --list           list the runs of the share (seed, status, assignments); run nothing\n"
    "  --quiet          no progress line\n"
    "  --print-sbatch   prepare DIR and print an sbatch script running the sweep as a\n"
    "                   job array of --array tasks (default: runs, at most 100) with\n"
    "                   --cpus CPUs each (default 1); --sbatch OPTION adds #SBATCH lines\n"
    "\n"
    "Then: pouwsim merge DIR (one table of every run, confidence intervals per point).\n";

typedef struct args {
    const char *file, *dir;
    long jobs;
    uint32_t shard_k, shard_n; /* k 0-based; n = 0: no --shard */
    bool list, quiet, sbatch;
    long array, cpus;
    const char **sbatch_opts;
    size_t n_sbatch;
} args;

static int bad_usage(FILE *err, const char *msg)
{
    fprintf(err, "pouwsim sweep: %s\n%s", msg, usage);
    return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_shard(const char *s, uint32_t *k, uint32_t *n)
{
    unsigned long a, b;
    char *end;
    if (!s[0] || s[0] == '-')
        return false;
    a = strtoul(s, &end, 10);
    if (*end != '/' || end[1] == '-')
        return false;
    b = strtoul(end + 1, &end, 10);
    if (*end || a < 1 || b < 1 || a > b || b > SIM_SWEEP_MAX_RUNS)
        return false;
    *k = (uint32_t)(a - 1);
    *n = (uint32_t)b;
    return true;
}

/* Returns 0 ok, -1 help printed, else an exit status. */
static int parse_args(int argc, char **argv, args *a, FILE *out, FILE *err)
{
    memset(a, 0, sizeof *a);
    a->array = a->cpus = -1;
    if (!(a->sbatch_opts = calloc((size_t)argc + 1, sizeof *a->sbatch_opts)))
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool next = i + 1 < argc;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage, out);
            return -1;
        } else if (!strcmp(s, "--out") && next) {
            a->dir = argv[++i];
        } else if (!strcmp(s, "--jobs") && next) {
            if (!parse_long(argv[++i], 1, 4096, &a->jobs))
                return bad_usage(err, "--jobs takes a number from 1 to 4096");
        } else if (!strcmp(s, "--shard") && next) {
            if (!parse_shard(argv[++i], &a->shard_k, &a->shard_n))
                return bad_usage(err, "--shard takes K/N with 1 <= K <= N, like 2/8");
        } else if (!strcmp(s, "--array") && next) {
            if (!parse_long(argv[++i], 1, SIM_SWEEP_MAX_RUNS, &a->array))
                return bad_usage(err, "--array takes a number of tasks (1 or more)");
        } else if (!strcmp(s, "--cpus") && next) {
            if (!parse_long(argv[++i], 1, 4096, &a->cpus))
                return bad_usage(err, "--cpus takes a number from 1 to 4096");
        } else if (!strcmp(s, "--sbatch") && next) {
            a->sbatch_opts[a->n_sbatch++] = argv[++i];
        } else if (!strcmp(s, "--list")) {
            a->list = true;
        } else if (!strcmp(s, "--quiet") || !strcmp(s, "-q")) {
            a->quiet = true;
        } else if (!strcmp(s, "--print-sbatch")) {
            a->sbatch = true;
        } else if (s[0] == '-') {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%.100s'", s);
            return bad_usage(err, msg);
        } else if (!a->file) {
            a->file = s;
        } else {
            return bad_usage(err, "sweep takes one scenario file");
        }
    }
    if (!a->file)
        return bad_usage(err, "sweep needs a scenario file");
    if (!a->dir && !a->list)
        return bad_usage(err, "sweep needs --out DIR");
    if (!a->sbatch && (a->array > 0 || a->cpus > 0 || a->n_sbatch))
        return bad_usage(err, "--array, --cpus and --sbatch go with --print-sbatch");
    if (a->sbatch && (a->list || a->shard_n))
        return bad_usage(err, "--print-sbatch makes a script for all shares: no --list or --shard");
    return 0;
}

/* ---- files ---- */

static bool path_join(char *out, const char *a, const char *b, const char *c)
{
    int n = snprintf(out, PATHLEN, "%s/%s%s", a, b, c ? c : "");
    return n > 0 && n < PATHLEN;
}

static int mkdir_p(const char *dir)
{
    char buf[PATHLEN];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return errno;
    struct stat st;
    if (stat(buf, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* The whole file, or NULL (a missing file, or one that cannot be read). */
static char *slurp(const char *path, size_t *len)
{
    char *text;
    if (access(path, F_OK) != 0 || sim_scenario_read_file(path, &text, len, NULL) != PU_OK)
        return NULL;
    return text;
}

/* First line (1-based) where a and b differ. */
static size_t first_diff_line(const char *a, size_t na, const char *b, size_t nb)
{
    size_t line = 1;
    for (size_t i = 0; i < na && i < nb && a[i] == b[i]; i++)
        if (a[i] == '\n')
            line++;
    return line;
}

/* Create `path` holding exactly bytes[0..len) unless it exists; if it
 * exists it must hold exactly those bytes.  Atomic: the content is written
 * to a private name and linked into place, so a reader (or a second shard
 * starting at the same moment) sees all of it or nothing.
 * Returns 0, -1 (exists with other content; *line = first differing line),
 * or an errno. */
static int put_same_file(const char *path, const char *bytes, size_t len, size_t *line)
{
    size_t have_len;
    bool exists = access(path, F_OK) == 0;
    char *have = exists ? slurp(path, &have_len) : NULL;
    if (exists && !have)
        return EIO;
    if (!have) {
        char tmp[PATHLEN + 32];
        snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0)
            return errno;
        size_t off = 0;
        int e = 0;
        while (off < len && !e) {
            ssize_t w = write(fd, bytes + off, len - off);
            if (w < 0)
                e = errno == EINTR ? 0 : errno;
            else
                off += (size_t)w;
        }
        if (close(fd) != 0 && !e)
            e = errno;
        if (!e && link(tmp, path) != 0 && errno != EEXIST)
            e = errno;
        unlink(tmp);
        if (e)
            return e;
        if (!(have = slurp(path, &have_len)))
            return EIO;
    }
    int rc = 0;
    if (have_len != len || memcmp(have, bytes, len) != 0) {
        *line = first_diff_line(have, have_len, bytes, len);
        rc = -1;
    }
    free(have);
    return rc;
}

/* An existing directory may be used when everything in it is a sweep's. */
static bool only_sweep_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    struct dirent *de;
    bool ok = true;
    while (ok && (de = readdir(d))) {
        const char *n = de->d_name;
        ok = !strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "plan.txt") ||
             !strcmp(n, "runs") || !strcmp(n, "scenario") || !strcmp(n, "slurm") ||
             !strncmp(n, "plan.txt.", 9);
    }
    closedir(d);
    return ok;
}

typedef struct sweep_dir {
    char plan[PATHLEN], runs[PATHLEN], scen_dir[PATHLEN], scenario[PATHLEN];
} sweep_dir;

/* Make DIR this sweep's directory, or check that it is.  0 or exit status. */
static int prepare_dir(const sim_sweep *sw, const char *dir, sweep_dir *sd, FILE *err)
{
    if (!path_join(sd->plan, dir, "plan.txt", NULL) || !path_join(sd->runs, dir, "runs", NULL) ||
        !path_join(sd->scen_dir, dir, "scenario", NULL) ||
        !path_join(sd->scenario, sd->scen_dir, sim_sweep_file_name(sw), NULL)) {
        fprintf(err, "%s: error: path too long\n", dir);
        return 2;
    }
    if (access(sd->plan, F_OK) != 0 && !only_sweep_entries(dir)) {
        fprintf(err, "%s: error: exists and is not a sweep directory (no plan.txt); "
                     "choose another --out\n", dir);
        return 2;
    }
    int e = mkdir_p(dir);
    if (!e && mkdir(sd->runs, 0777) != 0 && errno != EEXIST)
        e = errno;
    if (!e && mkdir(sd->scen_dir, 0777) != 0 && errno != EEXIST)
        e = errno;
    if (e) {
        fprintf(err, "%s: error: cannot create: %s\n", dir, strerror(e));
        return 1;
    }
    char *plan;
    if (sim_sweep_plan_text(sw, &plan) != PU_OK) {
        fprintf(err, "pouwsim sweep: out of memory\n");
        return 1;
    }
    size_t tlen, line = 0;
    const char *text = sim_sweep_scenario_text(sw, &tlen);
    int rc = 0;
    e = put_same_file(sd->scenario, text, tlen, &line);
    if (e == 0)
        e = put_same_file(sd->plan, plan, strlen(plan), &line);
    if (e == -1) {
        fprintf(err, "%s: error: holds another sweep (its %s differs from this scenario's at "
                     "line %zu); choose another --out\n", dir,
                access(sd->plan, F_OK) == 0 ? "plan.txt" : "scenario copy", line);
        rc = 2;
    } else if (e) {
        fprintf(err, "%s: error: cannot write: %s\n", dir, strerror(e));
        rc = 1;
    }
    free(plan);
    return rc;
}

static bool run_done(const sweep_dir *sd, const sim_sweep_run *r)
{
    char p[PATHLEN];
    return path_join(p, sd->runs, r->name, ".h5") && access(p, F_OK) == 0;
}

/* ---- shares ---- */

static const char *env_get(const sim_cmd_env *env, const char *name)
{
    return env->getenv ? env->getenv(env->env_ctx, name) : NULL;
}

static bool env_num(const sim_cmd_env *env, const char *name, long *out)
{
    const char *v = env_get(env, name);
    return v && parse_long(v, 0, INT32_MAX, out);
}

/* The share from --shard or Slurm's job array; n = 1 when neither. */
static int pick_shard(const args *a, const sim_cmd_env *env, uint32_t *k, uint32_t *n,
                      bool *from_slurm, FILE *err)
{
    *from_slurm = false;
    if (a->shard_n) {
        *k = a->shard_k;
        *n = a->shard_n;
        return 0;
    }
    *k = 0;
    *n = 1;
    if (!env_get(env, "SLURM_ARRAY_TASK_ID"))
        return 0;
    long id, lo = 0, hi, cnt;
    if (!env_num(env, "SLURM_ARRAY_TASK_ID", &id) ||
        (env_get(env, "SLURM_ARRAY_TASK_MIN") && !env_num(env, "SLURM_ARRAY_TASK_MIN", &lo))) {
        fprintf(err, "pouwsim sweep: error: SLURM_ARRAY_TASK_ID/MIN are not task numbers\n");
        return 2;
    }
    if (!env_num(env, "SLURM_ARRAY_TASK_COUNT", &cnt)) {
        if (!env_num(env, "SLURM_ARRAY_TASK_MAX", &hi) || hi < lo) {
            fprintf(err, "pouwsim sweep: error: in a Slurm job array without "
                         "SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX; use --shard K/N\n");
            return 2;
        }
        cnt = hi - lo + 1;
    }
    /* Tasks are numbered lo, lo+1, ... (sbatch --array=lo-hi, no step). */
    if (cnt < 1 || id < lo || id - lo >= cnt || cnt > (long)SIM_SWEEP_MAX_RUNS) {
        fprintf(err, "pouwsim sweep: error: SLURM_ARRAY_TASK_ID %ld is not one of %ld tasks "
                     "from %ld (the array must be a range lo-hi without a step); use "
                     "--shard K/N\n", id, cnt, lo);
        return 2;
    }
    *k = (uint32_t)(id - lo);
    *n = (uint32_t)cnt;
    *from_slurm = true;
    return 0;
}

/* ---- --list ---- */

static int list_runs(const sim_sweep *sw, const sweep_dir *sd, uint32_t k, uint32_t n,
                     FILE *out)
{
    for (size_t i = 0; i < sim_sweep_nruns(sw); i++) {
        if (!sim_sweep_in_shard(i, k, n))
            continue;
        const sim_sweep_run *r = sim_sweep_run_at(sw, i);
        fprintf(out, "%s seed %llu %s", r->name, (unsigned long long)r->seed,
                sd && run_done(sd, r) ? "done" : "todo");
        for (size_t j = 0; j < r->n_sets; j++)
            fprintf(out, " %s", r->sets[j]);
        fputc('\n', out);
    }
    return ferror(out) ? 1 : 0;
}

/* ---- --print-sbatch ---- */

static void sh_quote(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

static int print_sbatch(const args *a, const sim_sweep *sw, const sweep_dir *sd,
                        const sim_cmd_env *env, FILE *out, FILE *err)
{
    char dir[PATHLEN], exe[PATHLEN], scen[PATHLEN], cwd[PATHLEN], logs[PATHLEN];
    if (!realpath(a->dir, dir) || !realpath(env->exe, exe) || !realpath(sd->scenario, scen) ||
        !getcwd(cwd, sizeof cwd)) {
        fprintf(err, "pouwsim sweep: error: cannot resolve a path: %s\n", strerror(errno));
        return 1;
    }
    /* Slurm opens the tasks' output files itself: the directory must exist. */
    if (!path_join(logs, dir, "slurm", NULL) || (mkdir(logs, 0777) != 0 && errno != EEXIST)) {
        fprintf(err, "%s: error: cannot create: %s\n", logs, strerror(errno));
        return 1;
    }
    size_t runs = sim_sweep_nruns(sw);
    long tasks = a->array > 0 ? a->array : (long)(runs < 100 ? runs : 100);
    long cpus = a->cpus > 0 ? a->cpus : 1;
    char job[64];
    snprintf(job, sizeof job, "pouwsim-%s", sim_sweep_name(sw));
    for (char *c = job; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            *c = '_';
    fprintf(out, "#!/bin/sh\n"
                 "# pouwsim sweep %s: %zu runs (%zu points x %u repetitions) in %ld array tasks.\n"
                 "# Submit with: sbatch THIS_FILE.  Task i runs the runs r with r mod %ld = i;\n"
                 "# resubmitting (or rerunning one task) resumes: finished runs are kept.\n",
            sim_sweep_name(sw), runs, sim_sweep_npoints(sw), sim_sweep_repetitions(sw), tasks,
            tasks);
    fprintf(out, "#SBATCH --job-name=%s\n#SBATCH --array=0-%ld\n#SBATCH --cpus-per-task=%ld\n",
            job, tasks - 1, cpus);
    fprintf(out, "#SBATCH --chdir=%s\n#SBATCH --output=%s/slurm/%%A_%%a.out\n", cwd, dir);
    for (size_t i = 0; i < a->n_sbatch; i++)
        fprintf(out, "#SBATCH %s\n", a->sbatch_opts[i]);
    fputs("exec ", out);
    sh_quote(out, exe);
    fputs(" sweep ", out);
    sh_quote(out, scen);
    fputs(" --out ", out);
    sh_quote(out, dir);
    fputs(" --jobs \"${SLURM_CPUS_PER_TASK:-1}\"\n", out);
    fprintf(out, "# When every task has finished: %s merge %s\n", exe, dir);
    return ferror(out) ? 1 : 0;
}

/* ---- running ---- */

typedef struct slot {
    pid_t pid;  /* 0: free */
    size_t run;
} slot;

typedef struct pool {
    const sim_sweep *sw;
    const sweep_dir *sd;
    const sim_cmd_env *env;
    FILE *err;
    bool show, tty;
    slot *slots;
    long nslots, running;
    size_t todo, done_now, failed, done_before, share_total;
    double start, last_show;
} pool;

static void fmt_eta(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);
    if (s < 0)
        snprintf(buf, n, "?");
    else if (t < 100)
        snprintf(buf, n, "%lds", t);
    else if (t < 36000)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%.1fh", s / 3600);
}

static void show_progress(pool *P, bool force)
{
    if (!P->show)
        return;
    double now = P->env->wall_s();
    if (!force && now - P->last_show < 1.0)
        return;
    P->last_show = now;
    size_t left = P->todo - P->done_now - P->failed;
    double el = now - P->start;
    double eta = P->done_now ? el / (double)P->done_now * (double)left : -1;
    char e[32];
    fmt_eta(left ? eta : 0, e, sizeof e);
    fprintf(P->err, "%ssweep %s: %zu/%zu runs done, %zu failed, %ld running, ETA %s%s",
            P->tty ? "\r" : "", sim_sweep_name(P->sw), P->done_before + P->done_now,
            P->share_total, P->failed, P->running, e, P->tty ? "\033[K" : "\n");
    fflush(P->err);
}

/* Clear the progress line before another message on a terminal. */
static void clear_line(pool *P)
{
    if (P->show && P->tty)
        fputs("\r\033[K", P->err);
}

static void remove_partial(const sweep_dir *sd, const char *name)
{
    static const char *const tails[] = {"", ".ck0", ".ck1", ".tmp"};
    char base[PATHLEN], p[PATHLEN + 8];
    char stem[64];
    snprintf(stem, sizeof stem, ".%s", name);
    if (!path_join(base, sd->runs, stem, ".partial.h5"))
        return;
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(p, sizeof p, "%s%s", base, tails[i]);
        unlink(p);
    }
}

static pid_t spawn_run(pool *P, const sim_sweep_run *r)
{
    char log[PATHLEN], part[PATHLEN], stem[64], seed[24];
    snprintf(stem, sizeof stem, ".%s", r->name);
    if (!path_join(log, P->sd->runs, r->name, ".log") ||
        !path_join(part, P->sd->runs, stem, ".partial.h5"))
        return -1;
    remove_partial(P->sd, r->name);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    size_t n = 9 + 2 * r->n_sets; /* 6 fixed, the sets, --out PATH, NULL */
    const char **argv = calloc(n, sizeof *argv);
    if (!argv)
        return -1;
    size_t i = 0;
    argv[i++] = P->env->exe;
    argv[i++] = "run";
    argv[i++] = P->sd->scenario;
    argv[i++] = "--quiet";
    argv[i++] = "--seed";
    argv[i++] = seed;
    for (size_t j = 0; j < r->n_sets; j++) {
        argv[i++] = "--set";
        argv[i++] = r->sets[j];
    }
    argv[i++] = "--out";
    argv[i++] = part;
    argv[i] = NULL;
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) == 0 &&
            posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644) == 0 &&
            posix_spawn_file_actions_adddup2(&fa, 1, 2) == 0 &&
            posix_spawn(&pid, P->env->exe, &fa, NULL, (char *const *)argv, environ) != 0)
            pid = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    free(argv);
    return pid;
}

/* The last non-empty line of a run's log, for the failure message. */
static void last_log_line(const sweep_dir *sd, const char *name, char *buf, size_t n)
{
    char log[PATHLEN];
    size_t len;
    char *text = path_join(log, sd->runs, name, ".log") ? slurp(log, &len) : NULL;
    buf[0] = 0;
    if (!text)
        return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = 0;
    const char *start = strrchr(text, '\n');
    start = start ? start + 1 : text;
    const char *cr = strrchr(start, '\r'); /* a progress display's last state */
    snprintf(buf, n, "%s", cr ? cr + 1 : start);
    free(text);
}

static void report_failure(pool *P, const sim_sweep_run *r, int status, const char *why)
{
    char what[64], line[200];
    if (why)
        snprintf(what, sizeof what, "%s", why);
    else if (WIFEXITED(status))
        snprintf(what, sizeof what, "exit status %d", WEXITSTATUS(status));
    else
        snprintf(what, sizeof what, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    last_log_line(P->sd, r->name, line, sizeof line);
    clear_line(P);
    fprintf(P->err, "sweep: run %s (seed %llu", r->name, (unsigned long long)r->seed);
    for (size_t j = 0; j < r->n_sets; j++)
        fprintf(P->err, ", %s", r->sets[j]);
    fprintf(P->err, ") failed: %s; log %s/%s.log%s%s\n", what, P->sd->runs, r->name,
            line[0] ? ": " : "", line);
}

static void finished(pool *P, slot *s, int status)
{
    const sim_sweep_run *r = sim_sweep_run_at(P->sw, s->run);
    char part[PATHLEN], fin[PATHLEN], stem[64];
    snprintf(stem, sizeof stem, ".%s", r->name);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok && path_join(part, P->sd->runs, stem, ".partial.h5") &&
        path_join(fin, P->sd->runs, r->name, ".h5") && rename(part, fin) == 0) {
        P->done_now++;
    } else {
        P->failed++;
        report_failure(P, r, status, ok ? "its output could not be renamed into place" : NULL);
    }
    s->pid = 0;
    P->running--;
    show_progress(P, !P->tty);
}

/* Wait for a child of ours; false when none is running. */
static bool reap(pool *P)
{
    if (!P->running)
        return false;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (long i = 0; i < P->nslots; i++)
                if (P->slots[i].pid == pid) {
                    finished(P, &P->slots[i], status);
                    return true;
                }
            continue; /* not one of ours */
        }
        if (pid < 0 && errno != EINTR) {
            /* No children left that we know of: count them as failed. */
            for (long i = 0; i < P->nslots; i++)
                if (P->slots[i].pid > 0)
                    finished(P, &P->slots[i], 1 << 8);
            return true;
        }
        show_progress(P, false);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void run_pool(pool *P, uint32_t k, uint32_t n)
{
    size_t next = 0, total = sim_sweep_nruns(P->sw);
    for (;;) {
        long free_slot = -1;
        for (long i = 0; i < P->nslots && free_slot < 0; i++)
            if (!P->slots[i].pid)
                free_slot = i;
        while (free_slot >= 0 && next < total &&
               (!sim_sweep_in_shard(next, k, n) || run_done(P->sd, sim_sweep_run_at(P->sw, next))))
            next++;
        if (free_slot >= 0 && next < total) {
            const sim_sweep_run *r = sim_sweep_run_at(P->sw, next);
            pid_t pid = spawn_run(P, r);
            if (pid < 0) {
                P->failed++;
                report_failure(P, r, 0, "could not be started");
            } else {
                P->slots[free_slot] = (slot){pid, next};
                P->running++;
            }
            next++;
            show_progress(P, false);
            continue;
        }
        if (!reap(P))
            return;
    }
}

static long default_jobs(const sim_cmd_env *env)
{
    long j;
    if (env_get(env, "SLURM_JOB_ID") && env_num(env, "SLURM_CPUS_PER_TASK", &j) && j > 0)
        return j;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? c : 1;
}

static int sweep_run(const args *a, const sim_sweep *sw, const sweep_dir *sd,
                     const sim_cmd_env *env, uint32_t k, uint32_t n, bool slurm, FILE *err)
{
    pool P = {.sw = sw, .sd = sd, .env = env, .err = err, .show = !a->quiet, .tty = env->err_tty};
    for (size_t i = 0; i < sim_sweep_nruns(sw); i++) {
        if (!sim_sweep_in_shard(i, k, n))
            continue;
        P.share_total++;
        if (run_done(sd, sim_sweep_run_at(sw, i)))
            P.done_before++;
    }
    P.todo = P.share_total - P.done_before;
    P.nslots = a->jobs ? a->jobs : default_jobs(env);
    if ((size_t)P.nslots > P.todo)
        P.nslots = P.todo ? (long)P.todo : 1;
    if (!(P.slots = calloc((size_t)P.nslots, sizeof *P.slots))) {
        fprintf(err, "pouwsim sweep: out of memory\n");
        return 1;
    }
    if (!a->quiet) {
        fprintf(err, "sweep %s: %zu runs (%zu points x %u repetitions)", sim_sweep_name(sw),
                sim_sweep_nruns(sw), sim_sweep_npoints(sw), sim_sweep_repetitions(sw));
        if (n > 1 || slurm)
            fprintf(err, "; share %u/%u%s: %zu runs", k + 1, n,
                    slurm ? " (Slurm array task)" : "", P.share_total);
        fprintf(err, "; %zu done before, %zu to run, %ld at a time\n", P.done_before, P.todo,
                P.nslots);
    }
    P.start = P.last_show = env->wall_s();
    run_pool(&P, k, n);
    free(P.slots);
    clear_line(&P);
    if (!a->quiet || P.failed)
        fprintf(err, "sweep %s: %zu/%zu runs done (%zu now), %zu failed, %.1f s; %s%s\n",
                sim_sweep_name(sw), P.done_before + P.done_now, P.share_total, P.done_now,
                P.failed, env->wall_s() - P.start,
                P.failed ? "run the same command again to retry the failed runs"
                         : "merge with: pouwsim merge ", P.failed ? "" : a->dir);
    return P.failed ? 1 : 0;
}

int sim_cmd_sweep(int argc, char **argv, const sim_cmd_env *env, FILE *out, FILE *err)
{
    args a;
    int st = parse_args(argc, argv, &a, out, err);
    if (st) {
        free(a.sbatch_opts);
        return st < 0 ? 0 : st;
    }
    sim_sweep *sw = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    pu_err rc = sim_sweep_load(a.file, &sw, &d);
    if (rc != PU_OK) {
        char buf[600];
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(err, "%s\n", buf);
        free(a.sbatch_opts);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    uint32_t k, n;
    bool slurm;
    sweep_dir sd;
    st = pick_shard(&a, env, &k, &n, &slurm, err);
    if (!st && a.list && !a.dir)
        st = list_runs(sw, NULL, k, n, out);
    else if (!st && a.list)
        st = (path_join(sd.runs, a.dir, "runs", NULL) ? list_runs(sw, &sd, k, n, out) : 2);
    else if (!st && !(st = prepare_dir(sw, a.dir, &sd, err))) {
        if (a.sbatch)
            st = print_sbatch(&a, sw, &sd, env, out, err);
        else
            st = sweep_run(&a, sw, &sd, env, k, n, slurm, err);
    }
    sim_sweep_free(sw);
    free(a.sbatch_opts);
    return st;
}

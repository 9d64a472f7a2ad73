/* tests/sim/test_sweep.c -- sweeps (sim/sweep, sim/cmd_sweep) and their
 * merge (sim/cmd_merge, sim/runrow): the plan, seeds, shares, resume, failed
 * runs, and that a sweep run in shares merges to the same bytes as the same
 * sweep run serially.
 *
 * The runs are child processes of the pouwsim binary next to this test
 * binary (build/pouwsim beside build/pu-tests). */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/cli.h"
#include "sim/cmd_sweep.h"
#include "sim/cmd_merge.h"
#include "sim/runrow.h"
#include "sim/sweep.h"
#include "tests/harness.h"

#define GRID "tests/data/sweep/grid.yaml"

/* ---- helpers ---- */

static double fake_clock(void) { return 0; }

/* A fake environment: "NAME=VALUE" strings. */
typedef struct fake_env {
    const char *const *vars;
    size_t n;
} fake_env;

static const char *fake_getenv(void *ctx, const char *name)
{
    const fake_env *e = ctx;
    size_t len = strlen(name);
    for (size_t i = 0; e && i < e->n; i++)
        if (strncmp(e->vars[i], name, len) == 0 && e->vars[i][len] == '=')
            return e->vars[i] + len + 1;
    return NULL;
}

static char exe_path[4096];

/* The pouwsim binary beside the running test binary. */
static const char *pouwsim_exe(void)
{
    if (!exe_path[0]) {
        ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 16);
        if (n > 0) {
            exe_path[n] = 0;
            char *slash = strrchr(exe_path, '/');
            strcpy(slash ? slash + 1 : exe_path, "pouwsim");
        }
    }
    return exe_path;
}

/* Run `pouwsim sweep ARGS` in-process with env; output of both streams in
 * `cap` (a path; NULL: discarded). */
static int sweep(const char *cap, const fake_env *fe, int argc, const char **argv)
{
    sim_cmd_env env = {pouwsim_exe(), fake_clock, fake_getenv, (void *)fe, false};
    FILE *f = fopen(cap ? cap : "/dev/null", "w");
    int st = sim_cmd_sweep(argc, (char **)argv, &env, f, f);
    fclose(f);
    return st;
}

static int merge(const char *cap, int argc, const char **argv)
{
    FILE *f = fopen(cap ? cap : "/dev/null", "w");
    int st = sim_cmd_merge(argc, (char **)argv, f, f);
    fclose(f);
    return st;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = th_read_file(a, &la), *y = th_read_file(b, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static bool contains(const char *path, const char *needle)
{
    char *t = th_read_file(path, NULL);
    bool yes = t && strstr(t, needle);
    free(t);
    return yes;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* ---- the plan ---- */

static void test_plan_points_and_seeds(void)
{
    sim_sweep *s;
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(GRID, &s, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_sweep_npoints(s), 4);
    CU_ASSERT_EQUAL(sim_sweep_repetitions(s), 3);
    CU_ASSERT_EQUAL(sim_sweep_nruns(s), 12);
    CU_ASSERT_EQUAL(sim_sweep_base_seed(s), 7);
    CU_ASSERT_STRING_EQUAL(sim_sweep_name(s), "grid");
    /* keys: the points' (nested form flattened, in order), then the grid's */
    CU_ASSERT_EQUAL_FATAL(sim_sweep_nkeys(s), 3);
    CU_ASSERT_STRING_EQUAL(sim_sweep_key(s, 0), "network.latency.model");
    CU_ASSERT_STRING_EQUAL(sim_sweep_key(s, 1), "network.latency.max");
    CU_ASSERT_STRING_EQUAL(sim_sweep_key(s, 2), "chain.block_interval");
    /* points outer, grid inner; values canonical (20000ms -> 20s); a key a
     * point does not set shows the base value (max 1s) */
    const sim_sweep_run *r = sim_sweep_run_at(s, 3 * 3 + 2);
    CU_ASSERT_EQUAL(r->point, 3);
    CU_ASSERT_EQUAL(r->rep, 2);
    CU_ASSERT_STRING_EQUAL(r->name, "p003-r02");
    CU_ASSERT_EQUAL_FATAL(r->n_sets, 3);
    CU_ASSERT_STRING_EQUAL(r->sets[0], "network.latency.model=uniform");
    CU_ASSERT_STRING_EQUAL(r->sets[1], "network.latency.max=500ms");
    CU_ASSERT_STRING_EQUAL(r->sets[2], "chain.block_interval=20s");
    const sim_sweep_run *r0 = sim_sweep_run_at(s, 0);
    CU_ASSERT_EQUAL(r0->n_sets, 2);
    CU_ASSERT_STRING_EQUAL(r0->values[0], "constant");
    CU_ASSERT_STRING_EQUAL(r0->values[1], "1s");
    CU_ASSERT_STRING_EQUAL(r0->values[2], "10s");
    /* seeds: the documented rule, below 2^53, distinct */
    for (size_t i = 0; i < 12; i++) {
        const sim_sweep_run *x = sim_sweep_run_at(s, i);
        CU_ASSERT_EQUAL(x->seed, sim_sweep_derive_seed(7, x->sets, x->n_sets, x->rep));
        CU_ASSERT(x->seed < (1ull << 53));
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_NOT_EQUAL(x->seed, sim_sweep_run_at(s, j)->seed);
    }
    /* a point's seeds do not depend on the order of its assignments */
    const char *ab[] = {"a=1", "b=2"}, *ba[] = {"b=2", "a=1"};
    CU_ASSERT_EQUAL(sim_sweep_derive_seed(7, ab, 2, 4), sim_sweep_derive_seed(7, ba, 2, 4));
    CU_ASSERT_NOT_EQUAL(sim_sweep_derive_seed(7, ab, 2, 4), sim_sweep_derive_seed(8, ab, 2, 4));
    CU_ASSERT_NOT_EQUAL(sim_sweep_derive_seed(7, ab, 2, 4), sim_sweep_derive_seed(7, ab, 1, 4));
    /* the plan reads back to the same plan */
    char *plan, *again;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_plan_text(s, &plan), PU_OK);
    sim_sweep *t;
    char err[200];
    CU_ASSERT_EQUAL_FATAL(sim_sweep_from_plan(plan, strlen(plan), &t, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL_FATAL(sim_sweep_plan_text(t, &again), PU_OK);
    CU_ASSERT_STRING_EQUAL(plan, again);
    CU_ASSERT_EQUAL(sim_sweep_run_at(t, 11)->seed, sim_sweep_run_at(s, 11)->seed);
    /* a damaged plan is refused with its line */
    char *bad = strdup(plan);
    char *p = strstr(bad, "run 4 1 1");
    p[4] = '5';
    sim_sweep *u = NULL;
    CU_ASSERT_EQUAL(sim_sweep_from_plan(bad, strlen(bad), &u, err, sizeof err), PU_ERR_PARSE);
    CU_ASSERT_PTR_NULL(u);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "plan line"));
    free(bad);
    free(plan);
    free(again);
    sim_sweep_free(t);
    sim_sweep_free(s);
}

static void test_plan_common_and_swept_seeds(void)
{
    char path[512];
    th_path(path, sizeof path, "common.yaml");
    write_file(path, "seed: 3\nmining.miners: 2\nsweep:\n  repetitions: 2\n  seeds: common\n"
                     "  grid: {network.nodes: [10, 20]}\n");
    sim_sweep *s;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(path, &s, NULL), PU_OK);
    /* common random numbers: repetition r has one seed at every point */
    CU_ASSERT_EQUAL(sim_sweep_run_at(s, 0)->seed, sim_sweep_run_at(s, 2)->seed);
    CU_ASSERT_EQUAL(sim_sweep_run_at(s, 1)->seed, sim_sweep_run_at(s, 3)->seed);
    CU_ASSERT_NOT_EQUAL(sim_sweep_run_at(s, 0)->seed, sim_sweep_run_at(s, 1)->seed);
    CU_ASSERT_EQUAL(sim_sweep_run_at(s, 1)->seed, sim_sweep_derive_seed(3, NULL, 0, 1));
    sim_sweep_free(s);
    /* seed swept: used as given */
    write_file(path, "sweep: {grid: {seed: [11, 12]}}\n");
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(path, &s, NULL), PU_OK);
    CU_ASSERT_EQUAL(sim_sweep_run_at(s, 1)->seed, 12);
    sim_sweep_free(s);
    /* no sweep section: the base scenario is not a sweep */
    write_file(path, "seed: 3\n");
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL(sim_sweep_load(path, &s, &d), PU_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "no sweep section"));
}

/* Each bad section: the error's line, column and a word of its message. */
static void test_plan_errors(void)
{
    static const struct {
        const char *text;
        unsigned line, col;
        const char *says;
    } cases[] = {
        {"sweep:\n  grid:\n    network.nodez: [1, 2]\n", 3, 5, "did you mean 'network.nodes'"},
        {"sweep:\n  grid:\n    network.nodes: [10, 0]\n", 3, 25, "network.nodes"},
        {"sweep:\n  grid:\n    network.nodes: 10\n", 3, 20, "non-empty list"},
        {"sweep:\n  grid:\n    chain.block_interval: [1 parsec]\n", 3, 28, "chain.block_interval"},
        {"sweep:\n  repetitions: 0\n", 2, 16, "repetitions"},
        {"sweep:\n  seeds: random\n", 2, 10, "per_point or common"},
        {"sweep:\n  grids: {}\n", 2, 3, "unknown key 'grids'"},
        {"sweep:\n  points:\n    - {network.nodes: 5}\n  grid:\n    network.nodes: [1, 2]\n", 5,
         5, "both in the grid and in point 0"},
        {"sweep:\n  points:\n    - {network.nodes: 5, network.nodes: 6}\n", 3, 26, "twice"},
        /* a consistency error of one point: named with its assignments */
        {"mining.miners: 8\nnetwork.topology.degree: 2\nsweep:\n  grid:\n"
         "    network.nodes: [20, 5]\n", 5, 5,
         "sweep point 1 (network.nodes=5): mining.miners"},
        {"sweep:\n  repetitions: 2\n  grid: {seed: [1, 2]}\n", 0, 0, "repetitions must be 1"},
        {"sweep:\n  points: []\n", 2, 11, "empty"},
    };
    char path[512], buf[400];
    th_path(path, sizeof path, "bad.yaml");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        sim_sweep *s = (sim_sweep *)1;
        sim_diag d;
        sim_diag_clear(&d);
        pu_err rc = sim_sweep_load(path, &s, &d);
        sim_diag_format(&d, buf, sizeof buf);
        if (rc == PU_OK || d.line != cases[i].line || d.col != cases[i].col ||
            !strstr(d.msg, cases[i].says))
            fprintf(stderr, "\n  case %zu: %s\n", i, buf);
        CU_ASSERT_NOT_EQUAL(rc, PU_OK);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_STRING_EQUAL(d.path, path);
        CU_ASSERT_EQUAL(d.line, cases[i].line);
        CU_ASSERT_EQUAL(d.col, cases[i].col);
        CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, cases[i].says));
    }
}

/* ---- shares ---- */

/* Every run in exactly one share, for N = 1..7: by the rule, and by what
 * `sweep --list --shard K/N` prints. */
static void test_shards_cover_every_run_once(void)
{
    sim_sweep *s;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(GRID, &s, NULL), PU_OK);
    size_t n_runs = sim_sweep_nruns(s);
    char cap[512];
    th_path(cap, sizeof cap, "list.txt");
    for (uint32_t n = 1; n <= 7; n++) {
        int seen[12] = {0};
        for (uint32_t k = 0; k < n; k++) {
            for (size_t i = 0; i < n_runs; i++)
                seen[i] += sim_sweep_in_shard(i, k, n);
            char shard[16];
            snprintf(shard, sizeof shard, "%u/%u", k + 1, n);
            const char *argv[] = {GRID, "--list", "--shard", shard};
            CU_ASSERT_EQUAL(sweep(cap, NULL, 4, argv), 0);
            char *text = th_read_file(cap, NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(text);
            for (size_t i = 0; i < n_runs; i++) {
                char name[40];
                snprintf(name, sizeof name, "%s seed", sim_sweep_run_at(s, i)->name);
                CU_ASSERT_EQUAL(strstr(text, name) != NULL, sim_sweep_in_shard(i, k, n));
            }
            free(text);
            /* the same share from a Slurm job array's environment (tasks 1..n) */
            char id[32], cnt[32], lo[32];
            snprintf(id, sizeof id, "SLURM_ARRAY_TASK_ID=%u", k + 1);
            snprintf(cnt, sizeof cnt, "SLURM_ARRAY_TASK_COUNT=%u", n);
            snprintf(lo, sizeof lo, "SLURM_ARRAY_TASK_MIN=1");
            const char *vars[] = {id, cnt, lo};
            fake_env fe = {vars, 3};
            char cap2[512];
            th_path(cap2, sizeof cap2, "list2.txt");
            const char *argv2[] = {GRID, "--list"};
            CU_ASSERT_EQUAL(sweep(cap2, &fe, 2, argv2), 0);
            CU_ASSERT(same_file(cap, cap2));
        }
        for (size_t i = 0; i < n_runs; i++)
            CU_ASSERT_EQUAL(seen[i], 1);
    }
    /* bad shares */
    const char *bad1[] = {GRID, "--list", "--shard", "0/3"};
    CU_ASSERT_EQUAL(sweep(NULL, NULL, 4, bad1), 2);
    const char *bad2[] = {GRID, "--list", "--shard", "4/3"};
    CU_ASSERT_EQUAL(sweep(NULL, NULL, 4, bad2), 2);
    const char *vars[] = {"SLURM_ARRAY_TASK_ID=5", "SLURM_ARRAY_TASK_COUNT=3"};
    fake_env fe = {vars, 2};
    const char *argv[] = {GRID, "--list"};
    CU_ASSERT_EQUAL(sweep(NULL, &fe, 2, argv), 2);
    sim_sweep_free(s);
}

/* ---- running, resuming, merging ---- */

static time_t mtime_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mtime : 0;
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void merged_paths(const char *dir, char *csv, char *pts, char *h5)
{
    snprintf(csv, 600, "%s/merged.csv", dir);
    snprintf(pts, 600, "%s/merged-points.csv", dir);
    snprintf(h5, 600, "%s/merged.h5", dir);
}

/* The serial sweep, then the same in three shares (one from Slurm's
 * variables): the merged tables are the same bytes.  Then resume. */
static void test_sharded_merge_equals_serial_and_resume(void)
{
    CU_ASSERT_FATAL(access(pouwsim_exe(), X_OK) == 0);
    char serial[512], sharded[512], cap[512];
    th_path(serial, sizeof serial, "sw-serial");
    th_path(sharded, sizeof sharded, "sw-sharded");
    th_path(cap, sizeof cap, "sweep.txt");
    const char *a1[] = {GRID, "--out", serial, "--jobs", "1"};
    CU_ASSERT_EQUAL_FATAL(sweep(cap, NULL, 5, a1), 0);
    CU_ASSERT(contains(cap, "0 done before, 12 to run"));
    CU_ASSERT(contains(cap, "12/12 runs done (12 now), 0 failed"));
    const char *s1[] = {GRID, "--out", sharded, "--jobs", "2", "--shard", "1/3"};
    const char *s3[] = {GRID, "--out", sharded, "--jobs", "2", "--shard", "3/3"};
    CU_ASSERT_EQUAL(sweep(NULL, NULL, 7, s1), 0);
    CU_ASSERT_EQUAL(sweep(NULL, NULL, 7, s3), 0);
    /* merge refuses while share 2 is missing, names a missing run */
    const char *m_sh[] = {sharded};
    CU_ASSERT_EQUAL(merge(cap, 1, m_sh), 1);
    CU_ASSERT(contains(cap, "4 of 12 runs have no result"));
    CU_ASSERT(contains(cap, "p000-r01"));
    const char *vars[] = {"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=3",
                          "SLURM_ARRAY_TASK_MIN=0"};
    fake_env fe = {vars, 3};
    const char *s2[] = {GRID, "--out", sharded, "--jobs", "2"};
    CU_ASSERT_EQUAL(sweep(cap, &fe, 5, s2), 0);
    CU_ASSERT(contains(cap, "share 2/3 (Slurm array task): 4 runs"));
    const char *m_se[] = {serial};
    CU_ASSERT_EQUAL_FATAL(merge(NULL, 1, m_se), 0);
    CU_ASSERT_EQUAL_FATAL(merge(NULL, 1, m_sh), 0);
    char c1[600], p1[600], h1[600], c2[600], p2[600], h2[600];
    merged_paths(serial, c1, p1, h1);
    merged_paths(sharded, c2, p2, h2);
    CU_ASSERT(same_file(c1, c2));
    CU_ASSERT(same_file(p1, p2));
    CU_ASSERT(same_file(h1, h2));
    /* merge does not replace its outputs without --force */
    CU_ASSERT_EQUAL(merge(cap, 1, m_se), 1);
    CU_ASSERT(contains(cap, "use --force"));

    /* resume: nothing runs again, finished files untouched */
    char run5[600];
    snprintf(run5, sizeof run5, "%s/runs/p001-r02.h5", serial);
    time_t t5 = mtime_of(run5);
    ino_t i5 = inode_of(run5);
    CU_ASSERT_EQUAL(sweep(cap, NULL, 5, a1), 0);
    CU_ASSERT(contains(cap, "12 done before, 0 to run"));
    CU_ASSERT_EQUAL(mtime_of(run5), t5);
    CU_ASSERT_EQUAL(inode_of(run5), i5);
    /* a lost run is run again, alone, and gives the same bytes */
    char keep[600];
    snprintf(keep, sizeof keep, "%s/p001-r02.h5", th_tmpdir());
    CU_ASSERT_EQUAL_FATAL(rename(run5, keep), 0);
    CU_ASSERT_EQUAL(sweep(cap, NULL, 5, a1), 0);
    CU_ASSERT(contains(cap, "11 done before, 1 to run"));
    CU_ASSERT(same_file(run5, keep));
    CU_ASSERT_NOT_EQUAL(inode_of(run5), i5);
    const char *mf[] = {serial, "--force"};
    CU_ASSERT_EQUAL(merge(NULL, 2, mf), 0);
    CU_ASSERT(same_file(c1, c2));
    CU_ASSERT(same_file(h1, h2));
}

/* The merged tables hold what the run files hold, and the interval is the
 * Student-t one. */
static void test_merged_values(void)
{
    char dir[512], csv[600], pts[600], h5[600];
    th_path(dir, sizeof dir, "sw-serial"); /* made by the test before */
    merged_paths(dir, csv, pts, h5);
    char *runs = th_read_file(csv, NULL), *points = th_read_file(pts, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(runs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(points);
    CU_ASSERT_EQUAL(strncmp(runs, "run,point,rep,seed,network.latency.model,network.latency.max,"
                                  "chain.block_interval,blocks_mined,", 90), 0);
    /* run p001-r02: its seed and values */
    sim_sweep *s;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(GRID, &s, NULL), PU_OK);
    char want[200];
    snprintf(want, sizeof want, "\np001-r02,1,2,%llu,constant,1s,20s,",
             (unsigned long long)sim_sweep_run_at(s, 5)->seed);
    CU_ASSERT_PTR_NOT_NULL(strstr(runs, want));
    /* point 1's blocks_mined over its three runs, from the runs table */
    double v[3];
    int got = 0;
    for (int r = 0; r < 3; r++) {
        char head[40];
        snprintf(head, sizeof head, "\np001-r%02d,", r);
        const char *line = strstr(runs, head);
        CU_ASSERT_PTR_NOT_NULL_FATAL(line);
        const char *c = line + 1;
        for (int field = 0; field < 7; field++)
            c = strchr(c, ',') + 1;
        v[r] = strtod(c, NULL);
        got++;
    }
    CU_ASSERT_EQUAL(got, 3);
    double mean = (v[0] + v[1] + v[2]) / 3, ss = 0;
    for (int r = 0; r < 3; r++)
        ss += (v[r] - mean) * (v[r] - mean);
    double sd = sqrt(ss / 2), ci = 4.302652729911275 * sd / sqrt(3); /* t(0.975, 2) */
    const char *line = strstr(points, "\n1,constant,1s,20s,3,");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    double n, m, d, h;
    CU_ASSERT_EQUAL(sscanf(line + strlen("\n1,constant,1s,20s,3,"), "%lf,%lf,%lf,%lf", &n, &m, &d,
                           &h), 4);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_DOUBLE_EQUAL(m, mean, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(d, sd, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(h, ci, 1e-9);
    CU_ASSERT(sd > 0); /* the repetitions differ: their seeds do */
    free(runs);
    free(points);
    sim_sweep_free(s);
}

/* One point cannot run: it is reported, the others go on; merge needs
 * --partial; the sweep directory refuses other sweeps and foreign dirs. */
static void test_failed_run_and_foreign_dirs(void)
{
    char dir[512], cap[512];
    th_path(dir, sizeof dir, "sw-fail");
    th_path(cap, sizeof cap, "fail.txt");
    const char *a[] = {"tests/data/sweep/fail.yaml", "--out", dir, "--jobs", "2"};
    CU_ASSERT_EQUAL(sweep(cap, NULL, 5, a), 1);
    CU_ASSERT(contains(cap, "run p002-r00 (seed 1, network.topology.file=\"tests/data/no-such.edges\""));
    CU_ASSERT(contains(cap, "failed: exit status 2"));
    CU_ASSERT(contains(cap, "no-such.edges")); /* the run's own message */
    CU_ASSERT(contains(cap, "2/4 runs done (2 now), 2 failed"));
    const char *m[] = {dir};
    CU_ASSERT_EQUAL(merge(cap, 1, m), 1);
    const char *mp[] = {dir, "--partial"};
    CU_ASSERT_EQUAL(merge(cap, 2, mp), 0);
    CU_ASSERT(contains(cap, "merged 2 runs"));
    char mcsv[600];
    snprintf(mcsv, sizeof mcsv, "%s/merged.csv", dir);
    CU_ASSERT(contains(mcsv, ",tests/data/line3.edges,")); /* a string shown unquoted */
    CU_ASSERT(contains(mcsv, "run,point,rep,seed,network.topology.file,blocks_mined,")); /* seed once */
    /* rerun: the finished runs stay, the failed ones are tried again */
    CU_ASSERT_EQUAL(sweep(cap, NULL, 5, a), 1);
    CU_ASSERT(contains(cap, "2 done before, 2 to run"));

    /* another scenario into the same directory */
    const char *other[] = {GRID, "--out", dir};
    CU_ASSERT_EQUAL(sweep(cap, NULL, 3, other), 2);
    CU_ASSERT(contains(cap, "holds another sweep"));
    /* a directory holding a user's file */
    char foreign[512], file[600];
    th_path(foreign, sizeof foreign, "mine");
    mkdir(foreign, 0777);
    snprintf(file, sizeof file, "%s/notes.txt", foreign);
    write_file(file, "keep me\n");
    const char *f[] = {GRID, "--out", foreign};
    CU_ASSERT_EQUAL(sweep(cap, NULL, 3, f), 2);
    CU_ASSERT(contains(cap, "is not a sweep directory"));
    CU_ASSERT(contains(file, "keep me"));
    char plan[600];
    snprintf(plan, sizeof plan, "%s/plan.txt", foreign);
    CU_ASSERT_NOT_EQUAL(access(plan, F_OK), 0);
    const char *nm[] = {foreign};
    CU_ASSERT_EQUAL(merge(NULL, 1, nm), 2);
}

static void test_print_sbatch(void)
{
    char dir[512], cap[512];
    th_path(dir, sizeof dir, "sw-slurm");
    th_path(cap, sizeof cap, "sbatch.sh");
    const char *a[] = {GRID, "--out", dir, "--print-sbatch", "--array", "5", "--cpus", "2",
                       "--sbatch", "--partition=debug"};
    FILE *out = fopen(cap, "w");
    sim_cmd_env env = {pouwsim_exe(), fake_clock, fake_getenv, NULL, false};
    CU_ASSERT_EQUAL(sim_cmd_sweep(10, (char **)a, &env, out, stderr), 0);
    fclose(out);
    CU_ASSERT(contains(cap, "#!/bin/sh\n"));
    CU_ASSERT(contains(cap, "#SBATCH --array=0-4\n"));
    CU_ASSERT(contains(cap, "#SBATCH --cpus-per-task=2\n"));
    CU_ASSERT(contains(cap, "#SBATCH --partition=debug\n"));
    CU_ASSERT(contains(cap, "/scenario/grid.yaml' --out '"));
    CU_ASSERT(contains(cap, "--jobs \"${SLURM_CPUS_PER_TASK:-1}\""));
    char plan[600];
    snprintf(plan, sizeof plan, "%s/plan.txt", dir);
    CU_ASSERT_EQUAL(access(plan, F_OK), 0); /* prepared for the tasks */
    snprintf(plan, sizeof plan, "%s/slurm", dir);
    CU_ASSERT_EQUAL(access(plan, F_OK), 0); /* Slurm opens its logs there */
}

/* ---- run rows ---- */

static void test_cells_never_empty(void)
{
    char path[512];
    th_path(path, sizeof path, "cells.csv");
    FILE *f = fopen(path, "w");
    sim_cell never = {.kind = SIM_CELL_U64, .u = UINT64_MAX},
             nan_ = {.kind = SIM_CELL_F64, .f = NAN}, none = {.kind = SIM_CELL_NONE},
             u = {.kind = SIM_CELL_U64, .u = 42}, i = {.kind = SIM_CELL_I64, .i = -5},
             d = {.kind = SIM_CELL_F64, .f = 0.3}, e = {.kind = SIM_CELL_F64, .f = 1.0 / 3},
             txt = {.kind = SIM_CELL_STR, .s = "selfish"};
    const sim_cell *cells[] = {&never, &nan_, &none, &u, &i, &d, &e, &txt};
    for (size_t k = 0; k < 8; k++) {
        sim_cell_csv(f, cells[k]);
        fputc(',', f);
    }
    sim_csv_text(f, "a,\"b\"");
    fclose(f);
    char *t = th_read_file(path, NULL);
    CU_ASSERT_STRING_EQUAL(t, ",,,42,-5,0.3,0.3333333333333333,selfish,\"a,\"\"b\"\"\"");
    free(t);
    CU_ASSERT(isnan(sim_cell_f64(&never)));
    CU_ASSERT(isnan(sim_cell_f64(&txt)));
    CU_ASSERT_EQUAL(sim_cell_f64(&u), 42);
}

/* `pouwsim export` writes run.csv: identity, parameters, summary. */
static void test_export_run_csv(void)
{
    char dir[512], file[600], csvdir[512], csv[600];
    th_path(dir, sizeof dir, "sw-serial"); /* made by the test before */
    snprintf(file, sizeof file, "%s/runs/p001-r02.h5", dir);
    th_path(csvdir, sizeof csvdir, "export");
    const char *argv[] = {"pouwsim", "export", file, "--csv", csvdir};
    FILE *null = fopen("/dev/null", "w");
    int o = dup(1);
    dup2(fileno(null), 1);
    int st = sim_cli_main(5, (char **)argv);
    fflush(stdout);
    dup2(o, 1);
    close(o);
    fclose(null);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    snprintf(csv, sizeof csv, "%s/run.csv", csvdir);
    char *t = th_read_file(csv, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(strncmp(t, "name,seed,consensus,version,finished,", 37), 0);
    char *nl = strchr(t, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
    *nl = 0;
    const char *data = nl + 1;
    /* one header cell per data cell, and the row says what the run was */
    size_t hc = 0, dc = 0;
    bool quoted = false;
    for (const char *c = t; *c; c++)
        hc += *c == ',';
    for (const char *c = data; *c && (quoted || *c != '\n'); c++) {
        quoted ^= *c == '"';
        dc += *c == ',' && !quoted;
    }
    CU_ASSERT_EQUAL(hc, dc);
    CU_ASSERT(hc > 100);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, ",chain.block_interval,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, ",stale_rate,"));
    sim_sweep *s;
    CU_ASSERT_EQUAL_FATAL(sim_sweep_load(GRID, &s, NULL), PU_OK);
    char want[80];
    snprintf(want, sizeof want, "grid,%llu,pow,",
             (unsigned long long)sim_sweep_run_at(s, 5)->seed);
    CU_ASSERT_EQUAL(strncmp(data, want, strlen(want)), 0);
    sim_sweep_free(s);
    free(t);
}

/* compare.py labels a sweep's groups by what differs between them. */
static void test_compare_labels(void)
{
    char dir[512], csv[600], cmd[2000];
    th_path(dir, sizeof dir, "sw-serial"); /* made by the test before */
    snprintf(csv, sizeof csv, "%s/groups.csv", th_tmpdir());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 analysis/compare.py %s/runs/p000-r0*.h5 "
             "%s/runs/p003-r0*.h5 --group --csv %s > /dev/null 2>&1", dir, dir, csv);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    char *t = th_read_file(csv, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* point 0: constant latency, 10 s; point 3: uniform, max 500ms, 20 s */
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"block_interval=10s, max=1s, model=constant\",3,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "\"block_interval=20s, max=500ms, model=uniform\",3,"));
    free(t);
}

/* Every experiment of scenarios/papers loads as a sweep: a renamed key or
 * a new consistency rule shows here, not in the middle of `make reproduce`. */
static void test_paper_sweeps_load(void)
{
    DIR *d = opendir("scenarios/papers");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        static const char *const files[] = {"sweep.yaml", "quick.yaml"};
        for (int i = 0; i < 2; i++) {
            char path[600];
            snprintf(path, sizeof path, "scenarios/papers/%s/%s", de->d_name, files[i]);
            if (de->d_name[0] == '.' || access(path, F_OK) != 0)
                continue;
            sim_sweep *s = NULL;
            sim_diag dg;
            sim_diag_clear(&dg);
            pu_err rc = sim_sweep_load(path, &s, &dg);
            if (rc != PU_OK) {
                char buf[500];
                sim_diag_format(&dg, buf, sizeof buf);
                fprintf(stderr, "\n  %s\n", buf);
            }
            CU_ASSERT_EQUAL(rc, PU_OK);
            CU_ASSERT(s && sim_sweep_nruns(s) >= 1);
            sim_sweep_free(s);
            n++;
        }
    }
    closedir(d);
    CU_ASSERT(n >= 10);
}

TSUITE(sweep)
{
    CU_pSuite s = CU_add_suite("sweep", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_plan_points_and_seeds);
    TADD(s, test_plan_common_and_swept_seeds);
    TADD(s, test_plan_errors);
    TADD(s, test_shards_cover_every_run_once);
    TADD(s, test_sharded_merge_equals_serial_and_resume);
    TADD(s, test_merged_values);
    TADD(s, test_failed_run_and_foreign_dirs);
    TADD(s, test_print_sbatch);
    TADD(s, test_cells_never_empty);
    TADD(s, test_export_run_csv);
    TADD(s, test_paper_sweeps_load);
    TADD(s, test_compare_labels);
    return CUE_SUCCESS;
}

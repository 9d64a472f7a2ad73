/* tests/sim/test_analysis.c -- the analysis scripts (analysis/README.md) on
 * real run files: a tiny scenario runs in-process, then
 * `analysis/plot_run.py` must write its three PNG figures (and no PoUW
 * figure), refuse files that are not run files with exit status 2 and no
 * traceback, and `analysis/compare.py` must tabulate the run as CSV; then
 * scenarios/pouw-quick.yaml runs for 10 simulated minutes in-process and
 * plot_run.py must also write the two PoUW figures (training,
 * verification), compare.py must list the PoUW figures, and
 * plot_accuracy.py must draw the run's accuracy panel, refuse a pow run
 * (exit 2) and never overwrite its output without --force.
 *
 * The scripts run under /usr/bin/python3 (Debian's, with python3-h5py,
 * python3-numpy and python3-matplotlib from `make deps`); without them
 * these tests fail, saying so.  Paths are relative to the repository root,
 * where the suite runs (as the cli suite reads tests/data). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/cli.h"
#include "tests/harness.h"

#define PYTHON "/usr/bin/python3"
#define PLOT_RUN "analysis/plot_run.py"
#define COMPARE "analysis/compare.py"
#define PLOT_ACCURACY "analysis/plot_accuracy.py"
#define CHECK_FRAMES "tests/tools/check_frames.py"

/* A few nodes, two simulated minutes, a partition that heals (so the fork
 * tree has something to show): about 0.1 s of simulation. */
static const char tiny_yaml[] =
    "name: analysis_tiny\n"
    "duration: 2min\n"
    "network: {nodes: 6, topology: {model: random, degree: 3}}\n"
    "chain: {block_interval: 8s}\n"
    "mining: {miners: 3}\n"
    "transactions: {rate: 1, wallets: 12}\n"
    "timeline:\n"
    "  - {at: 40s, action: partition, groups: [0.5, 0.5]}\n"
    "  - {at: 80s, action: heal}\n"
    "output: {sample_interval: 5s}\n";

/* Run the CLI in-process with stdout/stderr silenced. */
static int cli_quiet(int argc, const char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int st = sim_cli_main(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    return st;
}

/* s in single quotes for sh (a ' becomes '\''). */
static const char *shq(char *buf, size_t n, const char *s)
{
    size_t k = 0;
    if (k < n - 1)
        buf[k++] = '\'';
    for (; *s && k + 5 < n; s++) {
        if (*s == '\'') {
            memcpy(buf + k, "'\\''", 4);
            k += 4;
        } else {
            buf[k++] = *s;
        }
    }
    if (k < n - 1)
        buf[k++] = '\'';
    buf[k] = '\0';
    return buf;
}

/* Exit status of a shell command, -1 if it did not exit normally. */
static int shell(const char *cmd)
{
    fflush(stdout);
    fflush(stderr);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Copy a captured log to stderr, so that a failure shows its cause. */
static void show_log(const char *what, const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    fprintf(stderr, "\n---- %s ----\n", what);
    char line[512];
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fprintf(stderr, "----\n");
    fclose(f);
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* The scripts, their interpreter and its packages are there.  When not and
 * `verbose`, says on stderr what is missing and what to do. */
static bool python_ready(bool verbose)
{
    if (access(PLOT_RUN, R_OK) != 0 || access(COMPARE, R_OK) != 0) {
        if (verbose)
            fprintf(stderr, "\nanalysis: %s not found: run pu-tests from the repository root\n",
                    PLOT_RUN);
        return false;
    }
    if (access(PYTHON, X_OK) != 0) {
        if (verbose)
            fprintf(stderr, "\nanalysis: %s not found: run `make deps`\n", PYTHON);
        return false;
    }
    char log[512], q[600], cmd[1400];
    th_path(log, sizeof log, "an_import.log");
    snprintf(cmd, sizeof cmd, PYTHON " -c 'import h5py, numpy, matplotlib' >%s 2>&1",
             shq(q, sizeof q, log));
    if (shell(cmd) == 0)
        return true;
    if (verbose) {
        fprintf(stderr, "\nanalysis: %s cannot import h5py, numpy and matplotlib "
                        "(install python3-h5py python3-numpy python3-matplotlib: `make deps`)\n",
                PYTHON);
        show_log("python3 -c 'import h5py, numpy, matplotlib'", log);
    }
    return false;
}

/* CU_FAIL_FATAL would print the macro's name, not its text. */
#define FAIL_NO_PYTHON()                                                                        \
    CU_assertImplementation(CU_FALSE, __LINE__,                                                 \
                            "/usr/bin/python3 cannot run analysis/: it needs h5py, numpy and "  \
                            "matplotlib (`make deps`) and the repository root as working "      \
                            "directory",                                                        \
                            __FILE__, "", CU_TRUE)

/* After a script failed: if the cause is the interpreter or its packages
 * (test_python_has_packages said which), stop the test here rather than
 * piling up assertions about files that could not be written. */
#define STOP_IF_NO_PYTHON()                 \
    do {                                    \
        if (!python_ready(false))           \
            FAIL_NO_PYTHON();               \
    } while (0)

/* The run file of these tests (made once per test process). */
static const char *tiny_run(char *out, size_t n)
{
    th_path(out, n, "an_tiny.h5");
    struct stat st;
    if (stat(out, &st) == 0)
        return out;
    char yaml[512];
    th_path(yaml, sizeof yaml, "an_tiny.yaml");
    FILE *f = fopen(yaml, "w");
    if (!f)
        return NULL;
    fputs(tiny_yaml, f);
    fclose(f);
    const char *run[] = {"pouwsim", "run", yaml, "--out", out, "--quiet", "--seed", "7"};
    return cli_quiet(8, run) == 0 ? out : NULL;
}

/* The PoUW run file of these tests: scenarios/pouw-quick.yaml shortened to
 * 10 simulated minutes (task submitted, trained, evaluated, and PoUW
 * blocks verified by every node; about 0.2 s of simulation). */
static const char *pouw_run(char *out, size_t n)
{
    th_path(out, n, "an_pouw.h5");
    struct stat st;
    if (stat(out, &st) == 0)
        return out;
    const char *run[] = {"pouwsim", "run", "scenarios/pouw-quick.yaml", "--set",
                         "duration=10min", "--out", out, "--quiet"};
    return cli_quiet(8, run) == 0 ? out : NULL;
}

static bool is_png(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && memcmp(head, sig, sizeof sig) == 0;
}

/* First, so that a machine without the packages fails with a clear reason;
 * the other tests check again only when a script fails. */
/* A run whose last node leaves at once: no block reaches every node, so
 * /block_outcomes.t100_ns holds "never" (2^64 - 1) in every row. */
static const char never_yaml[] =
    "name: analysis_never\n"
    "duration: 1min\n"
    "network: {nodes: 6, topology: {model: random, degree: 3}}\n"
    "chain: {block_interval: 8s}\n"
    "mining: {miners: 3}\n"
    "transactions: {rate: 1, wallets: 12}\n"
    "timeline:\n"
    "  - {at: 1s, action: leave, nodes: [5]}\n";

/* pouwsim_h5.frame(): DataFrames equal to table() but with "never" masked
 * (pandas from `make deps`), and a clear refusal without pandas. */
static void test_frames_mask_never(void)
{
    char yaml[512], h5[512], log[512], q1[600], q2[600], cmd[1600];
    th_path(yaml, sizeof yaml, "an_never.yaml");
    th_path(h5, sizeof h5, "an_never.h5");
    th_path(log, sizeof log, "an_frames.log");
    FILE *f = fopen(yaml, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(never_yaml, f);
    fclose(f);
    const char *run[] = {"pouwsim", "run", yaml, "--out", h5, "--quiet", "--seed", "3"};
    CU_ASSERT_EQUAL_FATAL(cli_quiet(8, run), 0);
    static const char *const mode[] = {"pandas", "nopandas"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, PYTHON " " CHECK_FRAMES " %s %s >%s 2>&1",
                 shq(q1, sizeof q1, h5), mode[i], shq(q2, sizeof q2, log));
        int st = shell(cmd);
        if (st != 0) {
            STOP_IF_NO_PYTHON();
            show_log(mode[i], log);
        }
        CU_ASSERT_EQUAL(st, 0);
        if (i == 0) {
            /* 1 min of 8 s blocks: t100_ns is never for every block */
            FILE *l = fopen(log, "r");
            unsigned tables = 0, masked = 0;
            CU_ASSERT(l && fscanf(l, "tables %u masked %u", &tables, &masked) == 2);
            if (l)
                fclose(l);
            CU_ASSERT(tables >= 8);
            CU_ASSERT(masked >= 3);
        } else {
            CU_ASSERT(file_has(log, "ok nopandas"));
        }
    }
}

static void test_python_has_packages(void)
{
    if (!python_ready(true))
        FAIL_NO_PYTHON();
}

static void test_plot_run_figures(void)
{
    char h5[512], dir[512], log[512], q1[600], q2[600], q3[600], cmd[2200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiny_run(h5, sizeof h5));
    th_path(dir, sizeof dir, "an_figures"); /* created by the script */
    th_path(log, sizeof log, "an_plot.log");
    snprintf(cmd, sizeof cmd, PYTHON " " PLOT_RUN " %s --out %s >%s 2>&1", shq(q1, sizeof q1, h5),
             shq(q2, sizeof q2, dir), shq(q3, sizeof q3, log));
    int st = shell(cmd);
    if (st != 0) {
        STOP_IF_NO_PYTHON();
        show_log("plot_run.py", log);
    }
    CU_ASSERT_EQUAL(st, 0);
    static const char *const figs[] = {"propagation", "forks", "timeseries"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char png[700];
        snprintf(png, sizeof png, "%s/an_tiny_%s.png", dir, figs[i]);
        struct stat sb;
        CU_ASSERT_EQUAL(stat(png, &sb), 0);
        CU_ASSERT(sb.st_size > 1000);
        CU_ASSERT(is_png(png));
        CU_ASSERT(file_has(log, png)); /* the script prints what it wrote */
    }
    /* a pow run: no PoUW figure */
    static const char *const pouw_figs[] = {"training", "verification"};
    for (size_t i = 0; i < 2; i++) {
        char png[700];
        snprintf(png, sizeof png, "%s/an_tiny_%s.png", dir, pouw_figs[i]);
        CU_ASSERT(access(png, F_OK) != 0);
    }
}

static void test_plot_run_pouw_figures(void)
{
    char h5[512], dir[512], log[512], q1[600], q2[600], q3[600], cmd[2200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(pouw_run(h5, sizeof h5));
    th_path(dir, sizeof dir, "an_pouw_figures"); /* created by the script */
    th_path(log, sizeof log, "an_plot_pouw.log");
    snprintf(cmd, sizeof cmd, PYTHON " " PLOT_RUN " %s --out %s >%s 2>&1", shq(q1, sizeof q1, h5),
             shq(q2, sizeof q2, dir), shq(q3, sizeof q3, log));
    int st = shell(cmd);
    if (st != 0) {
        STOP_IF_NO_PYTHON();
        show_log("plot_run.py on a pouw run", log);
    }
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(!file_has(log, "Traceback"));
    CU_ASSERT(!file_has(log, "plot_run: warning")); /* the layout is known */
    static const char *const figs[] = {"propagation", "forks", "timeseries", "training",
                                       "verification"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char png[700];
        snprintf(png, sizeof png, "%s/an_pouw_%s.png", dir, figs[i]);
        struct stat sb;
        CU_ASSERT_EQUAL(stat(png, &sb), 0);
        CU_ASSERT(sb.st_size > 1000);
        CU_ASSERT(is_png(png));
        CU_ASSERT(file_has(log, png));
    }
}

static void test_compare_pouw_figures(void)
{
    char tiny[512], h5[512], csv[512], log[512], q1[600], q2[600], q3[600], q4[600], cmd[3000];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiny_run(tiny, sizeof tiny));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pouw_run(h5, sizeof h5));
    th_path(csv, sizeof csv, "an_compare_pouw.csv");
    th_path(log, sizeof log, "an_compare_pouw.log");
    snprintf(cmd, sizeof cmd, PYTHON " " COMPARE " %s %s --csv %s >%s 2>&1",
             shq(q1, sizeof q1, tiny), shq(q2, sizeof q2, h5), shq(q3, sizeof q3, csv),
             shq(q4, sizeof q4, log));
    int st = shell(cmd);
    if (st != 0) {
        STOP_IF_NO_PYTHON();
        show_log("compare.py with a pouw run", log);
    }
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(file_has(log, "PoUW: blocks from useful work"));
    CU_ASSERT(file_has(log, "PoUW: best test accuracy"));
    CU_ASSERT(!file_has(log, "recomputed from the tables")); /* layout 2: all stored */
    FILE *f = fopen(csv, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096] = "";
    bool head_ok = fgets(line, sizeof line, f) && strstr(line, ",pouw_blocks,") != NULL
                   && strstr(line, ",mem_bytes_per_node,") != NULL;
    int pow_rows = 0, pouw_rows = 0;
    while (fgets(line, sizeof line, f)) {
        pow_rows += strstr(line, ",analysis_tiny,7,pow,") != NULL;
        pouw_rows += strstr(line, ",pouw-quick,1,pouw,") != NULL;
    }
    fclose(f);
    CU_ASSERT(head_ok);
    CU_ASSERT_EQUAL(pow_rows, 1);
    CU_ASSERT_EQUAL(pouw_rows, 1);
}

static void test_plot_run_user_errors_exit_2(void)
{
    char yaml[512], missing[512], dir[512], log[512], q1[600], q2[600], q3[600], cmd[2200];
    char h5[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiny_run(h5, sizeof h5)); /* writes an_tiny.yaml */
    th_path(yaml, sizeof yaml, "an_tiny.yaml");
    th_path(missing, sizeof missing, "an_no_such_file.h5");
    th_path(dir, sizeof dir, "an_figures_bad");
    th_path(log, sizeof log, "an_plot_bad.log");
    const char *bad[] = {yaml, missing};
    const char *says[] = {"not an HDF5 file", "no such file"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, PYTHON " " PLOT_RUN " %s --out %s >%s 2>&1",
                 shq(q1, sizeof q1, bad[i]), shq(q2, sizeof q2, dir), shq(q3, sizeof q3, log));
        int st = shell(cmd);
        if (st != 2) {
            STOP_IF_NO_PYTHON();
            show_log("plot_run.py on a bad file", log);
        }
        CU_ASSERT_EQUAL(st, 2);
        CU_ASSERT(file_has(log, "plot_run: error: "));
        CU_ASSERT(file_has(log, says[i]));
        CU_ASSERT(!file_has(log, "Traceback"));
    }
}

static void test_compare_csv(void)
{
    char h5[512], csv[512], log[512], q1[600], q2[600], q3[600], cmd[2400];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiny_run(h5, sizeof h5));
    th_path(csv, sizeof csv, "an_compare.csv");
    th_path(log, sizeof log, "an_compare.log");
    shq(q1, sizeof q1, h5);
    snprintf(cmd, sizeof cmd, PYTHON " " COMPARE " %s %s --labels a,b --csv %s >%s 2>&1", q1, q1,
             shq(q2, sizeof q2, csv), shq(q3, sizeof q3, log));
    int st = shell(cmd);
    if (st != 0) {
        STOP_IF_NO_PYTHON();
        show_log("compare.py", log);
    }
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(file_has(log, "stale rate (%)"));
    FILE *f = fopen(csv, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[2048] = "";
    int rows = 0;
    bool head_ok = fgets(line, sizeof line, f) && strncmp(line, "label,file,name,seed,", 21) == 0
                   && strstr(line, ",stale_rate,") != NULL;
    while (fgets(line, sizeof line, f))
        rows += strstr(line, ",analysis_tiny,7,pow,") != NULL;
    fclose(f);
    CU_ASSERT(head_ok);
    CU_ASSERT_EQUAL(rows, 2);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void test_plot_accuracy(void)
{
    char tiny[512], h5[512], png[512], log[512], q1[600], q2[600], q3[600], cmd[2200];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiny_run(tiny, sizeof tiny));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pouw_run(h5, sizeof h5));
    th_path(png, sizeof png, "an_accuracy.png");
    th_path(log, sizeof log, "an_accuracy.log");
    const char *fmt = PYTHON " " PLOT_ACCURACY " %s --out %s >%s 2>&1";
    snprintf(cmd, sizeof cmd, fmt, shq(q1, sizeof q1, h5), shq(q2, sizeof q2, png),
             shq(q3, sizeof q3, log));
    int st = shell(cmd);
    if (st != 0) {
        STOP_IF_NO_PYTHON();
        show_log("plot_accuracy.py", log);
    }
    CU_ASSERT_EQUAL(st, 0);
    CU_ASSERT(is_png(png));
    CU_ASSERT(file_size(png) > 1000);
    CU_ASSERT(file_has(log, png));
    long size = file_size(png);
    CU_ASSERT_EQUAL(shell(cmd), 2); /* it exists now: not overwritten */
    CU_ASSERT(file_has(log, "exists; not overwritten"));
    CU_ASSERT_EQUAL(file_size(png), size);
    th_path(png, sizeof png, "an_accuracy_pow.png");
    snprintf(cmd, sizeof cmd, fmt, shq(q1, sizeof q1, tiny), shq(q2, sizeof q2, png),
             shq(q3, sizeof q3, log));
    CU_ASSERT_EQUAL(shell(cmd), 2); /* a pow run has no training to draw */
    CU_ASSERT(file_has(log, "plot_accuracy: error:"));
    CU_ASSERT(!file_has(log, "Traceback"));
    CU_ASSERT(access(png, F_OK) != 0);
}

TSUITE(analysis)
{
    CU_pSuite s = CU_add_suite("analysis", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_python_has_packages);
    TADD(s, test_plot_run_figures);
    TADD(s, test_plot_run_user_errors_exit_2);
    TADD(s, test_compare_csv);
    TADD(s, test_plot_run_pouw_figures);
    TADD(s, test_compare_pouw_figures);
    TADD(s, test_plot_accuracy);
    TADD(s, test_frames_mask_never);
    return CUE_SUCCESS;
}

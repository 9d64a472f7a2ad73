/* tests/sim/test_cli_safety.c -- the defects of issue 12 as regression
 * tests: outputs that never destroy a user's file, signals, full disks,
 * damaged run files.  Each asserts the exit status, the message and that
 * the files involved are untouched.  Runs that must be killed, limited or
 * signalled happen in a forked child. */
#define _DEFAULT_SOURCE /* mknod, makedev, mount */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/cli.h"
#include "sim/h5read.h"
#include "tests/harness.h"

/* A run of a fraction of a second (12 nodes, 2 simulated minutes). */
static const char tiny_yaml[] =
    "duration: 2min\nnetwork: {nodes: 12}\nchain: {block_interval: 20s}\nmining: {miners: 2}\n"
    "transactions: {rate: 1, wallets: 20}\n";
/* A run of many seconds, to be interrupted. */
static const char long_yaml[] =
    "duration: 1d\nnetwork: {nodes: 40}\nchain: {block_interval: 30s}\nmining: {miners: 4}\n"
    "transactions: {rate: 3, wallets: 60}\n";

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static size_t slurp(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = '\0';
    fclose(f);
    return k;
}

/* Same bytes as `text`? */
static bool holds(const char *path, const char *text)
{
    char buf[4096];
    slurp(path, buf, sizeof buf);
    return strcmp(buf, text) == 0;
}

/* Runs the CLI in a child (stdout+stderr to `capture`), in directory cwd
 * (NULL: this one), optionally with a file-size limit; returns its pid. */
static pid_t spawn_in(const char *cwd, const char *capture, int argc, const char **argv,
                      rlim_t fsize)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        if (fsize) {
            struct rlimit rl = {fsize, fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        if (cwd && chdir(cwd) != 0)
            _exit(99);
        _exit(sim_cli_main(argc, (char **)argv));
    }
    return pid;
}

static pid_t spawn(const char *capture, int argc, const char **argv, rlim_t fsize)
{
    return spawn_in(NULL, capture, argc, argv, fsize);
}

/* Exit status, or 1000 + signal when the child was killed by one. */
static int reap(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static int run_child(const char *capture, int argc, const char **argv, rlim_t fsize)
{
    return reap(spawn(capture, argc, argv, fsize));
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Files in the scratch directory whose name starts with `prefix` and
 * contains `part` (e.g. ".ck0"). */
static int count_like(const char *prefix, const char *part)
{
    char cmd[1024], out[64];
    snprintf(cmd, sizeof cmd, "ls -1 '%s' | grep -c -- '^%s.*%s' > '%s/count.txt'", th_tmpdir(),
             prefix, part, th_tmpdir());
    if (system(cmd) == -1)
        return -1;
    char p[600];
    snprintf(p, sizeof p, "%s/count.txt", th_tmpdir());
    slurp(p, out, sizeof out);
    return atoi(out);
}

/* ---- outputs that are not fresh regular files ---------------------------- */

static void test_out_refusals(void)
{
    char sc[512], cap[512], old[512], lnk[512], lt[512], dev[512], msg[4096];
    th_path(sc, sizeof sc, "cs_scenario.yaml");
    th_path(cap, sizeof cap, "cs_out.txt");
    th_path(old, sizeof old, "cs_existing.h5");
    th_path(lnk, sizeof lnk, "cs_link.h5");
    th_path(lt, sizeof lt, "cs_link_target.txt");
    th_path(dev, sizeof dev, "cs_null");
    put(sc, tiny_yaml);
    put(old, "user data");
    put(lt, "precious");
    CU_ASSERT_FATAL(symlink(lt, lnk) == 0);
    /* onto an existing file: refused, untouched */
    const char *a1[] = {"pouwsim", "run", sc, "--out", old, "--quiet"};
    CU_ASSERT_EQUAL(run_child(cap, 6, a1, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "exists (use --force to replace it)"));
    CU_ASSERT_TRUE(holds(old, "user data"));
    /* onto the scenario file itself, even with --force */
    const char *a2[] = {"pouwsim", "run", sc, "--out", sc, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 7, a2, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "is the scenario file (an input)"));
    CU_ASSERT_TRUE(holds(sc, tiny_yaml));
    /* onto a symbolic link, even with --force */
    const char *a3[] = {"pouwsim", "run", sc, "--out", lnk, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 7, a3, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "symbolic link"));
    struct stat st;
    CU_ASSERT_TRUE(lstat(lnk, &st) == 0 && S_ISLNK(st.st_mode));
    CU_ASSERT_TRUE(holds(lt, "precious"));
    /* onto a character device (as /dev/null once was): root only */
    if (geteuid() == 0 && mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        const char *a4[] = {"pouwsim", "run", sc, "--out", dev, "--quiet", "--force"};
        CU_ASSERT_EQUAL(run_child(cap, 7, a4, 0), 2);
        slurp(cap, msg, sizeof msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "character device"));
        CU_ASSERT_TRUE(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
    }
    CU_ASSERT_EQUAL(count_like("cs_", ".partial-"), 0); /* nothing left behind */
}

static void test_db_refusals(void)
{
    char sc[512], cap[512], other[512], dir[512], same[512], out[512], dev[512], msg[4096];
    char before[4096], after[4096];
    th_path(sc, sizeof sc, "cd_scenario.yaml");
    th_path(cap, sizeof cap, "cd_out.txt");
    th_path(other, sizeof other, "cd_other.sqlite");
    th_path(dir, sizeof dir, "cd_emptydir");
    th_path(same, sizeof same, "cd_same.x");
    th_path(out, sizeof out, "cd_run.h5");
    th_path(dev, sizeof dev, "cd_null");
    put(sc, tiny_yaml);
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
    sqlite3 *db = NULL;
    CU_ASSERT_FATAL(sqlite3_open(other, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(42);", NULL, NULL,
                                 NULL) == SQLITE_OK);
    sqlite3_close(db);
    size_t nb = slurp(other, before, sizeof before);
    /* --db onto the scenario file */
    const char *a1[] = {"pouwsim", "run", sc, "--out", out, "--db", sc, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 9, a1, 0), 2);
    CU_ASSERT_TRUE(holds(sc, tiny_yaml));
    /* --db onto another program's SQLite file, even with --force */
    const char *a2[] = {"pouwsim", "run", sc, "--out", out, "--db", other, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 9, a2, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not a pouwsim store"));
    size_t na = slurp(other, after, sizeof after);
    CU_ASSERT_TRUE(na == nb && memcmp(before, after, nb) == 0);
    CU_ASSERT_FALSE(exists(out)); /* the run never started */
    /* --db onto an empty directory */
    const char *a3[] = {"pouwsim", "run", sc, "--out", out, "--db", dir, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 9, a3, 0), 2);
    struct stat st;
    CU_ASSERT_TRUE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    /* --db X --out X: both outputs one file */
    const char *a4[] = {"pouwsim", "run", sc, "--out", same, "--db", same, "--quiet"};
    CU_ASSERT_EQUAL(run_child(cap, 8, a4, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "is the same file as"));
    CU_ASSERT_FALSE(exists(same));
    if (geteuid() == 0 && mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        const char *a5[] = {"pouwsim", "run", sc, "--out", out, "--db", dev, "--quiet", "--force"};
        CU_ASSERT_EQUAL(run_child(cap, 9, a5, 0), 2);
        CU_ASSERT_TRUE(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
    }
    /* a stray journal of an earlier database would be replayed into ours */
    char db2[512], wal[600];
    th_path(db2, sizeof db2, "cd_new.sqlite");
    snprintf(wal, sizeof wal, "%s-wal", db2);
    put(wal, "old journal");
    const char *a6[] = {"pouwsim", "run", sc, "--out", out, "--db", db2, "--quiet"};
    CU_ASSERT_EQUAL(run_child(cap, 8, a6, 0), 2);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "a journal of an earlier database"));
    CU_ASSERT_TRUE(holds(wal, "old journal"));
    CU_ASSERT_EQUAL(count_like("cd_", ".partial-"), 0);
}

/* A database of this scenario may be replaced with --force; of another
 * scenario never.  output.sqlite works like --db. */
static void test_db_replace_and_key(void)
{
    char sc[512], cap[512], db[512], out[512], keydb[512], msg[4096], set[700];
    th_path(sc, sizeof sc, "cr_scenario.yaml");
    th_path(cap, sizeof cap, "cr_out.txt");
    th_path(db, sizeof db, "cr.sqlite");
    th_path(out, sizeof out, "cr.h5");
    th_path(keydb, sizeof keydb, "cr_key.sqlite");
    put(sc, tiny_yaml);
    const char *a1[] = {"pouwsim", "run", sc, "--out", out, "--db", db, "--quiet"};
    CU_ASSERT_EQUAL(run_child(cap, 8, a1, 0), 0);
    CU_ASSERT_TRUE(exists(db));
    CU_ASSERT_EQUAL(run_child(cap, 8, a1, 0), 2); /* exists */
    const char *a2[] = {"pouwsim", "run", sc, "--out", out, "--db", db, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 9, a2, 0), 0); /* same scenario: replaced */
    const char *a3[] = {"pouwsim", "run", sc, "--out", out, "--db", db, "--quiet", "--force",
                        "--set", "transactions.wallets=21"};
    CU_ASSERT_EQUAL(run_child(cap, 11, a3, 0), 2); /* another genesis: refused */
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "another scenario"));
    snprintf(set, sizeof set, "output.sqlite=%s", keydb);
    const char *a4[] = {"pouwsim", "run", sc, "--out", out, "--quiet", "--force", "--set", set};
    CU_ASSERT_EQUAL(run_child(cap, 9, a4, 0), 0);
    CU_ASSERT_TRUE(exists(keydb));
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "database"));
    CU_ASSERT_EQUAL(count_like("cr", "-wal"), 0); /* databases closed cleanly */
}

/* Paths are never cut (511 characters was the old limit). */
static void test_long_out_path(void)
{
    char sc[512], cap[512], dir[1024], out[1100];
    th_path(sc, sizeof sc, "cl_scenario.yaml");
    th_path(cap, sizeof cap, "cl_out.txt");
    put(sc, tiny_yaml);
    snprintf(dir, sizeof dir, "%s", th_tmpdir());
    for (int i = 0; i < 12; i++) {
        size_t n = strlen(dir);
        snprintf(dir + n, sizeof dir - n, "/%s", "lllllllllllllllllllllllllllllllllllllllllllllllll");
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
    }
    snprintf(out, sizeof out, "%s/run.h5", dir);
    CU_ASSERT_FATAL(strlen(out) > 600);
    const char *a[] = {"pouwsim", "run", sc, "--out", out, "--quiet"};
    CU_ASSERT_EQUAL(run_child(cap, 6, a, 0), 0);
    CU_ASSERT_TRUE(exists(out));
    char shortened[1100];
    snprintf(shortened, sizeof shortened, "%.511s", out);
    CU_ASSERT_FALSE(exists(shortened));
}

/* ---- values that used to hang, crash or fail mid-run ------------------------- */

/* Each is refused before anything is created: status 2, the key named at
 * the place it was given (--set here), no output left behind. */
static void test_bad_values_refused(void)
{
    static const struct {
        const char *set, *says;
    } cases[] = {
        {"transactions.rate=1e12", "--set: error: transactions.rate"},
        {"chain.pow_hashes_per_block=4294967296", "--set: error: chain.pow_hashes_per_block"},
        {"network.nodes=1000000", "--set: error: network.nodes"},
        {"chain.block_reward=21000000", "--set: error: chain.block_reward"},
        {"network.loss=1", "--set: error: network.loss"},
        {"network.topology.degree=3", "--set: error: network.topology.degree"},
    };
    char sc[512], cap[512], out[512], msg[4096];
    th_path(sc, sizeof sc, "cv_scenario.yaml");
    th_path(cap, sizeof cap, "cv_out.txt");
    th_path(out, sizeof out, "cv_run.h5");
    /* with payments: a million nodes alone now fit in this machine's memory
     * (blocks and states are shared), but not with a mempool each */
    put(sc, "duration: 2min\nnetwork: {nodes: 12, topology: {model: small_world, degree: 2}}\n"
            "mining: {miners: 2}\ntransactions: {rate: 2}\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[] = {"pouwsim", "run", sc, "--out", out, "--quiet", "--set", cases[i].set};
        CU_ASSERT_EQUAL(run_child(cap, 8, a, 0), 2);
        slurp(cap, msg, sizeof msg);
        CU_ASSERT_EQUAL(strncmp(msg, cases[i].says, strlen(cases[i].says)), 0);
        CU_ASSERT_FALSE(exists(out));
    }
    CU_ASSERT_EQUAL(count_like("cv_run", ""), 0);
}

/* ---- failures during the run ---------------------------------------------- */

/* A file-size limit hit mid-run: exit 1 with a message, no crash, the old
 * output untouched, the partial output kept. */
static void test_file_size_limit(void)
{
    char sc[512], cap[512], old[512], msg[4096];
    th_path(sc, sizeof sc, "cf_scenario.yaml");
    th_path(cap, sizeof cap, "cf_out.txt");
    th_path(old, sizeof old, "cf_old.h5");
    put(sc, tiny_yaml);
    put(old, "previous results");
    const char *a[] = {"pouwsim", "run", sc, "--out", old, "--quiet", "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 7, a, 60 * 1024), 1);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "File too large"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "partial output in"));
    CU_ASSERT_TRUE(holds(old, "previous results"));
    CU_ASSERT_EQUAL(count_like("cf_old.h5", ".ck"), 0);
}

/* A full disk (a 160 kB tmpfs; root only, skipped where mount is refused). */
static void test_disk_full(void)
{
    char sc[512], cap[512], mnt[512], out[600], db[600], msg[4096];
    if (geteuid() != 0)
        return;
    th_path(sc, sizeof sc, "cg_scenario.yaml");
    th_path(cap, sizeof cap, "cg_out.txt");
    th_path(mnt, sizeof mnt, "cg_tmpfs");
    put(sc, tiny_yaml);
    CU_ASSERT_FATAL(mkdir(mnt, 0755) == 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=160k") != 0)
        return; /* no CAP_SYS_ADMIN here */
    snprintf(out, sizeof out, "%s/run.h5", mnt);
    snprintf(db, sizeof db, "%s/run.sqlite", mnt);
    put(out, "old run");
    const char *a[] = {"pouwsim", "run", sc, "--out", out, "--db", db, "--quiet", "--force"};
    int st = run_child(cap, 9, a, 0);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_EQUAL(st, 1);
    CU_ASSERT_TRUE(strstr(msg, "No space left on device") || strstr(msg, "disk is full"));
    CU_ASSERT_TRUE(holds(out, "old run"));
    umount(mnt);
}

/* ---- signals ---------------------------------------------------------------- */

/* Waits until the child's temporary output exists, then a little more. */
static void wait_started(const char *target, pid_t pid)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", target, (long)pid);
    for (int i = 0; i < 400 && !exists(tmp); i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
}

static void signal_case(int sig, int want)
{
    char sc[512], cap[512], out[512], db[512], tmp[700], msg[4096];
    th_path(sc, sizeof sc, "cx_scenario.yaml");
    th_path(cap, sizeof cap, "cx_out.txt");
    th_path(out, sizeof out, "cx_run.h5");
    th_path(db, sizeof db, "cx_run.sqlite");
    put(sc, long_yaml);
    put(out, "kept");
    const char *a[] = {"pouwsim", "run", sc, "--out", out, "--db", db, "--quiet", "--force"};
    pid_t pid = spawn(cap, 9, a, 0);
    wait_started(out, pid);
    kill(pid, sig);
    CU_ASSERT_EQUAL(reap(pid), want);
    slurp(cap, msg, sizeof msg);
    char *nl = strchr(msg, '\n');
    CU_ASSERT_TRUE(nl && nl[1] == '\0'); /* one line */
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "interrupted by SIG"));
    CU_ASSERT_TRUE(holds(out, "kept"));
    CU_ASSERT_FALSE(exists(db));
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", out, (long)pid);
    sim_h5read *r;
    char err[300], *reason = NULL;
    uint64_t fin = 9;
    CU_ASSERT_FATAL(sim_h5read_open(tmp, &r, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "finished", &fin), PU_OK);
    CU_ASSERT_EQUAL(fin, 0);
    CU_ASSERT_EQUAL(sim_h5read_attr_str(r, "/run", "stop_reason", &reason), PU_OK);
    CU_ASSERT_PTR_NOT_NULL(reason && strstr(reason, "interrupted by SIG"));
    free(reason);
    sim_h5read_free(r);
    CU_ASSERT_EQUAL(count_like("cx_run", ".ck"), 0); /* checkpoint files cleaned up */
    CU_ASSERT_EQUAL(count_like("cx_run", ".tmp"), 0);
    unlink(tmp);
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", db, (long)pid);
    CU_ASSERT_TRUE(exists(tmp)); /* the database up to its last commit */
    unlink(tmp);
}

static void test_signals(void)
{
    signal_case(SIGINT, 130);
    signal_case(SIGTERM, 143);
    signal_case(SIGHUP, 129);
}

/* A second signal ends the process at once (its default action). */
static void test_second_signal(void)
{
    char sc[512], cap[512], out[512];
    th_path(sc, sizeof sc, "cy_scenario.yaml");
    th_path(cap, sizeof cap, "cy_out.txt");
    th_path(out, sizeof out, "cy_run.h5");
    put(sc, long_yaml);
    const char *a[] = {"pouwsim", "run", sc, "--out", out, "--quiet"};
    pid_t pid = spawn(cap, 6, a, 0);
    wait_started(out, pid);
    kill(pid, SIGINT);
    kill(pid, SIGTERM);
    int st = reap(pid);
    /* SIGTERM killed it, unless the first signal's exit came first */
    CU_ASSERT_TRUE(st == 1000 + SIGTERM || st == 130);
    CU_ASSERT_FALSE(exists(out));
}

/* Runs argv twice at once in cwd (captures c1, c2), both writing out: one
 * wins, the other fails with a message naming `names` (not "No such file"),
 * and out is a finished run file. */
static void check_one_wins(const char *cwd, int argc, const char **argv, const char *c1,
                           const char *c2, const char *out, const char *names)
{
    pid_t p1 = spawn_in(cwd, c1, argc, argv, 0), p2 = spawn_in(cwd, c2, argc, argv, 0);
    int s1 = reap(p1), s2 = reap(p2);
    CU_ASSERT_TRUE((s1 == 0) != (s2 == 0));
    CU_ASSERT_TRUE(s1 == 1 || s1 == 2 || s2 == 1 || s2 == 2);
    char msg[4096];
    slurp(s1 ? c1 : c2, msg, sizeof msg);
    CU_ASSERT_PTR_NULL(strstr(msg, "No such file"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, names));
    sim_h5read *r;
    char err[300];
    CU_ASSERT_FATAL(sim_h5read_open(out, &r, err, sizeof err) == PU_OK);
    uint64_t fin = 0;
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "finished", &fin), PU_OK);
    CU_ASSERT_EQUAL(fin, 1);
    sim_h5read_free(r);
}

/* Two runs writing the same output at once never corrupt each other: one
 * result is renamed into place, the other is refused and kept aside. */
static void test_concurrent_same_output(void)
{
    char sc[512], c1[512], c2[512], out[512];
    th_path(sc, sizeof sc, "cc_scenario.yaml");
    th_path(c1, sizeof c1, "cc_out1.txt");
    th_path(c2, sizeof c2, "cc_out2.txt");
    th_path(out, sizeof out, "cc_run.h5");
    put(sc, tiny_yaml);
    const char *a[] = {"pouwsim", "run", sc, "--out", out, "--quiet"};
    check_one_wins(NULL, 6, a, c1, c2, out, "cc_run.h5");
    CU_ASSERT_EQUAL(count_like("cc_run", ".ck"), 0);
}

/* The same, writing the default output name (NAME.h5 in the working
 * directory): the case that failed with "link quickstart.h5.tmp: No such
 * file or directory". */
static void test_concurrent_default_output(void)
{
    char dir[512], sc[600], c1[600], c2[600], out[600];
    th_path(dir, sizeof dir, "cd2");
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
    snprintf(sc, sizeof sc, "%s/twice.yaml", dir);
    snprintf(c1, sizeof c1, "%s/out1.txt", dir);
    snprintf(c2, sizeof c2, "%s/out2.txt", dir);
    snprintf(out, sizeof out, "%s/twice.h5", dir);
    char y[sizeof tiny_yaml + 32];
    snprintf(y, sizeof y, "name: twice\n%s", tiny_yaml);
    put(sc, y);
    const char *a[] = {"pouwsim", "run", "twice.yaml", "--quiet"};
    check_one_wins(dir, 4, a, c1, c2, out, "twice.h5");
}

/* ---- figures without data ----------------------------------------------------- */

/* Blocks are mined but none reaches half the nodes (every link takes 10
 * minutes, the run lasts 2): the summary says "never", as the file does,
 * where it once printed "median 0.000 s". */
static void test_summary_never(void)
{
    char sc[512], cap[512], out[512], msg[4096];
    th_path(sc, sizeof sc, "cn_scenario.yaml");
    th_path(cap, sizeof cap, "cn_out.txt");
    th_path(out, sizeof out, "cn_run.h5");
    put(sc, "duration: 2min\nnetwork: {nodes: 12, latency: {model: constant, mean: 10min, max: 10min}}\n"
            "chain: {block_interval: 20s}\nmining: {miners: 2}\ntransactions: {rate: 1, wallets: 20}\n");
    const char *a[] = {"pouwsim", "run", sc, "--out", out};
    CU_ASSERT_EQUAL(run_child(cap, 5, a, 0), 0);
    slurp(cap, msg, sizeof msg);
    CU_ASSERT_PTR_NULL(strstr(msg, "blocks mined          0")); /* blocks there were */
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "propagation to 50 %   never: no block reached 50 % of nodes\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "propagation to 90 %   never: no block reached 90 % of nodes\n"));
    CU_ASSERT_PTR_NULL(strstr(msg, "0.000 s"));
    sim_h5read *r;
    char err[300];
    CU_ASSERT_FATAL(sim_h5read_open(out, &r, err, sizeof err) == PU_OK);
    uint64_t n50 = 9;
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/summary", "prop50_blocks", &n50), PU_OK);
    CU_ASSERT_EQUAL(n50, 0);
    double med = 0;
    CU_ASSERT_EQUAL(sim_h5read_attr_f64(r, "/summary", "prop50_median_s", &med), PU_OK);
    CU_ASSERT_TRUE(isnan(med)); /* no value, not 0 */
    sim_h5read_free(r);
}

/* ---- damaged run files ------------------------------------------------------- */

/* The bit that crashed `info` (offset 2154 of a pouw-quick output before
 * the user block existed), and bits all over the file: every one an
 * error naming the damage, never a crash or a CSV of wrong values. */
static void test_damaged_file(void)
{
    char cap[512], out[512], bad[512], csv[512], msg[4096];
    th_path(cap, sizeof cap, "cz_out.txt");
    th_path(out, sizeof out, "cz_run.h5");
    th_path(bad, sizeof bad, "cz_bad.h5");
    th_path(csv, sizeof csv, "cz_csv");
    const char *a[] = {"pouwsim", "run", "scenarios/pouw-quick.yaml", "--out", out, "--quiet"};
    CU_ASSERT_FATAL(run_child(cap, 6, a, 0) == 0);
    FILE *f = fopen(out, "rb");
    CU_ASSERT_FATAL(f != NULL);
    static uint8_t data[1 << 20];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 4096 && n < sizeof data);
    uint64_t x = 12;
    for (int trial = 0; trial < 8; trial++) {
        size_t pos = trial == 0 ? 2154 + 512 : (size_t)(x % n);
        x = x * 6364136223846793005u + 1442695040888963407u;
        data[pos] ^= (uint8_t)(1u << (trial % 8));
        f = fopen(bad, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        data[pos] ^= (uint8_t)(1u << (trial % 8));
        const char *i[] = {"pouwsim", "info", bad};
        CU_ASSERT_EQUAL(run_child(cap, 3, i, 0), 2);
        slurp(cap, msg, sizeof msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "damaged file"));
        const char *e[] = {"pouwsim", "export", bad, "--csv", csv};
        CU_ASSERT_EQUAL(run_child(cap, 5, e, 0), 2);
        char blocks[700];
        snprintf(blocks, sizeof blocks, "%s/blocks.csv", csv);
        CU_ASSERT_FALSE(exists(blocks));
    }
    /* the measurement of the issue: 120 single-bit flips spread over the
     * file's HDF5 data (82 of them once exported as valid CSV): every one
     * refused as damaged before HDF5 reads it.  (The zero padding of the
     * 512-byte user block is not covered: HDF5 skips it, no value changes.) */
    int refused = 0;
    size_t span = (n - 512) / 120;
    for (int trial = 0; trial < 120; trial++) {
        size_t pos = 512 + (size_t)trial * span + (size_t)(x % span);
        x = x * 6364136223846793005u + 1442695040888963407u;
        data[pos] ^= (uint8_t)(1u << (x >> 61));
        f = fopen(bad, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        data[pos] ^= (uint8_t)(1u << (x >> 61));
        sim_h5read *r = NULL;
        char err[300];
        refused += sim_h5read_open(bad, &r, err, sizeof err) == PU_ERR_PARSE && !r;
        sim_h5read_free(r);
    }
    CU_ASSERT_EQUAL(refused, 120);
    /* export refuses to replace CSV files unless --force */
    const char *e1[] = {"pouwsim", "export", out, "--csv", csv};
    CU_ASSERT_EQUAL(run_child(cap, 5, e1, 0), 0);
    CU_ASSERT_EQUAL(run_child(cap, 5, e1, 0), 2);
    const char *e2[] = {"pouwsim", "export", out, "--csv", csv, "--force"};
    CU_ASSERT_EQUAL(run_child(cap, 6, e2, 0), 0);
}

TSUITE(cli_safety)
{
    CU_pSuite s = CU_add_suite("cli_safety", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_out_refusals);
    TADD(s, test_db_refusals);
    TADD(s, test_db_replace_and_key);
    TADD(s, test_long_out_path);
    TADD(s, test_bad_values_refused);
    TADD(s, test_file_size_limit);
    TADD(s, test_disk_full);
    TADD(s, test_signals);
    TADD(s, test_second_signal);
    TADD(s, test_concurrent_same_output);
    TADD(s, test_concurrent_default_output);
    TADD(s, test_summary_never);
    TADD(s, test_damaged_file);
    return CUE_SUCCESS;
}

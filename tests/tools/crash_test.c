/* tests/tools/crash_test.c -- `make crash-test`: kill runs at random moments
 * and check what they leave; fill the disk and check the run says so.
 *
 *   crash_test POUWSIM RUNS [SEED]
 *
 * Kills: RUNS times, `pouwsim run` of a ~10 s scenario (100 nodes, payments,
 * a partition, churn) with --out and --db is killed with SIGKILL after a
 * delay drawn uniformly from [0.02, 10] s (a seeded generator: the same SEED
 * gives the same moments).  Then:
 *   - neither target exists (only a finished run renames into place);
 *   - a run killed before it declared its outputs (neither partial file
 *     exists: the kill came while it was still loading) left nothing but
 *     its log; counted apart;
 *   - the HDF5 file OUT.partial-PID passes `pouwsim info` with its checksum
 *     verified and, once it holds the run's first checkpoint (taken as soon
 *     as the tables are declared), `pouwsim export`: every table readable
 *     up to the last checkpoint.  Files still empty (killed while the run
 *     was being built) are counted apart;
 *   - the database DB.partial-PID, unless still empty, passes SQLite's
 *     integrity_check and `pouwsim chain DB verify`: every stored block
 *     re-validated from genesis, the tip a fully committed block, the UTXO
 *     table equal row for row to the set the blocks give.
 * Disk full: the same run into a 300 kB tmpfs (root only; skipped when mount
 * is refused) and under a 200 kB file-size limit (RLIMIT_FSIZE), over old
 * outputs, with --force: exit status 1 (not a signal), a message naming the
 * cause, the old outputs untouched.
 *
 * Prints one line per trial and a summary; exit status 0 when nothing
 * failed.  Scratch: a directory under /tmp, removed at the end. */
#define _DEFAULT_SOURCE /* mkdtemp, mount */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char scenario[] =
    "name: crash\nseed: 21\nduration: 75min\n"
    "network: {nodes: 100}\nchain: {block_interval: 60s}\nmining: {miners: 8}\n"
    "transactions: {rate: 4, wallets: 200}\n"
    "timeline:\n"
    "  - {at: 10min, action: partition, groups: [0.4, 0.6]}\n"
    "  - {at: 20min, action: heal}\n"
    "  - {at: 30min, action: leave, fraction: 0.1}\n"
    "  - {at: 40min, action: join, fraction: 0.1}\n";

typedef struct tally {
    int runs, finished, before, h5_empty, h5_ok, db_empty, db_ok, failures;
} tally;

static const char *pouwsim;

/* Runs argv (NULL-terminated) with output to log; rlimit_fsize 0 = none.
 * Returns the pid. */
static pid_t start(char *const *argv, const char *log, rlim_t fsize)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        if (fsize) {
            struct rlimit rl = {fsize, fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Exit status, or 1000 + signal. */
static int finish(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

static int run_wait(char *const *argv, const char *log)
{
    return finish(start(argv, log, 0));
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static bool log_has(const char *log, const char *what)
{
    FILE *f = fopen(log, "r");
    char buf[8192];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

/* The HDF5 file a killed run left: readable, checksum verified. */
static const char *check_h5(const char *dir, const char *part, tally *t)
{
    long sz = file_size(part);
    if (sz == 0) {
        t->h5_empty++;
        return NULL;
    }
    if (sz < 0)
        return "no partial HDF5 file";
    char log[600], csv[600];
    snprintf(log, sizeof log, "%s/info.txt", dir);
    snprintf(csv, sizeof csv, "%s/csv", dir);
    char *info[] = {(char *)pouwsim, "info", (char *)part, NULL};
    if (run_wait(info, log) != 0 || !log_has(log, "checksum: SHA-256 verified"))
        return "pouwsim info failed on the partial HDF5 file";
    if (!log_has(log, "attributes of /run")) { /* the empty file before the first checkpoint */
        t->h5_empty++;
        return NULL;
    }
    char *exp[] = {(char *)pouwsim, "export", (char *)part, "--csv", csv, NULL};
    if (run_wait(exp, log) != 0)
        return "pouwsim export failed on the partial HDF5 file";
    t->h5_ok++;
    return NULL;
}

/* The database a killed run left: intact, its tip fully committed. */
static const char *check_db(const char *dir, const char *part, tally *t)
{
    char wal[720];
    snprintf(wal, sizeof wal, "%s-wal", part);
    long sz = file_size(part);
    if (sz == 0 && file_size(wal) <= 0) {
        t->db_empty++;
        return NULL;
    }
    if (sz < 0)
        return "no partial database";
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    const char *why = NULL;
    if (sqlite3_open(part, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
        why = "SQLite integrity_check failed";
    sqlite3_finalize(s);
    sqlite3_close(db); /* a clean close folds the WAL into the file */
    if (why)
        return why;
    char log[600];
    snprintf(log, sizeof log, "%s/verify.txt", dir);
    char *verify[] = {(char *)pouwsim, "chain", (char *)part, "verify", NULL};
    int st = run_wait(verify, log);
    if (st == 2 && log_has(log, "empty")) { /* schema written, no chain yet */
        t->db_empty++;
        return NULL;
    }
    if (st != 0)
        return "pouwsim chain verify failed on the partial database";
    t->db_ok++;
    return NULL;
}

/* Files in dir other than the run's log (run.log). */
static int others_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "run.log");
    if (d)
        closedir(d);
    return n;
}

static void clean_dir(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot empty %s\n", dir);
}

static int one_kill(const char *root, int i, double delay, tally *t)
{
    char dir[512], sc[600], out[600], db[600], log[600], part[700], dpart[700];
    snprintf(dir, sizeof dir, "%s/k%03d", root, i);
    mkdir(dir, 0755);
    snprintf(sc, sizeof sc, "%s/crash.yaml", root);
    snprintf(out, sizeof out, "%s/run.h5", dir);
    snprintf(db, sizeof db, "%s/run.sqlite", dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    char *argv[] = {(char *)pouwsim, "run", sc, "--out", out, "--db", db, "--quiet", NULL};
    pid_t pid = start(argv, log, 0);
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int st = finish(pid);
    t->runs++;
    const char *why = NULL, *ok = "ok";
    if (st == 0) { /* finished before the kill */
        t->finished++;
        if (file_size(out) <= 0 || file_size(db) <= 0)
            why = "a finished run without its outputs";
    } else {
        snprintf(part, sizeof part, "%s.partial-%ld", out, (long)pid);
        snprintf(dpart, sizeof dpart, "%s.partial-%ld", db, (long)pid);
        if (st != 1000 + SIGKILL)
            why = "the run ended on its own before the kill, and failed";
        else if (file_size(out) >= 0 || file_size(db) >= 0)
            why = "a target exists though the run never finished";
        if (!why && file_size(part) < 0 && file_size(dpart) < 0) {
            /* killed before it declared its outputs (still loading the
             * scenario: ~50 ms alone, seconds at nice 10 on a busy
             * machine): nothing may exist but the log */
            if (others_in(dir))
                why = "killed before its outputs existed, and left files behind";
            else
                t->before++;
            ok = "ok (killed before it created its outputs: nothing left)";
        } else {
            if (!why)
                why = check_h5(dir, part, t);
            if (!why)
                why = check_db(dir, dpart, t);
        }
    }
    printf("kill %3d at %6.3f s: %s\n", i, delay, why ? why : ok);
    fflush(stdout);
    if (why)
        t->failures++;
    else
        clean_dir(dir);
    return why ? 1 : 0;
}

/* Old outputs, a run that cannot write: exit 1 with a message, no crash,
 * the old files untouched. */
static int disk_full_case(const char *dir, const char *what, rlim_t fsize, const char *needle)
{
    char sc[600], out[600], db[600], log[600];
    snprintf(sc, sizeof sc, "%s/../crash.yaml", dir);
    snprintf(out, sizeof out, "%s/run.h5", dir);
    snprintf(db, sizeof db, "%s/run.sqlite", dir);
    snprintf(log, sizeof log, "%s/../%s.log", dir, what);
    FILE *f = fopen(out, "w");
    if (f) {
        fputs("old results", f);
        fclose(f);
    }
    char *argv[] = {(char *)pouwsim, "run", sc, "--out", out, "--quiet", "--force", NULL};
    int st = finish(start(argv, log, fsize));
    bool old_ok = file_size(out) == 11;
    bool said = log_has(log, needle);
    printf("disk full (%s): exit %d%s, message %s, old output %s\n", what, st,
           st >= 1000 ? " (signal)" : "", said ? "ok" : "missing", old_ok ? "untouched" : "CHANGED");
    (void)db;
    return st == 1 && said && old_ok ? 0 : 1;
}

static int disk_full(const char *root)
{
    char dir[600];
    int bad = 0;
    snprintf(dir, sizeof dir, "%s/fsize", root);
    mkdir(dir, 0755);
    bad += disk_full_case(dir, "RLIMIT_FSIZE 200 kB", 200 * 1024, "File too large");
    snprintf(dir, sizeof dir, "%s/tmpfs", root);
    mkdir(dir, 0755);
    if (geteuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, "size=300k") != 0) {
        printf("disk full (tmpfs 300 kB): skipped (needs root and mount): %s\n", strerror(errno));
        return bad;
    }
    bad += disk_full_case(dir, "tmpfs 300 kB", 0, "No space left on device");
    umount(dir);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: crash_test POUWSIM RUNS [SEED]\n");
        return 2;
    }
    pouwsim = argv[1];
    int runs = atoi(argv[2]);
    unsigned seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 12;
    char root[] = "/tmp/pu-crash.XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char sc[600];
    snprintf(sc, sizeof sc, "%s/crash.yaml", root);
    FILE *f = fopen(sc, "w");
    if (!f || fputs(scenario, f) < 0 || fclose(f) != 0)
        return 1;
    tally t = {0};
    for (int i = 0; i < runs; i++) {
        double u = (double)rand_r(&seed) / RAND_MAX;
        one_kill(root, i, 0.02 + u * 9.98, &t);
    }
    int df = disk_full(root);
    printf("== crash test: %d kills (%d finished first, %d before any output existed), "
           "HDF5 %d readable + %d empty, database %d verified + %d empty, %d failures; "
           "disk full: %d failures\n",
           t.runs, t.finished, t.before, t.h5_ok, t.h5_empty, t.db_ok, t.db_empty, t.failures,
           df);
    if (!t.failures && !df) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", root);
    } else {
        printf("scratch kept in %s\n", root);
    }
    return t.failures || df ? 1 : 0;
}

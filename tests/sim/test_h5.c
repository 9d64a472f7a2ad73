/* tests/sim/test_h5.c -- the HDF5 writer: values round-trip, final files are
 * byte-identical whatever the checkpoint pattern, checkpoints are what a
 * reader sees, a run killed at any moment leaves an intact file, and errors
 * come back as codes with messages, never as HDF5 stack dumps. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/h5.h"
#include "sim/h5read.h"
#include "tests/harness.h"

/* A row with every column type, in an order that gives the C struct padding
 * (which must never reach the file). */
typedef struct trow {
    uint8_t b;
    uint64_t id;
    char hash[65];
    int64_t neg;
    uint32_t small;
    double x;
    char tag[9];
} trow;

static const sim_h5_col tcols[] = {
    SIM_H5_COL(trow, id),      SIM_H5_COL(trow, neg),     SIM_H5_COL(trow, x),
    SIM_H5_COL(trow, small),   SIM_H5_COL(trow, b),       SIM_H5_COL_STR(trow, hash),
    SIM_H5_COL_STR(trow, tag),
};
#define NTCOLS (sizeof tcols / sizeof tcols[0])

/* Row i is a function of i, so any row read back can be checked on its own.
 * The struct is filled with garbage first: padding must not matter. */
static void make_row(uint64_t i, trow *r)
{
    memset(r, 0xA5 ^ (int)(i & 0xff), sizeof *r);
    r->id = i;
    r->neg = -(int64_t)i * 3 - 1;
    r->x = (double)i * 0.25 + 1.0 / 3.0;
    r->small = (uint32_t)(i * 2654435761u);
    r->b = (uint8_t)(i * 7);
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    snprintf(r->hash, sizeof r->hash, "%016llx%016llx%016llx%016llx", (unsigned long long)h,
             (unsigned long long)~h, (unsigned long long)(h ^ 0x5555),
             (unsigned long long)(h + i));
    snprintf(r->tag, sizeof r->tag, "t%llu", (unsigned long long)(i % 100000));
}

/* Checks that row `row` of a table read back holds make_row(i). */
static int row_ok(const sim_h5read_tab *t, uint64_t row, uint64_t i)
{
    trow w;
    char buf[80];
    make_row(i, &w);
    size_t c[NTCOLS];
    for (size_t k = 0; k < NTCOLS; k++)
        if (sim_h5read_tab_col(t, tcols[k].name, &c[k]) != PU_OK)
            return 0;
    return sim_h5read_tab_u64(t, row, c[0]) == w.id && sim_h5read_tab_i64(t, row, c[1]) == w.neg &&
           sim_h5read_tab_f64(t, row, c[2]) == w.x && sim_h5read_tab_u64(t, row, c[3]) == w.small &&
           sim_h5read_tab_u64(t, row, c[4]) == w.b &&
           strcmp(sim_h5read_tab_str(t, row, c[5], buf, sizeof buf), w.hash) == 0 &&
           strcmp(sim_h5read_tab_str(t, row, c[6], buf, sizeof buf), w.tag) == 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static long read_file(const char *p, unsigned char **out)
{
    FILE *fp = fopen(p, "rb");
    *out = NULL;
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (*out && fread(*out, 1, (size_t)n, fp) != (size_t)n)
        n = -1;
    fclose(fp);
    return n;
}

static int same_bytes(const char *a, const char *b)
{
    unsigned char *pa, *pb;
    long na = read_file(a, &pa), nb = read_file(b, &pb);
    int same = na > 0 && na == nb && memcmp(pa, pb, (size_t)na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void test_roundtrip(void)
{
    char path[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "roundtrip.h5");
    sim_h5 *f;
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    sim_h5_table *t, *z;
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/ml/iterations", tcols, NTCOLS, 16, 0, &t) == PU_OK);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/ml/zipped", tcols, NTCOLS, 64, 6, &z) == PU_OK);
    trow r[100];
    for (uint64_t i = 0; i < 100; i++)
        make_row(i, &r[i]);
    size_t done = 0;
    CU_ASSERT_EQUAL(sim_h5_table_append_n(t, r, 100, sizeof r[0], &done), PU_OK);
    CU_ASSERT_EQUAL(done, 100);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(sim_h5_table_append(z, &r[i]), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_table_rows(t), 100);
    static const char scen[] = "name: tiny\nnodes: 4\n\"quoted\" \xc3\xa9t\xc3\xa9\n";
    uint64_t u[3] = {1, UINT64_MAX, 0};
    double d[2] = {0.1, -1e300};
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "scenario", scen), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 42), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_i64(f, "/run", "offset", INT64_MIN), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64(f, "/run", "rate", 2.5), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64_array(f, "/run", "ids", u, 3), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64_array(f, "/run", "ws", d, 2), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64_array(f, "/run", "empty", NULL, 0), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/ml/iterations", "lag", 5), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/", "format", 1), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 43), PU_OK); /* replaced */
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "mode", 3), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "mode", "fast"), PU_OK); /* new type */
    CU_ASSERT_EQUAL_FATAL(sim_h5_close(f, err, sizeof err), PU_OK);
    char side[600];
    snprintf(side, sizeof side, "%s.ck0", path);
    CU_ASSERT_FALSE(file_exists(side));
    snprintf(side, sizeof side, "%s.ck1", path);
    CU_ASSERT_FALSE(file_exists(side));

    /* No object carries a time stamp (they would differ between runs made
     * in different seconds, which the byte comparisons may not catch). */
    hid_t hf = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(hf >= 0);
    const char *objs[] = {"/", "/run", "/ml", "/ml/iterations", "/ml/zipped"};
    for (int k = 0; k < 5; k++) {
        H5O_info_t oi;
        memset(&oi, 0xff, sizeof oi);
        CU_ASSERT_EQUAL(H5Oget_info_by_name2(hf, objs[k], &oi, H5O_INFO_TIME, H5P_DEFAULT), 0);
        CU_ASSERT(oi.atime == 0 && oi.mtime == 0 && oi.ctime == 0 && oi.btime == 0);
    }
    H5Fclose(hf);

    sim_h5read *rd;
    CU_ASSERT_FATAL(sim_h5read_open(path, &rd, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5read_ndatasets(rd), 2);
    CU_ASSERT_STRING_EQUAL(sim_h5read_dataset_path(rd, 0), "/ml/iterations");
    const char *names[] = {"/ml/iterations", "/ml/zipped"};
    for (int k = 0; k < 2; k++) {
        sim_h5read_tab *tab;
        CU_ASSERT_FATAL(sim_h5read_table(rd, names[k], &tab) == PU_OK);
        CU_ASSERT_EQUAL(sim_h5read_tab_rows(tab), 100);
        CU_ASSERT_EQUAL(sim_h5read_tab_ncols(tab), NTCOLS);
        CU_ASSERT_EQUAL(sim_h5read_tab_row_size(tab), 8 + 8 + 8 + 4 + 1 + 64 + 8);
        CU_ASSERT_STRING_EQUAL(sim_h5read_tab_cols(tab)[5].name, "hash");
        CU_ASSERT_EQUAL(sim_h5read_tab_cols(tab)[5].size, 64);
        int bad = 0;
        for (uint64_t i = 0; i < 100; i++)
            bad += !row_ok(tab, i, i);
        CU_ASSERT_EQUAL(bad, 0);
        sim_h5read_tab_free(tab);
    }
    char *s = NULL;
    uint64_t v = 0, *uv = NULL;
    int64_t iv = 0;
    double dv = 0, *dd = NULL;
    size_t n = 9;
    CU_ASSERT_EQUAL(sim_h5read_attr_str(rd, "/run", "scenario", &s), PU_OK);
    CU_ASSERT_STRING_EQUAL(s ? s : "", scen);
    free(s);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(rd, "/run", "seed", &v), PU_OK);
    CU_ASSERT_EQUAL(v, 43);
    CU_ASSERT_EQUAL(sim_h5read_attr_i64(rd, "/run", "offset", &iv), PU_OK);
    CU_ASSERT_EQUAL(iv, INT64_MIN);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64(rd, "/run", "rate", &dv), PU_OK);
    CU_ASSERT_EQUAL(dv, 2.5);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64_array(rd, "/run", "ids", &uv, &n), PU_OK);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(uv && uv[0] == 1 && uv[1] == UINT64_MAX && uv[2] == 0);
    free(uv);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64_array(rd, "/run", "ws", &dd, &n), PU_OK);
    CU_ASSERT(n == 2 && dd && dd[0] == 0.1 && dd[1] == -1e300);
    free(dd);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64_array(rd, "/run", "empty", &dd, &n), PU_OK);
    CU_ASSERT(n == 0 && dd == NULL);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(rd, "/ml/iterations", "lag", &v), PU_OK);
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(rd, "/", "format", &v), PU_OK);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(sim_h5read_attr_str(rd, "/run", "mode", &s), PU_OK);
    CU_ASSERT_STRING_EQUAL(s ? s : "", "fast");
    free(s);
    sim_h5read_free(rd);
}

/* The same declarations, attributes and rows; `pattern` decides only when
 * checkpoints and flushes happen (0: never). */
static void write_run(const char *path, int pattern)
{
    char err[SIM_H5_ERRLEN];
    sim_h5 *f;
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "scenario", "nodes: 3\n"), PU_OK);
    if (pattern == 2)
        CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    sim_h5_table *a, *b, *c;
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/blocks", tcols, NTCOLS, 32, 0, &a) == PU_OK);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/net/arrivals", tcols, NTCOLS, 50, 4, &b) == PU_OK);
    /* Fewer rows than a chunk: the final file sizes the chunk to the table. */
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/net/tiny", tcols, NTCOLS, 4096, 2, &c) == PU_OK);
    unsigned rng = 12345;
    for (uint64_t i = 0; i < 700; i++) {
        trow r;
        make_row(i, &r);
        CU_ASSERT_EQUAL(sim_h5_table_append(i % 3 ? b : a, &r), PU_OK);
        if (i % 70 == 0)
            CU_ASSERT_EQUAL(sim_h5_table_append(c, &r), PU_OK);
        rng = rng * 1103515245u + 12345u;
        if (pattern == 1 && i % 97 == 0)
            CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
        if (pattern == 2 && (rng >> 16) % 41 == 0)
            CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
        if (pattern == 2 && (rng >> 16) % 13 == 0)
            CU_ASSERT_EQUAL(sim_h5_table_flush((rng >> 20) & 1 ? a : b), PU_OK);
        if (i == 400)
            CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 7), PU_OK);
        if (i == 500)
            CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 8), PU_OK);
    }
    CU_ASSERT_EQUAL(sim_h5_attr_f64(f, "/net/arrivals", "mean_ms", 12.75), PU_OK);
    if (pattern)
        CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_close(f, err, sizeof err), PU_OK);
}

static void test_deterministic(void)
{
    char p0[512], p1[512], p2[512], p3[512];
    th_path(p0, sizeof p0, "det0.h5");
    th_path(p1, sizeof p1, "det1.h5");
    th_path(p2, sizeof p2, "det2.h5");
    th_path(p3, sizeof p3, "det3.h5");
    write_run(p0, 0);
    write_run(p1, 1);
    write_run(p2, 2);
    write_run(p3, 0);
    CU_ASSERT_TRUE(same_bytes(p0, p1));
    CU_ASSERT_TRUE(same_bytes(p0, p2));
    CU_ASSERT_TRUE(same_bytes(p0, p3));
    /* And the content is what was written: 234 rows in /blocks. */
    char err[SIM_H5_ERRLEN];
    sim_h5read *rd;
    sim_h5read_tab *t;
    CU_ASSERT_FATAL(sim_h5read_open(p2, &rd, err, sizeof err) == PU_OK);
    CU_ASSERT_FATAL(sim_h5read_table(rd, "/blocks", &t) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5read_tab_rows(t), 234);
    CU_ASSERT_TRUE(row_ok(t, 233, 699));
    sim_h5read_tab_free(t);
    CU_ASSERT_FATAL(sim_h5read_table(rd, "/net/tiny", &t) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5read_tab_rows(t), 10);
    CU_ASSERT_TRUE(row_ok(t, 9, 630));
    sim_h5read_tab_free(t);
    uint64_t seed = 0;
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(rd, "/run", "seed", &seed), PU_OK);
    CU_ASSERT_EQUAL(seed, 8);
    sim_h5read_free(rd);
    /* One row more must change the bytes: the comparison can fail. */
    sim_h5 *f;
    sim_h5_table *a;
    trow r;
    make_row(1, &r);
    CU_ASSERT_FATAL(sim_h5_new(p3, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/blocks", tcols, NTCOLS, 32, 0, &a) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5_table_append(a, &r), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_close(f, err, sizeof err), PU_OK);
    CU_ASSERT_FALSE(same_bytes(p0, p3));
}

static uint64_t rows_in(const char *path, const char *table)
{
    char err[SIM_H5_ERRLEN];
    sim_h5read *rd;
    sim_h5read_tab *t;
    uint64_t n = UINT64_MAX;
    if (sim_h5read_open(path, &rd, err, sizeof err) != PU_OK)
        return n;
    if (sim_h5read_table(rd, table, &t) == PU_OK) {
        n = sim_h5read_tab_rows(t);
        sim_h5read_tab_free(t);
    }
    sim_h5read_free(rd);
    return n;
}

/* What a reader sees of a live run is exactly the last checkpoint. */
static void test_checkpoint_visibility(void)
{
    char path[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "live.h5");
    sim_h5 *f;
    CU_ASSERT_FATAL(sim_h5_new(path, 0, &f, err, sizeof err) == PU_OK);
    sim_h5read *rd;
    CU_ASSERT_FATAL(sim_h5read_open(path, &rd, err, sizeof err) == PU_OK); /* valid at once */
    CU_ASSERT_EQUAL(sim_h5read_ndatasets(rd), 0);
    sim_h5read_free(rd);
    sim_h5_table *t;
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/txs", tcols, NTCOLS, 10, 0, &t) == PU_OK);
    trow r;
    for (uint64_t i = 0; i < 25; i++) {
        make_row(i, &r);
        CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_OK);
    }
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), UINT64_MAX); /* not there before a checkpoint */
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), 25);
    for (uint64_t i = 25; i < 61; i++) {
        make_row(i, &r);
        CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_OK);
    }
    CU_ASSERT_EQUAL(sim_h5_table_flush(t), PU_OK);
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), 25);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), 61);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK); /* the other file caught up */
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), 61);
    make_row(61, &r);
    CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_OK);
    /* Abandoning keeps the last checkpoint and removes the scratch files. */
    sim_h5_free(f);
    CU_ASSERT_EQUAL(rows_in(path, "/txs"), 61);
    char side[600];
    snprintf(side, sizeof side, "%s.ck1", path);
    CU_ASSERT_FALSE(file_exists(side));
}

/* ---- crash test ---------------------------------------------------------- */

#define CK_EVERY 300u

static void say(int fd, char tag, uint64_t n)
{
    unsigned char m[9];
    m[0] = (unsigned char)tag;
    memcpy(m + 1, &n, 8);
    if (write(fd, m, 9) != 9)
        _exit(3);
}

/* The child: rows in batches of 37, a checkpoint every CK_EVERY rows, each
 * announced before ('B') and after ('E'); a close after `close_after` rows
 * ('C' before, 'D' after), if not killed first.  'N': the file exists. */
static void crash_child(const char *path, int fd, unsigned flags, uint64_t close_after)
{
    char err[SIM_H5_ERRLEN];
    sim_h5 *f;
    sim_h5_table *t, *u;
    if (sim_h5_new(path, flags, &f, err, sizeof err) != PU_OK ||
        sim_h5_table_create(f, "/ml/iterations", tcols, NTCOLS, 64, 0, &t) != PU_OK ||
        sim_h5_table_create(f, "/blocks", tcols, NTCOLS, 100, 1, &u) != PU_OK)
        _exit(2);
    say(fd, 'N', 0);
    uint64_t n = 0, next = CK_EVERY;
    trow r[37];
    for (;;) {
        for (int k = 0; k < 37; k++)
            make_row(n + (uint64_t)k, &r[k]);
        if (sim_h5_table_append_n(t, r, 37, sizeof r[0], NULL) != PU_OK ||
            sim_h5_table_append_n(u, r, 5, sizeof r[0], NULL) != PU_OK)
            _exit(2);
        n += 37;
        if (n >= next) {
            say(fd, 'B', n);
            if (sim_h5_attr_u64(f, "/run", "rows", n) != PU_OK || sim_h5_checkpoint(f) != PU_OK)
                _exit(2);
            say(fd, 'E', n);
            next += CK_EVERY;
        }
        if (close_after && n >= close_after) {
            say(fd, 'C', n);
            if (sim_h5_attr_u64(f, "/run", "rows", n) != PU_OK ||
                sim_h5_close(f, err, sizeof err) != PU_OK)
                _exit(2);
            say(fd, 'D', n);
            _exit(0);
        }
    }
}

typedef struct crash_seen {
    uint64_t last_b, last_e, appended;
    int closed;
} crash_seen;

static void note(crash_seen *s, const unsigned char *m)
{
    uint64_t v;
    memcpy(&v, m + 1, 8);
    if (m[0] == 'B')
        s->last_b = v;
    if (m[0] == 'E')
        s->last_e = v;
    if (m[0] == 'C')
        s->appended = v;
    if (m[0] == 'D')
        s->closed = 1;
}

static int read_msg(int fd, unsigned char m[9])
{
    size_t got = 0;
    while (got < 9) {
        ssize_t k = read(fd, m + got, 9 - got);
        if (k <= 0)
            return 0;
        got += (size_t)k;
    }
    return 1;
}

/* Kill the child when message `tag` number `count` arrives, `delay_us` later. */
static void crash_trial(int trial, char tag, int count, long delay_us, unsigned flags,
                        uint64_t close_after)
{
    char path[512];
    char name[64];
    snprintf(name, sizeof name, "crash%d.h5", trial);
    th_path(path, sizeof path, name);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(path, fds[1], flags, close_after);
    }
    close(fds[1]);
    crash_seen s = {0, 0, 0, 0};
    unsigned char m[9];
    int seen = 0, eof = 0;
    while (!eof) {
        if (!read_msg(fds[0], m)) {
            eof = 1;
            break;
        }
        note(&s, m);
        if (m[0] == tag && ++seen == count)
            break;
    }
    if (delay_us) {
        struct timespec ts = {0, delay_us * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read_msg(fds[0], m)) /* what the child said before dying */
        note(&s, m);
    close(fds[0]);
    CU_ASSERT_FALSE(eof && !s.closed); /* the child did not fail on its own */

    char err[SIM_H5_ERRLEN];
    sim_h5read *rd;
    CU_ASSERT_EQUAL_FATAL(sim_h5read_open(path, &rd, err, sizeof err), PU_OK);
    sim_h5read_tab *t = NULL;
    uint64_t rows = 0;
    if (s.last_e > 0 || s.closed) {
        CU_ASSERT_EQUAL_FATAL(sim_h5read_table(rd, "/ml/iterations", &t), PU_OK);
        rows = sim_h5read_tab_rows(t);
    } else if (sim_h5read_table(rd, "/ml/iterations", &t) == PU_OK) {
        rows = sim_h5read_tab_rows(t);
    }
    /* Exactly one consistent snapshot: the last completed checkpoint, the
     * one in flight when killed, or all rows when closed or closing. */
    int snapshot = rows == s.last_e || rows == s.last_b || (s.appended && rows == s.appended);
    CU_ASSERT_TRUE(snapshot);
    CU_ASSERT_TRUE(rows >= s.last_e);
    if (s.closed)
        CU_ASSERT_EQUAL(rows, s.appended);
    int bad = 0;
    for (uint64_t i = 0; t && i < rows; i++)
        bad += !row_ok(t, i, i);
    CU_ASSERT_EQUAL(bad, 0);
    sim_h5read_tab_free(t);
    uint64_t attr_rows = 0;
    if (rows > 0) { /* the attribute travels with the rows it describes */
        CU_ASSERT_EQUAL(sim_h5read_attr_u64(rd, "/run", "rows", &attr_rows), PU_OK);
        CU_ASSERT_EQUAL(attr_rows, rows);
    }
    sim_h5read_free(rd);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "h5dump -H '%s' >/dev/null 2>&1", path);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_crash_kill(void)
{
    /* Between checkpoints, at various distances from one. */
    crash_trial(0, 'E', 3, 0, SIM_H5_NOSYNC, 0);
    crash_trial(1, 'E', 2, 150, SIM_H5_NOSYNC, 0);
    crash_trial(2, 'E', 4, 700, 0, 0);
    crash_trial(3, 'E', 5, 2500, SIM_H5_NOSYNC, 0);
    /* Inside a checkpoint: right after the child announced it. */
    crash_trial(4, 'B', 2, 0, 0, 0);
    crash_trial(5, 'B', 6, 0, SIM_H5_NOSYNC, 0);
    crash_trial(6, 'B', 3, 40, SIM_H5_NOSYNC, 0);
    /* Inside the close, and not at all (closes normally). */
    crash_trial(7, 'C', 1, 0, 0, 3000);
    crash_trial(8, 'C', 1, 300, SIM_H5_NOSYNC, 3000);
    crash_trial(9, 'D', 1, 0, SIM_H5_NOSYNC, 1000);
    /* Before the first checkpoint: the empty file sim_h5_new publishes. */
    crash_trial(10, 'N', 1, 200, SIM_H5_NOSYNC, 0);
}

/* ---- errors -------------------------------------------------------------- */

/* Runs the failing calls with stderr sent to a file, which must stay empty:
 * HDF5's stack dumps are switched off, and switched back on afterwards. */
static void test_errors_quiet(void)
{
    char path[512], log[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "err.h5");
    th_path(log, sizeof log, "stderr.log");
    H5E_auto2_t fn0 = NULL, fn1 = NULL;
    void *d0 = NULL, *d1 = NULL;
    H5Eget_auto2(H5E_DEFAULT, &fn0, &d0);
    fflush(stderr);
    int saved = dup(2);
    int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(saved >= 0 && lf >= 0);
    dup2(lf, 2);

    sim_h5 *f = (sim_h5 *)&f;
    CU_ASSERT_EQUAL(sim_h5_new("/nonexistent-dir/x/run.h5", 0, &f, err, sizeof err), PU_ERR_IO);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file or directory"));
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    sim_h5_table *t = NULL;
    static const sim_h5_col badname[] = {{"a b", SIM_H5_U64, 0, 0}};
    static const sim_h5_col dup[] = {{"a", SIM_H5_U64, 0, 0}, {"a", SIM_H5_U8, 0, 8}};
    static const sim_h5_col badstr[] = {{"s", SIM_H5_STR, 0, 0}};
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "blocks", tcols, NTCOLS, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/a/../b", tcols, NTCOLS, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/a//b", tcols, NTCOLS, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b/", tcols, NTCOLS, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", badname, 1, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", dup, 2, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", badstr, 1, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", tcols, 0, 8, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", tcols, NTCOLS, 0, 0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", tcols, NTCOLS, 8, 10, &t), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/b", tcols, NTCOLS, 8, 0, &t) == PU_OK);
    sim_h5_table *t2 = t;
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b", tcols, NTCOLS, 8, 0, &t2), PU_ERR_EXISTS);
    CU_ASSERT_PTR_NULL(t2);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/b/c", tcols, NTCOLS, 8, 0, &t2), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/b/c", "x", 1), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "bad-name", 1), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "s", NULL), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 1), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/run", tcols, NTCOLS, 8, 0, &t2), PU_ERR_EXISTS);

    trow r;
    make_row(5, &r);
    CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_OK);
    memset(r.tag, 'x', sizeof r.tag); /* 9 chars, no terminator within 8 + 1 */
    CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_h5_errmsg(f), "tag"));
    CU_ASSERT_EQUAL(sim_h5_table_rows(t), 1);
    trow two[2];
    make_row(6, &two[0]);
    make_row(7, &two[1]);
    two[1].hash[64] = 'z';
    size_t done = 9;
    CU_ASSERT_EQUAL(sim_h5_table_append_n(t, two, 2, sizeof two[0], &done), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(done, 1);
    CU_ASSERT_EQUAL(sim_h5_table_rows(t), 2);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK); /* argument errors do not poison f */

    /* A working file that vanished: the next checkpoint fails with a
     * message, f is failed from then on, `path` keeps the last checkpoint. */
    char side[600];
    snprintf(side, sizeof side, "%s.ck0", path);
    CU_ASSERT_EQUAL(unlink(side), 0);
    CU_ASSERT_EQUAL(mkdir(side, 0755), 0); /* so the link cannot be made */
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_ERR_IO);
    CU_ASSERT(strlen(sim_h5_errmsg(f)) > 0);
    CU_ASSERT_EQUAL(sim_h5_table_append(t, &two[0]), PU_ERR_STATE);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_ERR_STATE);
    CU_ASSERT_EQUAL(sim_h5_close(f, err, sizeof err), PU_ERR_STATE);
    rmdir(side);
    CU_ASSERT_EQUAL(rows_in(path, "/b"), 2);

    sim_h5read *rd = (sim_h5read *)&rd;
    CU_ASSERT_EQUAL(sim_h5read_open("/nonexistent-dir/run.h5", &rd, err, sizeof err), PU_ERR_IO);
    CU_ASSERT_PTR_NULL(rd);
    CU_ASSERT(strlen(err) > 0);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(lf);
    struct stat st;
    CU_ASSERT_EQUAL(stat(log, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 0);
    H5Eget_auto2(H5E_DEFAULT, &fn1, &d1);
    CU_ASSERT_PTR_EQUAL((void *)fn0, (void *)fn1);
    CU_ASSERT_PTR_EQUAL(d0, d1);
}

/* ---- integrity and full disks ----------------------------------------- */

/* Every table is Fletcher32-checked, every file carries the whole-file
 * checksum, and one flipped bit anywhere makes the reader refuse it. */
static void test_integrity(void)
{
    char path[512], bad[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "integrity.h5");
    th_path(bad, sizeof bad, "integrity_bad.h5");
    sim_h5 *f;
    sim_h5_table *t;
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/t", tcols, NTCOLS, 16, 1, &t) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "scenario", "name: x\nduration: 1h\n"), PU_OK);
    for (uint64_t i = 0; i < 100; i++) {
        trow r;
        make_row(i, &r);
        CU_ASSERT_EQUAL(sim_h5_table_append(t, &r), PU_OK);
    }
    CU_ASSERT_FATAL(sim_h5_close(f, err, sizeof err) == PU_OK);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(fid, "/t", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(ds);
    CU_ASSERT_TRUE(H5Pget_filter_by_id2(dcpl, H5Z_FILTER_FLETCHER32, NULL, NULL, NULL, 0, NULL,
                                        NULL) >= 0);
    H5Pclose(dcpl);
    H5Dclose(ds);
    H5Fclose(fid);
    unsigned char *data;
    long n = read_file(path, &data);
    CU_ASSERT_FATAL(n > 1024);
    CU_ASSERT_EQUAL(memcmp(data, "pouwsim run file 1\n", 19), 0);
    sim_h5read *r;
    CU_ASSERT_EQUAL(sim_h5read_open(path, &r, err, sizeof err), PU_OK);
    sim_h5read_free(r);
    int refused = 0, trials = 0;
    for (long pos = 7; pos < n; pos += n / 23, trials++) {
        data[pos] ^= 0x10;
        FILE *fp = fopen(bad, "wb");
        fwrite(data, 1, (size_t)n, fp);
        fclose(fp);
        data[pos] ^= 0x10;
        r = NULL;
        if (sim_h5read_open(bad, &r, err, sizeof err) == PU_ERR_PARSE && strstr(err, "damaged file"))
            refused++;
        sim_h5read_free(r);
    }
    CU_ASSERT(trials >= 23);
    CU_ASSERT_EQUAL(refused, trials);
    free(data);
}

/* A write that fails (here a file-size limit, EFBIG) is an error from the
 * call, the last checkpoint stays readable, and the process exits normally
 * (HDF5 1.10 would crash at exit after a failed flush). */
static void test_write_failure(void)
{
    char path[512], side[600];
    th_path(path, sizeof path, "efbig.h5");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {96 * 1024, 96 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        char err[SIM_H5_ERRLEN];
        sim_h5 *f;
        sim_h5_table *t;
        if (sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) != PU_OK ||
            sim_h5_table_create(f, "/t", tcols, NTCOLS, 64, 0, &t) != PU_OK)
            _exit(10);
        pu_err rc = PU_OK;
        for (uint64_t i = 0; rc == PU_OK && i < 100000; i++) {
            trow r;
            make_row(i, &r);
            rc = sim_h5_table_append(t, &r);
            if (rc == PU_OK && i % 200 == 199)
                rc = sim_h5_checkpoint(f);
        }
        if (rc != PU_ERR_IO || !strstr(sim_h5_errmsg(f), "File too large"))
            _exit(11);
        sim_h5_free(f);
        exit(0); /* through HDF5's exit handler */
    }
    int st;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st));
    CU_ASSERT_EQUAL(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
    CU_ASSERT(rows_in(path, "/t") >= 200); /* the last checkpoint */
    snprintf(side, sizeof side, "%s.ck0", path);
    CU_ASSERT_FALSE(file_exists(side));
    snprintf(side, sizeof side, "%s.ck1", path);
    CU_ASSERT_FALSE(file_exists(side));
}

TSUITE(h5)
{
    CU_pSuite s = CU_add_suite("h5", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_roundtrip);
    TADD(s, test_deterministic);
    TADD(s, test_checkpoint_visibility);
    TADD(s, test_crash_kill);
    TADD(s, test_errors_quiet);
    TADD(s, test_integrity);
    TADD(s, test_write_failure);
    return CUE_SUCCESS;
}

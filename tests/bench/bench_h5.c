/* tests/bench/bench_h5.c -- rows/s of the HDF5 output layer (not a test).
 *
 *   bench_h5 [rows]        default 4,000,000 rows per case
 *
 * Rows are 56 bytes (7 u64 columns, as in the toolchain's measured HDF5 figure) unless
 * said otherwise.  Cases: plain HDF5 appends of 4096 rows into one file (the
 * ceiling), then sim_h5 -- appends only, appends with checkpoints every
 * 100k rows (with and without fsync), the canonical rewrite at close, a
 * 128-byte row with a 64-char hash, and deflate.  Scratch files go to a
 * fresh directory under $BENCH_DIR (default /tmp), removed at the end. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/h5.h"

typedef struct row56 {
    uint64_t a, b, c, d, e, f, g;
} row56;

static const sim_h5_col cols56[] = {
    SIM_H5_COL(row56, a), SIM_H5_COL(row56, b), SIM_H5_COL(row56, c), SIM_H5_COL(row56, d),
    SIM_H5_COL(row56, e), SIM_H5_COL(row56, f), SIM_H5_COL(row56, g),
};

typedef struct row128 {
    uint64_t height;
    char hash[65];
    uint64_t t_ns;
    int64_t fee;
    double work;
    uint32_t ntx;
    uint32_t node;
    uint8_t kind;
    char parent8[20];
} row128;

static const sim_h5_col cols128[] = {
    SIM_H5_COL(row128, height), SIM_H5_COL_STR(row128, hash), SIM_H5_COL(row128, t_ns),
    SIM_H5_COL(row128, fee),    SIM_H5_COL(row128, work),     SIM_H5_COL(row128, ntx),
    SIM_H5_COL(row128, node),   SIM_H5_COL(row128, kind),     SIM_H5_COL_STR(row128, parent8),
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void fill56(uint64_t i, row56 *r)
{
    *r = (row56){i, i * 3, i >> 3, 1000000 + i, i * i, 42, i ^ 0xabcdef};
}

static void fill128(uint64_t i, row128 *r)
{
    memset(r, 0, sizeof *r);
    r->height = i;
    uint64_t h = i * 0x9E3779B97F4A7C15ull;
    snprintf(r->hash, sizeof r->hash, "%016llx%016llx%016llx%016llx", (unsigned long long)h,
             (unsigned long long)(h >> 7), (unsigned long long)~h, (unsigned long long)(h * 3));
    r->t_ns = i * 600000000000ull;
    r->fee = (int64_t)(i % 1000) * 100;
    r->work = (double)i * 1.5;
    r->ntx = (uint32_t)(i % 3000);
    r->node = (uint32_t)(i % 6000);
    r->kind = (uint8_t)(i & 3);
    snprintf(r->parent8, sizeof r->parent8, "%016llx", (unsigned long long)(h - 1));
}

/* The ceiling: one HDF5 file, H5Dset_extent + H5Dwrite per 4096 rows. */
static void bench_plain(const char *dir, uint64_t rows)
{
    char path[512];
    snprintf(path, sizeof path, "%s/plain.h5", dir);
    double t0 = now_s();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(row56));
    const char *names[7] = {"a", "b", "c", "d", "e", "f", "g"};
    for (int i = 0; i < 7; i++)
        H5Tinsert(ct, names[i], (size_t)i * 8, H5T_NATIVE_UINT64);
    hsize_t zero = 0, maxd = H5S_UNLIMITED, chunk = 4096;
    hid_t sp = H5Screate_simple(1, &zero, &maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t ds = H5Dcreate2(f, "t", ct, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    row56 *buf = malloc(4096 * sizeof *buf);
    for (uint64_t at = 0; at < rows; at += 4096) {
        hsize_t n = rows - at < 4096 ? rows - at : 4096, start = at, size = at + n;
        for (hsize_t k = 0; k < n; k++)
            fill56(at + k, &buf[k]);
        H5Dset_extent(ds, &size);
        hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, &n, NULL);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL);
        H5Dwrite(ds, ct, ms, fs, H5P_DEFAULT, buf);
        H5Sclose(fs);
        H5Sclose(ms);
    }
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(ct);
    H5Fclose(f);
    double dt = now_s() - t0;
    printf("plain HDF5, 4096 rows per write      %8.2f M rows/s  (%.2f s)\n", rows / dt / 1e6, dt);
    free(buf);
    unlink(path);
}

typedef struct sim_case {
    const char *label;
    int wide;            /* 128-byte rows instead of 56 */
    int deflate;
    uint64_t ckpt_every; /* 0: no checkpoint before close */
    unsigned flags;
} sim_case;

/* Rows are made in advance so that only the append is timed (formatting a
 * hash with snprintf costs more than appending the row). */
#define RING 65536u
static row56 ring56[RING];
static row128 ring128[RING];

static void bench_sim(const char *dir, uint64_t rows, const sim_case *c)
{
    char path[512], err[SIM_H5_ERRLEN];
    snprintf(path, sizeof path, "%s/sim.h5", dir);
    sim_h5 *f;
    sim_h5_table *t;
    double t0 = now_s(), ck_time = 0;
    unsigned nck = 0;
    if (sim_h5_new(path, c->flags, &f, err, sizeof err) != PU_OK ||
        sim_h5_table_create(f, "/t", c->wide ? cols128 : cols56, c->wide ? 9 : 7, 4096,
                            c->deflate, &t) != PU_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    for (uint64_t i = 0; i < rows; i++) {
        pu_err rc;
        if (c->wide) {
            row128 r = ring128[i % RING];
            r.height = i;
            rc = sim_h5_table_append(t, &r);
        } else {
            row56 r = ring56[i % RING];
            r.a = i;
            rc = sim_h5_table_append(t, &r);
        }
        if (rc == PU_OK && c->ckpt_every && (i + 1) % c->ckpt_every == 0) {
            double c0 = now_s();
            rc = sim_h5_checkpoint(f);
            ck_time += now_s() - c0;
            nck++;
        }
        if (rc != PU_OK) {
            fprintf(stderr, "bench: %s\n", sim_h5_errmsg(f));
            exit(1);
        }
    }
    double t1 = now_s();
    if (sim_h5_close(f, err, sizeof err) != PU_OK) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    double t2 = now_s();
    double append = t1 - t0 - ck_time;
    printf("%-36s %8.2f M rows/s appending", c->label, rows / append / 1e6);
    if (nck)
        printf(", %6.1f ms/checkpoint", ck_time / nck * 1e3);
    printf(", close %5.2f M rows/s, end to end %5.2f M rows/s, %5.1f MB\n",
           rows / (t2 - t1) / 1e6, rows / (t2 - t0) / 1e6, file_size(path) / 1e6);
    unlink(path);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
    /* BENCH_DIR=/dev/shm separates our CPU cost from the disk's. */
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char dir[256];
    snprintf(dir, sizeof dir, "%s/bench_h5.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("%llu rows per case\n", (unsigned long long)rows);
    for (uint64_t i = 0; i < RING; i++) {
        fill56(i, &ring56[i]);
        fill128(i, &ring128[i]);
    }
    bench_plain(dir, rows);
    static const sim_case cases[] = {
        {"sim_h5 56 B, no checkpoint", 0, 0, 0, 0},
        {"sim_h5 56 B, ckpt/100k rows, nosync", 0, 0, 100000, SIM_H5_NOSYNC},
        {"sim_h5 56 B, ckpt/100k rows, fsync", 0, 0, 100000, 0},
        {"sim_h5 56 B, ckpt/1M rows, fsync", 0, 0, 1000000, 0},
        {"sim_h5 128 B + hash, ckpt/100k, fsync", 1, 0, 100000, 0},
        {"sim_h5 128 B + hash, deflate 1", 1, 1, 100000, 0},
        {"sim_h5 56 B, deflate 1", 0, 1, 100000, 0},
        {"sim_h5 56 B, deflate 6", 0, 6, 100000, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bench_sim(dir, rows, &cases[i]);
    rmdir(dir);
    return 0;
}

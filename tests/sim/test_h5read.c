/* tests/sim/test_h5read.c -- the reader: exact CSV text, exact info text,
 * files not written by sim/h5, and its error codes. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/h5.h"
#include "sim/h5read.h"
#include "tests/harness.h"

typedef struct brow {
    uint64_t height;
    char hash[65];
    double t;
    int64_t delta;
    uint8_t flag;
    uint32_t peers;
    char name[9];
} brow;

static const sim_h5_col bcols[] = {
    SIM_H5_COL(brow, height), SIM_H5_COL_STR(brow, hash), SIM_H5_COL(brow, t),
    SIM_H5_COL(brow, delta),  SIM_H5_COL(brow, flag),     SIM_H5_COL(brow, peers),
    SIM_H5_COL_STR(brow, name),
};

typedef struct arow {
    uint64_t a;
} arow;

static const sim_h5_col acols[] = {SIM_H5_COL(arow, a)};

static char *slurp(const char *p)
{
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, fp) == (size_t)n)
        s[n] = '\0';
    fclose(fp);
    return s;
}

static const char hash_a[] = "0000000000000000000000000000000000000000000000000000000000000000";
static const char hash_b[] = "abababababababababababababababababababababababababababababababab";

/* /blocks with 3 rows of edge values, /ml/iterations empty, attributes on /run. */
static void write_sample(const char *path)
{
    char err[SIM_H5_ERRLEN];
    sim_h5 *f;
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    sim_h5_table *b, *m;
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/blocks", bcols, 7, 2, 0, &b) == PU_OK);
    CU_ASSERT_FATAL(sim_h5_table_create(f, "/ml/iterations", acols, 1, 8, 3, &m) == PU_OK);
    brow r[3];
    memset(r, 0, sizeof r);
    r[0] = (brow){0, "", 0.1, -5, 1, 4294967295u, "genesis"};
    memcpy(r[0].hash, hash_a, 65);
    r[1] = (brow){UINT64_MAX, "", 1e300, INT64_MIN, 255, 0, "a,b\"c"};
    memcpy(r[1].hash, hash_b, 65);
    r[2] = (brow){7, "", -0.0, INT64_MAX, 0, 12, ""};
    memcpy(r[2].hash, "short", 6);
    r[2].t = 1.0 / 3.0;
    CU_ASSERT_EQUAL(sim_h5_table_append_n(b, r, 3, sizeof r[0], NULL), PU_OK);
    double many[20];
    for (int i = 0; i < 20; i++)
        many[i] = i;
    char longs[201];
    memset(longs, 'x', 200);
    longs[200] = '\0';
    uint64_t ids[3] = {1, 2, 3};
    CU_ASSERT_EQUAL(sim_h5_attr_u64(f, "/run", "seed", 42), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "scenario", "a\nb\"c\t\x01"), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_i64(f, "/run", "offset", -7), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64(f, "/run", "rate", 0.5), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_u64_array(f, "/run", "ids", ids, 3), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64_array(f, "/run", "empty", NULL, 0), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64_array(f, "/run", "many", many, 20), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_str(f, "/run", "long", longs), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_attr_f64(f, "/blocks", "interval_s", 600), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_checkpoint(f), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_close(f, err, sizeof err), PU_OK);
}

/* Export through a set of outputs committed together, as `pouwsim export`. */
static pu_err export_to(sim_h5read *r, const char *dir, size_t *nfiles)
{
    sim_outset *set = NULL;
    char err[512];
    pu_err rc = sim_outset_new(&set);
    if (rc == PU_OK)
        rc = sim_h5read_export_csv(r, dir, set, 0, nfiles);
    if (rc == PU_OK)
        rc = sim_outset_commit_all(set, err, sizeof err);
    sim_outset_free(set);
    return rc;
}

static void test_csv_exact(void)
{
    char path[512], dir[512], fn[600], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "csv.h5");
    th_path(dir, sizeof dir, "csv_out");
    write_sample(path);
    sim_h5read *r;
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    size_t nfiles;
    CU_ASSERT_EQUAL(export_to(r, dir, &nfiles), PU_OK);
    CU_ASSERT_EQUAL(nfiles, 2); /* /blocks, /ml/iterations */
    sim_h5read_free(r);

    snprintf(fn, sizeof fn, "%s/blocks.csv", dir);
    char *got = slurp(fn);
    const char *want =
        "height,hash,t,delta,flag,peers,name\n"
        "0,0000000000000000000000000000000000000000000000000000000000000000,"
        "0.10000000000000001,-5,1,4294967295,genesis\n"
        "18446744073709551615,abababababababababababababababababababababababababababababababab,"
        "1.0000000000000001e+300,-9223372036854775808,255,0,\"a,b\"\"c\"\n"
        "7,short,0.33333333333333331,9223372036854775807,0,12,\n";
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
    snprintf(fn, sizeof fn, "%s/ml_iterations.csv", dir);
    got = slurp(fn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "a\n");
    free(got);
}

static void test_info_text(void)
{
    char path[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "info.h5");
    write_sample(path);
    sim_h5read *r;
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CU_ASSERT_FATAL(mem != NULL);
    CU_ASSERT_EQUAL(sim_h5read_info(r, mem), PU_OK);
    fclose(mem);
    sim_h5read_free(r);
    char want[4096];
    char xs[161];
    memset(xs, 'x', 160);
    xs[160] = '\0';
    snprintf(want, sizeof want,
             "file: %s\n"
             "checksum: SHA-256 verified\n"
             "attributes of /blocks:\n"
             "  interval_s: f64 = 600\n"
             "attributes of /run:\n"
             "  empty: f64[0] = (empty)\n"
             "  ids: u64[3] = 1, 2, 3\n"
             "  long: str = \"%s\"... (200 bytes)\n"
             "  many: f64[20] = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, ... (20 values)\n"
             "  offset: i64 = -7\n"
             "  rate: f64 = 0.5\n"
             "  scenario: str = \"a\\nb\\\"c\\t\\x01\"\n"
             "  seed: u64 = 42\n"
             "datasets: 2\n"
             "  /blocks: 3 rows; height u64, hash str64, t f64, delta i64, flag u8, peers u32, name str8\n"
             "  /ml/iterations: 0 rows; a u64\n",
             path, xs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
}

/* A file written with the plain HDF5 API: other integer widths, a float,
 * a NUL-terminated string, a 2-D dataset and a fixed-length string attribute. */
typedef struct frow {
    int16_t a;
    uint16_t b;
    int32_t c;
    float d;
    char e[5];
} frow;

static void write_foreign(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s5 = H5Tcopy(H5T_C_S1);
    H5Tset_size(s5, 5);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(frow));
    H5Tinsert(ct, "a", HOFFSET(frow, a), H5T_NATIVE_INT16);
    H5Tinsert(ct, "b", HOFFSET(frow, b), H5T_NATIVE_UINT16);
    H5Tinsert(ct, "c", HOFFSET(frow, c), H5T_NATIVE_INT32);
    H5Tinsert(ct, "d", HOFFSET(frow, d), H5T_NATIVE_FLOAT);
    H5Tinsert(ct, "e", HOFFSET(frow, e), s5);
    frow rows[2] = {{-300, 65535, -70000, 0.1f, "abcd"}, {1, 2, 3, -2.5f, "z"}};
    hsize_t n = 2, dims[2] = {2, 3};
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(f, "t", ct, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
    H5Dclose(ds);
    H5Sclose(sp);
    uint64_t grid[6] = {1, 2, 3, 4, 5, 6};
    sp = H5Screate_simple(2, dims, NULL);
    ds = H5Dcreate2(f, "grid", H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, grid);
    H5Dclose(ds);
    H5Sclose(sp);
    sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "note", s5, sp, H5P_DEFAULT, H5P_DEFAULT);
    static const char hey[5] = "hey";
    H5Awrite(a, s5, hey);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(ct);
    H5Tclose(s5);
    H5Fclose(f);
}

static void test_foreign_file(void)
{
    char path[512], dir[512], fn[600], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "foreign.h5");
    th_path(dir, sizeof dir, "foreign_out");
    write_foreign(path);
    sim_h5read *r;
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5read_ndatasets(r), 2);
    CU_ASSERT_STRING_EQUAL(sim_h5read_dataset_path(r, 0), "/grid");
    CU_ASSERT_PTR_NULL(sim_h5read_dataset_path(r, 2));
    sim_h5read_tab *t;
    CU_ASSERT_FATAL(sim_h5read_table(r, "/t", &t) == PU_OK);
    const sim_h5read_col *c = sim_h5read_tab_cols(t);
    CU_ASSERT(c[0].kind == SIM_H5READ_INT && c[0].size == 2);
    CU_ASSERT(c[1].kind == SIM_H5READ_UINT && c[1].size == 2);
    CU_ASSERT(c[3].kind == SIM_H5READ_FLOAT && c[3].size == 8);
    CU_ASSERT(c[4].kind == SIM_H5READ_STR && c[4].size == 5);
    CU_ASSERT_EQUAL(sim_h5read_tab_row_size(t), 2 + 2 + 4 + 8 + 5);
    CU_ASSERT_EQUAL(c[4].offset, 16);
    char buf[8];
    CU_ASSERT_EQUAL(sim_h5read_tab_i64(t, 0, 0), -300);
    CU_ASSERT_EQUAL(sim_h5read_tab_u64(t, 0, 1), 65535);
    CU_ASSERT_EQUAL(sim_h5read_tab_i64(t, 0, 2), -70000);
    CU_ASSERT_EQUAL(sim_h5read_tab_f64(t, 0, 3), (double)0.1f);
    CU_ASSERT_EQUAL(sim_h5read_tab_i64(t, 1, 3), -2); /* truncated toward zero */
    CU_ASSERT_EQUAL(sim_h5read_tab_u64(t, 1, 3), 0);  /* negative: out of range */
    CU_ASSERT_EQUAL(sim_h5read_tab_f64(t, 1, 2), 3.0);
    CU_ASSERT_STRING_EQUAL(sim_h5read_tab_str(t, 0, 4, buf, sizeof buf), "abcd");
    CU_ASSERT_STRING_EQUAL(sim_h5read_tab_str(t, 0, 4, buf, 3), "ab");
    CU_ASSERT_STRING_EQUAL(sim_h5read_tab_str(t, 1, 0, buf, sizeof buf), ""); /* not a string */
    CU_ASSERT_EQUAL(sim_h5read_tab_u64(t, 2, 0), 0);                          /* no such row */
    CU_ASSERT_EQUAL(sim_h5read_tab_u64(t, 0, 9), 0);                          /* no such col */
    size_t idx = 7;
    CU_ASSERT_EQUAL(sim_h5read_tab_col(t, "d", &idx), PU_OK);
    CU_ASSERT_EQUAL(idx, 3);
    CU_ASSERT_EQUAL(sim_h5read_tab_col(t, "nope", &idx), PU_ERR_NOTFOUND);
    sim_h5read_tab_free(t);
    CU_ASSERT_EQUAL(sim_h5read_table(r, "/grid", &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_table(r, "/nope", &t), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_h5read_table(r, "/nope/deeper", &t), PU_ERR_NOTFOUND);
    CU_ASSERT_PTR_NULL(t);
    char *s = NULL;
    CU_ASSERT_EQUAL(sim_h5read_attr_str(r, "/", "note", &s), PU_OK);
    CU_ASSERT_STRING_EQUAL(s ? s : "", "hey");
    free(s);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CU_ASSERT_EQUAL(sim_h5read_info(r, mem), PU_OK);
    fclose(mem);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "attributes of /:\n  note: str5 = \"hey\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  /grid: shape (2, 3); u64\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  /t: 2 rows; a i16, b u16, c i32, d f32, e str5\n"));
    free(text);

    size_t nfiles;
    CU_ASSERT_EQUAL(export_to(r, dir, &nfiles), PU_OK);
    CU_ASSERT_EQUAL(nfiles, 1); /* /t; /grid is no table */
    snprintf(fn, sizeof fn, "%s/t.csv", dir);
    char *got = slurp(fn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, "a,b,c,d,e\n-300,65535,-70000,0.10000000149011612,abcd\n"
                                "1,2,3,-2.5,z\n");
    free(got);
    snprintf(fn, sizeof fn, "%s/grid.csv", dir);
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(fn, &st), 0); /* not a table: not exported */
    sim_h5read_free(r);
}

static void test_reader_errors(void)
{
    char path[512], err[SIM_H5_ERRLEN];
    th_path(path, sizeof path, "rerr.h5");
    write_sample(path);
    sim_h5read *r;
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    uint64_t u = 9;
    int64_t i = 9;
    double d = 9, *dv = NULL;
    char *s = NULL;
    size_t n = 9, nfiles;
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "nope", &u), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/nope", "seed", &u), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(u, 0);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "rate", &u), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_attr_i64(r, "/run", "seed", &i), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "offset", &u), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64(r, "/run", "seed", &d), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_attr_u64(r, "/run", "ids", &u), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_h5read_attr_str(r, "/run", "seed", &s), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64_array(r, "/run", "rate", &dv, &n), PU_OK); /* scalar */
    CU_ASSERT(n == 1 && dv && dv[0] == 0.5);
    free(dv);
    CU_ASSERT_EQUAL(sim_h5read_attr_f64(r, "/blocks", "interval_s", &d), PU_OK);
    CU_ASSERT_EQUAL(d, 600);
    CU_ASSERT(strlen(sim_h5read_errmsg(r)) > 0);
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir", path); /* below a regular file */
    CU_ASSERT_EQUAL(export_to(r, bad, &nfiles), PU_ERR_IO);
    sim_h5read_free(r);

    /* "/a_b" and "/a/b" would both be a_b.csv. */
    th_path(path, sizeof path, "clash.h5");
    sim_h5 *f;
    sim_h5_table *t;
    CU_ASSERT_FATAL(sim_h5_new(path, SIM_H5_NOSYNC, &f, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/a_b", acols, 1, 4, 0, &t), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_table_create(f, "/a/b", acols, 1, 4, 0, &t), PU_OK);
    CU_ASSERT_EQUAL(sim_h5_close(f, err, sizeof err), PU_OK);
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    th_path(bad, sizeof bad, "clash_out");
    CU_ASSERT_EQUAL(export_to(r, bad, &nfiles), PU_ERR_EXISTS);
    sim_h5read_free(r);

    /* A member type the reader does not handle: variable-length string. */
    th_path(path, sizeof path, "vlen.h5");
    hid_t hf = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t vs = H5Tcopy(H5T_C_S1);
    H5Tset_size(vs, H5T_VARIABLE);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(char *));
    H5Tinsert(ct, "s", 0, vs);
    hsize_t one = 1;
    hid_t sp = H5Screate_simple(1, &one, NULL);
    const char *val = "v";
    hid_t ds = H5Dcreate2(hf, "v", ct, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, ct, H5S_ALL, H5S_ALL, H5P_DEFAULT, &val);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(ct);
    H5Tclose(vs);
    H5Fclose(hf);
    CU_ASSERT_FATAL(sim_h5read_open(path, &r, err, sizeof err) == PU_OK);
    sim_h5read_tab *tab;
    CU_ASSERT_EQUAL(sim_h5read_table(r, "/v", &tab), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_h5read_errmsg(r), "/v"));
    th_path(bad, sizeof bad, "vlen_out");
    CU_ASSERT_EQUAL(export_to(r, bad, &nfiles), PU_ERR_RANGE);
    sim_h5read_free(r);
}

TSUITE(h5read)
{
    CU_pSuite s = CU_add_suite("h5read", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_csv_exact);
    TADD(s, test_info_text);
    TADD(s, test_foreign_file);
    TADD(s, test_reader_errors);
    return CUE_SUCCESS;
}

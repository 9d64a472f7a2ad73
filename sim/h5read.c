/* sim/h5read.c -- reader for run files: info, CSV export, tables in memory. */
#include "sim/h5read.h"
#include "sim/h5_int.h"
#include "sim/outfile.h"

#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ERRLEN 256
/* Bytes read per block by the export: large enough to amortise HDF5 calls,
 * small enough that a table of any size streams through. */
#define EXPORT_BLOCK_BYTES ((size_t)4 << 20)
#define INFO_STR_MAX 160u
/* Largest attribute we read: values and bytes (ours are a few MB at most). */
#define ATTR_MAX_VALUES ((uint64_t)1 << 25)
#define ATTR_MAX_BYTES ((size_t)256 << 20)
#define INFO_ARRAY_MAX 16u

typedef struct robj {
    char *path;
    bool dataset;
    hsize_t nattrs;
} robj;

struct sim_h5read {
    hid_t fid;
    sim_h5_sum sum;      /* the whole-file checksum: OK or NONE once open */
    char *path;
    robj *objs;          /* sorted by path */
    size_t nobjs, cap;
    size_t *ds;          /* indexes of the datasets in objs */
    size_t nds;
    char err[ERRLEN];
};

struct sim_h5read_tab {
    sim_h5read_col *cols;
    size_t ncols;
    size_t row_size;
    uint64_t nrows;
    uint8_t *data;
};

/* In-memory layout of a compound type: packed native members. */
typedef struct layout {
    sim_h5read_col *cols;
    size_t ncols;
    size_t row_size;
    hid_t mtype;
} layout;

static pu_err fail_h5(char *err, const char *what, const char *name)
{
    snprintf(err, ERRLEN, "hdf5: %s %s", what, name ? name : "");
    sim_h5_walk w = {err, ERRLEN, false};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, sim_h5_walk_first, &w);
    H5Eclear2(H5E_DEFAULT);
    return PU_ERR_IO;
}

static pu_err fail_msg(char *err, pu_err rc, const char *what, const char *name)
{
    H5Eclear2(H5E_DEFAULT);
    snprintf(err, ERRLEN, "%s %s", what, name ? name : "");
    return rc;
}

/* ---- types --------------------------------------------------------------- */

/* "u32", "i64", "f64", "str64", "str" (variable length), else the class. */
static void type_name(hid_t t, char *buf, size_t n)
{
    H5T_class_t c = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    if (c == H5T_INTEGER)
        snprintf(buf, n, "%c%zu", H5Tget_sign(t) == H5T_SGN_NONE ? 'u' : 'i', bits);
    else if (c == H5T_FLOAT)
        snprintf(buf, n, "f%zu", bits);
    else if (c == H5T_STRING && H5Tis_variable_str(t) > 0)
        snprintf(buf, n, "str");
    else if (c == H5T_STRING)
        snprintf(buf, n, "str%zu", bits / 8);
    else if (c == H5T_COMPOUND)
        snprintf(buf, n, "compound");
    else
        snprintf(buf, n, "other");
}

/* Memory type for one member, or H5I_INVALID_HID when we do not handle it. */
static hid_t member_mem_type(hid_t mt, sim_h5read_kind *kind, uint32_t *size)
{
    H5T_class_t c = H5Tget_class(mt);
    size_t sz = H5Tget_size(mt);
    if (c == H5T_INTEGER && (sz == 1 || sz == 2 || sz == 4 || sz == 8)) {
        bool sgn = H5Tget_sign(mt) != H5T_SGN_NONE;
        hid_t nat = sz == 1 ? (sgn ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8)
                  : sz == 2 ? (sgn ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16)
                  : sz == 4 ? (sgn ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32)
                            : (sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64);
        *kind = sgn ? SIM_H5READ_INT : SIM_H5READ_UINT;
        *size = (uint32_t)sz;
        return H5Tcopy(nat);
    }
    if (c == H5T_FLOAT) {
        *kind = SIM_H5READ_FLOAT;
        *size = 8;
        return H5Tcopy(H5T_NATIVE_DOUBLE);
    }
    if (c == H5T_STRING && H5Tis_variable_str(mt) == 0 && sz > 0 && sz <= UINT32_MAX) {
        hid_t s = H5Tcopy(H5T_C_S1);
        if (s >= 0 && (H5Tset_size(s, sz) < 0 || H5Tset_strpad(s, H5T_STR_NULLPAD) < 0)) {
            H5Tclose(s);
            return H5I_INVALID_HID;
        }
        *kind = SIM_H5READ_STR;
        *size = (uint32_t)sz;
        return s;
    }
    return H5I_INVALID_HID;
}

static void free_cols(sim_h5read_col *cols, size_t n)
{
    for (size_t i = 0; cols && i < n; i++)
        free((char *)cols[i].name);
    free(cols);
}

static void layout_release(layout *L)
{
    free_cols(L->cols, L->ncols);
    if (L->mtype >= 0)
        H5Tclose(L->mtype);
    *L = (layout){NULL, 0, 0, H5I_INVALID_HID};
}

/* Inserts member i of ftype into the memory type, packed after the others. */
static pu_err layout_member(layout *L, hid_t ftype, unsigned i, char *err, const char *path)
{
    char *nm = H5Tget_member_name(ftype, i);
    hid_t mt = H5Tget_member_type(ftype, i);
    sim_h5read_col *c = &L->cols[i];
    hid_t mem = mt >= 0 ? member_mem_type(mt, &c->kind, &c->size) : H5I_INVALID_HID;
    pu_err rc = PU_OK;
    if (!nm || mem < 0)
        rc = fail_msg(err, PU_ERR_RANGE, "unsupported column type in", path);
    else if (!(c->name = strdup(nm)))
        rc = PU_ERR_NOMEM;
    else {
        c->offset = L->row_size;
        L->row_size += c->size;
    }
    L->ncols = i + 1;
    if (rc == PU_OK && H5Tinsert(L->mtype, c->name, c->offset, mem) < 0)
        rc = fail_h5(err, "build type for", path);
    if (nm)
        H5free_memory(nm);
    if (mt >= 0)
        H5Tclose(mt);
    if (mem >= 0)
        H5Tclose(mem);
    return rc;
}

/* Memory layout for a compound file type.  The compound is first created
 * with the widest possible size and shrunk to the packed size at the end. */
static pu_err layout_build(hid_t ftype, const char *path, layout *L, char *err)
{
    *L = (layout){NULL, 0, 0, H5I_INVALID_HID};
    if (H5Tget_class(ftype) != H5T_COMPOUND)
        return fail_msg(err, PU_ERR_RANGE, "not a table:", path);
    int nm = H5Tget_nmembers(ftype);
    size_t fsize = H5Tget_size(ftype);
    if (nm <= 0 || fsize == 0)
        return fail_msg(err, PU_ERR_RANGE, "empty compound type in", path);
    L->cols = calloc((size_t)nm, sizeof *L->cols);
    if (!L->cols)
        return PU_ERR_NOMEM;
    /* Every member's memory size is at most 8 or its file size, so the
     * packed row never exceeds fsize + 8 * members. */
    L->mtype = H5Tcreate(H5T_COMPOUND, fsize + 8 * (size_t)nm);
    pu_err rc = L->mtype >= 0 ? PU_OK : fail_h5(err, "build type for", path);
    for (unsigned i = 0; rc == PU_OK && i < (unsigned)nm; i++)
        rc = layout_member(L, ftype, i, err, path);
    if (rc == PU_OK && H5Tset_size(L->mtype, L->row_size) < 0)
        rc = fail_h5(err, "build type for", path);
    if (rc != PU_OK)
        layout_release(L);
    return rc;
}

/* ---- open, list ---------------------------------------------------------- */

static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    sim_h5read *r = data;
    (void)obj;
    if (r->nobjs == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        robj *o = realloc(r->objs, cap * sizeof *o);
        if (!o)
            return -1;
        r->objs = o;
        r->cap = cap;
    }
    size_t len = strlen(name);
    char *p = malloc(len + 2);
    if (!p)
        return -1;
    p[0] = '/';
    if (strcmp(name, ".") == 0)
        p[1] = '\0';
    else
        memcpy(p + 1, name, len + 1);
    r->objs[r->nobjs++] = (robj){p, info->type == H5O_TYPE_DATASET, info->num_attrs};
    return 0;
}

static int robj_cmp(const void *a, const void *b)
{
    return strcmp(((const robj *)a)->path, ((const robj *)b)->path);
}

static pu_err list_objects(sim_h5read *r)
{
    if (H5Ovisit2(r->fid, H5_INDEX_NAME, H5_ITER_INC, visit_cb, r,
                  H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) < 0)
        return fail_h5(r->err, "list objects of", r->path);
    if (r->nobjs)
        qsort(r->objs, r->nobjs, sizeof *r->objs, robj_cmp);
    r->ds = malloc((r->nobjs ? r->nobjs : 1) * sizeof *r->ds);
    if (!r->ds)
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < r->nobjs; i++)
        if (r->objs[i].dataset)
            r->ds[r->nds++] = i;
    return PU_OK;
}

pu_err sim_h5read_open(const char *path, sim_h5read **out, char *err, size_t errlen)
{
    *out = NULL;
    sim_h5read *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return PU_ERR_NOMEM;
    }
    r->fid = H5I_INVALID_HID;
    /* The bytes are checked before HDF5 parses any of them: HDF5 1.10 can
     * crash on a damaged file (sim/h5sum.c). */
    r->sum = sim_h5_sum_check(path, r->err, sizeof r->err);
    if (r->sum == SIM_H5_SUM_BAD || r->sum == SIM_H5_SUM_IOERR) {
        if (err && errlen)
            snprintf(err, errlen, "%s", r->err);
        pu_err bad = r->sum == SIM_H5_SUM_BAD ? PU_ERR_PARSE : PU_ERR_IO;
        sim_h5read_free(r);
        return bad;
    }
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    pu_err rc = PU_OK;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_file_locking(fapl, 0, 1) < 0)
        rc = fail_h5(r->err, "open", path);
    r->fid = rc == PU_OK ? H5Fopen(path, H5F_ACC_RDONLY, fapl) : H5I_INVALID_HID;
    if (rc == PU_OK && r->fid < 0)
        rc = fail_h5(r->err, "open", path);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (rc == PU_OK)
        rc = list_objects(r);
    sim_h5_quiet_off(&q);
    if (rc != PU_OK) {
        if (err && errlen)
            snprintf(err, errlen, "%s", rc == PU_ERR_NOMEM ? "out of memory" : r->err);
        sim_h5read_free(r);
        return rc;
    }
    *out = r;
    return PU_OK;
}

void sim_h5read_free(sim_h5read *r)
{
    if (!r)
        return;
    if (r->fid >= 0) {
        sim_h5_quiet q;
        sim_h5_quiet_on(&q);
        H5Fclose(r->fid);
        H5Eclear2(H5E_DEFAULT);
        sim_h5_quiet_off(&q);
    }
    for (size_t i = 0; i < r->nobjs; i++)
        free(r->objs[i].path);
    free(r->objs);
    free(r->ds);
    free(r->path);
    free(r);
}

const char *sim_h5read_errmsg(const sim_h5read *r) { return r->err; }

size_t sim_h5read_ndatasets(const sim_h5read *r) { return r->nds; }

const char *sim_h5read_dataset_path(const sim_h5read *r, size_t i)
{
    return i < r->nds ? r->objs[r->ds[i]].path : NULL;
}

/* ---- rows ---------------------------------------------------------------- */

static herr_t read_block(hid_t ds, hid_t mtype, hsize_t start, hsize_t n, void *buf)
{
    hid_t fs = H5Dget_space(ds);
    hid_t ms = H5Screate_simple(1, &n, NULL);
    herr_t rv = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL) >= 0)
        rv = H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    sim_h5_drop(ms);
    sim_h5_drop(fs);
    return rv;
}

/* Opens a 1-D compound dataset and builds its memory layout. */
static pu_err open_table(sim_h5read *r, const char *path, hid_t *ds, layout *L, uint64_t *rows)
{
    *ds = H5I_INVALID_HID;
    *L = (layout){NULL, 0, 0, H5I_INVALID_HID};
    htri_t ex = H5Lexists(r->fid, path, H5P_DEFAULT);
    if (ex <= 0 || H5Oexists_by_name(r->fid, path, H5P_DEFAULT) <= 0)
        return fail_msg(r->err, PU_ERR_NOTFOUND, "no dataset", path);
    *ds = H5Dopen2(r->fid, path, H5P_DEFAULT);
    if (*ds < 0)
        return fail_msg(r->err, PU_ERR_NOTFOUND, "no dataset", path);
    hid_t sp = H5Dget_space(*ds), ft = H5Dget_type(*ds);
    hsize_t dims[1] = {0};
    pu_err rc = PU_OK;
    if (sp < 0 || ft < 0)
        rc = fail_h5(r->err, "inspect", path);
    else if (H5Sget_simple_extent_ndims(sp) != 1)
        rc = fail_msg(r->err, PU_ERR_RANGE, "not a 1-D table:", path);
    else if (H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        rc = fail_h5(r->err, "inspect", path);
    else
        rc = layout_build(ft, path, L, r->err);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    *rows = dims[0];
    if (rc != PU_OK) {
        H5Dclose(*ds);
        *ds = H5I_INVALID_HID;
    }
    return rc;
}

pu_err sim_h5read_table(sim_h5read *r, const char *path, sim_h5read_tab **out)
{
    *out = NULL;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    hid_t ds;
    layout L;
    uint64_t rows;
    pu_err rc = open_table(r, path, &ds, &L, &rows);
    sim_h5read_tab *t = NULL;
    if (rc == PU_OK && (rows > SIZE_MAX / (L.row_size ? L.row_size : 1) ||
                        !(t = calloc(1, sizeof *t)) ||
                        !(t->data = malloc(rows ? (size_t)rows * L.row_size : 1))))
        rc = PU_ERR_NOMEM;
    if (rc == PU_OK && rows && H5Dread(ds, L.mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0)
        rc = fail_h5(r->err, "read", path);
    if (rc == PU_OK) {
        t->cols = L.cols;
        t->ncols = L.ncols;
        t->row_size = L.row_size;
        t->nrows = rows;
        L.cols = NULL;
        L.ncols = 0;
        *out = t;
    } else if (t) {
        free(t->data);
        free(t);
    }
    layout_release(&L);
    if (ds >= 0)
        H5Dclose(ds);
    sim_h5_quiet_off(&q);
    return rc;
}

void sim_h5read_tab_free(sim_h5read_tab *t)
{
    if (!t)
        return;
    free_cols(t->cols, t->ncols);
    free(t->data);
    free(t);
}

uint64_t sim_h5read_tab_rows(const sim_h5read_tab *t) { return t->nrows; }
size_t sim_h5read_tab_ncols(const sim_h5read_tab *t) { return t->ncols; }
const sim_h5read_col *sim_h5read_tab_cols(const sim_h5read_tab *t) { return t->cols; }
const uint8_t *sim_h5read_tab_data(const sim_h5read_tab *t) { return t->data; }
size_t sim_h5read_tab_row_size(const sim_h5read_tab *t) { return t->row_size; }

pu_err sim_h5read_tab_col(const sim_h5read_tab *t, const char *name, size_t *idx)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) {
            *idx = i;
            return PU_OK;
        }
    *idx = 0;
    return PU_ERR_NOTFOUND;
}

/* One numeric cell, widened: exactly one of *u, *i, *d is meaningful,
 * as told by the return value (the column kind), 0 for none. */
static int cell(const sim_h5read_col *c, const uint8_t *p, uint64_t *u, int64_t *i, double *d)
{
    if (c->kind == SIM_H5READ_FLOAT) {
        memcpy(d, p, 8);
    } else if (c->kind == SIM_H5READ_UINT) {
        uint8_t v8; uint16_t v16; uint32_t v32;
        switch (c->size) {
        case 1: memcpy(&v8, p, 1); *u = v8; break;
        case 2: memcpy(&v16, p, 2); *u = v16; break;
        case 4: memcpy(&v32, p, 4); *u = v32; break;
        default: memcpy(u, p, 8); break;
        }
    } else if (c->kind == SIM_H5READ_INT) {
        int8_t v8; int16_t v16; int32_t v32;
        switch (c->size) {
        case 1: memcpy(&v8, p, 1); *i = v8; break;
        case 2: memcpy(&v16, p, 2); *i = v16; break;
        case 4: memcpy(&v32, p, 4); *i = v32; break;
        default: memcpy(i, p, 8); break;
        }
    } else {
        return 0;
    }
    return (int)c->kind;
}

static const uint8_t *cell_ptr(const sim_h5read_tab *t, uint64_t row, size_t col)
{
    if (row >= t->nrows || col >= t->ncols)
        return NULL;
    return t->data + (size_t)row * t->row_size + t->cols[col].offset;
}

/* Doubles out of the target's range (and NaN) give 0: a C cast would be
 * undefined behaviour there. */
uint64_t sim_h5read_tab_u64(const sim_h5read_tab *t, uint64_t row, size_t col)
{
    const uint8_t *p = cell_ptr(t, row, col);
    uint64_t u = 0; int64_t i = 0; double d = 0;
    switch (p ? cell(&t->cols[col], p, &u, &i, &d) : 0) {
    case SIM_H5READ_UINT: return u;
    case SIM_H5READ_INT: return (uint64_t)i;
    case SIM_H5READ_FLOAT: return d >= 0 && d < 18446744073709551616.0 ? (uint64_t)d : 0;
    default: return 0;
    }
}

int64_t sim_h5read_tab_i64(const sim_h5read_tab *t, uint64_t row, size_t col)
{
    const uint8_t *p = cell_ptr(t, row, col);
    uint64_t u = 0; int64_t i = 0; double d = 0;
    switch (p ? cell(&t->cols[col], p, &u, &i, &d) : 0) {
    case SIM_H5READ_UINT: return (int64_t)u;
    case SIM_H5READ_INT: return i;
    case SIM_H5READ_FLOAT:
        return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : 0;
    default: return 0;
    }
}

double sim_h5read_tab_f64(const sim_h5read_tab *t, uint64_t row, size_t col)
{
    const uint8_t *p = cell_ptr(t, row, col);
    uint64_t u = 0; int64_t i = 0; double d = 0;
    switch (p ? cell(&t->cols[col], p, &u, &i, &d) : 0) {
    case SIM_H5READ_UINT: return (double)u;
    case SIM_H5READ_INT: return (double)i;
    case SIM_H5READ_FLOAT: return d;
    default: return 0;
    }
}

char *sim_h5read_tab_str(const sim_h5read_tab *t, uint64_t row, size_t col, char *buf, size_t n)
{
    const uint8_t *p = cell_ptr(t, row, col);
    if (!n)
        return buf;
    buf[0] = '\0';
    if (!p || t->cols[col].kind != SIM_H5READ_STR)
        return buf;
    size_t len = strnlen((const char *)p, t->cols[col].size);
    if (len >= n)
        len = n - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* ---- attributes ---------------------------------------------------------- */

/* Before any read allocates or HDF5 converts: the element count is sane and,
 * for fixed-size types, exactly backed by the bytes stored (a damaged
 * dataspace or type would otherwise size a buffer HDF5 then overruns).
 * Variable-length strings are read one at a time (callers want a scalar). */
static bool attr_size_ok(hid_t aid, hid_t ty, hssize_t np)
{
    if (np < 0 || (uint64_t)np > ATTR_MAX_VALUES)
        return false;
    if (H5Tis_variable_str(ty) > 0)
        return true;
    size_t elem = H5Tget_size(ty);
    hsize_t stored = H5Aget_storage_size(aid);
    return elem > 0 && elem <= ATTR_MAX_BYTES && (uint64_t)np * elem <= ATTR_MAX_BYTES &&
           stored == (hsize_t)np * elem;
}

/* Opens attribute `name` of `obj`; *n = element count (1 for a scalar). */
static pu_err attr_open(sim_h5read *r, const char *obj, const char *name, hid_t *aid,
                        H5T_class_t *cls, H5T_sign_t *sign, size_t *n)
{
    *aid = H5I_INVALID_HID;
    htri_t ex = H5Oexists_by_name(r->fid, obj, H5P_DEFAULT) > 0
                    ? H5Aexists_by_name(r->fid, obj, name, H5P_DEFAULT) : 0;
    if (ex <= 0)
        return fail_msg(r->err, PU_ERR_NOTFOUND, "no attribute", name);
    *aid = H5Aopen_by_name(r->fid, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = *aid >= 0 ? H5Aget_space(*aid) : H5I_INVALID_HID;
    hid_t ty = *aid >= 0 ? H5Aget_type(*aid) : H5I_INVALID_HID;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    pu_err rc = PU_OK;
    if (sp < 0 || ty < 0 || np < 0)
        rc = fail_h5(r->err, "read attribute", name);
    else if (rank > 1)
        rc = fail_msg(r->err, PU_ERR_RANGE, "attribute is not 1-D:", name);
    else if (!attr_size_ok(*aid, ty, np))
        rc = fail_msg(r->err, PU_ERR_RANGE,
                      "damaged attribute (its shape and its stored size disagree):", name);
    else {
        *cls = H5Tget_class(ty);
        *sign = *cls == H5T_INTEGER ? H5Tget_sign(ty) : H5T_SGN_ERROR;
        *n = (size_t)np;
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (ty >= 0)
        H5Tclose(ty);
    if (rc != PU_OK && *aid >= 0) {
        H5Aclose(*aid);
        *aid = H5I_INVALID_HID;
    }
    return rc;
}

/* Reads a numeric attribute of class `want` (and signedness, for integers)
 * as `mtype` into a new array of 8-byte values. */
static pu_err attr_numbers(sim_h5read *r, const char *obj, const char *name, H5T_class_t want,
                           H5T_sign_t wsign, hid_t mtype, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    hid_t aid;
    H5T_class_t cls;
    H5T_sign_t sign;
    size_t cnt;
    pu_err rc = attr_open(r, obj, name, &aid, &cls, &sign, &cnt);
    if (rc != PU_OK)
        return rc;
    void *buf = NULL;
    if (cls != want || (want == H5T_INTEGER && sign != wsign))
        rc = fail_msg(r->err, PU_ERR_RANGE, "attribute has another type:", name);
    else if (cnt && !(buf = malloc(cnt * 8)))
        rc = PU_ERR_NOMEM;
    else if (cnt && H5Aread(aid, mtype, buf) < 0)
        rc = fail_h5(r->err, "read attribute", name);
    H5Aclose(aid);
    if (rc != PU_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *n = cnt;
    return PU_OK;
}

static pu_err attr_one(sim_h5read *r, const char *obj, const char *name, H5T_class_t want,
                       H5T_sign_t wsign, hid_t mtype, void *out)
{
    void *buf;
    size_t n;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    pu_err rc = attr_numbers(r, obj, name, want, wsign, mtype, &buf, &n);
    sim_h5_quiet_off(&q);
    if (rc == PU_OK && n != 1)
        rc = fail_msg(r->err, PU_ERR_RANGE, "attribute is not a single value:", name);
    if (rc == PU_OK)
        memcpy(out, buf, 8);
    free(buf);
    return rc;
}

pu_err sim_h5read_attr_u64(sim_h5read *r, const char *obj, const char *name, uint64_t *out)
{
    *out = 0;
    return attr_one(r, obj, name, H5T_INTEGER, H5T_SGN_NONE, H5T_NATIVE_UINT64, out);
}

pu_err sim_h5read_attr_i64(sim_h5read *r, const char *obj, const char *name, int64_t *out)
{
    *out = 0;
    return attr_one(r, obj, name, H5T_INTEGER, H5T_SGN_2, H5T_NATIVE_INT64, out);
}

pu_err sim_h5read_attr_f64(sim_h5read *r, const char *obj, const char *name, double *out)
{
    *out = 0;
    return attr_one(r, obj, name, H5T_FLOAT, H5T_SGN_ERROR, H5T_NATIVE_DOUBLE, out);
}

pu_err sim_h5read_attr_u64_array(sim_h5read *r, const char *obj, const char *name,
                                 uint64_t **out, size_t *n)
{
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    void *buf;
    pu_err rc = attr_numbers(r, obj, name, H5T_INTEGER, H5T_SGN_NONE, H5T_NATIVE_UINT64, &buf, n);
    sim_h5_quiet_off(&q);
    *out = buf;
    return rc;
}

pu_err sim_h5read_attr_f64_array(sim_h5read *r, const char *obj, const char *name,
                                 double **out, size_t *n)
{
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    void *buf;
    pu_err rc = attr_numbers(r, obj, name, H5T_FLOAT, H5T_SGN_ERROR, H5T_NATIVE_DOUBLE, &buf, n);
    sim_h5_quiet_off(&q);
    *out = buf;
    return rc;
}

/* A scalar string attribute, variable or fixed length, as a new C string. */
static pu_err read_str_attr(hid_t aid, char **out, size_t *len)
{
    *out = NULL;
    hid_t sp = H5Aget_space(aid);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    if (np != 1) /* one value, or H5Aread would write more than *out holds */
        return PU_ERR_RANGE;
    hid_t ft = H5Aget_type(aid);
    if (ft < 0)
        return PU_ERR_IO;
    pu_err rc = PU_OK;
    hid_t mt = H5Tcopy(ft);
    if (H5Tis_variable_str(ft) > 0) {
        char *v = NULL;
        if (mt < 0 || H5Aread(aid, mt, &v) < 0)
            rc = PU_ERR_IO;
        else if (!(*out = strdup(v ? v : "")))
            rc = PU_ERR_NOMEM;
        if (v)
            H5free_memory(v);
    } else {
        size_t sz = H5Tget_size(ft);
        char *v = malloc(sz + 1);
        if (!v)
            rc = PU_ERR_NOMEM;
        else if (mt < 0 || H5Aread(aid, mt, v) < 0)
            rc = PU_ERR_IO;
        if (rc == PU_OK) {
            v[sz] = '\0';
            *out = v;
        } else {
            free(v);
        }
    }
    sim_h5_drop(mt);
    sim_h5_drop(ft);
    if (rc == PU_OK)
        *len = strlen(*out);
    return rc;
}

pu_err sim_h5read_attr_str(sim_h5read *r, const char *obj, const char *name, char **out)
{
    *out = NULL;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    hid_t aid;
    H5T_class_t cls;
    H5T_sign_t sign;
    size_t n, len;
    pu_err rc = attr_open(r, obj, name, &aid, &cls, &sign, &n);
    if (rc == PU_OK && (cls != H5T_STRING || n != 1))
        rc = fail_msg(r->err, PU_ERR_RANGE, "attribute is not a string:", name);
    if (rc == PU_OK && (rc = read_str_attr(aid, out, &len)) == PU_ERR_IO)
        fail_h5(r->err, "read attribute", name);
    sim_h5_drop(aid);
    sim_h5_quiet_off(&q);
    return rc;
}

typedef struct name_list {
    char **v;
    size_t n, cap;
    bool nomem;
} name_list;

static herr_t collect_name(hid_t loc, const char *name, const H5A_info_t *ai, void *data)
{
    (void)loc;
    (void)ai;
    name_list *L = data;
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 16;
        char **nv = realloc(L->v, cap * sizeof *nv);
        if (!nv) {
            L->nomem = true;
            return -1;
        }
        L->v = nv;
        L->cap = cap;
    }
    if (!(L->v[L->n] = strdup(name))) {
        L->nomem = true;
        return -1;
    }
    L->n++;
    return 0;
}

pu_err sim_h5read_attr_names(sim_h5read *r, const char *obj, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    name_list L = {NULL, 0, 0, false};
    pu_err rc = PU_OK;
    hid_t o = H5Oexists_by_name(r->fid, obj, H5P_DEFAULT) > 0
                  ? H5Oopen(r->fid, obj, H5P_DEFAULT) : H5I_INVALID_HID;
    if (o < 0)
        rc = fail_msg(r->err, PU_ERR_NOTFOUND, "no object", obj);
    else if (H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &L) < 0)
        rc = L.nomem ? PU_ERR_NOMEM : fail_h5(r->err, "list the attributes of", obj);
    if (o >= 0)
        H5Oclose(o);
    H5Eclear2(H5E_DEFAULT);
    sim_h5_quiet_off(&q);
    if (rc != PU_OK) {
        sim_h5read_names_free(L.v, L.n);
        return rc;
    }
    *out = L.v;
    *n = L.n;
    return PU_OK;
}

void sim_h5read_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- info ---------------------------------------------------------------- */

static void put_escaped(FILE *out, const char *s, size_t len)
{
    size_t n = len < INFO_STR_MAX ? len : INFO_STR_MAX;
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
    if (n < len)
        fprintf(out, "... (%zu bytes)", len);
}

static void put_numbers(FILE *out, const void *buf, size_t n, H5T_class_t cls, H5T_sign_t sign)
{
    if (n == 0)
        fputs("(empty)", out);
    for (size_t i = 0; i < n && i < INFO_ARRAY_MAX; i++) {
        const uint8_t *p = (const uint8_t *)buf + 8 * i;
        uint64_t u;
        int64_t v;
        double d;
        if (i)
            fputs(", ", out);
        if (cls == H5T_FLOAT) {
            memcpy(&d, p, 8);
            fprintf(out, "%.17g", d);
        } else if (sign == H5T_SGN_NONE) {
            memcpy(&u, p, 8);
            fprintf(out, "%" PRIu64, u);
        } else {
            memcpy(&v, p, 8);
            fprintf(out, "%" PRId64, v);
        }
    }
    if (n > INFO_ARRAY_MAX)
        fprintf(out, ", ... (%zu values)", n);
}

typedef struct info_ctx {
    sim_h5read *r;
    const char *obj;
    FILE *out;
} info_ctx;

static herr_t info_attr(hid_t loc, const char *name, const H5A_info_t *ai, void *data)
{
    info_ctx *c = data;
    (void)ai;
    (void)loc;
    hid_t aid, ty;
    H5T_class_t cls;
    H5T_sign_t sign;
    size_t n, len;
    char tn[32] = "?";
    if (attr_open(c->r, c->obj, name, &aid, &cls, &sign, &n) != PU_OK) {
        fprintf(c->out, "  %s: (unreadable)\n", name);
        return 0;
    }
    if ((ty = H5Aget_type(aid)) >= 0) {
        type_name(ty, tn, sizeof tn);
        H5Tclose(ty);
    }
    hid_t sp = H5Aget_space(aid);
    bool scalar = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 0;
    if (sp >= 0)
        H5Sclose(sp);
    fprintf(c->out, "  %s: %s", name, tn);
    if (!scalar)
        fprintf(c->out, "[%zu]", n);
    fputs(" = ", c->out);
    void *buf = NULL;
    char *s = NULL;
    if (cls == H5T_STRING && scalar && read_str_attr(aid, &s, &len) == PU_OK)
        put_escaped(c->out, s, len);
    else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        hid_t mt = cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE
                   : sign == H5T_SGN_NONE ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
        buf = malloc(n ? n * 8 : 1);
        if (buf && (n == 0 || H5Aread(aid, mt, buf) >= 0))
            put_numbers(c->out, buf, n, cls, sign);
        else
            fputs("(unreadable)", c->out);
    } else
        fputs("(not shown)", c->out);
    fputc('\n', c->out);
    free(buf);
    free(s);
    H5Aclose(aid);
    H5Eclear2(H5E_DEFAULT);
    return 0;
}

static void info_dataset(sim_h5read *r, const char *path, FILE *out)
{
    hid_t ds = H5Dopen2(r->fid, path, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hid_t ft = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    char tn[32];
    if (rank < 0 || ft < 0) {
        fprintf(out, "  %s: (unreadable)\n", path);
    } else if (rank == 1 && H5Tget_class(ft) == H5T_COMPOUND) {
        fprintf(out, "  %s: %llu rows;", path, (unsigned long long)dims[0]);
        int nm = H5Tget_nmembers(ft);
        for (int i = 0; i < nm; i++) {
            char *name = H5Tget_member_name(ft, (unsigned)i);
            hid_t mt = H5Tget_member_type(ft, (unsigned)i);
            snprintf(tn, sizeof tn, "?");
            if (mt >= 0)
                type_name(mt, tn, sizeof tn);
            fprintf(out, "%s %s %s", i ? "," : "", name ? name : "?", tn);
            if (name)
                H5free_memory(name);
            if (mt >= 0)
                H5Tclose(mt);
        }
        fputc('\n', out);
    } else {
        fprintf(out, "  %s: shape (", path);
        for (int i = 0; i < rank; i++)
            fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        type_name(ft, tn, sizeof tn);
        fprintf(out, "); %s\n", tn);
    }
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
}

pu_err sim_h5read_info(sim_h5read *r, FILE *out)
{
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    fprintf(out, "file: %s\n", r->path);
    fputs(r->sum == SIM_H5_SUM_OK ? "checksum: SHA-256 verified\n"
                                  : "checksum: none (not checked)\n", out);
    for (size_t i = 0; i < r->nobjs; i++) {
        if (!r->objs[i].nattrs)
            continue;
        fprintf(out, "attributes of %s:\n", r->objs[i].path);
        info_ctx c = {r, r->objs[i].path, out};
        hid_t o = H5Oopen(r->fid, r->objs[i].path, H5P_DEFAULT);
        if (o < 0 || H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, info_attr, &c) < 0)
            fputs("  (unreadable)\n", out);
        if (o >= 0)
            H5Oclose(o);
        H5Eclear2(H5E_DEFAULT);
    }
    fprintf(out, "datasets: %zu\n", r->nds);
    for (size_t i = 0; i < r->nds; i++)
        info_dataset(r, r->objs[r->ds[i]].path, out);
    sim_h5_quiet_off(&q);
    if (ferror(out)) {
        snprintf(r->err, ERRLEN, "write error on the info output");
        return PU_ERR_IO;
    }
    return PU_OK;
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_str(FILE *fp, const uint8_t *p, size_t size)
{
    size_t len = strnlen((const char *)p, size);
    bool quote = false;
    for (size_t i = 0; i < len; i++)
        if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
            quote = true;
    if (!quote) {
        fwrite(p, 1, len, fp);
        return;
    }
    fputc('"', fp);
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '"')
            fputc('"', fp);
        fputc(p[i], fp);
    }
    fputc('"', fp);
}

static void csv_row(FILE *fp, const layout *L, const uint8_t *row)
{
    for (size_t c = 0; c < L->ncols; c++) {
        const sim_h5read_col *col = &L->cols[c];
        uint64_t u = 0;
        int64_t i = 0;
        double d = 0;
        if (c)
            fputc(',', fp);
        switch (cell(col, row + col->offset, &u, &i, &d)) {
        case SIM_H5READ_UINT: fprintf(fp, "%" PRIu64, u); break;
        case SIM_H5READ_INT: fprintf(fp, "%" PRId64, i); break;
        case SIM_H5READ_FLOAT: fprintf(fp, "%.17g", d); break;
        default: csv_str(fp, row + col->offset, col->size); break;
        }
    }
    fputc('\n', fp);
}

/* Streams the rows of one table into an open CSV file. */
static pu_err csv_rows(sim_h5read *r, const char *path, hid_t ds, const layout *L,
                       uint64_t rows, FILE *fp)
{
    size_t block = EXPORT_BLOCK_BYTES / L->row_size;
    if (block == 0)
        block = 1;
    uint8_t *buf = malloc(block * L->row_size);
    if (!buf)
        return PU_ERR_NOMEM;
    pu_err rc = PU_OK;
    for (uint64_t at = 0; at < rows && rc == PU_OK; at += block) {
        uint64_t n = rows - at < block ? rows - at : block;
        if (read_block(ds, L->mtype, at, n, buf) < 0) {
            rc = fail_h5(r->err, "read", path);
            break;
        }
        for (uint64_t k = 0; k < n; k++)
            csv_row(fp, L, buf + (size_t)k * L->row_size);
    }
    free(buf);
    return rc;
}

static char *csv_name(const char *dir, const char *path)
{
    size_t nd = strlen(dir), np = strlen(path);
    char *s = malloc(nd + np + 6);
    if (!s)
        return NULL;
    memcpy(s, dir, nd);
    s[nd] = '/';
    for (size_t i = 1; i < np; i++)
        s[nd + i] = path[i] == '/' ? '_' : path[i];
    memcpy(s + nd + np, ".csv", 5);
    return s;
}

/* One table into `fn`, the temporary file sim/outfile made for its CSV. */
static pu_err export_one(sim_h5read *r, const char *path, const char *fn)
{
    hid_t ds;
    layout L;
    uint64_t rows;
    pu_err rc = open_table(r, path, &ds, &L, &rows);
    if (rc != PU_OK)
        return rc;
    FILE *fp = fopen(fn, "w");
    if (!fp)
        rc = fail_msg(r->err, PU_ERR_IO, strerror(errno), fn);
    if (rc == PU_OK) {
        for (size_t c = 0; c < L.ncols; c++)
            fprintf(fp, "%s%s", c ? "," : "", L.cols[c].name);
        fputc('\n', fp);
        rc = csv_rows(r, path, ds, &L, rows, fp);
    }
    if (fp) {
        bool bad = ferror(fp) != 0;
        if (fclose(fp) != 0 || bad)
            rc = rc != PU_OK ? rc : fail_msg(r->err, PU_ERR_IO, "write error on", fn);
    }
    layout_release(&L);
    H5Dclose(ds);
    return rc;
}

/* True for 1-D compound datasets, the ones exported. */
static bool is_table(sim_h5read *r, const char *path)
{
    hid_t ds = H5Dopen2(r->fid, path, H5P_DEFAULT);
    hid_t sp = ds >= 0 ? H5Dget_space(ds) : H5I_INVALID_HID;
    hid_t ft = ds >= 0 ? H5Dget_type(ds) : H5I_INVALID_HID;
    bool yes = sp >= 0 && ft >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
               H5Tget_class(ft) == H5T_COMPOUND;
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

/* Two paths whose CSV names coincide ("/a_b" and "/a/b") would overwrite
 * each other's file: refuse before writing anything. */
static pu_err check_csv_names(sim_h5read *r)
{
    for (size_t i = 0; i < r->nds; i++)
        for (size_t j = i + 1; j < r->nds; j++) {
            const char *a = r->objs[r->ds[i]].path, *b = r->objs[r->ds[j]].path;
            size_t k = 0;
            while (a[k] && (a[k] == b[k] || (a[k] == '/' && b[k] == '_') ||
                            (a[k] == '_' && b[k] == '/')))
                k++;
            if (!a[k] && !b[k])
                return fail_msg(r->err, PU_ERR_EXISTS, "same CSV name for", b);
        }
    return PU_OK;
}

/* Every CSV declared (refusals before anything is written), then written
 * aside; the caller commits the set. */
static pu_err export_all(sim_h5read *r, const char *dir, sim_outset *set, unsigned flags,
                         size_t *nfiles)
{
    size_t n = 0;
    sim_outfile **outs = calloc(r->nds ? r->nds : 1, sizeof *outs);
    pu_err rc = outs ? sim_outset_input(set, "the run file", r->path, r->err, sizeof r->err)
                     : PU_ERR_NOMEM;
    for (size_t i = 0; i < r->nds && rc == PU_OK; i++) {
        const char *path = r->objs[r->ds[i]].path;
        if (!is_table(r, path))
            continue;
        char *fn = csv_name(dir, path);
        rc = fn ? sim_outset_output(set, "CSV", fn, flags, &outs[i], r->err, sizeof r->err)
                : PU_ERR_NOMEM;
        free(fn);
    }
    for (size_t i = 0; i < r->nds && rc == PU_OK; i++)
        if (outs[i] && (rc = export_one(r, r->objs[r->ds[i]].path, sim_outfile_path(outs[i]))) ==
                           PU_OK)
            n++;
    *nfiles = n;
    free(outs);
    return rc;
}

pu_err sim_h5read_export_csv(sim_h5read *r, const char *dir, sim_outset *set, unsigned flags,
                             size_t *nfiles)
{
    *nfiles = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fail_msg(r->err, PU_ERR_IO, strerror(errno), dir);
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    pu_err rc = check_csv_names(r);
    if (rc == PU_OK)
        rc = export_all(r, dir, set, flags, nfiles);
    sim_h5_quiet_off(&q);
    return rc;
}

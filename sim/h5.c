/* sim/h5.c -- deterministic, crash-tolerant HDF5 output (see sim/h5.h).
 *
 * State kept in memory: the declared objects (groups and tables) in
 * declaration order, the attributes in order of first setting, and for each
 * table one chunk of packed rows.  Files on disk: side[0] and side[1], one of
 * which `path` also names (the published one), the other open for writing
 * (the working one).  Bit k of an object's `in_file` says it exists in
 * side[k]; bit k of an attribute's `dirty` says side[k] lacks its current
 * value (bit 2 stands for the final file while it is written). */
#include "sim/h5.h"
#include "sim/h5_int.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bound on one chunk buffer: rows are small, and a bigger buffer would only
 * hide a chunk_rows mistake behind a huge allocation. */
#define CHUNK_BYTES_MAX ((size_t)256 << 20)
#define NAME_MAX_LEN 255u

typedef struct col_int {
    char *name;
    sim_h5_type type;
    uint32_t size;   /* bytes in a packed row */
    size_t src_off;  /* in the caller's struct */
    size_t off;      /* in a packed row */
} col_int;

struct sim_h5_table {
    sim_h5 *f;
    size_t obj;          /* index in f->objs */
    col_int *cols;
    size_t ncols;
    size_t row_size;     /* packed: sum of column sizes, no padding */
    uint32_t chunk_rows;
    int deflate;
    hid_t mtype, ftype;  /* compound types: native in memory, little-endian in files */
    uint8_t *buf;        /* chunk_rows packed rows; also the copy buffer */
    void *raw;           /* one stored chunk, for copy_chunks() */
    size_t raw_cap;
    uint32_t nbuf;       /* rows waiting in buf */
    uint32_t room;       /* appends left before buf reaches a chunk boundary */
    uint64_t nrows;      /* rows appended in total */
    uint64_t in_file[2]; /* rows stored in side[k] */
    hid_t ds;            /* the dataset in the working file, or H5I_INVALID_HID */
};

enum { OBJ_GROUP, OBJ_TABLE };

typedef struct objrec {
    int kind;
    char *path;
    unsigned in_file;    /* bit k: created in side[k] */
    sim_h5_table *t;     /* OBJ_TABLE */
} objrec;

typedef enum akind { A_STR, A_U64, A_I64, A_F64, A_U64S, A_F64S } akind;

typedef struct attrrec {
    size_t obj;
    char *name;
    akind kind;
    uint64_t u;
    int64_t i;
    double d;
    void *data;          /* A_STR: the string; arrays: n values */
    size_t n;
    unsigned dirty;      /* bit k: side[k] lacks the current value */
} attrrec;

struct sim_h5 {
    char *path, *side[2], *tmp, *dir;
    unsigned flags;
    hid_t driver;        /* sim/h5vfd.c, registered for this object */
    int io_err;          /* first write error the driver swallowed (errno), 0 = none */
    int work;            /* index of the working file */
    hid_t fid;           /* working file, or H5I_INVALID_HID */
    objrec *objs;
    size_t nobjs, cap_objs;
    attrrec *attrs;
    size_t nattrs, cap_attrs;
    bool failed;
    char err[SIM_H5_ERRLEN];
};

/* ---- error reporting ---------------------------------------------------- */

static pu_err fail_os(sim_h5 *f, const char *what, const char *name, int err);

static pu_err fail_h5(sim_h5 *f, const char *what, const char *name)
{
    if (f->io_err) { /* the real cause: a write the driver could not do */
        H5Eclear2(H5E_DEFAULT);
        return fail_os(f, "write", name, f->io_err);
    }
    snprintf(f->err, sizeof f->err, "hdf5: %s %s", what, name ? name : "");
    sim_h5_walk w = {f->err, sizeof f->err, false};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, sim_h5_walk_first, &w);
    H5Eclear2(H5E_DEFAULT);
    for (char *c = f->err; *c; c++) /* HDF5's texts may span lines; ours are one */
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    f->failed = true;
    return PU_ERR_IO;
}

/* A write the driver swallowed breaks the file it went to: say so. */
static pu_err io_check(sim_h5 *f, const char *name)
{
    return f->io_err ? fail_os(f, "write", name, f->io_err) : PU_OK;
}

static pu_err fail_os(sim_h5 *f, const char *what, const char *name, int err)
{
    snprintf(f->err, sizeof f->err, "%s %s: %s", what, name, strerror(err));
    f->failed = true;
    return PU_ERR_IO;
}

static pu_err bad_arg(sim_h5 *f, pu_err rc, const char *what, const char *name)
{
    snprintf(f->err, sizeof f->err, "%s: %s", what, name ? name : "(null)");
    return rc;
}

static void copy_err(const char *msg, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* ---- names -------------------------------------------------------------- */

static bool name_ok(const char *s, bool path_chars)
{
    size_t n = 0;
    if (!s || !*s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (path_chars && (c == '.' || c == '-'));
        if (!ok || n >= NAME_MAX_LEN)
            return false;
    }
    return true;
}

/* "/a/b": each component a name, "." and ".." refused; "/" alone is the root. */
static bool path_ok(const char *p, bool root_ok)
{
    char comp[NAME_MAX_LEN + 1];
    if (!p || p[0] != '/')
        return false;
    if (p[1] == '\0')
        return root_ok;
    const char *s = p + 1;
    for (;;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || len > NAME_MAX_LEN)
            return false;
        memcpy(comp, s, len);
        comp[len] = '\0';
        if (!name_ok(comp, true) || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
            return false;
        if (!e)
            return true;
        s = e + 1;
    }
}

static char *cat_str(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 1);
    if (p) {
        memcpy(p, a, na);
        memcpy(p + na, b, nb + 1);
    }
    return p;
}

/* ---- objects ------------------------------------------------------------ */

static size_t find_obj(const sim_h5 *f, const char *path)
{
    for (size_t i = 0; i < f->nobjs; i++)
        if (strcmp(f->objs[i].path, path) == 0)
            return i;
    return SIZE_MAX;
}

static pu_err add_obj(sim_h5 *f, int kind, const char *path, sim_h5_table *t, size_t *idx)
{
    if (f->nobjs == f->cap_objs) {
        size_t cap = f->cap_objs ? 2 * f->cap_objs : 16;
        objrec *o = realloc(f->objs, cap * sizeof *o);
        if (!o)
            return PU_ERR_NOMEM;
        f->objs = o;
        f->cap_objs = cap;
    }
    char *p = strdup(path);
    if (!p)
        return PU_ERR_NOMEM;
    f->objs[f->nobjs] = (objrec){kind, p, 0, t};
    *idx = f->nobjs++;
    return PU_OK;
}

/* Declares every group on the way to `path` (exclusive when `last` is false),
 * so that creating objects in declaration order always finds the parent. */
static pu_err ensure_groups(sim_h5 *f, const char *path, bool last, size_t *idx)
{
    size_t len = strlen(path);
    char *buf = strdup(path);
    pu_err rc = buf ? PU_OK : PU_ERR_NOMEM;
    for (size_t end = 1; rc == PU_OK && end <= len; end++) {
        if (end < len && path[end] != '/')
            continue;
        if (end == len && !last)
            break;
        buf[end] = '\0';
        size_t i = find_obj(f, buf);
        if (i == SIZE_MAX)
            rc = add_obj(f, OBJ_GROUP, buf, NULL, &i);
        else if (f->objs[i].kind != OBJ_GROUP)
            rc = bad_arg(f, PU_ERR_EXISTS, "a table is in the way of", path);
        if (idx)
            *idx = i;
        buf[end] = path[end];
    }
    free(buf);
    return rc;
}

/* ---- property lists ------------------------------------------------------ */

static hid_t make_fapl(sim_h5 *f)
{
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    if (p >= 0 && sim_h5_vfd_set(p, f->driver, &f->io_err) < 0) {
        sim_h5_drop(p);
        return H5I_INVALID_HID;
    }
    /* The 1.8 format on both ends: readable by every h5py, and the format
     * choice can't drift when the library is upgraded. */
    if (p >= 0 && (H5Pset_libver_bounds(p, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
                   /* We never need HDF5's flock(): our scratch files are ours
                    * alone, and a reader holding `path` must not make the
                    * next checkpoint fail. */
                   H5Pset_file_locking(p, 0, 1) < 0 ||
                   H5Pset_fclose_degree(p, H5F_CLOSE_STRONG) < 0 ||
                   /* No raw-data chunk cache: we write whole chunks, so the
                    * cache would only defer the writes to a flush, where a
                    * full disk breaks HDF5 1.10 beyond repair (a failed
                    * flush leaves a file that crashes the library's exit
                    * handler).  Written at once, a failed write is an error
                    * returned by H5Dwrite, and the library stays sound. */
                   H5Pset_cache(p, 0, 0, 0, 1.0) < 0)) {
        sim_h5_drop(p);
        return H5I_INVALID_HID;
    }
    return p;
}

static hid_t make_fcpl(void)
{
    hid_t p = H5Pcreate(H5P_FILE_CREATE);
    /* The user block holds the whole-file checksum (sim/h5sum.c). */
    if (p >= 0 && (H5Pset_obj_track_times(p, 0) < 0 || H5Pset_userblock(p, SIM_H5_USERBLOCK) < 0)) {
        sim_h5_drop(p);
        return H5I_INVALID_HID;
    }
    return p;
}

static hid_t make_gcpl(void)
{
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
        sim_h5_drop(p);
        return H5I_INVALID_HID;
    }
    return p;
}

/* A user-defined all-zero fill value: partial chunks (the last one of a
 * table) are then initialised from it rather than from recycled memory. */
static hid_t make_dcpl(const sim_h5_table *t, hsize_t chunk)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    uint8_t *zero = calloc(1, t->row_size);
    bool ok = p >= 0 && zero && H5Pset_obj_track_times(p, 0) >= 0 &&
              H5Pset_chunk(p, 1, &chunk) >= 0 && H5Pset_fill_value(p, t->ftype, zero) >= 0 &&
              H5Pset_fill_time(p, H5D_FILL_TIME_IFSET) >= 0;
    /* Shuffle first: in packed rows it groups byte k of every row, which is
     * what lets deflate see the slowly varying high bytes of the integers. */
    if (ok && t->deflate > 0)
        ok = H5Pset_shuffle(p) >= 0 && H5Pset_deflate(p, (unsigned)t->deflate) >= 0;
    /* Last in the pipeline, so it checks the bytes as stored: a damaged
     * chunk is a read error in every HDF5 reader, never wrong values. */
    if (ok)
        ok = H5Pset_fletcher32(p) >= 0;
    free(zero);
    if (!ok) {
        sim_h5_drop(p);
        return H5I_INVALID_HID;
    }
    return p;
}

/* ---- HDF5 object helpers ------------------------------------------------- */

static hid_t create_dataset(hid_t fid, const sim_h5_table *t, hsize_t rows, hsize_t chunk)
{
    hsize_t maxd = H5S_UNLIMITED;
    hid_t sp = H5Screate_simple(1, &rows, &maxd);
    hid_t dcpl = make_dcpl(t, chunk);
    hid_t ds = H5I_INVALID_HID;
    if (sp >= 0 && dcpl >= 0)
        ds = H5Dcreate2(fid, t->f->objs[t->obj].path, t->ftype, sp, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT);
    sim_h5_drop(sp);
    sim_h5_drop(dcpl);
    return ds;
}

static herr_t rows_io(hid_t ds, hid_t mtype, uint64_t start, size_t n, void *buf, bool write)
{
    hsize_t st = start, cnt = n;
    hid_t fs = H5Dget_space(ds);
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    herr_t r = -1;
    if (fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cnt, NULL) >= 0)
        r = write ? H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf)
                  : H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    sim_h5_drop(ms);
    sim_h5_drop(fs);
    return r;
}

/* The chunks holding rows [from, to), copied as stored (still compressed)
 * with direct chunk I/O: no decompression, no recompression, no type
 * conversion.  Needs identical chunk size and filters on both sides, and no
 * cached copy of those chunks in dst (it was just opened or created).  The
 * chunk bytes are a function of the rows and the fill value only, so the
 * result is the same as writing the rows. */
static herr_t copy_chunks(sim_h5_table *t, hid_t src, hid_t dst, uint64_t from, uint64_t to)
{
    for (uint64_t c = from / t->chunk_rows; c * t->chunk_rows < to; c++) {
        hsize_t off = c * t->chunk_rows, nbytes = 0;
        uint32_t mask = 0;
        if (H5Dget_chunk_storage_size(src, &off, &nbytes) < 0 || nbytes == 0 ||
            nbytes > SIZE_MAX)
            return -1;
        if (nbytes > t->raw_cap) {
            void *p = realloc(t->raw, (size_t)nbytes);
            if (!p)
                return -1;
            t->raw = p;
            t->raw_cap = (size_t)nbytes;
        }
        if (H5Dread_chunk(src, H5P_DEFAULT, &off, &mask, t->raw) < 0 ||
            H5Dwrite_chunk(dst, H5P_DEFAULT, mask, &off, (size_t)nbytes, t->raw) < 0)
            return -1;
    }
    return 0;
}

/* Rows [from, to) of src into dst (which already has room), through t->buf,
 * in pieces that end on chunk boundaries so each write fills whole chunks. */
static herr_t copy_rows(sim_h5_table *t, hid_t src, hid_t dst, uint64_t from, uint64_t to)
{
    while (from < to) {
        uint64_t n = t->chunk_rows - from % t->chunk_rows;
        if (n > to - from)
            n = to - from;
        if (rows_io(src, t->mtype, from, (size_t)n, t->buf, false) < 0 ||
            rows_io(dst, t->mtype, from, (size_t)n, t->buf, true) < 0)
            return -1;
        from += n;
    }
    return 0;
}

static herr_t write_attr_value(hid_t loc, const attrrec *a)
{
    hid_t ftype, mtype, sp;
    hsize_t n = a->n;
    const void *src;
    switch (a->kind) {
    case A_STR:
        ftype = H5Tcopy(H5T_C_S1);
        if (ftype < 0 || H5Tset_size(ftype, H5T_VARIABLE) < 0 ||
            H5Tset_cset(ftype, H5T_CSET_UTF8) < 0) {
            sim_h5_drop(ftype);
            return -1;
        }
        mtype = ftype;
        src = &a->data; /* a variable-length string is passed as char ** */
        break;
    case A_U64: ftype = H5T_STD_U64LE; mtype = H5T_NATIVE_UINT64; src = &a->u; break;
    case A_I64: ftype = H5T_STD_I64LE; mtype = H5T_NATIVE_INT64; src = &a->i; break;
    case A_F64: ftype = H5T_IEEE_F64LE; mtype = H5T_NATIVE_DOUBLE; src = &a->d; break;
    case A_U64S: ftype = H5T_STD_U64LE; mtype = H5T_NATIVE_UINT64; src = a->data; break;
    default: ftype = H5T_IEEE_F64LE; mtype = H5T_NATIVE_DOUBLE; src = a->data; break;
    }
    bool array = a->kind == A_U64S || a->kind == A_F64S;
    sp = array ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t id = sp >= 0 ? H5Acreate2(loc, a->name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)
                       : H5I_INVALID_HID;
    /* An empty array has nothing to write, and HDF5 refuses a NULL buffer. */
    herr_t r = id >= 0 && (!array || n > 0) ? H5Awrite(id, mtype, src) : (id >= 0 ? 0 : -1);
    if (r < 0)
        sim_h5_drop(id);
    else if (H5Aclose(id) < 0)
        r = -1;
    sim_h5_drop(sp);
    if (a->kind == A_STR)
        sim_h5_drop(ftype);
    return r;
}

/* Writes the attributes of object `oi` that side[k] lacks, replacing older
 * values (in the working files only; the final file gets each once). */
static pu_err write_attrs(sim_h5 *f, hid_t fid, int k, size_t oi)
{
    hid_t loc = H5I_INVALID_HID;
    for (size_t i = 0; i < f->nattrs; i++) {
        attrrec *a = &f->attrs[i];
        if (a->obj != oi || !(a->dirty & (1u << k)))
            continue;
        if (loc < 0 && (loc = H5Oopen(fid, f->objs[oi].path, H5P_DEFAULT)) < 0)
            return fail_h5(f, "open", f->objs[oi].path);
        htri_t ex = H5Aexists(loc, a->name);
        if (ex < 0 || (ex > 0 && H5Adelete(loc, a->name) < 0) || write_attr_value(loc, a) < 0) {
            sim_h5_drop(loc);
            return fail_h5(f, "write attribute", a->name);
        }
        a->dirty &= ~(1u << k);
    }
    if (loc >= 0 && H5Oclose(loc) < 0)
        return fail_h5(f, "close", f->objs[oi].path);
    return PU_OK;
}

/* Creates in the working file the objects it lacks, in declaration order,
 * opens every table's dataset and writes the attributes it lacks. */
static pu_err sync_objects(sim_h5 *f)
{
    int k = f->work;
    for (size_t i = 0; i < f->nobjs; i++) {
        objrec *o = &f->objs[i];
        if (!(o->in_file & (1u << k))) {
            if (o->kind == OBJ_GROUP) {
                hid_t gcpl = make_gcpl();
                hid_t g = gcpl >= 0 ? H5Gcreate2(f->fid, o->path, H5P_DEFAULT, gcpl, H5P_DEFAULT)
                                    : H5I_INVALID_HID;
                sim_h5_drop(gcpl);
                if (g < 0 || H5Gclose(g) < 0)
                    return fail_h5(f, "create group", o->path);
            } else {
                o->t->ds = create_dataset(f->fid, o->t, 0, o->t->chunk_rows);
                if (o->t->ds < 0)
                    return fail_h5(f, "create dataset", o->path);
            }
            o->in_file |= 1u << k;
        }
        if (o->kind == OBJ_TABLE && o->t->ds < 0 &&
            (o->t->ds = H5Dopen2(f->fid, o->path, H5P_DEFAULT)) < 0)
            return fail_h5(f, "open dataset", o->path);
        pu_err rc = write_attrs(f, f->fid, k, i);
        if (rc != PU_OK)
            return rc;
    }
    return PU_OK;
}

/* Appends write when the working file's rows reach a chunk boundary, so
 * that every write but the first after a checkpoint fills whole chunks. */
static uint32_t rows_to_boundary(const sim_h5_table *t, uint64_t rows_in_file)
{
    return t->chunk_rows - (uint32_t)(rows_in_file % t->chunk_rows);
}

/* Moves the buffered rows of t into the working file.  Caller silenced HDF5. */
static pu_err write_buf(sim_h5_table *t)
{
    sim_h5 *f = t->f;
    int k = f->work;
    if (t->nbuf == 0)
        return PU_OK;
    if (t->ds < 0) {
        pu_err rc = sync_objects(f);
        if (rc != PU_OK)
            return rc;
    }
    hsize_t size = t->in_file[k] + t->nbuf;
    if (H5Dset_extent(t->ds, &size) < 0 ||
        rows_io(t->ds, t->mtype, t->in_file[k], t->nbuf, t->buf, true) < 0)
        return fail_h5(f, "write rows to", f->objs[t->obj].path);
    if (f->io_err)
        return io_check(f, f->side[k]);
    t->in_file[k] = size;
    t->nbuf = 0;
    t->room = rows_to_boundary(t, size);
    return PU_OK;
}

/* ---- files and publication ---------------------------------------------- */

static pu_err sync_path(sim_h5 *f, const char *p, bool dir)
{
    if (f->flags & SIM_H5_NOSYNC)
        return PU_OK;
    int fd = open(p, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0)
        return fail_os(f, "open", p, errno);
    int r = fsync(fd);
    int e = errno;
    close(fd);
    return r == 0 ? PU_OK : fail_os(f, "fsync", p, e);
}

/* The checksum header of a closed file (fsynced unless NOSYNC). */
static pu_err stamp(sim_h5 *f, const char *p)
{
    int e = sim_h5_sum_stamp(p, !(f->flags & SIM_H5_NOSYNC));
    return e ? fail_os(f, "checksum", p, e) : PU_OK;
}

/* `path` becomes a name of side[k]: link to a temporary name, then rename
 * over `path`, which POSIX makes atomic. */
static pu_err publish(sim_h5 *f, int k)
{
    /* side[k] is closed, stamped and (unless NOSYNC) synced by now */
    if (link(f->side[k], f->tmp) != 0)
        return fail_os(f, "link", f->tmp, errno);
    if (rename(f->tmp, f->path) != 0)
        return fail_os(f, "rename", f->path, errno);
    return sync_path(f, f->dir, true);
}

/* Files are created exclusively: every name is one this object made up
 * from its own (unique) path, so one that exists belongs to someone else. */
static hid_t open_h5(sim_h5 *f, const char *p, bool create, bool rdonly)
{
    hid_t fapl = make_fapl(f), fcpl = create ? make_fcpl() : H5P_DEFAULT, fid = H5I_INVALID_HID;
    if (fapl >= 0 && fcpl >= 0)
        fid = create ? H5Fcreate(p, H5F_ACC_EXCL, fcpl, fapl)
                     : H5Fopen(p, rdonly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl);
    sim_h5_drop(fapl);
    if (create && fcpl >= 0)
        sim_h5_drop(fcpl);
    return fid;
}

/* Closes the working file with everything in it and publishes it. */
static pu_err seal_work(sim_h5 *f)
{
    pu_err rc = sync_objects(f);
    for (size_t i = 0; i < f->nobjs && rc == PU_OK; i++)
        if (f->objs[i].kind == OBJ_TABLE)
            rc = write_buf(f->objs[i].t);
    for (size_t i = 0; i < f->nobjs; i++) {
        sim_h5_table *t = f->objs[i].t;
        if (t && t->ds >= 0) {
            if (H5Dclose(t->ds) < 0 && rc == PU_OK)
                rc = fail_h5(f, "close dataset", f->objs[i].path);
            t->ds = H5I_INVALID_HID;
        }
    }
    hid_t fid = f->fid;
    f->fid = H5I_INVALID_HID;
    if (H5Fclose(fid) < 0 && rc == PU_OK)
        rc = fail_h5(f, "close", f->side[f->work]);
    if (rc == PU_OK)
        rc = io_check(f, f->side[f->work]);
    if (rc == PU_OK)
        rc = stamp(f, f->side[f->work]);
    return rc == PU_OK ? publish(f, f->work) : rc;
}

/* Makes side[k] the working file: open it, add what it lacks, and copy the
 * rows it lacks from the other side (closed and complete). */
static pu_err open_work(sim_h5 *f, int k, bool create)
{
    f->fid = open_h5(f, f->side[k], create, false);
    if (f->fid < 0)
        return fail_h5(f, create ? "create" : "open", f->side[k]);
    f->work = k;
    pu_err rc = sync_objects(f);
    if (rc != PU_OK || create)
        return rc;
    hid_t src = open_h5(f, f->side[1 - k], false, true);
    if (src < 0)
        return fail_h5(f, "open", f->side[1 - k]);
    for (size_t i = 0; i < f->nobjs && rc == PU_OK; i++) {
        sim_h5_table *t = f->objs[i].t;
        if (t && t->in_file[k] < t->in_file[1 - k]) {
            hsize_t size = t->in_file[1 - k];
            hid_t sds = H5Dopen2(src, f->objs[i].path, H5P_DEFAULT);
            if (sds < 0 || H5Dset_extent(t->ds, &size) < 0 ||
                copy_chunks(t, sds, t->ds, t->in_file[k], size) < 0)
                rc = fail_h5(f, "catch up", f->objs[i].path);
            else
                t->in_file[k] = size;
            sim_h5_drop(sds);
        }
        if (t)
            t->room = rows_to_boundary(t, t->in_file[k]);
    }
    if (H5Fclose(src) < 0 && rc == PU_OK)
        rc = fail_h5(f, "close", f->side[1 - k]);
    return rc == PU_OK ? io_check(f, f->side[k]) : rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    if (s == path)
        return strdup("/");
    char *d = malloc((size_t)(s - path) + 1);
    if (d) {
        memcpy(d, path, (size_t)(s - path));
        d[s - path] = '\0';
    }
    return d;
}

static void remove_scratch(const sim_h5 *f)
{
    for (int k = 0; k < 2; k++)
        if (f->side[k])
            unlink(f->side[k]);
    if (f->tmp)
        unlink(f->tmp);
}

static pu_err init_paths(sim_h5 *f, const char *path)
{
    f->path = strdup(path);
    f->side[0] = cat_str(path, ".ck0");
    f->side[1] = cat_str(path, ".ck1");
    f->tmp = cat_str(path, ".tmp");
    f->dir = dir_of(path);
    bool ok = f->path && f->side[0] && f->side[1] && f->tmp && f->dir;
    /* The root group exists in every file from the start. */
    size_t root;
    if (ok && add_obj(f, OBJ_GROUP, "/", NULL, &root) == PU_OK) {
        f->objs[root].in_file = 3u;
        return PU_OK;
    }
    return PU_ERR_NOMEM;
}

pu_err sim_h5_new(const char *path, unsigned flags, sim_h5 **out, char *err, size_t errlen)
{
    *out = NULL;
    copy_err("", err, errlen);
    if (!path || !*path) {
        copy_err("empty output path", err, errlen);
        return PU_ERR_RANGE;
    }
    sim_h5 *f = calloc(1, sizeof *f);
    if (!f) {
        copy_err("out of memory", err, errlen);
        return PU_ERR_NOMEM;
    }
    f->flags = flags;
    f->fid = H5I_INVALID_HID;
    f->driver = H5I_INVALID_HID;
    pu_err rc = init_paths(f, path);
    if (rc != PU_OK) {
        copy_err("out of memory", err, errlen);
        sim_h5_free(f);
        return rc;
    }
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    /* side[0] starts as an empty published file, so `path` is valid before
     * the first checkpoint; side[1] is the first working file. */
    f->driver = sim_h5_vfd_register();
    hid_t fid = f->driver >= 0 ? open_h5(f, f->side[0], true, false) : H5I_INVALID_HID;
    if (fid < 0)
        rc = fail_h5(f, "create", f->side[0]);
    else if (H5Fclose(fid) < 0)
        rc = fail_h5(f, "close", f->side[0]);
    else if ((rc = io_check(f, f->side[0])) == PU_OK && (rc = stamp(f, f->side[0])) == PU_OK &&
             (rc = publish(f, 0)) == PU_OK)
        rc = open_work(f, 1, true);
    sim_h5_quiet_off(&q);
    if (rc != PU_OK) {
        copy_err(f->err, err, errlen);
        sim_h5_free(f);
        return rc;
    }
    *out = f;
    return PU_OK;
}

static void free_table(sim_h5_table *t)
{
    if (!t)
        return;
    if (t->ds >= 0)
        H5Dclose(t->ds);
    if (t->mtype >= 0)
        H5Tclose(t->mtype);
    if (t->ftype >= 0)
        H5Tclose(t->ftype);
    for (size_t i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->buf);
    free(t->raw);
    free(t);
}

void sim_h5_free(sim_h5 *f)
{
    if (!f)
        return;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    for (size_t i = 0; i < f->nobjs; i++) {
        free_table(f->objs[i].t);
        free(f->objs[i].path);
    }
    if (f->fid >= 0)
        H5Fclose(f->fid); /* cannot fail on a write: the driver swallows those */
    if (f->driver >= 0)
        H5FDunregister(f->driver);
    H5Eclear2(H5E_DEFAULT);
    sim_h5_quiet_off(&q);
    remove_scratch(f);
    for (size_t i = 0; i < f->nattrs; i++) {
        free(f->attrs[i].name);
        free(f->attrs[i].data);
    }
    free(f->attrs);
    free(f->objs);
    free(f->path);
    free(f->side[0]);
    free(f->side[1]);
    free(f->tmp);
    free(f->dir);
    free(f);
}

const char *sim_h5_errmsg(const sim_h5 *f) { return f->err; }

pu_err sim_h5_checkpoint(sim_h5 *f)
{
    if (f->failed)
        return PU_ERR_STATE;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    pu_err rc = seal_work(f);
    if (rc == PU_OK)
        rc = open_work(f, 1 - f->work, false);
    sim_h5_quiet_off(&q);
    return rc;
}

/* ---- the final file ------------------------------------------------------ */

/* One object of the canonical file, its rows copied from the sealed file,
 * then its attributes (bit 2 of `dirty` serves the final file).  The last
 * chunk is sized to the table so that small tables stay small. */
static pu_err final_obj(sim_h5 *f, hid_t src, hid_t dst, size_t oi)
{
    objrec *o = &f->objs[oi];
    herr_t r = 0;
    if (o->kind == OBJ_GROUP && oi > 0) {
        hid_t gcpl = make_gcpl();
        hid_t g = gcpl >= 0 ? H5Gcreate2(dst, o->path, H5P_DEFAULT, gcpl, H5P_DEFAULT)
                            : H5I_INVALID_HID;
        sim_h5_drop(gcpl);
        r = g >= 0 ? H5Gclose(g) : -1;
    } else if (o->kind == OBJ_TABLE) {
        sim_h5_table *t = o->t;
        uint64_t chunk = t->nrows < t->chunk_rows ? (t->nrows ? t->nrows : 1) : t->chunk_rows;
        hid_t ds = create_dataset(dst, t, t->nrows, chunk);
        hid_t sds = ds >= 0 ? H5Dopen2(src, o->path, H5P_DEFAULT) : H5I_INVALID_HID;
        /* Same chunking as the working files: copy chunks as stored. */
        if (sds < 0)
            r = -1;
        else
            r = chunk == t->chunk_rows ? copy_chunks(t, sds, ds, 0, t->nrows)
                                       : copy_rows(t, sds, ds, 0, t->nrows);
        sim_h5_drop(sds);
        if (r < 0)
            sim_h5_drop(ds);
        else if (H5Dclose(ds) < 0)
            r = -1;
    }
    if (r < 0)
        return fail_h5(f, "write final", o->path);
    for (size_t i = 0; i < f->nattrs; i++)
        if (f->attrs[i].obj == oi)
            f->attrs[i].dirty |= 4u;
    return write_attrs(f, dst, 2, oi);
}

static pu_err write_final(sim_h5 *f)
{
    hid_t src = open_h5(f, f->side[f->work], false, true);
    if (src < 0)
        return fail_h5(f, "open", f->side[f->work]);
    hid_t dst = open_h5(f, f->tmp, true, false);
    pu_err rc = dst >= 0 ? PU_OK : fail_h5(f, "create", f->tmp);
    for (size_t i = 0; i < f->nobjs && rc == PU_OK; i++)
        rc = final_obj(f, src, dst, i);
    if (dst >= 0 && H5Fclose(dst) < 0 && rc == PU_OK)
        rc = fail_h5(f, "close", f->tmp);
    if (H5Fclose(src) < 0 && rc == PU_OK)
        rc = fail_h5(f, "close", f->side[f->work]);
    if (rc == PU_OK)
        rc = io_check(f, f->tmp);
    if (rc == PU_OK)
        rc = stamp(f, f->tmp); /* fsyncs unless NOSYNC */
    if (rc == PU_OK && rename(f->tmp, f->path) != 0)
        rc = fail_os(f, "rename", f->path, errno);
    if (rc == PU_OK)
        rc = sync_path(f, f->dir, true);
    return rc;
}

pu_err sim_h5_close(sim_h5 *f, char *err, size_t errlen)
{
    copy_err("", err, errlen);
    if (!f)
        return PU_ERR_STATE;
    pu_err rc = PU_ERR_STATE;
    if (!f->failed) {
        sim_h5_quiet q;
        sim_h5_quiet_on(&q);
        rc = seal_work(f);
        if (rc == PU_OK)
            rc = write_final(f);
        sim_h5_quiet_off(&q);
    }
    copy_err(f->err, err, errlen);
    sim_h5_free(f);
    return rc;
}

/* ---- tables -------------------------------------------------------------- */

static hid_t member_type(sim_h5_type ty, uint32_t len, bool file)
{
    switch (ty) {
    case SIM_H5_U8: return H5Tcopy(file ? H5T_STD_U8LE : H5T_NATIVE_UINT8);
    case SIM_H5_U32: return H5Tcopy(file ? H5T_STD_U32LE : H5T_NATIVE_UINT32);
    case SIM_H5_U64: return H5Tcopy(file ? H5T_STD_U64LE : H5T_NATIVE_UINT64);
    case SIM_H5_I64: return H5Tcopy(file ? H5T_STD_I64LE : H5T_NATIVE_INT64);
    case SIM_H5_F64: return H5Tcopy(file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE);
    case SIM_H5_STR: {
        hid_t s = H5Tcopy(H5T_C_S1);
        if (s >= 0 && (H5Tset_size(s, len) < 0 || H5Tset_strpad(s, H5T_STR_NULLPAD) < 0)) {
            H5Tclose(s);
            s = H5I_INVALID_HID;
        }
        return s;
    }
    }
    return H5I_INVALID_HID;
}

static hid_t compound_type(const sim_h5_table *t, bool file)
{
    hid_t ct = H5Tcreate(H5T_COMPOUND, t->row_size);
    for (size_t i = 0; ct >= 0 && i < t->ncols; i++) {
        const col_int *c = &t->cols[i];
        hid_t m = member_type(c->type, c->size, file);
        herr_t r = m >= 0 ? H5Tinsert(ct, c->name, c->off, m) : -1;
        if (m >= 0)
            H5Tclose(m);
        if (r < 0) {
            H5Tclose(ct);
            ct = H5I_INVALID_HID;
        }
    }
    return ct;
}

static pu_err check_cols(sim_h5 *f, const sim_h5_col *cols, size_t ncols, size_t *row_size)
{
    size_t sz = 0;
    if (ncols == 0)
        return bad_arg(f, PU_ERR_RANGE, "table without columns", "");
    for (size_t i = 0; i < ncols; i++) {
        const sim_h5_col *c = &cols[i];
        if (!name_ok(c->name, false))
            return bad_arg(f, PU_ERR_RANGE, "bad column name", c->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cols[j].name, c->name) == 0)
                return bad_arg(f, PU_ERR_RANGE, "duplicate column", c->name);
        switch (c->type) {
        case SIM_H5_U8: sz += 1; break;
        case SIM_H5_U32: sz += 4; break;
        case SIM_H5_U64: case SIM_H5_I64: case SIM_H5_F64: sz += 8; break;
        case SIM_H5_STR:
            if (c->len < 1 || c->len > SIM_H5_STR_MAX)
                return bad_arg(f, PU_ERR_RANGE, "bad string length of column", c->name);
            sz += c->len;
            break;
        default: return bad_arg(f, PU_ERR_RANGE, "bad type of column", c->name);
        }
    }
    *row_size = sz;
    return PU_OK;
}

static pu_err build_table(sim_h5_table *t, const sim_h5_col *cols, size_t ncols)
{
    t->cols = calloc(ncols, sizeof *t->cols);
    t->buf = malloc(t->row_size * t->chunk_rows);
    if (!t->cols || !t->buf)
        return PU_ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < ncols; i++, t->ncols++) {
        col_int *c = &t->cols[i];
        if (!(c->name = strdup(cols[i].name)))
            return PU_ERR_NOMEM;
        c->type = cols[i].type;
        c->size = c->type == SIM_H5_STR ? cols[i].len
                  : c->type == SIM_H5_U8  ? 1u
                  : c->type == SIM_H5_U32 ? 4u
                                          : 8u;
        c->src_off = cols[i].offset;
        c->off = off;
        off += c->size;
    }
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    t->mtype = compound_type(t, false);
    t->ftype = compound_type(t, true);
    H5Eclear2(H5E_DEFAULT);
    sim_h5_quiet_off(&q);
    return t->mtype >= 0 && t->ftype >= 0 ? PU_OK : PU_ERR_NOMEM;
}

pu_err sim_h5_table_create(sim_h5 *f, const char *path, const sim_h5_col *cols, size_t ncols,
                           uint32_t chunk_rows, int deflate, sim_h5_table **out)
{
    *out = NULL;
    if (f->failed)
        return PU_ERR_STATE;
    if (!path_ok(path, false))
        return bad_arg(f, PU_ERR_RANGE, "bad table path", path);
    if (chunk_rows < 1 || chunk_rows > SIM_H5_CHUNK_MAX || deflate < 0 || deflate > 9)
        return bad_arg(f, PU_ERR_RANGE, "bad chunk size or deflate level for", path);
    if (find_obj(f, path) != SIZE_MAX)
        return bad_arg(f, PU_ERR_EXISTS, "already declared", path);
    size_t row_size;
    pu_err rc = check_cols(f, cols, ncols, &row_size);
    if (rc != PU_OK)
        return rc;
    if (row_size > CHUNK_BYTES_MAX / chunk_rows)
        return bad_arg(f, PU_ERR_RANGE, "chunk too large for", path);
    sim_h5_table *t = calloc(1, sizeof *t);
    if (!t)
        return PU_ERR_NOMEM;
    *t = (sim_h5_table){.f = f, .row_size = row_size, .chunk_rows = chunk_rows,
                        .room = chunk_rows,
                        .deflate = deflate, .mtype = H5I_INVALID_HID,
                        .ftype = H5I_INVALID_HID, .ds = H5I_INVALID_HID};
    rc = build_table(t, cols, ncols);
    if (rc == PU_OK)
        rc = ensure_groups(f, path, false, NULL);
    if (rc == PU_OK)
        rc = add_obj(f, OBJ_TABLE, path, t, &t->obj);
    if (rc != PU_OK) {
        free_table(t);
        return rc;
    }
    *out = t;
    return PU_OK;
}

/* Packs one row; every byte of the slot is written, so no stale bytes. */
static pu_err pack_row(sim_h5_table *t, const uint8_t *src, uint8_t *dst)
{
    for (size_t i = 0; i < t->ncols; i++) {
        const col_int *c = &t->cols[i];
        /* Fixed sizes let the compiler turn each copy into one move. */
        switch (c->type) {
        case SIM_H5_U8: dst[c->off] = src[c->src_off]; continue;
        case SIM_H5_U32: memcpy(dst + c->off, src + c->src_off, 4); continue;
        case SIM_H5_STR: break;
        default: memcpy(dst + c->off, src + c->src_off, 8); continue;
        }
        const char *s = (const char *)src + c->src_off;
        size_t n = strnlen(s, (size_t)c->size + 1);
        if (n > c->size)
            return bad_arg(t->f, PU_ERR_RANGE, "string too long for column", c->name);
        memcpy(dst + c->off, s, n);
        memset(dst + c->off + n, 0, c->size - n);
    }
    return PU_OK;
}

pu_err sim_h5_table_append_n(sim_h5_table *t, const void *rows, size_t n, size_t stride,
                             size_t *done)
{
    sim_h5 *f = t->f;
    pu_err rc = f->failed ? PU_ERR_STATE : PU_OK;
    size_t i = 0;
    for (; i < n && rc == PU_OK; i++) {
        rc = pack_row(t, (const uint8_t *)rows + i * stride, t->buf + (size_t)t->nbuf * t->row_size);
        if (rc != PU_OK)
            break;
        t->nbuf++;
        t->nrows++;
        if (--t->room == 0) {
            sim_h5_quiet q;
            sim_h5_quiet_on(&q);
            rc = write_buf(t);
            sim_h5_quiet_off(&q);
        }
    }
    if (done)
        *done = i;
    return rc;
}

pu_err sim_h5_table_append(sim_h5_table *t, const void *row)
{
    return sim_h5_table_append_n(t, row, 1, 0, NULL);
}

pu_err sim_h5_table_flush(sim_h5_table *t)
{
    if (t->f->failed)
        return PU_ERR_STATE;
    sim_h5_quiet q;
    sim_h5_quiet_on(&q);
    pu_err rc = write_buf(t);
    sim_h5_quiet_off(&q);
    return rc;
}

uint64_t sim_h5_table_rows(const sim_h5_table *t) { return t->nrows; }

/* ---- attributes ---------------------------------------------------------- */

/* Finds or declares the attribute slot, leaving its old value in place. */
static pu_err attr_slot(sim_h5 *f, const char *objp, const char *name, attrrec **out)
{
    *out = NULL;
    if (f->failed)
        return PU_ERR_STATE;
    if (!path_ok(objp, true))
        return bad_arg(f, PU_ERR_RANGE, "bad object path", objp);
    if (!name_ok(name, false))
        return bad_arg(f, PU_ERR_RANGE, "bad attribute name", name);
    size_t oi = find_obj(f, objp);
    if (oi == SIZE_MAX) {
        pu_err rc = ensure_groups(f, objp, true, &oi);
        if (rc != PU_OK)
            return rc;
    }
    for (size_t i = 0; i < f->nattrs; i++)
        if (f->attrs[i].obj == oi && strcmp(f->attrs[i].name, name) == 0) {
            *out = &f->attrs[i];
            return PU_OK;
        }
    if (f->nattrs == f->cap_attrs) {
        size_t cap = f->cap_attrs ? 2 * f->cap_attrs : 16;
        attrrec *a = realloc(f->attrs, cap * sizeof *a);
        if (!a)
            return PU_ERR_NOMEM;
        f->attrs = a;
        f->cap_attrs = cap;
    }
    char *nm = strdup(name);
    if (!nm)
        return PU_ERR_NOMEM;
    f->attrs[f->nattrs] = (attrrec){.obj = oi, .name = nm};
    *out = &f->attrs[f->nattrs++];
    return PU_OK;
}

/* Installs a new value; `data` (owned, may be NULL) replaces the old one. */
static pu_err attr_set(sim_h5 *f, const char *objp, const char *name, attrrec v, void *data)
{
    attrrec *a;
    pu_err rc = attr_slot(f, objp, name, &a);
    if (rc != PU_OK) {
        free(data);
        return rc;
    }
    free(a->data);
    a->kind = v.kind;
    a->u = v.u;
    a->i = v.i;
    a->d = v.d;
    a->n = v.n;
    a->data = data;
    a->dirty = 3u;
    return PU_OK;
}

pu_err sim_h5_attr_str(sim_h5 *f, const char *obj, const char *name, const char *value)
{
    if (!value)
        return bad_arg(f, PU_ERR_RANGE, "NULL string for attribute", name);
    char *s = strdup(value);
    if (!s)
        return PU_ERR_NOMEM;
    return attr_set(f, obj, name, (attrrec){.kind = A_STR, .n = strlen(value)}, s);
}

pu_err sim_h5_attr_u64(sim_h5 *f, const char *obj, const char *name, uint64_t v)
{
    return attr_set(f, obj, name, (attrrec){.kind = A_U64, .u = v}, NULL);
}

pu_err sim_h5_attr_i64(sim_h5 *f, const char *obj, const char *name, int64_t v)
{
    return attr_set(f, obj, name, (attrrec){.kind = A_I64, .i = v}, NULL);
}

pu_err sim_h5_attr_f64(sim_h5 *f, const char *obj, const char *name, double v)
{
    return attr_set(f, obj, name, (attrrec){.kind = A_F64, .d = v}, NULL);
}

static pu_err attr_array(sim_h5 *f, const char *obj, const char *name, akind kind,
                         const void *v, size_t n)
{
    if (n > SIZE_MAX / 8 || (n && !v))
        return bad_arg(f, PU_ERR_RANGE, "bad array for attribute", name);
    void *copy = malloc(n ? n * 8 : 1);
    if (!copy)
        return PU_ERR_NOMEM;
    if (n)
        memcpy(copy, v, n * 8);
    return attr_set(f, obj, name, (attrrec){.kind = kind, .n = n}, copy);
}

pu_err sim_h5_attr_u64_array(sim_h5 *f, const char *obj, const char *name, const uint64_t *v,
                             size_t n)
{
    return attr_array(f, obj, name, A_U64S, v, n);
}

pu_err sim_h5_attr_f64_array(sim_h5 *f, const char *obj, const char *name, const double *v,
                             size_t n)
{
    return attr_array(f, obj, name, A_F64S, v, n);
}

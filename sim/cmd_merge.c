/* sim/cmd_merge.c -- `pouwsim merge`; see cmd_merge.h. */
#include "sim/cmd_merge.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/h5.h"
#include "sim/outfile.h"
#include "sim/runrow.h"
#include "sim/scenario.h"
#include "sim/sweep.h"

#define PATHLEN 4096

static const char usage[] =
    "usage: pouwsim merge DIR [--out PREFIX] [--confidence C] [--partial] [--force]\n"
    "\n"
    "Gathers the runs of the sweep directory DIR (pouwsim sweep --out DIR) into\n"
    "PREFIX.csv (one row per run: swept keys, seed, every summary figure),\n"
    "PREFIX-points.csv (one row per point: n, mean, sd and the Student-t confidence\n"
    "interval of every figure over its repetitions) and PREFIX.h5 (both tables).\n"
    "\n"
    "  --out PREFIX      output names (default DIR/merged)\n"
    "  --confidence C    level of the intervals, 0 < C < 1 (default 0.95)\n"
    "  --partial         merge the runs there are when some are missing\n"
    "  --force           replace existing outputs\n";

typedef struct margs {
    const char *dir, *prefix;
    double conf;
    bool partial, force;
} margs;

/* Everything merged: the plan, the runs' figures, the union of figure names. */
typedef struct merged {
    sim_sweep *sw;
    size_t nruns, nkeys, nfigs, missing;
    bool *have;          /* per run */
    char **figs;         /* union of figure names, sorted */
    sim_cell *cells;     /* nruns x nfigs */
    double conf;
    char ci_name[16];    /* "ci95" */
} merged;

static int bad_usage(FILE *err, const char *msg)
{
    fprintf(err, "pouwsim merge: %s\n%s", msg, usage);
    return 2;
}

static int parse_args(int argc, char **argv, margs *a, FILE *out, FILE *err)
{
    memset(a, 0, sizeof *a);
    a->conf = 0.95;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(usage, out);
            return -1;
        } else if (!strcmp(s, "--out") && i + 1 < argc) {
            a->prefix = argv[++i];
        } else if (!strcmp(s, "--confidence") && i + 1 < argc) {
            char *end;
            a->conf = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(a->conf > 0 && a->conf < 1))
                return bad_usage(err, "--confidence takes a level between 0 and 1, like 0.95");
        } else if (!strcmp(s, "--partial")) {
            a->partial = true;
        } else if (!strcmp(s, "--force")) {
            a->force = true;
        } else if (s[0] == '-') {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown or incomplete option '%.100s'", s);
            return bad_usage(err, msg);
        } else if (!a->dir) {
            a->dir = s;
        } else {
            return bad_usage(err, "merge takes one sweep directory");
        }
    }
    return a->dir ? 0 : bad_usage(err, "merge needs a sweep directory");
}

static void merged_release(merged *m)
{
    sim_sweep_free(m->sw);
    free(m->have);
    for (size_t i = 0; i < m->nfigs; i++)
        free(m->figs[i]);
    free(m->figs);
    free(m->cells);
}

/* ---- reading ---- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the row's figure names to the union (kept sorted and unique). */
static pu_err union_add(merged *m, const sim_runrow *row)
{
    for (size_t i = 0; i < row->nfigs; i++) {
        const char *n = row->fig_names[i];
        if (row->figs[i].kind == SIM_CELL_STR)
            continue; /* text (an attack's type): not a figure to average */
        if (m->nfigs && bsearch(&n, m->figs, m->nfigs, sizeof *m->figs, cmp_name))
            continue;
        char **nf = realloc(m->figs, (m->nfigs + 1) * sizeof *nf);
        if (!nf)
            return PU_ERR_NOMEM;
        m->figs = nf;
        if (!(nf[m->nfigs] = strdup(n)))
            return PU_ERR_NOMEM;
        m->nfigs++;
        qsort(m->figs, m->nfigs, sizeof *m->figs, cmp_name);
    }
    return PU_OK;
}

/* One run file: its seed must be the plan's; its figures go to *row. */
static int read_run(const char *dir, const sim_sweep_run *run, sim_runrow *row, bool *have,
                    FILE *err)
{
    char path[PATHLEN], msg[300];
    *have = false;
    if (snprintf(path, sizeof path, "%s/runs/%s.h5", dir, run->name) >= (int)sizeof path)
        return 2;
    if (access(path, F_OK) != 0)
        return 0;
    sim_h5read *r;
    if (sim_h5read_open(path, &r, msg, sizeof msg) != PU_OK) {
        fprintf(err, "%s: error: %s\n", path, msg);
        return 1;
    }
    pu_err rc = sim_runrow_read(r, false, row);
    if (rc != PU_OK)
        fprintf(err, "%s: error: not a finished run file: %s\n", path, sim_h5read_errmsg(r));
    sim_h5read_free(r);
    if (rc != PU_OK)
        return 1;
    if (row->seed != run->seed) {
        fprintf(err, "%s: error: seed %" PRIu64 ", but the plan gives this run seed %" PRIu64
                     " (the file belongs to another sweep)\n", path, row->seed, run->seed);
        sim_runrow_release(row);
        return 1;
    }
    *have = row->finished;
    if (!row->finished)
        sim_runrow_release(row);
    return 0;
}

static int read_all(merged *m, const char *dir, FILE *err)
{
    sim_runrow *rows = calloc(m->nruns ? m->nruns : 1, sizeof *rows);
    m->have = calloc(m->nruns ? m->nruns : 1, sizeof *m->have);
    int st = rows && m->have ? 0 : 1;
    for (size_t i = 0; !st && i < m->nruns; i++) {
        st = read_run(dir, sim_sweep_run_at(m->sw, i), &rows[i], &m->have[i], err);
        if (!st && m->have[i] && union_add(m, &rows[i]) != PU_OK)
            st = 1;
        if (!st && !m->have[i])
            m->missing++;
    }
    if (!st && m->nfigs && !(m->cells = calloc(m->nruns * m->nfigs, sizeof *m->cells)))
        st = 1;
    for (size_t i = 0; !st && i < m->nruns; i++) {
        for (size_t f = 0; m->have[i] && f < rows[i].nfigs; f++) {
            const char *n = rows[i].fig_names[f];
            char **hit = bsearch(&n, m->figs, m->nfigs, sizeof *m->figs, cmp_name);
            if (hit && rows[i].figs[f].kind != SIM_CELL_STR)
                m->cells[i * m->nfigs + (size_t)(hit - m->figs)] = rows[i].figs[f];
        }
    }
    for (size_t i = 0; rows && i < m->nruns; i++)
        sim_runrow_release(&rows[i]);
    free(rows);
    return st;
}

/* ---- statistics ---- */

typedef struct fstat {
    size_t n;
    double mean, sd, ci; /* NaN when undefined */
} fstat;

/* Figure f over the runs of point p that have it. */
static fstat point_stat(const merged *m, size_t p, size_t f)
{
    uint32_t reps = sim_sweep_repetitions(m->sw);
    double sum = 0, ss = 0;
    fstat s = {0, NAN, NAN, NAN};
    for (uint32_t r = 0; r < reps; r++) {
        size_t i = p * reps + r;
        if (!m->have[i])
            continue;
        double v = sim_cell_f64(&m->cells[i * m->nfigs + f]);
        if (isnan(v))
            continue;
        s.n++;
        sum += v;
    }
    if (!s.n)
        return s;
    s.mean = sum / (double)s.n;
    for (uint32_t r = 0; r < reps; r++) {
        size_t i = p * reps + r;
        double v = m->have[i] ? sim_cell_f64(&m->cells[i * m->nfigs + f]) : NAN;
        if (!isnan(v))
            ss += (v - s.mean) * (v - s.mean);
    }
    if (s.n >= 2) {
        s.sd = sqrt(ss / (double)(s.n - 1));
        s.ci = gsl_cdf_tdist_Pinv(0.5 + m->conf / 2, (double)(s.n - 1)) * s.sd / sqrt((double)s.n);
    }
    return s;
}

static size_t point_runs(const merged *m, size_t p)
{
    uint32_t reps = sim_sweep_repetitions(m->sw);
    size_t n = 0;
    for (uint32_t r = 0; r < reps; r++)
        n += m->have[p * reps + r];
    return n;
}

/* ---- CSV ---- */

static int close_csv(FILE *f, const char *path, FILE *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = true;
    if (bad)
        fprintf(err, "%s: error: write failed\n", path);
    return bad ? 1 : 0;
}

/* A swept `seed` has no column of its own: the seed column shows it. */
static bool key_column(const merged *m, size_t k)
{
    return strcmp(sim_sweep_key(m->sw, k), "seed") != 0;
}

static void csv_keys_header(FILE *f, const merged *m)
{
    for (size_t k = 0; k < m->nkeys; k++) {
        if (!key_column(m, k))
            continue;
        fputc(',', f);
        sim_csv_text(f, sim_sweep_key(m->sw, k));
    }
}

/* A swept value as tables show it: a string without the quotes and
 * escapes of its scenario syntax ("bitcoin", not "\"bitcoin\""); other
 * values as written.  buf holds at least strlen(v) + 1 bytes. */
static const char *shown(const char *v, char *buf)
{
    size_t n = strlen(v);
    if (n < 2 || v[0] != '"' || v[n - 1] != '"')
        return v;
    char *o = buf;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = v[i];
        if (c == '\\' && i + 2 < n) {
            c = v[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        *o++ = c;
    }
    *o = 0;
    return buf;
}

static void csv_value(FILE *f, const char *v)
{
    char *buf = malloc(strlen(v) + 1);
    sim_csv_text(f, buf ? shown(v, buf) : v);
    free(buf);
}

static int write_runs_csv(const merged *m, const char *path, FILE *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(err, "%s: error: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    fputs("run,point,rep,seed", f);
    csv_keys_header(f, m);
    for (size_t i = 0; i < m->nfigs; i++)
        fprintf(f, ",%s", m->figs[i]);
    fputc('\n', f);
    for (size_t i = 0; i < m->nruns; i++) {
        if (!m->have[i])
            continue;
        const sim_sweep_run *r = sim_sweep_run_at(m->sw, i);
        fprintf(f, "%s,%u,%u,%" PRIu64, r->name, (unsigned)r->point, (unsigned)r->rep, r->seed);
        for (size_t k = 0; k < m->nkeys; k++) {
            if (!key_column(m, k))
                continue;
            fputc(',', f);
            csv_value(f, r->values[k]);
        }
        for (size_t j = 0; j < m->nfigs; j++) {
            fputc(',', f);
            sim_cell_csv(f, &m->cells[i * m->nfigs + j]);
        }
        fputc('\n', f);
    }
    return close_csv(f, path, err);
}

static int write_points_csv(const merged *m, const char *path, FILE *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(err, "%s: error: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    fputs("point", f);
    csv_keys_header(f, m);
    fputs(",runs", f);
    for (size_t j = 0; j < m->nfigs; j++)
        fprintf(f, ",%s_n,%s_mean,%s_sd,%s_%s", m->figs[j], m->figs[j], m->figs[j], m->figs[j],
                m->ci_name);
    fputc('\n', f);
    uint32_t reps = sim_sweep_repetitions(m->sw);
    for (size_t p = 0; p < sim_sweep_npoints(m->sw); p++) {
        const sim_sweep_run *r = sim_sweep_run_at(m->sw, p * reps);
        fprintf(f, "%zu", p);
        for (size_t k = 0; k < m->nkeys; k++) {
            if (!key_column(m, k))
                continue;
            fputc(',', f);
            csv_value(f, r->values[k]);
        }
        fprintf(f, ",%zu", point_runs(m, p));
        for (size_t j = 0; j < m->nfigs; j++) {
            fstat s = point_stat(m, p, j);
            fprintf(f, ",%zu,", s.n);
            sim_csv_double(f, s.mean);
            fputc(',', f);
            sim_csv_double(f, s.sd);
            fputc(',', f);
            sim_csv_double(f, s.ci);
        }
        fputc('\n', f);
    }
    return close_csv(f, path, err);
}

/* ---- HDF5 ---- */

/* A table built column by column into one packed row buffer. */
typedef struct tab {
    sim_h5_col *cols;
    char **names;
    size_t ncols, row_size;
    uint8_t *row;
} tab;

static void tab_release(tab *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->cols);
    free(t->row);
    memset(t, 0, sizeof *t);
}

/* Column name: characters outside [A-Za-z0-9_] become '_'. */
static char *col_name(const char *a, const char *b)
{
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    snprintf(s, n, "%s%s%s", a, b ? "_" : "", b ? b : "");
    for (char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            *c = '_';
    return s;
}

static pu_err tab_add(tab *t, char *name, sim_h5_type type, uint32_t len)
{
    if (!name)
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0) {
            free(name); /* two keys that map to one column name: keep the first */
            return PU_ERR_EXISTS;
        }
    sim_h5_col *nc = realloc(t->cols, (t->ncols + 1) * sizeof *nc);
    char **nn = nc ? realloc(t->names, (t->ncols + 1) * sizeof *nn) : NULL;
    if (nc)
        t->cols = nc;
    if (nn)
        t->names = nn;
    if (!nc || !nn) {
        free(name);
        return PU_ERR_NOMEM;
    }
    nn[t->ncols] = name;
    nc[t->ncols] = (sim_h5_col){name, type, type == SIM_H5_STR ? len : 0, t->row_size};
    t->row_size += type == SIM_H5_STR ? len + 1 : type == SIM_H5_U32 ? 4 : 8;
    t->ncols++;
    return PU_OK;
}

static void put_u32(tab *t, size_t c, uint32_t v) { memcpy(t->row + t->cols[c].offset, &v, 4); }
static void put_u64(tab *t, size_t c, uint64_t v) { memcpy(t->row + t->cols[c].offset, &v, 8); }
static void put_f64(tab *t, size_t c, double v) { memcpy(t->row + t->cols[c].offset, &v, 8); }
static void put_str(tab *t, size_t c, const char *s)
{
    char *dst = (char *)t->row + t->cols[c].offset;
    memset(dst, 0, t->cols[c].len + 1);
    memcpy(dst, s, strlen(s));
}

static bool plain_number(const char *s)
{
    char *end;
    if (!*s)
        return false;
    double v = strtod(s, &end);
    return *end == 0 && isfinite(v);
}

/* Per swept key: numeric (every value a plain number) and string width. */
typedef struct keycol {
    bool numeric;
    uint32_t width;
    size_t col; /* in the table; SIZE_MAX when the key has no column */
} keycol;

static void key_kinds(const merged *m, keycol *kc)
{
    for (size_t k = 0; k < m->nkeys; k++) {
        kc[k] = (keycol){true, 1, SIZE_MAX};
        for (size_t i = 0; i < m->nruns; i++) {
            const char *v = sim_sweep_run_at(m->sw, i)->values[k];
            kc[k].numeric = kc[k].numeric && plain_number(v);
            if (strlen(v) > kc[k].width)
                kc[k].width = (uint32_t)strlen(v);
        }
        if (kc[k].width > SIM_H5_STR_MAX)
            kc[k].width = SIM_H5_STR_MAX;
    }
}

static pu_err add_key_cols(tab *t, const merged *m, keycol *kc)
{
    for (size_t k = 0; k < m->nkeys; k++) {
        if (!key_column(m, k))
            continue;
        pu_err rc = tab_add(t, col_name(sim_sweep_key(m->sw, k), NULL),
                            kc[k].numeric ? SIM_H5_F64 : SIM_H5_STR, kc[k].width);
        if (rc == PU_OK)
            kc[k].col = t->ncols - 1;
        else if (rc != PU_ERR_EXISTS) /* two keys on one column name: the first shows */
            return rc;
    }
    return PU_OK;
}

static void put_keys(tab *t, const keycol *kc, const sim_sweep_run *r, size_t nkeys)
{
    for (size_t k = 0; k < nkeys; k++) {
        if (kc[k].col == SIZE_MAX)
            continue;
        char *buf = kc[k].numeric ? NULL : malloc(strlen(r->values[k]) + 1);
        if (kc[k].numeric)
            put_f64(t, kc[k].col, strtod(r->values[k], NULL));
        else
            put_str(t, kc[k].col, buf ? shown(r->values[k], buf) : r->values[k]);
        free(buf);
    }
}

static pu_err h5_runs(sim_h5 *h, const merged *m, keycol *kc)
{
    tab t = {0};
    uint32_t wname = 1;
    for (size_t i = 0; i < m->nruns; i++)
        if (strlen(sim_sweep_run_at(m->sw, i)->name) > wname)
            wname = (uint32_t)strlen(sim_sweep_run_at(m->sw, i)->name);
    pu_err rc = tab_add(&t, strdup("run"), SIM_H5_STR, wname);
    if (rc == PU_OK) rc = tab_add(&t, strdup("point"), SIM_H5_U32, 0);
    if (rc == PU_OK) rc = tab_add(&t, strdup("rep"), SIM_H5_U32, 0);
    if (rc == PU_OK) rc = tab_add(&t, strdup("seed"), SIM_H5_U64, 0);
    if (rc == PU_OK) rc = add_key_cols(&t, m, kc);
    size_t f0 = t.ncols;
    for (size_t j = 0; rc == PU_OK && j < m->nfigs; j++)
        rc = tab_add(&t, col_name(m->figs[j], NULL), SIM_H5_F64, 0);
    sim_h5_table *ht = NULL;
    if (rc == PU_OK && !(t.row = calloc(1, t.row_size)))
        rc = PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = sim_h5_table_create(h, "/runs", t.cols, t.ncols, 4096, 0, &ht);
    for (size_t i = 0; rc == PU_OK && i < m->nruns; i++) {
        if (!m->have[i])
            continue;
        const sim_sweep_run *r = sim_sweep_run_at(m->sw, i);
        put_str(&t, 0, r->name);
        put_u32(&t, 1, r->point);
        put_u32(&t, 2, r->rep);
        put_u64(&t, 3, r->seed);
        put_keys(&t, kc, r, m->nkeys);
        for (size_t j = 0; j < m->nfigs; j++)
            put_f64(&t, f0 + j, sim_cell_f64(&m->cells[i * m->nfigs + j]));
        rc = sim_h5_table_append(ht, t.row);
    }
    tab_release(&t);
    return rc;
}

static pu_err h5_points(sim_h5 *h, const merged *m, keycol *kc)
{
    tab t = {0};
    static const char *const parts[] = {"n", "mean", "sd", NULL};
    pu_err rc = tab_add(&t, strdup("point"), SIM_H5_U32, 0);
    if (rc == PU_OK) rc = add_key_cols(&t, m, kc);
    if (rc == PU_OK) rc = tab_add(&t, strdup("runs"), SIM_H5_U32, 0);
    size_t f0 = t.ncols;
    for (size_t j = 0; rc == PU_OK && j < m->nfigs; j++)
        for (int q = 0; rc == PU_OK && q < 4; q++)
            rc = tab_add(&t, col_name(m->figs[j], q < 3 ? parts[q] : m->ci_name),
                         q == 0 ? SIM_H5_U32 : SIM_H5_F64, 0);
    sim_h5_table *ht = NULL;
    if (rc == PU_OK && !(t.row = calloc(1, t.row_size)))
        rc = PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = sim_h5_table_create(h, "/points", t.cols, t.ncols, 4096, 0, &ht);
    uint32_t reps = sim_sweep_repetitions(m->sw);
    for (size_t p = 0; rc == PU_OK && p < sim_sweep_npoints(m->sw); p++) {
        put_u32(&t, 0, (uint32_t)p);
        put_keys(&t, kc, sim_sweep_run_at(m->sw, p * reps), m->nkeys);
        put_u32(&t, f0 - 1, (uint32_t)point_runs(m, p));
        for (size_t j = 0; j < m->nfigs; j++) {
            fstat s = point_stat(m, p, j);
            put_u32(&t, f0 + 4 * j, (uint32_t)s.n);
            put_f64(&t, f0 + 4 * j + 1, s.mean);
            put_f64(&t, f0 + 4 * j + 2, s.sd);
            put_f64(&t, f0 + 4 * j + 3, s.ci);
        }
        rc = sim_h5_table_append(ht, t.row);
    }
    tab_release(&t);
    return rc;
}

/* The swept keys and their column names, one per line. */
static char *key_lines(const merged *m, bool columns)
{
    size_t n = 1;
    for (size_t k = 0; k < m->nkeys; k++)
        n += strlen(sim_sweep_key(m->sw, k)) + 1;
    char *s = calloc(1, n), *c;
    for (size_t k = 0; s && k < m->nkeys; k++) {
        strcat(s, sim_sweep_key(m->sw, k));
        strcat(s, k + 1 < m->nkeys ? "\n" : "");
    }
    for (c = s; columns && c && *c; c++)
        if (*c != '\n' && !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                            (*c >= '0' && *c <= '9')))
            *c = '_';
    return s;
}

static pu_err h5_attrs(sim_h5 *h, const merged *m)
{
    const sim_sweep *sw = m->sw;
    char *keys = key_lines(m, false), *cols = key_lines(m, true);
    pu_err rc = keys && cols ? PU_OK : PU_ERR_NOMEM;
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/sweep", "name", sim_sweep_name(sw));
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/sweep", "scenario", sim_sweep_file_name(sw));
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/sweep", "scenario_sha256", sim_sweep_scenario_sha256(sw));
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/sweep", "base_seed", sim_sweep_base_seed(sw));
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/sweep", "repetitions", sim_sweep_repetitions(sw));
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/sweep", "runs", m->nruns);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/sweep", "points", sim_sweep_npoints(sw));
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/sweep", "runs_missing", m->missing);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/sweep", "confidence", m->conf);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/sweep", "keys", keys);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/sweep", "key_columns", cols);
    free(keys);
    free(cols);
    return rc;
}

static int write_h5(const merged *m, const char *path, FILE *err)
{
    char msg[SIM_H5_ERRLEN];
    sim_h5 *h;
    if (sim_h5_new(path, SIM_H5_NOSYNC, &h, msg, sizeof msg) != PU_OK) {
        fprintf(err, "%s: error: %s\n", path, msg);
        return 1;
    }
    keycol *kc = calloc(m->nkeys ? m->nkeys : 1, sizeof *kc);
    pu_err rc = kc ? PU_OK : PU_ERR_NOMEM;
    if (rc == PU_OK) {
        key_kinds(m, kc);
        rc = h5_attrs(h, m);
    }
    if (rc == PU_OK)
        rc = h5_runs(h, m, kc);
    if (rc == PU_OK)
        rc = h5_points(h, m, kc);
    free(kc);
    if (rc != PU_OK) {
        fprintf(err, "%s: error: %s\n", path,
                sim_h5_errmsg(h)[0] ? sim_h5_errmsg(h) : pu_strerror(rc));
        sim_h5_free(h);
        return 1;
    }
    if (sim_h5_close(h, msg, sizeof msg) != PU_OK) {
        fprintf(err, "%s: error: %s\n", path, msg);
        return 1;
    }
    return 0;
}

/* ---- the command ---- */

static int load_plan(merged *m, const char *dir, FILE *err)
{
    char path[PATHLEN], msg[200];
    if (snprintf(path, sizeof path, "%s/plan.txt", dir) >= (int)sizeof path)
        return 2;
    char *text;
    size_t len;
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_scenario_read_file(path, &text, &len, &d) != PU_OK) {
        fprintf(err, "%s: error: not a sweep directory (%s: %s)\n", dir, path, d.msg);
        return 2;
    }
    pu_err rc = sim_sweep_from_plan(text, len, &m->sw, msg, sizeof msg);
    free(text);
    if (rc != PU_OK) {
        fprintf(err, "%s: error: %s\n", path, msg);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    m->nruns = sim_sweep_nruns(m->sw);
    m->nkeys = sim_sweep_nkeys(m->sw);
    return 0;
}

static int report_missing(const merged *m, bool partial, FILE *err)
{
    if (!m->missing)
        return 0;
    fprintf(err, "pouwsim merge: %zu of %zu runs have no result (failed, or not run yet):",
            m->missing, m->nruns);
    size_t shown = 0;
    for (size_t i = 0; i < m->nruns && shown < 10; i++)
        if (!m->have[i]) {
            fprintf(err, " %s", sim_sweep_run_at(m->sw, i)->name);
            shown++;
        }
    fprintf(err, "%s\n", m->missing > shown ? " ..." : "");
    if (partial)
        return 0;
    fprintf(err, "pouwsim merge: rerun the sweep to finish them, or merge with --partial\n");
    return 1;
}

/* The three outputs, declared through sim/outfile: an existing one is
 * refused unless --force, and each is written under a temporary name and
 * renamed into place only when all three are written. */
static bool declare_outputs(sim_outset *set, const char *const *paths, bool force,
                            sim_outfile **o, FILE *err)
{
    char msg[1024];
    for (size_t i = 0; i < 3; i++)
        if (sim_outset_output(set, "merge", paths[i], force ? SIM_OUTFILE_FORCE : 0, &o[i], msg,
                              sizeof msg) != PU_OK) {
            fprintf(err, "pouwsim merge: error: %s\n", msg);
            return false;
        }
    return true;
}

int sim_cmd_merge(int argc, char **argv, FILE *out, FILE *err)
{
    margs a;
    int st = parse_args(argc, argv, &a, out, err);
    if (st)
        return st < 0 ? 0 : st;
    merged m = {0};
    m.conf = a.conf;
    snprintf(m.ci_name, sizeof m.ci_name, "ci%.4g", a.conf * 100);
    for (char *c = m.ci_name; *c; c++)
        if (*c == '.')
            *c = '_';
    char prefix[PATHLEN], p_runs[PATHLEN + 16], p_points[PATHLEN + 16], p_h5[PATHLEN + 16];
    if (snprintf(prefix, sizeof prefix, a.prefix ? "%s" : "%s/merged",
                 a.prefix ? a.prefix : a.dir) >= (int)sizeof prefix)
        return bad_usage(err, "path too long");
    snprintf(p_runs, sizeof p_runs, "%s.csv", prefix);
    snprintf(p_points, sizeof p_points, "%s-points.csv", prefix);
    snprintf(p_h5, sizeof p_h5, "%s.h5", prefix);
    const char *outs[] = {p_runs, p_points, p_h5};
    st = load_plan(&m, a.dir, err);
    if (!st)
        st = read_all(&m, a.dir, err);
    if (!st)
        st = report_missing(&m, a.partial, err);
    sim_outset *set = NULL;
    sim_outfile *o[3] = {NULL, NULL, NULL};
    if (!st && (sim_outset_new(&set) != PU_OK || !declare_outputs(set, outs, a.force, o, err)))
        st = 1;
    if (!st)
        st = write_runs_csv(&m, sim_outfile_path(o[0]), err);
    if (!st)
        st = write_points_csv(&m, sim_outfile_path(o[1]), err);
    if (!st)
        st = write_h5(&m, sim_outfile_path(o[2]), err);
    char msg[1024];
    if (!st && sim_outset_commit_all(set, msg, sizeof msg) != PU_OK) {
        fprintf(err, "pouwsim merge: error: %s\n", msg);
        st = 1;
    }
    sim_outset_free(set); /* on failure: the old outputs stay as they were */
    if (!st)
        fprintf(out, "merged %zu runs (%zu points, %zu figures) into %s, %s, %s\n",
                m.nruns - m.missing, sim_sweep_npoints(m.sw), m.nfigs, p_runs, p_points, p_h5);
    merged_release(&m);
    return st;
}

/* sim/runrow.c -- a run file as one row; see runrow.h. */
#include "sim/runrow.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool sim_cell_empty(const sim_cell *c)
{
    switch (c->kind) {
    case SIM_CELL_U64: return c->u == UINT64_MAX;
    case SIM_CELL_I64: return false;
    case SIM_CELL_F64: return !isfinite(c->f);
    case SIM_CELL_STR: return !c->s || !c->s[0];
    default: return true;
    }
}

double sim_cell_f64(const sim_cell *c)
{
    if (sim_cell_empty(c) || c->kind == SIM_CELL_STR)
        return NAN;
    return c->kind == SIM_CELL_U64 ? (double)c->u : c->kind == SIM_CELL_I64 ? (double)c->i : c->f;
}

void sim_csv_double(FILE *f, double v)
{
    if (!isfinite(v))
        return;
    /* The shortest of 15, 16, 17 significant digits that reads back as v:
     * exact, and 0.3 stays "0.3". */
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

void sim_cell_csv(FILE *f, const sim_cell *c)
{
    if (sim_cell_empty(c))
        return;
    if (c->kind == SIM_CELL_U64)
        fprintf(f, "%" PRIu64, c->u);
    else if (c->kind == SIM_CELL_I64)
        fprintf(f, "%" PRId64, c->i);
    else if (c->kind == SIM_CELL_STR)
        sim_csv_text(f, c->s);
    else
        sim_csv_double(f, c->f);
}

void sim_csv_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void sim_runrow_release(sim_runrow *row)
{
    if (!row)
        return;
    free(row->name);
    free(row->consensus);
    free(row->version);
    for (size_t i = 0; i < row->nparams; i++) {
        free(row->param_keys[i]);
        free(row->param_values[i]);
    }
    free(row->param_keys);
    free(row->param_values);
    sim_h5read_names_free(row->fig_names, row->nfigs);
    for (size_t i = 0; row->figs && i < row->nfigs; i++)
        free(row->figs[i].s);
    free(row->figs);
    memset(row, 0, sizeof *row);
}

/* "key = value" lines into the row's parameter arrays. */
static pu_err split_params(sim_runrow *row, const char *text)
{
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    lines++;
    row->param_keys = calloc(lines, sizeof *row->param_keys);
    row->param_values = calloc(lines, sizeof *row->param_values);
    if (!row->param_keys || !row->param_values)
        return PU_ERR_NOMEM;
    for (const char *c = text; *c;) {
        const char *nl = strchr(c, '\n');
        size_t len = nl ? (size_t)(nl - c) : strlen(c);
        const char *eq = memchr(c, '=', len);
        if (eq && eq > c && eq[-1] == ' ') {
            size_t kl = (size_t)(eq - c) - 1;
            const char *v = eq + 1 + (eq + 1 < c + len && eq[1] == ' ');
            char *k = strndup(c, kl), *val = strndup(v, (size_t)(c + len - v));
            if (!k || !val) {
                free(k);
                free(val);
                return PU_ERR_NOMEM;
            }
            row->param_keys[row->nparams] = k;
            row->param_values[row->nparams++] = val;
        }
        c += len + (nl ? 1 : 0);
    }
    return PU_OK;
}

/* One /summary attribute, whatever its numeric type. */
static pu_err read_fig(sim_h5read *r, const char *name, sim_cell *c)
{
    memset(c, 0, sizeof *c);
    pu_err rc = sim_h5read_attr_u64(r, "/summary", name, &c->u);
    if (rc == PU_OK) {
        c->kind = SIM_CELL_U64;
        return PU_OK;
    }
    if (rc == PU_ERR_RANGE && (rc = sim_h5read_attr_i64(r, "/summary", name, &c->i)) == PU_OK) {
        c->kind = SIM_CELL_I64;
        return PU_OK;
    }
    if (rc == PU_ERR_RANGE && (rc = sim_h5read_attr_f64(r, "/summary", name, &c->f)) == PU_OK) {
        c->kind = SIM_CELL_F64;
        return PU_OK;
    }
    if (rc == PU_ERR_RANGE && (rc = sim_h5read_attr_str(r, "/summary", name, &c->s)) == PU_OK) {
        c->kind = SIM_CELL_STR;
        return PU_OK;
    }
    /* An array: not a figure; it stays an empty cell. */
    return rc == PU_ERR_RANGE ? PU_OK : rc;
}

pu_err sim_runrow_read(sim_h5read *r, bool params, sim_runrow *out)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    pu_err rc = sim_h5read_attr_str(r, "/run", "name", &out->name);
    if (rc == PU_OK)
        rc = sim_h5read_attr_u64(r, "/run", "seed", &out->seed);
    if (rc == PU_OK)
        rc = sim_h5read_attr_str(r, "/run", "consensus", &out->consensus);
    if (rc == PU_OK)
        rc = sim_h5read_attr_str(r, "/run", "version", &out->version);
    if (rc == PU_OK && params)
        rc = sim_h5read_attr_str(r, "/run", "parameters", &text);
    if (rc == PU_OK && params)
        rc = split_params(out, text);
    free(text);
    if (rc == PU_OK) {
        rc = sim_h5read_attr_names(r, "/summary", &out->fig_names, &out->nfigs);
        out->finished = rc == PU_OK;
        if (rc == PU_ERR_NOTFOUND)
            rc = PU_OK;
    }
    if (rc == PU_OK && out->nfigs && !(out->figs = calloc(out->nfigs, sizeof *out->figs)))
        rc = PU_ERR_NOMEM;
    for (size_t i = 0; rc == PU_OK && i < out->nfigs; i++)
        rc = read_fig(r, out->fig_names[i], &out->figs[i]);
    if (rc != PU_OK)
        sim_runrow_release(out);
    return rc;
}

pu_err sim_runrow_write_csv(const sim_runrow *row, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return PU_ERR_IO;
    }
    fputs("name,seed,consensus,version,finished", f);
    for (size_t i = 0; i < row->nparams; i++) {
        fputc(',', f);
        sim_csv_text(f, row->param_keys[i]);
    }
    for (size_t i = 0; i < row->nfigs; i++) {
        fputc(',', f);
        sim_csv_text(f, row->fig_names[i]);
    }
    fputc('\n', f);
    sim_csv_text(f, row->name);
    fprintf(f, ",%" PRIu64 ",", row->seed);
    sim_csv_text(f, row->consensus);
    fputc(',', f);
    sim_csv_text(f, row->version);
    fprintf(f, ",%d", row->finished ? 1 : 0);
    for (size_t i = 0; i < row->nparams; i++) {
        fputc(',', f);
        sim_csv_text(f, row->param_values[i]);
    }
    for (size_t i = 0; i < row->nfigs; i++) {
        fputc(',', f);
        sim_cell_csv(f, &row->figs[i]);
    }
    fputc('\n', f);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = true;
    if (bad) {
        snprintf(err, errlen, "%s: write error", path);
        return PU_ERR_IO;
    }
    return PU_OK;
}

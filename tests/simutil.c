/* tests/simutil.c -- whole runs in tests (see simutil.h). */
#include "tests/simutil.h"

#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"

int su_load(sim_params *p, const char *yaml)
{
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_params_init_defaults(p) != PU_OK)
        return -1;
    if (sim_scenario_apply_text(p, "test.yaml", yaml, strlen(yaml), &d) != PU_OK
        || sim_params_check(p, &d) != PU_OK) {
        char buf[512];
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        sim_params_release(p);
        return -1;
    }
    return 0;
}

sim_ctx *su_run(const char *yaml, const char *h5name, sim_params *p, sim_summary *sum)
{
    return su_run_db(yaml, h5name, NULL, p, sum);
}

sim_ctx *su_run_db(const char *yaml, const char *h5name, const char *dbname, sim_params *p,
                   sim_summary *sum)
{
    char path[512] = "", db[512] = "";
    if (h5name)
        th_path(path, sizeof path, h5name);
    if (dbname)
        th_path(db, sizeof db, dbname);
    if (su_load(p, yaml) != 0)
        return NULL;
    sim_run_opts o = {path, db, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300];
    if (sim_new(p, yaml, &o, &ctx, err, sizeof err) != PU_OK) {
        fprintf(stderr, "sim_new: %s\n", err);
        sim_params_release(p);
        return NULL;
    }
    if (sim_run(ctx, sum, err, sizeof err) != PU_OK) {
        fprintf(stderr, "sim_run: %s\n", err);
        sim_free(ctx);
        sim_params_release(p);
        return NULL;
    }
    return ctx;
}

static const uint8_t *cell(const sim_h5read_tab *t, uint64_t row, const char *name, size_t *size)
{
    size_t c;
    if (sim_h5read_tab_col(t, name, &c) != PU_OK || row >= sim_h5read_tab_rows(t)) {
        fprintf(stderr, "no column %s or row %llu\n", name, (unsigned long long)row);
        abort(); /* a test bug, not a result */
    }
    const sim_h5read_col *cols = sim_h5read_tab_cols(t);
    *size = cols[c].size;
    return sim_h5read_tab_data(t) + row * sim_h5read_tab_row_size(t) + cols[c].offset;
}

uint64_t su_col_u64(const sim_h5read_tab *t, uint64_t row, const char *name)
{
    size_t size;
    const uint8_t *p = cell(t, row, name, &size);
    uint64_t v = 0;
    if (size == 8)
        memcpy(&v, p, 8);
    else if (size == 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        v = w;
    } else
        v = p[0];
    return v;
}

double su_col_f64(const sim_h5read_tab *t, uint64_t row, const char *name)
{
    size_t size;
    const uint8_t *p = cell(t, row, name, &size);
    double v = 0;
    if (size == 8)
        memcpy(&v, p, 8);
    return v;
}

const char *su_col_str(const sim_h5read_tab *t, uint64_t row, const char *name, char *buf, size_t n)
{
    size_t size;
    const uint8_t *p = cell(t, row, name, &size);
    size_t k = size < n - 1 ? size : n - 1;
    memcpy(buf, p, k);
    buf[k] = '\0';
    return buf;
}

sim_h5read_tab *su_table(const char *h5name, const char *table)
{
    char path[512];
    sim_h5read *r = NULL;
    sim_h5read_tab *t = NULL;
    if (sim_h5read_open(th_path(path, sizeof path, h5name), &r, NULL, 0) != PU_OK)
        return NULL;
    if (sim_h5read_table(r, table, &t) != PU_OK)
        t = NULL;
    sim_h5read_free(r);
    return t;
}

bool su_files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool eq = fa && fb;
    while (eq) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            eq = false;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return eq;
}

bool su_tables_equal(const char *a, const char *b, const char *table)
{
    sim_h5read_tab *ta = su_table(a, table), *tb = su_table(b, table);
    bool eq = ta && tb && sim_h5read_tab_rows(ta) == sim_h5read_tab_rows(tb)
              && sim_h5read_tab_row_size(ta) == sim_h5read_tab_row_size(tb)
              && memcmp(sim_h5read_tab_data(ta), sim_h5read_tab_data(tb),
                        sim_h5read_tab_rows(ta) * sim_h5read_tab_row_size(ta)) == 0;
    sim_h5read_tab_free(ta);
    sim_h5read_tab_free(tb);
    return eq;
}

const char *const su_honest_tables[] = {
    "/blocks", "/arrivals", "/txs", "/reorgs", "/timeseries", "/block_outcomes",
    "/tx_confirmations", "/messages", "/refusals", NULL,
};

const pu_chain *su_best_chain(const sim_ctx *ctx)
{
    const pu_chain *best = sim_node_chain(ctx, 0);
    for (uint32_t i = 1; i < sim_n_nodes(ctx); i++)
        if (pu_u256_cmp(pu_chain_work(sim_node_chain(ctx, i)), pu_chain_work(best)) > 0)
            best = sim_node_chain(ctx, i);
    return best;
}

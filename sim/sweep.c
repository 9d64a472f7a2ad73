/* sim/sweep.c -- expand a scenario's sweep section into a plan of runs; see
 * sweep.h.
 *
 * Every value of the section is checked twice: alone, on a copy of the base
 * scenario, so that a wrong type or range points at the value itself; then
 * as part of its point, by loading the whole scenario with the point's
 * assignments exactly as a child `pouwsim run --set ...` will, so that no
 * run of a sweep can fail on input that the sweep accepted. */
#include "sim/sweep.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "sim/params.h"
#include "sim/scenario.h"

#define PLAN_MAGIC "pouwsim sweep plan 1"
#define SEED_TAG "pouwsim sweep seed 1\n"
#define MAX_KEY 200

enum { SEEDS_PER_POINT, SEEDS_COMMON };
static const char *const seed_rules[] = {"per_point", "common"};

/* One assignment: key and canonical value, and where it was written. */
typedef struct assign {
    char *key, *value;
    uint32_t line, col;
} assign;

typedef struct point {
    char **sets;   /* "key=value" */
    size_t n_sets;
    char **values; /* per swept key */
    uint32_t line, col; /* where the point was written (for messages) */
} point;

struct sim_sweep {
    char *file_name, *name, *text;
    size_t text_len;
    char sha[65];
    uint64_t base_seed;
    uint32_t reps;
    int seeds;
    char **keys;
    size_t nkeys;
    point *points;
    size_t npoints;
    sim_sweep_run *runs;
    size_t nruns;
};

static void say(sim_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(sim_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void sim_sweep_free(sim_sweep *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->npoints; i++) {
        free_strs(s->points[i].sets, s->points[i].n_sets);
        free_strs(s->points[i].values, s->nkeys);
    }
    free(s->points);
    free(s->runs);
    free_strs(s->keys, s->nkeys);
    free(s->file_name);
    free(s->name);
    free(s->text);
    free(s);
}

/* ---- seeds and shards ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

uint64_t sim_sweep_derive_seed(uint64_t base_seed, const char *const *sets, size_t n,
                               uint32_t rep)
{
    const char **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    pu_buf b;
    pu_buf_init(&b);
    pu_buf_put(&b, SEED_TAG, strlen(SEED_TAG));
    pu_buf_u64(&b, base_seed);
    pu_buf_u32(&b, rep);
    if (n && sorted) {
        memcpy(sorted, sets, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str);
        for (size_t i = 0; i < n; i++) {
            pu_buf_put(&b, sorted[i], strlen(sorted[i]));
            pu_buf_u8(&b, '\n');
        }
    }
    free(sorted);
    uint8_t *bytes = NULL;
    size_t len = 0;
    pu_crypto *c = NULL;
    uint64_t seed = 0;
    /* Out of memory here leaves seed 0; the caller's allocations of the
     * same size already succeeded, so this is as good as unreachable, and
     * the plan check (sim_sweep_load) rejects a zero from a failure. */
    if (pu_buf_finish(&b, &bytes, &len) == PU_OK && pu_crypto_new(&c) == PU_OK) {
        pu_hash32 h;
        pu_sha256(c, bytes, len, &h);
        for (int i = 0; i < 8; i++)
            seed = seed << 8 | h.b[i];
        seed >>= 11;
    }
    pu_crypto_free(c);
    free(bytes);
    return seed;
}

bool sim_sweep_in_shard(size_t index, uint32_t k, uint32_t n)
{
    return n > 0 && index % n == k;
}

/* ---- accessors ---- */

size_t sim_sweep_nruns(const sim_sweep *s) { return s->nruns; }
uint64_t sim_sweep_base_seed(const sim_sweep *s) { return s->base_seed; }
size_t sim_sweep_npoints(const sim_sweep *s) { return s->npoints; }
uint32_t sim_sweep_repetitions(const sim_sweep *s) { return s->reps; }
size_t sim_sweep_nkeys(const sim_sweep *s) { return s->nkeys; }
const char *sim_sweep_name(const sim_sweep *s) { return s->name; }
const char *sim_sweep_file_name(const sim_sweep *s) { return s->file_name; }
const char *sim_sweep_scenario_sha256(const sim_sweep *s) { return s->sha; }

const sim_sweep_run *sim_sweep_run_at(const sim_sweep *s, size_t i)
{
    return i < s->nruns ? &s->runs[i] : NULL;
}

const char *sim_sweep_key(const sim_sweep *s, size_t i)
{
    return i < s->nkeys ? s->keys[i] : NULL;
}

const char *sim_sweep_scenario_text(const sim_sweep *s, size_t *len)
{
    if (len)
        *len = s->text ? s->text_len : 0;
    return s->text;
}

/* ---- runs from points ---- */

static unsigned digits(size_t n)
{
    unsigned d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

static bool seed_is_swept(const sim_sweep *s, size_t *ki)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i], "seed") == 0) {
            *ki = i;
            return true;
        }
    return false;
}

/* Fill s->runs from s->points; seeds by the rule of sweep.h. */
static pu_err make_runs(sim_sweep *s)
{
    s->nruns = s->npoints * s->reps;
    s->runs = calloc(s->nruns ? s->nruns : 1, sizeof *s->runs);
    if (!s->runs)
        return PU_ERR_NOMEM;
    unsigned pw = digits(s->npoints ? s->npoints - 1 : 0), rw = digits(s->reps - 1);
    pw = pw < 3 ? 3 : pw;
    rw = rw < 2 ? 2 : rw;
    size_t seed_key = 0;
    bool swept_seed = seed_is_swept(s, &seed_key);
    for (size_t p = 0; p < s->npoints; p++) {
        const point *pt = &s->points[p];
        for (uint32_t r = 0; r < s->reps; r++) {
            sim_sweep_run *run = &s->runs[p * s->reps + r];
            run->index = (uint32_t)(p * s->reps + r);
            run->point = (uint32_t)p;
            run->rep = r;
            run->sets = (const char *const *)pt->sets;
            run->n_sets = pt->n_sets;
            run->values = (const char *const *)pt->values;
            snprintf(run->name, sizeof run->name, "p%0*zu-r%0*u", (int)pw, p, (int)rw,
                     (unsigned)r);
            if (swept_seed)
                run->seed = strtoull(pt->values[seed_key], NULL, 10);
            else
                run->seed = sim_sweep_derive_seed(s->base_seed, run->sets,
                                                  s->seeds == SEEDS_COMMON ? 0 : run->n_sets, r);
        }
    }
    return PU_OK;
}

/* ---- reading the section ---- */

typedef struct reader {
    sim_sweep *s;
    yaml_document_t *doc;
    const char *path;
    sim_params scratch; /* the base scenario, values tried on it one by one */
    sim_diag *d;
    assign *grid_keys;  /* one per grid key: its key and position (value unused) */
    size_t n_grid;
    char ***grid_vals;  /* grid_vals[i]: canonical values of grid key i */
    size_t *grid_n;
    assign **pts;       /* explicit points: their assignments */
    size_t *pts_n, n_pts;
    uint32_t *pts_line, *pts_col;
} reader;

static yaml_node_t *node(reader *R, int id) { return yaml_document_get_node(R->doc, id); }

static void at(reader *R, const yaml_node_t *n)
{
    sim_diag_at(R->d, R->path, (uint32_t)n->start_mark.line + 1,
                (uint32_t)n->start_mark.column + 1);
}

static const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A YAML list as the "[a, b]" text of a list key; strings quoted. */
static pu_err list_text(reader *R, const char *key, const yaml_node_t *seq, pu_buf *b,
                        int depth, bool strings)
{
    pu_buf_u8(b, '[');
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = node(R, *it);
        if (it != seq->data.sequence.items.start)
            pu_buf_put(b, ", ", 2);
        if (e->type == YAML_SEQUENCE_NODE && depth == 0) {
            pu_err rc = list_text(R, key, e, b, 1, strings);
            if (rc != PU_OK)
                return rc;
            continue;
        }
        const char *t = scalar(e);
        if (!t) {
            at(R, e);
            say(R->d, "%s: expected a value in the list, got %s", key,
                e->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
            return PU_ERR_PARSE;
        }
        /* Only string lists have a quoted form; other values go as written
         * ("20 Mbit/s") and their parser judges them. */
        bool plain = !strings || (t[0] && strpbrk(t, ",[]\"\\ \t\n") == NULL);
        if (!plain)
            pu_buf_u8(b, '"');
        for (const char *c = t; *c; c++) {
            if (!plain && (*c == '"' || *c == '\\'))
                pu_buf_u8(b, '\\');
            if (*c == '\n')
                pu_buf_put(b, "\\n", 2);
            else if (*c == '\t')
                pu_buf_put(b, "\\t", 2);
            else
                pu_buf_u8(b, (uint8_t)*c);
        }
        if (!plain)
            pu_buf_u8(b, '"');
    }
    pu_buf_u8(b, ']');
    return PU_OK;
}

/* Try one value of `key` (written at key node kn) on the base scenario;
 * *out = its canonical text. */
static pu_err canonical(reader *R, const char *key, const yaml_node_t *kn, const yaml_node_t *v,
                        char **out)
{
    *out = NULL;
    const sim_param_key *k;
    at(R, kn);
    pu_err rc = sim_params_lookup(&R->scratch, key, &k, R->d);
    if (rc != PU_OK)
        return rc;
    at(R, v);
    if (v->type == YAML_SCALAR_NODE) {
        rc = sim_params_set_decoded(&R->scratch, key, scalar(v), R->d);
    } else if (v->type == YAML_SEQUENCE_NODE && sim_params_type_is_list(k->type)) {
        pu_buf b;
        pu_buf_init(&b);
        rc = list_text(R, key, v, &b, k->type == SIM_PT_DMATRIX ? 0 : 1,
                       k->type == SIM_PT_SLIST);
        char *text = NULL;
        if (pu_buf_finish_str(&b, &text) != PU_OK && rc == PU_OK)
            rc = PU_ERR_NOMEM;
        if (rc == PU_OK) {
            at(R, v);
            rc = sim_params_set(&R->scratch, key, text, R->d);
        }
        free(text);
    } else {
        sim_params_wrong_shape(&R->scratch, key,
                               v->type == YAML_MAPPING_NODE ? "a mapping" : "a list", R->d);
        rc = PU_ERR_PARSE;
    }
    if (rc == PU_OK)
        rc = sim_params_value_text(&R->scratch, key, out, R->d);
    return rc;
}

static bool join(reader *R, const yaml_node_t *k, char *out, const char *prefix, const char *name)
{
    int n = snprintf(out, MAX_KEY + 1, "%s%s%s", prefix, *prefix ? "." : "", name);
    if (n < 0 || n > MAX_KEY) {
        at(R, k);
        say(R->d, "sweep: key '%.60s...' is too long", name);
        return false;
    }
    return true;
}

/* Visits the key/value pairs of a (possibly nested) mapping of scenario
 * keys: fn(R, key path, key node, value node, ctx). */
typedef pu_err (*pair_fn)(reader *R, const char *key, const yaml_node_t *k, const yaml_node_t *v,
                          void *ctx);

static pu_err each_key(reader *R, const yaml_node_t *map, const char *prefix, pair_fn fn,
                       void *ctx)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(R, pr->key), *v = node(R, pr->value);
        char path[MAX_KEY + 1];
        if (!scalar(k) || !scalar(k)[0]) {
            at(R, k);
            say(R->d, "sweep: keys must be plain names");
            return PU_ERR_PARSE;
        }
        if (!join(R, k, path, prefix, scalar(k)))
            return PU_ERR_PARSE;
        pu_err rc = v->type == YAML_MAPPING_NODE && sim_params_is_section(path)
                        ? each_key(R, v, path, fn, ctx)
                        : fn(R, path, k, v, ctx);
        if (rc != PU_OK)
            return rc;
    }
    return PU_OK;
}

static bool same_key_in(const assign *a, size_t n, const char *key, size_t *where)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0) {
            *where = i;
            return true;
        }
    return false;
}

static pu_err add_assign(reader *R, assign **v, size_t *n, const char *key, const yaml_node_t *k,
                         char *value)
{
    size_t prev;
    if (same_key_in(*v, *n, key, &prev)) {
        at(R, k);
        say(R->d, "sweep: %s given twice (first at line %u)", key, (unsigned)(*v)[prev].line);
        free(value);
        return PU_ERR_PARSE;
    }
    assign *nv = realloc(*v, (*n + 1) * sizeof *nv);
    char *kc = strdup(key);
    if (!nv || !kc) {
        if (nv)
            *v = nv;
        free(kc);
        free(value);
        return PU_ERR_NOMEM;
    }
    *v = nv;
    nv[(*n)++] = (assign){kc, value, (uint32_t)k->start_mark.line + 1,
                          (uint32_t)k->start_mark.column + 1};
    return PU_OK;
}

static pu_err point_pair(reader *R, const char *key, const yaml_node_t *k, const yaml_node_t *v,
                         void *ctx)
{
    (void)ctx;
    char *value;
    pu_err rc = canonical(R, key, k, v, &value);
    if (rc != PU_OK)
        return rc;
    return add_assign(R, &R->pts[R->n_pts - 1], &R->pts_n[R->n_pts - 1], key, k, value);
}

static pu_err grid_pair(reader *R, const char *key, const yaml_node_t *k, const yaml_node_t *v,
                        void *ctx)
{
    (void)ctx;
    const sim_param_key *pk;
    at(R, k);
    pu_err rc = sim_params_lookup(&R->scratch, key, &pk, R->d);
    if (rc != PU_OK)
        return rc;
    at(R, v);
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) {
        say(R->d, "sweep.grid: %s: expected a non-empty list of values, like [1, 2, 3]", key);
        return PU_ERR_PARSE;
    }
    rc = add_assign(R, &R->grid_keys, &R->n_grid, key, k, NULL);
    if (rc != PU_OK)
        return rc;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    char ***gv = realloc(R->grid_vals, R->n_grid * sizeof *gv);
    size_t *gn = gv ? realloc(R->grid_n, R->n_grid * sizeof *gn) : NULL;
    if (gv)
        R->grid_vals = gv;
    if (gn)
        R->grid_n = gn;
    if (!gv || !gn)
        return PU_ERR_NOMEM;
    gn[R->n_grid - 1] = 0;
    if (!(gv[R->n_grid - 1] = calloc(n, sizeof **gv)))
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = canonical(R, key, k, node(R, v->data.sequence.items.start[i]),
                       &gv[R->n_grid - 1][i]);
        if (rc != PU_OK)
            return rc;
        gn[R->n_grid - 1]++;
    }
    return PU_OK;
}

static pu_err read_points(reader *R, const yaml_node_t *v)
{
    at(R, v);
    if (v->type != YAML_SEQUENCE_NODE) {
        say(R->d, "sweep.points: expected a list of points, each a mapping of keys");
        return PU_ERR_PARSE;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    R->pts = calloc(n ? n : 1, sizeof *R->pts);
    R->pts_n = calloc(n ? n : 1, sizeof *R->pts_n);
    R->pts_line = calloc(n ? n : 1, sizeof *R->pts_line);
    R->pts_col = calloc(n ? n : 1, sizeof *R->pts_col);
    if (!R->pts || !R->pts_n || !R->pts_line || !R->pts_col)
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *e = node(R, v->data.sequence.items.start[i]);
        at(R, e);
        R->pts_line[i] = R->d->line;
        R->pts_col[i] = R->d->col;
        R->n_pts++;
        if (e->type == YAML_SCALAR_NODE && !scalar(e)[0])
            continue; /* `- ` or `- {}`: the base scenario */
        if (e->type != YAML_MAPPING_NODE) {
            say(R->d, "sweep.points[%zu]: expected a mapping of keys, like {network.nodes: 100}",
                i);
            return PU_ERR_PARSE;
        }
        pu_err rc = each_key(R, e, "", point_pair, NULL);
        if (rc != PU_OK)
            return rc;
    }
    if (!n) {
        say(R->d, "sweep.points: the list is empty");
        return PU_ERR_PARSE;
    }
    return PU_OK;
}

static pu_err read_scalar_field(reader *R, const char *name, const yaml_node_t *v)
{
    at(R, v);
    const char *t = scalar(v);
    if (strcmp(name, "repetitions") == 0) {
        char *end;
        unsigned long long r = t ? strtoull(t, &end, 10) : 0;
        if (!t || !*t || *end || t[0] == '-' || r < 1 || r > SIM_SWEEP_MAX_RUNS) {
            say(R->d, "sweep.repetitions: expected a whole number from 1 to %u",
                SIM_SWEEP_MAX_RUNS);
            return PU_ERR_RANGE;
        }
        R->s->reps = (uint32_t)r;
        return PU_OK;
    }
    for (int i = 0; i < 2; i++)
        if (t && strcmp(t, seed_rules[i]) == 0) {
            R->s->seeds = i;
            return PU_OK;
        }
    say(R->d, "sweep.seeds: expected per_point or common");
    return PU_ERR_PARSE;
}

static pu_err read_section(reader *R, const yaml_node_t *sec)
{
    at(R, sec);
    if (sec->type != YAML_MAPPING_NODE) {
        say(R->d, "sweep: expected a mapping with repetitions, seeds, grid and/or points");
        return PU_ERR_PARSE;
    }
    for (yaml_node_pair_t *pr = sec->data.mapping.pairs.start; pr < sec->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(R, pr->key), *v = node(R, pr->value);
        const char *name = scalar(k) ? scalar(k) : "";
        for (yaml_node_pair_t *q = sec->data.mapping.pairs.start; q < pr; q++)
            if (scalar(node(R, q->key)) && strcmp(scalar(node(R, q->key)), name) == 0) {
                at(R, k);
                say(R->d, "sweep: duplicate key '%s'", name);
                return PU_ERR_PARSE;
            }
        pu_err rc;
        if (strcmp(name, "repetitions") == 0 || strcmp(name, "seeds") == 0) {
            rc = read_scalar_field(R, name, v);
        } else if (strcmp(name, "points") == 0) {
            rc = read_points(R, v);
        } else if (strcmp(name, "grid") == 0) {
            at(R, v);
            if (v->type != YAML_MAPPING_NODE) {
                say(R->d, "sweep.grid: expected a mapping of keys to lists of values");
                return PU_ERR_PARSE;
            }
            rc = each_key(R, v, "", grid_pair, NULL);
        } else {
            at(R, k);
            say(R->d, "sweep: unknown key '%.40s' (a sweep takes repetitions, seeds, grid, "
                      "points)", name);
            rc = PU_ERR_PARSE;
        }
        if (rc != PU_OK)
            return rc;
    }
    return PU_OK;
}

/* ---- points: the explicit ones times the grid ---- */

static pu_err add_key(sim_sweep *s, const char *key)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i], key) == 0)
            return PU_OK;
    char **nk = realloc(s->keys, (s->nkeys + 1) * sizeof *nk);
    if (!nk)
        return PU_ERR_NOMEM;
    s->keys = nk;
    if (!(nk[s->nkeys] = strdup(key)))
        return PU_ERR_NOMEM;
    s->nkeys++;
    return PU_OK;
}

static char *assignment(const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *a = malloc(n);
    if (a)
        snprintf(a, n, "%s=%s", key, value);
    return a;
}

/* The whole scenario at point p, loaded as a child run will load it; its
 * swept values are recorded.  An error names the point. */
static pu_err check_point(reader *R, point *pt, size_t p)
{
    sim_params prm;
    sim_diag d2;
    sim_diag_clear(&d2);
    pu_err rc = sim_scenario_load_text(R->path, R->s->text, R->s->text_len,
                                       (const char *const *)pt->sets, pt->n_sets, &prm, &d2);
    if (rc != PU_OK) {
        char with[96] = "";
        size_t used = 0;
        for (size_t i = 0; i < pt->n_sets && used + 4 < sizeof with; i++)
            used += (size_t)snprintf(with + used, sizeof with - used, "%s%s", i ? ", " : "",
                                     pt->sets[i]);
        if (used >= sizeof with)
            memcpy(with + sizeof with - 4, "...", 4);
        sim_diag_at(R->d, R->path, pt->line, pt->col);
        say(R->d, "sweep point %zu (%s): %s", p, with[0] ? with : "the base scenario", d2.msg);
        return rc == PU_ERR_PARSE || rc == PU_ERR_NOMEM || rc == PU_ERR_IO ? rc : PU_ERR_RANGE;
    }
    pt->values = calloc(R->s->nkeys ? R->s->nkeys : 1, sizeof *pt->values);
    if (!pt->values)
        rc = PU_ERR_NOMEM;
    for (size_t i = 0; rc == PU_OK && i < R->s->nkeys; i++)
        rc = sim_params_value_text(&prm, R->s->keys[i], &pt->values[i], R->d);
    sim_params_release(&prm);
    return rc;
}

/* Point p = explicit point p / combos, grid combination p % combos. */
static pu_err build_point(reader *R, size_t p, size_t combos, point *pt)
{
    size_t e = R->n_pts ? p / combos : 0, c = p % combos;
    size_t n = (R->n_pts ? R->pts_n[e] : 0) + R->n_grid;
    pt->sets = calloc(n ? n : 1, sizeof *pt->sets);
    if (!pt->sets)
        return PU_ERR_NOMEM;
    if (R->n_pts) {
        pt->line = R->pts_line[e];
        pt->col = R->pts_col[e];
        for (size_t i = 0; i < R->pts_n[e]; i++) {
            if (!(pt->sets[pt->n_sets] = assignment(R->pts[e][i].key, R->pts[e][i].value)))
                return PU_ERR_NOMEM;
            pt->n_sets++;
        }
    } else if (R->n_grid) {
        pt->line = R->grid_keys[0].line;
        pt->col = R->grid_keys[0].col;
    }
    /* Last grid key fastest: key g's value index is digit g of c in the
     * mixed radix of the value counts. */
    for (size_t g = 0; g < R->n_grid; g++) {
        size_t below = 1;
        for (size_t h = g + 1; h < R->n_grid; h++)
            below *= R->grid_n[h];
        size_t vi = c / below % R->grid_n[g];
        if (!(pt->sets[pt->n_sets] = assignment(R->grid_keys[g].key, R->grid_vals[g][vi])))
            return PU_ERR_NOMEM;
        pt->n_sets++;
    }
    return check_point(R, pt, p);
}

static pu_err expand(reader *R)
{
    sim_sweep *s = R->s;
    pu_err rc = PU_OK;
    /* Swept keys: the points' keys in order, then the grid's; a grid key
     * may not also be given by a point. */
    for (size_t e = 0; rc == PU_OK && e < R->n_pts; e++)
        for (size_t i = 0; rc == PU_OK && i < R->pts_n[e]; i++)
            rc = add_key(s, R->pts[e][i].key);
    size_t combos = 1;
    for (size_t g = 0; rc == PU_OK && g < R->n_grid; g++) {
        for (size_t e = 0; e < R->n_pts; e++) {
            size_t w;
            if (same_key_in(R->pts[e], R->pts_n[e], R->grid_keys[g].key, &w)) {
                sim_diag_at(R->d, R->path, R->grid_keys[g].line, R->grid_keys[g].col);
                say(R->d, "sweep: %s is both in the grid and in point %zu (line %u)",
                    R->grid_keys[g].key, e, (unsigned)R->pts[e][w].line);
                return PU_ERR_PARSE;
            }
        }
        rc = add_key(s, R->grid_keys[g].key);
        if (combos > SIM_SWEEP_MAX_RUNS / R->grid_n[g])
            combos = SIM_SWEEP_MAX_RUNS + 1;
        else
            combos *= R->grid_n[g];
    }
    if (rc != PU_OK)
        return rc;
    size_t npoints = (R->n_pts ? R->n_pts : 1) * combos;
    if (combos > SIM_SWEEP_MAX_RUNS || npoints > SIM_SWEEP_MAX_RUNS / s->reps) {
        sim_diag_at(R->d, R->path, 0, 0);
        say(R->d, "sweep: more than %u runs", SIM_SWEEP_MAX_RUNS);
        return PU_ERR_RANGE;
    }
    s->points = calloc(npoints, sizeof *s->points);
    if (!s->points)
        return PU_ERR_NOMEM;
    for (size_t p = 0; rc == PU_OK && p < npoints; p++) {
        s->npoints++;
        rc = build_point(R, p, combos, &s->points[p]);
    }
    return rc;
}

static void reader_release(reader *R)
{
    for (size_t g = 0; g < R->n_grid; g++) {
        free(R->grid_keys[g].key);
        free_strs(R->grid_vals ? R->grid_vals[g] : NULL, R->grid_n ? R->grid_n[g] : 0);
    }
    free(R->grid_keys);
    free(R->grid_vals);
    free(R->grid_n);
    for (size_t e = 0; e < R->n_pts; e++) {
        for (size_t i = 0; i < R->pts_n[e]; i++) {
            free(R->pts[e][i].key);
            free(R->pts[e][i].value);
        }
        free(R->pts[e]);
    }
    free(R->pts);
    free(R->pts_n);
    free(R->pts_line);
    free(R->pts_col);
    sim_params_release(&R->scratch);
}

/* The `sweep` value node of the document's root mapping, or NULL. */
static const yaml_node_t *find_section(reader *R)
{
    yaml_node_t *root = yaml_document_get_root_node(R->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        const char *k = scalar(node(R, pr->key));
        if (k && strcmp(k, "sweep") == 0)
            return node(R, pr->value);
    }
    return NULL;
}

static pu_err parse_section(reader *R)
{
    yaml_parser_t ps;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&ps))
        return PU_ERR_NOMEM;
    yaml_parser_set_input_string(&ps, (const unsigned char *)R->s->text, R->s->text_len);
    /* The scenario loader has parsed this text already: no syntax error. */
    if (!yaml_parser_load(&ps, &doc)) {
        yaml_parser_delete(&ps);
        sim_diag_at(R->d, R->path, 0, 0);
        say(R->d, "cannot parse the YAML a second time");
        return PU_ERR_PARSE;
    }
    R->doc = &doc;
    const yaml_node_t *sec = find_section(R);
    pu_err rc = PU_OK;
    if (!sec) {
        sim_diag_at(R->d, R->path, 0, 0);
        say(R->d, "no sweep section: add one (see scenarios/README.md, Sweeps)");
        rc = PU_ERR_PARSE;
    } else {
        rc = read_section(R, sec);
    }
    if (rc == PU_OK)
        rc = expand(R);
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static pu_err hash_text(sim_sweep *s)
{
    pu_crypto *c;
    pu_err rc = pu_crypto_new(&c);
    if (rc != PU_OK)
        return rc;
    pu_hash32 h;
    pu_sha256(c, s->text, s->text_len, &h);
    pu_crypto_free(c);
    pu_hex_encode(h.b, 32, s->sha);
    return PU_OK;
}

pu_err sim_sweep_load(const char *path, sim_sweep **out, sim_diag *diag)
{
    sim_diag scratch;
    sim_diag *d = diag ? diag : &scratch;
    *out = NULL;
    sim_sweep *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    s->reps = 1;
    reader R = {.s = s, .path = path, .d = d};
    pu_err rc = sim_scenario_read_file(path, &s->text, &s->text_len, d);
    if (rc == PU_OK)
        rc = sim_scenario_load_text(path, s->text, s->text_len, NULL, 0, &R.scratch, d);
    if (rc == PU_OK) {
        s->base_seed = R.scratch.seed;
        s->name = strdup(R.scratch.name);
        s->file_name = strdup(base_name(path));
        rc = s->name && s->file_name ? hash_text(s) : PU_ERR_NOMEM;
        if (rc == PU_OK)
            rc = parse_section(&R);
        reader_release(&R);
    }
    size_t seed_key;
    if (rc == PU_OK && s->reps > 1 && seed_is_swept(s, &seed_key)) {
        sim_diag_at(d, path, 0, 0);
        say(d, "sweep: seed is swept, so repetitions must be 1 (each run uses the seed given)");
        rc = PU_ERR_RANGE;
    }
    if (rc == PU_OK)
        rc = make_runs(s);
    if (rc == PU_ERR_NOMEM && !d->msg[0])
        say(d, "out of memory");
    if (rc != PU_OK) {
        sim_sweep_free(s);
        return rc;
    }
    *out = s;
    return PU_OK;
}

/* ---- plan text ---- */

static void put_line(pu_buf *b, const char *a, const char *c)
{
    pu_buf_put(b, a, strlen(a));
    if (c) {
        pu_buf_u8(b, ' ');
        pu_buf_put(b, c, strlen(c));
    }
    pu_buf_u8(b, '\n');
}

static void put_num(pu_buf *b, const char *a, uint64_t v)
{
    char n[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)v);
    put_line(b, a, n);
}

/* Tabs and newlines of a name become spaces: the plan is line-based. */
static void put_name(pu_buf *b, const char *name)
{
    pu_buf_put(b, "name ", 5);
    for (const char *c = name; *c; c++)
        pu_buf_u8(b, (uint8_t)(*c == '\n' || *c == '\t' || *c == '\r' ? ' ' : *c));
    pu_buf_u8(b, '\n');
}

static bool is_set(const sim_sweep_run *r, const char *key, size_t klen)
{
    for (size_t i = 0; i < r->n_sets; i++)
        if (strncmp(r->sets[i], key, klen) == 0 && r->sets[i][klen] == '=')
            return true;
    return false;
}

pu_err sim_sweep_plan_text(const sim_sweep *s, char **out)
{
    pu_buf b;
    pu_buf_init(&b);
    put_line(&b, PLAN_MAGIC, NULL);
    put_line(&b, "scenario", s->file_name);
    put_line(&b, "sha256", s->sha);
    put_name(&b, s->name);
    put_num(&b, "base_seed", s->base_seed);
    put_num(&b, "repetitions", s->reps);
    put_line(&b, "seeds", seed_rules[s->seeds]);
    put_num(&b, "keys", s->nkeys);
    for (size_t i = 0; i < s->nkeys; i++)
        put_line(&b, "key", s->keys[i]);
    put_num(&b, "points", s->npoints);
    put_num(&b, "runs", s->nruns);
    for (size_t i = 0; i < s->nruns; i++) {
        const sim_sweep_run *r = &s->runs[i];
        char head[96];
        snprintf(head, sizeof head, "run %u %u %u %llu %s", (unsigned)r->index,
                 (unsigned)r->point, (unsigned)r->rep, (unsigned long long)r->seed, r->name);
        put_line(&b, head, NULL);
        for (size_t j = 0; j < r->n_sets; j++)
            put_line(&b, "set", r->sets[j]);
        for (size_t k = 0; k < s->nkeys; k++) {
            if (is_set(r, s->keys[k], strlen(s->keys[k])))
                continue;
            pu_buf_put(&b, "base ", 5);
            pu_buf_put(&b, s->keys[k], strlen(s->keys[k]));
            pu_buf_u8(&b, '=');
            put_line(&b, r->values[k], NULL);
        }
    }
    put_line(&b, "end", NULL);
    return pu_buf_finish_str(&b, out);
}

/* ---- plan text back into a sweep ---- */

typedef struct plan_reader {
    const char *p, *end;
    size_t line;
    char *err;
    size_t errlen;
} plan_reader;

/* The next line into buf (without its newline); false at the end or when
 * the line does not fit. */
static bool next_line(plan_reader *P, char *buf, size_t n)
{
    if (P->p >= P->end || !*P->p)
        return false;
    const char *nl = memchr(P->p, '\n', (size_t)(P->end - P->p));
    size_t len = nl ? (size_t)(nl - P->p) : (size_t)(P->end - P->p);
    P->line++;
    if (len >= n)
        return false;
    memcpy(buf, P->p, len);
    buf[len] = 0;
    P->p += len + (nl ? 1 : 0);
    return true;
}

static pu_err plan_bad(plan_reader *P, const char *what)
{
    snprintf(P->err, P->errlen, "plan line %zu: %s", P->line, what);
    return PU_ERR_PARSE;
}

/* "word VALUE" -> the value after the word and one space, or NULL. */
static const char *field(const char *line, const char *word)
{
    size_t n = strlen(word);
    return strncmp(line, word, n) == 0 && line[n] == ' ' ? line + n + 1 : NULL;
}

static bool parse_u64(const char *t, uint64_t *out)
{
    char *end;
    if (!t || !*t || *t == '-')
        return false;
    *out = strtoull(t, &end, 10);
    return *end == 0;
}

#define PLAN_LINE 8192

static pu_err plan_header(plan_reader *P, sim_sweep *s, char *line)
{
    const char *v;
    uint64_t n;
    if (!next_line(P, line, PLAN_LINE) || strcmp(line, PLAN_MAGIC) != 0)
        return plan_bad(P, "not a pouwsim sweep plan (first line '" PLAN_MAGIC "')");
    if (!next_line(P, line, PLAN_LINE) || !(v = field(line, "scenario")) ||
        !(s->file_name = strdup(v)))
        return plan_bad(P, "expected 'scenario FILE'");
    if (!next_line(P, line, PLAN_LINE) || !(v = field(line, "sha256")) || strlen(v) != 64)
        return plan_bad(P, "expected 'sha256 HEX'");
    memcpy(s->sha, v, 65);
    if (!next_line(P, line, PLAN_LINE) || !(v = field(line, "name")) || !(s->name = strdup(v)))
        return plan_bad(P, "expected 'name NAME'");
    if (!next_line(P, line, PLAN_LINE) || !parse_u64(field(line, "base_seed"), &s->base_seed))
        return plan_bad(P, "expected 'base_seed N'");
    if (!next_line(P, line, PLAN_LINE) || !parse_u64(field(line, "repetitions"), &n) || n < 1 ||
        n > SIM_SWEEP_MAX_RUNS)
        return plan_bad(P, "expected 'repetitions N'");
    s->reps = (uint32_t)n;
    if (!next_line(P, line, PLAN_LINE) || !(v = field(line, "seeds")) ||
        (strcmp(v, seed_rules[0]) != 0 && strcmp(v, seed_rules[1]) != 0))
        return plan_bad(P, "expected 'seeds per_point|common'");
    s->seeds = strcmp(v, seed_rules[0]) == 0 ? SEEDS_PER_POINT : SEEDS_COMMON;
    if (!next_line(P, line, PLAN_LINE) || !parse_u64(field(line, "keys"), &n) || n > 10000)
        return plan_bad(P, "expected 'keys N'");
    for (uint64_t i = 0; i < n; i++) {
        if (!next_line(P, line, PLAN_LINE) || !(v = field(line, "key")) || !*v)
            return plan_bad(P, "expected 'key KEY'");
        if (add_key(s, v) != PU_OK)
            return PU_ERR_NOMEM;
    }
    if (s->nkeys != n)
        return plan_bad(P, "a key is listed twice");
    if (!next_line(P, line, PLAN_LINE) || !parse_u64(field(line, "points"), &n) ||
        n > SIM_SWEEP_MAX_RUNS)
        return plan_bad(P, "expected 'points N'");
    s->npoints = 0;
    if (!(s->points = calloc(n ? n : 1, sizeof *s->points)))
        return PU_ERR_NOMEM;
    size_t npoints = (size_t)n;
    if (!next_line(P, line, PLAN_LINE) || !parse_u64(field(line, "runs"), &n) ||
        n != npoints * s->reps)
        return plan_bad(P, "expected 'runs N' with N = points x repetitions");
    s->nruns = (size_t)n;
    s->npoints = npoints;
    return PU_OK;
}

/* The set/base lines of one run into a point (values[] per key). */
static pu_err plan_point(plan_reader *P, sim_sweep *s, point *pt, char *line)
{
    if (!(pt->values = calloc(s->nkeys ? s->nkeys : 1, sizeof *pt->values)) ||
        !(pt->sets = calloc(s->nkeys ? s->nkeys : 1, sizeof *pt->sets)))
        return PU_ERR_NOMEM;
    for (size_t k = 0; k < s->nkeys; k++) {
        if (!next_line(P, line, PLAN_LINE))
            return plan_bad(P, "expected a 'set' or 'base' line");
        const char *v = field(line, "set");
        bool set = v != NULL;
        if (!set)
            v = field(line, "base");
        const char *eq = v ? strchr(v, '=') : NULL;
        size_t ki = s->nkeys;
        for (size_t i = 0; eq && i < s->nkeys; i++)
            if (strlen(s->keys[i]) == (size_t)(eq - v) && strncmp(s->keys[i], v, (size_t)(eq - v)) == 0)
                ki = i;
        if (ki == s->nkeys || pt->values[ki])
            return plan_bad(P, "expected 'set KEY=VALUE' or 'base KEY=VALUE' for each key once");
        if (!(pt->values[ki] = strdup(eq + 1)))
            return PU_ERR_NOMEM;
        if (set && !(pt->sets[pt->n_sets++] = strdup(v)))
            return PU_ERR_NOMEM;
    }
    return PU_OK;
}

static bool same_point(const sim_sweep *s, const point *a, const point *b)
{
    if (a->n_sets != b->n_sets)
        return false;
    for (size_t i = 0; i < a->n_sets; i++)
        if (strcmp(a->sets[i], b->sets[i]) != 0)
            return false;
    for (size_t k = 0; k < s->nkeys; k++)
        if (strcmp(a->values[k], b->values[k]) != 0)
            return false;
    return true;
}

static pu_err plan_runs(plan_reader *P, sim_sweep *s, char *line)
{
    if (!(s->runs = calloc(s->nruns ? s->nruns : 1, sizeof *s->runs)))
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < s->nruns; i++) {
        sim_sweep_run *r = &s->runs[i];
        unsigned idx, pt, rep;
        unsigned long long seed;
        char name[32], extra;
        if (!next_line(P, line, PLAN_LINE) ||
            sscanf(line, "run %u %u %u %llu %31s %c", &idx, &pt, &rep, &seed, name, &extra) != 5 ||
            idx != i || pt != i / s->reps || rep != i % s->reps)
            return plan_bad(P, "expected 'run INDEX POINT REP SEED NAME' in order");
        *r = (sim_sweep_run){.index = idx, .point = pt, .rep = rep, .seed = seed};
        snprintf(r->name, sizeof r->name, "%s", name);
        point tmp = {0};
        pu_err rc = plan_point(P, s, &tmp, line);
        point *own = &s->points[pt];
        if (rc == PU_OK && rep == 0)
            *own = tmp;
        else if (rc == PU_OK && !same_point(s, own, &tmp))
            rc = plan_bad(P, "a repetition differs from its point's first run");
        if (rep != 0 || rc != PU_OK) {
            free_strs(tmp.sets, tmp.n_sets);
            free_strs(tmp.values, s->nkeys);
        }
        if (rc != PU_OK)
            return rc;
        r->sets = (const char *const *)own->sets;
        r->n_sets = own->n_sets;
        r->values = (const char *const *)own->values;
    }
    if (!next_line(P, line, PLAN_LINE) || strcmp(line, "end") != 0)
        return plan_bad(P, "expected 'end'");
    return PU_OK;
}

pu_err sim_sweep_from_plan(const char *text, size_t len, sim_sweep **out, char *err,
                           size_t errlen)
{
    char scratch[8];
    *out = NULL;
    plan_reader P = {text, text + len, 0, err ? err : scratch, err ? errlen : sizeof scratch};
    P.err[0] = 0;
    sim_sweep *s = calloc(1, sizeof *s);
    char *line = malloc(PLAN_LINE);
    pu_err rc = s && line ? PU_OK : PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = plan_header(&P, s, line);
    if (rc == PU_OK)
        rc = plan_runs(&P, s, line);
    free(line);
    if (rc == PU_ERR_NOMEM)
        snprintf(P.err, P.errlen, "out of memory");
    if (rc != PU_OK) {
        /* Points not reached hold no values: free_strs(NULL, n) is safe. */
        sim_sweep_free(s);
        return rc;
    }
    *out = s;
    return PU_OK;
}

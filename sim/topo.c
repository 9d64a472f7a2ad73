/* sim/topo.c -- graph generators, edge-list parsing, CSR storage.
 *
 * Generators work on an edge set (open addressing over u64 keys
 * (min << 32 | max)), then collect the keys, sort them and build the CSR.
 * Sorting the keys before building makes the result independent of hash
 * table layout, and yields sorted neighbour lists for free: for node x the
 * keys (u, x) with u < x all sort before the keys (x, v). */
#include "sim/topo.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mix.h"

#define NONE UINT32_MAX
#define KEY_EMPTY UINT64_C(0)          /* (0, 0) would be a self loop */
#define KEY_TOMB UINT64_MAX            /* deleted; also a self loop */
/* Random probes before a generator falls back to scanning every candidate:
 * enough that the scan only happens when almost nothing qualifies. */
#define TRIES 64

struct sim_topo {
    uint32_t n;
    uint32_t *off; /* n + 1 */
    uint32_t *adj; /* off[n] used, adj_cap allocated */
    uint64_t adj_cap;
};

static const double BITCOIN_DEGREE_CDF[20] = {
    0.025, 0.050, 0.075, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70,
    0.80, 0.85, 0.90, 0.95, 0.97, 0.97, 0.98, 0.99, 0.995, 1.0};
static const double BITCOIN_REGION_SHARES[6] = {0.3316, 0.4998, 0.0090, 0.1177, 0.0224, 0.0195};

const double *sim_topo_bitcoin_degree_cdf(uint32_t *count)
{
    *count = 20;
    return BITCOIN_DEGREE_CDF;
}

const double *sim_topo_bitcoin_region_shares(uint32_t *count)
{
    *count = 6;
    return BITCOIN_REGION_SHARES;
}

static uint64_t ekey(uint32_t a, uint32_t b)
{
    return a < b ? ((uint64_t)a << 32) | b : ((uint64_t)b << 32) | a;
}

/* ---- growable key vector ---- */

typedef struct kvec {
    uint64_t *p;
    size_t n, cap;
} kvec;

static pu_err kvec_push(kvec *v, uint64_t k)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 256;
        uint64_t *p = realloc(v->p, nc * sizeof *p);
        if (!p)
            return PU_ERR_NOMEM;
        v->p = p;
        v->cap = nc;
    }
    v->p[v->n++] = k;
    return PU_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void kvec_sort_unique(kvec *v)
{
    if (v->n == 0)
        return;
    qsort(v->p, v->n, sizeof *v->p, cmp_u64);
    size_t w = 1;
    for (size_t i = 1; i < v->n; i++)
        if (v->p[i] != v->p[w - 1])
            v->p[w++] = v->p[i];
    v->n = w;
}

/* ---- edge set used while generating ---- */

typedef struct eset {
    uint64_t *slot;
    size_t cap, used; /* used counts live keys and tombstones */
} eset;

static size_t eset_find(const eset *s, uint64_t k)
{
    size_t m = s->cap - 1, i = (size_t)pu_mix64(k) & m;
    while (s->slot[i] != KEY_EMPTY && s->slot[i] != k)
        i = (i + 1) & m;
    return i;
}

static pu_err eset_init(eset *s, size_t expect)
{
    size_t cap = 1024;
    while (cap < expect * 2)
        cap *= 2;
    s->slot = calloc(cap, sizeof *s->slot);
    s->cap = cap;
    s->used = 0;
    return s->slot ? PU_OK : PU_ERR_NOMEM;
}

static pu_err eset_rehash(eset *s, size_t cap)
{
    eset t = {calloc(cap, sizeof(uint64_t)), cap, 0};
    if (!t.slot)
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t k = s->slot[i];
        if (k != KEY_EMPTY && k != KEY_TOMB) {
            t.slot[eset_find(&t, k)] = k;
            t.used++;
        }
    }
    free(s->slot);
    *s = t;
    return PU_OK;
}

static bool eset_has(const eset *s, uint32_t a, uint32_t b)
{
    return s->slot[eset_find(s, ekey(a, b))] != KEY_EMPTY;
}

/* Insert a-b (caller checked it is absent). */
static pu_err eset_add(eset *s, uint32_t a, uint32_t b)
{
    if ((s->used + 1) * 4 > s->cap * 3) {
        pu_err rc = eset_rehash(s, s->cap * 2);
        if (rc != PU_OK)
            return rc;
    }
    s->slot[eset_find(s, ekey(a, b))] = ekey(a, b);
    s->used++;
    return PU_OK;
}

/* Delete a-b: a tombstone keeps later probe chains intact. */
static void eset_del(eset *s, uint32_t a, uint32_t b)
{
    size_t i = eset_find(s, ekey(a, b));
    if (s->slot[i] != KEY_EMPTY)
        s->slot[i] = KEY_TOMB;
}

static pu_err eset_keys(const eset *s, kvec *out)
{
    pu_err rc = PU_OK;
    for (size_t i = 0; i < s->cap && rc == PU_OK; i++)
        if (s->slot[i] != KEY_EMPTY && s->slot[i] != KEY_TOMB)
            rc = kvec_push(out, s->slot[i]);
    return rc;
}

/* ---- CSR construction ---- */

static pu_err topo_alloc(uint32_t n, uint64_t nadj, sim_topo **out)
{
    *out = NULL;
    if (nadj >= UINT32_MAX)
        return PU_ERR_RANGE;
    sim_topo *t = calloc(1, sizeof *t);
    if (!t)
        return PU_ERR_NOMEM;
    t->n = n;
    t->adj_cap = nadj ? nadj : 1;
    t->off = calloc((size_t)n + 1, sizeof *t->off);
    t->adj = malloc((size_t)t->adj_cap * sizeof *t->adj);
    if (!t->off || !t->adj) {
        sim_topo_free(t);
        return PU_ERR_NOMEM;
    }
    *out = t;
    return PU_OK;
}

/* Build from sorted, duplicate-free keys of valid edges. */
static pu_err topo_from_keys(uint32_t n, const kvec *k, sim_topo **out)
{
    sim_topo *t;
    pu_err rc = topo_alloc(n, 2 * (uint64_t)k->n, &t);
    if (rc != PU_OK)
        return rc;
    for (size_t i = 0; i < k->n; i++) {
        t->off[(k->p[i] >> 32) + 1]++;
        t->off[(uint32_t)k->p[i] + 1]++;
    }
    for (uint32_t v = 0; v < n; v++)
        t->off[v + 1] += t->off[v];
    uint32_t *fill = malloc((size_t)n * sizeof *fill);
    if (!fill) {
        sim_topo_free(t);
        return PU_ERR_NOMEM;
    }
    memcpy(fill, t->off, (size_t)n * sizeof *fill);
    for (size_t i = 0; i < k->n; i++) {
        uint32_t a = (uint32_t)(k->p[i] >> 32), b = (uint32_t)k->p[i];
        t->adj[fill[a]++] = b;
        t->adj[fill[b]++] = a;
    }
    free(fill);
    *out = t;
    return PU_OK;
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]]; /* path halving */
        x = parent[x];
    }
    return x;
}

/* Label components 0..C-1 in order of their smallest node; cid[v] = label. */
static uint32_t label_components(uint32_t n, const kvec *k, uint32_t *parent, uint32_t *cid)
{
    for (uint32_t v = 0; v < n; v++)
        parent[v] = v;
    for (size_t i = 0; i < k->n; i++) {
        uint32_t a = uf_find(parent, (uint32_t)(k->p[i] >> 32));
        uint32_t b = uf_find(parent, (uint32_t)k->p[i]);
        if (a != b)
            parent[a > b ? a : b] = a < b ? a : b;
    }
    uint32_t c = 0;
    for (uint32_t v = 0; v < n; v++)
        cid[v] = NONE;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t r = uf_find(parent, v);
        if (cid[r] == NONE)
            cid[r] = c++;
        cid[v] = cid[r];
    }
    return c;
}

/* Append one joining edge per extra component (see topo.h); the caller
 * re-sorts the keys.  With rng NULL a disconnected graph is PU_ERR_INVALID
 * and *first_cut gets the smallest node not connected to node 0. */
static pu_err join_components(uint32_t n, kvec *k, sim_rng *rng, uint32_t *first_cut)
{
    pu_err rc = PU_ERR_NOMEM;
    uint32_t *parent = malloc((size_t)n * sizeof *parent);
    uint32_t *cid = malloc((size_t)n * sizeof *cid);
    uint32_t *start = NULL, *members = NULL;
    if (!parent || !cid)
        goto out;
    uint32_t c = label_components(n, k, parent, cid);
    rc = PU_OK;
    if (c <= 1)
        goto out;
    if (!rng) {
        uint32_t v = 0;
        while (cid[v] == 0)
            v++;
        *first_cut = v;
        rc = PU_ERR_INVALID;
        goto out;
    }
    rc = PU_ERR_NOMEM;
    start = calloc((size_t)c + 1, sizeof *start);
    members = malloc((size_t)n * sizeof *members);
    if (!start || !members)
        goto out;
    for (uint32_t v = 0; v < n; v++)
        start[cid[v] + 1]++;
    for (uint32_t i = 0; i < c; i++)
        start[i + 1] += start[i];
    for (uint32_t i = 0; i < c; i++) /* parent[] is free now: fill cursors */
        parent[i] = start[i];
    for (uint32_t v = 0; v < n; v++)
        members[parent[cid[v]]++] = v;
    rc = PU_OK;
    for (uint32_t i = 1; i < c && rc == PU_OK; i++) {
        uint32_t a = members[start[i] + (uint32_t)sim_rng_below(rng, start[i + 1] - start[i])];
        uint32_t b = members[(uint32_t)sim_rng_below(rng, start[i])];
        rc = kvec_push(k, ekey(a, b));
    }
out:
    free(parent);
    free(cid);
    free(start);
    free(members);
    return rc;
}

/* Sort, join components with rng, build.  Takes the keys (frees them).
 * PU_ERR_INVALID with *cut set when rng is NULL and the graph is split. */
static pu_err finish(uint32_t n, kvec *k, sim_rng *rng, sim_topo **out, uint32_t *cut)
{
    kvec_sort_unique(k);
    size_t before = k->n;
    pu_err rc = join_components(n, k, rng, cut);
    if (rc == PU_OK && k->n != before)
        kvec_sort_unique(k);
    if (rc == PU_OK)
        rc = topo_from_keys(n, k, out);
    free(k->p);
    k->p = NULL;
    return rc;
}

void sim_topo_free(sim_topo *t)
{
    if (!t)
        return;
    free(t->off);
    free(t->adj);
    free(t);
}

/* ---- generators ---- */

pu_err sim_topo_new_full(uint32_t n, sim_topo **out)
{
    *out = NULL;
    if (n == 0 || (uint64_t)n * (n - 1) >= UINT32_MAX)
        return PU_ERR_RANGE;
    sim_topo *t;
    pu_err rc = topo_alloc(n, (uint64_t)n * (n - 1), &t);
    if (rc != PU_OK)
        return rc;
    uint32_t w = 0;
    for (uint32_t v = 0; v < n; v++) {
        t->off[v] = w;
        for (uint32_t u = 0; u < n; u++)
            if (u != v)
                t->adj[w++] = u;
    }
    t->off[n] = w;
    *out = t;
    return PU_OK;
}

/* State shared by the incremental generators. */
typedef struct gen {
    uint32_t n;
    eset set;
    uint32_t *deg;
    uint32_t *cand; /* scratch for fallback scans, n entries */
} gen;

static pu_err gen_init(gen *g, uint32_t n, size_t expect_edges)
{
    g->n = n;
    g->deg = calloc(n, sizeof *g->deg);
    g->cand = malloc((size_t)n * sizeof *g->cand);
    pu_err rc = eset_init(&g->set, expect_edges);
    if (rc == PU_OK && (!g->deg || !g->cand))
        rc = PU_ERR_NOMEM;
    return rc;
}

static void gen_release(gen *g)
{
    free(g->set.slot);
    free(g->deg);
    free(g->cand);
}

static pu_err gen_link(gen *g, uint32_t a, uint32_t b)
{
    pu_err rc = eset_add(&g->set, a, b);
    if (rc == PU_OK) {
        g->deg[a]++;
        g->deg[b]++;
    }
    return rc;
}

static pu_err gen_finish(gen *g, sim_rng *rng, sim_topo **out)
{
    kvec k = {0};
    pu_err rc = eset_keys(&g->set, &k);
    uint32_t cut;
    if (rc == PU_OK)
        return finish(g->n, &k, rng, out, &cut);
    free(k.p);
    return rc;
}

/* Deficient-node set for the random generator: O(1) removal by swapping
 * with the last element. */
typedef struct defset {
    uint32_t *item, *pos, count;
} defset;

static void defset_remove(defset *d, uint32_t v)
{
    uint32_t i = d->pos[v];
    if (i == NONE)
        return;
    uint32_t last = d->item[--d->count];
    d->item[i] = last;
    d->pos[last] = i;
    d->pos[v] = NONE;
}

/* A peer for v in the random generator: see sim_topo_new_random. */
static uint32_t random_pick(gen *g, const defset *d, uint32_t v, sim_rng *rng)
{
    for (int t = 0; t < TRIES && d->count > 0; t++) {
        uint32_t x = d->item[sim_rng_below(rng, d->count)];
        if (x != v && !eset_has(&g->set, v, x))
            return x;
    }
    uint32_t nc = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        uint32_t x = d->item[i];
        if (x != v && !eset_has(&g->set, v, x))
            g->cand[nc++] = x;
    }
    if (nc == 0)
        for (uint32_t x = 0; x < g->n; x++)
            if (x != v && !eset_has(&g->set, v, x))
                g->cand[nc++] = x;
    return nc ? g->cand[sim_rng_below(rng, nc)] : NONE;
}

pu_err sim_topo_new_random(uint32_t n, uint32_t d, sim_rng *rng, sim_topo **out)
{
    *out = NULL;
    if (n == 0 || (d == 0 && n > 1))
        return PU_ERR_RANGE;
    if (d > n - 1)
        d = n - 1;
    gen g;
    defset ds = {malloc((size_t)n * sizeof(uint32_t)), malloc((size_t)n * sizeof(uint32_t)), n};
    pu_err rc = gen_init(&g, n, (size_t)n * d);
    if (rc == PU_OK && (!ds.item || !ds.pos))
        rc = PU_ERR_NOMEM;
    for (uint32_t v = 0; v < n && rc == PU_OK; v++)
        ds.item[v] = ds.pos[v] = v;
    for (uint32_t v = 0; v < n && rc == PU_OK; v++) {
        while (g.deg[v] < d && rc == PU_OK) {
            uint32_t u = random_pick(&g, &ds, v, rng);
            if (u == NONE)
                break; /* cannot happen while d <= n - 1; defensive */
            rc = gen_link(&g, v, u);
            if (g.deg[u] >= d)
                defset_remove(&ds, u);
        }
        defset_remove(&ds, v);
    }
    if (rc == PU_OK)
        rc = gen_finish(&g, rng, out);
    gen_release(&g);
    free(ds.item);
    free(ds.pos);
    return rc;
}

static bool cdf_valid(const double *cdf, uint32_t ncdf)
{
    if (ncdf == 0)
        return false;
    double prev = 0.0;
    for (uint32_t i = 0; i < ncdf; i++) {
        if (!(cdf[i] >= prev && cdf[i] <= 1.0))
            return false;
        prev = cdf[i];
    }
    return prev == 1.0;
}

/* An outbound peer for v, or NONE: see sim_topo_new_bitcoin. */
static uint32_t bitcoin_pick(gen *g, const uint32_t *in, uint32_t max_in, uint32_t v,
                             sim_rng *rng)
{
    for (int t = 0; t < TRIES; t++) {
        uint32_t x = (uint32_t)sim_rng_below(rng, g->n);
        if (x != v && in[x] < max_in && !eset_has(&g->set, v, x))
            return x;
    }
    uint32_t nc = 0;
    for (uint32_t x = 0; x < g->n; x++)
        if (x != v && in[x] < max_in && !eset_has(&g->set, v, x))
            g->cand[nc++] = x;
    return nc ? g->cand[sim_rng_below(rng, nc)] : NONE;
}

pu_err sim_topo_new_bitcoin(uint32_t n, uint32_t max_inbound, const double *cdf, uint32_t ncdf,
                            sim_rng *rng, sim_topo **out)
{
    *out = NULL;
    if (!cdf)
        cdf = sim_topo_bitcoin_degree_cdf(&ncdf);
    if (n == 0 || max_inbound == 0 || !cdf_valid(cdf, ncdf))
        return PU_ERR_RANGE;
    gen g;
    uint32_t *in = calloc(n, sizeof *in);
    pu_err rc = gen_init(&g, n, (size_t)n * 10);
    if (rc == PU_OK && !in)
        rc = PU_ERR_NOMEM;
    for (uint32_t v = 0; v < n && rc == PU_OK; v++) {
        double u = sim_rng_unit(rng);
        uint32_t k = 1;
        while (k < ncdf && !(u < cdf[k - 1]))
            k++;
        for (uint32_t j = 0; j < k && rc == PU_OK; j++) {
            uint32_t x = bitcoin_pick(&g, in, max_inbound, v, rng);
            if (x == NONE)
                break;
            rc = gen_link(&g, v, x);
            in[x]++;
        }
    }
    if (rc == PU_OK)
        rc = gen_finish(&g, rng, out);
    gen_release(&g);
    free(in);
    return rc;
}

pu_err sim_topo_new_small_world(uint32_t n, uint32_t k, double beta, sim_rng *rng,
                                sim_topo **out)
{
    *out = NULL;
    if (k < 2 || k % 2 != 0 || k >= n || !(beta >= 0.0 && beta <= 1.0))
        return PU_ERR_RANGE;
    gen g;
    pu_err rc = gen_init(&g, n, (size_t)n * (k / 2));
    for (uint32_t i = 0; i < n && rc == PU_OK; i++)
        for (uint32_t j = 1; j <= k / 2 && rc == PU_OK; j++)
            rc = gen_link(&g, i, (i + j) % n);
    for (uint32_t j = 1; j <= k / 2 && rc == PU_OK; j++) {
        for (uint32_t i = 0; i < n && rc == PU_OK; i++) {
            if (!(sim_rng_unit(rng) < beta))
                continue;
            uint32_t t = (i + j) % n;
            if (!eset_has(&g.set, i, t) || g.deg[i] >= n - 1)
                continue;
            uint32_t w;
            do /* terminates: deg[i] < n - 1 leaves a non-neighbour */
                w = (uint32_t)sim_rng_below(rng, n);
            while (w == i || eset_has(&g.set, i, w));
            eset_del(&g.set, i, t);
            g.deg[i]--;
            g.deg[t]--;
            rc = gen_link(&g, i, w);
        }
    }
    if (rc == PU_OK)
        rc = gen_finish(&g, rng, out);
    gen_release(&g);
    return rc;
}

pu_err sim_topo_new_scale_free(uint32_t n, uint32_t m, sim_rng *rng, sim_topo **out)
{
    *out = NULL;
    if (m < 1 || m >= n)
        return PU_ERR_RANGE;
    uint64_t nedges = (uint64_t)m * (m + 1) / 2 + (uint64_t)(n - m - 1) * m;
    if (2 * nedges >= UINT32_MAX)
        return PU_ERR_RANGE;
    kvec k = {0};
    uint32_t *ends = malloc((size_t)(2 * nedges) * sizeof *ends);
    uint32_t *chosen = malloc((size_t)m * sizeof *chosen);
    size_t ne = 0;
    pu_err rc = (ends && chosen) ? PU_OK : PU_ERR_NOMEM;
    for (uint32_t a = 0; a <= m && rc == PU_OK; a++)
        for (uint32_t b = a + 1; b <= m && rc == PU_OK; b++) {
            rc = kvec_push(&k, ekey(a, b));
            ends[ne++] = a;
            ends[ne++] = b;
        }
    for (uint32_t v = m + 1; v < n && rc == PU_OK; v++) {
        /* All m targets are drawn before v's own endpoints join the list. */
        for (uint32_t j = 0; j < m; j++) {
            uint32_t t, dup;
            do {
                t = ends[sim_rng_below(rng, ne)];
                dup = 0;
                for (uint32_t i = 0; i < j; i++)
                    dup |= chosen[i] == t;
            } while (dup);
            chosen[j] = t;
        }
        for (uint32_t j = 0; j < m && rc == PU_OK; j++) {
            rc = kvec_push(&k, ekey(v, chosen[j]));
            ends[ne++] = v;
            ends[ne++] = chosen[j];
        }
    }
    free(ends);
    free(chosen);
    uint32_t cut;
    if (rc == PU_OK)
        return finish(n, &k, rng, out, &cut);
    free(k.p);
    return rc;
}

/* ---- edge-list files ---- */

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
{
    if (!msg || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parse a decimal id at *p (< end); PU_ERR_PARSE if none or above 2^32-1. */
static pu_err parse_id(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return PU_ERR_PARSE;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return PU_ERR_PARSE;
        s++;
    }
    *p = s;
    *out = v;
    return PU_OK;
}

/* One line [p, end) into *k; blank and comment lines add nothing. */
static pu_err parse_line(const char *p, const char *end, uint32_t n, uint32_t line, kvec *k,
                         char *msg, size_t cap)
{
    uint64_t a, b;
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return PU_OK;
    const char *q = p;
    bool ok = parse_id(&q, end, &a) == PU_OK && q < end && is_blank(*q);
    while (ok && q < end && is_blank(*q))
        q++;
    ok = ok && parse_id(&q, end, &b) == PU_OK;
    while (ok && q < end && is_blank(*q))
        q++;
    if (!ok || (q < end && *q != '#')) {
        set_msg(msg, cap, "line %u: expected two node ids 'a b'", line);
        return PU_ERR_PARSE;
    }
    if (a >= n || b >= n) {
        set_msg(msg, cap, "line %u: node id %llu >= n (%u)", line,
                (unsigned long long)(a >= n ? a : b), n);
        return PU_ERR_PARSE;
    }
    if (a == b) {
        set_msg(msg, cap, "line %u: self loop on node %llu", line, (unsigned long long)a);
        return PU_ERR_PARSE;
    }
    return kvec_push(k, ekey((uint32_t)a, (uint32_t)b));
}

pu_err sim_topo_parse_edges(const char *text, size_t len, uint32_t n, sim_rng *join_rng,
                            sim_topo **out, char *msg, size_t msg_cap)
{
    *out = NULL;
    if (msg && msg_cap)
        msg[0] = '\0';
    if (n == 0) {
        set_msg(msg, msg_cap, "n must be > 0");
        return PU_ERR_RANGE;
    }
    kvec k = {0};
    pu_err rc = PU_OK;
    const char *p = text, *end = text + len;
    for (uint32_t line = 1; p < end && rc == PU_OK; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        rc = parse_line(p, le, n, line, &k, msg, msg_cap);
        p = nl ? nl + 1 : end;
    }
    if (rc != PU_OK) {
        free(k.p);
        return rc;
    }
    uint32_t cut = 0;
    rc = finish(n, &k, join_rng, out, &cut);
    if (rc == PU_ERR_INVALID)
        set_msg(msg, msg_cap, "graph is not connected: node %u is not reachable from node 0", cut);
    return rc;
}

pu_err sim_topo_load_edges(const char *path, uint32_t n, sim_rng *join_rng, sim_topo **out,
                           char *msg, size_t msg_cap)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (msg && msg_cap)
            snprintf(msg, msg_cap, "%s: cannot open: %s", path, strerror(errno));
        return PU_ERR_IO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    pu_err rc = PU_OK;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, nc);
            if (!nb) {
                rc = PU_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (rc == PU_OK && ferror(f)) {
        rc = PU_ERR_IO;
        if (msg && msg_cap)
            snprintf(msg, msg_cap, "%s: cannot read", path);
    }
    fclose(f);
    if (rc == PU_OK) {
        rc = sim_topo_parse_edges(buf, len, n, join_rng, out, msg, msg_cap);
        if ((rc == PU_ERR_PARSE || rc == PU_ERR_INVALID) && msg && msg_cap) {
            char why[256];
            snprintf(why, sizeof why, "%s", msg);
            snprintf(msg, msg_cap, "%s: %s", path, why);
        }
    }
    free(buf);
    return rc;
}

/* ---- queries and run-time changes ---- */

uint32_t sim_topo_n(const sim_topo *t)
{
    return t->n;
}

uint64_t sim_topo_edges(const sim_topo *t)
{
    return t->off[t->n] / 2;
}

uint32_t sim_topo_degree(const sim_topo *t, uint32_t v)
{
    return v < t->n ? t->off[v + 1] - t->off[v] : 0;
}

const uint32_t *sim_topo_neighbors(const sim_topo *t, uint32_t v, uint32_t *count)
{
    if (v >= t->n) {
        *count = 0;
        return NULL;
    }
    *count = t->off[v + 1] - t->off[v];
    return t->adj + t->off[v];
}

/* Index in adj of the first neighbour of a that is >= b. */
static uint32_t lower_bound(const sim_topo *t, uint32_t a, uint32_t b)
{
    uint32_t lo = t->off[a], hi = t->off[a + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->adj[mid] < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool sim_topo_has_edge(const sim_topo *t, uint32_t a, uint32_t b)
{
    if (a >= t->n || b >= t->n)
        return false;
    uint32_t i = lower_bound(t, a, b);
    return i < t->off[a + 1] && t->adj[i] == b;
}

pu_err sim_topo_connected(const sim_topo *t, bool *out)
{
    *out = false;
    uint32_t *queue = malloc((size_t)t->n * sizeof *queue);
    uint8_t *seen = calloc(t->n, 1);
    if (!queue || !seen) {
        free(queue);
        free(seen);
        return PU_ERR_NOMEM;
    }
    uint32_t head = 0, tail = 0;
    queue[tail++] = 0;
    seen[0] = 1;
    while (head < tail) {
        uint32_t v = queue[head++];
        for (uint32_t i = t->off[v]; i < t->off[v + 1]; i++)
            if (!seen[t->adj[i]]) {
                seen[t->adj[i]] = 1;
                queue[tail++] = t->adj[i];
            }
    }
    *out = tail == t->n;
    free(queue);
    free(seen);
    return PU_OK;
}

/* Insert b into a's sorted list (room already reserved). */
static void insert_half(sim_topo *t, uint32_t a, uint32_t b)
{
    uint32_t i = lower_bound(t, a, b), total = t->off[t->n];
    memmove(t->adj + i + 1, t->adj + i, (size_t)(total - i) * sizeof *t->adj);
    t->adj[i] = b;
    for (uint32_t x = a + 1; x <= t->n; x++)
        t->off[x]++;
}

static void remove_half(sim_topo *t, uint32_t a, uint32_t b)
{
    uint32_t i = lower_bound(t, a, b), total = t->off[t->n];
    memmove(t->adj + i, t->adj + i + 1, (size_t)(total - i - 1) * sizeof *t->adj);
    for (uint32_t x = a + 1; x <= t->n; x++)
        t->off[x]--;
}

pu_err sim_topo_add_edge(sim_topo *t, uint32_t a, uint32_t b)
{
    if (a >= t->n || b >= t->n || a == b)
        return PU_ERR_RANGE;
    if (sim_topo_has_edge(t, a, b))
        return PU_ERR_EXISTS;
    uint64_t need = (uint64_t)t->off[t->n] + 2;
    if (need >= UINT32_MAX)
        return PU_ERR_RANGE;
    if (need > t->adj_cap) {
        uint64_t nc = t->adj_cap * 2 > need ? t->adj_cap * 2 : need;
        uint32_t *p = realloc(t->adj, (size_t)nc * sizeof *p);
        if (!p)
            return PU_ERR_NOMEM;
        t->adj = p;
        t->adj_cap = nc;
    }
    insert_half(t, a, b);
    insert_half(t, b, a);
    return PU_OK;
}

pu_err sim_topo_remove_edge(sim_topo *t, uint32_t a, uint32_t b)
{
    if (!sim_topo_has_edge(t, a, b))
        return PU_ERR_NOTFOUND;
    remove_half(t, a, b);
    remove_half(t, b, a);
    return PU_OK;
}

/* ---- regions ---- */

/* counts[i] = floor(n share_i / sum) plus one for the regions with the
 * largest remainders (ties to the lower index) until they sum to n. */
static void largest_remainder(uint32_t n, const double *shares, uint32_t nr, double sum,
                              uint32_t *counts, double *rem)
{
    uint32_t given = 0;
    for (uint32_t i = 0; i < nr; i++) {
        double q = (double)n * shares[i] / sum;
        double f = (double)(uint64_t)q; /* q >= 0: truncation is floor */
        counts[i] = (uint32_t)f;
        rem[i] = q - f;
        given += counts[i];
    }
    /* Rounding can make the floors overshoot n by a unit in theory: trim
     * from the smallest remainders, highest index first. */
    while (given > n) {
        uint32_t w = NONE;
        for (uint32_t i = nr; i-- > 0;)
            if (counts[i] > 0 && (w == NONE || rem[i] < rem[w]))
                w = i;
        counts[w]--;
        rem[w] = 2.0;
        given--;
    }
    while (given < n) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < nr; i++)
            if (rem[i] > rem[best])
                best = i;
        counts[best]++;
        rem[best] = -1.0;
        given++;
    }
}

pu_err sim_topo_regions(uint32_t n, const double *shares, uint32_t nregions, sim_rng *rng,
                        uint8_t *out)
{
    if (nregions == 0 || nregions > 256)
        return PU_ERR_RANGE;
    double sum = 0.0;
    for (uint32_t i = 0; i < nregions; i++) {
        if (!(shares[i] >= 0.0) || shares[i] == INFINITY)
            return PU_ERR_RANGE;
        sum += shares[i];
    }
    if (!(sum > 0.0) || sum == INFINITY)
        return PU_ERR_RANGE;
    uint32_t counts[256];
    double rem[256];
    largest_remainder(n, shares, nregions, sum, counts, rem);
    uint32_t w = 0;
    for (uint32_t i = 0; i < nregions; i++)
        for (uint32_t c = 0; c < counts[i]; c++)
            out[w++] = (uint8_t)i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)sim_rng_below(rng, i);
        uint8_t tmp = out[i - 1];
        out[i - 1] = out[j];
        out[j] = tmp;
    }
    return PU_OK;
}

/* sim/txflood.c -- first-passage floods per (origin, sample), transactions
 * and blocks against them.  See txflood.h for the model. */
#include "sim/txflood.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

#define INV_BYTES 64u      /* envelope + count + one inventory entry */
#define GETDATA_BYTES 64u
#define UNREACHED UINT32_MAX

typedef struct profile {
    uint32_t *us;   /* arrival offset per node in us (rounded up); UNREACHED */
    uint32_t max_us;
} profile;

typedef struct txinfo {
    uint64_t t_ns;        /* accepted at its origin */
    const profile *prof;
    uint32_t size, n_in;
    uint32_t dep;         /* record id of the block whose coin it needs, or NO_DEP */
} txinfo;

#define NO_DEP UINT32_MAX

/* What the flood knows of one block (by record id): when each node first
 * connected it, and the flooding transactions that depend on it. */
typedef struct bconn {
    uint64_t *t;          /* per node; UINT64_MAX = not yet */
    pu_tx **dependents;   /* references held */
    uint32_t n_dep, cap_dep;
} bconn;

/* A block's transactions as the flood sees them, fixed when first asked:
 * those not flooding (always missing) and those still spreading then. */
typedef struct bflood {
    uint64_t done_ns;     /* after this every flooding transaction is everywhere */
    uint32_t n_never;
    uint64_t never_bytes, never_inputs;
    txinfo *young;
    uint32_t n_young;
    bool cum_known;
    uint64_t cum;         /* flooding transactions in the chain ending here */
    uint32_t n_flood;     /* flooding transactions in this block */
} bflood;

typedef struct hent {
    uint64_t t;
    uint32_t v;
} hent;

struct sim_txflood {
    sim_txflood_params p;
    const sim_net *net;
    const sim_latency *lat;
    pu_valcache *vc;
    sim_rng_root root;
    uint32_t n;
    profile **prof;       /* [origin * samples + sample], NULL until needed */
    uint64_t n_prof;
    uint32_t max_us;      /* over every computed profile */
    pu_hmap *txs;         /* txid -> txinfo */
    pu_hmap *blocks;      /* block hash -> bflood * */
    txinfo *recent;       /* ring, creation order: transactions maybe still spreading */
    size_t r_head, r_n, r_cap;
    uint64_t n_added;
    bconn *bc;            /* by block record id */
    uint32_t n_bc;
    /* hop costs per sample and directed edge (v, its i-th peer), drawn once:
     * [sample * edges + first[v] + i] */
    uint64_t *first;
    uint64_t *inv_ns, *back_ns, *data_ns;
    /* Dijkstra scratch */
    uint64_t *arr, *ann;
    uint8_t *done;
    hent *heap;
    size_t h_n, h_cap;
};

pu_err sim_txflood_new(const sim_txflood_params *p, const sim_net *net, const sim_latency *lat,
                       pu_valcache *vc, const sim_rng_root *root, sim_txflood **out)
{
    *out = NULL;
    if (p->samples == 0)
        return PU_ERR_RANGE;
    sim_txflood *f = calloc(1, sizeof *f);
    if (!f)
        return PU_ERR_NOMEM;
    f->p = *p;
    f->net = net;
    f->lat = lat;
    f->vc = vc;
    f->root = *root;
    f->n = sim_net_n(net);
    f->prof = calloc((size_t)f->n * p->samples, sizeof *f->prof);
    f->arr = malloc(f->n * sizeof *f->arr);
    f->ann = malloc(f->n * sizeof *f->ann);
    f->done = malloc(f->n);
    pu_err rc = f->prof && f->arr && f->ann && f->done ? PU_OK : PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(txinfo), 1024, &f->txs);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(bflood *), 64, &f->blocks);
    if (rc != PU_OK) {
        sim_txflood_free(f);
        return rc;
    }
    *out = f;
    return PU_OK;
}

void sim_txflood_free(sim_txflood *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->prof && i < (size_t)f->n * f->p.samples; i++)
        if (f->prof[i]) {
            free(f->prof[i]->us);
            free(f->prof[i]);
        }
    free(f->prof);
    if (f->blocks) {
        size_t cur = 0;
        const void *k;
        void *v;
        while (pu_hmap_next(f->blocks, &cur, &k, &v)) {
            bflood *b = *(bflood **)v;
            free(b->young);
            free(b);
        }
    }
    for (uint32_t i = 0; i < f->n_bc; i++) {
        free(f->bc[i].t);
        for (uint32_t j = 0; j < f->bc[i].n_dep; j++)
            pu_tx_unref(f->bc[i].dependents[j]);
        free(f->bc[i].dependents);
    }
    free(f->bc);
    pu_hmap_free(f->blocks);
    pu_hmap_free(f->txs);
    free(f->recent);
    free(f->first);
    free(f->inv_ns);
    free(f->back_ns);
    free(f->data_ns);
    free(f->arr);
    free(f->ann);
    free(f->done);
    free(f->heap);
    free(f);
}

/* ---- the flood of one (origin, sample): Dijkstra on first arrival ---------- */

static pu_err heap_push(sim_txflood *f, uint64_t t, uint32_t v)
{
    if (f->h_n == f->h_cap) {
        size_t cap = f->h_cap ? f->h_cap * 2 : 1024;
        hent *h = realloc(f->heap, cap * sizeof *h);
        if (!h)
            return PU_ERR_NOMEM;
        f->heap = h;
        f->h_cap = cap;
    }
    size_t i = f->h_n++;
    while (i > 0) { /* ties by node id: the order is a function of the inputs only */
        size_t up = (i - 1) / 2;
        const hent *q = &f->heap[up];
        if (q->t < t || (q->t == t && q->v < v))
            break;
        f->heap[i] = *q;
        i = up;
    }
    f->heap[i] = (hent){t, v};
    return PU_OK;
}

static hent heap_pop(sim_txflood *f)
{
    hent top = f->heap[0], last = f->heap[--f->h_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= f->h_n)
            break;
        if (c + 1 < f->h_n
            && (f->heap[c + 1].t < f->heap[c].t
                || (f->heap[c + 1].t == f->heap[c].t && f->heap[c + 1].v < f->heap[c].v)))
            c++;
        if (last.t < f->heap[c].t || (last.t == f->heap[c].t && last.v < f->heap[c].v))
            break;
        f->heap[i] = f->heap[c];
        i = c;
    }
    if (f->h_n)
        f->heap[i] = last;
    return top;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* One message's time on the link: a latency drawn from the model (its
 * per-message jitter from r; per-link jitter gives the link's own value),
 * plus the idle transfer of its bytes. */
static pu_err link_ns(const sim_txflood *f, sim_rng *r, uint32_t from, uint32_t to, uint64_t bytes,
                      uint64_t *out)
{
    uint64_t lat;
    pu_err rc = sim_latency_sample(f->lat, r, from, to, sim_net_region(f->net, from),
                                   sim_net_region(f->net, to), &lat);
    *out = rc == PU_OK ? sim_net_idle_ns(f->net, from, to, bytes, lat) : 0;
    return rc;
}

/* The hop costs of every directed edge, drawn once per sample: a sample is
 * one realisation of every message's latency (per-message jitter), shared by
 * the origins' floods of that sample, each of which adds its own trickle
 * waits.  Drawing them in the inner loop instead would cost a latency draw
 * per relaxation and flood. */
static pu_err edge_costs(sim_txflood *f)
{
    if (f->first)
        return PU_OK;
    uint64_t *first = malloc(((size_t)f->n + 1) * sizeof *first);
    if (!first)
        return PU_ERR_NOMEM;
    first[0] = 0;
    for (uint32_t v = 0; v < f->n; v++)
        first[v + 1] = first[v] + sim_net_degree(f->net, v);
    size_t e = first[f->n] ? first[f->n] : 1, all = e * f->p.samples;
    f->inv_ns = malloc(all * sizeof *f->inv_ns);
    f->back_ns = malloc(all * sizeof *f->back_ns);
    f->data_ns = malloc(all * sizeof *f->data_ns);
    pu_err rc = f->inv_ns && f->back_ns && f->data_ns ? PU_OK : PU_ERR_NOMEM;
    for (uint32_t s = 0; rc == PU_OK && s < f->p.samples; s++) {
        sim_rng r = sim_rng_stream(&f->root, SIM_RNG_FLOOD, SIM_RNG_OWNER_GLOBAL - 1 - s);
        for (uint32_t v = 0; rc == PU_OK && v < f->n; v++) {
            uint32_t deg;
            const uint32_t *nb = sim_net_neighbors(f->net, v, &deg);
            for (uint32_t i = 0; rc == PU_OK && i < deg; i++) {
                uint64_t k = s * e + first[v] + i;
                rc = link_ns(f, &r, v, nb[i], INV_BYTES, &f->inv_ns[k]);
                if (rc == PU_OK)
                    rc = link_ns(f, &r, nb[i], v, GETDATA_BYTES, &f->back_ns[k]);
                if (rc == PU_OK)
                    rc = link_ns(f, &r, v, nb[i], SIM_TXFLOOD_TX_BYTES, &f->data_ns[k]);
            }
        }
    }
    if (rc != PU_OK) {
        free(first);
        return rc;
    }
    f->first = first;
    return PU_OK;
}

/* Offer node w the transaction along edge e from a node that forwards at
 * time fwd: the first announcement decides where w fetches it (announce),
 * the first arrival wins (push). */
static pu_err relax(sim_txflood *f, uint64_t e, uint32_t w, uint64_t fwd)
{
    uint64_t cand;
    if (f->p.announce) {
        uint64_t a = add_sat(fwd, f->inv_ns[e]);
        if (a >= f->ann[w])
            return PU_OK;
        f->ann[w] = a;
        cand = add_sat(add_sat(add_sat(a, f->back_ns[e]), f->data_ns[e]), f->p.check_ns);
    } else {
        cand = add_sat(add_sat(fwd, f->data_ns[e]), f->p.check_ns);
        if (cand >= f->arr[w])
            return PU_OK;
    }
    f->arr[w] = cand; /* announce: may rise, the first announcer's round trip is what counts */
    return heap_push(f, cand, w);
}

static pu_err compute(sim_txflood *f, uint32_t origin, uint32_t sample, profile **out)
{
    for (uint32_t i = 0; i < f->n; i++) {
        f->arr[i] = UINT64_MAX;
        f->ann[i] = UINT64_MAX;
    }
    memset(f->done, 0, f->n);
    f->h_n = 0;
    sim_rng r = sim_rng_stream(&f->root, SIM_RNG_FLOOD, (uint64_t)origin * f->p.samples + sample);
    f->arr[origin] = 0;
    f->ann[origin] = 0;
    pu_err rc = edge_costs(f);
    if (rc == PU_OK)
        rc = heap_push(f, 0, origin);
    while (rc == PU_OK && f->h_n) {
        hent e = heap_pop(f);
        if (f->done[e.v] || e.t != f->arr[e.v])
            continue; /* stale entry */
        f->done[e.v] = 1;
        uint64_t fwd = e.t;
        if (f->p.announce)
            fwd = add_sat(fwd, sim_rng_exp_ns(&r, (double)f->p.trickle_ns));
        uint32_t deg;
        const uint32_t *nb = sim_net_neighbors(f->net, e.v, &deg);
        uint64_t base = (uint64_t)sample * f->first[f->n] + f->first[e.v];
        for (uint32_t i = 0; rc == PU_OK && i < deg; i++)
            if (!f->done[nb[i]])
                rc = relax(f, base + i, nb[i], fwd);
    }
    profile *pr = calloc(1, sizeof *pr);
    uint32_t *us = pr ? malloc(f->n * sizeof *us) : NULL;
    if (rc != PU_OK || !us) {
        free(pr);
        free(us);
        return rc != PU_OK ? rc : PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < f->n; i++) {
        uint64_t t = f->arr[i];
        us[i] = t == UINT64_MAX || t / 1000 >= UNREACHED - 1 ? UNREACHED : (uint32_t)((t + 999) / 1000);
        if (us[i] != UNREACHED && us[i] > pr->max_us)
            pr->max_us = us[i];
    }
    pr->us = us;
    if (pr->max_us > f->max_us)
        f->max_us = pr->max_us;
    f->n_prof++;
    *out = pr;
    return PU_OK;
}

/* ---- transactions ------------------------------------------------------------ */

static uint64_t arrival_of(const txinfo *t, uint32_t v)
{
    uint32_t us = t->prof->us[v];
    return us == UNREACHED ? SIM_TXFLOOD_NEVER : t->t_ns + (uint64_t)us * 1000;
}

static pu_err ring_push(sim_txflood *f, const txinfo *t)
{
    if (f->r_n == f->r_cap) {
        size_t cap = f->r_cap ? f->r_cap * 2 : 256;
        txinfo *nr = malloc(cap * sizeof *nr);
        if (!nr)
            return PU_ERR_NOMEM;
        for (size_t i = 0; i < f->r_n; i++)
            nr[i] = f->recent[(f->r_head + i) % f->r_cap];
        free(f->recent);
        f->recent = nr;
        f->r_head = 0;
        f->r_cap = cap;
    }
    f->recent[(f->r_head + f->r_n++) % f->r_cap] = *t;
    return PU_OK;
}

/* The block record id's entry, made on first use. */
static pu_err bconn_of(sim_txflood *f, uint32_t id, bconn **out)
{
    if (id >= f->n_bc) {
        uint32_t n = f->n_bc ? f->n_bc : 64;
        while (n <= id)
            n *= 2;
        bconn *nb = realloc(f->bc, n * sizeof *nb);
        if (!nb)
            return PU_ERR_NOMEM;
        memset(nb + f->n_bc, 0, (n - f->n_bc) * sizeof *nb);
        f->bc = nb;
        f->n_bc = n;
    }
    bconn *b = &f->bc[id];
    if (!b->t) {
        if (!(b->t = malloc(f->n * sizeof *b->t)))
            return PU_ERR_NOMEM;
        for (uint32_t v = 0; v < f->n; v++)
            b->t[v] = UINT64_MAX;
    }
    *out = b;
    return PU_OK;
}

static uint64_t connected_at(const sim_txflood *f, uint32_t id, uint32_t v)
{
    return id < f->n_bc && f->bc[id].t ? f->bc[id].t[v] : UINT64_MAX;
}

/* v refused t: it reached v before v connected the block t depends on. */
static bool refused(const sim_txflood *f, const txinfo *t, uint32_t v)
{
    return t->dep != NO_DEP && connected_at(f, t->dep, v) > arrival_of(t, v);
}

pu_err sim_txflood_add(sim_txflood *f, const pu_tx *tx, uint32_t origin, uint32_t dep,
                       uint64_t now_ns)
{
    if (origin >= f->n)
        return PU_ERR_RANGE;
    if (pu_hmap_get(f->txs, pu_tx_id(tx)->b))
        return PU_ERR_EXISTS;
    uint32_t sample = pu_tx_id(tx)->b[31] % f->p.samples;
    profile **slot = &f->prof[(size_t)origin * f->p.samples + sample];
    pu_err rc = *slot ? PU_OK : compute(f, origin, sample, slot);
    bconn *b = NULL;
    if (rc == PU_OK && dep != NO_DEP)
        rc = bconn_of(f, dep, &b);
    if (rc == PU_OK && b && b->n_dep == b->cap_dep) {
        uint32_t cap = b->cap_dep ? 2 * b->cap_dep : 8;
        pu_tx **d = realloc(b->dependents, cap * sizeof *d);
        rc = d ? PU_OK : PU_ERR_NOMEM;
        if (d) {
            b->dependents = d;
            b->cap_dep = cap;
        }
    }
    if (rc != PU_OK)
        return rc;
    if (b)
        b->dependents[b->n_dep++] = pu_tx_ref((pu_tx *)tx);
    txinfo t = {now_ns, *slot, pu_tx_size(tx), pu_tx_n_in(tx), dep};
    void *v;
    if ((rc = pu_hmap_put(f->txs, pu_tx_id(tx)->b, &v, NULL)) != PU_OK || (rc = ring_push(f, &t)) != PU_OK)
        return rc; /* a put without its ring entry only makes pending() count it as arrived */
    *(txinfo *)v = t;
    f->n_added++;
    return PU_OK;
}

uint64_t sim_txflood_arrival(const sim_txflood *f, const pu_hash32 *txid, uint32_t v)
{
    const txinfo *t = pu_hmap_get(f->txs, txid->b);
    return t && v < f->n ? arrival_of(t, v) : SIM_TXFLOOD_NEVER;
}

bool sim_txflood_decided(const sim_txflood *f, const pu_hash32 *txid, uint32_t v, bool *accepts)
{
    const txinfo *t = pu_hmap_get(f->txs, txid->b);
    *accepts = false;
    if (!t || v >= f->n)
        return true;
    if (t->dep == NO_DEP || connected_at(f, t->dep, v) != UINT64_MAX) {
        *accepts = arrival_of(t, v) != SIM_TXFLOOD_NEVER; /* connected at or before now: before it arrives */
        return true;
    }
    return false;
}

pu_err sim_txflood_connected(sim_txflood *f, uint32_t id, uint32_t v, uint64_t now_ns,
                             sim_txflood_accept_fn accept, void *arg)
{
    if (v >= f->n)
        return PU_ERR_RANGE;
    bconn *b;
    pu_err rc = bconn_of(f, id, &b);
    if (rc != PU_OK || b->t[v] != UINT64_MAX)
        return rc; /* connected before: the first time counts */
    b->t[v] = now_ns;
    for (uint32_t i = 0; accept && i < b->n_dep; i++) {
        uint64_t at = sim_txflood_arrival(f, pu_tx_id(b->dependents[i]), v);
        if (at != SIM_TXFLOOD_NEVER && at >= now_ns)
            accept(arg, b->dependents[i], v, at);
    }
    return PU_OK;
}

/* ---- blocks -------------------------------------------------------------------- */

static pu_err bflood_new(sim_txflood *f, const pu_block *b, uint64_t now_ns, bflood **out)
{
    bflood *r = calloc(1, sizeof *r);
    uint32_t ntx = pu_block_n_tx(b);
    txinfo *young = r ? malloc((ntx ? ntx : 1) * sizeof *young) : NULL;
    void *slot;
    if (!young || pu_hmap_put(f->blocks, pu_block_hash(b)->b, &slot, NULL) != PU_OK) {
        free(r);
        free(young);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 1; i < ntx; i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        const txinfo *t = pu_hmap_get(f->txs, pu_tx_id(tx)->b);
        if (!t) {
            r->n_never++;
            r->never_bytes += pu_tx_size(tx);
            r->never_inputs += pu_tx_n_in(tx);
            continue;
        }
        r->n_flood++;
        uint64_t all = t->t_ns + (uint64_t)t->prof->max_us * 1000;
        if (t->dep != NO_DEP)
            all = UINT64_MAX; /* a refusal lasts: always ask */
        else if (all <= now_ns)
            continue; /* everywhere already */
        young[r->n_young++] = *t;
        if (all > r->done_ns)
            r->done_ns = all;
    }
    r->young = r->n_young ? realloc(young, r->n_young * sizeof *young) : NULL;
    if (!r->young) /* shrinking failed, or nothing young: keep or drop the buffer */
        r->young = r->n_young ? young : (free(young), NULL);
    *(bflood **)slot = r;
    *out = r;
    return PU_OK;
}

static pu_err bflood_of(sim_txflood *f, const pu_block *b, uint64_t now_ns, bflood **out)
{
    bflood **p = pu_hmap_get(f->blocks, pu_block_hash(b)->b);
    if (p) {
        *out = *p;
        return PU_OK;
    }
    return bflood_new(f, b, now_ns, out);
}

pu_err sim_txflood_missing_in(sim_txflood *f, const pu_block *b, uint32_t v, uint64_t now_ns,
                              sim_txflood_missing *out)
{
    memset(out, 0, sizeof *out);
    bflood *r;
    pu_err rc = bflood_of(f, b, now_ns, &r);
    if (rc != PU_OK)
        return rc;
    out->n = r->n_never;
    out->bytes = r->never_bytes;
    out->inputs = r->never_inputs;
    if (now_ns >= r->done_ns)
        return PU_OK;
    for (uint32_t i = 0; i < r->n_young; i++)
        if (arrival_of(&r->young[i], v) > now_ns || refused(f, &r->young[i], v)) {
            out->n++;
            out->bytes += r->young[i].size;
            out->inputs += r->young[i].n_in;
        }
    return PU_OK;
}

/* Flooding transactions confirmed in the chain ending at b: its own plus its
 * parent's, walked up iteratively to the first block already counted. */
static pu_err confirmed_upto(sim_txflood *f, const pu_block *b, uint64_t now_ns, uint64_t *out)
{
    enum { STACK = 64 };
    bflood *stack[STACK];
    size_t n = 0;
    uint64_t base = 0;
    pu_err rc = PU_OK;
    while (rc == PU_OK && b) {
        bflood *r;
        if ((rc = bflood_of(f, b, now_ns, &r)) != PU_OK)
            break;
        if (r->cum_known) {
            base = r->cum;
            break;
        }
        if (n == STACK) { /* deep first walk: settle the upper part first */
            rc = confirmed_upto(f, b, now_ns, &base);
            break;
        }
        stack[n++] = r;
        const pu_blockrec *pr = pu_valcache_find(f->vc, &pu_block_header(b)->prev);
        b = pr ? pr->block : NULL;
    }
    while (rc == PU_OK && n) {
        bflood *r = stack[--n];
        base += r->n_flood;
        r->cum = base;
        r->cum_known = true;
    }
    *out = base;
    return rc;
}

pu_err sim_txflood_pending(sim_txflood *f, const pu_block *tip, uint32_t v, uint64_t now_ns,
                           uint64_t *out)
{
    *out = 0;
    /* drop ring entries that have reached every node */
    uint64_t horizon = (uint64_t)f->max_us * 1000;
    while (f->r_n && f->recent[f->r_head].t_ns + horizon <= now_ns) {
        f->r_head = (f->r_head + 1) % f->r_cap;
        f->r_n--;
    }
    uint64_t not_yet = 0, confirmed;
    for (size_t i = 0; i < f->r_n; i++) {
        const txinfo *t = &f->recent[(f->r_head + i) % f->r_cap];
        if (arrival_of(t, v) > now_ns || refused(f, t, v))
            not_yet++;
    }
    pu_err rc = confirmed_upto(f, tip, now_ns, &confirmed);
    if (rc == PU_OK && f->n_added > confirmed + not_yet)
        *out = f->n_added - confirmed - not_yet;
    return rc;
}

size_t sim_txflood_bytes(const sim_txflood *f)
{
    size_t n = sizeof *f + (size_t)f->n * f->p.samples * sizeof *f->prof + pu_hmap_bytes(f->txs)
               + pu_hmap_bytes(f->blocks) + f->r_cap * sizeof(txinfo)
               + f->n * (2 * sizeof(uint64_t) + 1) + f->h_cap * sizeof(hent)
               + (f->first ? (f->n + 1 + 3 * f->first[f->n] * f->p.samples) * sizeof(uint64_t) : 0);
    n += f->n_prof * (sizeof(profile) + f->n * sizeof(uint32_t));
    for (uint32_t i = 0; i < f->n_bc; i++)
        n += sizeof(bconn) + (f->bc[i].t ? f->n * sizeof(uint64_t) : 0) + f->bc[i].cap_dep * sizeof(pu_tx *);
    size_t cur = 0;
    const void *k;
    void *v;
    while (pu_hmap_next(f->blocks, &cur, &k, &v))
        n += sizeof(bflood) + (*(bflood **)v)->n_young * sizeof(txinfo);
    return n;
}

uint64_t sim_txflood_profiles(const sim_txflood *f) { return f->n_prof; }

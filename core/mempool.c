/* core/mempool.c -- a shared pool of transactions (txid map, fees, spender
 * lists) and per-mempool id sets: dense entry array + id -> index table + a
 * min-heap on fee rate for eviction. */
#include "core/mempool.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"
#include "core/mix.h"

#define NONE UINT32_MAX

/* ---- the shared pool --------------------------------------------------------- */

typedef struct pool_entry {
    pu_tx *tx;       /* reference held while refs > 0; NULL = free slot */
    pu_amount fee;
    uint32_t size;
    uint32_t refs;   /* mempools holding it */
} pool_entry;

/* One spender of an outpoint: lists are short (one entry unless mempools
 * disagree about a double spend). */
typedef struct spend_link {
    uint32_t id, next;
} spend_link;

struct pu_txpool {
    pool_entry *e;
    uint32_t n, cap;       /* e[0..n) used or free */
    uint32_t *free_ids;    /* freed slots, reused last-freed first */
    uint32_t n_free, cap_free;
    pu_hmap *by_id;        /* txid -> u32 pool id */
    pu_hmap *spends;       /* outpoint (36 bytes) -> u32 head link */
    spend_link *links;
    uint32_t n_links, cap_links, free_link;
    size_t live;
};

pu_err pu_txpool_new(pu_txpool **out)
{
    *out = NULL;
    pu_txpool *p = calloc(1, sizeof *p);
    if (!p)
        return PU_ERR_NOMEM;
    p->free_link = NONE;
    if (pu_hmap_new(32, sizeof(uint32_t), 256, &p->by_id) != PU_OK
        || pu_hmap_new(36, sizeof(uint32_t), 256, &p->spends) != PU_OK) {
        pu_txpool_free(p);
        return PU_ERR_NOMEM;
    }
    *out = p;
    return PU_OK;
}

void pu_txpool_free(pu_txpool *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n; i++)
        pu_tx_unref(p->e[i].tx);
    free(p->e);
    free(p->free_ids);
    free(p->links);
    pu_hmap_free(p->by_id);
    pu_hmap_free(p->spends);
    free(p);
}

size_t pu_txpool_count(const pu_txpool *p) { return p->live; }

size_t pu_txpool_bytes(const pu_txpool *p)
{
    return sizeof *p + (size_t)p->cap * sizeof(pool_entry) + (size_t)p->cap_free * sizeof(uint32_t)
           + (size_t)p->cap_links * sizeof(spend_link) + pu_hmap_bytes(p->by_id)
           + pu_hmap_bytes(p->spends);
}

static uint32_t pool_find(const pu_txpool *p, const pu_hash32 *txid)
{
    const uint32_t *v = pu_hmap_get(p->by_id, txid->b);
    return v ? *v : NONE;
}

static pu_err grow(void **arr, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap)
        return PU_OK;
    uint32_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *n = realloc(*arr, (size_t)c * elem);
    if (!n)
        return PU_ERR_NOMEM;
    *arr = n;
    *cap = c;
    return PU_OK;
}

/* Room for a new entry with n_in spend links, so that the insert below
 * cannot fail half-way. */
static pu_err pool_reserve(pu_txpool *p, uint32_t n_in)
{
    uint32_t free_links = 0;
    for (uint32_t l = p->free_link; l != NONE && free_links < n_in; l = p->links[l].next)
        free_links++;
    pu_err rc = grow((void **)&p->e, &p->cap, sizeof *p->e, p->n + 1);
    if (rc == PU_OK)
        rc = grow((void **)&p->free_ids, &p->cap_free, sizeof *p->free_ids, p->n + 1);
    if (rc == PU_OK)
        rc = grow((void **)&p->links, &p->cap_links, sizeof *p->links, p->n_links + n_in - free_links);
    if (rc == PU_OK)
        rc = pu_hmap_reserve(p->by_id, pu_hmap_count(p->by_id) + 1);
    if (rc == PU_OK)
        rc = pu_hmap_reserve(p->spends, pu_hmap_count(p->spends) + n_in);
    return rc;
}

static uint32_t link_new(pu_txpool *p, uint32_t id, uint32_t next)
{
    uint32_t l = p->free_link;
    if (l != NONE)
        p->free_link = p->links[l].next;
    else
        l = p->n_links++;
    p->links[l] = (spend_link){id, next};
    return l;
}

/* The pool id of tx, adding it with its fee if new; one more holder. */
static pu_err pool_hold(pu_txpool *p, pu_tx *tx, pu_amount fee, uint32_t *out)
{
    uint32_t id = pool_find(p, pu_tx_id(tx));
    if (id != NONE) {
        p->e[id].refs++;
        *out = id;
        return PU_OK;
    }
    uint32_t n_in = pu_tx_n_in(tx);
    pu_err rc = pool_reserve(p, n_in);
    if (rc != PU_OK)
        return rc;
    id = p->n_free ? p->free_ids[--p->n_free] : p->n++;
    p->e[id] = (pool_entry){pu_tx_ref(tx), fee, pu_tx_size(tx), 1};
    void *v;
    PU_IGNORE(pu_hmap_put(p->by_id, pu_tx_id(tx)->b, &v, NULL)); /* reserved */
    *(uint32_t *)v = id;
    for (uint32_t i = 0; i < n_in; i++) {
        uint8_t k[36];
        bool created;
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        PU_IGNORE(pu_hmap_put(p->spends, k, &v, &created)); /* reserved */
        *(uint32_t *)v = link_new(p, id, created ? NONE : *(uint32_t *)v);
    }
    p->live++;
    *out = id;
    return PU_OK;
}

static void pool_release(pu_txpool *p, uint32_t id)
{
    pool_entry *e = &p->e[id];
    if (--e->refs > 0)
        return;
    pu_tx *tx = e->tx;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        uint8_t k[36];
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        uint32_t *head = pu_hmap_get(p->spends, k);
        for (uint32_t *at = head; *at != NONE; at = &p->links[*at].next)
            if (p->links[*at].id == id) {
                uint32_t l = *at;
                *at = p->links[l].next;
                p->links[l].next = p->free_link;
                p->free_link = l;
                break;
            }
        if (*head == NONE)
            PU_IGNORE(pu_hmap_remove(p->spends, k, NULL)); /* present: head points into it */
    }
    PU_IGNORE(pu_hmap_remove(p->by_id, pu_tx_id(tx)->b, NULL));
    pu_tx_unref(tx);
    e->tx = NULL;
    p->free_ids[p->n_free++] = id; /* room reserved when the slot was made */
    p->live--;
}

/* ---- a mempool's id set: u32 pool id -> u32 entry index ---------------------- */

typedef struct idset {
    uint32_t *key;   /* pool id + 1; 0 = empty */
    uint32_t *val;
    uint32_t cap, n; /* cap: power of two, load <= 1/2 */
} idset;

static uint32_t ids_home(const idset *s, uint32_t key)
{
    return (uint32_t)(pu_mix64(key) & (s->cap - 1));
}

static uint32_t *ids_get(const idset *s, uint32_t id)
{
    if (!s->cap)
        return NULL;
    for (uint32_t i = ids_home(s, id + 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->key[i] == id + 1)
            return &s->val[i];
        if (!s->key[i])
            return NULL;
    }
}

static void ids_place(idset *s, uint32_t key, uint32_t val)
{
    uint32_t i = ids_home(s, key);
    while (s->key[i])
        i = (i + 1) & (s->cap - 1);
    s->key[i] = key;
    s->val[i] = val;
}

static pu_err ids_reserve(idset *s, uint32_t n)
{
    if (2 * n <= s->cap)
        return PU_OK;
    uint32_t cap = s->cap ? s->cap : 16;
    while (2 * n > cap)
        cap *= 2;
    idset ns = {calloc(cap, sizeof(uint32_t)), malloc(cap * sizeof(uint32_t)), cap, s->n};
    if (!ns.key || !ns.val) {
        free(ns.key);
        free(ns.val);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->key[i])
            ids_place(&ns, s->key[i], s->val[i]);
    free(s->key);
    free(s->val);
    *s = ns;
    return PU_OK;
}

/* Backward-shift deletion, as in core/hmap: no tombstones. */
static void ids_remove(idset *s, uint32_t id)
{
    uint32_t i = ids_home(s, id + 1);
    while (s->key[i] != id + 1)
        i = (i + 1) & (s->cap - 1);
    uint32_t hole = i;
    for (;;) {
        i = (i + 1) & (s->cap - 1);
        if (!s->key[i])
            break;
        uint32_t home = ids_home(s, s->key[i]);
        bool between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!between) {
            s->key[hole] = s->key[i];
            s->val[hole] = s->val[i];
            hole = i;
        }
    }
    s->key[hole] = 0;
    s->n--;
}

/* ---- mempools ------------------------------------------------------------------ */

typedef struct mp_entry {
    uint32_t id;       /* pool id */
    uint32_t heap_pos;
    uint64_t seq;      /* arrival order */
} mp_entry;

struct pu_mempool {
    pu_txpool *pool;
    mp_entry *e;
    size_t n, cap;
    uint32_t *heap;    /* entry indices, min fee rate at the root */
    idset ids;         /* pool id -> entry index */
    uint64_t next_seq;
    uint64_t bytes;
};

bool pu_feerate_gt(pu_amount fee, uint32_t size, pu_amount fee2, uint32_t size2)
{
    return (__int128)fee * size2 > (__int128)fee2 * size;
}

static const pool_entry *pe(const pu_mempool *mp, size_t i) { return &mp->pool->e[mp->e[i].id]; }

/* Heap order: lower fee rate first; among equal rates the newest first, so
 * eviction removes the most recent arrival (first come, first kept). */
static bool heap_less(const pu_mempool *mp, uint32_t a, uint32_t b)
{
    const pool_entry *x = pe(mp, a), *y = pe(mp, b);
    if (pu_feerate_gt(y->fee, y->size, x->fee, x->size))
        return true;
    if (pu_feerate_gt(x->fee, x->size, y->fee, y->size))
        return false;
    return mp->e[a].seq > mp->e[b].seq;
}

static void heap_set(pu_mempool *mp, size_t pos, uint32_t idx)
{
    mp->heap[pos] = idx;
    mp->e[idx].heap_pos = (uint32_t)pos;
}

static void sift_up(pu_mempool *mp, size_t pos)
{
    uint32_t idx = mp->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!heap_less(mp, idx, mp->heap[parent]))
            break;
        heap_set(mp, pos, mp->heap[parent]);
        pos = parent;
    }
    heap_set(mp, pos, idx);
}

static void sift_down(pu_mempool *mp, size_t pos)
{
    uint32_t idx = mp->heap[pos];
    for (;;) {
        size_t l = 2 * pos + 1, best = pos;
        uint32_t best_idx = idx;
        if (l < mp->n && heap_less(mp, mp->heap[l], best_idx)) {
            best = l;
            best_idx = mp->heap[l];
        }
        if (l + 1 < mp->n && heap_less(mp, mp->heap[l + 1], best_idx)) {
            best = l + 1;
            best_idx = mp->heap[l + 1];
        }
        if (best == pos)
            break;
        heap_set(mp, pos, best_idx);
        pos = best;
    }
    heap_set(mp, pos, idx);
}

pu_err pu_mempool_new(pu_txpool *pool, pu_mempool **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return PU_ERR_NOMEM;
    (*out)->pool = pool;
    return PU_OK;
}

void pu_mempool_free(pu_mempool *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->n; i++)
        pool_release(mp->pool, mp->e[i].id);
    free(mp->e);
    free(mp->heap);
    free(mp->ids.key);
    free(mp->ids.val);
    free(mp);
}

static pu_err reserve(pu_mempool *mp)
{
    if (ids_reserve(&mp->ids, (uint32_t)mp->n + 1) != PU_OK)
        return PU_ERR_NOMEM;
    if (mp->n < mp->cap)
        return PU_OK;
    size_t cap = mp->cap ? mp->cap * 2 : 64;
    mp_entry *e = realloc(mp->e, cap * sizeof *e);
    if (!e)
        return PU_ERR_NOMEM;
    mp->e = e;
    uint32_t *h = realloc(mp->heap, cap * sizeof *h);
    if (!h)
        return PU_ERR_NOMEM;
    mp->heap = h;
    mp->cap = cap;
    return PU_OK;
}

/* The entry index of pool id in mp, or NONE. */
static uint32_t local_of(const pu_mempool *mp, uint32_t id)
{
    const uint32_t *v = id == NONE ? NULL : ids_get(&mp->ids, id);
    return v ? *v : NONE;
}

/* The entry of mp spending op, or NONE. */
static uint32_t local_spender(const pu_mempool *mp, const pu_outpoint *op)
{
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    const uint32_t *head = pu_hmap_get(mp->pool->spends, k);
    for (uint32_t l = head ? *head : NONE; l != NONE; l = mp->pool->links[l].next) {
        uint32_t idx = local_of(mp, mp->pool->links[l].id);
        if (idx != NONE)
            return idx;
    }
    return NONE;
}

pu_err pu_mempool_insert(pu_mempool *mp, pu_tx *tx, pu_amount fee)
{
    if (local_of(mp, pool_find(mp->pool, pu_tx_id(tx))) != NONE)
        return PU_ERR_EXISTS;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++)
        if (local_spender(mp, &pu_tx_in(tx, i)->prev) != NONE)
            return PU_ERR_INVALID;
    pu_err rc = reserve(mp);
    uint32_t id;
    if (rc == PU_OK)
        rc = pool_hold(mp->pool, tx, fee, &id);
    if (rc != PU_OK)
        return rc;
    uint32_t idx = (uint32_t)mp->n;
    ids_place(&mp->ids, id + 1, idx); /* reserved */
    mp->ids.n++;
    mp->e[idx] = (mp_entry){id, 0, mp->next_seq++};
    mp->n++;
    mp->bytes += pu_tx_size(tx);
    heap_set(mp, idx, idx);
    sift_up(mp, idx);
    return PU_OK;
}

static void remove_at(pu_mempool *mp, uint32_t idx)
{
    uint32_t id = mp->e[idx].id;
    ids_remove(&mp->ids, id);
    /* Take it out of the heap: move the last heap element into its place. */
    size_t pos = mp->e[idx].heap_pos, last = mp->n - 1;
    if (pos != last) {
        heap_set(mp, pos, mp->heap[last]);
        mp->n--; /* heap size shrinks before re-sifting */
        sift_down(mp, pos);
        sift_up(mp, mp->e[mp->heap[pos]].heap_pos);
        mp->n++;
    }
    /* Swap-remove the entry; fix the index of the moved one. */
    if (idx != last) {
        mp->e[idx] = mp->e[last];
        heap_set(mp, mp->e[idx].heap_pos, idx);
        *ids_get(&mp->ids, mp->e[idx].id) = idx;
    }
    mp->n--;
    mp->bytes -= mp->pool->e[id].size;
    pool_release(mp->pool, id);
}

pu_err pu_mempool_remove(pu_mempool *mp, const pu_hash32 *txid)
{
    uint32_t idx = local_of(mp, pool_find(mp->pool, txid));
    if (idx == NONE)
        return PU_ERR_NOTFOUND;
    remove_at(mp, idx);
    return PU_OK;
}

bool pu_mempool_has(const pu_mempool *mp, const pu_hash32 *txid)
{
    return local_of(mp, pool_find(mp->pool, txid)) != NONE;
}

pu_tx *pu_mempool_get(const pu_mempool *mp, const pu_hash32 *txid)
{
    uint32_t idx = local_of(mp, pool_find(mp->pool, txid));
    return idx != NONE ? pe(mp, idx)->tx : NULL;
}

pu_tx *pu_mempool_spender(const pu_mempool *mp, const pu_outpoint *op)
{
    uint32_t idx = local_spender(mp, op);
    return idx != NONE ? pe(mp, idx)->tx : NULL;
}

pu_tx *pu_mempool_lowest(const pu_mempool *mp, pu_amount *fee)
{
    if (!mp->n)
        return NULL;
    const pool_entry *e = pe(mp, mp->heap[0]);
    if (fee)
        *fee = e->fee;
    return e->tx;
}

size_t pu_mempool_count(const pu_mempool *mp) { return mp->n; }
uint64_t pu_mempool_bytes(const pu_mempool *mp) { return mp->bytes; }

pu_tx *pu_mempool_at(const pu_mempool *mp, size_t i, pu_amount *fee)
{
    if (i >= mp->n)
        return NULL;
    if (fee)
        *fee = pe(mp, i)->fee;
    return pe(mp, i)->tx;
}

typedef struct tmpl_item {
    const pool_entry *p;
    uint64_t seq;
} tmpl_item;

static int tmpl_cmp(const void *a, const void *b)
{
    const tmpl_item *x = a, *y = b;
    if (pu_feerate_gt(x->p->fee, x->p->size, y->p->fee, y->p->size))
        return -1;
    if (pu_feerate_gt(y->p->fee, y->p->size, x->p->fee, x->p->size))
        return 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

pu_err pu_mempool_template(const pu_mempool *mp, uint64_t max_bytes, uint32_t per_tx, pu_tx ***txs,
                           size_t *n, pu_amount *total_fee)
{
    *txs = NULL;
    *n = 0;
    *total_fee = 0;
    tmpl_item *order = malloc((mp->n ? mp->n : 1) * sizeof *order);
    pu_tx **out = malloc((mp->n ? mp->n : 1) * sizeof *out);
    if (!order || !out) {
        free(order);
        free(out);
        return PU_ERR_NOMEM;
    }
    for (size_t i = 0; i < mp->n; i++)
        order[i] = (tmpl_item){pe(mp, i), mp->e[i].seq};
    qsort(order, mp->n, sizeof *order, tmpl_cmp);
    uint64_t used = 0;
    size_t k = 0;
    pu_amount fees = 0;
    for (size_t i = 0; i < mp->n; i++) {
        uint64_t cost = (uint64_t)order[i].p->size + per_tx;
        if (used + cost > max_bytes)
            continue; /* a smaller one further down may still fit */
        used += cost;
        fees += order[i].p->fee; /* each fee is <= PU_MAX_MONEY, n is bounded */
        out[k++] = order[i].p->tx;
    }
    free(order);
    *txs = out;
    *n = k;
    *total_fee = fees;
    return PU_OK;
}

size_t pu_mempool_mem_bytes(const pu_mempool *mp)
{
    return sizeof *mp + mp->cap * (sizeof(mp_entry) + sizeof(uint32_t))
           + (size_t)mp->ids.cap * 2 * sizeof(uint32_t);
}

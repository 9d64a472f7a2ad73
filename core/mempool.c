/* core/mempool.c -- dense entry array + txid map + spent-outpoint map + a
 * min-heap on fee rate for eviction. */
#include "core/mempool.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"

typedef struct mp_entry {
    pu_tx *tx;
    pu_amount fee;
    uint32_t size;
    uint32_t heap_pos;
    uint64_t seq; /* arrival order */
} mp_entry;

struct pu_mempool {
    mp_entry *e;
    size_t n, cap;
    uint32_t *heap; /* entry indices, min fee rate at the root */
    pu_hmap *by_id;    /* txid -> u32 index */
    pu_hmap *spends;   /* outpoint (36 bytes) -> u32 index */
    uint64_t next_seq;
    uint64_t bytes;
};

bool pu_feerate_gt(pu_amount fee, uint32_t size, pu_amount fee2, uint32_t size2)
{
    return (__int128)fee * size2 > (__int128)fee2 * size;
}

/* Heap order: lower fee rate first; among equal rates the newest first, so
 * eviction removes the most recent arrival (first come, first kept). */
static bool heap_less(const pu_mempool *mp, uint32_t a, uint32_t b)
{
    const mp_entry *x = &mp->e[a], *y = &mp->e[b];
    if (pu_feerate_gt(y->fee, y->size, x->fee, x->size))
        return true;
    if (pu_feerate_gt(x->fee, x->size, y->fee, y->size))
        return false;
    return x->seq > y->seq;
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

pu_err pu_mempool_new(pu_mempool **out)
{
    *out = NULL;
    pu_mempool *mp = calloc(1, sizeof *mp);
    if (!mp)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(32, sizeof(uint32_t), 64, &mp->by_id) != PU_OK
        || pu_hmap_new(36, sizeof(uint32_t), 64, &mp->spends) != PU_OK) {
        pu_mempool_free(mp);
        return PU_ERR_NOMEM;
    }
    *out = mp;
    return PU_OK;
}

void pu_mempool_free(pu_mempool *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->n; i++)
        pu_tx_unref(mp->e[i].tx);
    free(mp->e);
    free(mp->heap);
    pu_hmap_free(mp->by_id);
    pu_hmap_free(mp->spends);
    free(mp);
}

static pu_err reserve(pu_mempool *mp)
{
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

/* Point every index entry of e[idx] at idx (after a move). */
static void reindex(pu_mempool *mp, uint32_t idx)
{
    const pu_tx *tx = mp->e[idx].tx;
    uint32_t *v = pu_hmap_get(mp->by_id, pu_tx_id(tx)->b);
    *v = idx;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        uint8_t k[36];
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        v = pu_hmap_get(mp->spends, k);
        *v = idx;
    }
}

pu_err pu_mempool_insert(pu_mempool *mp, pu_tx *tx, pu_amount fee)
{
    if (pu_hmap_get(mp->by_id, pu_tx_id(tx)->b))
        return PU_ERR_EXISTS;
    uint32_t n_in = pu_tx_n_in(tx);
    for (uint32_t i = 0; i < n_in; i++) {
        uint8_t k[36];
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        if (pu_hmap_get(mp->spends, k))
            return PU_ERR_INVALID;
    }
    pu_err rc = reserve(mp);
    if (rc != PU_OK)
        return rc;
    uint32_t idx = (uint32_t)mp->n;
    void *v;
    if (pu_hmap_put(mp->by_id, pu_tx_id(tx)->b, &v, NULL) != PU_OK)
        return PU_ERR_NOMEM;
    *(uint32_t *)v = idx;
    for (uint32_t i = 0; i < n_in; i++) {
        uint8_t k[36];
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        if (pu_hmap_put(mp->spends, k, &v, NULL) != PU_OK) {
            for (uint32_t j = 0; j < i; j++) { /* roll back the partial insert */
                pu_outpoint_bytes(&pu_tx_in(tx, j)->prev, k);
                (void)pu_hmap_remove(mp->spends, k, NULL);
            }
            (void)pu_hmap_remove(mp->by_id, pu_tx_id(tx)->b, NULL);
            return PU_ERR_NOMEM;
        }
        *(uint32_t *)v = idx;
    }
    mp->e[idx] = (mp_entry){pu_tx_ref(tx), fee, pu_tx_size(tx), 0, mp->next_seq++};
    mp->n++;
    mp->bytes += pu_tx_size(tx);
    heap_set(mp, idx, idx);
    sift_up(mp, idx);
    return PU_OK;
}

pu_err pu_mempool_remove(pu_mempool *mp, const pu_hash32 *txid)
{
    uint32_t idx;
    if (pu_hmap_remove(mp->by_id, txid->b, &idx) != PU_OK)
        return PU_ERR_NOTFOUND;
    pu_tx *tx = mp->e[idx].tx;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        uint8_t k[36];
        pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, k);
        (void)pu_hmap_remove(mp->spends, k, NULL);
    }
    /* Take it out of the heap: move the last heap element into its place. */
    size_t pos = mp->e[idx].heap_pos, last = mp->n - 1;
    if (pos != last) {
        heap_set(mp, pos, mp->heap[last]);
        mp->n--; /* heap size shrinks before re-sifting */
        sift_down(mp, pos);
        sift_up(mp, mp->e[mp->heap[pos]].heap_pos);
        mp->n++;
    }
    /* Swap-remove the entry; fix the indexes of the moved one. */
    if (idx != last) {
        mp->e[idx] = mp->e[last];
        heap_set(mp, mp->e[idx].heap_pos, idx);
        reindex(mp, idx);
    }
    mp->n--;
    mp->bytes -= pu_tx_size(tx);
    pu_tx_unref(tx);
    return PU_OK;
}

bool pu_mempool_has(const pu_mempool *mp, const pu_hash32 *txid)
{
    return pu_hmap_get(mp->by_id, txid->b) != NULL;
}

pu_tx *pu_mempool_get(const pu_mempool *mp, const pu_hash32 *txid)
{
    const uint32_t *v = pu_hmap_get(mp->by_id, txid->b);
    return v ? mp->e[*v].tx : NULL;
}

pu_tx *pu_mempool_spender(const pu_mempool *mp, const pu_outpoint *op)
{
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    const uint32_t *v = pu_hmap_get(mp->spends, k);
    return v ? mp->e[*v].tx : NULL;
}

pu_tx *pu_mempool_lowest(const pu_mempool *mp, pu_amount *fee)
{
    if (!mp->n)
        return NULL;
    const mp_entry *e = &mp->e[mp->heap[0]];
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
        *fee = mp->e[i].fee;
    return mp->e[i].tx;
}

static int tmpl_cmp(const void *a, const void *b)
{
    const mp_entry *x = *(const mp_entry *const *)a, *y = *(const mp_entry *const *)b;
    if (pu_feerate_gt(x->fee, x->size, y->fee, y->size))
        return -1;
    if (pu_feerate_gt(y->fee, y->size, x->fee, x->size))
        return 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

pu_err pu_mempool_template(const pu_mempool *mp, uint64_t max_bytes, uint32_t per_tx, pu_tx ***txs,
                           size_t *n, pu_amount *total_fee)
{
    *txs = NULL;
    *n = 0;
    *total_fee = 0;
    const mp_entry **order = malloc((mp->n ? mp->n : 1) * sizeof *order);
    pu_tx **out = malloc((mp->n ? mp->n : 1) * sizeof *out);
    if (!order || !out) {
        free(order);
        free(out);
        return PU_ERR_NOMEM;
    }
    for (size_t i = 0; i < mp->n; i++)
        order[i] = &mp->e[i];
    qsort(order, mp->n, sizeof *order, tmpl_cmp);
    uint64_t used = 0;
    size_t k = 0;
    pu_amount fees = 0;
    for (size_t i = 0; i < mp->n; i++) {
        uint64_t cost = (uint64_t)order[i]->size + per_tx;
        if (used + cost > max_bytes)
            continue; /* a smaller one further down may still fit */
        used += cost;
        fees += order[i]->fee; /* each fee is <= PU_MAX_MONEY, n is bounded */
        out[k++] = order[i]->tx;
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
           + pu_hmap_bytes(mp->by_id) + pu_hmap_bytes(mp->spends);
}

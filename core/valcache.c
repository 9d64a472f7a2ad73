/* core/valcache.c -- block hash -> shared record, records by id, the UTXO
 * tree of their states. */
#include "core/valcache.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

struct pu_valcache {
    pu_hmap *map;           /* block hash -> pu_blockrec * */
    pu_blockrec **by_id;
    uint32_t n, cap;
    pu_utxo_tree *utxo;
    pu_txpool *txpool;
    bool bound;
    pu_params params;       /* of the first binding */
    const void *rules;
    uint32_t n_chains;
    uint64_t hits, misses;
};

pu_err pu_valcache_new(pu_valcache **out)
{
    *out = NULL;
    pu_valcache *vc = calloc(1, sizeof *vc);
    if (!vc)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(32, sizeof(pu_blockrec *), 256, &vc->map) != PU_OK
        || pu_utxo_tree_new(&vc->utxo) != PU_OK || pu_txpool_new(&vc->txpool) != PU_OK) {
        pu_valcache_free(vc);
        return PU_ERR_NOMEM;
    }
    *out = vc;
    return PU_OK;
}

void pu_valcache_free(pu_valcache *vc)
{
    if (!vc)
        return;
    /* children first: a state keeps its parent alive, so the order only
     * matters for how much each unref frees, not for correctness */
    for (uint32_t i = vc->n; i-- > 0;) {
        pu_blockrec *r = vc->by_id[i];
        pu_block_unref(r->block);
        pu_undo_unref(r->undo);
        pu_utxo_state_unref(r->state);
        free(r->holders);
        pu_hmap_free(r->tx_keys);
        pu_hmap_free(r->spend_keys);
        free(r);
    }
    free(vc->by_id);
    pu_hmap_free(vc->map);
    pu_utxo_tree_free(vc->utxo);
    pu_txpool_free(vc->txpool);
    free(vc);
}

pu_err pu_valcache_bind(pu_valcache *vc, const pu_params *p, const void *rules, bool *fresh,
                        uint32_t *index)
{
    *fresh = false;
    if (!vc->bound) {
        vc->bound = true;
        vc->params = *p;
        vc->rules = rules;
        *fresh = true;
    } else if (!pu_params_consensus_eq(&vc->params, p) || vc->rules != rules) {
        return PU_ERR_STATE;
    }
    *index = vc->n_chains++;
    return PU_OK;
}

pu_err pu_blockrec_hold(pu_blockrec *r, uint32_t index)
{
    if (index / 8 >= r->holders_len) {
        uint32_t len = r->holders_len ? r->holders_len : 8;
        while (len <= index / 8)
            len *= 2;
        uint8_t *h = realloc(r->holders, len);
        if (!h)
            return PU_ERR_NOMEM;
        memset(h + r->holders_len, 0, len - r->holders_len);
        r->holders = h;
        r->holders_len = len;
    }
    r->holders[index / 8] |= (uint8_t)(1u << (index % 8));
    return PU_OK;
}

pu_blockrec *pu_valcache_find(const pu_valcache *vc, const pu_hash32 *hash)
{
    pu_blockrec **p = pu_hmap_get(vc->map, hash->b);
    return p ? *p : NULL;
}

pu_blockrec *pu_valcache_at(const pu_valcache *vc, uint32_t id)
{
    return id < vc->n ? vc->by_id[id] : NULL;
}

uint32_t pu_valcache_count(const pu_valcache *vc) { return vc->n; }

pu_err pu_valcache_insert(pu_valcache *vc, pu_block *b, pu_blockrec *parent, pu_blockrec **out)
{
    *out = NULL;
    if ((parent == NULL) != (vc->n == 0))
        return PU_ERR_STATE; /* exactly one genesis, and it comes first */
    if (vc->n == vc->cap) {
        uint32_t cap = vc->cap ? vc->cap * 2 : 64;
        pu_blockrec **nb = realloc(vc->by_id, cap * sizeof *nb);
        if (!nb)
            return PU_ERR_NOMEM;
        vc->by_id = nb;
        vc->cap = cap;
    }
    pu_blockrec *r = calloc(1, sizeof *r);
    if (!r)
        return PU_ERR_NOMEM;
    void *slot;
    bool created;
    if (pu_hmap_put(vc->map, pu_block_hash(b)->b, &slot, &created) != PU_OK) {
        free(r);
        return PU_ERR_NOMEM;
    }
    if (!created) {
        free(r);
        return PU_ERR_EXISTS;
    }
    *(pu_blockrec **)slot = r;
    r->block = pu_block_ref(b);
    r->parent = parent;
    r->id = vc->n;
    vc->by_id[vc->n++] = r;
    *out = r;
    return PU_OK;
}

pu_utxo_tree *pu_valcache_utxo(pu_valcache *vc) { return vc->utxo; }
pu_txpool *pu_valcache_txpool(pu_valcache *vc) { return vc->txpool; }

void pu_valcache_note(pu_valcache *vc, bool hit)
{
    if (hit)
        vc->hits++;
    else
        vc->misses++;
}

void pu_valcache_get_stats(const pu_valcache *vc, pu_valcache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!vc)
        return;
    out->hits = vc->hits;
    out->misses = vc->misses;
    out->records = vc->n;
    out->base_moves = pu_utxo_tree_moves(vc->utxo);
    out->bytes = sizeof *vc + pu_hmap_bytes(vc->map) + vc->cap * sizeof *vc->by_id
                 + pu_utxo_tree_bytes(vc->utxo) + pu_txpool_bytes(vc->txpool);
    for (uint32_t i = 0; i < vc->n; i++) {
        const pu_blockrec *r = vc->by_id[i];
        out->entries += r->validated;
        out->bytes += sizeof *r + r->holders_len + (r->undo ? pu_undo_bytes(r->undo) : 0)
                      + (r->tx_keys ? pu_hmap_bytes(r->tx_keys) + pu_hmap_bytes(r->spend_keys) : 0)
                      + (r->state ? pu_utxo_state_bytes(r->state) : 0);
    }
}

/* core/valcache.c -- block hash -> verdict map. */
#include "core/valcache.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

typedef struct verdict {
    pu_undo *undo;
    uint32_t reason, bad_tx;
} verdict;

struct pu_valcache {
    pu_hmap *map;
    uint64_t hits, misses;
};

pu_err pu_valcache_new(pu_valcache **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(32, sizeof(verdict), 256, &(*out)->map) != PU_OK) {
        free(*out);
        *out = NULL;
        return PU_ERR_NOMEM;
    }
    return PU_OK;
}

void pu_valcache_free(pu_valcache *vc)
{
    if (!vc)
        return;
    size_t cur = 0;
    const void *k;
    void *v;
    while (pu_hmap_next(vc->map, &cur, &k, &v))
        pu_undo_unref(((verdict *)v)->undo);
    pu_hmap_free(vc->map);
    free(vc);
}

pu_err pu_valcache_get(pu_valcache *vc, const pu_hash32 *block, pu_reason *reason,
                       uint32_t *bad_tx, pu_undo **undo)
{
    const verdict *v = pu_hmap_get(vc->map, block->b);
    if (!v) {
        vc->misses++;
        return PU_ERR_NOTFOUND;
    }
    vc->hits++;
    *reason = (pu_reason)v->reason;
    *bad_tx = v->bad_tx;
    *undo = v->undo;
    return PU_OK;
}

pu_err pu_valcache_put(pu_valcache *vc, const pu_hash32 *block, pu_reason reason, uint32_t bad_tx,
                       pu_undo *undo)
{
    void *slot;
    bool created;
    if (pu_hmap_put(vc->map, block->b, &slot, &created) != PU_OK)
        return PU_ERR_NOMEM;
    if (!created)
        return PU_ERR_EXISTS;
    verdict *v = slot;
    v->reason = (uint32_t)reason;
    v->bad_tx = bad_tx;
    v->undo = undo ? pu_undo_ref(undo) : NULL;
    return PU_OK;
}

void pu_valcache_get_stats(const pu_valcache *vc, pu_valcache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!vc)
        return;
    out->hits = vc->hits;
    out->misses = vc->misses;
    out->entries = pu_hmap_count(vc->map);
}

/* core/valcache.h -- shared verdicts of full block validation.
 *
 * Whether a block is valid on top of its parent depends only on the block and
 * its ancestry (the parent hash commits to it), not on which node asks.  The
 * first chain instance that validates a block stores the verdict here -- the
 * reason, and for valid blocks the undo record -- and every other instance
 * applies the stored undo instead of re-verifying signatures and ML work.
 * Node-specific checks (the future-time rule) are never cached.  The
 * simulator still charges every node its simulated CPU time: the cache only
 * saves wall time. */
#ifndef PU_VALCACHE_H
#define PU_VALCACHE_H

#include "core/reason.h"
#include "core/undo.h"

typedef struct pu_valcache pu_valcache;

PU_NODISCARD pu_err pu_valcache_new(pu_valcache **out);
void pu_valcache_free(pu_valcache *vc);

/** PU_OK and the verdict (undo borrowed, NULL for invalid blocks) if known. */
pu_err pu_valcache_get(pu_valcache *vc, const pu_hash32 *block, pu_reason *reason,
                       uint32_t *bad_tx, pu_undo **undo);
/** Records a verdict; takes a new reference on undo. */
PU_NODISCARD pu_err pu_valcache_put(pu_valcache *vc, const pu_hash32 *block, pu_reason reason,
                                    uint32_t bad_tx, pu_undo *undo);

typedef struct pu_valcache_stats { uint64_t hits, misses, entries; } pu_valcache_stats;
void pu_valcache_get_stats(const pu_valcache *vc, pu_valcache_stats *out);

#endif

/* core/hmap.h -- open-addressing hash map with fixed-size byte keys and values.
 *
 * Used for every keyed index in core/ (UTXO set, balances, mempool, block
 * index, caches).  Keys are compared bytewise; the hash mixes the first and
 * last 8 key bytes, which is enough because our keys are (or start with)
 * SHA-256 output.  Linear probing with backward-shift deletion: no
 * tombstones, so lookups stay short under constant churn.
 *
 * Iteration order depends only on the sequence of operations, never on
 * addresses, so it is deterministic -- but callers that emit results should
 * still sort where an order is part of the output. */
#ifndef PU_HMAP_H
#define PU_HMAP_H

#include "core/types.h"

typedef struct pu_hmap pu_hmap;

/** key_size >= 8; val_size may be 0 (a set). */
PU_NODISCARD pu_err pu_hmap_new(size_t key_size, size_t val_size, size_t initial, pu_hmap **out);
void pu_hmap_free(pu_hmap *m);

/** Pointer to the value of key, or NULL.  Valid until the next insert/remove. */
void *pu_hmap_get(const pu_hmap *m, const void *key);
/** Insert or find: *val points to the value slot; *created tells which.  A
 * new slot's value is zeroed.  PU_ERR_NOMEM when growing fails. */
PU_NODISCARD pu_err pu_hmap_put(pu_hmap *m, const void *key, void **val, bool *created);
/** Remove key; copies the old value to old_val when non-NULL.  PU_ERR_NOTFOUND if absent. */
pu_err pu_hmap_remove(pu_hmap *m, const void *key, void *old_val);
size_t pu_hmap_count(const pu_hmap *m);
/** Grows the table so that `count` keys fit without growing again: puts of
 * new keys up to that count then cannot fail.  PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_hmap_reserve(pu_hmap *m, size_t count);
void pu_hmap_clear(pu_hmap *m);
/** Bytes held by the table (for memory-per-node figures). */
size_t pu_hmap_bytes(const pu_hmap *m);

/** Iteration: *cursor starts at 0; returns false at the end.  The map must
 * not be modified during iteration. */
bool pu_hmap_next(const pu_hmap *m, size_t *cursor, const void **key, void **val);

#endif

/* core/undo.h -- what connecting a block spent, so it can be disconnected.
 *
 * An undo record is a pure function of the block and its ancestry, so it is
 * identical at every node that connects the block: records are immutable,
 * reference-counted and shared through core/valcache, which is what keeps
 * reorganisations of any depth affordable at thousands of nodes. */
#ifndef PU_UNDO_H
#define PU_UNDO_H

#include "core/utxo.h"

typedef struct pu_undo pu_undo;

/** A new empty record (refs = 1). */
PU_NODISCARD pu_err pu_undo_new(pu_undo **out);
PU_NODISCARD pu_err pu_undo_push(pu_undo *u, const pu_outpoint *op, const pu_coin *coin);
pu_undo *pu_undo_ref(pu_undo *u);
void pu_undo_unref(pu_undo *u);

uint32_t pu_undo_count(const pu_undo *u);
const pu_outpoint *pu_undo_op(const pu_undo *u, uint32_t i);
const pu_coin *pu_undo_coin(const pu_undo *u, uint32_t i);
/** Sum of the block's transaction fees (set by the validator). */
pu_amount pu_undo_fees(const pu_undo *u);
void pu_undo_set_fees(pu_undo *u, pu_amount fees);
size_t pu_undo_bytes(const pu_undo *u);

#endif

/* sim/evq.h -- the event queue: pending events ordered by (at_ns, seq).
 *
 * seq is the queue's own insertion counter, so events scheduled for the same
 * nanosecond fire in the order they were pushed, whatever the heap layout
 * (STYLE s8).  type/node/arg/data are carried, never interpreted; data is an
 * opaque pointer the queue never dereferences or compares.
 *
 * Costs: push, pop and cancel are O(log n) (an indexed 8-ary heap); memory is
 * 16 bytes of heap entry + 40 bytes of payload slot per pending event, and
 * the arrays keep their high-water size until sim_evq_free.
 *
 * Time never runs backwards: pushing an event earlier than the last popped
 * one is refused (PU_ERR_RANGE), which catches causality bugs at the call
 * that makes them instead of as a silently reordered run.
 *
 * Not thread-safe; one queue per run. */
#ifndef SIM_EVQ_H
#define SIM_EVQ_H

#include "core/types.h"

typedef struct sim_event {
    uint64_t at_ns; /* simulated time it fires */
    uint64_t seq;   /* set by the queue on push; ignored in the template */
    uint32_t type;
    uint32_t node;
    uint64_t arg;
    void *data;
} sim_event;

/** Handle of a pending event, for cancelling it.  Never 0 (use 0 as "none").
 * An id names one push: after its event fired or was cancelled the id stays
 * dead (a later event never gets the same id) unless one slot is reused 2^32
 * times in between, far beyond any run. */
typedef uint64_t sim_evq_id;
#define SIM_EVQ_NO_ID ((sim_evq_id)0)

typedef struct sim_evq sim_evq;

PU_NODISCARD pu_err sim_evq_new(sim_evq **out);
void sim_evq_free(sim_evq *q);

/** Queue a copy of *ev (its seq field is ignored and assigned).  id_out may
 * be NULL.  PU_ERR_RANGE if ev->at_ns is before the last popped event's time
 * or 2^32 - 1 events are already pending; PU_ERR_NOMEM.  On error nothing
 * is queued and *id_out is SIM_EVQ_NO_ID. */
PU_NODISCARD pu_err sim_evq_push(sim_evq *q, const sim_event *ev, sim_evq_id *id_out);
/** Remove a pending event; it will never pop.  PU_ERR_NOTFOUND (and no
 * effect) for an id that already fired, was cancelled, or never existed. */
pu_err sim_evq_cancel(sim_evq *q, sim_evq_id id);
/** Remove and return the earliest event; PU_ERR_NOTFOUND when empty. */
PU_NODISCARD pu_err sim_evq_pop(sim_evq *q, sim_event *out);
/** Time of the earliest event; PU_ERR_NOTFOUND when empty. */
PU_NODISCARD pu_err sim_evq_peek_time(const sim_evq *q, uint64_t *at_ns_out);
/** Number of pending (not cancelled) events. */
size_t sim_evq_size(const sim_evq *q);
/** Time of the last popped event (0 before the first pop). */
uint64_t sim_evq_now(const sim_evq *q);

#endif

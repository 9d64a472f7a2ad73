/* sim/adversary/eclipse.h -- taking every peer slot of victim nodes (Heilman,
 * Kendler, Zohar and Goldberg 2015), shared by the eclipse strategy and by
 * double spending against an eclipsed merchant.
 *
 * Isolating a victim cuts every link it has and links it to the attacker's
 * node alone, so everything the victim sends or hears passes the attacker;
 * what the attacker lets through is a link filter of the strategy
 * (sim_add_link_filter).  The links are put back when the isolation ends.
 * Churn does not free a victim: a victim that goes offline and comes back
 * finds the attacker as its only peer and syncs from it. */
#ifndef SIM_ADVERSARY_ECLIPSE_H
#define SIM_ADVERSARY_ECLIPSE_H

#include "sim/adversary/adversary.h"

typedef struct sim_eclipse sim_eclipse;

/** Isolate victims[0..n-1] behind node `attacker`: each victim's links go
 * (remembered), a link to the attacker comes.  *out holds what to restore;
 * PU_ERR_NOMEM (nothing changed then). */
PU_NODISCARD pu_err sim_eclipse_isolate(sim_ctx *ctx, uint32_t attacker, const uint32_t *victims,
                                        size_t n, sim_eclipse **out);
/** Give the victims their links back (and drop the attacker's links to them
 * that were not there before), ask them to sync, free e.  NULL is fine. */
void sim_eclipse_restore(sim_ctx *ctx, sim_eclipse *e);
/** Free e without touching the topology (the run is over).  NULL is fine. */
void sim_eclipse_free(sim_eclipse *e);
/** Whether v is one of e's victims. */
bool sim_eclipse_victim(const sim_eclipse *e, uint32_t v);

/** Whether m carries or names blocks or transactions (what a victim "sees";
 * requests and sync locators do not). */
bool sim_eclipse_is_content(const sim_msg *m);

#endif

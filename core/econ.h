/* core/econ.h -- the PoUW ledger rules beyond payments (SPEC s2, s6, s7):
 * the task registry a chain implies, deterministic worker selection,
 * evaluator results, settlement and slashing; packaged as the pu_rules hook
 * of core/chain.
 *
 * Everything here is a pure function of a chain's active branch (tip and
 * ancestors), so verdicts can be shared between nodes (core/valcache).
 * Results that depend only on an immutable prefix of the chain (a task's
 * submission, its selection once the closing block is buried) are cached in
 * the pu_econ object, keyed by block hashes, and shared by every chain of a
 * run.
 *
 * Task life cycle on a branch (heights of the branch's blocks):
 *   submitted   PAY_FOR_TASK confirmed at height hs (its fee locked in escrow);
 *   registration  BUY_TICKETS naming the task confirmed in (hs, hs + W],
 *               W = task.registration_blocks; the block at hc = hs + W
 *               closes it and its hash seeds the selection;
 *   training    from hc + 1: PoUW blocks of the task are valid;
 *   finalisation  once every selected evaluator's TASK_RESULT is confirmed,
 *               or pouw.task_timeout blocks after hc (absent evaluators);
 *   settled     the SETTLEMENT paying escrow and stakes is confirmed (any
 *               block producer may include it; it must equal
 *               pu_econ_settlement exactly).
 * Selection (Sybil-resistant): a ticket of role r with stake s buys
 * floor(s / task.stake[r]) lottery entries; entry j of ticket t scores
 * H2(closing block hash || t's txid || j); the lowest scores win, one seat
 * per distinct public key, until the role's seats are filled (miners:
 * pu_task_required_miners; supervisors, evaluators: 1 each...  documented in
 * econ.c).  Splitting a stake over many identities buys the same number of
 * entries, so Sybils gain nothing beyond their stake share. */
#ifndef PU_ECON_H
#define PU_ECON_H

#include "core/chain.h"
#include "core/opret.h"
#include "core/pouw.h"

#define PU_ECON_MAX_SEATS 8u

typedef struct pu_econ pu_econ;

typedef struct pu_econ_config {
    pu_crypto *crypto;             /* borrowed */
    pu_opret_codec *opret;         /* borrowed: OP_RETURN agreement checks */
    pu_pouw_verifier *verifier;    /* borrowed; NULL: every PoUW block fails ML_WORK */
    const char *fmnist_dir;        /* task data (PU_DATASET_FMNIST_DIR when NULL) */
    uint32_t task_timeout_blocks;  /* training + finalisation budget after hc */
} pu_econ_config;

PU_NODISCARD pu_err pu_econ_new(const pu_econ_config *cfg, pu_econ **out);
void pu_econ_free(pu_econ *e);
/** The hook to put in pu_chain_opts.rules (borrowed, lives with e). */
const pu_rules *pu_econ_rules(pu_econ *e);

typedef enum pu_task_phase {
    PU_PHASE_NONE = 0,      /* not submitted on this branch */
    PU_PHASE_REGISTRATION,
    PU_PHASE_TRAINING,
    PU_PHASE_FINALISATION,
    PU_PHASE_SETTLED,
} pu_task_phase;

typedef struct pu_worker {
    uint8_t pub[33];        /* key of the ticket's first input: the worker's identity */
    pu_addr addr;           /* where payouts and refunds go */
    pu_hash32 ticket;       /* BUY_TICKETS txid (its stake lock is ticket:PU_LOCK_INDEX) */
    pu_amount stake;
} pu_worker;

typedef struct pu_task_state {
    pu_task_phase phase;
    pu_task def;
    pu_hash32 id;
    pu_hash32 submit_txid;
    uint32_t submit_height, close_height;
    pu_addr client;
    uint32_t n_seats[PU_TASK_N_ROLES];
    pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS];
    uint32_t n_results;     /* evaluators whose TASK_RESULT is confirmed */
} pu_task_state;

/** State of a task as seen from ch's tip.  PU_ERR_NOTFOUND if never submitted. */
PU_NODISCARD pu_err pu_econ_task_state(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                       pu_task_state *out);
/** The view verify_ml_work needs (training data loaded on first use and
 * shared).  Pointers borrowed from e, valid until e is freed. */
PU_NODISCARD pu_err pu_econ_task_view(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                      pu_pouw_task_view *out);
/** Ids of tasks submitted on ch's branch in a given phase (up to max). */
size_t pu_econ_tasks(pu_econ *e, const pu_chain *ch, pu_task_phase phase, pu_hash32 *out, size_t max);

/* Transaction builders for simulated roles: real signatures, OP_RETURN of
 * the matching op code attached.  Inputs are the caller's coins (owned by
 * key); change goes back to key's address; fee as given. */
typedef struct pu_econ_inputs {
    const pu_outpoint *ops;
    const pu_amount *amounts;
    size_t n;
    const pu_keypair *key;
    pu_amount fee;
    uint64_t timestamp;
} pu_econ_inputs;

PU_NODISCARD pu_err pu_econ_pay_for_task(pu_econ *e, const pu_task *t, const pu_econ_inputs *in,
                                         pu_tx **out);
PU_NODISCARD pu_err pu_econ_buy_tickets(pu_econ *e, const pu_hash32 *task_id, pu_role role,
                                        pu_amount stake, const pu_econ_inputs *in, pu_tx **out);
/** An evaluator's result: accuracies (ppm) of each selected miner on the
 * task's test split, indexed by miner index (UINT32_MAX: no model). */
PU_NODISCARD pu_err pu_econ_task_result(pu_econ *e, const pu_hash32 *task_id,
                                        const uint32_t *accuracy_ppm, uint32_t n_miners,
                                        const pu_hash32 *best_model, const pu_econ_inputs *in,
                                        pu_tx **out);
/** The settlement ch's tip state calls for (PU_ERR_STATE if the task is not
 * in finalisation).  Deterministic: the only valid SETTLEMENT of the task. */
PU_NODISCARD pu_err pu_econ_settlement(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                       pu_tx **out);

#endif

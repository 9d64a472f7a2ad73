/* core/econ.h -- the PoUW ledger rules beyond payments (PROTOCOL.md s2, s6, s7):
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
 *   training    from hc + 1: PoUW blocks of the task are valid, and so are
 *               the seated workers' records: miners' final models and
 *               gradient shares, supervisors' audit votes, verifiers'
 *               attestations, evaluators' TASK_RESULTs, anyone seated's
 *               EVIDENCE of misconduct (up to hc + T);
 *   finalisation  once every selected evaluator's TASK_RESULT and every
 *               selected supervisor's audit vote is confirmed, or when a
 *               block above hc + T is next (T = task_timeout_blocks; the
 *               absent are slashed), or at once after hc when the selection
 *               seated no miner or no evaluator (a void task);
 *   settled     the SETTLEMENT paying escrow and stakes is confirmed (any
 *               block producer may include it; it must equal
 *               pu_econ_settlement exactly).
 * A phase reported here is the one that applies to the *next* block, at
 * height tip + 1: TRAINING means PoUW blocks and results of the task may go
 * into the next block, FINALISATION that its settlement may.
 *
 * Selection (Sybil-resistant): a ticket of role r with stake s buys
 * floor(s / task.stake[r]) lottery entries (one entry when task.stake[r] is
 * 0; at most PU_ECON_MAX_ENTRIES); entry j of ticket t scores
 * H2(closing block hash || t's txid || j as u32); the lowest scores win, one
 * seat per distinct public key, until the role's seats are filled (miners:
 * pu_econ_miner_seats, the task's pu_task_required_miners unless the config
 * fixes them; supervisors, evaluators: the config's seat counts, 1 by
 * default; verifiers: up to PU_ECON_MAX_SEATS).
 * Roles are filled in the order miner, supervisor, evaluator, verifier and a
 * key seated in one role is skipped in the later ones (nobody evaluates its
 * own model).  Splitting a stake over many identities buys the same number
 * of entries, so Sybils gain nothing beyond their stake share.  Details and
 * the payout rule: the header comment of core/econ.c.
 *
 * Driving a task (what a simulator does, all through ordinary chains that
 * use pu_econ_rules):
 *   client       pu_econ_pay_for_task -> pu_chain_add_tx; confirmed at hs.
 *   workers      while the phase is REGISTRATION (blocks hs+1 .. hc):
 *                pu_econ_buy_tickets naming the task id.
 *   after hc     pu_econ_task_state gives the seats; miners train and mine
 *                PoUW blocks with pu_econ_task_view (miner index = seat index);
 *                plain blocks stay valid throughout.
 *   miners       when done, pu_econ_record of a CONSENSUS_VOTE (subject
 *                MODEL) naming the final model, which is in the record.
 *   supervisors  pu_econ_record of an audit vote (subject ITERATION);
 *                pu_econ_evidence of any misconduct found.
 *   verifiers    pu_econ_record of a VERIFICATION_PROOF per block checked.
 *   evaluators   pu_econ_task_result (accuracy per miner index, exactly as
 *                pu_pouw_evaluate gives it for the anchored models), a
 *                PAYMENT that must be confirmed by hc + T.
 *   producers    for each task pu_econ_tasks(..., PU_PHASE_FINALISATION ...)
 *                lists, add pu_econ_settlement(tip) to the block's
 *                transactions (settlements never enter a mempool). */
#ifndef PU_ECON_H
#define PU_ECON_H

#include "core/chain.h"
#include "core/opret.h"
#include "core/pouw.h"

#define PU_ECON_MAX_SEATS 8u
/* Tickets a task accepts: keeps its settlement (one input per ticket) under
 * PU_TX_MAX_SIZE.  Entries per ticket: bounds the lottery's hashing. */
#define PU_ECON_MAX_TICKETS 500u
#define PU_ECON_MAX_ENTRIES 256u
/* Share of the fee (percent) that supervisors and evaluators split equally;
 * the rest goes to the miners by model quality (core/econ.c). */
#define PU_ECON_QUOTA_PCT 30u
#define PU_ECON_DEFAULT_TIMEOUT 1000u /* blocks, when task_timeout_blocks is 0 */

typedef struct pu_econ pu_econ;

typedef struct pu_econ_config {
    pu_crypto *crypto;             /* borrowed */
    pu_opret_codec *opret;         /* borrowed: OP_RETURN agreement checks */
    pu_pouw_verifier *verifier;    /* borrowed; NULL: every PoUW block fails ML_WORK */
    const pu_task_data_dirs *data_dirs; /* borrowed; where task data is (NULL: defaults) */
    uint32_t task_timeout_blocks;  /* T: training + finalisation budget after hc
                                    * (0: PU_ECON_DEFAULT_TIMEOUT) */
    uint32_t supervisor_seats;     /* per task, 0: 1; at most PU_ECON_MAX_SEATS */
    uint32_t evaluator_seats;      /* per task, 0: 1; at most PU_ECON_MAX_SEATS */
    /* Audit outside a run (pouwsim chain verify), never a node's rule: a
     * chain database holds blocks, not the model states, residuals and
     * update messages their proofs name, so re-execution is impossible from
     * it.  When set, a PoUW block whose proof passes every check before data
     * resolution and then meets PU_POUW_UNKNOWN_DATA is accepted;
     * pu_econ_ml_verdict still reports UNKNOWN_DATA for it, so the auditor
     * can count what it could not re-execute.  Likewise a final model not in
     * the record is taken as anchored (its accuracy in a result is then not
     * re-checked) and evidence that cannot be re-executed is taken at its
     * record's word. */
    bool accept_unresolved_data;
    /* A node that does not check PoUW work (the simulator's lazy verifier,
     * an attack; never an honest node's rule): a PoUW block of a task in
     * training passes check_block without verify_ml_work, and no verdict
     * is recorded (pu_econ_ml_verdict knows none of this e's checks).
     * Every other rule stays. */
    bool trust_ml_work;
    /* Miner seats of every task, 1..PU_TASK_MAX_MINERS; 0 (the protocol's
     * rule): the task's pu_task_required_miners, from its complexity score.
     * A chain-wide override for experiments that compare seat counts on one
     * task (the complexity rule gives every task exactly one count); a
     * PAY_FOR_TASK whose task leaves that many miners no full batch per
     * epoch is then refused (FIELD). */
    uint32_t miner_seats;
} pu_econ_config;

/** PU_ERR_RANGE for a missing crypto/opret or too many seats (miners above
 * PU_TASK_MAX_MINERS); PU_ERR_NOMEM.
 * Every chain that shares one pu_econ must use the same config: it is part
 * of the consensus rules. */
PU_NODISCARD pu_err pu_econ_new(const pu_econ_config *cfg, pu_econ **out);
void pu_econ_free(pu_econ *e);
/** e's consensus settings (after pu_econ_new's defaults) as one line of
 * "key=value" words: task_timeout_blocks, supervisor_seats,
 * evaluator_seats, and miner_seats when the config sets it (so chains made
 * under the protocol's rule keep their line).  A chain database records it
 * beside the parameters, so a reader can rebuild the rules (pouwsim chain
 * verify).  Truncated to n. */
void pu_econ_describe(const pu_econ *e, char *buf, size_t n);
/** Reads such a line into cfg's consensus settings (other fields untouched).
 * PU_ERR_PARSE for an unknown key or a value that is not a decimal u32:
 * settings this build does not know would be rules it does not apply. */
PU_NODISCARD pu_err pu_econ_config_parse(const char *text, pu_econ_config *cfg);

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
    pu_task_phase phase;    /* for the next block (file comment) */
    pu_task def;
    pu_hash32 id;
    pu_hash32 submit_txid;
    uint32_t submit_height, close_height;
    pu_addr client;
    uint32_t n_seats[PU_TASK_N_ROLES];   /* 0 until the closing block is on the branch */
    pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS]; /* [pu_role - 1][index] */
    uint32_t n_results;     /* evaluators whose TASK_RESULT is confirmed */
    uint32_t n_votes;       /* supervisors whose audit vote is confirmed */
    uint32_t n_tickets;     /* tickets confirmed for the task */
    /* per miner seat (index = miner index) */
    bool anchored[PU_ECON_MAX_SEATS];             /* its final model is on the branch */
    uint8_t anchor[PU_ECON_MAX_SEATS][8];         /* that model's hash prefix */
    uint32_t anchor_iters[PU_ECON_MAX_SEATS];     /* iterations it ran */
    uint8_t proven[PU_ECON_MAX_SEATS];            /* pu_pouw_reason of proven misconduct, 0 none */
    uint32_t shares[PU_ECON_MAX_SEATS];           /* last gradient-share iteration + 1, 0 none */
} pu_task_state;

/** State of a task as seen from ch's tip.  PU_ERR_NOTFOUND if never
 * submitted on ch's branch; PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_econ_task_state(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                       pu_task_state *out);
/** The view verify_ml_work needs (training data loaded on first use and
 * shared).  Pointers borrowed from e, valid until e is freed.  Errors of
 * pu_econ_task_state and of loading the data. */
PU_NODISCARD pu_err pu_econ_task_view(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                      pu_pouw_task_view *out);
/** The miner seats the rules fill for task t: the config's miner_seats, or
 * pu_task_required_miners(t) when it is 0.  Fewer are seated when fewer
 * distinct keys buy miner tickets. */
uint32_t pu_econ_miner_seats(const pu_econ *e, const pu_task *t);
/** Load the data sets of task t into e's shared cache now (tasks that use
 * them later find them there), e.g. to report a missing data set before a
 * run starts.  Errors of pu_task_load_data. */
PU_NODISCARD pu_err pu_econ_preload(pu_econ *e, const pu_task *t);
/** Ids of tasks submitted on ch's branch in a given phase, oldest
 * submission first; returns how many were written (<= max). */
size_t pu_econ_tasks(pu_econ *e, const pu_chain *ch, pu_task_phase phase, pu_hash32 *out, size_t max);

/** Detailed verify_ml_work outcome of a PoUW block that e's check_block
 * hook judged (whichever chain asked first: the verdict is a function of
 * the block).  PU_POUW_UNKNOWN_TASK when the task was not in training on the
 * block's branch; PU_POUW_REASON_COUNT when it could not be verified (no
 * verifier configured, or a system failure).  false if e never checked it. */
bool pu_econ_ml_verdict(const pu_econ *e, const pu_hash32 *block_hash, pu_pouw_reason *why,
                        pu_pouw_cost *cost);

/** Why the rules hook refused a transaction, in more detail than the
 * pu_reason core/chain reports (RECORD -> PU_R_TX_BAD_OPRET, SETTLEMENT ->
 * PU_R_BAD_SETTLEMENT, the others -> PU_R_KIND_RULE).  Stable numbers. */
typedef enum pu_econ_reason {
    PU_ECON_OK = 0,
    PU_ECON_RECORD,          /* OP_RETURN missing, undecodable or disagreeing with the tx */
    PU_ECON_NO_TASK,         /* names no task submitted on the branch */
    PU_ECON_PHASE,           /* the task is not in the phase the record belongs to */
    PU_ECON_NOT_SEATED,      /* the signer holds no seat of the role the record needs */
    PU_ECON_REPEATED,        /* posted already (or the task was submitted already) */
    PU_ECON_FIELD,           /* a field contradicts the chain or the task */
    PU_ECON_FEE,             /* a task fee under pu_task_fee(task, pouw_min_task_fee) */
    PU_ECON_STAKE,           /* a stake outside 1..PU_ECON_MAX_ENTRIES units, or tickets full */
    PU_ECON_NO_MODEL,        /* a final model not in the record or not of the task's shape */
    PU_ECON_FALSE_RESULT,    /* a result that re-evaluation of the final models contradicts */
    PU_ECON_NOT_PROVEN,      /* evidence that proves no misconduct */
    PU_ECON_ALREADY_PROVEN,  /* the accused miner's misconduct is proven on the branch already */
    PU_ECON_SETTLEMENT,      /* not the settlement the rules compute */
    PU_ECON_REASON_COUNT
} pu_econ_reason;
const char *pu_econ_reason_str(pu_econ_reason r);
/** The detailed reason of a transaction's first refusal by e's hook (any
 * chain's), or false if none is recorded (the record is bounded: it is
 * cleared after PU_ECON_... 16384 entries). */
bool pu_econ_tx_verdict(const pu_econ *e, const pu_hash32 *txid, pu_econ_reason *why);

/** A lottery ticket: the worker and the role it bought (pu_role). */
typedef struct pu_econ_ticket {
    pu_worker w;
    uint8_t role;
} pu_econ_ticket;

/** The selection rule on its own (what the ledger applies with the closing
 * block's hash as seed and the task's confirmed tickets): seats per role
 * (index pu_role - 1) in winning order.  Pure; the order of `tickets` does
 * not matter.  Tickets buying no entry (stake under the unit) take part in
 * nothing; entries above PU_ECON_MAX_ENTRIES are not counted.  PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_econ_select(pu_econ *e, const pu_task *t, const pu_hash32 *seed,
                                   const pu_econ_ticket *tickets, size_t n,
                                   uint32_t n_seats[PU_TASK_N_ROLES],
                                   pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS]);

/* Transaction builders for simulated roles: real signatures, OP_RETURN of
 * the matching op code attached (timestamp = the transaction's, node id =
 * SHA-1 of key's public key).  Inputs are the caller's coins (owned by
 * key); change goes back to key's address (no change output when it is 0);
 * fee as given.  PU_ERR_RANGE if the inputs do not cover fee + lock (or,
 * for a result, leave no change: a PAYMENT needs an output). */
typedef struct pu_econ_inputs {
    const pu_outpoint *ops;
    const pu_amount *amounts;
    size_t n;
    const pu_keypair *key;
    pu_amount fee;
    uint64_t timestamp;
} pu_econ_inputs;

/** PU_ERR_RANGE also for a task with more than 6 hidden layers: the
 * TASK_SUBMISSION record holds at most 8 layers. */
PU_NODISCARD pu_err pu_econ_pay_for_task(pu_econ *e, const pu_task *t, const pu_econ_inputs *in,
                                         pu_tx **out);
PU_NODISCARD pu_err pu_econ_buy_tickets(pu_econ *e, const pu_hash32 *task_id, pu_role role,
                                        pu_amount stake, const pu_econ_inputs *in, pu_tx **out);
/** An evaluator's result: accuracies (ppm) of each selected miner on the
 * task's test split, indexed by miner index (UINT32_MAX: no model), the
 * best model and the most iterations a miner ran (as anchored).  The task
 * must be known to e (some chain of e has it): PU_ERR_NOTFOUND. */
PU_NODISCARD pu_err pu_econ_task_result(pu_econ *e, const pu_hash32 *task_id,
                                        const uint32_t *accuracy_ppm, uint32_t n_miners,
                                        const pu_hash32 *best_model, uint32_t iterations_run,
                                        const pu_econ_inputs *in, pu_tx **out);
/** A PAYMENT carrying record m (CONSENSUS_VOTE, GRADIENT_SHARE,
 * VERIFICATION_PROOF or NETWORK_STATE; payload as given) about task_id
 * (NULL: no task); timestamp, node id and task id hash are set here.
 * PU_ERR_RANGE for another op code or an invalid field. */
PU_NODISCARD pu_err pu_econ_record(pu_econ *e, const pu_hash32 *task_id, const pu_opret_msg *m,
                                   const pu_econ_inputs *in, pu_tx **out);
/** An EVIDENCE transaction: body = pu_pouw_evidence_* bytes, and the
 * CONSENSUS_VOTE record that states finding f (what
 * pu_pouw_evidence_check found in body). */
PU_NODISCARD pu_err pu_econ_evidence(pu_econ *e, const pu_hash32 *task_id, const pu_pouw_finding *f,
                                     const uint8_t *body, size_t len, const pu_econ_inputs *in,
                                     pu_tx **out);
/** The settlement ch's tip state calls for (PU_ERR_STATE if the task is not
 * in finalisation).  Deterministic: the only valid SETTLEMENT of the task.
 * It cannot enter a mempool: a block producer passes it to
 * pu_chain_create_block with the other transactions. */
PU_NODISCARD pu_err pu_econ_settlement(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                                       pu_tx **out);

#endif

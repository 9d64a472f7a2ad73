/* core/econ.c -- PoUW ledger rules: task registry, lottery, results,
 * settlement, OP_RETURN agreement, and the pu_rules hook (PROTOCOL.md s2, s4-s7).
 *
 * ## Where the state comes from
 * Nothing is stored per chain.  Each block of a branch is read once into a
 * record of its economic events (submissions, tickets, results), keyed by
 * block hash and shared by every chain of the run; a block is indexed only
 * after its parent, so a record for the tip means the whole branch is
 * indexed.  A task's state on a branch is then derived from those records
 * and cached by (task id, block hash): the selection by the closing block,
 * the ticket count and results by the last block that can change them.
 * "Settled" alone is read from the chain's UTXO set: the escrow lock exists
 * from hs on and only the task's settlement can spend it.
 * The hooks read the block records of the branch up to the chain's tip,
 * which is the parent of the block being validated (or of the next block,
 * for the mempool), so events earlier in the same block are not seen.  Only
 * "settled" comes from the UTXO set, which during validation already holds
 * the block's earlier transactions: a settlement earlier in the block makes
 * its task settled for the rest of it.  Either way a verdict is a function
 * of the parent's branch and the block itself, as the valcache needs.
 *
 * ## Transaction rules (check_tx; reasons)
 * Each refusal has a detailed pu_econ_reason (pu_econ_tx_verdict) that maps
 * to the pu_reason core/chain reports: RECORD -> PU_R_TX_BAD_OPRET,
 * SETTLEMENT -> PU_R_BAD_SETTLEMENT, every other -> PU_R_KIND_RULE.
 * OP_RETURN, compared on decoded fields (never re-encoded bytes):
 *   - PAY_FOR_TASK must carry TASK_SUBMISSION, BUY_TICKETS
 *     WORKER_REGISTRATION, SETTLEMENT ECONOMIC_EVENT, EVIDENCE a
 *     CONSENSUS_VOTE of subject MISCONDUCT ("rides in": a missing record is
 *     a disagreement); a PAYMENT may carry TASK_RESULT, CONSENSUS_VOTE
 *     (subjects MODEL and ITERATION), GRADIENT_SHARE, VERIFICATION_PROOF or
 *     NETWORK_STATE.
 *   - Signed kinds: record timestamp = (u32) transaction timestamp, node id
 *     = SHA-1 of the first input's key.  SETTLEMENT: node id zero (no node
 *     makes it), timestamp as the settlement's.
 *   - TASK_SUBMISSION: task id hash; fee; min_stake = the miner stake;
 *     min accuracy, max iterations, batch size; learning_rate_ppm =
 *     floor(lr_e9 / 1000); required miners = pu_econ_miner_seats (the
 *     seats the rules fill); registration blocks; activation;
 *     layers = input, hidden..., output; dataset_size = train + test; name.
 *   - WORKER_REGISTRATION: task id hash of the preference, role, stake (the
 *     worker's claims min_task_fee, throughput, max_params are free).
 *   - ECONOMIC_EVENT: every field as the settlement computes it (below).
 *   Any mismatch, or a record that does not decode: RECORD.
 * Kind rules, with "the signer" = the key of the first input and "seated"
 * = holding a seat of the named task on the branch (NO_TASK, PHASE,
 * NOT_SEATED, REPEATED, FIELD unless said otherwise):
 *   - PAY_FOR_TASK: the fee is at least pu_task_fee(task,
 *     params.pouw_min_task_fee) (FEE: the seed prices tasks by complexity);
 *     the task id is new on the branch (a task is submitted once; a client
 *     wanting a rerun changes task_seed); under a config's miner_seats, that
 *     many miners each get a full batch per epoch (FIELD; the rule's count
 *     is checked by pu_task_check already).
 *   - BUY_TICKETS: names a task (zero "any task" is refused: a stake must
 *     belong to exactly one settlement) that is in registration; the stake
 *     buys 1..PU_ECON_MAX_ENTRIES entries and fewer than PU_ECON_MAX_TICKETS
 *     tickets of the task are confirmed (STAKE).
 *   - CONSENSUS_VOTE, subject MODEL (a miner's final model): training; a
 *     seated miner, once, before any result is confirmed; vote yes;
 *     iteration = iterations it ran (1..max_iterations), epoch = the epoch
 *     of its last one; the subject's 8-byte prefix names a model of the
 *     task's record that fits the task (NO_MODEL).
 *   - CONSENSUS_VOTE, subject ITERATION (a supervisor's audit vote):
 *     training; a seated supervisor, once; yes, or no with the pu_pouw_reason
 *     it found; epoch <= the miners, iteration <= miners x max_iterations.
 *     Other subjects in a PAYMENT: FIELD.
 *   - GRADIENT_SHARE: training; a seated miner; iteration < max_iterations
 *     and not below its last share's (REPEATED); epoch = iteration's epoch;
 *     tau_micro = floor(tau_e9 / 1000).
 *   - VERIFICATION_PROOF: training or finalisation before hc + T; a seated
 *     verifier; hc < height <= the tip's height; iteration < max_iterations.
 *   - NETWORK_STATE: no task id hash; height <= the tip's and tip_hash the
 *     prefix of the branch's block at that height.
 *   - TASK_RESULT: training; a seated evaluator with no confirmed result;
 *     the ranking names distinct selected miners, best first (accuracy
 *     descending, miner index ascending on ties); test_samples = the task's
 *     test size; and it is exact (FALSE_RESULT for an accuracy, FIELD for a
 *     ranking of other miners, iterations or best model than the branch
 *     anchored): every node evaluates each
 *     anchored final model on the task's test split (pu_pouw_evaluate,
 *     accuracy = floor(correct x 10^6 / n)), and the result must rank
 *     exactly the anchored miners with those accuracies, name the first
 *     ranked one's model prefix and the most iterations any of them ran.
 *     An evaluator therefore cannot lie; several evaluators only add
 *     availability.
 *   - EVIDENCE: training or finalisation before hc + T; a seated worker of
 *     any role; the body proves misconduct (pu_pouw_evidence_check, judged as
 *     of training; NOT_PROVEN), the record states what it proves (reason,
 *     epoch = miner index, iteration = seq, subject = the object's prefix;
 *     RECORD), and that miner's misconduct is not proven on the branch yet
 *     (ALREADY_PROVEN).
 *   - SETTLEMENT (SETTLEMENT): the task is in finalisation and the
 *     transaction equals pu_econ_settlement in every field.
 * check_block: the limits a transaction cannot see (it does not see its own
 * block): one PAY_FOR_TASK per task per block, at most PU_ECON_MAX_TICKETS
 * tickets per task (PU_R_KIND_RULE); then, for a PoUW header, verify_ml_work
 * with the task's view (PU_R_ML_WORK; details via pu_econ_ml_verdict).
 * Plain proof-of-work blocks stay valid in every phase, so the chain lives
 * between tasks.  core/chain calls check_block for every block, so with
 * check_tx's "new on the branch" a branch holds at most one submission of a
 * task.  Records of one block are applied in block order, each counted once
 * (a second anchor, vote or proof of the same seat or miner is ignored).
 *
 * ## Selection
 * As core/econ.h says.  Entries are compared by (score, ticket txid, j):
 * scores are SHA-256 outputs, so equal scores would need a collision, but
 * the order is total anyway.  A key's best entry over all its tickets of
 * the role decides its place; its other tickets are unselected.  The closing
 * block's producer can grind that hash (or withhold a block) to bias the
 * draw, at the price of the block reward per try: a known limit of
 * block-hash beacons, accepted here as the header prescribes.
 *
 * ## Settlement (PROTOCOL.md s7, rule version 2; Lihu et al. 2020, arXiv
 * 2001.09244, pays miners from the fee in order of model quality, auditors
 * and evaluators from a shared quota)
 * Inputs: the escrow lock first, then every ticket's stake lock of the task
 * in txid order.
 * Duties judged over the blocks (hc, min(tip, hc + T)]:
 *   miners       an anchored final model (CONSENSUS_VOTE MODEL) whose
 *                accuracy is above chance = floor(10^6 / classes), and no
 *                proven misconduct (EVIDENCE): "honest"; otherwise slashed.
 *   supervisors  an audit vote (CONSENSUS_VOTE ITERATION); absent: slashed.
 *   evaluators   a result; absent: slashed.
 *   verifiers    each attestation is right (OK for the branch's block at
 *                that height, or not OK for a block whose evidence is
 *                confirmed), wrong (the opposite), or proves nothing (any
 *                other block); one wrong attestation slashes the verifier,
 *                otherwise one right one makes it "good" (paid); a verifier
 *                with neither keeps its stake unpaid.
 * Outcome:
 *   void         no miner or no evaluator seated: the escrow goes back to
 *                the client, every stake back to its owner.
 *   unevaluated  no evaluator result by hc + T: the escrow goes back to the
 *                client; absent evaluators and supervisors, miners proven to
 *                have cheated and wrong verifiers are slashed; all other
 *                stakes are returned.
 *   evaluated    F = fee, Q = floor(F * 30 / 100), M = F - Q.
 *     Miner quality: for each miner the lower median of the accuracies
 *     reported by the evaluators who posted (results are exact, so all
 *     agree; a miner a result does not rank counts 0).  An honest miner has
 *     weight w = accuracy - chance; honest miners get floor(M * w / W), W =
 *     sum of weights (computed exactly in 64 bits as a*w + floor(b*w / W)
 *     with M = a*W + b); with no honest miner M goes back to the client.
 *     Payment grows with accuracy above chance, so the ranking of final
 *     models decides the split, as the PoUW paper pays miners in order of
 *     model quality.
 *   missed       evaluated, but the best honest miner's accuracy is under
 *                the task's min_accuracy: no miner is paid (M goes back to
 *                the client: it pays for a model it can use), honest
 *                miners keep their stakes, and Q is paid as below: the
 *                auditors and evaluators did their part.  A cheater's
 *                model does not count towards the requirement.
 *   In both, the supervisors who voted, the good verifiers (together "the
 *   auditors") and the evaluators who posted share Q equally (the paper's
 *   quota): floor(Q / k) each.  Why 70/30: miners do the training and
 *   mining (the expensive part); with the default one supervisor and one
 *   evaluator each still gets 15 % of the fee, enough to make recording and
 *   testing worth a stake.
 *   Remainders of the floor divisions and every slashed stake go to the
 *   client: slashed stakes compensate the party whose task was harmed, and
 *   no worker can profit from getting another slashed (miners competing for
 *   the same pool, evaluators ranking miners, auditors reporting them).
 *   Unselected tickets and honest workers get their stakes back.
 * Outputs: everything owed to one address summed into one output, outputs
 * in ascending address order, zero amounts omitted.  Outputs therefore sum
 * to escrow + stakes exactly (supply is conserved: core/chain also demands
 * that a settlement pays out exactly what it unlocks).
 * Body: task id 32 | rule version u8 (2) | outcome u8 (1 evaluated, 2 void,
 * 3 unevaluated, 4 missed) | n u8 | n x miner accuracy u32 (the median used;
 * n = 0 unless evaluated or missed).  Timestamp: that of the block that
 * finalised the task (the last result or audit vote, the block at hc + T,
 * or the closing block of a void task), so the transaction never changes
 * once it is due.
 * ECONOMIC_EVENT: kind SETTLEMENT (evaluated, missed) or REFUND; total = all
 * locks; to_miners / to_supervisors / to_evaluators = fee shares paid
 * (stakes excluded; to_supervisors counts every auditor: supervisors and
 * good verifiers); slashed = stakes taken; n_miners = miners paid a share,
 * n_supervisors = auditors paid, n_evaluators = evaluators paid; n_slashed.
 *
 * Hooks cannot return system errors: an allocation failure inside one
 * refuses the object (PU_R_KIND_RULE, PU_R_BAD_SETTLEMENT or PU_R_ML_WORK),
 * and core/chain would remember such a block as invalid; only a hook
 * signature that returns pu_err besides the reason could tell them apart.
 * One pu_econ serves every chain of a run that shares a valcache: cached
 * verdicts assume the same rules. */
#include "core/econ.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"

#define PPM 1000000u
#define RULE_VERSION 2u
#define PROG_CACHE_MAX 16384u /* (task, block) progress entries before a reset */
#define SETTLE_BODY_MAX (32u + 3u + 4u * PU_ECON_MAX_SEATS)
#define R_MINER (PU_ROLE_MINER - 1)
#define R_SUPERVISOR (PU_ROLE_SUPERVISOR - 1)
#define R_EVALUATOR (PU_ROLE_EVALUATOR - 1)
#define R_VERIFIER (PU_ROLE_VERIFIER - 1)

enum { OUTCOME_EVALUATED = 1, OUTCOME_VOID = 2, OUTCOME_UNEVALUATED = 3, OUTCOME_MISSED = 4 };
enum {
    EV_SUBMIT = 1, EV_TICKET, EV_RESULT,
    EV_ANCHOR,   /* CONSENSUS_VOTE, subject MODEL: a miner's final model */
    EV_AUDIT,    /* CONSENSUS_VOTE, subject ITERATION: a supervisor's audit vote */
    EV_SHARE,    /* GRADIENT_SHARE */
    EV_ATTEST,   /* VERIFICATION_PROOF */
    EV_EVIDENCE, /* EVIDENCE transaction (CONSENSUS_VOTE, subject MISCONDUCT) */
};

/* ---- records ------------------------------------------------------------- */

typedef struct ev {
    uint8_t type;
    uint8_t role;                /* EV_TICKET: pu_role */
    uint8_t sub;                 /* ATTEST: outcome; EVIDENCE: reason */
    uint32_t pos;                /* index of the transaction in its block */
    uint32_t a;                  /* ANCHOR, SHARE, EVIDENCE: iteration; ATTEST: height */
    uint32_t b;                  /* ANCHOR: epoch; EVIDENCE: accused miner index */
    uint8_t prefix[PU_OPRET_PREFIX]; /* ANCHOR: model; ATTEST: block; EVIDENCE: object */
    pu_hash32 txid;
    pu_hash32 key;               /* SUBMIT: task id; TICKET: preference; others: task id hash */
    pu_amount amount;            /* TICKET: stake */
    uint8_t pub[33];             /* first input's key */
    pu_addr addr;                /* its address (owner of a lock) */
    pu_opret_task_result result; /* EV_RESULT */
} ev;

typedef struct blockrec {
    uint32_t height;
    uint32_t n_ev;
    ev *ev;
} blockrec;

typedef struct occ { /* a PAY_FOR_TASK of the task in some block of some branch */
    pu_hash32 block;
    uint32_t height, pos;
    pu_hash32 txid;
    pu_addr owner;
} occ;

typedef struct dataref {
    pu_dataset *train, *test;
} dataref;

typedef struct taskrec {
    pu_task def;
    pu_hash32 id, idhash;
    occ *occ;
    size_t n_occ, cap_occ;
    dataref *data; /* owned by e->data; NULL until first use */
} taskrec;

typedef struct selrec { /* a task's registration as closed by one closing block */
    pu_econ_ticket *tk;      /* confirmation order */
    size_t n_tk;
    uint32_t n_seats[PU_TASK_N_ROLES];
    uint32_t seat_tk[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS]; /* indices into tk */
    uint8_t miner_pubs[PU_ECON_MAX_SEATS][33];
} selrec;

typedef struct prog { /* what the blocks after hs changed, up to some block */
    uint32_t n_tickets;
    uint32_t n_posted, n_voted, last_height;
    uint8_t posted[PU_ECON_MAX_SEATS];  /* evaluators with a result */
    uint8_t voted[PU_ECON_MAX_SEATS];   /* supervisors with an audit vote */
    uint32_t acc[PU_ECON_MAX_SEATS][PU_ECON_MAX_SEATS]; /* [evaluator][miner] ppm, 0 = none */
    /* per miner seat */
    uint8_t anchored[PU_ECON_MAX_SEATS];
    uint8_t anchor[PU_ECON_MAX_SEATS][PU_OPRET_PREFIX]; /* final model prefix */
    uint32_t anchor_iters[PU_ECON_MAX_SEATS];
    uint32_t shares[PU_ECON_MAX_SEATS];   /* last gradient-share iteration + 1, 0 = none */
    uint8_t proven[PU_ECON_MAX_SEATS];    /* pu_pouw_reason of proven misconduct, 0 = none */
    uint8_t proven_obj[PU_ECON_MAX_SEATS][PU_OPRET_PREFIX];
} prog;

typedef struct mlverdict {
    uint32_t reason;
    pu_pouw_cost cost;
} mlverdict;

struct pu_econ {
    pu_econ_config cfg;
    pu_rules rules;
    pu_hmap *blocks; /* block hash -> blockrec* */
    pu_hmap *tasks;  /* task id -> taskrec* */
    pu_hmap *idhash; /* SHA-256(task id) -> task id */
    pu_hmap *sels;   /* task id || closing block hash -> selrec* */
    pu_hmap *progs;  /* task id || block hash -> prog (a bounded cache) */
    pu_hmap *data;   /* data set key -> dataref* */
    pu_hmap *ml;     /* block hash -> mlverdict */
    pu_hmap *txv;    /* txid -> pu_econ_reason (u8) of its first refusal (bounded) */
};

/* A task as seen from a chain's tip (height H); phase for height H + 1. */
typedef struct tview {
    taskrec *task;
    occ sub;
    uint32_t H, hs, hc, hT; /* hT = hc + T: last height for results */
    const selrec *sel;      /* once H >= hc */
    prog pr;
    bool void_task;
    pu_task_phase phase;
    uint32_t f_height; /* the block that finalised the task (FINALISATION/SETTLED) */
} tview;

static uint32_t sat_add(uint32_t a, uint32_t b) { return a > UINT32_MAX - b ? UINT32_MAX : a + b; }

static void key64(const pu_hash32 *a, const pu_hash32 *b, uint8_t k[64])
{
    memcpy(k, a->b, 32);
    memcpy(k + 32, b->b, 32);
}

static const blockrec *rec_of(const pu_econ *e, const pu_block *b)
{
    blockrec **p = pu_hmap_get(e->blocks, pu_block_hash(b)->b);
    return p ? *p : NULL;
}

/* ---- indexing blocks ----------------------------------------------------- */

static pu_err task_add_occ(pu_econ *e, const pu_task *def, const pu_hash32 *id, const occ *o)
{
    void *slot;
    bool created;
    pu_err rc = pu_hmap_put(e->tasks, id->b, &slot, &created);
    if (rc != PU_OK)
        return rc;
    taskrec *t = *(taskrec **)slot;
    if (created) {
        t = calloc(1, sizeof *t);
        if (!t) {
            PU_IGNORE(pu_hmap_remove(e->tasks, id->b, NULL)); /* keep the map consistent */
            return PU_ERR_NOMEM;
        }
        t->def = *def;
        t->id = *id;
        pu_opret_task_id_hash(e->cfg.crypto, id, &t->idhash);
        void *hv;
        if ((rc = pu_hmap_put(e->idhash, t->idhash.b, &hv, NULL)) != PU_OK) {
            /* Not published: a later re-indexing starts over (a task
             * without its id-hash entry would refuse every result). */
            free(t);
            PU_IGNORE(pu_hmap_remove(e->tasks, id->b, NULL));
            return rc;
        }
        memcpy(hv, id->b, 32);
        *(taskrec **)slot = t;
    }
    for (size_t i = 0; i < t->n_occ; i++) /* re-indexing after a failure adds nothing twice */
        if (pu_hash_eq(&t->occ[i].block, &o->block) && t->occ[i].pos == o->pos)
            return PU_OK;
    if (t->n_occ == t->cap_occ) {
        size_t cap = t->cap_occ ? 2 * t->cap_occ : 2;
        occ *n = realloc(t->occ, cap * sizeof *n);
        if (!n)
            return PU_ERR_NOMEM;
        t->occ = n;
        t->cap_occ = cap;
    }
    t->occ[t->n_occ++] = *o;
    return PU_OK;
}

/* The event a transaction makes, if any (false: none). */
static bool tx_event(pu_econ *e, const pu_tx *tx, uint32_t pos, ev *out)
{
    memset(out, 0, sizeof *out);
    pu_tx_kind kind = pu_tx_kind_of(tx);
    if (pu_tx_n_in(tx) == 0 || kind == PU_TX_SETTLEMENT)
        return false;
    out->pos = pos;
    out->txid = *pu_tx_id(tx);
    memcpy(out->pub, pu_tx_in(tx, 0)->pub, 33); /* addr: by the caller, events only */
    if (kind == PU_TX_PAY_FOR_TASK) {
        out->type = EV_SUBMIT;
        return true;
    }
    if (kind == PU_TX_BUY_TICKETS) {
        pu_tickets t;
        if (pu_tx_tickets(tx, &t) != PU_OK)
            return false;
        out->type = EV_TICKET;
        out->role = t.role;
        out->amount = t.stake;
        out->key = t.task_pref;
        return true;
    }
    const uint8_t *op = pu_tx_opret(tx);
    pu_opret_msg m;
    pu_opret_status st;
    if ((kind != PU_TX_PAYMENT && kind != PU_TX_EVIDENCE) || !op
        || pu_opret_decode(e->cfg.opret, op, PU_OPRET_SIZE, &m, &st) != PU_OK)
        return false;
    out->key = m.task_id_hash;
    if (kind == PU_TX_EVIDENCE) {
        if (m.op != PU_OPRET_CONSENSUS_VOTE)
            return false;
        out->type = EV_EVIDENCE;
        out->sub = m.vote.reason;
        out->a = m.vote.iteration;
        out->b = m.vote.epoch;
        memcpy(out->prefix, m.vote.subject_hash, PU_OPRET_PREFIX);
        return true;
    }
    switch (m.op) {
    case PU_OPRET_TASK_RESULT:
        out->type = EV_RESULT;
        out->result = m.result;
        return true;
    case PU_OPRET_CONSENSUS_VOTE:
        if (m.vote.subject != PU_OPRET_SUBJ_MODEL && m.vote.subject != PU_OPRET_SUBJ_ITERATION)
            return false;
        out->type = m.vote.subject == PU_OPRET_SUBJ_MODEL ? EV_ANCHOR : EV_AUDIT;
        out->a = m.vote.iteration;
        out->b = m.vote.epoch;
        memcpy(out->prefix, m.vote.subject_hash, PU_OPRET_PREFIX);
        return true;
    case PU_OPRET_GRADIENT_SHARE:
        out->type = EV_SHARE;
        out->a = m.grad.iteration;
        return true;
    case PU_OPRET_VERIFICATION_PROOF:
        out->type = EV_ATTEST;
        out->sub = m.proof.outcome;
        out->a = m.proof.height;
        memcpy(out->prefix, m.proof.block_hash, PU_OPRET_PREFIX);
        return true;
    default:
        return false;
    }
}

static pu_err index_block(pu_econ *e, const pu_block *b, uint32_t height)
{
    uint32_t ntx = pu_block_n_tx(b);
    blockrec *r = calloc(1, sizeof *r);
    ev *evs = ntx > 1 ? malloc((ntx - 1) * sizeof *evs) : NULL;
    pu_err rc = r && (evs || ntx <= 1) ? PU_OK : PU_ERR_NOMEM;
    uint32_t n = 0;
    for (uint32_t i = 1; rc == PU_OK && i < ntx; i++) { /* the coinbase makes no event */
        const pu_tx *tx = pu_block_tx(b, i);
        if (!tx_event(e, tx, i, &evs[n]))
            continue;
        pu_addr_from_pub(e->cfg.crypto, evs[n].pub, &evs[n].addr);
        if (evs[n].type == EV_SUBMIT) {
            uint32_t len;
            const uint8_t *body = pu_tx_body(tx, &len);
            pu_task def;
            if (pu_task_decode(body, len, &def) != PU_OK
                || pu_task_id(&def, e->cfg.crypto, &evs[n].key) != PU_OK)
                continue; /* cannot be in a valid block */
            occ o = {*pu_block_hash(b), height, i, evs[n].txid, evs[n].addr};
            rc = task_add_occ(e, &def, &evs[n].key, &o);
        }
        n++;
    }
    void *slot;
    if (rc == PU_OK)
        rc = pu_hmap_put(e->blocks, pu_block_hash(b)->b, &slot, NULL);
    if (rc != PU_OK) {
        free(evs);
        free(r);
        return rc;
    }
    if (n == 0) { /* most blocks: keep no array sized by the payments */
        free(evs);
        evs = NULL;
    } else if (n < ntx - 1) {
        ev *fit = realloc(evs, n * sizeof *evs);
        evs = fit ? fit : evs;
    }
    r->height = height;
    r->n_ev = n;
    r->ev = evs;
    *(blockrec **)slot = r;
    return PU_OK;
}

/* Index the branch of ch's tip: from the lowest unindexed height up (a
 * block's record exists only if its parent's does). */
static pu_err ensure_indexed(pu_econ *e, const pu_chain *ch)
{
    uint32_t H = pu_chain_height(ch), from = H + 1;
    while (from > 0 && !rec_of(e, pu_chain_block_at(ch, from - 1)))
        from--;
    pu_err rc = PU_OK;
    for (uint32_t h = from; rc == PU_OK && h <= H; h++)
        rc = index_block(e, pu_chain_block_at(ch, h), h);
    return rc;
}

/* ---- the lottery ----------------------------------------------------------- */

static uint32_t ticket_entries(const pu_task *t, uint8_t role, pu_amount stake)
{
    if (role < PU_ROLE_MINER || role > PU_ROLE_VERIFIER || stake <= 0)
        return 0;
    pu_amount unit = t->stake[role - 1];
    if (unit <= 0)
        return 1; /* the client asked for no stake: one entry per ticket */
    pu_amount n = stake / unit;
    return n > PU_ECON_MAX_ENTRIES ? PU_ECON_MAX_ENTRIES : (uint32_t)n;
}

typedef struct cand {
    pu_hash32 score;
    pu_hash32 txid;
    uint32_t j, tk;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    int c = memcmp(x->score.b, y->score.b, 32);
    if (!c)
        c = memcmp(x->txid.b, y->txid.b, 32);
    if (!c)
        c = x->j < y->j ? -1 : x->j > y->j;
    return c;
}

static uint32_t seats_wanted(const pu_econ *e, const pu_task *t, uint32_t r)
{
    switch (r) {
    case R_MINER: return pu_econ_miner_seats(e, t);
    case R_SUPERVISOR: return e->cfg.supervisor_seats;
    case R_EVALUATOR: return e->cfg.evaluator_seats;
    default: return PU_ECON_MAX_SEATS;
    }
}

static pu_err lottery(pu_econ *e, const pu_task *t, const pu_hash32 *seed,
                      const pu_econ_ticket *tk, size_t n, uint32_t n_seats[PU_TASK_N_ROLES],
                      uint32_t seat_tk[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS])
{
    memset(n_seats, 0, PU_TASK_N_ROLES * sizeof n_seats[0]);
    cand *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return PU_ERR_NOMEM;
    size_t nc = 0;
    uint8_t buf[68];
    memcpy(buf, seed->b, 32);
    for (size_t i = 0; i < n; i++) { /* each ticket competes with its best entry */
        uint32_t entries = ticket_entries(t, tk[i].role, tk[i].w.stake);
        if (!entries)
            continue;
        cand best = {{{0}}, tk[i].w.ticket, 0, (uint32_t)i};
        memcpy(buf + 32, tk[i].w.ticket.b, 32);
        for (uint32_t j = 0; j < entries; j++) {
            cand x = {{{0}}, tk[i].w.ticket, j, (uint32_t)i};
            pu_put_be32(buf + 64, j);
            pu_sha256d(e->cfg.crypto, buf, sizeof buf, &x.score);
            if (j == 0 || cand_cmp(&x, &best) < 0)
                best = x;
        }
        c[nc++] = best;
    }
    qsort(c, nc, sizeof *c, cand_cmp);
    const uint8_t *seated[PU_TASK_N_ROLES * PU_ECON_MAX_SEATS];
    uint32_t n_seated = 0;
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++) {
        uint32_t want = seats_wanted(e, t, r);
        for (size_t i = 0; i < nc && n_seats[r] < want; i++) {
            const pu_econ_ticket *x = &tk[c[i].tk];
            bool taken = x->role != r + 1;
            for (uint32_t k = 0; k < n_seated && !taken; k++)
                taken = memcmp(seated[k], x->w.pub, 33) == 0;
            if (taken)
                continue;
            seated[n_seated++] = x->w.pub;
            seat_tk[r][n_seats[r]++] = c[i].tk;
        }
    }
    free(c);
    return PU_OK;
}

pu_err pu_econ_select(pu_econ *e, const pu_task *t, const pu_hash32 *seed,
                      const pu_econ_ticket *tickets, size_t n, uint32_t n_seats[PU_TASK_N_ROLES],
                      pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS])
{
    uint32_t idx[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS];
    pu_err rc = lottery(e, t, seed, tickets, n, n_seats, idx);
    for (uint32_t r = 0; rc == PU_OK && r < PU_TASK_N_ROLES; r++)
        for (uint32_t k = 0; k < n_seats[r]; k++)
            seat[r][k] = tickets[idx[r][k]].w;
    return rc;
}

/* ---- a task on a branch ------------------------------------------------------ */

static bool on_branch(const pu_chain *ch, uint32_t H, const pu_hash32 *block, uint32_t height)
{
    if (height > H)
        return false;
    const pu_block *b = pu_chain_block_at(ch, height);
    return b && pu_hash_eq(pu_block_hash(b), block);
}

/* The task's submission on the branch (a branch holds at most one: see
 * check_tx and check_block). */
static const occ *find_sub(const pu_chain *ch, const taskrec *t)
{
    uint32_t H = pu_chain_height(ch);
    for (size_t i = 0; i < t->n_occ; i++) {
        const occ *o = &t->occ[i];
        if (on_branch(ch, H, &o->block, o->height))
            return o;
    }
    return NULL;
}

static void selrec_free(selrec *s)
{
    if (s) {
        free(s->tk);
        free(s);
    }
}

static pu_err sel_collect(pu_econ *e, const pu_chain *ch, const tview *tv, selrec *s)
{
    const taskrec *t = tv->task;
    size_t cap = 0;
    for (uint32_t h = tv->hs + 1; h <= tv->hc; h++) {
        const blockrec *r = rec_of(e, pu_chain_block_at(ch, h));
        if (!r)
            return PU_ERR_STATE;
        for (uint32_t i = 0; i < r->n_ev; i++) {
            const ev *x = &r->ev[i];
            if (x->type != EV_TICKET || !pu_hash_eq(&x->key, &t->id))
                continue;
            if (s->n_tk == cap) {
                cap = cap ? 2 * cap : 16;
                pu_econ_ticket *n = realloc(s->tk, cap * sizeof *n);
                if (!n)
                    return PU_ERR_NOMEM;
                s->tk = n;
            }
            pu_econ_ticket *k = &s->tk[s->n_tk++];
            memcpy(k->w.pub, x->pub, 33);
            k->w.addr = x->addr;
            k->w.ticket = x->txid;
            k->w.stake = x->amount;
            k->role = x->role;
        }
    }
    return PU_OK;
}

/* Selection of the task closed by the block at tv->hc on ch's branch. */
static pu_err get_sel(pu_econ *e, const pu_chain *ch, tview *tv)
{
    const pu_hash32 *close = pu_block_hash(pu_chain_block_at(ch, tv->hc));
    uint8_t k[64];
    key64(&tv->task->id, close, k);
    selrec **p = pu_hmap_get(e->sels, k);
    if (p) {
        tv->sel = *p;
        return PU_OK;
    }
    selrec *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    pu_err rc = sel_collect(e, ch, tv, s);
    if (rc == PU_OK)
        rc = lottery(e, &tv->task->def, close, s->tk, s->n_tk, s->n_seats, s->seat_tk);
    for (uint32_t i = 0; rc == PU_OK && i < s->n_seats[R_MINER]; i++)
        memcpy(s->miner_pubs[i], s->tk[s->seat_tk[R_MINER][i]].w.pub, 33);
    void *slot;
    if (rc == PU_OK)
        rc = pu_hmap_put(e->sels, k, &slot, NULL);
    if (rc != PU_OK) {
        selrec_free(s);
        return rc;
    }
    *(selrec **)slot = s;
    tv->sel = s;
    return PU_OK;
}

/* Seat index of key pub in role r of selection s, or -1. */
static int seat_of(const selrec *s, uint32_t r, const uint8_t pub[33])
{
    for (uint32_t k = 0; k < s->n_seats[r]; k++)
        if (memcmp(s->tk[s->seat_tk[r][k]].w.pub, pub, 33) == 0)
            return (int)k;
    return -1;
}

static void apply_result(const selrec *s, const ev *x, uint32_t h, prog *p)
{
    int k = seat_of(s, R_EVALUATOR, x->pub);
    if (k < 0 || p->posted[k])
        return; /* the first result of an evaluator counts */
    p->posted[k] = 1;
    p->n_posted++;
    p->last_height = h;
    for (uint32_t j = 0; j < x->result.n_ranked; j++) {
        const pu_opret_rank *rk = &x->result.ranked[j];
        if (rk->miner_index < s->n_seats[R_MINER])
            p->acc[k][rk->miner_index] = rk->accuracy_ppm;
    }
}

/* One event of a block after hc (check_tx admitted it against the state
 * before its block; repeats within one block count once). */
static void apply_event(const selrec *s, const ev *x, uint32_t h, prog *p)
{
    int k;
    switch (x->type) {
    case EV_RESULT:
        apply_result(s, x, h, p);
        break;
    case EV_AUDIT:
        if ((k = seat_of(s, R_SUPERVISOR, x->pub)) >= 0 && !p->voted[k]) {
            p->voted[k] = 1;
            p->n_voted++;
            p->last_height = h;
        }
        break;
    case EV_ANCHOR: /* final models count until the first result */
        if ((k = seat_of(s, R_MINER, x->pub)) >= 0 && !p->anchored[k] && !p->n_posted) {
            p->anchored[k] = 1;
            memcpy(p->anchor[k], x->prefix, PU_OPRET_PREFIX);
            p->anchor_iters[k] = x->a;
        }
        break;
    case EV_SHARE:
        if ((k = seat_of(s, R_MINER, x->pub)) >= 0 && x->a + 1 > p->shares[k])
            p->shares[k] = x->a + 1;
        break;
    case EV_EVIDENCE:
        if (x->b < s->n_seats[R_MINER] && !p->proven[x->b]) {
            p->proven[x->b] = x->sub;
            memcpy(p->proven_obj[x->b], x->prefix, PU_OPRET_PREFIX);
        }
        break;
    default:
        break;
    }
}

/* Apply the events of the block at height h to the progress of tv's task. */
static void prog_apply(const tview *tv, const blockrec *r, uint32_t h, prog *p)
{
    for (uint32_t i = 0; i < r->n_ev; i++) {
        const ev *x = &r->ev[i];
        if (h > tv->hs && h <= tv->hc) {
            if (x->type == EV_TICKET && pu_hash_eq(&x->key, &tv->task->id))
                p->n_tickets++;
            continue;
        }
        if (h <= tv->hc || h > tv->hT || !tv->sel || x->type == EV_SUBMIT || x->type == EV_TICKET
            || !pu_hash_eq(&x->key, &tv->task->idhash))
            continue;
        apply_event(tv->sel, x, h, p);
    }
}

/* Progress up to min(H, hT): nothing after hT changes it, so the cache key is
 * the block at that height and the scan never exceeds W + T blocks. */
static pu_err get_prog(pu_econ *e, const pu_chain *ch, tview *tv)
{
    uint32_t he = tv->H < tv->hT ? tv->H : tv->hT;
    memset(&tv->pr, 0, sizeof tv->pr);
    if (he <= tv->hs)
        return PU_OK;
    uint8_t k[64];
    key64(&tv->task->id, pu_block_hash(pu_chain_block_at(ch, he)), k);
    prog *p = pu_hmap_get(e->progs, k);
    if (p) {
        tv->pr = *p;
        return PU_OK;
    }
    uint8_t kp[64];
    uint32_t from = tv->hs + 1;
    key64(&tv->task->id, pu_block_hash(pu_chain_block_at(ch, he - 1)), kp);
    if (he - 1 > tv->hs && (p = pu_hmap_get(e->progs, kp)) != NULL) {
        tv->pr = *p;
        from = he;
    }
    for (uint32_t h = from; h <= he; h++) {
        const blockrec *r = rec_of(e, pu_chain_block_at(ch, h));
        if (!r)
            return PU_ERR_STATE;
        prog_apply(tv, r, h, &tv->pr);
    }
    if (pu_hmap_count(e->progs) >= PROG_CACHE_MAX)
        pu_hmap_clear(e->progs); /* a pure cache: dropping it changes no verdict */
    void *slot;
    if (pu_hmap_put(e->progs, k, &slot, NULL) == PU_OK)
        memcpy(slot, &tv->pr, sizeof tv->pr);
    return PU_OK;
}

static void set_phase(const pu_chain *ch, tview *tv)
{
    if (tv->H < tv->hc) {
        tv->phase = PU_PHASE_REGISTRATION;
        return;
    }
    const selrec *s = tv->sel;
    tv->void_task = s->n_seats[R_MINER] == 0 || s->n_seats[R_EVALUATOR] == 0;
    if (tv->void_task)
        tv->f_height = tv->hc;
    else if (tv->pr.n_posted == s->n_seats[R_EVALUATOR] && tv->pr.n_voted == s->n_seats[R_SUPERVISOR])
        tv->f_height = tv->pr.last_height;
    else if (tv->H >= tv->hT)
        tv->f_height = tv->hT;
    pu_outpoint esc = {tv->sub.txid, PU_LOCK_INDEX};
    if (!pu_utxo_find(pu_chain_utxo(ch), &esc))
        tv->phase = PU_PHASE_SETTLED;
    else
        tv->phase = tv->f_height ? PU_PHASE_FINALISATION : PU_PHASE_TRAINING;
}

static pu_err view_task(pu_econ *e, const pu_chain *ch, const pu_hash32 *id, tview *tv)
{
    memset(tv, 0, sizeof *tv);
    pu_err rc = ensure_indexed(e, ch);
    if (rc != PU_OK)
        return rc;
    taskrec **tp = pu_hmap_get(e->tasks, id->b);
    const occ *sub = tp ? find_sub(ch, *tp) : NULL;
    if (!sub)
        return PU_ERR_NOTFOUND;
    tv->task = *tp;
    tv->sub = *sub;
    tv->H = pu_chain_height(ch);
    tv->hs = sub->height;
    tv->hc = sat_add(tv->hs, tv->task->def.registration_blocks);
    tv->hT = sat_add(tv->hc, e->cfg.task_timeout_blocks);
    if (tv->H >= tv->hc && (rc = get_sel(e, ch, tv)) != PU_OK)
        return rc;
    if ((rc = get_prog(e, ch, tv)) != PU_OK)
        return rc;
    set_phase(ch, tv);
    return PU_OK;
}

/* ---- settlement -------------------------------------------------------------- */

typedef struct pay {
    pu_addr addr;
    pu_amount amount;
} pay;

typedef struct plan {
    pu_outpoint *in;
    uint32_t n_in;
    pay *out;
    uint32_t n_out;
    uint8_t body[SETTLE_BODY_MAX];
    uint32_t body_len;
    uint64_t timestamp;
    pu_opret_msg msg;
} plan;

typedef struct payout { /* the rule's verdict for one task */
    uint8_t outcome;
    uint32_t n_miners;
    uint32_t acc[PU_ECON_MAX_SEATS];   /* median accuracy per miner */
    bool honest[PU_ECON_MAX_SEATS];    /* above chance and no misconduct proven */
    pu_amount mpay[PU_ECON_MAX_SEATS]; /* fee share per miner */
    uint8_t verifier[PU_ECON_MAX_SEATS]; /* VER_* per verifier seat */
    uint32_t n_auditors;               /* supervisors who voted + good verifiers */
    pu_amount share;                   /* per paid supervisor, verifier, evaluator */
    pu_amount client;                  /* fee part returned to the client */
} payout;

enum { VER_IDLE = 0, VER_GOOD = 1, VER_WRONG = 2 };

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int op_cmp(const void *a, const void *b)
{
    return memcmp(((const pu_outpoint *)a)->txid.b, ((const pu_outpoint *)b)->txid.b, 32);
}

static int pay_cmp(const void *a, const void *b)
{
    return memcmp(((const pay *)a)->addr.b, ((const pay *)b)->addr.b, 20);
}

/* Whether the attestation x (of a block at x->a) is right: a block of that
 * height on the branch is valid, a block proven by evidence is not; any
 * other block (stale, unknown) proves nothing either way (-1). */
static int attest_right(const pu_chain *ch, const tview *tv, const ev *x)
{
    bool ok = x->sub == PU_OPRET_VERIFY_OK;
    const pu_block *b = x->a <= tv->H ? pu_chain_block_at(ch, x->a) : NULL;
    if (b && memcmp(pu_block_hash(b)->b, x->prefix, PU_OPRET_PREFIX) == 0)
        return ok;
    for (uint32_t m = 0; m < tv->sel->n_seats[R_MINER]; m++)
        if (tv->pr.proven[m] && memcmp(tv->pr.proven_obj[m], x->prefix, PU_OPRET_PREFIX) == 0)
            return !ok;
    return -1;
}

/* Verifier seats judged by their attestations up to min(H, hT): one wrong
 * attestation makes a verifier wrong, otherwise one right one makes it good. */
static void judge_verifiers(const pu_econ *e, const pu_chain *ch, const tview *tv, payout *po)
{
    const selrec *s = tv->sel;
    uint32_t he = tv->H < tv->hT ? tv->H : tv->hT;
    for (uint32_t h = tv->hc + 1; h <= he; h++) {
        const blockrec *r = rec_of(e, pu_chain_block_at(ch, h));
        for (uint32_t i = 0; r && i < r->n_ev; i++) {
            const ev *x = &r->ev[i];
            int k;
            if (x->type != EV_ATTEST || !pu_hash_eq(&x->key, &tv->task->idhash)
                || (k = seat_of(s, R_VERIFIER, x->pub)) < 0 || po->verifier[k] == VER_WRONG)
                continue;
            int right = attest_right(ch, tv, x);
            if (right == 0)
                po->verifier[k] = VER_WRONG;
            else if (right == 1)
                po->verifier[k] = VER_GOOD;
        }
    }
}

/* Lower median of the evaluators' accuracies for each miner (a miner a
 * result does not rank counts 0); honest = above chance, nothing proven. */
static void miner_quality(const tview *tv, payout *po)
{
    const selrec *s = tv->sel;
    uint32_t chance = PPM / tv->task->def.classes;
    po->n_miners = s->n_seats[R_MINER];
    for (uint32_t m = 0; m < po->n_miners; m++) {
        uint32_t v[PU_ECON_MAX_SEATS], n = 0;
        for (uint32_t k = 0; k < s->n_seats[R_EVALUATOR]; k++)
            if (tv->pr.posted[k])
                v[n++] = tv->pr.acc[k][m];
        qsort(v, n, sizeof v[0], u32_cmp);
        po->acc[m] = n ? v[(n - 1) / 2] : 0;
        po->honest[m] = po->acc[m] > chance && !tv->pr.proven[m];
    }
}

/* Fee split of an evaluated task (file comment). */
static void split_fee(const tview *tv, payout *po)
{
    const pu_task *t = &tv->task->def;
    pu_amount F = t->fee, Q = F * (pu_amount)PU_ECON_QUOTA_PCT / 100, M = F - Q;
    uint32_t chance = PPM / t->classes, best = 0;
    uint64_t W = 0, w[PU_ECON_MAX_SEATS] = {0};
    for (uint32_t m = 0; m < po->n_miners; m++) {
        w[m] = po->honest[m] ? po->acc[m] - chance : 0;
        W += w[m];
        if (po->honest[m] && po->acc[m] > best)
            best = po->acc[m];
    }
    if (best < t->min_accuracy_ppm) {
        po->outcome = OUTCOME_MISSED; /* no miner is paid for a model the client cannot use */
        W = 0;
    }
    pu_amount paid = 0;
    if (W) {
        /* M * w / W without overflow: M = a W + b, b < W <= 8e6, w <= 1e6 */
        uint64_t a = (uint64_t)M / W, b = (uint64_t)M % W;
        for (uint32_t m = 0; m < po->n_miners; m++) {
            po->mpay[m] = (pu_amount)(a * w[m] + b * w[m] / W);
            paid += po->mpay[m];
        }
    }
    uint32_t k = po->n_auditors + tv->pr.n_posted; /* >= 1: an evaluator posted */
    po->share = Q / k;
    po->client = (M - paid) + (Q - po->share * k);
}

/* What ticket i of the selection receives, and whether it is slashed. */
static pu_amount ticket_due(const tview *tv, const payout *po, size_t i, bool *slashed)
{
    const selrec *s = tv->sel;
    pu_amount stake = s->tk[i].w.stake;
    bool judged = po->outcome != OUTCOME_VOID, evaluated = po->outcome == OUTCOME_EVALUATED
                                                            || po->outcome == OUTCOME_MISSED;
    *slashed = false;
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        for (uint32_t k = 0; k < s->n_seats[r]; k++) {
            if (s->seat_tk[r][k] != i)
                continue;
            bool bad = judged && ((r == R_EVALUATOR && !tv->pr.posted[k])
                                  || (r == R_SUPERVISOR && !tv->pr.voted[k])
                                  || (r == R_VERIFIER && po->verifier[k] == VER_WRONG)
                                  || (r == R_MINER && tv->pr.proven[k])
                                  || (r == R_MINER && evaluated && !po->honest[k]));
            if (bad) {
                *slashed = true;
                return 0;
            }
            if (!evaluated)
                return stake;
            if (r == R_MINER)
                return stake + po->mpay[k];
            bool paid = r == R_EVALUATOR || r == R_SUPERVISOR || po->verifier[k] == VER_GOOD;
            return stake + (paid ? po->share : 0);
        }
    return stake; /* unselected */
}

static void plan_release(plan *p)
{
    free(p->in);
    free(p->out);
    memset(p, 0, sizeof *p);
}

static pu_err plan_inputs(const tview *tv, plan *p, pu_amount *total)
{
    const selrec *s = tv->sel;
    size_t n = 1 + s->n_tk;
    if (n > UINT32_MAX)
        return PU_ERR_RANGE;
    p->in = malloc(n * sizeof *p->in);
    if (!p->in)
        return PU_ERR_NOMEM;
    p->n_in = (uint32_t)n;
    p->in[0].txid = tv->sub.txid;
    for (size_t i = 0; i < s->n_tk; i++)
        p->in[1 + i].txid = s->tk[i].w.ticket;
    for (size_t i = 0; i < n; i++)
        p->in[i].index = PU_LOCK_INDEX;
    qsort(p->in + 1, n - 1, sizeof *p->in, op_cmp);
    pu_amount sum = tv->task->def.fee;
    pu_err rc = PU_OK;
    for (size_t i = 0; i < s->n_tk && rc == PU_OK; i++)
        rc = pu_amount_add(sum, s->tk[i].w.stake, &sum);
    *total = sum;
    return rc;
}

/* Sort by address, merge equal addresses, drop zeros. */
static pu_err plan_outputs(pay *v, size_t n, plan *p)
{
    qsort(v, n, sizeof *v, pay_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && memcmp(v[k - 1].addr.b, v[i].addr.b, 20) == 0) {
            if (pu_amount_add(v[k - 1].amount, v[i].amount, &v[k - 1].amount) != PU_OK)
                return PU_ERR_RANGE;
        } else {
            v[k++] = v[i];
        }
    }
    p->n_out = 0;
    for (size_t i = 0; i < k; i++)
        if (v[i].amount > 0)
            v[p->n_out++] = v[i];
    p->out = v;
    return PU_OK;
}

static void plan_body(const pu_chain *ch, const tview *tv, const payout *po, plan *p,
                      const pu_opret_economic_event *ee)
{
    memcpy(p->body, tv->task->id.b, 32);
    p->body[32] = RULE_VERSION;
    p->body[33] = po->outcome;
    uint32_t nm = po->outcome == OUTCOME_EVALUATED || po->outcome == OUTCOME_MISSED ? po->n_miners : 0;
    p->body[34] = (uint8_t)nm;
    for (uint32_t m = 0; m < nm; m++)
        pu_put_be32(p->body + 35 + 4 * m, po->acc[m]);
    p->body_len = 35 + 4 * nm;
    p->timestamp = pu_block_header(pu_chain_block_at(ch, tv->f_height))->timestamp;
    pu_opret_msg_init(&p->msg, PU_OPRET_ECONOMIC_EVENT);
    p->msg.timestamp = (uint32_t)p->timestamp;
    p->msg.task_id_hash = tv->task->idhash;
    p->msg.econ = *ee;
}

/* The one valid settlement of tv's task (in finalisation). */
static pu_err make_plan(pu_econ *e, const pu_chain *ch, const tview *tv, plan *p)
{
    memset(p, 0, sizeof *p);
    const selrec *s = tv->sel;
    payout po;
    memset(&po, 0, sizeof po);
    po.outcome = tv->void_task ? OUTCOME_VOID
                 : tv->pr.n_posted == 0 ? OUTCOME_UNEVALUATED : OUTCOME_EVALUATED;
    po.client = tv->task->def.fee;
    if (po.outcome != OUTCOME_VOID) {
        judge_verifiers(e, ch, tv, &po);
        po.n_auditors = tv->pr.n_voted;
        for (uint32_t k = 0; k < s->n_seats[R_VERIFIER]; k++)
            po.n_auditors += po.verifier[k] == VER_GOOD;
        miner_quality(tv, &po);
    }
    if (po.outcome == OUTCOME_EVALUATED)
        split_fee(tv, &po);
    bool evaluated = po.outcome == OUTCOME_EVALUATED || po.outcome == OUTCOME_MISSED;
    pu_opret_economic_event ee;
    memset(&ee, 0, sizeof ee);
    ee.kind = evaluated ? PU_OPRET_ECON_SETTLEMENT : PU_OPRET_ECON_REFUND;
    pu_err rc = plan_inputs(tv, p, &ee.total);
    pay *v = rc == PU_OK ? malloc((s->n_tk + 1) * sizeof *v) : NULL;
    if (rc == PU_OK && !v)
        rc = PU_ERR_NOMEM;
    if (rc != PU_OK) {
        plan_release(p);
        return rc;
    }
    size_t n = 0;
    pu_amount client = po.client;
    for (size_t i = 0; i < s->n_tk; i++) {
        bool slashed;
        v[n] = (pay){s->tk[i].w.addr, ticket_due(tv, &po, i, &slashed)};
        if (slashed) {
            ee.slashed += s->tk[i].w.stake;
            ee.n_slashed++;
        }
        n++;
    }
    client += ee.slashed; /* all parts are <= total <= PU_MAX_MONEY */
    v[n++] = (pay){tv->sub.owner, client};
    if (evaluated) {
        for (uint32_t m = 0; m < po.n_miners; m++) {
            ee.to_miners += po.mpay[m];
            ee.n_miners += po.mpay[m] > 0;
        }
        ee.n_supervisors = po.n_auditors;
        ee.n_evaluators = tv->pr.n_posted;
        ee.to_supervisors = po.share * ee.n_supervisors;
        ee.to_evaluators = po.share * ee.n_evaluators;
    }
    rc = plan_outputs(v, n, p);
    if (rc != PU_OK) {
        free(v);
        plan_release(p);
        return rc;
    }
    plan_body(ch, tv, &po, p, &ee);
    return PU_OK;
}

static bool tx_matches_plan(const pu_tx *tx, const plan *p)
{
    uint32_t len;
    const uint8_t *body = pu_tx_body(tx, &len);
    if (pu_tx_version(tx) != PU_TX_VERSION || pu_tx_n_in(tx) != p->n_in
        || pu_tx_n_out(tx) != p->n_out || pu_tx_timestamp(tx) != p->timestamp
        || len != p->body_len || memcmp(body, p->body, len) != 0)
        return false;
    for (uint32_t i = 0; i < p->n_in; i++) {
        const pu_outpoint *o = &pu_tx_in(tx, i)->prev;
        if (!pu_hash_eq(&o->txid, &p->in[i].txid) || o->index != p->in[i].index)
            return false;
    }
    for (uint32_t i = 0; i < p->n_out; i++) {
        const pu_txout *o = pu_tx_out(tx, i);
        if (o->amount != p->out[i].amount || memcmp(o->addr.b, p->out[i].addr.b, 20) != 0)
            return false;
    }
    return true;
}

/* ---- OP_RETURN records ----------------------------------------------------------- */

static void msg_header(pu_econ *e, pu_opret_msg *m, const uint8_t pub[33], uint64_t ts)
{
    m->timestamp = (uint32_t)ts;
    pu_opret_node_id_hash(e->cfg.crypto, pub, m->node_id_hash);
}

static pu_err submission_msg(pu_econ *e, const pu_task *t, const pu_hash32 *id,
                             const uint8_t pub[33], uint64_t ts, pu_opret_msg *m)
{
    if (t->n_hidden + 2u > PU_OPRET_MAX_LAYERS)
        return PU_ERR_RANGE;
    pu_opret_msg_init(m, PU_OPRET_TASK_SUBMISSION);
    msg_header(e, m, pub, ts);
    pu_opret_task_id_hash(e->cfg.crypto, id, &m->task_id_hash);
    pu_opret_task_submission *s = &m->task;
    s->fee = t->fee;
    s->min_stake = t->stake[R_MINER];
    s->min_accuracy_ppm = t->min_accuracy_ppm;
    s->max_iterations = t->max_iterations;
    s->batch_size = t->batch_size;
    s->learning_rate_ppm = (uint32_t)(t->lr_e9 / 1000); /* lr_e9 <= 10^10 */
    s->required_miners = pu_econ_miner_seats(e, t);
    s->registration_blocks = t->registration_blocks;
    s->activation = t->activation; /* same numbering: 1 = ReLU */
    s->n_layers = t->n_hidden + 2u;
    s->layers[0] = t->input_size;
    for (uint32_t i = 0; i < t->n_hidden; i++)
        s->layers[1 + i] = t->hidden[i];
    s->layers[t->n_hidden + 1] = t->output_size;
    s->dataset_size = t->train_size + t->test_size; /* <= UINT32_MAX by pu_task_check */
    memcpy(s->dataset_name, t->dataset, strlen(t->dataset) + 1);
    return PU_OK;
}

static void registration_msg(pu_econ *e, const pu_tickets *tk, const uint8_t pub[33], uint64_t ts,
                             pu_opret_msg *m)
{
    pu_opret_msg_init(m, PU_OPRET_WORKER_REGISTRATION);
    msg_header(e, m, pub, ts);
    if (!pu_hash_is_zero(&tk->task_pref))
        pu_opret_task_id_hash(e->cfg.crypto, &tk->task_pref, &m->task_id_hash);
    m->reg.role = tk->role;
    m->reg.stake = tk->stake;
}

static bool header_agrees(pu_econ *e, const pu_tx *tx, const pu_opret_msg *m)
{
    uint8_t nid[20];
    pu_opret_node_id_hash(e->cfg.crypto, pu_tx_in(tx, 0)->pub, nid);
    return m->timestamp == (uint32_t)pu_tx_timestamp(tx) && memcmp(nid, m->node_id_hash, 20) == 0;
}

/* ---- check_tx ----------------------------------------------------------------- */

static pu_err load_data(pu_econ *e, taskrec *t);
static pu_err make_view(pu_econ *e, const tview *tv, pu_pouw_task_view *out);

/* The branch's view of the task a record names by its task id hash, in
 * one of two phases (the second may be PU_PHASE_NONE). */
static pu_econ_reason task_of_record(pu_econ *e, const pu_chain *ch, const pu_opret_msg *m,
                                     pu_task_phase ph1, pu_task_phase ph2, tview *tv)
{
    if (ensure_indexed(e, ch) != PU_OK)
        return PU_ECON_NO_TASK;
    const pu_hash32 *id = pu_hmap_get(e->idhash, m->task_id_hash.b);
    if (!id || view_task(e, ch, id, tv) != PU_OK)
        return PU_ECON_NO_TASK;
    return tv->phase == ph1 || tv->phase == ph2 ? PU_ECON_OK : PU_ECON_PHASE;
}

static pu_econ_reason check_submit(pu_econ *e, const pu_chain *ch, const pu_tx *tx,
                                   const pu_opret_msg *m)
{
    uint32_t len;
    const uint8_t *body = pu_tx_body(tx, &len);
    pu_task t;
    pu_hash32 id;
    if (pu_task_decode(body, len, &t) != PU_OK || pu_task_id(&t, e->cfg.crypto, &id) != PU_OK)
        return PU_ECON_RECORD; /* pu_tx_check already refuses it */
    pu_opret_msg want;
    if (!m || submission_msg(e, &t, &id, pu_tx_in(tx, 0)->pub, pu_tx_timestamp(tx), &want) != PU_OK
        || !pu_opret_msg_eq(m, &want))
        return PU_ECON_RECORD;
    if (t.fee < pu_task_fee(&t, pu_chain_params(ch)->pouw_min_task_fee))
        return PU_ECON_FEE;
    uint32_t ipe;
    if (pu_dataset_iters_per_epoch(t.train_size, pu_econ_miner_seats(e, &t), t.batch_size, &ipe)
        != PU_OK)
        return PU_ECON_FIELD; /* only under a config's miner_seats: pu_task_check tests the rule's */
    if (ensure_indexed(e, ch) != PU_OK)
        return PU_ECON_NO_TASK;
    taskrec **tp = pu_hmap_get(e->tasks, id.b);
    return tp && find_sub(ch, *tp) ? PU_ECON_REPEATED : PU_ECON_OK;
}

static pu_econ_reason check_ticket(pu_econ *e, const pu_chain *ch, const pu_tx *tx,
                                   const pu_opret_msg *m)
{
    pu_tickets tk;
    if (pu_tx_tickets(tx, &tk) != PU_OK)
        return PU_ECON_RECORD;
    pu_opret_msg want;
    registration_msg(e, &tk, pu_tx_in(tx, 0)->pub, pu_tx_timestamp(tx), &want);
    if (!m || m->op != PU_OPRET_WORKER_REGISTRATION)
        return PU_ECON_RECORD;
    want.reg.min_task_fee = m->reg.min_task_fee; /* the worker's own claims */
    want.reg.throughput_sps = m->reg.throughput_sps;
    want.reg.max_params = m->reg.max_params;
    if (!pu_opret_msg_eq(m, &want))
        return PU_ECON_RECORD;
    tview tv;
    if (pu_hash_is_zero(&tk.task_pref) || view_task(e, ch, &tk.task_pref, &tv) != PU_OK)
        return PU_ECON_NO_TASK;
    if (tv.phase != PU_PHASE_REGISTRATION)
        return PU_ECON_PHASE;
    const pu_task *t = &tv.task->def;
    pu_amount unit = t->stake[tk.role - 1];
    if (tv.pr.n_tickets >= PU_ECON_MAX_TICKETS
        || (unit > 0 && (tk.stake < unit || tk.stake / unit > PU_ECON_MAX_ENTRIES)))
        return PU_ECON_STAKE;
    return PU_ECON_OK;
}

/* A ranking names distinct selected miners, best first. */
static bool ranking_ok(const pu_opret_task_result *r, uint32_t n_miners)
{
    bool seen[256] = {false};
    if (r->n_ranked > n_miners)
        return false;
    for (uint32_t i = 0; i < r->n_ranked; i++) {
        const pu_opret_rank *x = &r->ranked[i];
        if (x->miner_index >= n_miners || seen[x->miner_index])
            return false;
        seen[x->miner_index] = true;
        if (i > 0) {
            const pu_opret_rank *p = &r->ranked[i - 1];
            if (p->accuracy_ppm < x->accuracy_ppm
                || (p->accuracy_ppm == x->accuracy_ppm && p->miner_index > x->miner_index))
                return false;
        }
    }
    return true;
}

/* Test accuracy (ppm) of miner m's final model, as every node computes it:
 * floor(correct x 10^6 / n) on the task's whole test split.  *acc =
 * UINT32_MAX with PU_ECON_OK when the model is not in the record and an
 * audit accepts unresolved data (pu_econ_config). */
static pu_econ_reason anchored_accuracy(pu_econ *e, const tview *tv, uint32_t m, uint32_t *acc)
{
    pu_hash32 h;
    uint32_t correct, n;
    *acc = UINT32_MAX;
    if (e->cfg.verifier && e->cfg.accept_unresolved_data
        && !pu_pouw_store_model_prefix(pu_pouw_verifier_store(e->cfg.verifier), tv->pr.anchor[m], NULL))
        return PU_ECON_OK;
    if (!e->cfg.verifier || load_data(e, tv->task) != PU_OK
        || !pu_pouw_store_model_prefix(pu_pouw_verifier_store(e->cfg.verifier), tv->pr.anchor[m], &h)
        || pu_pouw_evaluate(e->cfg.verifier, &tv->task->def, tv->task->data->test, &h, &correct, &n)
               != PU_OK
        || n == 0)
        return PU_ECON_NO_MODEL;
    *acc = (uint32_t)((uint64_t)correct * PPM / n);
    return PU_ECON_OK;
}

/* Every node re-evaluates the anchored final models: a result must rank
 * exactly the anchored miners, each with the accuracy re-evaluation gives,
 * name the best one's model and the most iterations any miner ran.  Only
 * an accuracy that re-evaluation contradicts is FALSE_RESULT; a ranking of
 * other miners than this branch anchored, other iterations or another best
 * model is FIELD (a reader on a branch with other anchors refuses an honest
 * result so). */
static pu_econ_reason result_exact(pu_econ *e, const tview *tv, const pu_opret_task_result *r)
{
    uint32_t n = 0, iters = 0;
    for (uint32_t m = 0; m < tv->sel->n_seats[R_MINER]; m++) {
        const pu_opret_rank *rk = NULL;
        for (uint32_t j = 0; j < r->n_ranked; j++)
            if (r->ranked[j].miner_index == m)
                rk = &r->ranked[j];
        if (!tv->pr.anchored[m]) {
            if (rk)
                return PU_ECON_FIELD; /* a model nobody anchored on this branch */
            continue;
        }
        uint32_t acc;
        pu_econ_reason why = anchored_accuracy(e, tv, m, &acc);
        if (why != PU_ECON_OK)
            return why;
        if (!rk)
            return PU_ECON_FIELD; /* an anchored miner left out */
        if (acc != UINT32_MAX && rk->accuracy_ppm != acc) /* MAX: an audit cannot tell */
            return PU_ECON_FALSE_RESULT;
        n++;
        iters = tv->pr.anchor_iters[m] > iters ? tv->pr.anchor_iters[m] : iters;
    }
    uint8_t best[PU_OPRET_PREFIX] = {0};
    if (r->n_ranked)
        memcpy(best, tv->pr.anchor[r->ranked[0].miner_index], PU_OPRET_PREFIX);
    if (n != r->n_ranked || r->iterations_run != iters || memcmp(best, r->model_hash, PU_OPRET_PREFIX))
        return PU_ECON_FIELD;
    return PU_ECON_OK;
}

static pu_econ_reason check_result(pu_econ *e, const pu_chain *ch, const pu_tx *tx,
                                   const pu_opret_msg *m)
{
    tview tv;
    pu_econ_reason why = task_of_record(e, ch, m, PU_PHASE_TRAINING, PU_PHASE_NONE, &tv);
    if (why != PU_ECON_OK)
        return why;
    int k = seat_of(tv.sel, R_EVALUATOR, pu_tx_in(tx, 0)->pub);
    if (k < 0)
        return PU_ECON_NOT_SEATED;
    if (tv.pr.posted[k])
        return PU_ECON_REPEATED;
    if (!ranking_ok(&m->result, tv.sel->n_seats[R_MINER])
        || m->result.test_samples != tv.task->def.test_size)
        return PU_ECON_FIELD;
    return result_exact(e, &tv, &m->result);
}

/* Epoch of a miner's iteration i: i / iterations per epoch. */
static bool epoch_of(const tview *tv, uint32_t i, uint32_t *epoch)
{
    const pu_task *t = &tv->task->def;
    uint32_t ipe;
    if (pu_dataset_iters_per_epoch(t->train_size, tv->sel->n_seats[R_MINER], t->batch_size, &ipe)
        != PU_OK)
        return false;
    *epoch = i / ipe;
    return true;
}

/* A miner's final model: CONSENSUS_VOTE subject MODEL, vote yes, iteration =
 * iterations run (1..max), epoch = the epoch of the last one, subject = the
 * model's hash prefix; the model is in the record and fits the task. */
static pu_econ_reason check_anchor(pu_econ *e, const tview *tv, const uint8_t *pub,
                                   const pu_opret_consensus_vote *v)
{
    int k = seat_of(tv->sel, R_MINER, pub);
    uint32_t epoch;
    if (k < 0)
        return PU_ECON_NOT_SEATED;
    if (tv->pr.anchored[k] || tv->pr.n_posted)
        return PU_ECON_REPEATED;
    if (v->vote != PU_OPRET_VOTE_YES || v->iteration == 0 || v->iteration > tv->task->def.max_iterations
        || !epoch_of(tv, v->iteration - 1, &epoch) || v->epoch != epoch)
        return PU_ECON_FIELD;
    tview probe = *tv; /* evaluate it as the result check will */
    probe.pr.anchored[k] = 1;
    memcpy(probe.pr.anchor[k], v->subject_hash, PU_OPRET_PREFIX);
    uint32_t acc;
    return anchored_accuracy(e, &probe, (uint32_t)k, &acc);
}

/* A supervisor's audit vote: subject ITERATION, yes (nothing found) or no
 * with the pu_pouw_reason it found; epoch = miners audited, iteration =
 * messages audited; subject = the prefix of its record's root. */
static pu_econ_reason check_audit(const tview *tv, const uint8_t *pub, const pu_opret_consensus_vote *v)
{
    int k = seat_of(tv->sel, R_SUPERVISOR, pub);
    if (k < 0)
        return PU_ECON_NOT_SEATED;
    if (tv->pr.voted[k])
        return PU_ECON_REPEATED;
    uint32_t nm = tv->sel->n_seats[R_MINER];
    if (v->epoch > nm || (uint64_t)v->iteration > (uint64_t)nm * tv->task->def.max_iterations
        || (v->vote == PU_OPRET_VOTE_NO && v->reason >= PU_POUW_REASON_COUNT)
        || v->vote == PU_OPRET_VOTE_ABSTAIN)
        return PU_ECON_FIELD;
    return PU_ECON_OK;
}

static pu_econ_reason check_vote(pu_econ *e, const pu_chain *ch, const pu_tx *tx, const pu_opret_msg *m)
{
    tview tv;
    if (m->vote.subject != PU_OPRET_SUBJ_MODEL && m->vote.subject != PU_OPRET_SUBJ_ITERATION)
        return PU_ECON_FIELD; /* misconduct rides in EVIDENCE; blocks are VERIFICATION_PROOFs */
    pu_econ_reason why = task_of_record(e, ch, m, PU_PHASE_TRAINING, PU_PHASE_NONE, &tv);
    if (why != PU_ECON_OK)
        return why;
    const uint8_t *pub = pu_tx_in(tx, 0)->pub;
    return m->vote.subject == PU_OPRET_SUBJ_MODEL ? check_anchor(e, &tv, pub, &m->vote)
                                                  : check_audit(&tv, pub, &m->vote);
}

/* A miner's gradient share: its iterations in order, the task's tau, the
 * epoch of the iteration. */
static pu_econ_reason check_share(pu_econ *e, const pu_chain *ch, const pu_tx *tx, const pu_opret_msg *m)
{
    tview tv;
    pu_econ_reason why = task_of_record(e, ch, m, PU_PHASE_TRAINING, PU_PHASE_NONE, &tv);
    if (why != PU_ECON_OK)
        return why;
    const pu_opret_gradient_share *g = &m->grad;
    int k = seat_of(tv.sel, R_MINER, pu_tx_in(tx, 0)->pub);
    uint32_t epoch;
    if (k < 0)
        return PU_ECON_NOT_SEATED;
    if (g->iteration < tv.pr.shares[k])
        return PU_ECON_REPEATED;
    if (g->iteration >= tv.task->def.max_iterations || g->tau_micro != tv.task->def.tau_e9 / 1000
        || !epoch_of(&tv, g->iteration, &epoch) || g->epoch != epoch)
        return PU_ECON_FIELD;
    return PU_ECON_OK;
}

/* A verifier seat's attestation of a block of its task's training: a
 * height the branch has, after registration closed. */
static pu_econ_reason check_attest(pu_econ *e, const pu_chain *ch, const pu_tx *tx, const pu_opret_msg *m)
{
    tview tv;
    pu_econ_reason why = task_of_record(e, ch, m, PU_PHASE_TRAINING, PU_PHASE_FINALISATION, &tv);
    if (why != PU_ECON_OK)
        return why;
    if (tv.H >= tv.hT)
        return PU_ECON_PHASE;
    if (seat_of(tv.sel, R_VERIFIER, pu_tx_in(tx, 0)->pub) < 0)
        return PU_ECON_NOT_SEATED;
    const pu_opret_verification_proof *v = &m->proof;
    if (v->height <= tv.hc || v->height > tv.H || v->iteration >= tv.task->def.max_iterations)
        return PU_ECON_FIELD;
    return PU_ECON_OK;
}

/* A node's status: about no task, and a tip the reader's branch has. */
static pu_econ_reason check_status(const pu_chain *ch, const pu_opret_msg *m)
{
    const pu_opret_network_state *n = &m->net;
    const pu_block *b = n->height <= pu_chain_height(ch) ? pu_chain_block_at(ch, n->height) : NULL;
    if (!pu_hash_is_zero(&m->task_id_hash) || !b
        || memcmp(pu_block_hash(b)->b, n->tip_hash, PU_OPRET_PREFIX) != 0)
        return PU_ECON_FIELD;
    return PU_ECON_OK;
}

/* EVIDENCE: a seated worker's proof of a seated miner's misconduct, with a
 * CONSENSUS_VOTE record that says what it proves (subject MISCONDUCT, vote
 * no, reason = the failed check, epoch = the miner's index, iteration = the
 * seq, subject = the object's prefix), before the task's results are due. */
static pu_econ_reason check_evidence(pu_econ *e, const pu_chain *ch, const pu_tx *tx,
                                     const pu_opret_msg *m)
{
    tview tv;
    if (!m || m->op != PU_OPRET_CONSENSUS_VOTE || m->vote.subject != PU_OPRET_SUBJ_MISCONDUCT
        || m->vote.vote != PU_OPRET_VOTE_NO)
        return PU_ECON_RECORD;
    pu_econ_reason why = task_of_record(e, ch, m, PU_PHASE_TRAINING, PU_PHASE_FINALISATION, &tv);
    if (why != PU_ECON_OK)
        return why;
    if (tv.H >= tv.hT)
        return PU_ECON_PHASE;
    const uint8_t *pub = pu_tx_in(tx, 0)->pub;
    bool seated = false;
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        seated |= seat_of(tv.sel, r, pub) >= 0;
    if (!seated)
        return PU_ECON_NOT_SEATED;
    pu_pouw_task_view pv;
    uint32_t len;
    const uint8_t *body = pu_tx_body(tx, &len);
    pu_pouw_finding f;
    if (!e->cfg.verifier || make_view(e, &tv, &pv) != PU_OK
        || pu_pouw_evidence_check(e->cfg.verifier, pu_chain_params(ch), &pv, body, len, &f) != PU_OK)
        return PU_ECON_NOT_PROVEN;
    /* an audit without the task's record cannot re-execute: it takes the
     * record's word for the reason (pu_econ_config.accept_unresolved_data) */
    bool unresolved = f.reason == PU_POUW_UNKNOWN_DATA && e->cfg.accept_unresolved_data;
    if (!f.proven && !unresolved)
        return PU_ECON_NOT_PROVEN;
    if ((!unresolved && f.reason != m->vote.reason) || f.miner_index != m->vote.epoch
        || f.seq != m->vote.iteration || memcmp(f.object.b, m->vote.subject_hash, PU_OPRET_PREFIX) != 0)
        return PU_ECON_RECORD;
    return tv.pr.proven[f.miner_index] ? PU_ECON_ALREADY_PROVEN : PU_ECON_OK;
}

static pu_econ_reason check_settle(pu_econ *e, const pu_chain *ch, const pu_tx *tx,
                                   const pu_opret_msg *m)
{
    uint32_t len;
    const uint8_t *body = pu_tx_body(tx, &len);
    pu_hash32 id;
    memcpy(id.b, body, 32); /* pu_tx_check: body >= 32 bytes */
    tview tv;
    if (view_task(e, ch, &id, &tv) != PU_OK || tv.phase != PU_PHASE_FINALISATION)
        return PU_ECON_SETTLEMENT;
    plan p;
    if (make_plan(e, ch, &tv, &p) != PU_OK)
        return PU_ECON_SETTLEMENT;
    pu_econ_reason r = PU_ECON_OK;
    if (!tx_matches_plan(tx, &p))
        r = PU_ECON_SETTLEMENT;
    else if (!m || !pu_opret_msg_eq(m, &p.msg))
        r = PU_ECON_RECORD;
    plan_release(&p);
    return r;
}

/* A PAYMENT's record (TASK_RESULT, CONSENSUS_VOTE, GRADIENT_SHARE,
 * VERIFICATION_PROOF, NETWORK_STATE). */
static pu_econ_reason check_record(pu_econ *e, const pu_chain *ch, const pu_tx *tx, const pu_opret_msg *m)
{
    if (m->op == PU_OPRET_TASK_SUBMISSION || m->op == PU_OPRET_WORKER_REGISTRATION
        || m->op == PU_OPRET_ECONOMIC_EVENT || !header_agrees(e, tx, m))
        return PU_ECON_RECORD; /* those ride in their own kinds only */
    switch (m->op) {
    case PU_OPRET_TASK_RESULT: return check_result(e, ch, tx, m);
    case PU_OPRET_CONSENSUS_VOTE: return check_vote(e, ch, tx, m);
    case PU_OPRET_GRADIENT_SHARE: return check_share(e, ch, tx, m);
    case PU_OPRET_VERIFICATION_PROOF: return check_attest(e, ch, tx, m);
    default: return check_status(ch, m);
    }
}

static pu_econ_reason econ_check_tx(pu_econ *e, const pu_chain *ch, const pu_tx *tx)
{
    pu_opret_msg m;
    const pu_opret_msg *mp = NULL;
    const uint8_t *op = pu_tx_opret(tx);
    if (op) {
        pu_opret_status st;
        if (pu_opret_decode(e->cfg.opret, op, PU_OPRET_SIZE, &m, &st) != PU_OK)
            return PU_ECON_RECORD;
        mp = &m;
    }
    switch (pu_tx_kind_of(tx)) {
    case PU_TX_PAY_FOR_TASK: return check_submit(e, ch, tx, mp);
    case PU_TX_BUY_TICKETS: return check_ticket(e, ch, tx, mp);
    case PU_TX_SETTLEMENT: return check_settle(e, ch, tx, mp);
    case PU_TX_EVIDENCE:
        if (mp && !header_agrees(e, tx, mp))
            return PU_ECON_RECORD;
        return check_evidence(e, ch, tx, mp);
    default: break;
    }
    if (!mp || pu_tx_n_in(tx) == 0)
        return PU_ECON_OK;
    return check_record(e, ch, tx, mp);
}

static pu_reason hook_check_tx(void *ctx, const pu_chain *ch, const pu_tx *tx, uint32_t height)
{
    (void)height; /* always tip + 1: the state is read from the tip */
    pu_econ *e = ctx;
    pu_econ_reason why = econ_check_tx(e, ch, tx);
    if (why == PU_ECON_OK)
        return PU_R_OK;
    void *slot;
    bool created;
    if (pu_hmap_count(e->txv) >= PROG_CACHE_MAX)
        pu_hmap_clear(e->txv); /* a record for callers, not a verdict cache */
    if (pu_hmap_put(e->txv, pu_tx_id(tx)->b, &slot, &created) == PU_OK && created)
        *(uint8_t *)slot = (uint8_t)why; /* the first refusal, as for blocks */
    return why == PU_ECON_RECORD ? PU_R_TX_BAD_OPRET
           : why == PU_ECON_SETTLEMENT ? PU_R_BAD_SETTLEMENT : PU_R_KIND_RULE;
}

/* ---- check_block -------------------------------------------------------------- */

static int hash_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* One submission per task per block; at most PU_ECON_MAX_TICKETS per task. */
static pu_reason block_limits(pu_econ *e, const pu_chain *ch, const pu_block *b)
{
    uint32_t ntx = pu_block_n_tx(b), ns = 0, nt = 0, nk = 0;
    for (uint32_t i = 1; i < ntx; i++) { /* most blocks have none: no allocation */
        pu_tx_kind k = pu_tx_kind_of(pu_block_tx(b, i));
        nk += k == PU_TX_PAY_FOR_TASK || k == PU_TX_BUY_TICKETS;
    }
    if (nk == 0)
        return PU_R_OK;
    pu_hash32 *subs = malloc(nk * sizeof *subs);
    pu_hash32 *tks = malloc(nk * sizeof *tks);
    pu_reason r = subs && tks ? PU_R_OK : PU_R_KIND_RULE;
    for (uint32_t i = 1; r == PU_R_OK && i < ntx; i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        uint32_t len;
        const uint8_t *body = pu_tx_body(tx, &len);
        pu_task t;
        pu_tickets tk;
        if (pu_tx_kind_of(tx) == PU_TX_PAY_FOR_TASK && pu_task_decode(body, len, &t) == PU_OK
            && pu_task_id(&t, e->cfg.crypto, &subs[ns]) == PU_OK)
            ns++;
        else if (pu_tx_kind_of(tx) == PU_TX_BUY_TICKETS && pu_tx_tickets(tx, &tk) == PU_OK)
            tks[nt++] = tk.task_pref;
    }
    qsort(subs, ns, sizeof *subs, hash_cmp);
    for (uint32_t i = 1; r == PU_R_OK && i < ns; i++)
        if (pu_hash_eq(&subs[i - 1], &subs[i]))
            r = PU_R_KIND_RULE;
    qsort(tks, nt, sizeof *tks, hash_cmp);
    for (uint32_t i = 0, j; r == PU_R_OK && i < nt; i = j) {
        for (j = i + 1; j < nt && pu_hash_eq(&tks[i], &tks[j]); j++)
            ;
        tview tv; /* every ticket passed check_tx, so its task is on the branch */
        if (view_task(e, ch, &tks[i], &tv) != PU_OK
            || tv.pr.n_tickets + (j - i) > PU_ECON_MAX_TICKETS)
            r = PU_R_KIND_RULE;
    }
    free(subs);
    free(tks);
    return r;
}

/* The data sets of task definition d, loaded once per data definition:
 * tasks with the same data set share one copy. */
static pu_err data_of(pu_econ *e, const pu_task *d, dataref **out)
{
    uint8_t k[PU_TASK_NAME_LEN + 24] = {0};
    memcpy(k, d->dataset, strlen(d->dataset));
    pu_put_be32(k + 16, d->train_size);
    pu_put_be32(k + 20, d->test_size);
    pu_put_be32(k + 24, d->features);
    pu_put_be32(k + 28, d->classes);
    pu_put_be64(k + 32, d->data_seed);
    pu_hash32 key;
    pu_sha256(e->cfg.crypto, k, sizeof k, &key);
    dataref **p = pu_hmap_get(e->data, key.b);
    if (p) {
        *out = *p;
        return PU_OK;
    }
    dataref *r = calloc(1, sizeof *r);
    if (!r)
        return PU_ERR_NOMEM;
    pu_err rc = pu_task_load_data(d, e->cfg.data_dirs, &r->train, &r->test);
    void *slot;
    if (rc == PU_OK)
        rc = pu_hmap_put(e->data, key.b, &slot, NULL);
    if (rc != PU_OK) {
        pu_dataset_free(r->train);
        pu_dataset_free(r->test);
        free(r);
        return rc;
    }
    *(dataref **)slot = r;
    *out = r;
    return PU_OK;
}

static pu_err load_data(pu_econ *e, taskrec *t)
{
    return t->data ? PU_OK : data_of(e, &t->def, &t->data);
}

pu_err pu_econ_preload(pu_econ *e, const pu_task *t)
{
    dataref *r;
    return data_of(e, t, &r);
}

static pu_err make_view(pu_econ *e, const tview *tv, pu_pouw_task_view *out)
{
    memset(out, 0, sizeof *out);
    pu_err rc = load_data(e, tv->task);
    if (rc != PU_OK)
        return rc;
    out->task = &tv->task->def;
    out->task_id = tv->task->id;
    out->active = tv->phase == PU_PHASE_TRAINING;
    out->n_miners = tv->sel ? tv->sel->n_seats[R_MINER] : 0;
    out->miner_pubs = tv->sel ? (const uint8_t (*)[33])tv->sel->miner_pubs : NULL;
    out->train = tv->task->data->train;
    out->test = tv->task->data->test;
    return PU_OK;
}

static pu_reason check_pouw(pu_econ *e, const pu_chain *ch, const pu_block *b)
{
    const pu_header *h = pu_block_header(b);
    mlverdict v;
    memset(&v, 0, sizeof v);
    v.reason = PU_POUW_UNKNOWN_TASK;
    tview tv;
    pu_pouw_task_view pv;
    if (view_task(e, ch, &h->ml_task_id, &tv) == PU_OK && tv.phase == PU_PHASE_TRAINING) {
        if (e->cfg.trust_ml_work)
            return PU_R_OK; /* econ.h: no check, no verdict */
        v.reason = PU_POUW_REASON_COUNT; /* not verifiable: no verifier, or a system failure */
        if (e->cfg.verifier && make_view(e, &tv, &pv) == PU_OK) {
            uint32_t len;
            const uint8_t *proof = pu_block_proof(b, &len);
            pu_pouw_reason why;
            if (pu_pouw_verify(e->cfg.verifier, pu_chain_params(ch), h, proof, len, &pv, &why,
                               &v.cost)
                == PU_OK)
                v.reason = why;
        }
    }
    void *slot;
    bool created;
    if (pu_hmap_put(e->ml, pu_block_hash(b)->b, &slot, &created) == PU_OK && created)
        memcpy(slot, &v, sizeof v); /* the first chain's, as econ.h promises */
    if (v.reason == PU_POUW_UNKNOWN_DATA && e->cfg.accept_unresolved_data)
        return PU_R_OK; /* an audit without the task's record: see econ.h */
    return v.reason == PU_POUW_OK ? PU_R_OK : PU_R_ML_WORK;
}

static pu_reason hook_check_block(void *ctx, const pu_chain *ch, const pu_block *b, uint32_t height)
{
    (void)height;
    pu_econ *e = ctx;
    pu_reason r = block_limits(e, ch, b);
    if (r == PU_R_OK && pu_header_is_pouw(pu_block_header(b)))
        r = check_pouw(e, ch, b);
    return r;
}

/* ---- lifetime ------------------------------------------------------------------- */

uint32_t pu_econ_miner_seats(const pu_econ *e, const pu_task *t)
{
    return e->cfg.miner_seats ? e->cfg.miner_seats : pu_task_required_miners(t);
}

void pu_econ_describe(const pu_econ *e, char *buf, size_t n)
{
    int k = snprintf(buf, n, "task_timeout_blocks=%u supervisor_seats=%u evaluator_seats=%u",
                     (unsigned)e->cfg.task_timeout_blocks, (unsigned)e->cfg.supervisor_seats,
                     (unsigned)e->cfg.evaluator_seats);
    if (e->cfg.miner_seats && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " miner_seats=%u", (unsigned)e->cfg.miner_seats);
}

pu_err pu_econ_config_parse(const char *text, pu_econ_config *cfg)
{
    static const char keys[][24] = {"task_timeout_blocks", "supervisor_seats", "evaluator_seats",
                                    "miner_seats"};
    uint32_t *slot[4] = {&cfg->task_timeout_blocks, &cfg->supervisor_seats, &cfg->evaluator_seats,
                         &cfg->miner_seats};
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t k = strcspn(p, "=");
        size_t i = 0;
        while (i < 4 && !(strlen(keys[i]) == k && !strncmp(keys[i], p, k)))
            i++;
        if (i == 4 || p[k] != '=')
            return PU_ERR_PARSE;
        p += k + 1;
        uint64_t v = 0;
        size_t digits = 0;
        for (; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++, digits++)
            v = v * 10 + (uint64_t)(*p - '0');
        if (!digits || v > UINT32_MAX || (*p && *p != ' '))
            return PU_ERR_PARSE;
        *slot[i] = (uint32_t)v;
    }
    return PU_OK;
}

pu_err pu_econ_new(const pu_econ_config *cfg, pu_econ **out)
{
    *out = NULL;
    if (!cfg || !cfg->crypto || !cfg->opret || cfg->supervisor_seats > PU_ECON_MAX_SEATS
        || cfg->evaluator_seats > PU_ECON_MAX_SEATS || cfg->miner_seats > PU_TASK_MAX_MINERS)
        return PU_ERR_RANGE;
    pu_econ *e = calloc(1, sizeof *e);
    if (!e)
        return PU_ERR_NOMEM;
    e->cfg = *cfg;
    if (!e->cfg.task_timeout_blocks)
        e->cfg.task_timeout_blocks = PU_ECON_DEFAULT_TIMEOUT;
    if (!e->cfg.supervisor_seats)
        e->cfg.supervisor_seats = 1;
    if (!e->cfg.evaluator_seats)
        e->cfg.evaluator_seats = 1;
    e->rules.check_tx = hook_check_tx;
    e->rules.check_block = hook_check_block;
    e->rules.ctx = e;
    pu_err rc = pu_hmap_new(32, sizeof(blockrec *), 256, &e->blocks);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(taskrec *), 16, &e->tasks);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, 32, 16, &e->idhash);
    if (rc == PU_OK)
        rc = pu_hmap_new(64, sizeof(selrec *), 16, &e->sels);
    if (rc == PU_OK)
        rc = pu_hmap_new(64, sizeof(prog), 64, &e->progs);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(dataref *), 4, &e->data);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(mlverdict), 64, &e->ml);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, 1, 64, &e->txv);
    if (rc != PU_OK) {
        pu_econ_free(e);
        return rc;
    }
    *out = e;
    return PU_OK;
}

void pu_econ_free(pu_econ *e)
{
    if (!e)
        return;
    size_t cur = 0;
    const void *k;
    void *v;
    while (e->blocks && pu_hmap_next(e->blocks, &cur, &k, &v)) {
        blockrec *r = *(blockrec **)v;
        free(r->ev);
        free(r);
    }
    for (cur = 0; e->tasks && pu_hmap_next(e->tasks, &cur, &k, &v);) {
        taskrec *t = *(taskrec **)v;
        free(t->occ);
        free(t);
    }
    for (cur = 0; e->sels && pu_hmap_next(e->sels, &cur, &k, &v);)
        selrec_free(*(selrec **)v);
    for (cur = 0; e->data && pu_hmap_next(e->data, &cur, &k, &v);) {
        dataref *d = *(dataref **)v;
        pu_dataset_free(d->train);
        pu_dataset_free(d->test);
        free(d);
    }
    pu_hmap_free(e->blocks);
    pu_hmap_free(e->tasks);
    pu_hmap_free(e->idhash);
    pu_hmap_free(e->sels);
    pu_hmap_free(e->progs);
    pu_hmap_free(e->data);
    pu_hmap_free(e->ml);
    pu_hmap_free(e->txv);
    free(e);
}

const pu_rules *pu_econ_rules(pu_econ *e) { return &e->rules; }

/* ---- queries ------------------------------------------------------------------------ */

pu_err pu_econ_task_state(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                          pu_task_state *out)
{
    memset(out, 0, sizeof *out);
    tview tv;
    pu_err rc = view_task(e, ch, task_id, &tv);
    if (rc != PU_OK)
        return rc;
    out->phase = tv.phase;
    out->def = tv.task->def;
    out->id = tv.task->id;
    out->submit_txid = tv.sub.txid;
    out->submit_height = tv.hs;
    out->close_height = tv.hc;
    out->client = tv.sub.owner;
    out->n_results = tv.pr.n_posted;
    out->n_votes = tv.pr.n_voted;
    for (uint32_t m = 0; m < PU_ECON_MAX_SEATS; m++) {
        out->anchored[m] = tv.pr.anchored[m];
        memcpy(out->anchor[m], tv.pr.anchor[m], 8);
        out->anchor_iters[m] = tv.pr.anchor_iters[m];
        out->proven[m] = tv.pr.proven[m];
        out->shares[m] = tv.pr.shares[m];
    }
    out->n_tickets = tv.sel ? (uint32_t)tv.sel->n_tk : tv.pr.n_tickets;
    for (uint32_t r = 0; tv.sel && r < PU_TASK_N_ROLES; r++) {
        out->n_seats[r] = tv.sel->n_seats[r];
        for (uint32_t k = 0; k < tv.sel->n_seats[r]; k++)
            out->seat[r][k] = tv.sel->tk[tv.sel->seat_tk[r][k]].w;
    }
    return PU_OK;
}

pu_err pu_econ_task_view(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id,
                         pu_pouw_task_view *out)
{
    memset(out, 0, sizeof *out);
    tview tv;
    pu_err rc = view_task(e, ch, task_id, &tv);
    return rc == PU_OK ? make_view(e, &tv, out) : rc;
}

bool pu_econ_ml_verdict(const pu_econ *e, const pu_hash32 *block_hash, pu_pouw_reason *why,
                        pu_pouw_cost *cost)
{
    const mlverdict *v = pu_hmap_get(e->ml, block_hash->b);
    if (!v)
        return false;
    if (why)
        *why = (pu_pouw_reason)v->reason;
    if (cost)
        *cost = v->cost;
    return true;
}

bool pu_econ_tx_verdict(const pu_econ *e, const pu_hash32 *txid, pu_econ_reason *why)
{
    const uint8_t *v = pu_hmap_get(e->txv, txid->b);
    if (v && why)
        *why = (pu_econ_reason)*v;
    return v != NULL;
}

const char *pu_econ_reason_str(pu_econ_reason r)
{
    static const char names[PU_ECON_REASON_COUNT][16] = {
        "ok",       "record",   "no-task",   "phase",        "not-seated",
        "repeated", "field",    "fee",       "stake",        "no-model",
        "false-result", "not-proven", "already-proven", "settlement",
    };
    return r < PU_ECON_REASON_COUNT ? names[r] : "unknown";
}

typedef struct listed {
    uint32_t height, pos;
    pu_hash32 id;
} listed;

static int listed_cmp(const void *a, const void *b)
{
    const listed *x = a, *y = b;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

size_t pu_econ_tasks(pu_econ *e, const pu_chain *ch, pu_task_phase phase, pu_hash32 *out, size_t max)
{
    if (phase == PU_PHASE_NONE || ensure_indexed(e, ch) != PU_OK)
        return 0;
    size_t n = 0, cur = 0, cnt = pu_hmap_count(e->tasks);
    const void *k;
    void *v;
    listed *l = malloc((cnt ? cnt : 1) * sizeof *l);
    if (!l)
        return 0;
    while (pu_hmap_next(e->tasks, &cur, &k, &v)) { /* collect first: queries insert elsewhere */
        const taskrec *t = *(taskrec **)v;
        const occ *o = find_sub(ch, t);
        if (o)
            l[n++] = (listed){o->height, o->pos, t->id};
    }
    qsort(l, n, sizeof *l, listed_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n && w < max; i++) {
        tview tv;
        if (view_task(e, ch, &l[i].id, &tv) == PU_OK && tv.phase == phase)
            out[w++] = l[i].id;
    }
    free(l);
    return w;
}

/* ---- builders ---------------------------------------------------------------------- */

/* Inputs, optional change, body, record, signatures. */
static pu_err build_signed(pu_econ *e, pu_tx_kind kind, const pu_econ_inputs *in, pu_amount locked,
                           const uint8_t *body, uint32_t body_len, pu_opret_msg *m, pu_tx **out)
{
    *out = NULL;
    if (!in || !in->key || in->n == 0 || in->n > UINT32_MAX || !pu_amount_valid(in->fee))
        return PU_ERR_RANGE;
    pu_amount sum = 0, need;
    for (size_t i = 0; i < in->n; i++)
        if (pu_amount_add(sum, in->amounts[i], &sum) != PU_OK)
            return PU_ERR_RANGE;
    if (pu_amount_add(locked, in->fee, &need) != PU_OK || need > sum)
        return PU_ERR_RANGE;
    pu_amount change = sum - need;
    if (kind == PU_TX_PAYMENT && change == 0)
        return PU_ERR_RANGE;
    msg_header(e, m, in->key->pub, in->timestamp);
    uint8_t rec[PU_OPRET_SIZE];
    pu_tx *tx = NULL;
    pu_err rc = pu_opret_encode(e->cfg.opret, m, rec);
    if (rc == PU_OK)
        rc = pu_tx_new(kind, (uint32_t)in->n, change > 0, body_len, &tx);
    if (rc != PU_OK)
        return rc;
    for (size_t i = 0; i < in->n; i++)
        pu_tx_in_mut(tx, (uint32_t)i)->prev = in->ops[i];
    if (change > 0) {
        pu_tx_out_mut(tx, 0)->amount = change;
        pu_tx_out_mut(tx, 0)->addr = in->key->addr;
    }
    if (body_len)
        memcpy(pu_tx_body_mut(tx), body, body_len);
    pu_tx_set_opret(tx, rec);
    pu_tx_set_timestamp(tx, in->timestamp);
    const pu_keypair *k = in->key;
    rc = pu_tx_sign_all(e->cfg.crypto, tx, &k, 1);
    if (rc == PU_OK)
        rc = pu_tx_finalize(e->cfg.crypto, tx);
    if (rc != PU_OK) {
        pu_tx_unref(tx);
        return rc;
    }
    *out = tx;
    return PU_OK;
}

pu_err pu_econ_pay_for_task(pu_econ *e, const pu_task *t, const pu_econ_inputs *in, pu_tx **out)
{
    *out = NULL;
    uint8_t body[PU_TASK_ENCODED_LEN];
    pu_hash32 id;
    pu_opret_msg m;
    pu_err rc = pu_task_encode(t, body);
    if (rc == PU_OK)
        rc = pu_task_id(t, e->cfg.crypto, &id);
    if (rc == PU_OK && in && in->key)
        rc = submission_msg(e, t, &id, in->key->pub, in->timestamp, &m);
    if (rc != PU_OK)
        return rc;
    return build_signed(e, PU_TX_PAY_FOR_TASK, in, t->fee, body, sizeof body, &m, out);
}

pu_err pu_econ_buy_tickets(pu_econ *e, const pu_hash32 *task_id, pu_role role, pu_amount stake,
                           const pu_econ_inputs *in, pu_tx **out)
{
    *out = NULL;
    if (role < PU_ROLE_MINER || role > PU_ROLE_VERIFIER || stake <= 0 || !pu_amount_valid(stake)
        || !in || !in->key)
        return PU_ERR_RANGE;
    pu_tickets tk = {(uint8_t)role, stake, *task_id};
    uint8_t body[PU_TICKETS_BODY_SIZE];
    pu_tickets_encode(&tk, body);
    pu_opret_msg m;
    registration_msg(e, &tk, in->key->pub, in->timestamp, &m);
    return build_signed(e, PU_TX_BUY_TICKETS, in, stake, body, sizeof body, &m, out);
}

pu_err pu_econ_task_result(pu_econ *e, const pu_hash32 *task_id, const uint32_t *accuracy_ppm,
                           uint32_t n_miners, const pu_hash32 *best_model, uint32_t iterations_run,
                           const pu_econ_inputs *in, pu_tx **out)
{
    *out = NULL;
    taskrec **tp = pu_hmap_get(e->tasks, task_id->b);
    if (!tp)
        return PU_ERR_NOTFOUND;
    if (n_miners > PU_OPRET_MAX_RANKED)
        return PU_ERR_RANGE;
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_TASK_RESULT);
    m.task_id_hash = (*tp)->idhash;
    if (best_model)
        memcpy(m.result.model_hash, best_model->b, PU_OPRET_PREFIX);
    m.result.test_samples = (*tp)->def.test_size;
    m.result.iterations_run = iterations_run;
    for (uint32_t i = 0; i < n_miners; i++) { /* insertion: accuracy down, index up */
        if (accuracy_ppm[i] == UINT32_MAX)
            continue;
        if (accuracy_ppm[i] > PPM)
            return PU_ERR_RANGE;
        pu_opret_rank x = {(uint8_t)i, accuracy_ppm[i]};
        uint32_t j = m.result.n_ranked++;
        while (j > 0 && m.result.ranked[j - 1].accuracy_ppm < x.accuracy_ppm) {
            m.result.ranked[j] = m.result.ranked[j - 1];
            j--;
        }
        m.result.ranked[j] = x;
    }
    return build_signed(e, PU_TX_PAYMENT, in, 0, NULL, 0, &m, out);
}

pu_err pu_econ_record(pu_econ *e, const pu_hash32 *task_id, const pu_opret_msg *m,
                      const pu_econ_inputs *in, pu_tx **out)
{
    *out = NULL;
    if (m->op != PU_OPRET_CONSENSUS_VOTE && m->op != PU_OPRET_GRADIENT_SHARE
        && m->op != PU_OPRET_VERIFICATION_PROOF && m->op != PU_OPRET_NETWORK_STATE)
        return PU_ERR_RANGE;
    pu_opret_msg r = *m;
    memset(r.task_id_hash.b, 0, 32);
    if (task_id)
        pu_opret_task_id_hash(e->cfg.crypto, task_id, &r.task_id_hash);
    return build_signed(e, PU_TX_PAYMENT, in, 0, NULL, 0, &r, out);
}

pu_err pu_econ_evidence(pu_econ *e, const pu_hash32 *task_id, const pu_pouw_finding *f,
                        const uint8_t *body, size_t len, const pu_econ_inputs *in, pu_tx **out)
{
    *out = NULL;
    if (!len || len > PU_TX_MAX_SIZE || f->reason >= PU_POUW_REASON_COUNT || f->reason == PU_POUW_OK)
        return PU_ERR_RANGE;
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_CONSENSUS_VOTE);
    pu_opret_task_id_hash(e->cfg.crypto, task_id, &m.task_id_hash);
    m.vote.epoch = f->miner_index;
    m.vote.iteration = f->seq;
    m.vote.subject = PU_OPRET_SUBJ_MISCONDUCT;
    memcpy(m.vote.subject_hash, f->object.b, PU_OPRET_PREFIX);
    m.vote.vote = PU_OPRET_VOTE_NO;
    m.vote.reason = (uint8_t)f->reason;
    return build_signed(e, PU_TX_EVIDENCE, in, 0, body, (uint32_t)len, &m, out);
}

pu_err pu_econ_settlement(pu_econ *e, const pu_chain *ch, const pu_hash32 *task_id, pu_tx **out)
{
    *out = NULL;
    tview tv;
    pu_err rc = view_task(e, ch, task_id, &tv);
    if (rc != PU_OK)
        return rc;
    if (tv.phase != PU_PHASE_FINALISATION)
        return PU_ERR_STATE;
    plan p;
    if ((rc = make_plan(e, ch, &tv, &p)) != PU_OK)
        return rc;
    uint8_t rec[PU_OPRET_SIZE];
    pu_tx *tx = NULL;
    rc = pu_opret_encode(e->cfg.opret, &p.msg, rec);
    if (rc == PU_OK)
        rc = pu_tx_new(PU_TX_SETTLEMENT, p.n_in, p.n_out, p.body_len, &tx);
    if (rc == PU_OK) {
        for (uint32_t i = 0; i < p.n_in; i++)
            pu_tx_in_mut(tx, i)->prev = p.in[i]; /* key and signature stay zero */
        for (uint32_t i = 0; i < p.n_out; i++) {
            pu_tx_out_mut(tx, i)->amount = p.out[i].amount;
            pu_tx_out_mut(tx, i)->addr = p.out[i].addr;
        }
        memcpy(pu_tx_body_mut(tx), p.body, p.body_len);
        pu_tx_set_opret(tx, rec);
        pu_tx_set_timestamp(tx, p.timestamp);
        rc = pu_tx_finalize(e->cfg.crypto, tx);
    }
    plan_release(&p);
    if (rc != PU_OK) {
        pu_tx_unref(tx);
        return rc;
    }
    *out = tx;
    return PU_OK;
}

/* sim/pouw_audit.c -- the duties of supervisors and verifier seats.
 *
 * Supervisors record every iteration message of their task group and audit
 * each miner's history by re-executing it: a replica of the miner's model
 * and residual starts from the task's initial state and advances one
 * message at a time (pu_pouw_iterate with the peer updates the message
 * names).  A message whose start is not where the previous one ended is
 * reported with HISTORY evidence (seq 0: MESSAGE evidence against the
 * initial state); one whose re-execution differs (batch, end state, update,
 * metrics) with MESSAGE evidence, after the supervisor put the start state
 * it replayed into the task's record so that every node can re-execute it.
 * Once every miner's final message is audited (or a timer ran out) the
 * supervisor posts its audit vote (CONSENSUS_VOTE, subject ITERATION: yes,
 * or no with the first misconduct found).  A supervisor's CPU is not
 * charged for the replay (its node's validation CPU is).
 *
 * Verifier seats attest every PoUW block of their task their node checks
 * (VERIFICATION_PROOF), and post BLOCK evidence for a refused block whose
 * failure is the signer's (pu_pouw_reason_slashable). */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

static void replica_release(pw_replica *r)
{
    pu_ml_model_free(r->model);
    pu_ml_model_free(r->model_next);
    pu_ml_resid_free(r->resid);
    pu_ml_resid_free(r->resid_next);
    pu_ml_update_free(r->update);
}

void pw_audits_free(pw_task *t)
{
    for (uint32_t i = 0; t->audits && i < t->n_audits; i++) {
        pw_audit *a = &t->audits[i];
        for (uint32_t m = 0; a->rep && m < t->n_miners; m++)
            replica_release(&a->rep[m]);
        free(a->rep);
        free(a->ids);
    }
    free(t->audits);
    t->audits = NULL;
    t->n_audits = 0;
}

static pu_err replica_init(const pw_task *t, pw_replica *r)
{
    pu_ml_arch arch;
    pu_task_arch(&t->def, &arch);
    bool mom = t->def.momentum_e9 != 0;
    pu_err rc = pu_ml_model_new(&arch, mom, &r->model);
    if (rc == PU_OK) rc = pu_ml_model_new(&arch, mom, &r->model_next);
    if (rc == PU_OK) rc = pu_ml_resid_new(t->nparams, &r->resid);
    if (rc == PU_OK) rc = pu_ml_resid_new(t->nparams, &r->resid_next);
    if (rc == PU_OK) rc = pu_ml_update_new(&r->update);
    if (rc == PU_OK)
        pu_ml_model_init(r->model, t->def.task_seed);
    r->final_iters = UINT32_MAX;
    return rc;
}

static pw_audit *audit_of(const pw_task *t, uint32_t worker)
{
    for (uint32_t i = 0; i < t->n_audits; i++)
        if (t->audits[i].worker == worker)
            return &t->audits[i];
    return NULL;
}

/* A supervisor engaged in t starts its audit at the first message it gets
 * (the miners' seats are known then); only a seated one votes. */
static void pw_audit_begin(sim_ctx *ctx, pw_task *t, uint32_t wi)
{
    pw_audit *n = realloc(t->audits, (t->n_audits + 1) * sizeof *n);
    if (!n) {
        sim_fail(ctx, PU_ERR_NOMEM, "audit");
        return;
    }
    t->audits = n;
    pw_audit *a = &t->audits[t->n_audits++];
    memset(a, 0, sizeof *a);
    a->worker = wi;
    a->rep = calloc(t->n_miners ? t->n_miners : 1, sizeof *a->rep);
    pu_err rc = a->rep ? PU_OK : PU_ERR_NOMEM;
    for (uint32_t m = 0; rc == PU_OK && m < t->n_miners; m++)
        rc = replica_init(t, &a->rep[m]);
    if (rc != PU_OK)
        sim_fail(ctx, rc, "audit");
}

static pu_err push_id(pw_audit *a, const pu_hash32 *id)
{
    if (a->n_ids == a->cap_ids) {
        uint32_t cap = a->cap_ids ? 2 * a->cap_ids : 64;
        pu_hash32 *n = realloc(a->ids, cap * sizeof *n);
        if (!n)
            return PU_ERR_NOMEM;
        a->ids = n;
        a->cap_ids = cap;
    }
    a->ids[a->n_ids++] = *id;
    return PU_OK;
}

/* Report what the replay found: the evidence, then no further audit of
 * this miner (its later messages build on what is proven wrong). */
static void report(sim_ctx *ctx, pw_worker *w, pw_task *t, pw_audit *a, pw_replica *r,
                   uint8_t *body, size_t len)
{
    sim_pouw *pw = ctx->pouw;
    pu_pouw_task_view view;
    pu_pouw_finding f;
    r->stopped = true;
    if (pu_econ_task_view(pw->econ, ctx->nodes[w->node].chain, &t->id, &view) == PU_OK
        && pu_pouw_evidence_check(pw->verifier, &ctx->cp, &view, body, len, &f) == PU_OK && f.proven) {
        if (!a->found)
            a->found = (uint8_t)f.reason;
        PU_IGNORE(pw_post_evidence(ctx, w, t, &f, body, len));
    }
    free(body);
}

/* The supervisor's view of the task's data (the same as the miners'). */
static bool task_view(sim_ctx *ctx, const pw_worker *w, const pw_task *t, pu_pouw_task_view *v)
{
    return pu_econ_task_view(ctx->pouw->econ, ctx->nodes[w->node].chain, &t->id, v) == PU_OK
           && v->train != NULL;
}

/* Evidence against a message whose start is not the replica's state: the
 * initial state (seq 0) or the previous message's end. */
static void report_start(sim_ctx *ctx, pw_worker *w, pw_task *t, pw_audit *a, pw_replica *r,
                         const pu_iter_msg *m)
{
    uint8_t *body = NULL;
    size_t len = 0;
    pu_err rc = PU_OK;
    if (m->seq == 0)
        rc = pu_pouw_evidence_message(m, &body, &len);
    else if (r->have_last)
        rc = pu_pouw_evidence_history(&r->last, m, &body, &len);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "evidence");
        return;
    }
    r->stopped = true;
    if (body)
        report(ctx, w, t, a, r, body, len);
}

/* Evidence against a message whose re-execution differs: the start it
 * names (the replica's state) goes into the record first, so that every
 * node can re-execute it. */
static void report_reexec(sim_ctx *ctx, pw_worker *w, pw_task *t, pw_audit *a, pw_replica *r,
                          const pu_iter_msg *m)
{
    sim_pouw *pw = ctx->pouw;
    uint8_t *body = NULL;
    size_t len = 0;
    pu_err rc = pu_pouw_store_put_model(pw->store, ctx->crypto, t->ws, r->model, NULL);
    if (rc == PU_OK) rc = pu_pouw_store_put_resid(pw->store, ctx->crypto, t->ws, r->resid, NULL);
    if (rc == PU_OK) rc = pu_pouw_evidence_message(m, &body, &len);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "evidence");
        return;
    }
    report(ctx, w, t, a, r, body, len);
}

static bool same_step(const pu_iter_msg *x, const pu_iter_msg *m)
{
    return pu_hash_eq(&x->batch_hash, &m->batch_hash) && x->epoch == m->epoch && x->iter == m->iter
           && x->batch_n == m->batch_n && pu_hash_eq(&x->model_end, &m->model_end)
           && pu_hash_eq(&x->resid_end, &m->resid_end) && pu_hash_eq(&x->update_hash, &m->update_hash)
           && x->update_count == m->update_count && x->loss_e9 == m->loss_e9
           && x->correct == m->correct && x->lr_e9 == m->lr_e9;
}

/* Audit message m of miner r: its start, then its re-execution. */
static void audit_one(sim_ctx *ctx, pw_worker *w, pw_task *t, pw_audit *a, pw_replica *r,
                      const pu_iter_msg *m)
{
    sim_pouw *pw = ctx->pouw;
    pu_hash32 h0, r0, id;
    pu_pouw_task_view view;
    pu_err rc = PU_OK;
    if (r->have_last) { /* the state the last audited step ended in, hashed by it */
        h0 = r->last.model_end;
        r0 = r->last.resid_end;
    } else {
        rc = pu_ml_model_hash(r->model, ctx->crypto, t->ws, &h0);
        if (rc == PU_OK) rc = pu_ml_resid_hash(r->resid, ctx->crypto, t->ws, &r0);
    }
    if (rc == PU_OK) rc = pu_iter_msg_id(ctx->crypto, m, &id);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "audit");
        return;
    }
    if (!pu_hash_eq(&h0, &m->model_start) || !pu_hash_eq(&r0, &m->resid_start)) {
        report_start(ctx, w, t, a, r, m);
        return;
    }
    const pu_ml_update *peers[PU_POUW_MAX_PEERS];
    for (uint32_t i = 0; i < m->n_peers && i < PU_POUW_MAX_PEERS; i++)
        if (!(peers[i] = pu_pouw_store_update(pw->store, &m->peers[i].update_hash))) {
            r->stopped = true; /* an input nobody can resolve: nothing provable */
            return;
        }
    if (m->n_peers > PU_POUW_MAX_PEERS || !task_view(ctx, w, t, &view)) {
        r->stopped = true;
        return;
    }
    pu_iter_msg x;
    memset(&x, 0, sizeof x);
    rc = pu_pouw_iterate_known(ctx->crypto, t->ws, &view, m->miner_index, m->seq, r->model, &h0, r->resid,
                               &r0, peers, m->peers, m->n_peers, r->model_next, r->resid_next, r->update,
                               &x);
    if (rc != PU_OK || !same_step(&x, m)) {
        report_reexec(ctx, w, t, a, r, m);
        return;
    }
    if (push_id(a, &id) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "audit");
        return;
    }
    pu_ml_model *tm = r->model;
    r->model = r->model_next;
    r->model_next = tm;
    pu_ml_resid *tr = r->resid;
    r->resid = r->resid_next;
    r->resid_next = tr;
    r->last = *m;
    r->have_last = true;
    r->next_seq++;
}

/* Audit m if it is next, then every held message that follows it. */
static void take(sim_ctx *ctx, pw_worker *w, pw_task *t, pw_audit *a, pw_replica *r, const pu_iter_msg *m)
{
    if (r->stopped || m->seq < r->next_seq)
        return;
    if (m->seq > r->next_seq) {
        if (r->n_held == PW_HOLD)
            r->stopped = true; /* a gap that does not fill: the record is incomplete */
        else
            r->held[r->n_held++] = *m;
        return;
    }
    audit_one(ctx, w, t, a, r, m);
    for (bool more = true; more && !r->stopped;) {
        more = false;
        for (uint32_t i = 0; i < r->n_held; i++)
            if (r->held[i].seq == r->next_seq) {
                pu_iter_msg h = r->held[i];
                r->held[i] = r->held[--r->n_held];
                audit_one(ctx, w, t, a, r, &h);
                more = true;
                break;
            }
    }
}

void pw_audit_message(sim_ctx *ctx, pw_worker *w, const pw_payload *pl)
{
    sim_pouw *pw = ctx->pouw;
    pw_task *t = &pw->tasks[pl->task];
    if (pw_task_of(pw, w) != t || !t->miners || pl->miner_index >= t->n_miners)
        return;
    uint32_t wi = (uint32_t)(w - pw->workers);
    pw_audit *a = audit_of(t, wi);
    if (!a) {
        pw_audit_begin(ctx, t, wi);
        if (!(a = audit_of(t, wi)))
            return;
    }
    pw_replica *r = &a->rep[pl->miner_index];
    if (pl->kind == PW_TM_ITER) {
        take(ctx, w, t, a, r, &pl->msg);
    } else {
        r->final_iters = pl->iterations;
        if (!a->vote_scheduled) { /* do not wait forever for a silent miner */
            a->vote_scheduled = true;
            PU_IGNORE(sim_schedule(ctx, ctx->now + pw_patience(ctx, t), SIM_EV_POUW, w->node,
                                   PW_EV_ARG(PW_EV_VOTE, 0, pl->task), NULL, NULL));
        }
    }
    pw_audit_vote(ctx, w, t, false);
}

void pw_audit_vote(sim_ctx *ctx, pw_worker *w, pw_task *t, bool timer)
{
    sim_pouw *pw = ctx->pouw;
    pw_audit *a = audit_of(t, (uint32_t)(w - pw->workers));
    if (!a || a->voted)
        return;
    bool done = true;
    for (uint32_t m = 0; m < t->n_miners; m++) {
        const pw_replica *r = &a->rep[m];
        done &= r->stopped || (r->final_iters != UINT32_MAX && r->next_seq >= r->final_iters);
    }
    if (!(done || timer || a->timed_out) || !pw_seated(ctx, w, t, PU_TASK_ROLE_SUPERVISOR))
        return;
    a->timed_out |= timer;
    pu_hash32 root;
    if (pu_merkle_root(ctx->crypto, a->ids, a->n_ids, &root) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "audit root");
        return;
    }
    pu_opret_msg v;
    pu_opret_msg_init(&v, PU_OPRET_CONSENSUS_VOTE);
    v.vote.epoch = t->n_miners;
    v.vote.iteration = a->n_ids;
    v.vote.subject = PU_OPRET_SUBJ_ITERATION;
    memcpy(v.vote.subject_hash, root.b, PU_OPRET_PREFIX);
    uint8_t found = a->found; /* what it reports (a cheat's may differ: pouw_adv.c) */
    const sim_pouw_cheat *ch = pw_cheat_of(pw, w->node);
    if (ch && ch->vote)
        ch->vote(ch->self, ctx, w->node, &found);
    v.vote.vote = found ? PU_OPRET_VOTE_NO : PU_OPRET_VOTE_YES;
    v.vote.reason = found;
    a->voted = pw_post_record(ctx, w, t, &v); /* no free coin: again at the next tip */
}

/* ---- verifier seats ------------------------------------------------------------------- */

static uint8_t outcome_of(int reason)
{
    switch (reason) {
    case PU_POUW_OK: return PU_OPRET_VERIFY_OK;
    case PU_POUW_UNKNOWN_DATA: return PU_OPRET_VERIFY_UNKNOWN_DATA;
    case PU_POUW_REEXEC_MISMATCH:
    case PU_POUW_METRICS_MISMATCH:
    case PU_POUW_BELOW_THRESHOLD: return PU_OPRET_VERIFY_BAD_REEXEC;
    default: return PU_OPRET_VERIFY_MALFORMED;
    }
}

void pw_attest(sim_ctx *ctx, pw_worker *w, pw_task *t, const pu_block *b, int reason)
{
    sim_pouw *pw = ctx->pouw;
    const pu_chain *ch = ctx->nodes[w->node].chain;
    uint32_t plen, height = 0;
    const uint8_t *proof = pu_block_proof(b, &plen);
    pu_pouw_proof pr;
    pu_task_state st;
    if (!pw_seated(ctx, w, t, PU_TASK_ROLE_VERIFIER) || pu_econ_task_state(pw->econ, ch, &t->id, &st) != PU_OK
        || !pu_chain_get(ch, &pu_block_header(b)->prev, &height, NULL))
        return;
    pu_opret_msg v;
    pu_opret_msg_init(&v, PU_OPRET_VERIFICATION_PROOF);
    bool decoded = pu_pouw_proof_decode(proof, plen, &pr) == PU_OK;
    v.proof.height = height + 1;
    memcpy(v.proof.block_hash, pu_block_hash(b)->b, PU_OPRET_PREFIX);
    v.proof.outcome = outcome_of(reason);
    v.proof.iteration = decoded ? pr.msg.seq : 0;
    if (decoded)
        memcpy(v.proof.end_model_hash, pr.msg.model_end.b, PU_OPRET_PREFIX);
    v.proof.reexec_us = (uint32_t)(t->verify_ns / 1000 > UINT32_MAX ? UINT32_MAX : t->verify_ns / 1000);
    uint32_t mi = decoded ? pr.msg.miner_index : PU_ECON_MAX_SEATS;
    if (decoded)
        pu_pouw_proof_release(&pr);
    PU_IGNORE(pw_post_record(ctx, w, t, &v)); /* an attestation that finds no coin is skipped */
    if (reason == PU_POUW_OK || !pu_pouw_reason_slashable((pu_pouw_reason)reason)
        || (mi < PU_ECON_MAX_SEATS && st.proven[mi]))
        return;
    uint8_t *body = NULL;
    size_t len = 0;
    pu_pouw_task_view view;
    pu_pouw_finding f;
    if (pu_pouw_evidence_block(pu_block_header(b), proof, plen, &body, &len) == PU_OK
        && pu_econ_task_view(pw->econ, ch, &t->id, &view) == PU_OK
        && pu_pouw_evidence_check(pw->verifier, &ctx->cp, &view, body, len, &f) == PU_OK && f.proven)
        PU_IGNORE(pw_post_evidence(ctx, w, t, &f, body, len));
    free(body);
}

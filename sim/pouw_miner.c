/* sim/pouw_miner.c -- the seated miners of a task: data-parallel training
 * (PROTOCOL.md s5 item 3), iteration messages to the task group, committed
 * templates and PoUW blocks from each iteration's nonces, final models to
 * the evaluators. */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

static pu_err miner_init(sim_ctx *ctx, const pw_task *t, pw_miner *m)
{
    pu_ml_arch arch;
    pu_task_arch(&t->def, &arch);
    bool mom = t->def.momentum_e9 != 0;
    uint32_t k1 = ctx->pouw->k1;
    pu_err rc = pu_ml_model_new(&arch, mom, &m->model);
    if (rc == PU_OK) rc = pu_ml_model_new(&arch, mom, &m->model_next);
    if (rc == PU_OK) rc = pu_ml_resid_new(t->nparams, &m->resid);
    if (rc == PU_OK) rc = pu_ml_resid_new(t->nparams, &m->resid_next);
    if (rc == PU_OK) rc = pu_ml_update_new(&m->update);
    if (rc == PU_OK) {
        m->ring = calloc(k1, sizeof *m->ring);
        m->slots = calloc(k1, sizeof *m->slots);
        m->correct = calloc(t->def.max_iterations, sizeof *m->correct);
        rc = m->ring && m->slots && m->correct ? PU_OK : PU_ERR_NOMEM;
    }
    if (rc == PU_OK)
        pu_ml_model_init(m->model, t->def.task_seed); /* every miner starts from the task's model */
    return rc;
}

static void miner_release(const sim_pouw *pw, pw_miner *m)
{
    pu_ml_model_free(m->model);
    pu_ml_model_free(m->model_next);
    pu_ml_resid_free(m->resid);
    pu_ml_resid_free(m->resid_next);
    pu_ml_update_free(m->update);
    free(m->hist);
    free(m->ring);
    free(m->correct);
    if (m->slots)
        for (uint32_t i = 0; i < pw->k1; i++)
            pu_block_unref(m->slots[i].draft);
    free(m->slots);
}

void pw_miners_free(const sim_pouw *pw, pw_task *t)
{
    for (uint32_t i = 0; t->miners && i < PU_ECON_MAX_SEATS; i++)
        miner_release(pw, &t->miners[i]);
    free(t->miners);
    t->miners = NULL;
}

void pw_send_task(sim_ctx *ctx, uint32_t from, uint32_t to, const pw_payload *pl, uint64_t bytes)
{
    sim_msg *m = calloc(1, sizeof *m);
    pw_payload *copy = malloc(sizeof *copy);
    if (!m || !copy) {
        free(m);
        free(copy);
        sim_fail(ctx, PU_ERR_NOMEM, "task message");
        return;
    }
    *copy = *pl;
    m->kind = SIM_MSG_TASK;
    m->from = from;
    m->to = to;
    m->sent_ns = ctx->now;
    m->items = copy;
    m->size = SIM_MSG_HEADER + bytes;
    sim_node_send(ctx, m);
}

/* The task group: the other seated miners and the task's supervisors.
 * A fork of the closing block can leave this worker in another seat's
 * slot as well (the seat another branch gave it, until that seat's worker
 * claims it): not a peer, and a node does not send to itself. */
static void broadcast_iteration(sim_ctx *ctx, const pw_task *t, const pw_miner *m, const pw_payload *pl,
                                uint64_t bytes)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t from = pw->workers[m->worker].node;
    for (uint32_t i = 0; i < t->n_miners; i++)
        if (i != m->index && t->miners[i].worker != PW_NONE && t->miners[i].worker != m->worker)
            pw_send_task(ctx, from, pw->workers[t->miners[i].worker].node, pl, bytes);
    for (uint32_t i = 0; i < pw->n_workers; i++)
        if (pw->workers[i].role == PU_ROLE_SUPERVISOR && pw_task_of(pw, &pw->workers[i]) == t)
            pw_send_task(ctx, from, pw->workers[i].node, pl, bytes);
}

/* Build slot sl's template on nd's tip now (the proof it will carry at
 * seq + k: two iteration messages, seq + k + 1 history ids, the block
 * signature). */
static void build_template(sim_ctx *ctx, sim_node *nd, const pw_miner *m, pw_commit *sl)
{
    sim_pouw *pw = ctx->pouw;
    pu_block_unref(sl->draft);
    sl->draft = NULL;
    pu_tx *extra[4];
    size_t ne = ctx->ask.block_extras(ctx->ask.self, ctx, nd, extra, 4);
    pu_block *b = NULL;
    pu_addr addr = pw->workers[m->worker].key.addr;
    /* the proof at seq + k: two iteration messages, seq + k + 1 history ids
     * and the block signature */
    size_t proof_room = 1 + 8 + 2 * (437 + 64 * PU_POUW_MAX_PEERS) + 4
                        + 32 * ((size_t)m->seq + pw->k + 1) + 64;
    pu_err rc = pu_chain_create_template(nd->chain, extra, ne, proof_room, &addr, sim_now_s(ctx), &b);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pouw template");
        return;
    }
    pu_header_zero_nonce_hash(ctx->crypto, pu_block_header(b), &sl->zn);
    sl->tip = *pu_chain_tip_hash(nd->chain);
    sl->draft = b;
}

/* Commit now to the template this miner will mine with k iterations later. */
static void commit_template(sim_ctx *ctx, sim_node *nd, pw_miner *m, pu_iter_msg *msg)
{
    pw_commit *sl = &m->slots[m->seq % ctx->pouw->k1];
    build_template(ctx, nd, m, sl);
    msg->commit = sl->zn;
}

/* A cheat's template: built now on the tip, not the one committed (the
 * header then still claims the commitment, and its recomputed zero-nonce
 * hash differs: BAD_COMMITMENT).  A template equal to the committed one
 * would be no cheat: none is mined then. */
static void fresh_template(sim_ctx *ctx, sim_node *nd, const pw_miner *m, pw_commit *sl)
{
    pu_hash32 committed = sl->zn;
    build_template(ctx, nd, m, sl);
    if (sl->draft && pu_hash_eq(&sl->zn, &committed)) {
        pu_block_unref(sl->draft);
        sl->draft = NULL;
    }
}

/* Try the iteration's nonces on the template committed k iterations ago. */
static void try_mine(sim_ctx *ctx, sim_node *nd, pw_task *t, pw_miner *m, const pu_iter_msg *msg,
                     const pu_hash32 *msg_id)
{
    sim_pouw *pw = ctx->pouw;
    /* An honest miner does not sign a block its batch accuracy cannot carry
     * (it would be refused, and the signed block would prove it). */
    if (m->seq < pw->k || msg->correct < pu_task_min_correct(&t->def, msg->seq, msg->batch_n))
        return;
    pw_commit *sl = &m->slots[(m->seq - pw->k) % pw->k1];
    uint64_t a = pu_pouw_nonce_count(&ctx->cp, &t->def, msg->batch_n), first = 0;
    bool fresh = false;
    const sim_pouw_cheat *ch = pw_cheat_of(pw, nd->id);
    if (ch && ch->mine)
        ch->mine(ch->self, ctx, nd->id, a, &first, &fresh);
    if (fresh)
        fresh_template(ctx, nd, m, sl);
    else if (!sl->draft || !pu_hash_eq(&sl->tip, pu_chain_tip_hash(nd->chain)))
        return; /* a new tip invalidated the commitment */
    if (!sl->draft)
        return;
    const pu_iter_msg *cmsg = &m->ring[(m->seq - pw->k) % pw->k1];
    pu_header h = *pu_block_header(sl->draft);
    h.ml_task_id = t->id;
    if (pu_merkle_root(ctx->crypto, m->hist, m->n_hist, &h.msg_history) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "history root");
        return;
    }
    h.iter_msg = *msg_id;
    h.zero_nonce = cmsg->commit; /* what the header claims: the commitment */
    uint64_t base = pu_pouw_nonce_base(ctx->crypto, &msg->model_end, &msg->update_hash);
    bool found = false;
    for (uint64_t j = 0; j < a && !found; j++) {
        pu_hash32 hh;
        h.nonce = base + first + j;
        pu_header_hash(ctx->crypto, &h, &hh);
        found = pu_hash_meets_bits(&hh, h.bits);
    }
    if (!found)
        return;
    /* Verifiers resolve the iteration's inputs from the task record. */
    pu_hash32 hm, hr;
    pu_err rc = pu_pouw_store_put_model(pw->store, ctx->crypto, t->ws, m->model, &hm);
    if (rc == PU_OK)
        rc = pu_pouw_store_put_resid(pw->store, ctx->crypto, t->ws, m->resid, &hr);
    pu_pouw_proof proof = {*msg, *cmsg, m->n_hist, m->hist, {0}};
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == PU_OK)
        rc = pu_pouw_sign_block(ctx->crypto, &h, &pw->workers[m->worker].key, proof.block_sig);
    if (rc == PU_OK)
        rc = pu_pouw_proof_encode(&proof, &bytes, &len);
    pu_block *b = sl->draft;
    sl->draft = NULL;
    if (rc == PU_OK)
        rc = pu_block_set_proof(b, bytes, len);
    free(bytes);
    if (rc == PU_OK) {
        *pu_block_header_mut(b) = h;
        rc = pu_block_finalize(ctx->crypto, b);
    }
    if (rc != PU_OK) {
        pu_block_unref(b);
        sim_fail(ctx, rc, "pouw block");
        return;
    }
    m->blocks++;
    t->blocks_found++;
    pw_data_block(ctx, nd->id, b);
    sim_node_block_found(ctx, nd, b);
    pu_block_unref(b);
}

static pu_err hist_push(pw_miner *m, const pu_hash32 *id)
{
    if (m->n_hist == m->cap_hist) {
        uint32_t cap = m->cap_hist ? m->cap_hist * 2 : 64;
        pu_hash32 *h = realloc(m->hist, cap * sizeof *h);
        if (!h)
            return PU_ERR_NOMEM;
        m->hist = h;
        m->cap_hist = cap;
    }
    m->hist[m->n_hist++] = *id;
    return PU_OK;
}

static void record_iteration(sim_ctx *ctx, const pw_miner *m, const pu_iter_msg *msg, bool block)
{
    sim_pouw *pw = ctx->pouw;
    sim_obs_iteration it = {m->index, msg->seq, msg->epoch, msg->iter, msg->n_peers,
                            (double)msg->loss_e9 / 1e9,
                            msg->batch_n ? (double)msg->correct / msg->batch_n : 0, block};
    sim_obs ev = {.kind = SIM_OBS_ITERATION, .node = pw->workers[m->worker].node};
    ev.u.iteration = &it;
    sim_observe(ctx, &ev);
}

static void send_final_model(sim_ctx *ctx, pw_task *t, pw_miner *m)
{
    sim_pouw *pw = ctx->pouw;
    pw_payload pl;
    memset(&pl, 0, sizeof pl);
    pl.kind = PW_TM_FINAL;
    pl.task = (uint32_t)(t - pw->tasks);
    pl.miner_index = m->index;
    pl.iterations = m->seq;
    if (pu_pouw_store_put_model(pw->store, ctx->crypto, t->ws, m->model, &pl.model_hash) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "final model");
        return;
    }
    /* the model to the evaluators; the final count to the supervisors */
    uint64_t bytes = pu_ml_model_serialized_len(m->model);
    for (uint32_t i = 0; i < pw->n_workers; i++) {
        const pw_worker *w = &pw->workers[i];
        if (pw_task_of(pw, w) == t && (w->role == PU_ROLE_EVALUATOR || w->role == PU_ROLE_SUPERVISOR))
            pw_send_task(ctx, pw->workers[m->worker].node, w->node, &pl,
                         w->role == PU_ROLE_EVALUATOR ? bytes : 8);
    }
    pw_anchor(ctx, t, m);
}

/* Early stopping (pu_task_converged): after each full window past the
 * second, compare the last window's correct counts with the one before. */
static bool converged(const pw_task *t, const pw_miner *m, uint32_t batch_n)
{
    uint32_t w = pu_task_convergence_window(&t->def);
    if (m->seq < 2 * w || m->seq % w)
        return false;
    uint64_t prev = 0, last = 0;
    for (uint32_t i = m->seq - 2 * w; i < m->seq - w; i++)
        prev += m->correct[i];
    for (uint32_t i = m->seq - w; i < m->seq; i++)
        last += m->correct[i];
    return pu_task_converged(&t->def, prev, last, batch_n);
}

static void schedule_iter(sim_ctx *ctx, const pw_task *t, const pw_miner *m, uint32_t node)
{
    uint32_t ti = (uint32_t)(t - ctx->pouw->tasks);
    PU_IGNORE(sim_schedule(ctx, ctx->now + t->iter_ns, SIM_EV_POUW, node,
                           PW_EV_ARG(PW_EV_ITER, m->index, ti), NULL, NULL));
}

/* The peer updates received since the last iteration that the record
 * holds, but none of a miner whose misconduct the chain proves. */
static size_t take_peers(sim_pouw *pw, pw_miner *m, const uint8_t *proven, const pu_ml_update **peers,
                         pu_iter_peer *ids)
{
    size_t np = 0;
    for (uint32_t i = 0; i < m->n_pending; i++) {
        const pu_ml_update *u = pu_pouw_store_update(pw->store, &m->pending[i].update_hash);
        if (u && !(m->pending_from[i] < PU_ECON_MAX_SEATS && proven[m->pending_from[i]])) {
            peers[np] = u;
            ids[np++] = m->pending[i];
        }
    }
    m->n_pending = 0;
    return np;
}

/* Commit to a template, link, sign, and extend the history. */
static pu_err publish(sim_ctx *ctx, sim_node *nd, pw_miner *m, pu_iter_msg *msg, pu_hash32 *id)
{
    sim_pouw *pw = ctx->pouw;
    commit_template(ctx, nd, m, msg);
    msg->prev = m->n_hist ? m->hist[m->n_hist - 1] : (pu_hash32){{0}};
    pu_err rc = pu_iter_msg_sign(ctx->crypto, msg, &pw->workers[m->worker].key);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(ctx->crypto, msg, id);
    if (rc == PU_OK)
        rc = hist_push(m, id);
    return rc;
}

/* One training iteration of a selected miner (PROTOCOL.md s5 item 3). */
void pw_miner_iterate(sim_ctx *ctx, pw_task *t, pw_miner *m)
{
    sim_pouw *pw = ctx->pouw;
    if (m->worker == PW_NONE)
        return;
    sim_node *nd = &ctx->nodes[pw->workers[m->worker].node];
    pu_pouw_task_view view;
    pu_task_state st;
    if (m->finished || !nd->online
        || pu_econ_task_view(pw->econ, nd->chain, &t->id, &view) != PU_OK || !view.active
        || pu_econ_task_state(pw->econ, nd->chain, &t->id, &st) != PU_OK || m->index >= view.n_miners
        || memcmp(view.miner_pubs[m->index], pw->workers[m->worker].key.pub, 33) != 0) {
        /* offline, or the task left training on this branch: try again later */
        if (!m->finished)
            schedule_iter(ctx, t, m, nd->id);
        return;
    }
    const pu_ml_update *peers[PU_POUW_MAX_PEERS];
    pu_iter_peer ids[PU_POUW_MAX_PEERS];
    size_t np = take_peers(pw, m, st.proven, peers, ids);
    pu_iter_msg msg;
    memset(&msg, 0, sizeof msg);
    memcpy(msg.miner_pub, pw->workers[m->worker].key.pub, 33);
    /* the state the last step ended in, hashed by it (unless its message
     * claimed another end: a cheat's, pouw_adv.c) */
    const pu_iter_msg *last = m->seq && !m->claimed_other ? &m->ring[(m->seq - 1) % pw->k1] : NULL;
    const sim_pouw_cheat *ch = pw_cheat_of(pw, nd->id);
    uint32_t batch_of = m->index; /* whose batch it trains on */
    if (ch && ch->batch)
        ch->batch(ch->self, ctx, nd->id, t->n_miners, &batch_of);
    pu_err rc = pu_pouw_iterate_known(ctx->crypto, t->ws, &view, batch_of < t->n_miners ? batch_of : m->index,
                                      m->seq, m->model, last ? &last->model_end : NULL, m->resid,
                                      last ? &last->resid_end : NULL, peers, ids, np, m->model_next,
                                      m->resid_next, m->update, &msg);
    msg.miner_index = m->index; /* the message is the miner's own, whatever it trained on */
    m->claimed_other = false;
    /* the update it sends (its own model took the true one) */
    bool sent_other = rc == PU_OK && ch && ch->update && ch->update(ch->self, ctx, nd->id, m->update);
    if (rc == PU_OK && ch && ch->message) {
        pu_hash32 end = msg.model_end, rend = msg.resid_end;
        ch->message(ch->self, ctx, nd->id, &msg);
        m->claimed_other = !pu_hash_eq(&end, &msg.model_end) || !pu_hash_eq(&rend, &msg.resid_end);
    }
    pw_payload pl;
    memset(&pl, 0, sizeof pl);
    if (rc == PU_OK)
        rc = pu_pouw_store_put_update(pw->store, ctx->crypto, t->ws, m->update, &pl.update_hash);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pouw iteration");
        return;
    }
    if (sent_other) { /* the message names the update it sends */
        msg.update_hash = pl.update_hash;
        msg.update_count = pu_ml_update_count(m->update);
    }
    pw_data_hold(ctx, nd->id, &pl.update_hash); /* its own update */
    if ((rc = publish(ctx, nd, m, &msg, &pl.msg_id)) != PU_OK) {
        sim_fail(ctx, rc, "iteration message");
        return;
    }
    m->ring[m->seq % pw->k1] = msg;
    uint64_t before = t->blocks_found;
    try_mine(ctx, nd, t, m, &msg, &pl.msg_id);
    record_iteration(ctx, m, &msg, t->blocks_found != before);
    pl.kind = PW_TM_ITER;
    pl.task = (uint32_t)(t - pw->tasks);
    pl.miner_index = m->index;
    pl.msg = msg;
    broadcast_iteration(ctx, t, m, &pl, pu_iter_msg_size(&msg) + pu_ml_update_serialized_len(m->update));
    m->correct[m->seq] = msg.correct;
    t->t_last_iter = ctx->now;
    uint64_t every = ctx->p->pouw.gradient_share_every;
    if (every && (m->seq + 1) % every == 0)
        pw_share(ctx, t, m, &msg);
    /* the end state becomes the next iteration's start */
    pu_ml_model *tm = m->model;
    m->model = m->model_next;
    m->model_next = tm;
    pu_ml_resid *tr = m->resid;
    m->resid = m->resid_next;
    m->resid_next = tr;
    m->seq++;
    if (m->seq >= t->def.max_iterations || converged(t, m, msg.batch_n)) {
        m->finished = true;
        send_final_model(ctx, t, m);
        return;
    }
    schedule_iter(ctx, t, m, nd->id);
}

void pw_iteration_received(sim_pouw *pw, uint32_t worker, const pw_payload *pl)
{
    pw_task *t = &pw->tasks[pl->task];
    for (uint32_t i = 0; t->miners && i < t->n_miners; i++) {
        pw_miner *m = &t->miners[i];
        if (m->worker != worker || m->n_pending == PU_POUW_MAX_PEERS)
            continue; /* a miner that has not started yet keeps them for its first step */
        m->pending_from[m->n_pending] = pl->miner_index;
        m->pending[m->n_pending++] = (pu_iter_peer){pl->msg_id, pl->update_hash};
    }
}

/* Seats are known once registration closed: map each to its worker, so
 * iteration messages reach miners that have not started yet.  Slots for
 * every possible seat: another branch may seat differently. */
static pu_err seat_miners(sim_pouw *pw, pw_task *t, const pu_task_state *st)
{
    t->n_miners = st->n_seats[PU_TASK_ROLE_MINER];
    t->miners = calloc(PU_ECON_MAX_SEATS, sizeof *t->miners);
    if (!t->miners)
        return PU_ERR_NOMEM;
    for (uint32_t i = 0; i < PU_ECON_MAX_SEATS; i++) {
        t->miners[i].worker = PW_NONE;
        t->miners[i].index = i;
        for (uint32_t r = 0; i < t->n_miners && r < pw->n_workers; r++)
            if (!memcmp(st->seat[PU_TASK_ROLE_MINER][i].pub, pw->workers[r].key.pub, 33))
                t->miners[i].worker = r;
    }
    return PU_OK;
}

void pw_start_training(sim_ctx *ctx, sim_node *nd, pw_task *t, const pu_task_state *st)
{
    sim_pouw *pw = ctx->pouw;
    if (!t->t_training)
        t->t_training = ctx->now;
    if (!t->miners && seat_miners(pw, t, st) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "miners");
        return;
    }
    uint32_t wi = pw->worker_of[nd->id];
    for (uint32_t i = 0; i < st->n_seats[PU_TASK_ROLE_MINER]; i++) {
        if (memcmp(st->seat[PU_TASK_ROLE_MINER][i].pub, pw->workers[wi].key.pub, 33) != 0)
            continue;
        pw_miner *m = &t->miners[i];
        t->n_miners = st->n_seats[PU_TASK_ROLE_MINER]; /* the latest view */
        if (m->worker != wi) {
            /* A fork of the closing block seated this worker where another
             * trained: the seat starts over for it (the other's iteration
             * events stop: they name its node). */
            miner_release(pw, m);
            memset(m, 0, sizeof *m);
            m->worker = wi;
            m->index = i;
        }
        if (m->started)
            return;
        pu_err rc = miner_init(ctx, t, m);
        if (rc != PU_OK) {
            sim_fail(ctx, rc, "miner");
            return;
        }
        m->started = true;
        schedule_iter(ctx, t, m, nd->id);
        return;
    }
}

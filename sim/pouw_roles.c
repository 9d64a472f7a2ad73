/* sim/pouw_roles.c -- what clients and workers put on chain (PAY_FOR_TASK,
 * BUY_TICKETS, TASK_RESULT) and the evaluator's test of the final models. */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

/* Whether coin c can be spent now on nd's branch; a pending change that
 * will never confirm (its spender left the mempool unconfirmed) falls back
 * to the coin it spent. */
static bool coin_free(const sim_node *nd, pw_coin *c)
{
    const pu_utxo *u = pu_chain_utxo(nd->chain);
    if (c->pending) {
        if (pu_utxo_find(u, &c->op))
            c->pending = false;
        else if (!pu_mempool_has(pu_chain_mempool(nd->chain), &c->spender) && pu_utxo_find(u, &c->prev)) {
            c->op = c->prev;
            c->amount = c->prev_amount;
            c->pending = false;
        }
        return !c->pending;
    }
    return c->amount > 0 && pu_utxo_find(u, &c->op) != NULL;
}

bool pw_inputs(const sim_ctx *ctx, pw_worker *w, pu_amount need, pu_econ_inputs *in, uint32_t *slot)
{
    const sim_node *nd = &ctx->nodes[w->node];
    pu_amount fee = ctx->p->transactions.fee;
    for (uint32_t i = 0; i < PW_COINS; i++) {
        pw_coin *c = &w->coins[i];
        if (!coin_free(nd, c) || c->amount - fee <= need)
            continue; /* strictly more: a PAYMENT keeps a change output */
        *in = (pu_econ_inputs){&c->op, &c->amount, 1, &w->key, fee, sim_now_s(ctx)};
        *slot = i;
        return true;
    }
    return false;
}

bool pw_submit(sim_ctx *ctx, pw_worker *w, uint32_t slot, pu_tx *tx)
{
    pw_coin *c = &w->coins[slot];
    pw_coin keep = *c;
    uint32_t last = pu_tx_n_out(tx) - 1;
    c->prev = c->op;
    c->prev_amount = c->amount;
    c->spender = *pu_tx_id(tx);
    c->pending = true;
    c->amount = 0; /* no change output: the slot is spent */
    if (pu_tx_n_out(tx) && !memcmp(pu_tx_out(tx, last)->addr.b, w->key.addr.b, 20)) {
        c->op = (pu_outpoint){*pu_tx_id(tx), last};
        c->amount = pu_tx_out(tx, last)->amount;
    }
    if (sim_node_submit_tx(ctx, &ctx->nodes[w->node], tx)) {
        pu_opret_msg m;
        pu_opret_status st;
        const uint8_t *op = pu_tx_opret(tx);
        sim_pouw *pw = ctx->pouw;
        if (op && pu_opret_decode(pw->opret, op, PU_OPRET_SIZE, &m, &st) == PU_OK && m.op <= 8) {
            pw->rec_written[m.op]++;
            pw->rec_bytes[m.op] += pu_tx_size(tx);
        }
        return true;
    }
    *c = keep;
    return false;
}

bool pw_client_submit(sim_ctx *ctx, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    pw_worker *w = &pw->workers[t->client];
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, t->def.fee, &in, &slot))
        return false;
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_pay_for_task(pw->econ, &t->def, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pay_for_task");
        return false;
    }
    bool ok = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
    if (ok)
        t->t_submit = ctx->now;
    return ok;
}

static int task_role(uint8_t role)
{
    return role == PU_ROLE_MINER ? PU_TASK_ROLE_MINER
           : role == PU_ROLE_SUPERVISOR ? PU_TASK_ROLE_SUPERVISOR
           : role == PU_ROLE_EVALUATOR ? PU_TASK_ROLE_EVALUATOR
           : PU_TASK_ROLE_VERIFIER;
}

void pw_buy_ticket(sim_ctx *ctx, pw_worker *w, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    pu_amount stake = t->def.stake[task_role(w->role)];
    const sim_pouw_cheat *cheat = pw_cheat_of(pw, w->node);
    int own = cheat && cheat->tickets ? cheat->tickets(cheat->self, ctx, w->node, &t->id, stake) : -1;
    if (own >= 0) { /* its own way (pouw_adv.c) */
        w->ticket_sent = own > 0;
        return;
    }
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, stake, &in, &slot))
        return; /* no free coin: again at the next tip */
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_buy_tickets(pw->econ, &t->id, (pu_role)w->role, stake, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "buy_tickets");
        return;
    }
    w->ticket_sent = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
}

bool pw_seated(sim_ctx *ctx, const pw_worker *w, const pw_task *t, int tr)
{
    sim_pouw *pw = ctx->pouw;
    pu_task_state st;
    if (pu_econ_task_state(pw->econ, ctx->nodes[w->node].chain, &t->id, &st) != PU_OK)
        return false;
    for (uint32_t i = 0; i < st.n_seats[tr]; i++)
        if (!memcmp(st.seat[tr][i].pub, w->key.pub, 33))
            return true;
    return false;
}

/* Submit a transaction just built from coin `slot` (rc: the builder's). */
static bool submit_built(sim_ctx *ctx, pw_worker *w, uint32_t slot, pu_err rc, pu_tx *tx, const char *what)
{
    if (rc != PU_OK) {
        sim_fail(ctx, rc, what);
        return false;
    }
    bool ok = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
    return ok;
}

bool pw_post_record(sim_ctx *ctx, pw_worker *w, const pw_task *t, const pu_opret_msg *m)
{
    pu_econ_inputs in;
    uint32_t slot;
    pu_tx *tx = NULL;
    if (!pw_inputs(ctx, w, 0, &in, &slot))
        return false;
    pu_err rc = pu_econ_record(ctx->pouw->econ, t ? &t->id : NULL, m, &in, &tx);
    return submit_built(ctx, w, slot, rc, tx, "pouw record");
}

bool pw_post_evidence(sim_ctx *ctx, pw_worker *w, const pw_task *t, const pu_pouw_finding *f,
                      const uint8_t *body, size_t len)
{
    pu_econ_inputs in;
    uint32_t slot;
    pu_tx *tx = NULL;
    if (!pw_inputs(ctx, w, 0, &in, &slot))
        return false;
    pu_err rc = pu_econ_evidence(ctx->pouw->econ, &t->id, f, body, len, &in, &tx);
    return submit_built(ctx, w, slot, rc, tx, "pouw evidence");
}

/* Epoch of a miner's iteration i (pu_pouw_iterate's schedule). */
static uint32_t epoch_of(const pw_task *t, uint32_t i)
{
    uint32_t ipe = 1;
    PU_IGNORE(pu_dataset_iters_per_epoch(t->def.train_size, t->n_miners, t->def.batch_size, &ipe));
    return i / ipe;
}

void pw_anchor(sim_ctx *ctx, pw_task *t, pw_miner *m)
{
    sim_pouw *pw = ctx->pouw;
    if (m->anchored || !m->finished || !m->seq || m->worker == PW_NONE)
        return;
    pu_hash32 h;
    if (pu_pouw_store_put_model(pw->store, ctx->crypto, t->ws, m->model, &h) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "final model");
        return;
    }
    pu_opret_msg r;
    pu_opret_msg_init(&r, PU_OPRET_CONSENSUS_VOTE);
    r.vote.epoch = epoch_of(t, m->seq - 1);
    r.vote.iteration = m->seq;
    r.vote.subject = PU_OPRET_SUBJ_MODEL;
    memcpy(r.vote.subject_hash, h.b, PU_OPRET_PREFIX);
    r.vote.vote = PU_OPRET_VOTE_YES;
    m->anchored = pw_post_record(ctx, &pw->workers[m->worker], t, &r);
}

void pw_share(sim_ctx *ctx, pw_task *t, pw_miner *m, const pu_iter_msg *msg)
{
    sim_pouw *pw = ctx->pouw;
    pu_opret_msg r;
    pu_opret_msg_init(&r, PU_OPRET_GRADIENT_SHARE);
    pu_opret_gradient_share *g = &r.grad;
    g->epoch = msg->epoch;
    g->iteration = msg->seq;
    memcpy(g->update_hash, msg->update_hash.b, PU_OPRET_PREFIX);
    g->update_size = (uint32_t)pu_ml_update_serialized_len(m->update);
    g->n_entries = msg->update_count;
    g->tau_micro = (uint32_t)(t->def.tau_e9 / 1000);
    uint64_t loss = msg->loss_e9 / 1000;
    g->train_loss_micro = loss > UINT32_MAX ? UINT32_MAX : (uint32_t)loss;
    g->train_accuracy_ppm = msg->batch_n ? (uint32_t)((uint64_t)msg->correct * 1000000u / msg->batch_n) : 0;
    /* optional: a share that finds no free coin is skipped */
    PU_IGNORE(pw_post_record(ctx, &pw->workers[m->worker], t, &r));
}

void pw_status(sim_ctx *ctx, pw_worker *w)
{
    sim_pouw *pw = ctx->pouw;
    const sim_node *nd = &ctx->nodes[w->node];
    const pu_mempool *mp = pu_chain_mempool(nd->chain);
    pu_hash32 ids[64];
    uint32_t deg;
    sim_net_neighbors(ctx->net, nd->id, &deg);
    pu_opret_msg r;
    pu_opret_msg_init(&r, PU_OPRET_NETWORK_STATE);
    pu_opret_network_state *n = &r.net;
    /* The tip's parent: a reader on a sibling of the tip (a fork of one
     * block, the common case) has it too, so the status is not refused
     * there (core/PROTOCOL.md s7.4: NETWORK_STATE names a block of the
     * reader's branch). */
    uint32_t h = pu_chain_height(nd->chain);
    n->height = h ? h - 1 : 0;
    memcpy(n->tip_hash, pu_block_hash(pu_chain_block_at(nd->chain, n->height))->b, PU_OPRET_PREFIX);
    n->peers = deg;
    size_t txs = pu_mempool_count(mp), bytes = pu_mempool_bytes(mp);
    n->mempool_txs = txs > UINT32_MAX ? UINT32_MAX : (uint32_t)txs;
    n->mempool_bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    n->active_tasks = (uint32_t)pu_econ_tasks(pw->econ, nd->chain, PU_PHASE_TRAINING, ids, 64);
    PU_IGNORE(pw_post_record(ctx, w, NULL, &r)); /* no free coin: the next one */
}

/* Test every anchored final model on the task's hidden split and post the
 * TASK_RESULT (only a seated evaluator's result counts).  The accuracies
 * are computed as every node re-checks them (pu_pouw_evaluate). */
void pw_evaluate(sim_ctx *ctx, pw_worker *w, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    if (w->result_sent || pw_task_of(pw, w) != t || !pw_seated(ctx, w, t, PU_TASK_ROLE_EVALUATOR))
        return;
    const pu_chain *ch = ctx->nodes[w->node].chain;
    pu_pouw_task_view view;
    pu_task_state st;
    if (pu_econ_task_view(pw->econ, ch, &t->id, &view) != PU_OK || !view.test
        || pu_econ_task_state(pw->econ, ch, &t->id, &st) != PU_OK || st.phase != PU_PHASE_TRAINING)
        return;
    uint32_t anchored = 0, iters = 0;
    for (uint32_t i = 0; i < st.n_seats[PU_TASK_ROLE_MINER]; i++)
        anchored += st.anchored[i];
    if (!t->eval_due && t->eval_until && pu_chain_height(ch) >= t->eval_until)
        t->eval_due = true; /* the votes it waited for did not come */
    if (!t->eval_due && anchored < st.n_seats[PU_TASK_ROLE_MINER])
        return; /* wait for every final model, or the timer */
    pu_hash32 best = {{0}};
    uint32_t best_acc = 0;
    for (uint32_t i = 0; i < t->n_miners && i < PU_ECON_MAX_SEATS; i++) {
        t->accuracy_ppm[i] = UINT32_MAX; /* no model */
        pu_hash32 h;
        uint32_t correct, n;
        if (!st.anchored[i] || !pu_pouw_store_model_prefix(pw->store, st.anchor[i], &h)
            || pu_pouw_evaluate(pw->verifier, &t->def, view.test, &h, &correct, &n) != PU_OK || !n)
            continue;
        t->accuracy_ppm[i] = (uint32_t)((uint64_t)correct * 1000000u / n);
        iters = st.anchor_iters[i] > iters ? st.anchor_iters[i] : iters;
        if (best_acc == 0 || t->accuracy_ppm[i] > best_acc) {
            best_acc = t->accuracy_ppm[i];
            best = h;
        }
    }
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, 0, &in, &slot))
        return; /* no free coin: again at the next tip */
    uint32_t reported[PU_ECON_MAX_SEATS]; /* what it posts (a cheat's may differ: pouw_adv.c) */
    memcpy(reported, t->accuracy_ppm, sizeof reported);
    const sim_pouw_cheat *cheat = pw_cheat_of(pw, w->node);
    if (cheat && cheat->result)
        cheat->result(cheat->self, ctx, w->node, reported, t->n_miners);
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_task_result(pw->econ, &t->id, reported, t->n_miners, &best, iters, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "task result");
        return;
    }
    if (pw_submit(ctx, w, slot, tx)) {
        w->result_sent = true;
        t->result_sent = true;
        if (!t->t_result)
            t->t_result = ctx->now;
    }
    pu_tx_unref(tx);
}

void pw_final_received(sim_ctx *ctx, sim_node *nd, const pw_payload *pl)
{
    pw_task *t = &ctx->pouw->tasks[pl->task];
    if (pl->miner_index < PU_ECON_MAX_SEATS)
        t->finals_seen |= 1u << pl->miner_index;
    /* the result waits for the final models' votes on chain (pw_evaluate
     * at each tip), or for this timer: a silent miner is not waited for */
    if (!t->eval_scheduled) {
        t->eval_scheduled = true;
        PU_IGNORE(sim_schedule(ctx, ctx->now + pw_patience(ctx, t), SIM_EV_POUW, nd->id,
                               PW_EV_ARG(PW_EV_EVAL, 0, pl->task), NULL, NULL));
    }
}

/* The patience timer ran out on the evaluator at node `node`.  A miner
 * whose final model reached the evaluator is not silent: its vote only
 * waits for a block, and blocks can be many minutes apart once no PoUW
 * miner works, so for such votes the evaluator's patience is counted in
 * blocks of its chain, not in time. */
bool pw_eval_timer(sim_ctx *ctx, uint32_t node, pw_task *t)
{
    const pu_chain *ch = ctx->nodes[node].chain;
    pu_task_state st;
    if (!t->eval_until && pu_econ_task_state(ctx->pouw->econ, ch, &t->id, &st) == PU_OK
        && st.phase == PU_PHASE_TRAINING) {
        for (uint32_t i = 0; i < st.n_seats[PU_TASK_ROLE_MINER] && i < PU_ECON_MAX_SEATS; i++)
            if (!st.anchored[i] && (t->finals_seen >> i & 1u)) {
                t->eval_until = pu_chain_height(ch) + PW_EVAL_BLOCKS;
                return false;
            }
    }
    t->eval_due = true;
    return true;
}

/* sim/adversary/double_spend.c -- double spending against a merchant who
 * waits for z confirmations (Nakamoto 2008, s11).
 *
 * The attacker (node `node`, `share` of the hash power) spends the coins of
 * workload wallet `wallet`, which it takes over at start.  One attempt:
 *
 *  1. arm: it signs two transactions spending the same coin: C pays the
 *     coin back to itself, P pays the merchant (node `target`) `amount`
 *     with the change back to itself.  C goes into its private branch's
 *     mempool (branch.h), so every block it mines carries C;
 *  2. when its miner finds a block (it holds C) it keeps the block, then
 *     broadcasts P: the honest miners confirm P while it mines in private
 *     on top of the block that holds C.  Its one block of head start is
 *     what makes this Nakamoto's race: his attacker succeeds when he
 *     *catches up* with the honest chain; with one block of head start the
 *     attacker that catches up is ahead, and a longer branch is what honest
 *     nodes switch to (equal work keeps the first seen);
 *  3. the merchant accepts when P has `confirmations` blocks on its node's
 *     chain (the block holding P and those above it).  From then on, as soon
 *     as the private branch is longer than the public one, the attacker
 *     publishes it: the merchant's node switches, P is undone and C takes
 *     its coin.  The attempt succeeds when the merchant's chain holds the
 *     attacker's branch after it had accepted (the merchant lost `amount`);
 *  4. it gives up when the honest branch leads by `give_up` blocks: it
 *     adopts the public chain (P stands, its block and C are lost).
 * Then the next attempt, with the coin that survived (C's or P's change),
 * until `count` attempts (0: until stopped) or its funds run out.
 *
 * With `eclipse: true` the attacker also takes every peer slot of the
 * merchant (eclipse.h) and runs Heilman et al.'s confirmation double spend
 * instead of a race: it pays the merchant with P in blocks it mines on the
 * merchant's frozen tip and shows to the merchant alone (its node lets no
 * other block or transaction through to the merchant), while C goes to the
 * honest network.  An attempt succeeds when the merchant has accepted P and
 * the honest chain holds C; the attacker then lets the merchant catch up
 * with the honest chain (P is undone there) before the next attempt.  The
 * attacker's hash power only decides how long the merchant waits: success
 * does not depend on winning a race (blocks it shows the merchant reach the
 * network only as a stale fork, through the merchant's own relay).
 *
 * The outcome: attempts, successes, success_rate against `expected`, which
 * is Nakamoto's P(share, confirmations) (the Poisson approximation of his
 * paper; the process simulated has the attacker's progress negative
 * binomial, which moves P by at most a few percent of its value, e.g. 0.200
 * instead of 0.205 at q = 0.1, z = 1); loss = the merchant's loss.  Its
 * blocks that won count in its revenue share; with eclipse, msgs_dropped
 * counts what it kept from the merchant. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/adversary.h"
#include "sim/adversary/branch.h"
#include "sim/adversary/eclipse.h"
#include "sim/mining.h"
#include "sim/node.h"
#include "sim/wallet.h"

enum { IDLE, ARMED, RACING, RELEASED };

typedef struct dspend {
    sim_branch_user u;        /* first: the node's behaviour state */
    sim_adversary *adv;
    uint32_t node, merchant, miner;
    sim_branch *br;
    int state;
    bool funded, broke;       /* took the wallet; ran out of coins */
    pu_keypair key;
    pu_addr merchant_addr;
    pu_outpoint coin;         /* the coin the next attempt spends */
    pu_amount coin_amount;
    pu_outpoint alt;          /* after an attempt, the other possible survivor */
    pu_amount alt_amount;
    pu_tx *c, *p;             /* the conflicting pair of this attempt */
    pu_hash32 head;           /* its first private block (holds C) */
    uint32_t fork;            /* height of the block both branches grow from */
    uint32_t p_height;        /* height of the merchant's block holding P (0: none) */
    pu_hash32 p_block;
    bool accepted;            /* the merchant saw P with enough confirmations */
    bool busy;                /* publishing */
    /* eclipse: true */
    bool ecl;
    sim_eclipse *iso;         /* the merchant's isolation, while active */
    bool resync;              /* letting the merchant catch up with the honest chain */
    uint32_t c_height;        /* height of the attacker's public block holding C (0: none) */
    pu_hash32 c_block;
    uint32_t pa_height;       /* ... and of one holding P (the merchant's view leaked) */
    pu_hash32 pa_block;
} dspend;

static void drop_pair(dspend *s)
{
    pu_tx_unref(s->c);
    pu_tx_unref(s->p);
    s->c = s->p = NULL;
}

/* One input (the coin), outputs as given, signed with the attacker's key. */
static pu_tx *spend(sim_ctx *ctx, dspend *s, const pu_addr *to, pu_amount pay, pu_amount change)
{
    pu_tx *tx = NULL;
    if (pu_tx_new(PU_TX_PAYMENT, 1, change > 0 ? 2 : 1, 0, &tx) != PU_OK)
        return NULL;
    pu_tx_in_mut(tx, 0)->prev = s->coin;
    pu_tx_out_mut(tx, 0)->amount = pay;
    pu_tx_out_mut(tx, 0)->addr = *to;
    if (change > 0) {
        pu_tx_out_mut(tx, 1)->amount = change;
        pu_tx_out_mut(tx, 1)->addr = s->key.addr;
    }
    pu_tx_set_timestamp(tx, sim_now_s(ctx));
    const pu_keypair *k = &s->key;
    if (pu_tx_sign_all(ctx->crypto, tx, &k, 1) != PU_OK || pu_tx_finalize(ctx->crypto, tx) != PU_OK) {
        pu_tx_unref(tx);
        return NULL;
    }
    return tx;
}

/* eclipse: the attempt starts at once: P into blocks on the merchant's tip,
 * C to the honest network. */
static void arm_eclipsed(sim_ctx *ctx, dspend *s)
{
    sim_branch_adopt_from(ctx, s->br, ctx->nodes[s->merchant].chain);
    if (!sim_branch_add_tx(s->br, s->p)) {
        drop_pair(s); /* the merchant's view lacks the coin yet: the next block */
        return;
    }
    if (sim_adversary_own_tx(s->adv, s->p) != PU_OK || sim_adversary_own_tx(s->adv, s->c) != PU_OK)
        sim_fail(ctx, PU_ERR_NOMEM, "double spend");
    s->fork = sim_branch_height(s->br);
    s->p_height = s->c_height = s->pa_height = 0;
    s->accepted = sim_adversary_params(s->adv)->confirmations == 0;
    s->state = RACING;
    sim_adversary_outcome(s->adv)->attempts++;
    sim_node_submit_tx(ctx, &ctx->nodes[s->node], s->c);
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
}

/* Step 1: a coin, the two transactions, C into the branch. */
static void arm(sim_ctx *ctx, dspend *s)
{
    const sim_params_adversary *a = sim_adversary_params(s->adv);
    pu_amount fee = ctx->p->transactions.fee;
    if (s->state != IDLE || s->broke)
        return;
    if (a->count && sim_adversary_outcome(s->adv)->attempts >= a->count)
        return;
    const pu_utxo *pub = pu_chain_utxo(ctx->nodes[s->node].chain);
    if (s->funded && !pu_utxo_find(pub, &s->coin) && pu_utxo_find(pub, &s->alt)) {
        s->coin = s->alt; /* the other side of the last attempt won after all */
        s->coin_amount = s->alt_amount;
    }
    if (!s->funded || !pu_utxo_find(pub, &s->coin)) {
        /* the first attempt: the wallet's largest confirmed coin */
        if (s->funded || !sim_wallets_coin(ctx, (uint32_t)a->wallet, pub, &s->coin, &s->coin_amount))
            return; /* nothing confirmed to spend yet: try at the next block */
        s->funded = true;
    }
    if (s->coin_amount < a->amount + 2 * fee) {
        s->broke = true;
        return;
    }
    drop_pair(s);
    s->c = spend(ctx, s, &s->key.addr, s->coin_amount - fee, 0);
    s->p = spend(ctx, s, &s->merchant_addr, a->amount, s->coin_amount - a->amount - fee);
    if (s->ecl && s->c && s->p) { /* the merchant's blocks carry P, the network gets C */
        arm_eclipsed(ctx, s);
        return;
    }
    if (!s->c || !s->p || !sim_branch_add_tx(s->br, s->c)) {
        drop_pair(s);
        sim_fail(ctx, PU_ERR_INVALID, "double spend: the attacker's own transactions");
        return;
    }
    s->state = ARMED;
}

static bool holds(const pu_block *b, const pu_tx *tx)
{
    for (uint32_t i = 1; i < pu_block_n_tx(b); i++)
        if (pu_hash_eq(pu_tx_id(pu_block_tx(b, i)), pu_tx_id(tx)))
            return true;
    return false;
}

/* The attempt is over: the next coin is the one that survived. */
static void settle(sim_ctx *ctx, dspend *s, bool success)
{
    sim_attack_outcome *o = sim_adversary_outcome(s->adv);
    const sim_params_adversary *a = sim_adversary_params(s->adv);
    /* the coin that survives: C's output if its branch won, else P's change;
     * the other is kept in case the chain turns once more */
    pu_outpoint oc = {*pu_tx_id(s->c), 0}, op = {*pu_tx_id(s->p), 1};
    pu_amount ac = pu_tx_out(s->c, 0)->amount, ap = pu_tx_n_out(s->p) > 1 ? pu_tx_out(s->p, 1)->amount : 0;
    s->coin = success ? oc : op;
    s->coin_amount = success ? ac : ap;
    s->alt = success ? op : oc;
    s->alt_amount = success ? ap : ac;
    if (success) {
        o->successes++;
        o->loss += a->amount;
    }
    if (!success || s->ecl) {
        sim_branch_adopt(ctx, s->br);
        sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
    }
    drop_pair(s);
    s->state = IDLE;
    s->accepted = false;
    s->p_height = s->c_height = s->pa_height = 0;
    if (s->ecl) { /* the merchant catches up before the next attempt */
        s->resync = true;
        sim_node_sync(ctx, &ctx->nodes[s->merchant], false);
        return;
    }
    arm(ctx, s);
}

/* Where tx sits on node v's active chain: recorded from BLOCK_CONNECTED. */
static bool confirmed(const sim_ctx *ctx, uint32_t v, uint32_t height, const pu_hash32 *block)
{
    const pu_block *b = height ? pu_chain_block_at(ctx->nodes[v].chain, height) : NULL;
    return b && pu_hash_eq(pu_block_hash(b), block);
}

/* eclipse: success when the merchant accepted P while the honest chain holds
 * C; failure when the honest chain took P (its blocks leaked and won). */
static void evaluate_eclipsed(sim_ctx *ctx, dspend *s)
{
    if (s->resync) {
        const pu_chain *m = ctx->nodes[s->merchant].chain;
        if (pu_chain_knows(m, pu_chain_tip_hash(ctx->nodes[s->node].chain))) {
            s->resync = false;
            arm(ctx, s);
        }
        return;
    }
    if (s->state != RACING)
        return;
    if (s->accepted && confirmed(ctx, s->node, s->c_height, &s->c_block))
        settle(ctx, s, true);
    else if (confirmed(ctx, s->node, s->pa_height, &s->pa_block))
        settle(ctx, s, false);
}

static void publish(sim_ctx *ctx, dspend *s)
{
    s->busy = true;
    sim_adversary_outcome(s->adv)->blocks_released += sim_branch_publish(ctx, s->br, UINT32_MAX);
    s->busy = false;
}

/* After any change: publish when ahead of an accepting merchant, give up
 * when too far behind, settle when the merchant's chain shows the result. */
static void evaluate(sim_ctx *ctx, dspend *s)
{
    const sim_params_adversary *a = sim_adversary_params(s->adv);
    if (s->ecl) {
        evaluate_eclipsed(ctx, s);
        return;
    }
    if (s->state != RACING && s->state != RELEASED)
        return;
    const pu_chain *m = ctx->nodes[s->merchant].chain;
    const pu_block *at = pu_chain_block_at(m, s->fork + 1);
    if (s->accepted && at && pu_hash_eq(pu_block_hash(at), &s->head)) {
        settle(ctx, s, true); /* the merchant's chain now holds C instead of P */
        return;
    }
    uint32_t hq = pu_chain_height(ctx->nodes[s->node].chain), hp = sim_branch_height(s->br);
    if (hq >= hp + a->give_up) {
        settle(ctx, s, false);
        return;
    }
    if (s->accepted && hp > hq && sim_branch_withheld(s->br)) {
        publish(ctx, s);
        s->state = RELEASED;
    }
}

/* The merchant's view: where P is, and whether it has enough confirmations. */
static void merchant_event(sim_ctx *ctx, dspend *s, const sim_obs *ev)
{
    const sim_params_adversary *a = sim_adversary_params(s->adv);
    if (!s->p)
        return;
    if (ev->kind == SIM_OBS_BLOCK_CONNECTED && holds(ev->block, s->p)) {
        s->p_height = ev->height;
        s->p_block = *pu_block_hash(ev->block);
        return;
    }
    if (ev->kind != SIM_OBS_TIP_CHANGED || !s->p_height || s->accepted)
        return;
    const pu_chain *m = ctx->nodes[s->merchant].chain;
    const pu_block *b = pu_chain_block_at(m, s->p_height);
    if (b && pu_hash_eq(pu_block_hash(b), &s->p_block)
        && pu_chain_height(m) - s->p_height + 1 >= a->confirmations)
        s->accepted = true;
}

static void found(sim_ctx *ctx, sim_branch_user *u, pu_block *b)
{
    dspend *s = (dspend *)u;
    sim_node *nd = &ctx->nodes[s->node];
    if (s->ecl && s->state == RACING) { /* shown to the merchant alone */
        sim_branch_add_own(ctx, s->br, b);
        sim_node_send_block(ctx, nd, s->merchant, SIM_MSG_BLOCK_DATA, b);
        return;
    }
    if (s->state == ARMED && holds(b, s->c)) { /* step 2: the head start */
        sim_branch_add_own(ctx, s->br, b);
        s->head = *pu_block_hash(b);
        s->fork = sim_branch_height(s->br) - 1;
        s->state = RACING;
        sim_adversary_outcome(s->adv)->attempts++;
        if (sim_adversary_own_tx(s->adv, s->p) != PU_OK || sim_adversary_own_tx(s->adv, s->c) != PU_OK)
            sim_fail(ctx, PU_ERR_NOMEM, "double spend");
        s->p_height = 0;
        s->accepted = sim_adversary_params(s->adv)->confirmations == 0; /* one who does not wait */
        sim_node_submit_tx(ctx, nd, s->p);
        evaluate(ctx, s);
    } else if (s->state == RACING || s->state == RELEASED) {
        sim_branch_add_own(ctx, s->br, b);
        if (s->state == RELEASED)
            publish(ctx, s); /* its branch is public now: keep it so */
        evaluate(ctx, s);
    } else { /* idle (no coin yet): mine honestly */
        sim_branch_add_own(ctx, s->br, b);
        publish(ctx, s);
        arm(ctx, s);
    }
}

/* ---- the strategy ---- */

static sim_link_verdict filter(void *self, sim_ctx *ctx, const sim_msg *m, uint64_t *extra_ns);

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const sim_params_adversary *a = sim_adversary_params(adv);
    dspend *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, s);
    s->adv = adv;
    s->node = (uint32_t)a->node;
    s->merchant = (uint32_t)a->target;
    /* the merchant's address: its node id, marked 'P' (payee) */
    for (int i = 0; i < 4; i++)
        s->merchant_addr.b[i] = (uint8_t)(s->merchant >> (24 - 8 * i));
    s->merchant_addr.b[19] = 0x50;
    pu_err rc = sim_branch_user_init(ctx, adv, s->node, &s->u, found, &s->miner);
    s->br = s->u.br;
    s->ecl = a->eclipse;
    sim_link_filter f = {filter, s};
    if (rc == PU_OK && s->ecl)
        rc = sim_add_link_filter(ctx, &f);
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    /* eclipsed, no race: no closed form (success needs only time) */
    o->expected = s->ecl ? NAN : sim_attack_nakamoto(a->share, a->confirmations);
    snprintf(o->detail, sizeof o->detail, "merchant=%u confirmations=%llu give_up=%llu amount=%lld%s",
             s->merchant, (unsigned long long)a->confirmations, (unsigned long long)a->give_up,
             (long long)a->amount, s->ecl ? " eclipse=1" : "");
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    dspend *s = sim_adversary_state(adv);
    const sim_params_adversary *a = sim_adversary_params(adv);
    if (!s->funded && sim_wallets_take(ctx, (uint32_t)a->wallet, &s->key) != PU_OK) {
        sim_fail(ctx, PU_ERR_RANGE, "double spend: wallet");
        return;
    }
    sim_branch_adopt(ctx, s->br);
    s->state = IDLE;
    sim_adversary_set_share(ctx, adv, s->miner, a->share);
    if (s->ecl && sim_eclipse_isolate(ctx, s->node, &s->merchant, 1, &s->iso) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "double spend: eclipse");
        return;
    }
    arm(ctx, s);
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
}

static void stop(sim_ctx *ctx, sim_adversary *adv)
{
    dspend *s = sim_adversary_state(adv);
    if (!s->ecl)
        publish(ctx, s); /* honest from now on (eclipsed, its blocks were the merchant's only) */
    sim_eclipse_restore(ctx, s->iso);
    s->iso = NULL;
    s->resync = false;
    drop_pair(s);
    s->state = IDLE;
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
}

static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    dspend *s = sim_adversary_state(adv);
    if (!sim_adversary_active(adv) || s->busy)
        return;
    if (ev->node == s->merchant)
        merchant_event(ctx, s, ev);
    if (s->ecl && ev->node == s->node && ev->kind == SIM_OBS_BLOCK_CONNECTED && s->c) {
        if (holds(ev->block, s->c)) {
            s->c_height = ev->height;
            s->c_block = *pu_block_hash(ev->block);
        } else if (holds(ev->block, s->p)) {
            s->pa_height = ev->height;
            s->pa_block = *pu_block_hash(ev->block);
        }
    }
    if (ev->kind != SIM_OBS_TIP_CHANGED)
        return;
    if (ev->node == s->node && (s->state == IDLE || s->state == ARMED) && !s->ecl) {
        sim_branch_adopt(ctx, s->br); /* nothing at stake: follow the public chain */
        sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
        if (s->state == ARMED
            && !pu_mempool_has(pu_chain_mempool(sim_branch_chain(s->br)), pu_tx_id(s->c)))
            s->state = IDLE; /* a reorganisation took C's coin away: another coin */
        arm(ctx, s);
    }
    if (s->ecl && ev->node == s->node && s->state == IDLE && !s->resync) {
        sim_branch_adopt(ctx, s->br); /* no coin yet: mine honestly, try again */
        sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
        arm(ctx, s);
    }
    if (ev->node == s->node || ev->node == s->merchant)
        evaluate(ctx, s);
}

/* eclipse: the merchant hears nothing from the network but the attacker's
 * blocks (and, while it catches up between attempts, everything). */
static sim_link_verdict filter(void *self, sim_ctx *ctx, const sim_msg *m, uint64_t *extra_ns)
{
    (void)ctx;
    (void)extra_ns;
    dspend *s = self;
    if (!s->iso || s->resync || m->from != s->node || m->to != s->merchant || !sim_eclipse_is_content(m))
        return SIM_LINK_PASS;
    const pu_hash32 *h = m->block ? pu_block_hash(m->block)
                         : m->kind == SIM_MSG_NEW_BLOCK ? &m->hash : NULL;
    if (h && sim_adversary_is_own_block(s->adv, h))
        return SIM_LINK_PASS;
    sim_adversary_outcome(s->adv)->msgs_dropped++;
    return SIM_LINK_DROP;
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    (void)ctx;
    dspend *s = sim_adversary_state(adv);
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    o->blocks_withheld = sim_branch_withheld(s->br);
    if (s->state == RACING || s->state == RELEASED) /* unresolved at the end: not an attempt */
        o->attempts--;
    o->success_rate = o->attempts ? (double)o->successes / (double)o->attempts : NAN;
    static const char states[4][9] = {"idle", "armed", "racing", "released"};
    size_t n = strlen(o->detail);
    snprintf(o->detail + n, sizeof o->detail - n, " state=%s%s", states[s->state],
             s->broke ? " funds=exhausted" : "");
}

static void free_state(void *state)
{
    dspend *s = state;
    if (!s)
        return;
    drop_pair(s);
    sim_eclipse_free(s->iso);
    sim_branch_free(s->br);
    free(s);
}

const sim_strategy sim_strategy_double_spend = {
    SIM_PARAMS_ADV_DOUBLE_SPEND, create, start, stop, on_event,
    SIM_OBS_BIT(SIM_OBS_TIP_CHANGED) | SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED), NULL, finish, free_state,
};

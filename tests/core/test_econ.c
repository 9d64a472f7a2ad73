/* tests/core/test_econ.c -- the PoUW ledger rules on real chains: a task's
 * life cycle with hand-computed payouts and slashing, supply conservation at
 * every height, exact-settlement rejections, OP_RETURN agreement, result
 * rules, timeouts and void tasks, reorganisations of the closing block, and
 * the lottery's stake proportionality and Sybil neutrality. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/econ.h"
#include "tests/harness.h"
#include "tests/testutil.h"

static tu_env E;
static pu_opret_codec *CODEC;
static pu_pouw_store *STORE;  /* the task record every checking econ resolves from */
static pu_pouw_verifier *VER;
static pu_keypair POOL;   /* receives every coinbase, so wallets' deltas are exact */
static pu_keypair SYB[8]; /* a Sybil's identities */

#define FEE (2 * PU_COIN / 1000)
#define T_TIMEOUT 4u
#define REWARD INT64_C(1250000000)
#define ISSUED(h) (800 * PU_COIN + (pu_amount)(h) * REWARD)

static int setup(void)
{
    if (tu_env_init(&E) != 0 || pu_opret_codec_new(&CODEC) != PU_OK
        || pu_pouw_store_new(&STORE) != PU_OK || pu_pouw_verifier_new(E.crypto, STORE, 4096, &VER) != PU_OK)
        return -1;
    for (int i = 0; i < 9; i++) {
        uint8_t seed[32] = {0};
        seed[0] = 0x5B;
        seed[31] = (uint8_t)i;
        if (pu_key_from_seed(E.crypto, seed, i ? &SYB[i - 1] : &POOL) != PU_OK)
            return -1;
    }
    return 0;
}

static int teardown(void)
{
    pu_opret_codec_free(CODEC);
    pu_pouw_verifier_free(VER);
    pu_pouw_store_free(STORE);
    tu_env_release(&E);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static pu_econ *mk_econ(pu_pouw_verifier *v, uint32_t evaluators)
{
    pu_econ_config c = {E.crypto, CODEC, v, NULL, T_TIMEOUT, 0, evaluators, false, false, 0};
    pu_econ *e = NULL;
    CU_ASSERT_FATAL(pu_econ_new(&c, &e) == PU_OK);
    return e;
}

static pu_chain *mk_chain(pu_econ *ec, pu_valcache *vc)
{
    pu_chain_opts o = {&E.params, E.crypto, E.sigcache, vc, pu_econ_rules(ec)};
    pu_chain *ch = NULL;
    CU_ASSERT_FATAL(pu_chain_new(&o, E.genesis, &ch) == PU_OK);
    return ch;
}

/* A synthetic task that needs 3 miners (checked by the tests). */
static void small_task(pu_task *t, uint64_t task_seed)
{
    pu_task_seed_example(t);
    strcpy(t->dataset, "synthetic");
    t->n_hidden = 3;
    t->hidden[0] = 128;
    t->hidden[1] = 64;
    t->hidden[2] = 32;
    t->train_size = 6000;
    t->test_size = 1000;
    t->data_seed = 7;
    t->task_seed = task_seed;
    t->registration_blocks = 3; /* fee 10 coins, stakes 1 / 1 / 1 / 0.1 coin */
}

static pu_reason add_tx(pu_chain *ch, pu_tx *tx)
{
    pu_reason why = PU_R_OK;
    pu_err rc = pu_chain_add_tx(ch, tx, &why);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    return why;
}

static pu_block *draft(pu_chain *ch, pu_tx *const *txs, size_t n, uint64_t ts)
{
    pu_tx *none = NULL;
    pu_block *b = NULL;
    CU_ASSERT_FATAL(pu_chain_create_block(ch, n ? txs : &none, n, &POOL.addr, NULL, 0, ts, &b)
                    == PU_OK);
    return b;
}

static pu_reason add_block(pu_chain *ch, pu_block *b, uint64_t now)
{
    pu_add_result res;
    pu_err rc = pu_chain_add_block(ch, b, now, &res);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID || rc == PU_ERR_EXISTS);
    return res.reason;
}

/* Mine txs on ch's tip (coinbase to POOL); the block is returned in *out if asked. */
static pu_reason mine(pu_chain *ch, pu_tx *const *txs, size_t n, uint64_t ts, pu_block **out)
{
    pu_block *b = draft(ch, txs, n, ts);
    tu_grind(&E, b);
    pu_reason r = add_block(ch, b, ts);
    if (out)
        *out = b;
    else
        pu_block_unref(b);
    return r;
}

static pu_outpoint gen_coin(int w, int k)
{
    pu_outpoint op = {*pu_tx_id(pu_block_tx(E.genesis, 0)), (uint32_t)(2 * w + k)};
    return op;
}

static pu_outpoint out_of(const pu_tx *tx, uint32_t i)
{
    pu_outpoint op = {*pu_tx_id(tx), i};
    return op;
}

static pu_tx *tickets(pu_econ *ec, const pu_hash32 *id, const pu_keypair *k, pu_outpoint op,
                      pu_amount amount, pu_role role, pu_amount stake, uint64_t ts)
{
    pu_econ_inputs in = {&op, &amount, 1, k, FEE, ts};
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_econ_buy_tickets(ec, id, role, stake, &in, &tx) == PU_OK);
    return tx;
}

static pu_tx *submit(pu_econ *ec, const pu_task *t, const pu_keypair *k, pu_outpoint op,
                     pu_amount amount, uint64_t ts)
{
    pu_econ_inputs in = {&op, &amount, 1, k, FEE, ts};
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_econ_pay_for_task(ec, t, &in, &tx) == PU_OK);
    return tx;
}

/* A result naming `model` as the best and `iters` iterations run. */
static pu_tx *result_full(pu_econ *ec, const pu_hash32 *id, const uint32_t *acc, uint32_t n,
                          const pu_hash32 *model, uint32_t iters, const pu_keypair *k, pu_outpoint op,
                          pu_amount amount, uint64_t ts)
{
    pu_econ_inputs in = {&op, &amount, 1, k, FEE, ts};
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_econ_task_result(ec, id, acc, n, model, iters, &in, &tx) == PU_OK);
    return tx;
}

/* A result with no model (for tasks whose miners anchored none). */
static pu_tx *result(pu_econ *ec, const pu_hash32 *id, const uint32_t *acc, uint32_t n,
                     const pu_keypair *k, pu_outpoint op, pu_amount amount, uint64_t ts)
{
    pu_hash32 none = {{0}};
    return result_full(ec, id, acc, n, &none, 0, k, op, amount, ts);
}

/* A model of task t after `steps` SGD steps from its initial model on the
 * first batches of its schedule (one miner), put in STORE; its test
 * accuracy in ppm as every node computes it.  Small tasks train fast
 * enough (~70 ms a step) to give models of distinct, known quality. */
static void trained(const pu_task *t, uint32_t steps, pu_hash32 *h, uint32_t *acc_ppm)
{
    pu_dataset *train = NULL, *test = NULL;
    pu_ml_arch a;
    pu_ml_hyper hy;
    pu_ml_ws *ws = NULL;
    pu_ml_model *m = NULL;
    pu_ml_resid *r = NULL;
    pu_ml_update *u = NULL;
    uint32_t np, *idx = malloc(t->batch_size * sizeof *idx);
    pu_task_arch(t, &a);
    pu_task_hyper(t, &hy);
    CU_ASSERT_FATAL(idx && pu_task_load_data(t, NULL, &train, &test) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_arch_check(&a, &np) == PU_OK && pu_ml_ws_new(&a, t->batch_size, &ws) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &m) == PU_OK && pu_ml_resid_new(np, &r) == PU_OK
                    && pu_ml_update_new(&u) == PU_OK);
    pu_ml_model_init(m, t->task_seed);
    for (uint32_t i = 0; i < steps; i++) {
        pu_ml_metrics mt;
        CU_ASSERT_FATAL(pu_dataset_batch(train, t->task_seed, i / 12, i % 12, 0, 1, t->batch_size, idx)
                        == PU_OK); /* 12 batches of 500 per epoch of 6000 */
        pu_ml_batch b = {train, idx, t->batch_size};
        CU_ASSERT_FATAL(pu_ml_step(ws, m, r, &b, NULL, 0, &hy, m, r, u, &mt) == PU_OK);
    }
    CU_ASSERT_FATAL(pu_pouw_store_put_model(STORE, E.crypto, ws, m, h) == PU_OK);
    uint32_t correct, n;
    CU_ASSERT_FATAL(pu_pouw_evaluate(VER, t, test, h, &correct, &n) == PU_OK && n == t->test_size);
    *acc_ppm = (uint32_t)((uint64_t)correct * 1000000u / n);
    pu_ml_update_free(u);
    pu_ml_resid_free(r);
    pu_ml_model_free(m);
    pu_ml_ws_free(ws);
    pu_dataset_free(train);
    pu_dataset_free(test);
    free(idx);
}

/* A PAYMENT with record m (task id hash set here) from k. */
static pu_tx *record(pu_econ *ec, const pu_hash32 *id, const pu_opret_msg *m, const pu_keypair *k,
                     pu_outpoint op, pu_amount amount, uint64_t ts)
{
    pu_econ_inputs in = {&op, &amount, 1, k, FEE, ts};
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_econ_record(ec, id, m, &in, &tx) == PU_OK);
    return tx;
}

/* A miner's final-model vote: model h after iters iterations (1..4: the
 * first epoch of a 3-miner task of 6000 examples in batches of 500). */
static pu_tx *anchor(pu_econ *ec, const pu_hash32 *id, const pu_hash32 *h, uint32_t iters,
                     const pu_keypair *k, pu_outpoint op, pu_amount amount, uint64_t ts)
{
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_CONSENSUS_VOTE);
    m.vote.iteration = iters;
    m.vote.subject = PU_OPRET_SUBJ_MODEL;
    memcpy(m.vote.subject_hash, h->b, 8);
    m.vote.vote = PU_OPRET_VOTE_YES;
    return record(ec, id, &m, k, op, amount, ts);
}

/* A supervisor's audit vote: nothing found. */
static pu_tx *audit_yes(pu_econ *ec, const pu_hash32 *id, const pu_keypair *k, pu_outpoint op,
                        pu_amount amount, uint64_t ts)
{
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_CONSENSUS_VOTE);
    m.vote.subject = PU_OPRET_SUBJ_ITERATION;
    m.vote.vote = PU_OPRET_VOTE_YES;
    return record(ec, id, &m, k, op, amount, ts);
}

/* The detailed reason the econ recorded for tx's refusal. */
static pu_econ_reason detail(const pu_econ *ec, const pu_tx *tx)
{
    pu_econ_reason why = PU_ECON_OK;
    CU_ASSERT(pu_econ_tx_verdict(ec, pu_tx_id(tx), &why));
    return why;
}

/* floor(M * w / W) per miner as core/econ.c computes it (M = a W + b). */
static pu_amount share_of(pu_amount M, uint64_t w, uint64_t W)
{
    return (pu_amount)((uint64_t)M / W * w + (uint64_t)M % W * w / W);
}

/* A signed transaction with a hand-made record (header filled by caller). */
static pu_tx *raw_tx(pu_tx_kind kind, const pu_keypair *k, pu_outpoint op, pu_amount amount,
                     pu_amount locked, const uint8_t *body, uint32_t blen, const pu_opret_msg *m,
                     uint64_t ts)
{
    pu_amount change = amount - locked - FEE;
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_tx_new(kind, 1, change > 0, blen, &tx) == PU_OK);
    pu_tx_in_mut(tx, 0)->prev = op;
    if (change > 0) {
        pu_tx_out_mut(tx, 0)->amount = change;
        pu_tx_out_mut(tx, 0)->addr = k->addr;
    }
    if (blen)
        memcpy(pu_tx_body_mut(tx), body, blen);
    if (m) {
        uint8_t rec[PU_OPRET_SIZE];
        CU_ASSERT_FATAL(pu_opret_encode(CODEC, m, rec) == PU_OK);
        pu_tx_set_opret(tx, rec);
    }
    pu_tx_set_timestamp(tx, ts);
    CU_ASSERT_FATAL(pu_tx_sign_all(E.crypto, tx, &k, 1) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, tx) == PU_OK);
    return tx;
}

static void hdr(pu_opret_msg *m, const pu_keypair *k, uint64_t ts)
{
    m->timestamp = (uint32_t)ts;
    pu_opret_node_id_hash(E.crypto, k->pub, m->node_id_hash);
}

/* Wallet 7 pays `each` to n Sybil keys from its first genesis coin. */
static pu_tx *fund_sybils(size_t n, pu_amount each, uint64_t ts)
{
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, (uint32_t)n + 1, 0, &tx) == PU_OK);
    pu_tx_in_mut(tx, 0)->prev = gen_coin(7, 0);
    for (size_t i = 0; i < n; i++) {
        pu_tx_out_mut(tx, (uint32_t)i)->amount = each;
        pu_tx_out_mut(tx, (uint32_t)i)->addr = SYB[i].addr;
    }
    pu_tx_out_mut(tx, (uint32_t)n)->amount = 50 * PU_COIN - (pu_amount)n * each - FEE;
    pu_tx_out_mut(tx, (uint32_t)n)->addr = E.w[7].addr;
    pu_tx_set_timestamp(tx, ts);
    const pu_keypair *k = &E.w[7];
    CU_ASSERT_FATAL(pu_tx_sign_all(E.crypto, tx, &k, 1) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, tx) == PU_OK);
    return tx;
}

/* Every address that can own coins in these tests. */
static size_t known_addrs(pu_addr *a)
{
    size_t n = 0;
    for (int i = 0; i < TU_WALLETS; i++)
        a[n++] = E.w[i].addr;
    for (int i = 0; i < 8; i++)
        a[n++] = SYB[i].addr;
    a[n++] = POOL.addr;
    return n;
}

/* PROTOCOL.md s7: balances + locks == issuance, by the chain's totals and by
 * summing the balance of every owner. */
static void check_supply(const pu_chain *ch)
{
    pu_addr a[32];
    size_t n = known_addrs(a);
    pu_amount issued = ISSUED(pu_chain_height(ch));
    pu_amount sum = pu_utxo_locked(pu_chain_utxo(ch));
    for (size_t i = 0; i < n; i++)
        sum += pu_chain_balance(ch, &a[i]);
    CU_ASSERT_EQUAL(pu_chain_supply(ch), issued);
    CU_ASSERT_EQUAL(sum, issued);
}

static void snapshot(const pu_chain *ch, pu_amount *bal)
{
    pu_addr a[32];
    size_t n = known_addrs(a);
    for (size_t i = 0; i < n; i++)
        bal[i] = pu_chain_balance(ch, &a[i]);
}

/* Add `amount` to the expected delta of address `addr`. */
static void expect(pu_amount *delta, const pu_addr *addr, pu_amount amount)
{
    pu_addr a[32];
    size_t n = known_addrs(a);
    for (size_t i = 0; i < n; i++)
        if (memcmp(a[i].b, addr->b, 20) == 0) {
            delta[i] += amount;
            return;
        }
    CU_FAIL("unknown address");
}

static void check_deltas(const pu_chain *ch, const pu_amount *before, const pu_amount *delta)
{
    pu_addr a[32];
    size_t n = known_addrs(a);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(pu_chain_balance(ch, &a[i]) - before[i], delta[i]);
}

static void feed(pu_chain *to, const pu_chain *from, uint32_t h0, uint32_t h1)
{
    for (uint32_t h = h0; h <= h1; h++)
        CU_ASSERT_EQUAL(add_block(to, pu_chain_block_at(from, h), 1u << 30), PU_R_OK);
}

static pu_amount out_sum(const pu_tx *tx)
{
    pu_amount s = 0;
    CU_ASSERT(pu_tx_output_sum(tx, &s) == PU_OK);
    return s;
}

/* ---- a full life cycle ------------------------------------------------------ */

enum { MOVE_UNIT, DROP_OUTPUT, SWAP_OUTPUTS, SWAP_INPUTS, BAD_RECORD };

/* The valid settlement s, altered one way. */
static pu_tx *altered(const pu_tx *s, int how)
{
    uint32_t nin = pu_tx_n_in(s), nout = pu_tx_n_out(s), blen;
    const uint8_t *body = pu_tx_body(s, &blen);
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_SETTLEMENT, nin, nout - (how == DROP_OUTPUT), blen, &tx)
                    == PU_OK);
    for (uint32_t i = 0; i < nin; i++)
        pu_tx_in_mut(tx, i)->prev = pu_tx_in(s, i)->prev;
    for (uint32_t i = 0; i < nout - (how == DROP_OUTPUT); i++)
        *pu_tx_out_mut(tx, i) = *pu_tx_out(s, i);
    memcpy(pu_tx_body_mut(tx), body, blen);
    pu_tx_set_timestamp(tx, pu_tx_timestamp(s));
    uint8_t rec[PU_OPRET_SIZE];
    memcpy(rec, pu_tx_opret(s), PU_OPRET_SIZE);
    if (how == MOVE_UNIT) {
        pu_tx_out_mut(tx, 0)->amount -= 1;
        pu_tx_out_mut(tx, 1)->amount += 1;
    } else if (how == SWAP_OUTPUTS) {
        *pu_tx_out_mut(tx, 0) = *pu_tx_out(s, 1);
        *pu_tx_out_mut(tx, 1) = *pu_tx_out(s, 0);
    } else if (how == SWAP_INPUTS) {
        pu_tx_in_mut(tx, 1)->prev = pu_tx_in(s, 2)->prev;
        pu_tx_in_mut(tx, 2)->prev = pu_tx_in(s, 1)->prev;
    } else if (how == BAD_RECORD) {
        pu_opret_msg m;
        pu_opret_status st;
        CU_ASSERT_FATAL(pu_opret_decode(CODEC, rec, sizeof rec, &m, &st) == PU_OK);
        m.econ.slashed += 1;
        CU_ASSERT_FATAL(pu_opret_encode(CODEC, &m, rec) == PU_OK);
    }
    pu_tx_set_opret(tx, rec);
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, tx) == PU_OK);
    return tx;
}

typedef struct cycle {
    pu_econ *ec;
    pu_chain *ch;
    pu_task t;
    pu_hash32 id;
    pu_tx *pft, *tk[16], *fund;
    size_t n_tk;
    pu_amount staked;
} cycle;

/* Heights 1-5: fund the Sybil, submit (hs = 2), tickets at 3 and 4, close at 5.
 * Miners: wallets 1, 2, 3 (2, 3, 1 coins) and the Sybil's 6 keys (1 coin
 * each); supervisors: wallets 4 (1) and 6 (2); evaluator: wallet 5 (1);
 * verifier: wallet 7 (0.1). */
static void cycle_setup(cycle *c, pu_econ *ec)
{
    memset(c, 0, sizeof *c);
    c->ec = ec;
    c->ch = mk_chain(ec, NULL);
    small_task(&c->t, 11);
    CU_ASSERT_EQUAL_FATAL(pu_task_required_miners(&c->t), 3);
    CU_ASSERT_FATAL(pu_task_id(&c->t, E.crypto, &c->id) == PU_OK);
    c->fund = fund_sybils(6, 2 * PU_COIN, 2001);
    CU_ASSERT_EQUAL(mine(c->ch, &c->fund, 1, 2001, NULL), PU_R_OK);
    check_supply(c->ch);
    pu_task_state st;
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, c->ch, &c->id, &st), PU_ERR_NOTFOUND);
    c->pft = submit(ec, &c->t, &E.w[0], gen_coin(0, 0), 50 * PU_COIN, 2002);
    CU_ASSERT_EQUAL(add_tx(c->ch, c->pft), PU_R_OK);
    CU_ASSERT_EQUAL(mine(c->ch, &c->pft, 1, 2002, NULL), PU_R_OK);
    check_supply(c->ch);
    const struct { int w; pu_role role; pu_amount stake; } h3[] = {
        {1, PU_ROLE_MINER, 2 * PU_COIN}, {2, PU_ROLE_MINER, 3 * PU_COIN},
        {3, PU_ROLE_MINER, PU_COIN}, {4, PU_ROLE_SUPERVISOR, PU_COIN},
        {5, PU_ROLE_EVALUATOR, PU_COIN}};
    for (size_t i = 0; i < 5; i++) {
        c->tk[c->n_tk] = tickets(ec, &c->id, &E.w[h3[i].w], gen_coin(h3[i].w, 0), 50 * PU_COIN,
                                 h3[i].role, h3[i].stake, 2003);
        c->staked += h3[i].stake;
        CU_ASSERT_EQUAL(add_tx(c->ch, c->tk[c->n_tk++]), PU_R_OK);
    }
    for (uint32_t i = 0; i < 6; i++) {
        c->tk[c->n_tk] = tickets(ec, &c->id, &SYB[i], out_of(c->fund, i), 2 * PU_COIN,
                                 PU_ROLE_MINER, PU_COIN, 2003);
        c->staked += PU_COIN;
        CU_ASSERT_EQUAL(add_tx(c->ch, c->tk[c->n_tk++]), PU_R_OK);
    }
    CU_ASSERT_EQUAL(mine(c->ch, c->tk, c->n_tk, 2003, NULL), PU_R_OK);
    check_supply(c->ch);
    c->tk[c->n_tk++] = tickets(ec, &c->id, &E.w[6], gen_coin(6, 0), 50 * PU_COIN,
                               PU_ROLE_SUPERVISOR, 2 * PU_COIN, 2004);
    c->tk[c->n_tk++] = tickets(ec, &c->id, &E.w[7], gen_coin(7, 1), 50 * PU_COIN,
                               PU_ROLE_VERIFIER, PU_COIN / 10, 2004);
    c->staked += 2 * PU_COIN + PU_COIN / 10;
    CU_ASSERT_EQUAL(mine(c->ch, c->tk + 11, 2, 2004, NULL), PU_R_OK);
    check_supply(c->ch);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, c->ch, &c->id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_REGISTRATION); /* the block at 5 may still hold tickets */
    CU_ASSERT_EQUAL(st.n_tickets, 13);
    CU_ASSERT_EQUAL(mine(c->ch, NULL, 0, 2005, NULL), PU_R_OK); /* the closing block */
    check_supply(c->ch);
}

/* Owner of cycle ticket i (the order cycle_setup creates them in). */
static const pu_addr *cycle_owner(size_t i)
{
    if (i < 5)
        return &E.w[i + 1].addr;
    if (i < 11)
        return &SYB[i - 5].addr;
    return &E.w[i == 11 ? 6 : 7].addr;
}

/* The key of seat w of the cycle, and the change of its ticket (what it
 * spends next). */
static const pu_keypair *cycle_seat(const cycle *c, const pu_worker *w, pu_outpoint *op, pu_amount *amount)
{
    for (size_t i = 0; i < c->n_tk; i++)
        if (pu_hash_eq(pu_tx_id(c->tk[i]), &w->ticket)) {
            *op = out_of(c->tk[i], 0);
            *amount = pu_tx_out(c->tk[i], 0)->amount;
        }
    for (int i = 0; i < TU_WALLETS; i++)
        if (!memcmp(E.w[i].pub, w->pub, 33))
            return &E.w[i];
    for (int i = 0; i < 8; i++)
        if (!memcmp(SYB[i].pub, w->pub, 33))
            return &SYB[i];
    CU_FAIL("unknown seat");
    return &POOL;
}

/* Expect the stake back for every ticket of the cycle seated in none of
 * the first n_roles roles. */
static void expect_returned(const cycle *c, const pu_task_state *st, uint32_t n_roles, pu_amount *delta)
{
    for (size_t i = 0; i < 13; i++) {
        const pu_hash32 *tid = pu_tx_id(c->tk[i]);
        bool seated = false;
        for (uint32_t r = 0; r < n_roles; r++)
            for (uint32_t k = 0; k < st->n_seats[r]; k++)
                seated |= pu_hash_eq(&st->seat[r][k].ticket, tid);
        pu_tickets tk;
        CU_ASSERT(pu_tx_tickets(c->tk[i], &tk) == PU_OK);
        if (!seated)
            expect(delta, cycle_owner(i), tk.stake);
    }
}

static void cycle_release(cycle *c)
{
    for (size_t i = 0; i < c->n_tk; i++)
        pu_tx_unref(c->tk[i]);
    pu_tx_unref(c->pft);
    pu_tx_unref(c->fund);
    pu_chain_free(c->ch);
}

static int seat_of(const pu_task_state *st, uint32_t role, const uint8_t *pub)
{
    for (uint32_t k = 0; k < st->n_seats[role]; k++)
        if (memcmp(st->seat[role][k].pub, pub, 33) == 0)
            return (int)k;
    return -1;
}

static void test_life_cycle(void)
{
    pu_econ *ec = mk_econ(VER, 0);
    cycle c;
    cycle_setup(&c, ec);
    pu_chain *ch = c.ch, *lag = mk_chain(ec, NULL);
    pu_task_state st;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING);
    CU_ASSERT_EQUAL(st.submit_height, 2);
    CU_ASSERT_EQUAL(st.close_height, 5);
    CU_ASSERT_TRUE(pu_hash_eq(&st.submit_txid, pu_tx_id(c.pft)));
    CU_ASSERT_EQUAL(memcmp(st.client.b, E.w[0].addr.b, 20), 0);
    CU_ASSERT_EQUAL(st.n_seats[0], 3);
    CU_ASSERT_EQUAL(st.n_seats[1], 1);
    CU_ASSERT_EQUAL(st.n_seats[2], 1);
    CU_ASSERT_EQUAL(st.n_seats[3], 1);
    CU_ASSERT_EQUAL(seat_of(&st, 2, E.w[5].pub), 0); /* the only evaluator */
    CU_ASSERT_EQUAL(seat_of(&st, 3, E.w[7].pub), 0);
    for (uint32_t i = 0; i < 3; i++)                 /* three distinct miners */
        for (uint32_t j = i + 1; j < 3; j++)
            CU_ASSERT_NOT_EQUAL(memcmp(st.seat[0][i].pub, st.seat[0][j].pub, 33), 0);
    /* registration is over */
    pu_tx *late = tickets(ec, &c.id, &E.w[3], gen_coin(3, 1), 50 * PU_COIN, PU_ROLE_MINER,
                          PU_COIN, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, late), PU_R_KIND_RULE);
    pu_tx_unref(late);
    /* the view verify_ml_work gets */
    pu_pouw_task_view v;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_view(ec, ch, &c.id, &v), PU_OK);
    CU_ASSERT_TRUE(v.active);
    CU_ASSERT_EQUAL(v.n_miners, 3);
    CU_ASSERT_EQUAL(memcmp(v.miner_pubs[1], st.seat[0][1].pub, 33), 0);
    CU_ASSERT_EQUAL(pu_dataset_size(v.train), 6000);
    CU_ASSERT_TRUE(pu_hash_eq(&v.task_id, &c.id));
    CU_ASSERT_EQUAL(mine(ch, NULL, 0, 2006, NULL), PU_R_OK); /* plain blocks stay valid */
    check_supply(ch);
    feed(lag, ch, 1, 6);

    /* the miners' final models: seat 0 a better one than seat 1; seat 2
     * never delivers.  Only a seated miner anchors, once. */
    pu_hash32 ha, hb;
    uint32_t acc_a, acc_b, chance = 1000000 / c.t.classes;
    trained(&c.t, 22, &ha, &acc_a);
    trained(&c.t, 12, &hb, &acc_b);
    CU_ASSERT_FATAL(acc_a >= c.t.min_accuracy_ppm && acc_a > acc_b && acc_b > chance);
    pu_outpoint op0, op1, opv;
    pu_amount am0, am1, amv;
    const pu_keypair *k0 = cycle_seat(&c, &st.seat[0][0], &op0, &am0);
    const pu_keypair *k1 = cycle_seat(&c, &st.seat[0][1], &op1, &am1);
    const pu_keypair *kv = cycle_seat(&c, &st.seat[1][0], &opv, &amv);
    pu_tx *a_bad = anchor(ec, &c.id, &ha, 4, &E.w[5], out_of(c.tk[4], 0), 49 * PU_COIN - FEE, 2007);
    CU_ASSERT_EQUAL(add_tx(ch, a_bad), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, a_bad), PU_ECON_NOT_SEATED);
    pu_tx_unref(a_bad);
    pu_hash32 nowhere = {{0x5A}};
    a_bad = anchor(ec, &c.id, &nowhere, 4, k0, op0, am0, 2007);
    CU_ASSERT_EQUAL(add_tx(ch, a_bad), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, a_bad), PU_ECON_NO_MODEL);
    pu_tx_unref(a_bad);
    pu_tx *anc[3] = {anchor(ec, &c.id, &ha, 4, k0, op0, am0, 2007),
                     anchor(ec, &c.id, &hb, 3, k1, op1, am1, 2007),
                     audit_yes(ec, &c.id, kv, opv, amv, 2007)};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(add_tx(ch, anc[i]), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, anc, 3, 2007, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_TRUE(st.anchored[0] && st.anchored[1] && !st.anchored[2]);
    CU_ASSERT_EQUAL(st.anchor_iters[0], 4);
    CU_ASSERT_EQUAL(st.n_votes, 1);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING); /* the evaluator has not posted */
    pu_tx *twice = anchor(ec, &c.id, &hb, 2, k0, out_of(anc[0], 0), am0 - FEE, 2008);
    CU_ASSERT_EQUAL(add_tx(ch, twice), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, twice), PU_ECON_REPEATED);
    pu_tx_unref(twice);

    /* results: only the selected evaluator, once, and only the truth: every
     * node re-evaluates the anchored models on the test split */
    uint32_t acc[3] = {acc_a, acc_b, UINT32_MAX}; /* miner 2 delivered no model */
    pu_tx *wrong = result_full(ec, &c.id, acc, 3, &ha, 4, &E.w[1], out_of(c.tk[0], 0),
                               48 * PU_COIN - FEE, 2008);
    CU_ASSERT_EQUAL(add_tx(ch, wrong), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, wrong), PU_ECON_NOT_SEATED);
    pu_tx_unref(wrong);
    /* a false accuracy is FALSE_RESULT; a ranking that disagrees with the
     * branch's anchors is FIELD (an honest result read on another branch) */
    const uint32_t lies[4][3] = {{acc_a + 1, acc_b, UINT32_MAX},   /* an inflated accuracy */
                                 {acc_a, UINT32_MAX, UINT32_MAX},  /* an anchored miner left out */
                                 {acc_a, acc_b, 500000},           /* a model nobody anchored */
                                 {acc_b, acc_a, UINT32_MAX}};      /* swapped */
    const pu_econ_reason lie_why[4] = {PU_ECON_FALSE_RESULT, PU_ECON_FIELD, PU_ECON_FIELD,
                                       PU_ECON_FALSE_RESULT};
    for (int i = 0; i < 4; i++) {
        pu_tx *lie = result_full(ec, &c.id, lies[i], 3, &ha, 4, &E.w[5], out_of(c.tk[4], 0),
                                 49 * PU_COIN - FEE, 2008);
        CU_ASSERT_EQUAL(add_tx(ch, lie), PU_R_KIND_RULE);
        CU_ASSERT_EQUAL(detail(ec, lie), lie_why[i]);
        pu_tx_unref(lie);
    }
    pu_tx *res = result_full(ec, &c.id, acc, 3, &ha, 4, &E.w[5], out_of(c.tk[4], 0),
                             49 * PU_COIN - FEE, 2008);
    CU_ASSERT_EQUAL(add_tx(ch, res), PU_R_OK);
    pu_tx *st_tx = NULL;
    CU_ASSERT_EQUAL(pu_econ_settlement(ec, ch, &c.id, &st_tx), PU_ERR_STATE);
    CU_ASSERT_EQUAL(mine(ch, &res, 1, 2008, NULL), PU_R_OK);
    check_supply(ch);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_FINALISATION);
    CU_ASSERT_EQUAL(st.n_results, 1);
    pu_tx *again = result_full(ec, &c.id, acc, 3, &ha, 4, &E.w[5], out_of(res, 0),
                               49 * PU_COIN - 2 * FEE, 2009);
    CU_ASSERT_EQUAL(add_tx(ch, again), PU_R_KIND_RULE);
    pu_tx_unref(again);
    pu_hash32 ids[4];
    CU_ASSERT_EQUAL(pu_econ_tasks(ec, ch, PU_PHASE_FINALISATION, ids, 4), 1);
    CU_ASSERT_TRUE(pu_hash_eq(&ids[0], &c.id));
    CU_ASSERT_EQUAL(pu_econ_tasks(ec, ch, PU_PHASE_TRAINING, ids, 4), 0);

    /* the settlement: exactly the escrow plus every stake */
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &c.id, &st_tx), PU_OK);
    CU_ASSERT_EQUAL(pu_tx_n_in(st_tx), 1 + 13);
    CU_ASSERT_EQUAL(out_sum(st_tx), 10 * PU_COIN + c.staked);
    CU_ASSERT_EQUAL(c.staked, 1610000000);
    CU_ASSERT_EQUAL(add_tx(ch, st_tx), PU_R_COINBASE_LOOSE); /* blocks only */
    for (int how = MOVE_UNIT; how <= BAD_RECORD; how++) {
        pu_tx *bad = altered(st_tx, how);
        pu_block *b = draft(ch, &bad, 1, 2009);
        tu_grind(&E, b);
        CU_ASSERT_EQUAL(add_block(ch, b, 2009), how == BAD_RECORD ? PU_R_TX_BAD_OPRET
                                                                  : PU_R_BAD_SETTLEMENT);
        pu_block_unref(b);
        pu_tx_unref(bad);
    }
    /* before finalisation (the result not yet confirmed on that branch) */
    CU_ASSERT_EQUAL(mine(lag, &st_tx, 1, 2007, NULL), PU_R_BAD_SETTLEMENT);

    /* payouts: F = 10 coins, Q = 3 coins to the supervisor who voted and the
     * evaluator (1.5 each; the verifier attested nothing: stake back, no
     * pay), M = 7 coins by accuracy above chance; miner 2 (no model) is
     * slashed; the floors' remainder and its stake go to the client. */
    uint64_t wa = acc_a - chance, wb = acc_b - chance;
    pu_amount pa = share_of(7 * PU_COIN, wa, wa + wb), pb = share_of(7 * PU_COIN, wb, wa + wb);
    pu_amount before[32], delta[32] = {0};
    snapshot(ch, before);
    expect(delta, &st.seat[0][0].addr, st.seat[0][0].stake + pa);
    expect(delta, &st.seat[0][1].addr, st.seat[0][1].stake + pb);
    expect(delta, &st.seat[1][0].addr, st.seat[1][0].stake + 150000000);
    expect(delta, &E.w[5].addr, PU_COIN + 150000000);
    expect(delta, &E.w[0].addr, 7 * PU_COIN - pa - pb + st.seat[0][2].stake);
    expect(delta, &POOL.addr, REWARD);
    expect_returned(&c, &st, 3, delta); /* unselected tickets and the verifier get their stake */
    CU_ASSERT_EQUAL(mine(ch, &st_tx, 1, 2009, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    CU_ASSERT_EQUAL(pu_utxo_locked(pu_chain_utxo(ch)), 0);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_SETTLED);
    pu_tx *none = NULL;
    CU_ASSERT_EQUAL(pu_econ_settlement(ec, ch, &c.id, &none), PU_ERR_STATE);
    CU_ASSERT_PTR_NULL(none);

    /* the record and the body say the same */
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(st_tx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.op, PU_OPRET_ECONOMIC_EVENT);
    CU_ASSERT_EQUAL(m.econ.kind, PU_OPRET_ECON_SETTLEMENT);
    CU_ASSERT_EQUAL(m.econ.total, 10 * PU_COIN + c.staked);
    CU_ASSERT_EQUAL(m.econ.to_miners, pa + pb);
    CU_ASSERT_EQUAL(m.econ.to_supervisors, 150000000);
    CU_ASSERT_EQUAL(m.econ.to_evaluators, 150000000);
    CU_ASSERT_EQUAL(m.econ.slashed, st.seat[0][2].stake);
    CU_ASSERT_EQUAL(m.econ.n_miners, 2);
    CU_ASSERT_EQUAL(m.econ.n_slashed, 1);
    uint32_t blen;
    const uint8_t *body = pu_tx_body(st_tx, &blen);
    CU_ASSERT_EQUAL(blen, 32 + 3 + 12);
    CU_ASSERT_EQUAL(memcmp(body, c.id.b, 32), 0);
    CU_ASSERT_EQUAL(body[32], 2); /* rule version */
    CU_ASSERT_EQUAL(body[33], 1); /* evaluated */
    CU_ASSERT_EQUAL(pu_get_be32(body + 35), acc_a);
    CU_ASSERT_EQUAL(pu_get_be32(body + 39), acc_b);
    CU_ASSERT_EQUAL(pu_get_be32(body + 43), 0);
    for (int i = 0; i < 3; i++)
        pu_tx_unref(anc[i]);
    pu_tx_unref(st_tx);
    pu_tx_unref(res);
    pu_chain_free(lag);
    cycle_release(&c);
    pu_econ_free(ec);
}

/* ---- PoUW headers ------------------------------------------------------------- */

static void no_proof_edit(pu_header *h, const pu_hash32 *task) { h->ml_task_id = *task; }

static pu_reason pouw_block(pu_chain *ch, pu_tx *const *txs, size_t n, const pu_hash32 *task,
                            uint64_t ts, pu_hash32 *hash)
{
    uint8_t proof[3] = {1, 2, 3};
    pu_tx *none = NULL;
    pu_block *b = NULL;
    CU_ASSERT_FATAL(pu_chain_create_block(ch, n ? txs : &none, n, &POOL.addr, proof, sizeof proof,
                                          ts, &b)
                    == PU_OK);
    no_proof_edit(pu_block_header_mut(b), task);
    tu_grind(&E, b);
    *hash = *pu_block_hash(b);
    pu_reason r = add_block(ch, b, ts);
    pu_block_unref(b);
    return r;
}

static void test_pouw_blocks(void)
{
    pu_pouw_store *store = NULL;
    pu_pouw_verifier *ver = NULL;
    CU_ASSERT_FATAL(pu_pouw_store_new(&store) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_verifier_new(E.crypto, store, 16, &ver) == PU_OK);
    pu_econ *plain = mk_econ(NULL, 0), *checking = mk_econ(ver, 0);
    cycle c;
    cycle_setup(&c, plain);
    pu_chain *ch2 = mk_chain(checking, NULL);
    feed(ch2, c.ch, 1, 5);
    pu_hash32 h, unknown = {{0x77}};
    pu_pouw_reason why;
    /* unknown task */
    CU_ASSERT_EQUAL(pouw_block(c.ch, NULL, 0, &unknown, 2006, &h), PU_R_ML_WORK);
    CU_ASSERT_TRUE(pu_econ_ml_verdict(plain, &h, &why, NULL));
    CU_ASSERT_EQUAL(why, PU_POUW_UNKNOWN_TASK);
    /* in training, but no verifier configured */
    CU_ASSERT_EQUAL(pouw_block(c.ch, NULL, 0, &c.id, 2006, &h), PU_R_ML_WORK);
    CU_ASSERT_TRUE(pu_econ_ml_verdict(plain, &h, &why, NULL));
    CU_ASSERT_EQUAL(why, PU_POUW_REASON_COUNT);
    /* with a verifier: a proof that does not decode */
    CU_ASSERT_EQUAL(pouw_block(ch2, NULL, 0, &c.id, 2007, &h), PU_R_ML_WORK); /* another block */
    CU_ASSERT_TRUE(pu_econ_ml_verdict(checking, &h, &why, NULL));
    CU_ASSERT_EQUAL(why, PU_POUW_MALFORMED);
    CU_ASSERT_FALSE(pu_econ_ml_verdict(plain, &h, &why, NULL));
    /* block-level rules come first: one submission per task per block */
    pu_task t2;
    small_task(&t2, 99);
    pu_tx *two[2] = {submit(checking, &t2, &E.w[0], gen_coin(0, 1), 50 * PU_COIN, 2008),
                     submit(checking, &t2, &E.w[1], gen_coin(1, 1), 50 * PU_COIN, 2008)};
    CU_ASSERT_EQUAL(pouw_block(ch2, two, 2, &c.id, 2008, &h), PU_R_KIND_RULE);
    CU_ASSERT_FALSE(pu_econ_ml_verdict(checking, &h, &why, NULL));
    pu_tx_unref(two[0]);
    pu_tx_unref(two[1]);
    CU_ASSERT_EQUAL(pu_chain_height(c.ch), 5);
    CU_ASSERT_EQUAL(pu_chain_height(ch2), 5);
    pu_chain_free(ch2);
    cycle_release(&c);
    pu_econ_free(plain);
    pu_econ_free(checking);
    pu_pouw_verifier_free(ver);
    pu_pouw_store_free(store);
}

/* ---- OP_RETURN agreement and kind rules ------------------------------------------ */

static void test_opret_agreement(void)
{
    pu_econ *ec = mk_econ(NULL, 0);
    pu_chain *ch = mk_chain(ec, NULL);
    pu_task t;
    small_task(&t, 21);
    pu_hash32 id, idh;
    CU_ASSERT_FATAL(pu_task_id(&t, E.crypto, &id) == PU_OK);
    pu_opret_task_id_hash(E.crypto, &id, &idh);
    uint8_t body[PU_TASK_ENCODED_LEN];
    CU_ASSERT_FATAL(pu_task_encode(&t, body) == PU_OK);
    const pu_amount c50 = 50 * PU_COIN;

    /* PAY_FOR_TASK: no record, a fee that disagrees, another node's id */
    pu_tx *tx = raw_tx(PU_TX_PAY_FOR_TASK, &E.w[0], gen_coin(0, 0), c50, t.fee, body,
                       sizeof body, NULL, 3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    pu_tx *good = submit(ec, &t, &E.w[0], gen_coin(0, 0), c50, 3000);
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(good), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.op, PU_OPRET_TASK_SUBMISSION);
    CU_ASSERT_TRUE(pu_hash_eq(&m.task_id_hash, &idh));
    CU_ASSERT_EQUAL(m.task.required_miners, 3);
    CU_ASSERT_EQUAL(m.task.n_layers, 5);
    pu_opret_msg bad = m;
    bad.task.fee += 1;
    tx = raw_tx(PU_TX_PAY_FOR_TASK, &E.w[0], gen_coin(0, 0), c50, t.fee, body, sizeof body, &bad,
                3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    bad = m;
    hdr(&bad, &E.w[1], 3000);
    tx = raw_tx(PU_TX_PAY_FOR_TASK, &E.w[0], gen_coin(0, 0), c50, t.fee, body, sizeof body, &bad,
                3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    /* a record of one kind in a PAYMENT */
    tx = raw_tx(PU_TX_PAYMENT, &E.w[0], gen_coin(0, 1), c50, 0, NULL, 0, &m, 3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    /* a status record in a PAYMENT: fine from its signer, not from anyone else */
    pu_opret_msg ns;
    pu_opret_msg_init(&ns, PU_OPRET_NETWORK_STATE);
    ns.net.height = 1; /* a tip the reader's branch does not have */
    hdr(&ns, &E.w[2], 3000);
    tx = raw_tx(PU_TX_PAYMENT, &E.w[2], gen_coin(2, 1), c50, 0, NULL, 0, &ns, 3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, tx), PU_ECON_FIELD);
    pu_tx_unref(tx);
    ns.net.height = 0;
    memcpy(ns.net.tip_hash, pu_block_hash(E.genesis)->b, 8);
    tx = raw_tx(PU_TX_PAYMENT, &E.w[2], gen_coin(2, 1), c50, 0, NULL, 0, &ns, 3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_OK);
    pu_tx_unref(tx);
    tx = raw_tx(PU_TX_PAYMENT, &E.w[3], gen_coin(3, 1), c50, 0, NULL, 0, &ns, 3000);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);

    /* tickets for a task nobody submitted yet */
    pu_tx *tk = tickets(ec, &id, &E.w[1], gen_coin(1, 0), c50, PU_ROLE_MINER, PU_COIN, 3001);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_KIND_RULE);
    pu_tx_unref(tk);
    CU_ASSERT_EQUAL(add_tx(ch, good), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, &good, 1, 3001, NULL), PU_R_OK);
    /* the same task again */
    tx = submit(ec, &t, &E.w[4], gen_coin(4, 1), c50, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_KIND_RULE);
    pu_tx_unref(tx);

    /* BUY_TICKETS: role and stake must agree with the body */
    pu_tickets body_tk = {PU_ROLE_MINER, PU_COIN, id};
    uint8_t tb[PU_TICKETS_BODY_SIZE];
    pu_tickets_encode(&body_tk, tb);
    pu_opret_msg reg;
    pu_opret_msg_init(&reg, PU_OPRET_WORKER_REGISTRATION);
    hdr(&reg, &E.w[1], 3002);
    reg.task_id_hash = idh;
    reg.reg.role = PU_ROLE_EVALUATOR;
    reg.reg.stake = PU_COIN;
    reg.reg.min_task_fee = 5 * PU_COIN; /* claims are free */
    tx = raw_tx(PU_TX_BUY_TICKETS, &E.w[1], gen_coin(1, 0), c50, PU_COIN, tb, sizeof tb, &reg, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    reg.reg.role = PU_ROLE_MINER;
    reg.reg.stake = 2 * PU_COIN;
    tx = raw_tx(PU_TX_BUY_TICKETS, &E.w[1], gen_coin(1, 0), c50, PU_COIN, tb, sizeof tb, &reg, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_OPRET);
    pu_tx_unref(tx);
    reg.reg.stake = PU_COIN;
    tx = raw_tx(PU_TX_BUY_TICKETS, &E.w[1], gen_coin(1, 0), c50, PU_COIN, tb, sizeof tb, &reg, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_OK);
    pu_tx_unref(tx);
    /* kind rules: any-task tickets, a stake under the unit, too many entries */
    pu_hash32 zero = {{0}};
    tk = tickets(ec, &zero, &E.w[2], gen_coin(2, 0), c50, PU_ROLE_MINER, PU_COIN, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_KIND_RULE);
    pu_tx_unref(tk);
    tk = tickets(ec, &id, &E.w[2], gen_coin(2, 0), c50, PU_ROLE_MINER, PU_COIN / 2, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_KIND_RULE);
    pu_tx_unref(tk);
    tk = tickets(ec, &id, &E.w[2], gen_coin(2, 0), c50, PU_ROLE_VERIFIER, 26 * PU_COIN, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_KIND_RULE); /* 260 entries of 0.1 coin */
    pu_tx_unref(tk);
    tk = tickets(ec, &id, &E.w[2], gen_coin(2, 0), c50, PU_ROLE_VERIFIER, 25 * PU_COIN, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_OK);
    pu_tx_unref(tk);
    /* results for an unknown task, and before training */
    uint32_t acc[1] = {500000};
    pu_tx *r = result(ec, &id, acc, 1, &E.w[5], gen_coin(5, 0), c50, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, r), PU_R_KIND_RULE);
    pu_tx_unref(r);
    pu_opret_msg rm;
    pu_opret_msg_init(&rm, PU_OPRET_TASK_RESULT);
    hdr(&rm, &E.w[5], 3002);
    pu_hash32 other = {{0x42}};
    pu_opret_task_id_hash(E.crypto, &other, &rm.task_id_hash);
    rm.result.test_samples = 1000;
    tx = raw_tx(PU_TX_PAYMENT, &E.w[5], gen_coin(5, 0), c50, 0, NULL, 0, &rm, 3002);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_KIND_RULE);
    pu_tx_unref(tx);
    pu_tx_unref(good);
    pu_chain_free(ch);
    pu_econ_free(ec);
}

/* ---- an absent evaluator, and a void task ------------------------------------------ */

static void test_timeout_and_void(void)
{
    pu_econ *ec = mk_econ(NULL, 0);
    pu_chain *ch = mk_chain(ec, NULL);
    pu_task a, v;
    small_task(&a, 31);
    small_task(&v, 32);
    pu_hash32 ida, idv;
    CU_ASSERT_FATAL(pu_task_id(&a, E.crypto, &ida) == PU_OK);
    CU_ASSERT_FATAL(pu_task_id(&v, E.crypto, &idv) == PU_OK);
    const pu_amount c50 = 50 * PU_COIN;
    /* h1: task a by wallet 0 and task v by wallet 1; a block that submits v
     * twice is refused (block-level rules run for every block) */
    pu_tx *s[3] = {submit(ec, &a, &E.w[0], gen_coin(0, 0), c50, 4001),
                   submit(ec, &v, &E.w[1], gen_coin(1, 0), c50, 4001),
                   submit(ec, &v, &E.w[2], gen_coin(2, 0), c50, 4001)};
    CU_ASSERT_EQUAL(mine(ch, s, 3, 4001, NULL), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(mine(ch, s, 2, 4001, NULL), PU_R_OK);
    check_supply(ch);
    /* h2: a: 3 miners, an evaluator who will never post; v: miners only */
    pu_tx *tk[5] = {
        tickets(ec, &ida, &E.w[3], gen_coin(3, 0), c50, PU_ROLE_MINER, PU_COIN, 4002),
        tickets(ec, &ida, &E.w[4], gen_coin(4, 0), c50, PU_ROLE_MINER, PU_COIN, 4002),
        tickets(ec, &ida, &E.w[5], gen_coin(5, 0), c50, PU_ROLE_MINER, PU_COIN, 4002),
        tickets(ec, &ida, &E.w[6], gen_coin(6, 0), c50, PU_ROLE_EVALUATOR, 3 * PU_COIN, 4002),
        tickets(ec, &idv, &E.w[7], gen_coin(7, 0), c50, PU_ROLE_MINER, 2 * PU_COIN, 4002)};
    CU_ASSERT_EQUAL(mine(ch, tk, 5, 4002, NULL), PU_R_OK);
    for (uint64_t t = 4003; t <= 4004; t++)
        CU_ASSERT_EQUAL(mine(ch, NULL, 0, t, NULL), PU_R_OK); /* hc = 4 */
    check_supply(ch);
    pu_task_state st;
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &ida, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &idv, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_FINALISATION); /* no evaluator: void */

    /* v: everything back */
    pu_tx *sv = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &idv, &sv), PU_OK);
    pu_amount before[32], delta[32] = {0};
    snapshot(ch, before);
    expect(delta, &E.w[1].addr, 10 * PU_COIN);
    expect(delta, &E.w[7].addr, 2 * PU_COIN);
    expect(delta, &POOL.addr, REWARD);
    CU_ASSERT_EQUAL(pu_tx_n_in(sv), 2);
    CU_ASSERT_EQUAL(mine(ch, &sv, 1, 4005, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sv), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.econ.kind, PU_OPRET_ECON_REFUND);
    CU_ASSERT_EQUAL(m.econ.total, 12 * PU_COIN);
    CU_ASSERT_EQUAL(m.econ.n_slashed, 0);

    /* a: training until hc + T = 8, finalisation from the block at 9 on */
    for (uint64_t t = 4006; t <= 4008; t++) {
        CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &ida, &st), PU_OK);
        CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING);
        CU_ASSERT_EQUAL(mine(ch, NULL, 0, t, NULL), PU_R_OK);
    }
    CU_ASSERT_EQUAL(pu_chain_height(ch), 8);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &ida, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_FINALISATION);
    /* a late result is refused */
    uint32_t acc[3] = {800000, 800000, 800000};
    pu_tx *late = result(ec, &ida, acc, 3, &E.w[6], out_of(tk[3], 0), 47 * PU_COIN - FEE, 4009);
    CU_ASSERT_EQUAL(add_tx(ch, late), PU_R_KIND_RULE);
    pu_tx_unref(late);
    /* unevaluated: the evaluator's 3 coins are slashed to the client, who
     * also gets the whole fee back; the miners keep their stakes */
    pu_tx *sa = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &ida, &sa), PU_OK);
    memset(delta, 0, sizeof delta);
    snapshot(ch, before);
    expect(delta, &E.w[0].addr, 10 * PU_COIN + 3 * PU_COIN);
    for (int w = 3; w <= 5; w++)
        expect(delta, &E.w[w].addr, PU_COIN);
    expect(delta, &POOL.addr, REWARD);
    CU_ASSERT_EQUAL(pu_tx_n_out(sa), 4);
    CU_ASSERT_EQUAL(mine(ch, &sa, 1, 4009, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    CU_ASSERT_EQUAL(pu_utxo_locked(pu_chain_utxo(ch)), 0);
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sa), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.econ.kind, PU_OPRET_ECON_REFUND);
    CU_ASSERT_EQUAL(m.econ.slashed, 3 * PU_COIN);
    CU_ASSERT_EQUAL(m.econ.n_slashed, 1);
    pu_hash32 ids[4];
    CU_ASSERT_EQUAL(pu_econ_tasks(ec, ch, PU_PHASE_SETTLED, ids, 4), 2);
    CU_ASSERT_TRUE(pu_hash_eq(&ids[0], &ida)); /* submission order: a came first */
    for (int i = 0; i < 3; i++)
        pu_tx_unref(s[i]);
    for (int i = 0; i < 5; i++)
        pu_tx_unref(tk[i]);
    pu_tx_unref(sa);
    pu_tx_unref(sv);
    pu_chain_free(ch);
    pu_econ_free(ec);
}

/* ---- two evaluators, and a task whose best model misses min_accuracy ---- */

/* Wallet whose key is pub (tests' miners are wallets). */
static int wallet_of(const uint8_t *pub)
{
    for (int w = 0; w < TU_WALLETS; w++)
        if (!memcmp(E.w[w].pub, pub, 33))
            return w;
    CU_FAIL("not a wallet");
    return 0;
}

static void test_two_evaluators_missed(void)
{
    pu_econ *ec = mk_econ(VER, 2);
    pu_chain *ch = mk_chain(ec, NULL);
    pu_task t;
    small_task(&t, 41);
    pu_hash32 id;
    CU_ASSERT_FATAL(pu_task_id(&t, E.crypto, &id) == PU_OK);
    const pu_amount c50 = 50 * PU_COIN;
    pu_tx *s = submit(ec, &t, &E.w[0], gen_coin(0, 0), c50, 5001);
    CU_ASSERT_EQUAL(mine(ch, &s, 1, 5001, NULL), PU_R_OK);
    pu_tx *tk[5];
    for (int w = 1; w <= 3; w++)
        tk[w - 1] = tickets(ec, &id, &E.w[w], gen_coin(w, 0), c50, PU_ROLE_MINER, PU_COIN, 5002);
    tk[3] = tickets(ec, &id, &E.w[4], gen_coin(4, 0), c50, PU_ROLE_EVALUATOR, PU_COIN, 5002);
    tk[4] = tickets(ec, &id, &E.w[5], gen_coin(5, 0), c50, PU_ROLE_EVALUATOR, PU_COIN, 5002);
    CU_ASSERT_EQUAL(mine(ch, tk, 5, 5002, NULL), PU_R_OK);
    for (uint64_t ts = 5003; ts <= 5004; ts++)
        CU_ASSERT_EQUAL(mine(ch, NULL, 0, ts, NULL), PU_R_OK);
    pu_task_state st;
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.n_seats[0], 3);
    CU_ASSERT_EQUAL(st.n_seats[1], 0); /* nobody applied: evaluators take the whole quota */
    CU_ASSERT_EQUAL(st.n_seats[2], 2);
    /* seats 0 and 1 deliver models above chance but under the task's 0.85 */
    pu_hash32 h[2];
    uint32_t acc[3] = {0, 0, UINT32_MAX}, chance = 1000000 / t.classes;
    trained(&t, 10, &h[0], &acc[0]);
    trained(&t, 6, &h[1], &acc[1]);
    CU_ASSERT_FATAL(acc[0] < t.min_accuracy_ppm && acc[0] > acc[1] && acc[1] > chance);
    pu_tx *anc[2];
    for (int k = 0; k < 2; k++) {
        int w = wallet_of(st.seat[0][k].pub);
        anc[k] = anchor(ec, &id, &h[k], 4, &E.w[w], out_of(tk[w - 1], 0), 49 * PU_COIN - FEE, 5005);
    }
    CU_ASSERT_EQUAL(mine(ch, anc, 2, 5005, NULL), PU_R_OK);
    pu_tx *r[2] = {result_full(ec, &id, acc, 3, &h[0], 4, &E.w[4], out_of(tk[3], 0), 49 * PU_COIN - FEE, 5006),
                   result_full(ec, &id, acc, 3, &h[0], 4, &E.w[5], out_of(tk[4], 0), 49 * PU_COIN - FEE, 5006)};
    CU_ASSERT_EQUAL(mine(ch, r, 1, 5006, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING); /* one evaluator still to come */
    CU_ASSERT_EQUAL(st.n_results, 1);
    CU_ASSERT_EQUAL(mine(ch, r + 1, 1, 5007, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_FINALISATION);
    /* missed: the best model (acc[0]) is under min_accuracy, so no miner is
     * paid and M = 7 coins goes back to the client; the two miners above
     * chance keep their stakes, seat 2 (no model) is slashed to the client;
     * the evaluators share Q = 3 coins. */
    pu_tx *sx = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &id, &sx), PU_OK);
    pu_amount before[32], delta[32] = {0};
    snapshot(ch, before);
    expect(delta, &st.seat[0][0].addr, PU_COIN);
    expect(delta, &st.seat[0][1].addr, PU_COIN);
    expect(delta, &E.w[4].addr, PU_COIN + 150000000);
    expect(delta, &E.w[5].addr, PU_COIN + 150000000);
    expect(delta, &E.w[0].addr, 7 * PU_COIN + PU_COIN);
    expect(delta, &POOL.addr, REWARD);
    CU_ASSERT_EQUAL(mine(ch, &sx, 1, 5008, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    uint32_t blen;
    const uint8_t *body = pu_tx_body(sx, &blen);
    CU_ASSERT_EQUAL(body[33], 4); /* missed */
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.econ.kind, PU_OPRET_ECON_SETTLEMENT);
    CU_ASSERT_EQUAL(m.econ.to_miners, 0);
    CU_ASSERT_EQUAL(m.econ.n_miners, 0);
    CU_ASSERT_EQUAL(m.econ.to_evaluators, 300000000);
    CU_ASSERT_EQUAL(m.econ.slashed, PU_COIN);
    pu_tx_unref(sx);
    for (int i = 0; i < 5; i++)
        pu_tx_unref(tk[i]);
    for (int i = 0; i < 2; i++) {
        pu_tx_unref(r[i]);
        pu_tx_unref(anc[i]);
    }
    pu_tx_unref(s);
    pu_chain_free(ch);
    pu_econ_free(ec);
}

/* ---- a reorganisation that replaces the closing block ------------------------------ */

static void test_reorg_changes_selection(void)
{
    pu_valcache *vc = NULL;
    CU_ASSERT_FATAL(pu_valcache_new(&vc) == PU_OK);
    pu_econ *ec = mk_econ(NULL, 0);
    pu_chain *a = mk_chain(ec, vc);
    pu_task t;
    small_task(&t, 51);
    pu_hash32 id;
    CU_ASSERT_FATAL(pu_task_id(&t, E.crypto, &id) == PU_OK);
    const pu_amount c50 = 50 * PU_COIN;
    pu_tx *s = submit(ec, &t, &E.w[0], gen_coin(0, 0), c50, 6001);
    CU_ASSERT_EQUAL(mine(a, &s, 1, 6001, NULL), PU_R_OK);
    pu_tx *tk[7];
    tk[0] = tickets(ec, &id, &E.w[7], gen_coin(7, 0), c50, PU_ROLE_MINER, PU_COIN, 6002);
    for (int w = 1; w <= 6; w++) /* six evaluators for one seat */
        tk[w] = tickets(ec, &id, &E.w[w], gen_coin(w, 0), c50, PU_ROLE_EVALUATOR, PU_COIN, 6002);
    CU_ASSERT_EQUAL(mine(a, tk, 7, 6002, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(mine(a, NULL, 0, 6003, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(mine(a, NULL, 0, 6004, NULL), PU_R_OK); /* closes: hc = 4 */
    CU_ASSERT_EQUAL(mine(a, NULL, 0, 6005, NULL), PU_R_OK);
    pu_task_state sa, sb;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, a, &id, &sa), PU_OK);
    CU_ASSERT_EQUAL(sa.n_seats[2], 1);
    pu_chain *orig = mk_chain(ec, vc); /* follows the original branch */
    feed(orig, a, 1, 5);
    /* another closing block: try timestamps until the draw differs */
    pu_chain *b = NULL;
    bool differs = false;
    for (uint64_t k = 0; k < 30 && !differs; k++) {
        pu_chain_free(b);
        b = mk_chain(ec, vc);
        feed(b, a, 1, 3);
        CU_ASSERT_EQUAL(mine(b, NULL, 0, 6100 + k, NULL), PU_R_OK);
        CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, b, &id, &sb), PU_OK);
        differs = memcmp(sb.seat[2][0].pub, sa.seat[2][0].pub, 33) != 0;
    }
    CU_ASSERT_TRUE_FATAL(differs);
    CU_ASSERT_EQUAL(mine(b, NULL, 0, 6200, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(mine(b, NULL, 0, 6201, NULL), PU_R_OK);
    feed(a, b, 4, 6); /* more work: a switches to b's branch */
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(a), pu_chain_tip_hash(b)));
    pu_task_state s2;
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, a, &id, &s2), PU_OK);
    CU_ASSERT_EQUAL(memcmp(s2.seat[2][0].pub, sb.seat[2][0].pub, 33), 0);
    CU_ASSERT_EQUAL(s2.phase, PU_PHASE_TRAINING);
    check_supply(a);
    /* and back: the original branch grows longer */
    CU_ASSERT_EQUAL(mine(orig, NULL, 0, 6300, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(mine(orig, NULL, 0, 6301, NULL), PU_R_OK);
    feed(a, orig, 6, 7);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(a), pu_chain_tip_hash(orig)));
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, a, &id, &s2), PU_OK);
    CU_ASSERT_EQUAL(memcmp(s2.seat[2][0].pub, sa.seat[2][0].pub, 33), 0);
    CU_ASSERT_EQUAL(memcmp(s2.seat[0][0].pub, E.w[7].pub, 33), 0);
    check_supply(a);
    /* a result of the evaluator of one branch is refused on the other */
    int wa = -1, wb = -1;
    for (int w = 1; w <= 6; w++) {
        if (!memcmp(E.w[w].pub, sa.seat[2][0].pub, 33))
            wa = w;
        if (!memcmp(E.w[w].pub, sb.seat[2][0].pub, 33))
            wb = w;
    }
    CU_ASSERT_FATAL(wa > 0 && wb > 0);
    uint32_t acc[1] = {UINT32_MAX}; /* nobody anchored a model: nothing to rank */
    pu_tx *ra = result(ec, &id, acc, 1, &E.w[wa], out_of(tk[wa], 0), 49 * PU_COIN - FEE, 6400);
    pu_tx *rb = result(ec, &id, acc, 1, &E.w[wb], out_of(tk[wb], 0), 49 * PU_COIN - FEE, 6400);
    CU_ASSERT_EQUAL(add_tx(a, ra), PU_R_OK);
    CU_ASSERT_EQUAL(add_tx(a, rb), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(add_tx(b, rb), PU_R_OK);
    CU_ASSERT_EQUAL(add_tx(b, ra), PU_R_KIND_RULE);
    pu_tx_unref(ra);
    pu_tx_unref(rb);
    for (int i = 0; i < 7; i++)
        pu_tx_unref(tk[i]);
    pu_tx_unref(s);
    pu_chain_free(a);
    pu_chain_free(b);
    pu_chain_free(orig);
    pu_econ_free(ec);
    pu_valcache_free(vc);
}

/* ---- misconduct: evidence, slashing, verifier attestations ------------------------ */

/* Miner index `mi`'s honest iteration 0 of the cycle's task, signed by k
 * (its start, the task's initial state, put in the record). */
static void honest_msg(pu_econ *ec, const cycle *c, uint32_t mi, const pu_keypair *k, pu_iter_msg *m)
{
    pu_pouw_task_view v;
    CU_ASSERT_FATAL(pu_econ_task_view(ec, c->ch, &c->id, &v) == PU_OK);
    pu_ml_arch a;
    pu_task_arch(&c->t, &a);
    uint32_t np;
    pu_ml_ws *ws = NULL;
    pu_ml_model *m0 = NULL, *m1 = NULL;
    pu_ml_resid *r0 = NULL, *r1 = NULL;
    pu_ml_update *u = NULL;
    CU_ASSERT_FATAL(pu_ml_arch_check(&a, &np) == PU_OK && pu_ml_ws_new(&a, c->t.batch_size, &ws) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &m0) == PU_OK && pu_ml_model_new(&a, false, &m1) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_new(np, &r0) == PU_OK && pu_ml_resid_new(np, &r1) == PU_OK
                    && pu_ml_update_new(&u) == PU_OK);
    pu_ml_model_init(m0, c->t.task_seed);
    CU_ASSERT_FATAL(pu_pouw_store_put_model(STORE, E.crypto, ws, m0, NULL) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_store_put_resid(STORE, E.crypto, ws, r0, NULL) == PU_OK);
    memset(m, 0, sizeof *m);
    CU_ASSERT_FATAL(pu_pouw_iterate(E.crypto, ws, &v, mi, 0, m0, r0, NULL, NULL, 0, m1, r1, u, m) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_store_put_update(STORE, E.crypto, ws, u, NULL) == PU_OK);
    CU_ASSERT_FATAL(pu_iter_msg_sign(E.crypto, m, k) == PU_OK);
    pu_ml_update_free(u);
    pu_ml_resid_free(r0);
    pu_ml_resid_free(r1);
    pu_ml_model_free(m0);
    pu_ml_model_free(m1);
    pu_ml_ws_free(ws);
}

/* An EVIDENCE transaction with body (freed here) about message m from k,
 * its record stating the finding with reason `claim`. */
static pu_tx *evidence_tx(pu_econ *ec, const pu_hash32 *id, uint8_t *body, size_t len, const pu_iter_msg *m,
                          pu_pouw_reason claim, const pu_keypair *k, pu_outpoint op, pu_amount amount,
                          uint64_t ts)
{
    pu_pouw_finding f;
    memset(&f, 0, sizeof f);
    f.miner_index = m->miner_index;
    f.seq = m->seq;
    f.reason = claim;
    CU_ASSERT_FATAL(pu_iter_msg_id(E.crypto, m, &f.object) == PU_OK);
    pu_econ_inputs in = {&op, &amount, 1, k, FEE, ts};
    pu_tx *tx = NULL;
    CU_ASSERT_FATAL(pu_econ_evidence(ec, id, &f, body, len, &in, &tx) == PU_OK);
    free(body);
    return tx;
}

/* An EVIDENCE transaction about m from k, its record stating f (optionally
 * with another reason). */
static pu_tx *evidence(pu_econ *ec, const pu_hash32 *id, const pu_iter_msg *m, pu_pouw_reason claim,
                       const pu_keypair *k, pu_outpoint op, pu_amount amount, uint64_t ts)
{
    uint8_t *body;
    size_t len;
    CU_ASSERT_FATAL(pu_pouw_evidence_message(m, &body, &len) == PU_OK);
    return evidence_tx(ec, id, body, len, m, claim, k, op, amount, ts);
}

/* HISTORY evidence from k: b, linked to a, does not start where a ended. */
static pu_tx *evidence_hist(pu_econ *ec, const pu_hash32 *id, const pu_iter_msg *a, const pu_iter_msg *b,
                            const pu_keypair *k, pu_outpoint op, pu_amount amount, uint64_t ts)
{
    uint8_t *body;
    size_t len;
    CU_ASSERT_FATAL(pu_pouw_evidence_history(a, b, &body, &len) == PU_OK);
    return evidence_tx(ec, id, body, len, b, PU_POUW_BAD_HISTORY, k, op, amount, ts);
}

/* A verifier's attestation of the block at height h of ch. */
static pu_tx *attestation(pu_econ *ec, const pu_hash32 *id, const pu_chain *ch, uint32_t h, uint8_t outcome,
                          const pu_keypair *k, pu_outpoint op, pu_amount amount, uint64_t ts)
{
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_VERIFICATION_PROOF);
    m.proof.height = h;
    if (h <= pu_chain_height(ch))
        memcpy(m.proof.block_hash, pu_block_hash(pu_chain_block_at(ch, h))->b, 8);
    m.proof.outcome = outcome;
    return record(ec, id, &m, k, op, amount, ts);
}

/* A supervisor proves a seated miner's forged iteration with EVIDENCE: the
 * miner's stake is slashed at settlement and it gets no fee share, however
 * good its final model; false, unseated and repeated accusations are
 * refused; a verifier that attested a valid block as bad is slashed. */
static void test_misconduct_slashed(void)
{
    pu_econ *ec = mk_econ(VER, 0);
    cycle c;
    cycle_setup(&c, ec);
    pu_chain *ch = c.ch;
    pu_task_state st;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    pu_outpoint op0, op1, ops, opv;
    pu_amount am0, am1, ams, amv;
    const pu_keypair *k0 = cycle_seat(&c, &st.seat[0][0], &op0, &am0);
    const pu_keypair *k1 = cycle_seat(&c, &st.seat[0][1], &op1, &am1);
    const pu_keypair *ks = cycle_seat(&c, &st.seat[1][0], &ops, &ams);
    const pu_keypair *kv = cycle_seat(&c, &st.seat[3][0], &opv, &amv);
    pu_iter_msg honest, forged;
    honest_msg(ec, &c, 0, k0, &honest);
    forged = honest;
    forged.correct += 3; /* made-up metrics */
    CU_ASSERT_FATAL(pu_iter_msg_sign(E.crypto, &forged, k0) == PU_OK);
    /* refused: an honest message, a claim that is not what the evidence
     * proves, a poster holding no seat */
    pu_tx *no = evidence(ec, &c.id, &honest, PU_POUW_METRICS_MISMATCH, ks, ops, ams, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, no), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, no), PU_ECON_NOT_PROVEN);
    pu_tx_unref(no);
    no = evidence(ec, &c.id, &forged, PU_POUW_REEXEC_MISMATCH, ks, ops, ams, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, no), PU_R_TX_BAD_OPRET);
    CU_ASSERT_EQUAL(detail(ec, no), PU_ECON_RECORD);
    pu_tx_unref(no);
    no = evidence(ec, &c.id, &forged, PU_POUW_METRICS_MISMATCH, &E.w[0], gen_coin(0, 1), 50 * PU_COIN, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, no), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, no), PU_ECON_NOT_SEATED);
    pu_tx_unref(no);
    /* proven */
    pu_tx *h6[2] = {evidence(ec, &c.id, &forged, PU_POUW_METRICS_MISMATCH, ks, ops, ams, 2006), NULL};
    CU_ASSERT_EQUAL(add_tx(ch, h6[0]), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, h6, 1, 2006, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.proven[0], PU_POUW_METRICS_MISMATCH);
    CU_ASSERT_EQUAL(st.proven[1], 0);
    pu_iter_msg again = honest;
    again.loss_e9 += 1;
    CU_ASSERT_FATAL(pu_iter_msg_sign(E.crypto, &again, k0) == PU_OK);
    no = evidence(ec, &c.id, &again, PU_POUW_METRICS_MISMATCH, ks, out_of(h6[0], 0), ams - FEE, 2007);
    CU_ASSERT_EQUAL(add_tx(ch, no), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, no), PU_ECON_ALREADY_PROVEN);
    pu_tx_unref(no);
    /* the forger still anchors the better model; the supervisor votes no */
    pu_hash32 ha, hb;
    uint32_t acc_a, acc_b;
    trained(&c.t, 22, &ha, &acc_a);
    trained(&c.t, 24, &hb, &acc_b); /* also good enough: the task is evaluated */
    CU_ASSERT_FATAL(acc_b >= c.t.min_accuracy_ppm);
    pu_opret_msg vote;
    pu_opret_msg_init(&vote, PU_OPRET_CONSENSUS_VOTE);
    vote.vote.subject = PU_OPRET_SUBJ_ITERATION;
    vote.vote.vote = PU_OPRET_VOTE_NO;
    vote.vote.reason = PU_POUW_METRICS_MISMATCH;
    /* and the verifier wrongly calls the (valid) block at 6 bad */
    h6[1] = attestation(ec, &c.id, ch, 6, PU_OPRET_VERIFY_BAD_REEXEC, kv, opv, amv, 2007);
    pu_tx *h7[4] = {anchor(ec, &c.id, &ha, 4, k0, op0, am0, 2007), anchor(ec, &c.id, &hb, 4, k1, op1, am1, 2007),
                    record(ec, &c.id, &vote, ks, out_of(h6[0], 0), ams - FEE, 2007), h6[1]};
    CU_ASSERT_EQUAL(add_tx(ch, h6[1]), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, h7, 4, 2007, NULL), PU_R_OK);
    uint32_t acc[3] = {acc_a, acc_b, UINT32_MAX};
    pu_tx *res = result_full(ec, &c.id, acc, 3, acc_a >= acc_b ? &ha : &hb, 4, &E.w[5], out_of(c.tk[4], 0), 49 * PU_COIN - FEE, 2008);
    CU_ASSERT_EQUAL(mine(ch, &res, 1, 2008, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL_FATAL(st.phase, PU_PHASE_FINALISATION);
    /* only miner 1 is honest: it takes all of M = 7 coins; miners 0
     * (proven) and 2 (no model) and the verifier are slashed to the client;
     * the supervisor and the evaluator share Q = 3 coins. */
    pu_tx *sx = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &c.id, &sx), PU_OK);
    pu_amount before[32], delta[32] = {0};
    snapshot(ch, before);
    expect(delta, &st.seat[0][1].addr, st.seat[0][1].stake + 7 * PU_COIN);
    expect(delta, &st.seat[1][0].addr, st.seat[1][0].stake + 150000000);
    expect(delta, &E.w[5].addr, PU_COIN + 150000000);
    expect(delta, &E.w[0].addr, st.seat[0][0].stake + st.seat[0][2].stake + st.seat[3][0].stake);
    expect(delta, &POOL.addr, REWARD);
    expect_returned(&c, &st, 4, delta);
    CU_ASSERT_EQUAL(mine(ch, &sx, 1, 2009, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.econ.to_miners, 7 * PU_COIN);
    CU_ASSERT_EQUAL(m.econ.n_miners, 1);
    CU_ASSERT_EQUAL(m.econ.n_slashed, 3);
    CU_ASSERT_EQUAL(m.econ.slashed, st.seat[0][0].stake + st.seat[0][2].stake + st.seat[3][0].stake);
    pu_tx_unref(sx);
    pu_tx_unref(res);
    for (int i = 0; i < 3; i++)
        pu_tx_unref(h7[i]);
    for (int i = 0; i < 2; i++)
        pu_tx_unref(h6[i]);
    cycle_release(&c);
    pu_econ_free(ec);
}

/* A supervisor's report of a forged history (PROTOCOL.md s5, SPEC s7): miner
 * 0's second message names its first as prev but starts from the initial
 * state instead of the first one's end.  The supervisor posts the two
 * messages as HISTORY evidence and votes no (BAD_HISTORY); the miner's stake
 * goes to the client although its model is above chance, the honest miners
 * share M, the supervisor and the evaluator Q, and every coin is accounted
 * for.  Evidence of two messages that do join proves nothing. */
static void test_forged_history_slashed(void)
{
    pu_econ *ec = mk_econ(VER, 0);
    cycle c;
    cycle_setup(&c, ec);
    pu_chain *ch = c.ch;
    pu_task_state st;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL_FATAL(st.n_seats[0], 3);
    CU_ASSERT_EQUAL_FATAL(st.n_seats[1], 1);
    pu_outpoint op[3], ops;
    pu_amount am[3], ams;
    const pu_keypair *km[3];
    for (int i = 0; i < 3; i++)
        km[i] = cycle_seat(&c, &st.seat[0][i], &op[i], &am[i]);
    const pu_keypair *ks = cycle_seat(&c, &st.seat[1][0], &ops, &ams);
    pu_iter_msg first, joined, forged;
    honest_msg(ec, &c, 0, km[0], &first);
    CU_ASSERT_FATAL(!pu_hash_eq(&first.model_start, &first.model_end));
    joined = first; /* seq 1 linked to seq 0, starting where it ended */
    joined.seq = 1;
    CU_ASSERT_FATAL(pu_iter_msg_id(E.crypto, &first, &joined.prev) == PU_OK);
    joined.model_start = first.model_end;
    joined.resid_start = first.resid_end;
    CU_ASSERT_FATAL(pu_iter_msg_sign(E.crypto, &joined, km[0]) == PU_OK);
    forged = joined; /* the same link, but a start the first message never reached */
    forged.model_start = first.model_start;
    CU_ASSERT_FATAL(pu_iter_msg_sign(E.crypto, &forged, km[0]) == PU_OK);
    pu_tx *no = evidence_hist(ec, &c.id, &first, &joined, ks, ops, ams, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, no), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, no), PU_ECON_NOT_PROVEN);
    pu_tx_unref(no);
    pu_tx *ev = evidence_hist(ec, &c.id, &first, &forged, ks, ops, ams, 2006);
    CU_ASSERT_EQUAL(add_tx(ch, ev), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, &ev, 1, 2006, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.proven[0], PU_POUW_BAD_HISTORY);
    CU_ASSERT_EQUAL(st.proven[1], 0);
    CU_ASSERT_EQUAL(st.proven[2], 0);
    /* every miner anchors a model above chance (the forger's too); the
     * supervisor votes no with what it found */
    pu_hash32 h[3];
    uint32_t acc[3], chance = 1000000 / c.t.classes;
    trained(&c.t, 12, &h[0], &acc[0]);
    trained(&c.t, 22, &h[1], &acc[1]);
    trained(&c.t, 6, &h[2], &acc[2]);
    CU_ASSERT_FATAL(acc[1] >= c.t.min_accuracy_ppm && acc[1] > acc[0] && acc[0] > acc[2] && acc[2] > chance);
    pu_opret_msg vote;
    pu_opret_msg_init(&vote, PU_OPRET_CONSENSUS_VOTE);
    vote.vote.subject = PU_OPRET_SUBJ_ITERATION;
    vote.vote.vote = PU_OPRET_VOTE_NO;
    vote.vote.reason = PU_POUW_BAD_HISTORY;
    vote.vote.epoch = 3;
    vote.vote.iteration = 2;
    pu_tx *h7[4];
    for (int i = 0; i < 3; i++)
        h7[i] = anchor(ec, &c.id, &h[i], 4, km[i], op[i], am[i], 2007);
    h7[3] = record(ec, &c.id, &vote, ks, out_of(ev, 0), ams - FEE, 2007);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(add_tx(ch, h7[i]), PU_R_OK);
    CU_ASSERT_EQUAL(mine(ch, h7, 4, 2007, NULL), PU_R_OK);
    pu_tx *res = result_full(ec, &c.id, acc, 3, &h[1], 4, &E.w[5], out_of(c.tk[4], 0), 49 * PU_COIN - FEE, 2008);
    CU_ASSERT_EQUAL(mine(ch, &res, 1, 2008, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL_FATAL(st.phase, PU_PHASE_FINALISATION);
    CU_ASSERT_EQUAL(st.n_votes, 1);
    CU_ASSERT_TRUE(st.anchored[0] && st.anchored[1] && st.anchored[2]);
    CU_ASSERT_EQUAL(st.proven[0], PU_POUW_BAD_HISTORY);
    /* M = 7 coins to miners 1 and 2 by accuracy above chance; Q = 3 coins
     * to the supervisor who voted and the evaluator (1.5 each; the silent
     * verifier keeps its stake unpaid); miner 0's stake and the floors'
     * remainder to the client */
    uint64_t w1 = acc[1] - chance, w2 = acc[2] - chance;
    pu_amount p1 = share_of(7 * PU_COIN, w1, w1 + w2), p2 = share_of(7 * PU_COIN, w2, w1 + w2);
    pu_tx *sx = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &c.id, &sx), PU_OK);
    CU_ASSERT_EQUAL(out_sum(sx), 10 * PU_COIN + c.staked);
    pu_amount before[32], delta[32] = {0};
    snapshot(ch, before);
    expect(delta, &st.seat[0][1].addr, st.seat[0][1].stake + p1);
    expect(delta, &st.seat[0][2].addr, st.seat[0][2].stake + p2);
    expect(delta, &st.seat[1][0].addr, st.seat[1][0].stake + 150000000);
    expect(delta, &E.w[5].addr, PU_COIN + 150000000);
    expect(delta, &E.w[0].addr, 7 * PU_COIN - p1 - p2 + st.seat[0][0].stake);
    expect(delta, &POOL.addr, REWARD);
    expect_returned(&c, &st, 3, delta);
    CU_ASSERT_EQUAL(mine(ch, &sx, 1, 2009, NULL), PU_R_OK);
    check_supply(ch);
    check_deltas(ch, before, delta);
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    CU_ASSERT_EQUAL(m.econ.to_miners, p1 + p2);
    CU_ASSERT_EQUAL(m.econ.n_miners, 2);
    CU_ASSERT_EQUAL(m.econ.to_supervisors, 150000000);
    CU_ASSERT_EQUAL(m.econ.to_evaluators, 150000000);
    CU_ASSERT_EQUAL(m.econ.n_slashed, 1);
    CU_ASSERT_EQUAL(m.econ.slashed, st.seat[0][0].stake);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_SETTLED);
    pu_tx_unref(sx);
    pu_tx_unref(res);
    for (int i = 0; i < 4; i++)
        pu_tx_unref(h7[i]);
    pu_tx_unref(ev);
    cycle_release(&c);
    pu_econ_free(ec);
}

/* The task-group records every node checks (GRADIENT_SHARE, the verifiers'
 * VERIFICATION_PROOF), an absent supervisor, a verifier paid for right
 * attestations, and corrupted records of every op code. */
static void test_records(void)
{
    pu_econ *ec = mk_econ(VER, 0);
    cycle c;
    cycle_setup(&c, ec);
    pu_chain *ch = c.ch;
    pu_task_state st;
    CU_ASSERT_EQUAL_FATAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    pu_outpoint op0, opv;
    pu_amount am0, amv;
    const pu_keypair *k0 = cycle_seat(&c, &st.seat[0][0], &op0, &am0);
    const pu_keypair *kv = cycle_seat(&c, &st.seat[3][0], &opv, &amv);
    pu_opret_msg g;
    pu_opret_msg_init(&g, PU_OPRET_GRADIENT_SHARE);
    g.grad.iteration = 5;
    g.grad.epoch = 1; /* 4 iterations per epoch */
    g.grad.tau_micro = (uint32_t)(c.t.tau_e9 / 1000);
    g.grad.train_accuracy_ppm = 500000;
    const struct { int edit; pu_econ_reason want; } cases[] = {
        {1, PU_ECON_FIELD},      /* another tau */
        {2, PU_ECON_FIELD},      /* the wrong epoch */
        {3, PU_ECON_FIELD},      /* past max_iterations */
        {4, PU_ECON_NOT_SEATED}, /* not a miner */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pu_opret_msg x = g;
        x.grad.tau_micro += cases[i].edit == 1;
        x.grad.epoch += cases[i].edit == 2;
        if (cases[i].edit == 3) {
            x.grad.iteration = c.t.max_iterations;
            x.grad.epoch = c.t.max_iterations / 4;
        }
        pu_tx *tx = record(ec, &c.id, &x, cases[i].edit == 4 ? &E.w[5] : k0,
                           cases[i].edit == 4 ? out_of(c.tk[4], 0) : op0,
                           cases[i].edit == 4 ? 49 * PU_COIN - FEE : am0, 2006);
        CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_KIND_RULE);
        CU_ASSERT_EQUAL(detail(ec, tx), cases[i].want);
        pu_tx_unref(tx);
    }
    pu_tx *h6[2] = {record(ec, &c.id, &g, k0, op0, am0, 2006), NULL};
    CU_ASSERT_EQUAL(mine(ch, h6, 1, 2006, NULL), PU_R_OK);
    h6[1] = attestation(ec, &c.id, ch, 6, PU_OPRET_VERIFY_OK, kv, opv, amv, 2007);
    pu_tx *far = attestation(ec, &c.id, ch, 9, PU_OPRET_VERIFY_OK, kv, opv, amv, 2007);
    CU_ASSERT_EQUAL(add_tx(ch, far), PU_R_KIND_RULE); /* a height the branch does not have */
    CU_ASSERT_EQUAL(detail(ec, far), PU_ECON_FIELD);
    pu_tx_unref(far);
    pu_tx *early = attestation(ec, &c.id, ch, 5, PU_OPRET_VERIFY_OK, kv, opv, amv, 2007);
    CU_ASSERT_EQUAL(add_tx(ch, early), PU_R_KIND_RULE); /* the closing block: before training */
    pu_tx_unref(early);
    CU_ASSERT_EQUAL(mine(ch, h6 + 1, 1, 2007, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.shares[0], 6);
    g.grad.iteration = 4; /* shares go forward */
    pu_tx *back = record(ec, &c.id, &g, k0, out_of(h6[0], 0), am0 - FEE, 2008);
    CU_ASSERT_EQUAL(add_tx(ch, back), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, back), PU_ECON_REPEATED);
    pu_tx_unref(back);

    /* A corrupted record of any op code is refused by the node reading it:
     * one flipped byte breaks the CRC. */
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        pu_opret_msg x;
        CU_ASSERT_FATAL(pu_opret_sample(3, op, 0, &x) == PU_OK);
        uint8_t rec[PU_OPRET_SIZE];
        CU_ASSERT_FATAL(pu_opret_encode(CODEC, &x, rec) == PU_OK);
        rec[70] ^= 0x10;
        pu_tx *tx = raw_tx(PU_TX_PAYMENT, &E.w[0], gen_coin(0, 1), 50 * PU_COIN, 0, NULL, 0, NULL, 2007);
        pu_tx *bad = NULL;
        CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, 1, 0, &bad) == PU_OK);
        pu_tx_in_mut(bad, 0)->prev = gen_coin(0, 1);
        *pu_tx_out_mut(bad, 0) = *pu_tx_out(tx, 0);
        pu_tx_set_opret(bad, rec);
        pu_tx_set_timestamp(bad, 2007);
        const pu_keypair *k = &E.w[0];
        CU_ASSERT_FATAL(pu_tx_sign_all(E.crypto, bad, &k, 1) == PU_OK);
        CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, bad) == PU_OK);
        CU_ASSERT_EQUAL(add_tx(ch, bad), PU_R_TX_BAD_OPRET);
        CU_ASSERT_EQUAL(detail(ec, bad), PU_ECON_RECORD);
        pu_tx_unref(bad);
        pu_tx_unref(tx);
    }

    /* the supervisor never votes: results alone do not finalise the task,
     * it finalises at hc + T; the supervisor is slashed, the verifier
     * (right once) shares Q with the evaluator */
    uint32_t none[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
    pu_tx *res = result(ec, &c.id, none, 3, &E.w[5], out_of(c.tk[4], 0), 49 * PU_COIN - FEE, 2008);
    CU_ASSERT_EQUAL(mine(ch, &res, 1, 2008, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_TRAINING);
    CU_ASSERT_EQUAL(mine(ch, NULL, 0, 2009, NULL), PU_R_OK); /* height 9 = hc + T */
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &c.id, &st), PU_OK);
    CU_ASSERT_EQUAL_FATAL(st.phase, PU_PHASE_FINALISATION);
    pu_tx *sx = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &c.id, &sx), PU_OK);
    pu_opret_msg m;
    pu_opret_status ost;
    CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(sx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
    /* no model anchored: every miner slashed, M back to the client */
    CU_ASSERT_EQUAL(m.econ.to_miners, 0);
    CU_ASSERT_EQUAL(m.econ.n_supervisors, 1); /* the verifier, as an auditor */
    CU_ASSERT_EQUAL(m.econ.to_supervisors, 150000000);
    CU_ASSERT_EQUAL(m.econ.to_evaluators, 150000000);
    CU_ASSERT_EQUAL(m.econ.slashed, st.seat[0][0].stake + st.seat[0][1].stake + st.seat[0][2].stake
                                        + st.seat[1][0].stake);
    CU_ASSERT_EQUAL(mine(ch, &sx, 1, 2010, NULL), PU_R_OK);
    check_supply(ch);
    pu_tx_unref(sx);
    pu_tx_unref(res);
    for (int i = 0; i < 2; i++)
        pu_tx_unref(h6[i]);
    cycle_release(&c);
    pu_econ_free(ec);
}

/* A client's fee must follow the task's complexity (params.pouw_min_task_fee). */
static void test_fee_minimum(void)
{
    pu_econ *ec = mk_econ(VER, 0);
    pu_params p = E.params;
    p.pouw_min_task_fee = 20 * PU_COIN;
    pu_chain_opts o = {&p, E.crypto, E.sigcache, NULL, pu_econ_rules(ec)};
    pu_chain *ch = NULL;
    CU_ASSERT_FATAL(pu_chain_new(&o, E.genesis, &ch) == PU_OK);
    pu_task t;
    small_task(&t, 81); /* 10 coins */
    pu_amount want = pu_task_fee(&t, 20 * PU_COIN);
    CU_ASSERT_EQUAL(want, (pu_amount)20 * PU_COIN * pu_task_complexity_ppm(&t) / 1000000);
    CU_ASSERT(want > t.fee);
    pu_tx *tx = submit(ec, &t, &E.w[0], gen_coin(0, 0), 50 * PU_COIN, 8001);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_KIND_RULE);
    CU_ASSERT_EQUAL(detail(ec, tx), PU_ECON_FEE);
    pu_tx_unref(tx);
    t.fee = want;
    tx = submit(ec, &t, &E.w[0], gen_coin(0, 0), 50 * PU_COIN, 8001);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_OK);
    pu_tx_unref(tx);
    pu_chain_free(ch);
    pu_econ_free(ec);
}

/* ---- the ticket cap ----------------------------------------------------------- */

static void test_ticket_cap(void)
{
    pu_econ *ec = mk_econ(NULL, 0);
    pu_chain *ch = mk_chain(ec, NULL);
    pu_task t;
    small_task(&t, 71);
    pu_hash32 id;
    CU_ASSERT_FATAL(pu_task_id(&t, E.crypto, &id) == PU_OK);
    const uint32_t n = PU_ECON_MAX_TICKETS + 1;
    const pu_amount each = PU_COIN / 10 + FEE; /* a verifier's unit stake + fee: no change */
    pu_tx *fan = NULL;                         /* wallet 1 splits its 100 coins */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 2, n + 1, 0, &fan) == PU_OK);
    pu_tx_in_mut(fan, 0)->prev = gen_coin(1, 0);
    pu_tx_in_mut(fan, 1)->prev = gen_coin(1, 1);
    for (uint32_t i = 0; i < n; i++) {
        pu_tx_out_mut(fan, i)->amount = each;
        pu_tx_out_mut(fan, i)->addr = E.w[1].addr;
    }
    pu_tx_out_mut(fan, n)->amount = 100 * PU_COIN - (pu_amount)n * each - FEE;
    pu_tx_out_mut(fan, n)->addr = E.w[1].addr;
    const pu_keypair *k = &E.w[1];
    CU_ASSERT_FATAL(pu_tx_sign_all(E.crypto, fan, &k, 1) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, fan) == PU_OK);
    pu_tx *h1[2] = {fan, submit(ec, &t, &E.w[0], gen_coin(0, 0), 50 * PU_COIN, 7001)};
    CU_ASSERT_EQUAL(mine(ch, h1, 2, 7001, NULL), PU_R_OK);
    pu_tx **tk = calloc(n, sizeof *tk);
    CU_ASSERT_FATAL(tk != NULL);
    for (uint32_t i = 0; i < n; i++)
        tk[i] = tickets(ec, &id, &E.w[1], out_of(fan, i), each, PU_ROLE_VERIFIER, PU_COIN / 10,
                        7002);
    CU_ASSERT_EQUAL(mine(ch, tk, n - 1, 7002, NULL), PU_R_OK);
    pu_task_state st;
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.n_tickets, PU_ECON_MAX_TICKETS);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_REGISTRATION);
    CU_ASSERT_EQUAL(add_tx(ch, tk[n - 1]), PU_R_KIND_RULE);
    for (uint64_t ts = 7003; ts <= 7004; ts++)
        CU_ASSERT_EQUAL(mine(ch, NULL, 0, ts, NULL), PU_R_OK);
    /* no miner, no evaluator: void; the settlement of 501 locks still fits */
    CU_ASSERT_EQUAL(pu_econ_task_state(ec, ch, &id, &st), PU_OK);
    CU_ASSERT_EQUAL(st.phase, PU_PHASE_FINALISATION);
    CU_ASSERT_EQUAL(st.n_seats[3], 1); /* one key: one seat */
    pu_tx *sx = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_econ_settlement(ec, ch, &id, &sx), PU_OK);
    CU_ASSERT_EQUAL(pu_tx_n_in(sx), 1 + PU_ECON_MAX_TICKETS);
    CU_ASSERT_EQUAL(pu_tx_n_out(sx), 2);
    CU_ASSERT_EQUAL(mine(ch, &sx, 1, 7005, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_utxo_locked(pu_chain_utxo(ch)), 0);
    check_supply(ch);
    for (uint32_t i = 0; i < n; i++)
        pu_tx_unref(tk[i]);
    free(tk);
    pu_tx_unref(sx);
    pu_tx_unref(h1[0]);
    pu_tx_unref(h1[1]);
    pu_chain_free(ch);
    pu_econ_free(ec);
}

/* ---- the lottery alone: determinism, stake proportionality, Sybils ---------------- */

static void mk_ticket(pu_econ_ticket *t, uint32_t who, uint32_t n, uint8_t role, pu_amount stake)
{
    memset(t, 0, sizeof *t);
    t->w.pub[0] = 2;
    pu_put_be32(t->w.pub + 1, who);
    uint8_t b[8];
    pu_put_be32(b, who);
    pu_put_be32(b + 4, n);
    pu_sha256(E.crypto, b, sizeof b, &t->w.ticket);
    t->w.stake = stake;
    t->role = role;
}

/* Share of draws whose evaluator seat goes to a key in [lo, hi). */
static double eval_share(pu_econ *ec, const pu_task *task, const pu_econ_ticket *tk, size_t n,
                         uint32_t lo, uint32_t hi, uint32_t draws)
{
    uint32_t wins = 0;
    for (uint32_t i = 0; i < draws; i++) {
        uint8_t b[4];
        pu_hash32 seed;
        pu_put_be32(b, i);
        pu_sha256(E.crypto, b, sizeof b, &seed);
        uint32_t ns[PU_TASK_N_ROLES];
        pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS];
        CU_ASSERT_FATAL(pu_econ_select(ec, task, &seed, tk, n, ns, seat) == PU_OK);
        CU_ASSERT_EQUAL_FATAL(ns[2], 1);
        uint32_t who = pu_get_be32(seat[2][0].pub + 1);
        wins += who >= lo && who < hi;
    }
    return (double)wins / draws;
}

static void test_lottery(void)
{
    pu_econ *ec = mk_econ(NULL, 0);
    pu_task t;
    small_task(&t, 61);
    /* honest: keys 0 and 1 with 6 coins each; the Sybil: keys 100..107 with
     * 1 coin each (8 entries of 20: 40 %), or key 200 with all 8 coins */
    pu_econ_ticket split[10], whole[3];
    mk_ticket(&split[0], 0, 0, PU_ROLE_EVALUATOR, 6 * PU_COIN);
    mk_ticket(&split[1], 1, 0, PU_ROLE_EVALUATOR, 6 * PU_COIN);
    for (uint32_t i = 0; i < 8; i++)
        mk_ticket(&split[2 + i], 100 + i, 0, PU_ROLE_EVALUATOR, PU_COIN);
    whole[0] = split[0];
    whole[1] = split[1];
    mk_ticket(&whole[2], 200, 0, PU_ROLE_EVALUATOR, 8 * PU_COIN);
    const uint32_t draws = 4000; /* sd of a share near 0.4: 0.008 */
    double ps = eval_share(ec, &t, split, 10, 100, 108, draws);
    double pw = eval_share(ec, &t, whole, 3, 200, 201, draws);
    CU_ASSERT(ps > 0.36 && ps < 0.44);
    CU_ASSERT(pw > 0.36 && pw < 0.44);
    /* a 3-unit ticket wins three times as often as a 1-unit one */
    pu_econ_ticket two[2];
    mk_ticket(&two[0], 0, 0, PU_ROLE_EVALUATOR, 3 * PU_COIN);
    mk_ticket(&two[1], 1, 0, PU_ROLE_EVALUATOR, PU_COIN + PU_COIN / 2); /* 1 entry */
    double p3 = eval_share(ec, &t, two, 2, 0, 1, draws);
    CU_ASSERT(p3 > 0.72 && p3 < 0.78);

    /* deterministic, and independent of the tickets' order; one seat per key
     * and role, no key in two roles */
    pu_econ_ticket mix[12], rev[12];
    for (uint32_t i = 0; i < 12; i++)
        mk_ticket(&mix[i], i % 5, i, (uint8_t)(1 + i % 4), 2 * PU_COIN);
    for (uint32_t i = 0; i < 12; i++)
        rev[i] = mix[11 - i];
    pu_hash32 seed = {{9}};
    uint32_t n1[4], n2[4];
    pu_worker s1[4][PU_ECON_MAX_SEATS], s2[4][PU_ECON_MAX_SEATS];
    CU_ASSERT_FATAL(pu_econ_select(ec, &t, &seed, mix, 12, n1, s1) == PU_OK);
    CU_ASSERT_FATAL(pu_econ_select(ec, &t, &seed, rev, 12, n2, s2) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(n1, n2, sizeof n1), 0);
    uint32_t total = 0;
    for (uint32_t r = 0; r < 4; r++)
        for (uint32_t k = 0; k < n1[r]; k++) {
            CU_ASSERT_TRUE(pu_hash_eq(&s1[r][k].ticket, &s2[r][k].ticket));
            total++;
            for (uint32_t r2 = 0; r2 <= r; r2++)
                for (uint32_t k2 = 0; k2 < (r2 == r ? k : n1[r2]); k2++)
                    CU_ASSERT_NOT_EQUAL(memcmp(s1[r][k].pub, s1[r2][k2].pub, 33), 0);
        }
    CU_ASSERT(total <= 5); /* five distinct keys */
    pu_econ_free(ec);
}

/* The consensus settings a chain database records, and reading them back. */
static void test_describe_rules(void)
{
    pu_econ *e = mk_econ(NULL, 3);
    char text[160];
    pu_econ_describe(e, text, sizeof text);
    pu_econ_free(e);
    char want[160];
    snprintf(want, sizeof want, "task_timeout_blocks=%u supervisor_seats=1 evaluator_seats=3",
             (unsigned)T_TIMEOUT);
    CU_ASSERT_STRING_EQUAL(text, want);
    pu_econ_config c;
    memset(&c, 0, sizeof c);
    CU_ASSERT_EQUAL(pu_econ_config_parse(text, &c), PU_OK);
    CU_ASSERT_EQUAL(c.task_timeout_blocks, T_TIMEOUT);
    CU_ASSERT_EQUAL(c.supervisor_seats, 1);
    CU_ASSERT_EQUAL(c.evaluator_seats, 3);
    CU_ASSERT_EQUAL(pu_econ_config_parse("", &c), PU_OK);
    CU_ASSERT_EQUAL(pu_econ_config_parse("verifier_seats=2", &c), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_econ_config_parse("evaluator_seats=", &c), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_econ_config_parse("evaluator_seats=4294967296", &c), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_econ_config_parse("evaluator_seats=2x", &c), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_econ_config_parse("evaluator_seats", &c), PU_ERR_PARSE);
}

/* The config's miner_seats overrides the complexity rule: the lottery seats
 * that many miners, the submission record says so, the rules line records
 * it, and a task that leaves so many miners no full batch is refused. */
static void test_miner_seats(void)
{
    pu_task t;
    small_task(&t, 82);
    CU_ASSERT_EQUAL_FATAL(pu_task_required_miners(&t), 3);
    pu_econ_ticket tk[8];
    for (uint32_t i = 0; i < 8; i++)
        mk_ticket(&tk[i], i, 0, PU_ROLE_MINER, PU_COIN);
    pu_hash32 seed = {{5}};
    const uint32_t want[] = {3, 1, 3, 5};
    for (uint32_t seats = 0; seats <= PU_TASK_MAX_MINERS; seats += seats ? 2 : 1) {
        pu_econ_config c = {E.crypto, CODEC, NULL, NULL, T_TIMEOUT, 0, 0, false, false, seats};
        pu_econ *ec = NULL;
        CU_ASSERT_FATAL(pu_econ_new(&c, &ec) == PU_OK);
        uint32_t w = want[seats ? 1 + seats / 2 : 0];
        CU_ASSERT_EQUAL(pu_econ_miner_seats(ec, &t), w);
        uint32_t n[PU_TASK_N_ROLES];
        pu_worker s[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS];
        CU_ASSERT_FATAL(pu_econ_select(ec, &t, &seed, tk, 8, n, s) == PU_OK);
        CU_ASSERT_EQUAL(n[PU_TASK_ROLE_MINER], w);
        char text[160];
        pu_econ_describe(ec, text, sizeof text);
        CU_ASSERT_EQUAL(strstr(text, "miner_seats=") != NULL, seats != 0);
        pu_econ_config back;
        memset(&back, 0, sizeof back);
        CU_ASSERT_EQUAL(pu_econ_config_parse(text, &back), PU_OK);
        CU_ASSERT_EQUAL(back.miner_seats, seats);
        /* the record carries the seats; accepted while 5 x 500 fit in 6,000 */
        pu_chain *ch = mk_chain(ec, NULL);
        pu_tx *tx = submit(ec, &t, &E.w[0], gen_coin(0, 0), 50 * PU_COIN, 8101);
        pu_opret_msg m;
        pu_opret_status ost;
        CU_ASSERT_FATAL(pu_opret_decode(CODEC, pu_tx_opret(tx), PU_OPRET_SIZE, &m, &ost) == PU_OK);
        CU_ASSERT_EQUAL(m.task.required_miners, w);
        CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_OK);
        pu_tx_unref(tx);
        /* 2,000 examples: a full batch of 500 for up to 4 miners */
        pu_task small = t;
        small.train_size = 2000;
        CU_ASSERT_FATAL(pu_task_check(&small) == PU_OK);
        CU_ASSERT_FATAL(pu_task_required_miners(&small) <= 4);
        tx = submit(ec, &small, &E.w[1], gen_coin(1, 0), 50 * PU_COIN, 8102);
        CU_ASSERT_EQUAL(add_tx(ch, tx), seats == 5 ? PU_R_KIND_RULE : PU_R_OK);
        if (seats == 5)
            CU_ASSERT_EQUAL(detail(ec, tx), PU_ECON_FIELD);
        pu_tx_unref(tx);
        pu_chain_free(ch);
        pu_econ_free(ec);
    }
    pu_econ_config c = {E.crypto, CODEC, NULL, NULL, T_TIMEOUT, 0, 0, false, false,
                        PU_TASK_MAX_MINERS + 1};
    pu_econ *ec = NULL;
    CU_ASSERT_EQUAL(pu_econ_new(&c, &ec), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(ec);
}

TSUITE(econ)
{
    CU_pSuite s = CU_add_suite("econ", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_life_cycle);
    TADD(s, test_describe_rules);
    TADD(s, test_pouw_blocks);
    TADD(s, test_opret_agreement);
    TADD(s, test_timeout_and_void);
    TADD(s, test_two_evaluators_missed);
    TADD(s, test_reorg_changes_selection);
    TADD(s, test_misconduct_slashed);
    TADD(s, test_forged_history_slashed);
    TADD(s, test_records);
    TADD(s, test_fee_minimum);
    TADD(s, test_miner_seats);
    TADD(s, test_ticket_cap);
    TADD(s, test_lottery);
    return CUE_SUCCESS;
}

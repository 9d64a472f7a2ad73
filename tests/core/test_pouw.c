/* tests/core/test_pouw.c -- iteration messages, mining proofs, nonces, the
 * task's record and verify_ml_work on a real mini-training.
 *
 * Two miners train a small MLP on synthetic data for k + 3 iterations,
 * exchanging their update messages; miner 0 then mines a block with the
 * proof of its last iteration.  Every rejection below is built the way an
 * adversary would have to build it: the tampered message re-signed, the
 * history and header recomputed and the nonce put back in range, so each
 * test reaches the check it is about instead of failing an earlier one. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/pouw.h"
#include "tests/harness.h"

#define NM 2u      /* miners */
#define NI 8u      /* iterations per miner: k + 3 with the default k = 5 */
#define BATCH 32u
#define BITS 0x207fffffu /* easiest target: verify_ml_work does not look at it */

static pu_crypto *C;
static pu_params P;
static pu_dataset *TRAIN;

static void check_hex(const pu_hash32 *h, const char *want)
{
    char hex[65];
    pu_hash_hex(h, hex);
    if (strcmp(hex, want) != 0)
        fprintf(stderr, "\n  hash %s, pinned %s\n", hex, want);
    CU_ASSERT_STRING_EQUAL(hex, want);
}

/* Setup runs outside any test, where CU_ASSERT may not be used. */
#define SREQ(cond)                                                                   \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "pouw setup: %s failed (line %d)\n", #cond, __LINE__);   \
            return 1;                                                                \
        }                                                                            \
    } while (0)

/* ---- a training run ----------------------------------------------------------- */

typedef struct run {
    pu_task task;
    pu_pouw_task_view view;
    pu_keypair keys[NM];
    uint8_t pubs[NM][33];
    pu_pouw_store *store;
    pu_pouw_verifier *v;  /* shared cache */
    pu_pouw_verifier *v0; /* no cache: every verdict re-executed */
    pu_iter_msg msg[NM][NI];
    pu_hash32 id[NM][NI];
} run;

static run R;    /* honest task */
static run SLOW; /* lr 1e-9: the model never moves */

static void make_task(pu_task *t, uint64_t lr_e9, uint32_t min_acc_ppm)
{
    memset(t, 0, sizeof *t);
    t->model = PU_TASK_MODEL_MLP;
    t->activation = PU_TASK_ACT_RELU;
    t->n_hidden = 2;
    t->input_size = t->features = 12;
    t->hidden[0] = 16;
    t->hidden[1] = 8;
    t->output_size = t->classes = 4;
    memcpy(t->dataset, "synthetic", 10);
    t->train_size = 512;
    t->test_size = 128;
    t->data_seed = 42;
    t->lr_e9 = lr_e9;
    t->tau_e9 = 20000000; /* 0.02: coarse enough to learn in a few steps */
    t->batch_size = BATCH;
    t->task_seed = 7;
    t->min_accuracy_ppm = min_acc_ppm;
    t->max_iterations = 2 * NI; /* threshold ramp R = NI: high at the last iteration */
    t->fee = PU_COIN;
    t->registration_blocks = 1;
}

/* The template miner m commits to for its iteration `seq`. */
static void template_for(uint32_t m, uint32_t seq, pu_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = PU_BLOCK_VERSION;
    memset(h->prev.b, 0xab, 32);
    h->merkle.b[0] = (uint8_t)m;
    h->merkle.b[1] = (uint8_t)seq;
    h->timestamp = 1000 + seq;
    h->bits = BITS;
}

static int put_start(run *r, pu_ml_ws *ws, const pu_ml_model *m, const pu_ml_resid *res)
{
    SREQ(pu_pouw_store_put_model(r->store, C, ws, m, NULL) == PU_OK);
    SREQ(pu_pouw_store_put_resid(r->store, C, ws, res, NULL) == PU_OK);
    return 0;
}

/* Iteration s of miner m, peers = the other miner's update of s - 1. */
static int run_step(run *r, pu_ml_ws *ws, uint32_t m, uint32_t s, pu_ml_model *model,
                     pu_ml_resid *resid, pu_ml_update *upd)
{
    const pu_ml_update *peer = NULL;
    pu_iter_peer pid;
    size_t np = 0;
    if (s > 0) {
        uint32_t o = 1 - m;
        pid.msg_id = r->id[o][s - 1];
        pid.update_hash = r->msg[o][s - 1].update_hash;
        peer = pu_pouw_store_update(r->store, &pid.update_hash);
        SREQ(peer != NULL);
        np = 1;
    }
    pu_iter_msg *msg = &r->msg[m][s];
    memset(msg, 0, sizeof *msg);
    SREQ(put_start(r, ws, model, resid) == 0);
    SREQ(pu_pouw_iterate(C, ws, &r->view, m, s, model, resid, &peer, &pid, np, model,
                                    resid, upd, msg) == PU_OK);
    SREQ(pu_pouw_store_put_update(r->store, C, ws, upd, NULL) == PU_OK);
    pu_header t;
    template_for(m, s + P.pouw_commit_lag, &t);
    pu_header_zero_nonce_hash(C, &t, &msg->commit);
    if (s > 0)
        msg->prev = r->id[m][s - 1];
    SREQ(pu_iter_msg_sign(C, msg, &r->keys[m]) == PU_OK);
    SREQ(pu_iter_msg_id(C, msg, &r->id[m][s]) == PU_OK);
    return 0;
}

/* NM miners train task t on train for NI iterations, recording everything. */
static int run_train_task(run *r, const pu_task *t, const pu_dataset *train)
{
    memset(r, 0, sizeof *r);
    r->task = *t;
    SREQ(pu_task_check(&r->task) == PU_OK);
    for (uint32_t m = 0; m < NM; m++) {
        uint8_t seed[32] = {(uint8_t)(m + 1)};
        SREQ(pu_key_from_seed(C, seed, &r->keys[m]) == PU_OK);
        memcpy(r->pubs[m], r->keys[m].pub, 33);
    }
    r->view.task = &r->task;
    SREQ(pu_task_id(&r->task, C, &r->view.task_id) == PU_OK);
    r->view.active = true;
    r->view.n_miners = NM;
    r->view.miner_pubs = (const uint8_t(*)[33])r->pubs;
    r->view.train = train;
    SREQ(pu_pouw_store_new(&r->store) == PU_OK);
    SREQ(pu_pouw_verifier_new(C, r->store, 64, &r->v) == PU_OK);
    SREQ(pu_pouw_verifier_new(C, r->store, 0, &r->v0) == PU_OK);

    pu_ml_arch a;
    pu_ml_ws *ws;
    pu_ml_model *model[NM];
    pu_ml_resid *resid[NM];
    pu_ml_update *upd[NM];
    pu_task_arch(&r->task, &a);
    SREQ(pu_ml_ws_new(&a, BATCH, &ws) == PU_OK);
    for (uint32_t m = 0; m < NM; m++) {
        SREQ(pu_ml_model_new(&a, false, &model[m]) == PU_OK);
        pu_ml_model_init(model[m], r->task.task_seed); /* every miner starts from one model */
        SREQ(pu_ml_resid_new(pu_ml_model_nparams(model[m]), &resid[m]) == PU_OK);
        SREQ(pu_ml_update_new(&upd[m]) == PU_OK);
    }
    for (uint32_t s = 0; s < NI; s++)
        for (uint32_t m = 0; m < NM; m++)
            SREQ(run_step(r, ws, m, s, model[m], resid[m], upd[m]) == 0);
    for (uint32_t m = 0; m < NM; m++) {
        pu_ml_model_free(model[m]);
        pu_ml_resid_free(resid[m]);
        pu_ml_update_free(upd[m]);
    }
    pu_ml_ws_free(ws);
    return 0;
}

static int run_train(run *r, uint64_t lr_e9, uint32_t min_acc_ppm)
{
    pu_task t;
    make_task(&t, lr_e9, min_acc_ppm);
    return run_train_task(r, &t, TRAIN);
}

static void run_release(run *r)
{
    pu_pouw_verifier_free(r->v);
    pu_pouw_verifier_free(r->v0);
    pu_pouw_store_free(r->store);
}

static int setup(void)
{
    if (pu_crypto_new(&C) != PU_OK)
        return 1;
    pu_params_default(&P);
    if (pu_dataset_synthetic(42, 12, 4, 0, 512, &TRAIN) != PU_OK)
        return 1;
    if (run_train(&R, 500000000, 700000) != 0) /* lr 0.5 */
        return 1;
    return run_train(&SLOW, 1, 1000000); /* lr 1e-9, the strictest threshold */
}

static int teardown(void)
{
    run_release(&R);
    run_release(&SLOW);
    pu_dataset_free(TRAIN);
    pu_crypto_free(C);
    return 0;
}

/* ---- blocks ------------------------------------------------------------------- */

typedef struct blk {
    pu_header h;
    pu_pouw_proof pr;
} blk;

/* Honest block of miner m at iteration i, nonce base + j. */
static void blk_honest(const run *r, uint32_t m, uint32_t i, uint64_t j, blk *b)
{
    memset(b, 0, sizeof *b);
    template_for(m, i, &b->h);
    b->pr.msg = r->msg[m][i];
    b->pr.commit_msg = r->msg[m][i - P.pouw_commit_lag];
    b->pr.n_hist = i + 1;
    b->pr.hist = malloc((i + 1) * sizeof *b->pr.hist);
    CU_ASSERT_FATAL(b->pr.hist != NULL);
    memcpy(b->pr.hist, r->id[m], (i + 1) * sizeof *b->pr.hist);
    CU_ASSERT_FATAL(pu_pouw_set_header(C, &b->pr, &b->h) == PU_OK);
    b->h.nonce = pu_pouw_nonce_base(C, &b->pr.msg.model_end, &b->pr.msg.update_hash) + j;
}

static void blk_release(blk *b) { pu_pouw_proof_release(&b->pr); }

/* What an adversary does after editing messages: re-sign them (with the
 * given keys; NULL keeps the signature as it is), put their ids in the
 * history, refill the header's PoUW fields, and put the nonce in range. */
static void reseal(blk *b, const pu_keypair *kmsg, const pu_keypair *kcommit)
{
    pu_hash32 id;
    if (kcommit)
        CU_ASSERT_FATAL(pu_iter_msg_sign(C, &b->pr.commit_msg, kcommit) == PU_OK);
    CU_ASSERT_FATAL(pu_iter_msg_id(C, &b->pr.commit_msg, &id) == PU_OK);
    if (b->pr.commit_msg.seq < b->pr.n_hist)
        b->pr.hist[b->pr.commit_msg.seq] = id;
    if (kmsg)
        CU_ASSERT_FATAL(pu_iter_msg_sign(C, &b->pr.msg, kmsg) == PU_OK);
    CU_ASSERT_FATAL(pu_iter_msg_id(C, &b->pr.msg, &id) == PU_OK);
    if (b->pr.msg.seq < b->pr.n_hist)
        b->pr.hist[b->pr.msg.seq] = id;
    CU_ASSERT_FATAL(pu_pouw_set_header(C, &b->pr, &b->h) == PU_OK);
    b->h.nonce = pu_pouw_nonce_base(C, &b->pr.msg.model_end, &b->pr.msg.update_hash);
}

/* The proof bytes of b, signed by the key of the miner its message names
 * (the seated miner signs its block: every later check is its doing). */
static void encode_signed(const run *r, const blk *b, uint8_t **buf, size_t *len)
{
    pu_pouw_proof pr = b->pr;
    CU_ASSERT_FATAL(pu_pouw_sign_block(C, &b->h, &r->keys[pr.msg.miner_index % NM], pr.block_sig) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_proof_encode(&pr, buf, len) == PU_OK);
}

/* Verdict through the cached and the uncached verifier, which must agree
 * on the verdict and on the charged cost. */
static pu_pouw_reason verdict_view(run *r, const blk *b, const pu_pouw_task_view *view,
                                 pu_pouw_cost *cost_out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    pu_pouw_reason w1 = PU_POUW_REASON_COUNT, w0 = PU_POUW_REASON_COUNT;
    pu_pouw_cost c1, c0;
    encode_signed(r, b, &buf, &len);
    CU_ASSERT_EQUAL(pu_pouw_verify(r->v, &P, &b->h, buf, len, view, &w1, &c1), PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_verify(r->v0, &P, &b->h, buf, len, view, &w0, &c0), PU_OK);
    free(buf);
    CU_ASSERT_EQUAL(w1, w0);
    CU_ASSERT_EQUAL(c1.flops, c0.flops);
    CU_ASSERT_EQUAL(c1.bytes, c0.bytes);
    CU_ASSERT_EQUAL(c0.reexecuted, c0.flops != 0); /* uncached: trained whenever it got there */
    if (w1 != w0)
        fprintf(stderr, "\n  cached %s, uncached %s\n", pu_pouw_reason_str(w1), pu_pouw_reason_str(w0));
    if (cost_out)
        *cost_out = c1;
    return w1;
}

static pu_pouw_reason verdict(run *r, const blk *b) { return verdict_view(r, b, &r->view, NULL); }

#define EXPECT(b, want)                                                                         \
    do {                                                                                        \
        pu_pouw_reason got_ = verdict(&R, (b));                                                   \
        if (got_ != (want))                                                                     \
            fprintf(stderr, "\n  line %d: %s, expected %s\n", __LINE__, pu_pouw_reason_str(got_), \
                    pu_pouw_reason_str(want));                                                    \
        CU_ASSERT_EQUAL(got_, (want));                                                          \
    } while (0)

/* ---- message codec -------------------------------------------------------------- */

static void sample_msg(pu_iter_msg *m, uint32_t n_peers)
{
    memset(m, 0, sizeof *m);
    m->version = PU_POUW_MSG_VERSION;
    for (int i = 0; i < 32; i++) {
        m->task_id.b[i] = (uint8_t)(i + 1);
        m->batch_hash.b[i] = (uint8_t)(i + 2);
        m->update_hash.b[i] = (uint8_t)(i + 3);
        m->model_start.b[i] = (uint8_t)(i + 4);
        m->resid_start.b[i] = (uint8_t)(i + 5);
        m->model_end.b[i] = (uint8_t)(i + 6);
        m->resid_end.b[i] = (uint8_t)(i + 7);
        m->commit.b[i] = (uint8_t)(i + 8);
        m->prev.b[i] = (uint8_t)(i + 9);
    }
    m->miner_index = 1;
    m->seq = 0x01020304;
    m->epoch = 5;
    m->iter = 6;
    m->batch_n = 500;
    m->update_count = 77;
    m->loss_e9 = UINT64_C(0x1122334455667788);
    m->correct = 400;
    m->lr_e9 = 200000000;
    m->n_peers = n_peers;
    for (uint32_t p = 0; p < n_peers; p++) {
        m->peers[p].msg_id.b[0] = (uint8_t)(0xa0 + p);
        m->peers[p].update_hash.b[31] = (uint8_t)(0xb0 + p);
    }
}

static void test_msg_codec(void)
{
    pu_keypair k;
    uint8_t seed[32] = {9};
    pu_iter_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(pu_key_from_seed(C, seed, &k) == PU_OK);
    sample_msg(&m, 3);
    CU_ASSERT_EQUAL(pu_iter_msg_sign(C, &m, &k), PU_OK);
    CU_ASSERT_EQUAL(memcmp(m.miner_pub, k.pub, 33), 0);
    CU_ASSERT_TRUE(pu_iter_msg_sig_ok(C, &m));
    CU_ASSERT_FATAL(pu_iter_msg_encode(&m, &buf, &len) == PU_OK);
    CU_ASSERT_EQUAL(len, 437 + 3 * 64);
    CU_ASSERT_EQUAL(pu_iter_msg_size(&m), len);
    /* layout spot checks: big-endian fields at their documented offsets */
    CU_ASSERT_EQUAL(pu_get_be32(buf), 1);
    CU_ASSERT_EQUAL(pu_get_be32(buf + 69), 1);          /* miner_index */
    CU_ASSERT_EQUAL(pu_get_be32(buf + 73), 0x01020304); /* seq */
    CU_ASSERT_EQUAL(pu_get_be64(buf + 157), UINT64_C(0x1122334455667788));
    CU_ASSERT_EQUAL(pu_get_be32(buf + 305), 3);         /* n_peers */
    CU_ASSERT_EQUAL(buf[309], 0xa0);                    /* peer 0 msg id */
    CU_ASSERT_EQUAL(memcmp(buf + len - 64, m.sig, 64), 0);
    /* round trip */
    CU_ASSERT_EQUAL(pu_iter_msg_decode(buf, len, &d), PU_OK);
    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    CU_ASSERT_FATAL(pu_iter_msg_encode(&d, &buf2, &len2) == PU_OK);
    CU_ASSERT_TRUE(len2 == len && memcmp(buf, buf2, len) == 0);
    CU_ASSERT_TRUE(d.seq == m.seq && d.loss_e9 == m.loss_e9 && d.n_peers == 3
                   && pu_hash_eq(&d.peers[2].update_hash, &m.peers[2].update_hash));
    free(buf2);
    /* id = H2(full encoding), pinned (RFC 6979 makes the signature fixed) */
    pu_hash32 id, want;
    pu_sha256d(C, buf, len, &want);
    CU_ASSERT_EQUAL(pu_iter_msg_id(C, &m, &id), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&id, &want));
    check_hex(&id, "2adf21f7353039132d0f0597adb4a7faa4f429abdaca7af838da8034a8586d67");
    /* every single-bit change outside the signature breaks it */
    size_t bad = 0, decoded = 0;
    for (size_t i = 0; i < len - 64; i++) {
        buf[i] ^= 0x10;
        if (pu_iter_msg_decode(buf, len, &d) == PU_OK) {
            decoded++;
            bad += !pu_iter_msg_sig_ok(C, &d);
        }
        buf[i] ^= 0x10;
    }
    CU_ASSERT_EQUAL(bad, decoded);
    CU_ASSERT_EQUAL(decoded, len - 64 - 8); /* the version and n_peers bytes do not decode */
    /* a signature bit */
    buf[len - 1] ^= 1;
    CU_ASSERT_EQUAL(pu_iter_msg_decode(buf, len, &d), PU_OK);
    CU_ASSERT_FALSE(pu_iter_msg_sig_ok(C, &d));
    buf[len - 1] ^= 1;
    free(buf);
}

static void test_msg_decoder_rejects(void)
{
    pu_iter_msg m, d;
    uint8_t *buf = NULL;
    size_t len = 0;
    sample_msg(&m, 2);
    CU_ASSERT_FATAL(pu_iter_msg_encode(&m, &buf, &len) == PU_OK);
    for (size_t n = 0; n < len; n++) /* every truncation */
        CU_ASSERT_EQUAL(pu_iter_msg_decode(buf, n, &d), PU_ERR_PARSE);
    uint8_t *big = calloc(1, len + 64 * 20);
    CU_ASSERT_FATAL(big != NULL);
    memcpy(big, buf, len);
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len + 1, &d), PU_ERR_PARSE); /* trailing byte */
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len + 64, &d), PU_ERR_PARSE); /* count says 2 */
    pu_put_be32(big + 305, 3);
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len, &d), PU_ERR_PARSE);      /* count says 3 */
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len + 64, &d), PU_OK);        /* and so does the length */
    pu_put_be32(big + 305, 17);                                          /* over the maximum */
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, 437 + 17 * 64, &d), PU_ERR_PARSE);
    pu_put_be32(big + 305, UINT32_MAX);
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len, &d), PU_ERR_PARSE);
    memcpy(big, buf, len);
    pu_put_be32(big, 2); /* version */
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len, &d), PU_ERR_PARSE);
    pu_put_be32(big, 0);
    CU_ASSERT_EQUAL(pu_iter_msg_decode(big, len, &d), PU_ERR_PARSE);
    free(big);
    free(buf);
    /* encoder limits */
    m.n_peers = PU_POUW_MAX_PEERS + 1;
    pu_hash32 id;
    CU_ASSERT_EQUAL(pu_iter_msg_encode(&m, &buf, &len), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_EQUAL(pu_iter_msg_id(C, &m, &id), PU_ERR_RANGE);
    CU_ASSERT_FALSE(pu_iter_msg_sig_ok(C, &m));
    m.n_peers = PU_POUW_MAX_PEERS;
    CU_ASSERT_EQUAL(pu_iter_msg_encode(&m, &buf, &len), PU_OK);
    CU_ASSERT_EQUAL(len, 437 + 16 * 64);
    CU_ASSERT_EQUAL(pu_iter_msg_decode(buf, len, &d), PU_OK);
    free(buf);
}

/* ---- proof codec ------------------------------------------------------------------- */

static void test_proof_codec(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    uint8_t *buf = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(pu_pouw_proof_encode(&b.pr, &buf, &len) == PU_OK);
    size_t ml = pu_iter_msg_size(&b.pr.msg), cl = pu_iter_msg_size(&b.pr.commit_msg);
    CU_ASSERT_EQUAL(len, 1 + 4 + ml + 4 + cl + 4 + 32 * NI + 64);
    CU_ASSERT_EQUAL(buf[0], 2);
    CU_ASSERT_EQUAL(pu_get_be32(buf + 1), ml);
    pu_pouw_proof d;
    CU_ASSERT_FATAL(pu_pouw_proof_decode(buf, len, &d) == PU_OK);
    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    CU_ASSERT_FATAL(pu_pouw_proof_encode(&d, &buf2, &len2) == PU_OK);
    CU_ASSERT_TRUE(len2 == len && memcmp(buf, buf2, len) == 0);
    CU_ASSERT_EQUAL(d.n_hist, NI);
    CU_ASSERT_TRUE(pu_hash_eq(&d.hist[NI - 1], &R.id[0][NI - 1]));
    free(buf2);
    /* header fields */
    pu_header h;
    memset(&h, 0, sizeof h);
    pu_hash32 root, id;
    CU_ASSERT_EQUAL(pu_pouw_set_header(C, &d, &h), PU_OK);
    CU_ASSERT_EQUAL(pu_merkle_root(C, R.id[0], NI, &root), PU_OK);
    CU_ASSERT_EQUAL(pu_iter_msg_id(C, &d.msg, &id), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&h.msg_history, &root) && pu_hash_eq(&h.iter_msg, &id)
                   && pu_hash_eq(&h.iter_msg, &R.id[0][NI - 1])
                   && pu_hash_eq(&h.ml_task_id, &R.view.task_id)
                   && pu_hash_eq(&h.zero_nonce, &R.msg[0][NI - 1 - P.pouw_commit_lag].commit));
    pu_pouw_proof_release(&d);
    CU_ASSERT_PTR_NULL(d.hist);
    /* rejections */
    for (size_t n = 0; n < len; n++)
        CU_ASSERT_EQUAL(pu_pouw_proof_decode(buf, n, &d), PU_ERR_PARSE);
    uint8_t *t = malloc(len + 1);
    CU_ASSERT_FATAL(t != NULL);
    memcpy(t, buf, len);
    t[len] = 0;
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len + 1, &d), PU_ERR_PARSE); /* trailing */
    CU_ASSERT_PTR_NULL(d.hist);
    t[0] = 1;
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE); /* version 1: no block signature */
    t[0] = 2;
    pu_put_be32(t + 1, (uint32_t)ml + 1); /* message length prefix too long */
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + 1, (uint32_t)ml - 1);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + 1, UINT32_MAX);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + 1, (uint32_t)ml);
    t[5] ^= 1; /* the inner message's version */
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    t[5] ^= 1;
    size_t ho = 1 + 4 + ml + 4 + cl; /* n_hist */
    pu_put_be32(t + ho, UINT32_MAX); /* absurd count: fails before allocating */
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + ho, NI + 1);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + ho, NI - 1);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, len, &d), PU_ERR_PARSE);
    pu_put_be32(t + ho, 0);
    memcpy(t + ho + 4, buf + len - 64, 64);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(t, ho + 4 + 64, &d), PU_OK); /* empty history decodes */
    CU_ASSERT_EQUAL(d.n_hist, 0);
    pu_pouw_proof_release(&d);
    free(t);
    free(buf);
    CU_ASSERT_EQUAL(pu_pouw_proof_decode(NULL, 0, &d), PU_ERR_PARSE);
    /* encoder limits */
    b.pr.n_hist = PU_POUW_MAX_HISTORY + 1;
    CU_ASSERT_EQUAL(pu_pouw_proof_encode(&b.pr, &buf, &len), PU_ERR_RANGE);
    b.pr.n_hist = NI;
    blk_release(&b);
}

/* ---- nonces --------------------------------------------------------------------------- */

static void test_nonces(void)
{
    pu_task seed;
    pu_task_seed_example(&seed);
    /* default weights 0.001 nonce per batch byte and per parameter:
     * (500 * 785 + 109386) / 1000 = 501.886 -> 501 */
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&P, &seed, 500), 501);
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&P, &seed, 1), 110); /* (785 + 109386) / 1000 */
    /* the test task: (32 * 13 + 12*16+16 + 16*8+8 + 8*4+4) / 1000 = 0 -> at least 1 */
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&P, &R.task, BATCH), 1);
    pu_params q = P;
    q.pouw_w_batch_e9 = 0;
    q.pouw_w_param_e9 = 0;
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&q, &seed, 500), 1);
    q.pouw_w_batch_e9 = 2000000000; /* 2 per byte */
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&q, &seed, 500), 785000);
    q.pouw_w_batch_e9 = UINT64_MAX; /* saturates: every nonce allowed */
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&q, &seed, 500), UINT64_MAX / 1000000000u);
    q.pouw_w_param_e9 = UINT64_MAX;
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&q, &seed, 500), UINT64_MAX / 1000000000u);
    /* base: first 8 bytes of H2(model_end || update_hash), big-endian */
    pu_hash32 a, b, h;
    memset(a.b, 0x11, 32);
    memset(b.b, 0x22, 32);
    uint8_t cat[64];
    memcpy(cat, a.b, 32);
    memcpy(cat + 32, b.b, 32);
    pu_sha256d(C, cat, 64, &h);
    uint64_t base = pu_pouw_nonce_base(C, &a, &b);
    CU_ASSERT_EQUAL(base, pu_get_be64(h.b));
    CU_ASSERT_NOT_EQUAL(base, pu_pouw_nonce_base(C, &b, &a));
}

/* ---- store ------------------------------------------------------------------------------ */

static void test_store(void)
{
    pu_pouw_store *s;
    pu_ml_arch a;
    pu_ml_model *m;
    pu_ml_resid *r;
    pu_ml_update *u;
    pu_hash32 hm, hm2, hr, hu, hx;
    pu_task_arch(&R.task, &a);
    CU_ASSERT_FATAL(pu_pouw_store_new(&s) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &m) == PU_OK);
    pu_ml_model_init(m, 3);
    uint32_t np = pu_ml_model_nparams(m);
    CU_ASSERT_FATAL(pu_ml_resid_new(np, &r) == PU_OK);
    pu_ml_resid_values_mut(r)[5] = 0.25;
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    const uint32_t ent[3] = {1, 7 | PU_ML_UPDATE_NEG, 300};
    CU_ASSERT_FATAL(pu_ml_update_set(u, np, ent, 3) == PU_OK);
    size_t b0 = pu_pouw_store_bytes(s);
    CU_ASSERT_EQUAL(pu_pouw_store_put_model(s, C, NULL, m, &hm), PU_OK);
    size_t b1 = pu_pouw_store_bytes(s);
    CU_ASSERT_TRUE(b1 >= b0 + 8 * (size_t)np);
    CU_ASSERT_EQUAL(pu_pouw_store_put_model(s, C, NULL, m, &hm2), PU_OK); /* again: no-op */
    CU_ASSERT_EQUAL(pu_pouw_store_bytes(s), b1);
    CU_ASSERT_TRUE(pu_hash_eq(&hm, &hm2));
    CU_ASSERT_EQUAL(pu_pouw_store_put_resid(s, C, NULL, r, &hr), PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_store_put_update(s, C, NULL, u, &hu), PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_store_bytes(s), b1 + (9 + 8 * (size_t)np) + (9 + 12));
    /* copies: the caller's objects may change, the stored ones do not */
    pu_ml_model_params_mut(m)[0] += 1.0;
    const pu_ml_model *gm = pu_pouw_store_model(s, &hm);
    CU_ASSERT_FATAL(gm != NULL);
    CU_ASSERT_EQUAL(pu_ml_model_hash(gm, C, NULL, &hx), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&hx, &hm));
    CU_ASSERT_EQUAL(pu_ml_model_hash(m, C, NULL, &hx), PU_OK);
    CU_ASSERT_FALSE(pu_hash_eq(&hx, &hm));
    CU_ASSERT_PTR_NULL(pu_pouw_store_model(s, &hx));
    const pu_ml_update *gu = pu_pouw_store_update(s, &hu);
    CU_ASSERT_FATAL(gu != NULL);
    CU_ASSERT_TRUE(pu_ml_update_count(gu) == 3 && pu_ml_update_entries(gu)[1] == ent[1]);
    CU_ASSERT_EQUAL(pu_ml_resid_values(pu_pouw_store_resid(s, &hr))[5], 0.25);
    /* kinds do not mix */
    CU_ASSERT_PTR_NULL(pu_pouw_store_resid(s, &hm));
    CU_ASSERT_PTR_NULL(pu_pouw_store_update(s, &hm));
    CU_ASSERT_PTR_NULL(pu_pouw_store_model(s, &hu));
    pu_ml_model_free(m);
    pu_ml_resid_free(r);
    pu_ml_update_free(u);
    pu_pouw_store_free(s);
    pu_pouw_store_free(NULL);
}

/* ---- the honest block ---------------------------------------------------------------------- */

static void test_training_progress(void)
{
    /* Training works: the last batch is better than the first, and the
     * slow task's model never moves (no update entries at all). */
    const pu_iter_msg *first = &R.msg[0][0], *last = &R.msg[0][NI - 1];
    fprintf(stderr, "\n  miner 0: correct %u -> %u of %u, loss_e9 %llu -> %llu, updates %u -> %u\n",
            first->correct, last->correct, BATCH, (unsigned long long)first->loss_e9,
            (unsigned long long)last->loss_e9, first->update_count, last->update_count);
    CU_ASSERT_TRUE(last->correct > first->correct);
    CU_ASSERT_TRUE(last->loss_e9 < first->loss_e9);
    CU_ASSERT_TRUE(last->correct >= pu_task_min_correct(&R.task, NI - 1, BATCH));
    for (uint32_t s = 0; s < NI; s++) {
        CU_ASSERT_EQUAL(SLOW.msg[0][s].update_count, 0);
        CU_ASSERT_TRUE(pu_hash_eq(&SLOW.msg[0][s].model_start, &SLOW.msg[0][0].model_start));
    }
    /* message fields of the run */
    uint32_t ipe = 0;
    CU_ASSERT_EQUAL(pu_dataset_iters_per_epoch(512, NM, BATCH, &ipe), PU_OK);
    CU_ASSERT_EQUAL(ipe, 8);
    for (uint32_t s = 1; s < NI; s++) {
        const pu_iter_msg *m = &R.msg[1][s];
        CU_ASSERT_TRUE(m->seq == s && m->epoch == s / ipe && m->iter == s % ipe);
        CU_ASSERT_TRUE(m->n_peers == 1 && pu_hash_eq(&m->peers[0].msg_id, &R.id[0][s - 1]));
        CU_ASSERT_TRUE(pu_hash_eq(&m->model_start, &R.msg[1][s - 1].model_end));
        CU_ASSERT_TRUE(pu_hash_eq(&m->prev, &R.id[1][s - 1]));
        CU_ASSERT_TRUE(m->batch_n == BATCH && m->lr_e9 == R.task.lr_e9);
    }
    /* Pinned: the whole run (data, init, training, hashes, signatures), the
     * cross-machine canary.  A change means consensus arithmetic changed
     * in core/ml, core/dataset or here: never just re-pin. */
    check_hex(&R.msg[0][NI - 1].model_end, "5b24a7046ce3671f9122b8661d7c0079be0bc4af86ff0257925fcd7571e6c407");
    check_hex(&R.id[0][NI - 1], "c3d724d1357f8921d2bba0d2fb82fc0946281f30d7ecb63ba658b80f9cf06bed");
}

static void test_honest_block(void)
{
    blk b;
    pu_pouw_cost cost;
    blk_honest(&R, 0, NI - 1, 0, &b);
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &R.view, &cost), PU_POUW_OK);
    /* bytes: the start model and residual, and the one peer update */
    const pu_iter_msg *m = &b.pr.msg;
    const pu_ml_model *m0 = pu_pouw_store_model(R.store, &m->model_start);
    const pu_ml_resid *r0 = pu_pouw_store_resid(R.store, &m->resid_start);
    const pu_ml_update *u0 = pu_pouw_store_update(R.store, &m->peers[0].update_hash);
    CU_ASSERT_FATAL(m0 && r0 && u0);
    CU_ASSERT_EQUAL(cost.bytes, pu_ml_model_serialized_len(m0) + pu_ml_resid_serialized_len(r0)
                                    + pu_ml_update_serialized_len(u0));
    /* flops: W = 12*16 + 16*8 + 8*4 = 352, W0 = 192, B = 28, P = 380, n = 32 */
    uint64_t n = BATCH, w = 352, w0 = 192, bs = 28, np = 380;
    CU_ASSERT_EQUAL(cost.flops, 4 * n * w + 2 * n * (w - w0) + 4 * n * bs + 30 * n * 4 + 4 * np
                                    + pu_ml_update_count(u0));
    blk_release(&b);
    /* every iteration from k on, of both miners, makes a valid block */
    for (uint32_t mi = 0; mi < NM; mi++)
        for (uint32_t i = P.pouw_commit_lag; i < NI; i++) {
            blk_honest(&R, mi, i, 0, &b);
            pu_pouw_reason want = R.msg[mi][i].correct >= pu_task_min_correct(&R.task, i, BATCH)
                                    ? PU_POUW_OK : PU_POUW_BELOW_THRESHOLD;
            EXPECT(&b, want);
            blk_release(&b);
        }
    /* nonce range edges: base + a - 1 is the last allowed; a = 1 here */
    uint64_t a = pu_pouw_nonce_count(&P, &R.task, BATCH);
    blk_honest(&R, 0, NI - 1, a - 1, &b);
    EXPECT(&b, PU_POUW_OK);
    b.h.nonce += 1;
    EXPECT(&b, PU_POUW_NONCE_RANGE);
    b.h.nonce -= a + 1; /* base - 1 */
    EXPECT(&b, PU_POUW_NONCE_RANGE);
    b.h.nonce += 1;
    b.h.nonce ^= UINT64_C(1) << 63;
    EXPECT(&b, PU_POUW_NONCE_RANGE);
    blk_release(&b);
    /* a larger a, through the params: base + 6 allowed when a = 7 */
    pu_params saved = P;
    P.pouw_w_param_e9 = 7000000000 / 380 + 1;
    CU_ASSERT_EQUAL(pu_pouw_nonce_count(&P, &R.task, BATCH), 7);
    blk_honest(&R, 0, NI - 1, 6, &b);
    EXPECT(&b, PU_POUW_OK);
    b.h.nonce += 1;
    EXPECT(&b, PU_POUW_NONCE_RANGE);
    P = saved;
    blk_release(&b);
}

/* Re-execution is a pure function of bytes: the same hashes from parsed
 * copies of the inputs, through pu_ml_step and through a verifier whose
 * store was filled only from serialised objects. */
static void test_reexec_from_bytes(void)
{
    const pu_iter_msg *m = &R.msg[0][NI - 1];
    uint8_t *buf;
    size_t len;
    pu_ml_model *m0, *mo;
    pu_ml_resid *r0, *ro;
    pu_ml_update *peer, *uo;
    CU_ASSERT_FATAL(pu_ml_model_serialize(pu_pouw_store_model(R.store, &m->model_start), &buf, &len) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_parse(buf, len, &m0) == PU_OK);
    free(buf);
    CU_ASSERT_FATAL(pu_ml_resid_serialize(pu_pouw_store_resid(R.store, &m->resid_start), &buf, &len) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_parse(buf, len, &r0) == PU_OK);
    free(buf);
    CU_ASSERT_FATAL(pu_ml_update_serialize(pu_pouw_store_update(R.store, &m->peers[0].update_hash), &buf, &len) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_parse(buf, len, &peer) == PU_OK);
    free(buf);
    /* through the honest iteration function, into fresh objects */
    pu_ml_arch a;
    pu_ml_ws *ws;
    pu_iter_msg again;
    pu_task_arch(&R.task, &a);
    CU_ASSERT_FATAL(pu_ml_ws_new(&a, BATCH, &ws) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &mo) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(mo), &ro) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&uo) == PU_OK);
    memset(&again, 0, sizeof again);
    const pu_ml_update *pp = peer;
    CU_ASSERT_EQUAL(pu_pouw_iterate(C, ws, &R.view, 0, NI - 1, m0, r0, &pp, m->peers, 1, mo, ro,
                                    uo, &again), PU_OK);
    memcpy(again.miner_pub, m->miner_pub, 33);
    again.commit = m->commit;
    again.prev = m->prev;
    memcpy(again.sig, m->sig, 64);
    pu_hash32 id;
    CU_ASSERT_EQUAL(pu_iter_msg_id(C, &again, &id), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&id, &R.id[0][NI - 1])); /* the identical message, bit for bit */
    /* a verifier over a store filled from the parsed copies only */
    pu_pouw_store *s2;
    pu_pouw_verifier *v2;
    CU_ASSERT_FATAL(pu_pouw_store_new(&s2) == PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_store_put_model(s2, C, ws, m0, NULL), PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_store_put_resid(s2, C, ws, r0, NULL), PU_OK);
    CU_ASSERT_EQUAL(pu_pouw_store_put_update(s2, C, ws, peer, NULL), PU_OK);
    CU_ASSERT_FATAL(pu_pouw_verifier_new(C, s2, 4, &v2) == PU_OK);
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    encode_signed(&R, &b, &buf, &len);
    pu_pouw_proof dec; /* and from the parsed proof */
    CU_ASSERT_FATAL(pu_pouw_proof_decode(buf, len, &dec) == PU_OK);
    pu_pouw_proof_release(&dec);
    pu_pouw_reason why;
    pu_pouw_cost cost;
    CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &b.h, buf, len, &R.view, &why, &cost), PU_OK);
    CU_ASSERT_EQUAL(why, PU_POUW_OK);
    CU_ASSERT_TRUE(cost.reexecuted);
    free(buf);
    blk_release(&b);
    pu_pouw_verifier_free(v2);
    pu_pouw_store_free(s2);
    pu_ml_model_free(m0);
    pu_ml_model_free(mo);
    pu_ml_resid_free(r0);
    pu_ml_resid_free(ro);
    pu_ml_update_free(peer);
    pu_ml_update_free(uo);
    pu_ml_ws_free(ws);
}

/* The seed's data set goes through verify_ml_work like any other: a small
 * net trained on the real MNIST training split (build/mnist, from `make
 * deps`) by two miners, each block re-executed bit for bit by the uncached
 * verifier and judged as the cached one judges it. */
static void test_mnist_task_reexecutes(void)
{
    pu_dataset *train = NULL, *test = NULL;
    CU_ASSERT_FATAL(pu_dataset_load_mnist(PU_DATASET_MNIST_DIR, &train, &test) == PU_OK);
    pu_task t;
    make_task(&t, 500000000, 500000); /* lr 0.5, min accuracy 0.5 */
    memset(t.dataset, 0, sizeof t.dataset);
    memcpy(t.dataset, "mnist", 5);
    t.input_size = t.features = 784;
    t.output_size = t.classes = 10;
    t.train_size = PU_DATASET_MNIST_TRAIN;
    t.test_size = PU_DATASET_MNIST_TEST;
    t.data_seed = 0;
    run *mr = calloc(1, sizeof *mr);
    CU_ASSERT_FATAL(mr != NULL);
    CU_ASSERT_FATAL(run_train_task(mr, &t, train) == 0);
    /* the trained weights, pinned: the same bits on every machine */
    check_hex(&mr->msg[0][NI - 1].model_end,
              "a477ad3429876d5da5aa28061a06576865bfd84f54700e6721d16ca58a7577f9");
    uint32_t ok = 0;
    for (uint32_t m = 0; m < NM; m++)
        for (uint32_t i = P.pouw_commit_lag; i < NI; i++) {
            blk b;
            pu_pouw_cost cost;
            blk_honest(mr, m, i, 0, &b);
            pu_pouw_reason want = mr->msg[m][i].correct >= pu_task_min_correct(&t, i, BATCH)
                                      ? PU_POUW_OK : PU_POUW_BELOW_THRESHOLD;
            pu_pouw_reason got = verdict_view(mr, &b, &mr->view, &cost);
            CU_ASSERT_EQUAL(got, want);
            CU_ASSERT_TRUE(cost.flops > 0);
            ok += got == PU_POUW_OK;
            blk_release(&b);
        }
    CU_ASSERT(ok >= NM); /* it learns: most late iterations make valid blocks */
    /* the same proof against other digits (the test split) does not re-execute */
    pu_pouw_task_view other = mr->view;
    other.train = test;
    blk b;
    blk_honest(mr, 0, NI - 1, 0, &b);
    CU_ASSERT_NOT_EQUAL(verdict_view(mr, &b, &other, NULL), PU_POUW_OK);
    blk_release(&b);
    run_release(mr);
    free(mr);
    pu_dataset_free(train);
    pu_dataset_free(test);
}

/* ---- rejections, one per reason --------------------------------------------------------------- */

static void test_reject_malformed(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    uint8_t *buf;
    size_t len;
    pu_pouw_reason why;
    pu_pouw_cost cost;
    encode_signed(&R, &b, &buf, &len);
    CU_ASSERT_EQUAL(pu_pouw_verify(R.v, &P, &b.h, buf, len - 1, &R.view, &why, &cost), PU_OK);
    CU_ASSERT_EQUAL(why, PU_POUW_MALFORMED);
    CU_ASSERT_TRUE(cost.flops == 0 && cost.bytes == 0 && !cost.reexecuted);
    CU_ASSERT_EQUAL(pu_pouw_verify(R.v, &P, &b.h, NULL, 0, &R.view, &why, &cost), PU_OK);
    CU_ASSERT_EQUAL(why, PU_POUW_MALFORMED);
    free(buf);
    b.h.ml_task_id.b[3] ^= 1;
    EXPECT(&b, PU_POUW_MALFORMED);
    b.h.ml_task_id.b[3] ^= 1;
    b.h.iter_msg.b[0] ^= 0x80;
    EXPECT(&b, PU_POUW_MALFORMED);
    b.h.iter_msg.b[0] ^= 0x80;
    memset(&b.h.ml_task_id, 0, 32); /* a plain proof-of-work header */
    EXPECT(&b, PU_POUW_MALFORMED);
    blk_release(&b);
    /* a commit message of the other miner, even with a consistent history */
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.commit_msg = R.msg[1][NI - 1 - P.pouw_commit_lag];
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_MALFORMED);
    blk_release(&b);
}

static void test_reject_task_and_signer(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    pu_pouw_task_view vw = R.view;
    vw.active = false;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_UNKNOWN_TASK);
    CU_ASSERT_EQUAL(verdict_view(&R, &b, NULL, NULL), PU_POUW_UNKNOWN_TASK);
    vw = R.view;
    vw.task_id.b[0] ^= 1;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_UNKNOWN_TASK);
    pu_task shorter = R.task; /* the last iteration is beyond the budget */
    shorter.max_iterations = NI - 1;
    vw = R.view;
    vw.task = &shorter;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_UNKNOWN_TASK);
    shorter.max_iterations = NI;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_OK);
    /* an active view without data is the caller's bug, not a verdict */
    vw = R.view;
    vw.train = NULL;
    uint8_t *buf;
    size_t len;
    pu_pouw_reason why;
    pu_pouw_cost cost;
    encode_signed(&R, &b, &buf, &len);
    CU_ASSERT_EQUAL(pu_pouw_verify(R.v, &P, &b.h, buf, len, &vw, &why, &cost), PU_ERR_STATE);
    free(buf);
    /* selection: another key at index 0, fewer seats */
    uint8_t pubs[NM][33];
    memcpy(pubs, R.pubs, sizeof pubs);
    pubs[0][5] ^= 1;
    vw = R.view;
    vw.miner_pubs = (const uint8_t(*)[33])pubs;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_NOT_SELECTED);
    vw = R.view;
    vw.n_miners = 0;
    CU_ASSERT_EQUAL(verdict_view(&R, &b, &vw, NULL), PU_POUW_NOT_SELECTED);
    blk_release(&b);
    /* an outsider signing both messages */
    pu_keypair out;
    uint8_t seed[32] = {77};
    CU_ASSERT_FATAL(pu_key_from_seed(C, seed, &out) == PU_OK);
    blk_honest(&R, 0, NI - 1, 0, &b);
    reseal(&b, &out, &out);
    EXPECT(&b, PU_POUW_NOT_SELECTED);
    blk_release(&b);
    /* miner 0 claiming miner 1's seat, or a seat that does not exist */
    for (uint32_t idx = 1; idx <= 5; idx += 4) {
        blk_honest(&R, 0, NI - 1, 0, &b);
        b.pr.msg.miner_index = b.pr.commit_msg.miner_index = idx;
        reseal(&b, &R.keys[0], &R.keys[0]);
        EXPECT(&b, PU_POUW_NOT_SELECTED);
        blk_release(&b);
    }
}

static void test_reject_signature(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.sig[10] ^= 4; /* the header names the tampered message */
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_SIGNATURE);
    blk_release(&b);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.loss_e9 -= 1; /* a signed field, not re-signed */
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_SIGNATURE);
    blk_release(&b);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.commit_msg.sig[63] ^= 1;
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_SIGNATURE);
    blk_release(&b);
    /* the other selected miner signing miner 0's message */
    blk_honest(&R, 0, NI - 1, 0, &b);
    reseal(&b, NULL, NULL);
    memcpy(b.pr.msg.sig, R.msg[1][NI - 1].sig, 64);
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_SIGNATURE);
    blk_release(&b);
}

static void test_reject_history(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.hist[0].b[7] ^= 1; /* root no longer the header's */
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    blk_release(&b);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.h.msg_history.b[31] ^= 0x40;
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    blk_release(&b);
    /* links: msg.prev, commit.prev, hist[i], hist[i-k], with the root recomputed */
    const uint32_t i = NI - 1, ic = i - P.pouw_commit_lag;
    const uint32_t at[4] = {i - 1, ic - 1, i, ic};
    for (int t = 0; t < 4; t++) {
        blk_honest(&R, 0, i, 0, &b);
        b.pr.hist[at[t]].b[0] ^= 1;
        CU_ASSERT_FATAL(pu_pouw_set_header(C, &b.pr, &b.h) == PU_OK);
        EXPECT(&b, PU_POUW_BAD_HISTORY);
        blk_release(&b);
    }
    blk_honest(&R, 0, i, 0, &b);
    b.pr.msg.prev.b[2] ^= 1; /* the message's own link, re-signed */
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    blk_release(&b);
    blk_honest(&R, 0, i, 0, &b);
    b.pr.n_hist -= 1; /* history too short */
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    b.pr.n_hist = 0;
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    blk_release(&b);
    blk_honest(&R, 0, i - 1, 0, &b); /* a history one longer than the message's seq */
    free(b.pr.hist);
    b.pr.n_hist = i + 1;
    b.pr.hist = malloc((i + 1) * sizeof *b.pr.hist);
    CU_ASSERT_FATAL(b.pr.hist != NULL);
    memcpy(b.pr.hist, R.id[0], (i + 1) * sizeof *b.pr.hist);
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_HISTORY);
    blk_release(&b);
}

static void test_reject_commitment(void)
{
    const uint32_t i = NI - 1;
    blk b;
    blk_honest(&R, 0, i, 0, &b);
    b.h.zero_nonce.b[12] ^= 8; /* the header's copy of the commitment */
    EXPECT(&b, PU_POUW_BAD_COMMITMENT);
    blk_release(&b);
    /* another template: the one committed for the next iteration */
    blk_honest(&R, 0, i, 0, &b);
    pu_header other;
    template_for(0, i + 1, &other);
    b.h.merkle = other.merkle;
    EXPECT(&b, PU_POUW_BAD_COMMITMENT);
    blk_release(&b);
    /* a new tip (or timestamp) after the commitment */
    blk_honest(&R, 0, i, 0, &b);
    b.h.prev.b[0] ^= 1;
    EXPECT(&b, PU_POUW_BAD_COMMITMENT);
    blk_release(&b);
    blk_honest(&R, 0, i, 0, &b);
    b.h.timestamp += 1;
    EXPECT(&b, PU_POUW_BAD_COMMITMENT);
    blk_release(&b);
    /* a commitment made k - 1 iterations earlier, on a header built to
     * match it: everything is consistent except the lag */
    blk_honest(&R, 0, i, 0, &b);
    b.pr.commit_msg = R.msg[0][i - P.pouw_commit_lag + 1];
    template_for(0, i + 1, &b.h);
    reseal(&b, NULL, NULL);
    EXPECT(&b, PU_POUW_BAD_COMMITMENT);
    blk_release(&b);
}

static void test_reject_batch(void)
{
    blk b;
    for (int t = 0; t < 5; t++) {
        blk_honest(&R, 0, NI - 1, 0, &b);
        pu_iter_msg *m = &b.pr.msg;
        switch (t) {
        case 0: m->batch_hash.b[9] ^= 2; break;
        case 1: m->batch_n -= 1; break;
        case 2: m->epoch += 1; break;
        case 3: m->iter -= 1; break;
        default: m->batch_hash = R.msg[1][NI - 1].batch_hash; break; /* the other miner's */
        }
        reseal(&b, &R.keys[0], NULL);
        EXPECT(&b, PU_POUW_BAD_BATCH);
        blk_release(&b);
    }
}

/* Store a copy of the update at h with entry 0's sign flipped; its new hash. */
static pu_hash32 store_flipped_update(const pu_hash32 *h)
{
    const pu_ml_update *u = pu_pouw_store_update(R.store, h);
    CU_ASSERT_FATAL(u != NULL && pu_ml_update_count(u) > 0);
    uint32_t n = pu_ml_update_count(u);
    uint32_t *e = malloc(n * sizeof *e);
    CU_ASSERT_FATAL(e != NULL);
    memcpy(e, pu_ml_update_entries(u), n * sizeof *e);
    e[0] ^= PU_ML_UPDATE_NEG;
    pu_ml_update *t;
    pu_hash32 out;
    CU_ASSERT_FATAL(pu_ml_update_new(&t) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_set(t, pu_ml_update_nparams(u), e, n) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_store_put_update(R.store, C, NULL, t, &out) == PU_OK);
    pu_ml_update_free(t);
    free(e);
    return out;
}

static void test_reject_data_and_reexec(void)
{
    blk b;
    const pu_iter_msg *hm = &R.msg[0][NI - 1];
    /* start model, residual or peer update that does not resolve */
    for (int t = 0; t < 3; t++) {
        blk_honest(&R, 0, NI - 1, 0, &b);
        pu_hash32 *f = t == 0 ? &b.pr.msg.model_start
                       : t == 1 ? &b.pr.msg.resid_start : &b.pr.msg.peers[0].update_hash;
        f->b[0] ^= 1;
        reseal(&b, &R.keys[0], NULL);
        EXPECT(&b, PU_POUW_UNKNOWN_DATA);
        blk_release(&b);
    }
    /* a tampered start model (one mantissa bit), stored under its own hash */
    pu_ml_model *tm;
    pu_hash32 h;
    CU_ASSERT_FATAL(pu_ml_model_clone(pu_pouw_store_model(R.store, &hm->model_start), &tm) == PU_OK);
    uint64_t bits;
    double *pp = pu_ml_model_params_mut(tm);
    memcpy(&bits, &pp[3], 8);
    bits ^= 1;
    memcpy(&pp[3], &bits, 8);
    CU_ASSERT_FATAL(pu_pouw_store_put_model(R.store, C, NULL, tm, &h) == PU_OK);
    pu_ml_model_free(tm);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.model_start = h;
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
    blk_release(&b);
    /* a tampered gradient residual (one mantissa bit of a value) */
    pu_ml_resid *tr;
    const pu_ml_resid *r0 = pu_pouw_store_resid(R.store, &hm->resid_start);
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_resid_nparams(r0), &tr) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_copy(tr, r0) == PU_OK);
    double *rv = pu_ml_resid_values_mut(tr);
    memcpy(&bits, &rv[0], 8);
    bits ^= UINT64_C(1) << 62; /* an exponent bit: lands above tau */
    memcpy(&rv[0], &bits, 8);
    CU_ASSERT_FATAL(pu_pouw_store_put_resid(R.store, C, NULL, tr, &h) == PU_OK);
    pu_ml_resid_free(tr);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.resid_start = h;
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
    blk_release(&b);
    /* a peer's update message with one sign bit flipped */
    h = store_flipped_update(&hm->peers[0].update_hash);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.peers[0].update_hash = h;
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
    blk_release(&b);
    /* the miner's own update message with one sign bit flipped (and the
     * nonce derived from it, as a cheating miner would) */
    h = store_flipped_update(&hm->update_hash);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.update_hash = h;
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
    blk_release(&b);
    /* claimed outputs */
    for (int t = 0; t < 5; t++) {
        blk_honest(&R, 0, NI - 1, 0, &b);
        pu_iter_msg *m = &b.pr.msg;
        switch (t) {
        case 0: m->model_end.b[31] ^= 1; break;
        case 1: m->resid_end.b[0] ^= 0x80; break;
        case 2: m->update_hash.b[5] ^= 1; break;
        case 3: m->update_count += 1; break;
        default: m->lr_e9 += 1; break;
        }
        reseal(&b, &R.keys[0], NULL);
        EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
        blk_release(&b);
    }
    /* a start model of another shape: the step refuses it */
    pu_ml_arch a = {12, 1, {16}, 4};
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &tm) == PU_OK);
    pu_ml_model_init(tm, 1);
    CU_ASSERT_FATAL(pu_pouw_store_put_model(R.store, C, NULL, tm, &h) == PU_OK);
    pu_ml_model_free(tm);
    blk_honest(&R, 0, NI - 1, 0, &b);
    b.pr.msg.model_start = h;
    reseal(&b, &R.keys[0], NULL);
    EXPECT(&b, PU_POUW_REEXEC_MISMATCH);
    blk_release(&b);
}

static void test_reject_metrics_threshold(void)
{
    blk b;
    for (int t = 0; t < 4; t++) {
        blk_honest(&R, 0, NI - 1, 0, &b);
        pu_iter_msg *m = &b.pr.msg;
        if (t == 0)
            m->loss_e9 += 1;
        else if (t == 1)
            m->loss_e9 ^= UINT64_C(1) << 40;
        else if (t == 2)
            m->correct += 1;
        else
            m->correct -= 1;
        reseal(&b, &R.keys[0], NULL);
        EXPECT(&b, PU_POUW_METRICS_MISMATCH);
        blk_release(&b);
    }
    /* the slow task: honest, reproducible, and not learning */
    const uint32_t i = NI - 1;
    uint32_t need = pu_task_min_correct(&SLOW.task, i, BATCH);
    fprintf(stderr, "\n  slow task at %u: correct %u, threshold %u of %u\n", i, SLOW.msg[0][i].correct,
            need, BATCH);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&SLOW.task, i), 625000u * i / NI);
    CU_ASSERT_TRUE(SLOW.msg[0][i].correct < need);
    blk_honest(&SLOW, 0, i, 0, &b);
    CU_ASSERT_EQUAL(verdict(&SLOW, &b), PU_POUW_BELOW_THRESHOLD);
    /* ... while the same block at a threshold of zero passes */
    pu_task flat = SLOW.task;
    flat.min_accuracy_ppm = 1; /* ceiling = min_accuracy (below chance): threshold ~0 */
    pu_pouw_task_view vw = SLOW.view;
    vw.task = &flat;
    CU_ASSERT_EQUAL(verdict_view(&SLOW, &b, &vw, NULL), PU_POUW_OK);
    blk_release(&b);
}

/* ---- evidence of misconduct ----------------------------------------------------------------- */

static pu_pouw_finding judge(run *r, const uint8_t *ev, size_t len)
{
    pu_pouw_finding f;
    pu_pouw_task_view vw = r->view;
    vw.active = false; /* misconduct is judged as of training, whatever the phase now */
    CU_ASSERT_EQUAL(pu_pouw_evidence_check(r->v, &P, &vw, ev, len, &f), PU_OK);
    return f;
}

/* A block signed by its miner proves what is wrong with it (when the
 * failure is the signer's); someone else's replay proves nothing. */
static void test_evidence_block(void)
{
    blk b;
    blk_honest(&R, 1, NI - 1, 0, &b);
    uint8_t *proof, *ev;
    size_t plen, elen;
    /* honest: nothing proven */
    encode_signed(&R, &b, &proof, &plen);
    CU_ASSERT_FATAL(pu_pouw_evidence_block(&b.h, proof, plen, &ev, &elen) == PU_OK);
    pu_pouw_finding f = judge(&R, ev, elen);
    CU_ASSERT_FALSE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_OK);
    free(ev);
    free(proof);
    /* a nonce past the allowed range, signed by miner 1 */
    uint64_t a = pu_pouw_nonce_count(&P, &R.task, BATCH);
    b.h.nonce += a;
    encode_signed(&R, &b, &proof, &plen);
    CU_ASSERT_FATAL(pu_pouw_evidence_block(&b.h, proof, plen, &ev, &elen) == PU_OK);
    f = judge(&R, ev, elen);
    CU_ASSERT_TRUE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_NONCE_RANGE);
    CU_ASSERT_EQUAL(f.kind, PU_POUW_EV_BLOCK);
    CU_ASSERT_EQUAL(f.miner_index, 1);
    CU_ASSERT_EQUAL(f.seq, NI - 1);
    pu_hash32 bh;
    pu_header_hash(C, &b.h, &bh);
    CU_ASSERT_TRUE(pu_hash_eq(&f.object, &bh));
    free(ev);
    free(proof);
    /* the same block signed by miner 0 (a replay of miner 1's work): the
     * block signature is not miner 1's, nothing is proven against anyone */
    pu_pouw_proof pr = b.pr;
    CU_ASSERT_FATAL(pu_pouw_sign_block(C, &b.h, &R.keys[0], pr.block_sig) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_proof_encode(&pr, &proof, &plen) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_evidence_block(&b.h, proof, plen, &ev, &elen) == PU_OK);
    f = judge(&R, ev, elen);
    CU_ASSERT_FALSE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_BAD_SIGNATURE);
    /* damaged evidence */
    ev[0] = 9;
    f = judge(&R, ev, elen);
    CU_ASSERT_FALSE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_MALFORMED);
    CU_ASSERT_EQUAL(pu_pouw_evidence_check(R.v, &P, &R.view, ev, elen - 1, &f), PU_OK);
    CU_ASSERT_FALSE(f.proven);
    free(ev);
    free(proof);
    blk_release(&b);
}

/* One message: forged metrics or update prove themselves; an honest one
 * does not; a message whose inputs nobody holds proves nothing. */
static void test_evidence_message(void)
{
    uint8_t *ev;
    size_t len;
    pu_iter_msg m = R.msg[0][2];
    CU_ASSERT_FATAL(pu_pouw_evidence_message(&m, &ev, &len) == PU_OK);
    pu_pouw_finding f = judge(&R, ev, len);
    CU_ASSERT_FALSE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_OK);
    free(ev);
    const struct { int what; pu_pouw_reason want; } cases[] = {
        {0, PU_POUW_METRICS_MISMATCH}, /* made-up metrics */
        {1, PU_POUW_REEXEC_MISMATCH},  /* made-up update */
        {2, PU_POUW_BAD_BATCH},        /* another batch */
        {3, PU_POUW_UNKNOWN_DATA},     /* a start nobody holds: unprovable */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m = R.msg[0][2];
        if (cases[i].what == 0)
            m.correct += 1;
        else if (cases[i].what == 1)
            m.update_hash.b[0] ^= 1;
        else if (cases[i].what == 2)
            m.batch_hash.b[0] ^= 1;
        else
            m.model_start.b[0] ^= 1;
        CU_ASSERT_FATAL(pu_iter_msg_sign(C, &m, &R.keys[0]) == PU_OK);
        CU_ASSERT_FATAL(pu_pouw_evidence_message(&m, &ev, &len) == PU_OK);
        f = judge(&R, ev, len);
        CU_ASSERT_EQUAL(f.reason, cases[i].want);
        CU_ASSERT_EQUAL(f.proven, cases[i].what != 3);
        CU_ASSERT_EQUAL(f.kind, PU_POUW_EV_MESSAGE);
        CU_ASSERT_EQUAL(f.seq, 2);
        pu_hash32 id;
        CU_ASSERT_FATAL(pu_iter_msg_id(C, &m, &id) == PU_OK);
        CU_ASSERT_TRUE(pu_hash_eq(&f.object, &id));
        free(ev);
    }
    /* the same forgery signed by the other miner's key is nobody's */
    m = R.msg[0][2];
    m.correct += 1;
    CU_ASSERT_FATAL(pu_iter_msg_sign(C, &m, &R.keys[1]) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_evidence_message(&m, &ev, &len) == PU_OK);
    f = judge(&R, ev, len);
    CU_ASSERT_FALSE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_NOT_SELECTED);
    free(ev);
    /* seq 0 must start from the task's initial state */
    m = R.msg[1][0];
    CU_ASSERT_FATAL(pu_pouw_evidence_message(&m, &ev, &len) == PU_OK);
    CU_ASSERT_FALSE(judge(&R, ev, len).proven);
    free(ev);
    m.model_start = R.msg[1][1].model_start; /* a state held by the record, not the initial one */
    CU_ASSERT_FATAL(pu_iter_msg_sign(C, &m, &R.keys[1]) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_evidence_message(&m, &ev, &len) == PU_OK);
    f = judge(&R, ev, len);
    CU_ASSERT_TRUE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_BAD_HISTORY);
    free(ev);
}

/* Two linked messages of one miner whose states do not join. */
static void test_evidence_history(void)
{
    uint8_t *ev;
    size_t len;
    CU_ASSERT_FATAL(pu_pouw_evidence_history(&R.msg[0][3], &R.msg[0][4], &ev, &len) == PU_OK);
    pu_pouw_finding f = judge(&R, ev, len);
    CU_ASSERT_FALSE(f.proven); /* honest: they join */
    free(ev);
    pu_iter_msg b = R.msg[0][4];
    b.model_start = R.msg[0][2].model_end; /* starts from an older state */
    CU_ASSERT_FATAL(pu_iter_msg_sign(C, &b, &R.keys[0]) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_evidence_history(&R.msg[0][3], &b, &ev, &len) == PU_OK);
    f = judge(&R, ev, len);
    CU_ASSERT_TRUE(f.proven);
    CU_ASSERT_EQUAL(f.reason, PU_POUW_BAD_HISTORY);
    CU_ASSERT_EQUAL(f.kind, PU_POUW_EV_HISTORY);
    CU_ASSERT_EQUAL(f.seq, 4);
    free(ev);
    /* not linked (the later one names another prev), or two miners: nothing */
    CU_ASSERT_FATAL(pu_pouw_evidence_history(&R.msg[0][2], &b, &ev, &len) == PU_OK);
    CU_ASSERT_FALSE(judge(&R, ev, len).proven);
    free(ev);
    CU_ASSERT_FATAL(pu_pouw_evidence_history(&R.msg[1][3], &b, &ev, &len) == PU_OK);
    CU_ASSERT_FALSE(judge(&R, ev, len).proven);
    free(ev);
    CU_ASSERT_TRUE(pu_pouw_reason_slashable(PU_POUW_NONCE_RANGE));
    CU_ASSERT_FALSE(pu_pouw_reason_slashable(PU_POUW_BAD_SIGNATURE));
    CU_ASSERT_FALSE(pu_pouw_reason_slashable(PU_POUW_UNKNOWN_DATA));
}

/* ---- the cache -------------------------------------------------------------------------------- */

static void test_cache(void)
{
    pu_pouw_verifier *v1, *v2;
    CU_ASSERT_FATAL(pu_pouw_verifier_new(C, R.store, 1, &v1) == PU_OK);
    CU_ASSERT_FATAL(pu_pouw_verifier_new(C, R.store, 2, &v2) == PU_OK);
    blk a, b;
    blk_honest(&R, 0, NI - 1, 0, &a);
    blk_honest(&R, 1, NI - 1, 0, &b);
    uint8_t *pa, *pb;
    size_t la, lb;
    encode_signed(&R, &a, &pa, &la);
    encode_signed(&R, &b, &pb, &lb);
    pu_pouw_reason why;
    pu_pouw_cost c, first;
    /* N verifications of one block: one re-execution, one verdict, one cost */
    unsigned reexec = 0;
    for (int n = 0; n < 10; n++) {
        CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &a.h, pa, la, &R.view, &why, &c), PU_OK);
        CU_ASSERT_EQUAL(why, PU_POUW_OK);
        reexec += c.reexecuted;
        if (n == 0) {
            first = c;
            CU_ASSERT_TRUE(c.reexecuted);
        }
        CU_ASSERT_TRUE(c.flops == first.flops && c.bytes == first.bytes && c.flops > 0);
    }
    CU_ASSERT_EQUAL(reexec, 1);
    /* a tampered claim on the same step hits the cache and is still rejected */
    blk t;
    blk_honest(&R, 0, NI - 1, 0, &t);
    t.pr.msg.correct += 1;
    reseal(&t, &R.keys[0], NULL);
    uint8_t *pt;
    size_t lt;
    encode_signed(&R, &t, &pt, &lt);
    CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &t.h, pt, lt, &R.view, &why, &c), PU_OK);
    CU_ASSERT_TRUE(why == PU_POUW_METRICS_MISMATCH && !c.reexecuted);
    /* memoised signature verdicts stay verdicts */
    blk_release(&t);
    free(pt);
    blk_honest(&R, 0, NI - 1, 0, &t);
    t.pr.msg.sig[3] ^= 1;
    reseal(&t, NULL, NULL);
    encode_signed(&R, &t, &pt, &lt);
    for (int n = 0; n < 3; n++) {
        CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &t.h, pt, lt, &R.view, &why, &c), PU_OK);
        CU_ASSERT_TRUE(why == PU_POUW_BAD_SIGNATURE && c.flops == 0 && !c.reexecuted);
    }
    /* capacity 2 keeps A and B; capacity 1 evicts A when B comes */
    CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &b.h, pb, lb, &R.view, &why, &c), PU_OK);
    CU_ASSERT_TRUE(why == PU_POUW_OK && c.reexecuted);
    CU_ASSERT_EQUAL(pu_pouw_verify(v2, &P, &a.h, pa, la, &R.view, &why, &c), PU_OK);
    CU_ASSERT_TRUE(why == PU_POUW_OK && !c.reexecuted);
    const bool want[4] = {true, true, true, false}; /* A, B, A, A */
    const uint8_t *seq[4] = {pa, pb, pa, pa};
    for (int n = 0; n < 4; n++) {
        bool is_a = seq[n] == pa;
        CU_ASSERT_EQUAL(pu_pouw_verify(v1, &P, is_a ? &a.h : &b.h, seq[n], is_a ? la : lb,
                                       &R.view, &why, &c), PU_OK);
        CU_ASSERT_EQUAL(why, PU_POUW_OK);
        CU_ASSERT_EQUAL(c.reexecuted, want[n]);
    }
    free(pa);
    free(pb);
    free(pt);
    blk_release(&a);
    blk_release(&b);
    blk_release(&t);
    pu_pouw_verifier_free(v1);
    pu_pouw_verifier_free(v2);
    pu_pouw_verifier_free(NULL);
}

/* One bit of every byte of the proof, and of the header: always a
 * rejection (never a crash), and the same one with and without the memos. */
static void test_every_byte_matters(void)
{
    blk b;
    blk_honest(&R, 0, NI - 1, 0, &b);
    uint8_t *buf;
    size_t len;
    encode_signed(&R, &b, &buf, &len);
    unsigned accepted = 0, counts[PU_POUW_REASON_COUNT] = {0};
    for (size_t i = 0; i < len; i++) {
        pu_pouw_reason w1, w0;
        pu_pouw_cost c1, c0;
        buf[i] ^= (uint8_t)(1u << (i % 8));
        CU_ASSERT_EQUAL(pu_pouw_verify(R.v, &P, &b.h, buf, len, &R.view, &w1, &c1), PU_OK);
        CU_ASSERT_EQUAL(pu_pouw_verify(R.v0, &P, &b.h, buf, len, &R.view, &w0, &c0), PU_OK);
        buf[i] ^= (uint8_t)(1u << (i % 8));
        CU_ASSERT_EQUAL(w1, w0);
        accepted += w1 == PU_POUW_OK;
        counts[w1 < PU_POUW_REASON_COUNT ? w1 : 0]++;
    }
    /* Bytes of the message change its id, which the header names
     * (MALFORMED), as do framing bytes; the commit message's identity
     * fields (version, task id, key, index, n_peers: 77 bytes) disagree
     * with the message (MALFORMED), its other bytes break its signature,
     * as do the block signature's 64; unlinked history ids change the root
     * and linked ones a link. */
    const size_t cl = pu_iter_msg_size(&b.pr.commit_msg);
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT_EQUAL(counts[PU_POUW_BAD_HISTORY], 32 * NI);
    CU_ASSERT_EQUAL(counts[PU_POUW_BAD_SIGNATURE], cl - 77 + 64);
    CU_ASSERT_EQUAL(counts[PU_POUW_MALFORMED], len - 32 * NI - (cl - 77) - 64);
    /* The block signature covers the header: another nonce with the
     * signature of the found one is nobody's block. */
    pu_header moved = b.h;
    moved.nonce += 1;
    pu_pouw_reason wn;
    pu_pouw_cost cn;
    CU_ASSERT_EQUAL(pu_pouw_verify(R.v0, &P, &moved, buf, len, &R.view, &wn, &cn), PU_OK);
    CU_ASSERT_EQUAL(wn, PU_POUW_BAD_SIGNATURE);
    uint8_t hb[PU_HEADER_SIZE];
    pu_header_serialize(&b.h, hb);
    for (size_t i = 0; i < PU_HEADER_SIZE; i++) {
        blk t = b;
        hb[i] ^= (uint8_t)(1u << (i % 8));
        CU_ASSERT_FATAL(pu_header_parse(hb, sizeof hb, &t.h) == PU_OK);
        hb[i] ^= (uint8_t)(1u << (i % 8));
        pu_pouw_reason w = verdict(&R, &t);
        CU_ASSERT_NOT_EQUAL(w, PU_POUW_OK);
    }
    free(buf);
    blk_release(&b);
}

static void test_reason_names(void)
{
    CU_ASSERT_STRING_EQUAL(pu_pouw_reason_str(PU_POUW_OK), "ok");
    CU_ASSERT_STRING_EQUAL(pu_pouw_reason_str(PU_POUW_BELOW_THRESHOLD), "below-threshold");
    CU_ASSERT_STRING_EQUAL(pu_pouw_reason_str(PU_POUW_REASON_COUNT), "unknown-reason");
    for (int r = 0; r < PU_POUW_REASON_COUNT; r++)
        for (int q = 0; q < r; q++)
            CU_ASSERT_STRING_NOT_EQUAL(pu_pouw_reason_str((pu_pouw_reason)r), pu_pouw_reason_str((pu_pouw_reason)q));
}

TSUITE(pouw)
{
    CU_pSuite s = CU_add_suite("pouw", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_msg_codec);
    TADD(s, test_msg_decoder_rejects);
    TADD(s, test_proof_codec);
    TADD(s, test_nonces);
    TADD(s, test_store);
    TADD(s, test_training_progress);
    TADD(s, test_honest_block);
    TADD(s, test_reexec_from_bytes);
    TADD(s, test_mnist_task_reexecutes);
    TADD(s, test_reject_malformed);
    TADD(s, test_reject_task_and_signer);
    TADD(s, test_reject_signature);
    TADD(s, test_reject_history);
    TADD(s, test_reject_commitment);
    TADD(s, test_reject_batch);
    TADD(s, test_reject_data_and_reexec);
    TADD(s, test_reject_metrics_threshold);
    TADD(s, test_evidence_block);
    TADD(s, test_evidence_message);
    TADD(s, test_evidence_history);
    TADD(s, test_cache);
    TADD(s, test_every_byte_matters);
    TADD(s, test_reason_names);
    return CUE_SUCCESS;
}

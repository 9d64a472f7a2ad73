/* tests/bench/bench_pouw.c -- cost of verify_ml_work per block for the seed's
 * task (MLP 784-128-64-10, batch 500, Fashion-MNIST), for 10, 100 and 1,000
 * verifying nodes, with and without the shared re-execution cache.
 *
 *   bench_pouw            all figures
 *   bench_pouw quick      skip the 1,000-node run without cache (it takes
 *                         about 1,000 re-executions) and extrapolate it
 *
 * The miners train k + 1 iterations data-parallel (every miner applies the
 * others' update messages of the previous iteration), then miner 0 builds
 * the block of its iteration k.  Each simulated node verifies the same
 * block through one shared pu_pouw_verifier and store: the verifier's own
 * cache is measured here (in a run the chains' shared valcache already asks
 * once per block; the verifier cache serves blocks of one step).
 * Wall-clock time is read here only to report speed.  If the Fashion-MNIST
 * files are missing, a synthetic data set of the same shape stands in and
 * the output says so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pouw.h"

#define MAX_MINERS 5u

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what, pu_err rc)
{
    fprintf(stderr, "bench_pouw: %s: %s\n", what, pu_strerror(rc));
    return 1;
}

typedef struct miner {
    pu_keypair key;
    pu_ml_model *model;
    pu_ml_resid *resid;
    pu_ml_update *upd;
    pu_iter_msg msg[16];
    pu_hash32 id[16];
} miner;

typedef struct bench {
    pu_crypto *c;
    pu_params p;
    pu_task task;
    pu_dataset *train, *test;
    pu_pouw_task_view view;
    uint8_t pubs[MAX_MINERS][33];
    uint32_t n_miners;
    miner m[MAX_MINERS];
    pu_pouw_store *store;
    pu_ml_ws *ws;
} bench;

static pu_err load_task(bench *b)
{
    pu_task_seed_example(&b->task);
    pu_err rc = pu_task_load_data(&b->task, NULL, &b->train, &b->test);
    if (rc == PU_OK) {
        printf("data: Fashion-MNIST from %s (%u training examples)\n", PU_DATASET_FMNIST_DIR,
               pu_dataset_size(b->train));
        return PU_OK;
    }
    printf("data: Fashion-MNIST NOT loaded (%s); using a synthetic data set of the same shape\n",
           pu_strerror(rc));
    memset(b->task.dataset, 0, sizeof b->task.dataset);
    memcpy(b->task.dataset, "synthetic", 10);
    b->task.data_seed = 1;
    return pu_task_load_data(&b->task, NULL, &b->train, &b->test);
}

/* Iteration s of miner i: peers are the other miners' updates of s - 1. */
static pu_err step(bench *b, uint32_t i, uint32_t s)
{
    miner *mi = &b->m[i];
    const pu_ml_update *peers[MAX_MINERS];
    pu_iter_peer ids[MAX_MINERS];
    size_t np = 0;
    for (uint32_t o = 0; s > 0 && o < b->n_miners; o++) {
        if (o == i)
            continue;
        ids[np].msg_id = b->m[o].id[s - 1];
        ids[np].update_hash = b->m[o].msg[s - 1].update_hash;
        peers[np] = pu_pouw_store_update(b->store, &ids[np].update_hash);
        np++;
    }
    pu_iter_msg *msg = &mi->msg[s];
    memset(msg, 0, sizeof *msg);
    pu_err rc = pu_pouw_store_put_model(b->store, b->c, b->ws, mi->model, NULL);
    if (rc == PU_OK)
        rc = pu_pouw_store_put_resid(b->store, b->c, b->ws, mi->resid, NULL);
    if (rc == PU_OK)
        rc = pu_pouw_iterate(b->c, b->ws, &b->view, i, s, mi->model, mi->resid, peers, ids, np,
                             mi->model, mi->resid, mi->upd, msg);
    if (rc == PU_OK)
        rc = pu_pouw_store_put_update(b->store, b->c, b->ws, mi->upd, NULL);
    if (rc != PU_OK)
        return rc;
    pu_header t; /* the template this miner will mine at s + k */
    memset(&t, 0, sizeof t);
    t.version = PU_BLOCK_VERSION;
    t.timestamp = 1000 + s + b->p.pouw_commit_lag;
    t.bits = 0x207fffff;
    t.merkle.b[0] = (uint8_t)i;
    pu_header_zero_nonce_hash(b->c, &t, &msg->commit);
    if (s > 0)
        msg->prev = mi->id[s - 1];
    rc = pu_iter_msg_sign(b->c, msg, &mi->key);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(b->c, msg, &mi->id[s]);
    return rc;
}

static pu_err setup(bench *b)
{
    pu_ml_arch a;
    pu_err rc = pu_crypto_new(&b->c);
    if (rc == PU_OK)
        rc = load_task(b);
    if (rc != PU_OK)
        return rc;
    pu_params_default(&b->p);
    b->n_miners = pu_task_required_miners(&b->task);
    b->view.task = &b->task;
    b->view.active = true;
    b->view.n_miners = b->n_miners;
    b->view.miner_pubs = (const uint8_t(*)[33])b->pubs;
    b->view.train = b->train;
    pu_task_arch(&b->task, &a);
    rc = pu_task_id(&b->task, b->c, &b->view.task_id);
    if (rc == PU_OK)
        rc = pu_pouw_store_new(&b->store);
    if (rc == PU_OK)
        rc = pu_ml_ws_new(&a, b->task.batch_size, &b->ws);
    for (uint32_t i = 0; rc == PU_OK && i < b->n_miners; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1)};
        miner *mi = &b->m[i];
        rc = pu_key_from_seed(b->c, seed, &mi->key);
        memcpy(b->pubs[i], mi->key.pub, 33);
        if (rc == PU_OK)
            rc = pu_ml_model_new(&a, b->task.momentum_e9 != 0, &mi->model);
        if (rc == PU_OK) {
            pu_ml_model_init(mi->model, b->task.task_seed);
            rc = pu_ml_resid_new(pu_ml_model_nparams(mi->model), &mi->resid);
        }
        if (rc == PU_OK)
            rc = pu_ml_update_new(&mi->upd);
    }
    return rc;
}

static void teardown(bench *b)
{
    for (uint32_t i = 0; i < b->n_miners; i++) {
        pu_ml_model_free(b->m[i].model);
        pu_ml_resid_free(b->m[i].resid);
        pu_ml_update_free(b->m[i].upd);
    }
    pu_ml_ws_free(b->ws);
    pu_pouw_store_free(b->store);
    pu_dataset_free(b->train);
    pu_dataset_free(b->test);
    pu_crypto_free(b->c);
}

/* The block of miner 0 at iteration k: header and proof bytes. */
static pu_err make_block(bench *b, pu_header *h, uint8_t **proof, size_t *len)
{
    const uint32_t k = b->p.pouw_commit_lag;
    const miner *m0 = &b->m[0];
    pu_pouw_proof pr;
    memset(&pr, 0, sizeof pr);
    pr.msg = m0->msg[k];
    pr.commit_msg = m0->msg[0];
    pr.n_hist = k + 1;
    pr.hist = (pu_hash32 *)m0->id;
    memset(h, 0, sizeof *h);
    h->version = PU_BLOCK_VERSION;
    h->timestamp = 1000 + k;
    h->bits = 0x207fffff;
    pu_err rc = pu_pouw_set_header(b->c, &pr, h);
    h->nonce = pu_pouw_nonce_base(b->c, &pr.msg.model_end, &pr.msg.update_hash);
    /* The proof carries the miner's signature of the finished header. */
    if (rc == PU_OK)
        rc = pu_pouw_sign_block(b->c, h, &m0->key, pr.block_sig);
    if (rc == PU_OK)
        rc = pu_pouw_proof_encode(&pr, proof, len);
    return rc;
}

/* n nodes verify the block through one verifier with `cache` entries. */
static pu_err verify_n(bench *b, const pu_header *h, const uint8_t *proof, size_t len,
                       uint32_t n, size_t cache, double *secs, double *first_s, uint32_t *reexec,
                       pu_pouw_cost *cost)
{
    pu_pouw_verifier *v;
    pu_err rc = pu_pouw_verifier_new(b->c, b->store, cache, &v);
    if (rc != PU_OK)
        return rc;
    *reexec = 0;
    double t0 = now_s();
    for (uint32_t i = 0; rc == PU_OK && i < n; i++) {
        pu_pouw_reason why;
        rc = pu_pouw_verify(v, &b->p, h, proof, len, &b->view, &why, cost);
        if (rc == PU_OK && why != PU_POUW_OK) {
            fprintf(stderr, "bench_pouw: block rejected: %s\n", pu_pouw_reason_str(why));
            rc = PU_ERR_INVALID;
        }
        *reexec += cost->reexecuted;
        if (i == 0)
            *first_s = now_s() - t0;
    }
    *secs = now_s() - t0;
    pu_pouw_verifier_free(v);
    return rc;
}

static int run(bench *b, bool quick)
{
    const uint32_t k = b->p.pouw_commit_lag;
    double t0 = now_s();
    for (uint32_t s = 0; s <= k; s++)
        for (uint32_t i = 0; i < b->n_miners; i++) {
            pu_err rc = step(b, i, s);
            if (rc != PU_OK)
                return fail("training", rc);
        }
    double train_s = now_s() - t0;
    uint32_t steps = (k + 1) * b->n_miners;
    printf("task: MLP 784-128-64-10, batch %u, %u miners, k = %u; %u honest iterations "
           "(pu_pouw_iterate incl. 3 state hashes): %.1f ms each\n",
           b->task.batch_size, b->n_miners, k, steps, 1e3 * train_s / steps);
    printf("miner 0 at iteration %u: train batch correct %u / %u, update entries %u\n", k,
           b->m[0].msg[k].correct, b->task.batch_size, b->m[0].msg[k].update_count);
    printf("task record: %u models + residuals + updates stored, %.1f MB (pu_pouw_store_bytes)\n",
           steps, (double)pu_pouw_store_bytes(b->store) / 1e6);

    pu_header h;
    uint8_t *proof = NULL;
    size_t len = 0;
    pu_err rc = make_block(b, &h, &proof, &len);
    if (rc != PU_OK)
        return fail("block", rc);
    printf("iteration message %zu bytes, mining proof %zu bytes (%u history ids)\n",
           pu_iter_msg_size(&b->m[0].msg[k]), len, k + 1);

    static const uint32_t NODES[3] = {10, 100, 1000};
    pu_pouw_cost cost;
    memset(&cost, 0, sizeof cost);
    double per_reexec = 0;
    for (int ni = 0; ni < 3 && rc == PU_OK; ni++) {
        uint32_t n = NODES[ni], rx_c, rx_n;
        double sc, sn, fc, fn;
        rc = verify_n(b, &h, proof, len, n, 16, &sc, &fc, &rx_c, &cost);
        if (rc != PU_OK)
            break;
        bool extrapolate = quick && n == 1000;
        if (extrapolate) {
            sn = per_reexec * n;
            rx_n = n;
        } else {
            rc = verify_n(b, &h, proof, len, n, 0, &sn, &fn, &rx_n, &cost);
            per_reexec = sn / n;
        }
        printf("verify %4u nodes, shared cache: %8.3f s total, %8.3f ms per node, %u re-execution(s); "
               "first node %.3f ms, each further node %.3f ms\n",
               n, sc, 1e3 * sc / n, rx_c, 1e3 * fc, 1e3 * (sc - fc) / (n - 1));
        printf("verify %4u nodes, no cache:     %8.3f s total, %8.3f ms per node, %u re-executions%s\n",
               n, sn, 1e3 * sn / n, rx_n, extrapolate ? " (extrapolated from 100)" : "");
    }
    free(proof);
    if (rc != PU_OK)
        return fail("verify", rc);
    printf("simulated cost per verifying node: %llu flops (%.3f GFLOP), %llu bytes resolved "
           "(start model, residual, %u peer updates)\n",
           (unsigned long long)cost.flops, (double)cost.flops / 1e9,
           (unsigned long long)cost.bytes, b->n_miners - 1);
    printf("simulated cost for 10 / 100 / 1000 nodes: %.2f / %.1f / %.0f GFLOP\n",
           10 * (double)cost.flops / 1e9, 100 * (double)cost.flops / 1e9,
           1000 * (double)cost.flops / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    bench b;
    memset(&b, 0, sizeof b);
    pu_err rc = setup(&b);
    int ret = rc == PU_OK ? run(&b, quick) : fail("setup", rc);
    teardown(&b);
    return ret;
}

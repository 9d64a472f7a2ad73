/* tests/bench/bench_ml.c -- speed of the PoUW step for the seed's network and
 * the seed task trained data-parallel on the real Fashion-MNIST data.
 *
 *   bench_ml                 both parts with the seed task's settings
 *   bench_ml speed           step speed only (batch 100, 200, 500; both kernels)
 *   bench_ml train [options] training only; options override the seed task:
 *       -i ITERS  -b BATCH  -l LR_E9  -t TAU_E9  -m MOMENTUM_E9  -M MINERS  -s TASK_SEED
 *
 * Wall-clock time is read here only to report speed; nothing measured feeds
 * back into a computation.  FLOP counts are nominal dense counts (forward
 * 2BW, backward 4BW minus the unneeded input-layer delta); the kernels skip
 * zero activations and pixels, so the effective rate on sparse data is
 * higher than the arithmetic actually done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ml.h"
#include "core/task.h"

#define MAX_MINERS 8

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what, pu_err rc)
{
    fprintf(stderr, "bench_ml: %s: %s\n", what, pu_strerror(rc));
    return 1;
}

static double nominal_flops(const pu_ml_arch *a, uint32_t batch)
{
    double w = 0, first = (double)a->input * (a->n_hidden ? a->hidden[0] : a->output);
    uint32_t prev = a->input;
    for (uint32_t l = 0; l <= a->n_hidden; l++) {
        uint32_t out = l < a->n_hidden ? a->hidden[l] : a->output;
        w += (double)prev * out;
        prev = out;
    }
    return (double)batch * (2 * w + 2 * w + 2 * (w - first));
}

/* ---- part 1: speed ------------------------------------------------------------ */

/* Steps of the seed net on batch-size slices of ds; prints rate and the
 * hash of the final model so kernels (and BLAS builds) can be compared. */
static int time_steps(const pu_dataset *ds, const char *label, pu_ml_kernel k, uint32_t batch,
                      uint32_t steps, pu_crypto *c)
{
    pu_task t;
    pu_task_seed_example(&t);
    pu_ml_arch a;
    pu_ml_hyper h;
    pu_task_arch(&t, &a);
    pu_task_hyper(&t, &h);
    pu_ml_ws *ws = NULL;
    pu_ml_model *m = NULL;
    pu_ml_resid *r = NULL;
    pu_ml_update *u = NULL;
    uint32_t *idx = malloc(batch * sizeof *idx);
    pu_err rc = idx ? pu_ml_ws_new(&a, batch, &ws) : PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = pu_ml_model_new(&a, false, &m);
    if (rc == PU_OK)
        rc = pu_ml_resid_new(pu_ml_model_nparams(m), &r);
    if (rc == PU_OK)
        rc = pu_ml_update_new(&u);
    if (rc != PU_OK)
        return fail("setup", rc);
    pu_ml_ws_set_kernel(ws, k);
    pu_ml_model_init(m, t.task_seed);
    double t0 = now_s();
    for (uint32_t s = 0; s < steps && rc == PU_OK; s++) {
        for (uint32_t j = 0; j < batch; j++)
            idx[j] = (s * batch + j) % pu_dataset_size(ds);
        pu_ml_batch b = {ds, idx, batch};
        pu_ml_metrics mt;
        rc = pu_ml_step(ws, m, r, &b, NULL, 0, &h, m, r, u, &mt);
    }
    double dt = now_s() - t0;
    /* The residual hash shows every bit of the gradients; the model hash
     * alone would hide last-bit differences (weights move in +-tau steps). */
    pu_hash32 hm, hr;
    char hexm[65] = "?", hexr[65] = "?";
    if (rc == PU_OK && pu_ml_model_hash(m, c, ws, &hm) == PU_OK
        && pu_ml_resid_hash(r, c, ws, &hr) == PU_OK) {
        pu_hash_hex(&hm, hexm);
        pu_hash_hex(&hr, hexr);
    }
    if (rc == PU_OK)
        printf("  %-15s %s batch %3u: %6.2f ms/step %6.1f steps/s %5.2f GFLOP/s  model %.12s "
               "residual %.12s  ws %.1f MB\n",
               label, k == PU_ML_KERNEL_OWN ? "own" : "gsl", batch, 1e3 * dt / steps, steps / dt,
               nominal_flops(&a, batch) * steps / dt * 1e-9, hexm, hexr, pu_ml_ws_mem(ws) / 1e6);
    free(idx);
    pu_ml_update_free(u);
    pu_ml_resid_free(r);
    pu_ml_model_free(m);
    pu_ml_ws_free(ws);
    return rc == PU_OK ? 0 : fail("step", rc);
}

static int bench_speed(const pu_dataset *fm, pu_crypto *c)
{
    pu_dataset *dense = NULL; /* 784 features, hardly any zero: no sparsity bonus */
    pu_err rc = pu_dataset_synthetic(1, 784, 10, 0, 5000, &dense);
    if (rc != PU_OK)
        return fail("synthetic", rc);
    pu_task t;
    pu_ml_arch a;
    pu_ml_model *m = NULL;
    pu_task_seed_example(&t);
    pu_task_arch(&t, &a);
    rc = pu_ml_model_new(&a, false, &m);
    if (rc != PU_OK)
        return fail("model", rc);
    printf("PoUW step, MLP 784-128-64-10 (%u parameters), single thread; memory: model %.0f KB, "
           "residual %.0f KB, ws below (incl. hashing scratch):\n",
           pu_ml_model_nparams(m), pu_ml_model_mem(m) / 1e3, pu_ml_model_nparams(m) * 8 / 1e3);
    pu_ml_model_free(m);
    static const uint32_t batches[3] = {100, 200, 500};
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t steps = 6000 / batches[i];
        for (int k = 0; k < 2; k++) {
            bad |= time_steps(fm, "fashion-mnist", (pu_ml_kernel)k, batches[i], steps, c);
            bad |= time_steps(dense, "dense synthetic", (pu_ml_kernel)k, batches[i], steps, c);
        }
    }
    pu_dataset_free(dense);
    return bad;
}

/* ---- part 2: data-parallel training -------------------------------------------- */

typedef struct group {
    uint32_t n;
    pu_ml_model *m[MAX_MINERS];
    pu_ml_resid *r[MAX_MINERS];
    pu_ml_update *cur[MAX_MINERS], *prev[MAX_MINERS];
} group;

static pu_err group_new(group *g, uint32_t n, const pu_ml_arch *a, bool momentum, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    pu_err rc = PU_OK;
    for (uint32_t i = 0; i < n && rc == PU_OK; i++) {
        rc = pu_ml_model_new(a, momentum, &g->m[i]);
        if (rc == PU_OK) {
            pu_ml_model_init(g->m[i], seed); /* every miner starts from the task's model */
            rc = pu_ml_resid_new(pu_ml_model_nparams(g->m[i]), &g->r[i]);
        }
        if (rc == PU_OK)
            rc = pu_ml_update_new(&g->cur[i]);
        if (rc == PU_OK)
            rc = pu_ml_update_new(&g->prev[i]);
    }
    return rc;
}

static void group_free(group *g)
{
    for (uint32_t i = 0; i < g->n; i++) {
        pu_ml_model_free(g->m[i]);
        pu_ml_resid_free(g->r[i]);
        pu_ml_update_free(g->cur[i]);
        pu_ml_update_free(g->prev[i]);
    }
}

typedef struct iter_stats {
    uint32_t correct, n, below_threshold;
    size_t sent;
    double loss;
} iter_stats;

/* One iteration of every miner: its own batch, the others' messages of
 * the previous iteration (in miner order), then pu_ml_step. */
static pu_err group_iteration(group *g, pu_ml_ws *ws, const pu_task *t, const pu_ml_hyper *h,
                              const pu_dataset *train, uint32_t it, uint32_t per, uint32_t *idx,
                              iter_stats *st)
{
    memset(st, 0, sizeof *st);
    for (uint32_t i = 0; i < g->n; i++) {
        pu_err rc = pu_dataset_batch(train, t->task_seed, it / per, it % per, i, g->n,
                                     t->batch_size, idx);
        if (rc != PU_OK)
            return rc;
        const pu_ml_update *peers[MAX_MINERS];
        size_t np = 0;
        for (uint32_t j = 0; j < g->n && it > 0; j++)
            if (j != i)
                peers[np++] = g->prev[j];
        pu_ml_batch b = {train, idx, t->batch_size};
        pu_ml_metrics mt;
        rc = pu_ml_step(ws, g->m[i], g->r[i], &b, peers, np, h, g->m[i], g->r[i], g->cur[i], &mt);
        if (rc != PU_OK)
            return rc;
        st->correct += mt.correct;
        st->n += mt.n;
        st->loss += mt.loss / g->n;
        st->sent += pu_ml_update_count(g->cur[i]);
        st->below_threshold += mt.correct < pu_task_min_correct(t, it, mt.n);
    }
    for (uint32_t i = 0; i < g->n; i++) {
        pu_ml_update *x = g->prev[i];
        g->prev[i] = g->cur[i];
        g->cur[i] = x;
    }
    return PU_OK;
}

static int report_final(group *g, pu_ml_ws *ws, const pu_dataset *test, pu_crypto *c)
{
    uint32_t best = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        pu_ml_metrics ev;
        pu_hash32 hm;
        char hex[65];
        pu_err rc = pu_ml_evaluate(ws, g->m[i], test, 0, pu_dataset_size(test), &ev);
        if (rc == PU_OK)
            rc = pu_ml_model_hash(g->m[i], c, ws, &hm);
        if (rc != PU_OK)
            return fail("evaluate", rc);
        pu_hash_hex(&hm, hex);
        printf("  miner %u: test accuracy %.4f (%u / %u), loss %.4f, model %.16s\n", i,
               ev.correct / (double)ev.n, ev.correct, ev.n, ev.loss, hex);
        best = ev.correct > best ? ev.correct : best;
    }
    printf("  best test accuracy %.4f\n", best / (double)pu_dataset_size(test));
    return 0;
}

static int bench_train(const pu_dataset *train, const pu_dataset *test, pu_task *t,
                       uint32_t miners, pu_crypto *c)
{
    pu_ml_arch a;
    pu_ml_hyper h;
    pu_task_arch(t, &a);
    pu_task_hyper(t, &h);
    uint32_t per;
    pu_err rc = pu_dataset_iters_per_epoch(t->train_size, miners, t->batch_size, &per);
    if (rc != PU_OK)
        return fail("iterations per epoch", rc);
    printf("Fashion-MNIST, %u miners, batch %u, lr %.3f, tau %.4f, momentum %.2f, %u iterations "
           "(%u per epoch), min accuracy %.2f:\n",
           miners, t->batch_size, h.lr_e9 / 1e9, h.tau_e9 / 1e9, h.momentum_e9 / 1e9,
           t->max_iterations, per, t->min_accuracy_ppm / 1e6);
    group g;
    pu_ml_ws *ws = NULL;
    uint32_t *idx = malloc(t->batch_size * sizeof *idx);
    rc = idx ? group_new(&g, miners, &a, h.momentum_e9 != 0, t->task_seed) : PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = pu_ml_ws_new(&a, t->batch_size > 1000 ? t->batch_size : 1000, &ws);
    if (rc != PU_OK)
        return fail("setup", rc);
    double t0 = now_s(), t_steps = 0;
    uint32_t below = 0;
    for (uint32_t it = 0; it < t->max_iterations && rc == PU_OK; it++) {
        iter_stats st;
        double s0 = now_s();
        rc = group_iteration(&g, ws, t, &h, train, it, per, idx, &st);
        t_steps += now_s() - s0;
        below += st.below_threshold;
        if (rc != PU_OK || (it + 1) % 10 != 0)
            continue;
        pu_ml_metrics ev;
        rc = pu_ml_evaluate(ws, g.m[0], test, 0, pu_dataset_size(test), &ev);
        printf("  it %4u: train batch acc %.3f loss %.3f, threshold %.3f, sent %6zu/miner, "
               "test acc (miner 0) %.4f\n",
               it + 1, st.correct / (double)st.n, st.loss, pu_task_threshold_ppm(t, it) / 1e6,
               st.sent / miners, ev.correct / (double)ev.n);
    }
    if (rc != PU_OK)
        return fail("training", rc);
    double wall = now_s() - t0;
    printf("  %u steps in %.1f s (%.1f ms/step), wall %.1f s incl. evaluations; "
           "%u batches below the dynamic threshold\n",
           miners * t->max_iterations, t_steps, 1e3 * t_steps / (miners * t->max_iterations),
           wall, below);
    int bad = report_final(&g, ws, test, c);
    group_free(&g);
    pu_ml_ws_free(ws);
    free(idx);
    return bad;
}

/* ---- main ------------------------------------------------------------------------- */

static int parse_train_args(int argc, char **argv, pu_task *t, uint32_t *miners)
{
    for (int i = 2; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "-i"))
            t->max_iterations = (uint32_t)v;
        else if (!strcmp(argv[i], "-b"))
            t->batch_size = (uint32_t)v;
        else if (!strcmp(argv[i], "-l"))
            t->lr_e9 = v;
        else if (!strcmp(argv[i], "-t"))
            t->tau_e9 = v;
        else if (!strcmp(argv[i], "-m"))
            t->momentum_e9 = v;
        else if (!strcmp(argv[i], "-M"))
            *miners = (uint32_t)v;
        else if (!strcmp(argv[i], "-s"))
            t->task_seed = v;
        else
            return 1;
    }
    return *miners < 1 || *miners > MAX_MINERS || pu_task_check(t) != PU_OK;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    pu_task t;
    pu_task_seed_example(&t);
    uint32_t miners = pu_task_required_miners(&t);
    if (!strcmp(mode, "train") && parse_train_args(argc, argv, &t, &miners)) {
        fprintf(stderr, "usage: bench_ml [speed | train [-i N -b B -l LR_E9 -t TAU_E9 "
                        "-m MOM_E9 -M MINERS -s SEED]]\n");
        return 2;
    }
    pu_crypto *c = NULL;
    pu_dataset *train = NULL, *test = NULL;
    double t0 = now_s();
    pu_err rc = pu_crypto_new(&c);
    if (rc == PU_OK)
        rc = pu_task_load_data(&t, NULL, &train, &test);
    if (rc != PU_OK)
        return fail("load Fashion-MNIST", rc);
    printf("loaded Fashion-MNIST (%u + %u examples, %.0f MB) in %.2f s; seed task: complexity "
           "%u ppm, %u miners\n",
           pu_dataset_size(train), pu_dataset_size(test),
           (pu_dataset_mem(train) + pu_dataset_mem(test)) / 1e6, now_s() - t0,
           pu_task_complexity_ppm(&t), pu_task_required_miners(&t));
    int bad = 0;
    if (strcmp(mode, "train") != 0)
        bad |= bench_speed(train, c);
    if (strcmp(mode, "speed") != 0)
        bad |= bench_train(train, test, &t, miners, c);
    pu_dataset_free(train);
    pu_dataset_free(test);
    pu_crypto_free(c);
    return bad;
}

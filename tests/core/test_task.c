/* tests/core/test_task.c -- task codec strictness, id, complexity score,
 * required miners, accuracy threshold, the early-stopping criterion, and a
 * synthetic task end to end. */
#include <string.h>

#include "core/bytes.h"
#include "core/task.h"
#include "tests/harness.h"

static void test_seed_roundtrip(void)
{
    pu_task t, back;
    pu_task_seed_example(&t);
    CU_ASSERT_EQUAL(pu_task_check(&t), PU_OK);
    uint8_t enc[PU_TASK_ENCODED_LEN], enc2[PU_TASK_ENCODED_LEN];
    CU_ASSERT_FATAL(pu_task_encode(&t, enc) == PU_OK);
    CU_ASSERT_EQUAL(enc[0], 1);
    CU_ASSERT_EQUAL(pu_get_be32(enc + 4), 784u);
    CU_ASSERT_EQUAL(pu_get_be32(enc + 12), 64u);
    CU_ASSERT_EQUAL(memcmp(enc + 44, "fashion-mnist\0\0\0", 16), 0);
    CU_ASSERT_EQUAL(pu_get_be32(enc + 120), 850000u);
    CU_ASSERT_EQUAL((int64_t)pu_get_be64(enc + 132), 10 * PU_COIN);
    CU_ASSERT_EQUAL(pu_get_be32(enc + 172), 10u);
    CU_ASSERT_FATAL(pu_task_decode(enc, sizeof enc, &back) == PU_OK);
    CU_ASSERT_FATAL(pu_task_encode(&back, enc2) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(enc, enc2, sizeof enc), 0);
    CU_ASSERT_EQUAL(back.fee, 10 * PU_COIN);
    CU_ASSERT_EQUAL(back.stake[PU_TASK_ROLE_VERIFIER], PU_COIN / 10);
    CU_ASSERT_STRING_EQUAL(back.dataset, "fashion-mnist");
    CU_ASSERT_EQUAL(back.hidden[1], 64u);

    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 id, h;
    CU_ASSERT_EQUAL(pu_task_id(&t, c, &id), PU_OK);
    pu_sha256d(c, enc, sizeof enc, &h); /* id = H2(canonical bytes) */
    CU_ASSERT_TRUE(pu_hash_eq(&id, &h));
    char hex[65];
    pu_hash_hex(&id, hex);
    if (strcmp(hex, "f9fd8ab5e87e7dc138f0e0c2cf8fc475f17fe3a13705d24b3dc60d567a738b89") != 0)
        fprintf(stderr, "\n  seed task id %s\n", hex);
    CU_ASSERT_STRING_EQUAL(hex, "f9fd8ab5e87e7dc138f0e0c2cf8fc475f17fe3a13705d24b3dc60d567a738b89");
    pu_crypto_free(c);

    pu_ml_arch a;
    pu_ml_hyper hp;
    pu_task_arch(&t, &a);
    pu_task_hyper(&t, &hp);
    uint32_t np;
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_OK);
    CU_ASSERT_EQUAL(np, 109386u);
    CU_ASSERT_EQUAL(hp.lr_e9, t.lr_e9);
    CU_ASSERT_EQUAL(pu_ml_hyper_check(&hp), PU_OK);
}

/* Worked example of the documented formula for the seed task:
 * f_depth = 2/8 = 250000; P = 109386 -> lg = 16.669097 -> f_params =
 * 6669097/16 = 416818; data = 60000 * 784 = 47,040,000 -> lg = 25.401901
 * -> f_data = 9401901/16 = 587618; f_acc = 850000;
 * score = 500000 + 2104436/8 = 763054; miners = 1 + floor(4 * 0.526) = 3. */
static void test_seed_score(void)
{
    pu_task t;
    pu_task_seed_example(&t);
    CU_ASSERT_EQUAL(pu_task_complexity_ppm(&t), 763054u);
    CU_ASSERT_EQUAL(pu_task_required_miners(&t), 3u);
}

/* A small valid synthetic task to mutate. */
static void synth_task(pu_task *t)
{
    pu_task_seed_example(t);
    memset(t->dataset, 0, sizeof t->dataset);
    strcpy(t->dataset, "synthetic");
    t->n_hidden = 1;
    t->input_size = t->features = 12;
    t->hidden[0] = 16;
    t->hidden[1] = 0;
    t->output_size = t->classes = 4;
    t->train_size = 3000;
    t->test_size = 1000;
    t->data_seed = 42;
    t->batch_size = 50;
    t->lr_e9 = 1000000000; /* a lone miner on easy data: large steps */
    t->tau_e9 = 20000000;
    t->min_accuracy_ppm = 800000;
    t->max_iterations = 60;
}

static void test_score_monotone(void)
{
    pu_task t;
    synth_task(&t);
    uint32_t prev = 0;
    for (uint32_t acc = 100000; acc <= 1000000; acc += 50000) {
        t.min_accuracy_ppm = acc;
        uint32_t s = pu_task_complexity_ppm(&t);
        CU_ASSERT(s >= prev);
        prev = s;
    }
    synth_task(&t);
    prev = 0;
    for (uint32_t w = 1; w <= 4096; w = w * 3 / 2 + 1) { /* parameter count */
        t.hidden[0] = w;
        uint32_t s = pu_task_complexity_ppm(&t);
        CU_ASSERT(s >= prev);
        prev = s;
    }
    synth_task(&t);
    prev = 0;
    for (uint32_t n = 10; n <= 4000000; n = n * 2 + 7) { /* data set size */
        t.train_size = n;
        uint32_t s = pu_task_complexity_ppm(&t);
        CU_ASSERT(s >= prev);
        prev = s;
    }
    synth_task(&t);
    prev = 0;
    for (uint8_t d = 0; d <= PU_ML_MAX_HIDDEN; d++) { /* depth */
        t.n_hidden = d;
        for (uint32_t i = 0; i < PU_ML_MAX_HIDDEN; i++)
            t.hidden[i] = i < d ? 16 : 0;
        uint32_t s = pu_task_complexity_ppm(&t);
        CU_ASSERT(s > prev); /* depth alone moves it by 1/64 */
        prev = s;
    }
    /* extremes */
    synth_task(&t);
    t.n_hidden = 0;
    t.hidden[0] = 0;
    t.input_size = t.features = 2;
    t.output_size = t.classes = 2;
    t.train_size = 10;
    t.min_accuracy_ppm = 1;
    CU_ASSERT_EQUAL(pu_task_complexity_ppm(&t), 500000u);
    CU_ASSERT_EQUAL(pu_task_required_miners(&t), 1u);
    t.n_hidden = 8;
    for (int i = 0; i < 8; i++)
        t.hidden[i] = 2048;
    t.input_size = t.features = 65536;
    t.train_size = 4000000;
    t.min_accuracy_ppm = 1000000;
    CU_ASSERT_EQUAL(pu_task_complexity_ppm(&t), 1000000u);
    CU_ASSERT_EQUAL(pu_task_required_miners(&t), 5u);
}

static void test_threshold(void)
{
    pu_task t;
    pu_task_seed_example(&t);
    t.max_iterations = 100; /* ramp over 50 iterations */
    /* ceiling = 100000 + (850000 - 100000) / 2 = 475000 at i = 50 */
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 0), 0u);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 10), 95000u);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 33), 313500u);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 50), 475000u);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 99), 475000u);
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 4000000000u), 475000u);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < 120; i++) {
        uint32_t v = pu_task_threshold_ppm(&t, i);
        CU_ASSERT(v >= prev);
        prev = v;
    }
    CU_ASSERT_EQUAL(pu_task_min_correct(&t, 50, 500), 238u); /* ceil(237.5) */
    CU_ASSERT_EQUAL(pu_task_min_correct(&t, 50, 400), 190u); /* exact */
    CU_ASSERT_EQUAL(pu_task_min_correct(&t, 33, 100), 32u);  /* ceil(31.35) */
    CU_ASSERT_EQUAL(pu_task_min_correct(&t, 0, 500), 0u);
    t.min_accuracy_ppm = 50000; /* below chance: the target itself */
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 80), 50000u);
    t.max_iterations = 1;
    CU_ASSERT_EQUAL(pu_task_threshold_ppm(&t, 1), 50000u);
}

/* Early stopping: the window is max_iterations / 10 (at least 1), and the
 * criterion compares the gain in batch accuracy between two windows with
 * convergence_ppm, floor division, strictly below. */
static void test_convergence(void)
{
    pu_task t;
    pu_task_seed_example(&t);
    CU_ASSERT_EQUAL(t.convergence_ppm, 10000u);
    CU_ASSERT_EQUAL(t.max_iterations, 300u);
    CU_ASSERT_EQUAL(pu_task_convergence_window(&t), 30u);
    const uint32_t windows[][2] = {{100, 10}, {109, 10}, {20, 2}, {19, 1}, {10, 1}, {9, 1}, {1, 1}};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        pu_task u = t;
        u.max_iterations = windows[i][0];
        CU_ASSERT_EQUAL(pu_task_convergence_window(&u), windows[i][1]);
    }
    /* W = 30 batches of 50: 1500 examples; 0.01 is a gain of 15 correct */
    CU_ASSERT_TRUE(pu_task_converged(&t, 1000, 1014, 50));   /* 9333 ppm */
    CU_ASSERT_FALSE(pu_task_converged(&t, 1000, 1015, 50));  /* 10000 ppm: not below */
    CU_ASSERT_FALSE(pu_task_converged(&t, 0, 1500, 50));     /* 10^6 ppm */
    CU_ASSERT_TRUE(pu_task_converged(&t, 1000, 1000, 50));   /* no gain */
    CU_ASSERT_TRUE(pu_task_converged(&t, 1000, 900, 50));    /* a loss */
    CU_ASSERT_FALSE(pu_task_converged(&t, 1000, 900, 0));    /* no batch: never */
    t.convergence_ppm = 10001;                               /* 15 x 10^6 / 1500 = 10000 < 10001 */
    CU_ASSERT_TRUE(pu_task_converged(&t, 1000, 1015, 50));
    t.convergence_ppm = 1000000;
    CU_ASSERT_FALSE(pu_task_converged(&t, 0, 1500, 50));     /* 10^6 is not below 10^6 */
    CU_ASSERT_TRUE(pu_task_converged(&t, 0, 1499, 50));
    t.convergence_ppm = 0;                                   /* off: never, even with a loss */
    CU_ASSERT_FALSE(pu_task_converged(&t, 1000, 1000, 50));
    CU_ASSERT_FALSE(pu_task_converged(&t, 1000, 900, 50));
    /* the examples of a window scale with it: W = 10, 0.01 of 500 is 5 */
    t.convergence_ppm = 10000;
    t.max_iterations = 100;
    CU_ASSERT_TRUE(pu_task_converged(&t, 300, 304, 50));
    CU_ASSERT_FALSE(pu_task_converged(&t, 300, 305, 50));
}

/* Every field the decoder must refuse, with the documented code. */
static void test_decode_rejects(void)
{
    pu_task t, out;
    uint8_t good[PU_TASK_ENCODED_LEN], b[PU_TASK_ENCODED_LEN + 1];
    pu_task_seed_example(&t);
    CU_ASSERT_FATAL(pu_task_encode(&t, good) == PU_OK);
    for (size_t n = 0; n < sizeof good; n++)
        CU_ASSERT_EQUAL(pu_task_decode(good, n, &out), PU_ERR_PARSE);
    memcpy(b, good, sizeof good);
    b[sizeof good] = 0;
    CU_ASSERT_EQUAL(pu_task_decode(b, sizeof b, &out), PU_ERR_PARSE);

    struct {
        size_t off;
        int width; /* 1, 4 or 8 bytes */
        uint64_t val;
        pu_err want;
    } cases[] = {
        {0, 1, 2, PU_ERR_PARSE},             /* version */
        {1, 1, 2, PU_ERR_RANGE},             /* model */
        {2, 1, 0, PU_ERR_RANGE},             /* activation */
        {3, 1, 9, PU_ERR_RANGE},             /* n_hidden */
        {3, 1, 1, PU_ERR_PARSE},             /* hidden[1] = 64 now unused and non-zero */
        {16, 4, 5, PU_ERR_PARSE},            /* hidden[2] unused, non-zero */
        {8, 4, 0, PU_ERR_RANGE},             /* zero width */
        {4, 4, 785, PU_ERR_INVALID},         /* input != features */
        {40, 4, 11, PU_ERR_INVALID},         /* output != classes */
        {44, 1, 'F', PU_ERR_PARSE},          /* upper case in the name */
        {59, 1, 'x', PU_ERR_PARSE},          /* padding after the NUL */
        {44, 1, 'g', PU_ERR_INVALID},        /* "gashion-mnist": unknown */
        {60, 4, 59999, PU_ERR_INVALID},      /* not the official split */
        {76, 8, 1, PU_ERR_INVALID},          /* fashion-mnist has no data seed */
        {84, 8, 0, PU_ERR_RANGE},            /* lr 0 */
        {84, 8, 10000000001ull, PU_ERR_RANGE},
        {92, 8, 0, PU_ERR_RANGE},            /* tau 0 */
        {100, 8, 1000000000, PU_ERR_RANGE},  /* momentum 1 */
        {108, 4, 0, PU_ERR_RANGE},           /* batch 0 */
        {108, 4, 20001, PU_ERR_INVALID},     /* 3 miners x 20,001 > 60,000 */
        {120, 4, 0, PU_ERR_RANGE},           /* min accuracy */
        {120, 4, 1000001, PU_ERR_RANGE},
        {124, 4, 0, PU_ERR_RANGE},           /* max iterations */
        {128, 4, 1000001, PU_ERR_RANGE},     /* convergence */
        {132, 8, 0, PU_ERR_RANGE},           /* fee 0 */
        {132, 8, (uint64_t)PU_MAX_MONEY + 1, PU_ERR_RANGE},
        {132, 8, (uint64_t)-5, PU_ERR_RANGE},
        {140, 8, (uint64_t)-1, PU_ERR_RANGE}, /* negative stake */
        {164, 8, (uint64_t)PU_MAX_MONEY + 1, PU_ERR_RANGE},
        {172, 4, 0, PU_ERR_RANGE},           /* registration window */
        {172, 4, PU_TASK_MAX_REGISTRATION + 1, PU_ERR_RANGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, good, sizeof good);
        if (cases[i].width == 1)
            b[cases[i].off] = (uint8_t)cases[i].val;
        else if (cases[i].width == 4)
            pu_put_be32(b + cases[i].off, (uint32_t)cases[i].val);
        else
            pu_put_be64(b + cases[i].off, cases[i].val);
        pu_err rc = pu_task_decode(b, sizeof good, &out);
        if (rc != cases[i].want)
            fprintf(stderr, "\n  case %zu (offset %zu): %s\n", i, cases[i].off, pu_strerror(rc));
        CU_ASSERT_EQUAL(rc, cases[i].want);
        CU_ASSERT_EQUAL(out.fee, 0); /* zeroed on failure */
    }
    /* the encoder refuses what the decoder would refuse */
    t.fee = -1;
    CU_ASSERT_EQUAL(pu_task_encode(&t, b), PU_ERR_RANGE);
    pu_task_seed_example(&t);
    strcpy(t.dataset, "x");
    CU_ASSERT_EQUAL(pu_task_encode(&t, b), PU_ERR_INVALID);
    memset(t.dataset, 'a', sizeof t.dataset); /* 17 letters, no terminator */
    CU_ASSERT_EQUAL(pu_task_encode(&t, b), PU_ERR_PARSE);
}

/* A synthetic task: its data, architecture and step settings work
 * together, and a 16-letter name (no NUL in the field) round-trips. */
static void test_synthetic_task(void)
{
    pu_task t, back;
    synth_task(&t);
    CU_ASSERT_EQUAL(pu_task_check(&t), PU_OK);
    uint8_t enc[PU_TASK_ENCODED_LEN];
    CU_ASSERT_FATAL(pu_task_encode(&t, enc) == PU_OK);
    CU_ASSERT_FATAL(pu_task_decode(enc, sizeof enc, &back) == PU_OK);
    CU_ASSERT_EQUAL(back.data_seed, 42u);
    pu_dataset *train, *test;
    CU_ASSERT_FATAL(pu_task_load_data(&t, NULL, &train, &test) == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(train), 3000u);
    CU_ASSERT_EQUAL(pu_dataset_size(test), 1000u);
    CU_ASSERT_EQUAL(pu_dataset_dim(test), 12u);
    pu_dataset *tail;
    CU_ASSERT_FATAL(pu_dataset_synthetic(42, 12, 4, 3000, 1, &tail) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(pu_dataset_features(test, 0), pu_dataset_features(tail, 0), 12), 0);
    pu_dataset_free(tail);

    pu_ml_arch a;
    pu_ml_hyper h;
    pu_task_arch(&t, &a);
    pu_task_hyper(&t, &h);
    pu_ml_ws *ws;
    pu_ml_model *m;
    pu_ml_resid *r;
    pu_ml_update *u;
    CU_ASSERT_FATAL(pu_ml_ws_new(&a, t.batch_size, &ws) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_model_new(&a, false, &m) == PU_OK);
    pu_ml_model_init(m, t.task_seed);
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(m), &r) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    uint32_t idx[50], per, miners = pu_task_required_miners(&t);
    CU_ASSERT_FATAL(pu_dataset_iters_per_epoch(t.train_size, miners, t.batch_size, &per) == PU_OK);
    pu_ml_metrics mt;
    for (uint32_t i = 0; i < t.max_iterations; i++) { /* a lone miner, for the threshold */
        CU_ASSERT_FATAL(pu_dataset_batch(train, t.task_seed, i / per, i % per, 0, miners,
                                         t.batch_size, idx) == PU_OK);
        pu_ml_batch b = {train, idx, t.batch_size};
        CU_ASSERT_FATAL(pu_ml_step(ws, m, r, &b, NULL, 0, &h, m, r, u, &mt) == PU_OK);
        CU_ASSERT(mt.correct >= pu_task_min_correct(&t, i, mt.n));
    }
    pu_ml_update_free(u);
    pu_ml_resid_free(r);
    pu_ml_model_free(m);
    pu_ml_ws_free(ws);
    pu_dataset_free(train);
    pu_dataset_free(test);

    memset(t.dataset, 0, sizeof t.dataset);
    memcpy(t.dataset, "abcdefghijklmnop", 16);
    CU_ASSERT_EQUAL(pu_task_check(&t), PU_ERR_INVALID); /* well-formed, unknown */
    CU_ASSERT_EQUAL(pu_task_load_data(&t, NULL, &train, &test), PU_ERR_INVALID);
    CU_ASSERT(train == NULL && test == NULL);
}

/* The seed's task on its own data set: MNIST has fixed sizes, needs two
 * miners (a smaller data set than Fashion-MNIST's three), and loads from
 * the directory the caller names. */
static void test_mnist_task(void)
{
    pu_task t;
    pu_task_seed_example(&t);
    memset(t.dataset, 0, sizeof t.dataset);
    memcpy(t.dataset, "mnist", 5);
    t.train_size = 8000;
    t.test_size = 2000;
    t.max_iterations = 100;
    CU_ASSERT_EQUAL(pu_task_check(&t), PU_OK);
    CU_ASSERT_EQUAL(pu_task_complexity_ppm(&t), 740347u); /* Fashion-MNIST: 763054 */
    CU_ASSERT_EQUAL(pu_task_required_miners(&t), 2u);
    uint8_t enc[PU_TASK_ENCODED_LEN];
    CU_ASSERT_FATAL(pu_task_encode(&t, enc) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(enc + 44, "mnist\0\0\0\0\0\0\0\0\0\0\0", 16), 0);
    pu_task bad = t;
    bad.train_size = 8001;
    CU_ASSERT_EQUAL(pu_task_check(&bad), PU_ERR_INVALID);
    bad = t;
    bad.test_size = 10000;
    CU_ASSERT_EQUAL(pu_task_check(&bad), PU_ERR_INVALID);
    bad = t;
    bad.data_seed = 1;
    CU_ASSERT_EQUAL(pu_task_check(&bad), PU_ERR_INVALID);
    bad = t;
    bad.classes = bad.output_size = 9;
    CU_ASSERT_EQUAL(pu_task_check(&bad), PU_ERR_INVALID);
    pu_dataset *train, *test;
    pu_task_data_dirs nowhere = {PU_DATASET_FMNIST_DIR, "/nonexistent"};
    CU_ASSERT_EQUAL(pu_task_load_data(&t, &nowhere, &train, &test), PU_ERR_IO);
    CU_ASSERT(train == NULL && test == NULL);
    pu_task_data_dirs here = {"/nonexistent", PU_DATASET_MNIST_DIR}; /* fashion's is not read */
    CU_ASSERT_FATAL(pu_task_load_data(&t, &here, &train, &test) == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(train), 8000u);
    CU_ASSERT_EQUAL(pu_dataset_size(test), 2000u);
    pu_dataset_free(train);
    pu_dataset_free(test);
}

TSUITE(task)
{
    CU_pSuite s = CU_add_suite("task", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_seed_roundtrip);
    TADD(s, test_seed_score);
    TADD(s, test_score_monotone);
    TADD(s, test_threshold);
    TADD(s, test_convergence);
    TADD(s, test_decode_rejects);
    TADD(s, test_synthetic_task);
    TADD(s, test_mnist_task);
    return CUE_SUCCESS;
}

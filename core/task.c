/* core/task.c -- task definition codec and the integer rules derived from it.
 *
 * Everything a node derives from a task (id, score, miners, thresholds)
 * uses integers only, so nodes agree without comparing floats. */
#include "core/task.h"

#include <string.h>

#include "core/bytes.h"

#define PPM 1000000u
#define PPM_U UINT64_C(1000000)

/* Iteration budget of the seed's task.  The seed asks for 100 iterations,
 * but with 3 miners and Strom threshold updates no setting tried (batch
 * 100..2000, lr 0.05..0.5, tau 1e-4..3e-3, momentum 0..0.9) gets past a test
 * accuracy of 0.835-0.84 after 100 iterations.  With the settings below,
 * 200 iterations reach 0.852 on every miner for task_seed 1 but only 0.843
 * for task_seed 3; 300 iterations (7.5 epochs) give 0.852-0.863 on every
 * miner for task seeds 1, 2 and 3.  So the example asks for 300
 * (tests/bench/bench_ml.c reproduces the run).  On the seed's own data set,
 * real MNIST digits ("mnist"), the same settings reach 0.929 in the seed's
 * 100 iterations (scenarios/pouw-mnist.yaml). */
#define SEED_MAX_ITERATIONS 300u

static const char NAME_FMNIST[] = "fashion-mnist";
static const char NAME_MNIST[] = "mnist";
static const char NAME_SYNTH[] = "synthetic";

static bool name_is(const pu_task *t, const char *name) { return strcmp(t->dataset, name) == 0; }

/* Name: 1..16 bytes of [a-z0-9-], NUL terminated within the field. */
static bool name_ok(const char *s)
{
    size_t n = 0;
    while (n <= PU_TASK_NAME_LEN && s[n])
        n++;
    if (n == 0 || n > PU_TASK_NAME_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return false;
    }
    return true;
}

void pu_task_arch(const pu_task *t, pu_ml_arch *out)
{
    memset(out, 0, sizeof *out);
    out->input = t->input_size;
    out->n_hidden = t->n_hidden;
    for (uint32_t i = 0; i < t->n_hidden && i < PU_ML_MAX_HIDDEN; i++)
        out->hidden[i] = t->hidden[i];
    out->output = t->output_size;
}

void pu_task_hyper(const pu_task *t, pu_ml_hyper *out)
{
    out->lr_e9 = t->lr_e9;
    out->tau_e9 = t->tau_e9;
    out->momentum_e9 = t->momentum_e9;
}

/* ---- validation ------------------------------------------------------------ */

static pu_err check_arch(const pu_task *t)
{
    if (t->model != PU_TASK_MODEL_MLP || t->activation != PU_TASK_ACT_RELU
        || t->n_hidden > PU_ML_MAX_HIDDEN)
        return PU_ERR_RANGE;
    for (uint32_t i = t->n_hidden; i < PU_ML_MAX_HIDDEN; i++)
        if (t->hidden[i] != 0)
            return PU_ERR_PARSE;
    pu_ml_arch a;
    uint32_t np;
    pu_task_arch(t, &a);
    return pu_ml_arch_check(&a, &np);
}

static pu_err check_data(const pu_task *t)
{
    if (!name_ok(t->dataset))
        return PU_ERR_PARSE;
    if (t->input_size != t->features || t->output_size != t->classes)
        return PU_ERR_INVALID;
    if (name_is(t, NAME_FMNIST))
        return t->train_size == 60000 && t->test_size == 10000 && t->features == 784
                       && t->classes == 10 && t->data_seed == 0
                   ? PU_OK
                   : PU_ERR_INVALID;
    if (name_is(t, NAME_MNIST))
        return t->train_size == PU_DATASET_MNIST_TRAIN && t->test_size == PU_DATASET_MNIST_TEST
                       && t->features == 784 && t->classes == 10 && t->data_seed == 0
                   ? PU_OK
                   : PU_ERR_INVALID;
    if (!name_is(t, NAME_SYNTH))
        return PU_ERR_INVALID;
    if (t->train_size == 0 || t->test_size == 0
        || (uint64_t)t->train_size + t->test_size > UINT32_MAX || t->features == 0
        || t->features > PU_DATASET_MAX_DIM || t->classes < 2
        || t->classes > PU_DATASET_MAX_CLASSES
        || (uint64_t)t->train_size * t->features > PU_DATASET_MAX_BYTES
        || (uint64_t)t->test_size * t->features > PU_DATASET_MAX_BYTES)
        return PU_ERR_RANGE;
    return PU_OK;
}

static pu_err check_numbers(const pu_task *t)
{
    pu_ml_hyper h;
    pu_task_hyper(t, &h);
    if (pu_ml_hyper_check(&h) != PU_OK || t->batch_size == 0 || t->batch_size > PU_ML_MAX_BATCH
        || t->min_accuracy_ppm == 0 || t->min_accuracy_ppm > PPM || t->convergence_ppm > PPM
        || t->max_iterations == 0 || t->max_iterations > PU_TASK_MAX_ITERATIONS)
        return PU_ERR_RANGE;
    if (!pu_amount_valid(t->fee) || t->fee == 0)
        return PU_ERR_RANGE;
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        if (!pu_amount_valid(t->stake[r]))
            return PU_ERR_RANGE;
    if (t->registration_blocks == 0 || t->registration_blocks > PU_TASK_MAX_REGISTRATION)
        return PU_ERR_RANGE;
    return PU_OK;
}

pu_err pu_task_check(const pu_task *t)
{
    pu_err rc = check_arch(t);
    if (rc == PU_OK)
        rc = check_data(t);
    if (rc == PU_OK)
        rc = check_numbers(t);
    if (rc != PU_OK)
        return rc;
    uint32_t per;
    if (pu_dataset_iters_per_epoch(t->train_size, pu_task_required_miners(t), t->batch_size,
                                   &per)
        != PU_OK)
        return PU_ERR_INVALID;
    return PU_OK;
}

/* ---- codec ------------------------------------------------------------------- */

static void put_amount(uint8_t *p, pu_amount a) { pu_put_be64(p, (uint64_t)a); }

pu_err pu_task_encode(const pu_task *t, uint8_t out[PU_TASK_ENCODED_LEN])
{
    pu_err rc = pu_task_check(t);
    if (rc != PU_OK)
        return rc;
    memset(out, 0, PU_TASK_ENCODED_LEN);
    out[0] = PU_TASK_VERSION;
    out[1] = t->model;
    out[2] = t->activation;
    out[3] = t->n_hidden;
    pu_put_be32(out + 4, t->input_size);
    for (uint32_t i = 0; i < PU_ML_MAX_HIDDEN; i++)
        pu_put_be32(out + 8 + 4 * i, t->hidden[i]);
    pu_put_be32(out + 40, t->output_size);
    memcpy(out + 44, t->dataset, strlen(t->dataset)); /* name_ok: <= 16 bytes */
    pu_put_be32(out + 60, t->train_size);
    pu_put_be32(out + 64, t->test_size);
    pu_put_be32(out + 68, t->features);
    pu_put_be32(out + 72, t->classes);
    pu_put_be64(out + 76, t->data_seed);
    pu_put_be64(out + 84, t->lr_e9);
    pu_put_be64(out + 92, t->tau_e9);
    pu_put_be64(out + 100, t->momentum_e9);
    pu_put_be32(out + 108, t->batch_size);
    pu_put_be64(out + 112, t->task_seed);
    pu_put_be32(out + 120, t->min_accuracy_ppm);
    pu_put_be32(out + 124, t->max_iterations);
    pu_put_be32(out + 128, t->convergence_ppm);
    put_amount(out + 132, t->fee);
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        put_amount(out + 140 + 8 * r, t->stake[r]);
    pu_put_be32(out + 172, t->registration_blocks);
    return PU_OK;
}

/* The name field must be the name followed by zero bytes only; a NUL-free
 * 16-byte name is allowed (the struct has room for its terminator). */
static pu_err decode_name(const uint8_t *p, char out[PU_TASK_NAME_LEN + 1])
{
    size_t n = 0;
    while (n < PU_TASK_NAME_LEN && p[n])
        n++;
    for (size_t i = n; i < PU_TASK_NAME_LEN; i++)
        if (p[i])
            return PU_ERR_PARSE;
    memcpy(out, p, n);
    out[n] = '\0';
    return PU_OK;
}

static void decode_fields(const uint8_t *b, pu_task *t)
{
    t->model = b[1];
    t->activation = b[2];
    t->n_hidden = b[3];
    t->input_size = pu_get_be32(b + 4);
    for (uint32_t i = 0; i < PU_ML_MAX_HIDDEN; i++)
        t->hidden[i] = pu_get_be32(b + 8 + 4 * i);
    t->output_size = pu_get_be32(b + 40);
    t->train_size = pu_get_be32(b + 60);
    t->test_size = pu_get_be32(b + 64);
    t->features = pu_get_be32(b + 68);
    t->classes = pu_get_be32(b + 72);
    t->data_seed = pu_get_be64(b + 76);
    t->lr_e9 = pu_get_be64(b + 84);
    t->tau_e9 = pu_get_be64(b + 92);
    t->momentum_e9 = pu_get_be64(b + 100);
    t->batch_size = pu_get_be32(b + 108);
    t->task_seed = pu_get_be64(b + 112);
    t->min_accuracy_ppm = pu_get_be32(b + 120);
    t->max_iterations = pu_get_be32(b + 124);
    t->convergence_ppm = pu_get_be32(b + 128);
    t->fee = (pu_amount)pu_get_be64(b + 132);
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        t->stake[r] = (pu_amount)pu_get_be64(b + 140 + 8 * r);
    t->registration_blocks = pu_get_be32(b + 172);
}

pu_err pu_task_decode(const uint8_t *buf, size_t len, pu_task *out)
{
    memset(out, 0, sizeof *out);
    if (len != PU_TASK_ENCODED_LEN || buf[0] != PU_TASK_VERSION)
        return PU_ERR_PARSE;
    pu_task t;
    memset(&t, 0, sizeof t);
    pu_err rc = decode_name(buf + 44, t.dataset);
    if (rc != PU_OK)
        return rc;
    decode_fields(buf, &t);
    rc = pu_task_check(&t);
    if (rc == PU_OK)
        *out = t;
    return rc;
}

pu_err pu_task_id(const pu_task *t, pu_crypto *c, pu_hash32 *out)
{
    uint8_t enc[PU_TASK_ENCODED_LEN];
    pu_err rc = pu_task_encode(t, enc);
    if (rc != PU_OK)
        return rc;
    pu_sha256d(c, enc, sizeof enc, out);
    return pu_crypto_failed(c) ? PU_ERR_CRYPTO : PU_OK;
}

/* ---- the seed's example ------------------------------------------------------- */

void pu_task_seed_example(pu_task *out)
{
    memset(out, 0, sizeof *out);
    out->model = PU_TASK_MODEL_MLP;
    out->activation = PU_TASK_ACT_RELU;
    out->n_hidden = 2;
    out->input_size = 784;
    out->hidden[0] = 128;
    out->hidden[1] = 64;
    out->output_size = 10;
    memcpy(out->dataset, NAME_FMNIST, sizeof NAME_FMNIST);
    out->train_size = 60000;
    out->test_size = 10000;
    out->features = 784;
    out->classes = 10;
    out->lr_e9 = 300000000; /* 0.3 */
    out->tau_e9 = 1500000;  /* 0.0015: ~5,000 entries (20 KB) per update message */
    out->momentum_e9 = 0;   /* momentum on top of the residual overshoots: 0.9 -> 0.45-0.64 */
    out->batch_size = 500;
    out->task_seed = 1;
    out->min_accuracy_ppm = 850000;
    out->max_iterations = SEED_MAX_ITERATIONS;
    out->convergence_ppm = 10000; /* the seed's convergence criterion 0.01 */
    out->fee = 10 * PU_COIN;
    out->stake[PU_TASK_ROLE_MINER] = PU_COIN;
    out->stake[PU_TASK_ROLE_SUPERVISOR] = PU_COIN;
    out->stake[PU_TASK_ROLE_EVALUATOR] = PU_COIN;
    out->stake[PU_TASK_ROLE_VERIFIER] = PU_COIN / 10;
    out->registration_blocks = 10;
}

/* ---- derived integers ------------------------------------------------------------ */

/* log2(x) in millionths, exact at powers of two and linear in between:
 * continuous and non-decreasing, which is all the score needs. */
static uint64_t lg_ppm(uint64_t x)
{
    if (x <= 1)
        return 0;
    unsigned e = 63;
    while (!(x >> e))
        e--;
    uint64_t rest = x - (UINT64_C(1) << e); /* < 2^e */
    uint64_t frac;
    if (e <= 20)
        frac = (rest * PPM) >> e;
    else /* keep the product below 2^64: drop bits under the 20 we need */
        frac = ((rest >> (e - 20)) * PPM) >> 20;
    return (uint64_t)e * PPM + frac;
}

/* clamp((lg(x) - lo) / span) to [0, 10^6], lo and span in whole bits. */
static uint64_t lg_factor(uint64_t x, unsigned lo, unsigned span)
{
    uint64_t l = lg_ppm(x), base = (uint64_t)lo * PPM;
    if (l <= base)
        return 0;
    uint64_t f = (l - base) / span;
    return f > PPM ? PPM : f;
}

uint32_t pu_task_complexity_ppm(const pu_task *t)
{
    pu_ml_arch a;
    uint32_t np = 0;
    pu_task_arch(t, &a);
    if (pu_ml_arch_check(&a, &np) != PU_OK)
        np = PU_ML_MAX_PARAMS; /* invalid tasks never get here through the decoder */
    uint64_t depth = t->n_hidden <= PU_ML_MAX_HIDDEN ? t->n_hidden : PU_ML_MAX_HIDDEN;
    uint64_t f_depth = depth * PPM / PU_ML_MAX_HIDDEN;
    uint64_t f_params = lg_factor(np, 10, 16);
    uint64_t f_data = lg_factor((uint64_t)t->train_size * t->features, 16, 16);
    uint64_t f_acc = t->min_accuracy_ppm > PPM ? PPM : t->min_accuracy_ppm;
    return (uint32_t)(PPM / 2 + (f_depth + f_params + f_data + f_acc) / 8);
}

uint32_t pu_task_required_miners(const pu_task *t)
{
    uint32_t s = pu_task_complexity_ppm(t);
    uint32_t m = 1 + (uint32_t)((uint64_t)(s - PPM / 2) * 4 / (PPM / 2));
    return m > PU_TASK_MAX_MINERS ? PU_TASK_MAX_MINERS : m;
}

uint32_t pu_task_threshold_ppm(const pu_task *t, uint32_t iteration)
{
    uint64_t chance = t->classes ? PPM / t->classes : PPM;
    uint64_t target = t->min_accuracy_ppm > PPM ? PPM : t->min_accuracy_ppm;
    uint64_t ceiling = target <= chance ? target : chance + (target - chance) / 2;
    uint64_t ramp = t->max_iterations / 2 ? t->max_iterations / 2 : 1;
    uint64_t i = iteration < ramp ? iteration : ramp;
    return (uint32_t)(ceiling * i / ramp);
}

uint32_t pu_task_min_correct(const pu_task *t, uint32_t iteration, uint32_t n)
{
    uint64_t thr = pu_task_threshold_ppm(t, iteration);
    return (uint32_t)((thr * n + PPM - 1) / PPM);
}

/* ---- data ----------------------------------------------------------------------- */

pu_err pu_task_load_data(const pu_task *t, const pu_task_data_dirs *dirs,
                         pu_dataset **train_out, pu_dataset **test_out)
{
    *train_out = NULL;
    *test_out = NULL;
    if (pu_task_check(t) != PU_OK)
        return PU_ERR_INVALID;
    const char *fm_dir = dirs && dirs->fashion_mnist ? dirs->fashion_mnist : PU_DATASET_FMNIST_DIR;
    const char *mn_dir = dirs && dirs->mnist ? dirs->mnist : PU_DATASET_MNIST_DIR;
    pu_err rc;
    if (name_is(t, NAME_FMNIST)) {
        rc = pu_dataset_load_fashion_mnist(fm_dir, false, train_out);
        if (rc == PU_OK)
            rc = pu_dataset_load_fashion_mnist(fm_dir, true, test_out);
    } else if (name_is(t, NAME_MNIST)) {
        rc = pu_dataset_load_mnist(mn_dir, train_out, test_out);
    } else {
        rc = pu_dataset_synthetic(t->data_seed, t->features, t->classes, 0, t->train_size,
                                  train_out);
        if (rc == PU_OK)
            rc = pu_dataset_synthetic(t->data_seed, t->features, t->classes, t->train_size,
                                      t->test_size, test_out);
    }
    if (rc != PU_OK) {
        pu_dataset_free(*train_out);
        pu_dataset_free(*test_out);
        *train_out = NULL;
        *test_out = NULL;
    }
    return rc;
}

pu_amount pu_task_fee(const pu_task *t, pu_amount per_unit)
{
    if (per_unit <= 0)
        return 0;
    uint64_t c = pu_task_complexity_ppm(t), u = (uint64_t)per_unit;
    /* u = a 10^6 + b: a c <= 2.1e9 x 10^6 and b c < 10^12, no overflow */
    return (pu_amount)(u / PPM_U * c + u % PPM_U * c / PPM_U);
}

uint32_t pu_task_convergence_window(const pu_task *t)
{
    return t->max_iterations / 10 ? t->max_iterations / 10 : 1;
}

bool pu_task_converged(const pu_task *t, uint64_t correct_prev, uint64_t correct_last, uint32_t batch_n)
{
    if (!t->convergence_ppm || !batch_n || correct_last < correct_prev)
        return t->convergence_ppm != 0 && batch_n != 0; /* no gain at all */
    uint64_t examples = (uint64_t)pu_task_convergence_window(t) * batch_n;
    return (correct_last - correct_prev) * PPM_U / examples < t->convergence_ppm;
}

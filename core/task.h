/* core/task.h -- the canonical ML task definition (PROTOCOL.md s6): what a client
 * pays for in PAY_FOR_TASK, and the integer rules every node derives from it
 * (task id, complexity score, required miners, accuracy threshold).
 *
 * Canonical encoding: PU_TASK_ENCODED_LEN (176) bytes, fixed width, all
 * integers big-endian, amounts as int64:
 *
 *   off size field                      off size field
 *     0  1  version (1)                  84  8  lr_e9 (learning rate x 1e9)
 *     1  1  model (1 = MLP)              92  8  tau_e9 (update threshold x 1e9)
 *     2  1  activation (1 = ReLU)       100  8  momentum_e9 (0 = none)
 *     3  1  n_hidden (0..8)             108  4  batch_size (per miner)
 *     4  4  input_size                  112  8  task_seed (init + batches)
 *     8 32  hidden[8] (unused = 0)      120  4  min_accuracy_ppm
 *    40  4  output_size                 124  4  max_iterations (per miner)
 *    44 16  dataset name, NUL padded    128  4  convergence_ppm
 *    60  4  train_size                  132  8  fee (escrow, base units)
 *    64  4  test_size                   140 32  stake[4]: miner, supervisor,
 *    68  4  features                                 evaluator, verifier
 *    72  4  classes                     172  4  registration_blocks
 *    76  8  data_seed
 *
 * Decoding is strict, so one task has exactly one encoding and one id:
 * PU_ERR_PARSE for a wrong length, version, non-zero unused hidden slot or
 * name padding, or a name with bytes outside [a-z0-9-]; PU_ERR_RANGE for a
 * number outside its limits (pu_task_check lists them); PU_ERR_INVALID for
 * fields that contradict each other or an unknown data set.
 *
 * Data sets: "fashion-mnist" is the official split (train 60,000, test
 * 10,000, 784 features, 10 classes, data_seed 0); "mnist" is the 10,000
 * real MNIST digits of pu_dataset_load_mnist (train 8,000, test 2,000, 784
 * features, 10 classes, data_seed 0); "synthetic" is
 * pu_dataset_synthetic(data_seed, features, classes): training examples
 * 0 .. train_size-1, test examples train_size .. train_size+test_size-1. */
#ifndef PU_TASK_H
#define PU_TASK_H

#include "core/crypto.h"
#include "core/dataset.h"
#include "core/ml.h"
#include "core/types.h"

#define PU_TASK_VERSION     1u
#define PU_TASK_ENCODED_LEN 176u
#define PU_TASK_NAME_LEN    16u
#define PU_TASK_MAX_ITERATIONS 100000000u
#define PU_TASK_MAX_REGISTRATION 10080u /* blocks: ten weeks of 10-minute blocks */
#define PU_TASK_MAX_MINERS 5u /* pu_task_required_miners is 1..5 */

enum { PU_TASK_MODEL_MLP = 1 };
enum { PU_TASK_ACT_RELU = 1 };

/** Roles that stake (BUY_TICKETS); index into pu_task.stake. */
typedef enum pu_task_role {
    PU_TASK_ROLE_MINER = 0,
    PU_TASK_ROLE_SUPERVISOR = 1,
    PU_TASK_ROLE_EVALUATOR = 2,
    PU_TASK_ROLE_VERIFIER = 3,
} pu_task_role;
#define PU_TASK_N_ROLES 4u

/** A task definition: plain value. */
typedef struct pu_task {
    /* architecture */
    uint8_t model;       /* PU_TASK_MODEL_MLP */
    uint8_t activation;  /* PU_TASK_ACT_RELU */
    uint8_t n_hidden;    /* 0..PU_ML_MAX_HIDDEN */
    uint32_t input_size; /* == features */
    uint32_t hidden[PU_ML_MAX_HIDDEN];
    uint32_t output_size; /* == classes */
    /* data set */
    char dataset[PU_TASK_NAME_LEN + 1]; /* NUL terminated */
    uint32_t train_size;
    uint32_t test_size; /* hidden from miners until finalisation */
    uint32_t features;
    uint32_t classes;
    uint64_t data_seed;
    /* optimiser (the PoUW step's pu_ml_hyper, plus batching) */
    uint64_t lr_e9;
    uint64_t tau_e9;
    uint64_t momentum_e9;
    uint32_t batch_size;
    uint64_t task_seed; /* model initialisation and batch permutation */
    /* performance requirements */
    uint32_t min_accuracy_ppm; /* test accuracy the client asks for */
    uint32_t max_iterations;   /* iterations per miner */
    uint32_t convergence_ppm;  /* training may stop once test accuracy improves less */
    /* economics */
    pu_amount fee; /* escrowed by PAY_FOR_TASK, paid out at settlement */
    pu_amount stake[PU_TASK_N_ROLES];
    uint32_t registration_blocks; /* registration window after the PAY_FOR_TASK block */
} pu_task;

/** PU_OK if t is a valid task (the rules the decoder applies):
 * PU_ERR_RANGE unless model, activation known; n_hidden <= 8 and widths
 * within pu_ml_arch_check; lr/tau/momentum within pu_ml_hyper_check;
 * 1 <= batch_size <= PU_ML_MAX_BATCH; 1 <= min_accuracy_ppm <= 10^6;
 * convergence_ppm <= 10^6; 1 <= max_iterations <= PU_TASK_MAX_ITERATIONS;
 * 0 < fee and every stake valid amounts (pu_amount_valid); 1 <=
 * registration_blocks <= PU_TASK_MAX_REGISTRATION; synthetic sizes within
 * pu_dataset_synthetic's limits.  PU_ERR_PARSE for a bad name or non-zero
 * unused hidden widths.  PU_ERR_INVALID if input_size != features,
 * output_size != classes, the data set is unknown or (fashion-mnist,
 * mnist) its sizes or seed are not the fixed ones, or the batch leaves a miner
 * no full batch per epoch (pu_dataset_iters_per_epoch with the required
 * miners). */
PU_NODISCARD pu_err pu_task_check(const pu_task *t);

/** Canonical bytes into out; PU_ERR_* of pu_task_check (nothing else fails). */
PU_NODISCARD pu_err pu_task_encode(const pu_task *t, uint8_t out[PU_TASK_ENCODED_LEN]);
/** Strict decoder (file comment).  On failure *out is zeroed. */
PU_NODISCARD pu_err pu_task_decode(const uint8_t *buf, size_t len, pu_task *out);
/** Task id = H2(canonical encoding).  Errors of pu_task_check, PU_ERR_CRYPTO. */
PU_NODISCARD pu_err pu_task_id(const pu_task *t, pu_crypto *c, pu_hash32 *out);

/** The seed's example: MLP 784-128-64-10 (ReLU) on Fashion-MNIST, min
 * accuracy 0.85, fee 10 coins, stakes 1 / 1 / 1 / 0.1 coin, registration
 * window 10 blocks, task_seed 1, batch 500, lr 0.3, tau 0.0015, no momentum,
 * convergence 0.01, and 300 iterations instead of the seed's 100, which
 * cannot reach 0.85 (measured in tests/bench/bench_ml.c; see task.c). */
void pu_task_seed_example(pu_task *out);

/** Complexity score in ppm, 500,000..1,000,000, monotone non-decreasing in
 * depth, parameter count, data set size and accuracy requirement:
 *   score = 500000 + (f_depth + f_params + f_data + f_acc) / 8, each f in ppm:
 *   f_depth  = (n_hidden + 1 - 1) * 10^6 / 8           (1..9 weight layers)
 *   f_params = clamp((lg(P) - 10) / 16)                (2^10 .. 2^26 params)
 *   f_data   = clamp((lg(train_size * features) - 16) / 16)  (64 KB .. 4 GB)
 *   f_acc    = min_accuracy_ppm
 * where lg is a piecewise-linear log2 in integers (exact at powers of two,
 * linear between) and clamp maps to [0, 10^6].  Assumes a valid task. */
uint32_t pu_task_complexity_ppm(const pu_task *t);
/** Required miners, 1..5: 1 + floor(4 (score - 500000) / 500000). */
uint32_t pu_task_required_miners(const pu_task *t);
/** The fee the seed asks for a task: per_unit x its complexity score,
 * floor(per_unit x complexity_ppm / 10^6), exact for every valid amount.
 * Clients price tasks with it; core/econ refuses a PAY_FOR_TASK whose fee is
 * under pu_task_fee(t, params.pouw_min_task_fee). */
pu_amount pu_task_fee(const pu_task *t, pu_amount per_unit);

/** Early stopping (the seed's convergence criterion): a miner compares the
 * mean training-batch accuracy of its last W iterations with that of the W
 * before, W = pu_task_convergence_window (max(1, max_iterations / 10)), and
 * stops training when the gain is under convergence_ppm.  correct_prev and
 * correct_last are the summed correct counts of the two windows of
 * batch_n-example batches.  Integer arithmetic: every node agrees.  Never
 * true when convergence_ppm is 0. */
uint32_t pu_task_convergence_window(const pu_task *t);
bool pu_task_converged(const pu_task *t, uint64_t correct_prev, uint64_t correct_last, uint32_t batch_n);

/** Dynamic accuracy threshold (ppm) for the training batch of iteration i
 * (0-based, per miner): a linear ramp from 0 at i = 0 to the ceiling at
 * i = R = max(1, max_iterations / 2), flat afterwards, where
 * ceiling = chance + (min_accuracy - chance) / 2, chance = 10^6 / classes
 * (ceiling = min_accuracy if that is below chance); floor division.
 * It starts at 0 because a fresh model sits at chance level and batch
 * noise would reject honest miners; it stays half-way below the target
 * because training-batch accuracy is noisy (sd ~4 points at 100 examples,
 * and more with a large learning rate), while a miner that does not train
 * stays at chance and fails from about i = R / 4 on.  For the seed task:
 * 0 at i = 0, 475,000 from i = 50 (honest runs measure ~800,000 there). */
uint32_t pu_task_threshold_ppm(const pu_task *t, uint32_t iteration);
/** Smallest correct count out of n that meets the threshold:
 * ceil(threshold_ppm * n / 10^6). */
uint32_t pu_task_min_correct(const pu_task *t, uint32_t iteration, uint32_t n);

/** The task's network and step hyperparameters. */
void pu_task_arch(const pu_task *t, pu_ml_arch *out);
void pu_task_hyper(const pu_task *t, pu_ml_hyper *out);

/** Where the real data sets are (borrowed strings; NULL: the default). */
typedef struct pu_task_data_dirs {
    const char *fashion_mnist; /* NULL: PU_DATASET_FMNIST_DIR */
    const char *mnist;         /* NULL: PU_DATASET_MNIST_DIR */
} pu_task_data_dirs;

/** Load or generate the task's training and test data sets (dirs may be
 * NULL: every default).  Errors of the loaders; PU_ERR_INVALID for an
 * invalid task (and from pu_dataset_load_mnist for altered MNIST files).
 * On failure both are NULL. */
PU_NODISCARD pu_err pu_task_load_data(const pu_task *t, const pu_task_data_dirs *dirs,
                                      pu_dataset **train_out, pu_dataset **test_out);

#endif

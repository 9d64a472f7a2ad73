/* tests/fuzz/targets.h -- what the fuzzers feed arbitrary bytes to.
 *
 * Each target takes any bytes and must neither crash (ASan/UBSan watch in
 * `make fuzz` and `make sanitize`) nor break a property: it returns 0, or
 * nonzero when a property failed (the libFuzzer driver, tests/fuzz/main.c,
 * aborts on that so the input is saved as a crash).  The same functions
 * replay the seed corpus (tests/fuzz/corpus/NAME/) and every crash found
 * (tests/fuzz/regressions/NAME/) in `make test` (tests/sim/test_fuzz.c).
 *
 *   tx        pu_tx_parse: an accepted transaction re-serialises to the
 *             same bytes (the decoder is strict and canonical)
 *   block     pu_block_parse: the same for blocks
 *   opret     pu_opret_decode (and the Python records' decoder): a decoded
 *             record encodes, and that encoding decodes to the same record
 *   proof     pu_pouw_proof_decode: re-encodes to the same bytes
 *   itermsg   pu_iter_msg_decode: re-encodes to the same bytes
 *   task      pu_task_decode: re-encodes to the same bytes
 *   chain     a fresh chain on a funded genesis fed length-prefixed items
 *             (transactions to the mempool, blocks to add_block): it never
 *             crashes, the supply stays genesis + rewards, the mempool
 *             within its capacity
 *   scenario  the scenario loader, checks and limits on YAML text
 *   runfile   the run-file reader (checksum first, then HDF5) on a file of
 *             these bytes: open, info, every table and attribute
 *   runfile_raw  the same with the whole-file checksum recomputed first, so
 *             that HDF5 itself parses the damaged bytes (what lies behind the
 *             checksum; HDF5 1.10 is known to crash there, see the report)
 */
#ifndef PU_FUZZ_TARGETS_H
#define PU_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

typedef int (*pu_fuzz_fn)(const uint8_t *data, size_t len);

typedef struct pu_fuzz_target {
    const char *name;
    pu_fuzz_fn fn;
} pu_fuzz_target;

/** The targets, NULL-terminated. */
const pu_fuzz_target *pu_fuzz_targets(void);
/** The target called name, or NULL. */
pu_fuzz_fn pu_fuzz_find(const char *name);

#endif

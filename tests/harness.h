/* tests/harness.h -- shared helpers for the CUnit suites.
 *
 * Each test file defines one suite with TSUITE(name) { ... } at the start of
 * a line; the Makefile collects these markers into the runner. */
#ifndef PU_TEST_HARNESS_H
#define PU_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <stdio.h>

#include "core/types.h"

#define TSUITE(name) int tsuite_##name(void)

/** Add a suite with the given tests; returns 0 or a CUnit error. */
#define TADD(suite, fn) \
    do { if (!CU_add_test((suite), #fn, (fn))) return CU_get_error(); } while (0)

/** Directory for scratch files of this test run (created on first use). */
const char *th_tmpdir(void);
/** th_tmpdir()/name in buf. */
const char *th_path(char *buf, size_t n, const char *name);
/** The whole file, NUL-terminated (malloc'd; free it), its length in *len
 * (len may be NULL); NULL when it cannot be read. */
char *th_read_file(const char *path, size_t *len);

#endif

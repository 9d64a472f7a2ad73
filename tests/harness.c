/* tests/harness.c -- scratch directory shared by the suites of one run. */
#include "tests/harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The test runner is a program, not part of a simulation run: one scratch
 * directory per process is the natural scope, so it lives in main's data. */
extern char th_tmp_root[256];

const char *th_tmpdir(void) { return th_tmp_root; }

const char *th_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", th_tmp_root, name);
    return buf;
}

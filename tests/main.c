/* tests/main.c -- CUnit runner.  `pu-tests [suite ...]` runs the named suites
 * (all when none are named) and exits non-zero if any assertion failed:
 * CU_basic_run_tests() itself reports success even when tests fail. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"

#define X(name) int tsuite_##name(void);
#include "suites.h"
#undef X

char th_tmp_root[256];

typedef struct { const char *name; int (*add)(void); } suite_entry;
static const suite_entry suites[] = {
#define X(name) { #name, tsuite_##name },
#include "suites.h"
#undef X
};

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    snprintf(th_tmp_root, sizeof th_tmp_root, "/tmp/pu-tests.XXXXXX");
    if (!mkdtemp(th_tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    size_t n = sizeof suites / sizeof suites[0], added = 0;
    for (size_t i = 0; i < n; i++) {
        if (!wanted(suites[i].name, argc, argv))
            continue;
        if (suites[i].add() != CUE_SUCCESS) {
            fprintf(stderr, "cannot register suite %s: %s\n", suites[i].name, CU_get_error_msg());
            return 1;
        }
        added++;
    }
    if (!added) {
        fprintf(stderr, "no such suite\n");
        return 1;
    }
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    unsigned tfail = CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    printf("\n%u tests run, %u failed, %u assertion failures\n", run, tfail, fails);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", th_tmp_root);
    if (fails == 0 && system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", th_tmp_root);
    return (fails || tfail) ? 1 : 0;
}

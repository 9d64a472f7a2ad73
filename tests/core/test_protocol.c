/* tests/core/test_protocol.c -- core/PROTOCOL.md stays honest: every reason
 * code, verify_ml_work outcome, OP_RETURN decoder status and op code the
 * code defines (and every detailed reason of the PoUW rules) appears in the
 * reference with its number and name. */
#include <stdlib.h>
#include <string.h>

#include "core/econ.h"
#include "core/opret.h"
#include "core/pouw.h"
#include "core/reason.h"
#include "tests/harness.h"

static char *read_doc(void)
{
    FILE *f = fopen("core/PROTOCOL.md", "r");
    CU_ASSERT_FATAL(f != NULL);
    char *buf = calloc(1, 1 << 20);
    CU_ASSERT_FATAL(buf != NULL);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 1000);
    return buf;
}

static void expect_row(const char *doc, const char *row)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(doc, row));
    if (!strstr(doc, row))
        fprintf(stderr, "\ncore/PROTOCOL.md has no row starting '%s'\n", row);
}

static void test_every_code_documented(void)
{
    char *doc = read_doc();
    char row[160];
    size_t n = 0;
    for (int r = 0; r < PU_R_COUNT_; r++) {
        const char *name = pu_reason_str((pu_reason)r);
        if (!strcmp(name, "unknown"))
            continue; /* a gap between groups */
        snprintf(row, sizeof row, "\n| %d | `%s` |", r, name);
        expect_row(doc, row);
        n++;
    }
    CU_ASSERT(n >= 39);
    for (int r = 0; r < PU_POUW_REASON_COUNT; r++) {
        snprintf(row, sizeof row, "\n| %d | `%s` |", r, pu_pouw_reason_str((pu_pouw_reason)r));
        expect_row(doc, row);
    }
    for (int r = 0; r < PU_ECON_REASON_COUNT; r++) {
        snprintf(row, sizeof row, "\n| %d | `%s` |", r, pu_econ_reason_str((pu_econ_reason)r));
        expect_row(doc, row);
    }
    for (int s = 0; s < (int)PU_OPRET_STATUS_COUNT; s++) {
        snprintf(row, sizeof row, "\n| %d | %s |", s, pu_opret_status_str((pu_opret_status)s));
        expect_row(doc, row);
    }
    for (int op = 1; op <= (int)PU_OPRET_OP_COUNT; op++) {
        snprintf(row, sizeof row, "\n| %d | %s |", op, pu_opret_op_name((uint8_t)op));
        expect_row(doc, row);
    }
    free(doc);
}

TSUITE(protocol_doc)
{
    CU_pSuite s = CU_add_suite("protocol_doc", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_every_code_documented);
    return CUE_SUCCESS;
}

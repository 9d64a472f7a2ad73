/* tests/sim/test_report.c -- one output tree rendered as text and as JSON:
 * exact bytes of both, escaping, nesting limits. */
#include <stdlib.h>
#include <string.h>

#include "sim/report.h"
#include "tests/harness.h"

static void emit(sim_report *r)
{
    sim_report_str(r, "name", "a\"b");
    sim_report_amount(r, "fee", 1250000000);
    sim_report_obj(r, "inner");
    sim_report_u64(r, "n", 3);
    sim_report_enum(r, "role", 2, "supervisor");
    sim_report_close(r);
    sim_report_arr(r, "items");
    sim_report_obj(r, NULL);
    sim_report_i64(r, "x", -5);
    sim_report_bool(r, "ok", true);
    sim_report_close(r);
    sim_report_u64(r, NULL, 7);
    sim_report_close(r);
    static const uint8_t h[2] = {0xab, 0x01};
    sim_report_hex(r, "hash", h, 2);
    sim_report_strn(r, "bytes", "x\n\x01", 3);
    sim_report_note(r, "a note");
}

static char *render(bool json, pu_err *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CU_ASSERT_FATAL(f != NULL);
    sim_report r;
    sim_report_begin(&r, f, json);
    emit(&r);
    *rc = sim_report_end(&r);
    fclose(f);
    return buf;
}

static void test_text(void)
{
    pu_err rc;
    char *t = render(false, &rc);
    CU_ASSERT_EQUAL(rc, PU_OK);
    static const char want[] =
        "name                      a\"b\n"
        "fee                       12.5 coin\n"
        "inner:\n"
        "  n                       3\n"
        "  role                    2 supervisor\n"
        "items:\n"
        "  - x                     -5\n"
        "    ok                    yes\n"
        "  - 7\n"
        "hash                      ab01\n"
        "bytes                     x\\n\\x01\n"
        "a note\n";
    CU_ASSERT_STRING_EQUAL(t, want);
    if (strcmp(t, want))
        fprintf(stderr, "got:\n%s", t);
    free(t);
}

static void test_json(void)
{
    pu_err rc;
    char *t = render(true, &rc);
    CU_ASSERT_EQUAL(rc, PU_OK);
    static const char want[] =
        "{\n"
        "  \"name\": \"a\\\"b\",\n"
        "  \"fee\": 1250000000,\n"
        "  \"inner\": {\n"
        "    \"n\": 3,\n"
        "    \"role\": 2,\n"
        "    \"role_name\": \"supervisor\"\n"
        "  },\n"
        "  \"items\": [\n"
        "    {\n"
        "      \"x\": -5,\n"
        "      \"ok\": true\n"
        "    },\n"
        "    7\n"
        "  ],\n"
        "  \"hash\": \"ab01\",\n"
        "  \"bytes\": \"x\\u000a\\u0001\"\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(t, want);
    if (strcmp(t, want))
        fprintf(stderr, "got:\n%s", t);
    free(t);
}

static void test_limits(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CU_ASSERT_FATAL(f != NULL);
    sim_report r;
    sim_report_begin(&r, f, true);
    for (int i = 0; i < 40; i++)
        sim_report_obj(&r, "deep");
    sim_report_u64(&r, "lost", 1);
    for (int i = 0; i < 40; i++)
        sim_report_close(&r);
    sim_report_u64(&r, "after", 2);
    CU_ASSERT_EQUAL(sim_report_end(&r), PU_ERR_RANGE);
    fclose(f);
    CU_ASSERT_PTR_NULL(strstr(buf, "lost"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"after\": 2"));
    /* empty containers */
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    sim_report_begin(&r, f, true);
    sim_report_arr(&r, "none");
    sim_report_close(&r);
    CU_ASSERT_EQUAL(sim_report_end(&r), PU_OK);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "{\n  \"none\": []\n}\n");
    free(buf);
}

TSUITE(report)
{
    CU_pSuite s = CU_add_suite("report", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_text);
    TADD(s, test_json);
    TADD(s, test_limits);
    return CUE_SUCCESS;
}

/* tests/sim/test_units.c -- exact unit parsing, rejection of inexact and
 * overflowing values, canonical formatting and its round trip. */
#include <string.h>

#include "sim/units.h"
#include "tests/harness.h"

#define NS_S UINT64_C(1000000000)

typedef struct ucase {
    const char *text;
    const char *def; /* default unit (durations, sizes, bandwidths) */
    pu_err rc;
    uint64_t want;
    const char *why; /* expected explanation on failure */
} ucase;

static void run_u(pu_err (*parse)(const char *, const char *, uint64_t *, const char **),
                  const ucase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 12345;
        const char *why = "unset";
        pu_err rc = parse(c[i].text, c[i].def, &v, &why);
        if (rc != c[i].rc)
            fprintf(stderr, "\n  '%s': rc %d, want %d\n", c[i].text, rc, c[i].rc);
        CU_ASSERT_EQUAL(rc, c[i].rc);
        if (c[i].rc == PU_OK) {
            if (v != c[i].want)
                fprintf(stderr, "\n  '%s': %llu, want %llu\n", c[i].text,
                        (unsigned long long)v, (unsigned long long)c[i].want);
            CU_ASSERT_EQUAL(v, c[i].want);
            CU_ASSERT_PTR_NULL(why);
        } else {
            CU_ASSERT_EQUAL(v, 12345); /* untouched on failure */
            CU_ASSERT_PTR_NOT_NULL_FATAL(why);
            CU_ASSERT_STRING_EQUAL(why, c[i].why);
        }
    }
}

static void test_durations(void)
{
    static const ucase c[] = {
        {"1.5h", NULL, PU_OK, 5400 * NS_S, NULL},
        {"250ms", NULL, PU_OK, 250000000, NULL},
        {"0.2s", NULL, PU_OK, 200000000, NULL},
        {"90min", NULL, PU_OK, 5400 * NS_S, NULL},
        {"1d", NULL, PU_OK, 86400 * NS_S, NULL},
        {"  250 ms ", NULL, PU_OK, 250000000, NULL},
        {"10us", NULL, PU_OK, 10000, NULL},
        {"10\xc2\xb5s", NULL, PU_OK, 10000, NULL},
        {"7ns", NULL, PU_OK, 7, NULL},
        {"0s", NULL, PU_OK, 0, NULL},
        {"-0s", NULL, PU_OK, 0, NULL},
        {"0.000000001s", NULL, PU_OK, 1, NULL},
        {"1.000000000000000000000s", NULL, PU_OK, NS_S, NULL}, /* trailing zeros are exact */
        {"100", "ms", PU_OK, 100000000, NULL},
        {"18446744073709551615ns", NULL, PU_OK, UINT64_MAX, NULL},
        {"213503d", NULL, PU_OK, UINT64_C(213503) * 86400 * NS_S, NULL},
        {"100", NULL, PU_ERR_PARSE, 0, "missing unit"},
        {"fast", NULL, PU_ERR_PARSE, 0, "not a number"},
        {"", NULL, PU_ERR_PARSE, 0, "not a number"},
        {".5s", NULL, PU_ERR_PARSE, 0, "not a number"},
        {"5.s", NULL, PU_ERR_PARSE, 0, "not a number"},
        {"+5s", NULL, PU_ERR_PARSE, 0, "not a number"},
        {"1.5 hours", NULL, PU_ERR_PARSE, 0, "unknown unit"},
        {"1e3ms", NULL, PU_ERR_PARSE, 0, "unknown unit"},
        {"5MS", NULL, PU_ERR_PARSE, 0, "unknown unit"},
        {"0.5ns", NULL, PU_ERR_RANGE, 0, "is not a whole number of ns"},
        {"1.0000000001s", NULL, PU_ERR_RANGE, 0, "is not a whole number of ns"},
        {"-5ms", NULL, PU_ERR_RANGE, 0, "is negative"},
        {"18446744073709551616ns", NULL, PU_ERR_RANGE, 0, "is too large"},
        {"213504d", NULL, PU_ERR_RANGE, 0, "is too large"},
        {"99999999999999999999999999s", NULL, PU_ERR_RANGE, 0, "is too large"},
    };
    run_u(sim_units_parse_duration, c, sizeof c / sizeof c[0]);
}

static void test_sizes_and_bandwidths(void)
{
    static const ucase s[] = {
        {"1MB", NULL, PU_OK, 1000000, NULL},
        {"2.5MB", NULL, PU_OK, 2500000, NULL},
        {"1kB", NULL, PU_OK, 1000, NULL},
        {"1KB", NULL, PU_OK, 1000, NULL},
        {"1KiB", NULL, PU_OK, 1024, NULL},
        {"1.5KiB", NULL, PU_OK, 1536, NULL},
        {"1GiB", NULL, PU_OK, UINT64_C(1) << 30, NULL},
        {"1TB", NULL, PU_OK, UINT64_C(1000000000000), NULL},
        {"3B", NULL, PU_OK, 3, NULL},
        {"64", "KiB", PU_OK, 65536, NULL},
        {"0.1KiB", NULL, PU_ERR_RANGE, 0, "is not a whole number of bytes"},
        {"1mb", NULL, PU_ERR_PARSE, 0, "unknown unit"},
        {"1", NULL, PU_ERR_PARSE, 0, "missing unit"},
    };
    run_u(sim_units_parse_size, s, sizeof s / sizeof s[0]);
    static const ucase b[] = {
        {"20Mbit/s", NULL, PU_OK, 20000000, NULL},
        {"1Gbit/s", NULL, PU_OK, 1000000000, NULL},
        {"100kbit/s", NULL, PU_OK, 100000, NULL},
        {"2.5MB/s", NULL, PU_OK, 20000000, NULL}, /* bytes x 8 */
        {"20Mbps", NULL, PU_OK, 20000000, NULL},
        {"22.8Mbit/s", NULL, PU_OK, 22800000, NULL},
        {"1B/s", NULL, PU_OK, 8, NULL},
        {"1KiB/s", NULL, PU_OK, 8192, NULL},
        {"0.5bit/s", NULL, PU_ERR_RANGE, 0, "is not a whole number of bit/s"},
        {"0.0625B/s", NULL, PU_ERR_RANGE, 0, "is not a whole number of bit/s"},
        {"0.125B/s", NULL, PU_OK, 1, NULL},
        {"20 Mb/s", NULL, PU_ERR_PARSE, 0, "unknown unit"},
    };
    run_u(sim_units_parse_bandwidth, b, sizeof b / sizeof b[0]);
}

static void test_amounts(void)
{
    static const struct {
        const char *text;
        pu_err rc;
        pu_amount want;
        const char *why;
    } c[] = {
        {"12.5", PU_OK, INT64_C(1250000000), NULL},
        {"12.5coin", PU_OK, INT64_C(1250000000), NULL},
        {"12.5 coins", PU_OK, INT64_C(1250000000), NULL},
        {"0.0001", PU_OK, 10000, NULL},
        {"0.00000001", PU_OK, 1, NULL},
        {"1250000000 units", PU_OK, INT64_C(1250000000), NULL},
        {"1unit", PU_OK, 1, NULL},
        {"-3", PU_OK, INT64_C(-300000000), NULL},
        {"92233720368.54775807", PU_OK, INT64_MAX, NULL},
        {"0.000000001", PU_ERR_RANGE, 0, "has more than 8 decimals"},
        {"1.5units", PU_ERR_RANGE, 0, "is not a whole number of base units"},
        {"92233720368.54775808", PU_ERR_RANGE, 0, "is too large"},
        {"12.5 BTC", PU_ERR_PARSE, 0, "unknown unit"},
        {"twelve", PU_ERR_PARSE, 0, "not a number"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        pu_amount v = 77;
        const char *why = "unset";
        CU_ASSERT_EQUAL(sim_units_parse_amount(c[i].text, &v, &why), c[i].rc);
        if (c[i].rc == PU_OK) {
            CU_ASSERT_EQUAL(v, c[i].want);
        } else {
            CU_ASSERT_EQUAL(v, 77);
            CU_ASSERT_STRING_EQUAL(why, c[i].why);
        }
    }
}

static void test_ppm(void)
{
    static const struct {
        const char *text;
        pu_err rc;
        uint32_t want;
    } c[] = {
        {"0.85", PU_OK, 850000},      {"85%", PU_OK, 850000},         {"850000ppm", PU_OK, 850000},
        {"1", PU_OK, 1000000},        {"0", PU_OK, 0},                {"0.5%", PU_OK, 5000},
        {"12.34%", PU_OK, 123400},    {"0.000001", PU_OK, 1},         {"4294.967295", PU_OK, UINT32_MAX},
        {"0.0000001", PU_ERR_RANGE, 0}, {"0.00001%", PU_ERR_RANGE, 0}, {"-0.1", PU_ERR_RANGE, 0},
        {"4294.967296", PU_ERR_RANGE, 0}, {"85 percent", PU_ERR_PARSE, 0}, {"%", PU_ERR_PARSE, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint32_t v = 9;
        CU_ASSERT_EQUAL(sim_units_parse_ppm(c[i].text, &v, NULL), c[i].rc);
        CU_ASSERT_EQUAL(v, c[i].rc == PU_OK ? c[i].want : 9u);
    }
    const char *why = NULL;
    uint32_t v;
    CU_ASSERT_EQUAL(sim_units_parse_ppm("0.0000001", &v, &why), PU_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(why, "is finer than 1 ppm (at most 6 decimals)");
}

static void test_format(void)
{
    char b[SIM_UNITS_BUF];
    static const struct { uint64_t v; const char *want; } dur[] = {
        {0, "0s"}, {600 * NS_S, "10min"}, {5400 * NS_S, "1.5h"}, {250000000, "250ms"},
        {1500000000, "1.5s"}, {1, "1ns"}, {1000000001, "1000000.001us"}, {100 * NS_S, "100s"},
        {86400 * NS_S * 14, "14d"}, {7200 * NS_S, "2h"},
    };
    for (size_t i = 0; i < sizeof dur / sizeof dur[0]; i++) {
        CU_ASSERT_EQUAL(sim_units_format_duration(dur[i].v, b, sizeof b), PU_OK);
        CU_ASSERT_STRING_EQUAL(b, dur[i].want);
    }
    static const struct { uint64_t v; const char *want; } sz[] = {
        {0, "0B"}, {3, "3B"}, {1000000, "1MB"}, {1536, "1.5KiB"}, {1024000, "1.024MB"},
        {2000, "2kB"}, {UINT64_C(1) << 40, "1TiB"},
    };
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        CU_ASSERT_EQUAL(sim_units_format_size(sz[i].v, b, sizeof b), PU_OK);
        CU_ASSERT_STRING_EQUAL(b, sz[i].want);
    }
    CU_ASSERT_EQUAL(sim_units_format_bandwidth(19200000, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "19.2Mbit/s");
    CU_ASSERT_EQUAL(sim_units_format_bandwidth(8, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "8bit/s");
    CU_ASSERT_EQUAL(sim_units_format_bandwidth(0, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "0bit/s");
    static const struct { pu_amount v; const char *want; } am[] = {
        {INT64_C(1250000000), "12.5"}, {10000, "0.0001"}, {INT64_C(-300000000), "-3"},
        {0, "0"}, {1, "0.00000001"}, {INT64_MIN, "-92233720368.54775808"},
    };
    for (size_t i = 0; i < sizeof am / sizeof am[0]; i++) {
        CU_ASSERT_EQUAL(sim_units_format_amount(am[i].v, b, sizeof b), PU_OK);
        CU_ASSERT_STRING_EQUAL(b, am[i].want);
    }
    CU_ASSERT_EQUAL(sim_units_format_ppm(850000, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "0.85");
    CU_ASSERT_EQUAL(sim_units_format_ppm(1000000, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "1");
    CU_ASSERT_EQUAL(sim_units_format_ppm(1, b, sizeof b), PU_OK);
    CU_ASSERT_STRING_EQUAL(b, "0.000001");
    /* Too small a buffer is an error, never a truncated number. */
    char tiny[4];
    CU_ASSERT_EQUAL(sim_units_format_duration(600 * NS_S, tiny, sizeof tiny), PU_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(tiny, "");
    CU_ASSERT_EQUAL(sim_units_format_amount(INT64_C(1250000000), tiny, sizeof tiny), PU_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(tiny, "");
}

/* format -> parse gives the value back, for values of every magnitude. */
static void test_round_trip(void)
{
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15); /* fixed seed: the test is deterministic */
    char b[SIM_UNITS_BUF];
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Mix magnitudes and round numbers (many trailing zeros). */
        uint64_t v = x >> (x % 64);
        if (i % 3 == 0)
            v = (v % 100000) * (i % 2 ? UINT64_C(1000000) : UINT64_C(60000000000));
        uint64_t back = ~v;
        CU_ASSERT_EQUAL_FATAL(sim_units_format_duration(v, b, sizeof b), PU_OK);
        CU_ASSERT_EQUAL_FATAL(sim_units_parse_duration(b, NULL, &back, NULL), PU_OK);
        CU_ASSERT_EQUAL_FATAL(back, v);
        CU_ASSERT_EQUAL_FATAL(sim_units_format_size(v, b, sizeof b), PU_OK);
        CU_ASSERT_EQUAL_FATAL(sim_units_parse_size(b, NULL, &back, NULL), PU_OK);
        CU_ASSERT_EQUAL_FATAL(back, v);
        CU_ASSERT_EQUAL_FATAL(sim_units_format_bandwidth(v, b, sizeof b), PU_OK);
        CU_ASSERT_EQUAL_FATAL(sim_units_parse_bandwidth(b, NULL, &back, NULL), PU_OK);
        CU_ASSERT_EQUAL_FATAL(back, v);
        pu_amount a = (pu_amount)v, aback = 0;
        CU_ASSERT_EQUAL_FATAL(sim_units_format_amount(a, b, sizeof b), PU_OK);
        CU_ASSERT_EQUAL_FATAL(sim_units_parse_amount(b, &aback, NULL), PU_OK);
        CU_ASSERT_EQUAL_FATAL(aback, a);
        uint32_t ppm = (uint32_t)v, pback = 0;
        CU_ASSERT_EQUAL_FATAL(sim_units_format_ppm(ppm, b, sizeof b), PU_OK);
        CU_ASSERT_EQUAL_FATAL(sim_units_parse_ppm(b, &pback, NULL), PU_OK);
        CU_ASSERT_EQUAL_FATAL(pback, ppm);
    }
}

static void test_unit_names(void)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_units_duration_names(), "min"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_units_size_names(), "KiB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_units_bandwidth_names(), "Mbit/s"));
}

TSUITE(units)
{
    CU_pSuite s = CU_add_suite("units", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_durations);
    TADD(s, test_sizes_and_bandwidths);
    TADD(s, test_amounts);
    TADD(s, test_ppm);
    TADD(s, test_format);
    TADD(s, test_round_trip);
    TADD(s, test_unit_names);
    return CUE_SUCCESS;
}

/* tests/core/test_detmath.c -- pu_det_log/exp/pow against libm, special
 * values, and pinned bit patterns (so a change of method is noticed). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "core/detmath.h"
#include "tests/harness.h"

/* Test-local generator (xorshift64): independent of sim/rng on purpose. */
static uint64_t xs_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Distance in units in the last place, via the monotone integer order. */
static uint64_t ulps(double a, double b)
{
    int64_t ia, ib;
    memcpy(&ia, &a, 8);
    memcpy(&ib, &b, 8);
    if (ia < 0)
        ia = INT64_MIN - ia;
    if (ib < 0)
        ib = INT64_MIN - ib;
    return ia > ib ? (uint64_t)ia - (uint64_t)ib : (uint64_t)ib - (uint64_t)ia;
}

static double unit(uint64_t *s)
{
    return (double)(xs_next(s) >> 11) * 0x1p-53;
}

static void test_log_vs_libm(void)
{
    uint64_t s = 0x9e3779b97f4a7c15u, worst = 0;
    /* Any positive finite double, subnormals included. */
    for (int i = 0; i < 300000; i++) {
        /* Clear the sign only: masking with 0x7fef... would also clear the
         * exponent's low bit and test only even exponents. */
        uint64_t b = xs_next(&s) & UINT64_C(0x7fffffffffffffff);
        if (b >> 52 == 0x7ff || b == 0) /* inf/NaN, zero */
            continue;
        double x = from_bits(b);
        uint64_t u = ulps(pu_det_log(x), log(x));
        worst = u > worst ? u : worst;
    }
    /* Around 1, where log is small and cancellation bites. */
    for (int i = 0; i < 300000; i++) {
        double x = 0.5 + 1.5 * unit(&s);
        uint64_t u = ulps(pu_det_log(x), log(x));
        worst = u > worst ? u : worst;
    }
    CU_ASSERT(worst <= 1);
    const double pts[] = {DBL_TRUE_MIN, DBL_MIN, 0.5, 0.7071067811865476, 1.4142135623730951,
                          2.0, 10.0, 1e-300, 1e300, DBL_MAX, 1.0 + DBL_EPSILON, 1.0 - DBL_EPSILON / 2};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++)
        CU_ASSERT(ulps(pu_det_log(pts[i]), log(pts[i])) <= 1);
}

static void test_log_special(void)
{
    CU_ASSERT_EQUAL(to_bits(pu_det_log(1.0)), to_bits(0.0)); /* +0 exactly */
    CU_ASSERT(pu_det_log(0.0) == -INFINITY);
    CU_ASSERT(pu_det_log(-0.0) == -INFINITY);
    CU_ASSERT(isnan(pu_det_log(-1.0)));
    CU_ASSERT(isnan(pu_det_log(-INFINITY)));
    CU_ASSERT(isnan(pu_det_log(NAN)));
    CU_ASSERT(pu_det_log(INFINITY) == INFINITY);
}

static void test_exp_vs_libm(void)
{
    uint64_t s = 12345, worst = 0;
    for (int i = 0; i < 300000; i++) {
        double x = -745.0 + 1454.7 * unit(&s); /* whole range incl. subnormal results */
        uint64_t u = ulps(pu_det_exp(x), exp(x));
        worst = u > worst ? u : worst;
    }
    for (int i = 0; i < 300000; i++) {
        double x = 2.0 * unit(&s) - 1.0;
        uint64_t u = ulps(pu_det_exp(x), exp(x));
        worst = u > worst ? u : worst;
    }
    CU_ASSERT(worst <= 1);
    CU_ASSERT_EQUAL(pu_det_exp(0.0), 1.0);
    CU_ASSERT_EQUAL(pu_det_exp(-0.0), 1.0);
    CU_ASSERT(ulps(pu_det_exp(1.0), 2.718281828459045) <= 1);
    CU_ASSERT(ulps(pu_det_exp(709.78), exp(709.78)) <= 1);
    CU_ASSERT(ulps(pu_det_exp(-740.0), exp(-740.0)) <= 1); /* subnormal */
    CU_ASSERT(pu_det_exp(709.8) == INFINITY);
    CU_ASSERT(pu_det_exp(INFINITY) == INFINITY);
    CU_ASSERT_EQUAL(pu_det_exp(-746.0), 0.0);
    CU_ASSERT_EQUAL(pu_det_exp(-INFINITY), 0.0);
    CU_ASSERT(isnan(pu_det_exp(NAN)));
}

static void test_pow_vs_libm(void)
{
    uint64_t s = 777, worst_pareto = 0, worst_wide = 0;
    /* The Pareto variate's use: U^(-1/shape), U in (0, 1]. */
    for (int i = 0; i < 200000; i++) {
        double x = 1.0 - unit(&s);
        double y = -1.0 / (1.01 + 10.0 * unit(&s));
        uint64_t u = ulps(pu_det_pow(x, y), pow(x, y));
        worst_pareto = u > worst_pareto ? u : worst_pareto;
    }
    /* Any x in [2^-40, 2^40), y scaled so that |y ln x| <= 64. */
    for (int i = 0; i < 200000; i++) {
        uint64_t e = 1023 - 40 + xs_next(&s) % 80;
        double x = from_bits((xs_next(&s) & UINT64_C(0xfffffffffffff)) | (e << 52));
        if (x == 1.0)
            continue;
        double y = (2.0 * unit(&s) - 1.0) * 64.0 / fabs(log(x));
        uint64_t u = ulps(pu_det_pow(x, y), pow(x, y));
        worst_wide = u > worst_wide ? u : worst_wide;
    }
    CU_ASSERT(worst_pareto <= 1);
    CU_ASSERT(worst_wide <= 2);
    CU_ASSERT_EQUAL(pu_det_pow(2.0, 10.0), 1024.0);
    CU_ASSERT_EQUAL(pu_det_pow(-2.0, 3.0), -8.0);
    CU_ASSERT_EQUAL(pu_det_pow(9.0, 0.5), 3.0);
}

/* C99 Annex F special cases: zeros, infinities and NaNs must match libm bit
 * for bit (any NaN for NaN); ordinary results within the ulp bound. */
static void test_pow_special(void)
{
    const double v[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5,
                        INFINITY, -INFINITY, NAN, 1e308, -1e308, 1e-310};
    size_t n = sizeof v / sizeof v[0];
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double want = pow(v[i], v[j]), got = pu_det_pow(v[i], v[j]);
            if (isnan(want))
                bad += !isnan(got);
            else if (isfinite(want) && want != 0.0) /* ordinary result: the ulp bound */
                bad += ulps(want, got) > 2;
            else
                bad += to_bits(want) != to_bits(got);
        }
    CU_ASSERT_EQUAL(bad, 0);
}

/* These bits must be the same on every machine: a failure here on a new
 * platform means the determinism assumptions (FLT_EVAL_METHOD 0, no FMA
 * contraction) do not hold there. */
static void test_pinned_bits(void)
{
    CU_ASSERT_EQUAL(to_bits(pu_det_log(10.0)), UINT64_C(0x40026bb1bbb55516));
    CU_ASSERT_EQUAL(to_bits(pu_det_log(0.3)), UINT64_C(0xbff34378fcbda721));
    CU_ASSERT_EQUAL(to_bits(pu_det_exp(1.0)), UINT64_C(0x4005bf0a8b14576a));
    CU_ASSERT_EQUAL(to_bits(pu_det_exp(-3.25)), UINT64_C(0x3fa3da368521902d));
    CU_ASSERT_EQUAL(to_bits(pu_det_pow(0.3, -1.0 / 1.5)), UINT64_C(0x4001d9fee00723a0));
}

TSUITE(detmath)
{
    CU_pSuite s = CU_add_suite("detmath", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_log_vs_libm);
    TADD(s, test_log_special);
    TADD(s, test_exp_vs_libm);
    TADD(s, test_pow_vs_libm);
    TADD(s, test_pow_special);
    TADD(s, test_pinned_bits);
    return CUE_SUCCESS;
}

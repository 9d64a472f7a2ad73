/* core/detmath.c -- log/exp/pow from correctly rounded IEEE operations only.
 *
 * Method (standard textbook argument reduction; coefficients are plain
 * Taylor coefficients evaluated by the compiler as correctly rounded
 * constants, so nothing here depends on a table copied from elsewhere):
 *
 *   log x:  x = 2^k * m, m in [sqrt2/2, sqrt2), f = m - 1 (exact by Sterbenz),
 *           s = f / (2 + f), log m = 2 atanh s = f - hfsq + s (hfsq + R(s^2)),
 *           hfsq = f^2 / 2, R(z) = sum_{i=1..10} 2 z^i / (2i + 1).
 *           |s| <= 0.1716, so 10 terms leave a truncation error below 2^-58.
 *           Writing the result as f minus a small correction keeps the
 *           exact f as the leading term, which is what makes it ~1 ulp.
 *   exp x:  k = nearest(x / ln2), r = x - k ln2 with ln2 split in a 32-bit
 *           head (so k * head is exact for every k we can meet) and a tail,
 *           e^r = 1 + r + r^2 q(r), q the Taylor polynomial to r^13/13!
 *           (|r| <= 0.347, truncation < 2^-60), then scale by 2^k.
 *   pow:    e^(y log x) with log x carried as a double-double (Dekker's
 *           exact product, no FMA) so that the large argument of exp does
 *           not amplify log's rounding error.
 *
 * Everything is evaluated in a fixed order with no contraction, so the
 * results are the same bits on every IEEE-754 binary64 machine. */
#include "core/detmath.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* x87 extended precision or any excess precision would make intermediate
 * roundings depend on register allocation. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "core/detmath requires FLT_EVAL_METHOD == 0 (e.g. SSE2 on x86-64)"
#endif

/* ln 2 = LN2_HI + LN2_LO; LN2_HI has its low 21 mantissa bits zero. */
static const double LN2_HI = 0x1.62e42feep-1;
static const double LN2_LO = 0x1.a39ef35793c76p-33;
static const double INV_LN2 = 0x1.71547652b82fep+0;
/* Mantissa bits of the double nearest sqrt(2) (it lies just above sqrt 2). */
static const uint64_t SQRT2_MANT = UINT64_C(0x6a09e667f3bcd);
static const uint64_t MANT_MASK = UINT64_C(0xfffffffffffff);
/* e^x overflows above ln(DBL_MAX) and is below half the smallest
 * subnormal under ln(2^-1075). */
static const double EXP_OVF = 709.782712893383973096;
static const double EXP_UNF = -745.13321910194110842;
/* Dekker's splitter for binary64: 2^27 + 1. */
static const double SPLITTER = 134217729.0;

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

/* 2^k for -1022 <= k <= 1023, built exactly from bits. */
static double pow2i(int k)
{
    return from_bits((uint64_t)(k + 1023) << 52);
}

/* Exact a + b = s + e (Knuth's TwoSum, any magnitudes). */
static void two_sum(double a, double b, double *s, double *e)
{
    double t = a + b;
    double bb = t - a;
    *e = (a - (t - bb)) + (b - bb);
    *s = t;
}

/* Exact a + b = s + e when |a| >= |b| or a == 0. */
static void fast_two_sum(double a, double b, double *s, double *e)
{
    double t = a + b;
    *e = b - (t - a);
    *s = t;
}

static void split(double a, double *hi, double *lo)
{
    double c = SPLITTER * a;
    double h = c - (c - a);
    *hi = h;
    *lo = a - h;
}

/* Exact a * b = p + e (Dekker), valid while |a|, |b| < 2^996. */
static void two_prod(double a, double b, double *p, double *e)
{
    double ah, al, bh, bl;
    double pp = a * b;
    split(a, &ah, &al);
    split(b, &bh, &bl);
    *e = ((ah * bh - pp) + ah * bl + al * bh) + al * bl;
    *p = pp;
}

/* For finite x > 0: x = 2^k (1 + f) with 1 + f in [sqrt2/2, sqrt2). */
static void log_reduce(double x, int *k, double *f)
{
    int kk = 0;
    uint64_t u = to_bits(x);
    if ((u >> 52) == 0) { /* subnormal: scale into the normal range first */
        u = to_bits(x * 0x1p54);
        kk = -54;
    }
    int e = (int)(u >> 52) - 1023;
    uint64_t mant = u & MANT_MASK;
    uint64_t expo = 1023;
    if (mant >= SQRT2_MANT) { /* m >= sqrt2: use m/2 and one more power of 2 */
        expo = 1022;
        e++;
    }
    *f = from_bits(mant | (expo << 52)) - 1.0;
    *k = kk + e;
}

/* R(z) = sum_{i=1..10} 2 z^i / (2i + 1), Horner from the top. */
static double log_poly(double z)
{
    double q = 2.0 / 21.0;
    q = 2.0 / 19.0 + z * q;
    q = 2.0 / 17.0 + z * q;
    q = 2.0 / 15.0 + z * q;
    q = 2.0 / 13.0 + z * q;
    q = 2.0 / 11.0 + z * q;
    q = 2.0 / 9.0 + z * q;
    q = 2.0 / 7.0 + z * q;
    q = 2.0 / 5.0 + z * q;
    q = 2.0 / 3.0 + z * q;
    return z * q;
}

double pu_det_log(double x)
{
    if (x != x)
        return x;
    if (x < 0.0)
        return NAN;
    if (x == 0.0)
        return -INFINITY;
    if (x == INFINITY)
        return x;
    int k;
    double f;
    log_reduce(x, &k, &f);
    double s = f / (2.0 + f);
    double R = log_poly(s * s);
    double hfsq = 0.5 * f * f;
    double dk = (double)k;
    return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
}

/* log x as hi + lo with a relative error near 2^-60, for finite x > 0.
 * Same formula as pu_det_log, but s = f/(2+f), hfsq and the product
 * s (hfsq + R) are carried as double-doubles: in single doubles their
 * rounding errors (~2^-58 of the result when k ln2 and log m cancel) would
 * be multiplied by |y| in pow. */
static void log_dd(double x, double *hi, double *lo)
{
    int k;
    double f;
    log_reduce(x, &k, &f);
    double dh, dl, p, pe;
    two_sum(2.0, f, &dh, &dl);                  /* 2 + f exactly */
    double sh = f / dh;
    two_prod(sh, dh, &p, &pe);
    double sl = (((f - p) - pe) - sh * dl) / dh; /* s = sh + sl */
    double z = sh * sh + 2.0 * sh * sl;
    double R = log_poly(z);
    double q, qe;
    two_prod(f, f, &q, &qe);
    double hh = 0.5 * q, hl = 0.5 * qe;         /* hfsq = hh + hl exactly */
    double th, tl;
    two_sum(hh, R, &th, &tl);
    tl += hl;                                   /* t = hfsq + R */
    double ch, cl;
    two_prod(sh, th, &ch, &cl);
    cl += sh * tl + sl * th;                    /* c = s t */
    double ah, al, bh, be;
    two_sum(f, -hh, &ah, &al);
    two_sum(ah, ch, &bh, &be);
    double low = ((al + be) + cl) - hl;         /* log m = bh + low */
    double dk = (double)k;
    double eh, el;
    two_sum(dk * LN2_HI, bh, &eh, &el);
    el += low + dk * LN2_LO;
    fast_two_sum(eh, el, hi, lo);
}

/* e^(x + xl) for EXP_UNF <= x <= EXP_OVF and |xl| <= ulp(x). */
static double exp_core(double x, double xl)
{
    double t = x * INV_LN2;
    int k = (int)(t < 0.0 ? t - 0.5 : t + 0.5);
    double dk = (double)k;
    double r = (x - dk * LN2_HI) + (xl - dk * LN2_LO); /* first difference exact */
    double q = 1.0 / 6227020800.0; /* 1/13! */
    q = 1.0 / 479001600.0 + r * q;
    q = 1.0 / 39916800.0 + r * q;
    q = 1.0 / 3628800.0 + r * q;
    q = 1.0 / 362880.0 + r * q;
    q = 1.0 / 40320.0 + r * q;
    q = 1.0 / 5040.0 + r * q;
    q = 1.0 / 720.0 + r * q;
    q = 1.0 / 120.0 + r * q;
    q = 1.0 / 24.0 + r * q;
    q = 1.0 / 6.0 + r * q;
    q = 0.5 + r * q;
    double y = 1.0 + (r + (r * r) * q);
    if (k > 1023)
        return y * pow2i(1023) * 2.0;
    if (k < -1022) /* subnormal result: one exact scaling, one rounding */
        return (y * pow2i(k + 1000)) * pow2i(-1000);
    return y * pow2i(k);
}

double pu_det_exp(double x)
{
    if (x != x)
        return x;
    if (x > EXP_OVF)
        return INFINITY;
    if (x < EXP_UNF)
        return 0.0;
    return exp_core(x, 0.0);
}

/* 0: not an integer, 1: odd integer, 2: even integer (finite y only). */
static int int_kind(double y)
{
    double a = y < 0.0 ? -y : y;
    if (a >= 0x1p53)
        return 2; /* every double this large is an even integer */
    int64_t i = (int64_t)a;
    if ((double)i != a)
        return 0;
    return (i & 1) ? 1 : 2;
}

/* pow for x = +-0 or +-inf, y finite and non-zero. */
static double pow_zero_inf(double x, double y, int ik)
{
    int neg = signbit(x) && ik == 1;
    int big = (x == 0.0) ? (y < 0.0) : (y > 0.0);
    double r = big ? INFINITY : 0.0;
    return neg ? -r : r;
}

/* pow for y = +-inf, x finite non-NaN. */
static double pow_inf_exp(double x, double y)
{
    double ax = x < 0.0 ? -x : x;
    if (ax == 1.0)
        return 1.0;
    if ((ax < 1.0) == (y < 0.0))
        return INFINITY;
    return 0.0;
}

/*
 * C99 F.9.4.4 special cases, in the order checked:
 *   y == +-0 -> 1;  x == +1 -> 1;  NaN in -> NaN;
 *   y == +-inf -> by |x| against 1 (|x| == 1 -> 1);
 *   x == +-0 or +-inf -> 0 or inf, negative only for odd integer y;
 *   finite x < 0 and non-integer y -> NaN;
 *   otherwise |x|^y, negated for x < 0 and odd integer y.
 */
double pu_det_pow(double x, double y)
{
    if (y == 0.0 || x == 1.0)
        return 1.0;
    if (x != x || y != y)
        return x + y;
    if (y == INFINITY || y == -INFINITY)
        return pow_inf_exp(x, y);
    int ik = int_kind(y);
    if (x == 0.0 || x == INFINITY || x == -INFINITY)
        return pow_zero_inf(x, y, ik);
    int neg = 0;
    if (x < 0.0) {
        if (ik == 0)
            return NAN;
        neg = (ik == 1);
        x = -x;
    }
    if (x == 1.0) /* (-1)^integer: also keeps huge y out of two_prod */
        return neg ? -1.0 : 1.0;
    double lh, ll;
    log_dd(x, &lh, &ll);
    double p = y * lh;
    double r;
    if (p > EXP_OVF + 1.0) {
        r = INFINITY;
    } else if (p < EXP_UNF - 1.0) {
        r = 0.0;
    } else {
        double ph, pl, th, tl;
        two_prod(y, lh, &ph, &pl);
        pl += y * ll;
        fast_two_sum(ph, pl, &th, &tl);
        if (th > EXP_OVF)
            r = INFINITY;
        else if (th < EXP_UNF)
            r = 0.0;
        else
            r = exp_core(th, tl);
    }
    return neg ? -r : r;
}

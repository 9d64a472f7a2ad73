/* core/detmath.h -- portable, bit-reproducible log/exp/pow.
 *
 * libm's transcendental functions are not specified to the last bit and do
 * differ between libm builds (glibc versions, musl, macOS), so a random
 * variate computed as -mean*log(u) could differ in its last bit between two
 * machines, and a simulated time rounded from it could differ by 1 ns --
 * enough to reorder events and fork a run.  These functions use only IEEE
 * operations that are correctly rounded by definition (+ - * / sqrt and
 * exact bit manipulation), in a fixed order, so they give the same bits on
 * every conforming machine when compiled with -ffp-contract=off and
 * FLT_EVAL_METHOD == 0 (SSE2 on x86-64, any AArch64; detmath.c refuses to
 * compile otherwise).
 *
 * Accuracy (measured against glibc in tests/core/test_detmath.c):
 *   pu_det_log  <= 1 ulp over all positive finite doubles, subnormals too;
 *   pu_det_exp  <= 1 ulp over the whole non-overflowing range;
 *   pu_det_pow  <= 2 ulp while |y * ln x| <= 64 (every variate we draw),
 *                growing slowly beyond it (about 20 ulp near overflow,
 *                |y ln x| ~ 700); log is carried in double-double.
 * Special values follow C99 Annex F (NaN in -> NaN out, log(0) = -inf,
 * log(<0) = NaN, exp overflow = +inf, underflow = +0, pow as listed in
 * detmath.c).  Pure functions: no state, thread-safe. */
#ifndef PU_DETMATH_H
#define PU_DETMATH_H

/** Natural logarithm. */
double pu_det_log(double x);
/** e^x. */
double pu_det_exp(double x);
/** x^y, C99 semantics for special values (negative x needs integer y). */
double pu_det_pow(double x, double y);

#endif

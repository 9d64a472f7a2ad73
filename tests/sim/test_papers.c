/* tests/sim/test_papers.c -- one point of each attack experiment of
 * scenarios/papers against its closed form, on the experiment's own
 * scenario (the idealised network), within a tolerance derived from the
 * sample size.  The whole experiments run in `make reproduce`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/h5read.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/harness.h"

/* Run scenario `path` with the overrides to its end; its /summary figures
 * are then read from th_tmpdir()/h5name.  0 on success. */
static int run_point(const char *path, const char *const *sets, size_t n, const char *h5name)
{
    sim_params p;
    char *text = NULL, out[512], err[300];
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_scenario_load_with(path, sets, n, &p, &text, &d) != PU_OK) {
        fprintf(stderr, "\n  %s:%u:%u: %s\n", d.path, d.line, d.col, d.msg);
        return 1;
    }
    p.output.progress = false;
    th_path(out, sizeof out, h5name);
    sim_run_opts o = {0};
    o.out_h5 = out;
    sim_ctx *ctx = NULL;
    sim_summary sum;
    int st = sim_new(&p, text, &o, &ctx, err, sizeof err) == PU_OK &&
                     sim_run(ctx, &sum, err, sizeof err) == PU_OK
                 ? 0
                 : 1;
    if (st)
        fprintf(stderr, "\n  %s: %s\n", path, err);
    sim_free(ctx);
    sim_params_release(&p);
    free(text);
    return st;
}

static double summary_f64(const char *h5name, const char *name)
{
    char path[512];
    sim_h5read *r;
    double v = NAN;
    if (sim_h5read_open(th_path(path, sizeof path, h5name), &r, NULL, 0) != PU_OK)
        return v;
    uint64_t u;
    if (sim_h5read_attr_f64(r, "/summary", name, &v) != PU_OK &&
        sim_h5read_attr_u64(r, "/summary", name, &u) == PU_OK)
        v = (double)u;
    sim_h5read_free(r);
    return v;
}

/* Eyal and Sirer: R(0.35, gamma 0) = 0.3665 on the idealised network. */
static void test_selfish_point(void)
{
    const char *sets[] = {"chain.tie_break=first_seen", "adversaries[0].share=0.35"};
    CU_ASSERT_FATAL(run_point("scenarios/papers/eyal2014/sweep.yaml", sets, 2, "eyal.h5") == 0);
    double a = 0.35, r = summary_f64("eyal.h5", "attack0_revenue_share");
    double n = summary_f64("eyal.h5", "main_height");
    double g = summary_f64("eyal.h5", "attack0_gamma");
    double R = (a * (1 - a) * (1 - a) * (4 * a) - a * a * a) / (1 - a * (1 + (2 - a) * a));
    /* The pool's blocks come in correlated runs (its lead is a Markov
     * chain): count about ten blocks per independent sample, and allow 4
     * standard deviations of a proportion over n / 10 samples. */
    double tol = 4 * sqrt(R * (1 - R) / (n / 10));
    CU_ASSERT(n > 10000);
    CU_ASSERT(g == 0); /* first_seen on this network: gamma is exactly 0 */
    CU_ASSERT(fabs(r - R) <= tol);
    if (!(fabs(r - R) <= tol))
        fprintf(stderr, "\n  revenue %.4f vs R %.4f (tol %.4f, %g blocks)\n", r, R, tol, n);
}

/* Nakamoto: P(0.3, 2) on the idealised race. */
static void test_double_spend_point(void)
{
    const char *sets[] = {"name=race", "adversaries[0].share=0.3",
                          "adversaries[0].confirmations=2"};
    CU_ASSERT_FATAL(run_point("scenarios/papers/nakamoto2008/sweep.yaml", sets, 3, "nak.h5") == 0);
    double k = summary_f64("nak.h5", "attack0_successes");
    double n = summary_f64("nak.h5", "attack0_attempts");
    double q = 0.3, p = 1 - q, lam = 2 * q / p, P = 1;
    for (int i = 0; i <= 2; i++)
        P -= exp(-lam) * pow(lam, i) / tgamma(i + 1) * (1 - pow(q / p, 2 - i));
    /* The race without the Poisson approximation: 1 - sum C(k+z-1,k)
     * (p^z q^k - q^z p^k) for k = 0..z, z = 2. */
    double exact = 1 - ((p * p - q * q) + 2 * (p * p * q - q * q * p) +
                        3 * (p * p * q * q - q * q * p * p));
    /* Attempts are independent: 4 binomial standard deviations, plus the
     * gap between Nakamoto's formula and the exact race. */
    double tol = 4 * sqrt(P * (1 - P) / n) + fabs(P - exact);
    CU_ASSERT(n > 300);
    CU_ASSERT(fabs(k / n - P) <= tol);
    if (!(fabs(k / n - P) <= tol))
        fprintf(stderr, "\n  success %.4f (%g/%g) vs P %.4f (tol %.4f)\n", k / n, k, n, P, tol);
}

TSUITE(papers)
{
    CU_pSuite s = CU_add_suite("papers", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_selfish_point);
    TADD(s, test_double_spend_point);
    return CUE_SUCCESS;
}

/* tests/core/test_ml.c -- MLP engine: exp/log, init, codecs, gradients,
 * the PoUW step's exact semantics and its bit-for-bit reproducibility.
 *
 * Pinned hashes and bit patterns are the cross-machine canary: the same
 * values must come out on every x86_64 and aarch64 build.  If one changes,
 * consensus arithmetic changed (or lost determinism) -- never just re-pin. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml.h"
#include "tests/harness.h"

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static void check_hash(const pu_hash32 *h, const char *want)
{
    char hex[65];
    pu_hash_hex(h, hex);
    if (strcmp(hex, want) != 0)
        fprintf(stderr, "\n  hash %s, pinned %s\n", hex, want);
    CU_ASSERT_STRING_EQUAL(hex, want);
}

static void check_u64(uint64_t got, uint64_t want, const char *what)
{
    if (got != want)
        fprintf(stderr, "\n  %s = %llu (0x%llx), pinned %llu\n", what, (unsigned long long)got,
                (unsigned long long)got, (unsigned long long)want);
    CU_ASSERT_EQUAL(got, want);
}

static const pu_ml_arch SEED_ARCH = {784, 2, {128, 64}, 10};
static const pu_ml_arch SMALL_ARCH = {12, 2, {16, 8}, 4}; /* synthetic tests */

/* Synthetic training / test data matching SMALL_ARCH. */
static pu_dataset *small_data(uint32_t first, uint32_t n)
{
    pu_dataset *ds = NULL;
    CU_ASSERT_FATAL(pu_dataset_synthetic(42, 12, 4, first, n, &ds) == PU_OK);
    return ds;
}

static pu_ml_model *new_model(const pu_ml_arch *a, bool momentum, uint64_t seed)
{
    pu_ml_model *m = NULL;
    CU_ASSERT_FATAL(pu_ml_model_new(a, momentum, &m) == PU_OK);
    pu_ml_model_init(m, seed);
    return m;
}

/* ---- architecture, init, codecs ---------------------------------------------------- */

static void test_arch_check(void)
{
    uint32_t np;
    CU_ASSERT_EQUAL(pu_ml_arch_check(&SEED_ARCH, &np), PU_OK);
    CU_ASSERT_EQUAL(np, 784u * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10); /* 109,386 */
    pu_ml_arch a = SEED_ARCH;
    a.hidden[1] = 0;
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_ERR_RANGE);
    a = SEED_ARCH;
    a.n_hidden = 9;
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_ERR_RANGE);
    a = SEED_ARCH;
    a.output = 1;
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_ERR_RANGE);
    a = (pu_ml_arch){65536, 1, {2048}, 10}; /* 134 M parameters */
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_ERR_RANGE);
    a = (pu_ml_arch){5, 0, {0}, 3}; /* softmax regression is an MLP too */
    CU_ASSERT_EQUAL(pu_ml_arch_check(&a, &np), PU_OK);
    CU_ASSERT_EQUAL(np, 18u);
    pu_ml_arch b = SEED_ARCH;
    b.hidden[5] = 99; /* ignored slot */
    CU_ASSERT_TRUE(pu_ml_arch_eq(&SEED_ARCH, &b));
    b.hidden[1] = 65;
    CU_ASSERT_FALSE(pu_ml_arch_eq(&SEED_ARCH, &b));
}

static void test_init(void)
{
    pu_ml_model *a = new_model(&SEED_ARCH, false, 7), *b = new_model(&SEED_ARCH, false, 7);
    pu_ml_model *c = new_model(&SEED_ARCH, false, 8);
    uint32_t np = pu_ml_model_nparams(a);
    const double *pa = pu_ml_model_params(a);
    CU_ASSERT_EQUAL(memcmp(pa, pu_ml_model_params(b), np * sizeof(double)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(pa, pu_ml_model_params(c), np * sizeof(double)), 0);
    /* layer 1 weights within +-sqrt(6/784), bias zero, mean near 0 */
    double lim = sqrt(6.0 / 784), sum = 0, mx = 0;
    for (uint32_t i = 0; i < 784 * 128; i++) {
        sum += pa[i];
        mx = fabs(pa[i]) > mx ? fabs(pa[i]) : mx;
    }
    CU_ASSERT(mx <= lim && mx > 0.99 * lim);
    CU_ASSERT(fabs(sum / (784 * 128)) < 0.01 * lim);
    for (uint32_t i = 784 * 128; i < 784 * 128 + 128; i++)
        CU_ASSERT_EQUAL(pa[i], 0.0);
    /* output layer: Glorot bound sqrt(6/74) */
    const double *w3 = pa + 784 * 128 + 128 + 128 * 64 + 64;
    double m3 = 0;
    for (uint32_t i = 0; i < 640; i++)
        m3 = fabs(w3[i]) > m3 ? fabs(w3[i]) : m3;
    CU_ASSERT(m3 <= sqrt(6.0 / 74) && m3 > 0.9 * sqrt(6.0 / 74));
    CU_ASSERT_EQUAL(pu_ml_model_mem(a) >= 8u * np, 1);
    CU_ASSERT(pu_ml_model_mem(a) < 8u * np + 1024);
    pu_ml_model_free(a);
    pu_ml_model_free(b);
    pu_ml_model_free(c);
}

static void test_model_codec(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    for (int mom = 0; mom <= 1; mom++) {
        pu_ml_model *m = new_model(&SMALL_ARCH, mom, 3), *back = NULL;
        if (mom)
            ((double *)pu_ml_model_velocity(m))[5] = -0.25; /* velocity is state */
        pu_ml_model_params_mut(m)[0] = NAN;                 /* any bits survive */
        uint8_t *buf, *buf2;
        size_t len, len2;
        CU_ASSERT_FATAL(pu_ml_model_serialize(m, &buf, &len) == PU_OK);
        CU_ASSERT_EQUAL(len, pu_ml_model_serialized_len(m));
        CU_ASSERT_EQUAL(len, 20 + 8 + (size_t)pu_ml_model_nparams(m) * 8 * (mom ? 2 : 1));
        CU_ASSERT_EQUAL(memcmp(buf, "PUML\x01", 5), 0);
        CU_ASSERT_FATAL(pu_ml_model_parse(buf, len, &back) == PU_OK);
        CU_ASSERT_FATAL(pu_ml_model_serialize(back, &buf2, &len2) == PU_OK);
        CU_ASSERT(len2 == len && memcmp(buf, buf2, len) == 0);
        CU_ASSERT_EQUAL(pu_ml_model_has_momentum(back), (bool)mom);
        pu_hash32 h1, h2;
        CU_ASSERT(pu_ml_model_hash(m, c, NULL, &h1) == PU_OK);
        CU_ASSERT(pu_ml_model_hash(back, c, NULL, &h2) == PU_OK);
        CU_ASSERT_TRUE(pu_hash_eq(&h1, &h2));
        pu_sha256(c, buf, len, &h2); /* the hash is SHA-256 of the canonical bytes */
        CU_ASSERT_TRUE(pu_hash_eq(&h1, &h2));
        pu_ml_model_free(back);
        /* strictness */
        for (size_t cut = 0; cut < len; cut += (cut < 40 ? 1 : 97))
            CU_ASSERT_EQUAL(pu_ml_model_parse(buf, cut, &back), PU_ERR_PARSE);
        uint8_t *big = malloc(len + 1);
        memcpy(big, buf, len);
        big[len] = 0;
        CU_ASSERT_EQUAL(pu_ml_model_parse(big, len + 1, &back), PU_ERR_PARSE);
        const size_t pos[] = {0, 4, 5, 7, 27};  /* magic, version, flags, reserved, P */
        const uint8_t val[] = {'X', 2, 4, 1, 0x55};
        for (size_t i = 0; i < 5; i++) {
            memcpy(big, buf, len);
            big[pos[i]] = val[i];
            CU_ASSERT_EQUAL(pu_ml_model_parse(big, len, &back), PU_ERR_PARSE);
            CU_ASSERT_PTR_NULL(back);
        }
        memcpy(big, buf, len);
        big[6] = 9; /* n_hidden */
        CU_ASSERT_EQUAL(pu_ml_model_parse(big, len, &back), PU_ERR_RANGE);
        memcpy(big, buf, len);
        big[5] ^= 1; /* momentum flag flipped: body length no longer matches */
        CU_ASSERT_EQUAL(pu_ml_model_parse(big, len, &back), PU_ERR_PARSE);
        free(big);
        free(buf);
        free(buf2);
        pu_ml_model_free(m);
    }
    pu_crypto_free(c);
}

static void test_resid_update_codec(void)
{
    pu_ml_resid *r, *r2;
    CU_ASSERT_FATAL(pu_ml_resid_new(10, &r) == PU_OK);
    pu_ml_resid_values_mut(r)[3] = -1.5e-7;
    uint8_t *buf;
    size_t len;
    CU_ASSERT_FATAL(pu_ml_resid_serialize(r, &buf, &len) == PU_OK);
    CU_ASSERT_EQUAL(len, 9u + 80);
    CU_ASSERT(pu_ml_resid_mem(r) >= 80 && pu_ml_resid_mem(r) < 80 + 64);
    CU_ASSERT_FATAL(pu_ml_resid_parse(buf, len, &r2) == PU_OK);
    CU_ASSERT_EQUAL(pu_ml_resid_values(r2)[3], -1.5e-7);
    pu_ml_resid_free(r2);
    CU_ASSERT_EQUAL(pu_ml_resid_parse(buf, len - 1, &r2), PU_ERR_PARSE);
    CU_ASSERT_PTR_NULL(r2);
    buf[5] = 0x7f; /* P far too large */
    CU_ASSERT_EQUAL(pu_ml_resid_parse(buf, len, &r2), PU_ERR_RANGE);
    free(buf);
    pu_ml_resid_free(r);

    pu_ml_update *u, *u2;
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    const uint32_t ent[] = {0, 3 | PU_ML_UPDATE_NEG, 9};
    CU_ASSERT_EQUAL(pu_ml_update_set(u, 10, ent, 3), PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_serialize(u, &buf, &len) == PU_OK);
    const uint8_t want[] = {1, 0, 0, 0, 10, 0, 0, 0, 3, 0, 0, 0, 0, 0x80, 0, 0, 3, 0, 0, 0, 9};
    CU_ASSERT(len == sizeof want && memcmp(buf, want, len) == 0);
    CU_ASSERT_FATAL(pu_ml_update_parse(buf, len, &u2) == PU_OK);
    CU_ASSERT_EQUAL(pu_ml_update_count(u2), 3u);
    CU_ASSERT_EQUAL(pu_ml_update_entries(u2)[1], 3u | PU_ML_UPDATE_NEG);
    pu_ml_update_free(u2);
    uint8_t bad[sizeof want];
    memcpy(bad, want, len);
    bad[20] = 3; /* 3 after 3: not strictly increasing */
    CU_ASSERT_EQUAL(pu_ml_update_parse(bad, len, &u2), PU_ERR_PARSE);
    memcpy(bad, want, len);
    bad[20] = 10; /* index == P */
    CU_ASSERT_EQUAL(pu_ml_update_parse(bad, len, &u2), PU_ERR_PARSE);
    memcpy(bad, want, len);
    bad[0] = 2;
    CU_ASSERT_EQUAL(pu_ml_update_parse(bad, len, &u2), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_ml_update_parse(want, len - 1, &u2), PU_ERR_PARSE);
    memcpy(bad, want, len);
    bad[4] = 2; /* count 3 > P 2 */
    CU_ASSERT_EQUAL(pu_ml_update_parse(bad, len, &u2), PU_ERR_PARSE);
    const uint32_t dup[] = {4, 4};
    CU_ASSERT_EQUAL(pu_ml_update_set(u, 10, dup, 2), PU_ERR_PARSE);
    free(buf);

    /* applying: +tau for NEG entries, -tau otherwise, on a model of P = 18 */
    pu_ml_arch a = {5, 0, {0}, 3};
    pu_ml_model *m = new_model(&a, false, 1);
    double before[18];
    memcpy(before, pu_ml_model_params(m), sizeof before);
    CU_ASSERT_EQUAL(pu_ml_apply_update(m, u, 500000000), PU_ERR_INVALID); /* P 10 != 18 */
    CU_ASSERT_EQUAL(pu_ml_update_set(u, 18, ent, 3), PU_OK);
    CU_ASSERT_EQUAL(pu_ml_apply_update(m, u, 500000000), PU_OK);
    const double *p = pu_ml_model_params(m);
    CU_ASSERT_EQUAL(p[0], before[0] - 0.5);
    CU_ASSERT_EQUAL(p[3], before[3] + 0.5);
    CU_ASSERT_EQUAL(p[9], before[9] - 0.5);
    CU_ASSERT_EQUAL(p[4], before[4]);
    pu_ml_model_free(m);
    pu_ml_update_free(u);
}

/* ---- gradients and kernels ------------------------------------------------------- */

/* Central differences on every parameter of a two-hidden-layer net. */
static void test_gradient_check(void)
{
    pu_ml_arch a = {12, 2, {7, 5}, 4};
    pu_dataset *ds = small_data(0, 24);
    pu_ml_model *m = new_model(&a, false, 11);
    pu_ml_ws *ws;
    CU_ASSERT_FATAL(pu_ml_ws_new(&a, 24, &ws) == PU_OK);
    uint32_t idx[24];
    for (uint32_t i = 0; i < 24; i++)
        idx[i] = i;
    pu_ml_batch b = {ds, idx, 24};
    pu_ml_metrics mt, ev;
    const double *g;
    CU_ASSERT_FATAL(pu_ml_grad(ws, m, &b, &mt, &g) == PU_OK);
    uint32_t np = pu_ml_model_nparams(m);
    double *gc = malloc(np * sizeof *gc);
    memcpy(gc, g, np * sizeof *gc);
    CU_ASSERT_FATAL(pu_ml_evaluate(ws, m, ds, 0, 24, &ev) == PU_OK);
    CU_ASSERT_EQUAL(bits_of(ev.loss), bits_of(mt.loss)); /* same forward pass */
    CU_ASSERT_EQUAL(ev.correct, mt.correct);
    double *p = pu_ml_model_params_mut(m), worst = 0;
    const double h = 1e-6;
    for (uint32_t i = 0; i < np; i++) {
        double keep = p[i], lp, lm;
        p[i] = keep + h;
        CU_ASSERT_FATAL(pu_ml_evaluate(ws, m, ds, 0, 24, &ev) == PU_OK);
        lp = ev.loss;
        p[i] = keep - h;
        CU_ASSERT_FATAL(pu_ml_evaluate(ws, m, ds, 0, 24, &ev) == PU_OK);
        lm = ev.loss;
        p[i] = keep;
        double num = (lp - lm) / (2 * h), err = fabs(num - gc[i]) / (fabs(num) + fabs(gc[i]) + 1e-4);
        worst = err > worst ? err : worst;
    }
    CU_ASSERT(worst < 1e-5);
    if (worst >= 1e-5)
        fprintf(stderr, "\n  worst relative gradient error %g\n", worst);
    free(gc);
    pu_ml_ws_free(ws);
    pu_ml_model_free(m);
    pu_dataset_free(ds);
}

/* One PoUW step of the seed network on real (sparse) Fashion-MNIST rows,
 * returning the hashes of everything it outputs. */
typedef struct step_out {
    pu_hash32 model, resid, update;
    pu_ml_metrics mt;
} step_out;

static void seed_step(const pu_dataset *ds, pu_ml_kernel kernel, uint32_t n, step_out *o)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_ml_ws *ws;
    CU_ASSERT_FATAL(pu_ml_ws_new(&SEED_ARCH, n, &ws) == PU_OK);
    pu_ml_ws_set_kernel(ws, kernel);
    pu_ml_model *m = new_model(&SEED_ARCH, false, 5);
    pu_ml_resid *r;
    pu_ml_update *u;
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(m), &r) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    uint32_t *idx = malloc(n * sizeof *idx);
    pu_ml_hyper h = {200000000, 1000000, 0};
    for (int it = 0; it < 2; it++) { /* second step starts from a non-zero residual */
        for (uint32_t i = 0; i < n; i++)
            idx[i] = (i * 37 + (uint32_t)it * 11) % pu_dataset_size(ds);
        pu_ml_batch b = {ds, idx, n};
        CU_ASSERT_FATAL(pu_ml_step(ws, m, r, &b, NULL, 0, &h, m, r, u, &o->mt) == PU_OK);
    }
    CU_ASSERT(pu_ml_model_hash(m, c, ws, &o->model) == PU_OK);
    CU_ASSERT(pu_ml_resid_hash(r, c, ws, &o->resid) == PU_OK);
    CU_ASSERT(pu_ml_update_hash(u, c, ws, &o->update) == PU_OK);
    free(idx);
    pu_ml_update_free(u);
    pu_ml_resid_free(r);
    pu_ml_model_free(m);
    pu_ml_ws_free(ws);
    pu_crypto_free(c);
}

/* Our kernels keep GSL reference CBLAS's per-element operation order, so
 * on x86_64 (where the distribution's libgslcblas has no fused
 * multiply-add) the whole step must agree with it bit for bit.  On other
 * architectures libgslcblas may be built with contraction; there only the
 * pinned hashes below speak for determinism. */
static void test_kernels_match_gsl(void)
{
    pu_dataset *ds;
    CU_ASSERT_FATAL(pu_dataset_load_fashion_mnist(PU_DATASET_FMNIST_DIR, true, &ds) == PU_OK);
    step_out own, ref;
    seed_step(ds, PU_ML_KERNEL_OWN, 64, &own);
    check_hash(&own.model, "34a7b0b2e1cdcb9709f1b76704e5da446c1f97abfc5cd5872244676a69183db6");
    check_hash(&own.resid, "bda18f48832d3cd72df9fca5852c101d12e68479ca9a8b31a96a96ceac2df9f0");
    check_hash(&own.update, "6443a538e3f664bbc7b9d8edfa1e25e6144507a0bbdd4f8eb92df7e3a821fa95");
    check_u64(own.mt.correct, 9, "correct");
    check_u64(own.mt.loss_e9, UINT64_C(2249177096), "loss_e9");
#if defined(__x86_64__)
    seed_step(ds, PU_ML_KERNEL_GSL, 64, &ref);
    CU_ASSERT_TRUE(pu_hash_eq(&own.model, &ref.model));
    CU_ASSERT_TRUE(pu_hash_eq(&own.resid, &ref.resid));
    CU_ASSERT_TRUE(pu_hash_eq(&own.update, &ref.update));
    CU_ASSERT_EQUAL(bits_of(own.mt.loss), bits_of(ref.mt.loss));
    CU_ASSERT_EQUAL(own.mt.correct, ref.mt.correct);
#else
    (void)ref;
#endif
    pu_dataset_free(ds);
}

/* ---- the PoUW step ------------------------------------------------------------------ */

typedef struct fixture {
    pu_dataset *ds;
    pu_ml_ws *ws;
    pu_ml_model *m;
    pu_ml_resid *r;
    pu_ml_update *peer[2];
    uint32_t idx[32];
    pu_ml_batch b;
    pu_ml_hyper h;
} fixture;

/* A model that has trained a little, a non-zero residual and two peer
 * messages: the interesting case for a verifier. */
static void fixture_init(fixture *f, bool momentum)
{
    memset(f, 0, sizeof *f);
    f->ds = small_data(0, 400);
    CU_ASSERT_FATAL(pu_ml_ws_new(&SMALL_ARCH, 32, &f->ws) == PU_OK);
    f->m = new_model(&SMALL_ARCH, momentum, 9);
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(f->m), &f->r) == PU_OK);
    f->h = (pu_ml_hyper){50000000, 2000000, momentum ? 500000000 : 0};
    for (int p = 0; p < 2; p++)
        CU_ASSERT_FATAL(pu_ml_update_new(&f->peer[p]) == PU_OK);
    for (uint32_t it = 0; it < 3; it++) { /* warm-up: peers come from a twin */
        CU_ASSERT_FATAL(pu_dataset_batch(f->ds, 77, 0, it, 0, 2, 32, f->idx) == PU_OK);
        pu_ml_batch b = {f->ds, f->idx, 32};
        pu_ml_metrics mt;
        CU_ASSERT_FATAL(pu_ml_step(f->ws, f->m, f->r, &b, NULL, 0, &f->h, f->m, f->r,
                                   f->peer[it % 2], &mt) == PU_OK);
    }
    CU_ASSERT_FATAL(pu_dataset_batch(f->ds, 77, 0, 4, 1, 2, 32, f->idx) == PU_OK);
    f->b = (pu_ml_batch){f->ds, f->idx, 32};
}

static void fixture_free(fixture *f)
{
    pu_ml_update_free(f->peer[0]);
    pu_ml_update_free(f->peer[1]);
    pu_ml_resid_free(f->r);
    pu_ml_model_free(f->m);
    pu_ml_ws_free(f->ws);
    pu_dataset_free(f->ds);
}

/* Every rule of pu_ml_step checked against an independent recomputation
 * from pu_ml_grad, to the bit. */
static void test_step_semantics(void)
{
    fixture f;
    fixture_init(&f, false);
    CU_ASSERT(pu_ml_update_count(f.peer[0]) > 0 && pu_ml_update_count(f.peer[1]) > 0);
    const pu_ml_update *peers[2] = {f.peer[0], f.peer[1]};
    uint32_t np = pu_ml_model_nparams(f.m);
    double tau = 2000000 / 1e9, lr = 50000000 / 1e9;

    /* expected: apply peers by hand, take the gradient there */
    pu_ml_model *e;
    CU_ASSERT_FATAL(pu_ml_model_clone(f.m, &e) == PU_OK);
    double *pe = pu_ml_model_params_mut(e);
    for (int p = 0; p < 2; p++)
        for (uint32_t k = 0; k < pu_ml_update_count(peers[p]); k++) {
            uint32_t en = pu_ml_update_entries(peers[p])[k], ix = en & ~PU_ML_UPDATE_NEG;
            pe[ix] = (en & PU_ML_UPDATE_NEG) ? pe[ix] + tau : pe[ix] - tau;
        }
    pu_ml_metrics gm, mt;
    const double *g;
    CU_ASSERT_FATAL(pu_ml_grad(f.ws, e, &f.b, &gm, &g) == PU_OK);
    double *gcopy = malloc(np * sizeof *gcopy);
    memcpy(gcopy, g, np * sizeof *gcopy);

    pu_ml_model *out;
    pu_ml_resid *rout;
    pu_ml_update *u;
    CU_ASSERT_FATAL(pu_ml_model_new(&SMALL_ARCH, false, &out) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_new(np, &rout) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    pu_ml_model *m_before;
    pu_ml_resid *r_before;
    CU_ASSERT_FATAL(pu_ml_model_clone(f.m, &m_before) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_new(np, &r_before) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_copy(r_before, f.r) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_step(f.ws, f.m, f.r, &f.b, peers, 2, &f.h, out, rout, u, &mt) == PU_OK);
    CU_ASSERT_EQUAL(bits_of(mt.loss), bits_of(gm.loss));
    CU_ASSERT_EQUAL(mt.correct, gm.correct);
    CU_ASSERT_EQUAL(mt.n, 32u);

    const double *r0 = pu_ml_resid_values(f.r), *r1 = pu_ml_resid_values(rout);
    const double *p1 = pu_ml_model_params(out);
    uint32_t k = 0, mismatches = 0;
    const uint32_t *ent = pu_ml_update_entries(u);
    for (uint32_t i = 0; i < np; i++) {
        double acc = r0[i] + lr * gcopy[i], wr = acc, wp = pe[i];
        uint32_t want_entry = UINT32_MAX;
        if (acc > tau) {
            wr = acc - tau;
            wp = pe[i] - tau;
            want_entry = i;
        } else if (acc < -tau) {
            wr = acc + tau;
            wp = pe[i] + tau;
            want_entry = i | PU_ML_UPDATE_NEG;
        }
        if (want_entry != UINT32_MAX && (k >= pu_ml_update_count(u) || ent[k++] != want_entry))
            mismatches++;
        if (bits_of(wr) != bits_of(r1[i]) || bits_of(wp) != bits_of(p1[i]))
            mismatches++;
    }
    CU_ASSERT_EQUAL(mismatches, 0u);
    CU_ASSERT_EQUAL(k, pu_ml_update_count(u));
    CU_ASSERT(k > 0 && k < np);
    CU_ASSERT_EQUAL(pu_ml_update_nparams(u), np);
    /* inputs untouched by an out-of-place step: compared with copies taken before it */
    CU_ASSERT_EQUAL(memcmp(pu_ml_model_params(m_before), pu_ml_model_params(f.m), np * 8), 0);
    CU_ASSERT_EQUAL(memcmp(pu_ml_resid_values(r_before), pu_ml_resid_values(f.r), np * 8), 0);
    free(gcopy);
    pu_ml_model_free(m_before);
    pu_ml_resid_free(r_before);
    pu_ml_model_free(e);
    pu_ml_model_free(out);
    pu_ml_resid_free(rout);
    pu_ml_update_free(u);
    fixture_free(&f);
}

/* Serialise all inputs, parse them into fresh objects, step both: the
 * verifier's view must reproduce the miner's output hashes exactly. */
static void roundtrip_and_compare(bool momentum)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    fixture f;
    fixture_init(&f, momentum);
    uint8_t *mb, *rb, *ub0, *ub1;
    size_t ml, rl, ul0, ul1;
    CU_ASSERT_FATAL(pu_ml_model_serialize(f.m, &mb, &ml) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_serialize(f.r, &rb, &rl) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_serialize(f.peer[0], &ub0, &ul0) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_serialize(f.peer[1], &ub1, &ul1) == PU_OK);

    /* the verifier: separate objects and a separate workspace */
    pu_ml_model *vm;
    pu_ml_resid *vr;
    pu_ml_update *vp[2], *vu, *mu;
    pu_ml_ws *vws;
    CU_ASSERT_FATAL(pu_ml_model_parse(mb, ml, &vm) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_parse(rb, rl, &vr) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_parse(ub0, ul0, &vp[0]) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_parse(ub1, ul1, &vp[1]) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_ws_new(&SMALL_ARCH, 100, &vws) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&vu) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_update_new(&mu) == PU_OK);

    const pu_ml_update *mpeers[2] = {f.peer[0], f.peer[1]}, *vpeers[2] = {vp[0], vp[1]};
    pu_ml_metrics m1, m2;
    /* miner: in place */
    CU_ASSERT_FATAL(pu_ml_step(f.ws, f.m, f.r, &f.b, mpeers, 2, &f.h, f.m, f.r, mu, &m1) == PU_OK);
    /* verifier: out of place, into fresh outputs */
    pu_ml_model *om;
    pu_ml_resid *orr;
    CU_ASSERT_FATAL(pu_ml_model_new(&SMALL_ARCH, momentum, &om) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(om), &orr) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_step(vws, vm, vr, &f.b, vpeers, 2, &f.h, om, orr, vu, &m2) == PU_OK);

    pu_hash32 a, b;
    CU_ASSERT(pu_ml_model_hash(f.m, c, f.ws, &a) == PU_OK && pu_ml_model_hash(om, c, NULL, &b) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&a, &b));
    CU_ASSERT(pu_ml_resid_hash(f.r, c, NULL, &a) == PU_OK && pu_ml_resid_hash(orr, c, vws, &b) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&a, &b));
    CU_ASSERT(pu_ml_update_hash(mu, c, NULL, &a) == PU_OK && pu_ml_update_hash(vu, c, NULL, &b) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&a, &b));
    CU_ASSERT_EQUAL(bits_of(m1.loss), bits_of(m2.loss));
    CU_ASSERT_EQUAL(m1.loss_e9, m2.loss_e9);
    CU_ASSERT_EQUAL(m1.correct, m2.correct);
    /* a different peer set is a different input: the model differs */
    const pu_ml_update *fewer[1] = {vp[1]};
    CU_ASSERT_FATAL(pu_ml_step(vws, vm, vr, &f.b, fewer, 1, &f.h, om, orr, vu, &m2) == PU_OK);
    CU_ASSERT(pu_ml_model_hash(om, c, NULL, &b) == PU_OK);
    CU_ASSERT_FALSE(pu_hash_eq(&a, &b));

    free(mb);
    free(rb);
    free(ub0);
    free(ub1);
    pu_ml_model_free(vm);
    pu_ml_model_free(om);
    pu_ml_resid_free(vr);
    pu_ml_resid_free(orr);
    pu_ml_update_free(vp[0]);
    pu_ml_update_free(vp[1]);
    pu_ml_update_free(vu);
    pu_ml_update_free(mu);
    pu_ml_ws_free(vws);
    fixture_free(&f);
    pu_crypto_free(c);
}

static void test_step_reexecution(void) { roundtrip_and_compare(false); }
static void test_step_reexecution_momentum(void) { roundtrip_and_compare(true); }

static void test_step_errors(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    fixture f;
    fixture_init(&f, false);
    pu_hash32 h0, h1;
    CU_ASSERT(pu_ml_model_hash(f.m, c, NULL, &h0) == PU_OK);
    pu_ml_update *u;
    CU_ASSERT_FATAL(pu_ml_update_new(&u) == PU_OK);
    pu_ml_metrics mt;
    const pu_ml_update *peers[1] = {f.peer[0]};

    pu_ml_batch b = f.b;
    b.n = 33; /* above max_batch */
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &b, peers, 1, &f.h, f.m, f.r, u, &mt), PU_ERR_RANGE);
    b.n = 0;
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &b, peers, 1, &f.h, f.m, f.r, u, &mt), PU_ERR_RANGE);
    b = f.b;
    uint32_t idx[32];
    memcpy(idx, f.idx, sizeof idx);
    idx[31] = 400; /* out of the data set */
    b.idx = idx;
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &b, peers, 1, &f.h, f.m, f.r, u, &mt), PU_ERR_RANGE);
    pu_ml_hyper h = f.h;
    h.tau_e9 = 0;
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &f.b, peers, 1, &h, f.m, f.r, u, &mt), PU_ERR_RANGE);
    h = f.h;
    h.momentum_e9 = 900000000; /* model has no velocity */
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &f.b, peers, 1, &h, f.m, f.r, u, &mt), PU_ERR_INVALID);
    pu_ml_update *wrong;
    CU_ASSERT_FATAL(pu_ml_update_new(&wrong) == PU_OK);
    const uint32_t one = 1;
    CU_ASSERT_FATAL(pu_ml_update_set(wrong, 17, &one, 1) == PU_OK);
    const pu_ml_update *bad_peers[2] = {f.peer[0], wrong};
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &f.b, bad_peers, 2, &f.h, f.m, f.r, u, &mt), PU_ERR_INVALID);
    pu_dataset *other = NULL;
    CU_ASSERT_FATAL(pu_dataset_synthetic(42, 13, 4, 0, 64, &other) == PU_OK);
    b = f.b;
    b.ds = other; /* 13 features for a 12-input net */
    CU_ASSERT_EQUAL(pu_ml_step(f.ws, f.m, f.r, &b, peers, 1, &f.h, f.m, f.r, u, &mt), PU_ERR_INVALID);
    pu_ml_ws *ws2;
    pu_ml_arch a2 = SMALL_ARCH;
    a2.hidden[0] = 17;
    CU_ASSERT_FATAL(pu_ml_ws_new(&a2, 32, &ws2) == PU_OK);
    CU_ASSERT_EQUAL(pu_ml_step(ws2, f.m, f.r, &f.b, peers, 1, &f.h, f.m, f.r, u, &mt), PU_ERR_INVALID);
    /* nothing was modified by any rejected call */
    CU_ASSERT(pu_ml_model_hash(f.m, c, NULL, &h1) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&h0, &h1));
    CU_ASSERT_EQUAL(pu_ml_update_count(u), 0u);
    pu_ml_ws_free(ws2);
    pu_dataset_free(other);
    pu_ml_update_free(wrong);
    pu_ml_update_free(u);
    fixture_free(&f);
    pu_crypto_free(c);
}

static void test_evaluate_chunking(void)
{
    pu_dataset *ds = small_data(1000, 250);
    pu_ml_model *m = new_model(&SMALL_ARCH, false, 2);
    pu_ml_ws *w7, *w300;
    CU_ASSERT_FATAL(pu_ml_ws_new(&SMALL_ARCH, 7, &w7) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_ws_new(&SMALL_ARCH, 300, &w300) == PU_OK);
    pu_ml_metrics a, b;
    CU_ASSERT_FATAL(pu_ml_evaluate(w7, m, ds, 10, 240, &a) == PU_OK);
    CU_ASSERT_FATAL(pu_ml_evaluate(w300, m, ds, 10, 240, &b) == PU_OK);
    CU_ASSERT_EQUAL(bits_of(a.loss), bits_of(b.loss));
    CU_ASSERT_EQUAL(a.correct, b.correct);
    CU_ASSERT_EQUAL(a.n, 240u);
    /* an untrained 4-class model sits near chance: loss ~ ln 4 */
    CU_ASSERT(a.loss > 0.9 && a.loss < 2.5);
    CU_ASSERT_EQUAL(a.loss_e9, (uint64_t)(a.loss * 1e9));
    CU_ASSERT_EQUAL(pu_ml_evaluate(w7, m, ds, 10, 241, &a), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_ml_evaluate(w7, m, ds, 0, 0, &a), PU_ERR_RANGE);
    pu_ml_ws_free(w7);
    pu_ml_ws_free(w300);
    pu_ml_model_free(m);
    pu_dataset_free(ds);
}

static void test_sgd_momentum(void)
{
    fixture f;
    fixture_init(&f, true);
    uint32_t np = pu_ml_model_nparams(f.m);
    double *p0 = malloc(np * 8), *v0 = malloc(np * 8), *g = malloc(np * 8);
    memcpy(p0, pu_ml_model_params(f.m), np * 8);
    memcpy(v0, pu_ml_model_velocity(f.m), np * 8);
    pu_ml_metrics mt;
    const double *gp;
    CU_ASSERT_FATAL(pu_ml_grad(f.ws, f.m, &f.b, &mt, &gp) == PU_OK);
    memcpy(g, gp, np * 8);
    CU_ASSERT_FATAL(pu_ml_sgd_step(f.ws, f.m, &f.b, &f.h, &mt) == PU_OK);
    const double mu = 0.5, lr = 0.05;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < np; i++) {
        double v = mu * v0[i] + g[i];
        bad += bits_of(v) != bits_of(pu_ml_model_velocity(f.m)[i]);
        bad += bits_of(p0[i] - lr * v) != bits_of(pu_ml_model_params(f.m)[i]);
    }
    CU_ASSERT_EQUAL(bad, 0u);
    free(p0);
    free(v0);
    free(g);
    fixture_free(&f);
}

/* Data-parallel PoUW training of three miners on synthetic data must learn,
 * and its final model hash is pinned (the cross-machine canary). */
static void test_data_parallel_training(void)
{
    enum { M = 3, B = 50, T = 40 };
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_dataset *train = small_data(0, 3000), *test = small_data(3000, 1000);
    pu_ml_ws *ws;
    CU_ASSERT_FATAL(pu_ml_ws_new(&SMALL_ARCH, 1000, &ws) == PU_OK);
    pu_ml_model *m[M];
    pu_ml_resid *r[M];
    pu_ml_update *cur[M], *prev[M];
    for (int i = 0; i < M; i++) {
        m[i] = new_model(&SMALL_ARCH, false, 21);
        CU_ASSERT_FATAL(pu_ml_resid_new(pu_ml_model_nparams(m[i]), &r[i]) == PU_OK);
        CU_ASSERT_FATAL(pu_ml_update_new(&cur[i]) == PU_OK && pu_ml_update_new(&prev[i]) == PU_OK);
    }
    pu_ml_hyper h = {1000000000, 20000000, 0};
    uint32_t per, idx[B], correct_first = 0, correct_last = 0;
    CU_ASSERT_FATAL(pu_dataset_iters_per_epoch(3000, M, B, &per) == PU_OK);
    for (uint32_t t = 0; t < T; t++) {
        for (int i = 0; i < M; i++) {
            CU_ASSERT_FATAL(pu_dataset_batch(train, 5, t / per, t % per, (uint32_t)i, M, B, idx) == PU_OK);
            const pu_ml_update *peers[M - 1];
            size_t n = 0;
            for (int j = 0; j < M && t > 0; j++)
                if (j != i)
                    peers[n++] = prev[j];
            pu_ml_batch b = {train, idx, B};
            pu_ml_metrics mt;
            CU_ASSERT_FATAL(pu_ml_step(ws, m[i], r[i], &b, peers, n, &h, m[i], r[i], cur[i], &mt) == PU_OK);
            if (t == 0)
                correct_first += mt.correct;
            if (t == T - 1)
                correct_last += mt.correct;
        }
        for (int i = 0; i < M; i++) {
            pu_ml_update *x = prev[i];
            prev[i] = cur[i];
            cur[i] = x;
        }
    }
    pu_ml_metrics ev;
    CU_ASSERT_FATAL(pu_ml_evaluate(ws, m[0], test, 0, 1000, &ev) == PU_OK);
    CU_ASSERT(ev.correct >= 850); /* chance is 250 */
    CU_ASSERT(correct_last > 2 * correct_first);
    /* Parameters move only in +-tau quanta, so a last-bit change in the
     * gradient rarely shows in the model hash; the residual keeps every bit. */
    pu_hash32 hm;
    CU_ASSERT(pu_ml_model_hash(m[0], c, ws, &hm) == PU_OK);
    check_hash(&hm, "055640b9eb3e836da44c8a949f99b68cf88b9936c5ed113ce3619af6c852042e");
    CU_ASSERT(pu_ml_resid_hash(r[0], c, ws, &hm) == PU_OK);
    check_hash(&hm, "f55c8a3ee3a12c22d8ec053e3adc347a282d8d73365ae8a328b96b21d31d9a88");
    check_u64(ev.correct, 929, "test correct");
    check_u64(ev.loss_e9, UINT64_C(200916811), "test loss_e9");
    for (int i = 0; i < M; i++) {
        pu_ml_model_free(m[i]);
        pu_ml_resid_free(r[i]);
        pu_ml_update_free(cur[i]);
        pu_ml_update_free(prev[i]);
    }
    pu_ml_ws_free(ws);
    pu_dataset_free(train);
    pu_dataset_free(test);
    pu_crypto_free(c);
}

TSUITE(ml)
{
    CU_pSuite s = CU_add_suite("ml", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_arch_check);
    TADD(s, test_init);
    TADD(s, test_model_codec);
    TADD(s, test_resid_update_codec);
    TADD(s, test_gradient_check);
    TADD(s, test_kernels_match_gsl);
    TADD(s, test_step_semantics);
    TADD(s, test_step_reexecution);
    TADD(s, test_step_reexecution_momentum);
    TADD(s, test_step_errors);
    TADD(s, test_evaluate_chunking);
    TADD(s, test_sgd_momentum);
    TADD(s, test_data_parallel_training);
    return CUE_SUCCESS;
}

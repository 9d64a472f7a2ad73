/* tests/core/test_dataset.c -- IDX loading (real Fashion-MNIST test split
 * and crafted bad files), synthetic data, permutation and batch assignment. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/dataset.h"
#include "tests/harness.h"

static void check_hash(const pu_hash32 *h, const char *want)
{
    char hex[65];
    pu_hash_hex(h, hex);
    if (strcmp(hex, want) != 0)
        fprintf(stderr, "\n  hash %s, pinned %s\n", hex, want);
    CU_ASSERT_STRING_EQUAL(hex, want);
}

/* ---- crafted IDX files ------------------------------------------------------- */

static void write_gz(const char *path, const uint8_t *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(gzwrite(f, data, (unsigned)n), (int)n);
    gzclose(f);
}

/* 3 images of 2x3 and their labels, optionally damaged. */
typedef struct idx_files {
    uint8_t img[16 + 18 + 1];
    size_t img_len;
    uint8_t lab[8 + 3 + 1];
    size_t lab_len;
} idx_files;

static void idx_good(idx_files *f)
{
    static const uint8_t hdr[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(f->img, hdr, 16);
    for (int i = 0; i < 18; i++)
        f->img[16 + i] = (uint8_t)(i * 15);
    f->img_len = 34;
    static const uint8_t lhdr[8] = {0, 0, 8, 1, 0, 0, 0, 3};
    memcpy(f->lab, lhdr, 8);
    f->lab[8] = 2;
    f->lab[9] = 0;
    f->lab[10] = 1;
    f->lab_len = 11;
}

static pu_err idx_try(const idx_files *f, uint32_t classes, pu_dataset **out)
{
    char pi[300], pl[300];
    th_path(pi, sizeof pi, "img.gz");
    th_path(pl, sizeof pl, "lab.gz");
    write_gz(pi, f->img, f->img_len);
    write_gz(pl, f->lab, f->lab_len);
    return pu_dataset_load_idx(pi, pl, classes, out);
}

static void test_idx_good_and_gather(void)
{
    idx_files f;
    idx_good(&f);
    pu_dataset *ds = NULL;
    CU_ASSERT_FATAL(idx_try(&f, 3, &ds) == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(ds), 3u);
    CU_ASSERT_EQUAL(pu_dataset_dim(ds), 6u);
    CU_ASSERT_EQUAL(pu_dataset_classes(ds), 3u);
    CU_ASSERT_EQUAL(pu_dataset_label(ds, 0), 2);
    CU_ASSERT_EQUAL(pu_dataset_features(ds, 2)[5], 17 * 15);
    uint32_t idx[2] = {2, 0};
    double x[12];
    uint8_t y[2];
    CU_ASSERT_EQUAL(pu_dataset_gather(ds, idx, 2, x, y), PU_OK);
    CU_ASSERT_EQUAL(x[5], 255.0 / 255.0);
    CU_ASSERT_EQUAL(x[0], 180.0 / 255.0); /* exactly the one division */
    CU_ASSERT_EQUAL(x[7], 15.0 / 255.0);
    CU_ASSERT(y[0] == 1 && y[1] == 2);
    idx[1] = 3;
    CU_ASSERT_EQUAL(pu_dataset_gather(ds, idx, 2, x, NULL), PU_ERR_RANGE);
    pu_dataset_free(ds);

    /* an uncompressed IDX file is read as is */
    char pi[300], pl[300];
    FILE *raw = fopen(th_path(pi, sizeof pi, "img.raw"), "wb");
    CU_ASSERT_FATAL(raw != NULL);
    CU_ASSERT_EQUAL(fwrite(f.img, 1, f.img_len, raw), f.img_len);
    fclose(raw);
    write_gz(th_path(pl, sizeof pl, "lab2.gz"), f.lab, f.lab_len);
    CU_ASSERT_EQUAL(pu_dataset_load_idx(pi, pl, 3, &ds), PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_features(ds, 1)[0], 6 * 15);
    pu_dataset_free(ds);
}

static void test_idx_rejects(void)
{
    idx_files f;
    pu_dataset *ds = (pu_dataset *)&f; /* must be reset to NULL on failure */
    struct {
        int file, pos, val;
        pu_err want;
    } cases[] = {
        {0, 0, 1, PU_ERR_PARSE},    /* magic */
        {0, 2, 9, PU_ERR_PARSE},    /* element type not unsigned byte */
        {0, 3, 4, PU_ERR_PARSE},    /* four dimensions */
        {1, 3, 2, PU_ERR_PARSE},    /* labels with two dimensions */
        {0, 11, 0, PU_ERR_PARSE},   /* zero rows */
        {0, 7, 0, PU_ERR_PARSE},    /* zero images */
        {1, 7, 2, PU_ERR_PARSE},    /* label count differs */
        {0, 15, 4, PU_ERR_PARSE},   /* 2x4 images: the data is short */
        {0, 15, 2, PU_ERR_PARSE},   /* 2x2 images: bytes left over */
        {1, 10, 3, PU_ERR_RANGE},   /* label 3 with 3 classes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        idx_good(&f);
        uint8_t *b = cases[i].file ? f.lab : f.img;
        b[cases[i].pos] = (uint8_t)cases[i].val;
        ds = (pu_dataset *)&f;
        pu_err rc = idx_try(&f, 3, &ds);
        if (rc != cases[i].want)
            fprintf(stderr, "\n  case %zu: got %s\n", i, pu_strerror(rc));
        CU_ASSERT_EQUAL(rc, cases[i].want);
        CU_ASSERT_PTR_NULL(ds);
    }
    idx_good(&f);
    f.img_len--; /* truncated data */
    CU_ASSERT_EQUAL(idx_try(&f, 3, &ds), PU_ERR_PARSE);
    idx_good(&f);
    f.lab[f.lab_len++] = 0; /* one byte too many */
    CU_ASSERT_EQUAL(idx_try(&f, 3, &ds), PU_ERR_PARSE);
    idx_good(&f);
    f.img_len = 3; /* not even a header */
    CU_ASSERT_EQUAL(idx_try(&f, 3, &ds), PU_ERR_PARSE);
    idx_good(&f);
    CU_ASSERT_EQUAL(idx_try(&f, 1, &ds), PU_ERR_RANGE); /* classes < 2 */

    char pi[300], pl[300], pc[300];
    th_path(pi, sizeof pi, "img.gz");
    th_path(pl, sizeof pl, "lab.gz");
    CU_ASSERT_EQUAL(pu_dataset_load_idx(th_path(pc, sizeof pc, "missing.gz"), pl, 3, &ds), PU_ERR_IO);
    /* a gzip stream cut in the middle (a compressed 4 KB image file) */
    uint8_t big[16 + 4096];
    static const uint8_t hdr[16] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 64, 0, 0, 0, 64};
    memcpy(big, hdr, 16);
    for (int i = 0; i < 4096; i++)
        big[16 + i] = (uint8_t)((i * 7919) >> 3);
    write_gz(pi, big, sizeof big);
    FILE *fp = fopen(pi, "rb");
    uint8_t comp[8192];
    size_t clen = fread(comp, 1, sizeof comp, fp);
    fclose(fp);
    fp = fopen(th_path(pc, sizeof pc, "cut.gz"), "wb");
    CU_ASSERT_EQUAL(fwrite(comp, 1, clen / 2, fp), clen / 2);
    fclose(fp);
    static const uint8_t lab1[9] = {0, 0, 8, 1, 0, 0, 0, 1, 0};
    write_gz(pl, lab1, 9);
    CU_ASSERT_EQUAL(pu_dataset_load_idx(pc, pl, 3, &ds), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_dataset_load_idx(pi, pl, 3, &ds), PU_OK); /* the uncut one is fine */
    pu_dataset_free(ds);
}

/* ---- the real data ------------------------------------------------------------ */

static void test_fashion_mnist_test_split(void)
{
    pu_dataset *ds = NULL;
    CU_ASSERT_FATAL(pu_dataset_load_fashion_mnist(PU_DATASET_FMNIST_DIR, true, &ds) == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(ds), 10000u);
    CU_ASSERT_EQUAL(pu_dataset_dim(ds), 784u);
    CU_ASSERT_EQUAL(pu_dataset_classes(ds), 10u);
    uint32_t count[10] = {0};
    uint64_t pixels = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        count[pu_dataset_label(ds, i)]++;
        for (uint32_t j = 0; j < 784; j++)
            pixels += pu_dataset_features(ds, i)[j];
    }
    for (int k = 0; k < 10; k++)
        CU_ASSERT_EQUAL(count[k], 1000u);
    CU_ASSERT_EQUAL(pu_dataset_label(ds, 0), 9); /* ankle boot */
    CU_ASSERT_EQUAL(pu_dataset_label(ds, 1), 2); /* pullover */
    CU_ASSERT(pixels > 10000ull * 784 * 60 && pixels < 10000ull * 784 * 90); /* mean ~73 */
    CU_ASSERT(pu_dataset_mem(ds) >= 10000u * 785);
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 h;
    CU_ASSERT_EQUAL(pu_dataset_hash(ds, c, &h), PU_OK);
    check_hash(&h, "d3ede65cf848d5f239f7911652bede7f7a608ea5f6e1e5f1162f8e926c560368");
    pu_crypto_free(c);
    pu_dataset_free(ds);
    CU_ASSERT_EQUAL(pu_dataset_load_fashion_mnist("/nonexistent", true, &ds), PU_ERR_IO);
    CU_ASSERT_PTR_NULL(ds);
}

/* MNIST as `make deps` converted it (build/mnist; the suite runs from the
 * repository root). */
static void mnist_counts(const pu_dataset *ds, uint32_t count[10])
{
    memset(count, 0, 10 * sizeof count[0]);
    for (uint32_t i = 0; i < pu_dataset_size(ds); i++)
        count[pu_dataset_label(ds, i)]++;
}

static void test_mnist_checksum_and_counts(void)
{
    pu_dataset *train = NULL, *test = NULL;
    pu_err rc = pu_dataset_load_mnist(PU_DATASET_MNIST_DIR, &train, &test);
    if (rc != PU_OK)
        fprintf(stderr, "\n  %s: %s: run `make deps` first\n", PU_DATASET_MNIST_DIR, pu_strerror(rc));
    CU_ASSERT_FATAL(rc == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(train), 8000u);
    CU_ASSERT_EQUAL(pu_dataset_size(test), 2000u);
    CU_ASSERT_EQUAL(pu_dataset_dim(train), 784u);
    CU_ASSERT_EQUAL(pu_dataset_classes(test), 10u);
    /* the package's digits per class, 1001 .. 978, split four to one */
    static const uint32_t want_train[10] = {801, 902, 793, 825, 784, 691, 811, 856, 755, 782};
    static const uint32_t want_test[10] = {200, 225, 198, 207, 196, 172, 203, 214, 189, 196};
    uint32_t ctr[10], cte[10];
    mnist_counts(train, ctr);
    mnist_counts(test, cte);
    for (int k = 0; k < 10; k++) {
        CU_ASSERT_EQUAL(ctr[k], want_train[k]);
        CU_ASSERT_EQUAL(cte[k], want_test[k]);
    }
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 h;
    CU_ASSERT_EQUAL(pu_dataset_hash(train, c, &h), PU_OK);
    check_hash(&h, "020f31a30b11ccf0caf3a0f72d6c724d385546052ca880bc64550682b6d58307");
    CU_ASSERT_EQUAL(pu_dataset_hash(test, c, &h), PU_OK);
    check_hash(&h, "d0fedfb6a70890683497d41103f4656528b07a0796318b1da5ca4e0f6a8e7e1d");
    pu_crypto_free(c);
    pu_dataset_free(train);
    pu_dataset_free(test);
}

/* The first 7 of the package (7.json, digit 0) is example 7008 of the
 * class-sorted set, so training example 7008 - 1401 (the test digits before
 * it).  Row 7 of 7.json reads 0, 0.451, 0.475, 0.635, 0.992, 0.992, 0.835, 0
 * at columns 14..21: pixels round(v * 255), i.e. 0 115 121 162 253 253 213 0. */
static void test_mnist_known_digit(void)
{
    pu_dataset *train = NULL, *test = NULL;
    CU_ASSERT_FATAL(pu_dataset_load_mnist(PU_DATASET_MNIST_DIR, &train, &test) == PU_OK);
    static const uint8_t row7[8] = {0, 115, 121, 162, 253, 253, 213, 0};
    CU_ASSERT_EQUAL(pu_dataset_label(train, 5607), 7);
    CU_ASSERT_EQUAL(pu_dataset_label(train, 5606), 6); /* the last 6 before it */
    CU_ASSERT_EQUAL(memcmp(pu_dataset_features(train, 5607) + 7 * 28 + 14, row7, 8), 0);
    uint32_t ink = 0;
    for (uint32_t j = 0; j < 784; j++)
        ink += pu_dataset_features(train, 5607)[j] != 0;
    CU_ASSERT_EQUAL(ink, 144u);
    /* exact pixels: the values double(p) / 255 the model sees, not 0.451 */
    uint32_t i = 5607;
    double x[784];
    CU_ASSERT_EQUAL(pu_dataset_gather(train, &i, 1, x, NULL), PU_OK);
    CU_ASSERT_EQUAL(x[7 * 28 + 15], 115.0 / 255.0);
    pu_dataset_free(train);
    pu_dataset_free(test);
}

/* 64-bit FNV-1a of a digit's pixels and label: its identity for the
 * disjointness check (all 10,000 package digits differ). */
static uint64_t digit_fp(const pu_dataset *ds, uint32_t i)
{
    uint64_t h = UINT64_C(14695981039346656037);
    const uint8_t *x = pu_dataset_features(ds, i);
    for (uint32_t j = 0; j < pu_dataset_dim(ds); j++)
        h = (h ^ x[j]) * UINT64_C(1099511628211);
    return (h ^ pu_dataset_label(ds, i)) * UINT64_C(1099511628211);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_mnist_split_deterministic_disjoint(void)
{
    pu_dataset *tr1 = NULL, *te1 = NULL, *tr2 = NULL, *te2 = NULL;
    CU_ASSERT_FATAL(pu_dataset_load_mnist(PU_DATASET_MNIST_DIR, &tr1, &te1) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_load_mnist(PU_DATASET_MNIST_DIR, &tr2, &te2) == PU_OK);
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 a, b;
    CU_ASSERT(pu_dataset_hash(tr1, c, &a) == PU_OK && pu_dataset_hash(tr2, c, &b) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&a, &b));
    CU_ASSERT(pu_dataset_hash(te1, c, &a) == PU_OK && pu_dataset_hash(te2, c, &b) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&a, &b));
    pu_crypto_free(c);
    uint64_t *fp = malloc(10000 * sizeof *fp);
    CU_ASSERT_FATAL(fp != NULL);
    for (uint32_t i = 0; i < 8000; i++)
        fp[i] = digit_fp(tr1, i);
    for (uint32_t i = 0; i < 2000; i++)
        fp[8000 + i] = digit_fp(te1, i);
    qsort(fp, 10000, sizeof *fp, cmp_u64);
    uint32_t repeats = 0;
    for (uint32_t i = 1; i < 10000; i++)
        repeats += fp[i] == fp[i - 1];
    CU_ASSERT_EQUAL(repeats, 0u); /* no digit in both, none twice */
    free(fp);
    pu_dataset_free(tr1);
    pu_dataset_free(te1);
    pu_dataset_free(tr2);
    pu_dataset_free(te2);
}

/* Copy of a converted file with one byte changed (or, with at == SIZE_MAX,
 * the first `keep` bytes only) into the scratch directory. */
static void mnist_copy(const char *name, size_t at, size_t keep)
{
    char src[300], dst[300];
    snprintf(src, sizeof src, "%s/%s", PU_DATASET_MNIST_DIR, name);
    th_path(dst, sizeof dst, name);
    FILE *f = fopen(src, "rb");
    CU_ASSERT_FATAL(f != NULL);
    uint8_t *buf = malloc(8u << 20);
    CU_ASSERT_FATAL(buf != NULL);
    size_t n = fread(buf, 1, 8u << 20, f);
    fclose(f);
    if (at < n)
        buf[at] ^= 1;
    if (keep < n)
        n = keep;
    f = fopen(dst, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
}

static void test_mnist_rejects_altered(void)
{
    pu_dataset *tr = NULL, *te = NULL;
    CU_ASSERT_EQUAL(pu_dataset_load_mnist("/nonexistent", &tr, &te), PU_ERR_IO);
    CU_ASSERT(tr == NULL && te == NULL);
    mnist_copy(PU_DATASET_MNIST_LABELS, SIZE_MAX, SIZE_MAX);
    mnist_copy(PU_DATASET_MNIST_IMAGES, 16 + 7008 * 784 + 7 * 28 + 15, SIZE_MAX); /* one pixel */
    CU_ASSERT_EQUAL(pu_dataset_load_mnist(th_tmpdir(), &tr, &te), PU_ERR_INVALID);
    CU_ASSERT(tr == NULL && te == NULL);
    mnist_copy(PU_DATASET_MNIST_IMAGES, SIZE_MAX, SIZE_MAX);
    CU_ASSERT_EQUAL(pu_dataset_load_mnist(th_tmpdir(), &tr, &te), PU_OK); /* the copy is fine */
    pu_dataset_free(tr);
    pu_dataset_free(te);
    mnist_copy(PU_DATASET_MNIST_LABELS, 8 + 9999, SIZE_MAX); /* the last 9 is now an 8 */
    CU_ASSERT_EQUAL(pu_dataset_load_mnist(th_tmpdir(), &tr, &te), PU_ERR_INVALID);
    mnist_copy(PU_DATASET_MNIST_LABELS, SIZE_MAX, 8 + 5000); /* cut */
    CU_ASSERT_EQUAL(pu_dataset_load_mnist(th_tmpdir(), &tr, &te), PU_ERR_PARSE);
    CU_ASSERT(tr == NULL && te == NULL);
}

static void test_split_stride(void)
{
    pu_dataset *ds = NULL, *tr = NULL, *te = NULL;
    CU_ASSERT_FATAL(pu_dataset_synthetic(5, 6, 3, 0, 17, &ds) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_split_stride(ds, 4, &tr, &te) == PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(tr), 13u);
    CU_ASSERT_EQUAL(pu_dataset_size(te), 4u);
    CU_ASSERT_EQUAL(pu_dataset_dim(te), 6u);
    CU_ASSERT_EQUAL(pu_dataset_classes(tr), 3u);
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < 17; i++) { /* 3, 7, 11, 15 are test; order kept */
        const pu_dataset *side = i % 4 == 3 ? te : tr;
        uint32_t j = i % 4 == 3 ? b++ : a++;
        CU_ASSERT_EQUAL(memcmp(pu_dataset_features(side, j), pu_dataset_features(ds, i), 6), 0);
        CU_ASSERT_EQUAL(pu_dataset_label(side, j), pu_dataset_label(ds, i));
    }
    pu_dataset_free(tr);
    pu_dataset_free(te);
    CU_ASSERT_EQUAL(pu_dataset_split_stride(ds, 1, &tr, &te), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_split_stride(ds, 18, &tr, &te), PU_ERR_RANGE); /* empty test set */
    CU_ASSERT(tr == NULL && te == NULL);
    CU_ASSERT_EQUAL(pu_dataset_split_stride(ds, 17, &tr, &te), PU_OK);
    CU_ASSERT_EQUAL(pu_dataset_size(te), 1u);
    pu_dataset_free(tr);
    pu_dataset_free(te);
    pu_dataset_free(ds);
}

/* ---- synthetic data -------------------------------------------------------------- */

static void test_synthetic(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_dataset *a, *b, *d, *tail;
    CU_ASSERT_FATAL(pu_dataset_synthetic(9, 20, 5, 0, 1000, &a) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_synthetic(9, 20, 5, 0, 1000, &b) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_synthetic(10, 20, 5, 0, 1000, &d) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_synthetic(9, 20, 5, 600, 400, &tail) == PU_OK);
    pu_hash32 ha, hb, hd;
    CU_ASSERT(pu_dataset_hash(a, c, &ha) == PU_OK && pu_dataset_hash(b, c, &hb) == PU_OK);
    CU_ASSERT(pu_dataset_hash(d, c, &hd) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&ha, &hb));
    CU_ASSERT_FALSE(pu_hash_eq(&ha, &hd));
    check_hash(&ha, "e04944a1015021872bb44d5f9a6cde3164c3330ccf7dc5f7f12abb6868ed0527");
    /* the stream property: examples depend on their global index only */
    CU_ASSERT_EQUAL(memcmp(pu_dataset_features(a, 600), pu_dataset_features(tail, 0), 400 * 20), 0);
    CU_ASSERT_EQUAL(pu_dataset_label(tail, 0), 0); /* 600 mod 5 */
    /* labels cycle; features use the whole byte range around class centres */
    uint32_t lo = 255, hi = 0;
    double mean[5][20] = {{0}};
    for (uint32_t i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL(pu_dataset_label(a, i), i % 5);
        for (uint32_t j = 0; j < 20; j++) {
            uint8_t v = pu_dataset_features(a, i)[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            mean[i % 5][j] += v / 200.0;
        }
    }
    CU_ASSERT(lo == 0 && hi == 255);
    double spread = 0; /* class means differ: there is something to learn */
    for (uint32_t j = 0; j < 20; j++)
        spread += (mean[0][j] - mean[1][j]) * (mean[0][j] - mean[1][j]);
    CU_ASSERT(spread > 20 * 100.0);
    pu_dataset_free(b);
    CU_ASSERT_EQUAL(pu_dataset_synthetic(9, 0, 5, 0, 10, &b), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_synthetic(9, 20, 1, 0, 10, &b), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_synthetic(9, 20, 257, 0, 10, &b), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_synthetic(9, 20, 5, 0, 0, &b), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_synthetic(9, 20, 5, UINT32_MAX - 5, 10, &b), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(b);
    pu_dataset_free(a);
    pu_dataset_free(d);
    pu_dataset_free(tail);
    pu_crypto_free(c);
}

/* ---- permutation, batches, batch hash ------------------------------------------- */

static void test_shuffle_bijection(void)
{
    const uint32_t sizes[] = {1, 2, 3, 5, 16, 17, 1000, 4097};
    uint8_t *seen = malloc(4097);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t n = sizes[s];
        for (uint32_t epoch = 0; epoch < 3; epoch++) {
            memset(seen, 0, n);
            uint32_t dup = 0;
            for (uint32_t p = 0; p < n; p++) {
                uint32_t v = pu_dataset_shuffle(n, 1234, epoch, p);
                CU_ASSERT_FATAL(v < n);
                dup += seen[v];
                seen[v] = 1;
            }
            CU_ASSERT_EQUAL(dup, 0u);
        }
    }
    free(seen);
    /* epochs and seeds give different orders; pinned for portability */
    uint32_t same_epoch = 0, same_seed = 0;
    for (uint32_t p = 0; p < 1000; p++) {
        same_epoch += pu_dataset_shuffle(1000, 1, 0, p) == pu_dataset_shuffle(1000, 1, 1, p);
        same_seed += pu_dataset_shuffle(1000, 1, 0, p) == pu_dataset_shuffle(1000, 2, 0, p);
    }
    CU_ASSERT(same_epoch < 10 && same_seed < 10);
    const uint32_t pinned[5] = {27845, 20074, 44093, 33226, 27113};
    for (uint32_t p = 0; p < 5; p++) {
        uint32_t v = pu_dataset_shuffle(60000, 1, 0, p);
        if (v != pinned[p])
            fprintf(stderr, "\n  shuffle(60000, 1, 0, %u) = %u\n", p, v);
        CU_ASSERT_EQUAL(v, pinned[p]);
    }
}

static void test_batches(void)
{
    pu_dataset *ds;
    CU_ASSERT_FATAL(pu_dataset_synthetic(3, 4, 2, 0, 1003, &ds) == PU_OK);
    uint32_t per;
    CU_ASSERT_EQUAL(pu_dataset_iters_per_epoch(1003, 3, 50, &per), PU_OK);
    CU_ASSERT_EQUAL(per, 6u); /* floor(floor(1003 / 3) / 50) */
    CU_ASSERT_EQUAL(pu_dataset_iters_per_epoch(1003, 3, 335, &per), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_iters_per_epoch(1003, 0, 5, &per), PU_ERR_RANGE);
    /* one epoch: all batches of all miners are disjoint */
    uint8_t *seen = calloc(1003, 1);
    uint32_t idx[50], dup = 0, total = 0;
    for (uint32_t m = 0; m < 3; m++)
        for (uint32_t it = 0; it < 6; it++) {
            CU_ASSERT_FATAL(pu_dataset_batch(ds, 8, 2, it, m, 3, 50, idx) == PU_OK);
            for (int j = 0; j < 50; j++) {
                dup += seen[idx[j]];
                seen[idx[j]] = 1;
                total++;
            }
        }
    CU_ASSERT_EQUAL(dup, 0u);
    CU_ASSERT_EQUAL(total, 900u);
    /* the batch is the permutation's segment, deterministic */
    CU_ASSERT_FATAL(pu_dataset_batch(ds, 8, 2, 1, 2, 3, 50, idx) == PU_OK);
    CU_ASSERT_EQUAL(idx[0], pu_dataset_shuffle(1003, 8, 2, 2 * 334 + 50));
    CU_ASSERT_EQUAL(idx[49], pu_dataset_shuffle(1003, 8, 2, 2 * 334 + 99));
    CU_ASSERT_EQUAL(pu_dataset_batch(ds, 8, 2, 6, 0, 3, 50, idx), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_batch(ds, 8, 2, 0, 3, 3, 50, idx), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_dataset_batch(ds, 8, 2, 0, 0, 3, 0, idx), PU_ERR_RANGE);
    free(seen);
    pu_dataset_free(ds);
}

static void test_batch_hash(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_dataset *ds, *other;
    CU_ASSERT_FATAL(pu_dataset_synthetic(3, 4, 2, 0, 100, &ds) == PU_OK);
    CU_ASSERT_FATAL(pu_dataset_synthetic(4, 4, 2, 0, 100, &other) == PU_OK);
    uint32_t idx[3] = {5, 17, 99};
    pu_hash32 h1, h2;
    CU_ASSERT_EQUAL(pu_dataset_batch_hash(ds, c, idx, 3, &h1), PU_OK);
    /* by definition: SHA-256 of (index, features, label) records */
    uint8_t rec[3 * 9];
    for (int j = 0; j < 3; j++) {
        pu_put_be32(rec + 9 * j, idx[j]);
        memcpy(rec + 9 * j + 4, pu_dataset_features(ds, idx[j]), 4);
        rec[9 * j + 8] = pu_dataset_label(ds, idx[j]);
    }
    pu_sha256(c, rec, sizeof rec, &h2);
    CU_ASSERT_TRUE(pu_hash_eq(&h1, &h2));
    CU_ASSERT_EQUAL(pu_dataset_batch_hash(other, c, idx, 3, &h2), PU_OK);
    CU_ASSERT_FALSE(pu_hash_eq(&h1, &h2)); /* same indices, other data */
    uint32_t swapped[3] = {17, 5, 99};
    CU_ASSERT_EQUAL(pu_dataset_batch_hash(ds, c, swapped, 3, &h2), PU_OK);
    CU_ASSERT_FALSE(pu_hash_eq(&h1, &h2));
    idx[2] = 100;
    CU_ASSERT_EQUAL(pu_dataset_batch_hash(ds, c, idx, 3, &h2), PU_ERR_RANGE);
    pu_dataset_free(ds);
    pu_dataset_free(other);
    pu_crypto_free(c);
}

TSUITE(dataset)
{
    CU_pSuite s = CU_add_suite("dataset", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_idx_good_and_gather);
    TADD(s, test_idx_rejects);
    TADD(s, test_fashion_mnist_test_split);
    TADD(s, test_mnist_checksum_and_counts);
    TADD(s, test_mnist_known_digit);
    TADD(s, test_mnist_split_deterministic_disjoint);
    TADD(s, test_mnist_rejects_altered);
    TADD(s, test_split_stride);
    TADD(s, test_synthetic);
    TADD(s, test_shuffle_bijection);
    TADD(s, test_batches);
    TADD(s, test_batch_hash);
    return CUE_SUCCESS;
}

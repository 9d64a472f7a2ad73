/* core/dataset.c -- IDX loading, synthetic generation, batch assignment.
 *
 * Randomness here is integer-only and counter based (every value is a pure
 * function of a seed and its position), so adding a consumer never shifts
 * another's draws, and no libm or platform RNG is involved. */
#include "core/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/mix.h"

#define HDR_LEN 12u /* n, dim, classes: the hashed prefix of the blob */

struct pu_dataset {
    uint32_t n, dim, classes;
    /* One allocation: 12-byte big-endian header || features (n * dim) ||
     * labels (n).  The content hash is then a single SHA-256 over it. */
    uint8_t *blob;
    size_t blob_len;
    const uint8_t *x;
    const uint8_t *y;
};

/* pu_mix64 with distinct odd-multiple offsets is a counter-mode generator. */
#define GOLDEN PU_MIX_GOLDEN
/* Domain tags keep the streams of different purposes apart even when a
 * caller reuses one seed for everything. */
#define TAG_PERM   UINT64_C(0x7065726d75746531) /* "permute1" */
#define TAG_CENTRE UINT64_C(0x63656e7472657331) /* "centres1" */
#define TAG_SAMPLE UINT64_C(0x73616d706c657331) /* "samples1" */

static pu_err ds_alloc(uint32_t n, uint32_t dim, uint32_t classes, pu_dataset **out)
{
    *out = NULL;
    pu_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return PU_ERR_NOMEM;
    ds->blob_len = HDR_LEN + (size_t)n * dim + n;
    ds->blob = malloc(ds->blob_len);
    if (!ds->blob) {
        free(ds);
        return PU_ERR_NOMEM;
    }
    ds->n = n;
    ds->dim = dim;
    ds->classes = classes;
    pu_put_be32(ds->blob, n);
    pu_put_be32(ds->blob + 4, dim);
    pu_put_be32(ds->blob + 8, classes);
    ds->x = ds->blob + HDR_LEN;
    ds->y = ds->x + (size_t)n * dim;
    *out = ds;
    return PU_OK;
}

void pu_dataset_free(pu_dataset *ds)
{
    if (!ds)
        return;
    free(ds->blob);
    free(ds);
}

uint32_t pu_dataset_size(const pu_dataset *ds) { return ds->n; }
uint32_t pu_dataset_dim(const pu_dataset *ds) { return ds->dim; }
uint32_t pu_dataset_classes(const pu_dataset *ds) { return ds->classes; }
size_t pu_dataset_mem(const pu_dataset *ds) { return sizeof *ds + ds->blob_len; }
const uint8_t *pu_dataset_features(const pu_dataset *ds, uint32_t i)
{
    return ds->x + (size_t)i * ds->dim;
}
uint8_t pu_dataset_label(const pu_dataset *ds, uint32_t i) { return ds->y[i]; }

/* ---- IDX files ---------------------------------------------------------- */

/* Read exactly n bytes; a short read means truncation or a corrupt stream. */
static pu_err gz_read_exact(gzFile f, uint8_t *buf, size_t n)
{
    while (n) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, buf, chunk);
        if (got <= 0)
            return PU_ERR_PARSE;
        buf += got;
        n -= (size_t)got;
    }
    return PU_OK;
}

/* Strict: an IDX file whose header promises fewer bytes than it holds is
 * as suspect as a truncated one. */
static pu_err gz_expect_eof(gzFile f)
{
    uint8_t extra;
    return gzread(f, &extra, 1) == 0 ? PU_OK : PU_ERR_PARSE;
}

/* Header: 00 00 08 ndims, then ndims big-endian u32 sizes.  Returns the
 * first dimension (the count) and the product of the others. */
static pu_err idx_header(gzFile f, uint8_t ndims, uint32_t *count, uint32_t *item)
{
    uint8_t h[4 + 4 * 3];
    if (gz_read_exact(f, h, 4 + 4u * ndims) != PU_OK)
        return PU_ERR_PARSE;
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] != ndims)
        return PU_ERR_PARSE;
    uint64_t prod = 1;
    for (uint8_t d = 1; d < ndims; d++) {
        uint32_t v = pu_get_be32(h + 4 + 4 * d);
        if (v == 0)
            return PU_ERR_PARSE;
        prod *= v;
        if (prod > PU_DATASET_MAX_DIM)
            return PU_ERR_PARSE;
    }
    *count = pu_get_be32(h + 4);
    *item = (uint32_t)prod;
    return *count ? PU_OK : PU_ERR_PARSE;
}

static pu_err idx_open(const char *path, gzFile *out)
{
    *out = gzopen(path, "rb");
    if (!*out)
        return PU_ERR_IO;
    gzbuffer(*out, 1u << 17);
    return PU_OK;
}

/* The image file's ndims is 3 (n x rows x cols) or 2 (n x features): peek
 * at byte 3, then rewind and parse the header for that ndims. */
static pu_err idx_read_images(gzFile f, uint32_t *n, uint32_t *dim)
{
    uint8_t peek[4];
    if (gz_read_exact(f, peek, 4) != PU_OK)
        return PU_ERR_PARSE;
    if (peek[3] != 2 && peek[3] != 3)
        return PU_ERR_PARSE;
    if (gzrewind(f) != 0)
        return PU_ERR_IO;
    return idx_header(f, peek[3], n, dim);
}

static pu_err idx_check_labels(const pu_dataset *ds)
{
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= ds->classes)
            return PU_ERR_RANGE;
    return PU_OK;
}

static pu_err idx_load(gzFile fi, gzFile fl, uint32_t classes, pu_dataset **out)
{
    uint32_t n, dim, nl, one;
    pu_err rc = idx_read_images(fi, &n, &dim);
    if (rc == PU_OK)
        rc = idx_header(fl, 1, &nl, &one);
    if (rc == PU_OK && nl != n)
        rc = PU_ERR_PARSE;
    if (rc == PU_OK && (uint64_t)n * dim > PU_DATASET_MAX_BYTES)
        rc = PU_ERR_PARSE;
    if (rc == PU_OK)
        rc = ds_alloc(n, dim, classes, out);
    if (rc != PU_OK)
        return rc;
    pu_dataset *ds = *out;
    rc = gz_read_exact(fi, ds->blob + HDR_LEN, (size_t)n * dim);
    if (rc == PU_OK)
        rc = gz_expect_eof(fi);
    if (rc == PU_OK)
        rc = gz_read_exact(fl, ds->blob + HDR_LEN + (size_t)n * dim, n);
    if (rc == PU_OK)
        rc = gz_expect_eof(fl);
    if (rc == PU_OK)
        rc = idx_check_labels(ds);
    if (rc != PU_OK) {
        pu_dataset_free(ds);
        *out = NULL;
    }
    return rc;
}

pu_err pu_dataset_load_idx(const char *images_path, const char *labels_path, uint32_t classes,
                           pu_dataset **out)
{
    *out = NULL;
    if (classes < 2 || classes > PU_DATASET_MAX_CLASSES)
        return PU_ERR_RANGE;
    gzFile fi = NULL, fl = NULL;
    pu_err rc = idx_open(images_path, &fi);
    if (rc == PU_OK)
        rc = idx_open(labels_path, &fl);
    if (rc == PU_OK)
        rc = idx_load(fi, fl, classes, out);
    if (fi)
        gzclose(fi);
    if (fl)
        gzclose(fl);
    return rc;
}

pu_err pu_dataset_load_fashion_mnist(const char *dir, bool test, pu_dataset **out)
{
    char img[4096], lab[4096];
    const char *pre = test ? "t10k" : "train";
    *out = NULL;
    int a = snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, pre);
    int b = snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, pre);
    if (a < 0 || b < 0 || (size_t)a >= sizeof img || (size_t)b >= sizeof lab)
        return PU_ERR_RANGE;
    pu_err rc = pu_dataset_load_idx(img, lab, 10, out);
    if (rc == PU_OK && ((*out)->dim != 784 || (*out)->n != (test ? 10000u : 60000u))) {
        pu_dataset_free(*out);
        *out = NULL;
        rc = PU_ERR_PARSE;
    }
    return rc;
}

/* ---- MNIST ---------------------------------------------------------------- */

pu_err pu_dataset_split_stride(const pu_dataset *ds, uint32_t stride, pu_dataset **train_out,
                               pu_dataset **test_out)
{
    *train_out = NULL;
    *test_out = NULL;
    uint32_t n_test = stride >= 2 ? ds->n / stride : 0;
    if (n_test == 0 || n_test == ds->n)
        return PU_ERR_RANGE;
    pu_dataset *tr = NULL, *te = NULL;
    pu_err rc = ds_alloc(ds->n - n_test, ds->dim, ds->classes, &tr);
    if (rc == PU_OK)
        rc = ds_alloc(n_test, ds->dim, ds->classes, &te);
    if (rc != PU_OK) {
        pu_dataset_free(tr);
        return rc;
    }
    uint32_t next[2] = {0, 0}; /* rows written to tr, te */
    for (uint32_t i = 0; i < ds->n; i++) {
        int side = i % stride == stride - 1;
        pu_dataset *to = side ? te : tr;
        uint32_t j = next[side]++;
        uint8_t *x = to->blob + HDR_LEN; /* the writable view of to->x */
        memcpy(x + (size_t)j * ds->dim, ds->x + (size_t)i * ds->dim, ds->dim);
        x[(size_t)to->n * ds->dim + j] = ds->y[i];
    }
    *train_out = tr;
    *test_out = te;
    return PU_OK;
}

static pu_err mnist_check(const pu_dataset *all)
{
    if (all->n != PU_DATASET_MNIST_N || all->dim != 784 || all->classes != 10)
        return PU_ERR_PARSE;
    pu_crypto *c = NULL;
    pu_hash32 h;
    char hex[65];
    pu_err rc = pu_crypto_new(&c);
    if (rc == PU_OK)
        rc = pu_dataset_hash(all, c, &h);
    pu_crypto_free(c);
    if (rc != PU_OK)
        return rc;
    pu_hash_hex(&h, hex);
    return strcmp(hex, PU_DATASET_MNIST_SHA256) == 0 ? PU_OK : PU_ERR_INVALID;
}

pu_err pu_dataset_load_mnist(const char *dir, pu_dataset **train_out, pu_dataset **test_out)
{
    char img[4096], lab[4096];
    *train_out = NULL;
    *test_out = NULL;
    int a = snprintf(img, sizeof img, "%s/%s", dir, PU_DATASET_MNIST_IMAGES);
    int b = snprintf(lab, sizeof lab, "%s/%s", dir, PU_DATASET_MNIST_LABELS);
    if (a < 0 || b < 0 || (size_t)a >= sizeof img || (size_t)b >= sizeof lab)
        return PU_ERR_RANGE;
    pu_dataset *all = NULL;
    pu_err rc = pu_dataset_load_idx(img, lab, 10, &all);
    if (rc == PU_OK)
        rc = mnist_check(all);
    if (rc == PU_OK)
        rc = pu_dataset_split_stride(all, 5, train_out, test_out);
    pu_dataset_free(all);
    return rc;
}

/* ---- synthetic data ------------------------------------------------------ */

static void synth_fill(pu_dataset *ds, uint64_t seed, uint32_t first)
{
    const uint64_t ckey = pu_mix64(seed ^ TAG_CENTRE);
    const uint64_t skey = pu_mix64(seed ^ TAG_SAMPLE);
    uint8_t *x = ds->blob + HDR_LEN;
    uint8_t *y = x + (size_t)ds->n * ds->dim;
    for (uint32_t r = 0; r < ds->n; r++) {
        uint64_t i = (uint64_t)first + r;
        uint32_t label = (uint32_t)(i % ds->classes);
        uint64_t ekey = pu_mix64(skey + (i + 1) * GOLDEN);
        for (uint32_t j = 0; j < ds->dim; j++) {
            uint64_t cpos = (uint64_t)label * ds->dim + j + 1;
            int centre = 64 + (int)(pu_mix64(ckey + cpos * GOLDEN) & 127);
            uint64_t w = pu_mix64(ekey ^ ((uint64_t)(j + 1) * GOLDEN));
            int sum = (int)(w & 255) + (int)((w >> 8) & 255) + (int)((w >> 16) & 255)
                      + (int)((w >> 24) & 255);
            int v = centre + (sum - 510) / 4; /* C division truncates: symmetric noise */
            x[(size_t)r * ds->dim + j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
        y[r] = (uint8_t)label;
    }
}

pu_err pu_dataset_synthetic(uint64_t seed, uint32_t dim, uint32_t classes, uint32_t first,
                            uint32_t n, pu_dataset **out)
{
    *out = NULL;
    if (n == 0 || dim == 0 || dim > PU_DATASET_MAX_DIM || classes < 2
        || classes > PU_DATASET_MAX_CLASSES || (uint64_t)first + n > UINT32_MAX
        || (uint64_t)n * dim > PU_DATASET_MAX_BYTES)
        return PU_ERR_RANGE;
    pu_err rc = ds_alloc(n, dim, classes, out);
    if (rc == PU_OK)
        synth_fill(*out, seed, first);
    return rc;
}

/* ---- hashing and gathering ---------------------------------------------- */

pu_err pu_dataset_hash(const pu_dataset *ds, pu_crypto *c, pu_hash32 *out)
{
    pu_sha256(c, ds->blob, ds->blob_len, out);
    return pu_crypto_failed(c) ? PU_ERR_CRYPTO : PU_OK;
}

pu_err pu_dataset_gather(const pu_dataset *ds, const uint32_t *idx, uint32_t n, double *x_out,
                         uint8_t *y_out)
{
    for (uint32_t j = 0; j < n; j++) {
        if (idx[j] >= ds->n)
            return PU_ERR_RANGE;
        const uint8_t *row = ds->x + (size_t)idx[j] * ds->dim;
        double *dst = x_out + (size_t)j * ds->dim;
        for (uint32_t k = 0; k < ds->dim; k++)
            dst[k] = (double)row[k] / 255.0;
        if (y_out)
            y_out[j] = ds->y[idx[j]];
    }
    return PU_OK;
}

pu_err pu_dataset_batch_hash(const pu_dataset *ds, pu_crypto *c, const uint32_t *idx, uint32_t n,
                             pu_hash32 *out)
{
    size_t rec = 4 + (size_t)ds->dim + 1;
    uint8_t *buf = malloc(n ? rec * n : 1);
    if (!buf)
        return PU_ERR_NOMEM;
    pu_err rc = PU_OK;
    for (uint32_t j = 0; j < n && rc == PU_OK; j++) {
        if (idx[j] >= ds->n) {
            rc = PU_ERR_RANGE;
            break;
        }
        uint8_t *p = buf + rec * j;
        pu_put_be32(p, idx[j]);
        memcpy(p + 4, ds->x + (size_t)idx[j] * ds->dim, ds->dim);
        p[4 + ds->dim] = ds->y[idx[j]];
    }
    if (rc == PU_OK) {
        pu_sha256(c, buf, rec * n, out);
        if (pu_crypto_failed(c))
            rc = PU_ERR_CRYPTO;
    }
    free(buf);
    return rc;
}

/* ---- permutation and batches --------------------------------------------- */

#define FEISTEL_ROUNDS 6

/* A balanced Feistel network on 2*half bits is a bijection for any round
 * function; six rounds of a 64-bit mixer are plenty for shuffling data (this
 * is not a cipher: nobody gains by predicting a batch, the seed is public).
 * Cycle walking restricts it to [0, n): re-encrypt until the value falls in
 * range.  The domain is < 4n, so the expected number of walks is < 4. */
uint32_t pu_dataset_shuffle(uint32_t n, uint64_t task_seed, uint32_t epoch, uint32_t pos)
{
    unsigned bits = 2;
    while (bits < 32 && (UINT64_C(1) << bits) < n)
        bits += 2;
    const unsigned half = bits / 2;
    const uint64_t mask = (UINT64_C(1) << half) - 1;
    const uint64_t ekey = pu_mix64(pu_mix64(task_seed ^ TAG_PERM) + ((uint64_t)epoch + 1) * GOLDEN);
    uint64_t v = pos;
    do {
        uint64_t l = v >> half, r = v & mask;
        for (unsigned k = 0; k < FEISTEL_ROUNDS; k++) {
            uint64_t f = pu_mix64(ekey + (uint64_t)(k + 1) * GOLDEN + r) & mask;
            uint64_t t = r;
            r = l ^ f;
            l = t;
        }
        v = (l << half) | r;
    } while (v >= n);
    return (uint32_t)v;
}

pu_err pu_dataset_iters_per_epoch(uint32_t n, uint32_t n_miners, uint32_t batch, uint32_t *out)
{
    *out = 0;
    if (n == 0 || n_miners == 0 || batch == 0)
        return PU_ERR_RANGE;
    uint32_t per = (n / n_miners) / batch;
    if (per == 0)
        return PU_ERR_RANGE;
    *out = per;
    return PU_OK;
}

pu_err pu_dataset_batch(const pu_dataset *ds, uint64_t task_seed, uint32_t epoch,
                        uint32_t iteration, uint32_t miner, uint32_t n_miners, uint32_t batch,
                        uint32_t *idx_out)
{
    uint32_t per;
    pu_err rc = pu_dataset_iters_per_epoch(ds->n, n_miners, batch, &per);
    if (rc != PU_OK)
        return rc;
    if (miner >= n_miners || iteration >= per)
        return PU_ERR_RANGE;
    uint32_t seg = ds->n / n_miners;
    uint32_t base = miner * seg + iteration * batch; /* < n: no overflow */
    for (uint32_t j = 0; j < batch; j++)
        idx_out[j] = pu_dataset_shuffle(ds->n, task_seed, epoch, base + j);
    return PU_OK;
}

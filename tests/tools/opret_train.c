/* tests/tools/opret_train.c -- trains the OP_RETURN zstd dictionary and writes
 * core/opret_dict.c.
 *
 *   opret_train [--explore] [OUT.c]     (run from the repository root;
 *                                        OUT.c defaults to core/opret_dict.c)
 *
 * Training payloads are the canonical encodings of pu_opret_sample(TRAIN_SEED,
 * op, i) for every op code; candidates are judged by the real codec
 * (pu_opret_codec_new_custom) on payloads drawn from VALIDATION_SEED, and the
 * candidate with the fewest total compressed bytes wins (ties: the smaller
 * dictionary).  --explore also prints a wider grid (algorithms, segment sizes,
 * levels) without writing anything; the fixed choices below came from it.
 * Everything is a function of the seeds and libzstd, so two runs write the
 * same file (no dates, no host names). */
#define ZDICT_STATIC_LINKING_ONLY /* the cover trainer and its parameters */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

#include "core/opret.h"

#define TRAIN_SEED      UINT64_C(0x7452414e)  /* "tRAN" */
#define VALIDATION_SEED UINT64_C(0x76414c49)  /* "vALI" */
#define TRAIN_PER_OP    4000u
#define VALID_PER_OP    1000u
/* From --explore (libzstd 1.5.4, 8000 validation payloads, level 19): the
 * exact cover trainer with k=256 d=8 was within 0.2 % of the best of 100
 * combinations (cover/fastCover, k 32..512, d 6/8, 2-32 KiB); level 19
 * beats level 3 by 7 % and equals level 22; 64 KiB gained a further 0.8 %
 * for twice the source size, so the size sweep stops at 32 KiB. */
#define COVER_K         256u
#define MAX_DICT        32768u
#define COVER_D         8u

typedef struct corpus {
    uint8_t *data;   /* concatenated canonical payloads */
    size_t *sizes;
    size_t n;
    size_t bytes;
} corpus;

static int corpus_build(uint64_t seed, uint32_t per_op, corpus *c)
{
    c->n = (size_t)per_op * PU_OPRET_OP_COUNT;
    c->data = malloc(c->n * PU_OPRET_RAW_MAX);
    c->sizes = malloc(c->n * sizeof *c->sizes);
    c->bytes = 0;
    if (!c->data || !c->sizes)
        return -1;
    /* Interleaved (i-th sample of every op code in turn) so that no op code
     * sits only in the trainer's held-out tail. */
    for (uint32_t i = 0; i < per_op; i++)
        for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
            pu_opret_msg m;
            size_t len;
            size_t k = (size_t)i * PU_OPRET_OP_COUNT + (op - 1u);
            if (pu_opret_sample(seed, op, i, &m) != PU_OK
                || pu_opret_payload_encode(&m, c->data + c->bytes, &len) != PU_OK)
                return -1;
            c->sizes[k] = len;
            c->bytes += len;
        }
    return 0;
}

static void corpus_free(corpus *c)
{
    free(c->data);
    free(c->sizes);
}

/* Total payload data bytes (compressed or stored) over the validation
 * messages, also per op code; -1 on a failure
 * (a message that does not fit counts as failure: the dictionary must make
 * every representative message fit). */
static long evaluate(const uint8_t *dict, size_t dict_len, int level, long per_op_out[PU_OPRET_OP_COUNT + 1])
{
    pu_opret_codec *codec;
    if (pu_opret_codec_new_custom(dict, dict_len, level, &codec) != PU_OK)
        return -1;
    long total = 0;
    memset(per_op_out, 0, sizeof(long) * (PU_OPRET_OP_COUNT + 1));
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++)
        for (uint32_t i = 0; i < VALID_PER_OP; i++) {
            pu_opret_msg m;
            uint8_t rec[PU_OPRET_SIZE];
            if (pu_opret_sample(VALIDATION_SEED, op, i, &m) != PU_OK
                || pu_opret_encode(codec, &m, rec) != PU_OK) {
                pu_opret_codec_free(codec);
                return -1;
            }
            per_op_out[op] += rec[PU_OPRET_OFF_PAYLOAD] & 0x7f;
            total += rec[PU_OPRET_OFF_PAYLOAD] & 0x7f;
        }
    pu_opret_codec_free(codec);
    return total;
}

typedef enum algo { ALGO_COVER, ALGO_FASTCOVER, ALGO_LEGACY } algo;

static size_t train(const corpus *c, algo a, size_t cap, unsigned k, unsigned d, int level, uint8_t *out)
{
    ZDICT_params_t zp = {level, 0, 0}; /* dictID 0: derived from the content */
    unsigned ns = (unsigned)c->n;
    if (a == ALGO_COVER) {
        ZDICT_cover_params_t p;
        memset(&p, 0, sizeof p);
        p.k = k;
        p.d = d;
        p.zParams = zp;
        return ZDICT_trainFromBuffer_cover(out, cap, c->data, c->sizes, ns, p);
    }
    if (a == ALGO_FASTCOVER) {
        ZDICT_fastCover_params_t p;
        memset(&p, 0, sizeof p);
        p.k = k;
        p.d = d;
        p.zParams = zp;
        return ZDICT_trainFromBuffer_fastCover(out, cap, c->data, c->sizes, ns, p);
    }
    ZDICT_legacy_params_t p;
    memset(&p, 0, sizeof p);
    p.zParams = zp;
    return ZDICT_trainFromBuffer_legacy(out, cap, c->data, c->sizes, ns, p);
}

static double mean(long total, unsigned n) { return (double)total / n; }

static void explore(const corpus *tr)
{
    static const size_t sizes[] = {2048, 4096, 8192, 16384, 32768};
    static const unsigned ks[] = {32, 64, 128, 256, 512};
    static const int levels[] = {3, 19};
    static const char *const names[] = {"cover", "fastcover", "legacy"};
    uint8_t *dict = malloc(MAX_DICT);
    long per[PU_OPRET_OP_COUNT + 1];
    if (!dict)
        return;
    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++)
        printf("no dictionary, level %2d: %.3f bytes\n", levels[li],
               mean(evaluate(NULL, 0, levels[li], per), VALID_PER_OP * PU_OPRET_OP_COUNT));
    for (int a = ALGO_COVER; a <= ALGO_FASTCOVER; a++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
            for (size_t ki = 0; ki < (a == ALGO_LEGACY ? 1u : sizeof ks / sizeof ks[0]); ki++)
                for (unsigned d = 6; d <= 8; d += 2) {
                    if (a == ALGO_LEGACY && d == 8)
                        continue;
                    size_t n = train(tr, (algo)a, sizes[si], ks[ki], d, PU_OPRET_ZSTD_LEVEL, dict);
                    if (ZDICT_isError(n)) {
                        printf("%-9s size %5zu k %3u d %u: %s\n", names[a], sizes[si], ks[ki], d,
                               ZDICT_getErrorName(n));
                        continue;
                    }
                    printf("%-9s size %5zu k %3u d %u:", names[a], sizes[si], ks[ki], d);
                    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++)
                        printf("  L%d %.3f", levels[li],
                               mean(evaluate(dict, n, levels[li], per), VALID_PER_OP * PU_OPRET_OP_COUNT));
                    printf("\n");
                    fflush(stdout);
                }
    free(dict);
}

static int write_dict(const char *path, const uint8_t *dict, size_t n, const char *table)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f,
            "/* core/opret_dict.c -- GENERATED by tests/tools/opret_train.c: do not edit.\n"
            " *\n"
            " * The zstd dictionary of OP_RETURN format version %u (core/opret.h).  Regenerate,\n"
            " * from the repository root:\n"
            " *   make build/tools/opret_train && ./build/tools/opret_train core/opret_dict.c\n"
            " * A new dictionary is a new record format: set PU_OPRET_DICT_ID in core/opret.h\n"
            " * to the id below and bump PU_OPRET_VERSION (old records need the old one).\n"
            " *\n"
            " * libzstd %s, cover trainer k=%u d=%u, level %d; %u canonical payloads per op\n"
            " * code from seed 0x%llx; size chosen by the mean compressed payload (data bytes\n"
            " * after the header byte) over %u payloads per op code from seed 0x%llx:\n"
            "%s"
            " */\n"
            "#include \"core/opret.h\"\n\n"
            "const uint8_t pu_opret_dict[%zu] = {\n",
            PU_OPRET_VERSION, ZSTD_versionString(), COVER_K, COVER_D, PU_OPRET_ZSTD_LEVEL,
            TRAIN_PER_OP, (unsigned long long)TRAIN_SEED, VALID_PER_OP,
            (unsigned long long)VALIDATION_SEED, table, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s0x%02x,%s", i % 12 == 0 ? "    " : " ", dict[i],
                (i % 12 == 11 || i + 1 == n) ? "\n" : "");
    fprintf(f, "};\nconst size_t pu_opret_dict_len = %zu;\nconst uint32_t pu_opret_dict_id = 0x%08xu;\n",
            n, ZDICT_getDictID(dict, n));
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* Train one dictionary per size, keep the one with the fewest validation
 * bytes in best (ties: the smaller, which comes first).  Appends the
 * measurements to table (a C comment body).  Returns the chosen size, 0 if
 * none could be trained. */
static size_t sweep(const corpus *tr, uint8_t *best, uint8_t *scratch, char *table, size_t cap)
{
    static const size_t sizes[] = {1024, 2048, 4096, 8192, 16384, 32768};
    long per[PU_OPRET_OP_COUNT + 1], best_total = -1;
    size_t best_n = 0, tl = 0;
    long base = evaluate(NULL, 0, PU_OPRET_ZSTD_LEVEL, per);
    tl += (size_t)snprintf(table + tl, cap - tl, " *   no dictionary  %7.3f bytes\n",
                           mean(base, VALID_PER_OP * PU_OPRET_OP_COUNT));
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = train(tr, ALGO_COVER, sizes[si], COVER_K, COVER_D, PU_OPRET_ZSTD_LEVEL, scratch);
        if (ZDICT_isError(n)) {
            fprintf(stderr, "opret_train: size %zu: %s\n", sizes[si], ZDICT_getErrorName(n));
            continue;
        }
        long total = evaluate(scratch, n, PU_OPRET_ZSTD_LEVEL, per);
        tl += (size_t)snprintf(table + tl, cap - tl, " *   %5zu bytes     %7.3f bytes\n", n,
                               mean(total, VALID_PER_OP * PU_OPRET_OP_COUNT));
        if (total >= 0 && (best_total < 0 || total < best_total)) {
            best_total = total;
            best_n = n;
            memcpy(best, scratch, n);
        }
    }
    return best_n;
}

int main(int argc, char **argv)
{
    const char *out_path = "core/opret_dict.c";
    int do_explore = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--explore") == 0)
            do_explore = 1;
        else
            out_path = argv[i];
    }
    corpus tr;
    if (corpus_build(TRAIN_SEED, TRAIN_PER_OP, &tr) != 0) {
        fprintf(stderr, "opret_train: cannot build the training corpus\n");
        corpus_free(&tr);
        return 1;
    }
    printf("training corpus: %zu payloads, %zu bytes (mean %.1f)\n", tr.n, tr.bytes,
           (double)tr.bytes / (double)tr.n);
    if (do_explore) {
        explore(&tr);
        corpus_free(&tr);
        return 0;
    }
    uint8_t *best = malloc(MAX_DICT), *scratch = malloc(MAX_DICT);
    char table[2048] = "";
    size_t n = best && scratch ? sweep(&tr, best, scratch, table, sizeof table) : 0;
    printf("%s", table);
    int rc = 1;
    if (n == 0)
        fprintf(stderr, "opret_train: no dictionary trained\n");
    else if (write_dict(out_path, best, n, table) != 0)
        perror(out_path);
    else {
        printf("wrote %s: %zu bytes, dictionary id 0x%08x (set PU_OPRET_DICT_ID in core/opret.h)\n",
               out_path, n, ZDICT_getDictID(best, n));
        rc = 0;
    }
    free(best);
    free(scratch);
    corpus_free(&tr);
    return rc;
}

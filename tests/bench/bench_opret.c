/* tests/bench/bench_opret.c -- what the OP_RETURN dictionary buys, per op code,
 * and how fast records encode and decode.
 *
 * Sizes are measured on pu_opret_sample(BENCH_SEED, op, i), a seed the
 * dictionary was neither trained nor validated on.  Columns:
 *   raw     canonical payload (fixed-width big-endian, what gets compressed)
 *   dict    data bytes with the shipped dictionary (compressed block, or the
 *           payload stored when zstd cannot shorten it); the record spends
 *           one more byte on the payload header
 *   stored  share of records whose payload zstd could not shorten
 *   no-dict the same block format at the same level without a dictionary
 *   frame   a plain zstd frame (ZSTD_compress, level 19: magic, header,
 *           content size), i.e. what a naive codec would store
 *   json    the payload fields as compact JSON, the seed's representation
 * Reductions are 1 - size/raw (and 1 - (1 + dict)/json against JSON).  The
 * seed claims a 70-90 % reduction for ML data payloads. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "core/opret.h"

#define BENCH_SEED UINT64_C(0xbe7c)
#define PER_OP     10000u

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int hex8(char *o, size_t cap, const uint8_t *h)
{
    return snprintf(o, cap, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2], h[3], h[4], h[5],
                    h[6], h[7]);
}

/* Compact JSON of the payload fields, keys as in opret.h. */
static size_t json_len(const pu_opret_msg *m)
{
    char b[1024], h1[24], h2[24];
    int n = 0;
    switch (m->op) {
    case PU_OPRET_TASK_SUBMISSION: {
        const pu_opret_task_submission *t = &m->task;
        char layers[128];
        int k = snprintf(layers, sizeof layers, "[");
        for (uint32_t i = 0; i < t->n_layers; i++)
            k += snprintf(layers + k, sizeof layers - (size_t)k, "%s%u", i ? "," : "", t->layers[i]);
        snprintf(layers + k, sizeof layers - (size_t)k, "]");
        n = snprintf(b, sizeof b,
                     "{\"fee\":%lld,\"min_stake\":%lld,\"min_accuracy_ppm\":%u,\"max_iterations\":%u,"
                     "\"batch_size\":%u,\"learning_rate_ppm\":%u,\"required_miners\":%u,"
                     "\"registration_blocks\":%u,\"activation\":%u,\"layers\":%s,\"dataset_size\":%u,"
                     "\"dataset_name\":\"%s\"}",
                     (long long)t->fee, (long long)t->min_stake, t->min_accuracy_ppm, t->max_iterations,
                     t->batch_size, t->learning_rate_ppm, t->required_miners, t->registration_blocks,
                     t->activation, layers, t->dataset_size, t->dataset_name);
        break;
    }
    case PU_OPRET_TASK_RESULT: {
        const pu_opret_task_result *r = &m->result;
        hex8(h1, sizeof h1, r->model_hash);
        n = snprintf(b, sizeof b, "{\"model_hash\":%s,\"test_samples\":%u,\"iterations_run\":%u,\"ranked\":[",
                     h1, r->test_samples, r->iterations_run);
        for (uint32_t i = 0; i < r->n_ranked; i++)
            n += snprintf(b + n, sizeof b - (size_t)n, "%s{\"miner_index\":%u,\"accuracy_ppm\":%u}",
                          i ? "," : "", r->ranked[i].miner_index, r->ranked[i].accuracy_ppm);
        n += snprintf(b + n, sizeof b - (size_t)n, "]}");
        break;
    }
    case PU_OPRET_WORKER_REGISTRATION:
        n = snprintf(b, sizeof b,
                     "{\"role\":%u,\"stake\":%lld,\"min_task_fee\":%lld,\"throughput_sps\":%u,\"max_params\":%u}",
                     m->reg.role, (long long)m->reg.stake, (long long)m->reg.min_task_fee,
                     m->reg.throughput_sps, m->reg.max_params);
        break;
    case PU_OPRET_CONSENSUS_VOTE:
        hex8(h1, sizeof h1, m->vote.subject_hash);
        n = snprintf(b, sizeof b,
                     "{\"epoch\":%u,\"iteration\":%u,\"subject\":%u,\"subject_hash\":%s,\"vote\":%u,\"reason\":%u}",
                     m->vote.epoch, m->vote.iteration, m->vote.subject, h1, m->vote.vote, m->vote.reason);
        break;
    case PU_OPRET_GRADIENT_SHARE:
        hex8(h1, sizeof h1, m->grad.update_hash);
        n = snprintf(b, sizeof b,
                     "{\"epoch\":%u,\"iteration\":%u,\"update_hash\":%s,\"update_size\":%u,\"n_entries\":%u,"
                     "\"tau_micro\":%u,\"train_loss_micro\":%u,\"train_accuracy_ppm\":%u}",
                     m->grad.epoch, m->grad.iteration, h1, m->grad.update_size, m->grad.n_entries,
                     m->grad.tau_micro, m->grad.train_loss_micro, m->grad.train_accuracy_ppm);
        break;
    case PU_OPRET_VERIFICATION_PROOF:
        hex8(h1, sizeof h1, m->proof.block_hash);
        hex8(h2, sizeof h2, m->proof.end_model_hash);
        n = snprintf(b, sizeof b,
                     "{\"height\":%u,\"block_hash\":%s,\"outcome\":%u,\"iteration\":%u,\"end_model_hash\":%s,"
                     "\"reexec_us\":%u}",
                     m->proof.height, h1, m->proof.outcome, m->proof.iteration, h2, m->proof.reexec_us);
        break;
    case PU_OPRET_ECONOMIC_EVENT:
        n = snprintf(b, sizeof b,
                     "{\"kind\":%u,\"total\":%lld,\"to_miners\":%lld,\"to_supervisors\":%lld,"
                     "\"to_evaluators\":%lld,\"slashed\":%lld,\"n_miners\":%u,\"n_supervisors\":%u,"
                     "\"n_evaluators\":%u,\"n_slashed\":%u}",
                     m->econ.kind, (long long)m->econ.total, (long long)m->econ.to_miners,
                     (long long)m->econ.to_supervisors, (long long)m->econ.to_evaluators,
                     (long long)m->econ.slashed, m->econ.n_miners, m->econ.n_supervisors,
                     m->econ.n_evaluators, m->econ.n_slashed);
        break;
    default:
        hex8(h1, sizeof h1, m->net.tip_hash);
        n = snprintf(b, sizeof b,
                     "{\"height\":%u,\"tip_hash\":%s,\"peers\":%u,\"mempool_txs\":%u,\"mempool_bytes\":%u,"
                     "\"active_tasks\":%u}",
                     m->net.height, h1, m->net.peers, m->net.mempool_txs, m->net.mempool_bytes,
                     m->net.active_tasks);
        break;
    }
    return n > 0 ? (size_t)n : 0;
}

typedef struct tally {
    double raw, dict, plain, frame, json;
    unsigned stored, max_dict;
} tally;

static double pct(double part, double whole) { return 100.0 * (1.0 - part / whole); }

static void print_row(const char *name, const tally *t, double n)
{
    printf("%-20s %6.1f %6.1f %5.1f%% %6.1f%%  %6.1f %6.1f%%  %6.1f %6.1f%%  %6.1f %6.1f%%  %3u\n", name,
           t->raw / n, t->dict / n, 100.0 * t->stored / n, pct(t->dict, t->raw), t->plain / n,
           pct(t->plain, t->raw), t->frame / n, pct(t->frame, t->raw), t->json / n,
           pct(t->dict + n, t->json), t->max_dict);
}

static int measure_sizes(pu_opret_codec *dict, pu_opret_codec *plain)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    tally all = {0};
    printf("%-20s %6s %6s %6s %7s  %6s %7s  %6s %7s  %6s %7s  %3s\n", "op code", "raw", "dict", "stored",
           "reduct", "nodict", "reduct", "frame", "reduct", "json", "vs json", "max");
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        tally t = {0};
        for (uint32_t i = 0; i < PER_OP; i++) {
            pu_opret_msg m;
            uint8_t raw[PU_OPRET_RAW_MAX], rec[PU_OPRET_SIZE], fr[256];
            size_t n;
            if (pu_opret_sample(BENCH_SEED, op, i, &m) != PU_OK || pu_opret_payload_encode(&m, raw, &n) != PU_OK
                || pu_opret_encode(dict, &m, rec) != PU_OK)
                return -1;
            unsigned d = rec[PU_OPRET_OFF_PAYLOAD] & 0x7fu;
            t.raw += (double)n;
            t.dict += d;
            t.stored += !(rec[PU_OPRET_OFF_PAYLOAD] & PU_OPRET_COMPRESSED);
            t.max_dict = d > t.max_dict ? d : t.max_dict;
            if (pu_opret_encode(plain, &m, rec) != PU_OK)
                return -1;
            t.plain += rec[PU_OPRET_OFF_PAYLOAD] & 0x7fu;
            size_t f = ZSTD_compressCCtx(z, fr, sizeof fr, raw, n, PU_OPRET_ZSTD_LEVEL);
            if (ZSTD_isError(f))
                return -1;
            t.frame += (double)f;
            t.json += (double)json_len(&m);
        }
        print_row(pu_opret_op_name(op), &t, PER_OP);
        all.raw += t.raw;
        all.dict += t.dict;
        all.stored += t.stored;
        all.plain += t.plain;
        all.frame += t.frame;
        all.json += t.json;
        all.max_dict = t.max_dict > all.max_dict ? t.max_dict : all.max_dict;
    }
    print_row("all", &all, PER_OP * PU_OPRET_OP_COUNT);
    ZSTD_freeCCtx(z);
    return 0;
}

/* Encodes and decodes per second, per op code, with the shipped dictionary. */
static int measure_speed(pu_opret_codec *c)
{
    static pu_opret_msg msgs[PER_OP];
    static uint8_t recs[PER_OP][PU_OPRET_SIZE];
    printf("\n%-20s %12s %12s\n", "op code", "encodes/s", "decodes/s");
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        for (uint32_t i = 0; i < PER_OP; i++)
            if (pu_opret_sample(BENCH_SEED, op, i, &msgs[i]) != PU_OK)
                return -1;
        double t0 = now_s();
        for (uint32_t i = 0; i < PER_OP; i++)
            if (pu_opret_encode(c, &msgs[i], recs[i]) != PU_OK)
                return -1;
        double t1 = now_s();
        for (uint32_t i = 0; i < PER_OP; i++) {
            pu_opret_msg back;
            pu_opret_status st;
            if (pu_opret_decode(c, recs[i], PU_OPRET_SIZE, &back, &st) != PU_OK
                || back.timestamp != msgs[i].timestamp)
                return -1;
        }
        double t2 = now_s();
        printf("%-20s %12.0f %12.0f\n", pu_opret_op_name(op), PER_OP / (t1 - t0), PER_OP / (t2 - t1));
    }
    return 0;
}

int main(void)
{
    pu_opret_codec *dict = NULL, *plain = NULL;
    if (pu_opret_codec_new(&dict) != PU_OK
        || pu_opret_codec_new_custom(NULL, 0, PU_OPRET_ZSTD_LEVEL, &plain) != PU_OK) {
        fprintf(stderr, "bench_opret: cannot create codecs\n");
        return 1;
    }
    printf("OP_RETURN payloads: libzstd %s, level %d, dictionary %zu bytes (id 0x%08x), "
           "%u samples per op code, seed 0x%llx\n\n",
           ZSTD_versionString(), PU_OPRET_ZSTD_LEVEL, pu_opret_dict_len, pu_opret_dict_id, PER_OP,
           (unsigned long long)BENCH_SEED);
    int rc = measure_sizes(dict, plain);
    if (rc == 0)
        rc = measure_speed(dict);
    if (rc != 0)
        fprintf(stderr, "bench_opret: encode or decode failed\n");
    pu_opret_codec_free(dict);
    pu_opret_codec_free(plain);
    return rc == 0 ? 0 : 1;
}

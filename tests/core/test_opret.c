/* tests/core/test_opret.c -- the 160-byte OP_RETURN codec: round trips of every
 * op code, one crafted input per rejection reason, bit flips, oversize
 * payloads, determinism, known answers, and the shipped dictionary's ratio on
 * payloads drawn from a seed it was not trained on. */
#define ZSTD_STATIC_LINKING_ONLY /* block API and magicless frames, to craft inputs */
#define ZSTD_DISABLE_DEPRECATE_WARNINGS
#include <string.h>
#include <zstd.h>

#include "core/bytes.h"
#include "core/opret.h"
#include "tests/harness.h"

/* Neither the training seed (0x7452414e) nor the validation seed
 * (0x76414c49) of tests/tools/opret_train. */
#define TEST_SEED UINT64_C(0x7e57)

static pu_opret_codec *new_codec(void)
{
    pu_opret_codec *c = NULL;
    CU_ASSERT_FATAL(pu_opret_codec_new(&c) == PU_OK);
    return c;
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    CU_ASSERT_FATAL(strlen(hex) == 2 * n);
    CU_ASSERT_FATAL(pu_hex_decode(hex, out, n) == PU_OK);
}

/* A record built by hand from the layout in opret.h, independent of the
 * encoder: header fields, payload header byte, data, CRC. */
static void seal(uint8_t rec[PU_OPRET_SIZE], uint8_t version, uint8_t op, uint8_t hdr,
                 const uint8_t *data, size_t dlen)
{
    memset(rec, 0, PU_OPRET_SIZE);
    rec[0] = version;
    rec[1] = op;
    pu_put_be32(rec + 2, 1234);
    for (int i = 0; i < 20; i++)
        rec[6 + i] = (uint8_t)(0x40 + i);
    for (int i = 0; i < 32; i++)
        rec[26 + i] = (uint8_t)(0x80 + i);
    rec[58] = hdr;
    memcpy(rec + 59, data, dlen);
    pu_put_be32(rec + 156, pu_crc32(rec, 156));
}

static void reseal_crc(uint8_t rec[PU_OPRET_SIZE]) { pu_put_be32(rec + 156, pu_crc32(rec, 156)); }

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static pu_opret_status decode_status(pu_opret_codec *c, const uint8_t *rec, size_t len)
{
    pu_opret_msg m;
    memset(&m, 0xee, sizeof m);
    pu_opret_status st = PU_OPRET_OK;
    pu_err rc = pu_opret_decode(c, rec, len, &m, &st);
    CU_ASSERT_EQUAL(rc, st == PU_OPRET_OK ? PU_OK : PU_ERR_PARSE);
    if (st != PU_OPRET_OK) /* a rejected decode leaves nothing behind */
        CU_ASSERT_TRUE(all_zero(&m, sizeof m));
    return st;
}

/* ---- field-by-field equality, written out so that a decoder that drops or
 * swaps a field fails here even if the canonical encodings agree ---- */

static void expect_task_eq(const pu_opret_task_submission *a, const pu_opret_task_submission *b)
{
    CU_ASSERT_EQUAL(a->fee, b->fee);
    CU_ASSERT_EQUAL(a->min_stake, b->min_stake);
    CU_ASSERT_EQUAL(a->min_accuracy_ppm, b->min_accuracy_ppm);
    CU_ASSERT_EQUAL(a->max_iterations, b->max_iterations);
    CU_ASSERT_EQUAL(a->batch_size, b->batch_size);
    CU_ASSERT_EQUAL(a->learning_rate_ppm, b->learning_rate_ppm);
    CU_ASSERT_EQUAL(a->required_miners, b->required_miners);
    CU_ASSERT_EQUAL(a->registration_blocks, b->registration_blocks);
    CU_ASSERT_EQUAL(a->activation, b->activation);
    CU_ASSERT_EQUAL_FATAL(a->n_layers, b->n_layers);
    for (uint32_t i = 0; i < a->n_layers; i++)
        CU_ASSERT_EQUAL(a->layers[i], b->layers[i]);
    CU_ASSERT_EQUAL(a->dataset_size, b->dataset_size);
    CU_ASSERT_STRING_EQUAL(a->dataset_name, b->dataset_name);
}

static void expect_result_eq(const pu_opret_task_result *a, const pu_opret_task_result *b)
{
    CU_ASSERT_EQUAL(memcmp(a->model_hash, b->model_hash, PU_OPRET_PREFIX), 0);
    CU_ASSERT_EQUAL(a->test_samples, b->test_samples);
    CU_ASSERT_EQUAL(a->iterations_run, b->iterations_run);
    CU_ASSERT_EQUAL_FATAL(a->n_ranked, b->n_ranked);
    for (uint32_t i = 0; i < a->n_ranked; i++) {
        CU_ASSERT_EQUAL(a->ranked[i].miner_index, b->ranked[i].miner_index);
        CU_ASSERT_EQUAL(a->ranked[i].accuracy_ppm, b->ranked[i].accuracy_ppm);
    }
}

static void expect_small_eq(const pu_opret_msg *a, const pu_opret_msg *b)
{
    switch (a->op) {
    case PU_OPRET_WORKER_REGISTRATION:
        CU_ASSERT_EQUAL(a->reg.role, b->reg.role);
        CU_ASSERT_EQUAL(a->reg.stake, b->reg.stake);
        CU_ASSERT_EQUAL(a->reg.min_task_fee, b->reg.min_task_fee);
        CU_ASSERT_EQUAL(a->reg.throughput_sps, b->reg.throughput_sps);
        CU_ASSERT_EQUAL(a->reg.max_params, b->reg.max_params);
        break;
    case PU_OPRET_CONSENSUS_VOTE:
        CU_ASSERT_EQUAL(a->vote.epoch, b->vote.epoch);
        CU_ASSERT_EQUAL(a->vote.iteration, b->vote.iteration);
        CU_ASSERT_EQUAL(a->vote.subject, b->vote.subject);
        CU_ASSERT_EQUAL(memcmp(a->vote.subject_hash, b->vote.subject_hash, PU_OPRET_PREFIX), 0);
        CU_ASSERT_EQUAL(a->vote.vote, b->vote.vote);
        CU_ASSERT_EQUAL(a->vote.reason, b->vote.reason);
        break;
    case PU_OPRET_GRADIENT_SHARE:
        CU_ASSERT_EQUAL(a->grad.epoch, b->grad.epoch);
        CU_ASSERT_EQUAL(a->grad.iteration, b->grad.iteration);
        CU_ASSERT_EQUAL(memcmp(a->grad.update_hash, b->grad.update_hash, PU_OPRET_PREFIX), 0);
        CU_ASSERT_EQUAL(a->grad.update_size, b->grad.update_size);
        CU_ASSERT_EQUAL(a->grad.n_entries, b->grad.n_entries);
        CU_ASSERT_EQUAL(a->grad.tau_micro, b->grad.tau_micro);
        CU_ASSERT_EQUAL(a->grad.train_loss_micro, b->grad.train_loss_micro);
        CU_ASSERT_EQUAL(a->grad.train_accuracy_ppm, b->grad.train_accuracy_ppm);
        break;
    case PU_OPRET_VERIFICATION_PROOF:
        CU_ASSERT_EQUAL(a->proof.height, b->proof.height);
        CU_ASSERT_EQUAL(memcmp(a->proof.block_hash, b->proof.block_hash, PU_OPRET_PREFIX), 0);
        CU_ASSERT_EQUAL(a->proof.outcome, b->proof.outcome);
        CU_ASSERT_EQUAL(a->proof.iteration, b->proof.iteration);
        CU_ASSERT_EQUAL(memcmp(a->proof.end_model_hash, b->proof.end_model_hash, PU_OPRET_PREFIX), 0);
        CU_ASSERT_EQUAL(a->proof.reexec_us, b->proof.reexec_us);
        break;
    case PU_OPRET_ECONOMIC_EVENT:
        CU_ASSERT_EQUAL(a->econ.kind, b->econ.kind);
        CU_ASSERT_EQUAL(a->econ.total, b->econ.total);
        CU_ASSERT_EQUAL(a->econ.to_miners, b->econ.to_miners);
        CU_ASSERT_EQUAL(a->econ.to_supervisors, b->econ.to_supervisors);
        CU_ASSERT_EQUAL(a->econ.to_evaluators, b->econ.to_evaluators);
        CU_ASSERT_EQUAL(a->econ.slashed, b->econ.slashed);
        CU_ASSERT_EQUAL(a->econ.n_miners, b->econ.n_miners);
        CU_ASSERT_EQUAL(a->econ.n_supervisors, b->econ.n_supervisors);
        CU_ASSERT_EQUAL(a->econ.n_evaluators, b->econ.n_evaluators);
        CU_ASSERT_EQUAL(a->econ.n_slashed, b->econ.n_slashed);
        break;
    case PU_OPRET_NETWORK_STATE:
        CU_ASSERT_EQUAL(a->net.height, b->net.height);
        CU_ASSERT_EQUAL(memcmp(a->net.tip_hash, b->net.tip_hash, PU_OPRET_PREFIX), 0);
        CU_ASSERT_EQUAL(a->net.peers, b->net.peers);
        CU_ASSERT_EQUAL(a->net.mempool_txs, b->net.mempool_txs);
        CU_ASSERT_EQUAL(a->net.mempool_bytes, b->net.mempool_bytes);
        CU_ASSERT_EQUAL(a->net.active_tasks, b->net.active_tasks);
        break;
    default:
        CU_FAIL("unexpected op code");
    }
}

static void expect_msg_eq(const pu_opret_msg *a, const pu_opret_msg *b)
{
    CU_ASSERT_EQUAL_FATAL(a->op, b->op);
    CU_ASSERT_EQUAL(a->timestamp, b->timestamp);
    CU_ASSERT_EQUAL(memcmp(a->node_id_hash, b->node_id_hash, 20), 0);
    CU_ASSERT_TRUE(pu_hash_eq(&a->task_id_hash, &b->task_id_hash));
    if (a->op == PU_OPRET_TASK_SUBMISSION)
        expect_task_eq(&a->task, &b->task);
    else if (a->op == PU_OPRET_TASK_RESULT)
        expect_result_eq(&a->result, &b->result);
    else
        expect_small_eq(a, b);
    CU_ASSERT_TRUE(pu_opret_msg_eq(a, b));
}

/* Encode, check the envelope byte by byte, decode, compare every field. */
static void round_trip(pu_opret_codec *c, const pu_opret_msg *m)
{
    uint8_t rec[PU_OPRET_SIZE];
    CU_ASSERT_EQUAL_FATAL(pu_opret_encode(c, m, rec), PU_OK);
    CU_ASSERT_EQUAL(rec[0], 1);
    CU_ASSERT_EQUAL(rec[1], m->op);
    CU_ASSERT_EQUAL(pu_get_be32(rec + 2), m->timestamp);
    CU_ASSERT_EQUAL(memcmp(rec + 6, m->node_id_hash, 20), 0);
    CU_ASSERT_EQUAL(memcmp(rec + 26, m->task_id_hash.b, 32), 0);
    CU_ASSERT_EQUAL(pu_get_be32(rec + 156), pu_crc32(rec, 156));
    uint8_t raw[PU_OPRET_RAW_MAX];
    size_t raw_len, dlen = rec[58] & 0x7f;
    CU_ASSERT_FATAL(pu_opret_payload_encode(m, raw, &raw_len) == PU_OK);
    CU_ASSERT(dlen >= 1 && dlen <= 97);
    CU_ASSERT(dlen <= raw_len); /* never worse than storing */
    if (!(rec[58] & PU_OPRET_COMPRESSED)) {
        CU_ASSERT_EQUAL(dlen, raw_len);
        CU_ASSERT_EQUAL(memcmp(rec + 59, raw, raw_len), 0);
    }
    for (size_t i = 59 + dlen; i < 156; i++)
        CU_ASSERT_EQUAL(rec[i], 0);
    pu_opret_msg back;
    pu_opret_status st;
    CU_ASSERT_EQUAL_FATAL(pu_opret_decode(c, rec, sizeof rec, &back, &st), PU_OK);
    CU_ASSERT_EQUAL(st, PU_OPRET_OK);
    expect_msg_eq(m, &back);
}

static void test_round_trip_samples(void)
{
    pu_opret_codec *c = new_codec();
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++)
        for (uint64_t i = 0; i < 250; i++) {
            pu_opret_msg m;
            CU_ASSERT_EQUAL_FATAL(pu_opret_sample(TEST_SEED, op, i, &m), PU_OK);
            CU_ASSERT_EQUAL(m.op, op);
            round_trip(c, &m);
        }
    pu_opret_codec_free(c);
}

static void fill_header(pu_opret_msg *m, pu_opret_op op)
{
    pu_opret_msg_init(m, op);
    m->timestamp = 0xfffffffeu;
    memset(m->node_id_hash, 0x5a, 20);
    memset(m->task_id_hash.b, 0xa5, 32);
}

/* Hand-made messages at the edges of every domain. */
static void test_round_trip_edges(void)
{
    pu_opret_codec *c = new_codec();
    pu_opret_msg m;
    fill_header(&m, PU_OPRET_TASK_SUBMISSION);
    m.task = (pu_opret_task_submission){PU_MAX_MONEY, 0, PU_OPRET_PPM, UINT32_MAX, 1, 0, 5, 144,
                                        PU_OPRET_ACT_TANH, 8, {784, 512, 256, 128, 64, 32, 16, 10},
                                        UINT32_MAX, "abcdefghijklmnopqrstuvwxyz 0~!@#"};
    CU_ASSERT_EQUAL(strlen(m.task.dataset_name), PU_OPRET_MAX_NAME);
    round_trip(c, &m); /* raw 117 bytes: fits only because it compresses */
    /* Here and below, multi-byte fields get values whose bytes are all
     * nonzero and distinct, so a decoder that drops or reorders bytes fails. */
    m.task = (pu_opret_task_submission){0x0007060504030201LL, 0x0001020304050607LL, 0x000f4240u, 0x10203040u,
                                        0x50607080u, 0x0a0b0c0du, 0x01020304u, 0x05060708u, PU_OPRET_ACT_SIGMOID, 2,
                                        {0x11223344u, 0x55667788u}, 0x90a0b0c0u, "x"};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_TASK_RESULT);
    m.result.n_ranked = 0;
    round_trip(c, &m);
    m.result = (pu_opret_task_result){{1, 2, 3, 4, 5, 6, 7, 8}, 0x89abcdefu, 0xfedcba98u, PU_OPRET_MAX_RANKED, {{0}}};
    for (uint32_t i = 0; i < PU_OPRET_MAX_RANKED; i++)
        m.result.ranked[i] = (pu_opret_rank){(uint8_t)(255 - i), 0x000f4240u - 0x10101u * i};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_WORKER_REGISTRATION);
    m.reg = (pu_opret_worker_registration){PU_OPRET_ROLE_VERIFIER, PU_MAX_MONEY, 0x0123456789abcdLL, 0x13579bdfu, 0x2468ace0u};
    memset(m.task_id_hash.b, 0, 32); /* "any task" */
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_CONSENSUS_VOTE);
    m.vote = (pu_opret_consensus_vote){0x11223344u, 0x55667788u, PU_OPRET_SUBJ_MISCONDUCT,
                                       {9, 8, 7, 6, 5, 4, 3, 2}, PU_OPRET_VOTE_ABSTAIN, 255};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_GRADIENT_SHARE);
    m.grad = (pu_opret_gradient_share){0xa1b2c3d4u, 0xe5f60718u, {0xff, 1, 0xfe, 2, 0xfd, 3, 0xfc, 4}, 0x293a4b5cu,
                                       0x6d7e8f90u, 0x12345678u, 0x9abcdef0u, 0x000f4240u};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_VERIFICATION_PROOF);
    m.proof = (pu_opret_verification_proof){0xc0ffee11u, {0xff, 0xee}, PU_OPRET_VERIFY_BAD_REEXEC, 0x31415926u,
                                            {1, 2, 3, 4, 5, 6, 7, 8}, 0x27182818u};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_ECONOMIC_EVENT);
    m.econ = (pu_opret_economic_event){PU_OPRET_ECON_REFUND, PU_MAX_MONEY, 0x000123456789abcdLL, 0x0001122334455667LL,
                                       0x0006766554433221LL, 0x00010203040506LL, 0x01020304u, 0x05060708u,
                                       0x090a0b0cu, 0x0d0e0f10u};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_NETWORK_STATE);
    m.net = (pu_opret_network_state){0x01020304u, {8, 7, 6, 5, 4, 3, 2, 1}, 0x05060708u, 0x090a0b0cu,
                                     0x0d0e0f10u, 0x11121314u};
    round_trip(c, &m);

    fill_header(&m, PU_OPRET_NETWORK_STATE);
    memset(m.task_id_hash.b, 0, 32);
    round_trip(c, &m); /* all-zero payload */
    pu_opret_codec_free(c);
}

/* The seed's example task.  The bytes are pinned: any change to the layout,
 * the dictionary or the compressor's output (a libzstd upgrade) shows here.
 * Decoding the pinned bytes, which does not depend on the compressor, must
 * keep working whatever happens to encoding. */
static void kat_task(pu_crypto *cr, pu_opret_msg *m)
{
    pu_opret_msg_init(m, PU_OPRET_TASK_SUBMISSION);
    m->timestamp = 86400;
    for (int i = 0; i < 20; i++)
        m->node_id_hash[i] = (uint8_t)i;
    pu_hash32 task_id;
    memset(task_id.b, 0xaa, 32);
    pu_opret_task_id_hash(cr, &task_id, &m->task_id_hash);
    m->task = (pu_opret_task_submission){50 * PU_COIN, PU_COIN, 850000, 100, 64, 10000, 3, 12,
                                         PU_OPRET_ACT_RELU, 4, {784, 128, 64, 10}, 60000, "fashion-mnist"};
}

static const char kat_task_hex[] =
    "010100015180000102030405060708090a0b0c0d0e0f10111213e0e77a507412b120f6ede61f6229"
    "5b1a7b2ff19d3dcc8f7253e51663470c888e8f080003fccc233006fa34dd2c607913000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000acc5db1a";

static void test_known_answer_compressed(void)
{
    pu_crypto *cr;
    CU_ASSERT_FATAL(pu_crypto_new(&cr) == PU_OK);
    pu_opret_codec *c = new_codec();
    pu_opret_msg m, back;
    kat_task(cr, &m);
    uint8_t rec[PU_OPRET_SIZE], want[PU_OPRET_SIZE];
    hex_to(kat_task_hex, want, sizeof want);
    CU_ASSERT_EQUAL_FATAL(pu_opret_encode(c, &m, rec), PU_OK);
    CU_ASSERT_EQUAL(rec[58], PU_OPRET_COMPRESSED | 15); /* 82 canonical bytes in 15 */
    CU_ASSERT_EQUAL(memcmp(rec, want, sizeof rec), 0);
    pu_opret_status st;
    CU_ASSERT_EQUAL_FATAL(pu_opret_decode(c, want, sizeof want, &back, &st), PU_OK);
    expect_msg_eq(&m, &back);
    pu_opret_codec_free(c);
    pu_crypto_free(cr);
}

/* A payload zstd cannot shorten is stored as is, so this record follows from
 * the layout alone; the expected bytes (CRC included) were computed with
 * Python's hashlib and zlib, not with this code. */
static void test_known_answer_stored(void)
{
    static const char want_hex[] =
        "010400015180000102030405060708090a0b0c0d0e0f10111213e0e77a507412b120f6ede61f6229"
        "5b1a7b2ff19d3dcc8f7253e51663470c888e1300000002000001a102010203040506070802030000"
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000000000000000000000000000e2bd0f9b";
    pu_crypto *cr;
    CU_ASSERT_FATAL(pu_crypto_new(&cr) == PU_OK);
    pu_opret_codec *c = new_codec();
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_CONSENSUS_VOTE);
    m.timestamp = 86400;
    for (int i = 0; i < 20; i++)
        m.node_id_hash[i] = (uint8_t)i;
    pu_hash32 task_id;
    memset(task_id.b, 0xaa, 32);
    pu_opret_task_id_hash(cr, &task_id, &m.task_id_hash);
    m.vote = (pu_opret_consensus_vote){2, 417, PU_OPRET_SUBJ_BLOCK, {1, 2, 3, 4, 5, 6, 7, 8},
                                       PU_OPRET_VOTE_NO, 3};
    uint8_t rec[PU_OPRET_SIZE], want[PU_OPRET_SIZE];
    hex_to(want_hex, want, sizeof want);
    CU_ASSERT_EQUAL_FATAL(pu_opret_encode(c, &m, rec), PU_OK);
    CU_ASSERT_EQUAL(memcmp(rec, want, sizeof rec), 0);
    pu_opret_codec_free(c);
    pu_crypto_free(cr);
}

static void test_helpers(void)
{
    pu_crypto *cr;
    CU_ASSERT_FATAL(pu_crypto_new(&cr) == PU_OK);
    pu_hash32 zero = {{0}}, h;
    pu_opret_task_id_hash(cr, &zero, &h);
    char hex[65];
    pu_hash_hex(&h, hex);
    CU_ASSERT_STRING_EQUAL(hex, "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
    uint8_t seed[32] = {7};
    pu_keypair k;
    CU_ASSERT_FATAL(pu_key_from_seed(cr, seed, &k) == PU_OK);
    uint8_t id[20], want[20];
    pu_opret_node_id_hash(cr, k.pub, id);
    pu_sha1(cr, k.pub, 33, want);
    CU_ASSERT_EQUAL(memcmp(id, want, 20), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(id, k.addr.b, 20), 0); /* SHA-1, not the address */
    pu_crypto_free(cr);
}

/* ---- rejections, one crafted input per reason ---- */

static void sample_record(pu_opret_codec *c, uint8_t op, uint8_t rec[PU_OPRET_SIZE])
{
    pu_opret_msg m;
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, 3, &m) == PU_OK);
    CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
}

static void test_reject_length(void)
{
    pu_opret_codec *c = new_codec();
    uint8_t rec[PU_OPRET_SIZE + 1];
    sample_record(c, PU_OPRET_TASK_SUBMISSION, rec);
    rec[PU_OPRET_SIZE] = 0;
    CU_ASSERT_EQUAL(decode_status(c, rec, PU_OPRET_SIZE), PU_OPRET_OK);
    CU_ASSERT_EQUAL(decode_status(c, rec, PU_OPRET_SIZE - 1), PU_OPRET_E_LENGTH);
    CU_ASSERT_EQUAL(decode_status(c, rec, PU_OPRET_SIZE + 1), PU_OPRET_E_LENGTH);
    CU_ASSERT_EQUAL(decode_status(c, rec, 0), PU_OPRET_E_LENGTH);
    CU_ASSERT_EQUAL(decode_status(c, rec, 80), PU_OPRET_E_LENGTH);
    pu_opret_codec_free(c);
}

/* CRC-32 detects every single-bit error: flip each of the 1280 bits. */
static void test_reject_bit_flips(void)
{
    pu_opret_codec *c = new_codec();
    for (uint8_t op = PU_OPRET_TASK_SUBMISSION; op <= PU_OPRET_CONSENSUS_VOTE; op += 3) {
        uint8_t rec[PU_OPRET_SIZE];
        sample_record(c, op, rec); /* op 1 compressed, op 4 stored */
        unsigned crc_errors = 0;
        for (size_t bit = 0; bit < 8 * PU_OPRET_SIZE; bit++) {
            rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            crc_errors += decode_status(c, rec, sizeof rec) == PU_OPRET_E_CRC;
            rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        CU_ASSERT_EQUAL(crc_errors, 8 * PU_OPRET_SIZE);
        CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    }
    pu_opret_codec_free(c);
}

static void test_reject_version_and_opcode(void)
{
    pu_opret_codec *c = new_codec();
    uint8_t rec[PU_OPRET_SIZE];
    static const uint8_t bad_versions[] = {0, 2, 255};
    for (size_t i = 0; i < sizeof bad_versions; i++) {
        sample_record(c, PU_OPRET_ECONOMIC_EVENT, rec);
        rec[0] = bad_versions[i];
        reseal_crc(rec);
        CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_VERSION);
    }
    static const uint8_t bad_ops[] = {0, 9, 255};
    for (size_t i = 0; i < sizeof bad_ops; i++) {
        sample_record(c, PU_OPRET_ECONOMIC_EVENT, rec);
        rec[1] = bad_ops[i];
        reseal_crc(rec);
        CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_OPCODE);
    }
    pu_opret_codec_free(c);
}

static void test_reject_payload_len_and_padding(void)
{
    pu_opret_codec *c = new_codec();
    uint8_t rec[PU_OPRET_SIZE];
    static const uint8_t bad_hdr[] = {0x00, 0x80, 98, 0x7f, 0x80 | 98, 0xff};
    for (size_t i = 0; i < sizeof bad_hdr; i++) {
        sample_record(c, PU_OPRET_NETWORK_STATE, rec);
        rec[58] = bad_hdr[i];
        reseal_crc(rec);
        CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_HEADER);
    }
    /* 97 stored bytes of which the tail is zero: the length is legal and
     * nothing is padding, so the typed parser finds trailing bytes. */
    sample_record(c, PU_OPRET_CONSENSUS_VOTE, rec); /* 19 random-ish bytes: always stored */
    CU_ASSERT_FATAL((rec[58] & 0x80) == 0);
    rec[58] = 97;
    reseal_crc(rec);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRAILING);

    static const size_t pad_at[] = {0, 50, 96}; /* offsets from the first padding byte */
    for (uint8_t op = PU_OPRET_TASK_SUBMISSION; op <= PU_OPRET_CONSENSUS_VOTE; op += 3)
        for (size_t i = 0; i < 3; i++) {
            sample_record(c, op, rec);
            size_t first = 59 + (rec[58] & 0x7fu);
            if (first + pad_at[i] >= 156)
                continue;
            rec[first + pad_at[i]] = 1;
            reseal_crc(rec);
            CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_PADDING);
        }
    pu_opret_codec_free(c);
}

static void test_reject_decompress(void)
{
    pu_opret_codec *c = new_codec();
    uint8_t rec[PU_OPRET_SIZE];
    /* Literals section header: raw literals (type 0), 1-byte size form,
     * 20 literals; only one byte follows. */
    static const uint8_t short_literals[] = {20 << 3, 0};
    seal(rec, 1, PU_OPRET_CONSENSUS_VOTE, PU_OPRET_COMPRESSED | 2, short_literals, 2);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_DECOMPRESS);
    /* 19 raw literals, then a sequences section announcing 5 sequences with
     * predefined tables and no bitstream at all. */
    uint8_t seqs[22] = {19 << 3};
    seqs[20] = 5;
    seqs[21] = 0x00;
    seal(rec, 1, PU_OPRET_CONSENSUS_VOTE, PU_OPRET_COMPRESSED | 22, seqs, 22);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_DECOMPRESS);
    /* A stored payload with the compressed bit set. */
    sample_record(c, PU_OPRET_CONSENSUS_VOTE, rec);
    CU_ASSERT_FATAL((rec[58] & 0x80) == 0);
    rec[58] |= 0x80;
    reseal_crc(rec);
    CU_ASSERT_NOT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    pu_opret_codec_free(c);
}

static void test_reject_overrun(void)
{
    pu_opret_codec *c = new_codec();
    uint8_t rec[PU_OPRET_SIZE];
    /* RLE literals (type 1), 2-byte size form, 300 copies of 0x00, no
     * sequences: a 4-byte block that expands past PU_OPRET_RAW_MAX. */
    static const uint8_t rle300[] = {0x01 | 0x04 | (300 & 15) << 4, 300 >> 4, 0x00, 0x00};
    seal(rec, 1, PU_OPRET_NETWORK_STATE, PU_OPRET_COMPRESSED | 4, rle300, 4);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_OVERRUN);
    /* The same form with 28 copies is exactly an all-zero NETWORK_STATE. */
    static const uint8_t rle28[] = {0x01 | 0x04 | (28 & 15) << 4, 28 >> 4, 0x00, 0x00};
    seal(rec, 1, PU_OPRET_NETWORK_STATE, PU_OPRET_COMPRESSED | 4, rle28, 4);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    /* 161 bytes: one more than the decoder takes. */
    static const uint8_t rle161[] = {0x01 | 0x04 | (161 & 15) << 4, 161 >> 4, 0x00, 0x00};
    seal(rec, 1, PU_OPRET_NETWORK_STATE, PU_OPRET_COMPRESSED | 4, rle161, 4);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_OVERRUN);
    pu_opret_codec_free(c);
}

/* A raw payload compressed with the shipped dictionary by zstd directly, so a
 * malformed typed payload can travel in a valid compressed block. */
static size_t compress_block(const uint8_t *raw, size_t n, uint8_t out[PU_OPRET_DATA_MAX])
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    CU_ASSERT_FATAL(z != NULL);
    CU_ASSERT_FATAL(!ZSTD_isError(ZSTD_compressBegin_usingDict(z, pu_opret_dict, pu_opret_dict_len, 19)));
    size_t len = ZSTD_compressBlock(z, out, PU_OPRET_DATA_MAX, raw, n);
    ZSTD_freeCCtx(z);
    CU_ASSERT_FATAL(!ZSTD_isError(len) && len > 0);
    return len;
}

static void test_reject_typed_payload(void)
{
    pu_opret_codec *c = new_codec();
    pu_opret_msg m;
    uint8_t raw[PU_OPRET_RAW_MAX + 1], rec[PU_OPRET_SIZE], blk[PU_OPRET_DATA_MAX];
    size_t n;
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_ECONOMIC_EVENT, 1, &m) == PU_OK);
    CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &n) == PU_OK);
    CU_ASSERT_EQUAL_FATAL(n, 57);
    /* stored: truncated by one byte, by all but one, and one byte too long */
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)(n - 1), raw, n - 1);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRUNCATED);
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, 1, raw, 1);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRUNCATED);
    raw[n] = 0x01;
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)(n + 1), raw, n + 1);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRAILING);
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)n, raw, n);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    /* the same inside compressed blocks */
    size_t b = compress_block(raw, n + 1, blk);
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)(PU_OPRET_COMPRESSED | b), blk, b);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRAILING);
    b = compress_block(raw, n - 8, blk);
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)(PU_OPRET_COMPRESSED | b), blk, b);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_E_TRUNCATED);
    b = compress_block(raw, n, blk);
    seal(rec, 1, PU_OPRET_ECONOMIC_EVENT, (uint8_t)(PU_OPRET_COMPRESSED | b), blk, b);
    CU_ASSERT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    /* the payload of another op code */
    seal(rec, 1, PU_OPRET_TASK_RESULT, (uint8_t)(PU_OPRET_COMPRESSED | b), blk, b);
    CU_ASSERT_NOT_EQUAL(decode_status(c, rec, sizeof rec), PU_OPRET_OK);
    pu_opret_codec_free(c);
}

/* Decode a stored payload after patching one byte of it. */
static pu_opret_status patched(pu_opret_codec *c, uint8_t op, uint64_t idx, size_t at, uint8_t v)
{
    pu_opret_msg m;
    uint8_t raw[PU_OPRET_RAW_MAX], rec[PU_OPRET_SIZE];
    size_t n;
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, idx, &m) == PU_OK);
    CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &n) == PU_OK);
    CU_ASSERT_FATAL(at < n && n <= PU_OPRET_DATA_MAX);
    raw[at] = v;
    seal(rec, 1, op, (uint8_t)n, raw, n);
    return decode_status(c, rec, sizeof rec);
}

static void test_reject_fields(void)
{
    pu_opret_codec *c = new_codec();
    /* WORKER_REGISTRATION: role at 0; stake i64 at 1 (sign bit) */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_WORKER_REGISTRATION, 0, 0, 0), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_WORKER_REGISTRATION, 0, 0, 5), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_WORKER_REGISTRATION, 0, 0, 4), PU_OPRET_OK);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_WORKER_REGISTRATION, 0, 1, 0x80), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_WORKER_REGISTRATION, 0, 1, 0x01), PU_OPRET_E_FIELD); /* > max money */
    /* CONSENSUS_VOTE: subject at 8, vote at 17, reason at 18; take a yes vote */
    uint64_t yes = 0;
    pu_opret_msg m;
    do {
        CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_CONSENSUS_VOTE, ++yes, &m) == PU_OK);
    } while (m.vote.vote != PU_OPRET_VOTE_YES);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 8, 0), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 8, 5), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 17, 4), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 17, PU_OPRET_VOTE_NO), PU_OPRET_E_FIELD); /* no reason */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 18, 1), PU_OPRET_E_FIELD); /* yes with a reason */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_CONSENSUS_VOTE, yes, 18, 0), PU_OPRET_OK);
    /* GRADIENT_SHARE: accuracy ppm in the last 4 bytes */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_GRADIENT_SHARE, 0, 32, 0xff), PU_OPRET_E_FIELD);
    /* VERIFICATION_PROOF: outcome at 12 */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_VERIFICATION_PROOF, 0, 12, 0), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_VERIFICATION_PROOF, 0, 12, 5), PU_OPRET_E_FIELD);
    /* TASK_RESULT: n_ranked u32 at 16..19 */
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_TASK_RESULT, 0, 19, 9), PU_OPRET_E_FIELD);
    CU_ASSERT_EQUAL(patched(c, PU_OPRET_TASK_RESULT, 0, 16, 1), PU_OPRET_E_FIELD);
    pu_opret_codec_free(c);
}

/* TASK_SUBMISSION payloads are long, so build them by hand and store them
 * uncompressed when short enough, compressed otherwise. */
static pu_opret_status task_status(pu_opret_codec *c, const pu_opret_task_submission *t, size_t patch_at,
                                   uint8_t v)
{
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_TASK_SUBMISSION);
    m.task = *t;
    uint8_t raw[PU_OPRET_RAW_MAX], rec[PU_OPRET_SIZE], blk[PU_OPRET_DATA_MAX];
    size_t n;
    CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &n) == PU_OK);
    if (patch_at < n)
        raw[patch_at] = v;
    size_t b = compress_block(raw, n, blk);
    seal(rec, 1, PU_OPRET_TASK_SUBMISSION, (uint8_t)(PU_OPRET_COMPRESSED | b), blk, b);
    return decode_status(c, rec, sizeof rec);
}

static void test_reject_task_fields(void)
{
    pu_opret_codec *c = new_codec();
    const pu_opret_task_submission t = {10 * PU_COIN, PU_COIN, 850000, 100, 64, 10000, 3, 12,
                                        PU_OPRET_ACT_RELU, 3, {784, 100, 10}, 60000, "mnist"};
    /* offsets: fee 0, min_stake 8, min_acc 16, activation 40, n_layers 41,
     * layers 45.., dataset_size 57, name_len 61, name 65.. */
    CU_ASSERT_EQUAL(task_status(c, &t, 999, 0), PU_OPRET_OK);
    CU_ASSERT_EQUAL(task_status(c, &t, 0, 0x80), PU_OPRET_E_FIELD);   /* negative fee */
    CU_ASSERT_EQUAL(task_status(c, &t, 16, 0x10), PU_OPRET_E_FIELD);  /* accuracy > 1e6 */
    CU_ASSERT_EQUAL(task_status(c, &t, 40, 0), PU_OPRET_E_FIELD);     /* activation 0 */
    CU_ASSERT_EQUAL(task_status(c, &t, 40, 4), PU_OPRET_E_FIELD);     /* activation 4 */
    CU_ASSERT_EQUAL(task_status(c, &t, 44, 9), PU_OPRET_E_FIELD);     /* 9 layers */
    CU_ASSERT_EQUAL(task_status(c, &t, 44, 1), PU_OPRET_E_FIELD);     /* 1 layer (and trailing) */
    CU_ASSERT_EQUAL(task_status(c, &t, 43, 1), PU_OPRET_E_FIELD);     /* 65539 layers */
    CU_ASSERT_EQUAL(task_status(c, &t, 56, 0), PU_OPRET_E_FIELD);     /* output layer 10 -> 0 */
    CU_ASSERT_EQUAL(task_status(c, &t, 64, 33), PU_OPRET_E_FIELD);    /* name_len 33 */
    CU_ASSERT_EQUAL(task_status(c, &t, 64, 0), PU_OPRET_E_TRAILING);  /* name_len 0, name left over */
    CU_ASSERT_EQUAL(task_status(c, &t, 64, 6), PU_OPRET_E_TRUNCATED); /* name_len 6 of 5 */
    CU_ASSERT_EQUAL(task_status(c, &t, 66, 0), PU_OPRET_E_FIELD);     /* embedded NUL */
    CU_ASSERT_EQUAL(task_status(c, &t, 66, 0x7f), PU_OPRET_E_FIELD);  /* DEL */
    CU_ASSERT_EQUAL(task_status(c, &t, 66, 0xc3), PU_OPRET_E_FIELD);  /* not ASCII */
    pu_opret_codec_free(c);
}

static void expect_encode_range(pu_opret_codec *c, const pu_opret_msg *m)
{
    uint8_t rec[PU_OPRET_SIZE];
    memset(rec, 0xee, sizeof rec);
    CU_ASSERT_EQUAL(pu_opret_encode(c, m, rec), PU_ERR_RANGE);
    CU_ASSERT_TRUE(all_zero(rec, sizeof rec));
}

static void test_encode_rejects_invalid(void)
{
    pu_opret_codec *c = new_codec();
    pu_opret_msg m;
    pu_opret_msg_init(&m, PU_OPRET_NETWORK_STATE);
    m.op = 0;
    expect_encode_range(c, &m);
    m.op = 9;
    expect_encode_range(c, &m);
    CU_ASSERT_EQUAL(pu_opret_sample(1, 9, 0, &m), PU_ERR_RANGE);
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_WORKER_REGISTRATION, 0, &m) == PU_OK);
    m.reg.role = 0;
    expect_encode_range(c, &m);
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_WORKER_REGISTRATION, 0, &m) == PU_OK);
    m.reg.stake = -1;
    expect_encode_range(c, &m);
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_TASK_SUBMISSION, 0, &m) == PU_OK);
    m.task.n_layers = 1;
    expect_encode_range(c, &m);
    m.task.n_layers = 9;
    expect_encode_range(c, &m);
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_TASK_SUBMISSION, 0, &m) == PU_OK);
    m.task.dataset_name[0] = 0;
    expect_encode_range(c, &m);
    memset(m.task.dataset_name, 'a', sizeof m.task.dataset_name); /* unterminated */
    expect_encode_range(c, &m);
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_CONSENSUS_VOTE, 0, &m) == PU_OK);
    m.vote.vote = PU_OPRET_VOTE_YES;
    m.vote.reason = 2;
    expect_encode_range(c, &m);
    pu_opret_codec_free(c);
}

/* xorshift64: the test's own bytes with no structure for zstd to find. */
static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_oversize_is_range(void)
{
    pu_opret_codec *c = new_codec();
    pu_opret_msg m;
    uint64_t s = 88172645463325252u;
    unsigned too_big = 0;
    for (int trial = 0; trial < 20; trial++) {
        pu_opret_msg_init(&m, PU_OPRET_TASK_SUBMISSION);
        pu_opret_task_submission *t = &m.task;
        t->fee = (pu_amount)(xs(&s) % (uint64_t)PU_MAX_MONEY);
        t->min_stake = (pu_amount)(xs(&s) % (uint64_t)PU_MAX_MONEY);
        t->min_accuracy_ppm = (uint32_t)(xs(&s) % PU_OPRET_PPM);
        t->max_iterations = (uint32_t)xs(&s);
        t->batch_size = (uint32_t)xs(&s);
        t->learning_rate_ppm = (uint32_t)xs(&s);
        t->required_miners = (uint32_t)xs(&s);
        t->registration_blocks = (uint32_t)xs(&s);
        t->activation = PU_OPRET_ACT_RELU;
        t->n_layers = PU_OPRET_MAX_LAYERS;
        for (int i = 0; i < 8; i++)
            t->layers[i] = (uint32_t)xs(&s) | 1u;
        t->dataset_size = (uint32_t)xs(&s);
        for (int i = 0; i < 32; i++)
            t->dataset_name[i] = (char)(0x21 + xs(&s) % 94);
        uint8_t raw[PU_OPRET_RAW_MAX];
        size_t n;
        CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &n) == PU_OK);
        CU_ASSERT_EQUAL(n, 117);
        uint8_t rec[PU_OPRET_SIZE];
        pu_err rc = pu_opret_encode(c, &m, rec);
        CU_ASSERT(rc == PU_OK || rc == PU_ERR_RANGE);
        if (rc == PU_ERR_RANGE) {
            CU_ASSERT_TRUE(all_zero(rec, sizeof rec));
            too_big++;
        } else {
            round_trip(c, &m);
        }
    }
    /* ~100 bytes of entropy cannot fit in 97 */
    CU_ASSERT_EQUAL(too_big, 20);
    pu_opret_codec_free(c);
}

/* Random damage behind a valid CRC (what a hostile writer can produce):
 * the decoder must answer with a status, never crash or read out of bounds
 * (this suite also runs under ASan/UBSan), and whatever it accepts must be a
 * valid message that survives a round trip. */
static void test_mutated_records(void)
{
    pu_opret_codec *c = new_codec();
    uint64_t s = 0x9e3779b97f4a7c15u;
    unsigned accepted = 0, total = 0;
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++)
        for (uint64_t i = 0; i < 150; i++) {
            pu_opret_msg m, back;
            uint8_t rec[PU_OPRET_SIZE];
            CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, 500 + i, &m) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
            size_t dlen = rec[58] & 0x7fu;
            unsigned flips = 1 + (unsigned)(xs(&s) % 3);
            for (unsigned k = 0; k < flips; k++) /* mostly inside the data */
                rec[58 + xs(&s) % (k == 0 ? dlen + 1 : 98)] ^= (uint8_t)(1 + xs(&s) % 255);
            reseal_crc(rec);
            pu_opret_status st;
            pu_err rc = pu_opret_decode(c, rec, sizeof rec, &back, &st);
            CU_ASSERT(rc == PU_OK || rc == PU_ERR_PARSE);
            CU_ASSERT_EQUAL(rc == PU_OK, st == PU_OPRET_OK);
            total++;
            if (rc != PU_OK)
                continue;
            accepted++;
            uint8_t raw[PU_OPRET_RAW_MAX], again[PU_OPRET_SIZE];
            size_t n;
            CU_ASSERT_FATAL(pu_opret_payload_encode(&back, raw, &n) == PU_OK);
            if (pu_opret_encode(c, &back, again) != PU_OK) /* damage can make it incompressible */
                continue;
            pu_opret_msg twice;
            CU_ASSERT_FATAL(pu_opret_decode(c, again, sizeof again, &twice, &st) == PU_OK);
            CU_ASSERT_TRUE(pu_opret_msg_eq(&back, &twice));
        }
    /* both outcomes occur: damage to stored numbers often stays valid */
    CU_ASSERT(accepted > 0 && accepted < total);
    pu_opret_codec_free(c);
}

static void test_determinism(void)
{
    pu_opret_codec *c1 = new_codec(), *c2 = new_codec();
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++)
        for (uint64_t i = 0; i < 40; i++) {
            pu_opret_msg a, b;
            CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, i, &a) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, i, &b) == PU_OK);
            CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof a), 0);
            uint8_t r1[PU_OPRET_SIZE], r2[PU_OPRET_SIZE], r3[PU_OPRET_SIZE];
            CU_ASSERT_FATAL(pu_opret_encode(c1, &a, r1) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_encode(c1, &a, r2) == PU_OK); /* reused context */
            CU_ASSERT_FATAL(pu_opret_encode(c2, &b, r3) == PU_OK); /* another codec */
            CU_ASSERT_EQUAL(memcmp(r1, r2, sizeof r1), 0);
            CU_ASSERT_EQUAL(memcmp(r1, r3, sizeof r1), 0);
        }
    /* the sampler depends on every input */
    pu_opret_msg a, b;
    CU_ASSERT_FATAL(pu_opret_sample(1, 3, 0, &a) == PU_OK);
    CU_ASSERT_FATAL(pu_opret_sample(2, 3, 0, &b) == PU_OK);
    CU_ASSERT_FALSE(pu_opret_msg_eq(&a, &b));
    CU_ASSERT_FATAL(pu_opret_sample(1, 3, 1, &b) == PU_OK);
    CU_ASSERT_FALSE(pu_opret_msg_eq(&a, &b));
    pu_opret_codec_free(c1);
    pu_opret_codec_free(c2);
}

static void test_msg_eq(void)
{
    pu_opret_msg a, b;
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_TASK_RESULT, 5, &a) == PU_OK);
    b = a;
    CU_ASSERT_TRUE(pu_opret_msg_eq(&a, &b));
    b.result.ranked[PU_OPRET_MAX_RANKED - 1].accuracy_ppm = 12345; /* past n_ranked? */
    CU_ASSERT_EQUAL(pu_opret_msg_eq(&a, &b), a.result.n_ranked < PU_OPRET_MAX_RANKED);
    b = a;
    b.result.ranked[0].miner_index ^= 1;
    CU_ASSERT_FALSE(pu_opret_msg_eq(&a, &b));
    b = a;
    b.node_id_hash[19] ^= 1;
    CU_ASSERT_FALSE(pu_opret_msg_eq(&a, &b));
    b = a;
    b.timestamp++;
    CU_ASSERT_FALSE(pu_opret_msg_eq(&a, &b));
    b = a;
    b.result.n_ranked = 99; /* invalid equals nothing, not even itself */
    CU_ASSERT_FALSE(pu_opret_msg_eq(&b, &b));
}

/* The bare block is standard zstd: wrapped in a 5-byte magicless frame
 * header it decodes with the ordinary frame decoder and the dictionary. */
static void test_block_is_standard_zstd(void)
{
    pu_opret_codec *c = new_codec();
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_DDict *dd = ZSTD_createDDict(pu_opret_dict, pu_opret_dict_len);
    CU_ASSERT_FATAL(d && dd);
    CU_ASSERT_FATAL(!ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_format, ZSTD_f_zstd1_magicless)));
    CU_ASSERT_FATAL(!ZSTD_isError(ZSTD_DCtx_refDDict(d, dd)));
    unsigned checked = 0;
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++)
        for (uint64_t i = 0; i < 20; i++) {
            pu_opret_msg m;
            uint8_t rec[PU_OPRET_SIZE], raw[PU_OPRET_RAW_MAX], frame[5 + PU_OPRET_DATA_MAX], out[256];
            size_t n;
            CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, i, &m) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &n) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
            if (!(rec[58] & PU_OPRET_COMPRESSED))
                continue;
            uint32_t len = rec[58] & 0x7fu;
            uint32_t bh = 1u | 2u << 1 | len << 3; /* last block, compressed, size */
            frame[0] = 0x00;                       /* no checksum, id or size; window */
            frame[1] = 0x00;                       /* descriptor: 1 KiB */
            frame[2] = (uint8_t)bh;
            frame[3] = (uint8_t)(bh >> 8);
            frame[4] = (uint8_t)(bh >> 16);
            memcpy(frame + 5, rec + 59, len);
            size_t got = ZSTD_decompressDCtx(d, out, sizeof out, frame, 5 + len);
            CU_ASSERT_FATAL(!ZSTD_isError(got));
            CU_ASSERT_EQUAL(got, n);
            CU_ASSERT_EQUAL(memcmp(out, raw, n), 0);
            checked++;
        }
    CU_ASSERT(checked >= 60);
    ZSTD_freeDDict(dd);
    ZSTD_freeDCtx(d);
    pu_opret_codec_free(c);
}

static void test_codec_construction(void)
{
    CU_ASSERT_EQUAL(pu_opret_dict_id, PU_OPRET_DICT_ID);
    CU_ASSERT_EQUAL(ZSTD_getDictID_fromDict(pu_opret_dict, pu_opret_dict_len), PU_OPRET_DICT_ID);
    int dummy = 0;
    pu_opret_codec *c = (pu_opret_codec *)&dummy; /* must come back NULL */
    static const uint8_t junk[64] = {1, 2, 3};
    CU_ASSERT_EQUAL(pu_opret_codec_new_custom(junk, sizeof junk, 19, &c), PU_ERR_RANGE);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(pu_opret_codec_new_custom(pu_opret_dict, pu_opret_dict_len, 0, &c), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_opret_codec_new_custom(NULL, 5, 3, &c), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(pu_opret_codec_new_custom(NULL, 0, 3, &c), PU_OK);
    /* no dictionary: still a working codec, for comparison */
    pu_opret_msg m;
    CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, PU_OPRET_TASK_SUBMISSION, 0, &m) == PU_OK);
    round_trip(c, &m);
    pu_opret_codec_free(c);
    pu_opret_codec_free(NULL);
}

static void test_status_strings(void)
{
    for (int s = PU_OPRET_OK; s < (int)PU_OPRET_STATUS_COUNT; s++) {
        const char *str = pu_opret_status_str((pu_opret_status)s);
        CU_ASSERT_STRING_NOT_EQUAL(str, "unknown status");
        for (int t = PU_OPRET_OK; t < s; t++)
            CU_ASSERT_STRING_NOT_EQUAL(str, pu_opret_status_str((pu_opret_status)t));
    }
    CU_ASSERT_STRING_EQUAL(pu_opret_status_str((pu_opret_status)99), "unknown status");
    CU_ASSERT_STRING_EQUAL(pu_opret_op_name(PU_OPRET_GRADIENT_SHARE), "GRADIENT_SHARE");
    CU_ASSERT_STRING_EQUAL(pu_opret_op_name(0), "UNKNOWN");
    CU_ASSERT_STRING_EQUAL(pu_opret_op_name(9), "UNKNOWN");
}

/* The shipped dictionary on payloads from a seed it never saw.  Bounds are
 * loose versions of what bench_opret measures, so they fail if the
 * dictionary is lost, untrained or trained on the wrong layouts. */
static void test_dictionary_ratio(void)
{
    pu_opret_codec *c = new_codec(), *plain;
    CU_ASSERT_FATAL(pu_opret_codec_new_custom(NULL, 0, PU_OPRET_ZSTD_LEVEL, &plain) == PU_OK);
    unsigned long raw_all = 0, dict_all = 0;
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        unsigned long raw = 0, with = 0, without = 0;
        for (uint64_t i = 0; i < 300; i++) {
            pu_opret_msg m;
            uint8_t r[PU_OPRET_RAW_MAX], rec[PU_OPRET_SIZE];
            size_t n;
            CU_ASSERT_FATAL(pu_opret_sample(TEST_SEED, op, 1000 + i, &m) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_payload_encode(&m, r, &n) == PU_OK);
            CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
            raw += n;
            with += rec[58] & 0x7fu;
            CU_ASSERT_FATAL(pu_opret_encode(plain, &m, rec) == PU_OK);
            without += rec[58] & 0x7fu;
        }
        CU_ASSERT(with <= without);
        CU_ASSERT(with <= raw);
        if (op == PU_OPRET_TASK_SUBMISSION || op == PU_OPRET_ECONOMIC_EVENT)
            CU_ASSERT(with * 100 <= raw * 30); /* measured ~23 % */
        if (op == PU_OPRET_WORKER_REGISTRATION)
            CU_ASSERT(with * 100 <= raw * 65); /* measured ~53 % */
        raw_all += raw;
        dict_all += with;
    }
    CU_ASSERT(dict_all * 100 <= raw_all * 65); /* measured ~59 % */
    pu_opret_codec_free(plain);
    pu_opret_codec_free(c);
}

TSUITE(opret)
{
    CU_pSuite s = CU_add_suite("opret", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_round_trip_samples);
    TADD(s, test_round_trip_edges);
    TADD(s, test_known_answer_compressed);
    TADD(s, test_known_answer_stored);
    TADD(s, test_helpers);
    TADD(s, test_reject_length);
    TADD(s, test_reject_bit_flips);
    TADD(s, test_reject_version_and_opcode);
    TADD(s, test_reject_payload_len_and_padding);
    TADD(s, test_reject_decompress);
    TADD(s, test_reject_overrun);
    TADD(s, test_reject_typed_payload);
    TADD(s, test_reject_fields);
    TADD(s, test_reject_task_fields);
    TADD(s, test_encode_rejects_invalid);
    TADD(s, test_oversize_is_range);
    TADD(s, test_mutated_records);
    TADD(s, test_determinism);
    TADD(s, test_msg_eq);
    TADD(s, test_block_is_standard_zstd);
    TADD(s, test_codec_construction);
    TADD(s, test_status_strings);
    TADD(s, test_dictionary_ratio);
    return CUE_SUCCESS;
}

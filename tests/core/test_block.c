/* tests/core/test_block.c -- headers, merkle roots, targets, block codec. */
#include <stdlib.h>
#include <string.h>

#include "core/block.h"
#include "core/bytes.h"
#include "tests/harness.h"

static pu_crypto *C;
static int setup(void) { return pu_crypto_new(&C) == PU_OK ? 0 : -1; }
static int teardown(void) { pu_crypto_free(C); return 0; }

static pu_hash32 H2pair(pu_hash32 a, pu_hash32 b)
{
    uint8_t buf[64];
    memcpy(buf, a.b, 32);
    memcpy(buf + 32, b.b, 32);
    pu_hash32 out;
    pu_sha256d(C, buf, 64, &out);
    return out;
}

static void test_merkle_1_to_5(void)
{
    pu_hash32 t[5], root;
    for (int i = 0; i < 5; i++)
        pu_sha256(C, &i, sizeof i, &t[i]);
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 1, &root), PU_OK); /* single: the id itself */
    CU_ASSERT_TRUE(pu_hash_eq(&root, &t[0]));
    pu_hash32 ab = H2pair(t[0], t[1]), cc = H2pair(t[2], t[2]), cd = H2pair(t[2], t[3]);
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 2, &root), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&root, &ab));
    pu_hash32 r3 = H2pair(ab, cc); /* odd level: last duplicated */
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 3, &root), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&root, &r3));
    pu_hash32 r4 = H2pair(ab, cd);
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 4, &root), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&root, &r4));
    pu_hash32 ee = H2pair(t[4], t[4]), eeee = H2pair(ee, ee);
    pu_hash32 r5 = H2pair(r4, eeee);
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 5, &root), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&root, &r5));
    CU_ASSERT_FALSE(pu_hash_eq(&r4, &r5));
    CU_ASSERT_EQUAL(pu_merkle_root(C, t, 0, &root), PU_OK);
    CU_ASSERT_TRUE(pu_hash_is_zero(&root));
}

static void test_compact_targets(void)
{
    pu_u256 t;
    /* Bitcoin's difficulty-1 target 0x1d00ffff = 0xffff << 208 */
    CU_ASSERT_EQUAL(pu_target_from_bits(0x1d00ffff, &t), PU_OK);
    CU_ASSERT_EQUAL(t.w[3], UINT64_C(0x00000000ffff0000));
    CU_ASSERT_EQUAL(t.w[2] | t.w[1] | t.w[0], 0u);
    CU_ASSERT_EQUAL(pu_bits_from_target(&t), 0x1d00ffffu);
    CU_ASSERT_EQUAL(pu_target_from_bits(0x03123456, &t), PU_OK);
    CU_ASSERT_EQUAL(t.w[0], 0x123456u);
    CU_ASSERT_EQUAL(pu_bits_from_target(&t), 0x03123456u);
    CU_ASSERT_EQUAL(pu_target_from_bits(0x01003456, &t), PU_ERR_RANGE); /* rounds to zero */
    CU_ASSERT_EQUAL(pu_target_from_bits(0x04923456, &t), PU_ERR_RANGE); /* sign bit */
    CU_ASSERT_EQUAL(pu_target_from_bits(0xff123456, &t), PU_ERR_RANGE); /* overflow */
    /* a mantissa with the top bit set is renormalised with a larger exponent */
    pu_u256_from_u64(0x80, &t);
    CU_ASSERT_EQUAL(pu_bits_from_target(&t), 0x02008000u);
    /* round trip over many exponents */
    for (unsigned e = 4; e <= 32; e++) {
        uint32_t bits = (e << 24) | 0x7fabcd;
        pu_u256 x;
        CU_ASSERT_EQUAL(pu_target_from_bits(bits, &x), PU_OK);
        CU_ASSERT_EQUAL(pu_bits_from_target(&x), bits);
    }
    /* every exponent and a few mantissas against mant x 2^(8 (e - 3)) by
     * doubling, overflow included (the limb arithmetic of the decoder) */
    static const uint32_t mants[] = {0x000001, 0x00ffff, 0x7fffff, 0x123456, 0x400000};
    for (unsigned e = 0; e < 256; e++)
        for (size_t k = 0; k < sizeof mants / sizeof mants[0]; k++) {
            uint32_t bits = (e << 24) | mants[k];
            pu_u256 x, ref;
            pu_u256_from_u64(e <= 3 ? mants[k] >> 8 * (3 - e) : mants[k], &ref);
            bool over = false;
            for (unsigned s = 0; e > 3 && s < 8 * (e - 3) && !over; s++)
                over = pu_u256_add(&ref, &ref, &ref);
            pu_err rc = pu_target_from_bits(bits, &x);
            if (over || pu_u256_is_zero(&ref)) {
                CU_ASSERT_EQUAL(rc, PU_ERR_RANGE);
            } else {
                CU_ASSERT_EQUAL(rc, PU_OK);
                CU_ASSERT_EQUAL(pu_u256_cmp(&x, &ref), 0);
            }
        }
}

static void test_work(void)
{
    pu_u256 t, w, one;
    pu_u256_from_u64(1, &one);
    memset(&t, 0xff, sizeof t); /* max target: work 1 */
    pu_u256_work(&t, &w);
    CU_ASSERT_EQUAL(pu_u256_cmp(&w, &one), 0);
    /* target 2^255 - 1 -> work 2 */
    memset(&t, 0xff, sizeof t);
    t.w[3] = UINT64_C(0x7fffffffffffffff);
    pu_u256_work(&t, &w);
    CU_ASSERT_EQUAL(w.w[0], 2u);
    /* target 2^248 - 1 (about 256 hashes) -> work 256 */
    memset(&t, 0, sizeof t);
    memset(&t, 0xff, 31);
    pu_u256_work(&t, &w);
    CU_ASSERT_EQUAL(w.w[0], 256u);
    CU_ASSERT_EQUAL(w.w[1] | w.w[2] | w.w[3], 0u);
    pu_u256 a, b, s;
    pu_u256_from_u64(UINT64_MAX, &a);
    pu_u256_from_u64(1, &b);
    CU_ASSERT_FALSE(pu_u256_add(&a, &b, &s));
    CU_ASSERT_EQUAL(s.w[1], 1u);
    CU_ASSERT_EQUAL(s.w[0], 0u);
    pu_u256_div64(&s, 2, &s);
    CU_ASSERT_EQUAL(s.w[0], UINT64_C(1) << 63);
}

static void test_header_codec_and_hashes(void)
{
    pu_header h, back;
    memset(&h, 0, sizeof h);
    h.version = 1;
    memset(h.prev.b, 0x11, 32);
    memset(h.merkle.b, 0x22, 32);
    h.timestamp = 0x0102030405060708ull;
    h.bits = 0x1f00ffff;
    h.nonce = 0xAABBCCDDEEFF0011ull;
    memset(h.ml_task_id.b, 0x33, 32);
    memset(h.msg_history.b, 0x44, 32);
    memset(h.iter_msg.b, 0x55, 32);
    memset(h.zero_nonce.b, 0x66, 32);
    uint8_t buf[PU_HEADER_SIZE];
    pu_header_serialize(&h, buf);
    CU_ASSERT_EQUAL(buf[0], 0);
    CU_ASSERT_EQUAL(buf[3], 1);
    CU_ASSERT_EQUAL(buf[68], 0x01); /* timestamp big-endian at offset 68 */
    CU_ASSERT_EQUAL(buf[75], 0x08);
    CU_ASSERT_EQUAL(pu_get_be32(buf + 76), 0x1f00ffffu);
    CU_ASSERT_EQUAL(pu_get_be64(buf + 80), 0xAABBCCDDEEFF0011ull);
    CU_ASSERT_EQUAL(buf[88], 0x33);
    CU_ASSERT_EQUAL(buf[215], 0x66);
    CU_ASSERT_EQUAL(pu_header_parse(buf, sizeof buf, &back), PU_OK);
    CU_ASSERT_EQUAL(memcmp(&back.zero_nonce, &h.zero_nonce, 32), 0);
    CU_ASSERT_EQUAL(back.nonce, h.nonce);
    CU_ASSERT_EQUAL(pu_header_parse(buf, sizeof buf - 1, &back), PU_ERR_PARSE);
    pu_hash32 hh, want;
    pu_header_hash(C, &h, &hh);
    pu_sha256d(C, buf, sizeof buf, &want);
    CU_ASSERT_TRUE(pu_hash_eq(&hh, &want));
    /* zero-nonce hash ignores nonce and the PoUW fields, but not the rest */
    pu_hash32 z1, z2;
    pu_header_zero_nonce_hash(C, &h, &z1);
    pu_header h2 = h;
    h2.nonce = 5;
    memset(h2.iter_msg.b, 0, 32);
    pu_header_zero_nonce_hash(C, &h2, &z2);
    CU_ASSERT_TRUE(pu_hash_eq(&z1, &z2));
    h2.timestamp++;
    pu_header_zero_nonce_hash(C, &h2, &z2);
    CU_ASSERT_FALSE(pu_hash_eq(&z1, &z2));
    /* target check: hash 0 meets anything; all-ones meets only the max */
    pu_hash32 zero = {{0}}, ones;
    memset(ones.b, 0xff, 32);
    CU_ASSERT_TRUE(pu_hash_meets_bits(&zero, 0x1d00ffff));
    CU_ASSERT_FALSE(pu_hash_meets_bits(&ones, 0x1d00ffff));
    CU_ASSERT_FALSE(pu_hash_meets_bits(&zero, 0x04923456)); /* invalid bits */
    CU_ASSERT_TRUE(pu_header_is_pouw(&h));
}

static pu_tx *coinbase(uint32_t height, pu_amount v)
{
    pu_tx *tx;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &tx) == PU_OK);
    pu_put_be32(pu_tx_body_mut(tx), height);
    pu_tx_out_mut(tx, 0)->amount = v;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    return tx;
}

static void test_block_codec(void)
{
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = 1;
    h.bits = 0x2100ffff;
    pu_block *b, *back;
    CU_ASSERT_FATAL(pu_block_new(&h, &b) == PU_OK);
    for (uint32_t i = 0; i < 3; i++) {
        pu_tx *tx = coinbase(i, 100 + i);
        CU_ASSERT_EQUAL(pu_block_add_tx(b, tx), PU_OK);
        pu_tx_unref(tx); /* the block holds its own reference */
    }
    uint8_t proof[5] = {1, 2, 3, 4, 5};
    CU_ASSERT_EQUAL(pu_block_set_proof(b, proof, 5), PU_OK);
    CU_ASSERT_EQUAL(pu_block_update_merkle(C, b), PU_OK);
    CU_ASSERT_EQUAL(pu_block_finalize(C, b), PU_OK);
    CU_ASSERT_EQUAL(pu_block_add_tx(b, pu_block_tx(b, 0)), PU_ERR_STATE);
    uint8_t *buf;
    size_t len;
    pu_reason why;
    CU_ASSERT_FATAL(pu_block_serialize(b, &buf, &len) == PU_OK);
    CU_ASSERT_EQUAL(len, pu_block_size(b));
    CU_ASSERT_FATAL(pu_block_parse(C, buf, len, &back, &why) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_block_hash(b), pu_block_hash(back)));
    CU_ASSERT_EQUAL(pu_block_n_tx(back), 3);
    CU_ASSERT_EQUAL(pu_tx_out(pu_block_tx(back, 2), 0)->amount, 102);
    uint32_t plen;
    CU_ASSERT_EQUAL(pu_block_proof(back, &plen)[4], 5);
    CU_ASSERT_EQUAL(plen, 5);
    pu_block_unref(back);
    back = NULL;
    /* rejections: every truncation, trailing byte, a corrupt transaction */
    for (size_t cut = 0; cut < len; cut += 7) {
        pu_block *x = NULL;
        CU_ASSERT_EQUAL(pu_block_parse(C, buf, cut, &x, &why), PU_ERR_PARSE);
        CU_ASSERT_PTR_NULL(x);
        CU_ASSERT(why == PU_R_BLOCK_MALFORMED || why == PU_R_TX_MALFORMED);
    }

    uint8_t *big = malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    CU_ASSERT_EQUAL(pu_block_parse(C, big, len + 1, &back, &why), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(why, PU_R_BLOCK_MALFORMED);
    memcpy(big, buf, len);
    big[PU_HEADER_SIZE + 4 + 4 + 4] = 7; /* first tx's kind byte -> unknown kind */
    CU_ASSERT_EQUAL(pu_block_parse(C, big, len, &back, &why), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(why, PU_R_TX_MALFORMED);
    memcpy(big, buf, len);
    pu_put_be32(big + PU_HEADER_SIZE, 0xFFFFFFFFu); /* absurd tx count */
    CU_ASSERT_EQUAL(pu_block_parse(C, big, len, &back, &why), PU_ERR_PARSE);
    free(big);
    free(buf);
    pu_block_unref(back);
    pu_block_unref(b);
}

TSUITE(block)
{
    CU_pSuite s = CU_add_suite("block", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_merkle_1_to_5);
    TADD(s, test_compact_targets);
    TADD(s, test_work);
    TADD(s, test_header_codec_and_hashes);
    TADD(s, test_block_codec);
    return CUE_SUCCESS;
}

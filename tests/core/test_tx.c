/* tests/core/test_tx.c -- transaction encoding, decoding, signing, checks. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/tx.h"
#include "tests/harness.h"

static pu_crypto *C;

static int setup(void) { return pu_crypto_new(&C) == PU_OK ? 0 : -1; }
static int teardown(void) { pu_crypto_free(C); return 0; }

static void key(int i, pu_keypair *k)
{
    uint8_t seed[32] = {0};
    seed[5] = (uint8_t)i;
    CU_ASSERT_FATAL(pu_key_from_seed(C, seed, k) == PU_OK);
}

/* A signed transaction of the given kind with recognisable field values. */
static pu_tx *sample(pu_tx_kind kind, bool opret)
{
    pu_keypair k;
    key(1, &k);
    uint32_t n_in = kind == PU_TX_COINBASE ? 0 : 2, body = 0;
    if (kind == PU_TX_COINBASE) body = 4;
    if (kind == PU_TX_BUY_TICKETS) body = PU_TICKETS_BODY_SIZE;
    if (kind == PU_TX_SETTLEMENT) body = 32;
    pu_tx *tx;
    CU_ASSERT_FATAL(pu_tx_new(kind, n_in, 3, body, &tx) == PU_OK);
    for (uint32_t i = 0; i < n_in; i++) {
        memset(pu_tx_in_mut(tx, i)->prev.txid.b, 0x10 + (int)i, 32);
        pu_tx_in_mut(tx, i)->prev.index = kind == PU_TX_SETTLEMENT ? PU_LOCK_INDEX : i * 7;
    }
    for (uint32_t i = 0; i < 3; i++) {
        pu_tx_out_mut(tx, i)->amount = (pu_amount)(i + 1) * PU_COIN + 5;
        memset(pu_tx_out_mut(tx, i)->addr.b, 0x40 + (int)i, 20);
    }
    if (kind == PU_TX_COINBASE)
        pu_put_be32(pu_tx_body_mut(tx), 77);
    if (kind == PU_TX_BUY_TICKETS) {
        pu_tickets t = {PU_ROLE_SUPERVISOR, 3 * PU_COIN, {{0}}};
        memset(t.task_pref.b, 0x99, 32);
        pu_tickets_encode(&t, pu_tx_body_mut(tx));
    }
    if (kind == PU_TX_SETTLEMENT)
        memset(pu_tx_body_mut(tx), 0x77, 32);
    if (opret) {
        uint8_t o[PU_OPRET_SIZE];
        for (int i = 0; i < (int)PU_OPRET_SIZE; i++)
            o[i] = (uint8_t)i;
        pu_tx_set_opret(tx, o);
    }
    pu_tx_set_timestamp(tx, 123456789);
    const pu_keypair *kp = &k;
    if (kind != PU_TX_SETTLEMENT && n_in)
        CU_ASSERT_FATAL(pu_tx_sign_all(C, tx, &kp, 1) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    return tx;
}

static void roundtrip(pu_tx_kind kind, bool opret)
{
    pu_tx *tx = sample(kind, opret), *back = NULL;
    uint8_t *buf;
    size_t len;
    pu_reason why;
    CU_ASSERT_FATAL(pu_tx_serialize(tx, &buf, &len) == PU_OK);
    size_t want = 4 + 1 + 4 + pu_tx_n_in(tx) * 133u + 4 + 3 * 28u + 1 + (opret ? 160 : 0) + 8 + 4;
    uint32_t blen;
    pu_tx_body(tx, &blen);
    CU_ASSERT_EQUAL(len, want + blen);
    CU_ASSERT_EQUAL(pu_tx_size(tx), len);
    CU_ASSERT_FATAL(pu_tx_parse(C, buf, len, &back, &why) == PU_OK);
    CU_ASSERT_EQUAL(why, PU_R_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_tx_id(tx), pu_tx_id(back)));
    CU_ASSERT_EQUAL(pu_tx_kind_of(back), kind);
    CU_ASSERT_EQUAL(pu_tx_n_in(back), pu_tx_n_in(tx));
    CU_ASSERT_EQUAL(pu_tx_out(back, 2)->amount, 3 * PU_COIN + 5);
    CU_ASSERT_EQUAL(pu_tx_timestamp(back), 123456789u);
    CU_ASSERT_EQUAL((pu_tx_opret(back) != NULL), opret);
    if (opret)
        CU_ASSERT_EQUAL(pu_tx_opret(back)[159], 159);
    CU_ASSERT_EQUAL(pu_tx_check(back), PU_R_OK);
    pu_hash32 id;
    pu_sha256d(C, buf, len, &id); /* txid = H2(serialisation) */
    CU_ASSERT_TRUE(pu_hash_eq(&id, pu_tx_id(tx)));
    free(buf);
    pu_tx_unref(back);
    pu_tx_unref(tx);
}

static void test_roundtrip_kinds(void)
{
    roundtrip(PU_TX_PAYMENT, false);
    roundtrip(PU_TX_PAYMENT, true);
    roundtrip(PU_TX_COINBASE, false);
    roundtrip(PU_TX_BUY_TICKETS, true);
    roundtrip(PU_TX_SETTLEMENT, false);
}

static void test_tickets_body(void)
{
    pu_tx *tx = sample(PU_TX_BUY_TICKETS, false);
    pu_tickets t;
    pu_amount locked;
    CU_ASSERT_EQUAL(pu_tx_tickets(tx, &t), PU_OK);
    CU_ASSERT_EQUAL(t.role, PU_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(t.stake, 3 * PU_COIN);
    CU_ASSERT_EQUAL(t.task_pref.b[31], 0x99);
    CU_ASSERT_EQUAL(pu_tx_locked(tx, &locked), PU_OK);
    CU_ASSERT_EQUAL(locked, 3 * PU_COIN);
    pu_tx_unref(tx);
}

static void test_signatures(void)
{
    pu_tx *tx = sample(PU_TX_PAYMENT, true);
    pu_keypair k;
    key(1, &k);
    for (uint32_t i = 0; i < 2; i++) {
        pu_hash32 h;
        CU_ASSERT_EQUAL(pu_tx_sighash(C, tx, i, &h), PU_OK);
        CU_ASSERT_TRUE(pu_hash_eq(&h, pu_tx_sighash_at(tx, i)));
        CU_ASSERT_TRUE(pu_sig_verify(pu_tx_in(tx, i)->pub, &h, pu_tx_in(tx, i)->sig));
    }
    /* the two inputs sign different hashes (index suffix) */
    CU_ASSERT_FALSE(pu_hash_eq(pu_tx_sighash_at(tx, 0), pu_tx_sighash_at(tx, 1)));
    /* sighash = H2(serialisation with zeroed signatures || index) */
    uint8_t *buf;
    size_t len;
    CU_ASSERT_FATAL(pu_tx_serialize(tx, &buf, &len) == PU_OK);
    memset(buf + 9 + 69, 0, 64);
    memset(buf + 9 + 133 + 69, 0, 64);
    uint8_t idx[4] = {0, 0, 0, 1};
    pu_hash32 h;
    pu_sha256d_2(C, buf, len, idx, 4, &h);
    CU_ASSERT_TRUE(pu_hash_eq(&h, pu_tx_sighash_at(tx, 1)));
    /* changing an output amount invalidates the signatures */
    free(buf);
    CU_ASSERT_FATAL(pu_tx_serialize(tx, &buf, &len) == PU_OK);
    pu_tx *t2;
    pu_reason why;
    buf[9 + 2 * 133 + 4 + 7] ^= 1;
    CU_ASSERT_FATAL(pu_tx_parse(C, buf, len, &t2, &why) == PU_OK);
    CU_ASSERT_FALSE(pu_sig_verify(pu_tx_in(t2, 0)->pub, pu_tx_sighash_at(t2, 0), pu_tx_in(t2, 0)->sig));
    pu_tx_unref(t2);
    free(buf);
    pu_tx_unref(tx);
}

static pu_reason parse_reason(const uint8_t *buf, size_t len)
{
    pu_tx *tx = NULL;
    pu_reason why = PU_R_OK;
    pu_err rc = pu_tx_parse(C, buf, len, &tx, &why);
    if (rc == PU_OK) {
        pu_tx_unref(tx);
        return PU_R_OK;
    }
    CU_ASSERT_PTR_NULL(tx);
    return why;
}

static void test_decoder_rejects(void)
{
    pu_tx *tx = sample(PU_TX_PAYMENT, true);
    uint8_t *buf;
    size_t len;
    CU_ASSERT_FATAL(pu_tx_serialize(tx, &buf, &len) == PU_OK);
    for (size_t cut = 0; cut < len; cut++) /* every truncation */
        CU_ASSERT_EQUAL(parse_reason(buf, cut), PU_R_TX_MALFORMED);
    uint8_t *big = malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    CU_ASSERT_EQUAL(parse_reason(big, len + 1), PU_R_TX_MALFORMED); /* trailing byte */
    memcpy(big, buf, len);
    big[4] = 9; /* unknown kind */
    CU_ASSERT_EQUAL(parse_reason(big, len), PU_R_TX_MALFORMED);
    memcpy(big, buf, len);
    pu_put_be32(big + 5, 0xFFFFFFFFu); /* absurd input count */
    CU_ASSERT_EQUAL(parse_reason(big, len), PU_R_TX_MALFORMED);
    memcpy(big, buf, len);
    size_t opflag = 9 + 2 * 133 + 4 + 3 * 28;
    CU_ASSERT_EQUAL(big[opflag], 1);
    big[opflag] = 2; /* OP_RETURN flag must be 0 or 1 */
    CU_ASSERT_EQUAL(parse_reason(big, len), PU_R_TX_MALFORMED);
    memcpy(big, buf, len);
    pu_put_be32(big + len - 4, 0x7FFFFFFFu); /* body length beyond the buffer */
    CU_ASSERT_EQUAL(parse_reason(big, len), PU_R_TX_MALFORMED);
    uint8_t *huge = calloc(1, PU_TX_MAX_SIZE + 10);
    CU_ASSERT_EQUAL(parse_reason(huge, PU_TX_MAX_SIZE + 10), PU_R_TX_TOO_LARGE);
    free(huge);
    free(big);
    free(buf);
    pu_tx_unref(tx);
}

static void test_context_free_checks(void)
{
    pu_tx *tx;
    /* payment without inputs */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 0, 1, 0, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_KIND);
    pu_tx_unref(tx);
    /* coinbase with a wrong body size */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 3, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_KIND);
    pu_tx_unref(tx);
    /* zero, negative and out-of-range amounts */
    pu_amount bad[3] = {0, -5, PU_MAX_MONEY + 1};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, 1, 0, &tx) == PU_OK);
        pu_tx_out_mut(tx, 0)->amount = bad[i];
        CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
        CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_AMOUNT);
        pu_tx_unref(tx);
    }
    /* outputs that sum past the money range */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, 2, 0, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = PU_MAX_MONEY;
    pu_tx_out_mut(tx, 1)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_AMOUNT);
    pu_tx_unref(tx);
    /* the same outpoint twice */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 2, 1, 0, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_DUP_INPUT);
    pu_tx_unref(tx);
    /* settlement spending a non-lock outpoint */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_SETTLEMENT, 1, 1, 32, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_KIND);
    pu_tx_unref(tx);
    /* tickets with an unknown role */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_BUY_TICKETS, 1, 1, PU_TICKETS_BODY_SIZE, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    pu_tickets t = {9, PU_COIN, {{0}}};
    pu_tickets_encode(&t, pu_tx_body_mut(tx));
    CU_ASSERT_FATAL(pu_tx_finalize(C, tx) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_check(tx), PU_R_TX_BAD_KIND);
    pu_tx_unref(tx);
}

static void test_refcount_and_state(void)
{
    pu_tx *tx = sample(PU_TX_PAYMENT, false);
    CU_ASSERT_PTR_EQUAL(pu_tx_ref(tx), tx);
    pu_tx_unref(tx);
    CU_ASSERT_EQUAL(pu_tx_finalize(C, tx), PU_ERR_STATE); /* frozen */
    pu_keypair k;
    key(2, &k);
    CU_ASSERT_EQUAL(pu_tx_sign_input(C, tx, 0, &k), PU_ERR_STATE);
    pu_tx *d;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, 1, 0, &d) == PU_OK);
    CU_ASSERT_EQUAL(pu_tx_sign_input(C, d, 0, &k), PU_ERR_STATE); /* key not set */
    memcpy(pu_tx_in_mut(d, 0)->pub, k.pub, 33);
    CU_ASSERT_EQUAL(pu_tx_sign_input(C, d, 0, &k), PU_OK);
    pu_tx_unref(d);
    pu_tx_unref(tx);
    pu_tx_unref(NULL);
}

TSUITE(tx)
{
    CU_pSuite s = CU_add_suite("tx", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_roundtrip_kinds);
    TADD(s, test_tickets_body);
    TADD(s, test_signatures);
    TADD(s, test_decoder_rejects);
    TADD(s, test_context_free_checks);
    TADD(s, test_refcount_and_state);
    return CUE_SUCCESS;
}

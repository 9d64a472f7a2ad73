/* tests/core/test_crypto.c -- known answers for hashing, CRC, hex and ECDSA. */
#include <string.h>

#include "core/crypto.h"
#include "tests/harness.h"

static void check_hex(const uint8_t *d, size_t n, const char *want)
{
    char buf[129];
    pu_hex_encode(d, n, buf);
    CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_sha256_abc(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 h;
    pu_sha256(c, "abc", 3, &h);
    check_hex(h.b, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pu_sha256_2(c, "a", 1, "bc", 2, &h);
    check_hex(h.b, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pu_sha256(c, "", 0, &h);
    check_hex(h.b, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    uint8_t s1[20];
    pu_sha1(c, "abc", 3, s1);
    check_hex(s1, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
    CU_ASSERT_FALSE(pu_crypto_failed(c));
    pu_crypto_free(c);
}

/* Bitcoin's genesis header: H2 must give the well-known block hash (shown
 * reversed in Bitcoin's convention). */
static void test_sha256d_genesis_header(void)
{
    static const char hdr_hex[] =
        "0100000000000000000000000000000000000000000000000000000000000000"
        "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
        "4b1e5e4a29ab5f49ffff001d1dac2b7c";
    uint8_t hdr[80];
    CU_ASSERT_FATAL(pu_hex_decode(hdr_hex, hdr, 80) == PU_OK);
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_hash32 h, rev;
    pu_sha256d(c, hdr, 80, &h);
    for (int i = 0; i < 32; i++)
        rev.b[i] = h.b[31 - i];
    check_hex(rev.b, 32, "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
    pu_sha256d_2(c, hdr, 40, hdr + 40, 40, &h);
    for (int i = 0; i < 32; i++)
        CU_ASSERT_EQUAL(h.b[i], rev.b[31 - i]);
    pu_crypto_free(c);
}

static void test_crc32(void)
{
    CU_ASSERT_EQUAL(pu_crc32("123456789", 9), 0xcbf43926u);
    CU_ASSERT_EQUAL(pu_crc32("", 0), 0u);
}

static void test_hex(void)
{
    uint8_t b[4];
    CU_ASSERT_EQUAL(pu_hex_decode("DEADbeef", b, 4), PU_OK);
    CU_ASSERT_EQUAL(b[0], 0xde);
    CU_ASSERT_EQUAL(b[3], 0xef);
    check_hex(b, 4, "deadbeef");
    CU_ASSERT_EQUAL(pu_hex_decode("deadbee", b, 4), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_hex_decode("deadbeefaa", b, 4), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(pu_hex_decode("deadbeeg", b, 4), PU_ERR_PARSE);
}

/* secp256k1 group order n, for building a high-S twin of a signature. */
static const uint8_t order_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};

static void negate_s(uint8_t sig[64])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order_n[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_ecdsa(void)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    uint8_t seed[32] = {1};
    pu_keypair k, k2;
    CU_ASSERT_FATAL(pu_key_from_seed(c, seed, &k) == PU_OK);
    CU_ASSERT_FATAL(pu_key_from_seed(c, seed, &k2) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(k.pub, k2.pub, 33), 0); /* deterministic */
    CU_ASSERT(k.pub[0] == 2 || k.pub[0] == 3);
    pu_hash32 a;
    pu_sha256(c, k.pub, 33, &a);
    CU_ASSERT_EQUAL(memcmp(a.b, k.addr.b, 20), 0);
    uint8_t zero_seed[32] = {0}; /* zero is not a valid key: the seed is hashed */
    CU_ASSERT_EQUAL(pu_key_from_seed(c, zero_seed, &k2), PU_OK);

    pu_hash32 msg;
    pu_sha256(c, "pay 1 coin", 10, &msg);
    uint8_t sig[64], sig2[64];
    CU_ASSERT_FATAL(pu_key_sign(c, &k, &msg, sig) == PU_OK);
    CU_ASSERT_FATAL(pu_key_sign(c, &k, &msg, sig2) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(sig, sig2, 64), 0); /* RFC 6979 */
    CU_ASSERT_TRUE(pu_sig_verify(k.pub, &msg, sig));
    CU_ASSERT_FALSE(pu_sig_verify(k2.pub, &msg, sig)); /* wrong key */
    pu_hash32 msg2 = msg;
    msg2.b[0] ^= 1;
    CU_ASSERT_FALSE(pu_sig_verify(k.pub, &msg2, sig)); /* tampered message */
    memcpy(sig2, sig, 64);
    sig2[10] ^= 0x40;
    CU_ASSERT_FALSE(pu_sig_verify(k.pub, &msg, sig2)); /* tampered signature */
    memcpy(sig2, sig, 64);
    negate_s(sig2); /* (r, n - s) is the mathematically valid high-S twin */
    CU_ASSERT_FALSE(pu_sig_verify(k.pub, &msg, sig2));
    uint8_t badpub[33];
    memcpy(badpub, k.pub, 33);
    badpub[0] = 5;
    CU_ASSERT_FALSE(pu_sig_verify(badpub, &msg, sig));
    pu_crypto_free(c);
}

TSUITE(crypto)
{
    CU_pSuite s = CU_add_suite("crypto", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_sha256_abc);
    TADD(s, test_sha256d_genesis_header);
    TADD(s, test_crc32);
    TADD(s, test_hex);
    TADD(s, test_ecdsa);
    return CUE_SUCCESS;
}

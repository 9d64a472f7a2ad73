/* core/crypto.c -- OpenSSL digests, zlib CRC32, libsecp256k1 ECDSA. */
#include "core/crypto.h"

#include <openssl/evp.h>
#include <secp256k1.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct pu_crypto {
    EVP_MD *sha256;
    EVP_MD *sha1;
    EVP_MD_CTX *mdctx;
    secp256k1_context *secp;
    bool failed;
};

pu_err pu_crypto_new(pu_crypto **out)
{
    *out = NULL;
    pu_crypto *c = calloc(1, sizeof *c);
    if (!c)
        return PU_ERR_NOMEM;
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    c->mdctx = EVP_MD_CTX_new();
    c->secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c->sha256 || !c->sha1 || !c->mdctx || !c->secp) {
        pu_crypto_free(c);
        return PU_ERR_CRYPTO;
    }
    *out = c;
    return PU_OK;
}

void pu_crypto_free(pu_crypto *c)
{
    if (!c)
        return;
    EVP_MD_free(c->sha256);
    EVP_MD_free(c->sha1);
    EVP_MD_CTX_free(c->mdctx);
    if (c->secp)
        secp256k1_context_destroy(c->secp);
    free(c);
}

bool pu_crypto_failed(const pu_crypto *c) { return c->failed; }

static void digest2(pu_crypto *c, const EVP_MD *md, const void *a, size_t alen,
                    const void *b, size_t blen, uint8_t *out, unsigned outlen)
{
    unsigned n = 0;
    if (EVP_DigestInit_ex2(c->mdctx, md, NULL) != 1
        || EVP_DigestUpdate(c->mdctx, a, alen) != 1
        || (blen && EVP_DigestUpdate(c->mdctx, b, blen) != 1)
        || EVP_DigestFinal_ex(c->mdctx, out, &n) != 1 || n != outlen) {
        c->failed = true;
        memset(out, 0, outlen);
    }
}

void pu_sha256(pu_crypto *c, const void *data, size_t len, pu_hash32 *out)
{
    digest2(c, c->sha256, data, len, NULL, 0, out->b, 32);
}

void pu_sha256_2(pu_crypto *c, const void *a, size_t alen, const void *b, size_t blen,
                 pu_hash32 *out)
{
    digest2(c, c->sha256, a, alen, b, blen, out->b, 32);
}

void pu_sha256d(pu_crypto *c, const void *data, size_t len, pu_hash32 *out)
{
    pu_hash32 t;
    digest2(c, c->sha256, data, len, NULL, 0, t.b, 32);
    digest2(c, c->sha256, t.b, 32, NULL, 0, out->b, 32);
}

void pu_sha256d_2(pu_crypto *c, const void *a, size_t alen, const void *b, size_t blen,
                  pu_hash32 *out)
{
    pu_hash32 t;
    digest2(c, c->sha256, a, alen, b, blen, t.b, 32);
    digest2(c, c->sha256, t.b, 32, NULL, 0, out->b, 32);
}

void pu_sha1(pu_crypto *c, const void *data, size_t len, uint8_t out[20])
{
    digest2(c, c->sha1, data, len, NULL, 0, out, 20);
}

uint32_t pu_crc32(const void *data, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    while (len > 0) { /* zlib takes uInt lengths */
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

void pu_hex_encode(const uint8_t *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

pu_err pu_hex_decode(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!hex[2 * i] || !hex[2 * i + 1])
            return PU_ERR_PARSE;
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return PU_ERR_PARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * n] == '\0' ? PU_OK : PU_ERR_PARSE;
}

void pu_hash_hex(const pu_hash32 *h, char out[65]) { pu_hex_encode(h->b, 32, out); }

void pu_addr_from_pub(pu_crypto *c, const uint8_t pub[33], pu_addr *out)
{
    pu_hash32 h;
    pu_sha256(c, pub, 33, &h);
    memcpy(out->b, h.b, 20);
}

pu_err pu_key_from_seed(pu_crypto *c, const uint8_t seed[32], pu_keypair *out)
{
    memset(out, 0, sizeof *out);
    pu_hash32 h;
    memcpy(h.b, seed, 32);
    /* A random 32-byte string is a valid key with probability 1 - 2^-128;
     * the loop only guards the zero and >= n cases. */
    for (int tries = 0; !secp256k1_ec_seckey_verify(c->secp, h.b); tries++) {
        if (tries == 64)
            return PU_ERR_CRYPTO;
        pu_sha256(c, h.b, 32, &h);
    }
    secp256k1_pubkey pk;
    size_t plen = 33;
    if (!secp256k1_ec_pubkey_create(c->secp, &pk, h.b)
        || !secp256k1_ec_pubkey_serialize(c->secp, out->pub, &plen, &pk,
                                          SECP256K1_EC_COMPRESSED))
        return PU_ERR_CRYPTO;
    memcpy(out->sec, h.b, 32);
    pu_addr_from_pub(c, out->pub, &out->addr);
    return PU_OK;
}

pu_err pu_key_sign(pu_crypto *c, const pu_keypair *k, const pu_hash32 *msg, uint8_t sig[64])
{
    secp256k1_ecdsa_signature s;
    /* secp256k1_ecdsa_sign always produces low-S signatures. */
    if (!secp256k1_ecdsa_sign(c->secp, &s, msg->b, k->sec, NULL, NULL)
        || !secp256k1_ecdsa_signature_serialize_compact(c->secp, sig, &s))
        return PU_ERR_CRYPTO;
    return PU_OK;
}

bool pu_sig_verify(const uint8_t pub[33], const pu_hash32 *msg, const uint8_t sig[64])
{
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_signature s;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig))
        return false;
    if (!secp256k1_ec_pubkey_parse(ctx, &pk, pub, 33))
        return false;
    /* Verification fails for high-S: the normalised form is the only valid one. */
    return secp256k1_ecdsa_verify(ctx, &s, msg->b, &pk) == 1;
}

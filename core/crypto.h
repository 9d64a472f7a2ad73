/* core/crypto.h -- hashing (SHA-256, double SHA-256, SHA-1, CRC32), hex, and
 * secp256k1 keys and ECDSA signatures.
 *
 * A pu_crypto holds the fetched OpenSSL digests, one reusable digest context
 * and a secp256k1 signing context.  It is not thread-safe: one per thread or
 * per run.  Fetching the digest once is ~2.8x faster than SHA256() on the
 * small inputs (headers, sighashes) that dominate validation. */
#ifndef PU_CRYPTO_H
#define PU_CRYPTO_H

#include "core/types.h"

typedef struct pu_crypto pu_crypto;

PU_NODISCARD pu_err pu_crypto_new(pu_crypto **out);
void pu_crypto_free(pu_crypto *c);

/** Digests.  They cannot fail once pu_crypto_new succeeded short of memory
 * corruption; if OpenSSL ever reports failure the output is zeroed and
 * pu_crypto_failed() becomes true (sticky) so a caller can detect it. */
void pu_sha256(pu_crypto *c, const void *data, size_t len, pu_hash32 *out);
/** H2(x) = SHA256(SHA256(x)): block and transaction ids. */
void pu_sha256d(pu_crypto *c, const void *data, size_t len, pu_hash32 *out);
/** SHA-256 of the concatenation a || b (no copy). */
void pu_sha256_2(pu_crypto *c, const void *a, size_t alen, const void *b, size_t blen,
                 pu_hash32 *out);
/** H2(a || b): merkle interior nodes and similar. */
void pu_sha256d_2(pu_crypto *c, const void *a, size_t alen, const void *b, size_t blen,
                  pu_hash32 *out);
void pu_sha1(pu_crypto *c, const void *data, size_t len, uint8_t out[20]);
bool pu_crypto_failed(const pu_crypto *c);

/** CRC-32 (zlib polynomial) of data. */
uint32_t pu_crc32(const void *data, size_t len);

/** Lower-case hex of n bytes into out (2n+1 chars incl. NUL). */
void pu_hex_encode(const uint8_t *data, size_t n, char *out);
/** Decode exactly 2n hex chars (either case) into n bytes; PU_ERR_PARSE otherwise. */
PU_NODISCARD pu_err pu_hex_decode(const char *hex, uint8_t *out, size_t n);
/** Hash as 64 lower-case hex chars + NUL. */
void pu_hash_hex(const pu_hash32 *h, char out[65]);

/** A secp256k1 key pair.  Plain value; the secret key lives in it. */
typedef struct pu_keypair {
    uint8_t sec[32];
    uint8_t pub[33]; /* compressed */
    pu_addr addr;
} pu_keypair;

/** Deterministic key from 32 seed bytes: the first SHA-256 iterate of the
 * seed that is a valid secret key (so every seed works, and the simulator can
 * derive wallets from (run seed, wallet id)). */
PU_NODISCARD pu_err pu_key_from_seed(pu_crypto *c, const uint8_t seed[32], pu_keypair *out);
/** Address = first 20 bytes of SHA-256(compressed public key). */
void pu_addr_from_pub(pu_crypto *c, const uint8_t pub[33], pu_addr *out);
/** RFC 6979 deterministic ECDSA, 64-byte compact, low-S. */
PU_NODISCARD pu_err pu_key_sign(pu_crypto *c, const pu_keypair *k, const pu_hash32 *msg,
                                uint8_t sig[64]);
/** True iff sig is a valid low-S compact signature of msg by pub.
 * High-S, unparsable keys or signatures all give false. */
bool pu_sig_verify(const uint8_t pub[33], const pu_hash32 *msg, const uint8_t sig[64]);

#endif

/* core/sigcache.h -- shared cache of verified signatures.
 *
 * Key: SHA-256(sighash || public key || signature); value: the verdict.
 * One cache serves every chain instance of a run, so a transaction relayed to
 * 6,000 simulated nodes costs one ECDSA verification in wall time.  Bounded:
 * when full, the slot picked by the key's own bits is overwritten (no
 * randomness, no clock), which keeps the cache deterministic.  A cache never
 * changes a verdict, only how fast it is reached. */
#ifndef PU_SIGCACHE_H
#define PU_SIGCACHE_H

#include "core/crypto.h"

typedef struct pu_sigcache pu_sigcache;

/** capacity = entries kept (0 disables caching: every check verifies). */
PU_NODISCARD pu_err pu_sigcache_new(size_t capacity, pu_sigcache **out);
void pu_sigcache_free(pu_sigcache *sc);

/** Verifies (pub, msg, sig) through the cache.  sc may be NULL. */
bool pu_sigcache_verify(pu_sigcache *sc, pu_crypto *c, const uint8_t pub[33],
                        const pu_hash32 *msg, const uint8_t sig[64]);

typedef struct pu_sigcache_stats { uint64_t hits, misses, verifications; } pu_sigcache_stats;
void pu_sigcache_get_stats(const pu_sigcache *sc, pu_sigcache_stats *out);

#endif

/* core/sigcache.c -- direct-mapped, 2-way set-associative verdict cache. */
#include "core/sigcache.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint8_t key[24]; /* 192 bits of the digest: collisions are negligible */
    uint8_t used, valid;
} entry;

struct pu_sigcache {
    entry *slots;
    size_t n_sets; /* 2 entries per set */
    pu_sigcache_stats stats;
};

pu_err pu_sigcache_new(size_t capacity, pu_sigcache **out)
{
    *out = NULL;
    pu_sigcache *sc = calloc(1, sizeof *sc);
    if (!sc)
        return PU_ERR_NOMEM;
    sc->n_sets = capacity / 2;
    if (sc->n_sets) {
        sc->slots = calloc(sc->n_sets * 2, sizeof(entry));
        if (!sc->slots) {
            free(sc);
            return PU_ERR_NOMEM;
        }
    }
    *out = sc;
    return PU_OK;
}

void pu_sigcache_free(pu_sigcache *sc)
{
    if (!sc)
        return;
    free(sc->slots);
    free(sc);
}

bool pu_sigcache_verify(pu_sigcache *sc, pu_crypto *c, const uint8_t pub[33],
                        const pu_hash32 *msg, const uint8_t sig[64])
{
    if (!sc || !sc->n_sets) {
        if (sc) {
            sc->stats.misses++;
            sc->stats.verifications++;
        }
        return pu_sig_verify(pub, msg, sig);
    }
    uint8_t buf[32 + 33 + 64];
    memcpy(buf, msg->b, 32);
    memcpy(buf + 32, pub, 33);
    memcpy(buf + 65, sig, 64);
    pu_hash32 d;
    pu_sha256(c, buf, sizeof buf, &d);
    entry *set = &sc->slots[(pu_hash_fp(&d) % sc->n_sets) * 2];
    for (int w = 0; w < 2; w++)
        if (set[w].used && memcmp(set[w].key, d.b + 8, 24) == 0) {
            sc->stats.hits++;
            return set[w].valid;
        }
    sc->stats.misses++;
    sc->stats.verifications++;
    bool ok = pu_sig_verify(pub, msg, sig);
    /* An empty way first; when both are taken the key's own bit picks the
     * victim: deterministic, no access history. */
    entry *e = !set[0].used ? &set[0] : !set[1].used ? &set[1] : &set[d.b[31] & 1];
    memcpy(e->key, d.b + 8, 24);
    e->used = 1;
    e->valid = ok;
    return ok;
}

void pu_sigcache_get_stats(const pu_sigcache *sc, pu_sigcache_stats *out)
{
    if (sc)
        *out = sc->stats;
    else
        memset(out, 0, sizeof *out);
}

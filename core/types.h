/* core/types.h -- error codes, value types and money helpers shared by all of core/.
 *
 * Every fallible function in core/ returns pu_err; results go through
 * out-parameters.  Consensus failures carry a finer pu_reason (core/reason.h). */
#ifndef PU_TYPES_H
#define PU_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define PU_NODISCARD __attribute__((warn_unused_result))

typedef enum pu_err {
    PU_OK = 0,
    PU_ERR_NOMEM,    /* allocation failed */
    PU_ERR_IO,       /* file or OS error */
    PU_ERR_PARSE,    /* malformed bytes or text */
    PU_ERR_RANGE,    /* value outside its allowed range (incl. overflow) */
    PU_ERR_INVALID,  /* well-formed, but breaks a consensus rule; see pu_reason */
    PU_ERR_DB,       /* SQLite failure; the store keeps the SQLite message */
    PU_ERR_NOTFOUND, /* lookup miss */
    PU_ERR_EXISTS,   /* already present */
    PU_ERR_CRYPTO,   /* a crypto library call failed (not a bad signature) */
    PU_ERR_STATE,    /* call not allowed in the object's current state */
} pu_err;

/** Discard a result on purpose (a cast does not silence warn_unused_result).
 * Say why at the call site. */
#define PU_IGNORE(expr) do { pu_err pu_ignored_ = (expr); (void)pu_ignored_; } while (0)

/** Static string for an error code: never NULL, never freed. */
const char *pu_strerror(pu_err e);

/** 32 raw bytes: SHA-256 digests, txids, block hashes, task ids. */
typedef struct pu_hash32 { uint8_t b[32]; } pu_hash32;

/** 20-byte address: first 20 bytes of SHA-256(compressed public key). */
typedef struct pu_addr { uint8_t b[20]; } pu_addr;

/** A transaction output reference. */
typedef struct pu_outpoint { pu_hash32 txid; uint32_t index; } pu_outpoint;

/* Money: int64 base units.  PU_MAX_MONEY bounds any single amount or sum so
 * that overflow checks are simple and sums of valid amounts never wrap. */
typedef int64_t pu_amount;
#define PU_COIN      INT64_C(100000000)
#define PU_MAX_MONEY (INT64_C(21000000) * PU_COIN)

static inline bool pu_amount_valid(pu_amount a) { return a >= 0 && a <= PU_MAX_MONEY; }

/** out = a + b; PU_ERR_RANGE unless both and the sum lie in [0, PU_MAX_MONEY]. */
static inline PU_NODISCARD pu_err pu_amount_add(pu_amount a, pu_amount b, pu_amount *out)
{
    if (!pu_amount_valid(a) || !pu_amount_valid(b) || a > PU_MAX_MONEY - b)
        return PU_ERR_RANGE;
    *out = a + b;
    return PU_OK;
}

static inline bool pu_hash_eq(const pu_hash32 *a, const pu_hash32 *b)
{
    for (int i = 0; i < 32; i++)
        if (a->b[i] != b->b[i])
            return false;
    return true;
}

static inline bool pu_hash_is_zero(const pu_hash32 *a)
{
    for (int i = 0; i < 32; i++)
        if (a->b[i])
            return false;
    return true;
}

/** 64-bit fingerprint of a hash (its first 8 bytes), for hash tables.
 * Safe because keys are SHA-256 outputs: not attacker-controlled bit patterns. */
static inline uint64_t pu_hash_fp(const pu_hash32 *h)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h->b[i];
    return v;
}

#endif

/* core/u256.h -- 256-bit unsigned integers for targets and chain work.
 *
 * Plain value type: four 64-bit limbs, little-endian limb order (w[0] least
 * significant).  Conversions to and from pu_hash32 read the 32 bytes as a
 * big-endian number (b[0] most significant), which is how pouwsim compares a
 * block hash with its target (PROTOCOL.md s3).  Only the operations consensus needs. */
#ifndef PU_U256_H
#define PU_U256_H

#include "core/types.h"

typedef struct pu_u256 { uint64_t w[4]; } pu_u256;

void pu_u256_from_u64(uint64_t v, pu_u256 *out);
void pu_u256_from_hash(const pu_hash32 *h, pu_u256 *out);
void pu_u256_to_hash(const pu_u256 *a, pu_hash32 *out);
int  pu_u256_cmp(const pu_u256 *a, const pu_u256 *b);
bool pu_u256_is_zero(const pu_u256 *a);
/** out = a + b; returns true on overflow (out wraps). */
bool pu_u256_add(const pu_u256 *a, const pu_u256 *b, pu_u256 *out);
/** out = a * m; returns true on overflow. */
bool pu_u256_mul64(const pu_u256 *a, uint64_t m, pu_u256 *out);
/** out = a / d (d != 0). */
void pu_u256_div64(const pu_u256 *a, uint64_t d, pu_u256 *out);
/** Number of significant bits (0 for zero). */
unsigned pu_u256_bits(const pu_u256 *a);
/** Work of a target: floor(2^256 / (target + 1)), as Bitcoin defines it. */
void pu_u256_work(const pu_u256 *target, pu_u256 *out);
/** Approximate value as a double (metrics only, never consensus). */
double pu_u256_to_double(const pu_u256 *a);

/** Compact "bits" (Bitcoin nBits) -> target.  PU_ERR_RANGE for a negative or
 * overflowing encoding, or a zero target. */
PU_NODISCARD pu_err pu_target_from_bits(uint32_t bits, pu_u256 *out);
/** Target -> normalised compact bits (rounds down, like Bitcoin's GetCompact). */
uint32_t pu_bits_from_target(const pu_u256 *t);

#endif

/* core/mix.h -- one 64-bit mixer for hashing integers and counter-mode draws.
 *
 * SplitMix64's output function: xor-shift-multiply rounds with odd
 * constants, a bijection on 64-bit words whose every output bit depends on
 * every input bit.  Pure integer arithmetic, so every machine agrees. */
#ifndef PU_MIX_H
#define PU_MIX_H

#include <stdint.h>

/** Adding this odd constant between calls walks all 2^64 inputs
 * (SplitMix64's increment). */
#define PU_MIX_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t pu_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

#endif

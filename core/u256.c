/* core/u256.c -- 256-bit arithmetic for targets and work. */
#include "core/u256.h"

#include <string.h>

void pu_u256_from_u64(uint64_t v, pu_u256 *out)
{
    memset(out, 0, sizeof *out);
    out->w[0] = v;
}

void pu_u256_from_hash(const pu_hash32 *h, pu_u256 *out)
{
    for (int limb = 0; limb < 4; limb++) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = (v << 8) | h->b[(3 - limb) * 8 + i];
        out->w[limb] = v;
    }
}

void pu_u256_to_hash(const pu_u256 *a, pu_hash32 *out)
{
    for (int limb = 0; limb < 4; limb++)
        for (int i = 0; i < 8; i++)
            out->b[(3 - limb) * 8 + i] = (uint8_t)(a->w[limb] >> (56 - 8 * i));
}

int pu_u256_cmp(const pu_u256 *a, const pu_u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

bool pu_u256_is_zero(const pu_u256 *a)
{
    return !(a->w[0] | a->w[1] | a->w[2] | a->w[3]);
}

bool pu_u256_add(const pu_u256 *a, const pu_u256 *b, pu_u256 *out)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->w[i] + carry;
        uint64_t c1 = s < carry;
        uint64_t t = s + b->w[i];
        carry = c1 | (t < s);
        out->w[i] = t;
    }
    return carry != 0;
}

bool pu_u256_mul64(const pu_u256 *a, uint64_t m, pu_u256 *out)
{
    unsigned __int128 carry = 0;
    pu_u256 r;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 p = (unsigned __int128)a->w[i] * m + carry;
        r.w[i] = (uint64_t)p;
        carry = p >> 64;
    }
    *out = r;
    return carry != 0;
}

void pu_u256_div64(const pu_u256 *a, uint64_t d, pu_u256 *out)
{
    unsigned __int128 rem = 0;
    pu_u256 q;
    for (int i = 3; i >= 0; i--) {
        unsigned __int128 cur = (rem << 64) | a->w[i];
        q.w[i] = (uint64_t)(cur / d);
        rem = cur % d;
    }
    *out = q;
}

unsigned pu_u256_bits(const pu_u256 *a)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i])
            return (unsigned)(64 * i + 64 - __builtin_clzll(a->w[i]));
    return 0;
}

static void shl1(pu_u256 *a)
{
    for (int i = 3; i > 0; i--)
        a->w[i] = (a->w[i] << 1) | (a->w[i - 1] >> 63);
    a->w[0] <<= 1;
}

static void sub(pu_u256 *a, const pu_u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t t = a->w[i] - b->w[i] - borrow;
        borrow = (a->w[i] < b->w[i]) || (a->w[i] - b->w[i] < borrow);
        a->w[i] = t;
    }
}

/* floor(n / d) by shift-and-subtract; d != 0.  Only used once per block
 * (work of its target), so clarity beats speed here. */
static void divmod(const pu_u256 *n, const pu_u256 *d, pu_u256 *q)
{
    pu_u256 rem, quo;
    memset(&rem, 0, sizeof rem);
    memset(&quo, 0, sizeof quo);
    for (int bit = 255; bit >= 0; bit--) {
        bool top = rem.w[3] >> 63;
        shl1(&rem);
        rem.w[0] |= (n->w[bit / 64] >> (bit % 64)) & 1;
        if (top || pu_u256_cmp(&rem, d) >= 0) {
            sub(&rem, d);
            quo.w[bit / 64] |= UINT64_C(1) << (bit % 64);
        }
    }
    *q = quo;
}

void pu_u256_work(const pu_u256 *target, pu_u256 *out)
{
    /* 2^256 / (t+1) = (2^256 - (t+1)) / (t+1) + 1, and 2^256-(t+1) = ~t. */
    pu_u256 t1, nt, one;
    pu_u256_from_u64(1, &one);
    if (pu_u256_add(target, &one, &t1)) { /* t = 2^256-1: work is 1 */
        *out = one;
        return;
    }
    for (int i = 0; i < 4; i++)
        nt.w[i] = ~target->w[i];
    divmod(&nt, &t1, out);
    (void)pu_u256_add(out, &one, out);
}

double pu_u256_to_double(const pu_u256 *a)
{
    double r = 0;
    for (int i = 3; i >= 0; i--)
        r = r * 18446744073709551616.0 + (double)a->w[i];
    return r;
}

pu_err pu_target_from_bits(uint32_t bits, pu_u256 *out)
{
    uint32_t exp = bits >> 24, mant = bits & 0x007fffff;
    memset(out, 0, sizeof *out);
    if (bits & 0x00800000) /* sign bit: negative targets are invalid */
        return PU_ERR_RANGE;
    if (exp <= 3) {
        mant >>= 8 * (3 - exp);
        out->w[0] = mant;
    } else {
        unsigned shift = 8 * (exp - 3);
        if (!mant)
            return PU_ERR_RANGE;
        if ((shift >= 256 || pu_u256_bits(&(pu_u256){{mant, 0, 0, 0}}) + shift > 256))
            return PU_ERR_RANGE;
        /* mant << shift, shift < 256 - 23 here: whole limbs, then bits */
        unsigned limb = shift / 64, bit = shift % 64;
        out->w[limb] = (uint64_t)mant << bit;
        if (bit && limb < 3)
            out->w[limb + 1] = (uint64_t)mant >> (64 - bit);
    }
    return pu_u256_is_zero(out) ? PU_ERR_RANGE : PU_OK;
}

uint32_t pu_bits_from_target(const pu_u256 *t)
{
    unsigned size = (pu_u256_bits(t) + 7) / 8;
    uint32_t mant;
    if (size <= 3) {
        mant = (uint32_t)(t->w[0] << 8 * (3 - size));
    } else {
        pu_u256 s = *t;
        unsigned shift = 8 * (size - 3);
        for (int i = 0; i < 4; i++) { /* right shift by `shift` bits */
            unsigned src = (unsigned)i * 64 + shift;
            uint64_t lo = src / 64 < 4 ? t->w[src / 64] >> (src % 64) : 0;
            uint64_t hi = (src % 64 && src / 64 + 1 < 4) ? t->w[src / 64 + 1] << (64 - src % 64) : 0;
            s.w[i] = lo | hi;
        }
        mant = (uint32_t)s.w[0];
    }
    if (mant & 0x00800000) { /* keep the sign bit clear */
        mant >>= 8;
        size++;
    }
    return (uint32_t)size << 24 | (mant & 0x007fffff);
}

/* core/hmap.c -- linear probing, power-of-two capacity, load <= 3/4. */
#include "core/hmap.h"

#include <stdlib.h>
#include <string.h>

struct pu_hmap {
    size_t key_size, val_size, slot_size;
    size_t cap;   /* power of two */
    size_t count;
    uint8_t *slots; /* each: used byte | key | value */
};

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* native order is fine: the hash never leaves memory */
    return v;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static uint64_t hash_of(const pu_hmap *m, const void *key)
{
    const uint8_t *k = key;
    return mix(load64(k) ^ mix(load64(k + m->key_size - 8)));
}

static size_t slot_of(const pu_hmap *m, const void *key)
{
    return (size_t)(hash_of(m, key) & (m->cap - 1));
}

/* The used byte of a slot holds 7 more bits of the hash (never 0), so most
 * probes of other keys are rejected without comparing whole keys. */
static uint8_t tag_of(uint64_t h) { return (uint8_t)((h >> 57) | 1); }

static uint8_t *slot_at(const pu_hmap *m, size_t i) { return m->slots + i * m->slot_size; }

pu_err pu_hmap_new(size_t key_size, size_t val_size, size_t initial, pu_hmap **out)
{
    *out = NULL;
    if (key_size < 8)
        return PU_ERR_RANGE;
    pu_hmap *m = calloc(1, sizeof *m);
    if (!m)
        return PU_ERR_NOMEM;
    m->key_size = key_size;
    m->val_size = val_size;
    /* keep values 8-byte aligned for callers that store structs */
    m->slot_size = (1 + key_size + 7) / 8 * 8 + (val_size + 7) / 8 * 8;
    m->cap = 16;
    while (m->cap * 3 / 4 < initial)
        m->cap *= 2;
    m->slots = calloc(m->cap, m->slot_size);
    if (!m->slots) {
        free(m);
        return PU_ERR_NOMEM;
    }
    *out = m;
    return PU_OK;
}

void pu_hmap_free(pu_hmap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static size_t val_off(const pu_hmap *m) { return (1 + m->key_size + 7) / 8 * 8; }

static bool find(const pu_hmap *m, const void *key, size_t *pos)
{
    uint64_t h = hash_of(m, key);
    uint8_t tag = tag_of(h);
    size_t i = (size_t)(h & (m->cap - 1));
    for (;;) {
        uint8_t *s = slot_at(m, i);
        if (!s[0]) {
            *pos = i;
            return false;
        }
        if (s[0] == tag && memcmp(s + 1, key, m->key_size) == 0) {
            *pos = i;
            return true;
        }
        i = (i + 1) & (m->cap - 1);
    }
}

void *pu_hmap_get(const pu_hmap *m, const void *key)
{
    size_t pos;
    return find(m, key, &pos) ? slot_at(m, pos) + val_off(m) : NULL;
}

static pu_err resize(pu_hmap *m, size_t cap)
{
    size_t old_cap = m->cap;
    uint8_t *old = m->slots;
    uint8_t *slots = calloc(cap, m->slot_size);
    if (!slots)
        return PU_ERR_NOMEM;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        uint8_t *s = old + i * m->slot_size;
        if (!s[0])
            continue;
        size_t pos;
        (void)find(m, s + 1, &pos);
        memcpy(slot_at(m, pos), s, m->slot_size);
    }
    free(old);
    return PU_OK;
}

pu_err pu_hmap_put(pu_hmap *m, const void *key, void **val, bool *created)
{
    size_t pos;
    if (find(m, key, &pos)) {
        *val = slot_at(m, pos) + val_off(m);
        if (created)
            *created = false;
        return PU_OK;
    }
    if ((m->count + 1) * 4 > m->cap * 3) {
        pu_err rc = resize(m, m->cap * 2);
        if (rc != PU_OK)
            return rc;
        (void)find(m, key, &pos);
    }
    uint8_t *s = slot_at(m, pos);
    memset(s, 0, m->slot_size);
    s[0] = tag_of(hash_of(m, key));
    memcpy(s + 1, key, m->key_size);
    m->count++;
    *val = s + val_off(m);
    if (created)
        *created = true;
    return PU_OK;
}

pu_err pu_hmap_remove(pu_hmap *m, const void *key, void *old_val)
{
    size_t pos;
    if (!find(m, key, &pos))
        return PU_ERR_NOTFOUND;
    if (old_val && m->val_size)
        memcpy(old_val, slot_at(m, pos) + val_off(m), m->val_size);
    /* Backward-shift: pull later members of the probe run into the hole. */
    size_t hole = pos, i = pos;
    for (;;) {
        i = (i + 1) & (m->cap - 1);
        uint8_t *s = slot_at(m, i);
        if (!s[0])
            break;
        size_t home = slot_of(m, s + 1);
        /* s may move into the hole iff its home is not within (hole, i]. */
        bool between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!between) {
            memcpy(slot_at(m, hole), s, m->slot_size);
            hole = i;
        }
    }
    memset(slot_at(m, hole), 0, m->slot_size);
    m->count--;
    return PU_OK;
}

size_t pu_hmap_count(const pu_hmap *m) { return m->count; }

pu_err pu_hmap_reserve(pu_hmap *m, size_t count)
{
    size_t cap = m->cap;
    while ((count + 1) * 4 > cap * 3) /* the put rule: (count + 1) * 4 <= cap * 3 */
        cap *= 2;
    return cap == m->cap ? PU_OK : resize(m, cap);
}

void pu_hmap_clear(pu_hmap *m)
{
    memset(m->slots, 0, m->cap * m->slot_size);
    m->count = 0;
}

size_t pu_hmap_bytes(const pu_hmap *m) { return sizeof *m + m->cap * m->slot_size; }

bool pu_hmap_next(const pu_hmap *m, size_t *cursor, const void **key, void **val)
{
    for (size_t i = *cursor; i < m->cap; i++) {
        uint8_t *s = slot_at(m, i);
        if (s[0]) {
            *cursor = i + 1;
            *key = s + 1;
            *val = s + val_off(m);
            return true;
        }
    }
    *cursor = m->cap;
    return false;
}

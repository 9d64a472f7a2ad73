/* core/params.c -- defaults for pu_params. */
#include "core/params.h"

#include <string.h>

#include "core/bytes.h"

/* The tripwire for pu_params_encode: a field added to pu_params changes the
 * struct's size; extend the encoding (and PU_PARAMS_VERSION), then this. */
_Static_assert(sizeof(pu_params) == 144, "pu_params changed: extend pu_params_encode");

void pu_params_set_hashes(pu_params *p, uint64_t hashes)
{
    pu_u256 max;
    memset(&max, 0xff, sizeof max);
    if (hashes < 1)
        hashes = 1;
    pu_u256_div64(&max, hashes, &p->pow_limit);
}

void pu_params_default(pu_params *p)
{
    memset(p, 0, sizeof *p);
    p->block_reward = 1250000000;  /* 12.5 coins */
    p->halving_interval = 0;
    p->min_fee = 10000;            /* 0.0001 coin */
    p->mempool_capacity = 10000;
    p->max_block_size = 1000000;
    p->coinbase_maturity = 100;
    p->mtp_window = 11;
    p->max_future_s = 7200;
    p->orphan_limit = 100;
    p->target_spacing_s = 600;
    p->retarget_interval = 2016;
    p->retarget_clamp = 4;
    p->fixed_target = false;
    pu_params_set_hashes(p, 256);
    /* a = max(1, floor(w_B * batch bytes + w_M * parameters)): ~190 nonces
     * per iteration for the seed task (100 x 785-byte examples, 109,386
     * parameters) -- the "small, bounded number of nonces" of the seed */
    p->pouw_commit_lag = 5;
    p->pouw_w_batch_e9 = 1000000;
    p->pouw_w_param_e9 = 1000000;
}

pu_amount pu_params_reward(const pu_params *p, uint32_t height)
{
    if (!p->halving_interval)
        return p->block_reward;
    uint32_t halvings = height / p->halving_interval;
    return halvings >= 63 ? 0 : p->block_reward >> halvings;
}

bool pu_params_consensus_eq(const pu_params *a, const pu_params *b)
{
    return a->block_reward == b->block_reward && a->halving_interval == b->halving_interval
           && a->coinbase_maturity == b->coinbase_maturity && a->mtp_window == b->mtp_window
           && a->target_spacing_s == b->target_spacing_s
           && a->retarget_interval == b->retarget_interval
           && a->retarget_clamp == b->retarget_clamp && a->fixed_target == b->fixed_target
           && pu_u256_cmp(&a->pow_limit, &b->pow_limit) == 0
           && a->pouw_commit_lag == b->pouw_commit_lag && a->pouw_w_batch_e9 == b->pouw_w_batch_e9
           && a->pouw_w_param_e9 == b->pouw_w_param_e9 && a->pouw_min_task_fee == b->pouw_min_task_fee;
}

/* Cursor helpers: each writes or reads one field and advances. */
static void w32(uint8_t **o, uint32_t v) { pu_put_be32(*o, v); *o += 4; }
static void w64(uint8_t **o, uint64_t v) { pu_put_be64(*o, v); *o += 8; }
static uint32_t r32(const uint8_t **b) { uint32_t v = pu_get_be32(*b); *b += 4; return v; }
static uint64_t r64(const uint8_t **b) { uint64_t v = pu_get_be64(*b); *b += 8; return v; }

void pu_params_encode(const pu_params *p, uint8_t out[PU_PARAMS_ENCODED_LEN])
{
    uint8_t *o = out;
    pu_hash32 lim;
    *o++ = PU_PARAMS_VERSION;
    w64(&o, (uint64_t)p->block_reward);
    w32(&o, p->halving_interval);
    w64(&o, (uint64_t)p->min_fee);
    w32(&o, p->mempool_capacity);
    w32(&o, p->max_block_size);
    w32(&o, p->coinbase_maturity);
    w32(&o, p->mtp_window);
    w64(&o, p->max_future_s);
    w32(&o, p->orphan_limit);
    w64(&o, p->target_spacing_s);
    w32(&o, p->retarget_interval);
    w32(&o, p->retarget_clamp);
    *o++ = p->fixed_target ? 1 : 0;
    pu_u256_to_hash(&p->pow_limit, &lim);
    memcpy(o, lim.b, 32);
    o += 32;
    w32(&o, p->pouw_commit_lag);
    w64(&o, p->pouw_w_batch_e9);
    w64(&o, p->pouw_w_param_e9);
    w64(&o, (uint64_t)p->pouw_min_task_fee);
}

pu_err pu_params_decode(const uint8_t *buf, size_t len, pu_params *out)
{
    memset(out, 0, sizeof *out);
    /* byte 65 is fixed_target; version 1 (118 bytes) lacks the last field */
    bool v1 = len == PU_PARAMS_V1_LEN && len && buf[0] == 1;
    if (!v1 && (len != PU_PARAMS_ENCODED_LEN || buf[0] != PU_PARAMS_VERSION))
        return PU_ERR_PARSE;
    if (buf[65] > 1)
        return PU_ERR_PARSE;
    const uint8_t *b = buf + 1;
    pu_hash32 lim;
    out->block_reward = (pu_amount)r64(&b);
    out->halving_interval = r32(&b);
    out->min_fee = (pu_amount)r64(&b);
    out->mempool_capacity = r32(&b);
    out->max_block_size = r32(&b);
    out->coinbase_maturity = r32(&b);
    out->mtp_window = r32(&b);
    out->max_future_s = r64(&b);
    out->orphan_limit = r32(&b);
    out->target_spacing_s = r64(&b);
    out->retarget_interval = r32(&b);
    out->retarget_clamp = r32(&b);
    out->fixed_target = *b++ != 0;
    memcpy(lim.b, b, 32);
    b += 32;
    pu_u256_from_hash(&lim, &out->pow_limit);
    out->pouw_commit_lag = r32(&b);
    out->pouw_w_batch_e9 = r64(&b);
    out->pouw_w_param_e9 = r64(&b);
    out->pouw_min_task_fee = v1 ? 0 : (pu_amount)r64(&b);
    return PU_OK;
}

/* core/params.c -- defaults for pu_params. */
#include "core/params.h"

#include <string.h>

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
           && a->pouw_w_param_e9 == b->pouw_w_param_e9;
}

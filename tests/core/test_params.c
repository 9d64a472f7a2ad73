/* tests/core/test_params.c -- chain parameters: defaults, and the canonical
 * encoding a chain database records (every field at its offset, strict
 * decoding). */
#include <string.h>

#include "core/bytes.h"
#include "core/params.h"
#include "tests/harness.h"

static void test_encoding(void)
{
    pu_params p, q;
    pu_params_default(&p);
    p.block_reward = 0x0102030405060708;
    p.halving_interval = 210000;
    p.max_future_s = 7201;
    p.target_spacing_s = 37;
    p.fixed_target = true;
    p.pouw_w_param_e9 = 0xa1a2a3a4a5a6a7a8u;
    uint8_t b[PU_PARAMS_ENCODED_LEN];
    pu_params_encode(&p, b);
    CU_ASSERT_EQUAL(b[0], PU_PARAMS_VERSION);
    CU_ASSERT_EQUAL(pu_get_be64(b + 1), 0x0102030405060708u);
    CU_ASSERT_EQUAL(pu_get_be32(b + 9), 210000);
    CU_ASSERT_EQUAL(pu_get_be64(b + 13), (uint64_t)p.min_fee);
    CU_ASSERT_EQUAL(pu_get_be64(b + 37), 7201);
    CU_ASSERT_EQUAL(pu_get_be64(b + 49), 37);
    CU_ASSERT_EQUAL(b[65], 1);
    CU_ASSERT_EQUAL(pu_get_be64(b + 110), 0xa1a2a3a4a5a6a7a8u);
    CU_ASSERT_EQUAL_FATAL(pu_params_decode(b, sizeof b, &q), PU_OK);
    uint8_t c[PU_PARAMS_ENCODED_LEN];
    pu_params_encode(&q, c);
    CU_ASSERT_EQUAL(memcmp(b, c, sizeof b), 0);
    CU_ASSERT_EQUAL(q.block_reward, p.block_reward);
    CU_ASSERT(q.fixed_target);
    CU_ASSERT_EQUAL(memcmp(&q.pow_limit, &p.pow_limit, sizeof q.pow_limit), 0);
    /* strict */
    CU_ASSERT_EQUAL(pu_params_decode(b, sizeof b - 1, &q), PU_ERR_PARSE);
    b[65] = 2;
    CU_ASSERT_EQUAL(pu_params_decode(b, sizeof b, &q), PU_ERR_PARSE);
    b[65] = 0;
    b[0] = 3;
    CU_ASSERT_EQUAL(pu_params_decode(b, sizeof b, &q), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(q.block_reward, 0); /* zeroed on failure */
    /* version 1: 118 bytes, no minimum task fee */
    p.pouw_min_task_fee = 7;
    pu_params_encode(&p, b);
    CU_ASSERT_EQUAL(pu_get_be64(b + 118), 7);
    b[0] = 1;
    CU_ASSERT_EQUAL_FATAL(pu_params_decode(b, PU_PARAMS_V1_LEN, &q), PU_OK);
    CU_ASSERT_EQUAL(q.pouw_min_task_fee, 0);
    CU_ASSERT_EQUAL(q.pouw_w_param_e9, p.pouw_w_param_e9);
    CU_ASSERT_EQUAL(pu_params_decode(b, sizeof b, &q), PU_ERR_PARSE); /* version 1 is 118 bytes */
}

static void test_defaults(void)
{
    pu_params p;
    pu_params_default(&p);
    CU_ASSERT_EQUAL(p.block_reward, 1250000000);
    CU_ASSERT_EQUAL(p.min_fee, 10000);
    CU_ASSERT_EQUAL(pu_params_reward(&p, 1000000), p.block_reward);
    p.halving_interval = 10;
    CU_ASSERT_EQUAL(pu_params_reward(&p, 25), p.block_reward / 4);
    CU_ASSERT_EQUAL(pu_params_reward(&p, 10 * 63), 0);
}

TSUITE(params_core)
{
    CU_pSuite s = CU_add_suite("params_core", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_encoding);
    TADD(s, test_defaults);
    return CUE_SUCCESS;
}

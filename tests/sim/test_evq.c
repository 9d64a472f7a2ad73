/* tests/sim/test_evq.c -- ordering, ties, cancellation, and a randomized
 * comparison against a linear-scan reference. */
#include <stdlib.h>
#include <string.h>

#include "sim/evq.h"
#include "tests/harness.h"

static sim_event ev_at(uint64_t at, uint32_t type)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.at_ns = at;
    e.type = type;
    e.node = type * 10;
    e.arg = (uint64_t)type << 40;
    return e;
}

static void test_order_and_ties(void)
{
    sim_evq *q;
    CU_ASSERT_FATAL(sim_evq_new(&q) == PU_OK);
    const uint64_t at[] = {5, 3, 5, 1, 3, 5};
    int payload = 17;
    for (uint32_t i = 0; i < 6; i++) {
        sim_event e = ev_at(at[i], i);
        e.seq = 999; /* ignored */
        e.data = &payload;
        CU_ASSERT_FATAL(sim_evq_push(q, &e, NULL) == PU_OK);
    }
    CU_ASSERT_EQUAL(sim_evq_size(q), 6);
    uint64_t t;
    CU_ASSERT_EQUAL(sim_evq_peek_time(q, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 1);
    const uint32_t want[] = {3, 1, 4, 0, 2, 5};
    for (int i = 0; i < 6; i++) {
        sim_event e;
        CU_ASSERT_FATAL(sim_evq_pop(q, &e) == PU_OK);
        CU_ASSERT_EQUAL(e.type, want[i]);
        CU_ASSERT_EQUAL(e.at_ns, at[want[i]]);
        CU_ASSERT_EQUAL(e.seq, want[i]); /* insertion counter */
        CU_ASSERT_EQUAL(e.node, want[i] * 10);
        CU_ASSERT_EQUAL(e.arg, (uint64_t)want[i] << 40);
        CU_ASSERT(e.data == &payload);
    }
    sim_event e;
    CU_ASSERT_EQUAL(sim_evq_pop(q, &e), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_peek_time(q, &t), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_now(q), 5);
    /* Time may not run backwards; the current instant is fine. */
    e = ev_at(4, 0);
    sim_evq_id id = 123;
    CU_ASSERT_EQUAL(sim_evq_push(q, &e, &id), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(id, SIM_EVQ_NO_ID);
    e = ev_at(5, 0);
    CU_ASSERT_EQUAL(sim_evq_push(q, &e, &id), PU_OK);
    CU_ASSERT(id != SIM_EVQ_NO_ID);
    sim_evq_free(q);
    sim_evq_free(NULL);
}

static void test_cancel(void)
{
    sim_evq *q;
    CU_ASSERT_FATAL(sim_evq_new(&q) == PU_OK);
    sim_evq_id id[8];
    for (uint32_t i = 0; i < 8; i++) {
        sim_event e = ev_at(10 + i, i);
        CU_ASSERT_FATAL(sim_evq_push(q, &e, &id[i]) == PU_OK);
    }
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[0]), PU_OK); /* head */
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[4]), PU_OK); /* middle */
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[7]), PU_OK); /* last */
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[4]), PU_ERR_NOTFOUND); /* twice */
    CU_ASSERT_EQUAL(sim_evq_size(q), 5);
    uint64_t t;
    CU_ASSERT_EQUAL(sim_evq_peek_time(q, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 11);
    sim_event e;
    CU_ASSERT_FATAL(sim_evq_pop(q, &e) == PU_OK);
    CU_ASSERT_EQUAL(e.type, 1);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[1]), PU_ERR_NOTFOUND); /* already fired */
    /* Slots are reused, ids are not: the new event's id differs from the
     * dead ones, and the dead ids still cancel nothing. */
    sim_evq_id nid;
    e = ev_at(50, 99);
    CU_ASSERT_FATAL(sim_evq_push(q, &e, &nid) == PU_OK);
    for (int i = 0; i < 8; i++)
        CU_ASSERT(nid != id[i]);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[1]), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, id[0]), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, SIM_EVQ_NO_ID), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, UINT64_MAX), PU_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sim_evq_cancel(q, ((uint64_t)1 << 32) | 100000), PU_ERR_NOTFOUND);
    const uint32_t want[] = {2, 3, 5, 6, 99};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_FATAL(sim_evq_pop(q, &e) == PU_OK);
        CU_ASSERT_EQUAL(e.type, want[i]);
    }
    CU_ASSERT_EQUAL(sim_evq_size(q), 0);
    sim_evq_free(q);
}

/* Reference: live events in an array, minimum found by a linear scan. */
typedef struct ref_ev { uint64_t at, seq, id; uint32_t type; } ref_ev;

static uint64_t xs_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t ref_min(const ref_ev *r, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (r[i].at < r[b].at || (r[i].at == r[b].at && r[i].seq < r[b].seq))
            b = i;
    return b;
}

typedef struct rstate {
    sim_evq *q;
    ref_ev *ref;
    size_t n;
    uint64_t seq, now, rng;
    uint64_t *dead; /* ids of fired/cancelled events, a ring */
    size_t ndead;
    int bad;
} rstate;

static void r_push(rstate *st)
{
    /* Times in a narrow window so that ties are frequent. */
    sim_event e = ev_at(st->now + xs_next(&st->rng) % 40, (uint32_t)st->seq);
    sim_evq_id id;
    if (sim_evq_push(st->q, &e, &id) != PU_OK) {
        st->bad++;
        return;
    }
    for (size_t i = 0; i < st->n; i++) /* never the id of a live event */
        st->bad += st->ref[i].id == id;
    st->ref[st->n++] = (ref_ev){e.at_ns, st->seq++, id, e.type};
}

static void r_kill(rstate *st, size_t i)
{
    st->dead[st->ndead++ % 1024] = st->ref[i].id;
    st->ref[i] = st->ref[--st->n];
}

static void r_pop(rstate *st)
{
    sim_event e;
    pu_err rc = sim_evq_pop(st->q, &e);
    if (st->n == 0) {
        st->bad += rc != PU_ERR_NOTFOUND;
        return;
    }
    size_t b = ref_min(st->ref, st->n);
    st->bad += rc != PU_OK || e.at_ns != st->ref[b].at || e.seq != st->ref[b].seq ||
               e.type != st->ref[b].type;
    st->now = st->ref[b].at;
    r_kill(st, b);
}

static void r_cancel(rstate *st)
{
    if (st->n > 0 && xs_next(&st->rng) % 2) {
        size_t i = xs_next(&st->rng) % st->n;
        st->bad += sim_evq_cancel(st->q, st->ref[i].id) != PU_OK;
        r_kill(st, i);
    } else if (st->ndead > 0) {
        size_t k = xs_next(&st->rng) % (st->ndead < 1024 ? st->ndead : 1024);
        st->bad += sim_evq_cancel(st->q, st->dead[k]) != PU_ERR_NOTFOUND;
    }
}

static void test_randomized_vs_reference(void)
{
    rstate st;
    memset(&st, 0, sizeof st);
    st.rng = 0x1234567;
    st.ref = malloc(4096 * sizeof *st.ref);
    st.dead = malloc(1024 * sizeof *st.dead);
    CU_ASSERT_FATAL(st.ref && st.dead && sim_evq_new(&st.q) == PU_OK);
    for (int op = 0; op < 100000; op++) {
        uint64_t r = xs_next(&st.rng) % 100;
        /* Drift between growing and shrinking phases. */
        uint64_t push_bias = (op / 5000) % 2 ? 30 : 55;
        if (r < push_bias && st.n < 4000)
            r_push(&st);
        else if (r < 85)
            r_pop(&st);
        else
            r_cancel(&st);
        if (sim_evq_size(st.q) != st.n)
            st.bad++;
    }
    while (st.n > 0)
        r_pop(&st);
    r_pop(&st); /* empty */
    CU_ASSERT_EQUAL(st.bad, 0);
    CU_ASSERT(st.seq > 30000);
    sim_evq_free(st.q);
    free(st.ref);
    free(st.dead);
}

static void test_many_pending(void)
{
    sim_evq *q;
    CU_ASSERT_FATAL(sim_evq_new(&q) == PU_OK);
    uint64_t s = 99;
    for (uint32_t i = 0; i < 200000; i++) {
        sim_event e = ev_at(xs_next(&s) % 1000000, i);
        CU_ASSERT_FATAL(sim_evq_push(q, &e, NULL) == PU_OK);
    }
    uint64_t last_at = 0, last_seq = 0;
    int bad = 0;
    sim_event e;
    for (uint32_t i = 0; i < 200000; i++) {
        if (sim_evq_pop(q, &e) != PU_OK) {
            bad++;
            break;
        }
        if (i > 0 && (e.at_ns < last_at || (e.at_ns == last_at && e.seq < last_seq)))
            bad++;
        last_at = e.at_ns;
        last_seq = e.seq;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(sim_evq_size(q), 0);
    sim_evq_free(q);
}

TSUITE(evq)
{
    CU_pSuite s = CU_add_suite("evq", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_order_and_ties);
    TADD(s, test_cancel);
    TADD(s, test_randomized_vs_reference);
    TADD(s, test_many_pending);
    return CUE_SUCCESS;
}

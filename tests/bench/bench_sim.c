/* tests/bench/bench_sim.c -- whole-simulator speed: events/s, wall time,
 * memory per node, for the shipped scenarios (not a test: prints figures).
 *
 *   bench_sim [FILE.yaml [key=value ...]]   default: scenarios/quickstart.yaml */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sim/scenario.h"
#include "sim/sim.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "scenarios/quickstart.yaml";
    sim_params p;
    char *text = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_scenario_load_with(file, (const char *const *)(argv + 2), argc > 2 ? (size_t)argc - 2 : 0,
                               &p, &text, &d) != PU_OK) {
        char buf[600];
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        return 2;
    }
    double t0 = wall();
    sim_run_opts o = {"", NULL, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    sim_summary s;
    char err[300];
    if (sim_new(&p, text, &o, &ctx, err, sizeof err) != PU_OK
        || sim_run(ctx, &s, err, sizeof err) != PU_OK) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return 1;
    }
    double w = wall() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("scenario %s: %llu nodes, %.0f s simulated\n", file, (unsigned long long)s.nodes,
           (double)s.end_ns / 1e9);
    printf("  wall %.2f s, %llu events, %.0f events/s, %.1f simulated s per wall s\n", w,
           (unsigned long long)s.events, s.events / w, (double)s.end_ns / 1e9 / w);
    printf("  blocks %llu, stale rate %.3f %%, propagation to 50 %% median %.3f s, to 90 %% median %.3f s\n",
           (unsigned long long)s.blocks_mined, 100 * s.stale_rate, s.prop50_median_s, s.prop90_median_s);
    printf("  messages %llu (%.1f MB), transactions %llu\n", (unsigned long long)s.messages,
           s.message_bytes / 1e6, (unsigned long long)s.txs_created);
    printf("  ledger state per node %.1f kB; peak RSS %.1f MB (%.1f kB per node)\n",
           s.mem_bytes_per_node / 1e3, ru.ru_maxrss / 1024.0, ru.ru_maxrss / (double)s.nodes);
    sim_free(ctx);
    sim_params_release(&p);
    free(text);
    return 0;
}

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
    sim_perf pf;
    sim_perf_get(ctx, &pf);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
                 + ru.ru_stime.tv_usec / 1e6;
    printf("  cpu %.2f s (user+sys), %.0f events per cpu s\n", cpu, s.events / cpu);
    printf("  signatures: %llu checks, %llu verified (%.0f verifications/s of wall); blocks: %llu "
           "validated, %llu verdicts shared\n",
           (unsigned long long)pf.sig_checks, (unsigned long long)pf.sig_verifications,
           pf.sig_verifications / w, (unsigned long long)pf.blocks_validated,
           (unsigned long long)pf.verdicts_shared);
    printf("  ledger state per node %.1f kB (own %.1f kB + shared %.1f MB / nodes)%s", s.mem_bytes_per_node / 1e3,
           pf.nodes_bytes / 1e3 / (double)s.nodes, pf.shared_bytes / 1e6, pf.flood_bytes ? "" : "\n");
    if (pf.flood_bytes)
        printf("; flood %.1f MB (%llu floods)\n", pf.flood_bytes / 1e6, (unsigned long long)pf.flood_profiles);
    printf("  peak RSS %.1f MB (%.1f kB per node)\n", ru.ru_maxrss / 1024.0, ru.ru_maxrss / (double)s.nodes);
    sim_free(ctx);
    sim_params_release(&p);
    free(text);
    return 0;
}

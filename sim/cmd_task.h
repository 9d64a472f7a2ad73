/* sim/cmd_task.h -- `pouwsim import-task FILE.json`: a task definition of the
 * seed's Python implementation (elfateh4/PoUW: the examples/NAME_task.json
 * shape, or an MLTask.to_dict() with task_id, fee, client_id, created_at
 * and complexity_score besides) printed as the `pouw.task` section of a
 * scenario.
 *
 * Carried over: architecture (input, hidden widths, output), the data set
 * (MNIST or Fashion-MNIST when named and the shape fits, else a seeded
 * synthetic set of the same shape with the file's size and training share), batch size, the
 * learning rate (and momentum of SGD), the iteration budget (max_epochs
 * converted to iterations: one pass over the training examples per epoch),
 * min_accuracy, and the fee.  Every value is checked by the scenario key
 * table before it is printed.  Every field that cannot be carried over gets
 * one warning on `err` ("FILE: warning: FIELD: why"): other optimisers and
 * their state, early stopping, validation splits, data shard hashes, GPU
 * hints, wall-clock estimates, text ids, client ids, the Python complexity
 * score, decimal values finer than pouwsim's exact units (rounded, and
 * said so), and any field this table does not know.
 *
 * Exit status: 0 printed (warnings or not); 2 the file cannot be read, is
 * not JSON, or has no architecture to convert; 1 out of memory. */
#ifndef SIM_CMD_TASK_H
#define SIM_CMD_TASK_H

#include <stdio.h>

int sim_cmd_import_task(int argc, char **argv, FILE *out, FILE *err);

extern const char sim_cmd_import_task_usage[];

#endif

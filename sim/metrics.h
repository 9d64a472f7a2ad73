/* sim/metrics.h -- what a run records (the HDF5 layout is documented
 * dataset by dataset in analysis/README.md).  The functions are internal to
 * the simulator core and declared in sim/sim_int.h; this header only names
 * the layout version written to /run. */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

/* Bump when a dataset or column changes meaning. */
#define SIM_METRICS_LAYOUT 2

#endif

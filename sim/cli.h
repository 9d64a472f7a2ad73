/* sim/cli.h -- the `pouwsim` command line.  The only module that prints to
 * stdout, reads the wall clock or exits (STYLE). */
#ifndef SIM_CLI_H
#define SIM_CLI_H

/** Runs a command; returns the process exit status (0 ok, 1 run failure,
 * 2 bad input or usage). */
int sim_cli_main(int argc, char **argv);

#endif

/* profile.h: the profiling collector's hooks for run loops (internal; the API that reads the
 * collected numbers is in symbench.h, "Profiling").
 *
 * A run loop costs one predictable branch per step while profiling is off:
 *
 *     st = sb_prof_on ? run_step_profiled(...) : run_step(...);
 *
 * and the profiled variant brackets the step:
 *
 *     double t0 = sb_prof_begin();
 *     st = run_step(...);
 *     sb_prof_end(t0, node_id, st ? NULL : "matmul", out_bytes, allocated);
 *
 * Steps and runs nest (the CPU plan runs ifelse through the reference evaluator): only the
 * outermost step and the outermost run are recorded, so nothing is counted twice. The collector
 * is process-wide and not thread-safe: record from one thread. */
#ifndef SB_CORE_PROFILE_H
#define SB_CORE_PROFILE_H

#include "symbench.h"

/* True while sb_profile_enable(true) is in force (read by run loops; set it only through
 * sb_profile_enable). */
extern bool sb_prof_on;

/* Monotonic clock in seconds. */
double sb_prof_clock(void);
/* Open a step: returns its start time. */
double sb_prof_begin(void);
/* Close the step opened at t0 and record it when it is the outermost one: op labels it (an op
 * name, "fused{exp,log1p}", "gemm", ...; NULL = the step failed: record nothing), node is the
 * node it computed, bytes the size of its output, allocated whether it took new memory. */
void sb_prof_end(double t0, uint32_t node, const char *op, size_t bytes, bool allocated);
/* Open / close a run (one evaluation of a program); pool_bytes = the memory the program holds
 * for its values after the run (0 = none kept). Only outermost runs are recorded. */
double sb_prof_run_begin(void);
void sb_prof_run_end(double t0, size_t pool_bytes);

#endif

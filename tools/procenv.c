/* procenv.c: the process environment the compute commands want, chosen before any work.
 *
 * OpenBLAS picks its kernels and libgomp its waiting policy when they load, before main(), from
 * OPENBLAS_CORETYPE, OMP_WAIT_POLICY and GOMP_SPINCOUNT. Two settings of this machine's kind
 * hurt us:
 *   - OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU: AVX2 kernels at half the speed of SkylakeX's;
 *   - libgomp's waiting. A training step is a chain of parallel loops (GEMMs, fused groups) with
 *     short serial steps between them. Threads that sleep at once (passive) must be woken for
 *     every loop: 20-100 us each on this VM (an idle vCPU halts), measured 3 us when the thread
 *     still spins. Threads that spin long (libgomp's default, 300000 spins, or active) burn the
 *     time slices the working thread needs when the machine is busy: an MLP step measured
 *     151 ms spinning against 12 ms passive at load 11 on 2 cores.
 * So the waiting policy follows the machine: when nothing else is runnable (/proc/loadavg's
 * running count is this process alone) and the last minute was not busy (1-minute load average
 * below the online CPUs plus one: it counts our own earlier runs too, so a series of benchmarks
 * does not talk itself out of spinning), threads spin SB_SPINCOUNT times (a few hundred
 * microseconds, longer than the serial gaps inside a step) and then sleep; otherwise they sleep
 * at once (OMP_WAIT_POLICY=passive). An environment that sets OMP_WAIT_POLICY or GOMP_SPINCOUNT
 * keeps its setting; `symbench bench --omp-wait spin|passive|active` forces one.
 * A compute command re-executes itself once (/proc/self/exe, same arguments) with the settings
 * it wants; SB_REEXEC marks the second process so it never loops; SB_KEEP_ENV=1 opts out. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SB_SPINCOUNT "10000" /* libgomp spins before sleeping (about 150-350 us measured here) */

/* Set name=value unless it already holds value (case-insensitive); true when changed. */
static bool set_if_differs(const char *name, const char *value)
{
    const char *cur = getenv(name);
    if (!value || (cur && !strcasecmp(cur, value))) return false;
    setenv(name, value, 1);
    return true;
}

/* The waiting policy to use: "spin" (GOMP_SPINCOUNT=SB_SPINCOUNT, no OMP_WAIT_POLICY),
 * "passive" or "active"; NULL = keep the environment's. */
static const char *choose_wait(const char *asked)
{
    if (asked) return asked;
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return NULL;
    double load = 0;
    int fewest = 1 << 30; /* the running count, least of 5 looks 1 ms apart (a snapshot can
                             catch a process that is just starting or exiting) */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    for (int k = 0; k < 5; k++) {
        int running = 0, total = 0;
        FILE *f = fopen("/proc/loadavg", "r");
        if (f && fscanf(f, "%lf %*f %*f %d/%d", &load, &running, &total) == 3 && running < fewest)
            fewest = running;
        if (f) fclose(f);
        if (fewest <= 1) break;
        usleep(1000);
    }
    return fewest <= 1 && load < (double)ncpu + 1 ? "spin" : "passive";
}

int sb_cmd_tune_env(int argc, char **argv, const char *core, bool keep_core, const char *wait)
{
    if (getenv("SB_REEXEC") || getenv("SB_KEEP_ENV")) return 0;
    __builtin_cpu_init();
    const char *want_core = keep_core ? NULL
                          : core      ? core
                          : __builtin_cpu_supports("avx512f") ? "SkylakeX" : NULL;
    bool again = set_if_differs("OPENBLAS_CORETYPE", want_core);
    const char *w = choose_wait(wait);
    if (w && !strcasecmp(w, "spin")) {
        again |= getenv("OMP_WAIT_POLICY") != NULL;
        unsetenv("OMP_WAIT_POLICY");
        again |= set_if_differs("GOMP_SPINCOUNT", SB_SPINCOUNT);
    } else if (w) {
        again |= set_if_differs("OMP_WAIT_POLICY", w);
    }
    if (!again) return 0;
    setenv("SB_REEXEC", "1", 1);
    char *args[argc + 2];
    args[0] = "symbench";
    for (int i = 0; i < argc; i++) args[1 + i] = argv[i];
    args[argc + 1] = NULL;
    fflush(NULL);
    execv("/proc/self/exe", args);
    perror("symbench: re-executing with OPENBLAS_CORETYPE / OpenMP waiting");
    return 0; /* go on with the current settings */
}

/* The OpenMP waiting in force, for reports: "spin N then sleep", "passive", "active" or
 * "default". */
const char *sb_cmd_wait_desc(char *buf, size_t n)
{
    const char *p = getenv("OMP_WAIT_POLICY"), *sc = getenv("GOMP_SPINCOUNT");
    if (p) snprintf(buf, n, "%s", p);
    else if (sc) snprintf(buf, n, "spin %s then sleep", sc);
    else snprintf(buf, n, "default");
    return buf;
}

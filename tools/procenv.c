/* procenv.c: the process environment the compute commands want, chosen before any work.
 *
 * OpenBLAS picks its kernels and libgomp its waiting policy when they load, before main(), from
 * OPENBLAS_CORETYPE and OMP_WAIT_POLICY. Two settings of this machine's kind hurt us:
 *   - OPENBLAS_CORETYPE=Haswell on an AVX-512 CPU: AVX2 kernels at half the speed of SkylakeX's;
 *   - OpenMP's default waiting spins: on a loaded 2-core machine the spinning threads burn the
 *     time slices the working one needs (an MLP step measured 151 ms spinning, 12 ms passive).
 * So a compute command re-executes itself once (/proc/self/exe, same arguments) with the
 * settings it wants; SB_REEXEC marks the second process so it never loops. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Set name=value unless it already holds value (case-insensitive); true when changed. */
static bool set_if_differs(const char *name, const char *value)
{
    const char *cur = getenv(name);
    if (!value || (cur && !strcasecmp(cur, value))) return false;
    setenv(name, value, 1);
    return true;
}

int sb_cmd_tune_env(int argc, char **argv, const char *core, bool keep_core, const char *wait)
{
    if (getenv("SB_REEXEC") || getenv("SB_KEEP_ENV")) return 0;
    __builtin_cpu_init();
    const char *want_core = keep_core ? NULL
                          : core      ? core
                          : __builtin_cpu_supports("avx512f") ? "SkylakeX" : NULL;
    const char *want_wait = wait ? wait : getenv("OMP_WAIT_POLICY") ? NULL : "passive";
    bool again = set_if_differs("OPENBLAS_CORETYPE", want_core);
    again |= set_if_differs("OMP_WAIT_POLICY", want_wait);
    if (!again) return 0;
    setenv("SB_REEXEC", "1", 1);
    char *args[argc + 2];
    args[0] = "symbench";
    for (int i = 0; i < argc; i++) args[1 + i] = argv[i];
    args[argc + 1] = NULL;
    fflush(NULL);
    execv("/proc/self/exe", args);
    perror("symbench: re-executing with OPENBLAS_CORETYPE / OMP_WAIT_POLICY");
    return 0; /* go on with the current settings */
}

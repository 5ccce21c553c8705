#!/usr/bin/env bash
# backends/cuda/gpu_run.sh: on the accelerator machine (device tool, after gpu_prepare.sh here):
# the CUDA test suite, the op table on every backend (cpu and cuda), and the G1-G4 benchmark,
# logs under $OUT (or ./gpu-logs). Exit status: non-zero when a test suite failed.
set -uo pipefail
out=${OUT:-gpu-logs}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
export SB_CUDA_CACHE="$out/kernel-cache"
export SB_CUDA_MODULE="$PWD/gpu-bin/libsymbench-cuda.so" # for test-ops and symbench
rc=0
bash .gpu/enter.sh gpu-bin/test-cuda --verbose > "$out/test-cuda.log" 2>&1 || rc=1
bash .gpu/enter.sh gpu-bin/test-ops > "$out/test-ops.log" 2>&1 || rc=1
SB_CUDA_BENCH=1 SB_CUDA_SHOW_PLAN=1 bash .gpu/enter.sh gpu-bin/test-cuda --filter 'cuda/bench_plans' \
    --verbose > "$out/bench.log" 2>&1 || rc=1
for f in test-cuda test-ops bench; do
    echo "== $f"
    grep -E "Synthesis|FAIL|G[1-4] |ms " "$out/$f.log" | tail -30
done
exit $rc

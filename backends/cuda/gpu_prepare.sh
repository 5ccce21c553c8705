#!/usr/bin/env bash
# backends/cuda/gpu_prepare.sh: build the CUDA test binaries and the symbench program here
# (release, -Dcuda=enabled) and pack what a run on the accelerator machine needs:
#   gpu-bin/  test-cuda, test-ops, symbench (a few MB; statically linked against symbench) and
#             libsymbench-cuda.so, the CUDA module test-ops and symbench load (gpu_run.sh sets
#             SB_CUDA_MODULE to it; test-cuda links the backend itself)
#   .gpu/     the non-system shared libraries they use (../shared/gpu/bundle.sh) and enter.sh
# Both are ignored by git (.git/info/exclude). Then call the device tool (see docs/cuda.md):
#   run  carry: [".gpu", "gpu-bin"]
#        command: bash backends/cuda/gpu_run.sh
# usage: backends/cuda/gpu_prepare.sh [BUILD_DIR]   (default build-gpu)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
b=${1:-build-gpu}
[[ -d $b ]] || meson setup "$b" -Dcuda=enabled --buildtype=release >/dev/null
ninja -C "$b" -j2 tests/backends/test-cuda tests/backends/test-ops tools/symbench \
    backends/cuda/libsymbench-cuda.so
rm -rf gpu-bin
mkdir gpu-bin
cp "$b"/tests/backends/test-cuda "$b"/tests/backends/test-ops "$b"/tools/symbench \
   "$b"/backends/cuda/libsymbench-cuda.so gpu-bin/
info=$(git rev-parse --git-dir)/info
mkdir -p "$info" # bundle.sh appends /.gpu/ there too
grep -qx '/gpu-bin/' "$info/exclude" 2>/dev/null || echo '/gpu-bin/' >> "$info/exclude"
bash "$root"/../shared/gpu/bundle.sh gpu-bin/*
du -sh gpu-bin .gpu

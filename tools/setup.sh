#!/usr/bin/env bash
# tools/setup.sh: install what symbench needs on Debian 12, then configure and build it.
#
#   tools/setup.sh            packages for the build, the tests and the examples; build in build/
#   tools/setup.sh --bench    also the benchmark peers (python3-torch)
#
# Idempotent: packages already present are not reinstalled; an existing build/ is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  libcjson-dev                       # JSON
  libgraphviz-dev graphviz           # libcgraph + libgvc, and the dot layout/render plugins
  fonts-dejavu-core                  # a font for rendered PNG/PDF labels
  libopenblas-openmp-dev             # BLAS on the OpenMP pool (one thread pool with our loops)
  zlib1g-dev                         # gzip'd IDX files
  libglpk-dev                        # exact (ILP) extraction
  libcriterion-dev                   # tests
  python3-numpy                      # tests compare against NumPy
  dataset-fashion-mnist              # examples: /usr/share/datasets/fashion-mnist
  chromium                           # the HTML report is checked in headless Chromium
)
[[ " $* " == *" --bench "* ]] && packages+=(python3-torch)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build

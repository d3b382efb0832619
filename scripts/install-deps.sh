#!/usr/bin/env bash
# Installs the Debian 12 packages that gru4rec builds, tests and benchmarks with.
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libeigen3-dev            # dense kernels (GEMM, element-wise math)
  libhwy-dev               # Google Highway: SIMD kernels with runtime dispatch
  libfmt-dev               # formatting of messages and tables
  libcli11-dev             # command line
  libtomlplusplus-dev      # TOML parameter files
  nlohmann-json3-dev       # model file header, --json output
  robin-map-dev            # item and session id hash maps
  zlib1g-dev               # CRC-32 of model files, gzip inputs
  libzstd-dev              # zstd inputs (gru4rec prepare)
  libgtest-dev libgmock-dev googletest
  clang-format-14          # the format check of the test suite (scripts/format-check.sh)
  clang-14 libclang-rt-14-dev libomp-14-dev  # libFuzzer and its sanitizers (scripts/fuzz.sh)
  libbenchmark-dev         # kernel micro-benchmarks
  libboost1.81-dev         # Boost.Beast/Asio: HTTP server (gru4rec serve)
  libfaiss-dev             # approximate top-k of large catalogs (serve --retrieval ann)
  libopenblas0             # the BLAS of FAISS's k-means: Debian's reference libblas3 makes
                           # the index of a 1M-item catalog build in 560 s instead of 43 s
  libhiredis-dev redis-server  # shared session store (Redis) and its tests
  haproxy                  # the load balancer of docs/deploy.md (scripts/deploy-check.sh)
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest python3-venv  # the Python package, its tests, its install into a virtual environment
  wrk curl                 # load test of the server
)

# --bench: also the GEMM engines that bench/gemm_engines_bench compares Eigen with, and the h2o
# library that bench/http_frontends.sh compares the server's front end with.
if [ "${1:-}" = "--bench" ]; then
  packages+=(libopenblas-dev libxsmm-dev libdnnl-dev libh2o-evloop-dev)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

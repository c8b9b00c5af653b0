#!/usr/bin/env bash
# Installs and starts what the test suite needs besides npm packages (run as root, e.g. in CI):
#   - Debian's dataset-fashion-mnist (real data for the FashionMNIST source tests),
#   - a one-node Slurm cluster (tools/slurm-up.sh installs slurm-wlm + munge and starts the daemons),
#   - oneDNN (libdnnl-dev) and a C++ toolchain, so that `npm ci` builds the native engine and its tests run.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
  echo "setup-test-env: installing dataset-fashion-mnist"
  flock /tmp/apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
need=()
for pkg in libdnnl-dev g++ make; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if ((${#need[@]})); then
  echo "setup-test-env: installing ${need[*]}"
  flock /tmp/apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash tools/slurm-up.sh

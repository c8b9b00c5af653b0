#!/usr/bin/env bash
# Installs what the benchmarks' PyTorch comparisons need (run as root): Debian's PyTorch, torchvision
# and PIL for /usr/bin/python3, oneDNN for the native engine, and Fashion-MNIST for the recipe benchmarks. Then: npm ci && npm run bench:engine
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in python3-torch python3-torchvision python3-pil libdnnl-dev g++ make dataset-fashion-mnist; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "setup-bench-env: installing ${need[*]}"
  flock /tmp/apt.lock apt-get update -qq
  DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock apt-get install -y -qq "${need[@]}" >/dev/null
fi
/usr/bin/python3 -c 'import torch, torchvision, PIL; print("setup-bench-env: torch", torch.__version__, "torchvision", torchvision.__version__)'

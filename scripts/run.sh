#!/usr/bin/env bash
# Sets up the machine, builds herd and runs herdd against a simulated
# cluster (kubesim, in-process) with demo workloads; prints how to try it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${HERD_JOBS:-2}" --target herdd herdctl kubesim
exec build/bin/herdd --sim --grpc-listen=127.0.0.1:50051 --http-listen=127.0.0.1:8080 \
  --sim-kubeconfig-out="$PWD/build/herd-sim.kubeconfig" "$@"

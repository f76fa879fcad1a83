#!/usr/bin/env bash
# Builds herd and runs the benchmarks of docs/BENCHMARKS.md (several
# minutes; results on stdout, to be compared with the document).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_BUILD_BENCH=ON >/dev/null
cmake --build build -j"${HERD_JOBS:-2}"
export HERD_BIN=$PWD/build/bin HERD_PYTHON_STUBS=$PWD/build/python

echo "== kubesim at scale; herd's client per request"
build/bin/kubesim_bench --pods=10000 --watchers=200 --updates=2000
echo
echo "== GetWorkload over REST and over gRPC"
/usr/bin/python3 bench/rest_vs_grpc.py --requests 3000 --concurrency 4
echo
echo "== kubectl rollout times on kubesim beside the real controllers'"
/usr/bin/python3 bench/kubectl_rollout.py --runs 3
if [[ -x bench/herd_vs_kubectl.py ]]; then
  echo
  echo "== herd vs kubectl on the same kubesim"
  /usr/bin/python3 bench/herd_vs_kubectl.py
fi
echo
echo "== herdd under load on 1,000 Deployments / 10,000 pods; kills and first answers at 40 ms API latency"
/usr/bin/python3 bench/loadgen.py --duration=5s --runs=3 --latency=40ms
echo
echo "== the dashboard on 1,000 Deployments / 10,000 pods, in headless Chromium"
/usr/bin/python3 bench/dashboard.py --runs=5

#!/usr/bin/env bash
# Sets up the machine, builds herd and runs kubesim, a simulated Kubernetes
# cluster, with a kubeconfig for kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${HERD_JOBS:-2}"
kubeconfig="${HERD_KUBECONFIG:-$PWD/build/kubesim.kubeconfig}"
cat <<MSG

kubesim is starting. In another terminal:
  export KUBECONFIG=$kubeconfig
  kubectl get nodes
  kubectl create deployment web --image=nginx:1.25 --replicas=3
  kubectl rollout status deploy/web
Stop it with Ctrl-C.

MSG
exec build/bin/kubesim --listen=127.0.0.1:6443 --kubeconfig-out="$kubeconfig" --pod-start-delay=2s

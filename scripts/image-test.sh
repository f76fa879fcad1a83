#!/usr/bin/env bash
# Builds herd's container image from the Dockerfile with buildah (no Docker
# daemon needed) and tries it: herdd --sim in the image as its non-root
# user, a rollout completed with herdctl from outside the container, a
# scrape of /metrics, and the runtime stage checked to hold no compiler and
# no package beyond Debian's base (only the binaries and the libraries ldd
# names).
#
#   scripts/image-test.sh              the full build: herd compiled in the
#                                      build stage (long on 2 cores)
#   scripts/image-test.sh --prebuilt   the runtime stage from build/bin (a
#                                      host build), what CI runs: ~1 min
#
# The debian:bookworm base is made here, from this machine's apt sources
# (mmdebstrap --variant=minbase), and kept in buildah's storage; no registry
# is needed. Needs root (or a user buildah can run as) and Debian's buildah
# and mmdebstrap (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

prebuilt=0
[[ "${1:-}" == "--prebuilt" ]] && prebuilt=1
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
image=localhost/herd:image-test
step() { printf '\n== image-test: %s\n' "$*"; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }

for tool in buildah mmdebstrap; do
  if ! command -v "$tool" >/dev/null; then
    step "installing $tool"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
  fi
done

work=$(mktemp -d)
ctr=""; mnt=""; pid=""; base=""
cleanup() {
  [[ -n "$base" ]] && buildah rm "$base" >/dev/null 2>&1 || true
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  [[ -n "$mnt" ]] && buildah umount "$ctr" >/dev/null 2>&1 || true
  [[ -n "$ctr" ]] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! buildah inspect --type image debian:bookworm >/dev/null 2>&1; then
  step "debian:bookworm from this machine's apt sources (mmdebstrap --variant=minbase)"
  mmdebstrap --quiet --variant=minbase bookworm "$work/rootfs.tar"
  printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' > "$work/Containerfile"
  buildah bud --quiet -t debian:bookworm -f "$work/Containerfile" "$work" >/dev/null
  rm -f "$work/rootfs.tar"
fi

args=(--build-arg "VERSION=$(git describe --tags --always 2>/dev/null || echo dev)"
      --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
if (( prebuilt )); then
  for b in herdd herdctl kubesim; do [[ -x build/bin/$b ]] || fail "build/bin/$b missing: build first"; done
  rm -rf build/image-rootfs
  scripts/image-rootfs.sh build/bin build/image-rootfs
  args+=(--build-arg BINARIES=prebuilt)
  step "the runtime stage from build/bin"
else
  args+=(--build-arg BINARIES=build)
  step "the full image (herd compiled in the build stage)"
fi
start=$SECONDS
before=$(buildah containers -q | sort)
buildah bud --quiet --layers=false "${args[@]}" -t "$image" . >/dev/null
# buildah 1.28 leaves the working containers of earlier stages behind (the
# build stage's is GBs): remove the ones this build made.
comm -13 <(echo "$before") <(buildah containers -q | sort) | xargs -r buildah rm >/dev/null
echo "built $image in $((SECONDS - start)) s"

step "the image's configuration"
buildah inspect --type image "$image" > "$work/inspect.json"
python3 - "$work/inspect.json" <<'PY' || fail "the image's user, entrypoint or labels"
import json, sys
c = json.load(open(sys.argv[1]))["OCIv1"]["config"]
assert c["User"] == "65532:65532", c["User"]
assert c["Entrypoint"] == ["/usr/local/bin/herdd"], c["Entrypoint"]
for l in ("version", "revision", "source"):
    assert c["Labels"].get("org.opencontainers.image." + l), (l, c["Labels"])
print("labels:", json.dumps(c["Labels"]))
PY
echo "user 65532:65532, entrypoint herdd"

step "the runtime stage: no compiler, no package beyond the base"
ctr=$(buildah from --quiet "$image")
mnt=$(buildah mount "$ctr")
base=$(buildah from --quiet debian:bookworm); basemnt=$(buildah mount "$base")
for cc in gcc g++ cc c++ clang clang++ ld as cmake make; do
  [[ ! -e "$mnt/usr/bin/$cc" ]] || fail "the runtime stage has /usr/bin/$cc"
done
diff <(dpkg-query --admindir="$basemnt/var/lib/dpkg" -W -f '${Package}\n' | sort) \
     <(dpkg-query --admindir="$mnt/var/lib/dpkg" -W -f '${Package}\n' | sort) || fail "packages differ from the base"
# Every file added is a binary, a library some binary loads, or the CA roots.
added=$(cd "$mnt" && find . -type f -o -type l | sed 's|^\.||' | sort | comm -23 - <(cd "$basemnt" && find . -type f -o -type l | sed 's|^\.||' | sort))
needed=$(chroot "$mnt" /bin/sh -c 'ldd /usr/local/bin/herdd /usr/local/bin/herdctl /usr/local/bin/kubesim' \
         | awk '/=> \// {print $3}' | sort -u)
while read -r f; do
  case "$f" in
    /usr/local/bin/herdd|/usr/local/bin/herdctl|/usr/local/bin/kubesim|/etc/ssl/certs/ca-certificates.crt) ;;
    *) grep -qxF "$f" <<<"$needed" || [[ -n "$(grep -F "$(basename "$f" | sed 's/\.so.*//')" <<<"$needed")" ]] \
         || fail "the runtime stage has $f, which no binary loads" ;;
  esac
done <<<"$added"
echo "$(wc -l <<<"$added") files added to the base: 3 binaries, the CA roots, $(wc -l <<<"$needed") libraries"
buildah umount "$base" >/dev/null; buildah rm "$base" >/dev/null; base=""
cp "$mnt/usr/local/bin/herdctl" "$work/herdctl"

step "herdd --sim in the image as uid 65532; a rollout and a scrape from outside"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(port); http=$(port)
buildah run --network host --user 65532:65532 "$ctr" -- /usr/local/bin/herdd --sim \
  --grpc-listen=127.0.0.1:$grpc --http-listen=127.0.0.1:$http --sim-kubeconfig-out=/tmp/herd-sim.kubeconfig \
  --sim-pod-start-delay=200ms >"$work/herdd.out" 2>"$work/herdd.log" &
for _ in $(seq 200); do
  grep -q '"herdd serving"' "$work/herdd.log" 2>/dev/null && break
  sleep 0.1
done
grep -q '"herdd serving"' "$work/herdd.log" || { cat "$work/herdd.log"; fail "herdd did not start in the image"; }
pid=$(ss -ltnpH "sport = :$grpc" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ "$uid" == 65532 ]] || fail "herdd runs as uid $uid"
"$work/herdctl" --server=127.0.0.1:$grpc -n shop rollout deploy/web web=shop/web:1.1 --wait --timeout=60s \
  || fail "the rollout through herd in the image"
metrics=$(curl -fsS "http://127.0.0.1:$http/metrics")
grep -q '^herd_operations_total{kind="rollout",result="succeeded"} 1$' <<<"$metrics" || fail "/metrics: no rollout"
grep -q '^process_resident_memory_bytes ' <<<"$metrics" || fail "/metrics: no process metrics"
promtool check metrics <<<"$metrics" 2>/dev/null || true
kill "$pid"; wait || true; pid=""
echo "herdd ran as uid $uid; rollout succeeded; /metrics scraped"
step "passed in $((SECONDS)) s"

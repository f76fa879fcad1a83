#!/usr/bin/env bash
# Regenerates the kubectl request bodies under testdata/: runs kubesim with
# capture.py in front of it, and the kubectl commands whose protobuf bodies
# the tests decode. Each body lands as NAME.pb, and kubectl's own JSON of the
# same object (--dry-run=client -o json) as NAME.json for comparison.
#
#   sim/protobuf/testdata/capture.sh build/bin/kubesim
set -euo pipefail

kubesim=${1:?usage: capture.sh PATH/TO/kubesim}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$kubesim" --listen=127.0.0.1:0 --kubeconfig-out="$work/direct" --pod-start-delay=100ms >"$work/kubesim.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -s $work/direct ]] && break; sleep 0.1; done
upstream=$(sed -n 's/^ *server: //p' "$work/direct")

mkdir "$work/raw"
python3 "$here/capture.py" --upstream="$upstream" --out="$work/raw" --port-file="$work/port" &
pids+=($!)
for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
sed "s#server: .*#server: http://127.0.0.1:$(cat "$work/port")#" "$work/direct" >"$work/proxy"

# Runs kubectl through the proxy and keeps the one protobuf body it sent as
# NAME.pb (the command's own outcome does not matter).
capture() {
  local name=$1
  shift
  rm -f "$work"/raw/*
  KUBECONFIG=$work/proxy kubectl "$@" >/dev/null 2>&1 || true
  local bodies=("$work"/raw/*.pb)
  [[ -e ${bodies[0]} ]] || { echo "kubectl $* sent no protobuf body" >&2; exit 1; }
  cp "${bodies[0]}" "$here/$name.pb"
}
# kubectl's JSON for the object it would send (the flags go first: the
# commands may end in "-- COMMAND…").
dry_run() {
  local name=$1
  shift
  KUBECONFIG=$work/direct kubectl "$1" --dry-run=client --output=json "${@:2}" >"$here/$name.json"
}
direct() { KUBECONFIG=$work/direct kubectl "$@"; }

direct run victim --image=busybox:1.36 --labels=app=victim >/dev/null

capture create_deployment create deployment web --image=nginx:1.25 --replicas=3 --port=80
dry_run create_deployment create deployment web --image=nginx:1.25 --replicas=3 --port=80

capture create_namespace create namespace team-a
dry_run create_namespace create namespace team-a

capture create_configmap create configmap settings --from-literal=mode=fast --from-literal=level=3
dry_run create_configmap create configmap settings --from-literal=mode=fast --from-literal=level=3

# kubectl run posts its Pod as JSON; kubectl debug's typed client sends one
# as protobuf, with host namespaces, a hostPath volume and tolerations.
capture debug_node debug node/kubesim-node-1 --image=busybox:1.36 --profile=general -- sleep 3600
capture debug_copy debug victim --copy-to=victim-debug --image=busybox:1.36 --container=dbg \
  --env=GREETING=hello --env=TARGET=world -- sleep 3600

capture create_secret create secret generic creds --from-literal=user=admin --from-literal=pass=s3cr3t
dry_run create_secret create secret generic creds --from-literal=user=admin --from-literal=pass=s3cr3t

capture create_cronjob create cronjob tick --image=busybox:1.36 --schedule='*/5 * * * *' -- date
dry_run create_cronjob create cronjob tick --image=busybox:1.36 --schedule='*/5 * * * *' -- date

capture create_service create service clusterip api --tcp=80:8080 --tcp=443:https
dry_run create_service create service clusterip api --tcp=80:8080 --tcp=443:https

capture create_pdb create poddisruptionbudget web-pdb --selector=app=web --min-available=2
dry_run create_pdb create poddisruptionbudget web-pdb --selector=app=web --min-available=2

# The job is made from a cronjob that exists on the server. A kubesim that
# cannot read protobuf refused the one above; kubectl sends objects from
# files as JSON, so that way works with either.
direct create --dry-run=client --output=json cronjob tick --image=busybox:1.36 --schedule='*/5 * * * *' -- date \
  >"$work/cj.json"
direct create -f "$work/cj.json" >/dev/null 2>&1 || true
capture create_job_from_cronjob create job manual --from=cronjob/tick
dry_run create_job_from_cronjob create job manual --from=cronjob/tick

# drain posts its Evictions as JSON, but with --disable-eviction it deletes
# the node's pods with a protobuf DeleteOptions body.
direct wait --for=jsonpath='{.spec.nodeName}' pod/victim --timeout=10s >/dev/null 2>&1 || true
node=$(direct get pod victim -o 'jsonpath={.spec.nodeName}')
capture drain_delete drain "$node" --force --disable-eviction --grace-period=30 --timeout=2s

ls -l "$here"/*.pb

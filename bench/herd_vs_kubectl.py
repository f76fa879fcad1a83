#!/usr/bin/env python3
"""herd against kubectl, side by side in one run on the same kubesim.

    bench/herd_vs_kubectl.py [--delays 2s,5s] [--runs 3] [--kills 20]

For each pod start delay D, with 20-replica Deployments:
  * herd FAST rollout (RPC to SUCCEEDED: every new pod Ready, every old pod
    gone) vs `kubectl set image` + `kubectl rollout status` with the default
    strategy and with maxSurge 100 % / maxUnavailable 0. During herd's
    rollout, `kubectl rollout status` runs alongside: herd must report done
    no later than it, and the Ready pods of the Deployment are counted on
    every change: they must never drop below 20.
  * herd ROLLING purge vs `kubectl rollout restart` + `kubectl rollout status`.
  * herd kill vs `kubectl delete pod --wait=false` (until the pod is
    terminating) and vs `kubectl delete pod` (until the pod is gone).
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
from herdprocess import Herdd, herd_pb2, wait_for_end  # noqa: E402
from simcluster import SimCluster, deployment, kubectl_path  # noqa: E402

from kubernetes import client, config, watch  # noqa: E402

SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class ReadyCounter:
    """Counts the Ready, not terminating pods of an app on every watch event."""

    def __init__(self, cluster, app):
        api = config.new_client_from_config(config_file=cluster.kubeconfig)
        self.core = client.CoreV1Api(api)
        self.app = app
        self.pods = {}
        self.minimum = None
        self.stop = threading.Event()
        self.synced = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        self.synced.wait(30)

    def ready(self, p):
        if p.metadata.deletion_timestamp:
            return False
        return any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))

    def run(self):
        lst = self.core.list_namespaced_pod("bench", label_selector=f"app={self.app}")
        for p in lst.items:
            self.pods[p.metadata.name] = self.ready(p)
        self.minimum = sum(self.pods.values())
        self.synced.set()
        w = watch.Watch()
        for ev in w.stream(self.core.list_namespaced_pod, "bench", label_selector=f"app={self.app}",
                           resource_version=lst.metadata.resource_version, timeout_seconds=600):
            name = ev["object"].metadata.name
            if ev["type"] == "DELETED":
                self.pods.pop(name, None)
            else:
                self.pods[name] = self.ready(ev["object"])
            self.minimum = min(self.minimum, sum(self.pods.values()))
            if self.stop.is_set():
                w.stop()
                break

    def close(self):
        self.stop.set()


def kubectl_rollout(cluster, name, tag):
    start = time.monotonic()
    cluster.kubectl("-n", "bench", "set", "image", f"deploy/{name}", f"{name}={name}:{tag}")
    cluster.kubectl("-n", "bench", "rollout", "status", f"deploy/{name}", "--timeout=300s")
    return time.monotonic() - start


def kubectl_restart(cluster, name):
    start = time.monotonic()
    cluster.kubectl("-n", "bench", "rollout", "restart", f"deploy/{name}")
    cluster.kubectl("-n", "bench", "rollout", "status", f"deploy/{name}", "--timeout=300s")
    return time.monotonic() - start


def herd_call(cluster, stub, name, rpc, request):
    """Runs an operation; returns (herd seconds, kubectl-rollout-status seconds, min Ready pods)."""
    counter = ReadyCounter(cluster, name)
    status_done = {}

    def status():
        # kubectl rollout status, started as soon as herd has written the change.
        subprocess.run([kubectl_path(), "-n", "bench", "rollout", "status", f"deploy/{name}", "--timeout=300s"],
                       env=cluster.env, capture_output=True, check=True)
        status_done["t"] = time.monotonic()

    start = time.monotonic()
    op = rpc(request, timeout=60)
    follower = threading.Thread(target=status)
    follower.start()
    final = wait_for_end(stub, op.name, timeout=300)[-1]
    herd_t = time.monotonic() - start
    follower.join()
    counter.close()
    if final.state != herd_pb2.OPERATION_STATE_SUCCEEDED:
        raise RuntimeError(f"{op.name} ended {herd_pb2.OperationState.Name(final.state)}: {final.error.message}")
    return herd_t, status_done["t"] - start, counter.minimum


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--delays", default="2s,5s")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--pause", type=float, default=4.0, help="seconds between runs (rate limits refill)")
    args = p.parse_args()
    results = []
    for delay in args.delays.split(","):
        with SimCluster(pod_start_delay=delay, kubelet_poll="250ms") as c, Herdd(c) as herdd:
            stub = herdd.stub()
            c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
            for name, strategy in [("herd", None), ("kdefault", None), ("ksurge", SURGE), ("purge", None),
                                   ("restart", None), ("victims", None)]:
                m = deployment(name, f"{name}:1", replicas=20, strategy=strategy)
                m["metadata"]["namespace"] = "bench"
                c.apply(m)
            for name in ["herd", "kdefault", "ksurge", "purge", "restart", "victims"]:
                c.kubectl("-n", "bench", "rollout", "status", f"deploy/{name}", "--timeout=300s")
            r = {"delay": delay, "herd": [], "status": [], "min_ready": [], "kdefault": [], "ksurge": [],
                 "purge": [], "purge_min": [], "restart": [], "kill": [], "kill_gone": [], "kdelete": [], "kdelete_nowait": []}
            for i in range(args.runs):
                tag = str(i + 2)
                time.sleep(args.pause)
                h, s, m = herd_call(c, stub, "herd", stub.Rollout, herd_pb2.RolloutRequest(
                    workload="namespaces/bench/deployments/herd", images={"herd": f"herd:{tag}"}))
                r["herd"].append(h)
                r["status"].append(s)
                r["min_ready"].append(m)
                time.sleep(args.pause)
                r["kdefault"].append(kubectl_rollout(c, "kdefault", tag))
                time.sleep(args.pause)
                r["ksurge"].append(kubectl_rollout(c, "ksurge", tag))
                time.sleep(args.pause)
                h, _, m = herd_call(c, stub, "purge", stub.Purge, herd_pb2.PurgeRequest(
                    workload="namespaces/bench/deployments/purge"))
                r["purge"].append(h)
                r["purge_min"].append(m)
                time.sleep(args.pause)
                r["restart"].append(kubectl_restart(c, "restart"))
            # Kill: one pod at a time, the ReplicaSet replaces it. Both sides
            # evict/delete with the pod's own grace period. "terminating" is
            # the moment the caller knows the pod is on its way out (herd's
            # Kill answers once the eviction is done; `kubectl delete
            # --wait=false` returns); "gone" is the moment the pod no longer
            # exists (herd: the operation SUCCEEDED; `kubectl delete` returns).
            for i in range(args.kills):
                pods = c.kubectl("-n", "bench", "get", "pods", "-l", "app=victims", "--field-selector=status.phase=Running",
                                 "-o", "jsonpath={.items[*].metadata.name}").split()
                start = time.monotonic()
                op = stub.Kill(herd_pb2.KillRequest(namespace="bench", pods=[pods[0]]), timeout=30)
                r["kill"].append((time.monotonic() - start) * 1000)
                if op.progress.killed != 1:
                    raise RuntimeError(f"Kill answered before the eviction: {op}")
                last = wait_for_end(stub, op.name)[-1]
                if last.state != herd_pb2.OPERATION_STATE_SUCCEEDED:
                    raise RuntimeError(f"{op.name} ended {herd_pb2.OperationState.Name(last.state)}")
                r["kill_gone"].append((time.monotonic() - start) * 1000)
                start = time.monotonic()
                c.kubectl("-n", "bench", "delete", "pod", pods[1])
                r["kdelete"].append((time.monotonic() - start) * 1000)
                start = time.monotonic()
                c.kubectl("-n", "bench", "delete", "pod", pods[2], "--wait=false")
                r["kdelete_nowait"].append((time.monotonic() - start) * 1000)
                c.kubectl("-n", "bench", "rollout", "status", "deploy/victims", "--timeout=300s")
            results.append(r)

    def fmt(xs):
        return ", ".join(f"{x:.1f}" for x in xs)

    print("| D | herd FAST rollout (s) | kubectl default (s) | kubectl maxSurge 100 % (s) | herd vs default | "
          "herd / full surge | kubectl rollout status alongside herd (s) | fewest Ready pods during herd (of 20) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        h, d, s = median(r["herd"]), median(r["kdefault"]), median(r["ksurge"])
        print(f"| {r['delay']} | {fmt(r['herd'])} | {fmt(r['kdefault'])} | {fmt(r['ksurge'])} | "
              f"{d / h:.2f}x faster | {h / s:.2f} | {fmt(r['status'])} | {min(r['min_ready'])} |")
    print()
    print("| D | herd purge (s) | kubectl rollout restart + status (s) | herd vs kubectl | fewest Ready pods during purge |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        h, k = median(r["purge"]), median(r["restart"])
        print(f"| {r['delay']} | {fmt(r['purge'])} | {fmt(r['restart'])} | {k / h:.2f}x faster | {min(r['purge_min'])} |")
    print()
    print("| D | herd Kill, pod terminating: p50 / p90 (ms) | kubectl delete pod --wait=false p50 (ms) | "
          "herd vs kubectl, terminating | herd kill, pod gone: p50 (ms) | kubectl delete pod p50 (ms) | "
          "herd terminating vs kubectl delete pod |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        k = sorted(r["kill"])
        p90 = k[int(0.9 * (len(k) - 1))]
        print(f"| {r['delay']} | {median(k):.1f} / {p90:.1f} | {median(r['kdelete_nowait']):.0f} | "
              f"{median(r['kdelete_nowait']) / median(k):.0f}x faster | {median(r['kill_gone']):.0f} | "
              f"{median(r['kdelete']):.0f} | {median(r['kdelete']) / median(k):.0f}x faster |")

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""herdd on a cluster of many workloads: reads and kills under load, memory,
herdctl against kubectl, and (optionally) churn and API-server latency.

    bench/loadgen.py [--namespaces 10] [--per-namespace 100] [--replicas 10]
                     [--concurrency 16] [--list-concurrency 4] [--duration 10s] [--runs 5]
                     [--churn-minutes N] [--latency 40ms]

On one kubesim (--controller-qps=0 --scheduler-qps=0, enough nodes for the
pods) with NAMESPACES × PER_NAMESPACE Deployments of REPLICAS pods each:
  * the time for herdd to become ready (/readyz) and the CPU time herdd and
    kubesim spent meanwhile; herdd's RSS idle, after the reads, after the kills;
  * build/bin/loadgen_bench for ListWorkloads (every page of every
    namespace; per page and per full listing), GetWorkload and Kill (one
    distinct pod a call, for real): calls/s and p50/p90/p99/max;
  * `herdctl list -A` against `kubectl get deploy -A`, alternately, medians
    of --runs runs and their ratio;
  * with --churn-minutes: purges (ROLLING) of one workload after another,
    --churn-parallel at a time, while herdd's RSS is sampled every
    --rss-every seconds: first, last, min, max;
  * with --latency: on a second, small kubesim with that --latency, one
    Kill against one bare eviction request (POST …/pods/NAME/eviction with
    the kubeconfig's credentials), and the first answer of Rollout, Scale
    and Purge (operation accepted) against the same; medians and ratios.

herdd runs with --herdd-args (default --kube-qps=0, so that herdd's own
client rate limit does not hide what is measured). Needs a build (HERD_BIN,
default build/bin; HERD_PYTHON_STUBS, default build/python).
"""
import argparse
import base64
import contextlib
import http.client
import json
import math
import os
import random
import shlex
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("HERD_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("HERD_PYTHON_STUBS", os.path.join(ROOT, "build", "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

import grpc  # noqa: E402
from herdprocess import Herdd, herd_pb2, wait_for_end  # noqa: E402
from simcluster import SimCluster, bin_dir, deployment, kubectl_path  # noqa: E402

PODS_PER_NODE = 110  # kubesim's default --pods-per-node


def mib(kib):
    return kib / 1024


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def wait_until(what, predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def ready_replicas(cluster, path="/apis/apps/v1/deployments"):
    return sum(d.get("status", {}).get("readyReplicas", 0) for d in cluster.api(path)["items"])


def create_workloads(cluster, namespaces, per_namespace, replicas):
    for n in range(namespaces):
        ns = f"ns{n}"
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(per_namespace):
            m = deployment(f"app{i:03d}", f"app{i:03d}:1", replicas=replicas)
            m["metadata"]["namespace"] = ns
            cluster.create(m)


def readyz(http_address):
    try:
        with urllib.request.urlopen(f"http://{http_address}/readyz", timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def loadgen(herdd, call, concurrency, a, *extra):
    """Runs loadgen_bench once; its report goes to stdout. False when a call failed."""
    print(flush=True)
    p = subprocess.run([os.path.join(bin_dir(), "loadgen_bench"), f"--server={herdd.grpc_address}", f"--call={call}",
                        f"--concurrency={concurrency}", f"--duration={a.duration}", *extra])
    return p.returncode == 0


def timed(cmd, env=None):
    start = time.monotonic()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, timeout=600)
    return time.monotonic() - start


def compare_with_kubectl(cluster, herdd, runs):
    """herdctl list against kubectl get deploy, alternately on the same kubesim."""
    herdctl = [os.path.join(bin_dir(), "herdctl"), f"--server={herdd.grpc_address}", "list"]
    kubectl = [kubectl_path(), "get", "deploy"]
    print(f"\n== herdctl list against kubectl get deploy, medians of {runs} runs (after one warm-up each)", flush=True)
    for scope in (["-A"], ["-n", "ns0"]):
        timed(herdctl + scope)
        timed(kubectl + scope, env=cluster.env)
        h, k = [], []
        for _ in range(runs):
            h.append(timed(herdctl + scope))
            k.append(timed(kubectl + scope, env=cluster.env))
        what = " ".join(scope)
        for name, xs in ((f"herdctl list {what}", h), (f"kubectl get deploy {what}", k)):
            print(f"{name:<28} {median(xs):7.3f} s   (runs: {', '.join(f'{x:.3f}' for x in xs)})")
        print(f"kubectl / herdctl ({what}): {median(k) / median(h):.2f}x  (herdctl is faster when above 1)", flush=True)


def running_pods(cluster):
    pods = cluster.api("/api/v1/pods?fieldSelector=status.phase%3DRunning")["items"]
    return [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods
            if not p["metadata"].get("deletionTimestamp")]


def churn(herdd, workloads, minutes, parallel, every):
    """Purges workloads one after another, `parallel` at a time, sampling herdd's RSS."""
    print(f"\n== churn: ROLLING purges, {parallel} at a time, for {minutes} min; herdd's RSS every {every} s",
          flush=True)
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"succeeded": 0, "other": 0, "refused": 0}
    order = iter(range(10**9))

    def purger():
        stub = herdd.stub()
        while not stop.is_set():
            with lock:
                w = workloads[next(order) % len(workloads)]
            try:
                op = stub.Purge(herd_pb2.PurgeRequest(workload=w), timeout=60)
                end = wait_for_end(stub, op.name, timeout=600)[-1]
                key = "succeeded" if end.state == herd_pb2.OPERATION_STATE_SUCCEEDED else "other"
            except grpc.RpcError as e:
                key = "refused"
                if e.code() != grpc.StatusCode.ABORTED:  # ABORTED: that workload is busy, take the next
                    print(f"purge {w}: {e.code().name}: {e.details()}", flush=True)
                    time.sleep(1)
            with lock:
                counts[key] += 1

    threads = [threading.Thread(target=purger, daemon=True) for _ in range(parallel)]
    for t in threads:
        t.start()
    samples = []
    start = time.monotonic()
    while time.monotonic() - start < minutes * 60:
        samples.append((time.monotonic() - start, mib(rss_kib(herdd.proc.pid))))
        time.sleep(every)
    samples.append((time.monotonic() - start, mib(rss_kib(herdd.proc.pid))))
    stop.set()
    for t in threads:
        t.join(timeout=660)
    rss = [r for _, r in samples]
    first, last, lo, hi = rss[0], rss[-1], min(rss), max(rss)
    periods = max(1, int(math.ceil(minutes)))
    for m in range(periods):
        # The last sample, taken just after the end, counts in the last minute.
        window = [r for t, r in samples if min(int(t // 60), periods - 1) == m] or [rss[-1]]
        print(f"minute {m + 1:3d}: RSS {min(window):6.1f} .. {max(window):6.1f} MiB")
    print(f"herdd RSS over {len(samples)} samples: first {first:.1f} MiB, last {last:.1f} MiB, "
          f"min {lo:.1f} MiB, max {hi:.1f} MiB; max/first {100 * (hi / first - 1):+.1f} %, "
          f"min/first {100 * (lo / first - 1):+.1f} %")
    print(f"purges: {counts['succeeded']} succeeded, {counts['other']} ended otherwise, "
          f"{counts['refused']} refused", flush=True)


class BareApi:
    """Plain requests to the API server with the kubeconfig's own credentials
    (bearer token, CA), over one kept-alive connection."""

    def __init__(self, kubeconfig):
        with open(kubeconfig) as f:
            cfg = yaml.safe_load(f)
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next((u["user"] for u in cfg.get("users") or [] if u["name"] == ctx.get("user")), {}) or {}
        url = urllib.parse.urlsplit(cluster["server"])
        self.headers = {"Content-Type": "application/json"}
        if user.get("token"):
            self.headers["Authorization"] = f"Bearer {user['token']}"
        if url.scheme == "https":
            tls = ssl.create_default_context()
            if cluster.get("certificate-authority-data"):
                tls.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
            if cluster.get("insecure-skip-tls-verify"):
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
            self.conn = http.client.HTTPSConnection(url.hostname, url.port, context=tls, timeout=30)
        else:
            self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def evict(self, ns, name):
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
        self.conn.request("POST", f"/api/v1/namespaces/{ns}/pods/{name}/eviction", body=json.dumps(body),
                          headers=self.headers)
        r = self.conn.getresponse()
        text = r.read()
        if r.status not in (200, 201):
            raise RuntimeError(f"eviction of {ns}/{name}: HTTP {r.status}: {text[:300]}")


def ms_since(start):
    return (time.monotonic() - start) * 1000


def latency_comparison(a):
    """Kill and the first answer of Rollout, Scale and Purge against one bare eviction, on a kubesim with --latency."""
    runs = a.latency_runs
    print(f"\n== kubesim --latency={a.latency}: herd's first answers against one bare eviction request, "
          f"medians of {runs} runs", flush=True)
    with SimCluster(pod_start_delay="100ms", extra_args=[f"--latency={a.latency}"]) as c:
        ns = "lat"
        c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for name, replicas in (("victims", 2 * runs + 4), ("rollout", 3), ("scale", 3), ("purge", 3)):
            m = deployment(name, f"{name}:1", replicas=replicas)
            m["metadata"]["namespace"] = ns
            c.create(m)
        wanted = 2 * runs + 4 + 9
        wait_until("the pods to be ready", lambda: ready_replicas(c, f"/apis/apps/v1/namespaces/{ns}/deployments")
                   == wanted, 120)
        victims = [p for p in running_pods(c) if p[1].startswith("victims-")]
        bare = BareApi(c.kubeconfig)
        with Herdd(c, *shlex.split(a.herdd_args)) as herdd:
            wait_until("herdd's /readyz", lambda: readyz(herdd.http_address), 120)
            stub = herdd.stub()
            # One of each first, unmeasured: connections, caches.
            bare.evict(*victims.pop())
            stub.Kill(herd_pb2.KillRequest(namespace=ns, pods=[victims.pop()[1]]), timeout=60)
            evict_ms, kill_ms = [], []
            for _ in range(runs):
                pod = victims.pop()
                start = time.monotonic()
                bare.evict(*pod)
                evict_ms.append(ms_since(start))
                pod = victims.pop()
                start = time.monotonic()
                stub.Kill(herd_pb2.KillRequest(namespace=ns, pods=[pod[1]]), timeout=60)
                kill_ms.append(ms_since(start))
            first = {"Rollout": [], "Scale": [], "Purge": []}
            ended = {k: [] for k in first}
            for i in range(runs):
                calls = (
                    ("Rollout", stub.Rollout,
                     herd_pb2.RolloutRequest(workload=f"namespaces/{ns}/deployments/rollout",
                                             images={"rollout": f"rollout:{i + 2}"})),
                    ("Scale", stub.Scale,
                     herd_pb2.ScaleRequest(workload=f"namespaces/{ns}/deployments/scale", replicas=4 if i % 2 == 0 else 3)),
                    ("Purge", stub.Purge, herd_pb2.PurgeRequest(workload=f"namespaces/{ns}/deployments/purge")),
                )
                for what, rpc, request in calls:
                    start = time.monotonic()
                    op = rpc(request, timeout=60)
                    first[what].append(ms_since(start))
                    end = wait_for_end(stub, op.name, timeout=300)[-1]
                    ended[what].append(herd_pb2.OperationState.Name(end.state))
        floor = median(evict_ms)

        def row(what, xs, note=""):
            print(f"{what:<34} {median(xs):8.1f} ms  {median(xs) / floor:5.2f}x   "
                  f"(runs: {', '.join(f'{x:.1f}' for x in xs)}){note}")

        print(f"{'':<34} {'median':>11}  {'/ bare':>6}")
        row("bare eviction request", evict_ms)
        row("Kill, one pod", kill_ms)
        for what, xs in first.items():
            states = sorted(set(ended[what]))
            row(f"{what}, operation accepted", xs, f"; ended {', '.join(s.replace('OPERATION_STATE_', '') for s in states)}")
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=10)
    ap.add_argument("--per-namespace", type=int, default=100, help="Deployments in each namespace")
    ap.add_argument("--replicas", type=int, default=10, help="pods of each Deployment")
    ap.add_argument("--nodes", type=int, default=0, help="kubesim's nodes (0: enough for the pods and 10 %% more)")
    ap.add_argument("--pod-start-delay", default="500ms")
    ap.add_argument("--herdd-args", default="--kube-qps=0", help="more herdd flags, one string")
    ap.add_argument("--concurrency", type=int, default=16, help="loadgen_bench's calls in flight")
    ap.add_argument("--list-concurrency", type=int, default=4, help="full listings in flight (each is heavy)")
    ap.add_argument("--duration", default="10s", help="loadgen_bench's time for each call type")
    ap.add_argument("--page-size", type=int, default=0, help="ListWorkloads page size (0: the server's default)")
    ap.add_argument("--runs", type=int, default=5, help="herdctl and kubectl runs in the comparison")
    ap.add_argument("--churn-minutes", type=float, default=0, help="0: no churn")
    ap.add_argument("--churn-parallel", type=int, default=4, help="purges running at a time in the churn")
    ap.add_argument("--rss-every", type=float, default=5, help="seconds between RSS samples in the churn")
    ap.add_argument("--latency", default="", help="e.g. 40ms: the latency comparison, on its own kubesim")
    ap.add_argument("--latency-runs", type=int, default=5)
    ap.add_argument("--latency-only", action="store_true", help="skip everything but the latency comparison")
    a = ap.parse_args()
    ok = True
    if not a.latency_only:
        ok = load(a)
    if a.latency:
        latency_comparison(a)
    sys.exit(0 if ok else 1)


def load(a):
    ok = True
    pods = a.namespaces * a.per_namespace * a.replicas
    nodes = a.nodes or max(3, math.ceil(pods * 1.1 / PODS_PER_NODE))
    print(f"== {a.namespaces} namespaces x {a.per_namespace} Deployments x {a.replicas} replicas: "
          f"{a.namespaces * a.per_namespace} workloads, {pods} pods on {nodes} nodes; herdd {a.herdd_args}",
          flush=True)
    sim_args = [f"--nodes={nodes}", "--controller-qps=0", "--scheduler-qps=0"]
    with contextlib.ExitStack() as stack:
        c = stack.enter_context(SimCluster(pod_start_delay=a.pod_start_delay, kubelet_poll="250ms",
                                           extra_args=sim_args))
        start = time.monotonic()
        create_workloads(c, a.namespaces, a.per_namespace, a.replicas)
        created = time.monotonic() - start
        wait_until("every pod to be ready", lambda: ready_replicas(c) == pods, 1800)
        print(f"created in {created:.1f} s, every pod ready after {time.monotonic() - start:.1f} s; "
              f"kubesim RSS {mib(rss_kib(c.proc.pid)):.0f} MiB", flush=True)

        sim_cpu = cpu_seconds(c.proc.pid)
        start = time.monotonic()
        herdd = stack.enter_context(Herdd(c, *shlex.split(a.herdd_args)))
        serving = time.monotonic() - start
        wait_until("herdd's /readyz", lambda: readyz(herdd.http_address), 600, step=0.01)
        print(f"herdd serving after {serving:.2f} s, ready (/readyz: its cache synced) after "
              f"{time.monotonic() - start:.2f} s from its start; CPU meanwhile: "
              f"herdd {cpu_seconds(herdd.proc.pid):.2f} s, kubesim {cpu_seconds(c.proc.pid) - sim_cpu:.2f} s",
              flush=True)
        time.sleep(2)
        print(f"herdd RSS idle: {mib(rss_kib(herdd.proc.pid)):.1f} MiB", flush=True)

        page = [f"--page-size={a.page_size}"] if a.page_size else []
        ok &= loadgen(herdd, "list", a.list_concurrency, a, *page)
        ok &= loadgen(herdd, "get", a.concurrency, a, *page)
        print(f"\nherdd RSS after the reads: {mib(rss_kib(herdd.proc.pid)):.1f} MiB", flush=True)

        compare_with_kubectl(c, herdd, a.runs)

        victims = running_pods(c)
        random.Random(7).shuffle(victims)  # spread over the workloads
        with tempfile.NamedTemporaryFile("w", prefix="loadgen-pods-", suffix=".txt") as f:
            f.write("".join(f"{ns}/{name}\n" for ns, name in victims))
            f.flush()
            ok &= loadgen(herdd, "kill", a.concurrency, a, f"--pods-file={f.name}")
        print(f"\nherdd RSS after the kills: {mib(rss_kib(herdd.proc.pid)):.1f} MiB", flush=True)

        if a.churn_minutes > 0:
            wait_until("the pods killed to be replaced", lambda: ready_replicas(c) == pods, 600)
            workloads = [f"namespaces/ns{n}/deployments/app{i:03d}"
                         for i in range(a.per_namespace) for n in range(a.namespaces)]
            churn(herdd, workloads, a.churn_minutes, a.churn_parallel, a.rss_every)
    return ok


if __name__ == "__main__":
    main()

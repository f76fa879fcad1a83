#!/usr/bin/python3
"""herd's dashboard at cluster scale, in headless Chromium.

    bench/dashboard.py [--namespaces 10] [--per-namespace 100] [--replicas 10] [--runs 5]

On one kubesim (--controller-qps=0 --scheduler-qps=0, enough nodes) with
NAMESPACES x PER_NAMESPACE Deployments of REPLICAS pods each, a herdd (its
cache synced) serves the dashboard; bench/dashboard_page.mjs loads the
workloads page RUNS times in fresh browser contexts and prints medians: the
time from navigation to every row rendered (cold, then a reload), and the
time one filter keystroke takes to apply to every row (and to clear it).
Needs a build (HERD_BIN, default build/bin) and scripts/install-deps.sh's
chromium and playwright-core.
"""
import argparse
import contextlib
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("HERD_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("HERD_PYTHON_STUBS", os.path.join(ROOT, "build", "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
sys.path.insert(0, HERE)

from herdprocess import Herdd  # noqa: E402
from loadgen import PODS_PER_NODE, create_workloads, readyz, ready_replicas, wait_until  # noqa: E402
from simcluster import SimCluster  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namespaces", type=int, default=10)
    ap.add_argument("--per-namespace", type=int, default=100)
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    workloads = a.namespaces * a.per_namespace
    pods = workloads * a.replicas
    nodes = max(3, math.ceil(pods * 1.1 / PODS_PER_NODE))
    print(f"== the dashboard on {workloads} Deployments, {pods} pods ({nodes} nodes)", flush=True)
    with contextlib.ExitStack() as stack:
        c = stack.enter_context(SimCluster(pod_start_delay="100ms", kubelet_poll="250ms",
                                           extra_args=[f"--nodes={nodes}", "--controller-qps=0", "--scheduler-qps=0"]))
        create_workloads(c, a.namespaces, a.per_namespace, a.replicas)
        wait_until("every pod to be ready", lambda: ready_replicas(c) == pods, 1800)
        herdd = stack.enter_context(Herdd(c, "--kube-qps=0"))
        wait_until("herdd's /readyz", lambda: readyz(herdd.http_address), 600, step=0.05)
        p = subprocess.run(["node", os.path.join(HERE, "dashboard_page.mjs"), f"http://{herdd.http_address}",
                            str(a.runs)], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench/dashboard_page.mjs failed:\n{p.stderr}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"rows rendered: {r['rows']} (the ListWorkloads pages: {r['listBytes'] / 1e6:.1f} MB of JSON)")
        print(f"navigation to every row rendered, median of {r['runs']}: {r['coldMs']} ms (reload: {r['warmMs']} ms)")
        print(f"one filter keystroke applied to every row: {r['filterMs']} ms (cleared: {r['clearMs']} ms)")
        if r["rows"] != workloads:
            sys.exit(f"expected {workloads} rows")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""kubectl's rollout times on kubesim, beside the real controllers' times.

    bench/kubectl_rollout.py [--runs 3] [--delays 2s,5s]

For each pod start delay D: a 20-replica Deployment, then `kubectl set image`
followed by `kubectl rollout status`, with the default strategy (maxSurge
25 %, maxUnavailable 25 %) and with maxSurge 100 %, maxUnavailable 0 — the
setup of ../shared/k8s-reference/README.md ("Timing of the real
controllers"): nodes polling every 0.25 s, pods Ready D after they are bound.
A pause between runs lets the controllers' API rate limits refill, as in a
cluster that is not rolling out back to back.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "e2e"))
from simcluster import SimCluster, deployment  # noqa: E402

# The real controllers' times (seconds), from the reference README.
REFERENCE = {
    ("2s", "default"): [5.4, 5.4, 5.7, 6.2, 6.2, 7.1],
    ("2s", "surge"): [3.4, 3.6, 4.0],
    ("5s", "default"): [11.3, 12.0],
    ("5s", "surge"): [6.4, 6.9],
}


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if xs else float("nan")


def rollout_times(cluster, name, strategy, runs, pause):
    m = deployment(name, f"{name}:1", replicas=20, strategy=strategy)
    cluster.apply(m)
    cluster.kubectl("rollout", "status", f"deploy/{name}", "--timeout=120s")
    times = []
    for i in range(runs):
        time.sleep(pause)
        start = time.monotonic()
        cluster.kubectl("set", "image", f"deploy/{name}", f"{name}={name}:{i + 2}")
        cluster.kubectl("rollout", "status", f"deploy/{name}", "--timeout=120s")
        times.append(time.monotonic() - start)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--delays", default="2s,5s")
    p.add_argument("--pause", type=float, default=4.0, help="seconds between rollouts")
    p.add_argument("--controller-latency", default="", help="kubesim --controller-latency (default: kubesim's)")
    args = p.parse_args()
    rows = []
    for delay in args.delays.split(","):
        extra = [f"--controller-latency={args.controller_latency}"] if args.controller_latency else []
        with SimCluster(pod_start_delay=delay, kubelet_poll="250ms", extra_args=extra) as c:
            for label, strategy in [
                ("default", None),
                ("surge", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": 0}}),
            ]:
                t = rollout_times(c, f"r{label}", strategy, args.runs, args.pause)
                rows.append((delay, label, t))
    print("| D | strategy | kubesim (each run, s) | kubesim median | real controllers (s) | real median | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for delay, label, t in rows:
        ref = REFERENCE.get((delay, label), [])
        med = median(t)
        rmed = median(ref)
        name = "default (25 %/25 %)" if label == "default" else "maxSurge 100 %, maxUnavailable 0"
        print(f"| {delay} | {name} | {', '.join(f'{x:.1f}' for x in t)} | {med:.1f} | "
              f"{', '.join(str(x) for x in ref)} | {rmed:.1f} | {med / rmed:.2f} |")


if __name__ == "__main__":
    main()

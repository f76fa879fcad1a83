#!/usr/bin/env python3
"""How long a dead herdd's operation waits before another herdd adopts it.

Two herdds serve one kubesim with the same --lease-duration. herdd "a"
starts a rollout whose pods are slow to start, is SIGKILLed while it runs,
at a random moment of its lease renewal (herdd renews every third of the
lease), and the time from the kill to the operation's "adopted by herdd-b" event
(stamped by b, on the same clock) is measured; then the same for a herdd
restarted under a's own identity, which adopts at once. Each lease is
tried --rounds times.

    bench/adoption.py --leases=2s,5s,10s --rounds=3

Needs a build (HERD_BIN, default build/bin; HERD_PYTHON_STUBS, default
build/python). Prints one row per lease: min, median, max seconds.
"""
import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("HERD_BIN", os.path.join(ROOT, "build", "bin"))
os.environ.setdefault("HERD_PYTHON_STUBS", os.path.join(ROOT, "build", "python"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

from simcluster import SimCluster, deployment  # noqa: E402
from herdprocess import Herdd, herd_pb2 as S  # noqa: E402

NS = "adopt"


def seconds(duration):
    """"2s", "500ms" → seconds."""
    return float(duration[:-2]) / 1000 if duration.endswith("ms") else float(duration[:-1])


def event_time(op, text):
    for e in op.events:
        if text in e.message:
            return e.time.seconds + e.time.nanos / 1e9
    return None


def wait_event(stub, name, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = stub.GetOperation(S.GetOperationRequest(name=name), timeout=10)
        t = event_time(op, text)
        if t is not None:
            return t
        time.sleep(0.02)
    raise RuntimeError(f"no event {text!r} on {name} within {timeout} s")


def one_round(cluster, lease, idx, same_identity):
    name = f"web{idx}"
    d = deployment(name, "web:1", replicas=2)
    d["metadata"]["namespace"] = NS
    cluster.create(d)
    cluster.kubectl("-n", NS, "rollout", "status", f"deploy/{name}", "--timeout=60s")
    flags = [f"--lease-duration={lease}", "--adopt-period=100ms"]
    a = Herdd(cluster, *flags, identity="herdd-a").start()
    b = None if same_identity else Herdd(cluster, *flags, identity="herdd-b").start()
    try:
        # Pods that take 60 s to start keep the rollout running past the kill.
        op = a.stub().Rollout(S.RolloutRequest(
            workload=f"namespaces/{NS}/deployments/{name}",
            images={name: "web:2-slow60s"}), timeout=30)
        # A kill at a random moment of a's lease renewal (every third of the lease).
        time.sleep(0.3 + random.uniform(0, seconds(lease) / 3))
        a.kill()
        killed = time.time()
        if same_identity:
            b = Herdd(cluster, *flags, identity="herdd-a").start()
            adopted = wait_event(b.stub(), op.name, "adopted by herdd-a", timeout=120)
        else:
            adopted = wait_event(b.stub(), op.name, "adopted by herdd-b", timeout=120)
        b.stub().CancelOperation(S.CancelOperationRequest(name=op.name), timeout=10)
        return adopted - killed
    finally:
        if b:
            b.__exit__(None, None, None)
        a.__exit__(None, None, None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leases", default="2s,5s,10s")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    rows = []
    with SimCluster() as cluster:
        cluster.kubectl("create", "namespace", NS)
        idx = 0
        for lease in args.leases.split(","):
            for same in (False, True):
                times = []
                for _ in range(args.rounds):
                    idx += 1
                    times.append(one_round(cluster, lease, idx, same))
                who = "restarted herdd, same identity" if same else "another herdd"
                rows.append((lease, who, min(times), statistics.median(times), max(times)))
                print(f"lease {lease:>4}  {who:<31} min {rows[-1][2]:6.2f} s  median {rows[-1][3]:6.2f} s  "
                      f"max {rows[-1][4]:6.2f} s", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""GetWorkload over REST and over gRPC, side by side in one run against one
herdd (and kubesim), by build/bin/rest_vs_grpc_bench: latency p50/p99 with
one caller, throughput with several; REST on herdd's own HTTP port and on
herd-gateway in front of it.

    bench/rest_vs_grpc.py [--requests 5000] [--concurrency 4]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "e2e"))
from herdprocess import HerdGateway, Herdd  # noqa: E402
from simcluster import SimCluster, bin_dir, deployment  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=4)
    a = ap.parse_args()
    with SimCluster(pod_start_delay="100ms") as cluster:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        m = deployment("web", "web:1", replicas=3)
        m["metadata"]["namespace"] = "shop"
        cluster.apply(m)
        cluster.kubectl("-n", "shop", "rollout", "status", "deploy/web", "--timeout=60s")
        # GetWorkload reads the workload, its pods and its ReplicaSets from
        # the API server (about 7 requests): herdd's client rate limit
        # (--kube-qps, 200 by default) would cap both protocols at about
        # 28 calls/s and hide what is measured here.
        with Herdd(cluster, "--kube-qps=0") as herdd, HerdGateway(herdd.grpc_address) as gw:
            for where, http in (("herdd's HTTP port (in-process gateway)", herdd.http_address),
                                ("herd-gateway in front of herdd", gw.http_address)):
                print(f"== REST on {where}", flush=True)
                subprocess.run([os.path.join(bin_dir(), "rest_vs_grpc_bench"), f"--grpc={herdd.grpc_address}",
                                f"--http={http}", "--name=namespaces/shop/deployments/web",
                                f"--requests={a.requests}", f"--concurrency={a.concurrency}"], check=True)
                print(flush=True)


if __name__ == "__main__":
    main()

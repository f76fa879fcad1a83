"""Starts herdd as a separate process against a kubesim, for tests that need
a real process (signals, restarts) and an independent gRPC client.

    with SimCluster() as cluster, Herdd(cluster) as herdd:
        stub = herdd.stub()
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from simcluster import bin_dir, ROOT

sys.path.insert(0, os.environ.get("HERD_PYTHON_STUBS", os.path.join(ROOT, "build", "python")))

import grpc  # noqa: E402
from herd.v1 import herd_pb2, herd_pb2_grpc  # noqa: E402,F401


class Herdd:
    def __init__(self, cluster, *extra_args, identity=None, insecure=True, log_dir=None, env=None,
                 kubeconfig=True):
        """`insecure`: with --insecure-no-auth (else give --tokens-file in `extra_args`).
        `log_dir`: where herdd's log file goes (the system's temporary directory if None).
        `env`: herdd's environment (this process's if None). `kubeconfig`:
        with --kubeconfig of the cluster (else give how to reach it in `extra_args`)."""
        self.cluster = cluster
        self.log_dir = log_dir
        self.env = env
        self.args = [
            os.path.join(bin_dir(), "herdd"),
            *([f"--kubeconfig={cluster.kubeconfig}"] if kubeconfig else []),
            *(["--insecure-no-auth"] if insecure else []),
            "--grpc-listen=127.0.0.1:0",
            "--http-listen=127.0.0.1:0",
            "--log-level=info",
            *extra_args,
        ]
        if identity:
            self.args.append(f"--identity={identity}")
        self.proc = None

    def __enter__(self):
        return self.start()

    def start(self):
        self.log = tempfile.NamedTemporaryFile(prefix="herdd-", suffix=".log", delete=False, mode="w+",
                                               dir=self.log_dir)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.log, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"herdd exited with {self.proc.returncode}: {self.read_log()}")
            for line in self.read_log().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "herdd serving":
                    self.grpc_address = entry["grpc"]
                    self.http_address = entry["http"]
                    self.channel = grpc.insecure_channel(self.grpc_address)
                    return self
            time.sleep(0.02)
        raise RuntimeError("herdd did not start within 30s: " + self.read_log())

    def read_log(self):
        with open(self.log.name) as f:
            return f.read()

    def stub(self):
        return herd_pb2_grpc.HerdStub(self.channel)

    def kill(self):
        """SIGKILL: no hand-over, no clean-up, as a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.channel.close()

    def terminate(self):
        # An idle connection of ours would hold up the gRPC server's
        # shutdown until its grace period ends: close it first.
        self.channel.close()
        self.proc.terminate()
        return self.proc.wait(timeout=30)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.terminate()
        os.unlink(self.log.name)


def wait_for_end(stub, name, timeout=60, metadata=None):
    """Follows WatchOperation to the final state (as the caller `metadata`
    names, if given); returns every update."""
    updates = []
    for op in stub.WatchOperation(herd_pb2.WatchOperationRequest(name=name), timeout=timeout, metadata=metadata):
        updates.append(op)
    return updates


class HerdGateway:
    """herd-gateway (REST and /openapi.json) in front of a herdd's gRPC port.

        with Herdd(cluster) as herdd, HerdGateway(herdd.grpc_address) as gw:
            urllib.request.urlopen(f"http://{gw.http_address}/v1/workloads")
    """

    def __init__(self, backend, *extra_args):
        self.args = [os.path.join(bin_dir(), "herd-gateway"), f"--backend={backend}", "--listen=127.0.0.1:0",
                     *extra_args]
        self.proc = None

    def __enter__(self):
        self.log = tempfile.NamedTemporaryFile(prefix="herd-gateway-", suffix=".log", delete=False, mode="w+")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"herd-gateway exited with {self.proc.returncode}: {self.read_log()}")
            for line in self.read_log().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "herd-gateway serving":
                    self.http_address = entry["http"]
                    return self
            time.sleep(0.02)
        raise RuntimeError("herd-gateway did not start within 30s: " + self.read_log())

    def read_log(self):
        with open(self.log.name) as f:
            return f.read()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        os.unlink(self.log.name)

"""herdd's /metrics: valid exposition (promtool), and scraped by a real
Prometheus (Debian's) that then answers queries about herd's calls."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import grpc

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import SimCluster, deployment


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0"]).__enter__()
        cls.herdd = Herdd(cls.cluster).__enter__()
        m = deployment("web", "web:1", replicas=2)
        m["metadata"]["namespace"] = "default"
        cls.cluster.apply(m)
        cls.cluster.kubectl("rollout", "status", "deploy/web", "--timeout=60s")
        stub = cls.herdd.stub()
        op = stub.Rollout(herd_pb2.RolloutRequest(workload="namespaces/default/deployments/web",
                                                  images={"web": "web:2"}), timeout=30)
        wait_for_end(stub, op.name)

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.cluster.__exit__(None, None, None)

    def test_promtool_accepts_the_exposition(self):
        text = fetch(f"http://{self.herdd.http_address}/metrics")
        self.assertRegex(text, r'grpc_server_handled_total\{[^}]*grpc_method="Rollout"[^}]*\} 1\n')
        self.assertRegex(text, r'herd_operations_total\{kind="rollout",result="succeeded"\} 1\n')
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_caches_and_refusals_are_counted(self):
        # A protected namespace refuses every mutation, even to a caller
        # who may do everything else.
        with self.assertRaises(grpc.RpcError) as ctx:
            self.herdd.stub().Scale(herd_pb2.ScaleRequest(workload="namespaces/kube-system/deployments/dns",
                                                          replicas=2), timeout=10)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        text = fetch(f"http://{self.herdd.http_address}/metrics")
        self.assertRegex(text, r'herd_auth_denials_total\{reason="protected_namespace"\} [1-9]')
        # The Deployment's 2 pods (and whatever else runs) are in the cache,
        # and the operation's record among the ConfigMaps.
        pods = re.search(r'herd_cache_objects\{resource="pods"\} (\d+)', text)
        self.assertIsNotNone(pods, text)
        self.assertGreaterEqual(int(pods.group(1)), 2)
        self.assertRegex(text, r'herd_cache_objects\{resource="configmaps"\} [1-9]')
        self.assertRegex(text, r'# TYPE herd_watch_restarts_total counter\nherd_watch_restarts_total\{resource=')
        self.assertRegex(text, r'# TYPE herd_cache_relists_total counter\nherd_cache_relists_total\{resource=')

    def test_health_and_readiness(self):
        self.assertEqual(fetch(f"http://{self.herdd.http_address}/healthz").strip(), "ok")
        self.assertEqual(fetch(f"http://{self.herdd.http_address}/readyz").strip(), "ok")

    def test_a_real_prometheus_scrapes_herd(self):
        workdir = tempfile.mkdtemp(prefix="herd-prom-")
        self.addCleanup(shutil.rmtree, workdir, True)
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: herd
    static_configs:
      - targets: ['{self.herdd.http_address}']
""")
        port = free_port()
        prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(prom.wait, 10)
        self.addCleanup(prom.terminate)
        api = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        result = None
        while time.monotonic() < deadline:
            try:
                q = urllib.request.quote('herd_operations_total{kind="rollout",result="succeeded"}')
                body = json.loads(fetch(f"{api}/query?query={q}"))
                if body["data"]["result"]:
                    result = body["data"]["result"]
                    break
            except OSError:
                pass
            time.sleep(0.2)  # Prometheus scrapes on its own schedule
        self.assertIsNotNone(result, "Prometheus never scraped herd_operations_total")
        self.assertGreaterEqual(float(result[0]["value"][1]), 1)
        targets = json.loads(fetch(f"{api}/targets"))["data"]["activeTargets"]
        self.assertEqual(targets[0]["health"], "up", targets)


if __name__ == "__main__":
    unittest.main()

"""Scaling with load (LoadScaling policies) end to end: a real Prometheus
(Debian's) scrapes a small exporter whose value the test sets; herdd asks
it the policy's query and scales a kubesim Deployment within the bounds,
steps and windows; a dry run only reports; an autoscaler is left alone; a
query Prometheus refuses is refused at creation."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import grpc

from herdprocess import Herdd, herd_pb2
from simcluster import SimCluster, WaitsForConditions, deployment

S = herd_pb2
QUERY = 'queue_depth{queue="jobs"}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """Serves `queue_depth{queue="jobs"} VALUE` at /metrics."""

    def __init__(self):
        self.value = 0.0
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (f'# TYPE queue_depth gauge\nqueue_depth{{queue="jobs"}} {exporter.value}\n').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@unittest.skipUnless(shutil.which("prometheus"), "needs Debian's prometheus")
class LoadScalingTest(WaitsForConditions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="herd-load-")
        cls.exporter = Exporter()
        config = os.path.join(cls.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: queue\n"
                    f"    static_configs:\n      - targets: ['{cls.exporter.address}']\n")
        port = free_port()
        cls.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={cls.dir}/data",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.prometheus_url = f"http://127.0.0.1:{port}"
        cls.cluster = SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0"]).__enter__()
        cls.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jobs"}})
        for name, replicas in (("worker", 1), ("shadow", 1), ("held", 2)):
            m = deployment(name, f"{name}:1", replicas=replicas)
            m["metadata"]["namespace"] = "jobs"
            cls.cluster.apply(m)
        cls.cluster.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                           "metadata": {"name": "held", "namespace": "jobs"},
                           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "held"},
                                    "minReplicas": 2, "maxReplicas": 5,
                                    "metrics": [{"type": "Resource", "resource": {
                                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})
        cls.herdd = Herdd(cls.cluster, f"--prometheus-url={cls.prometheus_url}").start()

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.cluster.__exit__(None, None, None)
        cls.prometheus.terminate()
        cls.prometheus.wait(10)
        cls.exporter.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def prometheus_sees(self, value):
        """Waits until Prometheus answers `value` for the query."""
        def seen():
            try:
                q = urllib.request.quote(QUERY)
                with urllib.request.urlopen(f"{self.prometheus_url}/api/v1/query?query={q}", timeout=5) as r:
                    result = json.loads(r.read())["data"]["result"]
                return result and float(result[0]["value"][1]) == value
            except OSError:
                return False
        self.wait_for(f"Prometheus to scrape {value}", seen, timeout=60)

    def replicas(self, name):
        return self.cluster.json("-n", "jobs", "get", "deploy", name)["spec"]["replicas"]

    def policy(self, name):
        return self.herdd.stub().GetPolicy(S.GetPolicyRequest(name=f"policies/{name}"), timeout=10)

    def create(self, policy_id, workload, **fields):
        scaling = S.LoadScaling(workload=f"namespaces/jobs/deployments/{workload}", query=QUERY,
                                target_per_replica=10, max_replicas=8, **fields)
        scaling.interval.FromMilliseconds(1000)
        scaling.cooldown.FromMilliseconds(1000)
        scaling.scale_down_stabilization.FromMilliseconds(2000)
        return self.herdd.stub().CreatePolicy(
            S.CreatePolicyRequest(policy_id=policy_id, policy=S.Policy(load_scaling=scaling)), timeout=10)

    def test_replicas_follow_the_load_within_steps_windows_and_bounds(self):
        self.exporter.value = 45
        self.prometheus_sees(45)
        self.create("workers", "worker", max_step_down=2)
        self.create("shadow", "shadow", dry_run=True)
        self.create("held", "held")
        # Up at once (no scale-up window): ceil(45 / 10) = 5.
        self.wait_for("worker scaled to 5", lambda: self.replicas("worker") == 5)
        started = [d for d in self.policy("workers").decisions if d.outcome == S.POLICY_OUTCOME_STARTED]
        self.assertIn("value 45 at 10 per replica → 5 (within 1–8); 1 → 5", started[0].message)
        op = self.herdd.stub().GetOperation(S.GetOperationRequest(name=started[0].operation), timeout=10)
        self.assertEqual(op.principal, "policy:workers")
        self.assertEqual(op.kind, S.OPERATION_KIND_SCALE)
        self.assertEqual(op.reason, f"policy workers ({QUERY})")
        # The dry run says what it would do and does nothing.
        dry = self.wait_for("the dry run's decision", lambda: [
            d for d in self.policy("shadow").decisions if d.outcome == S.POLICY_OUTCOME_DRY_RUN])
        self.assertIn("would scale: value 45 at 10 per replica → 5", dry[0].message)
        self.assertEqual(self.replicas("shadow"), 1)
        # The autoscaler's workload is left to it, and the policy says why.
        refused = self.wait_for("the held policy to stand back", lambda: [
            d for d in self.policy("held").decisions if d.outcome == S.POLICY_OUTCOME_REFUSED])
        self.assertIn("HorizontalPodAutoscaler held manages the replicas (2–5): this policy stands back",
                      refused[0].message)
        self.assertEqual(len(refused), 1, "told once")
        self.assertEqual(self.replicas("held"), 2)

        # Down: after the 2 s window has seen only the low value, at most 2
        # at a time, the cooldown between: 5 → 3 → 1.
        self.exporter.value = 3
        self.prometheus_sees(3)
        self.wait_for("worker scaled down to 1", lambda: self.replicas("worker") == 1, timeout=60)
        steps = [d.message for d in self.policy("workers").decisions if d.outcome == S.POLICY_OUTCOME_STARTED]
        self.assertTrue(any(m.endswith("a step of at most 2: 3; 5 → 3") for m in steps), steps)
        self.assertTrue(any(m.endswith("3 → 1") for m in steps), steps)
        for name in ("workers", "shadow", "held"):
            self.herdd.stub().DeletePolicy(S.DeletePolicyRequest(name=f"policies/{name}"), timeout=10)

    def test_a_query_prometheus_refuses_is_refused_at_creation(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.herdd.stub().CreatePolicy(S.CreatePolicyRequest(policy_id="broken", policy=S.Policy(
                load_scaling=S.LoadScaling(workload="namespaces/jobs/deployments/worker", query="sum(",
                                           target_per_replica=10, max_replicas=4))), timeout=10)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("load_scaling.query: Prometheus refused the query: bad_data", ctx.exception.details())


if __name__ == "__main__":
    unittest.main()

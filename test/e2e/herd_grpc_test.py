"""herdd driven from Debian's python3-grpcio with stubs generated from
herd.proto — as another team's CI pipeline would — with results checked by
the real kubectl against the simulated cluster."""
import datetime
import json
import time
import unittest

import grpc
from google.protobuf import duration_pb2

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import SimCluster, deployment

FINAL = {herd_pb2.OPERATION_STATE_SUCCEEDED, herd_pb2.OPERATION_STATE_FAILED,
         herd_pb2.OPERATION_STATE_CANCELLED, herd_pb2.OPERATION_STATE_ROLLED_BACK}


class HerdGrpcTest(unittest.TestCase):
    def setUp(self):
        self.cluster = SimCluster(pod_start_delay="200ms", kubelet_poll="20ms",
                                  extra_args=["--controller-qps=0"]).__enter__()
        self.addCleanup(self.cluster.__exit__, None, None, None)
        self.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})

    def deploy(self, name, image, replicas):
        m = deployment(name, image, replicas=replicas)
        m["metadata"]["namespace"] = "shop"
        self.cluster.apply(m)
        self.cluster.kubectl("-n", "shop", "rollout", "status", f"deploy/{name}", "--timeout=60s")

    def images(self, app):
        out = self.cluster.kubectl("-n", "shop", "get", "pods", "-l", f"app={app}",
                                   "-o", "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}")
        return sorted(out.split())

    def test_rollout_from_a_pipeline_and_check_with_kubectl(self):
        self.deploy("web", "web:1", 3)
        with Herdd(self.cluster) as herdd:
            stub = herdd.stub()
            op = stub.Rollout(herd_pb2.RolloutRequest(
                workload="namespaces/shop/deployments/web", images={"web": "web:2"},
                options=herd_pb2.MutationOptions(reason="release 42", request_id="ci-run-1")), timeout=30)
            self.assertEqual(op.state, herd_pb2.OPERATION_STATE_RUNNING)
            self.assertEqual(op.reason, "release 42")
            updates = wait_for_end(stub, op.name)
            final = updates[-1]
            self.assertEqual(final.state, herd_pb2.OPERATION_STATE_SUCCEEDED, final)
            self.assertEqual(final.progress.ready, 3)
            # The same request id again: the same operation, nothing new done.
            again = stub.Rollout(herd_pb2.RolloutRequest(
                workload="namespaces/shop/deployments/web", images={"web": "web:2"},
                options=herd_pb2.MutationOptions(request_id="ci-run-1")), timeout=30)
            self.assertEqual(again.name, op.name)
            self.assertEqual(again.state, herd_pb2.OPERATION_STATE_SUCCEEDED)
            got = stub.GetOperation(herd_pb2.GetOperationRequest(name=op.name), timeout=10)
            self.assertEqual(got.state, herd_pb2.OPERATION_STATE_SUCCEEDED)
        self.assertEqual(self.images("web"), ["web:2", "web:2", "web:2"])
        out = self.cluster.kubectl("-n", "shop", "rollout", "history", "deploy/web")
        self.assertIn("2 ", out)
        self.assertIn('deployment "web" successfully rolled out',
                      self.cluster.kubectl("-n", "shop", "rollout", "status", "deploy/web"))

    def test_errors_are_grpc_statuses_a_pipeline_can_branch_on(self):
        self.deploy("web", "web:1", 1)
        with Herdd(self.cluster) as herdd:
            stub = herdd.stub()
            with self.assertRaises(grpc.RpcError) as ctx:
                stub.Rollout(herd_pb2.RolloutRequest(workload="namespaces/shop/deployments/nope",
                                                     images={"x": "x:1"}), timeout=10)
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)
            with self.assertRaises(grpc.RpcError) as ctx:
                stub.Rollout(herd_pb2.RolloutRequest(workload="shop/web", images={"web": "web:2"}), timeout=10)
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            with self.assertRaises(grpc.RpcError) as ctx:
                stub.Rollout(herd_pb2.RolloutRequest(workload="namespaces/kube-system/deployments/coredns",
                                                     images={"coredns": "x:1"}), timeout=10)
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(self.images("web"), ["web:1"])

    def test_a_new_herdd_finishes_the_rollout_of_one_killed_mid_way(self):
        self.deploy("web", "web:1", 3)
        args = ["--lease-duration=2s", "--adopt-period=200ms"]
        first = Herdd(self.cluster, *args, identity="herdd-a").start()
        try:
            stub = first.stub()
            # Pods that take a while to become Ready leave time to kill herdd.
            op = stub.Rollout(herd_pb2.RolloutRequest(workload="namespaces/shop/deployments/web",
                                                      images={"web": "web:2-slow3s"}), timeout=30)
            for update in stub.WatchOperation(herd_pb2.WatchOperationRequest(name=op.name), timeout=30):
                if update.progress.updated > 0:
                    break
        finally:
            first.kill()
        with Herdd(self.cluster, *args, identity="herdd-b") as second:
            updates = wait_for_end(second.stub(), op.name, timeout=60)
            final = updates[-1]
            self.assertEqual(final.state, herd_pb2.OPERATION_STATE_SUCCEEDED, final)
            self.assertTrue(any("adopted by herdd-b from herdd-a" in e.message for e in final.events), final.events)
        self.assertEqual(self.images("web"), ["web:2-slow3s"] * 3)
        out = self.cluster.kubectl("-n", "herd-system", "get", "configmaps", "-l", "herd.dev/operation=true",
                                   "-o", "jsonpath={.items[*].metadata.labels.herd\\.dev/state}")
        self.assertEqual(out.split(), ["succeeded"])

    def test_sigterm_hands_the_operation_over(self):
        self.deploy("web", "web:1", 2)
        args = ["--lease-duration=2s", "--adopt-period=200ms"]
        first = Herdd(self.cluster, *args, identity="herdd-a").start()
        stub = first.stub()
        op = stub.Rollout(herd_pb2.RolloutRequest(workload="namespaces/shop/deployments/web",
                                                  images={"web": "web:2-slow2s"}), timeout=30)
        self.assertEqual(first.terminate(), 0)
        with Herdd(self.cluster, *args, identity="herdd-b") as second:
            final = wait_for_end(second.stub(), op.name, timeout=60)[-1]
            self.assertEqual(final.state, herd_pb2.OPERATION_STATE_SUCCEEDED, final)
        self.assertEqual(self.images("web"), ["web:2-slow2s"] * 2)

    def hpa_bounds(self, name):
        hpa = json.loads(self.cluster.kubectl("-n", "shop", "get", "hpa", name, "-o", "json"))
        return hpa["spec"].get("minReplicas"), hpa["spec"]["maxReplicas"], hpa["metadata"].get("annotations", {})

    def test_an_autoscaler_hold_ends_on_time_also_after_a_restart(self):
        # ScaleRequest.hpa_hold: the HPA's bounds move to the new count for
        # that long, then go back — restored by whichever herdd leads then,
        # even when the one that scaled is gone.
        self.deploy("api", "api:1", 2)
        self.cluster.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                            "metadata": {"name": "api", "namespace": "shop"},
                            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                                     "minReplicas": 2, "maxReplicas": 5}})
        args = ["--lease-duration=1s", "--adopt-period=200ms"]
        first = Herdd(self.cluster, *args, identity="herdd-a").start()
        stub = first.stub()
        op = stub.Scale(herd_pb2.ScaleRequest(workload="namespaces/shop/deployments/api", replicas=4,
                                              hpa_hold=duration_pb2.Duration(seconds=3)), timeout=30)
        final = wait_for_end(stub, op.name)[-1]
        self.assertEqual(final.state, herd_pb2.OPERATION_STATE_SUCCEEDED, final)
        lo, hi, annotations = self.hpa_bounds("api")
        self.assertEqual((lo, hi), (4, 4))
        restore_at = datetime.datetime.fromisoformat(annotations["herd.dev/hpa-restore-at"].replace("Z", "+00:00"))
        first.kill()
        with Herdd(self.cluster, *args, identity="herdd-b"):
            deadline = time.monotonic() + 30
            while self.hpa_bounds("api")[:2] != (2, 5) and time.monotonic() < deadline:
                time.sleep(0.05)
            restored = datetime.datetime.now(datetime.timezone.utc)
            lo, hi, annotations = self.hpa_bounds("api")
        self.assertEqual((lo, hi), (2, 5))
        self.assertNotIn("herd.dev/hpa-original", annotations)
        self.assertNotIn("herd.dev/hpa-restore-at", annotations)
        # Not before the hold's end (the annotation has whole seconds), and
        # within a lease (another herdd must take the lead) and a moment after it.
        late = (restored - restore_at).total_seconds()
        self.assertGreaterEqual(late, -1.0)
        self.assertLess(late, 3.0)


if __name__ == "__main__":
    unittest.main()

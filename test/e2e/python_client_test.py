"""Debian's python3-kubernetes (the official Python client) against kubesim:
another team's tooling must list, watch and patch without knowing it is
not a real cluster."""
import threading
import time
import unittest

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from simcluster import SimTestCase, deployment


class PythonClientTest(SimTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        api_client = config.new_client_from_config(config_file=cls.cluster.kubeconfig)
        cls.core = client.CoreV1Api(api_client)
        cls.apps = client.AppsV1Api(api_client)
        cls.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py")))

    def create_deployment(self, name, replicas):
        body = deployment(name, f"{name}:1", replicas=replicas)
        body["metadata"]["namespace"] = "py"
        return self.apps.create_namespaced_deployment("py", body)

    def wait_ready(self, name, replicas, timeout=30):
        # A watch on the deployment ends the wait as soon as it is ready
        # (its status speaking of its current generation, as kubectl checks).
        def ready(d):
            s = d.status
            return ((s.observed_generation or 0) >= d.metadata.generation and (s.ready_replicas or 0) == replicas
                    and s.updated_replicas == replicas and (s.replicas or 0) == replicas)

        w = watch.Watch()
        deadline = time.monotonic() + timeout
        d = self.apps.read_namespaced_deployment(name, "py")
        if ready(d):
            return d
        for ev in w.stream(self.apps.list_namespaced_deployment, "py", field_selector=f"metadata.name={name}",
                           resource_version=d.metadata.resource_version, timeout_seconds=timeout):
            if ready(ev["object"]):
                w.stop()
                return ev["object"]
            if time.monotonic() > deadline:
                break
        self.fail(f"deployment {name} not ready with {replicas} replicas within {timeout}s")

    def test_lists_with_selectors_and_pages(self):
        self.create_deployment("lister", 3)
        self.wait_ready("lister", 3)
        nodes = self.core.list_node()
        self.assertEqual(sorted(n.metadata.name for n in nodes.items),
                         ["kubesim-node-1", "kubesim-node-2", "kubesim-node-3"])
        pods = self.core.list_namespaced_pod("py", label_selector="app=lister")
        self.assertEqual(len(pods.items), 3)
        self.assertTrue(all(p.status.phase == "Running" for p in pods.items))
        self.assertTrue(all(p.metadata.owner_references[0].kind == "ReplicaSet" for p in pods.items))
        page = self.core.list_namespaced_pod("py", label_selector="app=lister", limit=2)
        self.assertEqual(len(page.items), 2)
        self.assertTrue(page.metadata._continue)
        rest = self.core.list_namespaced_pod("py", label_selector="app=lister", limit=2, _continue=page.metadata._continue)
        self.assertEqual(len(rest.items), 1)
        self.assertFalse(rest.metadata._continue)
        running = self.core.list_pod_for_all_namespaces(field_selector="status.phase=Running,metadata.namespace=py")
        self.assertGreaterEqual(len(running.items), 3)

    def test_watch_sees_pods_come_and_go(self):
        self.create_deployment("watched", 1)
        self.wait_ready("watched", 1)
        start = self.core.list_namespaced_pod("py", label_selector="app=watched")
        events = []
        done = threading.Event()

        def run():
            w = watch.Watch()
            for ev in w.stream(self.core.list_namespaced_pod, "py", label_selector="app=watched",
                               resource_version=start.metadata.resource_version, timeout_seconds=30):
                events.append((ev["type"], ev["object"].metadata.name, ev["object"].status.phase))
                ready = [e for e in events if e[0] == "MODIFIED" and e[2] == "Running"]
                if len({e[1] for e in ready}) >= 2:
                    w.stop()
            done.set()

        t = threading.Thread(target=run)
        t.start()
        self.apps.patch_namespaced_deployment_scale("watched", "py", {"spec": {"replicas": 3}})
        self.assertTrue(done.wait(30), f"watch saw {events}")
        t.join()
        added = {e[1] for e in events if e[0] == "ADDED"}
        self.assertEqual(len(added), 2, events)

    def test_patch_changes_the_image_and_the_controller_rolls_out(self):
        self.create_deployment("patched", 2)
        self.wait_ready("patched", 2)
        patched = self.apps.patch_namespaced_deployment(
            "patched", "py", {"spec": {"template": {"spec": {"containers": [{"name": "patched", "image": "patched:2"}]}}}})
        self.assertEqual(patched.spec.template.spec.containers[0].image, "patched:2")
        self.assertEqual(patched.metadata.generation, 2)
        d = self.wait_ready("patched", 2)
        self.assertEqual(d.metadata.annotations["deployment.kubernetes.io/revision"], "2")
        scale = self.apps.read_namespaced_deployment_scale("patched", "py")
        self.assertEqual(scale.spec.replicas, 2)
        self.assertEqual(scale.status.selector, "app=patched")

    def test_errors_carry_the_api_status(self):
        with self.assertRaises(ApiException) as ctx:
            self.apps.read_namespaced_deployment("missing", "py")
        self.assertEqual(ctx.exception.status, 404)
        self.assertIn('"reason":"NotFound"', ctx.exception.body.replace(" ", ""))
        self.create_deployment("twice", 1)
        with self.assertRaises(ApiException) as ctx:
            self.create_deployment("twice", 1)
        self.assertEqual(ctx.exception.status, 409)
        self.assertIn("AlreadyExists", ctx.exception.body)
        with self.assertRaises(ApiException) as ctx:
            self.apps.patch_namespaced_deployment("twice", "py", {"spec": {"replicas": -1}})
        self.assertEqual(ctx.exception.status, 422)
        self.assertIn("spec.replicas: Invalid value: -1: must be greater than or equal to 0", ctx.exception.body)


if __name__ == "__main__":
    unittest.main()

"""kubesim as README.md and `kubesim --help` promise it: the flags (nodes,
token, TLS, latency, error rates, dropped watches), faults set at run time
with PUT /kubesim/faults, and the image names that ask for pod faults —
against the real binary, with kubectl and plain HTTP
(docs/PROMISES.md lists which test proves which promise)."""
import base64
import json
import ssl
import time
import unittest
import urllib.error
import urllib.request

import yaml

from simcluster import SimCluster, WaitsForConditions


class KubesimTestCase(WaitsForConditions, unittest.TestCase):
    def start(self, *args, **kw):
        cluster = SimCluster(extra_args=["--controller-qps=0", *args], **kw).__enter__()
        self.addCleanup(cluster.__exit__, None, None, None)
        return cluster

    def request(self, cluster, path, method="GET", body=None, token=None, context=None, timeout=10):
        """(status, body) of one HTTP request to `cluster`."""
        req = urllib.request.Request(cluster.server + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


class KubesimFlagsTest(KubesimTestCase):
    def test_nodes_token_tls_latency_and_dropped_watches(self):
        c = self.start("--nodes=2", "--token=s3cret", "--tls", "--latency=300ms", "--drop-watches-after=1s")
        self.assertTrue(c.server.startswith("https://"))
        # kubectl finds the token and the CA in the kubeconfig kubesim wrote.
        self.assertEqual(len(json.loads(c.kubectl("get", "nodes", "-o", "json"))["items"]), 2)
        with open(c.kubeconfig) as f:
            config = yaml.safe_load(f)
        ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
        tls = ssl.create_default_context(cadata=ca)
        tls.check_hostname = False
        # No token: 401.
        status, _ = self.request(c, "/api/v1/namespaces", context=tls)
        self.assertEqual(status, 401)
        # --latency is added to every API request.
        started = time.monotonic()
        status, _ = self.request(c, "/api/v1/namespaces", token="s3cret", context=tls)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        # --drop-watches-after ends every watch.
        started = time.monotonic()
        status, _ = self.request(c, "/api/v1/namespaces/default/configmaps?watch=1", token="s3cret", context=tls,
                                 timeout=20)
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 5)
        self.assertGreaterEqual(time.monotonic() - started, 1.0)

    def test_error_rates_and_faults_at_run_time(self):
        c = self.start("--error-rate=list=1", "--error-code=503")
        status, body = self.request(c, "/api/v1/namespaces/default/configmaps")
        self.assertEqual(status, 503)
        self.assertEqual(json.loads(body)["kind"], "Status")
        self.assertEqual(self.request(c, "/api/v1/namespaces/default")[0], 200)  # only lists fail
        # PUT /kubesim/faults replaces the faults: the next create fails, once.
        status, body = self.request(c, "/kubesim/faults", "PUT", {"failNext": {"create": 1}, "errorCode": 500})
        self.assertEqual((status, json.loads(body)["errorRate"]), (200, {}))
        self.assertEqual(self.request(c, "/api/v1/namespaces/default/configmaps")[0], 200)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        self.assertEqual(self.request(c, "/api/v1/namespaces/default/configmaps", "POST", cm)[0], 500)
        self.assertEqual(self.request(c, "/api/v1/namespaces/default/configmaps", "POST", cm)[0], 201)

    def test_images_ask_for_pod_faults(self):
        c = self.start("--crash-loop-backoff=300ms", pod_start_delay="100ms")

        def pod(name, image, grace=None):
            spec = {"restartPolicy": "Never" if "exit1" in image else "Always",
                    "containers": [{"name": "c", "image": image}]}
            if grace is not None:
                spec["terminationGracePeriodSeconds"] = grace
            c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                     "spec": spec})

        def status(name):
            return json.loads(c.kubectl("get", "pod", name, "-o", "json")).get("status", {})

        def waiting(name):
            for s in status(name).get("containerStatuses", []):
                return s.get("state", {}).get("waiting", {}).get("reason")

        def ready(name):
            return any(x["type"] == "Ready" and x["status"] == "True" for x in status(name).get("conditions", []))

        created = time.monotonic()
        for name, image in (("stop", "app:slowstop"), ("crash", "app:crashloop"), ("pull", "app:pullfail"),
                            ("unready", "app:unready"), ("slow", "app:slow1s"), ("exit", "app:exit1")):
            pod(name, image, grace=2 if name == "stop" else None)
        # slowstop: the pod ignores SIGTERM and stays its whole grace period.
        self.wait_for("the slowstop pod Ready", lambda: ready("stop"))
        deleted = time.monotonic()
        c.kubectl("delete", "pod", "stop", "--wait=false")
        self.assertTrue(json.loads(c.kubectl("get", "pod", "stop", "-o", "json"))["metadata"].get("deletionTimestamp"))
        self.wait_for("CrashLoopBackOff", lambda: waiting("crash") == "CrashLoopBackOff")
        self.wait_for("ImagePullBackOff", lambda: waiting("pull") in ("ErrImagePull", "ImagePullBackOff"))
        self.wait_for("the failed pod", lambda: status("exit").get("phase") == "Failed")
        self.wait_for("the slow pod Ready", lambda: ready("slow"))
        self.assertGreaterEqual(time.monotonic() - created, 1.0)
        self.assertEqual(status("unready").get("phase"), "Running")
        self.assertFalse(ready("unready"))
        self.wait_for("the slowstop pod gone",
                      lambda: "NotFound" in c.run("get", "pod", "stop", check=False).stderr)
        # kubesim ends it at its deletionTimestamp, which has whole seconds:
        # up to a second before the grace period (docs/PROMISES.md).
        self.assertGreaterEqual(time.monotonic() - deleted, 1.0)

if __name__ == "__main__":
    unittest.main()

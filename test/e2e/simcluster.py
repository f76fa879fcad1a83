"""Starts a kubesim for a test and runs the real kubectl against it.

    with SimCluster(pod_start_delay="100ms") as c:
        c.kubectl("apply", "-f", "web.yaml")
        out = c.kubectl("get", "pods")

The kubesim binary comes from $HERD_BIN (the build's bin directory) or
build/bin; kubectl from $KUBECTL or the PATH.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bin_dir():
    return os.environ.get("HERD_BIN", os.path.join(ROOT, "build", "bin"))


def kubectl_path():
    return os.environ.get("KUBECTL") or shutil.which("kubectl") or "/usr/bin/kubectl"


class CommandError(Exception):
    def __init__(self, args, code, out, err):
        super().__init__(f"{' '.join(args)} exited {code}\nstdout: {out}\nstderr: {err}")
        self.code = code
        self.stdout = out
        self.stderr = err


class SimCluster:
    def __init__(self, pod_start_delay="100ms", kubelet_poll="20ms", extra_args=()):
        self.args = [
            os.path.join(bin_dir(), "kubesim"),
            "--listen=127.0.0.1:0",
            f"--pod-start-delay={pod_start_delay}",
            f"--kubelet-poll={kubelet_poll}",
            "--log-level=warn",
            *extra_args,
        ]

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="herd-e2e-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log = open(os.path.join(self.dir, "kubesim.log"), "w")
        self.proc = subprocess.Popen(
            self.args + [f"--kubeconfig-out={self.kubeconfig}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        # kubesim writes the kubeconfig once it listens.
        deadline = time.monotonic() + 20
        while not os.path.exists(self.kubeconfig):
            if self.proc.poll() is not None:
                raise RuntimeError(f"kubesim exited with {self.proc.returncode}: {self.read_log()}")
            if time.monotonic() > deadline:
                raise RuntimeError("kubesim did not start within 20s")
            time.sleep(0.01)
        self.env = dict(os.environ, KUBECONFIG=self.kubeconfig, KUBECACHEDIR=os.path.join(self.dir, "cache"))
        with open(self.kubeconfig) as f:
            self.server = re.search(r"server: (\S+)", f.read()).group(1)
        return self

    def read_log(self):
        with open(os.path.join(self.dir, "kubesim.log")) as f:
            return f.read()

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, *args, check=True, timeout=60, input=None):
        cmd = [kubectl_path(), *args]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise CommandError(cmd, p.returncode, p.stdout, p.stderr)
        return p

    def kubectl(self, *args, **kw):
        return self.run(*args, **kw).stdout

    def json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json"))

    def apply(self, manifest):
        return self.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    # Where each kind lives in the REST API, for `api` and `create`.
    RESOURCES = {
        "Namespace": ("/api/v1", "namespaces"), "Pod": ("/api/v1", "pods"),
        "Deployment": ("/apis/apps/v1", "deployments"), "StatefulSet": ("/apis/apps/v1", "statefulsets"),
        "ControllerRevision": ("/apis/apps/v1", "controllerrevisions"),
        "Job": ("/apis/batch/v1", "jobs"), "CronJob": ("/apis/batch/v1", "cronjobs"),
        "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets"),
        "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers"),
    }

    def path(self, kind, ns=None, name=None):
        prefix, plural = self.RESOURCES[kind]
        return prefix + (f"/namespaces/{ns}" if ns else "") + f"/{plural}" + (f"/{name}" if name else "")

    def api(self, path, method="GET", body=None, content_type="application/json"):
        """One request to the API server over plain HTTP (a kubesim without
        --token or --tls), far cheaper than a kubectl process; the decoded
        answer. Raises urllib.error.HTTPError on an error status."""
        req = urllib.request.Request(self.server + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def create(self, obj):
        """POSTs `obj` (its namespace from metadata); an existing one is left as it is."""
        try:
            return self.api(self.path(obj["kind"], obj["metadata"].get("namespace")), "POST", obj)
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise


def deployment(name, image, replicas=3, strategy=None, progress_deadline=None, labels=None):
    labels = labels or {"app": name}
    d = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }
    if strategy:
        d["spec"]["strategy"] = strategy
    if progress_deadline is not None:
        d["spec"]["progressDeadlineSeconds"] = progress_deadline
    return d


class WaitsForConditions:
    """For unittest.TestCase classes: wait on a condition with a deadline."""

    def wait_for(self, what, predicate, timeout=30):
        """Polls `predicate` every 50 ms until it returns something true, and
        returns that; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")


class SimTestCase(unittest.TestCase):
    """One kubesim per test class; tests use their own namespaces."""

    cluster_args = {}

    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(**cls.cluster_args).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def namespace(self, name):
        self.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def rolled_out(self, ns, name, image, **kw):
        """Applies a Deployment (see `deployment`) in `ns` and waits until kubectl says it rolled out."""
        m = deployment(name, image, **kw)
        m["metadata"]["namespace"] = ns
        self.cluster.apply(m)
        self.cluster.kubectl("-n", ns, "rollout", "status", f"deploy/{name}", "--timeout=60s")
        return m

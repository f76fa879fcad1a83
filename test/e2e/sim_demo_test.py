"""`herdd --sim`, the README's main job: the simulated cluster with its demo
workloads, the instructions it prints, and every herdctl hint in them (and
in README.md) run as a person would, with the outcome each one promises
checked by kubectl against the kubeconfig it wrote
(docs/PROMISES.md lists which test proves which promise)."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from simcluster import ROOT, bin_dir, kubectl_path


class SimDemoTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="herd-sim-demo-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.kubeconfig = os.path.join(self.dir, "herd-sim.kubeconfig")
        self.out = open(os.path.join(self.dir, "out"), "w+")
        self.err = open(os.path.join(self.dir, "err"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir(), "herdd"), "--sim", "--sim-pod-start-delay=100ms", "--grpc-listen=127.0.0.1:0",
             "--http-listen=127.0.0.1:0", f"--sim-kubeconfig-out={self.kubeconfig}"],
            stdout=self.out, stderr=self.err)
        self.addCleanup(self.stop)
        deadline = time.monotonic() + 30
        while "Stop with Ctrl-C." not in self.read(self.out):
            self.assertIsNone(self.proc.poll(), self.read(self.err))
            self.assertLess(time.monotonic(), deadline, "herdd --sim printed no instructions")
            time.sleep(0.02)
        self.welcome = self.read(self.out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as the instructions say
            self.assertEqual(self.proc.wait(timeout=30), 0)
        self.out.close()
        self.err.close()

    @staticmethod
    def read(f):
        f.flush()
        with open(f.name) as r:
            return r.read()

    def kubectl(self, *args):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, KUBECACHEDIR=os.path.join(self.dir, "cache"))
        return subprocess.run([kubectl_path(), *args], env=env, capture_output=True, text=True, check=True,
                              timeout=60).stdout

    def pods(self, ns, app):
        items = json.loads(self.kubectl("-n", ns, "get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def images(self, ns, app):
        return sorted({p["spec"]["containers"][0]["image"] for p in self.pods(ns, app)})

    def test_the_instructions_work_as_printed(self):
        # --sim alone implies --insecure-no-auth and says so.
        self.assertIn("--sim implies --insecure-no-auth", self.read(self.err))
        # HTTP: health and readiness where it says.
        http = re.search(r"HTTP +http://(\S+)/healthz", self.welcome).group(1)
        with urllib.request.urlopen(f"http://{http}/healthz", timeout=10) as r:
            self.assertEqual(r.read().decode().strip(), "ok")
        # Ready once its caches have synced (a moment after the welcome; longer under a sanitizer).
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{http}/readyz", timeout=10) as r:
                    self.assertEqual(r.read().decode().strip(), "ok")
                    break
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 503)
                self.assertLess(time.monotonic(), deadline, "/readyz never said ok")
                time.sleep(0.1)
        # kubectl with the kubeconfig it wrote: the demo workloads in shop and batch.
        self.assertIn(f"export KUBECONFIG={self.kubeconfig}", self.welcome)
        out = self.kubectl("get", "deploy,sts,cronjob,pdb,hpa", "-A", "-o", "name")
        for name in ("deployment.apps/web", "deployment.apps/api", "deployment.apps/worker", "statefulset.apps/queue",
                     "cronjob.batch/report", "poddisruptionbudget.policy/web",
                     "horizontalpodautoscaler.autoscaling/api"):
            self.assertIn(name, out)
        for ns, name, n in (("shop", "web", 6), ("shop", "api", 4), ("shop", "worker", 3), ("batch", "queue", 3)):
            self.kubectl("-n", ns, "rollout", "status", f"deploy/{name}" if ns == "shop" else f"sts/{name}",
                         "--timeout=60s")
            self.assertEqual(len(self.pods(ns, name)), n)

        hints = [line.strip() for line in self.welcome.split("Try:\n", 1)[1].split("\n\n", 1)[0].splitlines()]
        # README's hints are among the printed ones (with the printed --server).
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = [line.strip() for line in f if line.strip().startswith("build/bin/herdctl ")]
        self.assertGreaterEqual(len(readme), 7)
        printed = [re.sub(r"^\S*/herdctl --server=\S+ ", "herdctl ", h).split("#")[0].strip() for h in hints]
        for line in readme:
            self.assertIn(line.replace("build/bin/herdctl ", "herdctl ").split("#")[0].strip(), printed)

        web_before = {p["metadata"]["uid"] for p in self.pods("shop", "web")}
        for hint in hints:
            command, _, comment = hint.partition("#")
            args = shlex.split(command)
            self.assertTrue(args[0].endswith("/herdctl"), hint)
            p = subprocess.run(args, capture_output=True, text=True, timeout=120)
            # "fails, rolls back" and "the budget … refuses the next" end
            # with exit 1; every other hint with 0.
            want = 1 if ("fails" in comment or "refuses" in comment) else 0
            with self.subTest(hint=hint):
                self.assertEqual(p.returncode, want, p.stdout + p.stderr)
                self.check(" ".join(args[2:]), p.stdout + p.stderr, web_before)

    def check(self, hint, output, web_before):
        """What each printed hint promises, seen with kubectl."""
        if hint == "list -A":
            for name in ("web", "api", "worker", "queue", "report"):
                self.assertIn(name, output)
        elif "web=shop/web:1.1" in hint:
            self.assertEqual(self.images("shop", "web"), ["shop/web:1.1"])
        elif "crashloop" in hint:
            self.assertIn("rolled back", output.lower())
            self.assertEqual(self.images("shop", "web"), ["shop/web:1.1"])
        elif "--tag=1.2" in hint:
            self.assertEqual(self.images("shop", "web"), ["shop/web:1.2"])
        elif "scale deploy/api" in hint:
            self.assertEqual(len(self.pods("shop", "api")), 8)
            hpa = json.loads(self.kubectl("-n", "shop", "get", "hpa", "api", "-o", "json"))
            self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (8, 8))
        elif "purge deploy/worker" in hint:
            self.assertEqual(len(self.pods("shop", "worker")), 3)
        elif "kill -l app=web" in hint:
            # One pod evicted, the next refused by the budget "web".
            self.assertIn("web", output)
            self.assertIn("DisruptionBudget", output)
            ops = json.loads(subprocess.run(
                [os.path.join(bin_dir(), "herdctl"), f"--server={self.grpc()}", "-n", "shop", "ops", "list",
                 "-o", "json"], capture_output=True, text=True, check=True).stdout)["operations"]
            kill = [o for o in ops if o["kind"] == "OPERATION_KIND_KILL"][0]
            self.assertEqual((kill["progress"].get("killed"), kill["failure"]["budget"]), (1, "web"))
        elif "sts/queue" in hint:
            self.assertEqual(self.images("batch", "queue"), ["batch/queue:1.1"])
        elif "cronjob run report" in hint:
            jobs = json.loads(self.kubectl("-n", "batch", "get", "jobs", "-o", "json"))["items"]
            # The one herd started; the CronJob's own schedule (every 5
            # minutes) may have started another meanwhile.
            manual = [j for j in jobs
                      if j["metadata"].get("annotations", {}).get("cronjob.kubernetes.io/instantiate") == "manual"]
            self.assertEqual([j["status"].get("succeeded") for j in manual], [1])
        elif hint == "ops list -A":
            self.assertIn("rollout", output)
            self.assertIn("cronjob-run", output)
        else:
            self.fail(f"a hint this test does not know: {hint}")

    def grpc(self):
        return re.search(r"gRPC +(\S+)", self.welcome).group(1)


if __name__ == "__main__":
    unittest.main()

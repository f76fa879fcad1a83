"""herdctl as a person or a script runs it: the real binary against a real
herdd and kubesim, every verb and the flags `herdctl COMMAND --help`
promises, the exit codes README.md and `herdctl --help` list, and the
environment variables — with the outcome read from the Kubernetes API
(docs/PROMISES.md lists which test proves which promise)."""
import json
import os
import signal
import socket
import subprocess
import unittest
import urllib.parse
from concurrent import futures

import grpc

from herdprocess import Herdd
from simcluster import SimCluster, WaitsForConditions, bin_dir, deployment


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HerdctlTestCase(WaitsForConditions, unittest.TestCase):
    """One kubesim and one herdd per class; each test its own namespace."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms", kubelet_poll="20ms",
                                 extra_args=["--controller-qps=0", "--crash-loop-backoff=200ms",
                                             "--job-pod-run-time=200ms"]).__enter__()
        cls.herdd = Herdd(cls.cluster).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.cluster.__exit__(None, None, None)

    def herdctl(self, *args, env=None, timeout=60, server=True):
        """Runs herdctl; returns (exit code, stdout, stderr)."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        if server:
            environ["HERD_SERVER"] = self.herdd.grpc_address
        environ.update(env or {})
        p = subprocess.run([os.path.join(bin_dir(), "herdctl"), *args], env=environ, capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        code, out, err = self.herdctl(*args, **kw)
        self.assertEqual(code, 0, f"herdctl {' '.join(args)}\nstdout: {out}\nstderr: {err}")
        return out

    def namespace(self):
        ns = self.id().rsplit(".", 1)[-1].replace("_", "-")[5:40].strip("-")
        self.cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        return ns

    # The cluster is read over its REST API (a kubectl process per look
    # would cost more than the herdctl calls under test).
    KINDS = {"deploy": "Deployment", "sts": "StatefulSet", "hpa": "HorizontalPodAutoscaler",
             "pdb": "PodDisruptionBudget", "cronjob": "CronJob", "job": "Job"}

    def get(self, ns, kind, name):
        return self.cluster.api(self.cluster.path(self.KINDS.get(kind, kind), ns, name))

    def items(self, ns, kind, selector=None):
        query = "?labelSelector=" + urllib.parse.quote(selector) if selector else ""
        return self.cluster.api(self.cluster.path(kind, ns) + query)["items"]

    def deploy(self, ns, name, image, replicas=2, **kw):
        m = deployment(name, image, replicas=replicas, **kw)
        m["metadata"]["namespace"] = ns
        self.cluster.create(m)
        self.wait_for(f"deploy/{name} rolled out", lambda: self.settled(self.get(ns, "deploy", name), replicas))

    def statefulset(self, ns, name, image, replicas=2):
        labels = {"app": name}
        self.cluster.create({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}})
        self.wait_for(f"sts/{name} ready", lambda: self.settled(self.get(ns, "sts", name), replicas))

    @staticmethod
    def settled(w, replicas):
        st = w.get("status", {})
        return (st.get("observedGeneration", 0) >= w["metadata"]["generation"] and
                st.get("replicas") == st.get("readyReplicas") == st.get("updatedReplicas") == replicas)

    def pods(self, ns, app):
        return [p for p in self.items(ns, "Pod", f"app={app}") if not p["metadata"].get("deletionTimestamp")]

    def images(self, ns, app):
        return sorted(p["spec"]["containers"][0]["image"] for p in self.pods(ns, app))


class HerdctlVerbsTest(HerdctlTestCase):
    def test_rollout_undo_and_their_flags(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1")
        self.statefulset(ns, "db", "db:1", replicas=1)
        # --wait: exit 0 only when it succeeded.
        out = self.ok("-n", ns, "rollout", "deploy/web", "web=web:2", "--wait", "--reason=release 2")
        self.assertIn("succeeded", out.lower())
        self.assertEqual(self.images(ns, "web"), ["web:2", "web:2"])
        # --strategy=rolling, --restart, --deadline, sts/NAME.
        self.ok("-n", ns, "rollout", "sts/db", "--restart", "--strategy=rolling", "--deadline=60s", "--wait")
        self.assertEqual(self.images(ns, "db"), ["db:1"])
        self.assertEqual(len(self.items(ns, "ControllerRevision")), 2)
        # A failing rollout exits 1; --no-rollback leaves it as it is.
        code, out, err = self.herdctl("-n", ns, "rollout", "deploy/web", "web=web:4-crashloop", "--no-rollback",
                                      "--wait")
        self.assertEqual(code, 1, out + err)
        self.assertIn("CrashLoopBackOff", out + err)
        self.assertEqual(self.get(ns, "deploy", "web")["spec"]["template"]["spec"]["containers"][0]["image"],
                         "web:4-crashloop")
        # undo (the previous revision), undo --to-revision=N.
        self.ok("-n", ns, "undo", "deploy/web", "--wait")
        self.wait_for("web:2 pods", lambda: self.images(ns, "web") == ["web:2", "web:2"])
        self.ok("-n", ns, "undo", "deploy/web", "--to-revision=1", "--strategy=fast", "--wait")
        self.assertEqual(self.images(ns, "web"), ["web:1", "web:1"])

    def test_dry_run_request_id_and_output_formats(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1")
        rv = self.get(ns, "deploy", "web")["metadata"]["resourceVersion"]
        out = self.ok("-n", ns, "rollout", "deploy/web", "web=web:2", "--dry-run")
        self.assertIn("web:1 → web:2", out)
        self.assertEqual(self.get(ns, "deploy", "web")["metadata"]["resourceVersion"], rv)
        # -o json: the operation; the same --request-id: the same operation.
        first = json.loads(self.ok("-n", ns, "scale", "deploy/web", "--replicas=3", "--request-id=ci-7",
                                   "--reason=load", "-o", "json"))
        again = json.loads(self.ok("-n", ns, "scale", "deploy/web", "--replicas=3", "--request-id=ci-7",
                                   "-o", "json"))
        self.assertEqual(first["name"], again["name"])
        self.assertEqual(first["reason"], "load")
        self.assertEqual(first["requestId"], "ci-7")
        op_id = first["name"].split("/", 1)[1]
        # ops watch: follows to the end; -o yaml.
        out = self.ok("ops", "watch", op_id, "-o", "yaml")
        self.assertIn("state: OPERATION_STATE_SUCCEEDED", out)
        self.assertEqual(self.get(ns, "deploy", "web")["spec"]["replicas"], 3)
        got = json.loads(self.ok("ops", "get", f"operations/{op_id}", "-o", "json"))
        self.assertEqual(got["state"], "OPERATION_STATE_SUCCEEDED")
        self.assertEqual(got["kind"], "OPERATION_KIND_SCALE")

    def test_scale_flags(self):
        ns = self.namespace()
        self.deploy(ns, "api", "api:1", replicas=2)
        self.cluster.create({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                            "metadata": {"name": "api", "namespace": ns},
                            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                                     "minReplicas": 2, "maxReplicas": 6}})
        self.ok("-n", ns, "scale", "deploy/api", "--delta=+2", "--max=5", "--hpa-hold=10m", "--wait")
        self.assertEqual(len(self.pods(ns, "api")), 4)
        hpa = self.get(ns, "hpa", "api")
        self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (4, 4))
        # Outside --min/--max: refused by the server, exit 4, nothing changed.
        code, out, err = self.herdctl("-n", ns, "scale", "deploy/api", "--delta=-3", "--min=2")
        self.assertEqual(code, 4, out + err)
        self.assertIn("INVALID_ARGUMENT", err)
        self.ok("-n", ns, "scale", "deploy/api", "--delta=-1", "--wait")
        self.assertEqual(len(self.pods(ns, "api")), 3)

    def test_purge_flags(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=1)
        self.deploy(ns, "api", "api:1", replicas=1)
        web = {p["metadata"]["uid"] for p in self.pods(ns, "web")}
        api = {p["metadata"]["uid"] for p in self.pods(ns, "api")}
        out = self.ok("-n", ns, "purge", "deploy/web", "--mode=rolling", "--batch-size=1", "--wait")
        self.assertIn("succeeded", out.lower())
        now = {p["metadata"]["uid"] for p in self.pods(ns, "web")}
        self.assertFalse(now & web)
        # -l SELECTOR --mode=burn; --older-than=1h picks nothing here.
        self.ok("-n", ns, "purge", "-l", "app=api", "--older-than=1h", "--wait")
        self.assertEqual({p["metadata"]["uid"] for p in self.pods(ns, "api")}, api)
        self.ok("-n", ns, "purge", "-l", "app=api", "--mode=burn", "--wait")
        self.wait_for("a new api pod", lambda: len(self.pods(ns, "api")) == 1 and
                      not ({p["metadata"]["uid"] for p in self.pods(ns, "api")} & api))
        self.assertEqual({p["metadata"]["uid"] for p in self.pods(ns, "web")}, now)

    def test_kill_flags(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=3)
        self.cluster.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                            "metadata": {"name": "web-budget", "namespace": ns},
                            "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}})
        self.wait_for("the budget's status", lambda: self.get(ns, "pdb", "web-budget").get("status", {})
                      .get("currentHealthy") == 3)
        names = sorted(p["metadata"]["name"] for p in self.pods(ns, "web"))
        # The budget refuses an eviction, by name: exit 1.
        code, out, err = self.herdctl("-n", ns, "kill", names[0], "--wait")
        self.assertEqual(code, 1, out + err)
        self.assertIn("web-budget", out + err)
        # --max-pods: refused, exit 4, nothing killed.
        code, out, err = self.herdctl("-n", ns, "kill", "-l", "app=web", "--max-pods=2", "--force")
        self.assertEqual(code, 4, out + err)
        self.assertEqual(sorted(p["metadata"]["name"] for p in self.pods(ns, "web")), names)
        # --force deletes despite the budget; pod/NAME; --grace-period.
        self.ok("-n", ns, "kill", f"pod/{names[0]}", names[1], "--force", "--grace-period=0", "--wait")
        self.wait_for("the two pods gone", lambda: not ({p["metadata"]["name"] for p in self.pods(ns, "web")} &
                                                        set(names[:2])))

    def test_cronjob_actions(self):
        ns = self.namespace()
        cronjob = self.cluster.create({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": ns},
            "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "report:1"}]}}}}}})
        self.ok("-n", ns, "cronjob", "run", "cj/report", "--wait")
        jobs = self.items(ns, "Job")
        self.assertEqual([j["status"].get("succeeded") for j in jobs], [1])
        self.ok("-n", ns, "cronjob", "suspend", "report", "--wait")
        self.assertTrue(self.get(ns, "cronjob", "report")["spec"]["suspend"])
        self.ok("-n", ns, "cronjob", "resume", "report", "--wait")
        self.assertFalse(self.get(ns, "cronjob", "report")["spec"]["suspend"])
        # A long Job of the CronJob, started by hand (as kubectl create job --from does).
        template = cronjob["spec"]["jobTemplate"]
        template["spec"]["template"]["spec"]["containers"][0]["image"] = "report:1-slow30s"
        self.cluster.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
            "name": "long", "namespace": ns, "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": cronjob["metadata"]["uid"],
                "controller": True}]}, "spec": template["spec"]})
        self.wait_for("the job running", lambda: self.get(ns, "job", "long").get("status", {}).get("active") == 1)
        self.assertEqual(len(self.items(ns, "Pod", "job-name=long")), 1)
        self.ok("-n", ns, "cronjob", "kill", "report", "--wait")
        self.wait_for("the job and its pod gone", lambda: [j["metadata"]["name"] for j in self.items(ns, "Job")] ==
                      [j["metadata"]["name"] for j in jobs] and not self.items(ns, "Pod", "job-name=long"))

    def test_a_policy_runs_its_action_on_schedule(self):
        ns = self.namespace()
        self.cluster.create({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": ns},
            "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "report:1"}]}}}}}})
        out = self.ok("-n", ns, "policy", "create", "report-often", "--cron=@every 2s", "--description=e2e",
                      "--", "cronjob", "run", "cj/report", "--reason=from a policy")
        self.assertIn("Action:       cronjob run " + ns + "/cj/report", out)
        self.assertIn("Next runs:", out)

        def started():
            p = json.loads(self.ok("policy", "show", "report-often", "-o", "json"))
            return [d for d in p.get("decisions", []) if d.get("outcome") == "POLICY_OUTCOME_STARTED"]
        decisions = self.wait_for("a run to start", started)
        op = json.loads(self.ok("ops", "get", decisions[-1]["operation"], "-o", "json"))
        self.assertEqual((op["principal"], op["reason"], op["kind"]),
                         ("policy:report-often", "from a policy", "OPERATION_KIND_CRONJOB_RUN"))
        self.wait_for("its Job", lambda: self.items(ns, "Job"))
        listed = self.ok("policy", "list")
        self.assertRegex(listed, r"report-often\s+@every 2s\s+cronjob run " + ns + r"/cj/report\s+Active")
        self.assertIn("paused", self.ok("policy", "pause", "report-often", "--reason=enough"))
        self.assertIn("Paused", self.ok("policy", "show", "report-often"))
        code, _, err = self.herdctl("policy", "create", "bad", "--cron=@daily", "--time-zone=Mars/Olympus",
                                    "--", "-n", ns, "cronjob", "run", "report")
        self.assertEqual(code, 4, err)
        self.assertIn("schedule.time_zone", err)
        self.assertIn("deleted", self.ok("policy", "delete", "report-often"))
        self.assertEqual(self.herdctl("policy", "show", "report-often")[0], 4)

class HerdctlReadsAndExitCodesTest(HerdctlTestCase):
    def test_get_list_and_ops(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=2)
        self.statefulset(ns, "db", "db:1", replicas=1)
        out = self.ok("-n", ns, "get", "deploy/web")
        self.assertIn("web:1", out)
        self.assertIn("web-", out)  # its pods
        # list: POD-AGE is the age of the oldest pod.
        header, row = [line.split() for line in self.ok("-n", ns, "list", "deploy").splitlines()[:2]]
        self.assertIn("POD-AGE", header)
        self.assertRegex(row[header.index("POD-AGE")], r"^\d+s$")
        w = json.loads(self.ok("-n", ns, "get", "deploy", "web", "-o", "json"))
        self.assertEqual((w["kind"], w["readyReplicas"], w["containers"][0]["image"]), ("Deployment", 2, "web:1"))
        # list: the namespace; a kind; -A; -l.
        names = [x["name"] for x in json.loads(self.ok("-n", ns, "list", "-o", "json"))["workloads"]]
        self.assertEqual(names, ["web", "db"])
        names = [x["name"] for x in json.loads(self.ok("-n", ns, "list", "sts", "-o", "json"))["workloads"]]
        self.assertEqual(names, ["db"])
        listed = json.loads(self.ok("list", "deploy", "-A", "-l", "app=web", "-o", "json"))["workloads"]
        self.assertIn((ns, "web"), [(x["namespace"], x["name"]) for x in listed])
        self.assertNotIn("db", [x["name"] for x in listed])
        # ops list: the namespace's, newest first; a workload; --state; --limit; -A.
        a = json.loads(self.ok("-n", ns, "scale", "deploy/web", "--replicas=3", "--wait", "-o", "json"))
        b = json.loads(self.ok("-n", ns, "scale", "sts/db", "--replicas=2", "--wait", "-o", "json"))
        ops = json.loads(self.ok("-n", ns, "ops", "list", "-o", "json"))["operations"]
        self.assertEqual([o["name"] for o in ops], [b["name"], a["name"]])
        ops = json.loads(self.ok("-n", ns, "ops", "list", "deploy/web", "-o", "json"))["operations"]
        self.assertEqual([o["name"] for o in ops], [a["name"]])
        ops = json.loads(self.ok("-n", ns, "ops", "list", "--state=succeeded", "--limit=1", "-o", "json"))
        self.assertEqual([o["name"] for o in ops["operations"]], [b["name"]])
        code, out, err = self.herdctl("-n", ns, "ops", "list", "--state=active")
        self.assertEqual(code, 0, err)
        self.assertIn("No operations found", err)
        self.assertIn(a["name"].split("/", 1)[1], self.ok("ops", "list", "-A"))

    def test_cancel_and_the_wait_timeout(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=2)
        # 5: gave up waiting at --timeout; the operation goes on.
        code, out, err = self.herdctl("-n", ns, "rollout", "deploy/web", "web=web:2-slow60s", "--wait",
                                      "--timeout=1s")
        self.assertEqual(code, 5, out + err)
        self.assertIn("herdctl ops watch", err)
        op_id = err.split("herdctl ops watch ")[1].split()[0]
        got = json.loads(self.ok("ops", "get", op_id, "-o", "json"))
        self.assertEqual(got["state"], "OPERATION_STATE_RUNNING")
        # ops cancel --wait: 0 when it ended cancelled; the rollout rolled back.
        self.ok("ops", "cancel", op_id, "--reason=wrong image", "--wait")
        got = json.loads(self.ok("ops", "get", op_id, "-o", "json"))
        self.assertEqual(got["state"], "OPERATION_STATE_CANCELLED")
        self.assertIn("wrong image", got["error"]["message"])
        self.assertEqual(self.get(ns, "deploy", "web")["spec"]["template"]["spec"]["containers"][0]["image"], "web:1")
        # ops watch of an operation that ended other than succeeded: 1.
        code, out, err = self.herdctl("ops", "watch", op_id)
        self.assertEqual(code, 1, out + err)
        # "Ctrl-C stops herdctl, never the operation."
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        p = subprocess.Popen([os.path.join(bin_dir(), "herdctl"), f"--server={self.herdd.grpc_address}", "-n", ns,
                              "rollout", "deploy/web", "web=web:3-slow60s", "--wait", "-o", "json"],
                             env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started = p.stderr.readline()  # the first progress line: it is following the operation
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
        self.assertNotEqual(p.returncode, 0, started)
        p.stdout.close()
        p.stderr.close()
        ops = json.loads(self.ok("-n", ns, "ops", "list", "deploy/web", "--state=running", "-o", "json"))
        self.assertEqual(len(ops["operations"]), 1, ops)
        self.ok("ops", "cancel", ops["operations"][0]["name"], "--wait")

    def test_exit_codes(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=1)
        # 2: bad usage, before anything is sent.
        for args in (["rollout"], ["frobnicate"], ["-n", ns, "scale", "deploy/web"], ["get", "deploy/web", "--wat"]):
            code, out, err = self.herdctl(*args)
            self.assertEqual(code, 2, f"{args}: {out}{err}")
            self.assertIn("Usage:", err)
        # 3: nothing listens there (-v tells of the retries).
        code, out, err = self.herdctl("-n", ns, "get", "deploy/web", "--timeout=3s", "-v",
                                      env={"HERD_SERVER": f"127.0.0.1:{free_port()}"})
        self.assertEqual(code, 3, out + err)
        self.assertIn("cannot reach herd", err)
        self.assertIn("retrying", err)
        # 4: refused — not found, protected namespace, busy workload.
        code, out, err = self.herdctl("-n", ns, "get", "deploy/nope")
        self.assertEqual((code, "NOT_FOUND" in err), (4, True), out + err)
        code, out, err = self.herdctl("-n", "kube-system", "rollout", "deploy/coredns", "coredns=x:1")
        self.assertEqual((code, "PERMISSION_DENIED" in err), (4, True), out + err)
        started = json.loads(self.ok("-n", ns, "rollout", "deploy/web", "web=web:2-slow30s", "-o", "json"))
        code, out, err = self.herdctl("-n", ns, "scale", "deploy/web", "--replicas=2")
        self.assertEqual((code, "ABORTED" in err, started["name"] in err), (4, True, True), out + err)
        self.ok("ops", "cancel", started["name"], "--wait")
        # 6: any other error — a gRPC server that serves no herd.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.addCleanup(server.stop, None)
        code, out, err = self.herdctl("-n", ns, "get", "deploy/web", env={"HERD_SERVER": f"127.0.0.1:{port}"})
        self.assertEqual(code, 6, out + err)
        self.assertIn("UNIMPLEMENTED", err)

    def test_environment_and_help(self):
        ns = self.namespace()
        self.deploy(ns, "web", "web:1", replicas=1)
        # HERD_SERVER (every test here uses it) and HERD_NAMESPACE; --server beats HERD_SERVER.
        self.ok("get", "deploy/web", env={"HERD_NAMESPACE": ns})
        self.ok("-n", ns, "get", "deploy/web", f"--server={self.herdd.grpc_address}",
                env={"HERD_SERVER": f"127.0.0.1:{free_port()}"})
        # --help and COMMAND --help: exit 0, every verb and its flags.
        out = self.ok("--help", server=False)
        for verb in ("rollout", "undo", "scale", "purge", "kill", "cronjob", "get", "list", "ops"):
            self.assertIn(f"  {verb} ", out)
            self.assertIn(f"Usage:\n  herdctl {verb}", self.ok(verb, "--help", server=False))
        for code in range(7):
            self.assertIn(f"\n  {code}  ", out)
        self.assertIn("--max-pods=N", self.ok("help", "kill", server=False))


if __name__ == "__main__":
    unittest.main()

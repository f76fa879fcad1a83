"""The real kubectl against kubesim: what users do every day must work and
print what it prints against a real cluster."""
import json
import re
import subprocess
import time
import unittest

from simcluster import CommandError, SimTestCase, deployment, kubectl_path


def header(output):
    return re.split(r"\s{2,}", output.splitlines()[0].strip())


class KubectlGetAndDescribeTest(SimTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.cluster
        c.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        c.apply({**deployment("web", "web:1", replicas=2), "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}}})
        c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
                 "data": {"a": "1", "b": "2"}})
        c.apply({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"},
                 "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                          "template": {"metadata": {"labels": {"app": "db"}},
                                       "spec": {"containers": [{"name": "db", "image": "db:1"}]}}}})
        c.apply({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "shop"},
                 "spec": {"schedule": "*/5 * * * *",
                          "jobTemplate": {"spec": {"template": {"spec": {
                              "restartPolicy": "OnFailure",
                              "containers": [{"name": "tick", "image": "busybox:1"}]}}}}}})
        c.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "shop"},
                 "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                "containers": [{"name": "once", "image": "busybox:1"}]}}}})
        c.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb", "namespace": "shop"},
                 "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
        c.apply({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader", "namespace": "shop"},
                 "spec": {"holderIdentity": "herd-0", "leaseDurationSeconds": 15}})
        c.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                 "metadata": {"name": "web", "namespace": "shop"},
                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                          "minReplicas": 1, "maxReplicas": 5}})
        c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
                 "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
        c.kubectl("-n", "shop", "rollout", "status", "deploy/web", "--timeout=30s")

    # What kubectl 1.32 prints as the header for a v1.26 API server.
    HEADERS = {
        "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "replicasets": ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "statefulsets": ["NAME", "READY", "AGE"],
        "jobs": ["NAME", "COMPLETIONS", "DURATION", "AGE"],
        "cronjobs": ["NAME", "SCHEDULE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
        "poddisruptionbudgets": ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
        "leases": ["NAME", "HOLDER", "AGE"],
        "horizontalpodautoscalers": ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
        "configmaps": ["NAME", "DATA", "AGE"],
        "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        "events": ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "controllerrevisions": ["NAME", "CONTROLLER", "REVISION", "AGE"],
    }
    CLUSTER_HEADERS = {
        "nodes": ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        "namespaces": ["NAME", "STATUS", "AGE"],
    }

    def test_get_prints_the_server_side_columns_of_every_resource(self):
        for resource, want in self.HEADERS.items():
            with self.subTest(resource=resource):
                out = self.cluster.kubectl("-n", "shop", "get", resource)
                self.assertEqual(header(out), want, out)
        for resource, want in self.CLUSTER_HEADERS.items():
            with self.subTest(resource=resource):
                out = self.cluster.kubectl("get", resource)
                self.assertEqual(header(out), want, out)

    def test_get_rows_show_live_state(self):
        out = self.cluster.kubectl("-n", "shop", "get", "deploy", "web", "--no-headers")
        self.assertRegex(out, r"^web\s+2/2\s+2\s+2\s+\S+\s*$")
        out = self.cluster.kubectl("get", "nodes", "--no-headers")
        self.assertEqual(len(out.splitlines()), 3)
        for line in out.splitlines():
            self.assertRegex(line, r"^kubesim-node-\d+\s+Ready\s+<none>\s+\S+\s+v1\.26\.1$")
        out = self.cluster.kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "wide", "--no-headers")
        for line in out.splitlines():
            self.assertRegex(line, r"^web-[a-z0-9]+-[a-z0-9]{5}\s+1/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+kubesim-node-\d\s+<none>\s+<none>$")

    def test_short_names_and_categories_resolve(self):
        for short in ["deploy", "rs", "sts", "cj", "pdb", "hpa", "cm", "svc", "po", "ev"]:
            with self.subTest(short=short):
                self.cluster.kubectl("-n", "shop", "get", short)
        out = self.cluster.kubectl("-n", "shop", "get", "all")
        self.assertIn("deployment.apps/web", out)
        self.assertIn("cronjob.batch/tick", out)

    def test_describe_works_for_every_served_resource(self):
        targets = ["deployment/web", "statefulset/db", "cronjob/tick", "job/once", "poddisruptionbudget/web-pdb",
                   "lease/leader", "horizontalpodautoscaler/web", "configmap/settings", "service/web"]
        rs = self.cluster.kubectl("-n", "shop", "get", "rs", "-o", "name").split()
        pods = self.cluster.kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "name").split()
        targets += rs[:1] + pods[:1]
        for t in targets:
            with self.subTest(target=t):
                out = self.cluster.kubectl("-n", "shop", "describe", t)
                self.assertRegex(out, r"(?m)^Name:\s+\S+")
                self.assertIn("shop", out)
        for t in ["node/kubesim-node-1", "namespace/shop"]:
            with self.subTest(target=t):
                out = self.cluster.kubectl("describe", t)
                self.assertRegex(out, r"(?m)^Name:\s+\S+")

    def test_describe_deployment_shows_replica_sets_conditions_and_events(self):
        out = self.cluster.kubectl("-n", "shop", "describe", "deployment", "web")
        self.assertRegex(out, r"Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable")
        self.assertRegex(out, r"Progressing\s+True\s+NewReplicaSetAvailable")
        self.assertRegex(out, r"Available\s+True\s+MinimumReplicasAvailable")
        self.assertRegex(out, r"NewReplicaSet:\s+web-[a-z0-9]+ \(2/2 replicas created\)")
        self.assertRegex(out, r"ScalingReplicaSet\s+.*Scaled up replica set web-[a-z0-9]+ to 2")
        self.assertRegex(out, r"deployment.kubernetes.io/revision: 1")

    def test_describe_pod_shows_scheduling_and_container_events(self):
        pod = self.cluster.kubectl("-n", "shop", "get", "pods", "-l", "app=web", "-o", "name").split()[0]
        out = self.cluster.kubectl("-n", "shop", "describe", pod)
        self.assertRegex(out, r"Status:\s+Running")
        self.assertRegex(out, r"Controlled By:\s+ReplicaSet/web-")
        self.assertRegex(out, r"Scheduled\s+.*Successfully assigned shop/web-\S+ to kubesim-node-\d")
        self.assertRegex(out, r"Started\s+.*Started container web")


class KubectlRolloutTest(SimTestCase):
    def test_apply_then_scale(self):
        c = self.cluster
        ns = self.namespace("scale")
        m = deployment("api", "api:1", replicas=2)
        m["metadata"]["namespace"] = ns
        self.assertIn("deployment.apps/api created", c.apply(m))
        self.assertIn("deployment.apps/api unchanged", c.apply(m))
        c.kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=30s")
        self.assertIn("deployment.apps/api scaled", c.kubectl("-n", ns, "scale", "deploy/api", "--replicas=5"))
        c.kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=30s")
        d = c.json("-n", ns, "get", "deploy", "api")
        self.assertEqual(d["status"]["readyReplicas"], 5)
        self.assertEqual(len(c.kubectl("-n", ns, "get", "pods", "-l", "app=api", "--no-headers").splitlines()), 5)
        # Apply again with a changed replica count: a patch, not a create.
        m["spec"]["replicas"] = 1
        self.assertIn("deployment.apps/api configured", c.apply(m))
        c.kubectl("-n", ns, "rollout", "status", "deploy/api", "--timeout=30s")
        c.kubectl("-n", ns, "wait", "--for=delete", "pod", "-l", "app=api", "--timeout=30s", check=False)
        self.assertEqual(c.json("-n", ns, "get", "deploy", "api")["status"]["replicas"], 1)

    def test_set_image_then_rollout_status_completes_when_new_pods_are_ready(self):
        c = self.cluster
        ns = self.namespace("setimage")
        self.rolled_out(ns, "web", "web:1", replicas=4)
        self.assertIn("image updated", c.kubectl("-n", ns, "set", "image", "deploy/web", "web=web:2"))
        out = c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
        self.assertIn('deployment "web" successfully rolled out', out)
        pods = c.json("-n", ns, "get", "pods", "-l", "app=web")["items"]
        live = [p for p in pods if "deletionTimestamp" not in p["metadata"]]
        self.assertEqual(len(live), 4)
        for p in live:
            self.assertEqual(p["spec"]["containers"][0]["image"], "web:2")
            self.assertEqual(p["status"]["phase"], "Running")
        rs = c.json("-n", ns, "get", "rs", "-l", "app=web")["items"]
        revisions = sorted(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for r in rs)
        self.assertEqual(revisions, ["1", "2"])

    def test_rollout_status_fails_at_the_progress_deadline_on_a_crash_loop(self):
        c = self.cluster
        ns = self.namespace("crash")
        self.rolled_out(ns, "web", "web:1", replicas=2, progress_deadline=2)
        c.kubectl("-n", ns, "set", "image", "deploy/web", "web=web:2-crashloop")
        p = c.run("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('error: deployment "web" exceeded its progress deadline', p.stderr)
        cond = {x["type"]: x for x in c.json("-n", ns, "get", "deploy", "web")["status"]["conditions"]}
        self.assertEqual(cond["Progressing"]["status"], "False")
        self.assertEqual(cond["Progressing"]["reason"], "ProgressDeadlineExceeded")
        # The old pods keep serving: availability never dropped.
        self.assertEqual(cond["Available"]["status"], "True")
        out = c.kubectl("-n", ns, "get", "pods", "--no-headers")
        self.assertRegex(out, r"(CrashLoopBackOff|Running)")

    def test_rollout_status_fails_at_the_progress_deadline_on_a_pull_failure(self):
        c = self.cluster
        ns = self.namespace("pull")
        self.rolled_out(ns, "web", "web:1", replicas=1, progress_deadline=2)
        c.kubectl("-n", ns, "set", "image", "deploy/web", "web=registry.example/no-such-image:2")
        p = c.run("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('exceeded its progress deadline', p.stderr)
        self.assertRegex(c.kubectl("-n", ns, "get", "pods", "--no-headers"), r"ImagePullBackOff")

    def test_rollout_history_undo_and_restart(self):
        c = self.cluster
        ns = self.namespace("history")
        self.rolled_out(ns, "web", "web:1", replicas=2)
        for tag in ["2", "3"]:
            c.kubectl("-n", ns, "set", "image", "deploy/web", f"web=web:{tag}")
            c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
        out = c.kubectl("-n", ns, "rollout", "history", "deploy/web")
        self.assertEqual(re.findall(r"(?m)^(\d+)\s+<none>", out), ["1", "2", "3"])
        out = c.kubectl("-n", ns, "rollout", "history", "deploy/web", "--revision=2")
        self.assertIn("deployment.apps/web with revision #2", out)
        self.assertRegex(out, r"(?m)^\s+Image:\s+web:2$")

        self.assertIn("rolled back", c.kubectl("-n", ns, "rollout", "undo", "deploy/web", "--to-revision=1"))
        c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
        d = c.json("-n", ns, "get", "deploy", "web")
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "web:1")
        self.assertEqual(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "4")
        out = c.kubectl("-n", ns, "rollout", "history", "deploy/web")
        self.assertEqual(re.findall(r"(?m)^(\d+)\s+<none>", out), ["2", "3", "4"])

        before = {p["metadata"]["name"] for p in c.json("-n", ns, "get", "pods", "-l", "app=web")["items"]}
        self.assertIn("restarted", c.kubectl("-n", ns, "rollout", "restart", "deploy/web"))
        c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
        d = c.json("-n", ns, "get", "deploy", "web")
        self.assertIn("kubectl.kubernetes.io/restartedAt", d["spec"]["template"]["metadata"]["annotations"])
        live = [p for p in c.json("-n", ns, "get", "pods", "-l", "app=web")["items"]
                if "deletionTimestamp" not in p["metadata"]]
        self.assertEqual(len(live), 2)
        self.assertFalse(before & {p["metadata"]["name"] for p in live}, "every pod should have been replaced")

    def test_deleted_pod_is_replaced_by_its_replica_set(self):
        c = self.cluster
        ns = self.namespace("replace")
        self.rolled_out(ns, "web", "web:1", replicas=2)
        victim = c.kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
        self.assertIn(f'pod "{victim}" deleted', c.kubectl("-n", ns, "delete", "pod", victim, "--timeout=30s"))
        c.kubectl("-n", ns, "wait", "--for=condition=Available", "deploy/web", "--timeout=30s")
        c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=30s")
        names = c.kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").split()
        self.assertNotIn(victim, names)
        deadline = time.monotonic() + 30
        while len(names) != 2 and time.monotonic() < deadline:
            c.kubectl("-n", ns, "wait", "--for=condition=Ready", "pod", "-l", "app=web", "--timeout=30s")
            names = c.kubectl("-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").split()
        self.assertEqual(len(names), 2)

    def test_get_pods_watch_sees_new_pods(self):
        c = self.cluster
        ns = self.namespace("watch")
        self.rolled_out(ns, "web", "web:1", replicas=1)
        watcher = subprocess.Popen([kubectl_path(), "-n", ns, "get", "pods", "--watch", "--no-headers"],
                                   env=c.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = watcher.stdout.readline()
            self.assertRegex(first, r"^web-\S+\s+1/1\s+Running")
            c.kubectl("-n", ns, "scale", "deploy/web", "--replicas=2")
            seen = set()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = watcher.stdout.readline()
                if not line:
                    break
                seen.add(line.split()[0])
                if len(seen - {first.split()[0]}) >= 1 and "Running" in line and "1/1" in line:
                    break
            self.assertTrue(seen - {first.split()[0]}, f"the watch saw no new pod: {seen}")
        finally:
            watcher.terminate()
            watcher.communicate(timeout=10)



class KubectlWorkloadsTest(SimTestCase):
    def test_create_deployment_sends_protobuf_and_it_runs(self):
        c = self.cluster
        ns = self.namespace("created")
        out = c.kubectl("-n", ns, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80")
        self.assertIn("deployment.apps/web created", out)
        c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")
        d = c.json("-n", ns, "get", "deploy", "web")
        self.assertEqual(d["spec"]["replicas"], 3)
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"], 80)
        self.assertEqual(d["status"]["readyReplicas"], 3)

    def test_create_job_from_a_cronjob(self):
        c = self.cluster
        ns = self.namespace("cron")
        self.assertIn("cronjob.batch/tick created",
                      c.kubectl("-n", ns, "create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *"))
        self.assertIn("job.batch/manual created", c.kubectl("-n", ns, "create", "job", "manual", "--from=cronjob/tick"))
        job = c.json("-n", ns, "get", "job", "manual")
        self.assertEqual(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual")
        self.assertEqual(job["metadata"]["ownerReferences"][0]["kind"], "CronJob")
        self.assertEqual(job["metadata"]["ownerReferences"][0]["name"], "tick")
        c.kubectl("-n", ns, "wait", "--for=condition=complete", "job/manual", "--timeout=60s")
        out = c.kubectl("-n", ns, "get", "jobs", "--no-headers")
        self.assertRegex(out, r"(?m)^manual\s+1/1\s+")
        events = c.kubectl("-n", ns, "get", "events", "--field-selector=involvedObject.name=tick")
        self.assertIn("UnexpectedJob", events)

    def test_drain_is_blocked_by_a_disruption_budget(self):
        c = self.cluster
        ns = self.namespace("drain")
        self.rolled_out(ns, "guarded", "guarded:1", replicas=3)
        self.assertIn("created", c.kubectl("-n", ns, "create", "poddisruptionbudget", "guarded",
                                           "--selector=app=guarded", "--min-available=3"))
        c.kubectl("-n", ns, "wait", "--for=jsonpath={.status.expectedPods}=3", "pdb/guarded", "--timeout=30s")
        node = c.kubectl("-n", ns, "get", "pods", "-l", "app=guarded", "-o", "jsonpath={.items[0].spec.nodeName}")
        p = c.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5s", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Cannot evict pod as it would violate the pod's disruption budget.", p.stderr)
        self.assertRegex(c.kubectl("get", "node", node, "--no-headers"), r"SchedulingDisabled")
        running = c.kubectl("-n", ns, "get", "pods", "-l", "app=guarded", "--field-selector=status.phase=Running",
                            "-o", "name").split()
        self.assertEqual(len(running), 3, "the budget kept every pod")
        c.kubectl("uncordon", node)
        # With room in the budget the same drain goes through.
        c.kubectl("-n", ns, "patch", "pdb", "guarded", "--type=merge", "-p", '{"spec":{"minAvailable":2}}')
        c.kubectl("-n", ns, "wait", "--for=jsonpath={.status.disruptionsAllowed}=1", "pdb/guarded", "--timeout=30s")
        c.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s", "--pod-selector=app=guarded")
        c.kubectl("uncordon", node)


if __name__ == "__main__":
    unittest.main()

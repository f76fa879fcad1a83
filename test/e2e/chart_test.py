"""The Helm chart charts/herd: helm lint and helm template for the default
values and every ci/*-values.yaml, each rendered manifest checked for what
the chart promises (README.md "Run herd in a cluster"); its alerts under
`promtool test rules`; its Grafana dashboard valid JSON whose every query
names a metric a real herdd exports; helm install and upgrade into kubesim."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

import yaml

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import ROOT, SimCluster, SimTestCase, deployment

CHART = os.path.join(ROOT, "charts", "herd")
TESTDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
CI_VALUES = sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml")))


def helm_path():
    return os.environ.get("HELM") or shutil.which("helm") or "/usr/local/bin/helm"


def helm(*args, env=None):
    p = subprocess.run([helm_path(), *args], capture_output=True, text=True, timeout=120, env=env)
    if p.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p.stdout


def render(*args):
    """{(kind, name[, namespace]): object} of `helm template herd CHART -n herd args…`."""
    out = helm("template", "herd", CHART, "-n", "herd", *args)
    objs = {}
    for d in yaml.safe_load_all(out):
        if d:
            objs[(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace"))] = d
    return objs


def one(objs, kind):
    found = [o for (k, _, _), o in objs.items() if k == kind]
    assert len(found) == 1, f"{len(found)} {kind}s"
    return found[0]


def kinds(objs):
    return sorted({k for (k, _, _) in objs})


@unittest.skipUnless(os.path.exists(helm_path()), "helm 3 is not installed (scripts/install-deps.sh installs it)")
class ChartRenderTest(unittest.TestCase):
    def test_lint_and_template_every_values_file(self):
        self.assertGreaterEqual(len(CI_VALUES), 3)
        for f in [None, *CI_VALUES]:
            args = ["-f", f] if f else []
            with self.subTest(values=os.path.basename(f) if f else "default"):
                out = helm("lint", "--strict", CHART, *args)
                self.assertIn("0 chart(s) failed", out)
                self.assertTrue(render(*args))

    def test_the_schema_refuses_bad_values(self):
        for bad in ["replicaCount=0", "herd.logLevel=loud", "bogus=1", "service.grpcPort=70000",
                    "herd.leaseDuration=ten", "rbac.namespaces[0]=Not_A_Namespace"]:
            with self.subTest(bad=bad):
                p = subprocess.run([helm_path(), "template", "herd", CHART, "--set", bad], capture_output=True,
                                   text=True, timeout=60)
                self.assertNotEqual(p.returncode, 0, bad)
                self.assertIn("values don't meet the specifications of the schema", p.stderr)

    def check_pod_template(self, d, replicas):
        spec = d["spec"]
        self.assertEqual(spec["replicas"], replicas)
        # A rolling update that keeps every serving replica until its
        # replacement is ready.
        self.assertEqual(spec["strategy"], {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
        pod = spec["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], "herd")
        self.assertEqual(pod["securityContext"]["runAsNonRoot"], True)
        self.assertEqual(pod["securityContext"]["runAsUser"], 65532)
        self.assertEqual(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        tsc = pod["topologySpreadConstraints"][0]
        self.assertEqual(tsc["topologyKey"], "kubernetes.io/hostname")
        self.assertEqual(tsc["labelSelector"]["matchLabels"], spec["selector"]["matchLabels"])
        (c,) = pod["containers"]
        sc = c["securityContext"]
        self.assertEqual((sc["runAsNonRoot"], sc["readOnlyRootFilesystem"], sc["allowPrivilegeEscalation"]),
                         (True, True, False))
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(sc["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertEqual(c["livenessProbe"]["grpc"], {"port": 50051})
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
        self.assertIn("memory", c["resources"]["limits"])
        self.assertIn("cpu", c["resources"]["requests"])
        self.assertEqual({p["name"]: p["containerPort"] for p in c["ports"]}, {"grpc": 50051, "http": 8080})
        args = c["args"]
        for a in ["--in-cluster", "--grpc-listen=0.0.0.0:50051", "--http-listen=0.0.0.0:8080",
                  "--tokens-file=/etc/herd/tokens.yaml", "--namespace=herd", "--identity=$(POD_NAME)"]:
            self.assertIn(a, args)
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        self.assertEqual(mounts["tokens"]["mountPath"], "/etc/herd")
        self.assertTrue(mounts["tokens"]["readOnly"])
        vols = {v["name"]: v for v in pod["volumes"]}
        return args, vols["tokens"]["secret"]["secretName"]

    def check_service(self, objs):
        svc = one(objs, "Service")
        ports = {p["name"]: (p["port"], p["appProtocol"]) for p in svc["spec"]["ports"]}
        self.assertEqual(ports, {"grpc": (50051, "grpc"), "http": (8080, "http")})

    def test_slack_secrets_are_mounted_and_named_to_herdd(self):
        for values, secret, bot in ((["-f", os.path.join(CHART, "ci", "slack-values.yaml")], "herd-slack", True),
                                    (["--set", "slack.existingSecret=s", "--set", "slack.botToken=false"], "s", False)):
            with self.subTest(values=values):
                d = one(render(*values), "Deployment")
                (c,) = d["spec"]["template"]["spec"]["containers"]
                self.assertIn("--slack-signing-secret-file=/etc/herd-slack/signing-secret", c["args"])
                self.assertEqual("--slack-bot-token-file=/etc/herd-slack/bot-token" in c["args"], bot)
                self.assertIn("--slack-api-url=https://slack.com/api", c["args"])
                mounts = {m["name"]: m for m in c["volumeMounts"]}
                self.assertEqual(mounts["slack"]["mountPath"], "/etc/herd-slack")
                vols = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
                self.assertEqual(vols["slack"]["secret"]["secretName"], secret)
        d = one(render(), "Deployment")
        self.assertFalse([a for a in d["spec"]["template"]["spec"]["containers"][0]["args"] if "slack" in a])

    def test_default_values(self):
        objs = render()
        self.assertEqual(kinds(objs), ["ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget",
                                       "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"])
        args, secret = self.check_pod_template(one(objs, "Deployment"), replicas=2)
        self.assertIn("--protected-namespaces=kube-system,kube-public,kube-node-lease", args)
        self.assertEqual(secret, "herd-tokens")
        self.assertEqual(yaml.safe_load(one(objs, "Secret")["stringData"]["tokens.yaml"]), {"principals": []})
        self.check_service(objs)
        self.assertEqual(one(objs, "PodDisruptionBudget")["spec"]["minAvailable"], 1)
        # herd's state (records, locks) only in its namespace; workloads everywhere.
        role = objs[("Role", "herd-state", "herd")]
        self.assertEqual({r["resources"][0] for r in role["rules"]}, {"configmaps", "leases"})
        crb = one(objs, "ClusterRoleBinding")
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "herd", "namespace": "herd"}])
        cr = one(objs, "ClusterRole")
        granted = {(res, v) for r in cr["rules"] for res in r["resources"] for v in r["verbs"]}
        self.assertNotIn(("secrets", "get"), granted)
        self.assertFalse(any("*" in r["verbs"] or "*" in r["resources"] for r in cr["rules"]))

    def test_namespaced_values(self):
        objs = render("-f", os.path.join(CHART, "ci", "namespaced-values.yaml"))
        self.assertNotIn("ClusterRole", kinds(objs))
        self.assertNotIn("Secret", kinds(objs))
        self.assertNotIn("PodDisruptionBudget", kinds(objs))
        _, secret = self.check_pod_template(one(objs, "Deployment"), replicas=1)
        self.assertEqual(secret, "herd-callers")
        self.assertEqual(sorted(ns for (k, _, ns) in objs if k == "Role"), ["batch", "herd", "shop"])
        self.assertEqual(objs[("RoleBinding", "herd", "shop")]["subjects"][0]["namespace"], "herd")
        args, _ = self.check_pod_template(one(objs, "Deployment"), replicas=1)
        self.assertIn("--namespaces=shop,batch", args)

    def test_impersonate_values(self):
        # herdd --impersonate, and the impersonate verb on users and groups:
        # cluster-scoped, so a ClusterRole also when herd acts in listed
        # namespaces only.
        for extra in ([], ["-f", os.path.join(CHART, "ci", "namespaced-values.yaml")]):
            objs = render("--set", "herd.impersonate=true", *extra)
            args, _ = self.check_pod_template(one(objs, "Deployment"), replicas=1 if extra else 2)
            self.assertIn("--impersonate", args)
            cr = objs[("ClusterRole", "herd-impersonate", None)]
            self.assertEqual(cr["rules"], [{"apiGroups": [""], "resources": ["users", "groups"],
                                            "verbs": ["impersonate"]}])
            crb = objs[("ClusterRoleBinding", "herd-impersonate", None)]
            self.assertEqual(crb["roleRef"]["name"], "herd-impersonate")
            self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "herd", "namespace": "herd"}])
        objs = render()
        self.assertNotIn(("ClusterRole", "herd-impersonate", None), objs)
        self.assertNotIn("--impersonate", self.check_pod_template(one(objs, "Deployment"), replicas=2)[0])

    def test_monitoring_values(self):
        objs = render("-f", os.path.join(CHART, "ci", "monitoring-values.yaml"))
        for k in ["ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"]:
            self.assertIn(k, kinds(objs))
        args, _ = self.check_pod_template(one(objs, "Deployment"), replicas=3)
        self.assertIn("--protected-namespaces=kube-system,kube-public,kube-node-lease,prod-*", args)
        self.assertIn("--adopt-period=3s", args)
        self.assertIn("--prometheus-url=http://prometheus-operated.monitoring:9090", args)
        self.assertIn("--log-level=debug", args)
        self.assertTrue(one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
                        .endswith(":0.1.0-test"))
        tokens = yaml.safe_load(one(objs, "Secret")["stringData"]["tokens.yaml"])
        self.assertEqual(tokens["principals"][0]["name"], "ci")
        sm = one(objs, "ServiceMonitor")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "http")
        self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        alerts = {r["alert"] for g in one(objs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
        self.assertEqual(alerts, {"HerdDown", "HerdOperationsFailing", "HerdOperationsStuck",
                                  "HerdKubernetesAPIErrors", "HerdCacheNotSynced"})
        np = one(objs, "NetworkPolicy")
        self.assertEqual([r["ports"][0]["port"] for r in np["spec"]["ingress"]], ["grpc", "http"])
        cm = one(objs, "ConfigMap")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        json.loads(cm["data"]["herd.json"])


@unittest.skipUnless(os.path.exists(helm_path()) and shutil.which("promtool"), "needs helm 3 and promtool")
class ChartAlertsTest(unittest.TestCase):
    def test_promtool_test_rules(self):
        rule = render("--set", "metrics.prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml")
        spec = one(rule, "PrometheusRule")["spec"]
        d = tempfile.mkdtemp(prefix="herd-alerts-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(d, "herd_alerts.yaml"), "w") as f:
            yaml.safe_dump(spec, f)
        shutil.copy(os.path.join(TESTDATA, "herd_alerts_test.yaml"), d)
        p = subprocess.run(["promtool", "check", "rules", "herd_alerts.yaml"], cwd=d, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = subprocess.run(["promtool", "test", "rules", "herd_alerts_test.yaml"], cwd=d, capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)
        # Every alert has a test.
        with open(os.path.join(d, "herd_alerts_test.yaml")) as f:
            tested = {t["alertname"] for case in yaml.safe_load(f)["tests"] for t in case["alert_rule_test"]}
        self.assertEqual(tested, {r["alert"] for g in spec["groups"] for r in g["rules"]})


# Words in PromQL that are not metric names.
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "min", "max", "le"}


@unittest.skipUnless(os.path.exists(helm_path()), "helm 3 is not installed (scripts/install-deps.sh installs it)")
class ChartDashboardTest(unittest.TestCase):
    """Every query of the dashboard names metrics a real herdd exports, read
    from its /metrics after it rolled out, rolled back, purged, killed and
    adopted an operation from a predecessor."""

    def scrape(self):
        with SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0", "--crash-loop-backoff=200ms"]) as c:
            for name, replicas in (("web", 2), ("slow", 1)):
                m = deployment(name, f"{name}:1", replicas=replicas)
                m["metadata"]["namespace"] = "default"
                c.apply(m)
                c.kubectl("rollout", "status", f"deploy/{name}", "--timeout=60s")
            with Herdd(c, identity="dash") as h:
                # A rollout that takes long, left to the next herdd.
                h.stub().Rollout(herd_pb2.RolloutRequest(workload="namespaces/default/deployments/slow",
                                                         images={"slow": "slow:2-slow5s"}), timeout=30)
                h.kill()
            with Herdd(c, identity="dash") as h:
                stub = h.stub()
                for o in stub.ListOperations(herd_pb2.ListOperationsRequest(), timeout=30).operations:
                    wait_for_end(stub, o.name)

                def run(req, method):
                    op = getattr(stub, method)(req, timeout=30)
                    return wait_for_end(stub, op.name)[-1]

                w = "namespaces/default/deployments/web"
                run(herd_pb2.RolloutRequest(workload=w, images={"web": "web:2"}), "Rollout")
                run(herd_pb2.RolloutRequest(workload=w, images={"web": "web:3-crashloop"}), "Rollout")
                run(herd_pb2.PurgeRequest(workload=w), "Purge")
                with urllib.request.urlopen(f"http://{h.http_address}/metrics", timeout=10) as r:
                    return r.read().decode()

    def test_valid_json_and_every_query_names_an_exported_metric(self):
        cm = one(render("--set", "metrics.dashboard.enabled=true", "--show-only", "templates/dashboard.yaml"),
                 "ConfigMap")
        board = json.loads(cm["data"]["herd.json"])
        with open(os.path.join(CHART, "files", "dashboard.json")) as f:
            self.assertEqual(board, json.load(f))
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        self.assertGreaterEqual(len(exprs), 15)
        text = self.scrape()
        exported = set(re.findall(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text))
        named = set()
        for e in exprs:
            # A metric name stands before a selector: name{…}.
            names = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", e))
            self.assertTrue(names, e)
            named |= names
        self.assertEqual(sorted(named - exported), [], "the dashboard queries metrics herd does not export")
        for family in ["process_resident_memory_bytes", "herd_operation_phase_duration_seconds_sum",
                       "herd_rollbacks_total", "herd_operation_adoptions_total", "herd_pods_killed_total"]:
            self.assertIn(family, named)
        # The template variable's query too.
        self.assertIn("herd_build_info", exported)


@unittest.skipUnless(os.path.exists(helm_path()), "helm 3 is not installed (scripts/install-deps.sh installs it)")
class ChartInstallTest(SimTestCase):
    """helm install and upgrade of the chart into kubesim (which serves no
    Secrets: the tokens come from an existing one), its Pods running there."""

    def helm(self, *args):
        c = self.cluster
        env = dict(c.env, HELM_CACHE_HOME=os.path.join(c.dir, "helm-cache"),
                   HELM_CONFIG_HOME=os.path.join(c.dir, "helm-config"),
                   HELM_DATA_HOME=os.path.join(c.dir, "helm-data"), HELM_DRIVER="configmap")
        return helm(*args, env=env)

    def test_install_then_upgrade(self):
        ns = self.namespace("herd")
        out = self.helm("install", "herd", CHART, "-n", ns, "--set", "tokens.existingSecret=herd-callers",
                        "--wait", "--timeout", "60s")
        self.assertIn("STATUS: deployed", out)
        self.assertIn("port-forward svc/herd 50051:50051 8080:8080", out)
        self.cluster.kubectl("-n", ns, "rollout", "status", "deploy/herd", "--timeout=60s")
        pods = self.cluster.json("-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=herd")["items"]
        self.assertEqual(len(pods), 2)
        self.assertTrue(all(p["status"]["phase"] == "Running" for p in pods))
        out = self.helm("upgrade", "herd", CHART, "-n", ns, "--set", "tokens.existingSecret=herd-callers",
                        "--set", "image.tag=0.2.0", "--set", "replicaCount=3", "--wait", "--timeout", "60s")
        self.assertIn("REVISION: 2", out)
        self.cluster.kubectl("-n", ns, "rollout", "status", "deploy/herd", "--timeout=60s")
        d = self.cluster.json("-n", ns, "get", "deploy", "herd")
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/herd-dev/herd:0.2.0")
        self.assertEqual(d["status"]["readyReplicas"], 3)


if __name__ == "__main__":
    unittest.main()

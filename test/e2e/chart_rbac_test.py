"""Least privilege, proven: herdd runs with the ServiceAccount and the RBAC
rules the chart renders (helm template charts/herd), configured in-cluster
(token, ca.crt and namespace files in a temporary directory, as a pod has
them), against kubesim with RBAC on, and completes every operation of the
tour (ops_tour.py, then a busy workload and a lock renewed, records
collected after a second, a crash and the adoption that follows) without
one request refused by the API server: a refusal herd works around (a
watch replaced by relists, a lock waited out) still fails it. Then, for each
single verb of each resource of each rule, a herdd whose role lacks just
that verb fails the tour: every permission the chart grants is needed.

A verb the tour could not provoke would be listed in UNPROVEN with the
reason (none is today); the test fails if the chart grants anything else
that the tour does not need."""
import base64
import concurrent.futures
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import grpc
import yaml

from google.protobuf import duration_pb2

from herdprocess import Herdd, herd_pb2, wait_for_end
from ops_tour import apply_tour_workloads, run_tour, tour_steps
from simcluster import ROOT, SimCluster

CHART = os.path.join(ROOT, "charts", "herd")

# (kind of role, resource, verb): why the tour cannot show it is needed.
# None today: every verb the chart grants is shown needed.
UNPROVEN = {}


def refusals(herdd):
    """{verb: count} of herdd's requests the API server refused with 403,
    from herdd's own metrics."""
    with urllib.request.urlopen(f"http://{herdd.http_address}/metrics", timeout=10) as r:
        text = r.read().decode()
    refused = {}
    for labels, value in re.findall(r'^herd_kube_requests_total\{([^}]*)\} (\S+)$', text, re.M):
        verb = re.search(r'verb="([^"]*)"', labels).group(1)
        if 'code="403"' in labels and float(value) > 0:
            refused[verb] = refused.get(verb, 0) + float(value)
    return refused


def refusal(herdd):
    """A failure naming the requests the API server refused herdd (403),
    with the lines of its log that say forbidden; None if there were none."""
    refused = refusals(herdd)
    if not refused:
        return None
    said = [line for line in herdd.read_log().splitlines() if "forbidden" in line]
    return "\n".join([f"the cluster refused herd's requests (403), by verb: {refused}", *said[:10]])


def as_caller(token):
    """gRPC metadata for the caller of `token` (None: no authentication)."""
    return [("authorization", f"Bearer {token}")] if token else None


def busy_and_renewed(ns, token=None):
    """An `also` step: a rollout that runs for a few seconds, so that its
    lock is renewed (every third of --lease-duration=2s), and meanwhile a
    Scale of the same workload, refused as busy with that rollout."""
    def step(herdds):
        stub, auth = herdds[-1].stub(), as_caller(token)
        w = f"namespaces/{ns}/deployments/web"
        op = stub.Rollout(herd_pb2.RolloutRequest(workload=w, images={"web": "web:6-slow2s"}), metadata=auth,
                          timeout=20)
        try:
            stub.Scale(herd_pb2.ScaleRequest(workload=w, replicas=3), metadata=auth, timeout=20)
            return "a Scale of a workload a rollout holds was accepted"
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ABORTED or op.name.rsplit("/", 1)[-1] not in e.details():
                return f"a Scale of a workload a rollout holds got {e.code()}: {e.details()}"
        final = wait_for_end(stub, op.name, timeout=30, metadata=auth)[-1]
        if final.state != herd_pb2.OPERATION_STATE_SUCCEEDED:
            return f"the slow rollout ended {herd_pb2.OperationState.Name(final.state)}: {final.error.message}"
        return None
    return step


def an_autoscaler_hold_ended(cluster, ns, token=None):
    """An `also` step: a Scale that holds the HPA for a second; herdd (the
    leader of its timed work) puts the HPA's bounds back when it ends. This
    tour's herdd must be the one that did: a herdd of a tour running beside
    it (another release, other roles) ends expired holds cluster-wide too,
    and would otherwise hide a permission this one lacks."""
    def step(herdds):
        stub, auth = herdds[-1].stub(), as_caller(token)
        req = herd_pb2.ScaleRequest(workload=f"namespaces/{ns}/deployments/api", delta=1,
                                    hpa_hold=duration_pb2.Duration(seconds=1))
        op = stub.Scale(req, metadata=auth, timeout=20)
        final = wait_for_end(stub, op.name, timeout=30, metadata=auth)[-1]
        if final.state != herd_pb2.OPERATION_STATE_SUCCEEDED:
            return f"the scale with a hold ended {herd_pb2.OperationState.Name(final.state)}: {final.error.message}"
        def restored_here():
            for herdd in herdds:
                for line in herdd.read_log().splitlines():
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if (entry.get("msg") == "restored the bounds of a HorizontalPodAutoscaler" and
                            entry.get("namespace") == ns and entry.get("hpa") == "api"):
                        return True
            return False
        deadline = time.monotonic() + 15
        while not restored_here():
            if time.monotonic() > deadline:
                held = "herd.dev/hpa-restore-at" in cluster.json("-n", ns, "get", "hpa", "api")["metadata"].get(
                    "annotations", {})
                return ("the HPA's bounds were not put back when the hold ended" if held else
                        "the HPA's bounds were put back by another herd, not this tour's")
            time.sleep(0.1)
        return None
    return step


# The second Job herdd creates: the tour's CronJob run makes the first.
CRASH_AT = "--crash-at=cronjob.create-job:before@2"


def a_crash_and_an_adoption(ns):
    """An `also` step, for a herdd started with CRASH_AT: it kills itself as
    it is about to create the Job of a CronJob run; a new herdd adopts the
    run once the lock runs out, reads its record and the Job it was about
    to create, creates it, and the run is cancelled."""
    def step(herdds):
        old = herdds[-1]
        if failure := refusal(old):  # it cannot be asked once it is dead
            return failure
        req = herd_pb2.CronJobRequest(cronjob=f"namespaces/{ns}/cronjobs/report",
                                      options=herd_pb2.MutationOptions(request_id=f"crash-{ns}"))
        try:
            old.stub().RunCronJob(req, timeout=20)
        except grpc.RpcError:
            pass  # it may die before it answers
        try:
            code = old.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            return "herdd did not kill itself as it was about to create a Job"
        if code != -9:
            return f"herdd exited {code}, not by its --crash-at SIGKILL"
        new = copy.copy(old)
        try:
            new.start()
        except RuntimeError as e:
            return f"the second herdd did not start: {e}"
        herdds.append(new)
        stub = new.stub()
        op = stub.RunCronJob(req, timeout=20)  # the same request: the same operation
        for op in stub.WatchOperation(herd_pb2.WatchOperationRequest(name=op.name), timeout=30):
            if any(e.message.startswith("created Job") for e in op.events):
                break
        else:
            return f"the adopted run ended without creating its Job: {op}"
        if not any(e.message.startswith("adopted by") for e in op.events):
            return f"the run was not adopted: {op}"
        stub.CancelOperation(herd_pb2.CancelOperationRequest(name=op.name), timeout=10)
        final = wait_for_end(stub, op.name, timeout=30)[-1]
        if final.state != herd_pb2.OPERATION_STATE_CANCELLED:
            return f"the adopted run ended {herd_pb2.OperationState.Name(final.state)}: {final.error.message}"
        return None
    return step


def helm_path():
    return os.environ.get("HELM") or shutil.which("helm") or "/usr/local/bin/helm"


def render_rbac(namespace, *helm_args):
    """The chart's ServiceAccount, Roles, ClusterRoles and bindings for a
    release "herd" in `namespace`."""
    out = subprocess.run([helm_path(), "template", "herd", CHART, "-n", namespace, *helm_args,
                          "--show-only", "templates/rbac.yaml", "--show-only", "templates/serviceaccount.yaml"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def permissions(docs):
    """Every (doc index, rule index, resource, verb) the documents grant."""
    for i, d in enumerate(docs):
        for j, rule in enumerate(d.get("rules", [])):
            for r in rule["resources"]:
                for v in rule["verbs"]:
                    yield i, j, r, v


def without(docs, perm):
    """`docs` with one verb of one resource of one rule taken out."""
    i, j, res, verb = perm
    docs = copy.deepcopy(docs)
    rules = docs[i]["rules"]
    rule = rules[j]
    rest = [r for r in rule["resources"] if r != res]
    verbs = [v for v in rule["verbs"] if v != verb]
    new = []
    if rest:
        new.append(dict(rule, resources=rest))
    if verbs:
        new.append(dict(rule, resources=[res], verbs=verbs))
    docs[i]["rules"] = rules[:j] + new + rules[j + 1:]
    return docs


@unittest.skipUnless(os.path.exists(helm_path()), "helm 3 is not installed (scripts/install-deps.sh installs it)")
class ChartLeastPrivilegeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="50ms", kubelet_poll="20ms",
                                 extra_args=("--authorization=rbac", "--controller-qps=0",
                                             "--crash-loop-backoff=200ms", "--job-pod-run-time=30s")).__enter__()
        with open(cls.cluster.kubeconfig) as f:
            kc = yaml.safe_load(f)
        cluster = kc["clusters"][0]["cluster"]
        cls.ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        m = re.match(r"https://([^:/]+):(\d+)", cluster["server"])
        cls.host, cls.port = m.group(1), m.group(2)
        cls.workdir = tempfile.mkdtemp(prefix="herd-lp-")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def install(self, name, docs, rename=True):
        """Applies the rendered RBAC documents, renamed for the release
        `name` (its own namespace, ClusterRoles and ClusterRoleBindings,
        "herd…" renamed "name…"; as rendered with `rename` False), and
        returns a directory laid out
        as a pod's / with its ServiceAccount's token, ca.crt and
        namespace."""
        docs = copy.deepcopy(docs)
        for d in docs if rename else ():
            md = d["metadata"]
            if d["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                md["name"] = name + md["name"].removeprefix("herd")
            else:
                md["namespace"] = name
            if d["kind"] == "ClusterRoleBinding":
                d["roleRef"]["name"] = name + d["roleRef"]["name"].removeprefix("herd")
            for s in d.get("subjects", []):
                s["namespace"] = name
        self.cluster.apply({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, *docs]})
        token = self.cluster.kubectl("-n", name, "create", "token", "herd").strip()
        root = os.path.join(self.workdir, name)
        sa = os.path.join(root, "var/run/secrets/kubernetes.io/serviceaccount")
        os.makedirs(sa, exist_ok=True)
        for f, text in (("token", token), ("ca.crt", self.ca), ("namespace", name)):
            with open(os.path.join(sa, f), "w") as out:
                out.write(text)
        return root

    def prepare(self, targets, *setup):
        """The tour's workloads in each namespace of `targets`, created at
        once and then waited for; `setup(ns)` runs in each before the wait."""
        for ns in targets:
            apply_tour_workloads(self.cluster, ns, wait=False)
            for f in setup:
                f(ns)
        for ns in targets:
            for w in ("deploy/web", "deploy/api", "sts/db"):
                self.cluster.kubectl("-n", ns, "rollout", "status", w, "--timeout=120s")

    def needless(self, docs, perms, tour):
        """The permissions of `perms` without which `tour(k, docs)` (the
        k-th, on docs lacking perms[k]) still succeeds, two at a time."""
        def attempt(k):
            return perms[k], tour(k, without(docs, perms[k]))
        out = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for (i, _, res, verb), failure in pool.map(attempt, range(len(perms))):
                if failure is None:
                    out.append(f"{docs[i]['kind']} {docs[i]['metadata']['name']}: {verb} {res}")
        return out

    def tour(self, name, docs, target_ns, *herdd_args, rename=True, also=(), token=None):
        """Runs the tour with a herdd in-cluster as the release `name` (as
        the caller of `token`, given --tokens-file, else with no
        authentication), then each step of `also`, given the herdds started
        so far (the last one serves; a step may start another) and
        returning a failure or None; None or the first failure."""
        root = self.install(name, docs, rename)
        env = dict(os.environ, KUBERNETES_SERVICE_HOST=self.host, KUBERNETES_SERVICE_PORT=self.port)
        herdd = Herdd(self.cluster, "--in-cluster", f"--in-cluster-root={root}", f"--namespace={name}",
                      "--lease-duration=2s", *herdd_args, log_dir=self.workdir, env=env, kubeconfig=False,
                      insecure=token is None)
        try:
            herdd.start()
        except RuntimeError as e:
            return f"herdd did not start: {e}"
        herdds = [herdd]
        try:
            herd_env = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
            herd_env["HERD_SERVER"] = herdd.grpc_address
            if token:
                herd_env["HERD_TOKEN"] = token
            failure = run_tour(herd_env, tour_steps(target_ns))
            for step in also:
                if failure is None:
                    failure = step(herdds)
            herdd = herdds[-1]
            # A refusal herd works around (a watch it replaces by relists, a
            # lock it waits out) still shows the role lacks something.
            if failure is None:
                failure = refusal(herdd)
        finally:
            for h in herdds:
                h.__exit__(None, None, None)  # flushes the audit Events
        if failure:
            return failure
        # Audit: a refused Event does not stop an operation, so look for them.
        events = self.cluster.json("-n", target_ns, "get", "events")["items"]
        if not any(e.get("source", {}).get("component") == "herd" for e in events):
            return "no audit Event from herd on the targets"
        return None

    def test_the_chart_role_is_enough_and_every_verb_is_needed(self):
        docs = render_rbac("herd")
        kinds = sorted(d["kind"] for d in docs)
        self.assertEqual(kinds, ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"])
        perms = [p for p in permissions(docs) if (docs[p[0]]["kind"], p[2], p[3]) not in UNPROVEN]
        # Every target namespace at once: one wait for all the workloads.
        targets = [f"lp{i}" for i in range(len(perms) + 1)]
        self.prepare(targets)

        # --operations-retention=1s: records are deleted a second after
        # they end, within the tour.
        def tour(name, docs, ns):
            return self.tour(name, docs, ns, "--operations-retention=1s", CRASH_AT,
                             also=(busy_and_renewed(ns), an_autoscaler_hold_ended(self.cluster, ns),
                                   a_crash_and_an_adoption(ns)))
        failure = tour("herd-all", docs, targets[0])
        self.assertIsNone(failure, "herdd with the chart's role could not do its work")
        needless = self.needless(docs, perms, lambda k, less: tour(f"herd-{k}", less, targets[k + 1]))
        self.assertEqual(needless, [], "the tour succeeds without these: the chart grants more than herd needs")

    def test_the_namespaced_roles_are_enough_and_confine_herd(self):
        """rbac.namespaces: Roles in the listed namespaces and none
        cluster-wide; herdd (with the --namespaces the chart passes) does
        the whole tour there, and is refused, touching nothing, elsewhere."""
        release, target, outside = "herd-nsd", "lpn", "lpout"
        docs = render_rbac(release, "--set", f"rbac.namespaces={{{target}}}")
        self.assertEqual(sorted(d["kind"] for d in docs), ["Role", "Role", "RoleBinding", "RoleBinding", "ServiceAccount"])
        self.assertEqual(sorted(d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"), [release, target])
        self.prepare((target, outside))
        before = self.cluster.json("-n", outside, "get", "deploy/web")

        def confined(herdds):
            herdd = herdds[-1]
            req = herd_pb2.ScaleRequest(workload=f"namespaces/{outside}/deployments/web", replicas=5)
            try:
                herdd.stub().Scale(req, timeout=10)
                return f"a Scale in {outside}, outside --namespaces, was accepted"
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION or outside not in e.details():
                    return f"a Scale in {outside} got {e.code()}: {e.details()}"
            try:
                herdd.stub().GetWorkload(herd_pb2.GetWorkloadRequest(name=f"namespaces/{outside}/deployments/web"),
                                         timeout=10)
                return f"a read in {outside}, outside --namespaces, was answered"
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    return f"a read in {outside} got {e.code()}: {e.details()}"
            return None

        failure = self.tour(release, docs, target, f"--namespaces={target}", rename=False, also=(confined,))
        self.assertIsNone(failure, "herdd with the chart's namespaced roles could not do its work")
        after = self.cluster.json("-n", outside, "get", "deploy/web")
        self.assertEqual(after["spec"], before["spec"])
        self.assertEqual(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])

    def test_impersonating_callers_needs_only_the_impersonate_role(self):
        """herd.impersonate: herdd --impersonate writes as each caller, so
        the chart grants herd's own account no write to workloads (only its
        audit Events and the ending of HPA holds) and adds a ClusterRole to
        impersonate users and groups. With that, a caller the cluster allows
        (edit in the target namespace, through its group) does the whole
        tour as itself, no request refused; without any single verb, it
        cannot."""
        release, target = "herd-imp", "lpimp"

        def own(docs):
            return {(r, v) for i, _, r, v in permissions(docs) if docs[i]["kind"] == "ClusterRole" and
                    docs[i]["metadata"]["name"] == "herd"}
        plain = render_rbac(release)
        docs = render_rbac(release, "--set", "herd.impersonate=true")
        self.assertLess(own(docs), own(plain))
        self.assertEqual({(r, v) for r, v in own(docs) if v not in ("get", "list", "watch")},
                         {("events", "create"), ("horizontalpodautoscalers", "update")})
        role = docs.index(next(d for d in docs if d["metadata"]["name"] == "herd-impersonate" and
                               d["kind"] == "ClusterRole"))
        self.assertEqual(docs[role]["rules"], [{"apiGroups": [""], "resources": ["users", "groups"],
                                                "verbs": ["impersonate"]}])
        perms = list(permissions(docs))
        targets = [f"{target}{k}" for k in range(len(perms) + 1)]
        self.prepare(targets, lambda ns: self.cluster.kubectl("-n", ns, "create", "rolebinding", "deployers",
                                                              "--clusterrole=edit", "--group=imp-deployers"))
        tokens = os.path.join(self.workdir, "imp-tokens.yaml")
        with open(tokens, "w") as f:
            f.write(f"""principals:
  - name: deployer
    token: deployer-token
    groups: [imp-deployers]
    rules:
      - verbs: ["*"]
        namespaces: ["{target}*"]
""")
        token = "deployer-token"

        def tour(name, docs, ns, rename=True):
            return self.tour(name, docs, ns, "--impersonate", f"--tokens-file={tokens}", "--operations-retention=1s",
                             rename=rename, token=token,
                             also=(busy_and_renewed(ns, token), an_autoscaler_hold_ended(self.cluster, ns, token)))
        failure = tour(release, docs, targets[0], rename=False)
        self.assertIsNone(failure, "herdd --impersonate with the chart's roles could not do the caller's work")
        needless = self.needless(docs, perms, lambda k, less: tour(f"{release}-{k}", less, targets[k + 1]))
        self.assertEqual(needless, [], "needless with impersonation: " + ", ".join(needless))


if __name__ == "__main__":
    unittest.main()

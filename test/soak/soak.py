#!/usr/bin/env python3
"""A soak of herd under faults: a seeded generator runs mixed operations over
Deployments, StatefulSets and CronJobs in several namespaces while kubesim
fails, throttles and slows herd's requests and drops its watches, and two
herdd processes (both serving; calls alternate between them) are SIGKILLed
and restarted. At the end every operation is checked against the soak's own
model of what it asked, and against what an independent observer (a pod
watch from the start, through python3-kubernetes, which the faults spare)
saw happen in the cluster:

  - no operation stuck (each ends within its budget after the last restart
    it lived through), none lost (every accepted id is found, final, by both
    herdds), none run twice (a repeated request id returns the same
    operation; a kill deletes only pods it chose, a purge only pods that
    were there before it);
  - no SUCCEEDED that the cluster contradicts (images, replicas, pods, Jobs,
    suspension as asked), no failure a good request should not have;
  - protected namespaces untouched;
  - availability kept: no FAST rollout or ROLLING purge took a workload
    below the Ready count it had when the operation started (a StatefulSet
    below that less one: it replaces a pod by removing it first).

    test/soak/soak.py --seed=1 --ops=80 --workloads=16 --restart-every=25

It prints the figures (operations by kind and outcome, faults injected,
restarts, adoptions, wall time) and exits 0 only when every check held.
docs/RELIABILITY.md ("Soak") has the commands and the figures measured.
"""
import argparse
import calendar
import collections
import json
import os
import random
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from simcluster import SimCluster  # noqa: E402
from herdprocess import Herdd, herd_pb2  # noqa: E402

import grpc  # noqa: E402
from kubernetes import client as kclient, config as kconfig, watch as kwatch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

S = herd_pb2
FINAL = {S.OPERATION_STATE_SUCCEEDED, S.OPERATION_STATE_FAILED, S.OPERATION_STATE_CANCELLED,
         S.OPERATION_STATE_ROLLED_BACK}
STATE = {S.OPERATION_STATE_SUCCEEDED: "SUCCEEDED", S.OPERATION_STATE_FAILED: "FAILED",
         S.OPERATION_STATE_CANCELLED: "CANCELLED", S.OPERATION_STATE_ROLLED_BACK: "ROLLED_BACK",
         S.OPERATION_STATE_RUNNING: "RUNNING", S.OPERATION_STATE_PENDING: "PENDING"}
NAMESPACES = ["soak-a", "soak-b", "soak-c"]
PROTECTED = "kube-system"
WL_LABEL = "soak-wl"
GOOD_IMAGES = ["{n}:{v}", "{n}:{v}", "{n}:{v}", "{n}:{v}-slow2s"]
BAD_IMAGES = ["{n}:{v}-crashloop", "{n}:{v}-pullfail", "{n}:{v}-unready"]
# Codes a call is sent again for (to the other herdd, same request id):
# the server was down or failed for a reason that is not the request's.
RETRY_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL,
               grpc.StatusCode.UNKNOWN, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED}


def now():
    return time.monotonic()


def is_bad(image):
    return any(x in image for x in ("crashloop", "pullfail", "unready"))


class Violation(Exception):
    pass


# ---------------------------------------------------------------- cluster reads
class Kube:
    """python3-kubernetes over kubesim; faults are for herd only (User-Agent)."""

    def __init__(self, kubeconfig):
        cfg = kclient.Configuration()
        kconfig.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        self.api = kclient.ApiClient(cfg)
        self.core = kclient.CoreV1Api(self.api)

    def call(self, method, path, body=None, query=None, content_type="application/json"):
        for attempt in range(20):
            try:
                resp = self.api.call_api(path, method, query_params=query or [], body=body,
                                         header_params={"Content-Type": content_type, "Accept": "application/json"},
                                         auth_settings=["BearerToken"], _preload_content=False,
                                         _return_http_data_only=True, _request_timeout=30)
                return json.loads(resp.data) if resp.data else {}
            except ApiException as e:
                if e.status in (500, 503, 429) and attempt < 19:
                    time.sleep(0.2)
                    continue
                raise

    def get(self, path, query=None):
        return self.call("GET", path, query=query)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def create(self, path, obj):
        return self.call("POST", path, body=obj)

    def patch(self, path, patch):
        return self.call("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def delete(self, path):
        return self.call("DELETE", path)


def wl_path(ns, kind, name=""):
    group = {"Deployment": "/apis/apps/v1", "StatefulSet": "/apis/apps/v1", "CronJob": "/apis/batch/v1"}[kind]
    plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "CronJob": "cronjobs"}[kind]
    return f"{group}/namespaces/{ns}/{plural}" + (f"/{name}" if name else "")


def images_of_template(tmpl):
    return {c["name"]: c["image"] for c in tmpl["spec"]["containers"]}


def pod_ready(pod):
    if pod["metadata"].get("deletionTimestamp"):
        return False
    for c in pod.get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


# ---------------------------------------------------------------- the observer
class PodRec:
    __slots__ = ("uid", "ns", "name", "wl", "first_seen", "created", "images", "ready", "terminating_at",
                 "deleted_at")

    def __init__(self, uid, ns, name, wl, t, created, images):
        self.uid, self.ns, self.name, self.wl = uid, ns, name, wl
        self.first_seen, self.created, self.images = t, created, images
        self.ready = False
        self.terminating_at = None
        self.deleted_at = None

    @property
    def alive(self):
        return self.terminating_at is None and self.deleted_at is None


class Observer(threading.Thread):
    """Watches every pod from the start: who came, who was deleted when, and
    the Ready count of each workload over time."""

    def __init__(self, kube):
        super().__init__(daemon=True)
        self.kube = kube
        self.mu = threading.Condition()
        self.pods = {}  # uid -> PodRec
        self.ready = collections.defaultdict(set)  # (ns, wl) -> ready uids
        self.series = collections.defaultdict(list)  # (ns, wl) -> [(t, ready count)]
        self.marker = None
        self.relists = 0
        self.events = 0
        self.stopped = False
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception:  # noqa: BLE001 — reported at the end
            self.error = traceback.format_exc()

    def _relist(self):
        """Takes every pod as it is now; returns the list's resourceVersion."""
        listed = self.kube.get("/api/v1/pods")
        t = now()
        with self.mu:
            for p in listed["items"]:
                self._apply("ADDED", p, t)
        return listed["metadata"]["resourceVersion"]

    def _run(self):
        rv = self._relist()
        while not self.stopped:
            w = kwatch.Watch(return_type="object")
            try:
                for ev in w.stream(self.kube.core.list_pod_for_all_namespaces, resource_version=rv,
                                   allow_watch_bookmarks=True, _request_timeout=120):
                    if self.stopped:
                        return
                    obj = ev["raw_object"]
                    if ev["type"] == "ERROR":
                        if obj.get("code") == 410:
                            # Too old to resume: the checks lose their history.
                            self.relists += 1
                            rv = self._relist()
                            break
                        continue
                    rv = obj["metadata"]["resourceVersion"]
                    if ev["type"] == "BOOKMARK":
                        continue
                    with self.mu:
                        self._apply(ev["type"], obj, now())
                        self.mu.notify_all()
            except Exception:  # noqa: BLE001 — the connection broke: resume
                time.sleep(0.1)

    def _apply(self, kind, pod, t):
        self.events += 1
        md = pod["metadata"]
        uid = md["uid"]
        if md.get("name") == "soak-marker":
            self.marker = (md.get("annotations") or {}).get("soak/seq")
            return
        wl = (md.get("labels") or {}).get(WL_LABEL)
        rec = self.pods.get(uid)
        if rec is None:
            rec = PodRec(uid, md["namespace"], md["name"], wl, t, md.get("creationTimestamp", ""),
                         [c["image"] for c in pod["spec"]["containers"]])
            self.pods[uid] = rec
        if md.get("deletionTimestamp") and rec.terminating_at is None:
            rec.terminating_at = t
        if kind == "DELETED":
            rec.deleted_at = t
            if rec.terminating_at is None:
                rec.terminating_at = t
        rec.ready = kind != "DELETED" and pod_ready(pod)
        if wl:
            key = (rec.ns, wl)
            ready = self.ready[key]
            before = len(ready)
            if rec.ready:
                ready.add(uid)
            else:
                ready.discard(uid)
            if len(ready) != before or not self.series[key]:
                self.series[key].append((t, len(ready)))

    # -- queries (under no lock held by the caller)
    def workload_pods(self, ns, wl, alive_only=True):
        with self.mu:
            return [p for p in self.pods.values()
                    if p.ns == ns and p.wl == wl and (p.alive or not alive_only)]

    def ready_count(self, ns, wl):
        with self.mu:
            return len(self.ready[(ns, wl)])

    def min_ready(self, ns, wl, t0, t1):
        """The lowest Ready count of the workload within [t0, t1]."""
        with self.mu:
            series = list(self.series[(ns, wl)])
        value, low = None, None
        for t, n in series:
            if t <= t0:
                value = n
                continue
            if t > t1:
                break
            if low is None or (value is not None and value < low):
                low = value
            value = n
            low = n if low is None else min(low, n)
        if value is not None:
            low = value if low is None else min(low, value)
        return low

    def terminated_between(self, ns, wl, t0, t1):
        with self.mu:
            return [p for p in self.pods.values()
                    if p.ns == ns and p.wl == wl and p.terminating_at is not None and t0 <= p.terminating_at <= t1]

    def barrier(self, kube, seq, timeout=30):
        """Returns once every pod change made before this call has been seen."""
        kube.patch("/api/v1/namespaces/soak-sync/pods/soak-marker",
                   {"metadata": {"annotations": {"soak/seq": str(seq)}}})
        deadline = now() + timeout
        with self.mu:
            while self.marker is None or int(self.marker) < seq:
                left = deadline - now()
                if left <= 0:
                    raise Violation("the observer's pod watch fell behind by more than 30 s")
                self.mu.wait(left)


# ---------------------------------------------------------------- herdd pool
class Pool:
    """Two herdd processes; calls alternate between them; a chaos thread
    SIGKILLs and restarts them."""

    def __init__(self, cluster, args, logdir):
        self.cluster = cluster
        self.args = args
        self.logdir = logdir
        self.mu = threading.Lock()
        self.procs = [None, None]
        self.generation = [0, 0]
        self.restarts = [0, 0]
        self.last_restart = 0.0
        self.logs = []
        self.stop = threading.Event()

    def identity(self, i):
        # A restart mostly comes back under its own name (a container
        # restarted in its pod, adopting its predecessor's operations at
        # once); every third is a new pod (the other replica adopts once the
        # leases expire).
        return f"herdd-{'ab'[i]}-{self.generation[i] // 3}"

    def start(self, i):
        h = Herdd(self.cluster, *self.args, identity=self.identity(i), log_dir=self.logdir)
        for attempt in range(5):
            try:
                h.start()
                break
            except RuntimeError:
                if attempt == 4:
                    raise
                time.sleep(0.5)
        with self.mu:
            self.procs[i] = h
            self.logs.append(h.log.name)

    def kill(self, i):
        with self.mu:
            h = self.procs[i]
            self.procs[i] = None
        if h:
            h.kill()

    def restart(self, i):
        self.kill(i)
        self.generation[i] += 1
        self.restarts[i] += 1
        self.last_restart = now()
        time.sleep(random.Random(self.generation[i]).uniform(0.2, 1.5))
        self.start(i)
        self.last_restart = now()

    def stub(self, i):
        with self.mu:
            h = self.procs[i % 2]
            if h is None:
                h = self.procs[(i + 1) % 2]
            return h.stub() if h else None

    def chaos(self, every):
        i = 0
        while not self.stop.wait(every):
            self.restart(i % 2)
            i += 1

    def shutdown(self):
        for i in (0, 1):
            with self.mu:
                h = self.procs[i]
                self.procs[i] = None
            if h and h.proc.poll() is None:
                try:
                    h.terminate()
                except Exception:  # noqa: BLE001
                    h.proc.kill()

    def log_lines(self):
        for name in self.logs:
            try:
                with open(name) as f:
                    for line in f:
                        try:
                            yield json.loads(line)
                        except ValueError:
                            continue
            except FileNotFoundError:
                continue


# ---------------------------------------------------------------- the model
class Workload:
    def __init__(self, ns, kind, name, replicas=0, images=None, pdb=None, hpa=None, protected=False):
        self.ns, self.kind, self.name = ns, kind, name
        self.replicas = replicas
        self.images = images or {}
        self.pdb = pdb  # {"maxUnavailable": 1} or None
        self.hpa = hpa  # {"min": 2, "max": 6} (the original bounds) or None
        self.held = None  # (min, max) while herd holds the HPA
        self.hold_until = None  # monotonic time a short hold ends
        self.suspend = False
        self.protected = protected
        self.version = 1
        self.busy = False
        self.busy_by_self = False
        self.broken = False
        self.known = True  # the model knows the state (a failure may leave it unknown)

    @property
    def ref(self):
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets", "CronJob": "cronjobs"}[self.kind]
        return f"namespaces/{self.ns}/{plural}/{self.name}"

    def __repr__(self):
        return f"{self.kind}/{self.ns}/{self.name}"


class Op:
    def __init__(self, idx, wl, kind, params):
        self.idx, self.wl, self.kind, self.params = idx, wl, kind, params
        self.request_id = ""
        self.name = None
        self.state = None
        self.final = None
        self.refused = None  # grpc code name when the call was refused
        self.t_sent = self.t_accepted = self.t_end = None
        self.notes = []
        self.expect = ""


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.slow = float(os.environ.get("HERD_SOAK_SLOWDOWN", "1"))
        self.violations = []
        self.notes = []
        self.mu = threading.Lock()
        self.workloads = []
        self.ops = []
        self.retries = collections.Counter()
        self.repeats = 0
        self.cancels = 0
        self.probes = collections.Counter()
        self.barrier_seq = 0
        self.repairs = 0
        self.barrier_mu = threading.Lock()

    # -------------------------------------------------------------- reporting
    def violate(self, op, what):
        msg = f"op {op.idx} {op.kind} on {op.wl} ({op.name or op.request_id}): {what}" if op else what
        with self.mu:
            self.violations.append(msg)
        print("VIOLATION:", msg, flush=True)

    def note(self, op, what):
        msg = f"op {op.idx} {op.kind} on {op.wl} ({op.name or op.request_id}): {what}" if op else what
        with self.mu:
            self.notes.append(msg)
        if self.args.verbose:
            print("note:", msg, flush=True)

    def log(self, *a):
        if self.args.verbose:
            print(f"[{now() - self.t0:7.1f}]", *a, flush=True)

    # -------------------------------------------------------------- setup
    def setup_cluster(self):
        k = self.kube
        for ns in NAMESPACES + ["soak-sync"]:
            k.create("/api/v1/namespaces", {"metadata": {"name": ns}})
        k.create("/api/v1/namespaces/soak-sync/pods", {
            "metadata": {"name": "soak-marker"},
            "spec": {"containers": [{"name": "c", "image": "marker:1"}]}})
        rng = self.rng
        n = self.args.workloads
        kinds = ["Deployment"] * 6 + ["StatefulSet"] * 2 + ["CronJob"] * 2
        for i in range(n):
            kind = kinds[i % len(kinds)] if i < len(kinds) else rng.choice(kinds)
            ns = NAMESPACES[i % len(NAMESPACES)]
            name = f"{kind[0].lower()}{kind[1].lower()}{i:02d}"
            self.workloads.append(self.make_workload(ns, kind, name, rng))
        # The protected namespace holds workloads herd must never touch.
        self.protected = [self.make_workload(PROTECTED, "Deployment", "guard", rng, protected=True),
                          self.make_workload(PROTECTED, "StatefulSet", "guard-db", rng, protected=True),
                          self.make_workload(PROTECTED, "CronJob", "guard-cron", rng, protected=True)]
        deadline = now() + 120
        for w in self.workloads + self.protected:
            if w.kind == "CronJob":
                continue
            while not self.at_rest(w):
                if now() > deadline:
                    raise RuntimeError(f"{w} did not come up")
                time.sleep(0.1)

    def make_workload(self, ns, kind, name, rng, protected=False):
        k = self.kube
        labels = {WL_LABEL: name, "app": name}
        if kind == "CronJob":
            w = Workload(ns, kind, name, images={"job": f"{name}-job:1"}, protected=protected)
            k.create(wl_path(ns, kind), {
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "labels": labels},
                "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
                    "metadata": {"labels": labels},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": f"{name}-job:1"}]}}}}}})
            return w
        replicas = rng.randint(2, 4)
        w = Workload(ns, kind, name, replicas=replicas, images={"app": f"{name}:1"}, protected=protected)
        spec = {"replicas": replicas, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                             "spec": {"terminationGracePeriodSeconds": 2,
                                      "containers": [{"name": "app", "image": f"{name}:1"}]}}}
        if kind == "Deployment":
            spec["progressDeadlineSeconds"] = 30
        else:
            spec["serviceName"] = name
        k.create(wl_path(ns, kind), {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": labels},
                                     "spec": spec})
        if kind == "Deployment" and not protected:
            roll = rng.random()
            if roll < 0.3:
                w.pdb = {"maxUnavailable": 1}
                k.create(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", {
                    "metadata": {"name": f"{name}-pdb"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {WL_LABEL: name}}}})
            elif roll < 0.5:
                w.hpa = {"min": 2, "max": 6}
                k.create(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", {
                    "metadata": {"name": name},
                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                             "minReplicas": 2, "maxReplicas": 6}})
        return w

    # -------------------------------------------------------------- state
    def at_rest(self, w):
        """The workload's controller has done its work and every pod is Ready."""
        obj = self.kube.get(wl_path(w.ns, w.kind, w.name))
        spec, st = obj["spec"], obj.get("status", {})
        replicas = spec.get("replicas", 1)
        if st.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
            return False
        if w.kind == "Deployment":
            if not (st.get("updatedReplicas", 0) == replicas and st.get("readyReplicas", 0) == replicas
                    and st.get("replicas", 0) == replicas):
                return False
        elif not (st.get("readyReplicas", 0) == replicas and st.get("currentRevision") == st.get("updateRevision")
                  and st.get("updatedReplicas", replicas) == replicas):
            return False
        pods = self.observer.workload_pods(w.ns, w.name, alive_only=False)
        alive = [p for p in pods if p.alive]
        terminating = [p for p in pods if p.terminating_at is not None and p.deleted_at is None]
        return len(alive) == replicas and not terminating and all(p.ready for p in alive)

    def settle(self, w, op, timeout=30):
        if w.kind == "CronJob":
            return True
        deadline = now() + timeout * self.slow
        while now() < deadline:
            if self.at_rest(w):
                return True
            time.sleep(0.1)
        self.note(op, "the workload was not at rest before the operation")
        return False

    def barrier(self):
        with self.barrier_mu:
            self.barrier_seq += 1
            seq = self.barrier_seq
        self.observer.barrier(self.kube, seq)

    def cluster_images(self, w):
        obj = self.kube.get(wl_path(w.ns, w.kind, w.name))
        if w.kind == "CronJob":
            return images_of_template(obj["spec"]["jobTemplate"]["spec"]["template"]), obj
        return images_of_template(obj["spec"]["template"]), obj

    def previous_revision_images(self, w):
        """What "undo" means at this moment, read the way kubectl reads it:
        the newest revision before the current one."""
        obj = self.kube.get(wl_path(w.ns, w.kind, w.name))
        uid = obj["metadata"]["uid"]
        revs = []
        if w.kind == "Deployment":
            current = int(obj["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
            for rs in self.kube.get(f"/apis/apps/v1/namespaces/{w.ns}/replicasets")["items"]:
                if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences", [])):
                    rev = int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0"))
                    revs.append((rev, images_of_template(rs["spec"]["template"])))
        else:
            update = obj.get("status", {}).get("updateRevision", "")
            current = 0
            for cr in self.kube.get(f"/apis/apps/v1/namespaces/{w.ns}/controllerrevisions")["items"]:
                if not any(r.get("uid") == uid for r in cr["metadata"].get("ownerReferences", [])):
                    continue
                if cr["metadata"]["name"] == update:
                    current = cr["revision"]
                revs.append((cr["revision"], images_of_template(cr["data"]["spec"]["template"])))
        earlier = [r for r in revs if r[0] < current]
        if not earlier:
            return None
        return max(earlier, key=lambda r: r[0])[1]

    # -------------------------------------------------------------- the plan
    def plan(self):
        rng = self.rng
        ops = []
        for i in range(self.args.ops):
            if rng.random() < 0.03:
                w = rng.choice(self.protected)
            else:
                w = rng.choice(self.workloads)
            if w.kind == "CronJob":
                kind = rng.choice(["run", "run", "suspend", "resume", "kill-jobs"])
            elif w.kind == "StatefulSet":
                kind = rng.choices(["rollout", "rollout-bad", "undo", "scale", "scale-delta", "purge", "purge-burn",
                                    "kill"], [5, 2, 2, 2, 2, 3, 1, 2])[0]
            else:
                kind = rng.choices(["rollout", "rollout-bad", "rollout-rolling", "restart", "undo", "scale",
                                    "scale-delta", "purge", "purge-burn", "purge-batch", "purge-older",
                                    "purge-selector", "kill", "kill-selector", "kill-force"],
                                   [10, 5, 2, 2, 4, 4, 4, 4, 2, 2, 2, 2, 3, 3, 1])[0]
            params = {"rng": rng.getrandbits(32),
                      "cancel": rng.random() < 0.12 and kind not in ("suspend", "resume"),
                      "repeat": rng.random() < 0.15,
                      # A probe is a Scale to the count the workload keeps:
                      # not beside a Scale, which changes it.
                      "probe": rng.random() < 0.08 and w.kind != "CronJob" and not kind.startswith("scale")}
            ops.append(Op(i, w, kind, params))
        return ops

    # -------------------------------------------------------------- calls
    def call(self, op, method, request, first=0, budget=90):
        """Sends `request` until a herdd answers it (the same request id each
        time). Returns the Operation, or the grpc code of a refusal."""
        deadline = now() + budget * self.slow
        i = first
        aborted_since = None
        while True:
            stub = self.pool.stub(i)
            try:
                if stub is None:
                    raise _Down()
                return getattr(stub, method)(request, timeout=20 * self.slow), None
            except (grpc.RpcError, _Down, ValueError) as e:
                code = e.code() if isinstance(e, grpc.RpcError) else grpc.StatusCode.UNAVAILABLE
                detail = e.details() if isinstance(e, grpc.RpcError) else str(e)
                if code == grpc.StatusCode.ABORTED and op is not None and op.wl.busy_by_self:
                    # Busy with an operation: ours ran on a herdd that died
                    # between taking the lock and answering; the lease runs out.
                    aborted_since = aborted_since or now()
                    if now() - aborted_since < 15 * self.slow:
                        held = detail.split("busy with ", 1)[-1].split(" ", 1)[0]
                        ended = any(o.name == held and o.final is not None for o in self.ops)
                        self.retries["ABORTED: lock of an ended operation" if ended else
                                     "ABORTED: lock of this operation (its herdd died)"] += 1
                        time.sleep(0.3)
                        i += 1
                        continue
                if code not in RETRY_CODES:
                    return None, (code, detail)
                self.retries[code.name] += 1
                if now() > deadline:
                    return None, (code, detail)
                i += 1
                time.sleep(0.2)

    def wait_final(self, op, budget):
        """Follows the operation (WatchOperation on either herdd) until it
        ends; a violation when it is still running `budget` seconds after
        the later of its start and the last restart."""
        i = op.idx + 1
        last = None
        while True:
            limit = max(op.t_accepted, self.pool.last_restart) + budget * self.slow
            if now() > limit:
                self.violate(op, f"stuck: not ended {budget * self.slow:.0f}s after its start or the last restart "
                                 f"(last seen {STATE.get(last.state) if last else None}: "
                                 f"{[e.message for e in last.events[-3:]] if last else ''})")
                return last
            stub = self.pool.stub(i)
            if stub is None:
                time.sleep(0.2)
                continue
            try:
                for upd in stub.WatchOperation(S.WatchOperationRequest(name=op.name),
                                               timeout=max(1.0, min(15.0, limit - now()))):
                    last = upd
                    if upd.state in FINAL:
                        return upd
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.NOT_FOUND:
                    self.violate(op, f"lost: {op.name} not found ({e.details()})")
                    return None
            except ValueError:
                pass
            i += 1
            time.sleep(0.1)

    # -------------------------------------------------------------- running
    def run_op(self, op):
        w = op.wl
        rng = random.Random(op.params["rng"])
        try:
            if w.hold_until:
                self.await_hold_end(op, w)
            if w.broken and op.kind not in ("rollout", "rollout-rolling", "undo"):
                # A rollout failed without rollback left a broken version
                # (as asked): a person would roll out a good one next.
                op.kind = "rollout"
                op.params["cancel"] = False
                self.repairs += 1
            if not w.protected:
                self.settle(w, op)
            self.barrier()
            request, method = self.build(op, rng)
            if request is None:
                return
            op.request_id = f"soak-{self.args.seed}-{op.idx}"
            request.options.request_id = op.request_id
            request.options.reason = f"soak op {op.idx}"
            pre = self.snapshot(op)
            op.t_sent = now()
            w.busy_by_self = True
            result, refused = self.call(op, method, request, first=op.idx)
            if refused:
                op.refused = refused[0].name
                self.judge_refusal(op, refused)
                return
            op.t_accepted = now()
            op.name = result.name
            self.log(f"op {op.idx} {op.kind} {w} -> {op.name} {op.expect}")
            if op.params["repeat"]:
                self.repeat(op, method, request)
            if op.params["probe"]:
                self.probe(op)
            canceller = None
            if op.params["cancel"]:
                canceller = threading.Thread(target=self.cancel_later, args=(op, rng.uniform(0.0, 2.5)), daemon=True)
                canceller.start()
            final = self.wait_final(op, self.budget(op))
            if canceller:
                canceller.join()
            op.t_end = now()
            if final is None or final.state not in FINAL:
                op.state = "STUCK"
                w.known = False
                return
            op.final = final
            op.state = STATE[final.state]
            self.barrier()
            self.log(f"op {op.idx} {op.kind} {w} ended {op.state} {[e.message for e in final.events[-2:]]}")
            self.judge(op, final, pre)
            if w.kind != "CronJob":
                w.broken = any(is_bad(i) for i in w.images.values())
        except Violation as e:
            events = [ev.message for ev in op.final.events[-8:]] if op.final else []
            self.violate(op, f"{e}; its events: {events}")
            w.known = False
        except Exception:  # noqa: BLE001
            self.violate(op, "the soak failed: " + traceback.format_exc())
            w.known = False
        finally:
            w.busy_by_self = False

    def budget(self, op):
        return {"rollout": 120, "rollout-bad": 120, "rollout-rolling": 120, "restart": 90, "undo": 120,
                "run": 60}.get(op.kind, 90)

    def await_hold_end(self, op, w):
        """A short HPA hold ended: herd's leader puts the bounds back."""
        deadline = w.hold_until + 10 * self.slow
        path = f"/apis/autoscaling/v2/namespaces/{w.ns}/horizontalpodautoscalers/{w.name}"
        while True:
            h = self.kube.get(path)
            bounds = (h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"])
            if bounds == (w.hpa["min"], w.hpa["max"]) and "herd.dev/hpa-restore-at" not in h["metadata"].get(
                    "annotations", {}):
                break
            if now() > deadline:
                self.violate(op, f"the HPA hold of {w} did not end on time: bounds {bounds}")
                break
            time.sleep(0.2)
        w.hold_until = None
        w.held = None
        w.replicas = min(max(w.replicas, w.hpa["min"]), w.hpa["max"])

    def cancel_later(self, op, delay):
        time.sleep(delay)
        self.cancels += 1
        req = S.CancelOperationRequest(name=op.name, reason="soak cancels")
        _, refused = self.call(None, "CancelOperation", req, first=op.idx + 1)
        if refused and refused[0] != grpc.StatusCode.FAILED_PRECONDITION:
            self.violate(op, f"cancel refused with {refused[0].name}: {refused[1]}")
        op.cancel_sent = now()

    def repeat(self, op, method, request):
        """The same request again, to the other herdd: the same operation."""
        self.repeats += 1
        again, refused = self.call(None, method, request, first=op.idx + 1)
        if refused:
            self.violate(op, f"a repeated request id was refused with {refused[0].name}: {refused[1]}")
        elif again.name != op.name:
            self.violate(op, f"run twice: the repeated request id started {again.name}, not {op.name}")

    def probe(self, op):
        """A second operation on a busy workload is refused, naming the
        running one; one that changes nothing (a scale to the model's count)
        so that, started after all because the first just ended, it is
        harmless."""
        w = op.wl
        req = S.ScaleRequest(workload=w.ref, replicas=w.replicas)
        req.options.request_id = f"{op.request_id}-probe"
        got, refused = self.call(None, "Scale", req, first=op.idx)
        if refused:
            code, detail = refused
            if code == grpc.StatusCode.ABORTED:
                self.probes["ABORTED"] += 1
                if op.kind.startswith("kill") and op.name in detail:
                    self.violate(op, f"a kill locked {w}: {detail}")
            else:
                self.probes[code.name] += 1
                self.violate(op, f"a probe on a busy workload got {code.name}: {detail}")
            return
        self.probes["started"] += 1
        if not op.kind.startswith("kill"):
            # Busy with op: it must have ended before the probe started.
            deadline = now() + 30 * self.slow
            cur = self.pool_get(op.name)
            while (cur is None or cur.state not in FINAL) and now() < deadline:
                time.sleep(0.2)
                cur = self.pool_get(op.name)
            ended = (cur.end_time.seconds, cur.end_time.nanos) if cur is not None and cur.state in FINAL else None
            if got.state == S.OPERATION_STATE_PENDING:
                # Its first call was cut off before it took the workload (a
                # retry answered): it starts, and is dated, once it is free.
                while got.state == S.OPERATION_STATE_PENDING and now() < deadline:
                    time.sleep(0.2)
                    got = self.pool_get(got.name) or got
            if ended is None or (got.create_time.seconds, got.create_time.nanos) < ended:
                self.violate(op, f"a second operation ({got.name}) started on {w} while {op.name} ran")
        probe = Op(op.idx, w, "probe", {})
        probe.name, probe.t_accepted = got.name, now()
        final = self.wait_final(probe, 90)
        with self.mu:
            self.extra_ops.append((probe.name, final.state if final else None, "Scale"))

    def pool_get(self, name):
        for i in range(4):
            stub = self.pool.stub(i)
            if stub is None:
                continue
            try:
                return stub.GetOperation(S.GetOperationRequest(name=name), timeout=10)
            except (grpc.RpcError, ValueError):
                time.sleep(0.2)
        return None

    # -------------------------------------------------------------- requests
    def build(self, op, rng):
        w = op.wl
        k = op.kind
        if k in ("rollout", "rollout-bad", "rollout-rolling"):
            w.version += 1
            bad = BAD_IMAGES if w.kind == "Deployment" else [b for b in BAD_IMAGES if "unready" not in b]
            # (A StatefulSet has no progress deadline: an undo back to a
            # never-Ready version would wait herd's default 10 minutes.)
            pat = rng.choice(bad if k == "rollout-bad" else GOOD_IMAGES)
            image = pat.format(n=w.name, v=w.version)
            req = S.RolloutRequest(workload=w.ref, images={"app": image})
            if k == "rollout-rolling":
                req.strategy = S.ROLLOUT_STRATEGY_ROLLING
            if k == "rollout-bad" and "unready" in image:
                req.deadline.seconds = 8
            if k == "rollout-bad" and rng.random() < 0.15:
                req.no_rollback = True
                op.params["no_rollback"] = True
                op.params["cancel"] = False  # a cancel without rollback leaves a half rollout
                # A probe started after it would wait on pods that never come up.
                op.params["probe"] = False
            op.asked = {"app": image}
            op.expect = "ROLLED_BACK" if is_bad(image) else "SUCCEEDED"
            if req.no_rollback:
                op.expect = "FAILED"
            return req, "Rollout"
        if k == "restart":
            op.asked = dict(w.images)
            op.expect = "SUCCEEDED"
            return S.RolloutRequest(workload=w.ref, restart=True), "Rollout"
        if k == "undo":
            if not w.protected:
                op.asked = self.previous_revision_images(w)
            else:
                op.asked = None
            if op.asked is None and not w.protected:
                op.expect = "FAILED_PRECONDITION"
            else:
                op.expect = "ROLLED_BACK" if op.asked and is_bad(op.asked["app"]) else "SUCCEEDED"
            return S.UndoRequest(workload=w.ref), "Undo"
        if k in ("scale", "scale-delta"):
            req = S.ScaleRequest(workload=w.ref)
            if k == "scale":
                target = rng.randint(1, 5)
                req.replicas = target
            else:
                delta = rng.choice([-2, -1, 1, 2])
                if w.replicas + delta < 1:
                    # (A workload at 0 replicas has nothing to roll out,
                    # purge or kill: the plan would have to know.)
                    delta = 1
                target = w.replicas + delta
                req.delta = delta
            if rng.random() < 0.15:
                # Bounds the target lies outside of: refused, nothing touched.
                req.max_replicas = max(1, target - 1) if target > 1 else 0
                req.min_replicas = target + 1 if target <= 1 else 0
                op.expect = "INVALID_ARGUMENT"
            elif target < 0:
                op.expect = "INVALID_ARGUMENT"
            else:
                op.expect = "SUCCEEDED"
            if w.hpa and op.expect == "SUCCEEDED":
                if target == 0:
                    target = 1
                    req.ClearField("delta")
                    req.replicas = 1
                if rng.random() < 0.4:
                    req.hpa_hold.seconds = 8
                    op.short_hold = True
            op.target = target
            return req, "Scale"
        if w.kind == "CronJob":
            req = S.CronJobRequest(cronjob=w.ref)
            if k == "run":
                op.expect = "SUCCEEDED"
                return req, "RunCronJob"
            if k in ("suspend", "resume"):
                op.expect = "SUCCEEDED"
                return req, "SuspendCronJob" if k == "suspend" else "ResumeCronJob"
            if k == "kill-jobs" and not w.protected:
                # A Job that runs long enough to be killed, as kubectl create job --from would start it.
                cj = self.kube.get(wl_path(w.ns, "CronJob", w.name))
                tmpl = json.loads(json.dumps(cj["spec"]["jobTemplate"]))
                tmpl["spec"]["template"]["spec"]["containers"][0]["image"] = f"{w.name}-job:1-slow60s"
                self.kube.create(f"/apis/batch/v1/namespaces/{w.ns}/jobs", {
                    "metadata": {"name": f"{w.name}-long-{op.idx}", "labels": tmpl.get("metadata", {}).get("labels", {}),
                                 "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": w.name,
                                                      "uid": cj["metadata"]["uid"], "controller": True}]},
                    "spec": tmpl["spec"]})
            if k == "kill-jobs":
                op.expect = "SUCCEEDED"
                return req, "KillCronJobJobs"
        if k.startswith("purge"):
            req = S.PurgeRequest()
            if k == "purge-selector":
                req.namespace = w.ns
                req.label_selector = f"{WL_LABEL}={w.name}"
            else:
                req.workload = w.ref
            if k == "purge-burn":
                req.mode = S.PURGE_MODE_BURN
            if k == "purge-batch":
                req.batch_size = rng.choice([1, 2])
            if k == "purge-older":
                op.older_than = rng.choice([1, 3, 10, 30, 60])
                req.older_than.seconds = op.older_than
            op.expect = "SUCCEEDED"
            return req, "Purge"
        if k.startswith("kill"):
            req = S.KillRequest(namespace=w.ns)
            alive = sorted(p.name for p in self.observer.workload_pods(w.ns, w.name))
            if k == "kill" and alive:
                chosen = rng.sample(alive, min(len(alive), rng.choice([1, 1, 2])))
                req.pods.extend(chosen)
                op.chosen_names = chosen
            else:
                req.label_selector = f"{WL_LABEL}={w.name}"
                if rng.random() < 0.15 and len(alive) > 1:
                    req.max_pods = len(alive) - 1
                    op.expect = "FAILED_PRECONDITION"
            if k == "kill-force":
                req.force = True
            if rng.random() < 0.5:
                req.grace_period_seconds = rng.choice([0, 1])
            if not op.expect:
                op.expect = "SUCCEEDED" if (req.force or not w.pdb) else "SUCCEEDED|DISRUPTION_BUDGET"
            return req, "Kill"
        raise AssertionError(k)

    # -------------------------------------------------------------- checks
    def snapshot(self, op):
        w = op.wl
        snap = {"ready": self.observer.ready_count(w.ns, w.name),
                "pods": {p.uid: p for p in self.observer.workload_pods(w.ns, w.name)}}
        if w.kind != "CronJob":
            snap["images"], obj = self.cluster_images(w)
            snap["replicas"] = obj["spec"].get("replicas", 1)
        if op.kind == "kill-jobs":
            jobs = self.kube.get(f"/apis/batch/v1/namespaces/{w.ns}/jobs")["items"]
            snap["jobs"] = {j["metadata"]["uid"] for j in jobs
                            if j["metadata"]["name"].startswith(w.name + "-") and not j.get("status", {}).get(
                                "succeeded") and not j.get("status", {}).get("failed")}
        if op.kind == "purge-older":
            cutoff = time.time() - op.older_than
            old, young = set(), set()
            for p in snap["pods"].values():
                created = _epoch(p.created)
                if created < cutoff - 2:
                    old.add(p.uid)
                elif created > cutoff + 2:
                    young.add(p.uid)
            snap["old"], snap["young"] = old, young
        return snap

    def judge_refusal(self, op, refused):
        code, detail = refused
        w = op.wl
        if w.protected:
            if code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION):
                self.violate(op, f"a call on the protected namespace got {code.name}: {detail}")
            op.state = "refused"
            return
        if op.expect == code.name:
            op.state = "refused"
            return
        if code == grpc.StatusCode.FAILED_PRECONDITION and op.kind == "undo":
            op.state = "refused"
            return
        self.violate(op, f"refused with {code.name}: {detail} (expected {op.expect})")
        op.state = "refused"

    def judge(self, op, final, pre):
        w = op.wl
        st = STATE[final.state]
        if w.protected:
            self.violate(op, f"an operation ran in the protected namespace: {st}")
            return
        err = final.error.message
        reason = S.FailureReason.Name(final.failure.reason).replace("FAILURE_REASON_", "") \
            if final.HasField("failure") else ""
        cancelled = op.params.get("cancel")
        k = op.kind
        expected = set(op.expect.split("|"))
        if cancelled:
            expected |= {"CANCELLED"}
        if st not in expected and not (st == "FAILED" and reason in expected):
            if st == "FAILED" and reason == "API_ERROR":
                # Allowed (the API failed it for good), but reported.
                self.note(op, f"FAILED on API errors: {err}")
            else:
                self.violate(op, f"ended {st} ({reason}: {err}), expected {op.expect}"
                                 f"{' or CANCELLED' if cancelled else ''}; events: "
                                 f"{[e.message for e in final.events[-6:]]}")
        # Availability while FAST rollouts and ROLLING purges ran.
        fast = w.kind == "Deployment" and k in ("rollout", "rollout-bad", "restart", "undo")
        if op.params.get("no_rollback") and st == "FAILED":
            # Failed without rollback, as asked, the rollout gives the
            # workload its own strategy back: its controller goes on with
            # the broken version and may take old pods down, as it would
            # for kubectl. Not the FAST rollout's doing.
            fast = False
        rolling_purge = k in ("purge", "purge-batch", "purge-older", "purge-selector")
        if (fast or rolling_purge) and w.kind != "CronJob":
            floor = min(pre["ready"], pre["replicas"])
            if w.kind == "StatefulSet":
                floor -= 1
            low = self.observer.min_ready(w.ns, w.name, op.t_sent, op.t_end)
            if low is not None and low < floor:
                self.violate(op, f"availability: {w} went down to {low} Ready pods (it had {pre['ready']}, "
                                 f"{pre['replicas']} desired) during a {'FAST rollout' if fast else 'ROLLING purge'}")
        judge = {"rollout": self.judge_rollout, "rollout-bad": self.judge_rollout,
                 "rollout-rolling": self.judge_rollout, "restart": self.judge_rollout, "undo": self.judge_rollout,
                 "scale": self.judge_scale, "scale-delta": self.judge_scale,
                 "kill": self.judge_kill, "kill-selector": self.judge_kill, "kill-force": self.judge_kill,
                 "run": self.judge_run, "suspend": self.judge_suspend, "resume": self.judge_suspend,
                 "kill-jobs": self.judge_kill_jobs}.get(k, self.judge_purge)
        judge(op, final, pre, st)

    def pods_now(self, w):
        return self.observer.workload_pods(w.ns, w.name, alive_only=False)

    def check_rolled(self, op, images, what):
        """The workload runs `images` everywhere: template, every pod, all Ready."""
        w = op.wl
        cur, obj = self.cluster_images(w)
        if cur != images:
            raise Violation(f"{what}: the template has {cur}, expected {images}")
        replicas = obj["spec"].get("replicas", 1)
        pods = self.pods_now(w)
        other = [p.name for p in pods if p.deleted_at is None and p.images != list(images.values())]
        if other:
            raise Violation(f"{what}: pods of another version are still there: {other}")
        alive = [p for p in pods if p.alive]
        ready = [p for p in alive if p.ready]
        if len(ready) < replicas:
            raise Violation(f"{what}: {len(ready)}/{replicas} pods Ready")
        w.images = dict(images)
        w.replicas = replicas

    def judge_rollout(self, op, final, pre, st):
        w = op.wl
        if st == "SUCCEEDED":
            self.check_rolled(op, op.asked, "SUCCEEDED")
            if op.kind == "restart":
                left = [p.name for u, p in pre["pods"].items() if self.observer.pods[u].deleted_at is None]
                if left:
                    raise Violation(f"SUCCEEDED but pods from before the restart are still there: {left}")
        elif st in ("ROLLED_BACK", "CANCELLED"):
            # A cancelled rollout rolls back (the soak never cancels one
            # started without rollback).
            self.check_rolled(op, pre["images"], st)
        else:
            # FAILED (without rollback, or on API errors): the model takes
            # what is there.
            w.images, _ = self.cluster_images(w)

    def judge_scale(self, op, final, pre, st):
        w = op.wl
        obj = self.kube.get(wl_path(w.ns, w.kind, w.name))
        spec = obj["spec"].get("replicas", 1)
        if st == "SUCCEEDED":
            if spec != op.target:
                raise Violation(f"SUCCEEDED but spec.replicas is {spec}, asked {op.target}")
            alive = [p for p in self.pods_now(w) if p.alive]
            ready = [p for p in alive if p.ready]
            if op.target >= pre["replicas"] and len(ready) < op.target:
                raise Violation(f"SUCCEEDED but {len(ready)}/{op.target} pods Ready")
            if op.target < pre["replicas"]:
                present = [p for p in self.pods_now(w) if p.deleted_at is None]
                if len(present) > op.target:
                    raise Violation(f"SUCCEEDED but {len(present)} pods are left, asked {op.target}")
            w.replicas = op.target
            if w.hpa:
                h = self.kube.get(f"/apis/autoscaling/v2/namespaces/{w.ns}/horizontalpodautoscalers/{w.name}")
                bounds = (h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"])
                if op.target > 0 and bounds != (op.target, op.target):
                    raise Violation(f"SUCCEEDED but the HPA's bounds are {bounds}, not held at {op.target}")
                if getattr(op, "short_hold", False):
                    w.hold_until = op.t_accepted + 8
        elif st == "CANCELLED" or st == "FAILED":
            if spec not in (pre["replicas"], op.target):
                raise Violation(f"{st} but spec.replicas is {spec} (from {pre['replicas']}, asked {op.target})")
            w.replicas = spec
            if w.hpa and spec == op.target and op.target > 0:
                if getattr(op, "short_hold", False):
                    w.hold_until = op.t_accepted + 8

    def judge_purge(self, op, final, pre, st):
        w = op.wl
        old = set(pre["old"]) if "old" in pre else set(pre["pods"])
        deleted = {p.uid for p in self.observer.terminated_between(w.ns, w.name, op.t_sent, op.t_end + 0.5)}
        not_old = deleted - set(pre["pods"])
        if st == "SUCCEEDED":
            if not_old and any("back to" in e.message and "before going on" in e.message for e in final.events):
                # Adopted between a batch's scale-up and its scale-down,
                # herd scales back to the count it started from (as
                # CRASH_CONSISTENCY.md says) and the ReplicaSet controller
                # picks which pods go: replacements of that batch may.
                self.note(op, f"the scale back after an adoption removed {len(not_old)} replacement(s)")
                not_old = set()
            if not_old:
                names = [self.observer.pods[u].name for u in not_old]
                raise Violation(f"run twice: the purge deleted pods that replaced others: {names}")
            if "young" in pre and deleted & pre["young"]:
                names = [self.observer.pods[u].name for u in deleted & pre["young"]]
                raise Violation(f"older_than {op.older_than}s: the purge deleted younger pods: {names}")
            left = [self.observer.pods[u].name for u in old if self.observer.pods[u].alive]
            if left:
                raise Violation(f"SUCCEEDED but old pods still run: {left}")
            cur, obj = self.cluster_images(w)
            if cur != pre["images"] or obj["spec"].get("replicas", 1) != pre["replicas"]:
                raise Violation(f"SUCCEEDED but the workload changed: {cur}, {obj['spec'].get('replicas')} replicas")
            if not self.settle(w, op, timeout=30):
                raise Violation("SUCCEEDED but the workload does not come back to rest")

    def judge_kill(self, op, final, pre, st):
        w = op.wl
        req_pods = set(op.chosen_names) if getattr(op, "chosen_names", None) else None
        deleted = self.observer.terminated_between(w.ns, w.name, op.t_sent, op.t_end + 0.5)
        chosen = {u for u, p in pre["pods"].items() if req_pods is None or p.name in req_pods}
        extra = [p.name for p in deleted if p.uid not in chosen]
        if extra:
            raise Violation(f"run twice: the kill deleted pods it had not chosen: {extra}")
        killed = final.progress.killed
        if st == "SUCCEEDED":
            if {p.uid for p in deleted} != chosen:
                missing = [pre["pods"][u].name for u in chosen - {p.uid for p in deleted}]
                raise Violation(f"SUCCEEDED but pods it chose were not killed: {missing}")
            if killed != len(chosen):
                raise Violation(f"SUCCEEDED with progress.killed {killed}, chose {len(chosen)}")
        elif st == "FAILED" and final.failure.reason == S.FAILURE_REASON_DISRUPTION_BUDGET:
            if final.failure.budget != f"{w.name}-pdb":
                raise Violation(f"refused by budget {final.failure.budget!r}, not {w.name}-pdb")
            if len(deleted) > killed:
                raise Violation(f"{len(deleted)} pods deleted, the operation says {killed}")

    def judge_run(self, op, final, pre, st):
        w = op.wl
        opid = op.name.split("/", 1)[1]
        jobs = [j for j in self.kube.get(f"/apis/batch/v1/namespaces/{w.ns}/jobs")["items"]
                if (j["metadata"].get("annotations") or {}).get("herd.dev/operation") == opid]
        if st == "SUCCEEDED":
            if len(jobs) != 1:
                raise Violation(f"run twice: {len(jobs)} Jobs carry the operation: {[j['metadata']['name'] for j in jobs]}")
            if not jobs[0].get("status", {}).get("succeeded"):
                raise Violation(f"SUCCEEDED but Job {jobs[0]['metadata']['name']} has not completed")
        elif st == "CANCELLED":
            alive = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
            if alive and not alive[0].get("status", {}).get("succeeded"):
                self.note(op, f"a cancelled run left Job {alive[0]['metadata']['name']}")

    def judge_suspend(self, op, final, pre, st):
        w = op.wl
        want = op.kind == "suspend"
        if st == "SUCCEEDED":
            got = self.kube.get(wl_path(w.ns, "CronJob", w.name))["spec"].get("suspend", False)
            if got != want:
                raise Violation(f"SUCCEEDED but spec.suspend is {got}")
            w.suspend = want

    def judge_kill_jobs(self, op, final, pre, st):
        w = op.wl
        if st != "SUCCEEDED":
            return
        jobs = self.kube.get(f"/apis/batch/v1/namespaces/{w.ns}/jobs")["items"]
        left = [j["metadata"]["name"] for j in jobs
                if j["metadata"]["uid"] in pre["jobs"] and not j["metadata"].get("deletionTimestamp")]
        if left:
            raise Violation(f"SUCCEEDED but the Jobs it chose still run: {left}")


class _Down(Exception):
    pass


def _epoch(ts):
    return calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


# ---------------------------------------------------------------- main flow
class Run(Soak):
    def run(self):
        args = self.args
        self.t0 = now()
        self.extra_ops = []
        faults = {"errorRate": {"*": args.error_rate}, "throttleRate": {"*": args.throttle_rate},
                  "errorCode": 500, "retryAfterSeconds": 1, "latencyMillis": args.latency_ms,
                  "dropWatchesAfterMillis": args.drop_watches_after * 1000, "userAgent": "herd/"}
        self.cluster = SimCluster(pod_start_delay="300ms", kubelet_poll="50ms", extra_args=[
            "--crash-loop-backoff=500ms", "--job-pod-run-time=1s", "--controller-qps=50",
            "--watch-history=200000", f"--seed={args.seed}"]).__enter__()
        self.pool = None
        try:
            return self._run(faults)
        finally:
            if self.pool:
                self.pool.shutdown()
            if self.violations and args.keep:
                print(f"kept: {self.cluster.dir}", flush=True)
            else:
                for name in (self.pool.logs if self.pool else []):
                    try:
                        os.unlink(name)
                    except OSError:
                        pass
            if not (self.violations and args.keep):
                self.cluster.__exit__(None, None, None)

    def put_faults(self, faults):
        self.kube.call("PUT", "/kubesim/faults", body=faults)

    def _run(self, faults):
        args = self.args
        self.kube = Kube(self.cluster.kubeconfig)
        self.observer = Observer(self.kube)
        self.observer.start()
        self.setup_cluster()
        protected_before = self.protected_state()
        self.put_faults(faults)
        self.log("cluster ready; faults on")
        self.pool = Pool(self.cluster, ["--lease-duration=%s" % args.lease, "--adopt-period=500ms"], self.cluster.dir)
        self.pool.start(0)
        self.pool.start(1)
        self.ops = self.plan()
        t_ops = now()
        chaos = threading.Thread(target=self.pool.chaos, args=(args.restart_every,), daemon=True)
        chaos.start()
        stop_flip = threading.Event()

        def flip():
            # One error code at a time: alternate between 500 and 503.
            codes = [503, 500]
            i = 0
            while not stop_flip.wait(5):
                faults["errorCode"] = codes[i % 2]
                i += 1
                try:
                    self.put_faults(faults)
                except Exception:  # noqa: BLE001
                    pass
        flipper = threading.Thread(target=flip, daemon=True)
        flipper.start()

        pending = list(self.ops)
        running = []
        while pending or running:
            running = [t for t in running if t.is_alive()]
            if not pending and not self.pool.stop.is_set():
                # Every operation is out: no more restarts, so the last
                # restart is the clock every operation is judged by.
                self.pool.stop.set()
                chaos.join()
            started = False
            if len(running) < args.concurrency:
                for op in pending:
                    if not op.wl.busy:
                        op.wl.busy = True
                        pending.remove(op)
                        t = threading.Thread(target=self._run_op, args=(op,), daemon=True)
                        t.start()
                        running.append(t)
                        started = True
                        break
            if not started:
                time.sleep(0.05)
        t_done = now()
        self.pool.stop.set()
        chaos.join()
        stop_flip.set()
        flipper.join()
        # Every herdd up for the last look.
        for i in (0, 1):
            if self.pool.procs[i] is None:
                self.pool.start(i)
        self.final_checks(protected_before)
        self.report(t_ops, t_done)
        return 0 if not self.violations else 1

    def _run_op(self, op):
        try:
            self.run_op(op)
        finally:
            op.wl.busy = False

    # -------------------------------------------------------------- the end
    def protected_state(self):
        k = self.kube
        state = {}
        for path, kind in ((f"/apis/apps/v1/namespaces/{PROTECTED}/deployments", "Deployment"),
                           (f"/apis/apps/v1/namespaces/{PROTECTED}/statefulsets", "StatefulSet"),
                           (f"/apis/apps/v1/namespaces/{PROTECTED}/replicasets", "ReplicaSet"),
                           (f"/apis/batch/v1/namespaces/{PROTECTED}/cronjobs", "CronJob"),
                           (f"/apis/batch/v1/namespaces/{PROTECTED}/jobs", "Job"),
                           (f"/api/v1/namespaces/{PROTECTED}/pods", "Pod")):
            for o in k.get(path)["items"]:
                md = o["metadata"]
                state[(kind, md["name"])] = (md["uid"], md.get("generation"), json.dumps(md.get("annotations"), sort_keys=True),
                                             json.dumps(md.get("labels"), sort_keys=True),
                                             json.dumps(o.get("spec"), sort_keys=True))
        herd_events = [e["metadata"]["name"] for e in k.get(f"/api/v1/namespaces/{PROTECTED}/events")["items"]
                       if "herd" in json.dumps([e.get("source"), e.get("reportingComponent"),
                                                e.get("reportingController")])]
        state[("Events", "by herd")] = tuple(sorted(herd_events))
        return state

    def final_checks(self, protected_before):
        # None lost: every accepted operation is found, final, on both
        # herdds, in the state the soak saw it end in.
        accepted = [(op.name, op.final.state if op.final else None, op) for op in self.ops if op.name]
        accepted += [(n, st, None) for n, st, _ in self.extra_ops]
        listed = {}
        for i in (0, 1):
            stub = self.pool.stub(i)
            token = ""
            while True:
                try:
                    resp = stub.ListOperations(S.ListOperationsRequest(page_size=500, page_token=token), timeout=30)
                except grpc.RpcError as e:
                    self.violate(None, f"ListOperations on herdd {i} failed: {e.code().name} {e.details()}")
                    break
                for o in resp.operations:
                    listed.setdefault(i, {})[o.name] = o
                token = resp.next_page_token
                if not token:
                    break
        deadline = now() + 60 * self.slow
        for name, state, op in accepted:
            for i in (0, 1):
                got = listed.get(i, {}).get(name)
                while got is not None and got.state not in FINAL and now() < deadline:
                    time.sleep(0.5)
                    got = self.pool_get(name)
                if got is None:
                    self.violate(op, f"lost: {name} is not listed by herdd {'ab'[i]}")
                    continue
                if got.state not in FINAL:
                    self.violate(op, f"stuck: {name} still {STATE.get(got.state)} at the end on herdd {'ab'[i]}")
                elif state is not None and got.state != state:
                    self.violate(op, f"{name} ended {STATE[state]} for the soak but herdd {'ab'[i]} says "
                                     f"{STATE[got.state]}")
        # Nothing else ran: herd's records are the accepted operations.
        names = {n for n, _, _ in accepted}
        for i, ops in listed.items():
            for name, o in ops.items():
                if name not in names and not o.dry_run:
                    self.violate(None, f"herdd {'ab'[i]} lists {name} ({o.target}, {o.request_id!r}), which the "
                                       f"soak never started")
        # Protected namespaces untouched.
        after = self.protected_state()
        for key in sorted(set(protected_before) | set(after), key=str):
            if protected_before.get(key) != after.get(key):
                self.violate(None, f"protected namespace {PROTECTED}: {key} changed: "
                                   f"{protected_before.get(key)} -> {after.get(key)}")
        # The workloads hold what the model says.
        for w in self.workloads:
            if not w.known:
                continue
            if w.kind == "CronJob":
                got = self.kube.get(wl_path(w.ns, w.kind, w.name))["spec"].get("suspend", False)
                if got != w.suspend:
                    self.violate(None, f"{w}: suspend is {got}, the model says {w.suspend}")
                continue
            images, obj = self.cluster_images(w)
            replicas = obj["spec"].get("replicas", 1)
            if images != w.images or (replicas != w.replicas and not (w.hpa and w.hold_until)):
                self.violate(None, f"{w}: runs {images} x{replicas}, the model says {w.images} x{w.replicas}")
        if self.observer.error:
            self.violate(None, "the pod observer failed: " + self.observer.error)
        if self.observer.relists:
            self.violate(None, f"the pod observer had to relist {self.observer.relists} times: its history has gaps")

    def report(self, t_ops, t_done):
        args = self.args
        outcomes = collections.defaultdict(collections.Counter)
        for op in self.ops:
            outcomes[op.kind][op.state or "not run"] += 1
        faults = self.kube.get("/kubesim/faults")
        injected = faults.get("injected", {})
        requests = faults.get("requests", {})
        adoptions = collections.Counter()
        for e in self.pool.log_lines():
            if e.get("msg") == "adopting an operation":
                adoptions["adopted"] += 1
        for op in self.ops:
            if op.final:
                for ev in op.final.events:
                    if ev.message.startswith("adopted by "):
                        a, b = ev.message[len("adopted by "):].split(" from ")
                        adoptions["by itself restarted" if a == b else "by another replica"] += 1
        lines = []
        lines.append(f"soak seed={args.seed} ops={args.ops} workloads={args.workloads} "
                     f"restart-every={args.restart_every}s lease={args.lease} concurrency={args.concurrency}"
                     + (f" slowdown={self.slow:g}" if self.slow != 1 else ""))
        lines.append(f"wall time: {now() - self.t0:.0f}s ({t_done - t_ops:.0f}s of operations)")
        lines.append("operations by kind and outcome:")
        states = ["SUCCEEDED", "ROLLED_BACK", "FAILED", "CANCELLED", "refused", "STUCK", "not run"]
        lines.append("  " + "kind".ljust(16) + "".join(s.rjust(12) for s in states))
        total = collections.Counter()
        for kind in sorted(outcomes):
            lines.append("  " + kind.ljust(16) + "".join(str(outcomes[kind][s] or "").rjust(12) for s in states))
            total.update(outcomes[kind])
        lines.append("  " + "all".ljust(16) + "".join(str(total[s] or "").rjust(12) for s in states))
        refused = collections.Counter(op.refused for op in self.ops if op.refused)
        lines.append(f"refusals: {dict(refused)}")
        lines.append(f"repeated request ids: {self.repeats}, cancels: {self.cancels}, repairs: {self.repairs}, "
                     f"probes of busy workloads: {dict(self.probes)}")
        lines.append(f"calls sent again: {dict(self.retries)}")
        lines.append(f"faults injected: {injected.get('errors', {})} by verb {injected.get('byVerb', {})}; "
                     f"delayed {injected.get('delayed', 0)}, watches dropped {injected.get('droppedWatches', 0)}; "
                     f"of {sum(requests.values())} API requests")
        lines.append(f"herdd restarts: a {self.pool.restarts[0]}, b {self.pool.restarts[1]}; "
                     f"adoptions: {adoptions['adopted']} ({adoptions['by itself restarted']} by a restarted herdd of "
                     f"the same name, {adoptions['by another replica']} by the other)")
        lines.append(f"pod events observed: {self.observer.events}")
        lines.append(f"notes: {len(self.notes)}" + "".join("\n  " + n for n in self.notes[:40]))
        lines.append(f"violations: {len(self.violations)}" + "".join("\n  " + v for v in self.violations))
        print("\n".join(lines), flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ops", type=int, default=80, help="operations to run")
    p.add_argument("--workloads", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=6, help="operations in flight at once")
    p.add_argument("--restart-every", type=float, default=25, help="seconds between herdd SIGKILLs (alternating)")
    p.add_argument("--lease", default="2s", help="herdd --lease-duration")
    p.add_argument("--error-rate", type=float, default=0.10, help="5xx on this fraction of herd's requests")
    p.add_argument("--throttle-rate", type=float, default=0.05, help="429 on this fraction of herd's requests")
    p.add_argument("--latency-ms", type=int, default=20)
    p.add_argument("--drop-watches-after", type=int, default=20, help="seconds")
    p.add_argument("--keep", action="store_true", help="keep kubesim's directory and herdd logs on failure")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return Run(args).run()


if __name__ == "__main__":
    sys.exit(main())

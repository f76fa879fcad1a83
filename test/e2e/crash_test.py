"""Crash consistency: herdd SIGKILLed right before and right after every write
an engine makes to the cluster (herdd --crash-at), another herdd adopting the
operation, and the end state checked with kubectl against what was asked —
the invariants of server/ops/CRASH_CONSISTENCY.md.

Each test: a fresh kubesim, a workload, herdd "a" that kills itself at one
write point, herdd "b" that adopts the operation once a's lease expires
(--lease-duration=1s), the same request sent to b with the same request id
(it must answer with the same operation, not start another), and then:
  - the operation ends in the state the cluster supports (never SUCCEEDED
    for work not done), adopted by b;
  - the cluster holds what the request asked, read with kubectl;
  - b's audit line for the operation tells the same result.
"""
import json
import subprocess
import threading
import time
import unittest

import grpc

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import SimCluster, WaitsForConditions, deployment, kubectl_path

NS = "shop"
LEASE = ["--lease-duration=1s", "--adopt-period=100ms"]
S = herd_pb2  # short


def options(request_id):
    return S.MutationOptions(request_id=request_id, reason="crash test")


class CrashTestCase(WaitsForConditions, unittest.TestCase):
    pod_start_delay = "150ms"

    def fresh(self):
        """A new kubesim (each case of a test gets its own), with namespace NS."""
        self.doCleanups()
        self.cluster = SimCluster(pod_start_delay=self.pod_start_delay, kubelet_poll="20ms",
                                  extra_args=["--controller-qps=0", "--crash-loop-backoff=300ms"]).__enter__()
        self.addCleanup(self.cluster.__exit__, None, None, None)
        self.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})

    def kubectl(self, *args, **kw):
        return self.cluster.kubectl("-n", NS, *args, **kw)

    # ------------------------------------------------------------ helpers
    def deploy(self, name, image, replicas=3, **kw):
        m = deployment(name, image, replicas=replicas, **kw)
        m["metadata"]["namespace"] = NS
        self.cluster.apply(m)
        self.kubectl("rollout", "status", f"deploy/{name}", "--timeout=60s")
        return m

    def statefulset(self, name, image, replicas=3):
        labels = {"app": name}
        self.cluster.apply({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}})
        self.kubectl("rollout", "status", f"sts/{name}", "--timeout=60s")

    def get(self, kind, name):
        return json.loads(self.kubectl("get", kind, name, "-o", "json"))

    def pods(self, app):
        out = json.loads(self.kubectl("get", "pods", "-l", f"app={app}", "-o", "json"))
        return out["items"]

    def live_pods(self, app):
        return [p for p in self.pods(app) if not p["metadata"].get("deletionTimestamp")]

    def uids(self, app):
        return {p["metadata"]["uid"] for p in self.live_pods(app)}

    def all_uids(self, app):
        """Also of the pods still terminating."""
        return {p["metadata"]["uid"] for p in self.pods(app)}

    def images(self, app):
        return sorted(p["spec"]["containers"][0]["image"] for p in self.live_pods(app))


    def crash_and_adopt(self, point, call, final_state, nth=1, between=None):
        """Runs `call(stub)` on herdd a, which SIGKILLs itself at `point`
        (POINT:before|after) the `nth` time; runs `between()`, then lets
        herdd b adopt the operation and returns its final state (checked
        against `final_state`)."""
        a = Herdd(self.cluster, f"--crash-at={point}@{nth}", *LEASE, identity="herdd-a").start()
        try:
            call(a.stub())
        except grpc.RpcError as e:  # a died before it answered
            self.assertNotIn(e.code(), (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                        grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED), e)
        try:
            code = a.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            a.kill()
            self.fail(f"herdd a did not reach {point} within 30 s:\n{a.read_log()}")
        log = a.read_log()
        a.channel.close()
        self.assertEqual(code, -9, f"herdd a did not crash at {point}: exit {code}\n{log}")
        self.assertIn("crash point reached", log)
        if between:
            between()
        b = Herdd(self.cluster, *LEASE, identity="herdd-b").start()
        self.addCleanup(b.__exit__, None, None, None)
        op = call(b.stub())  # the same request id: the operation a started
        updates = wait_for_end(b.stub(), op.name, timeout=90)
        final = updates[-1]
        self.assertEqual(final.state, final_state, final)
        self.assertTrue(any("adopted by herdd-b from herdd-a" in e.message for e in final.events), final.events)
        # One operation for the one request.
        ops = b.stub().ListOperations(S.ListOperationsRequest(namespace=NS), timeout=10).operations
        self.assertEqual([o.name for o in ops], [op.name])
        self.assert_audit_tells(b, final)
        return final

    def pod_watch(self, on_event):
        """Watches the pods in NS from now on through kubectl, calling
        on_event(kind, uid, app, deleting, ready) (`app`: its app label) on
        a thread of its own for every event but those of its barriers.
        Returns sync(): it returns once every event up to the moment of the
        call has been passed on: a barrier pod is created, seen (it stays
        until the watch, open or not yet, lists or sends it), deleted, and
        its deletion seen."""
        args = [kubectl_path(), "-n", NS, "get", "pods", "--watch", "--output-watch-events", "-o",
                "jsonpath={.type}|{.object.metadata.uid}|{.object.metadata.labels.app}|"
                "{.object.metadata.deletionTimestamp}|"
                "{.object.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}"]
        proc = subprocess.Popen(args, env=self.cluster.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        barriers, seen, passed = set(), set(), set()
        cond = threading.Condition()

        def read():
            for line in proc.stdout:
                kind, uid, app, deleting, status = (line.strip().split("|") + ["", "", "", ""])[:5]
                with cond:
                    if uid in barriers:
                        (passed if kind == "DELETED" else seen).add(uid)
                        cond.notify_all()
                        continue
                on_event(kind, uid, app, deleting, status == "True")
        threading.Thread(target=read, daemon=True).start()

        def sync():
            # A pod no node takes (it never gets Ready), deleted at once.
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"barrier-{time.monotonic_ns()}", "namespace": NS,
                                "labels": {"herd-test": "barrier"}},
                   "spec": {"nodeSelector": {"herd-test": "nowhere"},
                            "containers": [{"name": "c", "image": "barrier:1"}]}}
            with cond:
                uid = self.cluster.create(pod)["metadata"]["uid"]
                barriers.add(uid)
            with cond:
                if not cond.wait_for(lambda: uid in seen, timeout=30):
                    self.fail("the pod watch did not see its barrier pod within 30 s")
            self.cluster.api(self.cluster.path("Pod", NS, pod["metadata"]["name"]), "DELETE",
                             {"gracePeriodSeconds": 0})
            with cond:
                if not cond.wait_for(lambda: uid in passed, timeout=30):
                    self.fail("the pod watch did not see its barrier pod go within 30 s")
        sync()
        return sync

    def watch_deletions(self):
        """Watches the pods in NS from now on; returns a function that gives
        the uids of the pods deleted so far (those gone from the API)."""
        deleted = set()
        lock = threading.Lock()

        def on_event(kind, uid, app, deleting, ready):
            if kind == "DELETED":
                with lock:
                    deleted.add(uid)
        sync = self.pod_watch(on_event)

        def snapshot():
            sync()
            with lock:
                return set(deleted)
        return snapshot

    def assert_audit_tells(self, herdd, final):
        want = {S.OPERATION_STATE_SUCCEEDED: "succeeded", S.OPERATION_STATE_FAILED: "failed",
                S.OPERATION_STATE_CANCELLED: "cancelled", S.OPERATION_STATE_ROLLED_BACK: "rolled back"}[final.state]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in herdd.read_log().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("audit") and entry.get("op") == final.name and entry.get("result", "").startswith(want):
                    return
            time.sleep(0.05)
        self.fail(f"no audit line with result {want!r} for {final.name}:\n{herdd.read_log()}")

    def cancel_and_adopt(self, point, call, app, replicas):
        """crash_and_adopt for an operation on `app` (`replicas` Ready pods)
        whose cancel reaches its record while no herdd runs it, as
        CancelOperation writes it for an operation another replica runs: the
        adopter carries it out. Returns watch_ready's fewest()."""
        fewest = self.watch_ready(app, replicas)
        self.wait_for(f"the watch to list {replicas} Ready pods", lambda: fewest() == replicas)
        started = []

        def recording(stub):
            op = call(stub)
            started.append(op.name)
            return op

        def cancel():
            record = "herd-op-" + started[0].split("/", 1)[1]
            self.cluster.kubectl("-n", "herd-system", "annotate", "configmap", record,
                                 "herd.dev/cancel-requested=changed my mind")
        self.crash_and_adopt(point, recording, S.OPERATION_STATE_CANCELLED, between=cancel)
        return fewest

    def watch_ready(self, app, replicas):
        """Watches the pods of `app` from now on; returns a function that
        gives the fewest Ready pods seen at any moment since `replicas` of
        them were first seen Ready (None until then)."""
        ready, low = set(), []
        lock = threading.Lock()

        def on_event(kind, uid, pod_app, deleting, is_ready):
            if pod_app != app:
                return
            with lock:
                if kind != "DELETED" and not deleting and is_ready:
                    ready.add(uid)
                else:
                    ready.discard(uid)
                if low or len(ready) >= replicas:
                    low.append(len(ready))
        sync = self.pod_watch(on_event)

        def fewest():
            sync()
            with lock:
                return min(low) if low else None
        return fewest

    def assert_strategy_restored(self, name):
        d = self.get("deploy", name)
        self.assertEqual(d["spec"]["strategy"]["rollingUpdate"], {"maxSurge": "25%", "maxUnavailable": "25%"})
        annotations = d["metadata"].get("annotations", {})
        for key in ("herd.dev/operation", "herd.dev/original-strategy", "herd.dev/previous-revision"):
            self.assertNotIn(key, annotations)

    def assert_rolled_out(self, name, image, replicas):
        self.kubectl("rollout", "status", f"deploy/{name}", "--timeout=30s")
        self.assertEqual(self.images(name), [image] * replicas)
        self.assert_strategy_restored(name)


class RolloutCrashTest(CrashTestCase):
    def rollout(self, image="web:2"):
        def call(stub):
            return stub.Rollout(S.RolloutRequest(workload=f"namespaces/{NS}/deployments/web", images={"web": image},
                                                 options=options("rollout-1")), timeout=30)
        return call

    def test_template_write(self):
        # The template, herd's marks and the FAST strategy go out in one
        # request: adopted before it, the rollout is done from the start;
        # after it, the rollout is awaited, not taken as done.
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1")
                final = self.crash_and_adopt(f"rollout.template:{moment}", self.rollout(), S.OPERATION_STATE_SUCCEEDED)
                self.assert_rolled_out("web", "web:2", 3)
                self.assertEqual(final.revision, 2)

    def test_strategy_restore(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1")
                self.crash_and_adopt(f"rollout.restore-strategy:{moment}", self.rollout(), S.OPERATION_STATE_SUCCEEDED)
                self.assert_rolled_out("web", "web:2", 3)

    def test_rollback_write(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1")
                final = self.crash_and_adopt(f"rollout.rollback-template:{moment}", self.rollout("web:2-crashloop"),
                                             S.OPERATION_STATE_ROLLED_BACK)
                self.assertEqual(final.failure.reason, S.FAILURE_REASON_CRASH_LOOP_BACK_OFF, final)
                self.assert_rolled_out("web", "web:1", 3)

    def test_cancel_adopted_after_strategy_restore_keeps_availability(self):
        # herdd a rolled out, put the workload's own strategy back and died
        # before recording the end; a cancel reached the record meanwhile.
        # The adopter rolls back, and must do so with maxUnavailable 0 again,
        # not with the workload's strategy (25 % of 4 pods: one down at a time).
        self.fresh()
        self.deploy("web", "web:1", replicas=4)
        fewest = self.cancel_and_adopt("rollout.restore-strategy:after", self.rollout(), "web", 4)
        self.assert_rolled_out("web", "web:1", 4)
        self.assertEqual(fewest(), 4)

    def test_undo_goes_back_once(self):
        # "The previous revision" changes with the write: adopted after it,
        # the undo must not go back a second time.
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1")
                for image in ("web:2", "web:3"):
                    self.kubectl("set", "image", "deploy/web", f"web={image}")
                    self.kubectl("rollout", "status", "deploy/web", "--timeout=30s")

                def undo(stub):
                    return stub.Undo(S.UndoRequest(workload=f"namespaces/{NS}/deployments/web", options=options("undo-1")),
                                     timeout=30)
                self.crash_and_adopt(f"rollout.template:{moment}", undo, S.OPERATION_STATE_SUCCEEDED)
                self.assert_rolled_out("web", "web:2", 3)

    def test_statefulset_rollback_deletes_only_broken_pods(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.statefulset("db", "db:1", replicas=2)

                def call(stub):
                    return stub.Rollout(S.RolloutRequest(workload=f"namespaces/{NS}/statefulsets/db",
                                                         images={"db": "db:2-crashloop"},
                                                         options=options("sts-1")), timeout=30)
                self.crash_and_adopt(f"rollout.delete-broken-pod:{moment}", call, S.OPERATION_STATE_ROLLED_BACK)
                self.kubectl("rollout", "status", "sts/db", "--timeout=30s")
                self.assertEqual(self.images("db"), ["db:1", "db:1"])


class ScaleCrashTest(CrashTestCase):
    def scale(self, request_id, delta):
        def call(stub):
            return stub.Scale(S.ScaleRequest(workload=f"namespaces/{NS}/deployments/api", delta=delta,
                                             options=options(request_id)), timeout=30)
        return call

    def test_relative_scale_happens_once(self):
        # +2 adopted after the write must not add two more.
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("api", "api:1", replicas=3)
                self.crash_and_adopt(f"scale.replicas:{moment}", self.scale("scale-1", 2), S.OPERATION_STATE_SUCCEEDED)
                self.assertEqual(self.get("deploy", "api")["spec"]["replicas"], 5)
                self.wait_for("5 pods", lambda: len(self.live_pods("api")) == 5)

    def test_autoscaler_hold(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("api", "api:1", replicas=2)
                self.cluster.apply({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                    "metadata": {"name": "api", "namespace": NS},
                                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                "name": "api"},
                                             "minReplicas": 2, "maxReplicas": 5}})
                self.crash_and_adopt(f"scale.hpa-hold:{moment}", self.scale("scale-2", 2), S.OPERATION_STATE_SUCCEEDED)
                self.assertEqual(self.get("deploy", "api")["spec"]["replicas"], 4)
                hpa = self.get("hpa", "api")
                self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (4, 4))
                self.assertEqual(json.loads(hpa["metadata"]["annotations"]["herd.dev/hpa-original"]),
                                 {"min": 2, "max": 5})


class PurgeCrashTest(CrashTestCase):
    def purge(self, request_id, **kw):
        def call(stub):
            return stub.Purge(S.PurgeRequest(options=options(request_id), **kw), timeout=30)
        return call

    def assert_replaced_once(self, app, old, replicas, deleted):
        self.wait_for(f"{replicas} new pods", lambda: len(self.live_pods(app)) == replicas and not (self.uids(app) & old))
        self.wait_for("the old pods gone", lambda: not (self.all_uids(app) & old))
        # Exactly the old pods went: no replacement was taken for an old pod.
        self.assertEqual(deleted(), old)

    def test_restart(self):
        for point in ("purge.restart-template", "purge.restore-strategy"):
            for moment in ("before", "after"):
                with self.subTest(point=point, moment=moment):
                    self.fresh()
                    self.deploy("web", "web:1")
                    old = self.uids("web")
                    deleted = self.watch_deletions()
                    self.crash_and_adopt(f"{point}:{moment}",
                                         self.purge("purge-1", workload=f"namespaces/{NS}/deployments/web"),
                                         S.OPERATION_STATE_SUCCEEDED)
                    self.assert_replaced_once("web", old, 3, deleted)
                    self.assert_strategy_restored("web")
                    # One restart: a second would have made a third ReplicaSet.
                    self.assertEqual(len(json.loads(self.kubectl("get", "rs", "-l", "app=web", "-o", "json"))["items"]), 2)

    def test_revert_after_cancel(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1-slow2s")
                old = self.uids("web")
                cancelled = []

                def call(stub):
                    op = self.purge("purge-2", workload=f"namespaces/{NS}/deployments/web")(stub)
                    if not cancelled:
                        # Cancelled once the restart is written (before, nothing is undone).
                        for update in stub.WatchOperation(S.WatchOperationRequest(name=op.name), timeout=30):
                            if any(e.message.startswith("restarting ") for e in update.events):
                                break
                        cancelled.append(op.name)
                        stub.CancelOperation(S.CancelOperationRequest(name=op.name, reason="changed my mind"), timeout=10)
                    return op
                self.crash_and_adopt(f"purge.revert-template:{moment}", call, S.OPERATION_STATE_CANCELLED)
                self.kubectl("rollout", "status", "deploy/web", "--timeout=30s")
                # The old pods kept serving; the replacements are gone.
                self.wait_for("the old pods only", lambda: self.uids("web") == old)
                self.assert_strategy_restored("web")

    def test_cancel_adopted_at_the_end_keeps_availability(self):
        # Cancelled once its replacements had replaced the old pods, a purge
        # put the template back and, at once, the workload's own strategy
        # (25 % of 4 pods: one down at a time), under which the controller
        # went back: 4 Ready pods went to 3, as the soak saw of a ROLLING
        # purge by selector. Here herdd a dies at the end of the restart,
        # before or after putting the strategy back, with a cancel recorded
        # meanwhile: the adopter goes back under maxUnavailable 0, and puts
        # the strategy back once the old template's pods serve again.
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.deploy("web", "web:1", replicas=4)
                fewest = self.cancel_and_adopt(f"purge.restore-strategy:{moment}",
                                               self.purge("purge-3", namespace=NS, label_selector="app=web"), "web", 4)
                self.kubectl("rollout", "status", "deploy/web", "--timeout=30s")
                self.assertEqual(len(self.live_pods("web")), 4)
                self.assertEqual(fewest(), 4)
                self.assert_strategy_restored("web")
                template = self.get("deploy", "web")["spec"]["template"]["metadata"]
                self.assertNotIn("herd.dev/purgedAt", template.get("annotations", {}))

    def test_batches(self):
        # batch_size 1 over 3 pods: scale up, mark, scale down per batch; a
        # crash anywhere leaves the count at 3 and replaces each pod once.
        for point, nth in (("purge.scale-up", 1), ("purge.mark-pod", 2), ("purge.scale-down", 2)):
            for moment in ("before", "after"):
                with self.subTest(point=point, moment=moment):
                    self.fresh()
                    self.deploy("web", "web:1")
                    old = self.uids("web")
                    self.crash_and_adopt(f"{point}:{moment}",
                                         self.purge("purge-3", workload=f"namespaces/{NS}/deployments/web",
                                                    batch_size=1),
                                         S.OPERATION_STATE_SUCCEEDED, nth=nth)
                    self.assertEqual(self.get("deploy", "web")["spec"]["replicas"], 3)
                    self.wait_for("3 new pods", lambda: len(self.live_pods("web")) == 3 and not (self.uids("web") & old))

    def test_statefulset_evictions(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.statefulset("db", "db:1", replicas=3)
                old = self.uids("db")
                deleted = self.watch_deletions()
                self.crash_and_adopt(f"purge.evict:{moment}",
                                     self.purge("purge-4", workload=f"namespaces/{NS}/statefulsets/db"),
                                     S.OPERATION_STATE_SUCCEEDED, nth=2)
                self.assert_replaced_once("db", old, 3, deleted)

    def test_burn_never_deletes_replacements(self):
        for moment, nth in (("before", 1), ("after", 1), ("after", 3)):
            with self.subTest(moment=moment, nth=nth):
                self.fresh()
                self.deploy("web", "web:1")
                old = self.uids("web")
                deleted = self.watch_deletions()
                self.crash_and_adopt(f"purge.burn-delete:{moment}",
                                     self.purge("purge-5", workload=f"namespaces/{NS}/deployments/web",
                                                mode=S.PURGE_MODE_BURN),
                                     S.OPERATION_STATE_SUCCEEDED, nth=nth)
                self.assert_replaced_once("web", old, 3, deleted)


class KillCrashTest(CrashTestCase):
    def test_kill_kills_what_it_chose_and_no_more(self):
        for moment, nth in (("before", 1), ("after", 1), ("after", 2)):
            with self.subTest(moment=moment, nth=nth):
                self.fresh()
                self.deploy("web", "web:1", replicas=3)
                chosen = {p["metadata"]["uid"] for p in self.live_pods("web")}
                deleted = self.watch_deletions()

                def call(stub):
                    return stub.Kill(S.KillRequest(namespace=NS, label_selector="app=web", max_pods=3,
                                                   options=options("kill-1")), timeout=30)
                final = self.crash_and_adopt(f"kill.pod:{moment}", call, S.OPERATION_STATE_SUCCEEDED, nth=nth)
                self.assertEqual(final.progress.killed, 3)
                self.wait_for("3 replacements", lambda: len(self.live_pods("web")) == 3)
                self.wait_for("the chosen pods gone", lambda: not (self.all_uids("web") & chosen))
                self.assertEqual(deleted(), chosen)


class CronJobCrashTest(CrashTestCase):
    def cronjob(self, image="job:1"):
        self.cluster.apply({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": NS},
            "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": image}]}}}}}})

    def request(self, method, request_id):
        def call(stub):
            return getattr(stub, method)(S.CronJobRequest(cronjob=f"namespaces/{NS}/cronjobs/report",
                                                          options=options(request_id)), timeout=30)
        return call

    def jobs(self):
        return json.loads(self.kubectl("get", "jobs", "-o", "json"))["items"]

    def test_run_starts_one_job(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.cronjob()
                self.crash_and_adopt(f"cronjob.create-job:{moment}", self.request("RunCronJob", "run-1"),
                                     S.OPERATION_STATE_SUCCEEDED)
                jobs = self.jobs()
                self.assertEqual(len(jobs), 1, [j["metadata"]["name"] for j in jobs])
                self.assertEqual(jobs[0]["status"].get("succeeded"), 1)

    def test_suspend(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.cronjob()
                self.crash_and_adopt(f"cronjob.set-suspend:{moment}", self.request("SuspendCronJob", "suspend-1"),
                                     S.OPERATION_STATE_SUCCEEDED)
                self.assertTrue(self.get("cronjob", "report")["spec"]["suspend"])

    def test_kill_jobs_spares_later_ones(self):
        for moment in ("before", "after"):
            with self.subTest(moment=moment):
                self.fresh()
                self.cronjob("job:1-slow30s")
                for name in ("run-a", "run-b"):
                    self.kubectl("create", "job", "--from=cronjob/report", name)
                self.wait_for("2 running jobs", lambda: sum(1 for j in self.jobs() if j["status"].get("active")) == 2)
                # A Job started after the operation chose its targets is not one of them.
                self.crash_and_adopt(f"cronjob.delete-job:{moment}", self.request("KillCronJobJobs", "kill-jobs-1"),
                                     S.OPERATION_STATE_SUCCEEDED,
                                     between=lambda: self.kubectl("create", "job", "--from=cronjob/report", "run-c"))
                self.assertEqual([j["metadata"]["name"] for j in self.jobs()], ["run-c"])


class PolicyCrashTest(CrashTestCase):
    """The leader SIGKILLed at a policy's run, right before and right after
    each of the run's two writes (the run decided: policy.decide; the run
    settled: policy.record): the other herdd takes the lead once the
    leader Lease runs out, and each run is made once, none skipped."""

    def test_each_run_is_made_once_across_a_leader_failover(self):
        for point in ("policy.decide", "policy.record"):
            for moment in ("before", "after"):
                with self.subTest(point=point, moment=moment):
                    self.fresh()
                    self.deploy("web", "web:1")
                    a = Herdd(self.cluster, f"--crash-at={point}:{moment}", *LEASE, identity="herdd-a").start()
                    self.addCleanup(a.kill)
                    self.wait_for("herdd a to lead", lambda: "leading herd's timed work" in a.read_log())
                    b = Herdd(self.cluster, *LEASE, identity="herdd-b").start()
                    self.addCleanup(b.__exit__, None, None, None)
                    policy = S.Policy(schedule=S.Schedule(cron="@every 4s", restart=S.RolloutRequest(
                        workload=f"namespaces/{NS}/deployments/web", restart=True)))
                    created = b.stub().CreatePolicy(S.CreatePolicyRequest(policy_id="often", policy=policy),
                                                    timeout=10)
                    first = created.next_runs[0].seconds
                    # a leads, and dies at the first run.
                    self.assertEqual(a.proc.wait(timeout=30), -9, a.read_log())
                    self.assertIn("crash point reached", a.read_log())

                    def two_started():
                        p = b.stub().GetPolicy(S.GetPolicyRequest(name="policies/often"), timeout=10)
                        started = [d for d in p.decisions if d.outcome == S.POLICY_OUTCOME_STARTED]
                        return p if len(started) >= 2 else None
                    p = self.wait_for("herdd b to make the next runs", two_started, timeout=60)
                    self.assertIn("leading herd's timed work", b.read_log())
                    outcomes = [d.outcome for d in p.decisions if d.outcome != S.POLICY_OUTCOME_UNSPECIFIED]
                    self.assertNotIn(S.POLICY_OUTCOME_SKIPPED, outcomes, p)
                    self.assertNotIn(S.POLICY_OUTCOME_REFUSED, outcomes, p)
                    runs = sorted(d.scheduled_time.seconds for d in p.decisions
                                  if d.outcome == S.POLICY_OUTCOME_STARTED)
                    self.assertEqual(runs[:2], [first, first + 4], p)
                    self.assertEqual(len(runs), len(set(runs)), p)
                    # One operation per run, each by the policy.
                    ops = b.stub().ListOperations(S.ListOperationsRequest(namespace=NS), timeout=10).operations
                    ids = [o.request_id for o in ops]
                    self.assertEqual(len(ids), len(set(ids)), ids)
                    self.assertIn(f"policy-often-{first}", ids)
                    self.assertTrue(all(o.principal == "policy:often" for o in ops), ops)
                    b.stub().PausePolicy(S.PausePolicyRequest(name="policies/often"), timeout=10)


class CoverageTest(unittest.TestCase):
    def test_every_write_point_has_a_crash_test(self):
        import os
        from simcluster import bin_dir
        points = subprocess.run([os.path.join(bin_dir(), "herdd"), "--crash-at=help"], capture_output=True, text=True,
                                check=True).stdout.split()
        self.assertGreater(len(points), 10)
        with open(__file__) as f:
            source = f.read()
        missing = [p for p in points if f'"{p}' not in source and f"{p}:" not in source]
        self.assertEqual(missing, [], "write points without a crash test")


class RestartTest(CrashTestCase):
    def test_a_restarted_herdd_of_the_same_name_adopts_at_once(self):
        self.fresh()
        self.deploy("web", "web:1")

        def call(stub):
            return stub.Rollout(S.RolloutRequest(workload=f"namespaces/{NS}/deployments/web", images={"web": "web:2"},
                                                 options=options("restart-1")), timeout=30)
        # Same identity: b is a's container restarted in its pod; the lease
        # (10 s here) is not waited for.
        a = Herdd(self.cluster, "--crash-at=rollout.template:after", "--lease-duration=10s", identity="herdd-a").start()
        try:
            call(a.stub())
        except grpc.RpcError:
            pass
        self.assertEqual(a.proc.wait(timeout=60), -9)
        a.channel.close()
        started = time.monotonic()
        with Herdd(self.cluster, "--lease-duration=10s", identity="herdd-a") as b:
            op = call(b.stub())
            final = wait_for_end(b.stub(), op.name, timeout=60)[-1]
            self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
            self.assertLess(time.monotonic() - started, 8)
        self.assert_rolled_out("web", "web:2", 3)


if __name__ == "__main__":
    unittest.main()

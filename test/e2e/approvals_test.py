"""Approvals end to end: operations an approval rule of the tokens file
holds (PENDING_APPROVAL) against a real herdd and kubesim, decided from
herdctl, REST, gRPC and Slack's buttons (a local fake of Slack), refused to
their requester, expired at their deadline, withdrawn, and kept across a
herdd SIGKILL; the cluster checked with kubectl, the decisions in the audit
log."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import grpc

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import SimCluster, WaitsForConditions, bin_dir, deployment
from slack_test import FakeSlack, sign, slack_herdd_args

S = herd_pb2
TOKENS = """
approvals:
  - name: brief
    namespaces: [prod]
    workloads: [brief]
    timeout: 2s
  - name: prod
    namespaces: ["prod*"]
    verbs: [rollout, undo, scale, purge, kill]
    timeout: 1h
principals:
  - name: alice
    token: t-alice
    slackUsers: [UALICE]
    rules:
      - verbs: ["*"]
        namespaces: [prod]
  - name: bob
    token: t-bob
    slackUsers: [UBOB]
    rules:
      - verbs: [read, approve]
        namespaces: [prod]
  - name: carol
    token: t-carol
    rules:
      - verbs: [rollout, scale, read]
        namespaces: [prod]
  - name: dave
    token: t-dave
    rules:
      - verbs: ["*"]
        namespaces: [prodsolo]
"""


def auth(token):
    return (("authorization", f"Bearer {token}"),)


class ApprovalsTest(WaitsForConditions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0"]).__enter__()
        for ns in ("prod", "prodsolo"):
            cls.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for ns, name in (("prod", "web"), ("prod", "api"), ("prod", "brief"), ("prod", "cart"), ("prod", "stock"),
                         ("prod", "kept"), ("prod", "mine"), ("prodsolo", "solo")):
            m = deployment(name, f"{name}:1", replicas=2)
            m["metadata"]["namespace"] = ns
            cls.cluster.apply(m)
        cls.dir = tempfile.mkdtemp(prefix="herd-approvals-")
        cls.slack = FakeSlack()
        notifications = os.path.join(cls.dir, "notifications.yaml")
        with open(notifications, "w") as f:
            f.write(f"sinks:\n  - name: approvers\n    slackWebhook: {cls.slack.url}/response/approvers\n"
                    "    match: {outcomes: [pending_approval]}\n")
        cls.args = slack_herdd_args(cls.dir, cls.slack, TOKENS) + [f"--notifications-file={notifications}"]
        cls.herdd = Herdd(cls.cluster, *cls.args, insecure=False).start()

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.slack.close()
        cls.cluster.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def image(self, name, ns="prod"):
        return self.cluster.json("-n", ns, "get", "deploy", name)["spec"]["template"]["spec"]["containers"][0]["image"]

    def replicas(self, name):
        return self.cluster.json("-n", "prod", "get", "deploy", name)["spec"]["replicas"]

    def herdctl(self, token, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        env.update(HERD_SERVER=self.herdd.grpc_address, HERD_TOKEN=token)
        p = subprocess.run([os.path.join(bin_dir(), "herdctl"), *args], env=env, capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr

    def rest(self, token, method, path, body=None):
        req = urllib.request.Request(f"http://{self.herdd.http_address}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def rollout(self, token, name, image, ns="prod", herdd=None):
        stub = (herdd or self.herdd).stub()
        return stub.Rollout(S.RolloutRequest(workload=f"namespaces/{ns}/deployments/{name}",
                                             images={name: image}), metadata=auth(token), timeout=30)

    def get(self, name, token="t-bob", herdd=None):
        return (herdd or self.herdd).stub().GetOperation(S.GetOperationRequest(name=name), metadata=auth(token),
                                                          timeout=30)

    def audit(self, op, result, principal):
        def find():
            for line in self.herdd.read_log().splitlines():
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("audit") and e.get("op") == op and e.get("result", "").startswith(result) and \
                        e.get("principal") == principal:
                    return e
            return None
        return self.wait_for(f"an audit line {result!r} by {principal} for {op}", find, timeout=10)

    def metrics(self):
        with urllib.request.urlopen(f"http://{self.herdd.http_address}/metrics", timeout=10) as r:
            return r.read().decode()

    def press(self, action_id, value, ts, user):
        key = f"b{time.monotonic_ns()}"
        payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": "CPROD"},
                   "container": {"channel_id": "CPROD", "message_ts": ts}, "message": {"ts": ts},
                   "response_url": f"{self.slack.url}/response/{key}",
                   "actions": [{"action_id": action_id, "value": value, "type": "button"}]}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        req = urllib.request.Request(f"http://{self.herdd.http_address}/slack/interactions", data=body.encode(),
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                             **sign(body)})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)
        return key

    # ------------------------------------------------------------- tests

    def test_held_then_approved_from_herdctl_never_by_its_requester(self):
        code, out, err = self.herdctl("t-alice", "-n", "prod", "rollout", "deploy/web", "web=web:2",
                                      "--reason=release 2")
        self.assertEqual(code, 0, err)
        self.assertIn("waits for approval by one of bob", out)
        op = out.split(":", 1)[0]
        held = self.get(op)
        self.assertEqual(held.state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertEqual(held.approval.requester, "alice")
        self.assertEqual(list(held.approval.approvers), ["bob"])
        self.assertEqual(held.approval.rule, "prod")
        self.assertEqual(self.image("web"), "web:1", "nothing is touched before the approval")
        # The approvers' channel hears of it (a notification sink matching
        # pending_approval), without buttons: those are the bot's.
        hook = self.wait_for("the approvers' notification",
                             lambda: [b for b in self.slack.replies("approvers") if "web" in b.get("text", "")])[-1]
        self.assertIn("waits for approval by *bob*", json.dumps(hook["blocks"]))
        self.assertNotIn("herd_approve", json.dumps(hook["blocks"]))
        code, out, _ = self.herdctl("t-alice", "ops", "list", "--state=pending-approval", "-A")
        self.assertEqual(code, 0)
        self.assertIn(op.split("/")[1], out)

        # The requester may not approve her own, even with every verb;
        # carol, without the verb, may not approve at all.
        code, _, err = self.herdctl("t-alice", "ops", "approve", op)
        self.assertEqual(code, 4, err)
        self.assertIn("may not approve it", err)
        code, _, err = self.herdctl("t-carol", "ops", "approve", op)
        self.assertEqual(code, 4, err)
        self.assertIn("may not approve", err)
        self.assertEqual(self.get(op).state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertEqual(self.image("web"), "web:1")

        code, out, err = self.herdctl("t-bob", "ops", "approve", op, "--reason=plan checked", "--wait")
        self.assertEqual(code, 0, out + err)
        self.assertIn("succeeded", out)
        self.assertEqual(self.image("web"), "web:2")
        done = self.get(op)
        self.assertEqual(done.state, S.OPERATION_STATE_SUCCEEDED)
        self.assertEqual(done.approval.decision, S.APPROVAL_DECISION_APPROVED)
        self.assertEqual(done.approval.decided_by, "bob")
        self.assertEqual(done.approval.comment, "plan checked")
        self.assertEqual(done.principal, "alice", "the operation still runs as its requester")
        code, out, _ = self.herdctl("t-bob", "ops", "get", op)
        self.assertIn("approved by bob: plan checked (rule prod)", out)
        self.audit(op, "held for approval", "alice")
        self.audit(op, "approved", "bob")
        self.audit(op, "succeeded", "alice")
        # The same decision again (a retry) finds itself made; another
        # decision finds the first.
        code, out, err = self.herdctl("t-bob", "ops", "approve", op)
        self.assertEqual(code, 0, err)
        code, _, err = self.herdctl("t-bob", "ops", "reject", op)
        self.assertEqual(code, 4)
        self.assertIn("waits for no approval", err)

    def test_rejected_over_rest_and_self_approval_refused_there(self):
        scaled = self.herdd.stub().Scale(S.ScaleRequest(workload="namespaces/prod/deployments/api", replicas=5),
                                         metadata=auth("t-carol"), timeout=30)
        self.assertEqual(scaled.state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertEqual(sorted(scaled.approval.approvers), ["alice", "bob"])
        status, body = self.rest("t-carol", "POST", f"/v1/{scaled.name}:approve", {})
        self.assertEqual(status, 403, body)
        status, body = self.rest("t-bob", "POST", f"/v1/{scaled.name}:reject", {"reason": "not during the sale"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "OPERATION_STATE_CANCELLED")
        self.assertEqual(body["approval"]["decision"], "APPROVAL_DECISION_REJECTED")
        self.assertIn("rejected by bob: not during the sale", body["error"]["message"])
        self.assertEqual(self.replicas("api"), 2)
        self.audit(scaled.name, "rejected", "bob")
        self.audit(scaled.name, "cancelled", "carol")
        status, body = self.rest("t-alice", "POST", f"/v1/{scaled.name}:approve", {})
        self.assertEqual(status, 400, body)  # FAILED_PRECONDITION
        self.assertIn("waits for no approval", body.get("message", ""))

        # Rejected from herdctl too.
        scaled = self.herdd.stub().Scale(S.ScaleRequest(workload="namespaces/prod/deployments/api", replicas=6),
                                         metadata=auth("t-carol"), timeout=30)
        code, out, err = self.herdctl("t-bob", "ops", "reject", scaled.name, "--reason=too many")
        self.assertEqual(code, 0, err)
        self.assertIn("rejected (Cancelled)", out)
        code, out, _ = self.herdctl("t-bob", "ops", "get", scaled.name)
        self.assertIn("rejected by bob: too many (rule prod)", out)
        self.assertEqual(self.replicas("api"), 2)

        # Approved over REST by someone else than the requester: it runs.
        scaled = self.herdd.stub().Scale(S.ScaleRequest(workload="namespaces/prod/deployments/api", replicas=3),
                                         metadata=auth("t-carol"), timeout=30)
        status, body = self.rest("t-alice", "POST", f"/v1/{scaled.name}:approve", {"reason": "ok"})
        self.assertEqual(status, 200, body)
        final = wait_for_end(self.herdd.stub(), scaled.name, metadata=auth("t-bob"))[-1]
        self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
        self.assertEqual(self.replicas("api"), 3)

    def test_expires_at_its_deadline_and_can_then_not_be_approved(self):
        held = self.rollout("t-alice", "brief", "brief:2")
        self.assertEqual(held.state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertEqual(held.approval.rule, "brief")
        ended = self.wait_for("the approval to expire",
                              lambda: (lambda o: o.state == S.OPERATION_STATE_CANCELLED and o)(self.get(held.name)),
                              timeout=20)
        self.assertEqual(ended.approval.decision, S.APPROVAL_DECISION_EXPIRED)
        self.assertEqual(ended.error.code, grpc.StatusCode.DEADLINE_EXCEEDED.value[0])
        with self.assertRaises(grpc.RpcError) as e:
            self.herdd.stub().ApproveOperation(S.ApproveOperationRequest(name=held.name), metadata=auth("t-bob"),
                                               timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(self.image("brief"), "brief:1")
        self.audit(held.name, "cancelled", "alice")

    def test_withdrawn_by_its_requester_dry_runs_are_not_held_and_a_rule_nobody_can_approve_refuses(self):
        held = self.rollout("t-alice", "kept", "kept:2")
        withdrawn = self.herdd.stub().CancelOperation(S.CancelOperationRequest(name=held.name, reason="wrong tag"),
                                                      metadata=auth("t-alice"), timeout=30)
        self.assertEqual(withdrawn.state, S.OPERATION_STATE_CANCELLED)
        self.assertIn("cancelled by alice before it was approved: wrong tag", withdrawn.error.message)
        self.assertEqual(withdrawn.approval.decided_by, "alice")
        self.assertEqual(self.image("kept"), "kept:1")

        dry = self.herdd.stub().Rollout(S.RolloutRequest(workload="namespaces/prod/deployments/kept",
                                                         images={"kept": "kept:3"},
                                                         options=S.MutationOptions(dry_run=True)),
                                        metadata=auth("t-alice"), timeout=30)
        self.assertEqual(dry.state, S.OPERATION_STATE_SUCCEEDED)
        self.assertTrue(any("would wait for approval (rule prod) by one of bob" in e.message for e in dry.events))

        with self.assertRaises(grpc.RpcError) as e:
            self.rollout("t-dave", "solo", "solo:2", ns="prodsolo")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("no principal but dave may approve it", e.exception.details())
        self.assertEqual(self.image("solo", ns="prodsolo"), "solo:1")

    def test_an_approved_kill_kills_the_pod_it_names(self):
        pods = self.cluster.json("-n", "prod", "get", "pods", "-l", "app=kept")["items"]
        victim = sorted(p["metadata"]["name"] for p in pods)[0]
        held = self.herdd.stub().Kill(S.KillRequest(namespace="prod", pods=[victim]), metadata=auth("t-alice"),
                                      timeout=30)
        self.assertEqual(held.state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertIn(victim, [p["metadata"]["name"] for p in
                               self.cluster.json("-n", "prod", "get", "pods", "-l", "app=kept")["items"]])
        self.herdd.stub().ApproveOperation(S.ApproveOperationRequest(name=held.name), metadata=auth("t-bob"),
                                           timeout=30)
        final = wait_for_end(self.herdd.stub(), held.name, metadata=auth("t-bob"))[-1]
        self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
        self.assertEqual(final.progress.killed, 1)
        left = [p["metadata"]["name"] for p in self.cluster.json("-n", "prod", "get", "pods", "-l", "app=kept")["items"]
                if not p["metadata"].get("deletionTimestamp")]
        self.assertNotIn(victim, left)

    def test_a_held_operation_survives_a_herdd_sigkill(self):
        held = self.rollout("t-alice", "stock", "stock:2")
        self.assertEqual(held.state, S.OPERATION_STATE_PENDING_APPROVAL)
        record = "herd-op-" + held.name.split("/")[1]
        # Its request is kept where a herd that knows no approvals does not
        # look, so such a replica (mid-upgrade) cannot adopt and run it.
        data = self.cluster.json("-n", "herd-system", "get", "configmap", record)["data"]
        self.assertIn("heldRequest", data)
        self.assertNotIn("request", data)
        self.herdd.kill()
        type(self).herdd = Herdd(self.cluster, *self.args, insecure=False).start()
        self.assertEqual(self.get(held.name).state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.assertEqual(self.image("stock"), "stock:1")
        approved = self.herdd.stub().ApproveOperation(S.ApproveOperationRequest(name=held.name),
                                                      metadata=auth("t-bob"), timeout=30)
        # Its workload free, it starts on the approving replica at once.
        self.assertEqual(approved.state, S.OPERATION_STATE_RUNNING, approved)
        updates = wait_for_end(self.herdd.stub(), held.name, metadata=auth("t-bob"))
        self.assertEqual(updates[-1].state, S.OPERATION_STATE_SUCCEEDED, updates[-1])
        self.assertNotIn(S.OPERATION_STATE_PENDING, [u.state for u in updates])
        self.assertEqual(self.image("stock"), "stock:2")
        self.assertIn("request", self.cluster.json("-n", "herd-system", "get", "configmap", record)["data"])
        adopted = [line for line in self.metrics().splitlines()
                   if line.startswith("herd_operation_adoptions_total{") and float(line.split()[-1]) > 0]
        self.assertEqual(adopted, [], "an operation started where it was approved is adopted from nobody")

    def test_slack_approve_and_reject_buttons(self):
        held = self.rollout("t-alice", "cart", "cart:2")
        # A held operation asked for outside Slack has no message; the
        # buttons act on any operation, as the one posted for a command does.
        ts = "1700000001.000100"
        key = self.press("herd_approve", held.name, ts, user="UALICE")
        reply = self.wait_for("alice's refusal", lambda: self.slack.replies(key), timeout=30)[-1]
        self.assertIn("may not approve it", reply["text"])
        self.assertEqual(self.get(held.name).state, S.OPERATION_STATE_PENDING_APPROVAL)
        self.press("herd_approve", held.name, ts, user="UBOB")
        update = self.wait_for("the message to say it succeeded",
                               lambda: [b for _, b in self.slack.messages(ts=ts, method="chat.update")
                                        if "succeeded" in b.get("text", "")], timeout=60)[-1]
        self.assertIn("approved by *bob*", json.dumps(update["blocks"]))
        self.assertEqual(self.image("cart"), "cart:2")

        held = self.rollout("t-alice", "mine", "mine:2")
        ts = "1700000002.000100"
        self.press("herd_reject", held.name, ts, user="UBOB")
        update = self.wait_for("the message to say it was cancelled",
                               lambda: [b for _, b in self.slack.messages(ts=ts, method="chat.update")
                                        if "cancelled" in b.get("text", "")], timeout=30)[-1]
        self.assertIn("rejected by *bob*", json.dumps(update["blocks"]))
        self.assertEqual(self.image("mine"), "mine:1")

    def test_slack_message_of_a_held_command_has_approve_and_reject(self):
        body = urllib.parse.urlencode({
            "token": "unused", "team_id": "T1", "channel_id": "CPROD", "channel_name": "prod", "user_id": "UALICE",
            "user_name": "alice", "command": "/herd", "text": "rollout prod/web web=web:3",
            "response_url": f"{self.slack.url}/response/cmd-held", "trigger_id": "1.2.3"})
        req = urllib.request.Request(f"http://{self.herdd.http_address}/slack/commands", data=body.encode(),
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                             **sign(body)})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

        def held_message():
            for method, b in self.slack.messages():
                if method in ("chat.postMessage", "chat.update") and "web" in b.get("text", "") and \
                        "herd_approve" in json.dumps(b.get("blocks", [])):
                    return b
            return None
        m = self.wait_for("a message with Approve and Reject", held_message, timeout=30)
        blocks = json.dumps(m["blocks"])
        self.assertIn("herd_reject", blocks)
        self.assertIn("waits for approval by *bob*", blocks)
        self.assertNotEqual(self.image("web"), "web:3", "nobody approved it")


if __name__ == "__main__":
    unittest.main()

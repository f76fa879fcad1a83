"""Notifications end to end: herdd with --notifications-file tells a fake
Slack incoming webhook and a CloudEvents receiver (loopback HTTP servers in
this test) when operations end — routed by namespace, kind and outcome,
signed, retried on 429 and 5xx, re-read when the file changes, and
delivered once by the next herdd when the first is SIGKILLed with a
delivery pending (the outbox lives in the cluster)."""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import tempfile
import threading
import unittest
import urllib.request

from google.protobuf import duration_pb2

from herdprocess import Herdd, herd_pb2, wait_for_end
from simcluster import SimCluster, WaitsForConditions, deployment

SECRET = "ce-s3cret"


class Receiver:
    """Records every POST; answers the statuses queued in `script` first
    (429 with Retry-After: 1), then 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []  # (path, headers, body bytes)
        self.script = []
        self.down = False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    status = 503 if outer.down else (outer.script.pop(0) if outer.script else 200)
                    if status == 200:
                        outer.got.append((self.path, dict(self.headers), body))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def events(self, path):
        with self.lock:
            return [(h, json.loads(b), b) for p, h, b in self.got if p == path]


class NotifyTest(WaitsForConditions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms",
                                 extra_args=["--controller-qps=0", "--crash-loop-backoff=200ms"]).__enter__()
        for ns in ("shop", "prod-eu"):
            cls.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            for name in ("web", "api", "cart", "stock"):
                m = deployment(name, f"{name}:1", replicas=1)
                m["metadata"]["namespace"] = ns
                cls.cluster.apply(m)
        cls.dir = tempfile.mkdtemp(prefix="herd-notify-")
        cls.receiver = Receiver()
        cls.config = os.path.join(cls.dir, "notify.yaml")
        with open(os.path.join(cls.dir, "ce-secret"), "w") as f:
            f.write(SECRET + "\n")
        cls.write_config("")
        cls.herdd = Herdd(cls.cluster, f"--notifications-file={cls.config}", "--lease-duration=2s").start()

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.receiver.server.shutdown()
        cls.cluster.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def write_config(cls, extra):
        text = f"""
sinks:
  - name: oncall
    slackWebhook: {cls.receiver.url}/slack
    match: {{namespaces: ["prod-*"], outcomes: [failed, rolled_back]}}
  - name: ci
    cloudEvents: {cls.receiver.url}/events
    secretFile: ce-secret
{extra}"""
        with open(cls.config + ".tmp", "w") as f:
            f.write(text)
        os.replace(cls.config + ".tmp", cls.config)

    def scale(self, ns, name, replicas, herdd=None):
        op = (herdd or self.herdd).stub().Scale(herd_pb2.ScaleRequest(
            workload=f"namespaces/{ns}/deployments/{name}", replicas=replicas), timeout=10)
        self.assertEqual(wait_for_end((herdd or self.herdd).stub(), op.name)[-1].state,
                         herd_pb2.OPERATION_STATE_SUCCEEDED)
        return op.name

    def event_of(self, path, op_name, outcome, timeout=30):
        op_id = op_name.rsplit("/", 1)[1]
        found = self.wait_for(f"{outcome} of {op_name} at {path}",
                              lambda: [e for e in self.receiver.events(path)
                                       if e[1].get("id", "").startswith(op_id) or op_id in json.dumps(e[1])],
                              timeout=timeout)
        return found

    def outbox(self, op_name):
        """The outbox entries of an operation's events."""
        op_id = op_name.rsplit("/", 1)[1]
        return [c for c in self.cluster.json("-n", "herd-system", "get", "configmaps", "-l",
                                             "herd.dev/notification=true")["items"]
                if c["data"]["event"].startswith(op_id + ".")]

    def test_events_are_routed_signed_and_slack_gets_failures_of_prod_only(self):
        name = self.scale("shop", "web", 2)
        (headers, event, raw), = self.event_of("/events", name, "succeeded")
        self.assertEqual(event["specversion"], "1.0")
        self.assertEqual(event["type"], "dev.herd.operation.succeeded")
        self.assertEqual(event["id"], name.rsplit("/", 1)[1] + ".succeeded")
        self.assertEqual(event["subject"], "namespaces/shop/deployments/web")
        self.assertEqual(event["data"]["name"], name)
        self.assertEqual(event["data"]["state"], "OPERATION_STATE_SUCCEEDED")
        self.assertEqual(headers["Content-Type"], "application/cloudevents+json")
        mac = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Herd-Signature"], f"sha256={mac}")

        # A crash-looping rollout in prod-eu: rolled back; both sinks hear of it.
        op = self.herdd.stub().Rollout(herd_pb2.RolloutRequest(
            workload="namespaces/prod-eu/deployments/api", images={"api": "api:2-crashloop"},
            deadline=duration_pb2.Duration(seconds=20)), timeout=10)
        self.assertEqual(wait_for_end(self.herdd.stub(), op.name)[-1].state, herd_pb2.OPERATION_STATE_ROLLED_BACK)
        (_, event, _), = self.event_of("/events", op.name, "rolled_back")
        self.assertEqual(event["type"], "dev.herd.operation.rolled_back")
        (_, slack, _), = self.event_of("/slack", op.name, "rolled_back")
        self.assertIn("rolled back", slack["text"])
        self.assertNotIn("herd_roll_back", json.dumps(slack))  # no buttons in a notification
        # The shop success went to CI only.
        self.assertFalse([e for e in self.receiver.events("/slack") if "shop" in json.dumps(e[1])])
        self.wait_for("their outbox entries gone", lambda: not self.outbox(name) and not self.outbox(op.name))

    def test_a_rate_limited_receiver_gets_the_event_once_after_retry_after(self):
        with self.receiver.lock:
            self.receiver.script = [429, 500]
        name = self.scale("shop", "api", 2)
        self.event_of("/events", name, "succeeded")
        self.assertEqual(len([e for e in self.receiver.events("/events") if e[1]["data"]["name"] == name]), 1)
        metrics = urllib.request.urlopen(f"http://{self.herdd.http_address}/metrics").read().decode()
        metrics = "\n".join(line for line in metrics.splitlines() if line.startswith("herd_notifications"))
        self.assertRegex(metrics, r'herd_notifications_total\{sink="ci",result="retried"\} [1-9]')

    def test_a_changed_file_is_read_again(self):
        self.write_config(f"""  - name: audit
    cloudEvents: {self.receiver.url}/audit
    match: {{kinds: [scale], namespaces: [shop]}}
""")
        # Until the new sink is read, events still go to the others: wait for it.
        self.wait_for("the file read again", lambda: "notifications file reloaded" in self.herdd.read_log())
        name = self.scale("shop", "stock", 2)
        self.event_of("/audit", name, "succeeded")
        self.write_config("")

    def test_a_delivery_pending_when_herdd_dies_is_made_by_the_next_one_once(self):
        with self.receiver.lock:
            self.receiver.down = True
        name = self.scale("shop", "cart", 2)
        op_id = name.rsplit("/", 1)[1]
        self.wait_for("the delivery in the outbox", lambda: self.outbox(name))
        self.herdd.kill()
        with self.receiver.lock:
            self.receiver.down = False
        NotifyTest.herdd = Herdd(self.cluster, f"--notifications-file={self.config}", "--lease-duration=2s").start()
        self.event_of("/events", name, "succeeded", timeout=60)
        self.wait_for("the outbox emptied", lambda: not self.outbox(name))
        self.assertEqual(len([e for e in self.receiver.events("/events") if e[1]["id"] == f"{op_id}.succeeded"]), 1)


if __name__ == "__main__":
    unittest.main()

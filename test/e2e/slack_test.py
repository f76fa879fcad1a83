"""herd in Slack, end to end: signed `/herd` commands and button presses
sent to a real herdd (kubesim behind it), a local fake of Slack's Web API
and response_urls that checks the bot token and records every message, and
the cluster checked with kubectl."""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from herdprocess import Herdd, herd_pb2
from simcluster import SimCluster, WaitsForConditions, deployment

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-herd-test"
TOKENS = """
principals:
  - name: alice
    slackUsers: [UALICE]
    rules:
      - verbs: ["*"]
        namespaces: [shop]
  - name: ci
    token: t-ci
    rules:
      - verbs: [scale, read]
        namespaces: [shop]
  - name: shop-viewers
    slackChannels: [CVIEW]
    rules:
      - verbs: [read]
        namespaces: [shop]
"""


class FakeSlack:
    """Slack's Web API (chat.postMessage, chat.update) and response_urls on
    a loopback port. Messages are recorded; `failures[ts]` lists statuses
    (429 with Retry-After, 500) the next updates of message `ts` get."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []      # (method, body) of every Web API call
        self.responses = []  # (path, body) posted to response_urls
        self.failures = {}   # ts → statuses to answer its next updates
        self.next_ts = 1700000000
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body, headers=()):
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/response/"):
                    with fake.lock:
                        fake.responses.append((self.path, body))
                    return self.answer(200, b"ok")
                if self.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
                    return self.answer(200, {"ok": False, "error": "invalid_auth"})
                method = self.path.rsplit("/", 1)[1]
                with fake.lock:
                    if fake.failures.get(body.get("ts")):
                        status = fake.failures[body.get("ts")].pop(0)
                        fake.calls.append((f"{method}!{status}", body))
                        return self.answer(status, {"ok": False, "error": "ratelimited"}, [("Retry-After", "1")])
                    fake.calls.append((method, body))
                    if method == "chat.postMessage":
                        fake.next_ts += 1
                        return self.answer(200, {"ok": True, "channel": body["channel"], "ts": f"{fake.next_ts}.000100"})
                return self.answer(200, {"ok": True})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()

    def messages(self, ts=None, method=None):
        with self.lock:
            return [(m, b) for m, b in self.calls
                    if (ts is None or b.get("ts") == ts) and (method is None or m == method)]

    def replies(self, key):
        with self.lock:
            return [b for p, b in self.responses if p == f"/response/{key}"]


def sign(body, timestamp=None, secret=SECRET):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={mac}"}


def slack_herdd_args(directory, slack, tokens):
    """herdd's flags for Slack (through `slack`, a FakeSlack) with the
    tokens file `tokens`, its files written in `directory`."""
    files = {}
    for name, text in (("secret", SECRET + "\n"), ("bot", BOT_TOKEN), ("tokens.yaml", tokens)):
        files[name] = os.path.join(directory, name)
        with open(files[name], "w") as f:
            f.write(text)
    return [f"--slack-signing-secret-file={files['secret']}", f"--slack-bot-token-file={files['bot']}",
            f"--slack-api-url={slack.url}/api", f"--tokens-file={files['tokens.yaml']}",
            "--lease-duration=2s", "--adopt-period=200ms"]


class SlackTest(WaitsForConditions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms",
                                 extra_args=["--controller-qps=0", "--crash-loop-backoff=200ms"]).__enter__()
        cls.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        # One workload (or two) per test.
        for name in ("web", "api", "worker", "quiet", "stock", "slowpoke", "cart", "spare"):
            m = deployment(name, f"{name}:1", replicas=2)
            m["metadata"]["namespace"] = "shop"
            cls.cluster.apply(m)
        cls.cluster.apply({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "shop"},
            "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "report", "image": "report:1"}]}}}}}})
        cls.dir = tempfile.mkdtemp(prefix="herd-slack-")
        cls.slack = FakeSlack()
        cls.args = slack_herdd_args(cls.dir, cls.slack, TOKENS)
        cls.herdd = Herdd(cls.cluster, *cls.args, insecure=False).start()
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        cls.herdd.__exit__(None, None, None)
        cls.slack.close()
        cls.cluster.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    # ------------------------------------------------------------ helpers

    def post(self, path, body, headers=None, herdd=None):
        herdd = herdd or self.herdd
        req = urllib.request.Request(f"http://{herdd.http_address}{path}", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              **(sign(body) if headers is None else headers)})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def command(self, text, user="UALICE", channel="CSHOP", herdd=None):
        """Sends `/herd TEXT`; returns the immediate answer (JSON) and the
        key of its response_url."""
        SlackTest.seq += 1
        key = f"c{self.seq}"
        body = urllib.parse.urlencode({
            "token": "unused", "team_id": "T1", "channel_id": channel, "channel_name": "shop",
            "user_id": user, "user_name": user.lower(), "command": "/herd", "text": text,
            "response_url": f"{self.slack.url}/response/{key}", "trigger_id": "1.2.3"})
        status, answer = self.post("/slack/commands", body, herdd=herdd)
        self.assertEqual(status, 200, answer)
        return json.loads(answer), key

    def press(self, action_id, value, ts, user="UALICE", channel="CSHOP"):
        SlackTest.seq += 1
        key = f"b{self.seq}"
        payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel},
                   "container": {"channel_id": channel, "message_ts": ts}, "message": {"ts": ts},
                   "response_url": f"{self.slack.url}/response/{key}",
                   "actions": [{"action_id": action_id, "value": value, "type": "button"}]}
        status, answer = self.post("/slack/interactions", urllib.parse.urlencode({"payload": json.dumps(payload)}))
        self.assertEqual(status, 200, answer)
        return key

    def message_of(self, asked):
        """The ts of the operation message posted for the command `asked`."""
        def find():
            for _, body in self.slack.messages(method="chat.postMessage"):
                if asked in body.get("text", ""):
                    return body
            return None
        return self.wait_for(f"a message for {asked!r}", find)

    def final_update(self, ts, words, timeout=60):
        def find():
            updates = self.slack.messages(ts=ts, method="chat.update")
            return updates and words in updates[-1][1]["text"] and updates[-1][1]
        return self.wait_for(f"message {ts} to say {words!r}", find, timeout=timeout)

    def ended(self, words, timeout=60):
        """The last update of the message whose operation ended with `words`."""
        return self.wait_for(f"a message saying {words!r}",
                             lambda: [b for _, b in self.slack.messages(method="chat.update") if words in b.get("text", "")],
                             timeout=timeout)[-1]

    def reply(self, key, timeout=30):
        return self.wait_for(f"a reply on {key}", lambda: self.slack.replies(key), timeout=timeout)[-1]

    def image(self, name):
        return self.cluster.json("-n", "shop", "get", "deploy", name)["spec"]["template"]["spec"]["containers"][0]["image"]

    def operations(self):
        return self.cluster.json("-n", "herd-system", "get", "configmaps", "-l", "app.kubernetes.io/managed-by=herd")["items"]

    # ------------------------------------------------------------- tests

    def test_signatures_valid_wrong_stale_replayed_and_slacks_example(self):
        body = urllib.parse.urlencode({"user_id": "UALICE", "channel_id": "CSHOP", "text": "scale shop/quiet 5",
                                       "response_url": f"{self.slack.url}/response/sig"})
        before = len(self.operations())
        for name, headers, says in (
                ("unsigned", {}, "missing"),
                ("wrong secret", sign(body, secret="not-the-secret"), "does not match"),
                ("stale", sign(body, timestamp=int(time.time()) - 600), "more than 5m"),
                # Slack's published example is signed right, but long ago.
                ("slack's example", {"X-Slack-Request-Timestamp": "1531420618",
                                     "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
                 "more than 5m")):
            with self.subTest(name):
                status, answer = self.post("/slack/commands", body, headers)
                self.assertEqual(status, 401, answer)
                self.assertIn(says, answer)
        good = sign("payload=%7B%7D")
        self.assertEqual(self.post("/slack/interactions", "payload=%7B%7D", good)[0], 400)  # signed: read, and refused
        status, answer = self.post("/slack/interactions", "payload=%7B%7D", good)
        self.assertEqual(status, 401, answer)
        self.assertIn("replay", answer)
        self.assertEqual(len(self.operations()), before)
        self.assertEqual(self.cluster.json("-n", "shop", "get", "deploy", "quiet")["spec"]["replicas"], 2)
        metrics = urllib.request.urlopen(f"http://{self.herdd.http_address}/metrics").read().decode()
        self.assertRegex(metrics, r'herd_slack_requests_total\{endpoint="refused"\} [5-9]')

    def test_a_rollout_from_slack_is_one_message_updated_in_place(self):
        ack, _ = self.command("rollout shop/web web=web:2-slow1s reason: release 2")
        self.assertEqual(ack["response_type"], "ephemeral")
        self.assertIn("as *alice*", ack["text"])
        posted = self.message_of("rollout shop/web web=web:2-slow1s")
        self.assertEqual(posted["channel"], "CSHOP")
        ts = self.wait_for("the message's ts", lambda: [b.get("ts") for m, b in self.slack.messages(method="chat.update")
                                                          if b.get("channel") == "CSHOP" and "web:2-slow1s" in json.dumps(b)])[0]
        final = self.final_update(ts, "succeeded")
        updates = self.slack.messages(ts=ts, method="chat.update")
        self.assertGreaterEqual(len(updates), 2, "a running state, then the final one")
        self.assertIn("Running", updates[0][1]["text"])
        blocks = json.dumps(final["blocks"])
        self.assertIn("<@UALICE> as *alice*", blocks)
        self.assertIn("release 2", blocks)
        self.assertIn("herd_roll_back", blocks)  # a button to roll back
        self.assertEqual(self.image("web"), "web:2-slow1s")
        events = self.cluster.json("-n", "shop", "get", "events", "--field-selector", "involvedObject.name=web")["items"]
        self.assertTrue(any(e["reason"] == "HerdRollout" and "alice" in e["message"] for e in events),
                        [e["message"] for e in events])

        # Roll back from the button: an undo in the message's thread.
        op = next(e for e in final["blocks"] if e["type"] == "actions")["elements"][0]["value"]
        self.press("herd_roll_back", op, ts)
        undo = self.wait_for("the rollback's message", lambda: [b for m, b in self.slack.messages(method="chat.postMessage")
                                                                if b.get("thread_ts") == ts])[0]
        self.assertIn("rolls back shop/deploy/web", undo["text"])
        self.wait_for("web back on web:1", lambda: self.image("web") == "web:1")

    def test_scale_kill_purge_status_and_ops(self):
        self.command("scale shop/api +1")
        self.wait_for("api at 3 replicas", lambda: self.cluster.json("-n", "shop", "get", "deploy", "api")["spec"]["replicas"] == 3)
        self.message_of("scale shop/api +1")
        self.ended("scale of deploy/api succeeded")
        pods = self.cluster.json("-n", "shop", "get", "pods", "-l", "app=worker")["items"]
        victim = pods[0]["metadata"]["name"]
        self.command(f"kill shop/{victim}")
        self.wait_for(f"{victim} gone", lambda: victim not in self.cluster.kubectl("-n", "shop", "get", "pods", "-o", "name"))
        self.message_of(f"kill shop/{victim}")
        self.ended(f"kill of pod/{victim} succeeded")
        before = {p["metadata"]["name"] for p in self.cluster.json("-n", "shop", "get", "pods", "-l", "app=worker")["items"]}
        self.command("purge shop/worker burn reason: leak")
        self.ended("purge of deploy/worker succeeded")
        after = {p["metadata"]["name"] for p in self.cluster.json("-n", "shop", "get", "pods", "-l", "app=worker")["items"]}
        self.assertFalse(before & after, "every pod replaced")

        # A bare name that is a CronJob is one.
        self.command("cronjob run shop/report")
        self.wait_for("a Job of report", lambda: self.cluster.json("-n", "shop", "get", "jobs")["items"])
        _, key = self.command("status shop/report")
        self.assertIn("report:1", self.reply(key)["text"])

        _, key = self.command("status shop/api")
        status = self.reply(key)
        self.assertEqual(status["response_type"], "ephemeral")
        self.assertIn("api:1", status["text"])
        _, key = self.command("ops shop")
        self.assertIn("scale", self.reply(key)["text"])

    def test_dry_runs_typos_help_and_refusals_change_nothing(self):
        before = len(self.operations())
        _, key = self.command("rollout shop/stock stock=stock:9 --dry-run")
        plan = self.reply(key)
        self.assertIn("dry run, nothing changed", plan["text"])
        self.assertIn("stock:9", plan["text"])

        answer, _ = self.command("scale shop/stock lots")
        self.assertIn("Usage: `/herd scale", answer["text"])
        answer, _ = self.command("rolout shop/stock")
        self.assertIn("unknown command", answer["text"])
        answer, _ = self.command("help")
        self.assertIn("/herd rollout", answer["text"])

        # A stranger: refused by name, politely.
        answer, _ = self.command("scale shop/stock 9", user="USTRANGER", channel="CELSEWHERE")
        self.assertIn("USTRANGER", answer["text"])
        self.assertIn("slackUsers", answer["text"])
        # A viewer (through the channel) may read but not scale: the message says why.
        _, key = self.command("status shop/stock", user="UBOB", channel="CVIEW")
        self.assertIn("stock:1", self.reply(key)["text"])
        self.command("scale shop/stock 9", user="UBOB", channel="CVIEW")
        msg = self.wait_for("the refusal", lambda: [b for m, b in self.slack.messages(method="chat.update")
                                                    if "PERMISSION_DENIED" in b.get("text", "")])
        self.assertIn("shop-viewers", msg[0]["text"])
        self.assertEqual(self.cluster.json("-n", "shop", "get", "deploy", "stock")["spec"]["template"]["spec"]["containers"][0]["image"], "stock:1")
        self.assertEqual(len(self.operations()), before)

    def test_cancel_from_the_button_and_a_rate_limited_slack(self):
        self.command("rollout shop/slowpoke slowpoke=slowpoke:2-slow60s")
        posted = self.message_of("rollout shop/slowpoke slowpoke=slowpoke:2-slow60s")
        ts = self.wait_for("its ts", lambda: [b["ts"] for m, b in self.slack.messages(method="chat.update")
                                              if "slowpoke:2-slow60s" in json.dumps(b)])[0]
        running = self.wait_for("a Cancel button", lambda: [b for m, b in self.slack.messages(ts=ts, method="chat.update")
                                                            if "herd_cancel" in json.dumps(b)])[-1]
        op = next(e for e in running["blocks"] if e["type"] == "actions")["elements"][0]["value"]
        with self.slack.lock:
            self.slack.failures[ts] = [429, 500]  # the message's next two updates
        self.press("herd_cancel", op, ts)
        final = self.final_update(ts, "cancelled")
        self.assertNotIn("herd_cancel", json.dumps(final["blocks"]))
        statuses = [m for m, _ in self.slack.messages(ts=ts)]
        self.assertIn("chat.update!429", statuses)
        self.assertTrue(posted)

    def test_a_new_herdd_goes_on_updating_the_message_of_a_running_operation(self):
        self.command("rollout shop/cart cart=cart:3-slow3s")
        ts = self.wait_for("its ts", lambda: [b["ts"] for m, b in self.slack.messages(method="chat.update")
                                              if "cart:3-slow3s" in json.dumps(b)])[0]
        # A caller of the API who names that message in a request id of its
        # own (without the MAC only herd can make) is not followed into it.
        forged = self.herdd.stub().Scale(herd_pb2.ScaleRequest(
            workload="namespaces/shop/deployments/spare", replicas=1,
            options=herd_pb2.MutationOptions(request_id=f"slack.CSHOP.{ts}.UALICE.{'0' * 32}")),
            metadata=[("authorization", "Bearer t-ci")], timeout=10)
        self.herdd.kill()
        SlackTest.herdd = Herdd(self.cluster, *self.args, insecure=False).start()
        final = self.final_update(ts, "succeeded", timeout=90)
        self.assertIn("cart:3-slow3s", json.dumps(final))
        self.assertEqual(self.image("cart"), "cart:3-slow3s")
        self.assertFalse([b for _, b in self.slack.messages(ts=ts) if forged.name.rsplit("/", 1)[1] in json.dumps(b)])


if __name__ == "__main__":
    unittest.main()

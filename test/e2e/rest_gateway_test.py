"""herd's REST API from the outside, as a shell script with curl or a bot with
Python's urllib would use it: every RPC on its documented route (README.md
"REST"), with query parameters and bodies; every error mapping; a rollout
followed to its end as NDJSON and as Server-Sent Events; the callers' rules
exactly as on gRPC (authrules.RULES); /openapi.json against the routes and
the OpenAPI 3.0 schema. Each suite runs on herdd's own HTTP port and on
herd-gateway in front of a separate herdd."""
import gzip
import json
import os
import re
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from authrules import RULES, TOKENS, WORKLOADS, contains
from herdprocess import HerdGateway, Herdd, herd_pb2
from simcluster import SimCluster, deployment

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL = {"OPERATION_STATE_SUCCEEDED", "OPERATION_STATE_FAILED", "OPERATION_STATE_CANCELLED",
         "OPERATION_STATE_ROLLED_BACK"}


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"HTTP {self.status}: {self.body[:2000]!r}"


def call(base, method, path, body=None, headers=None, raw=None, timeout=30):
    """One HTTP request with urllib; any status is a Reply."""
    data = json.dumps(body).encode() if body is not None else raw
    req = urllib.request.Request(base + path, method=method, data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read())


def curl(*args, timeout=60):
    """The real curl; its stdout (the body)."""
    p = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"curl {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def watch(base, name, sse=False, timeout=60):
    """GET /v1/{name}:watch to its end: the messages ({"result"} or {"error"})."""
    headers = {"Accept": "text/event-stream"} if sse else {}
    req = urllib.request.Request(f"{base}/v1/{name}:watch", headers=headers)
    out = []
    deadline = time.monotonic() + timeout
    with urllib.request.urlopen(req, timeout=timeout) as r:
        want = "text/event-stream" if sse else "application/x-ndjson"
        assert r.headers["Content-Type"] == want, r.headers
        event = None
        for raw in r:
            assert time.monotonic() < deadline, "the watch did not end in time"
            line = raw.decode().rstrip("\n")
            if not sse:
                if line:
                    out.append(json.loads(line))
                continue
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                item = json.loads(line[len("data: "):])
                assert (event == "error") == ("error" in item), (event, item)
                out.append(item)
                event = None
    return out


class Cluster:
    """One kubesim and the workloads every REST suite uses."""

    @staticmethod
    def start():
        cluster = SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0"]).__enter__()
        for ns in ("shop", "batch", "kube-system"):
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for ns, name in WORKLOADS:
            m = deployment(name, f"{name}:1", replicas=1)
            m["metadata"]["namespace"] = ns
            cluster.apply(m)
        return cluster

    @staticmethod
    def deploy(cluster, ns, name, image, replicas):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        m = deployment(name, image, replicas=replicas)
        m["metadata"]["namespace"] = ns
        cluster.apply(m)
        cluster.kubectl("-n", ns, "rollout", "status", f"deploy/{name}", "--timeout=60s")


class RestSuite:
    """The REST tests; a subclass says where REST is served (`cls.base`)."""

    @classmethod
    def tearDownClass(cls):
        for c in reversed(cls.contexts):
            c.__exit__(None, None, None)

    def rest(self, method, path, body=None, **kw):
        return call(self.base, method, path, body, **kw)

    def ok(self, method, path, body=None, **kw):
        r = self.rest(method, path, body, **kw)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        return r.json()

    def error(self, status, code, method, path, body=None, says="", **kw):
        r = self.rest(method, path, body, **kw)
        self.assertEqual(r.status, status, r)
        j = r.json()
        self.assertEqual(sorted(j), ["code", "details", "message"], j)
        self.assertEqual(j["code"], code, j)
        self.assertIn(says, j["message"])
        return j

    def wait_final(self, name, sse=False):
        items = watch(self.base, name, sse=sse)
        self.assertTrue(items, "the watch sent nothing")
        self.assertNotIn("error", items[-1], items[-1])
        final = items[-1]["result"]
        self.assertIn(final["state"], FINAL, final)
        return items, final

    def images(self, ns, app):
        out = self.cluster.kubectl("-n", ns, "get", "pods", "-l", f"app={app}",
                                   "-o", "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}")
        return sorted(out.split())

    def operations_in(self, ns):
        return self.ok("GET", f"/v1/operations?namespace={ns}").get("operations", [])

    # ---------------------------------------------------------------- tests

    def test_a_ci_job_rolls_out_with_curl_and_follows_the_ndjson_watch(self):
        Cluster.deploy(self.cluster, "ci", "web", "web:1", 3)
        # As README.md shows it: curl -d, no Content-Type given.
        body = curl("-X", "POST", f"{self.base}/v1/namespaces/ci/deployments/web:rollout",
                    "-H", "X-Request-Id: build-17",
                    "-d", json.dumps({"images": {"web": "web:2"},
                                      "options": {"reason": "release 42", "requestId": "ci-run-1"}}))
        op = json.loads(body)
        self.assertEqual(op["kind"], "OPERATION_KIND_ROLLOUT")
        self.assertEqual(op["target"], "namespaces/ci/deployments/web")
        self.assertEqual(op["reason"], "release 42")
        self.assertRegex(op["name"], r"^operations/")
        # curl -N follows the stream to its end.
        lines = curl("-N", f"{self.base}/v1/{op['name']}:watch").splitlines()
        items = [json.loads(line) for line in lines if line]
        self.assertEqual(items[-1]["result"]["state"], "OPERATION_STATE_SUCCEEDED", items[-1])
        self.assertEqual(items[-1]["result"]["progress"]["ready"], 3)
        self.assertTrue(all("result" in i for i in items), items)
        self.assertEqual(self.images("ci", "web"), ["web:2"] * 3)
        # The same request id: the same operation.
        again = self.ok("POST", "/v1/namespaces/ci/deployments/web:rollout",
                        {"images": {"web": "web:2"}, "options": {"request_id": "ci-run-1"}})
        self.assertEqual(again["name"], op["name"])
        got = self.ok("GET", f"/v1/{op['name']}")
        self.assertEqual(got["state"], "OPERATION_STATE_SUCCEEDED")

    def test_a_rollout_followed_as_server_sent_events_and_a_failure_rolled_back(self):
        Cluster.deploy(self.cluster, "sse", "web", "web:1", 2)
        op = self.ok("POST", "/v1/namespaces/sse/deployments/web:rollout", {"images": {"web": "web:2"}})
        items, final = self.wait_final(op["name"], sse=True)
        self.assertEqual(final["state"], "OPERATION_STATE_SUCCEEDED")
        # A crash-looping image fails and rolls back; the stream says so.
        op = self.ok("POST", "/v1/namespaces/sse/deployments/web:rollout",
                     {"images": {"web": "web:3-crashloop"}, "deadline": "20s"})
        items, final = self.wait_final(op["name"])
        self.assertEqual(final["state"], "OPERATION_STATE_ROLLED_BACK", final)
        self.assertEqual(final["failure"]["reason"], "FAILURE_REASON_CRASH_LOOP_BACK_OFF")
        self.assertEqual(self.images("sse", "web"), ["web:2"] * 2)

    def test_a_watch_the_client_leaves_is_cancelled(self):
        Cluster.deploy(self.cluster, "leave", "web", "web:1", 1)
        op = self.ok("POST", "/v1/namespaces/leave/deployments/web:rollout", {"images": {"web": "web:2-slow5s"}})
        before = self.ended_watches("Canceled")
        req = urllib.request.Request(f"{self.base}/v1/{op['name']}:watch")
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertIn("result", json.loads(r.readline()))
        # herdd's WatchOperation call ends (its thread is free) while the
        # rollout still runs.
        deadline = time.monotonic() + 10
        while self.ended_watches("Canceled") == before:
            self.assertLess(time.monotonic(), deadline, "the watch went on after the client left")
            time.sleep(0.05)
        self.assertNotIn(self.ok("GET", f"/v1/{op['name']}")["state"], FINAL)
        self.wait_final(op["name"])

    def ended_watches(self, code):
        """WatchOperation calls herdd has finished with the status `code`
        (as grpc_code names it: "Canceled", "OK")."""
        with urllib.request.urlopen(f"http://{self.herdd.http_address}/metrics", timeout=10) as r:
            text = r.read().decode()
        return sum(float(v) for labels, v in re.findall(
            r'^grpc_server_handled_total\{([^}]*)\} (\S+)$', text, re.M)
            if 'grpc_method="WatchOperation"' in labels and f'grpc_code="{code}"' in labels)

    def test_every_other_rpc_on_its_route(self):
        c = self.cluster
        Cluster.deploy(c, "rpcs", "api", "api:1", 2)
        c.apply({"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": {"name": "queue", "namespace": "rpcs"},
                 "spec": {"replicas": 1, "serviceName": "queue", "selector": {"matchLabels": {"app": "queue"}},
                          "template": {"metadata": {"labels": {"app": "queue"}},
                                       "spec": {"containers": [{"name": "queue", "image": "queue:1"}]}}}})
        c.apply({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "rpcs"},
                 "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                     "restartPolicy": "Never", "containers": [{"name": "report", "image": "report:1"}]}}}}}})
        c.kubectl("-n", "rpcs", "rollout", "status", "sts/queue", "--timeout=60s")
        # Reads: GetWorkload (three bindings), ListWorkloads (two), query parameters.
        w = self.ok("GET", "/v1/namespaces/rpcs/deployments/api")
        self.assertEqual((w["name"], w["kind"], w["desiredReplicas"]), ("api", "Deployment", 2))
        self.assertEqual(self.ok("GET", "/v1/namespaces/rpcs/statefulsets/queue")["kind"], "StatefulSet")
        self.assertEqual(self.ok("GET", "/v1/namespaces/rpcs/cronjobs/report")["schedule"], "0 3 * * *")
        listed = self.ok("GET", "/v1/namespaces/rpcs/workloads?kind=deployments")
        self.assertEqual([x["name"] for x in listed["workloads"]], ["api"])
        listed = self.ok("GET", "/v1/namespaces/rpcs/workloads?kind=statefulsets")
        self.assertEqual([x["name"] for x in listed["workloads"]], ["queue"])
        listed = self.ok("GET", "/v1/namespaces/rpcs/workloads?labelSelector=app%3Dapi")
        self.assertEqual([x["name"] for x in listed["workloads"]], ["api"])
        page = self.ok("GET", "/v1/workloads?page_size=1&namespace=rpcs")
        self.assertEqual(len(page["workloads"]), 1)
        rest = self.ok("GET", f"/v1/workloads?namespace=rpcs&pageSize=5&pageToken={page['nextPageToken']}")
        self.assertEqual(len(rest["workloads"]), 2)

        def run(method, path, body, kind):
            op = self.ok(method, path, body)
            self.assertEqual(op["kind"], kind, op)
            _, final = self.wait_final(op["name"])
            self.assertEqual(final["state"], "OPERATION_STATE_SUCCEEDED", final)
            return final

        run("POST", "/v1/namespaces/rpcs/deployments/api:scale", {"replicas": 3}, "OPERATION_KIND_SCALE")
        self.assertEqual(self.ok("GET", "/v1/namespaces/rpcs/deployments/api")["readyReplicas"], 3)
        run("POST", "/v1/namespaces/rpcs/statefulsets/queue:scale", {"delta": 1}, "OPERATION_KIND_SCALE")
        run("POST", "/v1/namespaces/rpcs/deployments/api:rollout", {"images": {"api": "api:2"}, "strategy": "ROLLOUT_STRATEGY_ROLLING"},
            "OPERATION_KIND_ROLLOUT")
        run("POST", "/v1/namespaces/rpcs/deployments/api:undo", {}, "OPERATION_KIND_UNDO")
        self.assertEqual(self.images("rpcs", "api"), ["api:1"] * 3)
        run("POST", "/v1/namespaces/rpcs/statefulsets/queue:rollout", {"images": {"queue": "queue:2"}},
            "OPERATION_KIND_ROLLOUT")
        run("POST", "/v1/namespaces/rpcs/statefulsets/queue:undo", {"toRevision": "1"}, "OPERATION_KIND_UNDO")
        run("POST", "/v1/namespaces/rpcs/deployments/api:purge", {"mode": "PURGE_MODE_BURN"}, "OPERATION_KIND_PURGE")
        run("POST", "/v1/namespaces/rpcs/statefulsets/queue:purge", {}, "OPERATION_KIND_PURGE")
        run("POST", "/v1/namespaces/rpcs/pods:purge", {"labelSelector": "app=api", "olderThan": "0s"},
            "OPERATION_KIND_PURGE")
        final = run("POST", "/v1/namespaces/rpcs/pods:kill", {"labelSelector": "app=api", "maxPods": 3},
                    "OPERATION_KIND_KILL")
        self.assertEqual(final["progress"]["killed"], 3)
        run("POST", "/v1/namespaces/rpcs/cronjobs/report:suspend", {}, "OPERATION_KIND_CRONJOB_SUSPEND")
        self.assertTrue(self.ok("GET", "/v1/namespaces/rpcs/cronjobs/report")["suspended"])
        run("POST", "/v1/namespaces/rpcs/cronjobs/report:resume", {}, "OPERATION_KIND_CRONJOB_RESUME")
        run("POST", "/v1/namespaces/rpcs/cronjobs/report:run", {"options": {"reason": "now"}},
            "OPERATION_KIND_CRONJOB_RUN")
        run("POST", "/v1/namespaces/rpcs/cronjobs/report:killJobs", {}, "OPERATION_KIND_CRONJOB_KILL_JOBS")
        # A dry run plans and touches nothing.
        plan = self.ok("POST", "/v1/namespaces/rpcs/deployments/api:scale",
                       {"replicas": 9, "options": {"dryRun": True}})
        self.assertTrue(plan["dryRun"])
        self.assertEqual(self.ok("GET", "/v1/namespaces/rpcs/deployments/api")["desiredReplicas"], 3)
        # ListOperations with repeated enum query parameters; Get; Cancel.
        ops = self.ok("GET", "/v1/operations?namespace=rpcs&states=OPERATION_STATE_SUCCEEDED"
                             "&states=OPERATION_STATE_FAILED")["operations"]
        self.assertGreaterEqual(len(ops), 14)
        self.assertTrue(all(o["state"] == "OPERATION_STATE_SUCCEEDED" for o in ops))
        target = self.ok("GET", "/v1/operations?target=namespaces/rpcs/deployments/api&pageSize=2")
        self.assertEqual(len(target["operations"]), 2)
        self.assertTrue(target["nextPageToken"])
        op = self.ok("POST", "/v1/namespaces/rpcs/deployments/api:rollout", {"images": {"api": "api:3-slow5s"}})
        cancelled = self.ok("POST", f"/v1/{op['name']}:cancel", {"reason": "wrong image"})
        self.assertEqual(cancelled["name"], op["name"])
        _, final = self.wait_final(op["name"])
        self.assertIn(final["state"], {"OPERATION_STATE_CANCELLED", "OPERATION_STATE_ROLLED_BACK"}, final)

    def test_policies_on_their_routes(self):
        c = self.cluster
        Cluster.deploy(c, "pol", "api", "api:1", 2)
        body = {"description": "nightly scale-down",
                "schedule": {"cron": "0 22 * * *", "timeZone": "America/New_York",
                             "scale": {"workload": "namespaces/pol/deployments/api", "replicas": 1}}}
        p = self.ok("POST", "/v1/policies?policyId=night", body)
        self.assertEqual((p["name"], p["creator"]), ("policies/night", "anonymous"))
        self.assertEqual(len(p["nextRuns"]), 3)
        self.error(409, 6, "POST", "/v1/policies?policyId=night", body, says="already exists")
        self.error(404, 5, "POST", "/v1/policies?policyId=gone",
                   {"schedule": {"cron": "@daily", "scale": {"workload": "namespaces/pol/deployments/nope",
                                                             "replicas": 1}}}, says="not found")
        self.error(400, 3, "POST", "/v1/policies?policyId=bad",
                   {"schedule": {"cron": "@daily", "timeZone": "Mars/Olympus",
                                 "scale": {"workload": "namespaces/pol/deployments/api", "replicas": 1}}},
                   says="schedule.time_zone")
        self.assertEqual([x["name"] for x in self.ok("GET", "/v1/policies")["policies"]], ["policies/night"])
        self.assertEqual(self.ok("GET", "/v1/policies/night")["description"], "nightly scale-down")
        paused = self.ok("POST", "/v1/policies/night:pause", {"reason": "freeze"})
        self.assertTrue(paused["paused"])
        self.assertNotIn("nextRuns", paused)
        self.assertFalse(self.ok("POST", "/v1/policies/night:resume", {}).get("paused", False))
        self.assertEqual(self.ok("DELETE", "/v1/policies/night")["name"], "policies/night")
        self.error(404, 5, "GET", "/v1/policies/night", says="not found")
        self.assertEqual(self.ok("GET", "/v1/policies").get("policies", []), [])

    def test_grpc_errors_map_to_http_statuses(self):
        Cluster.deploy(self.cluster, "errs", "web", "web:1", 1)
        # NOT_FOUND 404, INVALID_ARGUMENT 400, PERMISSION_DENIED 403.
        self.error(404, 5, "POST", "/v1/namespaces/errs/deployments/nope:rollout", {"images": {"x": "x:1"}},
                   says="nope")
        self.error(404, 5, "GET", "/v1/operations/no-such-op", says="no-such-op")
        self.error(400, 3, "POST", "/v1/namespaces/errs/deployments/web:rollout",
                   {"images": {"web": "web:2"}, "options": {"reason": "x" * 1025}}, says="reason")
        self.error(403, 7, "POST", "/v1/namespaces/kube-system/deployments/coredns:rollout",
                   {"images": {"coredns": "x:1"}}, says="kube-system")
        # ABORTED 409: one mutation per workload at a time.
        op = self.ok("POST", "/v1/namespaces/errs/deployments/web:rollout", {"images": {"web": "web:2-slow2s"}})
        self.error(409, 10, "POST", "/v1/namespaces/errs/deployments/web:scale", {"replicas": 2},
                   says=op["name"].split("/")[-1])
        self.wait_final(op["name"])
        # FAILED_PRECONDITION 400: cancelling what has ended; the kill guard.
        self.error(400, 9, "POST", f"/v1/{op['name']}:cancel", {}, says="already ended")
        Cluster.deploy(self.cluster, "errs", "many", "many:1", 2)
        self.error(400, 9, "POST", "/v1/namespaces/errs/pods:kill", {"labelSelector": "app=many", "maxPods": 1},
                   says="max_pods")
        # DEADLINE_EXCEEDED: Grpc-Timeout is the call's deadline. A read is
        # answered from herdd's cache faster than any deadline can pass, so
        # a stream that outlives its deadline proves it; it has begun, so it
        # says so on its last line (the 504 of a unary call is gateway_test's).
        op = self.ok("POST", "/v1/namespaces/errs/deployments/web:rollout", {"images": {"web": "web:3-slow2s"}})
        r = self.rest("GET", f"/v1/{op['name']}:watch", headers={"Grpc-Timeout": "300m"})
        self.assertEqual(r.status, 200, r)
        lines = r.body.decode().splitlines()
        self.assertIn("result", json.loads(lines[0]))
        self.assertEqual(json.loads(lines[-1])["error"]["code"], 4, lines[-1])
        self.wait_final(op["name"])
        # RESOURCE_EXHAUSTED 429: the API server throttles every write herdd
        # makes to start an operation (kubectl and the observer spared).
        faults = {"failNext": {"create": 1 << 20}, "errorCode": 429, "retryAfterSeconds": 0, "userAgent": "herd/"}
        self.cluster.kubectl("replace", "--raw", "/kubesim/faults", "-f", "-", input=json.dumps(faults))
        try:
            self.error(429, 8, "POST", "/v1/namespaces/errs/deployments/web:scale", {"replicas": 3},
                       says="Too many requests")
        finally:
            self.cluster.kubectl("replace", "--raw", "/kubesim/faults", "-f", "-", input="{}")
        self.assertEqual(self.cluster.json("-n", "errs", "get", "deploy/web")["spec"]["replicas"], 1)

    def test_bad_requests_are_refused_by_the_gateway_and_reach_no_engine(self):
        Cluster.deploy(self.cluster, "bad", "web", "web:1", 1)
        path = "/v1/namespaces/bad/deployments/web:rollout"
        j = self.error(400, 3, "POST", path, raw=b'{"images": {"web": ', says="malformed JSON body")
        j = self.error(400, 3, "POST", path, {"images": {"web": "web:2"}, "colour": "red"}, says="colour")
        j = self.error(400, 3, "POST", path, {"images": {"web": "web:2"}, "restart": "very"}, says="restart")
        j = self.error(400, 3, "POST", path, {"images": {"web": "web:2"}, "strategy": "SIDEWAYS"}, says="strategy")
        self.error(400, 3, "GET", "/v1/workloads?colour=red", says='unknown query parameter "colour"')
        self.error(400, 3, "GET", "/v1/workloads?pageSize=ten", says="not a 32-bit integer")
        self.error(400, 3, "GET", "/v1/namespaces/bad/deployments/web", {"x": 1}, says="takes no body")
        self.error(404, 5, "GET", "/v1/namespaces/bad/frobnicators/web", says="no route for GET")
        self.error(404, 5, "POST", "/v1/operations:explode", {}, says="no route")
        r = self.rest("DELETE", "/v1/namespaces/bad/deployments/web")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.headers["Allow"], "GET")
        self.assertIn("DELETE is not allowed", r.json()["message"])
        r = self.rest("POST", path, raw=b"<images/>", headers={"Content-Type": "application/xml"})
        self.assertEqual(r.status, 415, r)
        # Nothing reached an engine: no operation, the image unchanged.
        self.assertEqual(self.operations_in("bad"), [])
        self.assertEqual(self.images("bad", "web"), ["web:1"])
        del j

    def test_headers_request_ids_metadata_and_gzip(self):
        r = self.rest("GET", "/v1/workloads", headers={"X-Request-Id": "trace-9"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["X-Request-Id"], "trace-9")
        self.assertRegex(self.rest("GET", "/v1/workloads").headers["X-Request-Id"], r"^[0-9a-f]{16}$")
        self.assertEqual(self.rest("GET", "/v1/nothing").headers["X-Request-Id"] is not None, True)
        # gzip when asked: urllib sees the raw bytes, curl --compressed decodes.
        r = self.rest("GET", "/openapi.json", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.headers["Content-Encoding"], "gzip")
        doc = json.loads(gzip.decompress(r.body))
        self.assertEqual(doc["openapi"], "3.0.3")
        self.assertEqual(json.loads(curl("--compressed", f"{self.base}/openapi.json")), doc)
        self.assertIsNone(self.rest("GET", "/openapi.json").headers["Content-Encoding"])
        # A gzipped request body.
        r = self.rest("POST", "/v1/namespaces/shop/deployments/web:scale",
                      raw=gzip.compress(json.dumps({"replicas": 1, "options": {"dryRun": True}}).encode()),
                      headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["dryRun"])

    def test_openapi_document_matches_the_routes_and_validates(self):
        doc = self.ok("GET", "/openapi.json")
        served = routes_from_annotations()
        documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
        self.assertEqual(documented, {(m, openapi_path(t)) for m, t, _ in served})
        validate_openapi(self, doc)
        # Every documented route answers with something other than "no route".
        for method, template, _ in served:
            path = re.sub(r"\{[^}]+\}", "x", openapi_path(template))
            r = self.rest(method, path, {} if method == "POST" else None)
            self.assertNotIn("no route", r.json().get("message", "") if r.body.startswith(b"{") else "", (method, path))


def routes_from_annotations():
    """(HTTP method, path template, RPC) of every google.api.http binding in
    herd.proto, read with Python's protobuf — independent of the gateway."""
    from google.api import annotations_pb2
    out = []
    for m in herd_pb2.DESCRIPTOR.services_by_name["Herd"].methods:
        rule = m.GetOptions().Extensions[annotations_pb2.http]
        for r in [rule, *rule.additional_bindings]:
            kind = r.WhichOneof("pattern")
            out.append((kind.upper(), getattr(r, kind), m.name))
    return out


def openapi_path(template):
    """"/v1/{workload=namespaces/*/deployments/*}:rollout" → OpenAPI's
    "/v1/namespaces/{namespace}/deployments/{deployment}:rollout"."""
    def expand(m):
        if "=" not in m.group(1):
            return "{" + m.group(1) + "}"
        parts = m.group(1).split("=", 1)[1].split("/")
        return "/".join("{" + parts[i - 1].rstrip("s") + "}" if p == "*" else p for i, p in enumerate(parts))
    return re.sub(r"\{([^}]+)\}", expand, template)


def validate_openapi(test, doc):
    """The official OpenAPI 3.0 JSON Schema (vendored: testdata/openapi), and
    what it cannot say: unique operationIds, path parameters declared."""
    import jsonschema
    with open(os.path.join(HERE, "testdata", "openapi", "oas-3.0-schema.json")) as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    test.assertEqual([f"{list(e.path)}: {e.message}" for e in errors[:5]], [])
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    test.assertEqual(len(ids), len(set(ids)))
    for path, ops in doc["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            test.assertEqual(declared, set(re.findall(r"\{(\w+)\}", path)), path)
            test.assertTrue(op.get("description"), f"{path}: no description from the proto comments")


class RestOnHerddTest(RestSuite, unittest.TestCase):
    """REST on herdd's own HTTP port (the in-process gateway)."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster.start()
        cls.herdd = Herdd(cls.cluster).__enter__()
        cls.contexts = [cls.cluster, cls.herdd]
        cls.base = f"http://{cls.herdd.http_address}"


class RestThroughHerdGatewayTest(RestSuite, unittest.TestCase):
    """REST on herd-gateway in front of a separate herdd's gRPC port."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster.start()
        cls.herdd = Herdd(cls.cluster).__enter__()
        cls.gateway = HerdGateway(cls.herdd.grpc_address).__enter__()
        cls.contexts = [cls.cluster, cls.herdd, cls.gateway]
        cls.base = f"http://{cls.gateway.http_address}"

    def test_an_unreachable_herdd_is_unavailable(self):
        with HerdGateway("127.0.0.1:1") as gw:
            r = call(f"http://{gw.http_address}", "GET", "/v1/workloads", headers={"Grpc-Timeout": "5S"})
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json()["code"], 14)

    def test_both_serve_the_same_openapi_document(self):
        mine = call(self.base, "GET", "/openapi.json").json()
        herdds = call(f"http://{self.herdd.http_address}", "GET", "/openapi.json").json()
        self.assertEqual(mine, herdds)


class RestAuthRulesTest(unittest.TestCase):
    """authrules.RULES over REST, on herdd and on herd-gateway: the same
    answers as over gRPC (herdd_flags_test), as HTTP statuses."""

    HTTP = {"OK": 200, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403}
    CODES = {"UNAUTHENTICATED": 16, "PERMISSION_DENIED": 7}

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.cluster = Cluster.start()
        cls.tokens = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        cls.tokens.write(TOKENS)
        cls.tokens.close()
        cls.herdd = Herdd(cls.cluster, f"--tokens-file={cls.tokens.name}", insecure=False).__enter__()
        cls.gateway = HerdGateway(cls.herdd.grpc_address).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.gateway.__exit__(None, None, None)
        cls.herdd.__exit__(None, None, None)
        cls.cluster.__exit__(None, None, None)
        os.unlink(cls.tokens.name)

    def test_every_rule_answers_as_on_grpc(self):
        routes = {}
        for method, template, rpc in routes_from_annotations():
            routes.setdefault(rpc, (method, template))
        for where, base in (("herdd", f"http://{self.herdd.http_address}"),
                            ("herd-gateway", f"http://{self.gateway.http_address}")):
            for rule in RULES:
                with self.subTest(where=where, case=rule.case):
                    method, path, body = rest_request(*routes[rule.rpc], rule.request)
                    headers = {"Authorization": f"Bearer {rule.token}"} if rule.token else {}
                    r = call(base, method, path, body, headers=headers)
                    self.assertEqual(r.status, self.HTTP[rule.code], r)
                    j = r.json()
                    if rule.code == "OK":
                        self.assertTrue(contains(j, rule.reply), j)
                    else:
                        self.assertEqual(j["code"], self.CODES[rule.code])
                        self.assertIn(rule.says, j["message"])


def rest_request(method, template, request):
    """The HTTP request for an RPC's request (protobuf JSON) on a route:
    path variables filled from the request, the rest as the body (POST) or
    the query (GET)."""
    request = dict(request)

    def fill(m):
        field = m.group(1).split("=")[0]
        camel = re.sub(r"_(\w)", lambda x: x.group(1).upper(), field)
        return request.pop(camel, request.pop(field, ""))
    path = re.sub(r"\{([^}]+)\}", fill, template)
    if method == "POST":
        return method, path, request
    query = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in request.items())
    return method, path + ("?" + query if query else ""), None


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Writes the seed corpora in test/fuzz/corpus/ from the unit tests' inputs
and from ../shared/k8s-reference (real API server answers and the requests
kubectl sends). Run from the repository root; it only adds or overwrites the
files it makes (seeds written by hand, and inputs a fuzzer found, stay).

    python3 test/fuzz/make_seeds.py
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(ROOT, "..", "shared", "k8s-reference")
OUT = os.path.join(ROOT, "test", "fuzz", "corpus")
MAX = 12000  # bytes per seed: small inputs fuzz faster


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def raw_strings(text):
    return re.findall(r'R"(\w*)\((.*?)\)\1"', text, re.S)


def strip_managed(obj):
    if isinstance(obj, dict):
        obj.pop("managedFields", None)
        for v in obj.values():
            strip_managed(v)
    elif isinstance(obj, list):
        for v in obj:
            strip_managed(v)
    return obj


def reference_files():
    """(name, request lines, body) of every capture: `#` lines then the answer."""
    out = []
    for base in (REF, os.path.join(ROOT, "server", "kube", "testdata")):
        if not os.path.isdir(base):
            continue
        for fn in sorted(os.listdir(base)):
            if not fn.endswith(".txt"):
                continue
            with open(os.path.join(base, fn), encoding="utf-8", errors="replace") as f:
                lines = f.read().split("\n")
            head = [l for l in lines if l.startswith("#")]
            body = "\n".join(l for l in lines if not l.startswith("#"))
            out.append((fn[:-4], head, body))
    return out


def json_docs(body):
    """The JSON documents in a body: one whole document, or one per line."""
    try:
        return [json.loads(body)]
    except ValueError:
        docs = []
        for line in body.split("\n"):
            line = line.strip()
            if line.startswith("{"):
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    pass
        return docs


def kube_types(refs):
    for name, _, body in refs:
        docs = [strip_managed(d) for d in json_docs(body)]
        if len(docs) == 1:
            write("kube_types", name, json.dumps(docs[0], separators=(",", ":")))
        elif docs:
            # A watch stream: one event per line.
            write("kube_types", name, "\n".join(json.dumps(d, separators=(",", ":")) for d in docs[:12]) + "\n")


def kubeconfig():
    for i, (_, s) in enumerate(raw_strings(read("server", "kube", "config_test.cc"))):
        if "clusters" in s or "contexts" in s or "users" in s:
            write("kubeconfig", "config_test-%02d" % i, s.lstrip("\n"))


def policy():
    text = read("server", "auth", "policy_test.cc") + read("server", "auth", "authenticator_test.cc")
    files = [s for _, s in raw_strings(text)]
    files += [m.encode().decode("unicode_escape") for m in re.findall(r'"(principals:(?:[^"\\]|\\.)*)"', text)]
    for i, s in enumerate(f for f in files if "principals" in f):
        write("policy", "policy_test-%02d" % i, s.lstrip("\n") + "\nBearer kq3-shop\nshop\nweb-1\n")


def selector():
    text = read("common", "k8s", "selector_test.cc")
    seen = set()
    for m in re.finditer(r'(?:Parse|MustParse|ParseError|FieldError|LabelError)\w*\("((?:[^"\\]|\\.)*)"', text):
        s = m.group(1).encode().decode("unicode_escape")
        if s in seen:
            continue
        seen.add(s)
        write("selector", "selector_test-%03d" % len(seen), s + "\napp=web\ntier=api\nreplicas=3\nspec.nodeName=n1\n")
    for i, (_, s) in enumerate(raw_strings(text)):
        if s.strip().startswith("{"):
            write("selector", "selector_test-json-%02d" % i, s)


def herdctl_args():
    text = read("client", "herdctl_args_test.cc")
    for i, m in enumerate(re.finditer(r'Parse\(\{(.*?)\}\)', text, re.S)):
        args = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
        if args:
            write("herdctl_args", "herdctl_args_test-%02d" % i, "\n".join(args))


def cron():
    text = read("sim", "controllers", "controllers_test.cc")
    specs = set(re.findall(r'(?:next|error|CronSchedule::Parse)\("((?:[^"\\]|\\.)*)"', text))
    specs |= set(re.findall(r'CronJob\("\w+", "([^"]*)"', text))
    for i, s in enumerate(sorted(specs)):
        write("cron", "controllers_test-%02d" % i, s)


def patch(refs):
    docs = []
    for _, s in raw_strings(read("sim", "patch", "patch_test.cc")):
        try:
            docs.append(json.loads(s))
        except ValueError:
            pass
    kinds = ["strategic Deployment", "merge Deployment", "json Deployment", "strategic Pod",
             "strategic StatefulSet", "strategic CronJob", "merge Pod", "json Pod"]
    for i in range(len(docs) - 1):
        original, p = docs[i], docs[i + 1]
        if not isinstance(original, dict):
            continue
        kind = kinds[i % len(kinds)]
        if kind.startswith("json") and not isinstance(p, list):
            kind = "strategic " + kind.split()[1]
        write("patch", "patch_test-%02d" % i,
              "%s\n%s\n---\n%s\n" % (kind, json.dumps(original), json.dumps(p)))
    for name, head, body in refs:
        m = [l for l in head if l.startswith("#   {")]
        ct = [l for l in head if "Content-Type" in l]
        docs = json_docs(body)
        if m and ct and len(docs) == 1:
            kind = {"strategic-merge": "strategic", "merge-patch": "merge", "json-patch": "json"}
            t = next((v for k, v in kind.items() if k in ct[0]), "strategic")
            write("patch", "ref-" + name, "%s %s\n%s\n---\n%s\n" % (
                t, docs[0].get("kind", "Deployment"), json.dumps(strip_managed(docs[0])), m[0][4:]))


def kubesim_http(refs):
    def request(method, path, headers=(), body=""):
        h = ["Host: 127.0.0.1:6443", "User-Agent: kubectl/v1.32.0", "Accept: application/json"] + list(headers)
        if body:
            h.append("Content-Length: %d" % len(body.encode()))
        return "%s %s HTTP/1.1\r\n%s\r\n\r\n%s" % (method, path, "\r\n".join(h), body)

    # The requests the captures start with.
    for name, head, body in refs:
        if not head:
            continue
        m = re.match(r"# (GET|POST|PUT|PATCH|DELETE) (\S+)", head[0])
        if not m:
            continue
        headers = [l[4:].strip() for l in head[1:] if re.match(r"#   [A-Za-z-]+: ", l)]
        bodies = [l[4:] for l in head[1:] if l.startswith("#   {") or l.startswith("#   [")]
        write("kubesim_http", "ref-" + name, request(m.group(1), m.group(2), headers, bodies[0] if bodies else ""))
    # kubectl's request sequences, bodies made up where the capture has none.
    kubectl = os.path.join(REF, "kubectl")
    if os.path.isdir(kubectl):
        for fn in sorted(os.listdir(kubectl)):
            with open(os.path.join(kubectl, fn), encoding="utf-8") as f:
                reqs = []
                for line in f:
                    m = re.match(r"(GET|POST|PUT|PATCH|DELETE) (\S+)", line)
                    if not m:
                        continue
                    method, path = m.groups()
                    if method == "PATCH":
                        reqs.append(request(method, path, ["Content-Type: application/strategic-merge-patch+json"],
                                            '{"spec":{"replicas":2}}'))
                    elif method in ("POST", "PUT"):
                        reqs.append(request(method, path, ["Content-Type: application/json"],
                                            '{"apiVersion":"v1","kind":"Eviction","metadata":{"name":"x"}}'))
                    else:
                        reqs.append(request(method, path))
                write("kubesim_http", "kubectl-" + fn[:-4], "".join(reqs[:10]))
    # A lifecycle in one input: create, read, patch three ways, watch, table, delete.
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}}
    base = "/apis/apps/v1/namespaces/shop/deployments"
    life = [
        request("POST", base, ["Content-Type: application/json"], json.dumps(deploy)),
        request("GET", base + "/web"),
        request("PATCH", base + "/web", ["Content-Type: application/strategic-merge-patch+json"],
                '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}}'),
        request("PATCH", base + "/web", ["Content-Type: application/merge-patch+json"], '{"metadata":{"labels":{"x":"y"}}}'),
        request("PATCH", base + "/web", ["Content-Type: application/json-patch+json"],
                '[{"op":"replace","path":"/spec/replicas","value":5}]'),
        request("GET", base + "?labelSelector=app%3Dweb&limit=1"),
        request("GET", base + "?watch=true&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=5"),
        request("GET", base, ["Accept: application/json;as=Table;v=v1;g=meta.k8s.io"]),
        request("PATCH", base + "/web/scale", ["Content-Type: application/merge-patch+json"], '{"spec":{"replicas":1}}'),
        request("DELETE", base + "/web", ["Content-Type: application/json"], '{"propagationPolicy":"Foreground"}'),
    ]
    write("kubesim_http", "lifecycle", "".join(life))
    write("kubesim_http", "faults", request("PUT", "/kubesim/faults", ["Content-Type: application/json"],
                                            '{"errorRate":{"get":1},"errorCode":429,"failNext":{"list":1}}') +
          request("GET", base) + request("GET", "/api/v1/pods"))
    write("kubesim_http", "discovery", request("GET", "/api") + request("GET", "/apis") + request("GET", "/version") +
          request("GET", "/openapi/v3") + request("GET", "/healthz"))


def duration():
    for i, d in enumerate(["30s", "90s", "10m", "1h30m", "7d", "500ms", "1.5h", "0", "0s", "-1s", "inf", "+inf",
                           "2562047h", "99999d", "1h2m3.5s", "1us", "1\u00b5s", "300ns", "15", "1e3s", " 1s"]):
        write("duration", "d%02d" % i, d)


def request():
    # First byte: the message type (see request_fuzzer.cc); then its JSON.
    reqs = [
        (0, {"workload": "namespaces/shop/deployments/web", "images": {"web": "shop/web:1.1"},
             "strategy": "ROLLOUT_STRATEGY_FAST", "deadline": "600s",
             "options": {"dryRun": True, "requestId": "ci-42", "reason": "release"}}),
        (0, {"workload": "namespaces/shop/statefulsets/db", "restart": True, "noRollback": True,
             "strategy": "ROLLOUT_STRATEGY_ROLLING"}),
        (1, {"workload": "namespaces/shop/deployments/web", "toRevision": "3", "strategy": 2}),
        (2, {"workload": "namespaces/shop/deployments/api", "replicas": 8, "hpaHold": "20s"}),
        (2, {"workload": "namespaces/shop/deployments/api", "delta": -2, "minReplicas": 1, "maxReplicas": 5}),
        (3, {"workload": "namespaces/shop/deployments/worker", "mode": "PURGE_MODE_BURN", "olderThan": "3600s",
             "batchSize": 2}),
        (3, {"namespace": "shop", "labelSelector": "app=web,tier in (a,b)"}),
        (4, {"namespace": "shop", "labelSelector": "app=web", "maxPods": 6, "gracePeriodSeconds": "5"}),
        (4, {"namespace": "shop", "pods": ["web-1", "web-2"], "force": True}),
        (5, {"cronjob": "namespaces/batch/cronjobs/report"}),
        (6, {"cronjob": "namespaces/batch/cronjobs/report", "options": {"reason": "maintenance"}}),
        (8, {"cronjob": "namespaces/batch/cronjobs/report"}),
        (9, {"name": "namespaces/shop/deployments/web"}),
        (10, {"namespace": "shop", "kind": "Deployment", "labelSelector": "app=web", "pageSize": 10, "pageToken": "10"}),
        (11, {"name": "operations/20261125-113045-k3x9q"}),
        (12, {"namespace": "shop", "states": ["OPERATION_STATE_RUNNING"], "pageSize": 2, "pageToken": "2147483647"}),
        (13, {"name": "operations/20261125-113045-k3x9q"}),
        (14, {"name": "operations/20261125-113045-k3x9q", "reason": "wrong image"}),
    ]
    for i, (t, body) in enumerate(reqs):
        write("request", "r%02d" % i, bytes([t]) + json.dumps(body).encode())
    # A stored record: kind byte, then the JSON.
    write("request", "record-rollout", bytes([15, 1]) + json.dumps(reqs[0][1]).encode())
    write("request", "record-kill", bytes([15, 5]) + json.dumps(reqs[7][1]).encode())


def main():
    refs = reference_files()
    if not any(n.startswith("discovery") for n, _, _ in refs):
        print("make_seeds: ../shared/k8s-reference not found; only the unit tests' inputs are used", file=sys.stderr)
    kube_types(refs)
    kubeconfig()
    policy()
    selector()
    herdctl_args()
    cron()
    patch(refs)
    kubesim_http(refs)
    duration()
    request()


if __name__ == "__main__":
    main()

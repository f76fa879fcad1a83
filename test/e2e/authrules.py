"""herdd's callers, their rules, and what each call of theirs gets: one
table that drives the gRPC suite (herdd_flags_test) and the REST suite
(rest_gateway_test), so that REST allows and refuses exactly as gRPC does.

    for rule in RULES:
        code, message, reply = call_over_grpc_or_rest(rule.token, rule.rpc, rule.request)
        assert code == rule.code and rule.says in message
"""
import collections

TOKENS = """
principals:
  - name: ci-shop
    token: t-shop
    clientCertCN: ci-shop.example.com
    rules:
      - verbs: [rollout, read]
        namespaces: [shop]
        workloads: ["web*"]
  - name: admin
    token: t-admin
    rules:
      - verbs: ["*"]
        namespaces: ["*"]
"""

# The workloads the table is about: Deployments shop/web, shop/api and
# kube-system/coredns, one replica each.
WORKLOADS = (("shop", "web"), ("shop", "api"), ("kube-system", "coredns"))


def _rollout(ns, name):
    return {"workload": f"namespaces/{ns}/deployments/{name}", "images": {name: "x:2"}, "options": {"dryRun": True}}


# `request` is the request message in protobuf's JSON form; `code` the gRPC
# status code's name; `says` a text the status message contains; `reply`
# fields the reply (in JSON form) must have when the call succeeds.
Rule = collections.namedtuple("Rule", "case token rpc request code says reply", defaults=("", {}))

RULES = (
    Rule("no token", None, "Rollout", _rollout("shop", "web"), "UNAUTHENTICATED", "authorization"),
    Rule("an unknown token", "nope", "Rollout", _rollout("shop", "web"), "UNAUTHENTICATED", "unknown"),
    Rule("a rollout within the rules", "t-shop", "Rollout", _rollout("shop", "web"), "OK",
         reply={"principal": "ci-shop", "dryRun": True}),
    Rule("another workload", "t-shop", "Rollout", _rollout("shop", "api"), "PERMISSION_DENIED", "ci-shop may not"),
    Rule("another verb", "t-shop", "Scale", {"workload": "namespaces/shop/deployments/web", "replicas": 2},
         "PERMISSION_DENIED", "ci-shop may not"),
    Rule("another namespace", "t-shop", "Rollout", _rollout("other", "web"), "PERMISSION_DENIED", "ci-shop may not"),
    Rule("a read within the rules", "t-shop", "GetWorkload", {"name": "namespaces/shop/deployments/web"}, "OK",
         reply={"name": "web", "namespace": "shop"}),
    Rule("a read outside them", "t-shop", "GetWorkload", {"name": "namespaces/shop/deployments/api"},
         "PERMISSION_DENIED", "ci-shop may not"),
    Rule("a list filtered by the rules", "t-shop", "ListWorkloads", {"namespace": "shop"}, "OK",
         reply={"workloads": [{"name": "web"}]}),
    Rule("a protected namespace, even for admin", "t-admin", "Rollout", _rollout("kube-system", "coredns"),
         "PERMISSION_DENIED", "kube-system"),
    Rule("admin elsewhere", "t-admin", "Scale",
         {"workload": "namespaces/shop/deployments/api", "replicas": 1, "options": {"dryRun": True}}, "OK",
         reply={"principal": "admin"}),
)


def contains(got, want):
    """Whether JSON value `got` has everything `want` has (lists: the same
    length, item by item)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and contains(got[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(contains(g, w) for g, w in zip(got, want))
    return got == want

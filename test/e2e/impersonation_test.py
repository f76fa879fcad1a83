"""herdd --impersonate against kubesim --authorization=rbac: herd's writes
carry Impersonate-User (the caller's principal) and Impersonate-Group (its
groups from the tokens file), so the cluster's RBAC decides. herdd asks the
cluster first (a SelfSubjectAccessReview per permission of the plan): a caller
herd's rules allow but the cluster's RBAC does not gets PERMISSION_DENIED
naming the cluster's refusal, the call starts nothing and changes nothing; one
the cluster allows gets its operation done, with no more than the permissions
its plan names. Without --impersonate, herd's own account does the writes."""
import json
import os
import tempfile
import unittest

import grpc

from simcluster import SimCluster
from herdprocess import Herdd, herd_pb2 as S

NS = "imp"
TOKENS = """principals:
  - name: deployer
    token: deployer-token
    groups: [shop-deployers]
    rules:
      - verbs: ["*"]
        namespaces: [imp]
  - name: looker
    token: looker-token
    groups: [shop-viewers]
    rules:
      - verbs: ["*"]
        namespaces: [imp]
  - name: minimal
    token: minimal-token
    groups: [shop-minimal]
    rules:
      - verbs: ["*"]
        namespaces: [imp]
"""


class ImpersonationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(extra_args=("--authorization=rbac",)).__enter__()
        c = cls.cluster
        c.kubectl("create", "namespace", NS)
        c.kubectl("-n", NS, "create", "deployment", "web", "--image=web:1", "--replicas=2")
        c.kubectl("-n", NS, "rollout", "status", "deploy/web", "--timeout=60s")
        c.kubectl("-n", NS, "create", "rolebinding", "deployers", "--clusterrole=edit", "--group=shop-deployers")
        c.kubectl("-n", NS, "create", "rolebinding", "viewers", "--clusterrole=view", "--group=shop-viewers")
        cls.dir = tempfile.mkdtemp(prefix="herd-imp-")
        cls.tokens = os.path.join(cls.dir, "tokens.yaml")
        with open(cls.tokens, "w") as f:
            f.write(TOKENS)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def replicas(self):
        return int(self.cluster.kubectl("-n", NS, "get", "deploy/web", "-o", "jsonpath={.spec.replicas}"))

    @staticmethod
    def auth(token):
        return [("authorization", f"Bearer {token}")]

    def scale(self, herdd, token, replicas, dry_run=False):
        auth = self.auth(token)
        req = S.ScaleRequest(workload=f"namespaces/{NS}/deployments/web", replicas=replicas)
        req.options.dry_run = dry_run
        op = herdd.stub().Scale(req, metadata=auth, timeout=30)
        *_, final = herdd.stub().WatchOperation(S.WatchOperationRequest(name=op.name), metadata=auth, timeout=60)
        return final

    def test_the_cluster_decides_what_each_caller_may_write(self):
        with Herdd(self.cluster, f"--tokens-file={self.tokens}", "--impersonate", insecure=False) as herdd:
            # Allowed by herd's rules, refused by the cluster's (view only):
            # refused before anything starts, dry run or not.
            for dry_run in (True, False):
                with self.assertRaises(grpc.RpcError) as ctx:
                    self.scale(herdd, "looker-token", 3, dry_run=dry_run)
                self.assertEqual(ctx.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
                self.assertIn('deployments.apps "web" is forbidden: User "looker" cannot update resource '
                              '"deployments/scale" in API group "apps" in the namespace "imp"',
                              ctx.exception.details())
            self.assertEqual(self.replicas(), 2, "a refused caller changes nothing")
            ops = herdd.stub().ListOperations(S.ListOperationsRequest(), metadata=self.auth("deployer-token"),
                                              timeout=10)
            self.assertEqual([o.name for o in ops.operations if o.target.endswith("/web")], [],
                             "a refused call starts no operation")
            # Allowed by both: edit through its group.
            final = self.scale(herdd, "deployer-token", 3)
            self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
            self.assertEqual(self.replicas(), 3)
            self.assertEqual(final.principal, "deployer")

    def test_the_plans_permissions_are_all_a_caller_needs(self):
        # A purge a pod at a time writes the most kinds of request: the
        # template and strategy, the scale subresource, deletion costs on
        # pods, evictions. A caller given only its dry run's permissions
        # (and view, to read) gets it done.
        with Herdd(self.cluster, f"--tokens-file={self.tokens}", "--impersonate", insecure=False) as herdd:
            req = S.PurgeRequest(workload=f"namespaces/{NS}/deployments/web", batch_size=1)
            req.options.dry_run = True
            plan = herdd.stub().Purge(req, metadata=self.auth("deployer-token"), timeout=30).plan
            rules = [{"apiGroups": [p.group], "verbs": [p.verb],
                      "resources": [p.resource + ("/" + p.subresource if p.subresource else "")],
                      **({"resourceNames": [p.name]} if p.name else {})} for p in plan.permissions]
            self.assertEqual(sorted((r["verbs"][0], r["resources"][0]) for r in rules),
                             [("create", "pods/eviction"), ("patch", "deployments"), ("patch", "pods"),
                              ("update", "deployments/scale")])
            role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "purge-web", "namespace": NS}, "rules": rules}
            path = os.path.join(self.dir, "role.json")
            with open(path, "w") as f:
                json.dump(role, f)
            c = self.cluster
            c.kubectl("apply", "-f", path)
            c.kubectl("-n", NS, "create", "rolebinding", "minimal-purge", "--role=purge-web", "--group=shop-minimal")
            c.kubectl("-n", NS, "create", "rolebinding", "minimal-view", "--clusterrole=view", "--group=shop-minimal")
            old = set(c.kubectl("-n", NS, "get", "pods", "-l", "app=web", "-o",
                                "jsonpath={.items[*].metadata.name}").split())
            req.options.dry_run = False
            op = herdd.stub().Purge(req, metadata=self.auth("minimal-token"), timeout=30)
            *_, final = herdd.stub().WatchOperation(S.WatchOperationRequest(name=op.name),
                                                    metadata=self.auth("minimal-token"), timeout=120)
            self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
            now = set(c.kubectl("-n", NS, "get", "pods", "-l", "app=web", "-o",
                                "jsonpath={.items[*].metadata.name}").split())
            self.assertFalse(old & now, "every pod was replaced")

    def test_without_impersonate_herds_own_account_writes(self):
        with Herdd(self.cluster, f"--tokens-file={self.tokens}", insecure=False) as herdd:
            final = self.scale(herdd, "looker-token", 2)
            self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
            self.assertEqual(self.replicas(), 2)

    def test_impersonate_needs_a_tokens_file(self):
        with self.assertRaises(RuntimeError) as ctx:
            Herdd(self.cluster, "--impersonate").start()
        self.assertIn("--impersonate acts as each caller: it needs --tokens-file", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()

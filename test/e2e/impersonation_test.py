"""herdd --impersonate against kubesim --authorization=rbac: herd's writes
carry Impersonate-User (the caller's principal) and Impersonate-Group (its
groups from the tokens file), so the cluster's RBAC decides. A caller herd's
rules allow but the cluster's RBAC does not gets PERMISSION_DENIED naming the
cluster's refusal, and nothing changes; one the cluster allows gets its
operation done. Without --impersonate, herd's own account does the writes."""
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

    def scale(self, herdd, token, replicas):
        auth = [("authorization", f"Bearer {token}")]
        op = herdd.stub().Scale(S.ScaleRequest(workload=f"namespaces/{NS}/deployments/web", replicas=replicas),
                                metadata=auth, timeout=30)
        *_, final = herdd.stub().WatchOperation(S.WatchOperationRequest(name=op.name), metadata=auth, timeout=60)
        return final

    def test_the_cluster_decides_what_each_caller_may_write(self):
        with Herdd(self.cluster, f"--tokens-file={self.tokens}", "--impersonate", insecure=False) as herdd:
            # Allowed by herd's rules, refused by the cluster's: view only.
            final = self.scale(herdd, "looker-token", 3)
            self.assertEqual(final.state, S.OPERATION_STATE_FAILED, final)
            self.assertEqual(final.error.code, grpc.StatusCode.PERMISSION_DENIED.value[0], final.error)
            self.assertIn('User "looker" cannot', final.error.message)
            self.assertIn('in the namespace "imp"', final.error.message)
            self.assertEqual(self.replicas(), 2, "a refused caller changes nothing")
            # Allowed by both: edit through its group.
            final = self.scale(herdd, "deployer-token", 3)
            self.assertEqual(final.state, S.OPERATION_STATE_SUCCEEDED, final)
            self.assertEqual(self.replicas(), 3)
            self.assertEqual(final.principal, "deployer")

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

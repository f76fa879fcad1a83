"""The real kubectl against kubesim --authorization=rbac: ServiceAccounts and
their tokens (kubectl create token), a caller refused then allowed after a
RoleBinding, kubectl auth can-i (--list), impersonation (--as, --as-group)
checked with the impersonate verb, static tokens (--token-auth-file) and
the 401 of a bad token, worded as ../shared/k8s-reference/ shows a real
v1.26 server's answers."""
import os
import subprocess

from simcluster import SimCluster, SimTestCase


class KubectlRbacTest(SimTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tokens = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "tokens.csv")
        cls.cluster = SimCluster(extra_args=("--authorization=rbac", f"--token-auth-file={cls.tokens}")).__enter__()

    def as_token(self, token, *args, check=True):
        return self.cluster.run(f"--token={token}", *args, check=check)

    def test_a_service_account_is_refused_then_allowed_after_a_role_binding(self):
        c = self.cluster
        ns = self.namespace("refrbac")
        self.assertIn("serviceaccount/ci created", c.kubectl("-n", ns, "create", "serviceaccount", "ci"))
        token = c.kubectl("-n", ns, "create", "token", "ci").strip()
        self.assertTrue(token.startswith("eyJ"), token)
        p = self.as_token(token, "-n", ns, "get", "pods", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:refrbac:ci" '
                      'cannot list resource "pods" in API group "" in the namespace "refrbac"', p.stderr)
        self.assertEqual(self.as_token(token, "-n", ns, "auth", "can-i", "list", "pods", check=False).stdout.strip(), "no")

        c.kubectl("-n", ns, "create", "rolebinding", "ci-view", "--clusterrole=view", "--serviceaccount=refrbac:ci")
        self.assertIn("No resources found", self.as_token(token, "-n", ns, "get", "pods").stderr)
        self.assertEqual(self.as_token(token, "-n", ns, "auth", "can-i", "list", "pods").stdout.strip(), "yes")
        p = self.as_token(token, "get", "pods", "-A", check=False)
        self.assertIn('cannot list resource "pods" in API group "" at the cluster scope', p.stderr)
        rules = self.as_token(token, "-n", ns, "auth", "can-i", "--list").stdout
        self.assertRegex(rules, r"(?m)^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]")
        self.assertRegex(rules, r"(?m)^pods/log\s+\[\]\s+\[\]\s+\[get list watch\]")
        self.assertRegex(rules, r"(?m)^deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch\]")
        # A ServiceAccount that is gone takes its tokens with it.
        c.kubectl("-n", ns, "delete", "serviceaccount", "ci")
        p = self.as_token(token, "-n", ns, "get", "pods", check=False)
        self.assertIn("error: You must be logged in to the server (Unauthorized)", p.stderr)

    def test_impersonation_is_checked_and_the_impersonated_user_is_authorized(self):
        c = self.cluster
        ns = self.namespace("imp")
        c.kubectl("-n", ns, "create", "serviceaccount", "ci")
        c.kubectl("-n", ns, "create", "configmap", "a")
        # The admin may impersonate; the ServiceAccount may not delete.
        p = c.run("--as=system:serviceaccount:imp:ci", "-n", ns, "delete", "configmap", "a", check=False)
        self.assertIn('configmaps "a" is forbidden: User "system:serviceaccount:imp:ci" cannot delete resource '
                      '"configmaps" in API group "" in the namespace "imp"', p.stderr)
        out = c.kubectl("--as=bob", "--as-group=ops", "auth", "can-i", "--list")
        self.assertIn("selfsubjectrulesreviews.authorization.k8s.io", out)
        c.kubectl("create", "clusterrolebinding", "ops-edit", "--clusterrole=edit", "--group=ops")
        self.assertIn('configmap "a" deleted',
                      c.kubectl("--as=bob", "--as-group=ops", "-n", ns, "delete", "configmap", "a"))
        # Alice (a static token) has no impersonate verb.
        p = self.as_token("alice-token", "--as=bob", "get", "pods", check=False)
        self.assertIn('users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" '
                      'at the cluster scope', p.stderr)
        p = self.as_token("alice-token", "--as=system:serviceaccount:imp:ci", "-n", ns, "get", "pods", check=False)
        self.assertIn('serviceaccounts "ci" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" '
                      'in API group "" in the namespace "imp"', p.stderr)

    def test_static_tokens_and_unknown_tokens(self):
        c = self.cluster
        self.assertEqual(self.as_token("alice-token", "auth", "can-i", "get", "namespaces", check=False).stdout.strip(),
                         "no")
        c.kubectl("create", "clusterrolebinding", "devs-view", "--clusterrole=view", "--group=devs")
        self.assertEqual(self.as_token("alice-token", "auth", "can-i", "get", "namespaces").stdout.strip(), "yes")
        p = self.as_token("no-such-token", "get", "pods", check=False)
        self.assertIn("error: You must be logged in to the server (Unauthorized)", p.stderr)
        self.assertIn("cluster-admin", c.kubectl("get", "clusterrolebindings"))


if __name__ == "__main__":
    import unittest
    unittest.main()

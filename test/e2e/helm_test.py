"""helm 3 against kubesim with validation on: install and upgrade a small
chart (Deployment, ConfigMap, Service, ServiceAccount, Role, RoleBinding),
and a typo in a chart, which helm (relying on the server's field
validation once the OpenAPI documents say it has it, and sending no
directive) gets back as the server's Warning, the field dropped, as from a
real v1.26 cluster."""
import os
import shutil
import subprocess
import unittest

from simcluster import SimTestCase

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "webchart")


def helm_path():
    return os.environ.get("HELM") or shutil.which("helm") or "/usr/local/bin/helm"


@unittest.skipUnless(os.path.exists(helm_path()), "helm 3 is not installed (scripts/install-deps.sh installs it)")
class HelmTest(SimTestCase):
    def helm(self, *args, check=True):
        c = self.cluster
        env = dict(c.env,
                   HELM_CACHE_HOME=os.path.join(c.dir, "helm-cache"),
                   HELM_CONFIG_HOME=os.path.join(c.dir, "helm-config"),
                   HELM_DATA_HOME=os.path.join(c.dir, "helm-data"),
                   # Releases are kept in ConfigMaps: kubesim serves no Secrets.
                   HELM_DRIVER="configmap")
        p = subprocess.run([helm_path(), *args], env=env, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            self.fail(f"helm {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def test_install_then_upgrade_a_chart(self):
        c = self.cluster
        ns = self.namespace("helm")
        out = self.helm("install", "demo", CHART, "-n", ns, "--wait", "--timeout", "60s").stdout
        self.assertIn("STATUS: deployed", out)
        c.kubectl("-n", ns, "rollout", "status", "deploy/demo-web", "--timeout=60s")
        self.assertEqual(c.json("-n", ns, "get", "configmap", "demo-config")["data"]["greeting"], "hello")
        self.assertEqual(c.json("-n", ns, "get", "rolebinding", "demo-reader")["roleRef"]["name"], "demo-reader")

        out = self.helm("upgrade", "demo", CHART, "-n", ns, "--set", "image.tag=2", "--set", "greeting=hi",
                        "--wait", "--timeout", "60s").stdout
        self.assertIn("REVISION: 2", out)
        c.kubectl("-n", ns, "rollout", "status", "deploy/demo-web", "--timeout=60s")
        d = c.json("-n", ns, "get", "deploy", "demo-web")
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "web:2")
        self.assertEqual(c.json("-n", ns, "get", "configmap", "demo-config")["data"]["greeting"], "hi")
        self.assertIn("demo", self.helm("list", "-n", ns).stdout)

    def test_a_typo_in_a_chart_is_reported_and_dropped(self):
        ns = self.namespace("helmtypo")
        p = self.helm("install", "typo", CHART, "-n", ns, "--set", "extraContainerFields.imagePullPolicyy=Always")
        self.assertIn('unknown field "spec.template.spec.containers[0].imagePullPolicyy"', p.stderr)
        c = self.cluster.json("-n", ns, "get", "deploy", "typo-web")["spec"]["template"]["spec"]["containers"][0]
        self.assertNotIn("imagePullPolicyy", c)

if __name__ == "__main__":
    unittest.main()

"""The real kubectl against kubesim where it leans on the server's schema,
logs and conversions: apply of a v1 List with validation on, kubectl
explain, a typo refused under strict field validation, kubectl logs of a
running and a crash-looping pod (--previous, -f ending with the pod),
kubectl autoscale (autoscaling/v1), kubesim --help, and server-side apply."""
import json
import os
import subprocess

from simcluster import SimTestCase, bin_dir, deployment, kubectl_path


def typo_deployment(ns):
    """A Deployment whose spec has the typo replicass."""
    d = deployment("typo", "t:1", replicas=1)
    d["metadata"]["namespace"] = ns
    d["spec"]["replicass"] = 2
    return d


class KubectlSchemaTest(SimTestCase):
    def test_apply_of_a_v1_list_validates_against_the_openapi_document(self):
        c = self.cluster
        ns = self.namespace("lists")
        web = deployment("web", "web:1", replicas=1)
        web["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": 1, "memory": "1Gi"}}
        items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": ns}, "data": {"x": "1"}},
                 {**web, "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}}}]
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        out = c.kubectl("apply", "-f", "-", input=json.dumps(doc))
        self.assertIn("configmap/b created", out)
        self.assertIn("deployment.apps/web created", out)
        self.assertIn("configmap/b unchanged", c.kubectl("apply", "-f", "-", input=json.dumps(doc)))
        # kubectl validates a List's items itself, against /openapi/v2.
        items[1]["spec"]["replicass"] = 2
        p = c.run("apply", "-f", "-", input=json.dumps(doc), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown field "replicass" in io.k8s.api.apps.v1.DeploymentSpec', p.stderr)

    def test_explain_reads_the_openapi_v3_documents(self):
        out = self.cluster.kubectl("explain", "deployment.spec.strategy")
        self.assertIn("KIND:       Deployment", out)
        self.assertIn("FIELD: strategy <DeploymentStrategy>", out)
        self.assertRegex(out, r"rollingUpdate\s+<RollingUpdateDeployment>")
        self.assertIn("enum: Recreate, RollingUpdate", out)
        out = self.cluster.kubectl("explain", "pods.spec.containers.name")
        self.assertIn("FIELD: name <string>", out)

    def test_a_typo_is_refused_under_strict_field_validation(self):
        c = self.cluster
        ns = self.namespace("strict")
        d = typo_deployment(ns)
        p = c.run("create", "-f", "-", input=json.dumps(d), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
                      'unknown field "spec.replicass"', p.stderr)
        p = c.run("create", "-f", "-", "--validate=warn", input=json.dumps(d))
        self.assertIn('Warning: unknown field "spec.replicass"', p.stderr)
        self.assertNotIn("replicass", c.json("-n", ns, "get", "deploy", "typo")["spec"])

    def test_autoscale_creates_an_autoscaling_v1_autoscaler(self):
        c = self.cluster
        ns = self.namespace("autoscale")
        self.rolled_out(ns, "lw", "lw:1", replicas=1)
        out = c.kubectl("-n", ns, "autoscale", "deployment", "lw", "--min=1", "--max=3", "--cpu-percent=80")
        self.assertIn("horizontalpodautoscaler.autoscaling/lw autoscaled", out)
        self.assertRegex(c.kubectl("-n", ns, "get", "hpa", "lw", "--no-headers"), r"^lw\s+Deployment/lw\s+\S+/80%\s+1\s+3\s")
        v1 = json.loads(c.kubectl("get", "--raw", f"/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers/lw"))
        self.assertEqual(v1["spec"]["targetCPUUtilizationPercentage"], 80)

    def test_kubesim_help_lists_its_flags(self):
        out = subprocess.run([os.path.join(bin_dir(), "kubesim"), "--help"], capture_output=True, text=True).stdout
        for flag in ["--pod_start_delay", "--authorization", "--token_auth_file", "--listen"]:
            self.assertIn(flag, out)
        self.assertIn("Every caller may do everything unless --authorization=rbac", out)


class KubectlLogsTest(SimTestCase):
    cluster_args = {"extra_args": ("--crash-loop-backoff=200ms",)}

    def pod_of(self, ns, app):
        return self.cluster.kubectl("-n", ns, "get", "pods", "-l", f"app={app}", "-o", "jsonpath={.items[0].metadata.name}")

    def test_logs_of_a_running_pod_and_follow_ending_when_the_pod_goes(self):
        c = self.cluster
        ns = self.namespace("logs")
        self.rolled_out(ns, "web", "web:1", replicas=1)
        pod = self.pod_of(ns, "web")
        out = c.kubectl("-n", ns, "logs", pod)
        self.assertIn('msg="starting web (image web:1) as pid 1"', out)
        self.assertIn('msg="ready to serve requests"', out)
        self.assertRegex(c.kubectl("-n", ns, "logs", pod, "--timestamps", "--tail=1"),
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z level=info")
        follower = subprocess.Popen([kubectl_path(), "-n", ns, "logs", "-f", pod], env=c.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("starting web", follower.stdout.readline())
            c.kubectl("-n", ns, "delete", "pod", pod, "--wait=false")
            out, _ = follower.communicate(timeout=30)
            self.assertEqual(follower.returncode, 0)
            self.assertIn("received SIGTERM, shutting down", out)
        finally:
            if follower.poll() is None:
                follower.kill()

    def test_previous_logs_of_a_crash_loop_say_why_it_crashed(self):
        c = self.cluster
        ns = self.namespace("crashlogs")
        m = deployment("bad", "bad:2-crashloop", replicas=1)
        m["metadata"]["namespace"] = ns
        c.apply(m)
        # Once the Deployment counts its pod, the pod is there to wait on.
        c.kubectl("-n", ns, "wait", "--for=jsonpath={.status.replicas}=1", "deploy/bad", "--timeout=30s")
        c.kubectl("-n", ns, "wait", "--for=jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}=1",
                  "pod", "-l", "app=bad", "--timeout=60s")
        out = c.kubectl("-n", ns, "logs", self.pod_of(ns, "bad"), "--previous")
        self.assertIn("cannot connect to database", out)
        self.assertIn("panic: runtime error: invalid memory address or nil pointer dereference", out)
        self.assertIn("goroutine 1 [running]:", out)
        self.assertTrue(out.rstrip().endswith("exit status 1"), out)
        p = c.run("-n", ns, "logs", self.pod_of(ns, "bad"), "-c", "nope", check=False)
        self.assertIn("container nope is not valid for pod", p.stderr)


class KubectlServerSideApplyTest(SimTestCase):
    """kubectl apply --server-side: managedFields by field manager, a second
    apply that changes nothing, a conflict with kubectl scale's ownership of
    .spec.replicas worded as a real server words it, --force-conflicts, a
    typo refused with the field named."""

    def test_server_side_apply_records_managers_and_reports_conflicts(self):
        c = self.cluster
        ns = self.namespace("ssa")
        d = deployment("web", "web:1", replicas=2)
        d["metadata"]["namespace"] = ns
        out = c.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(d))
        self.assertIn("deployment.apps/web serverside-applied", out)
        out = c.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(d))
        self.assertIn("deployment.apps/web serverside-applied", out)
        # The controllers' status write is the entry of kube-controller-manager.
        c.kubectl("-n", ns, "rollout", "status", "deploy/web", "--timeout=60s")

        obj = c.json("-n", ns, "get", "deploy", "web", "--show-managed-fields")
        managers = {(e["manager"], e["operation"], e.get("subresource", "")) for e in obj["metadata"]["managedFields"]}
        self.assertIn(("kubectl", "Apply", ""), managers)
        self.assertIn(("kube-controller-manager", "Update", "status"), managers)
        applied = next(e for e in obj["metadata"]["managedFields"] if e["operation"] == "Apply")
        self.assertIn("f:replicas", applied["fieldsV1"]["f:spec"])
        self.assertIn('k:{"name":"web"}', applied["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"])
        self.assertIn("managedFields:", c.kubectl("-n", ns, "get", "deploy", "web", "-o", "yaml",
                                                  "--show-managed-fields"))
        self.assertNotIn("managedFields:", c.kubectl("-n", ns, "get", "deploy", "web", "-o", "yaml"))

        c.kubectl("-n", ns, "scale", "deploy", "web", "--replicas=3")
        obj = c.json("-n", ns, "get", "deploy", "web", "--show-managed-fields")
        scale = [e for e in obj["metadata"]["managedFields"] if e.get("subresource") == "scale"]
        self.assertEqual(len(scale), 1)
        self.assertEqual(scale[0]["manager"], "kubectl")
        self.assertEqual(scale[0]["fieldsV1"], {"f:spec": {"f:replicas": {}}})

        p = c.run("apply", "--server-side", "-f", "-", input=json.dumps(d), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
                      'using apps/v1: .spec.replicas', p.stderr)
        self.assertIn("--force-conflicts", p.stderr)
        self.assertEqual(c.json("-n", ns, "get", "deploy", "web")["spec"]["replicas"], 3)

        out = c.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(d))
        self.assertIn("deployment.apps/web serverside-applied", out)
        obj = c.json("-n", ns, "get", "deploy", "web", "--show-managed-fields")
        self.assertEqual(obj["spec"]["replicas"], 2)
        self.assertFalse([e for e in obj["metadata"]["managedFields"] if e.get("subresource") == "scale"])

    def test_an_apply_that_drops_a_field_removes_it(self):
        c = self.cluster
        ns = self.namespace("ssa-prune")
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns},
              "data": {"a": "1", "b": "2"}}
        self.assertIn("configmap/cfg serverside-applied",
                      c.kubectl("apply", "--server-side", "--field-manager=team", "-f", "-", input=json.dumps(cm)))
        del cm["data"]["b"]
        c.kubectl("apply", "--server-side", "--field-manager=team", "-f", "-", input=json.dumps(cm))
        got = c.json("-n", ns, "get", "configmap", "cfg", "--show-managed-fields")
        self.assertEqual(got["data"], {"a": "1"})
        self.assertEqual([(e["manager"], e["operation"]) for e in got["metadata"]["managedFields"]],
                         [("team", "Apply")])


    def test_a_typo_is_refused_naming_the_field_as_a_real_server_does(self):
        c = self.cluster
        ns = self.namespace("ssa-typo")
        p = c.run("apply", "--server-side", "-f", "-", input=json.dumps(typo_deployment(ns)), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("failed to create typed patch object (%s/typo; apps/v1, Kind=Deployment): "
                      ".spec.replicass: field not declared in schema" % ns, p.stderr)
        self.assertEqual(c.run("-n", ns, "get", "deploy", "typo", check=False).returncode, 1)

if __name__ == "__main__":
    import unittest
    unittest.main()

"""herdd as operators start it: the flags `herdd --help` and README.md
promise — callers' tokens and their rules, TLS and mTLS, protected
namespaces, where records and locks live, kubeconfig contexts — and the
standard gRPC health and reflection services, all against the real binary
(docs/PROMISES.md lists which test proves which promise)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import grpc
import yaml
from google.protobuf import json_format

from authrules import RULES, TOKENS, contains
from herdprocess import Herdd, herd_pb2, herd_pb2_grpc, wait_for_end
from simcluster import SimCluster, WaitsForConditions, bin_dir, deployment



def herdd_path():
    return os.path.join(bin_dir(), "herdd")


class HerddFlagsTest(WaitsForConditions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="100ms", extra_args=["--controller-qps=0"]).__enter__()
        cls.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        for name in ("web", "api"):
            m = deployment(name, f"{name}:1", replicas=1)
            m["metadata"]["namespace"] = "shop"
            cls.cluster.apply(m)
        m = deployment("coredns", "coredns:1", replicas=1)
        m["metadata"]["namespace"] = "kube-system"
        cls.cluster.apply(m)
        cls.dir = tempfile.mkdtemp(prefix="herdd-flags-")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)  # atomically, as the tokens file asks
        return path

    def start(self, *args, insecure=True):
        herdd = Herdd(self.cluster, *args, insecure=insecure).start()
        self.addCleanup(herdd.__exit__, None, None, None)
        return herdd

    @staticmethod
    def rollout(workload, dry_run=True, image="x:2"):
        return herd_pb2.RolloutRequest(workload=workload, images={workload.rsplit("/", 1)[1]: image},
                                       options=herd_pb2.MutationOptions(dry_run=dry_run))

    def assert_code(self, code, call, *args, **kw):
        with self.assertRaises(grpc.RpcError) as ctx:
            call(*args, timeout=10, **kw)
        self.assertEqual(ctx.exception.code(), code, ctx.exception.details())
        return ctx.exception.details()

    # ------------------------------------------------------------------ tests

    def test_help_lists_every_flag(self):
        for binary in ("herdd", "kubesim"):
            with self.subTest(binary=binary):
                path = os.path.join(bin_dir(), binary)
                full = subprocess.run([path, "--helpfull"], capture_output=True, text=True).stdout
                section = full.split("main.cc:\n", 1)[1].split("\n\n", 1)[0]
                defined = set(re.findall(r"^    --(\w+)", section, re.M))
                self.assertGreater(len(defined), 15, full)
                shown = subprocess.run([path, "--help"], capture_output=True, text=True).stdout
                self.assertEqual(set(re.findall(r"^    --(\w+)", shown, re.M)), defined, shown)
        # The outside contract's flags are among them.
        shown = subprocess.run([herdd_path(), "--help"], capture_output=True, text=True).stdout
        for flag in ("sim", "kubeconfig", "grpc_listen", "http_listen", "tokens_file", "insecure_no_auth",
                     "protected_namespaces"):
            self.assertIn(f"--{flag} ", shown)

    def test_callers_authenticate_with_bearer_tokens_and_rules_decide(self):
        tokens = self.write("tokens.yaml", TOKENS)
        herdd = self.start(f"--tokens-file={tokens}", insecure=False)
        stub = herdd.stub()
        # The rule table (authrules.RULES, which the REST suite runs too).
        service = herd_pb2.DESCRIPTOR.services_by_name["Herd"]
        for rule in RULES:
            with self.subTest(rule.case):
                request = json_format.ParseDict(
                    rule.request, getattr(herd_pb2, service.methods_by_name[rule.rpc].input_type.name)())
                metadata = [("authorization", f"Bearer {rule.token}")] if rule.token else []
                try:
                    reply = getattr(stub, rule.rpc)(request, metadata=metadata, timeout=10)
                    code, message = "OK", ""
                except grpc.RpcError as e:
                    code, message = e.code().name, e.details()
                self.assertEqual(code, rule.code, message)
                self.assertIn(rule.says, message)
                if code == "OK":
                    got = json_format.MessageToDict(reply)
                    self.assertTrue(contains(got, rule.reply), got)
        # Every namespace: "every namespace (that the caller may see)".
        shop = [("authorization", "Bearer t-shop")]
        listed = stub.ListWorkloads(herd_pb2.ListWorkloadsRequest(), metadata=shop, timeout=10)
        self.assertEqual([(w.namespace, w.name) for w in listed.workloads], [("shop", "web")])
        # herdctl: HERD_TOKEN; without it exit 4 and a hint.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        env["HERD_SERVER"] = herdd.grpc_address
        herdctl = [os.path.join(bin_dir(), "herdctl"), "-n", "shop", "get", "deploy/web"]
        p = subprocess.run(herdctl, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("HERD_TOKEN", p.stderr)
        token_file = self.write("token", "t-shop\n")
        for extra, environ in (([], {"HERD_TOKEN": "t-shop"}), (["--token=t-shop"], {}),
                               ([f"--token-file={token_file}"], {}), ([], {"HERD_TOKEN_FILE": token_file})):
            p = subprocess.run(herdctl + extra, env=dict(env, **environ), capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, f"{extra} {environ}: {p.stderr}")
        # The tokens file is re-read when it changes: a new token works
        # without a restart.
        self.write("tokens.yaml", TOKENS + "  - name: late\n    token: t-late\n    rules:\n"
                                           "      - verbs: [read]\n        namespaces: [shop]\n")
        deadline = time.monotonic() + 10
        while True:
            try:
                stub.GetWorkload(herd_pb2.GetWorkloadRequest(name="namespaces/shop/deployments/api"),
                                 metadata=[("authorization", "Bearer t-late")], timeout=10)
                break
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
                self.assertLess(time.monotonic(), deadline, "the new token was not picked up")
                time.sleep(0.1)

    def test_a_policy_acts_with_its_creators_rights_at_each_run(self):
        """A policy's runs are its creator's calls, checked at each run: once
        the creator leaves the tokens file, the runs are refused, saying so."""
        people = """
principals:
  - name: alice
    token: t-alice
    rules: [{verbs: ["*"], namespaces: [shop]}]
  - name: bob
    token: t-bob
    rules: [{verbs: [read], namespaces: [shop]}]
"""
        tokens = self.write("tokens-policy.yaml", people)
        herdd = self.start(f"--tokens-file={tokens}", insecure=False)
        # Policies live in the cluster: gone at the end, whoever may delete them.
        self.addCleanup(self.cluster.run, "-n", "herd-system", "delete", "configmap", "herd-policy-often",
                        "--ignore-not-found", check=False)
        stub = herdd.stub()
        alice, bob = [("authorization", "Bearer t-alice")], [("authorization", "Bearer t-bob")]
        policy = herd_pb2.Policy(schedule=herd_pb2.Schedule(
            cron="@every 1s", restart=herd_pb2.RolloutRequest(workload="namespaces/shop/deployments/api", restart=True)))
        request = herd_pb2.CreatePolicyRequest(policy_id="often", policy=policy)
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, stub.CreatePolicy, request, metadata=bob)
        created = stub.CreatePolicy(request, metadata=alice, timeout=10)
        self.assertEqual(created.creator, "alice")
        self.assert_code(grpc.StatusCode.PERMISSION_DENIED, stub.PausePolicy,
                         herd_pb2.PausePolicyRequest(name="policies/often"), metadata=bob)

        def newest(outcome):
            p = stub.GetPolicy(herd_pb2.GetPolicyRequest(name="policies/often"), metadata=bob, timeout=10)
            return next((d for d in p.decisions if d.outcome == outcome), None)
        started = self.wait_for("a run to start", lambda: newest(herd_pb2.POLICY_OUTCOME_STARTED))
        op = stub.GetOperation(herd_pb2.GetOperationRequest(name=started.operation), metadata=bob, timeout=10)
        self.assertEqual(op.principal, "policy:often")

        self.write("tokens-policy.yaml", people.replace("alice", "gone-alice").replace("t-gone-alice", "t-x"))
        refused = self.wait_for("a run to be refused", lambda: newest(herd_pb2.POLICY_OUTCOME_REFUSED))
        self.assertIn('principal "alice" is no longer in the tokens file', refused.message)

    def test_mtls_client_certificates_are_principals(self):
        d = tempfile.mkdtemp(prefix="herd-tls-", dir=self.dir)

        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=herd test CA")
        for name, cn, ext in (("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
                              ("client", "ci-shop.example.com", "extendedKeyUsage=clientAuth")):
            openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
            with open(os.path.join(d, f"{name}.ext"), "w") as f:
                f.write(ext + "\n")
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")

        def read(name):
            with open(os.path.join(d, name), "rb") as f:
                return f.read()
        tokens = self.write("tokens-tls.yaml", TOKENS)
        herdd = self.start(f"--tokens-file={tokens}", f"--tls-cert={d}/server.pem", f"--tls-key={d}/server.key",
                           f"--tls-client-ca={d}/ca.pem", insecure=False)
        options = [("grpc.ssl_target_name_override", "localhost")]
        creds = grpc.ssl_channel_credentials(read("ca.pem"), read("client.key"), read("client.pem"))
        with grpc.secure_channel(herdd.grpc_address, creds, options=options) as channel:
            stub = herd_pb2_grpc.HerdStub(channel)
            # No token: the certificate's CN is the principal.
            op = stub.Rollout(self.rollout("namespaces/shop/deployments/web"), timeout=10)
            self.assertEqual(op.principal, "ci-shop")
        # Without a client certificate the handshake fails.
        with grpc.secure_channel(herdd.grpc_address, grpc.ssl_channel_credentials(read("ca.pem")),
                                 options=options) as channel:
            self.assert_code(grpc.StatusCode.UNAVAILABLE, herd_pb2_grpc.HerdStub(channel).GetWorkload,
                             herd_pb2.GetWorkloadRequest(name="namespaces/shop/deployments/web"))
        # herdctl over mTLS.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERD_")}
        p = subprocess.run([os.path.join(bin_dir(), "herdctl"), f"--server={herdd.grpc_address}",
                            f"--ca-file={d}/ca.pem", f"--cert-file={d}/client.pem", f"--key-file={d}/client.key",
                            "--tls-server-name=localhost", "-n", "shop", "get", "deploy/web"],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_auth_flags_say_what_they_do(self):
        # Neither --tokens-file nor --insecure-no-auth: herdd refuses to start.
        with self.assertRaises(RuntimeError) as ctx:
            Herdd(self.cluster, insecure=False).start()
        self.assertIn("give --tokens-file=FILE (or --insecure-no-auth", str(ctx.exception))
        with self.assertRaises(RuntimeError) as ctx:
            Herdd(self.cluster, f"--tokens-file={self.write('t.yaml', TOKENS)}").start()
        self.assertIn("exclude each other", str(ctx.exception))
        # --insecure-no-auth warns, and every caller is "anonymous".
        herdd = self.start()
        warnings = [json.loads(line) for line in herdd.read_log().splitlines() if '"warn"' in line]
        self.assertTrue(any("--insecure-no-auth" in w["msg"] for w in warnings), warnings)
        op = herdd.stub().Rollout(self.rollout("namespaces/shop/deployments/web"), timeout=10)
        self.assertEqual(op.principal, "anonymous")

    def test_protected_namespaces_flag_replaces_the_default(self):
        herdd = self.start("--protected-namespaces=sh*")
        stub = herdd.stub()
        details = self.assert_code(grpc.StatusCode.PERMISSION_DENIED, stub.Rollout,
                                   self.rollout("namespaces/shop/deployments/web"))
        self.assertIn("protected", details)
        op = stub.Rollout(self.rollout("namespaces/kube-system/deployments/coredns"), timeout=10)
        self.assertTrue(op.dry_run)

    def test_records_and_locks_live_in_the_cluster(self):
        # README: ConfigMaps herd-op-* and Leases herd-lock-* in herd-system;
        # --namespace moves them.
        for args, ns in (((), "herd-system"), (("--namespace=herd-ops",), "herd-ops")):
            with self.subTest(namespace=ns):
                herdd = self.start(*args)
                stub = herdd.stub()
                op = stub.Rollout(self.rollout("namespaces/shop/deployments/web", dry_run=False,
                                               image="web:2-slow30s"), timeout=10)
                leases = json.loads(self.cluster.kubectl("-n", ns, "get", "leases", "-o", "json"))["items"]
                self.assertTrue(any(l["metadata"]["name"].startswith("herd-lock-") and
                                    l["metadata"]["annotations"]["herd.dev/operation"] == op.name for l in leases))
                stub.CancelOperation(herd_pb2.CancelOperationRequest(name=op.name), timeout=10)
                self.assertEqual(wait_for_end(stub, op.name)[-1].state, herd_pb2.OPERATION_STATE_CANCELLED)
                cms = json.loads(self.cluster.kubectl("-n", ns, "get", "configmaps", "-o", "json"))["items"]
                self.assertIn("herd-op-" + op.name.split("/", 1)[1], [c["metadata"]["name"] for c in cms])

    def test_finished_operations_are_kept_as_long_and_as_many_as_told(self):
        def run_scales(stub, n):
            names = []
            for _ in range(n):
                op = stub.Scale(herd_pb2.ScaleRequest(workload="namespaces/shop/deployments/api", replicas=1),
                                timeout=10)
                self.assertEqual(wait_for_end(stub, op.name)[-1].state, herd_pb2.OPERATION_STATE_SUCCEEDED)
                names.append(op.name)  # each starts after the last ended: the first is the oldest
            return names

        def kept(ns):
            cms = json.loads(self.cluster.kubectl("-n", ns, "get", "configmaps", "-o", "json"))["items"]
            return {"operations/" + c["metadata"]["name"][len("herd-op-"):] for c in cms
                    if c["metadata"]["name"].startswith("herd-op-")}

        # --operations-kept=2: of three, the oldest goes at the first
        # collection (a quarter of the retention after start), long before
        # the retention runs out for the other two.
        started = time.monotonic()
        names = run_scales(self.start("--namespace=herd-gc-count", "--operations-kept=2",
                                      "--operations-retention=40s").stub(), 3)
        self.wait_for("the oldest record deleted", lambda: names[0] not in kept("herd-gc-count"), timeout=20)
        self.assertEqual(kept("herd-gc-count"), set(names[1:]))
        self.assertLess(time.monotonic() - started, 40)
        # --operations-retention=1s: a record goes a second after its end.
        stub = self.start("--namespace=herd-gc-age", "--operations-retention=1s").stub()
        name = run_scales(stub, 1)[0]
        self.wait_for("the record deleted", lambda: name not in kept("herd-gc-age"), timeout=10)
        with self.assertRaises(grpc.RpcError) as e:
            stub.GetOperation(herd_pb2.GetOperationRequest(name=name), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_context_picks_the_kubeconfig_context(self):
        with open(self.cluster.kubeconfig) as f:
            config = yaml.safe_load(f)
        context = config["contexts"][0]
        dead = {"name": "dead", "cluster": {"server": "http://127.0.0.1:9"}}
        config["clusters"].append(dead)
        config["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": context["context"]["user"]}})
        config["current-context"] = "dead"
        path = self.write("two-contexts.kubeconfig", yaml.safe_dump(config))
        herdd = Herdd(self.cluster, f"--context={context['name']}")
        herdd.args[1] = f"--kubeconfig={path}"
        herdd.start()
        self.addCleanup(herdd.__exit__, None, None, None)
        w = herdd.stub().GetWorkload(herd_pb2.GetWorkloadRequest(name="namespaces/shop/deployments/web"), timeout=10)
        self.assertEqual(w.name, "web")

    def test_standard_health_and_reflection_services(self):
        herdd = self.start()
        check = herdd.channel.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(check(b"", timeout=10), b"\x08\x01")  # status: SERVING
        reflect = herdd.channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        answers = list(reflect(iter([b"\x3a\x00"]), timeout=10))  # list_services: ""
        self.assertEqual(len(answers), 1)
        self.assertIn(b"herd.v1.Herd", answers[0])
        self.assertIn(b"grpc.health.v1.Health", answers[0])

    def test_bad_flags_exit_2(self):
        for args in (["--log-level=loud"], ["--lease-duration=100ms"], ["--tls-cert=x.pem"], ["stray"],
                     ["--operations-retention=0s"], ["--operations-kept=0"], ["--policy-check-interval=10ms"]):
            p = subprocess.run([herdd_path(), *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
            self.assertIn("herdd: ", p.stderr)


if __name__ == "__main__":
    unittest.main()

"""Two herdd replicas behind one address, as the chart's Service puts them:
every call works on either, and an operation started through one is listed,
watched and cancelled through the other (herd's state lives in the cluster:
the records and leases, not a replica's memory).

The address is a small round-robin TCP proxy on loopback, one backend per
connection, so each gRPC channel (one connection) lands on the replica the
test expects."""
import socket
import threading
import unittest

import grpc

from herdprocess import Herdd, herd_pb2 as S, herd_pb2_grpc
from simcluster import SimCluster, deployment

NS = "rep"
WEB = f"namespaces/{NS}/deployments/web"


class RoundRobinProxy:
    """Accepts on 127.0.0.1 and pipes each connection to the next backend
    in turn; `routed` lists the backend index of each connection."""

    def __init__(self, backends):
        self.backends = backends
        self.routed = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.closing = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closing:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            i = len(self.routed) % len(self.backends)
            self.routed.append(i)
            host, port = self.backends[i].rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            src.close()  # each side's own thread closes it

    def close(self):
        self.closing = True
        self.sock.close()


class ReplicasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = SimCluster(pod_start_delay="50ms").__enter__()
        c = cls.cluster
        c.kubectl("create", "namespace", NS)
        m = deployment("web", "web:1", replicas=2)
        m["metadata"]["namespace"] = NS
        c.apply(m)
        c.kubectl("-n", NS, "rollout", "status", "deploy/web", "--timeout=60s")
        cls.a = Herdd(c, identity="herdd-a").__enter__()
        cls.b = Herdd(c, identity="herdd-b").__enter__()
        cls.proxy = RoundRobinProxy([cls.a.grpc_address, cls.b.grpc_address])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        cls.b.__exit__(None, None, None)
        cls.a.__exit__(None, None, None)
        cls.cluster.__exit__(None, None, None)

    def connect(self):
        """A stub on its own connection through the proxy, and the index of
        the replica it reached."""
        before = len(self.proxy.routed)
        # Its own subchannel pool: otherwise gRPC shares one connection
        # between channels to the same address.
        channel = grpc.insecure_channel(self.proxy.address, options=[("grpc.use_local_subchannel_pool", 1)])
        self.addCleanup(channel.close)
        grpc.channel_ready_future(channel).result(timeout=10)
        self.assertEqual(len(self.proxy.routed), before + 1)
        return herd_pb2_grpc.HerdStub(channel), self.proxy.routed[before]

    def test_every_read_answers_the_same_on_either_replica(self):
        answers = {}
        for _ in range(4):
            stub, replica = self.connect()
            wl = stub.GetWorkload(S.GetWorkloadRequest(name=WEB), timeout=10)
            listed = stub.ListWorkloads(S.ListWorkloadsRequest(namespace=NS), timeout=10)
            answers.setdefault(replica, set()).add((wl.name, wl.desired_replicas, wl.revision,
                                                    tuple(w.name for w in listed.workloads)))
        self.assertEqual(sorted(answers), [0, 1], "both replicas answered")
        self.assertEqual(answers[0], answers[1])

    def test_an_operation_started_on_one_is_listed_watched_and_cancelled_on_the_other(self):
        start, on = self.connect()
        other, on_other = self.connect()
        self.assertNotEqual(on, on_other)
        # Pods that never get Ready: the rollout runs until its deadline,
        # long after the test is done with it.
        req = S.RolloutRequest(workload=WEB, images={"web": "web:2-unready"})
        req.deadline.seconds = 300
        op = start.Rollout(req, timeout=30)
        self.assertEqual(op.state, S.OPERATION_STATE_RUNNING)

        listed = other.ListOperations(S.ListOperationsRequest(), timeout=10)
        self.assertIn(op.name, [o.name for o in listed.operations])
        self.assertEqual(other.GetOperation(S.GetOperationRequest(name=op.name), timeout=10).state,
                         S.OPERATION_STATE_RUNNING)
        # Another mutation of the same workload through the other replica
        # is refused: the lock is the cluster's, not the first replica's.
        with self.assertRaises(grpc.RpcError) as ctx:
            other.Scale(S.ScaleRequest(workload=WEB, replicas=3), timeout=10)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.ABORTED)
        self.assertIn(op.name, ctx.exception.details())

        watch = other.WatchOperation(S.WatchOperationRequest(name=op.name), timeout=120)
        first = next(watch)
        self.assertEqual(first.name, op.name)
        other.CancelOperation(S.CancelOperationRequest(name=op.name, reason="from the other replica"), timeout=10)
        *_, final = [first, *watch]
        self.assertIn(final.state, (S.OPERATION_STATE_CANCELLED, S.OPERATION_STATE_ROLLED_BACK), final)
        self.assertIn("from the other replica", final.error.message + " ".join(e.message for e in final.events))
        # Both replicas tell the same end. The one that ran it shows the end
        # once it has also let go of the workload, a moment after the
        # record the other one read: its own watch ends there.
        *_, again = start.WatchOperation(S.WatchOperationRequest(name=op.name), timeout=30)
        self.assertEqual(again.state, final.state)
        self.assertEqual(start.GetOperation(S.GetOperationRequest(name=op.name), timeout=10).state, final.state)
        self.assertEqual(self.cluster.kubectl("-n", NS, "get", "deploy/web", "-o",
                                              "jsonpath={.spec.template.spec.containers[0].image}"), "web:1")


if __name__ == "__main__":
    unittest.main()

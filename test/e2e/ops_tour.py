"""A short tour of every operation herd runs, through the real herdctl, for
tests that need to know whether a herdd can do all of its work (the chart's
least-privilege test, the container image test): each step is one herdctl
call with the exit code it must give.

    steps = tour_steps(ns)
    apply_tour_workloads(cluster, ns)            # as the cluster's admin
    failed = run_tour(herdctl_env, ns, steps)    # None, or the first failure

Fail-fast: the first step that does not give its exit code ends the tour,
so a herdd missing a permission is found out quickly.
"""
import json
import os
import subprocess
import time

from simcluster import bin_dir


def tour_workloads(ns):
    """The workloads the tour acts on: Deployments (one with a budget, one
    with an HPA), a StatefulSet and a CronJob."""
    def deploy(name, replicas):
        labels = {"app": name}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": name, "image": f"{name}:1"}]}}}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        deploy("web", 2),
        deploy("api", 1),
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": ns},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": ns},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                  "minReplicas": 1, "maxReplicas": 4}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
         "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                  "template": {"metadata": {"labels": {"app": "db"}},
                               "spec": {"containers": [{"name": "db", "image": "db:1"}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": ns},
         "spec": {"schedule": "0 3 * * *",
                  "jobTemplate": {"spec": {"template": {"spec": {
                      "restartPolicy": "Never", "containers": [{"name": "report", "image": "report:1"}]}}}}}},
    ]


def apply_tour_workloads(cluster, ns, timeout=60, wait=True):
    """Creates the tour's workloads with the cluster's admin and (`wait`)
    waits until they have rolled out."""
    cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                         "items": tour_workloads(ns)}))
    for w in ("deploy/web", "deploy/api", "sts/db") if wait else ():
        cluster.kubectl("-n", ns, "rollout", "status", w, f"--timeout={timeout}s")


def tour_steps(ns):
    """(what, herdctl arguments, the exit code it must give); the arguments
    may be a function of the previous step's output. The cluster's Jobs
    must run for longer than a few seconds (kubesim --job-pod-run-time)."""
    n = ["-n", ns]
    w = ["--wait", "--timeout=20s"]
    return [
        ("list workloads", [*n, "list"], 0),
        ("get a workload", [*n, "get", "deploy/web"], 0),
        ("rollout (fast)", [*n, "rollout", "deploy/web", "web=web:2", *w], 0),
        ("rollout that crash-loops rolls back", [*n, "rollout", "deploy/web", "web=web:3-crashloop", *w], 1),
        ("undo to a revision", [*n, "undo", "deploy/web", "--to-revision=1", *w], 0),
        ("rollout of a StatefulSet (rolling restart)", [*n, "rollout", "sts/db", "--restart", "--strategy=rolling", *w], 0),
        ("undo of a StatefulSet", [*n, "undo", "sts/db", *w], 0),
        ("scale a StatefulSet", [*n, "scale", "sts/db", "--replicas=2", *w], 0),
        ("scale with an HPA held", [*n, "scale", "deploy/api", "--delta=+1", "--hpa-hold=10m", *w], 0),
        ("purge (rolling, budgets)", [*n, "purge", "deploy/web", *w], 0),
        ("purge a pod at a time", [*n, "purge", "deploy/web", "--batch-size=1", *w], 0),
        ("purge (burn) by selector", [*n, "purge", "-l", "app=api", "--mode=burn", *w], 0),
        ("kill by eviction", [*n, "kill", "-l", "app=api", "--max-pods=3", *w], 0),
        ("kill by deletion", [*n, "kill", "-l", "app=web", "--force", "--max-pods=2", *w], 0),
        # The Job runs for long (kubesim --job-pod-run-time): cancelling the
        # run deletes it.
        ("cronjob run", [*n, "cronjob", "run", "report", "-o", "json"], 0),
        ("cancel a running operation", lambda out: [*n, "ops", "cancel", json.loads(out)["name"].split("/", 1)[1],
                                                    *w], 0),
        ("cronjob suspend", [*n, "cronjob", "suspend", "report", *w], 0),
        ("cronjob resume", [*n, "cronjob", "resume", "report", *w], 0),
        ("cronjob kill", [*n, "cronjob", "kill", "report", *w], 0),
        ("operations listed", [*n, "ops", "list"], 0),
    ]


def herdctl(env, *args, timeout=60):
    p = subprocess.run([os.path.join(bin_dir(), "herdctl"), *args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_tour(env, steps, log=None):
    """Runs `steps` with herdctl under `env` (HERD_SERVER, HERD_TOKEN);
    None when every step gave its exit code, else a description of the
    first that did not."""
    out = ""
    for what, args, want in steps:
        if callable(args):
            args = args(out)
        start = time.monotonic()
        try:
            code, out, err = herdctl(env, *args)
        except subprocess.TimeoutExpired:
            return f"{what}: herdctl {' '.join(args)} timed out"
        if log is not None:
            log.append(f"{what}: exit {code} in {time.monotonic() - start:.1f}s")
        if code != want:
            return f"{what}: herdctl {' '.join(args)} exited {code}, not {want}\nstdout: {out}\nstderr: {err}"
    return None

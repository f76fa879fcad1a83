#include "sim/tables/tables.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

using nlohmann::json;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// The moment the reference tables were captured: objects created at
// 10:58:32Z were 5s old.
const absl::Time kNow = Utc(2026, 11, 25, 10, 58, 37);

json J(const char* text) { return json::parse(text); }

// A running pod as the reference cluster's fake nodes report it.
json RunningPod(const std::string& name) {
  json pod = J(R"({
    "metadata": {"name": "", "namespace": "ref", "creationTimestamp": "2026-11-25T10:58:32Z",
                 "labels": {"app": "web", "pod-template-hash": "8555df4846"}},
    "spec": {"containers": [{"name": "web", "image": "web:1"}], "nodeName": "fake-node-1",
             "restartPolicy": "Always"},
    "status": {
      "phase": "Running",
      "conditions": [
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-25T10:58:37Z"},
        {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-25T10:58:37Z"},
        {"type": "ContainersReady", "status": "True", "lastProbeTime": null,
         "lastTransitionTime": "2026-11-25T10:58:37Z"},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-25T10:58:37Z"}
      ],
      "startTime": "2026-11-25T10:58:37Z",
      "containerStatuses": [{
        "name": "web", "state": {"running": {"startedAt": "2026-11-25T10:58:37Z"}}, "lastState": {},
        "ready": true, "restartCount": 0, "image": "web:1", "imageID": "fake://web:1", "started": true
      }],
      "qosClass": "BestEffort"
    }
  })");
  pod["metadata"]["name"] = name;
  return pod;
}

// A pod whose only container is in `state`, with the pod not Ready.
json PodWithState(const json& state, int restarts = 0, const json& last_state = json::object()) {
  json pod = RunningPod("p");
  pod["status"]["conditions"][1]["status"] = "False";
  json& c = pod["status"]["containerStatuses"][0];
  c["state"] = state;
  c["ready"] = false;
  c["restartCount"] = restarts;
  c["lastState"] = last_state;
  return pod;
}

std::string Status(const json& pod) { return TableCells(kPods, pod, kNow)[2].get<std::string>(); }

// ---- The reference captures (pods-table.txt, deployments-table.txt) ----

TEST(TableColumnsTest, PodColumnsMatchTheReferenceServer) {
  const json want = J(R"([
    {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names", "priority": 0},
    {"name": "Ready", "type": "string", "format": "", "description": "The aggregate readiness state of this pod for accepting traffic.", "priority": 0},
    {"name": "Status", "type": "string", "format": "", "description": "The aggregate status of the containers in this pod.", "priority": 0},
    {"name": "Restarts", "type": "string", "format": "", "description": "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", "priority": 0},
    {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "priority": 0},
    {"name": "IP", "type": "string", "format": "", "description": "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", "priority": 1},
    {"name": "Node", "type": "string", "format": "", "description": "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.", "priority": 1},
    {"name": "Nominated Node", "type": "string", "format": "", "description": "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", "priority": 1},
    {"name": "Readiness Gates", "type": "string", "format": "", "description": "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", "priority": 1}
  ])");
  EXPECT_EQ(TableColumns(kPods), want);
}

TEST(TableColumnsTest, DeploymentColumnsMatchTheReferenceServer) {
  const json want = J(R"([
    {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names", "priority": 0},
    {"name": "Ready", "type": "string", "format": "", "description": "Number of the pod with ready state", "priority": 0},
    {"name": "Up-to-date", "type": "string", "format": "", "description": "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", "priority": 0},
    {"name": "Available", "type": "string", "format": "", "description": "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", "priority": 0},
    {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "priority": 0},
    {"name": "Containers", "type": "string", "format": "", "description": "Names of each container in the template.", "priority": 1},
    {"name": "Images", "type": "string", "format": "", "description": "Images referenced by each container in the template.", "priority": 1},
    {"name": "Selector", "type": "string", "format": "", "description": "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", "priority": 1}
  ])");
  EXPECT_EQ(TableColumns(kDeployments), want);
}

TEST(TableCellsTest, PodRowsMatchTheReferenceServer) {
  for (const char* name : {"web-8555df4846-bsxw4", "web-8555df4846-jvzkt", "web-8555df4846-p95q4"}) {
    json want = json::array({name, "1/1", "Running", "0", "5s", "<none>", "fake-node-1", "<none>", "<none>"});
    EXPECT_EQ(TableCells(kPods, RunningPod(name), kNow), want) << name;
  }
}

TEST(TableCellsTest, DeploymentRowMatchesTheReferenceServerWithIntegerCounts) {
  const json d = J(R"({
    "metadata": {"name": "web", "namespace": "ref", "generation": 1, "creationTimestamp": "2026-11-25T10:58:32Z",
                 "labels": {"app": "web"}, "annotations": {"deployment.kubernetes.io/revision": "1"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
    "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
               "availableReplicas": 3}
  })");
  const json cells = TableCells(kDeployments, d, kNow);
  EXPECT_EQ(cells, J(R"(["web", "3/3", 3, 3, "5s", "web", "web:1", "app=web"])"));
  EXPECT_TRUE(cells[2].is_number_integer());
  EXPECT_TRUE(cells[3].is_number_integer());
}

// ---- Every kind ----

TEST(TableCellsTest, EveryKindGivesOneCellPerColumnEvenForAnEmptyObject) {
  for (int i = 0; i < kResourceCount; ++i) {
    const auto r = static_cast<ResourceId>(i);
    if (r >= kTokenReviews && r <= kLocalSubjectAccessReviews) continue;  // reviews are never listed
    const json& cols = TableColumns(r);
    ASSERT_TRUE(cols.is_array()) << i;
    EXPECT_FALSE(cols.empty()) << i;
    EXPECT_EQ(TableCells(r, json::object(), kNow).size(), cols.size()) << i;
    EXPECT_EQ(TableCells(r, json(), kNow).size(), cols.size()) << i;
  }
}

TEST(TableCellsTest, MissingCreationTimestampShowsUnknownAge) {
  json pod = RunningPod("p");
  pod["metadata"].erase("creationTimestamp");
  EXPECT_EQ(TableCells(kPods, pod, kNow)[4], "<unknown>");
  EXPECT_EQ(TableCells(kNamespaces, J(R"({"metadata": {"name": "x"}})"), kNow)[2], "<unknown>");
}

TEST(TableColumnsTest, OutOfRangeIdGivesNoColumns) {
  EXPECT_EQ(TableColumns(kResourceCount), json::array());
  EXPECT_EQ(TableCells(kResourceCount, json::object(), kNow), json::array());
}

// ---- Pod STATUS, READY, RESTARTS ----

TEST(PodStatusTest, WaitingReasonsShowAsTheStatus) {
  for (const char* reason : {"ContainerCreating", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"}) {
    json pod = PodWithState({{"waiting", {{"reason", reason}}}});
    const json cells = TableCells(kPods, pod, kNow);
    EXPECT_EQ(cells[1], "0/1") << reason;
    EXPECT_EQ(cells[2], reason);
  }
}

TEST(PodStatusTest, PendingPodWithoutContainerStatusesShowsPhase) {
  json pod = J(R"({"metadata": {"name": "p", "creationTimestamp": "2026-11-25T10:58:00Z"},
                   "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
                   "status": {"phase": "Pending"}})");
  EXPECT_EQ(TableCells(kPods, pod, kNow), J(R"(["p", "0/2", "Pending", "0", "37s", "<none>", "<none>", "<none>",
                                                "<none>"])"));
}

TEST(PodStatusTest, CrashLoopWithRestartsShowsWhenTheLastOneWas) {
  json pod =
      PodWithState({{"waiting", {{"reason", "CrashLoopBackOff"}}}}, 4,
                   {{"terminated", {{"exitCode", 1}, {"reason", "Error"}, {"finishedAt", "2026-11-25T10:56:30Z"}}}});
  const json cells = TableCells(kPods, pod, kNow);
  EXPECT_EQ(cells[2], "CrashLoopBackOff");
  EXPECT_EQ(cells[3], "4 (2m7s ago)");
  EXPECT_TRUE(cells[3].is_string());
}

TEST(PodStatusTest, RestartsWithoutALastTerminationShowTheCountAlone) {
  json pod = RunningPod("p");
  pod["status"]["containerStatuses"][0]["restartCount"] = 3;
  EXPECT_EQ(TableCells(kPods, pod, kNow)[3], "3");
}

TEST(PodStatusTest, RestartsSumOverContainersAndTakeTheLatestTermination) {
  json pod = RunningPod("p");
  json second = pod["status"]["containerStatuses"][0];
  second["name"] = "side";
  second["restartCount"] = 2;
  second["lastState"] = {{"terminated", {{"exitCode", 0}, {"finishedAt", "2026-11-25T10:28:37Z"}}}};
  pod["status"]["containerStatuses"][0]["restartCount"] = 1;
  pod["status"]["containerStatuses"][0]["lastState"] = {
      {"terminated", {{"exitCode", 1}, {"finishedAt", "2026-11-25T10:48:37Z"}}}};
  pod["status"]["containerStatuses"].push_back(second);
  pod["spec"]["containers"].push_back({{"name", "side"}, {"image", "side:1"}});
  const json cells = TableCells(kPods, pod, kNow);
  EXPECT_EQ(cells[1], "2/2");
  EXPECT_EQ(cells[3], "3 (10m ago)");
}

TEST(PodStatusTest, TerminatedContainersShowReasonSignalOrExitCode) {
  EXPECT_EQ(Status(PodWithState({{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}})), "Completed");
  EXPECT_EQ(Status(PodWithState({{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}})), "Error");
  EXPECT_EQ(Status(PodWithState({{"terminated", {{"exitCode", 137}, {"signal", 9}}}})), "Signal:9");
  EXPECT_EQ(Status(PodWithState({{"terminated", {{"exitCode", 3}}}})), "ExitCode:3");
}

TEST(PodStatusTest, SucceededPodShowsCompleted) {
  json pod = PodWithState({{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}});
  pod["status"]["phase"] = "Succeeded";
  const json cells = TableCells(kPods, pod, kNow);
  EXPECT_EQ(cells[1], "0/1");
  EXPECT_EQ(cells[2], "Completed");
}

TEST(PodStatusTest, CompletedContainerBesideARunningOneShowsRunningOrNotReady) {
  json pod = RunningPod("p");
  pod["spec"]["containers"].push_back({{"name", "job"}, {"image", "job:1"}});
  pod["status"]["containerStatuses"].push_back(
      {{"name", "job"}, {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}, {"ready", false}});
  // Statuses are read last to first, so put the finished one first.
  std::swap(pod["status"]["containerStatuses"][0], pod["status"]["containerStatuses"][1]);
  EXPECT_EQ(TableCells(kPods, pod, kNow)[1], "1/2");
  EXPECT_EQ(Status(pod), "Running");
  pod["status"]["conditions"][1]["status"] = "False";
  EXPECT_EQ(Status(pod), "NotReady");
  pod["status"]["conditions"].erase(1);
  EXPECT_EQ(Status(pod), "NotReady");
}

TEST(PodStatusTest, DeletionTimestampShowsTerminating) {
  json pod = RunningPod("web-66d5df9b6c-7mwvp");
  pod["metadata"]["creationTimestamp"] = "2026-11-25T10:58:43Z";
  pod["metadata"]["deletionTimestamp"] = "2026-11-25T10:59:25Z";
  pod["metadata"]["deletionGracePeriodSeconds"] = 30;
  const absl::Time now = Utc(2026, 11, 25, 10, 58, 55);
  EXPECT_EQ(TableCells(kPods, pod, now),
            J(R"(["web-66d5df9b6c-7mwvp", "1/1", "Terminating", "0", "12s", "<none>", "fake-node-1", "<none>",
                  "<none>"])"));
}

TEST(PodStatusTest, DeletedPodOnALostNodeShowsUnknown) {
  json pod = RunningPod("p");
  pod["metadata"]["deletionTimestamp"] = "2026-11-25T10:59:25Z";
  pod["status"]["reason"] = "NodeLost";
  EXPECT_EQ(Status(pod), "Unknown");
}

TEST(PodStatusTest, StatusReasonOverridesPhase) {
  json pod = J(R"({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
                   "status": {"phase": "Failed", "reason": "Evicted"}})");
  EXPECT_EQ(Status(pod), "Evicted");
}

TEST(PodStatusTest, SchedulingGatedConditionShowsSchedulingGated) {
  json pod = J(R"({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
                   "status": {"phase": "Pending", "conditions": [
                     {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}})");
  EXPECT_EQ(Status(pod), "SchedulingGated");
}

json InitPod(const json& init_statuses, int init_containers = 1) {
  json pod = J(R"({"metadata": {"name": "p", "creationTimestamp": "2026-11-25T10:58:32Z"},
                   "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                   "status": {"phase": "Pending",
                              "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                                                     "state": {"waiting": {"reason": "PodInitializing"}}}]}})");
  pod["spec"]["initContainers"] = json::array();
  for (int i = 0; i < init_containers; ++i) {
    pod["spec"]["initContainers"].push_back({{"name", "init" + std::to_string(i)}, {"image", "init:1"}});
  }
  pod["status"]["initContainerStatuses"] = init_statuses;
  return pod;
}

TEST(PodStatusTest, InitContainersShowProgressOrTheirFailure) {
  const json running = {{"name", "init0"}, {"restartCount", 0}, {"state", {{"running", json::object()}}}};
  EXPECT_EQ(Status(InitPod(json::array({running}))), "Init:0/1");

  const json done = {{"name", "init0"}, {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}};
  json second = running;
  second["name"] = "init1";
  EXPECT_EQ(Status(InitPod(json::array({done, second}), 2)), "Init:1/2");

  const json initializing = {{"name", "init0"}, {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}};
  EXPECT_EQ(Status(InitPod(json::array({initializing}))), "Init:0/1");

  const json crash = {{"name", "init0"},
                      {"restartCount", 5},
                      {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}},
                      {"lastState", {{"terminated", {{"exitCode", 1}, {"finishedAt", "2026-11-25T10:58:07Z"}}}}}};
  const json cells = TableCells(kPods, InitPod(json::array({crash})), kNow);
  EXPECT_EQ(cells[2], "Init:CrashLoopBackOff");
  EXPECT_EQ(cells[3], "5 (30s ago)");

  const json error = {{"name", "init0"}, {"state", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}}};
  EXPECT_EQ(Status(InitPod(json::array({error}))), "Init:Error");
  const json signal = {{"name", "init0"}, {"state", {{"terminated", {{"exitCode", 2}, {"signal", 15}}}}}};
  EXPECT_EQ(Status(InitPod(json::array({signal}))), "Init:Signal:15");
  const json code = {{"name", "init0"}, {"state", {{"terminated", {{"exitCode", 2}}}}}};
  EXPECT_EQ(Status(InitPod(json::array({code}))), "Init:ExitCode:2");
}

TEST(PodStatusTest, FinishedInitContainersLeaveTheAppContainersToDecide) {
  const json done = {
      {"name", "init0"}, {"restartCount", 2}, {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}};
  json pod = InitPod(json::array({done}));
  pod["status"]["containerStatuses"][0]["state"] = {{"waiting", {{"reason", "ContainerCreating"}}}};
  const json cells = TableCells(kPods, pod, kNow);
  EXPECT_EQ(cells[2], "ContainerCreating");
  // 1.26 counts only the app containers' restarts once init is done.
  EXPECT_EQ(cells[3], "0");
}

TEST(PodStatusTest, WideColumnsShowIpNominatedNodeAndReadinessGates) {
  json pod = RunningPod("p");
  pod["status"]["podIPs"] = J(R"([{"ip": "10.244.0.7"}, {"ip": "fd00::7"}])");
  pod["status"]["podIP"] = "10.244.0.7";
  pod["status"]["nominatedNodeName"] = "node-2";
  pod["spec"]["readinessGates"] = J(R"([{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}])");
  pod["status"]["conditions"].push_back({{"type", "example.com/lb"}, {"status", "True"}});
  pod["status"]["conditions"].push_back({{"type", "example.com/dns"}, {"status", "False"}});
  const json cells = TableCells(kPods, pod, kNow);
  EXPECT_EQ(cells[5], "10.244.0.7");
  EXPECT_EQ(cells[6], "fake-node-1");
  EXPECT_EQ(cells[7], "node-2");
  EXPECT_EQ(cells[8], "1/2");

  pod["status"].erase("podIPs");
  pod["status"]["podIP"] = "10.244.0.9";
  EXPECT_EQ(TableCells(kPods, pod, kNow)[5], "10.244.0.9");
}

// ---- Workloads ----

json Template(const char* containers) { return {{"spec", {{"containers", json::parse(containers)}}}}; }

TEST(TableCellsTest, DeploymentSelectorWithExpressionsAndNoneAtAll) {
  json d = J(R"({"metadata": {"name": "d", "creationTimestamp": "2026-11-25T08:58:37Z"},
                 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"},
                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                               {"key": "canary", "operator": "DoesNotExist"}]}},
                 "status": {"readyReplicas": 1, "updatedReplicas": 2}})");
  d["spec"]["template"] = Template(R"([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}])");
  // Requirements sort by key ("canary"), not by their printed form.
  EXPECT_EQ(TableCells(kDeployments, d, kNow),
            J(R"j(["d", "1/2", 2, 0, "120m", "a,b", "a:1,b:2", "app=web,!canary,tier in (a,b)"])j"));
  d["spec"].erase("selector");
  EXPECT_EQ(TableCells(kDeployments, d, kNow)[7], "");
}

TEST(TableCellsTest, ReplicaSetCountsAreIntegers) {
  json rs = J(R"({"metadata": {"name": "web-8555df4846", "creationTimestamp": "2026-11-25T10:58:32Z"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web",
                                                                        "pod-template-hash": "8555df4846"}}},
                  "status": {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2}})");
  rs["spec"]["template"] = Template(R"([{"name": "web", "image": "web:1"}])");
  EXPECT_EQ(TableCells(kReplicaSets, rs, kNow),
            J(R"(["web-8555df4846", 3, 3, 2, "5s", "web", "web:1", "app=web,pod-template-hash=8555df4846"])"));
  rs["spec"]["selector"] = json::object();
  EXPECT_EQ(TableCells(kReplicaSets, rs, kNow)[7], "<none>");
  rs["spec"]["selector"] = J(R"({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})");
  EXPECT_EQ(TableCells(kReplicaSets, rs, kNow)[7], "<error>");
}

TEST(TableCellsTest, StatefulSetShowsReadyOverDesired) {
  json ss = J(R"({"metadata": {"name": "db", "creationTimestamp": "2026-11-22T10:58:37Z"},
                  "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2}})");
  ss["spec"]["template"] = Template(R"([{"name": "pg", "image": "postgres:15"}])");
  EXPECT_EQ(TableCells(kStatefulSets, ss, kNow), J(R"(["db", "2/3", "3d", "pg", "postgres:15"])"));
}

TEST(TableCellsTest, ControllerRevisionNamesItsControllingOwner) {
  json cr = J(R"({"metadata": {"name": "db-7b9c", "creationTimestamp": "2026-11-25T10:57:37Z",
                               "ownerReferences": [
                                 {"apiVersion": "v1", "kind": "Pod", "name": "x", "controller": false},
                                 {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}]},
                  "revision": 2})");
  const json cells = TableCells(kControllerRevisions, cr, kNow);
  EXPECT_EQ(cells, J(R"(["db-7b9c", "statefulset.apps/db", 2, "60s"])"));
  EXPECT_TRUE(cells[2].is_number_integer());
  cr["metadata"].erase("ownerReferences");
  EXPECT_EQ(TableCells(kControllerRevisions, cr, kNow)[1], "<none>");
}

TEST(TableCellsTest, JobShowsCompletionsAndDuration) {
  // job-from-cronjob.txt: running, started at creation.
  json job = J(R"({"metadata": {"name": "manual", "creationTimestamp": "2026-11-25T10:58:55Z"},
                   "spec": {"parallelism": 1, "completions": 1,
                            "selector": {"matchLabels": {"controller-uid": "1cc2736c-578d-4768-8821-f9bbfa905051"}}},
                   "status": {"startTime": "2026-11-25T10:58:55Z", "active": 1, "ready": 0}})");
  job["spec"]["template"] = Template(R"([{"name": "tick", "image": "busybox"}])");
  const absl::Time now = Utc(2026, 11, 25, 10, 59, 5);
  EXPECT_EQ(TableCells(kJobs, job, now), J(R"(["manual", "0/1", "10s", "10s", "tick", "busybox",
                  "controller-uid=1cc2736c-578d-4768-8821-f9bbfa905051"])"));

  job["status"]["succeeded"] = 1;
  job["status"]["completionTime"] = "2026-11-25T10:59:02Z";
  EXPECT_EQ(TableCells(kJobs, job, now + absl::Hours(1))[2], "7s");
  EXPECT_EQ(TableCells(kJobs, job, now)[1], "1/1");

  job["spec"].erase("completions");
  job["spec"]["parallelism"] = 3;
  EXPECT_EQ(TableCells(kJobs, job, now)[1], "1/1 of 3");
  job["spec"]["parallelism"] = 1;
  EXPECT_EQ(TableCells(kJobs, job, now)[1], "1/1");
  job["status"].erase("startTime");
  EXPECT_EQ(TableCells(kJobs, job, now)[2], "");
}

TEST(TableCellsTest, CronJobHasNoTimezoneColumnIn126) {
  // cronjob.txt
  json cj = J(R"({"metadata": {"name": "tick", "creationTimestamp": "2026-11-25T10:58:55Z"},
                  "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow", "suspend": false,
                           "jobTemplate": {"spec": {}}},
                  "status": {}})");
  cj["spec"]["jobTemplate"]["spec"]["template"] = Template(R"([{"name": "tick", "image": "busybox"}])");
  const absl::Time now = Utc(2026, 11, 25, 10, 59, 55);
  EXPECT_EQ(TableColumns(kCronJobs).size(), 9u);
  EXPECT_EQ(TableColumns(kCronJobs)[2]["name"], "Suspend");
  EXPECT_EQ(TableCells(kCronJobs, cj, now),
            J(R"(["tick", "*/5 * * * *", "False", 0, "<none>", "60s", "tick", "busybox", "<none>"])"));

  cj["spec"].erase("suspend");
  cj["status"] = J(R"({"active": [{"kind": "Job", "name": "tick-1"}], "lastScheduleTime": "2026-11-25T10:59:00Z"})");
  const json cells = TableCells(kCronJobs, cj, now);
  EXPECT_EQ(cells[2], "<unset>");
  EXPECT_EQ(cells[3], 1);
  EXPECT_EQ(cells[4], "55s");
}

TEST(TableCellsTest, PodDisruptionBudgetShowsBoundsOrNA) {
  // pdb-with-status.txt
  json pdb = J(R"({"metadata": {"name": "web-pdb", "creationTimestamp": "2026-11-25T10:58:50Z"},
                   "spec": {"minAvailable": 4, "selector": {"matchLabels": {"app": "web"}}},
                   "status": {"disruptionsAllowed": 0, "currentHealthy": 4, "desiredHealthy": 4, "expectedPods": 4}})");
  const absl::Time now = Utc(2026, 11, 25, 10, 58, 55);
  const json cells = TableCells(kPodDisruptionBudgets, pdb, now);
  EXPECT_EQ(cells, J(R"(["web-pdb", "4", "N/A", 0, "5s"])"));
  EXPECT_TRUE(cells[3].is_number_integer());
  pdb["spec"].erase("minAvailable");
  pdb["spec"]["maxUnavailable"] = "25%";
  pdb["status"]["disruptionsAllowed"] = 1;
  EXPECT_EQ(TableCells(kPodDisruptionBudgets, pdb, now), J(R"(["web-pdb", "N/A", "25%", 1, "5s"])"));
}

TEST(TableCellsTest, LeaseShowsItsHolder) {
  // lease-create.txt
  const json lease = J(R"({"metadata": {"name": "herd-leader", "creationTimestamp": "2026-11-25T10:58:55Z"},
                           "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})");
  const absl::Time now = Utc(2026, 11, 25, 11, 0, 55);
  EXPECT_EQ(TableCells(kLeases, lease, now), J(R"(["herd-leader", "a", "2m"])"));
  EXPECT_EQ(TableCells(kLeases, J(R"({"metadata": {"name": "l"}, "spec": {}})"), now)[1], "");
}

// ---- HorizontalPodAutoscaler ----

json Hpa(const char* metrics, const char* current) {
  json hpa = J(R"({"metadata": {"name": "web", "creationTimestamp": "2026-11-25T10:48:37Z"},
                   "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                            "minReplicas": 2, "maxReplicas": 10},
                   "status": {"currentReplicas": 3, "desiredReplicas": 3}})");
  hpa["spec"]["metrics"] = json::parse(metrics);
  if (current != nullptr) hpa["status"]["currentMetrics"] = json::parse(current);
  return hpa;
}

TEST(HpaTest, CpuUtilizationWithoutMetricsYetShowsUnknown) {
  const json hpa = Hpa(R"([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                            "averageUtilization": 80}}}])",
                       nullptr);
  const json cells = TableCells(kHorizontalPodAutoscalers, hpa, kNow);
  EXPECT_EQ(cells, J(R"(["web", "Deployment/web", "<unknown>/80%", "2", 10, 3, "10m"])"));
  EXPECT_TRUE(cells[4].is_number_integer());
}

TEST(HpaTest, TargetsPairSpecsWithCurrentMetricsByIndex) {
  const json hpa = Hpa(
      R"([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
          {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}])",
      R"([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12, "averageValue": "6m"}}},
          {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "20Mi"}}}])");
  EXPECT_EQ(TableCells(kHorizontalPodAutoscalers, hpa, kNow)[2], "12%/80%, 20Mi/100Mi");
}

TEST(HpaTest, PodsObjectExternalAndMoreThanTwoMetrics) {
  const json hpa = Hpa(
      R"([{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
          {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "Value", "value": "10"}}},
          {"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "30"}}}])",
      R"([{"type": "Pods", "pods": {"current": {"averageValue": "250"}}}])");
  EXPECT_EQ(TableCells(kHorizontalPodAutoscalers, hpa, kNow)[2], "250/1k, <unknown>/10 + 1 more...");

  const json ext = Hpa(
      R"([{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "30"}}},
          {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "5"}}}])",
      R"([{"type": "External", "external": {"current": {"averageValue": "12"}}},
          {"type": "Object", "object": {"current": {"value": "9"}}}])");
  EXPECT_EQ(TableCells(kHorizontalPodAutoscalers, ext, kNow)[2], "12/30 (avg), <unknown>/5 (avg)");
}

TEST(HpaTest, NoMetricsAndNoMinReplicas) {
  json hpa = Hpa("[]", nullptr);
  hpa["spec"].erase("minReplicas");
  const json cells = TableCells(kHorizontalPodAutoscalers, hpa, kNow);
  EXPECT_EQ(cells[2], "<none>");
  EXPECT_EQ(cells[3], "<unset>");
}

TEST(HpaTest, ContainerResourceAndUnknownTypes) {
  const json hpa = Hpa(
      R"([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                                                               "target": {"type": "Utilization"}}},
          {"type": "Weird"}])",
      nullptr);
  EXPECT_EQ(TableCells(kHorizontalPodAutoscalers, hpa, kNow)[2], "<unknown>/<auto>, <unknown type>");
}

// ---- Cluster objects ----

TEST(TableCellsTest, NamespaceShowsPhase) {
  const json ns = J(R"({"metadata": {"name": "ref", "creationTimestamp": "2026-11-24T10:58:37Z"},
                        "status": {"phase": "Active"}})");
  EXPECT_EQ(TableCells(kNamespaces, ns, kNow), J(R"(["ref", "Active", "24h"])"));
}

TEST(TableCellsTest, NodeShowsReadinessRolesAndSystemInfo) {
  json node = J(R"j({
    "metadata": {"name": "fake-node-1", "creationTimestamp": "2026-11-15T10:58:37Z",
                 "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "",
                            "kubernetes.io/role": "worker", "kubernetes.io/hostname": "fake-node-1"}},
    "spec": {},
    "status": {
      "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
      "addresses": [{"type": "Hostname", "address": "fake-node-1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
      "nodeInfo": {"kubeletVersion": "v1.26.1", "osImage": "Debian GNU/Linux 12 (bookworm)",
                   "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.6.0"}}})j");
  EXPECT_EQ(TableCells(kNodes, node, kNow),
            J(R"j(["fake-node-1", "Ready", "control-plane,worker", "10d", "v1.26.1", "10.0.0.5", "<none>",
                  "Debian GNU/Linux 12 (bookworm)", "6.1.0", "containerd://1.6.0"])j"));

  node["spec"]["unschedulable"] = true;
  node["status"]["conditions"][1]["status"] = "Unknown";
  EXPECT_EQ(TableCells(kNodes, node, kNow)[1], "NotReady,SchedulingDisabled");
  node["status"].erase("conditions");
  node["status"].erase("nodeInfo");
  node["metadata"].erase("labels");
  const json cells = TableCells(kNodes, node, kNow);
  EXPECT_EQ(cells[1], "Unknown,SchedulingDisabled");
  EXPECT_EQ(cells[2], "<none>");
  EXPECT_EQ(cells[4], "");
  EXPECT_EQ(cells[7], "<unknown>");
  EXPECT_EQ(cells[8], "<unknown>");
  EXPECT_EQ(cells[9], "<unknown>");
}

TEST(TableCellsTest, EventColumnsFollowThe126Layout) {
  const json& cols = TableColumns(kEvents);
  ASSERT_EQ(cols.size(), 10u);
  std::vector<std::string> names;
  std::vector<int> priorities;
  for (const json& c : cols) {
    names.push_back(c["name"]);
    priorities.push_back(c["priority"]);
  }
  EXPECT_THAT(names, testing::ElementsAre("Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                                          "First Seen", "Count", "Name"));
  EXPECT_THAT(priorities, testing::ElementsAre(0, 0, 0, 0, 1, 1, 0, 1, 1, 1));
}

TEST(TableCellsTest, EventRowFromTheReferenceList) {
  // events-list.txt, second item.
  const json ev = J(R"({
    "metadata": {"name": "tick.18eb44a12af6a97a", "namespace": "ref", "creationTimestamp": "2026-11-25T10:58:55Z"},
    "involvedObject": {"kind": "CronJob", "namespace": "ref", "name": "tick", "apiVersion": "batch/v1"},
    "reason": "UnexpectedJob", "message": "Saw a job that the controller did not create or forgot: manual",
    "source": {"component": "cronjob-controller"},
    "firstTimestamp": "2026-11-25T10:58:50Z", "lastTimestamp": "2026-11-25T10:58:55Z", "count": 2,
    "type": "Warning", "eventTime": null, "reportingComponent": "", "reportingInstance": ""})");
  const absl::Time now = Utc(2026, 11, 25, 10, 59, 0);
  const json cells = TableCells(kEvents, ev, now);
  EXPECT_EQ(cells, J(R"(["5s", "Warning", "UnexpectedJob", "cronjob/tick", "", "cronjob-controller",
                         "Saw a job that the controller did not create or forgot: manual", "10s", 2,
                         "tick.18eb44a12af6a97a"])"));
  EXPECT_TRUE(cells[8].is_number_integer());
}

TEST(TableCellsTest, EventsFromTheNewApiUseEventTimeSeriesAndDefaultCount) {
  json ev = J(R"({
    "metadata": {"name": "web.1"},
    "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
    "reason": "Pulled", "message": "  Pulled image  \n", "type": "Normal",
    "source": {"component": "kubelet", "host": "fake-node-1"},
    "eventTime": "2026-11-25T10:57:37.123456Z", "reportingComponent": "kubelet"})");
  json cells = TableCells(kEvents, ev, kNow);
  // 59.88s: HumanDuration truncates to whole seconds.
  EXPECT_EQ(cells[0], "59s");
  EXPECT_EQ(cells[3], "pod/web-1");
  EXPECT_EQ(cells[4], "spec.containers{web}");
  EXPECT_EQ(cells[5], "kubelet, fake-node-1");
  EXPECT_EQ(cells[6], "Pulled image");
  EXPECT_EQ(cells[7], "59s");
  EXPECT_EQ(cells[8], 1);

  ev["series"] = {{"count", 7}, {"lastObservedTime", "2026-11-25T10:58:27.000000Z"}};
  ev["involvedObject"].erase("name");
  cells = TableCells(kEvents, ev, kNow);
  EXPECT_EQ(cells[0], "10s");
  EXPECT_EQ(cells[3], "pod");
  EXPECT_EQ(cells[8], 7);
}

TEST(TableCellsTest, ConfigMapCountsDataAndBinaryData) {
  const json cm = J(R"({"metadata": {"name": "kube-root-ca.crt", "creationTimestamp": "2026-11-25T10:58:32Z"},
                        "data": {"ca.crt": "x", "b": "y"}, "binaryData": {"blob": "AAEC"}})");
  const json cells = TableCells(kConfigMaps, cm, kNow);
  EXPECT_EQ(cells, J(R"(["kube-root-ca.crt", 3, "5s"])"));
  EXPECT_TRUE(cells[1].is_number_integer());
}

// ---- Services ----

TEST(ServiceTest, ClusterIpService) {
  const json svc = J(R"({"metadata": {"name": "web", "creationTimestamp": "2026-11-25T10:58:32Z"},
                         "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"],
                                  "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"},
                                            {"name": "dns", "port": 53, "protocol": "UDP"}],
                                  "selector": {"tier": "front", "app": "web"}}})");
  EXPECT_EQ(TableCells(kServices, svc, kNow),
            J(R"(["web", "ClusterIP", "10.96.0.12", "<none>", "80/TCP,53/UDP", "5s", "app=web,tier=front"])"));
}

TEST(ServiceTest, NodePortLoadBalancerHeadlessAndExternalName) {
  json svc = J(R"({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.13"],
                   "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}})");
  json cells = TableCells(kServices, svc, kNow);
  EXPECT_EQ(cells[3], "1.2.3.4");
  EXPECT_EQ(cells[4], "80:30080/TCP");
  EXPECT_EQ(cells[6], "<none>");

  svc["spec"]["type"] = "LoadBalancer";
  svc["spec"].erase("externalIPs");
  EXPECT_EQ(TableCells(kServices, svc, kNow)[3], "<pending>");
  svc["status"] = J(R"({"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"},
                                                     {"ip": "5.6.7.8"}]}})");
  EXPECT_EQ(TableCells(kServices, svc, kNow)[3], "5.6.7.8,lb.example.com");
  svc["spec"]["externalIPs"] = json::array({"1.2.3.4"});
  EXPECT_EQ(TableCells(kServices, svc, kNow)[3], "5.6.7.8,lb.example.com,1.2.3.4");

  const json headless = J(R"({"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}})");
  cells = TableCells(kServices, headless, kNow);
  EXPECT_EQ(cells[1], "ClusterIP");
  EXPECT_EQ(cells[2], "None");
  EXPECT_EQ(cells[4], "<none>");

  const json external = J(R"({"metadata": {"name": "e"},
                              "spec": {"type": "ExternalName", "externalName": "db.example.com"}})");
  cells = TableCells(kServices, external, kNow);
  EXPECT_EQ(cells[2], "<none>");
  EXPECT_EQ(cells[3], "db.example.com");
}

}  // namespace
}  // namespace herd::sim
